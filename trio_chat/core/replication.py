"""The shared log of several processes: what one entry says, and how it is written. Pure.

Processes that share rooms (``--backplane``) share one log, a Redis stream, and each runs a
replica of the hub that applies the log's entries in the log's order (see
:mod:`trio_chat.shell.backplane` for the Trio side). An entry is one of the records below: a
member's request, stamped with the member's id (its process's id, a slash, a number), or a
process's own news (it started and needs the state, it is gone). Requests that change nothing
shared (a front end's own replies, such as IRC's PONG) never go through the log.

A stream entry holds a batch of records, in order (what one process appended in one round trip),
as one JSON array of [kind, document] pairs: :func:`encode` writes it and :func:`decode` reads
it back, refusing anything it does not know rather than guess, since a replica must apply
exactly what the others apply.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trio_chat.core import events
from trio_chat.core.accounts import Account, Credentials, Ticket
from trio_chat.core.events import Command, Entry, LeaveReason, ServerBanEntry
from trio_chat.core.history import decode_event, encode_event
from trio_chat.core.modes import ListEntry, Mode, ModeChange
from trio_chat.core.read_markers import ReadMark
from trio_chat.core.requests import Login
from trio_chat.core.roles import Role
from trio_chat.core.snapshots import HubState, MemberState, RoomSettings, RoomState
from trio_chat.core.text import ROOM_PREFIX, Nickname, RoomName


@dataclass(frozen=True, slots=True)
class Hello:
    """A process asks a running one for the state (a :class:`State`): it starts, or fell behind."""

    process: str


@dataclass(frozen=True, slots=True)
class State:
    """The state just after the ``Hello`` with stream id ``hello``, for its process to adopt."""

    process: str
    hello: str  # the stream id of the Hello this answers (a process may ask more than once)
    hub: HubState
    members: tuple[str, ...]  # the id of each of hub.members, in order
    rings: tuple[tuple[str, tuple[Entry, ...]], ...]  # rooms' history, see History.rings
    last_id: int  # the last id the hub gave an event (see hub.py), for ids to go on from


@dataclass(frozen=True, slots=True)
class Registering:
    """A member asks for a nickname (and is placed in #lobby if ``lobby``), maybe logging in."""

    member: str
    nick: Nickname
    lobby: bool
    peer: str
    realname: str
    user: str
    login: Login | None = None
    host: str = ""  # its cloaked host
    address: str = ""  # its IP address (server operators see it, server bans match it)
    group: str = ""  # its address's group for per-address limits ("": exempt)


@dataclass(frozen=True, slots=True)
class LoggingIn:
    """A registered member logs in (its process checked the password: the hashes travel)."""

    member: str
    login: Login


@dataclass(frozen=True, slots=True)
class CreatingAccount:
    """A member registers an account (``name`` None: its nickname), with these credentials."""

    member: str
    name: Nickname | None
    credentials: Credentials


@dataclass(frozen=True, slots=True)
class ChangingPassword:
    """A member's account has new credentials; ``old`` are those its process checked."""

    member: str
    old: Credentials
    new: Credentials


@dataclass(frozen=True, slots=True)
class BecomingOperator:
    """A member's ``OPER`` login ``name`` was checked by its process: it is a server operator."""

    member: str
    name: str


@dataclass(frozen=True, slots=True)
class Acting:
    """A registered member sent a command."""

    member: str
    command: Command


@dataclass(frozen=True, slots=True)
class Leaving:
    """A member's connection ended (it did not quit)."""

    member: str
    reason: LeaveReason


@dataclass(frozen=True, slots=True)
class Gone:
    """A process stopped (or died, and a survivor says so): all of its members leave."""

    process: str
    reason: LeaveReason


@dataclass(frozen=True, slots=True)
class GrantingTicket:
    """A member's browser gets a ticket (its process checked the password; never the token)."""

    member: str
    login: Login
    ticket: Ticket


@dataclass(frozen=True, slots=True)
class RevokingTicket:
    """A browser's ticket is forgotten."""

    member: str
    digest: str


Record = (
    Hello
    | State
    | Registering
    | Acting
    | Leaving
    | Gone
    | LoggingIn
    | BecomingOperator
    | CreatingAccount
    | ChangingPassword
    | GrantingTicket
    | RevokingTicket
)


def process_of(member: str) -> str:
    """Return the id of the process that member id ``member`` belongs to."""
    return member.partition("/")[0]


# --- writing and reading entries ------------------------------------------------------------

# The commands a member's request may carry: every command but Tell (a front end's own reply).
_COMMANDS: dict[str, type[Any]] = {
    cls.__name__: cls for cls in typing.get_args(Command) if cls is not events.Tell
}


def shared(command: Command) -> bool:
    """Say whether ``command`` goes through the log (all but a front end's own replies)."""
    if isinstance(command, events.Labeled):
        return any(map(shared, command.commands))
    return not isinstance(command, events.Tell)


def encode(records: Sequence[Record]) -> dict[str, str]:
    """Return ``records`` as the fields of one stream entry: a batch, applied in this order.

    One entry per batch, rather than per record: each command to Redis costs far more, in
    the client library's Python, than a few more bytes of JSON.
    """
    batch = [[_KINDS[type(record)], _document(record)] for record in records]
    return {"r": json.dumps(batch, ensure_ascii=False, separators=(",", ":"))}


def decode(fields: Mapping[str, str]) -> list[Record]:
    """Rebuild the records of a stream entry written by :func:`encode`.

    Raises:
        ValueError: if the entry is not one this version writes (then none of it is applied).
    """
    try:
        batch = json.loads(fields["r"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"a log entry that is not a batch: {error!r}") from None
    if not isinstance(batch, list):
        raise ValueError("a log entry that is not a batch")
    return [_record(item) for item in batch]


def _record(item: Any) -> Record:
    try:
        kind, document = item
        reader = _READERS[kind]
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"unknown kind of log entry: {str(item)[:80]!r}") from None
    try:
        return reader(document)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"a {kind} entry that does not fit: {error!r}") from None


def _document(record: Record) -> Any:
    if isinstance(record, Acting):
        command = record.command
        return {"member": record.member, "command": _command_document(command)}
    if isinstance(record, State):
        return {
            "process": record.process,
            "hello": record.hello,
            "hub": _plain(record.hub),
            "members": list(record.members),
            "rings": [[key, [_entry(e) for e in ring]] for key, ring in record.rings],
            "last_id": record.last_id,
        }
    return _plain(record)


def _read_registering(d: Any) -> Registering:
    nick = _nickname(d["nick"])
    peer, realname, user = str(d["peer"]), str(d["realname"]), str(d["user"])
    login = None if d["login"] is None else _login(d["login"])
    host, address, group = str(d["host"]), str(d["address"]), str(d["group"])
    member, lobby = str(d["member"]), bool(d["lobby"])
    return Registering(member, nick, lobby, peer, realname, user, login, host, address, group)


def _read_state(d: Any) -> State:
    rings = tuple((str(key), tuple(map(_unentry, ring))) for key, ring in d["rings"])
    members = tuple(map(str, d["members"]))
    hub, last_id = _hub_state(d["hub"]), int(d["last_id"])
    return State(str(d["process"]), str(d["hello"]), hub, members, rings, last_id)


_KINDS: dict[type[Any], str] = {
    Hello: "hello",
    State: "state",
    Registering: "register",
    Acting: "act",
    Leaving: "leave",
    Gone: "gone",
    LoggingIn: "login",
    BecomingOperator: "oper",
    CreatingAccount: "new-account",
    ChangingPassword: "password",
    GrantingTicket: "ticket",
    RevokingTicket: "no-ticket",
}
_READERS: dict[str, Callable[[Any], Record]] = {
    "hello": lambda d: Hello(str(d["process"])),
    "state": _read_state,
    "register": _read_registering,
    "act": lambda d: Acting(str(d["member"]), _command(*d["command"])),
    "leave": lambda d: Leaving(str(d["member"]), LeaveReason(d["reason"])),
    "gone": lambda d: Gone(str(d["process"]), LeaveReason(d["reason"])),
    "login": lambda d: LoggingIn(str(d["member"]), _login(d["login"])),
    "oper": lambda d: BecomingOperator(str(d["member"]), str(d["name"])),
    "new-account": lambda d: CreatingAccount(
        str(d["member"]),
        None if d["name"] is None else _nickname(d["name"]),
        _credentials(d["credentials"]),
    ),
    "password": lambda d: ChangingPassword(
        str(d["member"]), _credentials(d["old"]), _credentials(d["new"])
    ),
    "ticket": lambda d: GrantingTicket(str(d["member"]), _login(d["login"]), _ticket(d["ticket"])),
    "no-ticket": lambda d: RevokingTicket(str(d["member"]), str(d["digest"])),
}


# --- values ---------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Return a record's value as JSON: names as their two spellings, tuples as lists.

    (Bytes, the SCRAM keys of credentials, as base64.)
    """
    if isinstance(value, Nickname | RoomName):
        return [value.display, value.key]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def _nickname(value: Any) -> Nickname:
    display, key = value
    return Nickname(str(display), str(key))


def _room(value: Any) -> RoomName:
    display, key = value
    return RoomName(str(display), str(key))


def _conversation(value: Any) -> RoomName | Nickname:
    """Read a room's name or a nickname (MarkRead's): a room's starts with its prefix."""
    return _room(value) if str(value[0]).startswith(ROOM_PREFIX) else _nickname(value)


# Fields of commands that hold names; every other field is a str, a bool or an int.
_NAME_FIELDS = {
    "nick": _nickname,
    "recipient": _nickname,
    "room": _room,
    "conversation": _conversation,
}
_NAME_TUPLE_FIELDS = {"nicks": _nickname, "rooms": _room}


def _command_document(command: Command) -> list[Any]:
    """Return ``command`` as [its class's name, its fields] (a Labeled's commands likewise)."""
    if isinstance(command, events.Labeled):
        fields = {
            "label": command.label,
            "commands": list(map(_command_document, command.commands)),
        }
        return [type(command).__name__, fields]
    return [type(command).__name__, _plain(command)]


def split_labeled(command: events.Labeled) -> tuple[tuple[Command, ...], events.Labeled | None]:
    """Split ``command`` into what only its process's hub sees, and the Labeled to share.

    A front end's own replies (:class:`~trio_chat.core.events.Tell`) never go through the
    log; they are done first, unlabelled, and the rest keeps the label (None: nothing left).
    """
    local = tuple(each for each in command.commands if not shared(each))
    rest = tuple(each for each in command.commands if shared(each))
    return local, events.Labeled(command.label, rest) if rest else None


def _command(name: str, values: dict[str, Any]) -> Command:
    cls = _COMMANDS.get(name)
    if cls is None:
        raise ValueError(f"unknown command {name!r}")
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        value = values[field.name]
        if field.name in _NAME_FIELDS:
            value = None if value is None else _NAME_FIELDS[field.name](value)
        elif field.name in _NAME_TUPLE_FIELDS:
            value = tuple(map(_NAME_TUPLE_FIELDS[field.name], value))
        elif field.name == "changes":
            value = tuple(map(_mode_change, value))
        elif field.name == "tags":
            value = tuple((str(key), str(tag)) for key, tag in value)
        elif field.name == "commands":  # a Labeled's
            value = tuple(_command(*each) for each in value)
        elif field.name == "query":  # a ReadHistory's
            value = _query(value)
        elif cls in (events.ReadHistory, events.Redact) and field.name == "target":
            value = _conversation(value)
        elif not isinstance(value, str | bool | int):
            raise ValueError(f"{name}.{field.name} is a {type(value).__name__}")
        fields[field.name] = value
    command: Command = cls(**fields)
    return command


def _query(value: dict[str, Any]) -> events.HistoryQuery:
    direction, limit = events.Direction(value["direction"]), int(value["limit"])
    return events.HistoryQuery(
        direction, limit, _mark(value["mark"]), _mark(value["until"]), bool(value["events"])
    )


def _mark(value: dict[str, Any] | None) -> events.Mark | None:
    if value is None:
        return None
    return events.AtId(int(value["id"])) if "id" in value else events.AtTime(int(value["ms"]))


def _mode_change(value: dict[str, Any]) -> ModeChange:
    return ModeChange(Mode(value["mode"]), bool(value["on"]), str(value["argument"]))


def _list_entry(value: dict[str, Any]) -> ListEntry:
    return ListEntry(str(value["mask"]), str(value["setter"]), float(value["time"]))


def _settings(value: dict[str, Any]) -> RoomSettings:
    return RoomSettings(
        str(value["letters"]),
        str(value["key"]),
        int(value["limit"]),
        tuple((str(mode), tuple(map(_list_entry, entries))) for mode, entries in value["lists"]),
        float(value["created"]),
        str(value["founder"]),
        tuple(map(str, value["operators"])),
    )


def _server_ban(value: dict[str, Any]) -> ServerBanEntry:
    return ServerBanEntry(
        str(value["mask"]),
        str(value["reason"]),
        str(value["setter"]),
        float(value["time"]),
        float(value["expires"]),
    )


def _credentials(value: dict[str, Any]) -> Credentials:
    def key(name: str) -> bytes:
        return base64.b64decode(str(value[name]), validate=True)

    return Credentials(
        str(value["password_hash"]),
        key("scram_salt"),
        key("scram_stored_key"),
        key("scram_server_key"),
        int(value["scram_iterations"]),
    )


def _login(value: dict[str, Any]) -> Login:
    rehashed = value["rehashed"]
    return Login(
        _nickname(value["account"]),
        _credentials(value["credentials"]),
        None if rehashed is None else _credentials(rehashed),
    )


def _account(value: dict[str, Any]) -> Account:
    return Account(
        _nickname(value["name"]),
        _credentials(value["credentials"]),
        float(value["created"]),
        tuple(map(str, value["certificates"])),
        # (Absent from a state an older version wrote: its accounts all kept theirs.)
        bool(value.get("private_history", True)),
    )


def _ticket(value: dict[str, Any]) -> Ticket:
    return Ticket(str(value["digest"]), str(value["account"]), float(value["expires"]))


def _hub_state(value: dict[str, Any]) -> HubState:
    members = tuple(
        MemberState(
            _nickname(m["nick"]),
            str(m["peer"]),
            str(m["realname"]),
            str(m["user"]),
            str(m["away"]),
            tuple(map(str, m["rooms"])),
            None if m["current"] is None else str(m["current"]),
            None if m["account"] is None else str(m["account"]),
            str(m["host"]),
            str(m["address"]),
            str(m["group"]),
            bool(m["operator"]),
            tuple(map(str, m["invited"])),
            bool(m["invisible"]),
            tuple(map(_nickname, m["watching"])),
            bool(m["bot"]),
            tuple((str(target), int(time)) for target, time in m["read_marks"]),
        )
        for m in value["members"]
    )
    rooms = tuple(
        RoomState(
            _room(r["name"]),
            str(r["topic"]),
            tuple(map(int, r["members"])),
            tuple(tuple(map(Role, roles)) for roles in r["roles"]),
            bool(r["kept"]),
            _settings(r["settings"]),
            None if r["creator"] is None else int(r["creator"]),
            str(r["creator_group"]),
            str(r["topic_by"]),
            float(r["topic_time"]),
        )
        for r in value["rooms"]
    )
    accounts = tuple(map(_account, value["accounts"]))
    tickets = tuple(map(_ticket, value["tickets"]))
    bans = tuple(map(_server_ban, value["server_bans"]))
    marks = tuple(
        ReadMark(str(m["account"]), str(m["target"]), int(m["time"])) for m in value["read_markers"]
    )
    return HubState(members, rooms, int(value["peak"]), accounts, tickets, bans, marks)


def _entry(entry: Entry) -> list[Any]:
    kind, payload = encode_event(entry.event)
    return [entry.id, entry.time, kind, payload]


def _unentry(value: list[Any]) -> Entry:
    id_, time, kind, payload = value
    return Entry(int(id_), float(time), decode_event(str(kind), str(payload), int(id_)))
