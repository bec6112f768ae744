"""The plain-text front end, pure: every command parsed, every event rendered, every refusal worded.

No Trio and no sockets here: the front end is fed bytes and deliveries, and its inputs and bytes
are compared with what the README's protocol table says.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests.names import nick, room, roster
from trio_chat.core.delivery import Delivery
from trio_chat.core.events import (
    AccountChanged,
    AccountCreated,
    AwayChanged,
    BanFromServer,
    BanMember,
    ChangeModes,
    Command,
    CurrentRoom,
    Departed,
    Emote,
    Emoted,
    Event,
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
    LoggedOut,
    LogOut,
    ModesAre,
    ModesChanged,
    OperatorNow,
    Parted,
    PartRoom,
    PasswordChanged,
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
    Say,
    SendWallops,
    ServerBanChanged,
    ServerBanEntry,
    ServerBans,
    SetAway,
    SetTopic,
    ShowServerBans,
    ShowTopic,
    ShuttingDown,
    SwitchRoom,
    Tell,
    TopicChanged,
    TopicIs,
    Wallops,
    Who,
)
from trio_chat.core.framing import LineTooLong
from trio_chat.core.modes import ListEntry, Mode, ModeChange
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.roles import Role
from trio_chat.frontends.base import (
    IGNORED,
    Authenticate,
    ChangeOwnPassword,
    Farewell,
    Introduce,
    OperLogin,
    RegisterAccount,
    Send,
)
from trio_chat.frontends.line import (
    HELP_LINES,
    LIST_LINE_BYTES,
    LISTED_ROOMS,
    PROMPT,
    Help,
    LineFrontEnd,
    encode,
    parse_line,
    parse_name,
    render,
)


def usage(synopsis: str) -> Tell:
    return Tell(Refusal(Reason.USAGE, detail=synopsis))


@pytest.mark.parametrize(
    ("line", "command"),
    [
        (b"hello", Say("hello")),
        (b"  indented", Say("  indented")),
        (b"/me waves", Emote("waves")),
        (b"/ME waves", Emote("waves")),
        (b"/nick al", Rename(nick("al"))),
        (b"/msg bob hi there", PrivateMessage(nick("bob"), "hi there")),
        (b"/msg  bob   hi there ", PrivateMessage(nick("bob"), "hi there")),
        (b"/who", Who()),
        (b"/who #rust", Who(room("#rust"))),
        (b"/join #rust", JoinRoom(room("#rust"))),
        (b"/JOIN #Rust", JoinRoom(room("#Rust"))),
        (b"/switch #rust", SwitchRoom(room("#rust"))),
        (b"/part", PartRoom()),
        (b"/part see you", PartRoom(message="see you")),
        (b"/part #rust", PartRoom(room("#rust"))),
        (b"/part #rust see you", PartRoom(room("#rust"), "see you")),
        (b"/rooms", ListRooms()),
        (b"/topic", ShowTopic()),
        (b"/topic   ", ShowTopic()),
        (b"/topic Rust 2.0 is out", SetTopic("Rust 2.0 is out")),
        (b"/away gone fishing", SetAway("gone fishing")),
        (b"/away", SetAway("")),
        (b"/help", Tell(Help())),
        (b"/exit", Quit()),
        (b"/quit", Quit()),
        (b"//etc/passwd is a path", Say("/etc/passwd is a path")),
        (b"/foo bar", Tell(Refusal(Reason.UNKNOWN_COMMAND, "/foo"))),
        (b"/me", usage("/me <action>")),
        (b"/me   ", usage("/me <action>")),
        (b"/nick", usage("/nick <name>")),
        (b"/join", usage("/join #room [key]")),
        (b"/switch", usage("/switch #room")),
        (b"/nick bad name!", Tell(Refusal(Reason.NICK_INVALID, "bad name!", "spaces"))),
        (b"/nick ab\x07cd", Tell(Refusal(Reason.NICK_INVALID, "ab\x07cd", "U+0007"))),
        (b"/join rust", Tell(Refusal(Reason.ROOM_NAME_NO_HASH, "rust"))),
        # A refused name is echoed without its control characters; the refusal names it.
        (b"/join #ru\x1bst", Tell(Refusal(Reason.ROOM_NAME_INVALID, "#rust", "U+001B"))),
        (b"/msg bob", usage("/msg <name> <text>")),
        (b"/msg", usage("/msg <name> <text>")),
        (b"/msg b@d hi", Tell(Refusal(Reason.NO_SUCH_NICK, "b@d"))),
        (b"\x1b[2Jred\xff", Say("[2Jred\ufffd")),
        (b"x\x00y\x7f", Say("xy")),
    ],
)
def test_parse_line(line: bytes, command: Command) -> None:
    assert parse_line(line) == command


@pytest.mark.parametrize("line", [b"", b"   ", b"\t \t", b"\x07\x1b"])
def test_blank_lines_are_ignored(line: bytes) -> None:
    assert parse_line(line) is None


def test_too_long_line_is_an_error_for_the_sender() -> None:
    assert parse_line(LineTooLong(2048)) == Tell(Refusal(Reason.LINE_TOO_LONG, detail="2048"))


def test_parse_name() -> None:
    assert parse_name(b"alice") == nick("alice")
    assert parse_name(b"") == Refusal(Reason.NICK_EMPTY)
    assert parse_name(b"al ice") == Refusal(Reason.NICK_INVALID, "al ice", "spaces")
    assert parse_name(b"ab\x07cd") == Refusal(Reason.NICK_INVALID, "ab\x07cd", "U+0007")
    assert parse_name(LineTooLong(2048)) == Refusal(Reason.LINE_TOO_LONG, detail="2048")


# One row per line shape in the protocol table of the README (as seen from one room).
@pytest.mark.parametrize(
    ("event", "line"),
    [
        (Joined("#lobby", "alice"), "* alice joined"),
        (Said("#lobby", "alice", "hello"), "<alice> hello"),
        (Emoted("#lobby", "alice", "waves"), "* alice waves"),
        (Renamed("alice", "al"), "* alice is now al"),
        (PrivateFrom("alice", "hi"), "[pm from alice] hi"),
        (PrivateTo("bob", "hi"), "[pm to bob] hi"),
        (Roster("#lobby", roster("al", "bob")), "* online (2): al, bob"),
        (Goodbye(), "* bye"),
        (Departed("alice", LeaveReason.QUIT), "* alice left (quit)"),
        (Departed("alice", LeaveReason.CONNECTION_LOST), "* alice left (connection lost)"),
        (Departed("alice", LeaveReason.TOO_SLOW), "* alice left (too slow)"),
        (Departed("alice", LeaveReason.TIMED_OUT), "* alice left (timed out)"),
        (Departed("alice", LeaveReason.SERVER_SHUTDOWN), "* alice left (server shutdown)"),
        (Departed("alice", LeaveReason.EXCESS_FLOOD), "* alice left (excess flood)"),
        (Departed("alice", LeaveReason.PING_TIMEOUT), "* alice left (ping timeout)"),
        (Departed("alice", LeaveReason.QUIT, "see you"), "* alice left (quit: see you)"),
        (PrivateFrom("bob", "waves", action=True), "[pm from bob] * bob waves"),
        (IsAway("bob", "lunch"), "* bob is away: lunch"),
        (Parted("#rust", "alice"), "* alice left #rust"),
        (Parted("#rust", "alice", "lunch"), "* alice left #rust (lunch)"),
        (TopicChanged("#rust", "alice", "2.0 is out"), "* alice set the topic: 2.0 is out"),
        (TopicChanged("#rust", "alice", ""), "* alice cleared the topic"),
        (TopicIs("#rust", "2.0 is out"), "* topic: 2.0 is out"),
        (TopicIs("#rust", ""), "* no topic is set"),
        (CurrentRoom("#rust"), "* now talking in #rust"),
        (CurrentRoom(None), "* you are in no room now (try /join #name)"),
        (RoomExited("#rust"), "* you left #rust"),
        (
            RoomList((RoomSummary("#lobby", 5, ""), RoomSummary("#rust", 2, "x"))),
            "* rooms (2): #lobby (5), #rust (2)",
        ),
        (ShuttingDown(), "* server shutting down"),
        (Refusal(Reason.NICK_TAKEN, "alice"), "! nickname alice is taken"),
        (Refusal(Reason.NO_SUCH_NICK, "carol"), "! nobody called carol is online"),
        (Refusal(Reason.UNKNOWN_COMMAND, "/foo"), "! unknown command /foo (try /help)"),
        (Refusal(Reason.IN_NO_ROOM), "! you are in no room (try /join #name)"),
        (Refusal(Reason.NOT_IN_ROOM, "#go"), "! you are not in #go"),
        (
            Refusal(Reason.TOO_MANY_ROOMS_JOINED, "#x", "20"),
            "! you are in 20 rooms, the most allowed",
        ),
        (Refusal(Reason.LINE_TOO_LONG, detail="2048"), "! line too long (max 2048 bytes)"),
    ],
)
def test_render(event: Event, line: str) -> None:
    assert render(event) == line + "\n"


# Lines of a room start with its name when the viewer is in several rooms; lines that name
# their room in their text, or belong to no room, never do.
@pytest.mark.parametrize(
    ("event", "line"),
    [
        (Said("#rust", "alice", "hello"), "#rust <alice> hello"),
        (Emoted("#rust", "alice", "waves"), "#rust * alice waves"),
        (Joined("#rust", "alice"), "#rust * alice joined"),
        (TopicChanged("#rust", "alice", "2.0"), "#rust * alice set the topic: 2.0"),
        (TopicIs("#rust", "2.0"), "#rust * topic: 2.0"),
        (Roster("#rust", roster("al", "bob")), "#rust * online (2): al, bob"),
        (Parted("#rust", "alice"), "* alice left #rust"),
        (Renamed("alice", "al"), "* alice is now al"),
        (Departed("alice", LeaveReason.QUIT), "* alice left (quit)"),
        (PrivateFrom("alice", "hi"), "[pm from alice] hi"),
    ],
)
def test_render_for_a_member_of_several_rooms(event: Event, line: str) -> None:
    assert render(event, prefixed=True) == line + "\n"


def test_help_lists_every_command_on_notice_lines() -> None:
    text = render(Help())
    assert text.splitlines() == list(HELP_LINES)
    for command in ("/join", "/part", "/switch", "/rooms", "/who", "/topic", "/me", "/nick"):
        assert command in text
    for command in ("/msg", "/help", "/exit", "/quit", "//"):
        assert command in text
    assert all(line.startswith("* ") for line in text.splitlines())


def test_encode_joins_lines_as_utf8() -> None:
    events: list[Event] = [Said("#lobby", "zoë", "héllo"), Joined("#lobby", "李")]
    assert encode(events) == "<zoë> héllo\n* 李 joined\n".encode()


def test_a_big_roster_is_split_into_lines_under_the_limit() -> None:
    nicks = tuple(f"member{n:05d}_{'x' * 18}" for n in range(10_000))
    front_end = registered_front_end(nicks=nicks, me=nicks[0])
    lines = front_end.rendered
    assert len(lines) > 100
    assert lines[0].startswith(f"* welcome, {nicks[0]}! online (10000): {nicks[0]}, ")
    assert all(line.startswith("*   ") for line in lines[1:])
    assert all(len(line.encode()) <= LIST_LINE_BYTES for line in lines)
    # Every name exactly once, in order: the lines are the one list, cut at its commas.
    joined = lines[0].split(": ", 1)[1] + ", " + ", ".join(line[4:] for line in lines[1:])
    assert tuple(joined.split(", ")) == nicks
    assert render(Roster("#lobby", roster(*nicks))).splitlines()[0].startswith("* online (10000): ")


def test_a_big_roster_of_a_room_among_several_keeps_the_prefix_on_every_line() -> None:
    nicks = tuple(f"member{n:05d}_{'x' * 18}" for n in range(1000))
    lines = render(Roster("#big", roster(*nicks)), prefixed=True).splitlines()
    assert lines[0].startswith("#big * online (1000): ")
    assert all(line.startswith("#big *   ") for line in lines[1:])
    assert all(len(line.encode()) <= LIST_LINE_BYTES for line in lines)


def test_a_big_roster_of_multibyte_names_is_split_by_bytes() -> None:
    nicks = tuple("李" * 32 + str(n) for n in range(200))  # 96+ bytes each
    lines = render(Roster("#lobby", roster(*nicks))).splitlines()
    assert all(len(line.encode()) <= LIST_LINE_BYTES for line in lines)
    assert sum(line.count("李" * 32) for line in lines) == 200


def test_the_room_list_names_the_largest_rooms_and_counts_the_rest() -> None:
    rooms = tuple(RoomSummary(f"#room{n:04d}", 1000 - n, "") for n in range(LISTED_ROOMS + 7))
    text = render(RoomList(rooms))
    assert text.startswith(f"* rooms ({LISTED_ROOMS + 7}): #room0000 (1000), #room0001 (999)")
    assert text.rstrip().endswith(", and 7 more")
    assert f"#room{LISTED_ROOMS:04d}" not in text
    assert all(len(line.encode()) <= LIST_LINE_BYTES for line in text.splitlines())


# --- the front-end object: registration dialogue, and rendering for its viewer ---------------


class Viewer:
    """A LineFrontEnd and every line it rendered, for the tests below."""

    def __init__(self) -> None:
        self.front_end = LineFrontEnd()
        self.rendered: list[str] = []

    def see(self, events: Sequence[Event], *, personal: bool = True) -> list[str]:
        lines = self.front_end.render(Delivery(events, personal=personal)).decode().splitlines()
        self.rendered += lines
        return lines


def registered_front_end(nicks: tuple[str, ...] = ("alice",), me: str = "alice") -> Viewer:
    viewer = Viewer()
    viewer.see([Registered(me, len(nicks), 1), RoomEntered("#lobby", roster(*nicks), "")])
    return viewer


def inputs(front_end: LineFrontEnd, data: bytes) -> list[object]:
    front_end.receive_data(data)
    return list(iter(front_end.next_input, None))


def test_registration_prompts_refuses_with_a_reason_and_registers() -> None:
    front_end = LineFrontEnd()
    assert front_end.greeting() == PROMPT
    assert inputs(front_end, b"al ice\n\nalice\n") == [
        Send(b"! nicknames use letters, digits, _ and - only (not spaces)\n" + PROMPT),
        Send(b"! a nickname needs at least one character\n" + PROMPT),
        Introduce(nick("alice")),
    ]


def test_a_refusal_from_the_hub_asks_again_and_the_welcome_is_one_line() -> None:
    viewer = Viewer()
    assert viewer.see([Refusal(Reason.NICK_TAKEN, "alice")]) == [
        "! nickname alice is taken",
        "* what is your name?",
    ]
    lobby = RoomEntered("#lobby", roster("alice", "bob"), "")
    assert viewer.see([Registered("bob", 2, 1), lobby]) == [
        "* welcome, bob! online (2): alice, bob"
    ]
    # Registered: lines are commands from now on, and a refusal asks for nothing more.
    assert inputs(viewer.front_end, b"hi\n\n/who\n") == [Say("hi"), IGNORED, Who()]
    assert viewer.see([Refusal(Reason.NICK_TAKEN, "carol")]) == ["! nickname carol is taken"]


def test_the_lobby_topic_follows_the_welcome() -> None:
    viewer = Viewer()
    lobby = RoomEntered(
        "#lobby",
        roster("alice"),
        "be nice",
    )
    assert viewer.see([Registered("alice", 1, 1), lobby]) == [
        "* welcome, alice! online (1): alice",
        "* topic: be nice",
    ]


def test_room_lines_are_prefixed_exactly_while_in_several_rooms() -> None:
    viewer = registered_front_end()
    shared = [Said("#lobby", "bob", "hi")]
    assert viewer.see(shared, personal=False) == ["<bob> hi"]
    # Joining a second room, in one personal delivery: the line before the join is still
    # from a one-room view, the ones after it are prefixed.
    assert viewer.see(
        [
            Said("#lobby", "bob", "before"),
            RoomEntered("#rust", roster("alice", "carol"), "2.0"),
            Said("#lobby", "bob", "after"),
            Said("#rust", "carol", "welcome"),
        ]
    ) == [
        "<bob> before",
        "* welcome to #rust! online (2): alice, carol",
        "* topic: 2.0",
        "#lobby <bob> after",
        "#rust <carol> welcome",
    ]
    assert viewer.see(shared, personal=False) == ["#lobby <bob> hi"]
    assert viewer.see([RoomExited("#lobby"), CurrentRoom("#rust")]) == [
        "* you left #lobby",
        "* now talking in #rust",
    ]
    assert viewer.see([Said("#rust", "carol", "just us")], personal=False) == ["<carol> just us"]
    # A room that is not the viewer's only room is named, even in a reply.
    assert viewer.see(
        [
            Roster(
                "#go",
                roster("gopher"),
            )
        ]
    ) == ["#go * online (1): gopher"]


def test_a_shared_delivery_is_rendered_once_per_kind_of_viewer() -> None:
    one_room, two_rooms, another_one_room = (registered_front_end() for _ in range(3))
    two_rooms.see(
        [
            RoomEntered(
                "#rust",
                roster("alice"),
                "",
            )
        ]
    )
    delivery = Delivery([Said("#lobby", "bob", "hi")])
    first = one_room.front_end.render(delivery)
    assert another_one_room.front_end.render(delivery) is first  # the same bytes, not a copy
    assert two_rooms.front_end.render(delivery) == b"#lobby <bob> hi\n"
    assert two_rooms.front_end.render(delivery) is two_rooms.front_end.render(delivery)


@pytest.mark.parametrize(
    ("why", "line"),
    [
        (Farewell.SERVER_FULL, b"! server full\n"),
        (Farewell.TOO_MANY_FROM_ADDRESS, b"! too many connections from your address\n"),
        (Farewell.TIMED_OUT, b"! timed out\n"),
        (Farewell.SHUTTING_DOWN, b"* server shutting down\n"),
        (Farewell.EXCESS_FLOOD, b"! excess flood\n"),
    ],
)
def test_farewells(why: Farewell, line: bytes) -> None:
    assert LineFrontEnd().farewell(why) == line


def drive(front_end: LineFrontEnd, chunks: list[bytes]) -> list[object]:
    """Feed ``chunks`` as the shell does: after a Introduce, the hub's welcome comes first."""
    got: list[object] = []
    for chunk in chunks:
        front_end.receive_data(chunk)
        while (item := front_end.next_input()) is not None:
            got.append(item)
            if isinstance(item, Introduce):
                welcome: list[Event] = [
                    Registered("alice", 1, 1),
                    RoomEntered(
                        "#lobby",
                        roster("alice"),
                        "",
                    ),
                ]
                front_end.render(Delivery(welcome, personal=True))
    return got


def test_input_is_framed_however_it_is_chunked() -> None:
    # Fed whole, a byte at a time, and with the end of input in the middle of a line.
    data = b"alice\r\nhello\n/me waves\nlast words without a newline"
    expected = [Introduce(nick("alice")), Say("hello"), Emote("waves")]
    for chunks in ([data], [bytes([byte]) for byte in data]):
        front_end = LineFrontEnd()
        assert drive(front_end, chunks) == expected
        assert drive(front_end, [b""]) == [Say("last words without a newline")]


def test_a_line_over_the_limit_is_refused_and_discarded() -> None:
    front_end = LineFrontEnd(max_line_bytes=10)
    assert inputs(front_end, b"x" * 11 + b"\nalice\n") == [
        Send(b"! line too long (max 10 bytes)\n" + PROMPT),
        Introduce(nick("alice")),
    ]


def test_own_absence_is_acknowledged_and_others_are_not_announced() -> None:
    viewer = registered_front_end()
    assert viewer.see([AwayChanged("alice", "lunch")]) == ["* you are away: lunch"]
    assert viewer.see([AwayChanged("alice", "")]) == ["* you are back"]
    assert viewer.see([AwayChanged("bob", "lunch")], personal=False) == []


# --- accounts --------------------------------------------------------------------------------


def test_a_registered_name_asks_for_its_password_then_registers_with_it() -> None:
    viewer = Viewer()
    assert inputs(viewer.front_end, b"alice\n") == [Introduce(nick("alice"))]
    assert viewer.see([Refusal(Reason.NICK_REGISTERED, "alice")]) == [
        "* alice is registered: password?"
    ]
    # The next line is the password, as typed: spaces and all, never sanitized.
    (answer,) = inputs(viewer.front_end, b"  my \x07secret \n")
    assert answer == Introduce(nick("alice"), account=nick("alice"), password="  my \x07secret ")
    assert "secret" not in repr(answer)
    # A wrong one asks for the name again, as the seed did.
    assert viewer.see([Refusal(Reason.WRONG_PASSWORD, "alice")]) == [
        "! wrong password for alice",
        "* what is your name?",
    ]
    assert inputs(viewer.front_end, b"bob\n") == [Introduce(nick("bob"))]


@pytest.mark.parametrize(
    ("line", "command"),
    [
        (b"/register open sesame", RegisterAccount("open sesame")),
        (b"/register", usage("/register PASSWORD")),
        (b"/login Alice open sesame", Authenticate(nick("Alice"), "open sesame")),
        (b"/login alice", usage("/login NAME PASSWORD")),
        (b"/login al ice pw", Authenticate(nick("al"), "ice pw")),
        (b"/passwd old new one", ChangeOwnPassword("old", "new one")),
        (b"/passwd onlyone", usage("/passwd OLD NEW")),
        (b"/logout", LogOut()),
    ],
)
def test_account_commands(line: bytes, command: object) -> None:
    assert parse_line(line) == command


@pytest.mark.parametrize(
    ("event", "line"),
    [
        (LoggedIn("alice"), "* you are logged in as alice"),
        (LoggedOut("alice"), "* you are logged out of alice"),
        (AccountCreated("alice"), "* alice is registered: it is yours, with this password"),
        (PasswordChanged("alice"), "* the password of alice is changed"),
        (Refusal(Reason.LOGINS_THROTTLED, "alice", "60"),
         "! too many wrong passwords: try again in 60 seconds"),
    ],
)  # fmt: skip
def test_account_news(event: Event, line: str) -> None:
    assert registered_front_end().see([event]) == [line]


def test_someone_elses_account_news_is_not_shown() -> None:
    assert registered_front_end().see([AccountChanged("bob", "bob")], personal=False) == []


# --- moderation ------------------------------------------------------------------------------


def change(mode: Mode, on: bool = True, argument: str = "") -> ModeChange:
    return ModeChange(mode, on, argument)


@pytest.mark.parametrize(
    ("line", "command"),
    [
        (b"/join #rust hunter2", JoinRoom(room("#rust"), "hunter2")),
        (b"/join #ru\x07st key", Tell(Refusal(Reason.ROOM_NAME_INVALID, "#rust", "U+0007"))),
        (b"/op bob", ChangeModes(None, (change(Mode.OPERATOR, True, "bob"),))),
        (b"/op #rust bob carol", ChangeModes(room("#rust"), (
            change(Mode.OPERATOR, True, "bob"), change(Mode.OPERATOR, True, "carol")))),
        (b"/deop bob", ChangeModes(None, (change(Mode.OPERATOR, False, "bob"),))),
        (b"/voice #rust bob", ChangeModes(room("#rust"), (change(Mode.VOICE, True, "bob"),))),
        (b"/DEVOICE bob", ChangeModes(None, (change(Mode.VOICE, False, "bob"),))),
        (b"/op", usage("/op [#room] <name>")),
        (b"/voice #rust", usage("/voice [#room] <name>")),
        (b"/op #ru\x07st bob", Tell(Refusal(Reason.ROOM_NAME_INVALID, "#rust", "U+0007"))),
        (b"/kick bob", Kick(None, nick("bob"))),
        (b"/kick #rust bob stop spamming", Kick(room("#rust"), nick("bob"), "stop spamming")),
        (b"/kick", usage("/kick [#room] <name> [reason]")),
        (b"/kick b@d", Tell(Refusal(Reason.NO_SUCH_NICK, "b@d"))),
        (b"/kick #r\x07 bob", Tell(Refusal(Reason.ROOM_NAME_INVALID, "#r", "U+0007"))),
        (b"/ban bob", BanMember(None, "bob")),
        (b"/ban #rust *!*@k5x.ip spam wave", BanMember(room("#rust"), "*!*@k5x.ip",
                                                        reason="spam wave")),
        (b"/ban", usage("/ban [#room] <name|mask> [reason]")),
        (b"/ban #r\x07 bob", Tell(Refusal(Reason.ROOM_NAME_INVALID, "#r", "U+0007"))),
        (b"/unban *!*@k5x.ip", BanMember(None, "*!*@k5x.ip", on=False)),
        (b"/unban", usage("/unban [#room] <mask>")),
        (b"/mute bob", BanMember(None, "bob", mute=True)),
        (b"/unmute #rust bob", BanMember(room("#rust"), "bob", mute=True, on=False)),
        (b"/mute", usage("/mute [#room] <name|mask>")),
        (b"/mode", ChangeModes(None)),
        (b"/mode #rust", ChangeModes(room("#rust"))),
        (b"/mode +m", ChangeModes(None, (change(Mode.MODERATED),))),
        (b"/mode #rust -t+k hunter2", ChangeModes(room("#rust"), (
            change(Mode.TOPIC_LOCK, False), change(Mode.KEY, True, "hunter2")))),
        (b"/mode +b", ChangeModes(None, (change(Mode.BAN),))),
        (b"/mode +x", Tell(Refusal(Reason.UNKNOWN_MODE, detail="x"))),
        (b"/mode #r\x07", Tell(Refusal(Reason.ROOM_NAME_INVALID, "#r", "U+0007"))),
        (b"/mode " + b"+" + b"o" * 12 + b" a b c d e f g h i j k l", ChangeModes(None, tuple(
            change(Mode.OPERATOR, True, name) for name in "abcdefghij"))),
        (b"/invite bob", Invite(nick("bob"), None)),
        (b"/invite bob #rust", Invite(nick("bob"), room("#rust"))),
        (b"/invite", usage("/invite <name> [#room]")),
        (b"/invite b@d", Tell(Refusal(Reason.NO_SUCH_NICK, "b@d"))),
        (b"/invite bob rust", Tell(Refusal(Reason.ROOM_NAME_NO_HASH, "rust"))),
        (b"/register-room #rust", RegisterRoom(room("#rust"))),
        (b"/drop-room #rust", RegisterRoom(room("#rust"), drop=True)),
        (b"/register-room", usage("/register-room #room")),
        (b"/drop-room rust", Tell(Refusal(Reason.ROOM_NAME_NO_HASH, "rust"))),
        (b"/oper root the password", OperLogin("root", "the password")),
        (b"/oper root", usage("/oper NAME PASSWORD")),
        (b"/kill bob flooding everyone", Kill(nick("bob"), "flooding everyone")),
        (b"/kill", usage("/kill <name> <reason>")),
        (b"/kill b@d why", Tell(Refusal(Reason.NO_SUCH_NICK, "b@d"))),
        (b"/wallops look at #rust", SendWallops("look at #rust")),
        (b"/wallops", usage("/wallops <text>")),
        (b"/serverban *!*@k5x.ip", BanFromServer("*!*@k5x.ip")),
        (b"/serverban 2h *!*@k5x.ip spam", BanFromServer("*!*@k5x.ip", 7200, "spam")),
        (b"/serverban 90 a:spammer", BanFromServer("a:spammer", 90)),
        (b"/serverban 10.0.0.0/8 no reason", BanFromServer("10.0.0.0/8", 0, "no reason")),
        (b"/serverban", usage("/serverban [30m|2h|7d] <mask> [reason]")),
        (b"/serverban 2h", BanFromServer("2h")),
        (b"/unserverban *!*@k5x.ip", LiftServerBan("*!*@k5x.ip")),
        (b"/unserverban", usage("/unserverban <mask>")),
        (b"/serverbans", ShowServerBans()),
    ],
)  # fmt: skip
def test_moderation_commands(line: bytes, command: object) -> None:
    assert parse_line(line) == command


def test_an_operator_password_is_kept_out_of_reprs() -> None:
    assert "sesame" not in repr(parse_line(b"/oper root open sesame"))


BAN = ListEntry("*!*@k5x.ip", "alice", 0.0)
SERVER_BAN = ServerBanEntry("*!*@k5x.ip", "spam", "alice", 0.0, 1_796_000_000.0)


@pytest.mark.parametrize(
    ("event", "line"),
    [
        (ModesChanged("#rust", "alice", (change(Mode.MODERATED), change(Mode.VOICE, True, "bob"))),
         "* alice set +mv bob"),
        (Kicked("#rust", "alice", "bob", "spam"), "* alice kicked bob out of #rust (spam)"),
        (Invited("#rust", "alice", "bob"), "* alice invited bob to #rust"),
        (ModesAre("#rust", "tnkl", "hunter2", 50), "* modes of #rust: +tnkl hunter2 50"),
        (ModesAre("#rust", "tn"), "* modes of #rust: +tn"),
        (ModesAre("#rust", ""), "* modes of #rust: none"),
        (ListIs("#rust", Mode.BAN, ()), "* no bans in #rust"),
        (ListIs("#rust", Mode.BAN, (BAN, ListEntry("m:bob!*@*", "carol", 0.0))),
         "* bans in #rust (2): *!*@k5x.ip (by alice), m:bob!*@* (by carol)"),
        (ListIs("#rust", Mode.INVITATION, (BAN,)),
         "* invitations in #rust (1): *!*@k5x.ip (by alice)"),
        (OperatorNow("root"), "* you are a server operator now (root)"),
        (Wallops("alice", "look at #rust"), "* wallops from alice: look at #rust"),
        (PutOut(LeaveReason.KILLED, "alice", "flooding"),
         "! alice put you off the server (flooding)"),
        (PutOut(LeaveReason.BANNED, "alice", "spam"),
         "! you are banned from this server by alice (spam)"),
        (ServerBanChanged(SERVER_BAN, removed=2),
         "* banned from the server: *!*@k5x.ip (until 2026-11-30 00:53, by alice): spam,"
         " 2 put out"),
        (ServerBanChanged(ServerBanEntry("a:x", "banned", "alice", 0.0)),
         "* banned from the server: a:x (until lifted, by alice): banned"),
        (ServerBanChanged(lifted="*!*@k5x.ip"), "* the server ban on *!*@k5x.ip is lifted"),
        (ServerBans(()), "* no server bans"),
        (ServerBans((SERVER_BAN,)),
         "* server bans (1):\n*   *!*@k5x.ip (until 2026-11-30 00:53, by alice): spam"),
        (RoomRegistered("#rust", "alice"),
         "* #rust is registered, to alice: it keeps its settings when empty"),
        (RoomRegistered("#rust", "alice", dropped=True), "* #rust is no longer registered"),
        (Departed("bob", LeaveReason.KILLED, "Killed (alice (spam))"),
         "* bob left (killed: Killed (alice (spam)))"),
    ],
)  # fmt: skip
def test_moderation_events(event: Event, line: str) -> None:
    assert render(event) == line + "\n"


# Every refusal of moderation is worded, in English, by the one explain().
@pytest.mark.parametrize(
    ("refusal", "line"),
    [
        (Refusal(Reason.NOT_ROOM_OPERATOR, "#rust"), "! you are not an operator of #rust"),
        (Refusal(Reason.NOT_SERVER_OPERATOR), "! only server operators may do that"),
        (Refusal(Reason.BANNED_FROM_ROOM, "#rust"), "! you are banned from #rust"),
        (Refusal(Reason.WRONG_KEY, "#rust"), "! #rust needs its key to join (/join #rust key)"),
        (Refusal(Reason.MODERATED, "#rust"),
         "! #rust is moderated: only members with voice speak there"),
        (Refusal(Reason.MUTED, "#rust"), "! you are muted in #rust"),
        (Refusal(Reason.UNKNOWN_MODE, detail="x"), "! there is no mode x"),
        (Refusal(Reason.WRONG_OPERATOR_LOGIN), "! wrong operator name or password"),
    ],
)  # fmt: skip
def test_moderation_refusals(refusal: Refusal, line: str) -> None:
    assert render(refusal) == line + "\n"


def test_every_refusal_has_its_line() -> None:
    for reason in Reason:
        rendered = render(Refusal(reason, "#rust", "x"))
        assert rendered.startswith("! ")
        assert "{" not in rendered


def test_a_mode_change_is_a_line_of_its_room() -> None:
    changed = ModesChanged("#rust", "alice", (change(Mode.TOPIC_LOCK, False),))
    assert render(changed, prefixed=True) == "#rust * alice set -t\n"
    assert render(Kicked("#rust", "alice", "bob"), prefixed=True) == (
        "* alice kicked bob out of #rust\n"
    )


def test_being_kicked_is_said_to_you_and_leaves_the_room() -> None:
    viewer = registered_front_end()
    viewer.see([RoomEntered("#rust", roster("alice", "bob"), "")])
    assert viewer.see([Said("#rust", "bob", "hi")], personal=False) == ["#rust <bob> hi"]
    assert viewer.see([Kicked("#rust", "bob", "alice", "spam"), CurrentRoom("#lobby")]) == [
        "* bob kicked you out of #rust (spam)",
        "* now talking in #lobby",
    ]
    # In one room again: its lines lose their prefix.
    assert viewer.see([Said("#lobby", "bob", "hi")], personal=False) == ["<bob> hi"]
    # Someone else's kick, and its record in a room's history, read as anyone's.
    assert viewer.see([Kicked("#lobby", "bob", "carol")]) == ["* bob kicked carol out of #lobby"]


def test_invitations_are_worded_for_who_reads_them() -> None:
    viewer = registered_front_end()
    assert viewer.see([Invited("#rust", "bob", "alice")]) == [
        "* bob invites you to #rust (/join #rust)"
    ]
    assert viewer.see([Invited("#rust", "alice", "carol")]) == ["* you invited carol to #rust"]
    assert viewer.see([Invited("#rust", "bob", "carol")]) == ["* bob invited carol to #rust"]


def test_roles_show_as_marks_in_the_welcome_and_in_who() -> None:
    ops = (
        RosterEntry("alice", (Role.OPERATOR, Role.VOICE)),
        RosterEntry("bob", (Role.VOICE,)),
        RosterEntry("carol"),
    )
    viewer = Viewer()
    assert viewer.see([Registered("carol", 3, 1), RoomEntered("#lobby", ops, "")]) == [
        "* welcome, carol! online (3): @alice, +bob, carol"
    ]
    assert viewer.see([RoomEntered("#rust", ops, "")]) == [
        "* welcome to #rust! online (3): @alice, +bob, carol"
    ]
    assert viewer.see([Roster("#rust", ops)]) == ["#rust * online (3): @alice, +bob, carol"]
