"""The hub: the one owner of nicknames and rooms, and the one source of event order.

Theory of operation
-------------------
Every change (a registration, a message, a join, a rename, a departure) arrives as a request on
one bounded memory channel, the hub's inbox, and one task (``run_hub`` in the shell) applies
them one at a time. So there is one global order of events: the order in which that task took
requests out of its inbox. Each member of a room sees the room's events in that order, and a
member of several rooms sees their events interleaved in that order too, so no two members can
disagree about what happened first.

The logic lives in :class:`Hub`, whose methods are synchronous, and in this package, which
imports no Trio at all. Trio switches tasks only at ``await``, and a synchronous function
contains none, so each request is applied atomically: no other task can see the nickname map
half-updated, and no cancellation can land in the middle of an update. Being synchronous also
means a test (or hypothesis) can drive a ``Hub`` without an event loop.

The hub never waits for a member. It hands each member's events to that member's
:class:`Outbox` (the shell's mailbox), which accepts at once or says the member is too slow;
a member that is too slow is removed and its connection stopped. If the hub waited instead,
one client that stops reading would stall everyone, and a client waiting on the hub while the
hub waits on that client's mailbox would deadlock (the circular-flow problem in Trio's channel
docs).

Batching keeps a busy hub fast and fair to clients that read normally. ``run_hub`` takes every
request already waiting in the inbox in one *turn*; events are collected per room as they
happen, each numbered in the global order; then :meth:`Hub.flush` gives every member at most
one :class:`~trio_chat.core.delivery.Delivery`: the events of its rooms, merged in order. Members
who saw the same events that turn (everyone in a room who is in no other busy room) share one
delivery, which is rendered once per front end. A member whose view of the turn differs (it
joined a room, was told something privately, renamed itself) gets a personal delivery, built
as the turn goes.

Several processes can share one set of rooms (``--backplane``, :mod:`trio_chat.shell.backplane`)
without the hub knowing much about it: every process runs a replica of the same hub and applies
the same requests, in the order of one shared log, so every replica holds the same nicknames
and rooms at every position of the log. Members of other processes are :class:`Member` objects
too, with ``local`` False: they count in rosters and nicknames, and the fan-out skips them
(their own process delivers to them). Such a hub is built with ``remove_too_slow`` False: a
member too slow for *this* process's fan-out is only evicted here, and its departure goes
through the log like any other, so that no replica changes on its own.

Every event of a room, and every private message, gets an id as it is broadcast: the next
number of one sequence (IRC's ``msgid``, the key of its history entry). The sequence is
decided where the order is, so replicas applying the same log give the same ids; a fresh hub
starts it at the current time in microseconds, so that ids keep increasing across restarts
even without a database.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from operator import itemgetter

from trio_chat.core import masks, moderation, server_bans
from trio_chat.core.accounts import TICKETS_PER_ACCOUNT, Account, Credentials, Ticket
from trio_chat.core.delivery import Delivery
from trio_chat.core.events import (
    HISTORIC,
    AccountChanged,
    AccountCreated,
    Answered,
    Answering,
    AwayChanged,
    BanFromServer,
    BanMember,
    ChangeModes,
    Command,
    Conversation,
    ConversationsAre,
    Counts,
    CurrentRoom,
    Departed,
    Direction,
    Emote,
    Emoted,
    Entry,
    Event,
    Found,
    Goodbye,
    HistoryQuery,
    HistoryRead,
    Invite,
    Invited,
    IsAway,
    Joined,
    JoinRoom,
    Kick,
    Kicked,
    Kill,
    Labeled,
    LeaveReason,
    LiftServerBan,
    ListIs,
    ListRooms,
    LoggedIn,
    LoggedOut,
    LogOut,
    LookUp,
    MarkRead,
    MemberInfo,
    Membership,
    ModesAre,
    ModesChanged,
    OperatorNow,
    Parted,
    PartRoom,
    PasswordChanged,
    PresenceIs,
    PrivateFrom,
    PrivateHistorySet,
    PrivateMessage,
    PrivateTo,
    PutOut,
    Quit,
    ReadHistory,
    ReadMarker,
    RealnameChanged,
    Recalled,
    Redact,
    Redacted,
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
    Said,
    Say,
    Seen,
    SendWallops,
    ServerBanChanged,
    ServerBanEntry,
    ServerBans,
    SetAway,
    SetBot,
    SetInvisible,
    SetPrivateHistory,
    SetRealname,
    SetTopic,
    ShowConversations,
    ShowCounts,
    ShowHistory,
    ShowReadMarker,
    ShowServerBans,
    ShowTopic,
    ShowWatched,
    ShuttingDown,
    Signal,
    Signalled,
    SwitchRoom,
    Tell,
    TicketGranted,
    TicketRevoked,
    TopicChanged,
    TopicIs,
    Unwatch,
    Wallops,
    Watch,
    WatchList,
    Who,
)
from trio_chat.core.history import (
    History,
    Lookup,
    conversation_key,
    conversations_of,
    milliseconds,
)
from trio_chat.core.limits import Limits
from trio_chat.core.lookalikes import skeleton
from trio_chat.core.members import Held, Member
from trio_chat.core.modes import LISTS, Mode, ModeChange, RoomModes, mode_of
from trio_chat.core.read_markers import ReadMark, ReadMarkers, advance
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.requests import (
    Act,
    Announce,
    BecomeOperator,
    Change,
    ChangePassword,
    CreateAccount,
    Disconnect,
    DisconnectAll,
    GrantTicket,
    Inform,
    LogIn,
    Login,
    Reconfigure,
    Register,
    RevokeTicket,
    Saved,
    Shutdown,
)
from trio_chat.core.roles import NO_ROLES, Role, Roles, ranked
from trio_chat.core.rooms import Room
from trio_chat.core.server_bans import ServerBanList
from trio_chat.core.snapshots import HubState, MemberState, RoomRecord, RoomSettings, RoomState
from trio_chat.core.text import LOBBY, Nickname, NicknamePolicy, RoomName, fold
from trio_chat.core.watching import Watchers

logger = logging.getLogger(__name__)

HOLD_LIMIT = 256  # deliveries held for a member whose account change is being saved
# IRCv3 bot mode's tag, the server's own (no "+"), on every message of a member that is a bot:
# in its tags, so it reaches whoever gets tags (message-tags) and stays in history with them.
BOT_TAG = ("bot", "")


@dataclass(slots=True)
class HubStats:
    """What the hub has done since it started, counted as it goes (the metrics read it).

    Counted per request or per turn (deliveries: a local count, added once per turn), so
    counting costs the fan-out next to nothing.
    """

    registrations: int = 0
    accounts: int = 0  # accounts registered
    messages: int = 0  # said or emoted in a room, or sent privately
    deliveries: int = 0  # offered to members' outboxes
    removals: collections.Counter[LeaveReason] = field(default_factory=collections.Counter)
    refusals: collections.Counter[Reason] = field(default_factory=collections.Counter)
    kicks: int = 0  # members kicked out of a room
    room_bans: int = 0  # masks added to rooms' ban lists (mutes included)


@dataclass(frozen=True, slots=True)
class Unsaved:
    """An account as it now is, for the store to save; ``member`` is told once it is."""

    account: Account
    change: Change | None  # None: nobody is told (a hash made again, an account from a state)
    member: Member | None


@dataclass(frozen=True, slots=True)
class Export:
    """Hand the hub to ``reply`` in its turn: to read the state at this point, or replace it."""

    reply: Callable[[Hub], None]


# Everything the hub's inbox carries.
Request = (
    Register
    | Disconnect
    | Act
    | Shutdown
    | Inform
    | Announce
    | DisconnectAll
    | LogIn
    | CreateAccount
    | ChangePassword
    | GrantTicket
    | RevokeTicket
    | Saved
    | Reconfigure
    | BecomeOperator
    | Export
)


class Hub:
    """The hub's state and logic, synchronous and free of I/O (see the module docstring).

    Feed requests to :meth:`handle`, then call :meth:`flush` to deliver what they produced.
    """

    def __init__(
        self,
        policy: NicknamePolicy | None = None,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.time,
        history: History | None = None,
        *,
        remove_too_slow: bool = True,
        operators: frozenset[str] = frozenset(),
    ) -> None:
        self.policy = policy or NicknamePolicy()  # reserved names, ASCII only or not
        self.limits = limits or Limits()
        # False for a replica (see the module docstring): a slow member is evicted, not removed.
        self.remove_too_slow = remove_too_slow
        self._clock = clock  # when a turn's deliveries were made (IRC's server-time), in Unix time
        self._now: float | None = None  # the current turn's time, once something asked for it
        self.history = history  # rooms' recent past (None: no history is kept)
        self._members: dict[str, Member] = {}  # normalized nickname -> member
        # Confusable skeleton -> member, so nobody takes a name that looks like one online.
        self._skeletons: dict[str, Member] = {}
        self._rooms: dict[str, Room[Member]] = {}  # normalized room name -> room
        # Registered names: a nickname (or a look-alike of one) only its account's member uses.
        self._accounts: dict[str, Account] = {}  # normalized name -> account
        self._account_shapes: dict[str, Account] = {}  # confusable skeleton -> account
        self._unsaved: list[Unsaved] = []  # account changes for the store (take_unsaved_accounts)
        self._tickets: dict[str, Ticket] = {}  # a browser's login: the digest of its token -> it
        self._unsaved_tickets: list[Ticket | str] = []  # kept, or dropped (a digest), to save
        self._peak = 0  # the most members there ever were at once
        self.operators = operators  # keys of accounts whose members are server operators
        self._server_bans = ServerBanList()
        self._watching = Watchers()  # who watches which nickname (IRC's MONITOR)
        self._read_markers = ReadMarkers()  # how far each account has read each target
        self._unsaved_server_bans: list[ServerBanEntry | str] = []  # set, or lifted (its mask)
        self._unsaved_rooms: dict[str, Room[Member] | None] = {}  # registered rooms changed
        # Rooms made by each member and from each address group, while they exist.
        self._made_by: collections.Counter[Member] = collections.Counter()
        self._made_from: collections.Counter[str] = collections.Counter()
        self.stats = HubStats()
        self.shutting_down = False
        self._sequence = 0  # the global order: every broadcast event's number
        # The last id given to an event (see the module docstring), never less than the
        # history's, which numbers on from what was saved.
        self.last_id = max(history.last_id if history else 0, first_id(clock()))
        # What the current turn produced, delivered and reset by flush():
        self._active: list[Room[Member]] = []  # rooms that have events this turn
        self._personal: dict[Member, list[Event]] = {}  # for anyone whose view differs
        self._departed: list[Member] = []  # removed this turn: outbox closes after delivery
        self._lookups: list[Lookup] = []  # history queries for the database (take_lookups)

    def __contains__(self, member: Member) -> bool:
        return member.nick is not None and self._members.get(member.nick.key) is member

    def __len__(self) -> int:
        return len(self._members)

    @property
    def room_count(self) -> int:
        """How many rooms exist (each has at least one member, or is kept)."""
        return len(self._rooms)

    @property
    def account_count(self) -> int:
        """How many accounts are registered."""
        return len(self._accounts)

    @property
    def peak(self) -> int:
        """The most members there ever were at once."""
        return self._peak

    @property
    def registered_room_count(self) -> int:
        """How many rooms are registered (they have a founder)."""
        return sum(1 for room in self._rooms.values() if room.founder)

    def server_bans_in_force(self, now: float) -> int:
        """How many server bans are in force at ``now`` (Unix time): those not yet expired."""
        return sum(1 for ban in self._server_bans.entries() if not 0 < ban.expires <= now)

    def handle(self, request: Request) -> None:
        """Apply one request."""
        match request:
            case Act(member, command) if member in self:
                self._act(member, command)
            case Register(member, nick, lobby, login) if member.left is None:
                self._register(member, nick, lobby=lobby, login=login)
            case LogIn(member, login) if member in self:
                self._log_in(member, login)
            case CreateAccount(member, name, credentials) if member.left is None:
                self._create_account(member, name, credentials)
            case ChangePassword(member, old, new) if member in self:
                self._change_password(member, old, new)
            case GrantTicket(member, login, ticket) if member.left is None:
                self._grant(member, login, ticket)
            case RevokeTicket(member, digest):
                self._revoke(member, digest)
            case BecomeOperator(member, name) if member in self:
                self._make_operator(member, name)
            case Saved(key, change, member, ok) if member.left is None:
                self._saved(self._accounts[key], change, member, ok=ok)
            case Disconnect(member, reason) if member in self:
                self._remove(member, reason)
            case Shutdown():
                self._shut_down()
            case Inform(member, event) if member.left is None:
                self._tell(member, event)
            case Announce(event):
                for member in self._members.values():
                    if member.local:
                        self._tell(member, event)
            case DisconnectAll(members, reason):
                for member in [m for m in self._members.values() if m in members]:
                    self._remove(member, reason)
            case Reconfigure(policy, limits, operators):
                # Members already here keep their names, rooms and roles: only what comes next
                # obeys (an operator taken off the list stays one until it leaves).
                self.policy, self.limits, self.operators = policy, limits, operators
            case Export(reply):
                reply(self)
            case _:
                pass  # from someone no longer here (a reader finishing as it was evicted)

    def _act(self, member: Member, command: Command) -> None:
        if member.bot and isinstance(command, Say | Emote | Signal | PrivateMessage):
            command = replace(command, tags=(*command.tags, BOT_TAG))  # (see BOT_TAG)
        match command:
            case Say(text, name, notice, tags):
                if (room := self._room_to_speak_in(member, name, notice=notice)) is not None:
                    self.stats.messages += 1
                    nick = _nick(member).display
                    said = Said(
                        room.name.display,
                        nick,
                        text,
                        notice,
                        member.user,
                        _account(member),
                        member.host,
                        tags,
                        self._next_id(),
                    )
                    self._broadcast((room,), said)
            case Signal(tags, name):
                if (room := self._room_to_speak_in(member, name, notice=True)) is not None:
                    nick = _nick(member).display
                    account, host, id_ = _account(member), member.host, self._next_id()
                    signalled = Signalled(
                        room.name.display, nick, tags, member.user, account, host, id_
                    )
                    self._broadcast((room,), signalled)
            case Emote(text, name, tags):
                if (room := self._room_to_speak_in(member, name)) is not None:
                    self.stats.messages += 1
                    nick = _nick(member).display
                    emoted = Emoted(
                        room.name.display,
                        nick,
                        text,
                        member.user,
                        _account(member),
                        member.host,
                        tags,
                        self._next_id(),
                    )
                    self._broadcast((room,), emoted)
            case Rename(nick):
                self._rename(member, nick)
            case PrivateMessage():
                self._private(member, command)
            case JoinRoom(room, key):
                self._join(member, room, key)
            case PartRoom(room, message):
                self._part(member, room, message)
            case SwitchRoom(room):
                self._switch(member, room)
            case ListRooms(names):
                self._tell(member, RoomList(self._summaries(member, names)))
            case Who(room):
                self._who(member, room)
            case SetTopic(topic, room):
                self._set_topic(member, room, topic)
            case ShowTopic(room):
                self._show_topic(member, room)
            case SetAway(message):
                self._set_away(member, message)
            case SetRealname(realname):
                self._set_realname(member, realname)
            case SetInvisible(on):
                member.invisible = on
            case LookUp():
                self._look_up(member, command)
            case ShowHistory(count, room):
                self._show_history(member, room, count)
            case ReadHistory(target, query):
                self._read_history(member, target, query)
            case ShowConversations(start, end, limit):
                self._show_conversations(member, start, end, limit)
            case Redact(target, id_, reason):
                self._redact(member, target, id_, reason)
            case ShowCounts():
                self._tell(member, Counts(len(self._members), len(self._rooms), self._peak))
            case Tell(event):
                self._tell(member, event)
            case Labeled(label, commands):
                # Everything the commands make this member see comes between the two marks,
                # since nobody else's request runs in between: exactly their answer.
                self._tell(member, Answering(label))
                for each in commands:
                    self._act(member, each)
                self._tell(member, Answered(label))
            case ChangeModes(room, changes):
                self._change_modes(member, room, changes)
            case Kick(room, nick, reason):
                self._kick(member, room, nick, reason)
            case BanMember():
                self._ban_member(member, command)
            case Invite(nick, room):
                self._invite(member, nick, room)
            case Kill() | SendWallops() | BanFromServer() | LiftServerBan() | ShowServerBans():
                self._as_server_operator(member, command)
            case RegisterRoom(room, drop):
                self._register_room(member, room, drop=drop)
            case Watch(nicks):
                self._watch(member, nicks)
            case Unwatch(nicks):
                keys = [nick.key for nick in nicks] if nicks else list(member.watching)
                self._watching.remove(member, keys)
            case ShowWatched(presence):
                watched = tuple(member.watching.values())
                shown = self._presence(watched) if presence else WatchList(_displays(watched))
                self._tell(member, shown)
            case SetBot(on):
                member.bot = on
            case SetPrivateHistory(on):
                self._set_private_history(member, on=on)
            case MarkRead(target, time):
                self._mark_read(member, target, time)
            case ShowReadMarker(target):
                marker = self._read_marker(member, target.key)
                self._tell(member, ReadMarker(target.display, marker, asked=True))
            case LogOut():
                self._log_out(member)
            case Quit(message):
                self._tell(member, Goodbye())
                self._remove(member, LeaveReason.QUIT, message)

    # --- registration and nicknames -----------------------------------------------------------

    def _register(
        self, member: Member, nick: Nickname, *, lobby: bool, login: Login | None
    ) -> None:
        self._expire_server_bans()  # before the newcomer is matched against them
        if self.shutting_down:
            self._tell(member, ShuttingDown())
        elif member in self:
            self._tell(member, Refusal(Reason.ALREADY_REGISTERED))
        elif login is not None and (refusal := self._proven(member, login)):
            self._tell(member, refusal)
        elif ban := self._server_ban_on(member, nick):
            member.account = None
            self._turn_away(member, ban)
        elif refusal := self._claim(member, nick):
            if login is not None:
                member.account = None  # logged in only with the nickname it came for
            self._tell(member, refusal)
        else:
            if login is not None:
                self._tell(member, LoggedIn(login.account.display))
            room = self._rooms.get(LOBBY.key)
            if lobby and room is None:
                room = self._rooms[LOBBY.key] = Room(LOBBY, created=self._turn_time())
            self._peak = max(self._peak, len(self._members))
            self.stats.registrations += 1
            counts = len(self._members), len(self._rooms)
            self._tell(member, Registered(nick.display, *counts, member.host))
            self._tell_watchers(nick.key, PresenceIs(online=(_seen(member),)))
            if member.account is not None and member.account.key in self.operators:
                self._make_operator(member, member.account.display)
            if lobby and room is not None:
                self._enter(member, room)
            # Nicknames are logged with repr(): whatever a peer chose, it cannot forge a log line.
            logger.info(
                "%s joined as %r (%d online)", member.peer, nick.display, len(self._members)
            )

    def _rename(self, member: Member, new: Nickname) -> None:
        old = _nick(member)
        self._diverge(member)  # its own rename changes what it knows about itself
        if refusal := self._claim(member, new):
            self._tell(member, refusal)
            return
        rooms = tuple(member.rooms.values())
        for room in rooms:
            room.rename(member, old, new)
        renamed = Renamed(old.display, new.display, member.user, member.host)
        self._broadcast(rooms, renamed, also=member)
        if old.key != new.key:  # (a change of case alone is no coming or going)
            self._tell_watchers(old.key, PresenceIs(offline=(old.display,)))
            self._tell_watchers(new.key, PresenceIs(online=(_seen(member),)))
        logger.info("%s renamed %r to %r", member.peer, old.display, new.display)

    def _claim(self, member: Member, nick: Nickname) -> Refusal | None:
        """Give ``nick`` to ``member`` (releasing the one it had), or say why it cannot have it."""
        if refusal := self.policy.refusal(nick):
            return refusal
        holder = self._members.get(nick.key)
        if holder is not None and holder is not member:
            return Refusal(Reason.NICK_TAKEN, nick.display)
        shape = skeleton(nick.display)
        owner = self._accounts.get(nick.key) or self._account_shapes.get(shape)
        if owner is not None and not _logged_in_to(member, owner):
            if owner.name.key == nick.key:
                return Refusal(Reason.NICK_REGISTERED, nick.display)
            return Refusal(Reason.NICK_LOOKS_REGISTERED, nick.display, owner.name.display)
        holder = self._skeletons.get(shape)
        if holder is not None and holder is not member:
            return Refusal(Reason.NICK_LOOKALIKE, nick.display, _nick(holder).display)
        if member.nick == nick:
            return Refusal(Reason.NICK_UNCHANGED, nick.display)
        if member.nick is not None:
            self._release(member.nick)
        # Same key (a change of case only) or a free one: either way the map stays a bijection.
        self._members[nick.key] = member
        self._skeletons[shape] = member
        member.nick = nick
        return None

    def _release(self, nick: Nickname) -> None:
        del self._members[nick.key]
        del self._skeletons[skeleton(nick.display)]

    def _private(self, member: Member, message: PrivateMessage) -> None:
        target = self._members.get(message.recipient.key)
        if target is None:
            if not message.notice:  # a notice is never answered, not even with an error
                self._tell(member, Refusal(Reason.NO_SUCH_NICK, message.recipient.display))
            return
        if not message.signal:
            self.stats.messages += 1
        text, action, notice, signal = message.text, message.action, message.notice, message.signal
        sender, recipient = _nick(member).display, _nick(target).display
        id_ = self._next_id()
        private = PrivateFrom(
            sender,
            text,
            action,
            notice,
            member.user,
            _account(member),
            member.host,
            signal,
            recipient,
            message.tags,
            id_,
        )
        self._tell(target, private)
        copy = PrivateTo(recipient, text, action, notice, signal, message.tags, id_)
        self._tell(member, copy)
        if self.history is not None and self._keeps_private(member) and self._keeps_private(target):
            # Each end logged in to an account keeps its copy (one, to oneself), unless either
            # end's account keeps none (see SetPrivateHistory): then neither copy is kept.
            for owner, other in dict.fromkeys(((member, target), (target, member))):
                if owner.account is not None:
                    key = conversation_key(owner.account.key, _key(other))
                    self.history.record(key, _nick(other).display, private, self._turn_time())
        if target.away and not notice and not signal:
            self._tell(member, IsAway(_nick(target).display, target.away))

    def _set_away(self, member: Member, message: str) -> None:
        if len(message.encode()) > self.limits.away_bytes:
            limit = str(self.limits.away_bytes)
            self._tell(member, Refusal(Reason.AWAY_TOO_LONG, detail=limit))
            return
        member.away = message
        self._diverge(member)  # its own news: its acknowledgement is personal
        event = AwayChanged(_nick(member).display, message, member.user, member.host)
        self._broadcast(tuple(member.rooms.values()), event, also=member)

    def _set_realname(self, member: Member, realname: str) -> None:
        if not realname or len(realname.encode()) > self.limits.realname_bytes:
            limit = str(self.limits.realname_bytes)
            self._tell(member, Refusal(Reason.REALNAME_INVALID, detail=limit))
            return
        member.realname = realname
        self._diverge(member)  # its own news: its acknowledgement is personal
        event = RealnameChanged(_nick(member).display, realname, member.user, member.host)
        self._broadcast(tuple(member.rooms.values()), event, also=member)

    def _look_up(self, member: Member, query: LookUp) -> None:
        if query.room is not None:
            room = self._rooms.get(query.room.key)
            members = sorted(room.members, key=_key) if room is not None else []
            asked: tuple[str, ...] = (query.room.display,)
        elif query.mask:
            pattern = fold(query.mask)
            matching = (
                m
                for m in self._members.values()
                if fnmatchcase(_key(m), pattern) and _findable(m, member)
            )
            members = sorted(itertools.islice(matching, self.limits.matches), key=_key)
            asked = (query.mask,)
        else:
            found = (self._members.get(nick.key) for nick in query.nicks)
            members = [online for online in found if online is not None]
            asked = tuple(nick.display for nick in query.nicks)
        infos = tuple(_info(found, member) for found in members)
        self._tell(member, Found(query.label, asked, infos))

    # --- watching nicknames (IRC's MONITOR) ------------------------------------------------------

    def _watch(self, member: Member, nicks: tuple[Nickname, ...]) -> None:
        refused = self._watching.add(member, nicks, self.limits.watched)
        # Each nickname once, as typed the first time, whether it was watched already or not.
        watched = {n.key: n for n in reversed(nicks) if n.key in member.watching}
        self._tell(member, self._presence(tuple(reversed(watched.values()))))
        if refused:
            limit = str(self.limits.watched)
            self._tell(member, Refusal(Reason.WATCH_LIST_FULL, ",".join(_displays(refused)), limit))

    def _presence(self, nicks: Sequence[Nickname]) -> PresenceIs:
        """Say which of ``nicks`` are online (as they spell themselves) and which are not."""
        online, offline = [], []
        for nick in nicks:
            holder = self._members.get(nick.key)
            if holder is not None:
                online.append(_seen(holder))
            else:
                offline.append(nick.display)
        return PresenceIs(tuple(online), tuple(offline))

    def _tell_watchers(self, key: str, event: Event) -> None:
        """Tell the members of this process who watch the nickname ``key`` ``event``."""
        for watcher in self._watching.of(key):
            if watcher.local:  # (another process's members are told by their own process)
                self._tell(watcher, event)

    # --- read markers (IRC's draft/read-marker) -------------------------------------------------

    def _mark_read(self, member: Member, target: RoomName | Nickname, time: int) -> None:
        """Move ``member``'s marker of ``target`` forward, and tell whoever shares it."""
        if member.account is None:  # kept on the member, for as long as it is connected
            stored, _ = advance(member.read_marks, target.key, time)
            self._tell(member, ReadMarker(target.display, stored, asked=True))
            return
        account = member.account.key
        stored, moved = self._read_markers.advance(account, target.key, time)
        self._tell(member, ReadMarker(target.display, stored, asked=True))
        if moved:
            # Every other connection of the account on this process (a scan, but only as a
            # marker moves: an index by account would have to follow every login and logout).
            news = ReadMarker(target.display, stored)
            for other in self._members.values():
                if other is not member and other.local and other.account == member.account:
                    self._tell(other, news)

    def _read_marker(self, member: Member, target: str) -> int | None:
        """How far ``member`` has read the target whose key is ``target`` (None: not said)."""
        if member.account is None:
            return member.read_marks.get(target)
        return self._read_markers.get(member.account.key, target)

    def load_read_markers(self, marks: Sequence[ReadMark]) -> None:
        """Start with the read markers ``marks`` (saved ones)."""
        self._read_markers.load(marks)

    def take_unsaved_read_markers(self) -> list[ReadMark]:
        """Return the read markers moved (or forgotten: time None) since the last call."""
        return self._read_markers.take_unsaved()

    # --- accounts -----------------------------------------------------------------------------

    def account(self, name: str) -> Account | None:
        """Find the account called ``name`` (as typed: any case or width), if there is one."""
        parsed = Nickname.parse(name)
        return self._accounts.get(parsed.key) if isinstance(parsed, Nickname) else None

    def account_with_certificate(self, fingerprint: str) -> Account | None:
        """Find the account a TLS client certificate logs in to (SASL EXTERNAL), if any."""
        return next((a for a in self._accounts.values() if fingerprint in a.certificates), None)

    def ticket(self, digest: str) -> Ticket | None:
        """Find the ticket whose token has ``digest``, unless it has expired."""
        ticket = self._tickets.get(digest)
        return ticket if ticket is not None and ticket.expires > self._clock() else None

    def load_accounts(self, accounts: Sequence[Account], tickets: Sequence[Ticket] = ()) -> None:
        """Start with ``accounts`` and ``tickets`` (saved ones: nobody is logged in yet)."""
        for account in accounts:
            self._add_account(account)
        self._tickets.update((ticket.digest, ticket) for ticket in tickets)

    def take_unsaved_tickets(self) -> list[Ticket | str]:
        """Return the tickets kept (a Ticket) or dropped (its digest) since the last call."""
        unsaved, self._unsaved_tickets = self._unsaved_tickets, []
        return unsaved

    def take_unsaved_accounts(self) -> list[Unsaved]:
        """Return the account changes made since the last call, in order, for the store."""
        unsaved, self._unsaved = self._unsaved, []
        return unsaved

    def _add_account(self, account: Account) -> None:
        self._accounts[account.name.key] = account
        self._account_shapes[skeleton(account.name.display)] = account

    def _proven(self, member: Member, login: Login) -> Refusal | None:
        """Log ``member`` in with ``login``, or say why not (its password changed meanwhile)."""
        account = self._accounts.get(login.account.key)
        if account is None:
            return Refusal(Reason.NO_SUCH_ACCOUNT, login.account.display)
        if account.credentials != login.credentials:
            return Refusal(Reason.WRONG_PASSWORD, account.name.display)  # changed since checked
        if login.rehashed is not None:
            # The same password, hashed with today's parameters: kept, nothing to tell anyone.
            self._add_account(replace(account, credentials=login.rehashed))
            self._unsaved.append(Unsaved(self._accounts[account.name.key], None, member))
        member.account = account.name
        return None

    def _log_in(self, member: Member, login: Login) -> None:
        if member.account is not None:
            self._tell(member, Refusal(Reason.ALREADY_LOGGED_IN, member.account.display))
        elif refusal := self._proven(member, login):
            self._tell(member, refusal)
        else:
            self._tell(member, LoggedIn(login.account.display))
            self._account_changed(member)

    def _log_out(self, member: Member) -> None:
        account = member.account
        if account is None:
            self._tell(member, Refusal(Reason.NOT_LOGGED_IN))
            return
        nick = _nick(member)
        if nick.key == account.key or skeleton(nick.display) == skeleton(account.display):
            # Logged out, it would hold a registered name without its password.
            self._tell(member, Refusal(Reason.LOGOUT_USING_NAME, account.display))
            return
        member.account = None
        self._tell(member, LoggedOut(account.display))
        self._account_changed(member)

    def _create_account(
        self, member: Member, name: Nickname | None, credentials: Credentials
    ) -> None:
        if name is None:
            if member.nick is None:
                self._tell(member, Refusal(Reason.NICK_EMPTY))  # nothing to register yet
                return
            name = member.nick
        if member.account is not None:
            self._tell(member, Refusal(Reason.ALREADY_LOGGED_IN, member.account.display))
            return
        if refusal := self._free_to_register(member, name):
            self._tell(member, refusal)
            return
        account = Account(name, credentials, self._turn_time())
        self._add_account(account)
        member.account = name  # logged in at once: the name is protected from now on
        self._unsaved.append(Unsaved(account, Change.CREATED, member))
        self._hold(member)
        self.stats.accounts += 1
        if member in self:
            self._account_changed(member)
        logger.info("%s registered the account %r", member.peer, name.display)

    def _free_to_register(self, member: Member, name: Nickname) -> Refusal | None:
        if refusal := self.policy.refusal(name):
            return refusal
        shape = skeleton(name.display)
        owner = self._accounts.get(name.key) or self._account_shapes.get(shape)
        if owner is not None:
            return Refusal(Reason.ACCOUNT_EXISTS, owner.name.display)
        holder = self._members.get(name.key) or self._skeletons.get(shape)
        if holder is not None and holder is not member:
            return Refusal(Reason.ACCOUNT_NAME_IN_USE, _nick(holder).display)
        return None

    def _change_password(self, member: Member, old: Credentials, new: Credentials) -> None:
        account = self._accounts.get(member.account.key) if member.account else None
        if account is None:
            self._tell(member, Refusal(Reason.NOT_LOGGED_IN))
        elif account.credentials != old:
            self._tell(member, Refusal(Reason.WRONG_PASSWORD, account.name.display))
        else:
            self._add_account(replace(account, credentials=new))
            self._unsaved.append(Unsaved(self._accounts[account.name.key], Change.PASSWORD, member))
            self._hold(member)
            # A new password logs every browser out of the account.
            for ticket in [t for t in self._tickets.values() if t.account == account.name.key]:
                self._drop_ticket(ticket.digest)

    def _keeps_private(self, member: Member) -> bool:
        """Whether private messages to or from ``member`` may be kept (its account's choice)."""
        account = self._accounts.get(member.account.key) if member.account else None
        return account is None or account.private_history

    def _set_private_history(self, member: Member, *, on: bool) -> None:
        account = self._accounts.get(member.account.key) if member.account else None
        if account is None:
            self._tell(member, Refusal(Reason.PRIVATE_HISTORY_NEEDS_LOGIN))
            return
        self._add_account(replace(account, private_history=on))
        change = Change.PRIVATE_HISTORY_ON if on else Change.PRIVATE_HISTORY_OFF
        self._unsaved.append(Unsaved(self._accounts[account.name.key], change, member))
        self._hold(member)

    def _hold(self, member: Member) -> None:
        """Keep everything for ``member`` until its account change is saved (see :class:`Held`)."""
        if member.local and not isinstance(member.outbox, Held):
            member.outbox = Held(member.outbox, HOLD_LIMIT)

    def _saved(self, account: Account, change: Change, member: Member, *, ok: bool) -> None:
        event: Event
        if not ok:
            event = Refusal(Reason.NOT_SAVED, account.name.display)
        elif change is Change.CREATED:
            event = AccountCreated(account.name.display)
        elif change in (Change.PRIVATE_HISTORY_ON, Change.PRIVATE_HISTORY_OFF):
            event = PrivateHistorySet(account.name.display, change is Change.PRIVATE_HISTORY_ON)
        else:
            event = PasswordChanged(account.name.display)
        held = member.outbox
        if not isinstance(held, Held):
            self._tell(member, event)  # another process's member, or nothing held
            return
        # The answer, then what came after it, in order; then the member is as before.
        member.outbox = held.outbox
        self.stats.deliveries += len(held.held) + 1
        if not held.release(Delivery([event], personal=True, time=self._turn_time())):
            member.outbox.evict(LeaveReason.TOO_SLOW)
            if self.remove_too_slow and member in self:
                self._remove(member, LeaveReason.TOO_SLOW)

    def _grant(self, member: Member, login: Login, ticket: Ticket) -> None:
        if refusal := self._proven(member, login):
            self._tell(member, refusal)
            return
        theirs = sorted(
            (t for t in self._tickets.values() if t.account == ticket.account),
            key=lambda t: t.expires,
        )
        for old in theirs[: max(0, len(theirs) - TICKETS_PER_ACCOUNT + 1)]:
            self._drop_ticket(old.digest)  # the browsers not seen the longest
        self._tickets[ticket.digest] = ticket
        self._unsaved_tickets.append(ticket)
        self._tell(member, TicketGranted(login.account.display))

    def _revoke(self, member: Member, digest: str) -> None:
        self._drop_ticket(digest)
        self._tell(member, TicketRevoked())

    def _drop_ticket(self, digest: str) -> None:
        if self._tickets.pop(digest, None) is not None:
            self._unsaved_tickets.append(digest)

    def _account_changed(self, member: Member) -> None:
        """Tell everyone in ``member``'s rooms which account it is logged in to now."""
        self._diverge(member)
        event = AccountChanged(_nick(member).display, _account(member), member.user, member.host)
        self._broadcast(tuple(member.rooms.values()), event)
        if member.account is not None and member.account.key in self.operators:
            self._make_operator(member, member.account.display)
        self._apply_server_bans((member,))

    # --- rooms --------------------------------------------------------------------------------

    def _room_to_speak_in(
        self, member: Member, name: RoomName | None, *, notice: bool = False
    ) -> Room[Member] | None:
        """Find the room ``member`` may speak in as ``name``; None (and it is told why) if none."""
        room = self._joined_room(member, name, refusal=Reason.CANNOT_SEND)
        if isinstance(room, Refusal) and name is not None and room.reason is Reason.CANNOT_SEND:
            outside = self._rooms[name.key]
            if Mode.NO_EXTERNAL not in outside.modes.flags:  # -n: anyone may send to it
                room = outside
        if not isinstance(room, Refusal):
            refusal = moderation.silenced(room, member, room.members.get(member, NO_ROLES))
            if refusal is None:
                return room
            room = refusal
        if not notice:  # a notice is never answered, not even with an error
            self._tell(member, room)
        return None

    def _join(self, member: Member, name: RoomName, key: str = "") -> None:
        room = self._rooms.get(name.key)
        if room is not None and member in room.members:
            self._switch(member, name)  # joining a room you are in makes it your current room
        elif len(member.rooms) >= self.limits.rooms_per_member:
            limit = str(self.limits.rooms_per_member)
            self._tell(member, Refusal(Reason.TOO_MANY_ROOMS_JOINED, name.display, limit))
        elif room is not None:
            if refusal := moderation.admission(room, member, key):
                self._tell(member, refusal)
                return
            member.invited -= {room.name.key}
            self._enter(member, room, self._roles_on_entry(member, room))
        elif refusal := self._may_make(member, name):
            self._tell(member, refusal)
        else:
            room = self._rooms[name.key] = Room(name, created=self._turn_time())
            if name.key != LOBBY.key and not member.operator:
                room.creator = (member, member.group)
                self._made_by[member] += 1
                if member.group:
                    self._made_from[member.group] += 1
            # The first member of a new room runs it (as on every IRC server), but #lobby,
            # where everyone is placed, is run by server operators only.
            first = NO_ROLES if name.key == LOBBY.key else (Role.OPERATOR,)
            self._enter(member, room, self._roles_on_entry(member, room) or first)

    def _may_make(self, member: Member, name: RoomName) -> Refusal | None:
        """Why ``member`` may not make the room ``name``, or None: it may."""
        if name.key == LOBBY.key or member.operator:
            return None
        if len(self._rooms) >= self.limits.rooms:
            return Refusal(Reason.TOO_MANY_ROOMS, name.display, str(self.limits.rooms))
        if member.group and self._made_by[member] >= self.limits.rooms_created_per_member:
            limit = str(self.limits.rooms_created_per_member)
            return Refusal(Reason.ROOMS_CREATED_THROTTLED, name.display, limit)
        if member.group and self._made_from[member.group] >= self.limits.rooms_created_per_address:
            limit = str(self.limits.rooms_created_per_address)
            return Refusal(Reason.ROOMS_CREATED_THROTTLED, name.display, limit)
        return None

    def _roles_on_entry(self, member: Member, room: Room[Member]) -> Roles:
        """Return the roles ``member`` has as it enters ``room`` (a founder's, say)."""
        account = member.account.key if member.account is not None else None
        if account is not None and (account == room.founder or account in room.operators):
            return (Role.OPERATOR,)
        if member.operator and room.name.key == LOBBY.key:
            return (Role.OPERATOR,)
        return NO_ROLES

    def _enter(self, member: Member, room: Room[Member], roles: Roles = NO_ROLES) -> None:
        """Put ``member`` in ``room`` with ``roles`` and make it its current room."""
        nick = _nick(member)
        self._diverge(member)
        # Told before the newcomer is in: it is welcomed instead, and its view starts after this.
        joined = Joined(
            room.name.display,
            nick.display,
            member.away,
            member.user,
            _account(member),
            member.realname,
            member.host,
        )
        recent = self._recent(room, self.limits.history_lines)  # the past up to its arrival
        self._broadcast((room,), joined)
        room.add(member, nick, roles)
        member.rooms[room.name.key] = room
        member.current = room
        entered = RoomEntered(
            room.name.display,
            room.roster(),
            room.topic,
            room.topic_by,
            room.topic_time,
            self._read_marker(member, room.name.key),
        )
        self._personal[member].append(entered)
        if recent:
            self._personal[member].append(Recalled(room.name.display, recent))
        logger.debug("%s (%r) joined %r", member.peer, nick.display, room.name.display)

    def _part(self, member: Member, name: RoomName | None, message: str) -> None:
        room = self._joined_room(member, name)
        if isinstance(room, Refusal):
            self._tell(member, room)
            return
        nick = _nick(member)
        self._diverge(member)
        self._exit(member, room, nick)
        self._personal[member].append(RoomExited(room.name.display, message))
        parted = Parted(room.name.display, nick.display, message, member.user, member.host)
        self._broadcast((room,), parted)
        self._move_on_from(member, room)
        logger.debug("%s (%r) left %r", member.peer, nick.display, room.name.display)

    def _move_on_from(self, member: Member, room: Room[Member]) -> None:
        """Tell ``member``, which left ``room``, its current room now, if that was ``room``."""
        if member.current is room:
            # Plain lines go to the room joined most recently among those left, if any.
            member.current = next(reversed(member.rooms.values()), None)
            current = member.current.name.display if member.current is not None else None
            self._personal[member].append(CurrentRoom(current))

    def _exit(self, member: Member, room: Room[Member], nick: Nickname) -> None:
        room.remove(member, nick)
        del member.rooms[room.name.key]
        if not room.members and not room.kept:
            self._free(room)

    def _free(self, room: Room[Member]) -> None:
        """Forget ``room``: it has no members and is not kept (so it remembers nothing)."""
        del self._rooms[room.name.key]  # a room exists while it has members, or is kept
        self._uncount(room)

    def _uncount(self, room: Room[Member]) -> None:
        """Stop counting ``room`` against its maker's limits (it is freed, or registered)."""
        creator, group = room.creator
        room.creator = (None, "")
        if creator is not None:
            self._made_by[creator] -= 1
            if not self._made_by[creator]:
                del self._made_by[creator]
        if group:
            self._made_from[group] -= 1
            if not self._made_from[group]:
                del self._made_from[group]

    def _recent(self, room: Room[Member], count: int) -> tuple[Entry, ...]:
        if self.history is None:
            return ()
        return self.history.recent(room.name.key, count)

    def _show_history(self, member: Member, name: RoomName | None, count: int) -> None:
        room = self._joined_room(member, name)
        if isinstance(room, Refusal):
            self._tell(member, room)
        else:
            query = HistoryQuery(Direction.LATEST, count, events=True)
            self._read_history(member, room.name, query)

    def _read_history(
        self, member: Member, target: RoomName | Nickname, query: HistoryQuery
    ) -> None:
        place = self._history_of(member, target, query)
        if isinstance(place, Refusal):
            self._tell(member, place)
            return
        key, display = place
        if self.history is None:
            self._tell(member, HistoryRead(display, ()))
            return
        answer, whole = self.history.read(key, query)
        if whole or not member.local:  # (another process's member is answered there)
            self._tell(member, HistoryRead(display, answer))
            return
        # Older entries, on disk, may belong in the answer: the shell reads them, off our task,
        # and answers (see take_lookups). Later entries are not in it: they are live.
        ring = self.history.recent(key, self.history.ring)
        self._lookups.append(Lookup(member, key, display, query, ring, self.last_id))

    def _history_of(
        self, member: Member, target: RoomName | Nickname, query: HistoryQuery
    ) -> tuple[str, str] | Refusal:
        """Return the history key and name of ``target`` as ``member`` may read it, or why not."""
        asked = query.direction.value
        if isinstance(target, RoomName):
            room = member.rooms.get(target.key)
            if room is None:  # (whether or not it exists: nobody reads a room from outside)
                return Refusal(Reason.HISTORY_NOT_YOURS, target.display, asked)
            return room.name.key, room.name.display
        if member.account is None:
            return Refusal(Reason.HISTORY_NEEDS_LOGIN, target.display, asked)
        return conversation_key(member.account.key, target.key), target.display

    def _show_conversations(self, member: Member, start: int, end: int, limit: int) -> None:
        rooms = {key: room.name.display for key, room in member.rooms.items()}
        owner = conversations_of(member.account.key) if member.account is not None else None
        latest = self.history.latest(rooms, owner) if self.history is not None else {}
        low, high = sorted((start, end))
        found = [
            Conversation(rooms.get(key) or _correspondent(key, entry), entry.time)
            for key, entry in latest.items()
            if low < milliseconds(entry) < high
        ]
        found.sort(key=lambda conversation: conversation.time)
        self._tell(member, ConversationsAre(tuple(found[:limit])))

    def _redact(self, member: Member, target: RoomName | Nickname, id_: int, reason: str) -> None:
        """Take back message ``id_`` (see :class:`Redact`), from everyone's view and history."""
        msgid = str(id_)
        if isinstance(target, RoomName):
            room = member.rooms.get(target.key)
            key = room.name.key if room is not None else None
        else:
            room = None
            key = conversation_key(member.account.key, target.key) if member.account else None
        if key is None:
            self._tell(member, Refusal(Reason.REDACT_INVALID_TARGET, target.display, msgid))
            return
        entry = self.history.find(key, id_) if self.history is not None else None
        if entry is None or not isinstance(entry.event, Said | Emoted | Signalled | PrivateFrom):
            self._tell(member, Refusal(Reason.REDACT_UNKNOWN, target.display, msgid))
            return
        runs_it = room is not None and (moderation.is_operator(room, member) or member.operator)
        if not (runs_it or _authored(entry.event, member)):
            self._tell(member, Refusal(Reason.REDACT_FORBIDDEN, target.display, msgid))
            return
        assert self.history is not None  # (it held the entry)
        redacted = Redacted(
            target.display, _nick(member).display, id_, reason, member.user, member.host
        )
        if room is not None:
            self.history.redact(key, id_)
            self._broadcast([room], redacted)
            return
        # A private message: both ends' copies go, and both ends are told (if online).
        for copy in self.history.copies(id_):
            self.history.redact(copy, id_)
        self._tell(member, redacted)
        other = self._members.get(target.key)
        if other is not None and other is not member:
            self._tell(other, redacted)

    def take_lookups(self) -> list[Lookup]:
        """Return the history queries made since the last call that need the database."""
        lookups, self._lookups = self._lookups, []
        return lookups

    def _switch(self, member: Member, name: RoomName) -> None:
        room = self._joined_room(member, name)
        if isinstance(room, Refusal):
            self._tell(member, room)
            return
        member.current = room
        self._tell(member, CurrentRoom(room.name.display))

    def _who(self, member: Member, name: RoomName | None) -> None:
        room = self._existing_room(member, name)
        if isinstance(room, Refusal):
            self._tell(member, room)
        else:
            away = tuple(_nick(other).display for other in room.members if other.away)
            self._tell(member, Roster(room.name.display, room.roster(), away))

    def _set_topic(self, member: Member, name: RoomName | None, topic: str) -> None:
        room = self._joined_room(member, name)
        if isinstance(room, Refusal):
            self._tell(member, room)
        elif (
            Mode.TOPIC_LOCK in room.modes.flags
            and not moderation.is_operator(room, member)
            and not member.operator
        ):
            self._tell(member, Refusal(Reason.NOT_ROOM_OPERATOR, room.name.display))
        elif len(topic.encode()) > self.limits.topic_bytes:
            limit = str(self.limits.topic_bytes)
            self._tell(member, Refusal(Reason.TOPIC_TOO_LONG, room.name.display, limit))
        else:
            room.topic, room.topic_by, room.topic_time = (
                topic,
                _nick(member).display,
                self._turn_time(),
            )
            nick = _nick(member).display
            event = TopicChanged(room.name.display, nick, topic, member.user, member.host)
            self._broadcast((room,), event)
            self._changed(room)

    def _show_topic(self, member: Member, name: RoomName | None) -> None:
        room = self._existing_room(member, name)
        if isinstance(room, Refusal):
            self._tell(member, room)
        else:
            topic = TopicIs(room.name.display, room.topic, room.topic_by, room.topic_time)
            self._tell(member, topic)

    def _summaries(self, member: Member, names: tuple[RoomName, ...]) -> tuple[RoomSummary, ...]:
        if names:
            chosen = (self._rooms.get(name.key) for name in names)
            rooms = [room for room in dict.fromkeys(chosen) if room is not None]
        else:
            rooms = list(self._rooms.values())
        rooms = [room for room in rooms if _visible(room, member)]
        rooms.sort(key=lambda room: (-len(room), room.name.key))
        return tuple(RoomSummary(room.name.display, len(room), room.topic) for room in rooms)

    def _joined_room(
        self, member: Member, name: RoomName | None, refusal: Reason = Reason.NOT_IN_ROOM
    ) -> Room[Member] | Refusal:
        """Find the room of ``member``'s that ``name`` names (None: its current room).

        ``refusal`` says why, when the room exists but the member is not in it.
        """
        if name is None:
            return member.current if member.current is not None else Refusal(Reason.IN_NO_ROOM)
        room = member.rooms.get(name.key)
        if room is not None:
            return room
        if name.key not in self._rooms:
            return Refusal(Reason.NO_SUCH_ROOM, name.display)
        return Refusal(refusal, name.display)

    def _existing_room(self, member: Member, name: RoomName | None) -> Room[Member] | Refusal:
        """Find any room ``name`` names (None: ``member``'s current room)."""
        if name is None:
            return self._joined_room(member, None)
        room = self._rooms.get(name.key)
        return room if room is not None else Refusal(Reason.NO_SUCH_ROOM, name.display)

    # --- moderation: a room's modes, kicks and invitations --------------------------------------

    def _change_modes(
        self, member: Member, name: RoomName | None, changes: tuple[ModeChange, ...]
    ) -> None:
        room = self._existing_room(member, name)
        if isinstance(room, Refusal):
            self._tell(member, room)
            return
        queries = [c for c in changes if c.mode.is_list and not c.argument]
        for query in queries:  # "+b" alone: show the list
            entries = tuple(room.modes.lists[query.mode])
            self._tell(member, ListIs(room.name.display, query.mode, entries))
        changes = tuple(c for c in changes if c not in queries)
        if not changes:
            if not queries:
                key = room.modes.key if member in room.members or member.operator else ""
                letters, limit = room.modes.letters(), room.modes.limit
                self._tell(member, ModesAre(room.name.display, letters, key, limit, room.created))
            return
        if not moderation.is_operator(room, member) and not member.operator:
            self._tell(member, Refusal(Reason.NOT_ROOM_OPERATOR, room.name.display))
            return
        nick = _nick(member).display
        applied: list[ModeChange] = []
        now = self._turn_time()
        for change in changes:
            if change.mode.role is not None:
                outcome = self._change_role(room, change)
            else:
                outcome = moderation.apply(room, change, nick, now)
            if isinstance(outcome, Refusal):
                self._tell(member, outcome)
            elif outcome is not None:
                applied.append(outcome)
        if applied:
            self.stats.room_bans += sum(1 for c in applied if c.mode is Mode.BAN and c.on)
            event = ModesChanged(room.name.display, nick, tuple(applied), member.user, member.host)
            self._broadcast((room,), event)
            self._changed(room)

    def _change_role(self, room: Room[Member], change: ModeChange) -> ModeChange | Refusal | None:
        role = change.mode.role
        assert role is not None
        parsed = Nickname.parse(change.argument)
        target = self._members.get(parsed.key) if isinstance(parsed, Nickname) else None
        if target is None:
            return Refusal(Reason.NO_SUCH_NICK, change.argument)
        target_nick = _nick(target)
        roles = room.members.get(target)
        if roles is None:
            return Refusal(Reason.NOT_IN_THAT_ROOM, target_nick.display, room.name.display)
        if (role in roles) == change.on:
            return None
        if role is Role.OPERATOR and not change.on and moderation.is_founder(room, target):
            return None  # a room's founder always keeps it
        new = ranked([*roles, role]) if change.on else tuple(r for r in roles if r is not role)
        room.set_roles(target, target_nick, new)
        if role is Role.OPERATOR and room.founder and target.account is not None:
            # A registered room remembers its operators by account, for when they come back.
            (room.operators.add if change.on else room.operators.discard)(target.account.key)
        return ModeChange(change.mode, change.on, target_nick.display)

    def _kick(self, member: Member, name: RoomName | None, nick: Nickname, reason: str) -> None:
        room = self._joined_room(member, name)
        if isinstance(room, Refusal):
            self._tell(member, room)
            return
        if not moderation.is_operator(room, member) and not member.operator:
            self._tell(member, Refusal(Reason.NOT_ROOM_OPERATOR, room.name.display))
            return
        target = self._members.get(nick.key)
        if target is None:
            self._tell(member, Refusal(Reason.NO_SUCH_NICK, nick.display))
            return
        target_nick = _nick(target)
        if target not in room.members:
            refusal = Refusal(Reason.NOT_IN_THAT_ROOM, target_nick.display, room.name.display)
            self._tell(member, refusal)
            return
        if moderation.is_founder(room, target) and target is not member:
            self._tell(member, Refusal(Reason.NOT_FOUNDER, room.name.display, target_nick.display))
            return
        reason = reason or _nick(member).display
        kicked = Kicked(
            room.name.display,
            _nick(member).display,
            target_nick.display,
            reason,
            member.user,
            member.host,
        )
        self.stats.kicks += 1
        self._diverge(target)  # it sees its own kick, then no more of the room
        self._broadcast((room,), kicked)
        self._exit(target, room, target_nick)
        self._move_on_from(target, room)
        logger.info(
            "%r kicked %r from %r", _nick(member).display, target_nick.display, room.name.display
        )

    def _ban_member(self, member: Member, ban: BanMember) -> None:
        """Ban by nickname: the mask of the member's cloaked host, then out of the room."""
        room = self._existing_room(member, ban.room)
        if isinstance(room, Refusal):
            self._tell(member, room)
            return
        if not moderation.is_operator(room, member) and not member.operator:
            self._tell(member, Refusal(Reason.NOT_ROOM_OPERATOR, room.name.display))
            return
        named = Nickname.parse(ban.target) if not any(c in ban.target for c in "!@*?:") else None
        online = self._members.get(named.key) if isinstance(named, Nickname) else None
        mask = f"*!*@{online.host}" if online is not None and online.host else ban.target
        mask = masks.MUTE_PREFIX + mask if ban.mute else mask
        self._change_modes(member, room.name, (ModeChange(Mode.BAN, ban.on, mask),))
        out = ban.on and not ban.mute and online is not None and online is not member
        if out and online in room.members and member in room.members:
            self._kick(member, room.name, _nick(online), ban.reason or "banned")

    def _invite(self, member: Member, nick: Nickname, name: RoomName | None) -> None:
        room = self._joined_room(member, name)
        if isinstance(room, Refusal):
            self._tell(member, room)
            return
        if Mode.INVITE_ONLY in room.modes.flags and not moderation.is_operator(room, member):
            self._tell(member, Refusal(Reason.NOT_ROOM_OPERATOR, room.name.display))
            return
        target = self._members.get(nick.key)
        if target is None:
            self._tell(member, Refusal(Reason.NO_SUCH_NICK, nick.display))
            return
        if target in room.members:
            refusal = Refusal(Reason.ALREADY_IN_ROOM, _nick(target).display, room.name.display)
            self._tell(member, refusal)
            return
        target.invited |= {room.name.key}
        invited = Invited(
            room.name.display,
            _nick(member).display,
            _nick(target).display,
            member.user,
            member.host,
            _account(member),
        )
        # The invited member, the inviter, and the room's operators (IRC's invite-notify).
        told = {target: None, member: None}
        told.update((m, None) for m, roles in room.members.items() if Role.OPERATOR in roles)
        for who in told:
            self._tell(who, invited)

    def _register_room(self, member: Member, name: RoomName, *, drop: bool) -> None:
        room = self._joined_room(member, name)
        if isinstance(room, Refusal):
            self._tell(member, room)
            return
        if member.account is None:
            self._tell(member, Refusal(Reason.NOT_LOGGED_IN))
            return
        if drop:
            if not room.founder:
                self._tell(member, Refusal(Reason.ROOM_NOT_REGISTERED, room.name.display))
            elif not moderation.is_founder(room, member) and not member.operator:
                founder = self._account_name(room.founder)
                self._tell(member, Refusal(Reason.NOT_FOUNDER, room.name.display, founder))
            else:
                founder = self._account_name(room.founder)
                room.founder, room.operators, room.kept = "", set(), False
                self._unsaved_rooms[room.name.key] = None
                self._tell(member, RoomRegistered(room.name.display, founder, dropped=True))
            return
        if room.founder:
            founder = self._account_name(room.founder)
            refusal = Refusal(Reason.ROOM_ALREADY_REGISTERED, room.name.display, founder)
            self._tell(member, refusal)
        elif not moderation.is_operator(room, member):
            self._tell(member, Refusal(Reason.NOT_ROOM_OPERATOR, room.name.display))
        else:
            room.founder, room.kept = member.account.key, True
            self._uncount(room)  # a registered room is its founder's, not a limit's
            self._tell(member, RoomRegistered(room.name.display, member.account.display))
            self._changed(room)
            logger.info("%r registered %r", member.account.display, room.name.display)

    def _account_name(self, key: str) -> str:
        account = self._accounts.get(key)
        return account.name.display if account is not None else key

    def _changed(self, room: Room[Member]) -> None:
        """Note that registered ``room``'s settings changed, for the store to save."""
        if room.founder:
            self._unsaved_rooms[room.name.key] = room

    # --- server operators ------------------------------------------------------------------------

    def _make_operator(self, member: Member, name: str) -> None:
        if member.operator:
            return
        member.operator = True
        self._tell(member, OperatorNow(name))
        logger.info("%s (%r) is a server operator (%s)", member.peer, _nick(member).display, name)

    def _as_server_operator(
        self,
        member: Member,
        command: Kill | SendWallops | BanFromServer | LiftServerBan | ShowServerBans,
    ) -> None:
        if not member.operator:
            self._tell(member, Refusal(Reason.NOT_SERVER_OPERATOR))
            return
        nick = _nick(member).display
        match command:
            case Kill(target_nick, reason):
                target = self._members.get(target_nick.key)
                if target is None:
                    self._tell(member, Refusal(Reason.NO_SUCH_NICK, target_nick.display))
                    return
                logger.info("%r killed %r: %r", nick, _nick(target).display, reason)
                self._tell(target, PutOut(LeaveReason.KILLED, nick, reason))
                self._remove(target, LeaveReason.KILLED, f"Killed ({nick} ({reason}))")
            case SendWallops(text):
                wallops = Wallops(nick, text, member.user, member.host)
                for operator in [m for m in self._members.values() if m.operator]:
                    self._tell(operator, wallops)
            case BanFromServer(mask, seconds, reason):
                normalized = server_bans.normalized(mask)
                if normalized is None:
                    self._tell(member, Refusal(Reason.NOT_A_MASK, mask))
                    return
                now = self._turn_time()
                expires = now + seconds if seconds > 0 else 0.0
                ban = ServerBanEntry(normalized, reason or "banned", nick, now, expires)
                self._server_bans.set(ban)
                self._unsaved_server_bans.append(ban)
                others = [m for m in self._members.values() if m is not member]
                removed = self._apply_server_bans(others)
                self._tell(member, ServerBanChanged(ban, removed=removed))
                logger.info("%r banned %r from the server: %r", nick, normalized, ban.reason)
            case LiftServerBan(mask):
                normalized = server_bans.normalized(mask) or mask
                if self._server_bans.lift(normalized) is None:
                    self._tell(member, Refusal(Reason.NO_SUCH_SERVER_BAN, mask))
                    return
                self._unsaved_server_bans.append(normalized)
                self._tell(member, ServerBanChanged(lifted=normalized))
            case ShowServerBans():
                self._expire_server_bans()
                self._tell(member, ServerBans(self._server_bans.entries()))

    def _expire_server_bans(self) -> None:
        if not len(self._server_bans):
            return  # (nearly always: asked at every registration)
        for ban in self._server_bans.expire(self._turn_time()):
            self._unsaved_server_bans.append(ban.mask)

    def _server_ban_on(self, member: Member, nick: Nickname) -> ServerBanEntry | None:
        """Return the server ban that names ``member``, about to be known as ``nick``, if any.

        (The caller drops the expired bans first: once, however many members it asks about.)
        """
        if not len(self._server_bans) or member.operator:
            return None
        return self._server_bans.naming(moderation.identity(member, nick), member.address)

    def _turn_away(self, member: Member, ban: ServerBanEntry) -> None:
        """Refuse ``member``, not registered, for ``ban``; its connection ends."""
        self._tell(member, Refusal(Reason.SERVER_BANNED, detail=ban.reason))
        member.left = LeaveReason.BANNED
        self._departed.append(member)
        self.stats.removals[LeaveReason.BANNED] += 1
        logger.info("%s refused: banned (%r)", member.peer, ban.mask)

    def _apply_server_bans(self, members: Sequence[Member]) -> int:
        """Put out those of ``members`` that a server ban names; return how many."""
        removed = 0
        self._expire_server_bans()
        for member in members:
            if member in self and (ban := self._server_ban_on(member, _nick(member))):
                self._tell(member, PutOut(LeaveReason.BANNED, ban.setter, ban.reason))
                self._remove(member, LeaveReason.BANNED, ban.reason)
                removed += 1
        return removed

    # --- what the store keeps: registered rooms and server bans --------------------------------

    def load_rooms(self, records: Sequence[RoomRecord]) -> None:
        """Start with the registered rooms ``records`` (saved ones: nobody is in them yet)."""
        for record in records:
            room = self._rooms[record.name.key] = Room(record.name, kept=True)
            room.topic = record.topic
            _settle(room, record.settings)

    def take_unsaved_rooms(self) -> list[RoomRecord | str]:
        """Return the registered rooms changed (a record) or dropped (a key) since last call."""
        unsaved: list[RoomRecord | str] = [
            key if room is None else RoomRecord(room.name, room.topic, _settings(room))
            for key, room in self._unsaved_rooms.items()
        ]
        self._unsaved_rooms = {}
        return unsaved

    def load_server_bans(self, bans: Sequence[ServerBanEntry]) -> None:
        """Start with the server bans ``bans`` (saved ones)."""
        self._server_bans.load(bans)

    def take_unsaved_server_bans(self) -> list[ServerBanEntry | str]:
        """Return the server bans set (an entry) or lifted (a mask) since the last call."""
        unsaved, self._unsaved_server_bans = self._unsaved_server_bans, []
        return unsaved

    # --- leaving ------------------------------------------------------------------------------

    def _remove(self, member: Member, reason: LeaveReason, message: str = "") -> None:
        nick = _nick(member)
        self._diverge(member)  # its view of this turn ends here
        rooms = tuple(member.rooms.values())
        for room in rooms:
            self._exit(member, room, nick)
        member.current = None
        self._release(nick)
        member.left = reason
        self.stats.removals[reason] += 1
        self._departed.append(member)
        self._broadcast(rooms, Departed(nick.display, reason, message, member.user, member.host))
        self._watching.forget(member)
        self._tell_watchers(nick.key, PresenceIs(offline=(nick.display,)))
        logger.info("%s (%r) left: %s", member.peer, nick.display, reason.value)

    def _shut_down(self) -> None:
        self.shutting_down = True
        for member in self._members.values():
            self._tell(member, ShuttingDown())
            member.left = LeaveReason.SERVER_SHUTDOWN
            member.rooms.clear()
            member.current = None
            self._departed.append(member)
        self.stats.removals[LeaveReason.SERVER_SHUTDOWN] += len(self._members)
        logger.info("shutting down: %d members notified", len(self._members))
        self._members.clear()
        self._skeletons.clear()
        self._rooms.clear()
        self._watching.clear()

    # --- replicas: the state a late replica starts from -----------------------------------------

    def state(self) -> tuple[HubState, list[Member]]:
        """Return the shared state, and the members it describes, in the same order."""
        members = list(self._members.values())
        position = {member: n for n, member in enumerate(members)}
        return HubState(
            tuple(
                MemberState(
                    _nick(m),
                    m.peer,
                    m.realname,
                    m.user,
                    m.away,
                    tuple(m.rooms),
                    m.current.name.key if m.current is not None else None,
                    m.account.key if m.account is not None else None,
                    m.host,
                    m.address,
                    m.group,
                    m.operator,
                    tuple(sorted(m.invited)),
                    m.invisible,
                    tuple(m.watching.values()),
                    m.bot,
                    tuple(sorted(m.read_marks.items())),
                )
                for m in members
            ),
            tuple(
                RoomState(
                    room.name,
                    room.topic,
                    tuple(position[m] for m in room.members),
                    tuple(room.members.values()),
                    room.kept,
                    _settings(room),
                    position.get(room.creator[0]) if room.creator[0] is not None else None,
                    room.creator[1],
                    room.topic_by,
                    room.topic_time,
                )
                for room in self._rooms.values()
            ),
            self._peak,
            tuple(self._accounts.values()),
            tuple(self._tickets.values()),
            self._server_bans.entries(),
            self._read_markers.marks(),
        ), members

    def reset(self) -> None:
        """Forget every member and room, before :meth:`restore` (a replica that fell behind).

        What the current turn already produced is still delivered. The registered rooms and
        server bans forgotten are noted as dropped and lifted, for the store; those the state
        has are noted again as :meth:`restore` adopts them.
        """
        for member in self._members.values():
            member.rooms, member.current, member.watching = {}, None, {}
        self._watching.clear()
        # What the store keeps goes too, unless the state has it (restore() says so then).
        for room in self._rooms.values():
            if room.founder:
                self._unsaved_rooms[room.name.key] = None
        self._unsaved_server_bans.extend(ban.mask for ban in self._server_bans.entries())
        self._members.clear()
        self._skeletons.clear()
        self._rooms.clear()
        self._accounts.clear()
        self._account_shapes.clear()
        self._tickets.clear()
        self._server_bans = ServerBanList()
        self._made_by.clear()
        self._made_from.clear()

    def restore(self, state: HubState, members: Sequence[Member]) -> None:
        """Start from ``state`` (an empty hub only): ``members[n]`` is ``state.members[n]``."""
        assert not self._members, "only an empty hub starts from a state"
        assert not self._rooms, "only an empty hub starts from a state"
        self._accounts.clear()  # those loaded from this process's database: the state has all
        self._account_shapes.clear()
        self._tickets.clear()
        self.load_accounts(state.accounts, state.tickets)
        self._unsaved.extend(Unsaved(account, None, None) for account in state.accounts)
        self._unsaved_tickets.extend(state.tickets)
        for member, saved in zip(members, state.members, strict=True):
            member.nick, member.away = saved.nick, saved.away
            member.account = self._accounts[saved.account].name if saved.account else None
            member.host, member.address, member.group = saved.host, saved.address, saved.group
            member.operator, member.invited = saved.operator, frozenset(saved.invited)
            member.invisible, member.bot = saved.invisible, saved.bot
            member.read_marks = dict(saved.read_marks)
            self._watching.add(member, saved.watching, len(saved.watching))
            self._members[saved.nick.key] = member
            self._skeletons[skeleton(saved.nick.display)] = member
        for saved_room in state.rooms:
            room = Room[Member](saved_room.name, kept=saved_room.kept)
            self._rooms[saved_room.name.key] = room
            room.topic = saved_room.topic
            room.topic_by, room.topic_time = saved_room.topic_by, saved_room.topic_time
            _settle(room, saved_room.settings)
            self._changed(room)  # a registered room: the store saves it as the state has it
            creator = None if saved_room.creator is None else members[saved_room.creator]
            room.creator = (creator, saved_room.creator_group)
            if creator is not None:
                self._made_by[creator] += 1
            if saved_room.creator_group:
                self._made_from[saved_room.creator_group] += 1
            for n, roles in zip(saved_room.members, saved_room.roles, strict=True):
                room.add(members[n], state.members[n].nick, roles)
        for member, saved in zip(members, state.members, strict=True):
            member.rooms = {key: self._rooms[key] for key in saved.rooms}
            member.current = self._rooms[saved.current] if saved.current is not None else None
        self._peak = state.peak
        self._server_bans.load(state.server_bans)
        self._unsaved_server_bans.extend(state.server_bans)
        # Those loaded from this process's database go, for the store too: the state has all.
        self._read_markers.forget()
        self._read_markers.load(state.read_markers, unsaved=True)

    # --- the turn: who sees what ---------------------------------------------------------------

    def _broadcast(
        self, rooms: Sequence[Room[Member]], event: Event, *, also: Member | None = None
    ) -> None:
        """Append ``event`` to the turn: everyone in ``rooms`` (and ``also``) sees it, once.

        An event of a room's history gets its id here (see the module docstring), unless
        it was made with one: messages are (``replace`` would cost a fifth of a busy turn).
        """
        if isinstance(event, HISTORIC) and not event.id:
            event = replace(event, id=self._next_id())
        self._sequence += 1
        entry = (self._sequence, event)
        for room in rooms:
            if not room.events:
                self._active.append(room)
            room.events.append(entry)
        if self.history is not None and isinstance(event, HISTORIC):
            now = self._turn_time()
            for room in rooms:
                self.history.record(room.name.key, room.name.display, event, now)
        if len(rooms) == 1:  # nearly always: spelled out, as it runs for every personal view
            room = rooms[0]
            key = room.name.key
            for member, events in self._personal.items():
                if member.rooms.get(key) is room or member is also:
                    events.append(event)
            return
        for member, events in self._personal.items():
            if member is also or any(member.rooms.get(room.name.key) is room for room in rooms):
                events.append(event)

    def _tell(self, member: Member, event: Event) -> None:
        """Append ``event`` to ``member``'s view of the turn only."""
        if isinstance(event, Refusal):
            self.stats.refusals[event.reason] += 1
        self._diverge(member)
        self._personal[member].append(event)

    def _diverge(self, member: Member) -> None:
        """From now on this turn, ``member`` gets a personal delivery (built from here on)."""
        if member not in self._personal:
            # Up to now it saw exactly what its rooms saw, since its rooms did not change.
            rooms = [room for room in member.rooms.values() if room.events]
            self._personal[member] = _merge(rooms)

    def _turn_time(self) -> float:
        if self._now is None:
            # Whole milliseconds, as IRC's server-time shows it: a timestamp a client read
            # from a line then names exactly that line's time (CHATHISTORY timestamp=).
            self._now = math.floor(self._clock() * 1000) / 1000
        return self._now

    def _next_id(self) -> int:
        self.last_id += 1
        return self.last_id

    def flush(self) -> None:
        """Deliver what this turn produced: at most one delivery per member, never waiting.

        Members whose outbox refuses are evicted as too slow, after the loop (not while iterating
        the rooms); their departure is news for the others, so deliver again until stable.
        """
        while self._active or self._personal:
            now = self._turn_time()
            active, personal, departed = self._active, self._personal, self._departed
            self._active, self._personal, self._departed = [], {}, []
            too_slow: set[Member] = set()
            merged: dict[frozenset[Room[Member]], Delivery] = {}
            several: set[Member] = set()  # members of more than one room, already served
            offered = 0
            for room in active:
                shared = Delivery([event for _, event in room.events], time=now)
                for member in room.listeners:  # (members connected to other processes: not ours)
                    if member in personal:
                        continue
                    delivery = shared
                    if len(member.rooms) > 1:
                        if member in several:
                            continue
                        several.add(member)
                        delivery = _merged_view(member, merged, now) or shared
                    offered += 1
                    if not member.outbox.offer(delivery):
                        too_slow.add(member)
            for room in active:
                room.events.clear()
            for member, events in personal.items():
                if not events:
                    continue
                delivery = Delivery(events, personal=True, time=now)
                offered += 1
                # (A departing member that is full just misses its last words.)
                if not member.outbox.offer(delivery) and member in self:
                    too_slow.add(member)
            self.stats.deliveries += offered
            for member in departed:
                member.outbox.close()
            # In the hub's order of members, not the order the deliveries happened to be made in.
            for member in [member for member in self._members.values() if member in too_slow]:
                if self.remove_too_slow:
                    self._remove(member, LeaveReason.TOO_SLOW)
                # Stop the member's connection now, even if its writer is blocked in a send.
                # (In a replica, its session then sends the departure through the log.)
                member.outbox.evict(LeaveReason.TOO_SLOW)
        self._now = None  # the next turn has a time of its own


def first_id(now: float) -> int:
    """Return where a fresh hub starts its ids at Unix time ``now``: its microseconds."""
    return int(now * 1_000_000)


def _authored(event: Said | Emoted | Signalled | PrivateFrom, member: Member) -> bool:
    """Say whether ``member`` sent ``event``: by its account, or by nickname if it had none."""
    sender = event.sender if isinstance(event, PrivateFrom) else event.nick
    if event.account:
        return member.account is not None and fold(event.account) == member.account.key
    return fold(sender) == _key(member)


def _correspondent(key: str, entry: Entry) -> str:
    """Return the nickname, as displayed, at the other end of conversation ``key``'s ``entry``."""
    event = entry.event
    assert isinstance(event, PrivateFrom), "a conversation's history holds private messages"
    return event.sender if key.endswith(f" {fold(event.sender)}") else event.recipient


def _nick(member: Member) -> Nickname:
    assert member.nick is not None, "only registered members have nicknames"
    return member.nick


def _key(member: Member) -> str:
    return _nick(member).key


def _account(member: Member) -> str:
    return member.account.display if member.account is not None else ""


def _seen(member: Member) -> Seen:
    return Seen(_nick(member).display, member.user, member.host)


def _displays(nicks: Sequence[Nickname]) -> tuple[str, ...]:
    return tuple(nick.display for nick in nicks)


def _logged_in_to(member: Member, account: Account) -> bool:
    return member.account is not None and member.account.key == account.name.key


def _info(member: Member, asker: Member) -> MemberInfo:
    """Return what ``asker`` may know of ``member``.

    Its secret rooms only if ``asker`` shares them; its address only to a server operator.
    """
    rooms = tuple(
        Membership(room.name.display, room.members[member])
        for room in member.rooms.values()
        if _visible(room, asker)
    )
    return MemberInfo(
        _nick(member).display,
        member.realname,
        member.away,
        rooms,
        member.user,
        _account(member),
        member.host,
        member.operator,
        member.address if asker.operator else "",
        member.bot,
    )


def _findable(member: Member, asker: Member) -> bool:
    """Whether a look-up by mask names ``member`` to ``asker`` (see :class:`SetInvisible`)."""
    if not member.invisible or member is asker or asker.operator:
        return True
    return any(member in room.members for room in asker.rooms.values())


def _visible(room: Room[Member], asker: Member) -> bool:
    """Whether ``asker`` may see that ``room`` exists: it is not secret, or ``asker`` is in it."""
    return Mode.SECRET not in room.modes.flags or asker in room.members or asker.operator


def _merged_view(
    member: Member, merged: dict[frozenset[Room[Member]], Delivery], now: float
) -> Delivery | None:
    """Build (or reuse) the delivery of a member of several rooms; None if only one spoke."""
    rooms = frozenset(room for room in member.rooms.values() if room.events)
    if len(rooms) < 2:
        return None
    delivery = merged.get(rooms)
    if delivery is None:
        delivery = merged[rooms] = Delivery(_merge(list(rooms)), time=now)
    return delivery


def _merge(rooms: list[Room[Member]]) -> list[Event]:
    """Return the events of ``rooms`` this turn, in the global order, each once."""
    if len(rooms) == 1:
        return [event for _, event in rooms[0].events]
    events = []
    last = 0
    for number, event in heapq.merge(*(room.events for room in rooms), key=itemgetter(0)):
        if number != last:  # a rename or a departure is in every room of its member
            events.append(event)
            last = number
    return events


def _settings(room: Room[Member]) -> RoomSettings:
    modes = room.modes
    return RoomSettings(
        "".join(mode.value for mode in Mode if mode in modes.flags),
        modes.key,
        modes.limit,
        tuple((mode.value, tuple(modes.lists[mode])) for mode in LISTS if modes.lists[mode]),
        room.created,
        room.founder,
        tuple(sorted(room.operators)),
    )


def _settle(room: Room[Member], settings: RoomSettings) -> None:
    """Give ``room`` ``settings`` (a saved room's, or another replica's)."""
    flags = {mode for mode in map(mode_of, settings.letters) if mode is not None}
    modes = RoomModes(flags, settings.key, settings.limit)
    for letter, entries in settings.lists:
        mode = mode_of(letter)
        if mode is not None and mode.is_list:
            modes.lists[mode] = list(entries)
    room.modes, room.created = modes, settings.created
    room.founder, room.operators = settings.founder, set(settings.operators)
