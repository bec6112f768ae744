"""The browser's protocol: JSON messages that mirror the hub's commands and events.

Pure functions, no I/O: :func:`parse_hello` and :func:`parse_command` turn one JSON text (one
WebSocket message) into what the hub understands, and :func:`encode` turns one event into one
JSON text. The WebSocket and HTTP around them live in :mod:`trio_chat.frontends.web`.

Every message is an object with a ``type``. The browser speaks first, once::

    {"type": "hello", "v": 1, "nick": "alice", "rooms": ["#lobby", "#rust"]}

(``rooms`` is optional: without it the newcomer is placed in #lobby, as on the terminal; with
it, it joins those rooms, which is how a reconnecting page gets its rooms back.) Then commands,
each mirroring one of :mod:`trio_chat.core.events`' (see :data:`COMMANDS` for the fields)::

    {"type": "say", "room": "#rust", "text": "hi"}

and the server sends events, one per message, each with the time the hub made it (Unix time)::

    {"type": "said", "room": "#rust", "nick": "alice", "text": "hi", "notice": false, "time": ...}

Events are encoded from their dataclass fields (see :data:`EVENT_TYPES` for their names), so the
JSON vocabulary is the hub's vocabulary: a refusal carries its stable ``reason`` code and the
English ``text`` a page can show. Mistakes in what the browser sends (not JSON, an unknown
``type``, a missing field) are answered with ``{"type": "error", "code": ..., "text": ...}``
and lose nothing else.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trio_chat.core import events
from trio_chat.core.events import (
    AtId,
    Command,
    Direction,
    Event,
    HistoryQuery,
    Membership,
    Reply,
    RosterEntry,
    Tell,
)
from trio_chat.core.modes import MAX_CHANGES, parse_changes
from trio_chat.core.refusals import Reason, Refusal, explain
from trio_chat.core.text import Nickname, RoomName, sanitize, sanitized
from trio_chat.frontends.base import OperLogin

VERSION = 1  # of this vocabulary; a hello may say which it speaks
HISTORY_SHOWN = 50  # entries a history message asks for when it does not say
MAX_DEPTH = 8  # arrays and objects nested in a message (ours nest 2); deeper: too_deep

EVENT_TYPES: dict[type, str] = {
    events.Registered: "registered",
    events.RoomEntered: "room_entered",
    events.RoomExited: "room_exited",
    events.CurrentRoom: "current_room",
    events.Joined: "joined",
    events.Parted: "parted",
    events.Said: "said",
    events.Emoted: "emoted",
    events.TopicChanged: "topic_changed",
    events.Renamed: "renamed",
    events.Departed: "departed",
    events.AwayChanged: "away_changed",
    events.PrivateFrom: "private_from",
    events.PrivateTo: "private_to",
    events.IsAway: "is_away",
    events.Roster: "roster",
    events.Found: "found",
    events.Counts: "counts",
    events.RoomList: "room_list",
    events.TopicIs: "topic_is",
    events.Recalled: "recalled",
    events.HistoryRead: "history_read",
    events.Goodbye: "goodbye",
    events.ShuttingDown: "shutting_down",
    events.ServiceChanged: "service_changed",
    events.LoggedIn: "logged_in",
    events.LoggedOut: "logged_out",
    events.AccountCreated: "account_created",
    events.PasswordChanged: "password_changed",
    events.PrivateHistorySet: "private_history_set",
    events.AccountChanged: "account_changed",
    events.ModesChanged: "modes_changed",
    events.Kicked: "kicked",
    events.Redacted: "redacted",
    events.Signalled: "signalled",
    events.Invited: "invited",
    events.ModesAre: "modes_are",
    events.ListIs: "list_is",
    events.OperatorNow: "operator_now",
    events.Wallops: "wallops",
    events.PutOut: "put_out",
    events.ServerBanChanged: "server_ban_changed",
    events.ServerBans: "server_bans",
    events.RoomRegistered: "room_registered",
    events.ReadMarker: "read_marker",  # how far this account read a room, or a conversation
    Refusal: "refusal",
}
# IRC's user names and hosts are for masks: the page shows nicknames. A look-up (MemberInfo)
# shows the cloaked host (what a ban names), and the address only to server operators.
_HIDDEN_FIELDS = frozenset({"user", "host"})
_HIDDEN_IN_JOINS = _HIDDEN_FIELDS | {"realname"}  # a join's real name is IRC's extended-join
_HIDDEN_IN_INFO = frozenset({"user"})
# Absent when empty: a page sees no empty field (an address: only server operators see one).
_SHOWN_IF_ANY = frozenset(
    {
        "account",
        "address",
        "bot",
        "operator",
        "read_marker",
        "topic_by",
        "topic_time",
        "id",
        "tags",
        "signal",
        "recipient",
    }
)


class ErrorCode(enum.Enum):
    """What was wrong with a message from the browser."""

    NOT_JSON = "not_json"  # not a JSON object
    UNKNOWN_TYPE = "unknown_type"
    BAD_FIELD = "bad_field"  # a field missing, or of the wrong kind
    REGISTER_FIRST = "register_first"  # a command before the hello
    NOT_TEXT = "not_text"  # a binary message
    TOO_BIG = "too_big"  # over the message size limit
    TOO_DEEP = "too_deep"  # arrays or objects nested deeper than MAX_DEPTH


@dataclass(frozen=True, slots=True)
class Invalid(Reply):
    """The answer to a message the server could not use (it loses nothing else)."""

    code: ErrorCode
    text: str


@dataclass(frozen=True, slots=True)
class Greeting:
    """The browser's first message: its nickname, and the rooms it wants (None: #lobby)."""

    nick: Nickname
    rooms: tuple[RoomName, ...] | None = None


class _BadField(Exception):
    """A field of a message is missing or of the wrong kind (never escapes this module)."""


class _Refused(Exception):
    """A name in a message is not valid (never escapes this module)."""

    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal


# --- browser -> server ---------------------------------------------------------------------


def parse_hello(text: str) -> Greeting | Refusal | Invalid:
    """Read the browser's first message: a :class:`Greeting`, a refused nickname, or an error."""
    message = _object(text)
    if isinstance(message, Invalid):
        return message
    if message.get("type") != "hello":
        return Invalid(ErrorCode.REGISTER_FIRST, 'say {"type": "hello", "nick": ...} first')
    try:
        nick = Nickname.parse(_string(message, "nick"))
        names = message.get("rooms")
        if names is not None and not (
            isinstance(names, list) and all(isinstance(name, str) for name in names)
        ):
            raise _BadField("rooms: a list of room names")
    except _BadField as error:
        return Invalid(ErrorCode.BAD_FIELD, str(error))
    if isinstance(nick, Refusal):
        return sanitized(nick)
    if names is None:
        return Greeting(nick)
    # A reconnecting page asks for the rooms it was in: a name no longer valid is skipped.
    rooms = (RoomName.parse(name) for name in names)
    return Greeting(nick, tuple(room for room in rooms if isinstance(room, RoomName)))


def parse_login(text: str) -> tuple[Nickname, str] | Refusal | Invalid:
    """Read a login's body, ``{"account": ..., "password": ...}``: the account and password."""
    message = _object(text)
    if isinstance(message, Invalid):
        return message
    try:
        account, password = _nick(message, "account"), _string(message, "password")
    except _BadField as error:
        return Invalid(ErrorCode.BAD_FIELD, str(error))
    except _Refused as refused:
        return refused.refusal
    return account, password


def parse_command(text: str) -> Command | OperLogin:
    """Turn one message from a registered browser into a command for the hub.

    Mistakes become ``Tell(...)`` (an :class:`Invalid`, or a refused name), so the browser
    hears about them in order with everything else.
    """
    message = _object(text)
    if isinstance(message, Invalid):
        return Tell(message)
    kind = message.get("type")
    parse = COMMANDS.get(kind) if isinstance(kind, str) else None
    if parse is None:
        return Tell(Invalid(ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind!r}"[:200]))
    try:
        return parse(message)
    except _BadField as error:
        return Tell(Invalid(ErrorCode.BAD_FIELD, f"{kind}: {error}"))
    except _Refused as refused:
        return Tell(refused.refusal)


Message = dict[str, Any]


# Every character that can open or close a nesting level, or a string (whose brackets do not).
_SPECIAL = re.compile(r'[\[\]{}"\\]')


def _too_deep(text: str) -> bool:
    """Say whether arrays and objects nest deeper than MAX_DEPTH in ``text``, in linear time."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False  # nearly every message: a few brackets at most
    depth = 0
    in_string = False
    escaped = -1  # the position a backslash escapes
    for match in _SPECIAL.finditer(text):
        char, position = match.group(), match.start()
        if position == escaped:
            continue
        if char == "\\":
            escaped = position + 1
        elif char == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        else:
            depth -= 1
    return False


def _object(text: str) -> Message | Invalid:
    # Checked before parsing: json.loads recurses once per level, and 3,000 nested arrays
    # raised RecursionError (a traceback in the log per message, the connection dropped).
    if _too_deep(text):
        return Invalid(ErrorCode.TOO_DEEP, f"messages nest at most {MAX_DEPTH} levels")
    try:
        message = json.loads(text)
    except ValueError:
        return Invalid(ErrorCode.NOT_JSON, "messages are JSON objects")
    if not isinstance(message, dict):
        return Invalid(ErrorCode.NOT_JSON, "messages are JSON objects")
    return message


def _string(message: Message, key: str, default: str | None = None) -> str:
    value = message.get(key, default)
    if not isinstance(value, str):
        raise _BadField(f"{key}: a string")
    return value


def _text(message: Message, key: str = "text", default: str | None = None) -> str:
    # A text a person typed: line breaks become spaces, control characters go.
    return sanitize(_string(message, key, default).replace("\r\n", " ").replace("\n", " "))


def _said(message: Message) -> str:
    text = _text(message)
    if not text.strip():
        raise _BadField("text: something to say")
    return text


def _room(message: Message, *, required: bool = False) -> RoomName | None:
    if not required and message.get("room") is None:
        return None  # the current room
    room = RoomName.parse(_string(message, "room"))
    if isinstance(room, Refusal):
        raise _Refused(sanitized(room))
    return room


def _nick(message: Message, key: str = "nick") -> Nickname:
    nick = Nickname.parse(_string(message, key))
    if isinstance(nick, Refusal):
        raise _Refused(sanitized(nick))
    return nick


def _private(message: Message) -> Command:
    typed = _string(message, "to")
    recipient = Nickname.parse(typed)
    if isinstance(recipient, Refusal):  # nobody can be online under an invalid name
        return Tell(Refusal(Reason.NO_SUCH_NICK, sanitize(typed)))
    action = message.get("action", False)
    if not isinstance(action, bool):
        raise _BadField("action: true or false")
    return events.PrivateMessage(recipient, _said(message), action=action)


def _topic(message: Message) -> Command:
    room = _room(message)
    if message.get("topic") is None:
        return events.ShowTopic(room)
    return events.SetTopic(_text(message, "topic"), room)


def _mode(message: Message) -> Command:
    words = tuple(_text(message, "modes", "").split())
    changes = parse_changes(words)
    if isinstance(changes, str):
        return Tell(Refusal(Reason.UNKNOWN_MODE, detail=changes))
    return events.ChangeModes(_room(message), changes[:MAX_CHANGES])


def _word(message: Message, key: str) -> str:
    """Return the word at ``key``: a mask, a name or a key, without control characters."""
    word = _text(message, key).strip()
    if not word or " " in word:
        raise _BadField(f"{key}: one word")
    return word


def _ban(*, mute: bool, on: bool) -> Callable[[Message], Command]:
    def parse(message: Message) -> Command:
        reason = _text(message, "reason", "") if on and not mute else ""
        target = _word(message, "target")
        return events.BanMember(_room(message), target, mute=mute, on=on, reason=reason)

    return parse


def _server_ban(message: Message) -> Command:
    seconds = message.get("seconds", 0)
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
        raise _BadField("seconds: a number, 0 or more (0: until lifted)")
    return events.BanFromServer(_word(message, "mask"), seconds, _text(message, "reason", ""))


def _mark_read(message: Message) -> Command:
    """``room`` or ``nick`` (a private conversation), read up to ``time`` (ms); no time: ask."""
    conversation = _nick(message) if message.get("nick") is not None else _room(message)
    if conversation is None:
        raise _BadField("room or nick: the conversation read")
    time = message.get("time")
    if time is None:
        return events.ShowReadMarker(conversation)
    if not isinstance(time, int) or isinstance(time, bool) or time < 0:
        raise _BadField("time: milliseconds since the epoch")
    return events.MarkRead(conversation, time)


def _history(message: Message) -> Command:
    """``count`` entries of ``room`` (or of a private conversation, ``nick``).

    The latest; or, with ``before`` or ``after`` an entry's id, those just before or just after
    it: how a page loads older history as it is scrolled up, and asks what it missed after a
    reconnection. Both read the database beyond memory (IRC's CHATHISTORY BEFORE and AFTER).
    """
    count = _count(message)
    target = _nick(message) if message.get("nick") is not None else _room(message)
    marks = [key for key in ("before", "after") if message.get(key) is not None]
    if not marks:
        if isinstance(target, Nickname):
            return events.ReadHistory(target, HistoryQuery(Direction.LATEST, count, events=True))
        return events.ShowHistory(count, target)
    if len(marks) > 1:
        raise _BadField("before or after, not both")
    (key,) = marks
    mark = message[key]
    if not isinstance(mark, int) or isinstance(mark, bool) or mark < 0:
        raise _BadField(f"{key}: an entry's id")
    if target is None:
        raise _BadField("room or nick: the conversation read")
    query = HistoryQuery(Direction(key.upper()), count, AtId(mark), events=True)
    return events.ReadHistory(target, query)


class Typing(enum.Enum):
    """What a ``typing`` message says (IRCv3's ``+typing`` client tag, its three values)."""

    ACTIVE = "active"  # typing now (a page says so again every few seconds while it is)
    PAUSED = "paused"  # stopped, with text left in the field
    DONE = "done"  # the field is empty again, or the line was sent


def _typing(message: Message) -> Command:
    """Tell ``room`` (or ``nick``) whether I am typing: a TAGMSG with ``+typing`` on IRC."""
    try:
        state = Typing(message.get("state", Typing.ACTIVE.value))
    except ValueError:
        raise _BadField("state: active, paused or done") from None
    tags = (("+typing", state.value),)
    if message.get("nick") is not None:
        # As a notice: typing to someone gone offline is not answered with an error.
        return events.PrivateMessage(_nick(message), "", notice=True, tags=tags, signal=True)
    return events.Signal(tags, _room(message))


def _private_history(message: Message) -> Command:
    on = message.get("on")
    if not isinstance(on, bool):
        raise _BadField("on: true or false")
    return events.SetPrivateHistory(on)


def _oper(message: Message) -> OperLogin:
    return OperLogin(_string(message, "name"), _string(message, "password"))


COMMANDS: dict[str, Callable[[Message], Command | OperLogin]] = {
    "say": lambda m: events.Say(_said(m), _room(m)),
    "me": lambda m: events.Emote(_said(m), _room(m)),
    "msg": _private,
    "join": lambda m: events.JoinRoom(_required_room(m), _string(m, "key", "")),
    "part": lambda m: events.PartRoom(_room(m), _text(m, "message", "")),
    "switch": lambda m: events.SwitchRoom(_required_room(m)),
    "rooms": lambda m: events.ListRooms(),
    "who": lambda m: events.Who(_room(m)),
    "topic": _topic,
    "away": lambda m: events.SetAway(_text(m, "message", "")),
    "nick": lambda m: events.Rename(_nick(m)),
    "whois": lambda m: events.LookUp((_nick(m),), label="whois"),
    "history": _history,  # the latest, or before or after an entry's id
    "typing": _typing,  # whether I am typing (IRC's +typing client tag)
    "quit": lambda m: events.Quit(_text(m, "message", "")),
    "mark_read": _mark_read,  # how far this account has read (IRC's draft/read-marker)
    "private_history": _private_history,  # {"on": false}: keep none of my private messages
    # Running a room (its operators), and the server (server operators):
    "mode": _mode,
    "kick": lambda m: events.Kick(_room(m), _nick(m), _text(m, "reason", "")),
    "ban": _ban(mute=False, on=True),
    "unban": _ban(mute=False, on=False),
    "mute": _ban(mute=True, on=True),
    "unmute": _ban(mute=True, on=False),
    "invite": lambda m: events.Invite(_nick(m), _room(m)),
    "register_room": lambda m: events.RegisterRoom(_required_room(m)),
    "drop_room": lambda m: events.RegisterRoom(_required_room(m), drop=True),
    "oper": _oper,
    "kill": lambda m: events.Kill(_nick(m), _text(m, "reason", "")),
    "wallops": lambda m: events.SendWallops(_said(m)),
    "server_ban": _server_ban,
    "lift_server_ban": lambda m: events.LiftServerBan(_word(m, "mask")),
    "server_bans": lambda m: events.ShowServerBans(),
}


def _count(message: Message) -> int:
    count = message.get("count", HISTORY_SHOWN)
    if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= 1000:
        raise _BadField("count: a number from 1 to 1000")
    return count


def _required_room(message: Message) -> RoomName:
    room = _room(message, required=True)
    assert room is not None
    return room


# --- server -> browser ---------------------------------------------------------------------


def encode(event: Event, time: float) -> str | None:
    """Return the JSON text of ``event``, made at ``time``; None for replies of other front ends."""
    if isinstance(event, Invalid):
        return _dumps({"type": "error", "code": event.code.value, "text": event.text})
    name = EVENT_TYPES.get(type(event))
    if name is None:
        return None  # a Reply another front end made (it is not ours to show)
    message: Message = {"type": name}
    if isinstance(event, events.Registered):
        message["v"] = VERSION
    if isinstance(event, events.Recalled | events.HistoryRead):  # each entry typed its own way
        # Times rounded as live events' are, so the page can tell which entries it showed live.
        entries = [
            {"id": e.id, "time": _stamp(e.time), "event": _typed(e.event)} for e in event.entries
        ]
        room = event.room if isinstance(event, events.Recalled) else event.target
        message |= {"room": room, "entries": entries}
    else:
        message |= _fields(event)
    if isinstance(event, Refusal):
        message["text"] = explain(event)
    message["time"] = _stamp(time)
    return _dumps(message)


def _stamp(time: float) -> float:
    """Return a Unix time as sent: to the millisecond."""
    return round(time, 3)


def _typed(event: Event) -> Message:
    return {"type": EVENT_TYPES[type(event)], **_fields(event)}


def _fields(value: Any) -> Message:
    message: Message = {}
    for field in dataclasses.fields(value):
        item = getattr(value, field.name)
        hidden = _HIDDEN.get(type(value), _HIDDEN_FIELDS)
        if field.name in hidden:
            continue
        if field.name in _SHOWN_IF_ANY and not item:
            continue
        if isinstance(item, tuple) and item and type(item[0]) in _NAMED:
            message[field.name], roles = _named(item)
            if roles:  # nobody has a role: the message is as it was before roles existed
                message["roles"] = roles
        else:
            message[field.name] = _plain(item)
    return message


def _named(items: tuple[Any, ...]) -> tuple[list[str], dict[str, list[str]]]:
    """Return a roster, or a member's rooms, as the page reads them: names, and who has roles.

    ``["alice", "bob"]`` and ``{"alice": ["operator"]}``: a list of names stays a list of
    names, whoever has a role.
    """
    name = _NAMED[type(items[0])]
    names = [getattr(item, name) for item in items]
    roles = {
        getattr(item, name): [role.value for role in item.roles] for item in items if item.roles
    }
    return names, roles


_NAMED: dict[type, str] = {RosterEntry: "nick", Membership: "room"}  # what names each entry
_HIDDEN = {events.Joined: _HIDDEN_IN_JOINS, events.MemberInfo: _HIDDEN_IN_INFO}


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        # A roster is thousands of names, already plain: json writes the tuple as it is.
        if not value or type(value[0]) is str:
            return value
        return [_plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    return value


def _dumps(message: Message) -> str:
    # ensure_ascii=False: names and texts stay readable (and shorter) in UTF-8.
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))
