"""The IRC front end, pure: registration, every command, every numeric, malformed input.

No Trio and no sockets: the front end is fed lines and deliveries, as the shell would feed it,
and what it asks of the hub and what it writes are compared with what the specifications say.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.names import memberships, nick, room, roster
from trio_chat.core.delivery import Delivery
from trio_chat.core.events import (
    AccountChanged,
    AccountCreated,
    AwayChanged,
    BanFromServer,
    ChangeModes,
    Counts,
    CurrentRoom,
    Departed,
    Emote,
    Emoted,
    Event,
    Found,
    Goodbye,
    Invite,
    Invited,
    IsAway,
    Joined,
    JoinRoom,
    Kick,
    Kicked,
    Kill,
    LeaveReason,
    LiftServerBan,
    ListIs,
    ListRooms,
    LoggedIn,
    LookUp,
    MemberInfo,
    Membership,
    ModesAre,
    ModesChanged,
    OperatorNow,
    Parted,
    PartRoom,
    PrivateFrom,
    PrivateMessage,
    PrivateTo,
    PutOut,
    Quit,
    Registered,
    RegisterRoom,
    Rename,
    Renamed,
    RoomEntered,
    RoomExited,
    RoomList,
    RoomRegistered,
    RoomSummary,
    Roster,
    RosterEntry,
    Said,
    SaslChallenge,
    SaslFailed,
    SaslSucceeded,
    Say,
    SendWallops,
    ServerBanEntry,
    ServerBans,
    SetAway,
    SetInvisible,
    SetTopic,
    ShowCounts,
    ShowServerBans,
    ShowTopic,
    ShuttingDown,
    Tell,
    TopicChanged,
    TopicIs,
    Wallops,
)
from trio_chat.core.modes import ListEntry, Mode, ModeChange
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.roles import Role
from trio_chat.core.sasl import Mechanism
from trio_chat.frontends.base import (
    IGNORED,
    Farewell,
    Hangup,
    Input,
    Introduce,
    OperLogin,
    RegisterAccount,
    SaslAbort,
    SaslResponse,
    SaslStart,
    Send,
)
from trio_chat.frontends.irc import (
    Cap,
    CapAcknowledged,
    IrcConfig,
    IrcFrontEnd,
    Numeric,
    Numerics,
    Pong,
    TimeReply,
    UserModes,
    _InvalidUtf8,
)
from trio_chat.frontends.ircmessage import Message, parse

SERVER = "irc.test"
CONFIG = IrcConfig(server_name=SERVER, network="TestNet", created="yesterday")


def feed(front_end: IrcFrontEnd, *lines: str | bytes) -> list[Input]:
    """Feed lines (CR LF added) and take every input they make, as the shell would."""
    for line in lines:
        front_end.receive_data((line.encode() if isinstance(line, str) else line) + b"\r\n")
    return list(iter(front_end.next_input, None))


def sent(inputs: Sequence[Input]) -> list[str]:
    """The lines of the Send inputs (what the front end answers itself while registering)."""
    lines = []
    for item in inputs:
        assert isinstance(item, Send | Hangup), item
        lines += item.data.decode().splitlines()
    return lines


def see(front_end: IrcFrontEnd, events: Sequence[Event], *, personal: bool = True) -> list[str]:
    rendered = front_end.render(Delivery(events, personal=personal, time=1_700_000_000.25))
    assert all(len(line) + 2 <= 512 for line in rendered.split(b"\r\n"))  # each fits a line
    return rendered.decode().splitlines()


def registered(caps: str = "", nickname: str = "alice") -> IrcFrontEnd:
    front_end = IrcFrontEnd(CONFIG)
    lines = ["CAP LS 302", f"CAP REQ :{caps}"] if caps else []
    feed(front_end, *lines, f"NICK {nickname}", "USER al 0 * :Alice Liddell", "CAP END")
    see(
        front_end,
        [
            Registered(nickname, 1, 1),
            RoomEntered("#lobby", roster(nickname), ""),
        ],
    )
    return front_end


# --- registration ---------------------------------------------------------------------------


def test_registration_without_cap() -> None:
    front_end = IrcFrontEnd(CONFIG)
    assert front_end.greeting() == b""
    assert feed(front_end, "NICK alice") == [IGNORED]
    assert feed(front_end, "USER al 0 * :Alice Liddell") == [
        Introduce(nick("alice"), "Alice Liddell", "~al", lobby=False)  # IRC users choose
    ]


def test_registration_waits_for_cap_end_once_negotiation_began() -> None:
    front_end = IrcFrontEnd(CONFIG)
    (ls,) = feed(front_end, "CAP LS 302")
    assert sent([ls]) == [
        f":{SERVER} CAP * LS :server-time echo-message away-notify multi-prefix"
        " userhost-in-names batch sasl=PLAIN,SCRAM-SHA-256,EXTERNAL account-notify account-tag"
        " extended-join draft/account-registration=before-connect invite-notify setname"
        " message-tags draft/read-marker labeled-response draft/chathistory draft/event-playback"
        " draft/message-redaction"
    ]
    assert feed(front_end, "NICK alice", "USER al 0 * :Alice") == [IGNORED, IGNORED]
    assert sent(feed(front_end, "CAP REQ :server-time echo-message")) == [
        f":{SERVER} CAP * ACK :server-time echo-message"
    ]
    assert sent(feed(front_end, "CAP LIST")) == [f":{SERVER} CAP * LIST :server-time echo-message"]
    assert feed(front_end, "CAP END") == [Introduce(nick("alice"), "Alice", "~al", lobby=False)]


@pytest.mark.parametrize(
    ("request_", "reply"),
    [
        ("foo qux bar baz qux quux", "NAK :foo qux bar baz qux quux"),
        ("server-time foo", "NAK :server-time foo"),  # all or nothing
        ("server-time -echo-message", "ACK :server-time -echo-message"),
    ],
)
def test_cap_req_is_all_or_nothing(request_: str, reply: str) -> None:
    assert sent(feed(IrcFrontEnd(CONFIG), f"CAP REQ :{request_}")) == [f":{SERVER} CAP * {reply}"]


def test_cap_odds_and_ends() -> None:
    front_end = IrcFrontEnd(CONFIG)
    assert sent(feed(front_end, "CAP LIST")) == [f":{SERVER} CAP * LIST :"]
    assert sent(feed(front_end, "CAP NOTACOMMAND")) == [
        f":{SERVER} 410 * NOTACOMMAND :Invalid CAP command"
    ]


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("PRIVMSG #a :hi", "451 * :You have not registered"),
        ("JOIN #a", "451 * :You have not registered"),
        ("PING :token", "PONG irc.test token"),
        ("PING", "409 * :No origin specified"),
        ("NICK", "431 * :No nickname given"),
        ("NICK al ice", None),  # "al" is valid: the rest is a parameter NICK ignores
        (
            "NICK b@d",
            "432 * b@d :Erroneous nickname: nicknames use letters, digits, _ and - only (not '@')",
        ),
        ("USER al 0 *", "461 * USER :Not enough parameters"),
        ("USER al 0 * :", "461 * USER :Not enough parameters"),
        ("PASS", "461 * PASS :Not enough parameters"),
    ],
)
def test_before_registration(line: str, reply: str | None) -> None:
    inputs = feed(IrcFrontEnd(CONFIG), line)
    if reply is None:
        assert inputs == [IGNORED]
    else:
        assert sent(inputs) == [f":{SERVER} {reply}"]


def test_quit_before_registration_hangs_up() -> None:
    (quit,) = feed(IrcFrontEnd(CONFIG), "QUIT :bye")
    assert quit == Hangup(b"ERROR :Closing Link: (Quit)\r\n")


def test_a_password_is_required_when_configured() -> None:
    config = IrcConfig(server_name=SERVER, password="secret")
    wrong = IrcFrontEnd(config)
    (hangup,) = feed(wrong, "PASS nope", "NICK alice", "USER al 0 * :Al")[-1:]
    assert sent([hangup]) == [
        f":{SERVER} 464 * :Password incorrect",
        "ERROR :Closing Link: (Bad password)",
    ]
    missing = IrcFrontEnd(config)
    assert isinstance(feed(missing, "NICK alice", "USER al 0 * :Al")[-1], Hangup)
    right = IrcFrontEnd(config)
    assert feed(right, "PASS secret", "NICK alice", "USER al 0 * :Al")[-1] == Introduce(
        nick("alice"), "Al", "~al", lobby=False
    )


def test_without_a_server_password_pass_is_an_accounts() -> None:
    # (PASS account:password, or a password for the nickname's account: see the accounts tests.)
    introduce = feed(IrcFrontEnd(CONFIG), "PASS whatever", "NICK alice", "USER al 0 * :Al")[-1]
    assert introduce == Introduce(
        nick("alice"), "Al", "~al", lobby=False, account=nick("alice"), password="whatever"
    )


def test_user_names_are_made_safe_for_masks() -> None:
    (register,) = feed(IrcFrontEnd(CONFIG), "NICK alice", "USER we!rd@name:123456 0 * :A")[1:]
    assert isinstance(register, Introduce)
    assert register.user == "~werdname1"  # 9 characters and the "~"


def test_a_refused_nickname_asks_for_another_then_the_welcome_burst() -> None:
    front_end = IrcFrontEnd(CONFIG)
    feed(front_end, "NICK alice", "USER al 0 * :Alice")
    assert see(front_end, [Refusal(Reason.NICK_TAKEN, "alice")]) == [
        f":{SERVER} 433 * alice :Nickname is already in use"
    ]
    assert see(front_end, [Refusal(Reason.NICK_LOOKALIKE, "aIice", "alice")]) == [
        f":{SERVER} 432 * aIice :Erroneous nickname: the nickname aIice looks too much like "
        "alice, who is online"
    ]
    assert feed(front_end, "NICK alicia") == [
        Introduce(nick("alicia"), "Alice", "~al", lobby=False)
    ]
    burst = see(
        front_end,
        [Registered("alicia", 3, 2), RoomEntered("#lobby", roster("alicia", "bob"), "hi")],
    )
    numerics = [line.split()[1] for line in burst]
    assert numerics[:4] == ["001", "002", "003", "004"]
    assert (
        burst[0] == f":{SERVER} 001 alicia :Welcome to the TestNet IRC Network alicia!~al@irc.test"
    )
    # User modes (bot, invisible, operator, wallops), then every room mode.
    assert burst[3] == f":{SERVER} 004 alicia {SERVER} trio-chat-0.1.0 Biow IMRbeiklmnostv"
    isupport = " ".join(line for line in burst if " 005 " in line)
    for token in (
        "CASEMAPPING=rfc8265",
        "CHANTYPES=#",
        "NICKLEN=32",
        "CHANNELLEN=51",
        "TOPICLEN=300",
        "PREFIX=(ov)@+",
        "CHANMODES=beI,k,l,imnstMR",
        "EXTBAN=,am",
        "MAXLIST=beI:100",
        "MODES=10",
        "EXCEPTS",
        "INVEX",
        "UTF8ONLY",
        "NETWORK=TestNet",
        "CHANLIMIT=#:20",
    ):
        assert f" {token} " in isupport
    for line in burst:
        if " 005 " in line:
            message = parse(line)
            assert isinstance(message, Message)
            assert len(message.params) <= 15  # the nick, at most 13 tokens, the text
    assert f":{SERVER} 251 alicia :There are 3 users and 0 invisible on 1 servers" in burst
    assert f":{SERVER} 254 alicia 2 :channels formed" in burst
    assert f":{SERVER} 422 alicia :MOTD File is missing" in burst
    assert burst[-4:] == [
        ":alicia!~al@irc.test JOIN #lobby",
        f":{SERVER} 332 alicia #lobby hi",
        f":{SERVER} 353 alicia = #lobby :alicia bob",
        f":{SERVER} 366 alicia #lobby :End of /NAMES list",
    ]
    assert feed(front_end, "hello there") == [Tell(Numeric("421", ("HELLO", "Unknown command")))]


def test_the_motd_when_there_is_one() -> None:
    front_end = IrcFrontEnd(IrcConfig(server_name=SERVER, motd=("Be nice.", "\x1b[31mno")))
    feed(front_end, "NICK alice", "USER al 0 * :Al")
    burst = see(
        front_end,
        [
            Registered("alice", 1, 1),
            RoomEntered(
                "#lobby",
                roster("alice"),
                "",
            ),
        ],
    )
    assert [line for line in burst if " 37" in line] == [
        f":{SERVER} 375 alice :- {SERVER} Message of the day - ",
        f":{SERVER} 372 alice :- Be nice.",
        f":{SERVER} 372 alice :- [31mno",
        f":{SERVER} 376 alice :End of /MOTD command.",
    ]


# --- registered: commands --------------------------------------------------------------------


def numeric(code: str, *params: str) -> Tell:
    return Tell(Numeric(code, params))


@pytest.mark.parametrize(
    ("line", "inputs"),
    [
        ("PRIVMSG #rust :hi all", [Say("hi all", room("#rust"))]),
        ("privmsg #rust hi", [Say("hi", room("#rust"))]),
        ("PRIVMSG bob :psst", [PrivateMessage(nick("bob"), "psst")]),
        ("NOTICE #rust :beep", [Say("beep", room("#rust"), notice=True)]),
        ("NOTICE bob :beep", [PrivateMessage(nick("bob"), "beep", notice=True)]),
        ("PRIVMSG #rust :\x01ACTION waves\x01", [Emote("waves", room("#rust"))]),
        ("PRIVMSG bob :\x01ACTION waves\x01", [PrivateMessage(nick("bob"), "waves", action=True)]),
        ("PRIVMSG bob :\x01VERSION\x01", [IGNORED]),
        ("PRIVMSG #a,bob :both", [Say("both", room("#a")), PrivateMessage(nick("bob"), "both")]),
        ("PRIVMSG #a :\x02bold\x02 \x0304red\x03", [Say("bold 04red", room("#a"))]),
        ("PRIVMSG", [numeric("411", "No recipient given (PRIVMSG)")]),
        ("PRIVMSG #a", [numeric("412", "No text to send")]),
        ("PRIVMSG #a :", [numeric("412", "No text to send")]),
        ("PRIVMSG b@d :hi", [numeric("401", "b@d", "No such nick")]),
        ("PRIVMSG #b@d :hi", [numeric("403", "#b@d", "No such channel")]),
        ("NOTICE #b@d :hi", [IGNORED]),  # a NOTICE is never answered
        ("NOTICE", [IGNORED]),
        ("JOIN #a,#B", [JoinRoom(room("#a")), JoinRoom(room("#B"))]),
        ("JOIN", [numeric("461", "JOIN", "Not enough parameters")]),
        ("JOIN a", [numeric("403", "a", "No such channel")]),
        (
            "JOIN #a,#in@lid",
            [
                JoinRoom(room("#a")),
                numeric(
                    "479",
                    "#in@lid",
                    "Illegal channel name: room names use letters, digits, _ and - only (not '@')",
                ),
            ],
        ),
        ("PART #a,#b :lunch", [PartRoom(room("#a"), "lunch"), PartRoom(room("#b"), "lunch")]),
        ("PART #a", [PartRoom(room("#a"))]),
        ("PART", [numeric("461", "PART", "Not enough parameters")]),
        ("TOPIC #a", [ShowTopic(room("#a"))]),
        ("TOPIC #a :new topic", [SetTopic("new topic", room("#a"))]),
        ("TOPIC #a :", [SetTopic("", room("#a"))]),
        (
            "NAMES #a,#b",
            [LookUp(label="NAMES #a", room=room("#a")), LookUp(label="NAMES #b", room=room("#b"))],
        ),
        ("NAMES", [numeric("366", "*", "End of /NAMES list")]),
        ("LIST", [ListRooms()]),
        ("LIST #a,#b", [ListRooms((room("#a"), room("#b")))]),
        ("WHO #a", [LookUp(label="WHO #a", room=room("#a"))]),
        ("WHO #b@d", [numeric("315", "#b@d", "End of WHO list")]),
        ("WHO bob", [LookUp((nick("bob"),), "WHO bob")]),
        ("WHO b*", [LookUp(label="WHO b*", mask="b*")]),
        ("WHO", [LookUp(label="WHO *", mask="*")]),
        ("WHOIS bob", [LookUp((nick("bob"),), "WHOIS bob")]),
        ("WHOIS irc.test bob", [LookUp((nick("bob"),), "WHOIS bob")]),
        ("ISON bob carol", [LookUp((nick("bob"), nick("carol")), "ISON")]),
        ("USERHOST bob", [LookUp((nick("bob"),), "USERHOST")]),
        ("AWAY :lunch", [SetAway("lunch")]),
        ("AWAY", [SetAway("")]),
        ("NICK al", [Rename(nick("al"))]),
        ("NICK", [numeric("431", "No nickname given")]),
        ("QUIT :bye all", [Quit("bye all")]),
        ("QUIT", [Quit("")]),
        ("PING :sync1", [Tell(Pong("sync1"))]),
        ("PONG :irc.test-1", [IGNORED]),
        ("LUSERS", [ShowCounts()]),
        ("TIME", [Tell(TimeReply())]),
        ("USER al 0 * :again", [numeric("462", "You may not reregister")]),
        ("FOO bar", [numeric("421", "FOO", "Unknown command")]),
        ("MODE #a", [ChangeModes(room("#a"))]),
        ("MODE #a b", [ChangeModes(room("#a"), (ModeChange(Mode.BAN, True),))]),
        ("MODE #a +b", [ChangeModes(room("#a"), (ModeChange(Mode.BAN, True),))]),
        ("MODE #a e", [ChangeModes(room("#a"), (ModeChange(Mode.EXCEPTION, True),))]),
        ("MODE #a I", [ChangeModes(room("#a"), (ModeChange(Mode.INVITATION, True),))]),
        (
            "MODE #a +ov-m bob carol",
            [
                ChangeModes(
                    room("#a"),
                    (
                        ModeChange(Mode.OPERATOR, True, "bob"),
                        ModeChange(Mode.VOICE, True, "carol"),
                        ModeChange(Mode.MODERATED, False),
                    ),
                )
            ],
        ),
        ("MODE #a +k", [ChangeModes(room("#a"))]),  # a key short of its argument: dropped
        ("MODE #a -k", [ChangeModes(room("#a"), (ModeChange(Mode.KEY, False),))]),
        ("MODE #a +l 5", [ChangeModes(room("#a"), (ModeChange(Mode.LIMIT, True, "5"),))]),
        ("MODE #a +Z", [numeric("472", "Z", "is an unknown mode char to me")]),
        ("MODE #b@d +m", [numeric("403", "#b@d", "No such channel")]),
        (
            "MODE #a +b a:spammer",
            [ChangeModes(room("#a"), (ModeChange(Mode.BAN, True, "a:spammer"),))],
        ),
        ("KICK #a bob :go away", [Kick(room("#a"), nick("bob"), "go away")]),
        ("KICK #a bob,carol", [Kick(room("#a"), nick("bob")), Kick(room("#a"), nick("carol"))]),
        ("KICK #a", [numeric("461", "KICK", "Not enough parameters")]),
        ("INVITE bob #a", [Invite(nick("bob"), room("#a"))]),
        ("INVITE bob", [numeric("461", "INVITE", "Not enough parameters")]),
        ("OPER operuser operpassword", [OperLogin("operuser", "operpassword")]),
        ("OPER operuser", [numeric("461", "OPER", "Not enough parameters")]),
        ("KILL bob :spam", [Kill(nick("bob"), "spam")]),
        ("WALLOPS :hear ye", [SendWallops("hear ye")]),
        ("KLINE 1h *!*@x.ip :spam", [BanFromServer("*!*@x.ip", 3600, "spam")]),
        ("KLINE *!*@x.ip spam wave", [BanFromServer("*!*@x.ip", 0, "spam wave")]),
        ("DLINE 7d 203.0.113.0/24", [BanFromServer("203.0.113.0/24", 604800, "")]),
        ("UNKLINE *!*@x.ip", [LiftServerBan("*!*@x.ip")]),
        ("STATS K", [ShowServerBans()]),
        ("STATS u", [numeric("219", "u", "End of /STATS report")]),
        ("PRIVMSG ChanServ :REGISTER #a", [RegisterRoom(room("#a"))]),
        ("CS DROP #a", [RegisterRoom(room("#a"), drop=True)]),
        ("JOIN #a,#b key", [JoinRoom(room("#a"), "key"), JoinRoom(room("#b"))]),
        ("MODE alice", [Tell(UserModes())]),
        ("MODE Alice +i", [SetInvisible(on=True), Tell(UserModes("+i"))]),
        ("MODE Alice -w+i-i", [SetInvisible(on=False), Tell(UserModes("-w+i-i"))]),
        ("MODE Alice +w", [Tell(UserModes("+w"))]),
        ("MODE bob", [numeric("502", "Can't change mode for other users")]),
        ("", [IGNORED]),
        ("@only=tags", [IGNORED]),
        ("@+typing=active TAGMSG #a", [numeric("421", "TAGMSG", "Unknown command")]),
    ],
)
def test_registered_commands(line: str, inputs: list[Input]) -> None:
    assert feed(registered(), line) == inputs


def test_join_0_leaves_every_room() -> None:
    front_end = registered()
    see(
        front_end,
        [
            RoomEntered(
                "#rust",
                roster("alice"),
                "",
            )
        ],
    )
    assert feed(front_end, "JOIN 0") == [PartRoom(room("#lobby")), PartRoom(room("#rust"))]


@pytest.mark.parametrize(
    "line",
    [
        b"PRIVMSG #a :" + b"x" * 500,  # 512 with its CR LF and more
        b"@" + b"a" * 8191 + b" PRIVMSG #a :hi",
        b"PRIVMSG #a :" + b"x" * 20_000,
    ],
)
def test_a_line_too_long_is_417(line: bytes) -> None:
    assert feed(registered(), line) == [numeric("417", "Input line was too long")]
    assert sent(feed(IrcFrontEnd(CONFIG), line)) == [f":{SERVER} 417 * :Input line was too long"]


def test_a_line_of_512_bytes_is_fine_and_control_characters_are_removed() -> None:
    line = b"PRIVMSG #a :" + b"y" * (510 - 12)
    assert feed(registered(), line) == [Say("y" * 498, room("#a"))]
    assert feed(registered(), b"PRIVMSG #a :caf\xc3\xa9 \x00!") == [Say("café !", room("#a"))]


def test_the_version_and_motd_and_caps_after_registration() -> None:
    front_end = registered()
    (version,) = feed(front_end, "VERSION")
    assert isinstance(version, Tell)
    assert isinstance(version.event, Numerics)
    assert version.event.items[0] == Numeric(
        "351", ("trio-chat-0.1.0", SERVER, "trio-chat, on Trio")
    )
    assert {item.code for item in version.event.items[1:]} == {"005"}  # (as many as it takes)
    (request,) = feed(front_end, "CAP REQ :echo-message")
    assert request == Tell(
        CapAcknowledged("echo-message", frozenset({Cap.ECHO_MESSAGE}), frozenset())
    )
    assert see(front_end, [request.event]) == [f":{SERVER} CAP alice ACK echo-message"]
    assert sent(feed(IrcFrontEnd(CONFIG), "MOTD")) == [f":{SERVER} 451 * :You have not registered"]


# --- rendering ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "lines"),
    [
        (Said("#a", "bob", "hi there", user="~bob"), [":bob!~bob@irc.test PRIVMSG #a :hi there"]),
        (Said("#a", "José", "olá"), [":José!José@irc.test PRIVMSG #a :olá"]),
        (Said("#a", "bob", "beep", notice=True), [":bob!bob@irc.test NOTICE #a :beep"]),
        (Emoted("#a", "bob", "waves"), [":bob!bob@irc.test PRIVMSG #a :\x01ACTION waves\x01"]),
        (Joined("#a", "bob"), [":bob!bob@irc.test JOIN #a"]),
        (Parted("#a", "bob"), [":bob!bob@irc.test PART #a"]),
        (Parted("#a", "bob", "lunch time"), [":bob!bob@irc.test PART #a :lunch time"]),
        (TopicChanged("#a", "bob", "new"), [":bob!bob@irc.test TOPIC #a new"]),
        (TopicChanged("#a", "bob", ""), [":bob!bob@irc.test TOPIC #a :"]),
        (Renamed("bob", "robert"), [":bob!bob@irc.test NICK robert"]),
        (Departed("bob", LeaveReason.QUIT), [":bob!bob@irc.test QUIT Quit"]),
        (Departed("bob", LeaveReason.QUIT, "bye all"), [":bob!bob@irc.test QUIT :Quit: bye all"]),
        (Departed("bob", LeaveReason.PING_TIMEOUT), [":bob!bob@irc.test QUIT :Ping timeout"]),
        (Departed("bob", LeaveReason.TOO_SLOW), [":bob!bob@irc.test QUIT :Too slow"]),
        (AwayChanged("bob", "lunch"), []),  # without away-notify
        (PrivateFrom("bob", "psst"), [":bob!bob@irc.test PRIVMSG alice :psst"]),
        (
            PrivateFrom("bob", "waves", action=True),
            [":bob!bob@irc.test PRIVMSG alice :\x01ACTION waves\x01"],
        ),
        (PrivateTo("bob", "psst"), []),  # without echo-message
        (IsAway("bob", "lunch"), [f":{SERVER} 301 alice bob lunch"]),
        (CurrentRoom("#a"), []),
        (
            Roster("#a", roster("alice", "bob")),
            [f":{SERVER} 353 alice = #a :alice bob", f":{SERVER} 366 alice #a :End of /NAMES list"],
        ),
        (TopicIs("#a", ""), [f":{SERVER} 331 alice #a :No topic is set"]),
        (TopicIs("#a", "tea time"), [f":{SERVER} 332 alice #a :tea time"]),
        (
            RoomList((RoomSummary("#a", 3, "tea"), RoomSummary("#b", 1, ""))),
            [
                f":{SERVER} 321 alice Channel :Users  Name",
                f":{SERVER} 322 alice #a 3 tea",
                f":{SERVER} 322 alice #b 1 :",
                f":{SERVER} 323 alice :End of /LIST",
            ],
        ),
        (
            Counts(5, 2, 7),
            [
                f":{SERVER} 251 alice :There are 5 users and 0 invisible on 1 servers",
                f":{SERVER} 254 alice 2 :channels formed",
                f":{SERVER} 255 alice :I have 5 clients and 0 servers",
                f":{SERVER} 265 alice 5 7 :Current local users",
                f":{SERVER} 266 alice 5 7 :Current global users",
            ],
        ),
        (
            Found(
                "ISON",
                ("bob", "carol", "dave"),
                (MemberInfo("bob", "", "", ()), MemberInfo("dave", "", "x", ())),
            ),
            [f":{SERVER} 303 alice :bob dave"],
        ),
        (
            Found(
                "USERHOST",
                ("bob", "dave"),
                (MemberInfo("bob", "", "", (), "~b"), MemberInfo("dave", "", "x", ())),
            ),
            [f":{SERVER} 302 alice :bob=+~b@irc.test dave=-dave@irc.test"],
        ),
        (
            Found(
                "WHOIS Bob",
                ("Bob",),
                (MemberInfo("bob", "Bob B", "gone", memberships("#a", "#b"), "~b"),),
            ),
            [
                f":{SERVER} 311 alice bob ~b irc.test * :Bob B",
                f":{SERVER} 319 alice bob :#a #b",
                f":{SERVER} 312 alice bob irc.test trio-chat-0.1.0",
                f":{SERVER} 301 alice bob gone",
                f":{SERVER} 318 alice Bob :End of /WHOIS list",
            ],
        ),
        (
            Found("WHOIS carol", ("carol",), ()),
            [
                f":{SERVER} 401 alice carol :No such nick",
                f":{SERVER} 318 alice carol :End of /WHOIS list",
            ],
        ),
        (
            Found(
                "WHO bob",
                ("bob",),
                (
                    MemberInfo(
                        "bob",
                        "",
                        "",
                        memberships("#a"),
                    ),
                ),
            ),
            [
                f":{SERVER} 352 alice #a bob irc.test irc.test bob H :0 bob",
                f":{SERVER} 315 alice bob :End of WHO list",
            ],
        ),
        (
            Found(
                "NAMES #a", ("#a",), (MemberInfo("al", "", "", ()), MemberInfo("bo", "", "", ()))
            ),
            [f":{SERVER} 353 alice = #a :al bo", f":{SERVER} 366 alice #a :End of /NAMES list"],
        ),
        (
            Found(
                "WHO #a", ("#a",), (MemberInfo("bo", "Bo", "zzz", memberships("#b", "#a"), "~bo"),)
            ),
            [
                f":{SERVER} 352 alice #a ~bo irc.test irc.test bo G :0 Bo",
                f":{SERVER} 315 alice #a :End of WHO list",
            ],
        ),
        (
            Found(
                "WHO *",
                ("*",),
                (
                    MemberInfo(
                        "bo",
                        "",
                        "",
                        memberships("#b"),
                    ),
                ),
            ),
            [
                f":{SERVER} 352 alice #b bo irc.test irc.test bo H :0 bo",
                f":{SERVER} 315 alice * :End of WHO list",
            ],
        ),
        (
            ModesChanged(
                "#a",
                "bob",
                (ModeChange(Mode.OPERATOR, True, "carol"), ModeChange(Mode.MODERATED, False)),
                "~bo",
                "k5x2.ip",
            ),
            [":bob!~bo@k5x2.ip MODE #a +o-m carol"],
        ),
        (
            Kicked("#a", "bob", "carol", "spam", "~bo", "k5x2.ip"),
            [":bob!~bo@k5x2.ip KICK #a carol spam"],
        ),
        (Invited("#a", "bob", "alice", "~bo"), [":bob!~bo@irc.test INVITE alice #a"]),
        (Invited("#a", "alice", "carol"), [f":{SERVER} 341 alice carol #a"]),
        (Invited("#a", "bob", "carol"), []),  # only with invite-notify
        (
            ModesAre("#a", "tnk", "sesame", 5, 1700000000.0),
            [f":{SERVER} 324 alice #a +tnk sesame 5", f":{SERVER} 329 alice #a 1700000000"],
        ),
        (
            ListIs("#a", Mode.BAN, (ListEntry("*!*@k5x2.ip", "bob", 1700000000.0),)),
            [
                f":{SERVER} 367 alice #a *!*@k5x2.ip bob 1700000000",
                f":{SERVER} 368 alice #a :End of channel ban list",
            ],
        ),
        (
            ListIs("#a", Mode.INVITATION, ()),
            [f":{SERVER} 347 alice #a :End of channel invite list"],
        ),
        (
            OperatorNow("operuser"),
            [f":{SERVER} 381 alice :You are now an IRC operator", f":{SERVER} MODE alice +o"],
        ),
        (Wallops("bob", "hear ye", "~bo"), [":bob!~bo@irc.test WALLOPS :hear ye"]),
        (
            PutOut(LeaveReason.KILLED, "bob", "spam"),
            ["ERROR :Closing Link: (Killed (bob (spam)))"],
        ),
        (
            Departed("carol", LeaveReason.KILLED, "Killed (bob (spam))"),
            [":carol!carol@irc.test QUIT :Killed (bob (spam))"],
        ),
        (
            ServerBans((ServerBanEntry("a:spammer", "spam", "bob", 1.0, 0.0),)),
            [
                f":{SERVER} 216 alice K a:spammer 0 bob spam",
                f":{SERVER} 219 alice K :End of /STATS report",
            ],
        ),
        (
            RoomRegistered("#a", "alice"),
            [":ChanServ!ChanServ@services NOTICE alice :#a is registered to alice"],
        ),
        (
            Refusal(Reason.NOT_ROOM_OPERATOR, "#a"),
            [f":{SERVER} 482 alice #a :You're not channel operator"],
        ),
        (
            Refusal(Reason.BANNED_FROM_ROOM, "#a"),
            [f":{SERVER} 474 alice #a :Cannot join channel (+b)"],
        ),
        (Refusal(Reason.INVITE_ONLY, "#a"), [f":{SERVER} 473 alice #a :Cannot join channel (+i)"]),
        (Refusal(Reason.WRONG_KEY, "#a"), [f":{SERVER} 475 alice #a :Cannot join channel (+k)"]),
        (
            Refusal(Reason.ROOM_FULL, "#a", "5"),
            [f":{SERVER} 471 alice #a :Cannot join channel (+l)"],
        ),
        (Refusal(Reason.MODERATED, "#a"), [f":{SERVER} 404 alice #a :Cannot send to channel (+m)"]),
        (
            Refusal(Reason.NOT_SERVER_OPERATOR),
            [f":{SERVER} 481 alice :Permission Denied- You're not an IRC operator"],
        ),
        (Refusal(Reason.WRONG_OPERATOR_LOGIN), [f":{SERVER} 464 alice :Password incorrect"]),
        (
            Refusal(Reason.NOT_IN_THAT_ROOM, "bob", "#a"),
            [f":{SERVER} 441 alice bob #a :They aren't on that channel"],
        ),
        (
            Refusal(Reason.ALREADY_IN_ROOM, "bob", "#a"),
            [f":{SERVER} 443 alice bob #a :is already on channel"],
        ),
        (
            Refusal(Reason.BAD_MODE_ARGUMENT, "#a", "k"),
            [f":{SERVER} 696 alice #a k * :that is not a valid value for mode k of #a"],
        ),
        (
            Refusal(Reason.SERVER_BANNED, detail="spam"),
            [
                f":{SERVER} 465 alice :You are banned from this server: spam",
                "ERROR :Closing Link: (Banned: spam)",
            ],
        ),
        (
            TopicIs("#a", "tea time", "bob", 1700000000.0),
            [f":{SERVER} 332 alice #a :tea time", f":{SERVER} 333 alice #a bob 1700000000"],
        ),
        (
            Found("WHO #A", ("#A",), (MemberInfo("bo", "", "", memberships("+#a")),)),
            [
                f":{SERVER} 352 alice #a bo irc.test irc.test bo H+ :0 bo",  # as the room says
                f":{SERVER} 315 alice #A :End of WHO list",
            ],
        ),
        (Goodbye(), ["ERROR :Closing Link: (Quit)"]),
        (ShuttingDown(), ["ERROR :Closing Link: (Server shutting down)"]),
        (Pong("sync"), [f":{SERVER} PONG {SERVER} sync"]),
        (TimeReply(), [f":{SERVER} 391 alice {SERVER} :Tuesday November 14 2023 -- 22:13:20 UTC"]),
        (
            Refusal(Reason.NICK_TAKEN, "bob"),
            [f":{SERVER} 433 alice bob :Nickname is already in use"],
        ),
        (
            Refusal(Reason.NICK_RESERVED, "admin"),
            [f":{SERVER} 432 alice admin :Erroneous nickname: the nickname admin is reserved"],
        ),
        (Refusal(Reason.NICK_UNCHANGED, "alice"), []),
        (Refusal(Reason.NO_SUCH_NICK, "carol"), [f":{SERVER} 401 alice carol :No such nick"]),
        (Refusal(Reason.NO_SUCH_ROOM, "#z"), [f":{SERVER} 403 alice #z :No such channel"]),
        (Refusal(Reason.CANNOT_SEND, "#z"), [f":{SERVER} 404 alice #z :Cannot send to channel"]),
        (
            Refusal(Reason.NOT_IN_ROOM, "#z"),
            [f":{SERVER} 442 alice #z :You're not on that channel"],
        ),
        (
            Refusal(Reason.TOO_MANY_ROOMS_JOINED, "#z", "20"),
            [
                f":{SERVER} 405 alice #z :You have joined too many channels: "
                "you are in 20 rooms, the most allowed"
            ],
        ),
        (
            Refusal(Reason.TOPIC_TOO_LONG, "#z", "300"),
            [f":{SERVER} 400 alice * :topic too long (max 300 bytes)"],
        ),
        (Refusal(Reason.EXCESS_FLOOD), ["ERROR :Closing Link: (Excess Flood)"]),
    ],
)
def test_render(event: Event, lines: list[str]) -> None:
    assert see(registered(), [event]) == lines


def test_roles_are_prefixes_and_multi_prefix_shows_them_all() -> None:
    op_and_voice = (Role.OPERATOR, Role.VOICE)
    members = (RosterEntry("bob", op_and_voice), RosterEntry("carol", (Role.VOICE,)))
    where = (Membership("#a", op_and_voice), Membership("#b"))
    bob = MemberInfo("bob", "", "", where, "~b")
    for caps, prefix in (("", "@"), ("multi-prefix", "@+")):
        front_end = registered(caps)
        assert see(front_end, [Roster("#a", members)])[0] == (
            f":{SERVER} 353 alice = #a :{prefix}bob +carol"
        )
        assert see(front_end, [Found("WHO #a", ("#a",), (bob,))])[0] == (
            f":{SERVER} 352 alice #a ~b irc.test irc.test bob H{prefix} :0 bob"
        )
        assert see(front_end, [Found("WHOIS bob", ("bob",), (bob,))])[1] == (
            f":{SERVER} 319 alice bob :{prefix}#a #b"
        )
        names = see(front_end, [Found("NAMES #A", ("#A",), (bob,))])  # typed in another case
        assert names[0] == f":{SERVER} 353 alice = #A {prefix}bob"  # (one word: no colon)
    with_hosts = registered("userhost-in-names")
    assert see(with_hosts, [Roster("#a", members[:1])])[0] == (
        f":{SERVER} 353 alice = #a @bob!bob@irc.test"
    )


def test_own_lines_need_echo_message() -> None:
    mine = [Said("#lobby", "alice", "me"), Said("#lobby", "bob", "you")]
    assert see(registered(), mine, personal=False) == [":bob!bob@irc.test PRIVMSG #lobby :you"]
    assert see(registered("echo-message"), mine, personal=False) == [
        ":alice!alice@irc.test PRIVMSG #lobby :me",
        ":bob!bob@irc.test PRIVMSG #lobby :you",
    ]
    assert see(registered("echo-message"), [PrivateTo("bob", "psst")]) == [
        ":alice!~al@irc.test PRIVMSG bob :psst"
    ]


def test_server_time_tags() -> None:
    (line,) = see(registered("server-time"), [Said("#lobby", "bob", "hi")], personal=False)
    assert line == "@time=2023-11-14T22:13:20.250Z :bob!bob@irc.test PRIVMSG #lobby :hi"


def test_away_notify() -> None:
    front_end = registered("away-notify")
    assert see(front_end, [AwayChanged("bob", "lunch")], personal=False) == [
        ":bob!bob@irc.test AWAY lunch"
    ]
    assert see(front_end, [AwayChanged("bob", "")], personal=False) == [":bob!bob@irc.test AWAY"]
    assert see(front_end, [Joined("#lobby", "bob", "lunch")], personal=False) == [
        ":bob!bob@irc.test JOIN #lobby",
        ":bob!bob@irc.test AWAY lunch",
    ]
    assert see(front_end, [AwayChanged("alice", "zzz")]) == [
        f":{SERVER} 306 alice :You have been marked as being away"
    ]
    assert see(front_end, [AwayChanged("alice", "")]) == [
        f":{SERVER} 305 alice :You are no longer marked as being away"
    ]


def test_userhost_in_names() -> None:
    assert see(
        registered("userhost-in-names"),
        [
            Roster(
                "#a",
                roster("bob"),
            )
        ],
    )[0] == (f":{SERVER} 353 alice = #a bob!bob@irc.test")


def test_a_long_message_is_split_never_truncated() -> None:
    text = "é" * 1000 + " and the end"  # 2,012 bytes, as a plain user may send
    lines = see(registered(), [Said("#lobby", "bob", text)], personal=False)
    assert len(lines) == 5
    prefix = ":bob!bob@irc.test PRIVMSG #lobby :"
    assert all(line.startswith(prefix) for line in lines)
    assert "".join(line.removeprefix(prefix) for line in lines) == text


def test_a_big_roster_is_split_into_several_names_lines() -> None:
    nicks = tuple(f"member{n:04d}" for n in range(300))
    lines = see(registered(), [Roster("#a", roster(*nicks))])
    assert len(lines) > 5
    names = " ".join(line.split(" :", 1)[1] for line in lines[:-1]).split()
    assert tuple(names) == nicks


def test_renames_and_room_changes_of_ones_own_are_followed() -> None:
    front_end = registered()
    assert see(front_end, [Renamed("alice", "al", "~al")]) == [":alice!~al@irc.test NICK al"]
    assert see(front_end, [Refusal(Reason.NO_SUCH_NICK, "x")]) == [
        f":{SERVER} 401 al x :No such nick"
    ]
    assert see(front_end, [RoomExited("#lobby", "bye")]) == [":al!~al@irc.test PART #lobby bye"]
    assert feed(front_end, "JOIN 0") == [IGNORED]  # in no room now


def test_a_shared_delivery_is_rendered_once_per_kind_of_viewer() -> None:
    plain_time, echo = registered(), registered("echo-message")
    timed = registered("server-time")
    delivery = Delivery([Said("#lobby", "bob", "hi")], time=1.0)
    first = plain_time.render(delivery)
    assert echo.render(delivery) is first  # echo-message changes nothing for bob's line
    assert timed.render(delivery) != first  # server-time does
    assert timed.render(delivery) is timed.render(delivery)
    # multi-prefix and userhost-in-names change only NAMES, WHO and WHOIS, always told to
    # one member alone: no rendering of their own for a room's lines.
    names = registered("multi-prefix userhost-in-names", nickname="carol")
    assert names.render(delivery) is first


def test_members_that_spoke_join_the_kinds_pieces_without_rendering_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Ten of a room's members spoke in one turn: each sees the others' lines, not its own, and
    # the turn is still rendered once for all of them (the speakers included).
    speakers = [registered(nickname=f"m{n}") for n in range(10)]
    listener = registered(nickname="quiet")
    delivery = Delivery(
        [Said("#lobby", f"m{n}", f"line {n}") for n in range(10)] + [Joined("#lobby", "bob")],
        time=1.0,
    )
    rendered: list[Event] = []
    event = IrcFrontEnd._event

    def counting(self: IrcFrontEnd, one: Event, *args: object, **kwargs: bool) -> object:
        rendered.append(one)
        return event(self, one, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(IrcFrontEnd, "_event", counting)
    seen = [front_end.render(delivery).decode().splitlines() for front_end in speakers]
    assert rendered == list(delivery.events)  # once: eleven events, for eleven viewers
    assert listener.render(delivery).decode().splitlines() == [
        *(f":m{n}!m{n}@irc.test PRIVMSG #lobby :line {n}" for n in range(10)),
        ":bob!bob@irc.test JOIN #lobby",
    ]
    for n, lines in enumerate(seen):
        assert f":m{n}!m{n}@irc.test PRIVMSG #lobby :line {n}" not in lines
        assert len(lines) == 10  # the nine others' lines and the join, in order
        assert lines[-1] == ":bob!bob@irc.test JOIN #lobby"
    assert len(rendered) == 11  # the listener reused the same rendering


def test_own_lines_are_left_out_of_a_personal_delivery_too() -> None:
    # In the turn that answers our PING (a personal delivery), our own line is no echo.
    mine: list[Event] = [Said("#lobby", "alice", "me"), Emoted("#lobby", "alice", "waves")]
    mine.append(Pong("x"))
    assert see(registered(), mine) == [f":{SERVER} PONG {SERVER} x"]
    assert see(registered("echo-message"), mine)[:2] == [
        ":alice!alice@irc.test PRIVMSG #lobby :me",
        ":alice!alice@irc.test PRIVMSG #lobby :\x01ACTION waves\x01",
    ]


@pytest.mark.parametrize(
    ("why", "line"),
    [
        (Farewell.SERVER_FULL, b"ERROR :Closing Link: (Server full)\r\n"),
        (Farewell.TIMED_OUT, b"ERROR :Closing Link: (Timed out)\r\n"),
        (Farewell.EXCESS_FLOOD, b"ERROR :Closing Link: (Excess flood)\r\n"),
    ],
)
def test_farewells(why: Farewell, line: bytes) -> None:
    assert IrcFrontEnd(CONFIG).farewell(why) == line


def test_keepalive_pings() -> None:
    front_end = registered()
    ping = front_end.keepalive()
    assert see(front_end, [ping]) == ["PING irc.test-1"]
    assert see(front_end, [front_end.keepalive()]) == ["PING irc.test-2"]


def drive(front_end: IrcFrontEnd, chunks: list[bytes]) -> list[Input]:
    """Feed ``chunks`` as the shell does: after a Introduce, the hub's welcome comes first."""
    got: list[Input] = []
    for chunk in chunks:
        front_end.receive_data(chunk)
        while (item := front_end.next_input()) is not None:
            got.append(item)
            if isinstance(item, Introduce):
                see(
                    front_end,
                    [
                        Registered("alice", 1, 1),
                        RoomEntered(
                            "#lobby",
                            roster("alice"),
                            "",
                        ),
                    ],
                )
    return got


def test_input_is_framed_however_it_is_chunked() -> None:
    data = b"NICK alice\r\nUSER al 0 * :Alice\nPRIVMSG #a :hi\r\nPRIVMSG #a :end"
    expected = [
        IGNORED,
        Introduce(nick("alice"), "Alice", "~al", lobby=False),
        Say("hi", room("#a")),
    ]
    for chunks in ([data], [bytes([byte]) for byte in data]):
        front_end = IrcFrontEnd(CONFIG)
        assert drive(front_end, chunks) == expected
        assert drive(front_end, [b""]) == [Say("end", room("#a"))]


def test_a_line_that_is_not_utf8_is_refused() -> None:
    assert feed(registered(), b"PRIVMSG bob :hi\xaa") == [Tell(_InvalidUtf8("PRIVMSG"))]
    assert see(registered(), [_InvalidUtf8("PRIVMSG")]) == [
        f":{SERVER} FAIL PRIVMSG INVALID_UTF8 :Message rejected: this network uses UTF-8 only"
    ]


# --- accounts: SASL, PASS, REGISTER ------------------------------------------------------------


def test_cap_ls_without_302_lists_names_only() -> None:
    (ls,) = feed(IrcFrontEnd(CONFIG), "CAP LS")
    assert "sasl " in sent([ls])[0]
    assert "=" not in sent([ls])[0]


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("WHO :#a b", f":{SERVER} 315 alice * :End of WHO list"),
        ("NAMES :#a b", f":{SERVER} 366 alice * :End of /NAMES list"),
    ],
)
def test_replies_never_echo_a_clients_spaces_into_a_middle_parameter(line: str, reply: str) -> None:
    front_end = registered()
    (answer,) = feed(front_end, line)
    assert isinstance(answer, Tell)
    assert front_end.render(Delivery([answer.event], personal=True)).decode() == reply + "\r\n"


def test_the_readme_says_what_cap_ls_offers() -> None:
    # The README's list of capabilities is a promise to client authors: it must be the list.
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    paragraph = readme.split("**Capabilities:**", 1)[1].split("\n\n", 1)[0]
    paragraph = re.sub(r"\([^)]*\)", "", paragraph)  # values and remarks in parentheses
    sentences = paragraph.split(". ")
    offered_part = " ".join(line for line in sentences if "not offered" not in line)
    refused_part = " ".join(line for line in sentences if "not offered" in line)
    (ls,) = feed(IrcFrontEnd(CONFIG), "CAP LS")
    offered = set(sent([ls])[0].split(" :", 1)[1].split())
    assert set(re.findall(r"`([a-z/-]+)`", offered_part)) == offered
    assert not set(re.findall(r"`([a-z/-]+)`", refused_part)) & offered


def test_authenticate_reassembles_chunks_and_decodes_them() -> None:
    front_end = IrcFrontEnd(CONFIG)
    assert feed(front_end, "AUTHENTICATE plain") == [SaslStart(Mechanism.PLAIN)]
    message = b"\0jilles\0" + b"x" * 590  # 600 bytes: 800 in base64, two full chunks
    encoded = base64.b64encode(message).decode()
    assert feed(front_end, f"AUTHENTICATE {encoded[:400]}") == [IGNORED]
    assert feed(front_end, f"AUTHENTICATE {encoded[400:]}") == [IGNORED]
    assert feed(front_end, "AUTHENTICATE +") == [SaslResponse(message)]
    # The next message of the same exchange; "+" alone is an empty one.
    assert feed(front_end, "AUTHENTICATE +") == [SaslResponse(b"")]
    assert feed(front_end, "AUTHENTICATE *") == [SaslAbort()]


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("AUTHENTICATE " + "A" * 401, f":{SERVER} 905 * :SASL message too long"),
        ("AUTHENTICATE !!!", f":{SERVER} 904 * :SASL authentication failed"),
    ],
)
def test_a_sasl_message_the_front_end_cannot_take_ends_the_exchange(line: str, reply: str) -> None:
    front_end = IrcFrontEnd(CONFIG)
    feed(front_end, "AUTHENTICATE PLAIN")
    answer, abort = feed(front_end, line)
    assert sent([answer]) == [reply]
    assert abort == SaslAbort(told=True)
    assert feed(front_end, "AUTHENTICATE PLAIN") == [SaslStart(Mechanism.PLAIN)]  # anew


def test_an_endless_sasl_message_is_refused() -> None:
    front_end = IrcFrontEnd(CONFIG)
    feed(front_end, "AUTHENTICATE PLAIN")
    chunk = "A" * 400
    for _ in range(30):
        (item, *_) = feed(front_end, f"AUTHENTICATE {chunk}")
        if item != IGNORED:
            break
    assert sent([item]) == [f":{SERVER} 904 * :SASL authentication failed"]


def test_an_unknown_mechanism_is_told_with_the_list() -> None:
    assert sent(feed(IrcFrontEnd(CONFIG), "AUTHENTICATE FOO")) == [
        f":{SERVER} 908 * PLAIN,SCRAM-SHA-256,EXTERNAL :are available SASL mechanisms",
        f":{SERVER} 904 * :SASL authentication failed",
    ]


def test_pass_account_password_logs_in_when_the_server_has_no_password() -> None:
    front_end = IrcFrontEnd(CONFIG)
    inputs = feed(front_end, "PASS :alice:open sesame", "NICK al", "USER al 0 * :Al")
    assert inputs[-1] == Introduce(
        nick("al"), "Al", "~al", lobby=False, account=nick("alice"), password="open sesame"
    )
    bare = feed(IrcFrontEnd(CONFIG), "PASS open-sesame", "NICK al", "USER al 0 * :Al")[-1]
    assert bare == Introduce(
        nick("al"), "Al", "~al", lobby=False, account=nick("al"), password="open-sesame"
    )


def test_register_names_the_nickname_and_needs_one() -> None:
    front_end = IrcFrontEnd(CONFIG)
    assert sent(feed(front_end, "REGISTER * * pw")) == [
        f":{SERVER} FAIL REGISTER NEED_NICK * :Send NICK first"
    ]
    feed(front_end, "NICK bar")
    assert feed(front_end, "REGISTER * * :a passphrase") == [
        RegisterAccount("a passphrase", nick("bar"))
    ]
    assert feed(front_end, "REGISTER BAR * pw") == [RegisterAccount("pw", nick("bar"))]
    assert sent(feed(front_end, "REGISTER foo * pw")) == [
        f":{SERVER} FAIL REGISTER ACCOUNT_NAME_MUST_BE_NICK foo"
        " :The account's name is your nickname"
    ]


def test_sasl_and_account_news_are_numerics() -> None:
    front_end = IrcFrontEnd(CONFIG)
    feed(front_end, "NICK alice", "USER al 0 * :Al")
    assert see(front_end, [SaslChallenge(b"")]) == ["AUTHENTICATE +"]
    assert see(front_end, [SaslSucceeded("alice")]) == [
        f":{SERVER} 900 * alice!~al@irc.test alice :You are now logged in as alice",
        f":{SERVER} 903 * :SASL authentication successful",
    ]
    assert see(front_end, [LoggedIn("alice")]) == []  # said already
    assert see(front_end, [SaslFailed(already=True)]) == [
        f":{SERVER} 907 * :You have already authenticated using SASL"
    ]
    assert see(front_end, [SaslFailed(aborted=True)]) == [
        f":{SERVER} 906 * :SASL authentication aborted"
    ]
    long = bytes(range(256)) * 2  # 512 bytes: 684 in base64
    lines = see(front_end, [SaslChallenge(long)])
    assert [len(line) for line in lines] == [len("AUTHENTICATE ") + 400, len("AUTHENTICATE ") + 284]
    exactly = b"x" * 300  # 400 in base64: a "+" says it ended
    assert see(front_end, [SaslChallenge(exactly)])[-1] == "AUTHENTICATE +"


def test_registered_names_and_registration_refusals() -> None:
    front_end = registered()
    assert see(front_end, [Refusal(Reason.NICK_REGISTERED, "bob")]) == [
        f":{SERVER} 433 alice bob :bob is registered: log in to use it: log in with SASL,"
        " or PASS bob:password"
    ]
    assert see(front_end, [Refusal(Reason.ACCOUNT_EXISTS, "bob")]) == [
        f":{SERVER} FAIL REGISTER ACCOUNT_EXISTS bob :bob is registered already"
    ]
    assert see(front_end, [Refusal(Reason.PASSWORD_TOO_SHORT, detail="8")]) == [
        f":{SERVER} FAIL REGISTER WEAK_PASSWORD * :a password needs at least 8 bytes"
    ]
    assert see(front_end, [AccountCreated("alice")]) == [
        f":{SERVER} REGISTER SUCCESS alice :Account created",
        f":{SERVER} 900 alice alice!~al@irc.test alice :You are now logged in as alice",
    ]


def test_accounts_on_messages_joins_and_whois_with_their_caps() -> None:
    said = Said("#lobby", "bob", "hi", account="bob")
    assert see(registered(), [said], personal=False) == [":bob!bob@irc.test PRIVMSG #lobby :hi"]
    tagged = see(registered("account-tag server-time"), [said], personal=False)
    assert tagged == [
        "@time=2023-11-14T22:13:20.250Z;account=bob :bob!bob@irc.test PRIVMSG #lobby :hi"
    ]
    assert see(registered("account-tag"), [said], personal=False) == [
        "@account=bob :bob!bob@irc.test PRIVMSG #lobby :hi"
    ]
    # An invitation is signed too, to whom it invites; its sender's answer (341) is not.
    invited = Invited("#a", "bob", "alice", "~b", "", "bob")
    assert see(registered("account-tag"), [invited]) == [
        "@account=bob :bob!~b@irc.test INVITE alice #a"
    ]
    assert see(registered("account-tag", nickname="bob"), [invited]) == [
        f":{SERVER} 341 bob alice #a"
    ]
    joined = Joined("#lobby", "bob", "", "~b", "bob", "Bob B")
    assert see(registered("extended-join"), [joined], personal=False) == [
        ":bob!~b@irc.test JOIN #lobby bob :Bob B"
    ]
    anonymous = Joined("#lobby", "carol", "", "", "", "")
    assert see(registered("extended-join"), [anonymous], personal=False) == [
        ":carol!carol@irc.test JOIN #lobby * carol"
    ]
    change = AccountChanged("bob", "", "~b")
    assert see(registered("account-notify"), [change], personal=False) == [
        ":bob!~b@irc.test ACCOUNT *"
    ]
    assert see(registered(), [change], personal=False) == []
    whois = Found("WHOIS bob", ("bob",), (MemberInfo("bob", "", "", (), "~b", "bob"),))
    assert f":{SERVER} 330 alice bob bob :is logged in as" in see(registered(), [whois])
