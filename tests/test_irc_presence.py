"""IRC's presence commands, parsed and rendered: MONITOR, SETNAME (and later MARKREAD, +B).

Helpers are tests/test_irc.py's: lines in, inputs out; events in, lines out.
"""

from __future__ import annotations

from tests.names import nick
from tests.test_irc import SERVER, feed, registered, see
from trio_chat.core.events import (
    PresenceIs,
    RealnameChanged,
    Seen,
    SetRealname,
    ShowWatched,
    Tell,
    Unwatch,
    Watch,
    WatchList,
)
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.frontends.irc import Numeric


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
