"""The web front end's JSON vocabulary: messages to commands, events to messages (pure)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from tests.names import nick, room, roster
from trio_chat.core.events import (
    AtId,
    BanFromServer,
    BanMember,
    ChangeModes,
    Departed,
    Direction,
    Emote,
    Entry,
    Found,
    HistoryQuery,
    HistoryRead,
    Invite,
    Invited,
    JoinRoom,
    Kick,
    Kicked,
    Kill,
    LeaveReason,
    LiftServerBan,
    ListIs,
    ListRooms,
    LookUp,
    MarkRead,
    MemberInfo,
    Membership,
    ModesAre,
    ModesChanged,
    OperatorNow,
    PartRoom,
    PrivateMessage,
    PutOut,
    Quit,
    ReadHistory,
    ReadMarker,
    Registered,
    RegisterRoom,
    Rename,
    RoomEntered,
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
    ShowHistory,
    ShowReadMarker,
    ShowServerBans,
    ShowTopic,
    Signal,
    Signalled,
    SwitchRoom,
    Tell,
    Wallops,
    Who,
)
from trio_chat.core.modes import ListEntry, Mode, ModeChange
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.roles import Role
from trio_chat.core.text import Nickname, RoomName
from trio_chat.frontends.base import OperLogin
from trio_chat.frontends.webjson import (
    ErrorCode,
    Greeting,
    Invalid,
    encode,
    parse_command,
    parse_hello,
)

# --- browser -> server -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "command"),
    [
        ({"type": "say", "text": "hi"}, Say("hi")),
        ({"type": "me", "text": "waves"}, Emote("waves")),
        ({"type": "msg", "to": "bob", "text": "psst"},
         PrivateMessage(Nickname("bob", "bob"), "psst")),
        ({"type": "msg", "to": "bob", "text": "nods", "action": True},
         PrivateMessage(Nickname("bob", "bob"), "nods", action=True)),
        ({"type": "join", "room": "#a"}, JoinRoom(RoomName("#a", "#a"))),
        ({"type": "part", "room": "#a", "message": "bye"}, PartRoom(RoomName("#a", "#a"), "bye")),
        ({"type": "part"}, PartRoom()),
        ({"type": "switch", "room": "#a"}, SwitchRoom(RoomName("#a", "#a"))),
        ({"type": "rooms"}, ListRooms()),
        ({"type": "who", "room": "#a"}, Who(RoomName("#a", "#a"))),
        ({"type": "topic", "topic": "news"}, SetTopic("news")),
        ({"type": "topic", "room": "#a"}, ShowTopic(RoomName("#a", "#a"))),
        ({"type": "away", "message": "lunch"}, SetAway("lunch")),
        ({"type": "away"}, SetAway("")),
        ({"type": "nick", "nick": "carol"}, Rename(Nickname("carol", "carol"))),
        ({"type": "whois", "nick": "bob"}, LookUp((Nickname("bob", "bob"),), label="whois")),
        ({"type": "quit", "message": "later"}, Quit("later")),
    ],
)  # fmt: skip
def test_every_command_has_its_message(message: dict[str, Any], command: object) -> None:
    assert parse_command(json.dumps(message)) == command


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("not json", ErrorCode.NOT_JSON),
        ("[1, 2]", ErrorCode.NOT_JSON),
        ('{"type": "dance"}', ErrorCode.UNKNOWN_TYPE),
        ('{"text": "no type"}', ErrorCode.UNKNOWN_TYPE),
        ('{"type": "say"}', ErrorCode.BAD_FIELD),
        ('{"type": "say", "text": 3}', ErrorCode.BAD_FIELD),
        ('{"type": "say", "text": "   "}', ErrorCode.BAD_FIELD),
        ('{"type": "msg", "to": "bob", "text": "x", "action": "yes"}', ErrorCode.BAD_FIELD),
        ('{"type": "join"}', ErrorCode.BAD_FIELD),
        ("[" * 3000 + "]" * 3000, ErrorCode.TOO_DEEP),  # json.loads raised RecursionError
        ("{" * 3000, ErrorCode.TOO_DEEP),  # unbalanced: counted before parsing
        ('{"type": "say", "text": "x", "a": [[[[[[[[[1]]]]]]]]]}', ErrorCode.TOO_DEEP),
    ],
)
def test_mistakes_are_answered_in_order_and_lose_nothing(text: str, code: ErrorCode) -> None:
    command = parse_command(text)
    assert isinstance(command, Tell)
    assert isinstance(command.event, Invalid)
    assert command.event.code is code


@pytest.mark.parametrize(
    "text",
    [
        '{"type": "say", "text": "[[[[[[[[[[[[[[[[[[[[[[[[["}',  # brackets in a string
        '{"type": "say", "text": "\\"[[[[[[[[[[[[[[[[[[[["}',  # after an escaped quote
        '{"type": "say", "text": "[]", "x": [' + "[]," * 20 + "[]]}",  # many, none deep
    ],
)
def test_brackets_that_do_not_nest_are_not_too_deep(text: str) -> None:
    assert isinstance(parse_command(text), Say)  # parsed, not refused


def test_a_hello_nested_too_deep_is_answered_like_any_mistake() -> None:
    assert parse_hello("[" * 3000) == Invalid(ErrorCode.TOO_DEEP, "messages nest at most 8 levels")


def test_bad_names_are_refused_like_everywhere_else() -> None:
    assert parse_command('{"type": "join", "room": "rust"}') == Tell(
        Refusal(Reason.ROOM_NAME_NO_HASH, "rust")
    )
    assert parse_command('{"type": "msg", "to": "a b", "text": "x"}') == Tell(
        Refusal(Reason.NO_SUCH_NICK, "a b")
    )
    # A control character in a name is refused, and not echoed back.
    assert parse_hello('{"type": "hello", "nick": "x\\u0007y"}') == Refusal(
        Reason.NICK_INVALID, "xy", "U+0007"
    )


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ('{"type": "hello", "nick": "José"}', Greeting(nick("José"))),  # rooms None: #lobby
        ('{"type": "hello", "nick": "alice", "rooms": []}', Greeting(nick("alice"), ())),
        # A reconnecting page's rooms: a name no longer valid is skipped.
        ('{"type": "hello", "nick": "alice", "rooms": ["#rust", "#no spaces", "#lobby"]}',
         Greeting(nick("alice"), (room("#rust"), room("#lobby")))),
        ('{"type": "say", "text": "hi"}',
         Invalid(ErrorCode.REGISTER_FIRST, 'say {"type": "hello", "nick": ...} first')),
        ('{"type": "hello"}', Invalid(ErrorCode.BAD_FIELD, "nick: a string")),
        ('{"type": "hello", "nick": "alice", "rooms": "#rust"}',
         Invalid(ErrorCode.BAD_FIELD, "rooms: a list of room names")),
        ("[]", Invalid(ErrorCode.NOT_JSON, "messages are JSON objects")),
    ],
)  # fmt: skip
def test_a_hello_is_a_greeting_or_says_what_is_wrong(text: str, answer: object) -> None:
    assert parse_hello(text) == answer


# --- server -> browser -------------------------------------------------------------------------


def test_events_are_encoded_from_their_fields() -> None:
    assert json.loads(encode(RoomEntered("#a", roster("alice", "bob"), "news"), 1.0) or "") == {
        "type": "room_entered", "room": "#a", "roster": ["alice", "bob"], "topic": "news",
        "time": 1.0,
    }  # fmt: skip
    assert json.loads(encode(Departed("bob", LeaveReason.TOO_SLOW, "", "bob_"), 2.0) or "") == {
        "type": "departed", "nick": "bob", "reason": "too slow", "message": "", "time": 2.0,
    }  # fmt: skip
    rooms = RoomList((RoomSummary("#a", 3, "t"),))
    assert json.loads(encode(rooms, 0.0) or "")["rooms"] == [
        {"room": "#a", "members": 3, "topic": "t"}
    ]
    registered_event = json.loads(encode(Registered("alice", 1, 1), 0.0) or "")
    assert registered_event["v"] == 1


def test_roles_are_a_field_of_their_own_beside_the_names() -> None:
    # Without roles the bytes are those of a plain list of names (no "roles" at all).
    plain = encode(RoomEntered("#a", roster("alice", "bob"), ""), 1.0)
    assert plain == (
        '{"type":"room_entered","room":"#a","roster":["alice","bob"],"topic":"","time":1.0}'
    )
    entries = (RosterEntry("alice", (Role.OPERATOR, Role.VOICE)), RosterEntry("bob"))
    assert json.loads(encode(Roster("#a", entries), 1.0) or "") == {
        "type": "roster", "room": "#a", "roster": ["alice", "bob"], "away": [],
        "roles": {"alice": ["operator", "voice"]}, "time": 1.0,
    }  # fmt: skip
    where = (Membership("#a", (Role.VOICE,)), Membership("#b"))
    found = Found("whois", ("bob",), (MemberInfo("bob", "", "", where),))
    (member,) = json.loads(encode(found, 1.0) or "")["members"]
    assert member["rooms"] == ["#a", "#b"]
    assert member["roles"] == {"#a": ["voice"]}


def test_replies_of_other_front_ends_are_not_shown() -> None:
    from trio_chat.frontends.irc import Pong as IrcPong

    assert encode(IrcPong("x"), 0.0) is None


def test_a_peers_html_is_only_ever_text() -> None:
    # The page inserts texts with textContent; the server never escapes or interprets them.
    text = '<img src=x onerror="alert(1)">'
    assert json.loads(encode(Said("#a", "eve", text), 0.0) or "")["text"] == text


# --- moderation --------------------------------------------------------------------------------

RUST = RoomName("#rust", "#rust")


@pytest.mark.parametrize(
    ("message", "command"),
    [
        ({"type": "join", "room": "#rust", "key": "hunter2"}, JoinRoom(RUST, "hunter2")),
        ({"type": "mode"}, ChangeModes(None)),
        ({"type": "mode", "room": "#rust", "modes": ""}, ChangeModes(RUST)),
        ({"type": "mode", "room": "#rust", "modes": "+m"},
         ChangeModes(RUST, (ModeChange(Mode.MODERATED, True),))),
        ({"type": "mode", "modes": "+o-v alice bob"}, ChangeModes(None, (
            ModeChange(Mode.OPERATOR, True, "alice"), ModeChange(Mode.VOICE, False, "bob")))),
        ({"type": "mode", "modes": "+b"}, ChangeModes(None, (ModeChange(Mode.BAN, True),))),
        ({"type": "mode", "modes": "+x"}, Tell(Refusal(Reason.UNKNOWN_MODE, detail="x"))),
        ({"type": "kick", "room": "#rust", "nick": "bob", "reason": "spam"},
         Kick(RUST, nick("bob"), "spam")),
        ({"type": "kick", "nick": "bob"}, Kick(None, nick("bob"))),
        ({"type": "ban", "room": "#rust", "target": "bob", "reason": "spam"},
         BanMember(RUST, "bob", reason="spam")),
        ({"type": "ban", "target": "*!*@k5x.ip"}, BanMember(None, "*!*@k5x.ip")),
        ({"type": "unban", "target": "*!*@k5x.ip"}, BanMember(None, "*!*@k5x.ip", on=False)),
        ({"type": "mute", "room": "#rust", "target": "bob"}, BanMember(RUST, "bob", mute=True)),
        ({"type": "unmute", "target": "bob", "reason": "ignored"},
         BanMember(None, "bob", mute=True, on=False)),
        ({"type": "invite", "nick": "bob", "room": "#rust"}, Invite(nick("bob"), RUST)),
        ({"type": "invite", "nick": "bob"}, Invite(nick("bob"), None)),
        ({"type": "register_room", "room": "#rust"}, RegisterRoom(RUST)),
        ({"type": "drop_room", "room": "#rust"}, RegisterRoom(RUST, drop=True)),
        ({"type": "oper", "name": "root", "password": "pw"}, OperLogin("root", "pw")),
        ({"type": "kill", "nick": "bob", "reason": "flood"}, Kill(nick("bob"), "flood")),
        ({"type": "wallops", "text": "look at #rust"}, SendWallops("look at #rust")),
        ({"type": "server_ban", "mask": "a:spammer"}, BanFromServer("a:spammer")),
        ({"type": "server_ban", "mask": "10.0.0.0/8", "seconds": 3600, "reason": "spam"},
         BanFromServer("10.0.0.0/8", 3600, "spam")),
        ({"type": "lift_server_ban", "mask": "a:spammer"}, LiftServerBan("a:spammer")),
        ({"type": "server_bans"}, ShowServerBans()),
    ],
)  # fmt: skip
def test_every_moderation_command_has_its_message(message: dict[str, Any], command: object) -> None:
    assert parse_command(json.dumps(message)) == command


@pytest.mark.parametrize(
    "message",
    [
        {"type": "join", "room": "#rust", "key": 5},
        {"type": "mode", "modes": ["+m"]},
        {"type": "kick"},
        {"type": "ban"},
        {"type": "ban", "target": ""},
        {"type": "ban", "target": "two words"},
        {"type": "unmute", "target": "\u0007"},
        {"type": "invite", "room": "#rust"},
        {"type": "register_room"},
        {"type": "oper", "name": "root"},
        {"type": "kill", "nick": "bob", "reason": 3},
        {"type": "wallops", "text": " "},
        {"type": "server_ban", "mask": "a:x", "seconds": -1},
        {"type": "server_ban", "mask": "a:x", "seconds": True},
        {"type": "server_ban"},
        {"type": "lift_server_ban"},
    ],
)
def test_moderation_mistakes_are_bad_fields(message: dict[str, Any]) -> None:
    command = parse_command(json.dumps(message))
    assert isinstance(command, Tell)
    assert isinstance(command.event, Invalid)
    assert command.event.code is ErrorCode.BAD_FIELD


def test_an_operator_password_is_never_in_a_repr() -> None:
    assert "sesame" not in repr(parse_command('{"type":"oper","name":"r","password":"sesame"}'))


def decoded(event: Any) -> dict[str, Any]:
    message = encode(event, 1.0)
    assert message is not None
    result: dict[str, Any] = json.loads(message)
    return result


BAN = ListEntry("*!*@k5x.ip", "alice", 5.0)
SERVER_BAN = ServerBanEntry("a:spammer", "spam", "alice", 5.0, 99.0)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (ModesChanged("#rust", "alice", (ModeChange(Mode.MODERATED, True),
                                         ModeChange(Mode.OPERATOR, False, "bob")), "al", "a.ip"),
         {"type": "modes_changed", "room": "#rust", "nick": "alice", "changes": [
             {"mode": "m", "on": True, "argument": ""},
             {"mode": "o", "on": False, "argument": "bob"}]}),
        (Kicked("#rust", "alice", "bob", "spam", "al", "a.ip"),
         {"type": "kicked", "room": "#rust", "nick": "alice", "target": "bob", "reason": "spam"}),
        (Invited("#rust", "alice", "bob", "al", "a.ip"),
         {"type": "invited", "room": "#rust", "nick": "alice", "target": "bob"}),
        (ModesAre("#rust", "tnk", "hunter2", 0, 7.0),
         {"type": "modes_are", "room": "#rust", "letters": "tnk", "key": "hunter2", "limit": 0,
          "created": 7.0}),
        (ListIs("#rust", Mode.BAN, (BAN,)),
         {"type": "list_is", "room": "#rust", "mode": "b",
          "entries": [{"mask": "*!*@k5x.ip", "setter": "alice", "time": 5.0}]}),
        (ListIs("#rust", Mode.EXCEPTION, ()),
         {"type": "list_is", "room": "#rust", "mode": "e", "entries": []}),
        (OperatorNow("root"), {"type": "operator_now", "name": "root"}),
        (Wallops("alice", "look", "al", "a.ip"),
         {"type": "wallops", "nick": "alice", "text": "look"}),
        (PutOut(LeaveReason.KILLED, "alice", "flood"),
         {"type": "put_out", "reason": "killed", "by": "alice", "message": "flood"}),
        (ServerBanChanged(SERVER_BAN, removed=1),
         {"type": "server_ban_changed", "lifted": "", "removed": 1, "entry": {
             "mask": "a:spammer", "reason": "spam", "setter": "alice", "time": 5.0,
             "expires": 99.0}}),
        (ServerBanChanged(lifted="a:x"),
         {"type": "server_ban_changed", "entry": None, "lifted": "a:x", "removed": 0}),
        (ServerBans((SERVER_BAN,)), {"type": "server_bans", "entries": [
             {"mask": "a:spammer", "reason": "spam", "setter": "alice", "time": 5.0,
              "expires": 99.0}]}),
        (RoomRegistered("#rust", "alice"),
         {"type": "room_registered", "room": "#rust", "founder": "alice", "dropped": False}),
        (Refusal(Reason.MODERATED, "#rust"),
         {"type": "refusal", "reason": "moderated", "subject": "#rust", "detail": "",
          "text": "#rust is moderated: only members with voice speak there"}),
        (Refusal(Reason.MUTED, "#rust"),
         {"type": "refusal", "reason": "muted", "subject": "#rust", "detail": "",
          "text": "you are muted in #rust"}),
    ],
)  # fmt: skip
def test_every_moderation_event_has_its_message(event: Any, message: dict[str, Any]) -> None:
    assert decoded(event) == message | {"time": 1.0}


def test_hosts_and_addresses_are_shown_only_where_they_belong() -> None:
    # Room events name members by nickname: no mask parts, whoever asks.
    said = decoded(Said("#a", "bob", "hi", user="bob_", host="b.ip"))
    assert "host" not in said
    assert "user" not in said
    # A look-up shows the cloaked host (what a ban names); the address only when the hub
    # filled it in, which it does for server operators alone.
    info = MemberInfo("bob", "", "", (), "bob_", host="b.ip", address="")
    (member,) = decoded(Found("whois", ("bob",), (info,)))["members"]
    assert member["host"] == "b.ip"
    assert "address" not in member
    assert "bot" not in member  # (nor that it is no bot: a page sees no empty field)
    told = replace(info, address="192.0.2.7", operator=True, bot=True)
    (member,) = decoded(Found("whois", ("bob",), (told,)))["members"]
    assert member["address"] == "192.0.2.7"
    assert member["operator"] is True
    assert member["bot"] is True  # the page says "a bot"


def test_mark_read_says_or_asks_how_far_a_conversation_was_read() -> None:
    assert parse_command(json.dumps({"type": "mark_read", "room": "#rust", "time": 5})) == (
        MarkRead(room("#rust"), 5)
    )
    assert parse_command(json.dumps({"type": "mark_read", "nick": "bob"})) == ShowReadMarker(
        nick("bob")
    )
    for bad in ({}, {"room": "#rust", "time": -1}, {"room": "#rust", "time": True}):
        command = parse_command(json.dumps({"type": "mark_read", **bad}))
        assert isinstance(command, Tell)
        assert isinstance(command.event, Invalid)
        assert command.event.code is ErrorCode.BAD_FIELD
    assert decoded(ReadMarker("#rust", 5, asked=True)) == {
        "type": "read_marker",
        "target": "#rust",
        "marker": 5,
        "asked": True,
        "time": 1.0,
    }


def test_history_reads_the_latest_or_before_or_after_an_entrys_id() -> None:
    def parsed(**fields: Any) -> object:
        return parse_command(json.dumps({"type": "history", **fields}))

    assert parsed(room="#rust", count=20) == ShowHistory(20, room("#rust"))
    # Scrolled up: the entries before the oldest one shown, from the database beyond memory.
    assert parsed(room="#rust", count=20, before=41) == ReadHistory(
        room("#rust"), HistoryQuery(Direction.BEFORE, 20, AtId(41), events=True)
    )
    # Reconnected: exactly what followed the last one shown.
    assert parsed(room="#rust", after=97) == ReadHistory(
        room("#rust"), HistoryQuery(Direction.AFTER, 50, AtId(97), events=True)
    )
    # A private conversation (kept for accounts only: the hub says so to anyone else).
    assert parsed(nick="bob", before=3) == ReadHistory(
        nick("bob"), HistoryQuery(Direction.BEFORE, 50, AtId(3), events=True)
    )
    assert parsed(nick="bob", count=5) == ReadHistory(
        nick("bob"), HistoryQuery(Direction.LATEST, 5, events=True)
    )
    for bad in (
        {"room": "#rust", "before": 3, "after": 1},
        {"room": "#rust", "before": -1},
        {"room": "#rust", "after": "7"},
        {"room": "#rust", "after": True},
        {"after": 7},  # an id of which conversation?
        {"room": "#rust", "count": 0},
    ):
        command = parsed(**bad)
        assert isinstance(command, Tell), bad
        assert isinstance(command.event, Invalid)
        assert command.event.code is ErrorCode.BAD_FIELD


def test_history_read_carries_each_entrys_id_for_the_page_to_place_it() -> None:
    entries = (
        Entry(41, 1.0004, Said("#rust", "bob", "old")),
        Entry(44, 2.0, Said("#rust", "ana", "hi")),
    )
    assert decoded(HistoryRead("#rust", entries)) == {
        "type": "history_read",
        "room": "#rust",
        "entries": [
            {"id": 41, "time": 1.0, "event": {"type": "said", "room": "#rust", "nick": "bob",
                                                "text": "old", "notice": False}},
            {"id": 44, "time": 2.0, "event": {"type": "said", "room": "#rust", "nick": "ana",
                                                "text": "hi", "notice": False}},
        ],
        "time": 1.0,
    }  # fmt: skip


def test_typing_is_a_client_tag_to_a_room_or_a_nickname() -> None:
    def parsed(**fields: Any) -> object:
        return parse_command(json.dumps({"type": "typing", **fields}))

    assert parsed(room="#rust") == Signal((("+typing", "active"),), room("#rust"))
    assert parsed(room="#rust", state="paused") == Signal((("+typing", "paused"),), room("#rust"))
    assert parsed(state="done") == Signal((("+typing", "done"),))  # the current room
    assert parsed(nick="bob", state="active") == PrivateMessage(
        nick("bob"), "", notice=True, tags=(("+typing", "active"),), signal=True
    )  # (a notice: never answered, not even "no such nick")
    command = parsed(room="#rust", state="thinking")
    assert isinstance(command, Tell)
    assert isinstance(command.event, Invalid)
    assert command.event.code is ErrorCode.BAD_FIELD
    # What others' pages get: who, where, and the tag (an IRC client's TAGMSG too).
    assert decoded(Signalled("#rust", "bob", (("+typing", "active"),), "u", "", "h", id=9)) == {
        "type": "signalled",
        "room": "#rust",
        "nick": "bob",
        "tags": [["+typing", "active"]],
        "id": 9,
        "time": 1.0,
    }
