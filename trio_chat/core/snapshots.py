"""The hub's shared state as a value: what a replica that starts late begins from. Pure.

:meth:`trio_chat.core.hub.Hub.state` takes it and :meth:`~trio_chat.core.hub.Hub.restore`
starts from it; :mod:`trio_chat.core.replication` writes it into the shared log.
"""

from __future__ import annotations

from dataclasses import dataclass

from trio_chat.core.accounts import Account, Ticket
from trio_chat.core.events import ServerBanEntry
from trio_chat.core.modes import ListEntry
from trio_chat.core.read_markers import ReadMark
from trio_chat.core.roles import Roles
from trio_chat.core.text import Nickname, RoomName


@dataclass(frozen=True, slots=True)
class MemberState:
    """One member, as a replica joining late needs it."""

    nick: Nickname
    peer: str
    realname: str
    user: str
    away: str
    rooms: tuple[str, ...]  # room keys, in join order
    current: str | None  # the current room's key
    account: str | None = None  # the key of the account it is logged in to
    host: str = ""  # its cloaked host
    address: str = ""
    group: str = ""
    operator: bool = False
    invited: tuple[str, ...] = ()  # keys of the rooms it is invited to
    invisible: bool = False
    watching: tuple[Nickname, ...] = ()  # the nicknames it watches, as typed (IRC's MONITOR)
    bot: bool = False
    read_marks: tuple[tuple[str, int], ...] = ()  # logged in to no account: (target key, time)


@dataclass(frozen=True, slots=True)
class RoomSettings:
    """What a room's operators set: kept on disk for a registered room, and given to replicas."""

    letters: str = "nt"  # the flags that are on (see trio_chat.core.modes.Mode)
    key: str = ""
    limit: int = 0
    lists: tuple[tuple[str, tuple[ListEntry, ...]], ...] = ()  # (a list mode's letter, masks)
    created: float = 0.0
    founder: str = ""  # the founder's account key ("": not registered)
    operators: tuple[str, ...] = ()  # accounts made operators as they join (registered rooms)


@dataclass(frozen=True, slots=True)
class RoomRecord:
    """A registered room, as the database keeps it."""

    name: RoomName
    topic: str
    settings: RoomSettings


@dataclass(frozen=True, slots=True)
class RoomState:
    """One room, as a replica joining late needs it."""

    name: RoomName
    topic: str
    members: tuple[int, ...]  # positions in HubState.members, in join order
    roles: tuple[Roles, ...]  # each member's roles, in the same order
    kept: bool = False  # outlives its last member
    settings: RoomSettings = RoomSettings()
    creator: int | None = None  # the position of the member who made it (None: nobody's)
    creator_group: str = ""
    topic_by: str = ""
    topic_time: float = 0.0


@dataclass(frozen=True, slots=True)
class HubState:
    """Everything shared that a hub holds: enough to start a replica that then follows the log."""

    members: tuple[MemberState, ...]  # in the hub's order
    rooms: tuple[RoomState, ...]
    peak: int
    accounts: tuple[Account, ...] = ()  # every account (their credentials: hashes, never passwords)
    tickets: tuple[Ticket, ...] = ()  # browsers' logins (digests of their tokens, never a token)
    server_bans: tuple[ServerBanEntry, ...] = ()
    read_markers: tuple[ReadMark, ...] = ()  # how far each account has read each target
