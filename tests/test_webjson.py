"""The web front end's JSON vocabulary: messages to commands, events to messages (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.names import nick, room, roster
from trio_chat.core.events import (
    Departed,
    Emote,
    Found,
    JoinRoom,
    LeaveReason,
    ListRooms,
    LookUp,
    MemberInfo,
    Membership,
    PartRoom,
    PrivateMessage,
    Quit,
    Registered,
    Rename,
    RoomEntered,
    RoomList,
    RoomSummary,
    Roster,
    RosterEntry,
    Said,
    Say,
    SetAway,
    SetTopic,
    ShowTopic,
    SwitchRoom,
    Tell,
    Who,
)
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.roles import Role
from trio_chat.core.text import Nickname, RoomName
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
