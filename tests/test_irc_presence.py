"""IRC's presence commands, parsed and rendered: MONITOR, SETNAME, the bot mode (and MARKREAD).

Helpers are tests/test_irc.py's: lines in, inputs out; events in, lines out.
"""

from __future__ import annotations

from tests.names import nick, room, roster
from tests.test_irc import SERVER, feed, registered, see
from trio_chat.core.events import (
    Found,
    MarkRead,
    MemberInfo,
    Membership,
    PresenceIs,
    ReadMarker,
    RealnameChanged,
    RoomEntered,
    Seen,
    SetBot,
    SetInvisible,
    SetRealname,
    ShowReadMarker,
    ShowWatched,
    Tell,
    Unwatch,
    Watch,
    WatchList,
)
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.frontends.irc import IrcFrontEnd, Numeric, UserModes


def test_monitor_commands_become_the_hubs() -> None:
    front_end = registered()
    assert feed(front_end, "MONITOR + bob,Carol", "MONITOR - bob", "monitor c") == [
        Watch((nick("bob"), nick("Carol"))),
        Unwatch((nick("bob"),)),
        Unwatch(),
    ]
    assert feed(front_end, "MONITOR L", "MONITOR S") == [
        ShowWatched(),
        ShowWatched(presence=True),
    ]
    # Only nicknames are watched: a mask is refused as one, and never watches everyone.
    [refused, watch] = feed(front_end, "MONITOR + *!u@host,bob")
    assert isinstance(refused, Tell)
    assert isinstance(refused.event, Numeric)
    assert refused.event.code == "432"
    assert watch == Watch((nick("bob"),))
    assert feed(front_end, "MONITOR - *!*@*") == []  # (not "Unwatch()": that clears them all)
    for line in ("MONITOR", "MONITOR +", "MONITOR X"):
        [usage] = feed(front_end, line)
        assert usage == Tell(Numeric("461", ("MONITOR", "Not enough parameters")))


def test_presence_is_730_and_731_and_the_list_is_732_and_733() -> None:
    front_end = registered()
    online = (Seen("bob", "~bob", "cloak.ip"), Seen("José"))
    assert see(front_end, [PresenceIs(online, ("carol", "dave"))]) == [
        f":{SERVER} 730 alice bob!~bob@cloak.ip,José!José@{SERVER}",
        f":{SERVER} 731 alice carol,dave",
    ]
    assert see(front_end, [WatchList(("bob", "carol")), WatchList(())]) == [
        f":{SERVER} 732 alice bob,carol",
        f":{SERVER} 733 alice :End of MONITOR list",
        f":{SERVER} 733 alice :End of MONITOR list",
    ]
    full = Refusal(Reason.WATCH_LIST_FULL, "e,f", "100")
    assert see(front_end, [full]) == [f":{SERVER} 734 alice 100 e,f :Monitor list is full"]


def test_a_long_presence_is_split_over_lines_and_monitor_is_advertised() -> None:
    front_end = registered()
    nicks = tuple(f"member{n:03d}" for n in range(100))
    lines = see(front_end, [PresenceIs(offline=nicks)])
    assert len(lines) == 3
    assert ",".join(line.split(" ")[3] for line in lines).split(",") == list(nicks)
    [tell] = feed(front_end, "VERSION")  # (which says ISUPPORT again)
    assert isinstance(tell, Tell)
    assert "MONITOR=100" in " ".join(see(front_end, [tell.event]))


def test_setname_is_the_hubs_and_its_news_reach_only_clients_with_the_cap() -> None:
    assert feed(registered(), "SETNAME :Bruce Wayne", "SETNAME") == [
        SetRealname("Bruce Wayne"),
        Tell(Numeric("461", ("SETNAME", "Not enough parameters"))),
    ]
    changed = RealnameChanged("bob", "Bob Marley", "~bob", "cloak.ip")
    assert see(registered("setname"), [changed], personal=False) == [
        ":bob!~bob@cloak.ip SETNAME :Bob Marley"
    ]
    assert see(registered(), [changed], personal=False) == []
    refused = Refusal(Reason.REALNAME_INVALID, detail="200")
    assert see(registered(), [refused]) == [
        f":{SERVER} FAIL SETNAME INVALID_REALNAME :Realname is not valid: a real name is 1 to 200"
        " bytes"
    ]


def test_the_bot_mode_is_advertised_set_by_mode_and_shown_by_whois_and_who() -> None:
    front_end = registered()
    [tell] = feed(front_end, "VERSION")  # (which says ISUPPORT again)
    assert isinstance(tell, Tell)
    assert "BOT=B" in " ".join(see(front_end, [tell.event]))
    assert feed(front_end, "MODE alice +B", "MODE alice -iB") == [
        SetBot(on=True),
        Tell(UserModes("+B")),
        SetInvisible(on=False),
        SetBot(on=False),
        Tell(UserModes("-iB")),
    ]
    # The mode is echoed once set, and 221 lists it.
    assert see(front_end, [UserModes("+B"), UserModes("+B"), UserModes()]) == [
        f":alice!~al@{SERVER} MODE alice +B",
        f":{SERVER} 221 alice +B",
    ]
    bot = MemberInfo("bob", "beep", "", (Membership("#a", ()),), "~b", bot=True)
    whois = see(front_end, [Found("WHOIS bob", ("bob",), (bot,))])
    assert f":{SERVER} 335 alice bob :is a bot on TestNet" in whois
    assert see(front_end, [Found("WHO #a", ("#a",), (bot,))])[0] == (
        f":{SERVER} 352 alice #a ~b {SERVER} {SERVER} bob HB :0 beep"
    )
    human = MemberInfo("carol", "", "", ())
    whois = see(front_end, [Found("WHOIS carol", ("carol",), (human,))])
    assert [line for line in whois if " 335 " in line] == []


def told(front_end: IrcFrontEnd, *lines: str) -> list[str]:
    """The front end's own answers to ``lines``, rendered."""
    tells = feed(front_end, *lines)
    assert all(isinstance(tell, Tell) for tell in tells)
    return see(front_end, [tell.event for tell in tells if isinstance(tell, Tell)])


def test_markread_asks_or_says_and_whatever_is_wrong_with_it_fails() -> None:
    front_end = registered("draft/read-marker")
    assert feed(
        front_end,
        "MARKREAD #Rust timestamp=2019-01-04T14:33:26.123Z",
        "MARKREAD bob",
        "MARKREAD bob timestamp=1970-01-01T00:00:00.000Z",
    ) == [
        MarkRead(room("#Rust"), 1_546_612_406_123),
        ShowReadMarker(nick("bob")),
        MarkRead(nick("bob"), 0),
    ]
    assert told(front_end, "MARKREAD") == [
        f":{SERVER} FAIL MARKREAD NEED_MORE_PARAMS :Missing parameters"
    ]
    assert told(
        front_end,
        "MARKREAD #rust *",  # ("*" is the server's word for none only)
        "MARKREAD #rust timestamp=2019-01-04T14:33:26Z",
        "MARKREAD #rust timestamp=2019-02-30T14:33:26.123Z",
        "MARKREAD a*b",
    ) == [
        f":{SERVER} FAIL MARKREAD INVALID_PARAMS * :Invalid timestamp",
        f":{SERVER} FAIL MARKREAD INVALID_PARAMS timestamp=2019-01-04T14:33:26Z :Invalid timestamp",
        f":{SERVER} FAIL MARKREAD INVALID_PARAMS timestamp=2019-02-30T14:33:26.123Z"
        " :Invalid timestamp",
        f":{SERVER} FAIL MARKREAD INVALID_PARAMS a*b :Invalid target",
    ]


def test_markread_is_rendered_as_an_answer_always_and_as_news_with_the_cap() -> None:
    asked = ReadMarker("#rust", 1_546_612_406_123, asked=True)
    news = ReadMarker("#rust", 1_546_612_406_001)
    assert see(registered(), [asked, news, ReadMarker("bob", None, asked=True)]) == [
        f":{SERVER} MARKREAD #rust timestamp=2019-01-04T14:33:26.123Z",
        f":{SERVER} MARKREAD bob *",  # without the cap: its own answer only
    ]
    assert see(registered("draft/read-marker"), [news]) == [
        f":{SERVER} MARKREAD #rust timestamp=2019-01-04T14:33:26.001Z"
    ]


def test_a_join_says_how_far_the_room_was_read_before_the_end_of_names() -> None:
    entered = RoomEntered("#rust", roster("alice", "bob"), "", read_marker=1_546_612_406_123)
    assert see(registered("draft/read-marker"), [entered, RoomEntered("#go", roster("alice"), "")])[
        1:
    ] == [
        f":{SERVER} 353 alice = #rust :alice bob",
        f":{SERVER} MARKREAD #rust timestamp=2019-01-04T14:33:26.123Z",
        f":{SERVER} 366 alice #rust :End of /NAMES list",
        f":alice!~al@{SERVER} JOIN #go",
        f":{SERVER} 353 alice = #go alice",
        f":{SERVER} MARKREAD #go *",
        f":{SERVER} 366 alice #go :End of /NAMES list",
    ]
    assert "MARKREAD" not in " ".join(see(registered(), [entered]))  # without the cap: none
