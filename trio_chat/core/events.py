"""What members ask of the hub (commands) and what the hub tells them (events).

The hub speaks these values, never bytes: each front end parses its own wire format into
commands and renders events back into it, so the vocabulary is neutral. Nicknames and room
names in events are display strings, ready to show; events that belong to a room say which.
Refusals are typed (:mod:`trio_chat.core.refusals`), so IRC can answer with a numeric where the
plain protocol writes a sentence.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from trio_chat.core.modes import ListEntry, Mode, ModeChange
from trio_chat.core.refusals import Refusal
from trio_chat.core.roles import NO_ROLES, Roles
from trio_chat.core.text import Nickname, RoomName

# A message's client-only tags (IRC's ``+typing``, ``+draft/reply``): (key, value) pairs, in the
# order they were sent, relayed as they are to those who asked for tags (message-tags).
ClientTags = tuple[tuple[str, str], ...]


class LeaveReason(enum.Enum):
    """Why a member left the server; the value is shown to the others."""

    QUIT = "quit"
    CONNECTION_LOST = "connection lost"
    TOO_SLOW = "too slow"
    TIMED_OUT = "timed out"
    SERVER_SHUTDOWN = "server shutdown"
    EXCESS_FLOOD = "excess flood"
    PING_TIMEOUT = "ping timeout"
    KILLED = "killed"  # by a server operator (KILL)
    BANNED = "banned"  # from the server (a server ban that names it)


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One member as a room's roster shows it: its nickname, and its roles in that room."""

    nick: str
    roles: Roles = NO_ROLES  # highest first


@dataclass(frozen=True, slots=True)
class Membership:
    """A room a member is in, and its roles there (what IRC's WHOIS shows as ``@#rust``)."""

    room: str
    roles: Roles = NO_ROLES


# --- events about you: always in a delivery of your own ----------------------------------------


@dataclass(frozen=True, slots=True)
class Registered:
    """First event of every session: the hub accepted your nickname.

    ``members`` and ``rooms`` count what the server holds now, you included (IRC's LUSERS).
    """

    nick: str
    members: int
    rooms: int
    host: str = ""  # its cloaked host, as others see it in masks


@dataclass(frozen=True, slots=True)
class RoomEntered:
    """First event of a room membership: you are in, this is who is here (you too), the topic."""

    room: str
    roster: tuple[RosterEntry, ...]  # sorted by normalized nickname
    topic: str  # "" when none is set
    topic_by: str = ""  # who set it (IRC's 333)
    topic_time: float = 0.0  # and when (Unix time)
    # How far you have read it (ms since the epoch, see core/read_markers.py); None: not said.
    read_marker: int | None = None


@dataclass(frozen=True, slots=True)
class RoomExited:
    """Last event of a room membership: you left it (``message``: what you said on the way)."""

    room: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class LoggedIn:
    """You are logged in to ``account``: its name is yours to use, on every front end."""

    account: str


@dataclass(frozen=True, slots=True)
class LoggedOut:
    """You are no longer logged in to ``account``."""

    account: str


@dataclass(frozen=True, slots=True)
class AccountCreated:
    """``account`` is registered, saved, and you are logged in to it."""

    account: str


@dataclass(frozen=True, slots=True)
class PasswordChanged:
    """The password of ``account`` is the new one (saved)."""

    account: str


@dataclass(frozen=True, slots=True)
class PrivateHistorySet:
    """``account``'s private messages are kept from now on (``on``), or not at all (saved)."""

    account: str
    on: bool


@dataclass(frozen=True, slots=True)
class TicketGranted:
    """A ticket for ``account`` is kept: a browser may come back with it (see TicketIssued)."""

    account: str


@dataclass(frozen=True, slots=True)
class TicketRevoked:
    """The ticket is forgotten: the browser that had it is logged out."""


@dataclass(frozen=True, slots=True)
class TicketIssued:
    """The shell's own news for the browser: its ticket's token (for a cookie), for ``account``."""

    account: str
    token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class TicketIs:
    """Who the browser's ticket logs in as (""): nobody, or an expired ticket)."""

    account: str


@dataclass(frozen=True, slots=True)
class SaslChallenge:
    """The next message of a SASL exchange, for the client (IRC's ``AUTHENTICATE``)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class SaslSucceeded:
    """A SASL exchange proved the client is ``account`` (IRC's 900 and 903)."""

    account: str


@dataclass(frozen=True, slots=True)
class SaslFailed:
    """A SASL exchange proved nothing (IRC's 904).

    ``aborted``: the client gave up (906); ``already``: it is logged in already (907).
    """

    aborted: bool = False
    already: bool = False


@dataclass(frozen=True, slots=True)
class CurrentRoom:
    """Plain lines now go to ``room`` (None: to no room, until you join or switch)."""

    room: str | None


# --- events of a room ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Joined:
    """Someone else joined ``room`` (``away``: its away message, if it is away)."""

    room: str
    nick: str
    away: str = ""
    user: str = ""  # the member's user name, for an IRC mask ("": none given, the nickname)
    account: str = ""  # the account it is logged in to ("": none)
    realname: str = ""  # as it gave it (IRC's extended-join shows it)
    host: str = ""  # its cloaked host, for an IRC mask ("": the server's name)
    id: int = field(default=0, compare=False)  # its place in the one order (0: none yet)


@dataclass(frozen=True, slots=True)
class Parted:
    """Someone else left ``room`` but is still online."""

    room: str
    nick: str
    message: str = ""
    user: str = ""
    host: str = ""
    id: int = field(default=0, compare=False)  # its place in the one order (0: none yet)


@dataclass(frozen=True, slots=True)
class Said:
    """A chat message, delivered to everyone in the room including its sender.

    A ``notice`` is a message that must never be answered automatically (IRC's NOTICE).
    """

    room: str
    nick: str
    text: str
    notice: bool = False
    user: str = ""
    account: str = ""  # the sender's account ("": none), for IRC's account-tag
    host: str = ""
    tags: ClientTags = ()  # client-only tags (IRC's +typing, +draft/reply), as sent
    id: int = field(default=0, compare=False)  # its place in the one order (0: none yet)


@dataclass(frozen=True, slots=True)
class Emoted:
    """An action (``/me waves``)."""

    room: str
    nick: str
    text: str
    user: str = ""
    account: str = ""
    host: str = ""
    tags: ClientTags = ()  # client-only tags (IRC's +typing, +draft/reply), as sent
    id: int = field(default=0, compare=False)  # its place in the one order (0: none yet)


@dataclass(frozen=True, slots=True)
class Signalled:
    """Client-only tags with no text (IRC's TAGMSG: ``+typing``, ``+draft/react``)."""

    room: str
    nick: str
    tags: ClientTags
    user: str = ""
    account: str = ""
    host: str = ""
    id: int = field(default=0, compare=False)  # its place in the one order (0: none yet)


@dataclass(frozen=True, slots=True)
class TopicChanged:
    """``nick`` set the topic of ``room`` ("" clears it)."""

    room: str
    nick: str
    topic: str
    user: str = ""
    host: str = ""
    id: int = field(default=0, compare=False)  # its place in the one order (0: none yet)


@dataclass(frozen=True, slots=True)
class ModesChanged:
    """``nick`` changed ``room``'s modes (roles included): ``changes``, as they were applied."""

    room: str
    nick: str
    changes: tuple[ModeChange, ...]
    user: str = ""
    host: str = ""
    id: int = field(default=0, compare=False)  # its place in the one order (0: none yet)


@dataclass(frozen=True, slots=True)
class Kicked:
    """``nick`` (an operator) put ``target`` out of ``room``, for ``reason``."""

    room: str
    nick: str
    target: str
    reason: str = ""
    user: str = ""
    host: str = ""
    id: int = field(default=0, compare=False)  # its place in the one order (0: none yet)


@dataclass(frozen=True, slots=True)
class Redacted:
    """``nick`` took back the message ``message`` (its id) sent to ``target``, for ``reason``.

    ``target``: the room, or the nickname the private message was sent to. The message is
    gone from history too (IRC's draft/message-redaction).
    """

    target: str
    nick: str
    message: int
    reason: str = ""
    user: str = ""
    host: str = ""


# --- events about a member, seen in every room it shares with you ------------------------------


@dataclass(frozen=True, slots=True)
class Renamed:
    """A member changed nickname (you see your own rename even in no room)."""

    old: str
    new: str
    user: str = ""
    host: str = ""
    id: int = field(default=0, compare=False)  # its place in the one order (0: none yet)


@dataclass(frozen=True, slots=True)
class Departed:
    """A member left the server (``message``: what it said as it quit, if anything)."""

    nick: str
    reason: LeaveReason
    message: str = ""
    user: str = ""
    host: str = ""
    id: int = field(default=0, compare=False)  # its place in the one order (0: none yet)


@dataclass(frozen=True, slots=True)
class AccountChanged:
    """A member logged in to ``account``, or out (""): IRC's account-notify."""

    nick: str
    account: str
    user: str = ""
    host: str = ""


@dataclass(frozen=True, slots=True)
class AwayChanged:
    """A member is now away, with ``message``, or back ("")."""

    nick: str
    message: str
    user: str = ""
    host: str = ""


@dataclass(frozen=True, slots=True)
class RealnameChanged:
    """A member gave itself another real name (IRC's SETNAME)."""

    nick: str
    realname: str
    user: str = ""
    host: str = ""


# --- private messages and replies to your commands --------------------------------------------


@dataclass(frozen=True, slots=True)
class PrivateFrom:
    """A private message to you (``action``: ``/me``; ``notice``: see :class:`Said`)."""

    sender: str
    text: str
    action: bool = False
    notice: bool = False
    user: str = ""
    account: str = ""  # the sender's account ("": none)
    host: str = ""
    signal: bool = False  # tags only, no text (IRC's TAGMSG to a nickname)
    # To whom (for its history, read back by either end; "": the member it is delivered to).
    recipient: str = field(default="", compare=False)
    tags: ClientTags = ()  # client-only tags (IRC's +typing, +draft/reply), as sent
    id: int = field(default=0, compare=False)  # its place in the one order (0: none yet)


@dataclass(frozen=True, slots=True)
class PrivateTo:
    """Your copy of a private message you sent."""

    recipient: str
    text: str
    action: bool = False
    notice: bool = False
    signal: bool = False
    tags: ClientTags = ()  # client-only tags (IRC's +typing, +draft/reply), as sent
    id: int = field(default=0, compare=False)  # its place in the one order (0: none yet)


@dataclass(frozen=True, slots=True)
class Invited:
    """``nick`` invited ``target`` to ``room``: told to both, and to the room's operators."""

    room: str
    nick: str
    target: str
    user: str = ""
    host: str = ""
    account: str = ""  # the inviter's ("": none), for IRC's account-tag


@dataclass(frozen=True, slots=True)
class ModesAre:
    """``room``'s modes: ``letters`` on, its ``key`` (to members only) and member ``limit``."""

    room: str
    letters: str
    key: str = ""
    limit: int = 0
    created: float = 0.0  # when the room was made (Unix time)


@dataclass(frozen=True, slots=True)
class ListIs:
    """The masks on ``room``'s ``mode`` list (bans, exceptions or invitations)."""

    room: str
    mode: Mode
    entries: tuple[ListEntry, ...]


@dataclass(frozen=True, slots=True)
class OperatorNow:
    """You are a server operator now (by an ``OPER`` login, or an account named as one)."""

    name: str


@dataclass(frozen=True, slots=True)
class Wallops:
    """A server operator's word to every server operator (IRC's WALLOPS)."""

    nick: str
    text: str
    user: str = ""
    host: str = ""


@dataclass(frozen=True, slots=True)
class PutOut:
    """You are put off the server (``reason`` KILLED or BANNED), by ``by``, saying ``message``."""

    reason: LeaveReason
    by: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class ServerBanEntry:
    """A ban from the whole server: a mask, an account (``a:name``) or a network (CIDR)."""

    mask: str
    reason: str
    setter: str
    time: float  # when it was set (Unix time)
    expires: float = 0.0  # Unix time (0: never)


@dataclass(frozen=True, slots=True)
class ServerBanChanged:
    """A server ban was set (``entry``) or lifted (``lifted``, its mask): told to its setter."""

    entry: ServerBanEntry | None = None
    lifted: str = ""
    removed: int = 0  # members already on that it put out


@dataclass(frozen=True, slots=True)
class ServerBans:
    """Every server ban in force (IRC's STATS K)."""

    entries: tuple[ServerBanEntry, ...]


@dataclass(frozen=True, slots=True)
class RoomRegistered:
    """``room`` is registered now, ``founder`` its founder (``dropped``: no longer registered)."""

    room: str
    founder: str
    dropped: bool = False


@dataclass(frozen=True, slots=True)
class IsAway:
    """Who you just wrote to privately is away, and says why."""

    nick: str
    message: str


@dataclass(frozen=True, slots=True)
class Roster:
    """Who is in ``room``, sorted by normalized nickname; ``away``: the nicknames of those away."""

    room: str
    roster: tuple[RosterEntry, ...]
    away: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """What anyone may know of a member online."""

    nick: str
    realname: str  # as the member gave it (IRC's USER), or ""
    away: str  # the away message, or ""
    rooms: tuple[Membership, ...]  # in the order joined (secret rooms: only to their members)
    user: str = ""
    account: str = ""  # the account it is logged in to ("": none)
    host: str = ""  # its cloaked host
    operator: bool = False  # a server operator
    address: str = ""  # where it connects from: told to server operators only ("" to others)
    bot: bool = False  # it says it is a bot (IRC's user mode +B)


@dataclass(frozen=True, slots=True)
class Seen:
    """A member online, as someone watching its nickname is told of it."""

    nick: str
    user: str = ""
    host: str = ""


@dataclass(frozen=True, slots=True)
class PresenceIs:
    """Of the nicknames you watch, these are ``online`` now, these ``offline`` (IRC's MONITOR).

    Told when you start watching them or ask, and whenever one comes or goes (a rename is
    one going and one coming).
    """

    online: tuple[Seen, ...] = ()
    offline: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WatchList:
    """The nicknames you watch, as you typed them, in the order you added them."""

    nicks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReadMarker:
    """How far you have read ``target`` (a room or a nickname), on whichever connection.

    ``marker``: milliseconds since the Unix epoch (None: never said). ``asked``: the answer
    to this connection's own :class:`MarkRead` or :class:`ShowReadMarker`; otherwise another
    connection of your account moved it.
    """

    target: str
    marker: int | None
    asked: bool = False


@dataclass(frozen=True, slots=True)
class Found:
    """The answer to :class:`LookUp`: of the nicknames ``asked``, those online."""

    label: str
    asked: tuple[str, ...]
    members: tuple[MemberInfo, ...]


@dataclass(frozen=True, slots=True)
class Counts:
    """How many members are online (``peak``: the most there ever were), and rooms exist."""

    members: int
    rooms: int
    peak: int


@dataclass(frozen=True, slots=True)
class RoomSummary:
    """One line of the room list."""

    room: str
    members: int
    topic: str


@dataclass(frozen=True, slots=True)
class RoomList:
    """Every room, largest first."""

    rooms: tuple[RoomSummary, ...]


@dataclass(frozen=True, slots=True)
class TopicIs:
    """The topic of ``room``, as asked ("" when none is set), who set it and when."""

    room: str
    topic: str
    topic_by: str = ""
    topic_time: float = 0.0


@dataclass(frozen=True, slots=True)
class Entry:
    """One event of a room's past (see :mod:`trio_chat.core.history`)."""

    id: int  # unique and increasing within its room
    time: float  # when the hub recorded it (Unix time)
    event: Historic


@dataclass(frozen=True, slots=True)
class Recalled:
    """What ``room`` said before: after its welcome (``RoomEntered``), or asked for.

    Entries are oldest first; live events of the room follow them without a gap.
    """

    room: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class HistoryRead:
    """What :class:`ReadHistory` asked of ``target``'s history (a room, or a nickname).

    Entries are oldest first, whichever way the query went.
    """

    target: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class Conversation:
    """A room or a correspondent with history, and when its latest message was sent."""

    target: str
    time: float


@dataclass(frozen=True, slots=True)
class ConversationsAre:
    """The answer to :class:`ShowConversations`: the earliest latest message first."""

    conversations: tuple[Conversation, ...]


@dataclass(frozen=True, slots=True)
class Goodbye:
    """Last event to a member who quit."""


@dataclass(frozen=True, slots=True)
class ShuttingDown:
    """The server is stopping; last event to every member (and to anyone trying to join)."""


class Service(enum.Enum):
    """What changed in the service behind the rooms (processes sharing them through Redis)."""

    UNAVAILABLE = "unavailable"  # Redis cannot be reached: messages are refused until it is back
    AVAILABLE = "available"  # it is back, and nothing was lost
    MISSED = "missed"  # it is back, and some of what was said meanwhile is lost


@dataclass(frozen=True, slots=True)
class ServiceChanged:
    """Told to every member of a process when the shared service goes away or comes back."""

    status: Service


class Reply:
    """Base of a front end's own answers (its help text, IRC's PONG): see :class:`Tell`.

    Only the front end that made one renders it; the hub merely hands it back in order.
    Subclasses are frozen, slotted dataclasses like every other event.
    """

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Answering(Reply):
    """What follows, up to :class:`Answered`, answers the command labelled ``label``.

    (IRC's labeled-response: only the front end that labelled a command renders these.)
    """

    label: str


@dataclass(frozen=True, slots=True)
class Answered(Reply):
    """The answer to the command labelled ``label`` is complete."""

    label: str


# What a room's history keeps: everything said and done in it.
# Each has an id from the one sequence of the hub's events (IRC's msgid), the same on every
# process sharing the rooms. (Private messages are kept only between logged-in members; a
# TAGMSG only with a tag that asks to be kept, see history.PERSISTENT_TAGS.)
Historic = (
    Said
    | Emoted
    | Signalled
    | Joined
    | Parted
    | TopicChanged
    | Renamed
    | Departed
    | ModesChanged
    | Kicked
    | PrivateFrom
)
HISTORIC = (
    Said,
    Emoted,
    Signalled,
    Joined,
    Parted,
    TopicChanged,
    Renamed,
    Departed,
    ModesChanged,
    Kicked,
    PrivateFrom,
)

Event = (
    Registered
    | RoomEntered
    | RoomExited
    | CurrentRoom
    | Joined
    | Parted
    | Said
    | Emoted
    | Signalled
    | TopicChanged
    | ModesChanged
    | Kicked
    | Redacted
    | Renamed
    | Departed
    | AwayChanged
    | AccountChanged
    | RealnameChanged
    | LoggedIn
    | LoggedOut
    | AccountCreated
    | PasswordChanged
    | PrivateHistorySet
    | TicketGranted
    | TicketRevoked
    | TicketIssued
    | TicketIs
    | SaslChallenge
    | SaslSucceeded
    | SaslFailed
    | PrivateFrom
    | PrivateTo
    | IsAway
    | Invited
    | ModesAre
    | ListIs
    | OperatorNow
    | Wallops
    | PutOut
    | ServerBanChanged
    | ServerBans
    | RoomRegistered
    | Roster
    | Found
    | PresenceIs
    | WatchList
    | ReadMarker
    | Counts
    | RoomList
    | TopicIs
    | Recalled
    | HistoryRead
    | ConversationsAre
    | Goodbye
    | ShuttingDown
    | ServiceChanged
    | Refusal
    | Reply
)

# --- commands: a member to the hub ------------------------------------------------------------
# ``room=None`` means the member's current room, where the plain protocol's lines go.


@dataclass(frozen=True, slots=True)
class Say:
    """Send ``text`` to a room (a ``notice`` never gets an error back, see :class:`Said`)."""

    text: str
    room: RoomName | None = None
    notice: bool = False
    tags: ClientTags = ()  # client-only tags, relayed as they are


@dataclass(frozen=True, slots=True)
class Emote:
    """Describe an action to a room."""

    text: str
    room: RoomName | None = None
    tags: ClientTags = ()


@dataclass(frozen=True, slots=True)
class Signal:
    """Send client-only ``tags`` with no text to a room (IRC's TAGMSG)."""

    tags: ClientTags
    room: RoomName | None = None


@dataclass(frozen=True, slots=True)
class Rename:
    """Change my nickname."""

    nick: Nickname


@dataclass(frozen=True, slots=True)
class PrivateMessage:
    """Send ``text`` to one member only."""

    recipient: Nickname
    text: str
    action: bool = False
    notice: bool = False
    tags: ClientTags = ()
    signal: bool = False  # tags only, no text (IRC's TAGMSG to a nickname)


@dataclass(frozen=True, slots=True)
class JoinRoom:
    """Join ``room`` (creating it if nobody is there) and make it my current room.

    ``key``: the room's key, if it has one (``+k``).
    """

    room: RoomName
    key: str = ""


@dataclass(frozen=True, slots=True)
class PartRoom:
    """Leave a room, staying online."""

    room: RoomName | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class SwitchRoom:
    """Make ``room``, which I am in, my current room."""

    room: RoomName


@dataclass(frozen=True, slots=True)
class ListRooms:
    """Ask which rooms exist (only these, if any are named)."""

    rooms: tuple[RoomName, ...] = ()


@dataclass(frozen=True, slots=True)
class Who:
    """Ask who is in a room."""

    room: RoomName | None = None


@dataclass(frozen=True, slots=True)
class SetTopic:
    """Set the topic of a room I am in ("" clears it)."""

    topic: str
    room: RoomName | None = None


@dataclass(frozen=True, slots=True)
class ShowTopic:
    """Ask for the topic of a room."""

    room: RoomName | None = None


@dataclass(frozen=True, slots=True)
class SetInvisible:
    """Be invisible (``on``): a look-up by mask names me only to those who share a room with me.

    (IRC's user mode ``+i``: a nickname asked for is found all the same.)
    """

    on: bool


@dataclass(frozen=True, slots=True)
class SetRealname:
    """Be known by another real name (what IRC's USER gave, and WHOIS shows)."""

    realname: str


@dataclass(frozen=True, slots=True)
class SetAway:
    """Say I am away, with ``message`` ("": I am back)."""

    message: str


@dataclass(frozen=True, slots=True)
class LookUp:
    """Ask what is known of some members: of ``nicks``, of ``room``, or matching ``mask``.

    Those of ``nicks`` who are online; or everyone in ``room``; or everyone whose nickname
    matches ``mask`` (``*`` any characters, ``?`` one; case-insensitive), up to a limit.
    ``label`` is the asker's own, handed back with the answer: a front end answers several
    commands with one look-up (IRC's WHOIS, WHO, NAMES, ISON, USERHOST) and must know which
    one it was.
    """

    nicks: tuple[Nickname, ...] = ()
    label: str = ""
    room: RoomName | None = None
    mask: str = ""


@dataclass(frozen=True, slots=True)
class ShowHistory:
    """Show the last ``count`` entries of ``room``'s history (the answer: :class:`HistoryRead`)."""

    count: int
    room: RoomName | None = None


class Direction(enum.Enum):
    """Which way a :class:`HistoryQuery` reads from its mark (IRC's CHATHISTORY subcommands)."""

    LATEST = "LATEST"  # the newest entries (after the mark, if there is one)
    BEFORE = "BEFORE"  # the entries just before the mark
    AFTER = "AFTER"  # the entries just after the mark
    AROUND = "AROUND"  # half before the mark, the rest from it on
    BETWEEN = "BETWEEN"  # between two marks, from the first toward the second


@dataclass(frozen=True, slots=True)
class AtId:
    """A place in history: where the entry with this id is (IRC's ``msgid=``)."""

    id: int


@dataclass(frozen=True, slots=True)
class AtTime:
    """A place in history: this time, in milliseconds since the Unix epoch (``timestamp=``)."""

    ms: int


Mark = AtId | AtTime


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """Which entries of one conversation's history to read: up to ``limit``, from ``mark``.

    Marks are exclusive, except AROUND's, whose entry is in the answer. ``mark`` is None only
    for LATEST with no lower bound; ``until`` is BETWEEN's second mark. Without ``events``,
    only messages count (IRC without ``draft/event-playback``): joins, parts, topics, modes
    and TAGMSGs are left out before the limit applies.
    """

    direction: Direction
    limit: int
    mark: Mark | None = None
    until: Mark | None = None
    events: bool = False


@dataclass(frozen=True, slots=True)
class ReadHistory:
    """Read ``target``'s history: a room I am in, or my private messages with a nickname.

    Private messages are kept for accounts: reading them needs a login. The answer is a
    :class:`HistoryRead`, read from memory, or from the database beyond it.
    """

    target: RoomName | Nickname
    query: HistoryQuery


@dataclass(frozen=True, slots=True)
class Redact:
    """Take back message ``id``, sent to ``target`` (a room, or a nickname), for ``reason``.

    One's own message (by account, or by nickname if it was sent without one), or anyone's
    in a room one operates; only while the room's memory still holds it.
    """

    target: RoomName | Nickname
    id: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ShowConversations:
    """List my rooms and correspondents whose latest message is between two times (exclusive).

    Times in milliseconds since the Unix epoch, either order; at most ``limit``, the earliest
    latest message first (IRC's ``CHATHISTORY TARGETS``).
    """

    start_ms: int
    end_ms: int
    limit: int


@dataclass(frozen=True, slots=True)
class ShowCounts:
    """Ask how many members and rooms there are."""


@dataclass(frozen=True, slots=True)
class Tell:
    """Deliver ``event`` to me, in order with everything else the hub sends me.

    A front end answers some commands itself (help, usage errors, IRC's PING); routing the
    answer through the hub keeps the hub the only producer of each mailbox, so a reply never
    overtakes the effects of what its member sent before it.
    """

    event: Event


@dataclass(frozen=True, slots=True)
class ChangeModes:
    """Change ``room``'s modes (roles and lists included); no ``changes``: show them.

    A change of a list mode with no argument (``+b``) shows that list instead.
    """

    room: RoomName | None
    changes: tuple[ModeChange, ...] = ()


@dataclass(frozen=True, slots=True)
class Kick:
    """Put ``nick`` out of ``room`` (operators only), saying ``reason``."""

    room: RoomName | None
    nick: Nickname
    reason: str = ""


@dataclass(frozen=True, slots=True)
class BanMember:
    """Ban (``mute``: silence) ``target`` in ``room``, or (``on`` False) lift that ban.

    ``target`` is a mask, or the nickname of someone online, which stands for the mask of its
    cloaked host (``*!*@host``), so that the ban holds across nickname changes; a member it
    bans is put out of the room too, for ``reason``. For front ends that know no hosts (the
    plain protocol, the page); IRC clients send ``MODE +b`` with the mask they chose.
    """

    room: RoomName | None
    target: str
    mute: bool = False
    on: bool = True
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Invite:
    """Invite ``nick`` to ``room``, which I am in (an operator, if the room is invite-only).

    ``room`` None: my current room (the plain protocol's ``/invite bob``).
    """

    nick: Nickname
    room: RoomName | None


@dataclass(frozen=True, slots=True)
class Kill:
    """Put ``nick`` off the server (server operators only), saying ``reason``."""

    nick: Nickname
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SendWallops:
    """Tell every server operator ``text`` (server operators only)."""

    text: str


@dataclass(frozen=True, slots=True)
class BanFromServer:
    """Ban ``mask`` (``nick!user@host``, ``a:account`` or a CIDR network) from the server.

    For ``seconds`` (0: until lifted), saying ``reason``; server operators only. Members
    already on that it names are put out at once.
    """

    mask: str
    seconds: int = 0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class LiftServerBan:
    """Lift the server ban on ``mask`` (server operators only)."""

    mask: str


@dataclass(frozen=True, slots=True)
class ShowServerBans:
    """List the server bans in force (server operators only)."""


@dataclass(frozen=True, slots=True)
class RegisterRoom:
    """Register ``room``, which I run, to my account (``drop``: unregister it).

    A registered room keeps its settings and outlives being empty, and I am its founder; only
    its founder, or a server operator, drops it.
    """

    room: RoomName
    drop: bool = False


@dataclass(frozen=True, slots=True)
class LogOut:
    """Stop being logged in to my account (refused while I use its name)."""


@dataclass(frozen=True, slots=True)
class Watch:
    """Watch ``nicks``: be told whether they are online now, and whenever that changes."""

    nicks: tuple[Nickname, ...]


@dataclass(frozen=True, slots=True)
class Unwatch:
    """Stop watching ``nicks`` (none named: every nickname watched)."""

    nicks: tuple[Nickname, ...] = ()


@dataclass(frozen=True, slots=True)
class ShowWatched:
    """Ask which nicknames I watch (``presence``: and which of them are online)."""

    presence: bool = False


@dataclass(frozen=True, slots=True)
class SetBot:
    """Say I am a bot (``on``), or no longer one: look-ups say so (IRC's user mode +B)."""

    on: bool


@dataclass(frozen=True, slots=True)
class SetPrivateHistory:
    """Keep my account's private messages (``on``, the default), or keep none from now on.

    Off, neither end keeps a copy of a message to or from me; what was kept before stays.
    """

    on: bool


@dataclass(frozen=True, slots=True)
class MarkRead:
    """I have read ``conversation`` (a room, or one with a nickname) up to ``time``.

    ``time``: milliseconds since the Unix epoch. Markers only move forward.
    """

    conversation: RoomName | Nickname
    time: int


@dataclass(frozen=True, slots=True)
class ShowReadMarker:
    """Ask how far I have read ``conversation``."""

    conversation: RoomName | Nickname


@dataclass(frozen=True, slots=True)
class Labeled:
    """Do ``commands``, in order, and mark their answer with ``label`` (see :class:`Answering`).

    An IRC client's labelled line may ask for several things (``JOIN #a,#b``): one label.
    """

    label: str
    commands: tuple[Command, ...]


@dataclass(frozen=True, slots=True)
class Quit:
    """Leave the server (``message``: a word for those who stay)."""

    message: str = ""


Command = (
    Say
    | Emote
    | Signal
    | Rename
    | PrivateMessage
    | JoinRoom
    | PartRoom
    | SwitchRoom
    | ListRooms
    | Who
    | SetTopic
    | ShowTopic
    | SetAway
    | SetRealname
    | SetInvisible
    | LookUp
    | ShowCounts
    | ShowHistory
    | ReadHistory
    | ShowConversations
    | Redact
    | ChangeModes
    | Kick
    | BanMember
    | Invite
    | Kill
    | SendWallops
    | BanFromServer
    | LiftServerBan
    | ShowServerBans
    | RegisterRoom
    | Watch
    | Unwatch
    | ShowWatched
    | SetBot
    | SetPrivateHistory
    | MarkRead
    | ShowReadMarker
    | Tell
    | LogOut
    | Labeled
    | Quit
)
