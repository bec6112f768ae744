"""The IRC front end: irssi, WeeChat, HexChat and bots chat in the same rooms as everyone else.

Pure: no I/O, no Trio. :class:`IrcFrontEnd` is one connection's protocol object, driven by the
shell like every front end (:mod:`trio_chat.frontends.base`): IRC lines become hub commands,
the hub's events become IRC lines. It follows RFC 1459 and RFC 2812 as modern servers do, with
the Modern IRC documentation (modern.ircdocs.horse) as the reference where they disagree.

Theory of operation
-------------------
*Registration* is the front end's own dialogue: ``CAP`` negotiation (``LS 302``, ``REQ``,
``LIST``, ``END``), ``PASS``, ``NICK`` and ``USER``, answered directly (``Send``). Once it has
a nickname and a user, and capability negotiation (if it began) has ended, it asks the hub for
the nickname (``Introduce``): IRC users and everyone else share one namespace, with the same
rules. The hub's answer is rendered as the welcome burst (001 to 005, LUSERS, MOTD). IRC users
are not placed in ``#lobby`` as plain users are: like on any IRC network, they join the
channels they choose (their clients have auto-join lists for that).

*Registered*, every command becomes hub commands (``JOIN #a,#b`` is two), or a ``Tell`` of the
front end's own reply (``PING``, ``MOTD``, ``VERSION``, errors of syntax), so that every reply
reaches the client after the effects of everything it sent before: the order IRC clients and
test suites rely on when they send ``PING`` and wait for the ``PONG``. Numerics name their
recipient, so they are rendered when delivered, with the nickname the client has by then.

*Rendering* a shared delivery (a room's events, the same for everyone in it) happens once per
kind of viewer: with or without ``server-time`` tags, with or without ``away-notify`` (the
kind is named once, when the capabilities change, not per delivery). It is rendered event by
event: without ``echo-message`` a client does not see its own messages, so the few members
that spoke in a delivery get the other events' pieces joined, with no rendering of their own.

*Text* is UTF-8 only (``UTF8ONLY``), and control characters are removed from what members say,
IRC's own formatting codes (bold, colours) included: they never reach anyone's terminal raw.
Nicknames are Unicode, as everywhere on this server: a plain user called ``José`` is
``José!José@server`` to IRC clients, which handle UTF-8 nicknames when the server says
``UTF8ONLY``. Case and width are folded as RFC 8265 does (``CASEMAPPING=rfc8265``), so
``Alice`` and ``alice`` are one nickname. A message longer than an IRC line (a plain user may
send 2,048 bytes) is split, at UTF-8 boundaries and preferably between words, into several.
"""

from __future__ import annotations

import base64
import enum
import re
import typing
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from trio_chat import __version__
from trio_chat.core.delivery import Delivery
from trio_chat.core.events import (
    HISTORIC,
    AccountChanged,
    AccountCreated,
    Answered,
    Answering,
    AtId,
    AtTime,
    AwayChanged,
    BanFromServer,
    ChangeModes,
    ClientTags,
    Command,
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
    LookUp,
    Mark,
    MarkRead,
    MemberInfo,
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
    Reply,
    RoomEntered,
    RoomExited,
    RoomList,
    RoomRegistered,
    Roster,
    RosterEntry,
    Said,
    SaslChallenge,
    SaslFailed,
    SaslSucceeded,
    Say,
    SendWallops,
    ServerBanChanged,
    ServerBans,
    ServiceChanged,
    SetAway,
    SetBot,
    SetInvisible,
    SetPrivateHistory,
    SetRealname,
    SetTopic,
    ShowConversations,
    ShowCounts,
    ShowReadMarker,
    ShowServerBans,
    ShowTopic,
    ShowWatched,
    ShuttingDown,
    Signal,
    Signalled,
    Tell,
    TopicChanged,
    TopicIs,
    Unwatch,
    Wallops,
    Watch,
    WatchList,
)
from trio_chat.core.framing import LineFramer, LineTooLong
from trio_chat.core.limits import Limits
from trio_chat.core.masks import EXTBAN_TYPES
from trio_chat.core.modes import (
    LISTS,
    MAX_CHANGES,
    MAX_KEY_CHARS,
    MAX_LIST_ENTRIES,
    Mode,
    parse_changes,
    words,
)
from trio_chat.core.refusals import Reason, Refusal, explain
from trio_chat.core.roles import NO_ROLES, Roles, marks
from trio_chat.core.sasl import MECHANISMS, Mechanism
from trio_chat.core.text import (
    ROOM_PREFIX,
    Nickname,
    RoomName,
    sanitize,
)
from trio_chat.core.wording import describe, service_news, stamp
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
from trio_chat.frontends.ircmessage import (
    MAX_IRC_LINE_BYTES,
    MAX_TAGS_BYTES,
    Malformed,
    Message,
    parse,
    serialize,
    split_tags,
    split_text,
    tag,
)

MAX_TARGETS = 4  # recipients of one PRIVMSG or NOTICE
USER_LENGTH = 10  # of the user name given with USER, "~" included
CTCP = "\x01"
ACTION = f"{CTCP}ACTION "
VERSION = f"trio-chat-{__version__}"  # what VERSION, 002 and 004 say, as --version does
ISUPPORT_PER_LINE = 12  # tokens per RPL_ISUPPORT line (clients accept 13, with the nick)
MAX_LABEL_BYTES = 64  # of a label (labeled-response): a longer one is not a label
MAX_CLIENT_TAGS_BYTES = 4094  # of a client's line's tags, all of them (message-tags): more is 417
CHATHISTORY_MAX = 100  # entries one CHATHISTORY may ask for (the server keeps about as many)
NAMES_BYTES = 400  # nicknames per 353 line, in bytes: the line stays under 512 with its prefix
KICK_LENGTH = 300  # bytes of a kick's reason (KICKLEN)
SERVICE = "ChanServ"  # the built-in service a room's founder registers it with (as on ergo)
ACCOUNT_SERVICE = "NickServ"  # the built-in service of an account's settings (as on ergo)
# The modes 004 names: user modes (bot, invisible, operator, wallops), then room modes.
USER_MODES = "Biow"
BOT_MODE = "B"  # the user mode of a bot (IRCv3 bot mode: ISUPPORT BOT=B), and its WHO flag
ROOM_MODES = "".join(sorted(mode.value for mode in Mode))


class Cap(enum.Enum):
    """The IRCv3 capabilities this front end offers (only those that work)."""

    SERVER_TIME = "server-time"
    ECHO_MESSAGE = "echo-message"
    AWAY_NOTIFY = "away-notify"
    MULTI_PREFIX = "multi-prefix"  # every role's mark in NAMES, WHO and WHOIS (@+alice)
    USERHOST_IN_NAMES = "userhost-in-names"
    BATCH = "batch"  # with server-time: a room's history comes as a chathistory batch
    SASL = "sasl"  # log in to an account while registering (AUTHENTICATE)
    ACCOUNT_NOTIFY = "account-notify"  # ACCOUNT when someone in your rooms logs in or out
    ACCOUNT_TAG = "account-tag"  # the sender's account on its messages
    EXTENDED_JOIN = "extended-join"  # JOIN says the account and the real name
    ACCOUNT_REGISTRATION = "draft/account-registration"  # REGISTER, before connecting too
    INVITE_NOTIFY = "invite-notify"  # INVITE when someone is invited to a room you run
    SETNAME = "setname"  # SETNAME: change one's real name, and hear of others' changes
    MESSAGE_TAGS = "message-tags"  # msgid on messages, client-only tags relayed, TAGMSG
    READ_MARKER = "draft/read-marker"  # MARKREAD: how far you read, told as it moves and on JOIN
    LABELED_RESPONSE = "labeled-response"  # a labelled command's answer says so (batch, ACK)
    # CHATHISTORY's answers as batches; a JOIN then replays nothing: the client asks.
    CHATHISTORY = "draft/chathistory"
    EVENT_PLAYBACK = "draft/event-playback"  # joins, parts, topics... in history, not just messages
    MESSAGE_REDACTION = "draft/message-redaction"  # REDACT: take a message back, and hear of it


_CAPS = {cap.value: cap for cap in Cap}
# What CAP LS 302 says of a capability beyond its name.
_CAP_VALUES = {
    Cap.SASL: ",".join(mechanism.value for mechanism in Mechanism),
    Cap.ACCOUNT_REGISTRATION: "before-connect",
}
SASL_CHUNK = 400  # base64 bytes per AUTHENTICATE line: a full one means more follow
SASL_MAX = 8192  # base64 bytes of one SASL message, at most: more is refused (904)


@dataclass(frozen=True)
class IrcConfig:
    """What an IRC server tells its clients about itself."""

    server_name: str = "trio-chat"  # the source of numerics, and PONG's first parameter
    network: str = "trio-chat"
    motd: tuple[str, ...] = ()  # lines of the message of the day (none: 422)
    password: str | None = None  # required with PASS if set
    created: str = ""  # when the server started, for RPL_CREATED
    limits: Limits = field(default_factory=Limits)  # the hub's, which ISUPPORT advertises


# --- the front end's own replies, handed back by the hub in order (see Tell) -----------------


@dataclass(frozen=True, slots=True)
class Numeric(Reply):
    """A numeric reply: ``:server code <recipient> params...``, the recipient filled in last."""

    code: str
    params: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Numerics(Reply):
    """Several numerics in a row (MOTD, VERSION)."""

    items: tuple[Numeric, ...]


@dataclass(frozen=True, slots=True)
class Pong(Reply):
    """The answer to the client's PING."""

    token: str


@dataclass(frozen=True, slots=True)
class Ping(Reply):
    """The server's PING to a client that has been quiet (see :meth:`IrcFrontEnd.keepalive`)."""

    token: str


@dataclass(frozen=True, slots=True)
class TimeReply(Reply):
    """RPL_TIME, with the time the hub delivered it."""


@dataclass(frozen=True, slots=True)
class CapAcknowledged(Reply):
    """CAP REQ accepted after registration: the change takes effect when this is rendered."""

    requested: str
    enable: frozenset[Cap]
    disable: frozenset[Cap]


@dataclass(frozen=True, slots=True)
class _InvalidUtf8(Reply):
    """The IRCv3 standard reply to a line that is not UTF-8 (UTF8ONLY)."""

    command: str


@dataclass(frozen=True, slots=True)
class _Fail(Reply):
    """An IRCv3 standard reply: ``FAIL <command> <code> <context...> :<description>``."""

    command: str
    code: str
    params: tuple[str, ...]  # the context, then the description


@dataclass(frozen=True, slots=True)
class UserModes(Reply):
    """MODE on oneself: show one's user modes (``change`` "") or change ``i`` or ``w``."""

    change: str = ""


@dataclass(frozen=True, slots=True)
class _ServiceNotice(Reply):
    """A NOTICE from the built-in ChanServ: its usage, or its answer."""

    text: str


@dataclass(frozen=True, slots=True)
class _AccountServiceNotice(Reply):
    """A NOTICE from the built-in NickServ: its usage."""

    text: str


@dataclass(frozen=True, slots=True)
class _CapLine(Reply):
    """A CAP reply: ``:server CAP <nick or *> <subcommand> :<text>``."""

    subcommand: str
    text: str


# --- the front end -----------------------------------------------------------------------------


@dataclass
class _Registration:
    """What a client has said of itself before it is registered."""

    nick: Nickname | None = None
    user: str | None = None
    realname: str = ""
    password: str | None = field(default=None, repr=False)
    negotiating: bool = False  # CAP LS or REQ came, and CAP END has not yet


class IrcFrontEnd:
    """The IRC protocol for one connection (see :class:`~trio_chat.frontends.base.FrontEnd`)."""

    __slots__ = (
        "_account",
        "_batches",
        "_cap_values",
        "_caps",
        "_echo",
        "_framer",
        "_kind",
        "_me",
        "_own_host",
        "_pending",
        "_pings",
        "_registration",
        "_rooms",
        "_sasl",
        "_user",
        "_user_modes",
        "config",
    )

    def __init__(self, config: IrcConfig | None = None) -> None:
        self.config = config or IrcConfig()
        # A line is 512 bytes with its CR LF, and tags may add MAX_TAGS_BYTES in front of it.
        self._framer = LineFramer(MAX_IRC_LINE_BYTES + MAX_TAGS_BYTES)
        self._pending: deque[Input] = deque()  # one line may ask for several things
        self._registration: _Registration | None = _Registration()  # None once registered
        self._me = "*"  # the nickname numerics are addressed to ("*" before registration)
        self._account = ""  # the account the client was told it is logged in to ("": none)
        self._sasl: list[str] | None = None  # a SASL exchange's chunks so far (None: no exchange)
        self._cap_values = False  # CAP LS 302 or later: capabilities are listed with values
        self._user = ""  # the user name of our own mask
        self._own_host = ""  # and its host, our cloak ("": the server's name)
        self._caps: set[Cap] = set()  # (changed by _set_caps only, with the two below)
        self._echo = False  # echo-message: we see our own lines
        self._kind = "irc"  # the kind of viewer our capabilities make us, for shared deliveries
        self._user_modes: set[str] = set()  # our own user modes' letters
        self._rooms: list[str] = []  # the rooms the client is in, as displayed
        self._pings = 0
        self._batches = 0  # chathistory batches sent, to name the next one

    # --- bytes in ---------------------------------------------------------------------------

    def greeting(self) -> bytes:
        """Say nothing: IRC clients speak first."""
        return b""

    def receive_data(self, data: bytes) -> None:
        """Feed received bytes (``b""``: end of input)."""
        if data:
            self._framer.feed(data)
        else:
            self._framer.feed_eof()

    def next_input(self) -> Input | None:
        """Return the next unit of input, or None when more bytes are needed."""
        while not self._pending:
            line = self._framer.next_line()
            if line is None:
                return None
            self._pending.extend(self._line(line))
        return self._pending.popleft()

    def keepalive(self) -> Reply:
        """Make a PING for a client that has been quiet: its PONG (any line) shows it is there."""
        self._pings += 1
        return Ping(f"{self.config.server_name}-{self._pings}")

    def _line(self, raw: bytes | LineTooLong) -> Iterable[Input]:
        if isinstance(raw, LineTooLong) or _too_long(raw):
            yield self._reply(Numeric("417", ("Input line was too long",)))
            return
        try:
            text = raw.decode()
        except UnicodeDecodeError:  # UTF8ONLY: refuse it, rather than relay it garbled
            yield self._reply(_InvalidUtf8(raw.partition(b" ")[0].decode("ascii", "replace")))
            return
        message = parse(text)
        if isinstance(message, Malformed):
            yield IGNORED  # an empty line, or only tags: nothing to answer
            return
        command = message.command.upper()
        if self._registration is not None:
            yield from self._registering(self._registration, command, message.params)
            return
        tags = self._client_tags(message.tags)
        if tags is None:
            yield Tell(Numeric("417", ("Input line was too long",)))
            return
        inputs = self._registered(command, message.params, tags)
        label = message.tags.get("label", "")
        if label and Cap.LABELED_RESPONSE in self._caps:
            yield from _labeled(label, list(inputs))
        else:
            yield from inputs

    def _client_tags(self, tags: dict[str, str]) -> ClientTags | None:
        """Return the client-only tags to relay (none without message-tags); None: too big."""
        if Cap.MESSAGE_TAGS not in self._caps or not tags:
            return ()
        # The spec's limit counts every tag the client sent, client-only or not, with the ";"s.
        size = sum(len(tag(key, value).encode()) for key, value in tags.items()) + len(tags) - 1
        if size > MAX_CLIENT_TAGS_BYTES:
            return None
        return tuple((key, sanitize(value)) for key, value in tags.items() if key.startswith("+"))

    def _reply(self, reply: Reply) -> Input:
        """Answer with a reply of our own: sent now while registering, via the hub afterwards."""
        if self._registration is not None:
            return Send(self._render_events([reply], 0.0).encode())
        return Tell(reply)

    # --- registering ------------------------------------------------------------------------

    def _registering(
        self, state: _Registration, command: str, params: tuple[str, ...]
    ) -> Iterator[Input]:
        match command:
            case "CAP":
                yield from self._cap(params)
            case "PASS" if params:
                state.password = params[0]
                yield IGNORED
            case "NICK" if params and params[0]:
                nick = Nickname.parse(params[0])
                if isinstance(nick, Refusal):
                    yield self._reply(_erroneous(params[0], nick))
                else:
                    state.nick = nick
                    yield self._ready(state)
            case "NICK":
                yield self._reply(Numeric("431", ("No nickname given",)))
            case "USER" if len(params) >= 4 and params[0] and params[3]:
                state.user = _user_name(params[0])
                state.realname = sanitize(params[3])
                yield self._ready(state)
            case "USER" | "PASS":
                yield self._reply(Numeric("461", (command, "Not enough parameters")))
            case "PING":
                yield self._ping(params)
            case "PONG":
                yield IGNORED
            case "QUIT":
                yield Hangup(_error("Closing Link: (Quit)"))
            case "AUTHENTICATE":
                yield from self._authenticate(params)
            case "REGISTER":
                yield self._register_account(params, state.nick)
            case _:
                yield self._reply(Numeric("451", ("You have not registered",)))

    def _ready(self, state: _Registration) -> Input:
        """Introduce, if the client has said all it must (and negotiated all it wanted)."""
        if state.nick is None or state.user is None or state.negotiating:
            return IGNORED
        if self.config.password is not None and state.password != self.config.password:
            wrong = self._render_events([Numeric("464", ("Password incorrect",))], 0.0)
            return Hangup(wrong.encode() + _error("Closing Link: (Bad password)"))
        self._user = state.user
        account, password = self._pass_login(state)
        return Introduce(
            state.nick, state.realname, state.user, lobby=False, account=account, password=password
        )

    def _pass_login(self, state: _Registration) -> tuple[Nickname | None, str]:
        """``PASS account:password`` (or a password for the nickname): a login, if any.

        Only when the server itself has no password: then PASS is the one field that clients
        which know no SASL can put an account's password in.
        """
        if self.config.password is not None or not state.password or state.nick is None:
            return None, ""
        name, colon, password = state.password.partition(":")
        if not colon:
            return state.nick, state.password
        account = Nickname.parse(name)
        return (account, password) if isinstance(account, Nickname) else (None, "")

    def _authenticate(self, params: tuple[str, ...]) -> Iterator[Input]:
        """AUTHENTICATE: begin a SASL exchange, or one chunk of the client's next message."""
        if not params or not params[0]:
            yield self._reply(Numeric("461", ("AUTHENTICATE", "Not enough parameters")))
            return
        data = params[0]
        if self._sasl is None:
            mechanism = MECHANISMS.get(data.upper())
            if mechanism is None:
                yield self._reply(Numeric("908", (_CAP_VALUES[Cap.SASL], _MECHANISMS_TEXT)))
                yield self._reply(_SASL_FAILED)
                return
            self._sasl = []
            yield SaslStart(mechanism)
            return
        if data == "*":
            self._sasl = None
            yield SaslAbort()
            return
        refusal: Numeric | None = None
        if len(data) > SASL_CHUNK:
            refusal = Numeric("905", ("SASL message too long",))
        elif data != "+":
            self._sasl.append(data)
            if len(data) == SASL_CHUNK:
                if sum(map(len, self._sasl)) <= SASL_MAX:
                    yield IGNORED  # more of this message follows
                    return
                refusal = _SASL_FAILED
        if refusal is None:
            message, self._sasl = "".join(self._sasl), []
            try:
                decoded = base64.b64decode(message, validate=True)
            except ValueError:
                refusal = _SASL_FAILED
            else:
                yield SaslResponse(decoded)
                return
        self._sasl = None
        yield self._reply(refusal)
        yield SaslAbort(told=True)

    def _register_account(self, params: tuple[str, ...], nick: Nickname | None) -> Input:
        """REGISTER <account> <email> <password> (draft/account-registration)."""
        if len(params) < 3:
            return self._reply(Numeric("461", ("REGISTER", "Not enough parameters")))
        name, _, password = params[:3]
        if nick is None:
            return self._reply(_Fail("REGISTER", "NEED_NICK", ("*", "Send NICK first")))
        if name != "*" and _fold(name) != nick.key:
            text = "The account's name is your nickname"
            return self._reply(
                _Fail("REGISTER", "ACCOUNT_NAME_MUST_BE_NICK", (sanitize(name), text))
            )
        return RegisterAccount(password, nick)

    def _cap(self, params: tuple[str, ...]) -> Iterator[Input]:
        state = self._registration
        subcommand = params[0].upper() if params else ""
        match subcommand:
            case "LS":
                if state is not None:
                    state.negotiating = True
                version = params[1] if len(params) > 1 else ""
                self._cap_values = self._cap_values or (version.isdigit() and int(version) >= 302)
                yield self._reply(_CapLine("LS", self._cap_list(Cap)))
            case "LIST":
                enabled = " ".join(cap.value for cap in Cap if cap in self._caps)
                yield self._reply(_CapLine("LIST", enabled))
            case "REQ":
                if state is not None:
                    state.negotiating = True
                requested = params[1] if len(params) > 1 else ""
                change = _cap_change(requested)
                if change is None:
                    yield self._reply(_CapLine("NAK", requested))
                elif state is not None:  # nothing is delivered yet: effective at once
                    self._set_caps((self._caps | change[0]) - change[1])
                    yield self._reply(_CapLine("ACK", requested))
                else:  # registered: effective in order, when the ACK is delivered
                    yield Tell(CapAcknowledged(requested, *change))
            case "END":
                if state is not None:
                    state.negotiating = False
                    yield self._ready(state)
                else:
                    yield IGNORED
            case _:
                shown = sanitize(subcommand) or "*"
                yield self._reply(Numeric("410", (shown, "Invalid CAP command")))

    def _cap_list(self, caps: Iterable[Cap]) -> str:
        return " ".join(
            f"{cap.value}={_CAP_VALUES[cap]}"
            if self._cap_values and cap in _CAP_VALUES
            else cap.value
            for cap in caps
        )

    def _ping(self, params: tuple[str, ...]) -> Input:
        if not params:
            return self._reply(Numeric("409", ("No origin specified",)))
        return self._reply(Pong(params[0]))

    # --- registered -------------------------------------------------------------------------

    def _registered(
        self, command: str, params: tuple[str, ...], tags: ClientTags = ()
    ) -> Iterator[Input]:
        match command:
            case "PRIVMSG" | "NOTICE":
                yield from self._message(command, params, tags)
            case "TAGMSG" if Cap.MESSAGE_TAGS in self._caps:
                yield from self._tagmsg(params, tags)
            case "JOIN":
                yield from self._join(params)
            case "PART":
                yield from self._part(params)
            case "NICK" if params and params[0]:
                nick = Nickname.parse(params[0])
                yield (
                    Tell(_erroneous(params[0], nick)) if isinstance(nick, Refusal) else Rename(nick)
                )
            case "NICK":
                yield Tell(Numeric("431", ("No nickname given",)))
            case "QUIT":
                yield Quit(sanitize(params[0]) if params else "")
            case "PING":
                yield self._ping(params)
            case "PONG":
                yield IGNORED  # any line shows the client is there
            case "CAP":
                yield from self._cap(params)
            case "TOPIC":
                yield from self._topic(params)
            case "NAMES":
                yield from self._names(params)
            case "LIST":
                yield self._list(params)
            case "WHO":
                yield self._who(params)
            case "WHOIS":
                yield self._whois(params)
            case "ISON":
                yield self._look_up("ISON", params, limit=None)
            case "USERHOST":
                yield self._look_up("USERHOST", params, limit=5)
            case "AWAY":
                yield SetAway(sanitize(params[0]) if params else "")
            case "SETNAME" if params:
                yield SetRealname(sanitize(params[0]))
            case "SETNAME":
                yield Tell(Numeric("461", ("SETNAME", "Not enough parameters")))
            case "MODE" if params and not params[0].startswith(ROOM_PREFIX):
                yield from self._user_mode(params[0], params[1:])
            case "MODE":
                yield self._mode(params)
            case "KICK":
                yield from self._kick(params)
            case "INVITE":
                yield self._invite(params)
            case "OPER" if len(params) >= 2:
                yield OperLogin(params[0], params[1])
            case "KILL" if params:
                nick = Nickname.parse(params[0])
                reason = sanitize(params[1]) if len(params) > 1 else ""
                yield (
                    Tell(_no_such_nick(params[0]))
                    if isinstance(nick, Refusal)
                    else Kill(nick, reason)
                )
            case "WALLOPS" if params and params[0]:
                yield SendWallops(sanitize(params[0]))
            case "KLINE" | "DLINE" if params:
                yield self._server_ban(command, params)
            case "UNKLINE" | "UNDLINE" if params:
                yield LiftServerBan(sanitize(params[0]))
            case "STATS":
                yield self._stats(params)
            case "CHANSERV" | "CS":
                yield self._chanserv(" ".join(params))
            case "OPER" | "KILL" | "WALLOPS" | "KLINE" | "DLINE" | "UNKLINE" | "UNDLINE":
                yield Tell(Numeric("461", (command, "Not enough parameters")))
            case "MOTD":
                yield Tell(self._motd())
            case "LUSERS":
                yield ShowCounts()
            case "VERSION":
                yield Tell(Numerics((self._version_numeric(), *self._isupport())))
            case "TIME":
                yield Tell(TimeReply())
            case "CHATHISTORY":
                yield self._chathistory(params)
            case "MONITOR":
                yield from self._monitor(params)
            case "MARKREAD":
                yield self._markread(params)
            case "REDACT":
                yield self._redact(params)
            case "AUTHENTICATE":
                yield from self._authenticate(params)
            case "REGISTER":
                yield self._register_account(params, _nickname(self._me))
            case "USER" | "PASS":
                yield Tell(Numeric("462", ("You may not reregister",)))
            case _:
                yield Tell(Numeric("421", (sanitize(command), "Unknown command")))

    def _tagmsg(self, params: tuple[str, ...], tags: ClientTags) -> Iterator[Input]:
        if not params or not params[0]:
            yield Tell(Numeric("461", ("TAGMSG", "Not enough parameters")))
            return
        for target in params[0].split(",")[:MAX_TARGETS]:
            if target.startswith(ROOM_PREFIX):
                room = RoomName.parse(target)
                yield IGNORED if isinstance(room, Refusal) else Signal(tags, room)
            elif not isinstance(nick := Nickname.parse(target), Refusal):
                yield PrivateMessage(nick, "", tags=tags, signal=True)
            else:
                yield IGNORED  # like a notice: a TAGMSG is never answered with an error

    def _message(
        self, command: str, params: tuple[str, ...], tags: ClientTags = ()
    ) -> Iterator[Input]:
        notice = command == "NOTICE"
        if not params or not params[0]:
            yield IGNORED if notice else Tell(Numeric("411", (f"No recipient given ({command})",)))
            return
        if len(params) < 2 or not params[1]:
            yield IGNORED if notice else Tell(Numeric("412", ("No text to send",)))
            return
        text = params[1]
        action = text.startswith(ACTION)
        if action:
            text = text[len(ACTION) :].removesuffix(CTCP)
        elif text.startswith(CTCP):
            yield IGNORED  # other CTCP requests (VERSION, PING): nobody here answers them
            return
        text = sanitize(text)
        for target in params[0].split(",")[:MAX_TARGETS]:
            if Cap.MESSAGE_TAGS in self._caps and not self._fits(command, target, params[1]):
                # Relayed, it would be split over several lines, only the first with its
                # msgid: to a client with message-tags, not one message but several.
                yield Tell(Numeric("417", ("Input line was too long",)))
                continue
            yield self._message_to(target, text, tags, action=action, notice=notice)

    def _fits(self, command: str, target: str, text: str) -> bool:
        """Say whether ``text`` from us to ``target`` is relayed in one line of 512 bytes."""
        mask = self._mask(self._me, self._user, self._own_host)
        return len(f":{mask} {command} {target} :{text}".encode()) <= MAX_IRC_LINE_BYTES - 2

    def _message_to(
        self, target: str, text: str, tags: ClientTags, *, action: bool, notice: bool
    ) -> Input:
        if target.startswith(ROOM_PREFIX):
            room = RoomName.parse(target)
            if isinstance(room, Refusal):
                return IGNORED if notice else Tell(_no_such_channel(target))
            return Emote(text, room, tags) if action else Say(text, room, notice, tags)
        if _fold(target) in _SERVICES:
            return IGNORED if notice else self._chanserv(text)
        if _fold(target) in _ACCOUNT_SERVICES:
            return IGNORED if notice else _nickserv(text)
        nick = Nickname.parse(target)
        if isinstance(nick, Refusal):
            return IGNORED if notice else Tell(_no_such_nick(target))
        return PrivateMessage(nick, text, action=action, notice=notice, tags=tags)

    def _join(self, params: tuple[str, ...]) -> Iterator[Input]:
        if not params or not params[0]:
            yield Tell(Numeric("461", ("JOIN", "Not enough parameters")))
        elif params[0] == "0":  # leave every room
            yield from (
                (PartRoom(_room(joined)) for joined in self._rooms) if self._rooms else [IGNORED]
            )
        else:
            keys = params[1].split(",") if len(params) > 1 else []
            for n, name in enumerate(params[0].split(",")):
                room = RoomName.parse(name)
                key = keys[n] if n < len(keys) else ""
                yield (
                    Tell(_bad_room(name, room))
                    if isinstance(room, Refusal)
                    else JoinRoom(room, key)
                )

    def _part(self, params: tuple[str, ...]) -> Iterator[Input]:
        if not params or not params[0]:
            yield Tell(Numeric("461", ("PART", "Not enough parameters")))
            return
        message = sanitize(params[1]) if len(params) > 1 else ""
        for name in params[0].split(","):
            room = RoomName.parse(name)
            yield (
                Tell(_no_such_channel(name))
                if isinstance(room, Refusal)
                else PartRoom(room, message)
            )

    def _chathistory(self, params: tuple[str, ...]) -> Input:
        """``CHATHISTORY <subcommand> <target> <mark> [<mark>] <limit>``, or ``TARGETS``.

        Marks are ``msgid=<id>`` or ``timestamp=<server-time>`` (LATEST's may be ``*``).
        """
        subcommand = params[0].upper() if params else ""
        if subcommand == "TARGETS":
            return self._chathistory_targets(params[1:])
        direction = _DIRECTIONS.get(subcommand)
        if direction is None:
            text = "Unknown subcommand"
            return _history_fail("INVALID_PARAMS", sanitize(subcommand), text)
        marks = 2 if direction is Direction.BETWEEN else 1
        if len(params) < 3 + marks:
            return _history_fail("NEED_MORE_PARAMS", subcommand, "Missing parameters")
        typed_target, *typed_marks, typed_limit = params[1 : 3 + marks]
        target = _history_target(typed_target)
        if isinstance(target, Refusal):
            text = "Invalid target"
            return _history_fail("INVALID_TARGET", subcommand, sanitize(typed_target), text)
        found: list[Mark | None] = []
        for typed in typed_marks:
            if typed == "*" and direction is Direction.LATEST:
                found.append(None)  # no lower bound: the newest
            elif (mark := _mark(typed)) is not None:
                found.append(mark)
            else:
                text = "Invalid message reference"
                return _history_fail("INVALID_PARAMS", subcommand, sanitize(typed), text)
        limit = _limit(typed_limit)
        if limit is None:
            text = "Invalid limit"
            return _history_fail("INVALID_PARAMS", subcommand, sanitize(typed_limit), text)
        events = Cap.EVENT_PLAYBACK in self._caps
        until = found[1] if len(found) > 1 else None
        query = HistoryQuery(direction, limit, found[0], until, events)
        return ReadHistory(target, query)

    def _chathistory_targets(self, params: tuple[str, ...]) -> Input:
        """``CHATHISTORY TARGETS <timestamp> <timestamp> <limit>``: conversations with news."""
        if len(params) < 3:
            return _history_fail("NEED_MORE_PARAMS", "TARGETS", "Missing parameters")
        start, end, limit = _timestamp(params[0]), _timestamp(params[1]), _limit(params[2])
        if start is None or end is None or limit is None:
            text = "Invalid timestamps or limit"
            return _history_fail("INVALID_PARAMS", "TARGETS", text)
        return ShowConversations(start, end, limit)

    def _redact(self, params: tuple[str, ...]) -> Input:
        """``REDACT <target> <msgid> [:<reason>]``: take back a message (message-redaction)."""
        if len(params) < 2:
            return Tell(_Fail("REDACT", "NEED_MORE_PARAMS", ("Missing parameters",)))
        typed_target, msgid = params[0], sanitize(params[1])
        target = _history_target(typed_target)
        if isinstance(target, Refusal):
            text = "Invalid target"
            return Tell(_Fail("REDACT", "INVALID_TARGET", (sanitize(typed_target), text)))
        joined = {_room(name).key for name in self._rooms}
        if isinstance(target, RoomName) and target.key not in joined:
            text = "You are not in that channel"
            return Tell(_Fail("REDACT", "INVALID_TARGET", (target.display, text)))
        if not (msgid.isascii() and msgid.isdigit()):  # not one of ours
            text = "No such message"
            return Tell(_Fail("REDACT", "UNKNOWN_MSGID", (target.display, msgid, text)))
        reason = sanitize(params[2]) if len(params) > 2 else ""
        return Redact(target, int(msgid), reason)

    def _markread(self, params: tuple[str, ...]) -> Input:
        """``MARKREAD target`` asks how far we read it; ``MARKREAD target timestamp=...`` says."""
        if not params or not params[0]:
            return Tell(_Fail("MARKREAD", "NEED_MORE_PARAMS", ("Missing parameters",)))
        typed = params[0]
        target = RoomName.parse(typed) if typed.startswith(ROOM_PREFIX) else Nickname.parse(typed)
        if isinstance(target, Refusal):
            return Tell(_Fail("MARKREAD", "INVALID_PARAMS", (sanitize(typed), "Invalid target")))
        if len(params) == 1:
            return ShowReadMarker(target)
        time = _timestamp(params[1])  # ("*" is the server's word for none: never a client's)
        if time is None:
            text = "Invalid timestamp"
            return Tell(_Fail("MARKREAD", "INVALID_PARAMS", (sanitize(params[1]), text)))
        return MarkRead(target, time)

    def _monitor(self, params: tuple[str, ...]) -> Iterator[Input]:
        """``MONITOR + nicks``, ``- nicks``, ``C`` (clear), ``L`` (list), ``S`` (status)."""
        modifier = params[0].upper() if params else ""
        if modifier in ("+", "-") and len(params) > 1 and params[1]:
            nicks = []
            for typed in filter(None, params[1].split(",")):
                nick = Nickname.parse(typed)
                if isinstance(nick, Refusal):  # a mask, say: only nicknames are watched
                    if modifier == "+":  # ("-" answers nothing, whatever it names)
                        yield Tell(_erroneous(typed, nick))
                else:
                    nicks.append(nick)
            if nicks:
                yield Watch(tuple(nicks)) if modifier == "+" else Unwatch(tuple(nicks))
        elif modifier in ("C", "L", "S"):
            yield Unwatch() if modifier == "C" else ShowWatched(presence=modifier == "S")
        else:
            yield Tell(Numeric("461", ("MONITOR", "Not enough parameters")))

    def _topic(self, params: tuple[str, ...]) -> Iterator[Input]:
        if not params:
            yield Tell(Numeric("461", ("TOPIC", "Not enough parameters")))
            return
        room = RoomName.parse(params[0])
        if isinstance(room, Refusal):
            yield Tell(_no_such_channel(params[0]))
        elif len(params) == 1:
            yield ShowTopic(room)
        else:
            yield SetTopic(sanitize(params[1]), room)

    def _names(self, params: tuple[str, ...]) -> Iterator[Input]:
        if not params or not params[0]:
            yield Tell(Numeric("366", ("*", "End of /NAMES list")))
            return
        for name in params[0].split(","):
            room = RoomName.parse(name)
            if isinstance(room, Refusal):
                yield Tell(Numeric("366", (sanitize(name), "End of /NAMES list")))
            else:
                yield LookUp(label=f"NAMES {room}", room=room)

    def _list(self, params: tuple[str, ...]) -> Input:
        names = params[0].split(",") if params and params[0] else []
        rooms = tuple(room for room in map(RoomName.parse, names) if isinstance(room, RoomName))
        if names and not rooms:  # only invalid names: nothing to list
            return Tell(Numerics((Numeric("321", ("Channel", "Users  Name")), _END_OF_LIST)))
        return ListRooms(rooms)

    def _who(self, params: tuple[str, ...]) -> Input:
        mask = sanitize(params[0]) if params and params[0] else "*"
        label = f"WHO {mask}"
        if mask.startswith(ROOM_PREFIX):
            room = RoomName.parse(mask)
            if isinstance(room, RoomName):
                return LookUp(label=label, room=room)
            return Tell(Numeric("315", (mask, "End of WHO list")))  # no such channel
        nick = Nickname.parse(mask)
        if isinstance(nick, Nickname):
            return LookUp((nick,), label)
        return LookUp(label=label, mask=mask)  # "*", "b*", "?ob"

    def _whois(self, params: tuple[str, ...]) -> Input:
        if not params:
            return Tell(Numeric("431", ("No nickname given",)))
        target = params[-1].split(",")[0]  # WHOIS [server] nick
        nick = Nickname.parse(target)
        if isinstance(nick, Refusal):
            shown = sanitize(target)
            missing = (
                Numeric("401", (shown, "No such nick")),
                Numeric("318", (shown, "End of /WHOIS list")),
            )
            return Tell(Numerics(missing))
        return LookUp((nick,), f"WHOIS {target}")

    def _look_up(self, command: str, params: tuple[str, ...], *, limit: int | None) -> Input:
        if not params:
            return Tell(Numeric("461", (command, "Not enough parameters")))
        words = " ".join(params).split()[:limit]
        nicks = tuple(nick for nick in map(Nickname.parse, words) if isinstance(nick, Nickname))
        return LookUp(nicks, command)

    def _user_mode(self, target: str, changes: tuple[str, ...]) -> Iterator[Input]:
        if _fold(target) != _fold(self._me):
            yield Tell(Numeric("502", ("Can't change mode for other users",)))
            return
        if not changes:
            yield Tell(UserModes())
            return
        invisible, bot, on = None, None, True
        for letter in changes[0]:
            if letter in "+-":
                on = letter == "+"
            elif letter == "i":
                invisible = on
            elif letter == BOT_MODE:
                bot = on
        if invisible is not None:
            yield SetInvisible(invisible)  # the hub's to know: look-ups by mask skip us
        if bot is not None:
            yield SetBot(bot)  # the hub's too: look-ups say so, on every process
        yield Tell(UserModes(changes[0]))

    def _mode(self, params: tuple[str, ...]) -> Input:
        if not params:
            return Tell(Numeric("461", ("MODE", "Not enough parameters")))
        target, changes = params[0], params[1:]
        room = RoomName.parse(target)
        if isinstance(room, Refusal):
            return Tell(_no_such_channel(target))
        parsed = parse_changes(changes)
        if isinstance(parsed, str):
            return Tell(Numeric("472", (sanitize(parsed), "is an unknown mode char to me")))
        return ChangeModes(room, parsed[:MAX_CHANGES])

    def _kick(self, params: tuple[str, ...]) -> Iterator[Input]:
        if len(params) < 2:
            yield Tell(Numeric("461", ("KICK", "Not enough parameters")))
            return
        room = RoomName.parse(params[0])
        if isinstance(room, Refusal):
            yield Tell(_no_such_channel(params[0]))
            return
        reason = sanitize(params[2])[:KICK_LENGTH] if len(params) > 2 else ""
        for target in params[1].split(",")[:MAX_TARGETS]:
            nick = Nickname.parse(target)
            yield (
                Tell(_no_such_nick(target))
                if isinstance(nick, Refusal)
                else Kick(room, nick, reason)
            )

    def _invite(self, params: tuple[str, ...]) -> Input:
        if len(params) < 2:
            return Tell(Numeric("461", ("INVITE", "Not enough parameters")))
        nick, room = Nickname.parse(params[0]), RoomName.parse(params[1])
        if isinstance(nick, Refusal):
            return Tell(_no_such_nick(params[0]))
        if isinstance(room, Refusal):
            return Tell(_no_such_channel(params[1]))
        return Invite(nick, room)

    def _server_ban(self, command: str, params: tuple[str, ...]) -> Input:
        """``KLINE [duration] mask [reason]`` (ergo's order; DLINE takes a network)."""
        seconds = _duration(params[0]) if len(params) > 1 else None
        rest = params[1:] if seconds is not None else params
        mask = sanitize(rest[0]) if rest else ""
        if not mask:
            return Tell(Numeric("461", (command, "Not enough parameters")))
        reason = sanitize(" ".join(rest[1:])) if len(rest) > 1 else ""
        return BanFromServer(mask, seconds or 0, reason)

    def _stats(self, params: tuple[str, ...]) -> Input:
        query = params[0] if params else ""
        if query.upper() == "K":
            return ShowServerBans()
        return Tell(Numeric("219", (sanitize(query) or "*", "End of /STATS report")))

    def _chanserv(self, text: str) -> Input:
        """Read what ``/msg ChanServ`` asks: ``REGISTER #room`` or ``DROP #room``."""
        verb, _, rest = text.strip().partition(" ")
        name = rest.split(" ")[0] if rest else ""
        room = RoomName.parse(name)
        if verb.upper() in ("REGISTER", "DROP") and isinstance(room, RoomName):
            return RegisterRoom(room, drop=verb.upper() == "DROP")
        usage = "REGISTER #room (you run it, logged in) or DROP #room (its founder)"
        return Tell(_ServiceNotice(usage))

    def _motd(self) -> Numerics:
        if not self.config.motd:
            return Numerics((Numeric("422", ("MOTD File is missing",)),))
        start = Numeric("375", (f"- {self.config.server_name} Message of the day - ",))
        lines = tuple(Numeric("372", (f"- {sanitize(line)}",)) for line in self.config.motd)
        return Numerics((start, *lines, Numeric("376", ("End of /MOTD command.",))))

    def _version_numeric(self) -> Numeric:
        return Numeric("351", (VERSION, self.config.server_name, "trio-chat, on Trio"))

    def _isupport(self) -> tuple[Numeric, ...]:
        limits = self.config.limits
        tokens = [
            f"AWAYLEN={limits.away_bytes}",
            f"BOT={BOT_MODE}",
            "CASEMAPPING=rfc8265",
            f"CHANLIMIT=#:{limits.rooms_per_member}",
            f"CHANMODES={''.join(m.value for m in LISTS)},k,l,imnstMR",
            f"CHANNELLEN={limits.room_name_chars}",
            "CHANTYPES=#",
            f"MAXTARGETS={MAX_TARGETS}",
            f"NAMELEN={limits.realname_bytes}",
            f"NETWORK={self.config.network}",
            f"NICKLEN={limits.nick_chars}",
            "PREFIX=(ov)@+",
            f"EXTBAN=,{EXTBAN_TYPES}",
            "EXCEPTS",
            "INVEX",
            f"KEYLEN={MAX_KEY_CHARS}",
            f"KICKLEN={KICK_LENGTH}",
            f"MAXLIST=beI:{MAX_LIST_ENTRIES}",
            f"MODES={MAX_CHANGES}",
            f"MONITOR={limits.watched}",
            "SAFELIST",
            f"CHATHISTORY={CHATHISTORY_MAX}",
            "MSGREFTYPES=msgid,timestamp",
            f"TOPICLEN={limits.topic_bytes}",
            f"USERLEN={USER_LENGTH}",
            "UTF8ONLY",
        ]
        return tuple(
            Numeric(
                "005", (*tokens[start : start + ISUPPORT_PER_LINE], "are supported by this server")
            )
            for start in range(0, len(tokens), ISUPPORT_PER_LINE)
        )

    # --- bytes out --------------------------------------------------------------------------

    def render(self, delivery: Delivery) -> bytes:
        """Render the IRC lines that show ``delivery``."""
        if delivery.personal:
            skip_own = not self._echo  # without echo-message, a client never sees its own lines
            return self._render_events(delivery.events, delivery.time, skip_own=skip_own).encode()
        if self._echo or self._me not in delivery.speakers:
            return delivery.render_each(self._kind, self._render_each)
        # This viewer spoke: the same pieces, without its own lines (no rendering of its own).
        return delivery.render_each(self._kind, self._render_each, leaving_out=self._spoken)

    def _spoken(self, event: Event) -> bool:
        """Whether ``event`` is one of our own lines, which we see only with echo-message."""
        return isinstance(event, _SPOKEN) and event.nick == self._me

    def _set_caps(self, caps: set[Cap]) -> None:
        """Enable ``caps``, and name the kind of viewer they make us (see :meth:`render`)."""
        self._caps = caps
        self._echo = Cap.ECHO_MESSAGE in caps
        # A string: its hash is computed once, and the delivery's cache is asked per member.
        self._kind = " ".join(["irc", *(cap.value for cap in _SHARED_KINDS if cap in caps)])

    def farewell(self, why: Farewell) -> bytes:
        """Say why the connection closes, in an ERROR line."""
        return _error(f"Closing Link: ({why.value.capitalize()})")

    def _render_events(
        self, events: Iterable[Event], time: float, *, skip_own: bool = False
    ) -> str:
        stamp = _server_time(time) if Cap.SERVER_TIME in self._caps and time else ""
        plain = f"@time={stamp} " if stamp else ""
        tagged = bool(self._caps & _TAGGING)  # else every line has the same prefix
        lines: list[str] = []
        answering: list[tuple[str, int]] = []  # labels being answered, and their first line
        # A message to oneself, as delivered while answering: its echo is the answer, so its
        # delivery comes after it, unlabelled (labeled-response: one of the two is labelled).
        delivered: list[str] = []
        for event in events:
            if isinstance(event, Answering):
                answering.append((event.label, len(lines)))
                continue
            if isinstance(event, Answered) and answering:
                label, start = answering.pop()
                lines[start:] = self._answer(label, lines[start:])
                if not answering:
                    lines.extend(delivered)
                    delivered.clear()
                continue
            if isinstance(event, Recalled):
                if Cap.CHATHISTORY not in self._caps:  # (a client with it asks for history)
                    lines.extend(self._recalled(event))
                continue
            if isinstance(event, HistoryRead):
                lines.extend(self._history_read(event))
                continue
            if isinstance(event, ConversationsAre):
                lines.extend(self._conversations(event))
                continue
            own = answering and isinstance(event, PrivateFrom) and event.sender == self._me
            event_lines = self._event(event, time, skip_own=skip_own)
            if tagged:
                (delivered if own else lines).extend(self._tagged(event, stamp, event_lines))
            else:
                (delivered if own else lines).extend(f"{plain}{line}\r\n" for line in event_lines)
        return "".join(lines)

    def _render_each(self, events: Sequence[Event], time: float) -> list[bytes]:
        """Render a shared delivery's events one by one, our own lines included (see render)."""
        # (A shared delivery has room events only: no labels, no history, no answers to us.)
        stamp = _server_time(time) if Cap.SERVER_TIME in self._caps and time else ""
        plain = f"@time={stamp} " if stamp else ""
        tagged = bool(self._caps & _TAGGING)  # else every line has the same prefix
        pieces = []
        for event in events:
            lines = self._event(event, time, skip_own=False)
            if tagged:
                pieces.append("".join(self._tagged(event, stamp, lines)).encode())
            else:
                pieces.append("".join([f"{plain}{line}\r\n" for line in lines]).encode())
        return pieces

    def _answer(self, label: str, lines: list[str]) -> list[str]:
        """Mark ``lines`` as the answer to ``label``: an ACK, the one line, or a batch."""
        server = self.config.server_name
        labelled = tag("label", label)
        if not lines:
            return [f"@{labelled} :{server} ACK\r\n"]
        if len(lines) == 1:
            return [_with_tag(lines[0], labelled)]
        self._batches += 1
        reference = f"answer{self._batches}"
        inside = f"batch={reference}"
        return [
            f"@{labelled} :{server} BATCH +{reference} labeled-response\r\n",
            # A line in a batch of its own (history's) stays in it: that batch is in ours.
            *(line if line.startswith(_IN_A_BATCH) else _with_tag(line, inside) for line in lines),
            f":{server} BATCH -{reference}\r\n",
        ]

    def _tagged(
        self, event: Event, stamp: str, lines: Iterable[str], batch: str = ""
    ) -> Iterator[str]:
        """Return ``event``'s ``lines`` with their tags, and the msgid on the first line only.

        A message longer than an IRC line (a plain user's) is several lines, and a client
        that has seen a msgid drops what comes with it again as a duplicate: so, as ergo does
        for a client without draft/multiline, the rest go without it.
        """
        prefix = self._tags(event, stamp, batch)
        for n, line in enumerate(lines):
            if n == 1:
                prefix = self._tags(event, stamp, batch, identified=False)
            yield f"{prefix}{line}\r\n"

    def _tags(self, event: Event, stamp: str, batch: str = "", *, identified: bool = True) -> str:
        """Return the tags part of ``event``'s lines (``@...`` and a space, or "") here.

        ``identified``: with the event's msgid (see _tagged).
        """
        tags = [f"batch={batch}"] if batch else []
        if stamp:
            tags.append(f"time={stamp}")
        if (
            identified
            and Cap.MESSAGE_TAGS in self._caps
            and isinstance(event, _IDENTIFIED)
            and event.id
        ):
            tags.append(f"msgid={event.id}")
        if (
            Cap.ACCOUNT_TAG in self._caps
            and isinstance(event, _SIGNED)
            and event.account
            and not _own(event, self._me)
        ):
            tags.append(f"account={event.account}")
        if Cap.MESSAGE_TAGS in self._caps and isinstance(event, _TAGGED):
            tags.extend(tag(key, value) for key, value in event.tags)
        return f"@{';'.join(tags)} " if tags else ""

    def _recalled(self, recalled: Recalled) -> Iterator[str]:
        # A room's past: a chathistory batch of the lines as they were, each with its time
        # (with the batch and server-time capabilities), else NOTICEs from the server.
        server = self.config.server_name
        if {Cap.BATCH, Cap.SERVER_TIME} <= self._caps:
            yield from self._history_batch(recalled.room, recalled.entries)
            return
        if not recalled.entries:
            yield f"{_line('NOTICE', recalled.room, 'No history yet', source=server)}\r\n"
        for entry in recalled.entries:
            when = stamp(entry.time)
            text = f"[{when}] {describe(entry.event)}"
            yield f"{_line('NOTICE', recalled.room, text, source=server)}\r\n"

    def _history_read(self, read: HistoryRead) -> Iterator[str]:
        # CHATHISTORY's answer: a chathistory batch (with batch), else the lines themselves.
        if Cap.BATCH in self._caps:
            yield from self._history_batch(read.target, read.entries)
            return
        for entry in read.entries:
            yield from self._past(entry, "")

    def _history_batch(self, target: str, entries: Sequence[Entry]) -> Iterator[str]:
        server = self.config.server_name
        self._batches += 1
        reference = f"history{self._batches}"
        yield f":{server} BATCH +{reference} chathistory {target}\r\n"
        for entry in entries:
            yield from self._past(entry, reference)
        yield f":{server} BATCH -{reference}\r\n"

    def _past(self, entry: Entry, batch: str) -> Iterator[str]:
        """Render a history entry as it was, with its time (server-time), in ``batch`` if any."""
        when = _server_time(entry.time) if Cap.SERVER_TIME in self._caps else ""
        lines = self._event(entry.event, entry.time, skip_own=False, past=True)
        yield from self._tagged(entry.event, when, lines, batch)

    def _conversations(self, found: ConversationsAre) -> Iterator[str]:
        # CHATHISTORY TARGETS' answer: a draft/chathistory-targets batch (with batch).
        server = self.config.server_name
        reference = ""
        if Cap.BATCH in self._caps:
            self._batches += 1
            reference = f"targets{self._batches}"
            yield f":{server} BATCH +{reference} draft/chathistory-targets\r\n"
        prefix = f"@batch={reference} " if reference else ""
        for conversation in found.conversations:
            when = _server_time(conversation.time)
            line = _line("CHATHISTORY", "TARGETS", conversation.target, when, source=server)
            yield f"{prefix}{line}\r\n"
        if reference:
            yield f":{server} BATCH -{reference}\r\n"

    def _event(
        self, event: Event, time: float, *, skip_own: bool, past: bool = False
    ) -> Iterator[str]:
        # past: the event is history, which changes nothing we know of the viewer.
        match event:
            case Said(room, nick, text, notice, user, _, host):
                if not (skip_own and nick == self._me):
                    yield from _privmsg(self._mask(nick, user, host), _verb(notice), room, text)
            case Emoted(room, nick, text, user, _, host):
                if not (skip_own and nick == self._me):
                    mask = self._mask(nick, user, host)
                    yield from _privmsg(mask, "PRIVMSG", room, text, action=True)
            case Signalled(room, nick, _, user, _, host):
                if Cap.MESSAGE_TAGS in self._caps and not (skip_own and nick == self._me):
                    yield _line("TAGMSG", room, source=self._mask(nick, user, host))
            case Joined(room, nick, away, user, account, realname, host):
                mask = self._mask(nick, user, host)
                if Cap.EXTENDED_JOIN in self._caps:
                    extended = (account or "*", realname or nick)
                    yield _line("JOIN", room, *extended, source=mask)
                else:
                    yield _line("JOIN", room, source=mask)
                if away and Cap.AWAY_NOTIFY in self._caps:
                    yield _line("AWAY", away, source=mask)
            case Parted(room, nick, message, user, host):
                mask = self._mask(nick, user, host)
                yield _line("PART", room, *_optional(message), source=mask)
            case TopicChanged(room, nick, topic, user, host):
                yield _line("TOPIC", room, topic, source=self._mask(nick, user, host))
            case ModesChanged(room, nick, changes, user, host):
                yield _line("MODE", room, *words(changes), source=self._mask(nick, user, host))
            case Redacted(target, nick, message, reason, user, host):
                if Cap.MESSAGE_REDACTION in self._caps:  # (the others never hear of it)
                    mask = self._mask(nick, user, host)
                    yield _line("REDACT", target, str(message), *_optional(reason), source=mask)
            case Kicked(room, nick, target, reason, user, host):
                yield _line("KICK", room, target, reason, source=self._mask(nick, user, host))
                if target == self._me and not past and room in self._rooms:
                    self._rooms.remove(room)
            case Renamed(old, new, user, host):
                yield _line("NICK", new, source=self._mask(old, user, host))
                if old == self._me and not past:
                    self._me = new
            case Departed(nick, reason, message, user, host):
                reason_text = _quit_reason(reason, message)
                yield _line("QUIT", reason_text, source=self._mask(nick, user, host))
            case AwayChanged(nick, message) if nick == self._me:
                if message:
                    yield self._numeric("306", "You have been marked as being away")
                else:
                    yield self._numeric("305", "You are no longer marked as being away")
            case AwayChanged(nick, message, user, host):
                if Cap.AWAY_NOTIFY in self._caps:
                    mask = self._mask(nick, user, host)
                    yield _line("AWAY", *_optional(message), source=mask)
            case RealnameChanged(nick, realname, user, host):
                if Cap.SETNAME in self._caps:  # (never to a client without it, itself included)
                    yield _line("SETNAME", realname, source=self._mask(nick, user, host))
            case AccountChanged(nick, account, user, host):
                if Cap.ACCOUNT_NOTIFY in self._caps:
                    mask = self._mask(nick, user, host)
                    yield _line("ACCOUNT", account or "*", source=mask)
            case LoggedIn(account) if account != self._account:
                self._account = account
                yield self._numeric(
                    "900", self._own_mask(), account, f"You are now logged in as {account}"
                )
            case LoggedIn():
                pass  # said already, when SASL proved it
            case LoggedOut():
                self._account = ""
                yield self._numeric("901", self._own_mask(), "You are now logged out")
            case AccountCreated(account):
                server = self.config.server_name
                yield _line("REGISTER", "SUCCESS", account, "Account created", source=server)
                self._account = account
                yield self._numeric(
                    "900", self._own_mask(), account, f"You are now logged in as {account}"
                )
            case PasswordChanged(account):
                yield _line(
                    "NOTICE", self._me, f"The password of {account} is changed", source=self._host
                )
            case SaslChallenge(data):
                yield from _authenticate_lines(data)
            case SaslSucceeded(account):
                self._sasl = None  # the exchange is over: the next AUTHENTICATE begins another
                self._account = account
                yield self._numeric(
                    "900", self._own_mask(), account, f"You are now logged in as {account}"
                )
                yield self._numeric("903", "SASL authentication successful")
            case SaslFailed(aborted, already):
                self._sasl = None
                if aborted:
                    yield self._numeric("906", "SASL authentication aborted")
                elif already:
                    yield self._numeric("907", "You have already authenticated using SASL")
                else:
                    yield self._numeric("904", "SASL authentication failed")
            case PrivateFrom(sender, text, action, notice, user, _, host, signal, recipient):
                mask = self._mask(sender, user, host)
                to = recipient if past and recipient else self._me  # (history: either end's)
                if not signal:
                    yield from _privmsg(mask, _verb(notice), to, text, action=action)
                elif Cap.MESSAGE_TAGS in self._caps:
                    yield _line("TAGMSG", to, source=mask)
            case PrivateTo(recipient, text, action, notice, signal):
                if Cap.ECHO_MESSAGE in self._caps:
                    mask = self._mask(self._me, self._user, self._own_host)
                    if not signal:
                        yield from _privmsg(mask, _verb(notice), recipient, text, action=action)
                    elif Cap.MESSAGE_TAGS in self._caps:
                        yield _line("TAGMSG", recipient, source=mask)
            case IsAway(nick, message):
                yield self._numeric("301", nick, message)
            case Invited(room, nick, target, user, host):
                if target == self._me:
                    yield _line("INVITE", target, room, source=self._mask(nick, user, host))
                elif nick == self._me:
                    yield self._numeric("341", target, room)
                elif Cap.INVITE_NOTIFY in self._caps:
                    yield _line("INVITE", target, room, source=self._mask(nick, user, host))
            case ModesAre(room, letters, key, limit, created):
                arguments = [
                    argument for argument in (key, str(limit) if limit else "") if argument
                ]
                yield self._numeric("324", room, f"+{letters}", *arguments)
                yield self._numeric("329", room, str(int(created)))
            case ListIs(room, mode, entries):
                code, end, text = _LIST_NUMERICS[mode]
                for entry in entries:
                    yield self._numeric(code, room, entry.mask, entry.setter, str(int(entry.time)))
                yield self._numeric(end, room, text)
            case OperatorNow():
                self._user_modes.add("o")
                yield self._numeric("381", "You are now an IRC operator")
                yield _line("MODE", self._me, "+o", source=self.config.server_name)
            case Wallops(nick, text, user, host):
                yield _line("WALLOPS", text, source=self._mask(nick, user, host))
            case PutOut(reason, by, message):
                why = "Killed" if reason is LeaveReason.KILLED else "Banned"
                yield _line("ERROR", f"Closing Link: ({why} ({by} ({message})))")
            case ServerBanChanged(entry, lifted, removed):
                if entry is not None:
                    until = f"until {stamp(entry.expires)}" if entry.expires else "for good"
                    text = f"Banned {entry.mask} {until}: {entry.reason} ({removed} put out)"
                else:
                    text = f"Lifted the ban on {lifted}"
                yield _line("NOTICE", self._me, text, source=self.config.server_name)
            case ServerBans(entries):
                for ban in entries:
                    until = str(int(ban.expires)) if ban.expires else "0"
                    yield self._numeric("216", "K", ban.mask, until, ban.setter, ban.reason)
                yield self._numeric("219", "K", "End of /STATS report")
            case RoomRegistered(room, founder, dropped):
                text = (
                    f"{room} is no longer registered"
                    if dropped
                    else f"{room} is registered to {founder}"
                )
                yield _line("NOTICE", self._me, text, source=_SERVICE_MASK)
            case UserModes(""):
                yield self._numeric("221", "+" + "".join(sorted(self._user_modes)))
            case UserModes(change):
                yield from self._change_user_modes(change)
            case _ServiceNotice(text):
                yield _line("NOTICE", self._me, text, source=_SERVICE_MASK)
            case _AccountServiceNotice(text):
                yield _line("NOTICE", self._me, text, source=_ACCOUNT_SERVICE_MASK)
            case PrivateHistorySet(account, on):
                text = _PRIVATE_HISTORY_SET[on].format(account=account)
                yield _line("NOTICE", self._me, text, source=_ACCOUNT_SERVICE_MASK)
            case Registered(nick, members, rooms, host):
                self._registration = None
                self._me, self._own_host = nick, host
                yield from self._welcome(members, rooms)
            case RoomEntered(room, roster, topic, by, since, read):
                self._rooms.append(room)
                yield _line("JOIN", room, source=self._mask(self._me, self._user, self._own_host))
                if topic:
                    yield self._numeric("332", room, topic)
                if topic and by:
                    yield self._numeric("333", room, by, str(int(since)))
                *names, end = self._names_lines(room, roster)
                yield from names
                if Cap.READ_MARKER in self._caps:  # after the JOIN, before the end of NAMES
                    yield self._markread_line(room, read)
                yield end
            case RoomExited(room, message):
                self._rooms.remove(room)
                mask = self._mask(self._me, self._user, self._own_host)
                yield _line("PART", room, *_optional(message), source=mask)
            case CurrentRoom():
                pass  # IRC has no current room: every message names its target
            case Roster(room, roster):
                yield from self._names_lines(room, roster)
            case RoomList(rooms):
                yield self._numeric("321", "Channel", "Users  Name")
                for summary in rooms:
                    yield self._numeric("322", summary.room, str(summary.members), summary.topic)
                yield self._numeric(_END_OF_LIST.code, *_END_OF_LIST.params)
            case TopicIs(room, ""):
                yield self._numeric("331", room, "No topic is set")
            case TopicIs(room, topic, by, since):
                yield self._numeric("332", room, topic)
                if by:
                    yield self._numeric("333", room, by, str(int(since)))
            case Found(label, asked, members):
                yield from self._found(label, asked, members)
            case PresenceIs(online, offline):
                masks = [self._mask(seen.nick, seen.user, seen.host) for seen in online]
                yield from (self._numeric("730", line) for line in _comma_lines(masks))
                yield from (self._numeric("731", line) for line in _comma_lines(offline))
            case ReadMarker(target, marker, asked):
                if asked or Cap.READ_MARKER in self._caps:  # (an answer, whatever the caps)
                    yield self._markread_line(target, marker)
            case WatchList(nicks):
                yield from (self._numeric("732", line) for line in _comma_lines(nicks))
                yield self._numeric("733", "End of MONITOR list")
            case Counts(members, rooms, peak):
                yield from self._lusers(members, rooms, peak)
            case Goodbye():
                yield _line("ERROR", "Closing Link: (Quit)")
            case ShuttingDown():
                yield _line("ERROR", "Closing Link: (Server shutting down)")
            case ServiceChanged(status):
                yield _line("NOTICE", self._me, service_news(status), source=self._host)
            case Refusal():
                yield from self._refusal(event)
            case Numeric(code, params):
                yield self._numeric(code, *params)
            case Numerics(items):
                yield from (self._numeric(item.code, *item.params) for item in items)
            case _InvalidUtf8(command):
                text = "Message rejected: this network uses UTF-8 only"
                yield _line(
                    "FAIL",
                    sanitize(command).upper() or "*",
                    "INVALID_UTF8",
                    text,
                    source=self.config.server_name,
                )
            case _Fail(command, code, params):
                yield _line("FAIL", command, code, *params, source=self.config.server_name)
            case _CapLine(subcommand, text):
                yield _line("CAP", self._me, subcommand, text, source=self.config.server_name)
            case Pong(token):
                server = self.config.server_name
                yield _line("PONG", server, token, source=server)
            case Ping(token):
                yield _line("PING", token)
            case TimeReply():
                when = datetime.fromtimestamp(time, UTC).strftime("%A %B %d %Y -- %H:%M:%S UTC")
                yield self._numeric("391", self.config.server_name, when)
            case CapAcknowledged(requested, enable, disable):
                self._set_caps((self._caps | enable) - disable)
                yield _line("CAP", self._me, "ACK", requested, source=self.config.server_name)
            case _:
                raise AssertionError(f"not an IRC event: {event!r}")

    def _change_user_modes(self, change: str) -> Iterator[str]:
        """Apply ``+i``, ``-i``, ``+w``, ``-w`` (what clients set as they connect) to ourselves.

        They change nothing else here: nobody is listed by WHO who shares no room with the
        asker anyway, and WALLOPS reach server operators only. ``o`` comes only with OPER.
        ``+B`` and ``-B`` (a bot) are the hub's to know too: :meth:`_user_mode` told it.
        """
        applied, sign, on = [], "", True
        for letter in change:
            if letter in "+-":
                on = letter == "+"
            elif letter in "iw" + BOT_MODE:
                if (letter in self._user_modes) != on:
                    (self._user_modes.add if on else self._user_modes.discard)(letter)
                    wanted = "+" if on else "-"
                    applied.append(letter if wanted == sign else wanted + letter)
                    sign = wanted
            elif letter == "o" and not on and "o" in self._user_modes:
                pass  # giving up operator rights is not offered: reconnect instead
            else:
                yield self._numeric("501", "Unknown MODE flag")
                return
        if applied:
            yield _line("MODE", self._me, "".join(applied), source=self._own_mask())

    def _welcome(self, members: int, rooms: int) -> Iterator[str]:
        server = self.config.server_name
        network = self.config.network
        yield self._numeric("001", f"Welcome to the {network} IRC Network {self._own_mask()}")
        yield self._numeric("002", f"Your host is {server}, running version {VERSION}")
        yield self._numeric("003", f"This server was created {self.config.created or 'today'}")
        yield self._numeric("004", server, VERSION, USER_MODES, ROOM_MODES)
        for numeric in self._isupport():
            yield self._numeric(numeric.code, *numeric.params)
        yield from self._lusers(members, rooms, members)
        for numeric in self._motd().items:
            yield self._numeric(numeric.code, *numeric.params)

    def _lusers(self, members: int, rooms: int, peak: int) -> Iterator[str]:
        yield self._numeric("251", f"There are {members} users and 0 invisible on 1 servers")
        yield self._numeric("254", str(rooms), "channels formed")
        yield self._numeric("255", f"I have {members} clients and 0 servers")
        yield self._numeric("265", str(members), str(peak), "Current local users")
        yield self._numeric("266", str(members), str(peak), "Current global users")

    def _names_lines(self, room: str, roster: Sequence[RosterEntry]) -> Iterator[str]:
        every = Cap.MULTI_PREFIX in self._caps
        if Cap.USERHOST_IN_NAMES in self._caps:
            nicks = [marks(e.roles, every=every) + self._mask(e.nick, "") for e in roster]
        else:  # (most have no role: no call for them)
            nicks = [marks(e.roles, every=every) + e.nick if e.roles else e.nick for e in roster]
        line: list[str] = []
        size = 0
        for nick in nicks:
            if line and size + len(nick.encode()) + 1 > NAMES_BYTES:
                yield self._numeric("353", "=", room, " ".join(line))
                line, size = [], 0
            line.append(nick)
            size += len(nick.encode()) + 1
        if line:
            yield self._numeric("353", "=", room, " ".join(line))
        yield self._numeric("366", room, "End of /NAMES list")

    def _found(
        self, label: str, asked: tuple[str, ...], members: tuple[MemberInfo, ...]
    ) -> Iterator[str]:
        command, _, argument = label.partition(" ")
        if command in ("NAMES", "WHO") and (
            argument.startswith(ROOM_PREFIX) or "*" in argument or "?" in argument
        ):
            infos = list(members)  # a room's, or a mask's: all of them, in order
        else:
            online = {_fold(info.nick): info for info in members}
            infos = [online[_fold(nick)] for nick in asked if _fold(nick) in online]
        match command:
            case "ISON":
                yield self._numeric("303", " ".join(info.nick for info in infos))
            case "USERHOST":
                replies = (
                    f"{info.nick}{'*' if info.operator else ''}={'-' if info.away else '+'}"
                    f"{_user(info.user, info.nick)}@{info.host or self._host}"
                    for info in infos
                )
                yield self._numeric("302", " ".join(replies))
            case "WHOIS":
                if not infos:
                    yield self._numeric("401", argument, "No such nick")
                for info in infos:
                    user, realname = _user(info.user, info.nick), info.realname or info.nick
                    host = info.host or self._host
                    yield self._numeric("311", info.nick, user, host, "*", realname)
                    if info.rooms:
                        every = Cap.MULTI_PREFIX in self._caps
                        rooms = (marks(m.roles, every=every) + m.room for m in info.rooms)
                        yield self._numeric("319", info.nick, " ".join(rooms))
                    yield self._numeric("312", info.nick, self.config.server_name, VERSION)
                    if info.operator:
                        yield self._numeric("313", info.nick, "is an IRC operator")
                    if info.bot:  # RPL_WHOISBOT
                        yield self._numeric("335", info.nick, f"is a bot on {self.config.network}")
                    if info.account:
                        yield self._numeric("330", info.nick, info.account, "is logged in as")
                    if info.address:  # told to server operators only
                        text = "is actually using host"
                        yield self._numeric("338", info.nick, info.address, text)
                    if info.away:
                        yield self._numeric("301", info.nick, info.away)
                yield self._numeric("318", argument, "End of /WHOIS list")
            case "NAMES":
                roster = [RosterEntry(info.nick, _roles_in(info, argument)) for info in infos]
                yield from self._names_lines(argument, roster)
            case _:  # WHO <channel, nick or mask>
                for info in infos:
                    if argument.startswith(ROOM_PREFIX):
                        # The room as it spells itself, whatever the asker typed (#CHAN).
                        key = _fold_room(argument)
                        rooms = (m.room for m in info.rooms if _fold_room(m.room) == key)
                        where = next(rooms, argument)
                    else:
                        where = info.rooms[-1].room if info.rooms else "*"
                    yield self._who_line(where, info, _roles_in(info, where))
                yield self._numeric("315", argument, "End of WHO list")

    def _markread_line(self, target: str, time: int | None) -> str:
        stamp = "*" if time is None else f"timestamp={_milliseconds_time(time)}"
        return _line("MARKREAD", target, stamp, source=self.config.server_name)

    def _who_line(self, room: str, info: MemberInfo, roles: Roles) -> str:
        flags = ("G" if info.away else "H") + ("*" if info.operator else "")
        flags += BOT_MODE if info.bot else ""  # the bot mode's letter is its WHO flag too
        flags += marks(roles, every=Cap.MULTI_PREFIX in self._caps)
        server, nick = self.config.server_name, info.nick
        hops_and_name = f"0 {info.realname or nick}"
        user, host = _user(info.user, nick), info.host or self._host
        return self._numeric("352", room, user, host, server, nick, flags, hops_and_name)

    def _refusal(self, refusal: Refusal) -> Iterator[str]:
        """Word a refusal from the hub as its numeric (none, for a rename to one's own name)."""
        subject = refusal.subject
        match refusal.reason:
            case Reason.NICK_UNCHANGED:
                return
            case Reason.NICK_TAKEN:
                yield self._numeric("433", subject, "Nickname is already in use")
            case Reason.NICK_REGISTERED | Reason.NICK_LOOKS_REGISTERED:
                text = f"{explain(refusal)}: log in with SASL, or PASS {subject}:password"
                yield self._numeric("433", subject, text)
            case reason if reason.name.startswith("NICK_"):
                yield self._numeric(
                    "432", subject or "*", f"Erroneous nickname: {explain(refusal)}"
                )
            case Reason.NO_SUCH_NICK:
                yield self._numeric("401", subject, "No such nick")
            case reason if reason in _MODERATION_NUMERICS:
                code, text = _MODERATION_NUMERICS[reason]
                yield self._numeric(code, subject, text)
            case Reason.NOT_SERVER_OPERATOR:
                yield self._numeric("481", "Permission Denied- You're not an IRC operator")
            case Reason.WRONG_OPERATOR_LOGIN:
                yield self._numeric("464", "Password incorrect")
            case Reason.NOT_IN_THAT_ROOM:
                yield self._numeric("441", subject, refusal.detail, "They aren't on that channel")
            case Reason.ALREADY_IN_ROOM:
                yield self._numeric("443", subject, refusal.detail, "is already on channel")
            case Reason.BAD_MODE_ARGUMENT:  # (the value itself is not kept: "*" stands for it)
                yield self._numeric("696", subject, refusal.detail, "*", explain(refusal))
            case Reason.REALNAME_INVALID:
                text = f"Realname is not valid: {explain(refusal)}"
                yield _line("FAIL", "SETNAME", "INVALID_REALNAME", text, source=self._host)
            case Reason.WATCH_LIST_FULL:
                yield self._numeric("734", refusal.detail, subject, "Monitor list is full")
            case Reason.LIST_FULL:
                yield self._numeric("478", subject, "b", "Channel list is full")
            case Reason.SERVER_BANNED:
                yield self._numeric("465", f"You are banned from this server: {refusal.detail}")
                yield _line("ERROR", f"Closing Link: (Banned: {refusal.detail})")
            case (
                Reason.ROOM_ALREADY_REGISTERED
                | Reason.ROOM_NOT_REGISTERED
                | Reason.NOT_FOUNDER
                | Reason.NOT_LOGGED_IN
            ):
                yield _line("NOTICE", self._me, explain(refusal), source=_SERVICE_MASK)
            case Reason.PRIVATE_HISTORY_NEEDS_LOGIN:
                yield _line("NOTICE", self._me, explain(refusal), source=_ACCOUNT_SERVICE_MASK)
            case Reason.HISTORY_NOT_YOURS | Reason.HISTORY_NEEDS_LOGIN:
                server = self.config.server_name
                context = (refusal.detail, subject, explain(refusal))
                yield _line("FAIL", "CHATHISTORY", "INVALID_TARGET", *context, source=server)
            case Reason.REDACT_INVALID_TARGET:
                server = self.config.server_name
                text = explain(refusal)
                yield _line("FAIL", "REDACT", "INVALID_TARGET", subject, text, source=server)
            case Reason.REDACT_UNKNOWN | Reason.REDACT_FORBIDDEN:
                server = self.config.server_name
                code = _REDACT_FAILURES[refusal.reason]
                context = (subject, refusal.detail, explain(refusal))
                yield _line("FAIL", "REDACT", code, *context, source=server)
            case Reason.HISTORY_UNAVAILABLE:
                server = self.config.server_name
                context = (refusal.detail, subject, explain(refusal))
                yield _line("FAIL", "CHATHISTORY", "MESSAGE_ERROR", *context, source=server)
            case Reason.NO_SUCH_ROOM:
                yield self._numeric("403", subject, "No such channel")
            case Reason.CANNOT_SEND:
                yield self._numeric("404", subject, "Cannot send to channel")
            case Reason.NOT_IN_ROOM:
                yield self._numeric("442", subject, "You're not on that channel")
            case Reason.TOO_MANY_ROOMS_JOINED | Reason.TOO_MANY_ROOMS:
                yield self._numeric(
                    "405", subject, f"You have joined too many channels: {explain(refusal)}"
                )
            case Reason.ALREADY_REGISTERED:
                yield self._numeric("462", "You may not reregister")
            case Reason.LINE_TOO_LONG:
                yield self._numeric("417", "Input line was too long")
            case Reason.EXCESS_FLOOD:
                yield _line("ERROR", "Closing Link: (Excess Flood)")
            case reason if reason in _REGISTER_FAILURES:
                code = _REGISTER_FAILURES[reason]
                server = self.config.server_name
                yield _line(
                    "FAIL", "REGISTER", code, subject or "*", explain(refusal), source=server
                )
            case Reason.WRONG_PASSWORD | Reason.LOGINS_THROTTLED | Reason.NO_SUCH_ACCOUNT:
                yield self._numeric("464", explain(refusal))  # PASS account:password, wrong
            case _:  # a topic or away message too long, a room name refused by the hub
                yield self._numeric("400", "*", explain(refusal))

    # --- helpers ----------------------------------------------------------------------------

    @property
    def _host(self) -> str:
        """The host of every mask: this server (clients' addresses are nobody's business)."""
        return self.config.server_name

    def _mask(self, nick: str, user: str, host: str = "") -> str:
        return f"{nick}!{_user(user, nick)}@{host or self._host}"

    def _own_mask(self) -> str:
        """Our own mask, while registering too (with the nickname asked for, if any)."""
        state = self._registration
        if state is None:
            return self._mask(self._me, self._user, self._own_host)
        nick = state.nick.display if state.nick is not None else "*"
        return self._mask(nick, state.user or "")

    def _numeric(self, code: str, *params: str) -> str:
        return _line(code, self._me, *params, source=self.config.server_name)


_END_OF_LIST = Numeric("323", ("End of /LIST",))
_SASL_FAILED = Numeric("904", ("SASL authentication failed",))
_MECHANISMS_TEXT = "are available SASL mechanisms"
# The capabilities that change how a shared delivery is rendered: one rendering per mix.
# (Not multi-prefix or userhost-in-names: they change only NAMES, WHO and WHOIS, numerics told
# to one member, which are never in a shared delivery.)
_SHARED_KINDS = (
    Cap.SERVER_TIME,
    Cap.AWAY_NOTIFY,
    Cap.ACCOUNT_TAG,
    Cap.ACCOUNT_NOTIFY,
    Cap.EXTENDED_JOIN,
    Cap.SETNAME,
    Cap.MESSAGE_TAGS,
    Cap.MESSAGE_REDACTION,
)
_COMMANDS = typing.get_args(Command)  # what the hub does: what a label can mark
_SIGNED = (Said, Emoted, Signalled, PrivateFrom, Invited)  # account-tag: the sender's account
_TAGGED = (Said, Emoted, Signalled, PrivateFrom, PrivateTo)  # may carry client-only tags
_SPOKEN = (Said, Emoted, Signalled)  # a member's own lines: what a Delivery's speakers said
# What has an id, shown as msgid (with message-tags).
_IDENTIFIED = (*HISTORIC, PrivateTo)
# The capabilities that put tags of their own on a line: without them, one prefix fits all.
_TAGGING = frozenset({Cap.MESSAGE_TAGS, Cap.ACCOUNT_TAG})


def _own(event: Event, me: str) -> bool:
    """Whether ``event`` is an invitation ``me`` sent: its answer (341) is the server's word."""
    return isinstance(event, Invited) and event.nick == me


# draft/account-registration's FAIL codes, for the refusals REGISTER can get.
_REGISTER_FAILURES = {
    Reason.ACCOUNT_EXISTS: "ACCOUNT_EXISTS",
    Reason.ACCOUNT_NAME_IN_USE: "ACCOUNT_EXISTS",
    Reason.PASSWORD_TOO_SHORT: "WEAK_PASSWORD",
    Reason.PASSWORD_TOO_LONG: "UNACCEPTABLE_PASSWORD",
    Reason.ALREADY_LOGGED_IN: "ALREADY_AUTHENTICATED",
    Reason.REGISTRATIONS_THROTTLED: "TEMPORARILY_UNAVAILABLE",
    Reason.NOT_SAVED: "TEMPORARILY_UNAVAILABLE",
}
# A list mode's entry numeric, its end numeric and the end's text.
_LIST_NUMERICS = {
    Mode.BAN: ("367", "368", "End of channel ban list"),
    Mode.EXCEPTION: ("348", "349", "End of channel exception list"),
    Mode.INVITATION: ("346", "347", "End of channel invite list"),
}
_SERVICES = {"chanserv", "cs"}  # folded: who /msg reaches for ChanServ
_SERVICE_MASK = f"{SERVICE}!{SERVICE}@services"
_ACCOUNT_SERVICES = {"nickserv", "ns"}  # folded: who /msg reaches for NickServ
_ACCOUNT_SERVICE_MASK = f"{ACCOUNT_SERVICE}!{ACCOUNT_SERVICE}@services"
# NickServ's SET names for the private-history setting: ours, and ergo's (what users know).
_PRIVATE_HISTORY_SETTINGS = {"PRIVATE-HISTORY", "DM-HISTORY"}
_PRIVATE_HISTORY_SET = {
    True: "Private messages of {account} are kept from now on (CHATHISTORY reads them back)",
    False: "Private messages of {account} are no longer kept, at either end (older ones stay)",
}
# The refusals of moderation, and their numerics.
_MODERATION_NUMERICS = {
    Reason.NOT_ROOM_OPERATOR: ("482", "You're not channel operator"),
    Reason.BANNED_FROM_ROOM: ("474", "Cannot join channel (+b)"),
    Reason.INVITE_ONLY: ("473", "Cannot join channel (+i)"),
    Reason.WRONG_KEY: ("475", "Cannot join channel (+k)"),
    Reason.ROOM_FULL: ("471", "Cannot join channel (+l)"),
    Reason.ACCOUNT_NEEDED: ("477", "Cannot join channel (+R): log in to an account first"),
    Reason.MODERATED: ("404", "Cannot send to channel (+m)"),
    Reason.MUTED: ("404", "Cannot send to channel (you are muted)"),
    Reason.ACCOUNT_NEEDED_TO_SPEAK: ("404", "Cannot send to channel (+M): log in first"),
    Reason.BANNED_CANNOT_SPEAK: ("404", "Cannot send to channel (+b)"),
    Reason.ROOMS_CREATED_THROTTLED: ("405", "You have made too many channels"),
}
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


_IN_A_BATCH = "@batch="  # how a line of a batch starts (its batch tag comes first)


def _with_tag(line: str, one: str) -> str:
    """Return ``line`` with the tag ``one`` first among its tags."""
    return f"@{one};{line[1:]}" if line.startswith("@") else f"@{one} {line}"


def _labeled(label: str, inputs: list[Input]) -> Iterator[Input]:
    """Label what a line asks the hub for; as it was if it asks for anything else."""
    commands = [each for each in inputs if each is not IGNORED]
    if len(label.encode()) > MAX_LABEL_BYTES or not all(
        isinstance(each, _COMMANDS) for each in commands
    ):
        yield from inputs  # a registration, a login: answered by the shell, not in one turn
        return
    yield Labeled(label, tuple(each for each in commands if isinstance(each, _COMMANDS)))


def _line(command: str, *params: str, source: str | None = None) -> str:
    return serialize(Message(command, params, source))


def _error(text: str) -> bytes:
    return f"{_line('ERROR', text)}\r\n".encode()


def _optional(text: str) -> tuple[str, ...]:
    return (text,) if text else ()


def _comma_lines(items: Sequence[str]) -> Iterator[str]:
    """Join ``items`` with commas, in as many parameters as keep each line under 512 bytes."""
    line: list[str] = []
    size = 0
    for item in items:
        if line and size + len(item.encode()) + 1 > NAMES_BYTES:
            yield ",".join(line)
            line, size = [], 0
        line.append(item)
        size += len(item.encode()) + 1
    if line:
        yield ",".join(line)


def _verb(notice: bool) -> str:
    return "NOTICE" if notice else "PRIVMSG"


def _privmsg(
    source: str, verb: str, target: str, text: str, *, action: bool = False
) -> Iterator[str]:
    """PRIVMSG (or NOTICE) lines carrying ``text``, split so that each fits in 512 bytes."""
    frame = f":{source} {verb} {target} :"
    room = MAX_IRC_LINE_BYTES - 2 - len(frame.encode()) - (len(ACTION) + 1 if action else 0)
    for piece in split_text(text, room):
        yield frame + (f"{ACTION}{piece}{CTCP}" if action else piece)


def _quit_reason(reason: LeaveReason, message: str) -> str:
    if reason is LeaveReason.QUIT:
        return f"Quit: {message}" if message else "Quit"
    if reason is LeaveReason.KILLED:
        return message  # "Killed (oper (reason))", as IRC servers say it
    if reason is LeaveReason.BANNED:
        return f"Banned: {message}" if message else "Banned"
    return str(reason.value).capitalize()


def _server_time(time: float) -> str:
    moment = datetime.fromtimestamp(time, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# IRCv3's server-time, to the millisecond, in UTC: what MARKREAD's timestamps are.
_TIMESTAMP = re.compile(r"timestamp=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z")


_DIRECTIONS = {direction.value: direction for direction in Direction}
_REDACT_FAILURES = {
    Reason.REDACT_UNKNOWN: "UNKNOWN_MSGID",
    Reason.REDACT_FORBIDDEN: "REDACT_FORBIDDEN",
}


def _history_fail(code: str, *context: str) -> Tell:
    """Refuse a CHATHISTORY: ``FAIL CHATHISTORY <code> <context...> :<description>``."""
    return Tell(_Fail("CHATHISTORY", code, context))


def _history_target(typed: str) -> RoomName | Nickname | Refusal:
    return RoomName.parse(typed) if typed.startswith(ROOM_PREFIX) else Nickname.parse(typed)


def _mark(typed: str) -> Mark | None:
    """Read ``msgid=<id>`` or ``timestamp=<server-time>``; None if it is neither."""
    key, _, value = typed.partition("=")
    if key == "msgid":
        return AtId(int(value)) if value.isascii() and value.isdigit() else None
    time = _timestamp(typed)
    return None if time is None else AtTime(time)


def _limit(typed: str) -> int | None:
    """Read a CHATHISTORY limit: at most CHATHISTORY_MAX (more is that); None if not one."""
    if not (typed.isascii() and typed.isdigit()) or int(typed) == 0:
        return None
    return min(int(typed), CHATHISTORY_MAX)


def _timestamp(typed: str) -> int | None:
    """Return ``timestamp=YYYY-MM-DDThh:mm:ss.sssZ`` in milliseconds since the epoch, or None."""
    if (match := _TIMESTAMP.fullmatch(typed)) is None:
        return None
    try:
        moment = datetime.strptime(match[1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:  # the 13th month, the 30th of February
        return None
    return int(moment.timestamp()) * 1000 + int(match[2])


def _milliseconds_time(time: int) -> str:
    """Write milliseconds since the epoch as :func:`_timestamp` reads them (exactly: no float)."""
    seconds, milliseconds = divmod(time, 1000)
    return (
        datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{milliseconds:03d}Z"
    )


def _user(user: str, nick: str) -> str:
    return user or nick


def _user_name(typed: str) -> str:
    """Make the user name a client gave safe for masks, marked unverified with "~"."""
    safe = "".join(char for char in sanitize(typed) if char.isalnum() or char in "_-.")
    return "~" + (safe or "user")[: USER_LENGTH - 1]


def _roles_in(info: MemberInfo, room: str) -> Roles:
    """Return the roles ``info``'s member has in ``room`` (as a client typed it): none if absent."""
    key = _fold_room(room)
    return next((m.roles for m in info.rooms if _fold_room(m.room) == key), NO_ROLES)


def _fold_room(name: str) -> str:
    parsed = RoomName.parse(name)
    return parsed.key if isinstance(parsed, RoomName) else name


def _authenticate_lines(data: bytes) -> Iterator[str]:
    """Return a SASL message as AUTHENTICATE lines: base64 in 400s, ``+`` after a full one."""
    encoded = base64.b64encode(data).decode()
    for start in range(0, len(encoded), SASL_CHUNK):
        yield _line("AUTHENTICATE", encoded[start : start + SASL_CHUNK])
    if len(encoded) % SASL_CHUNK == 0:
        yield _line("AUTHENTICATE", "+")


def _nickname(display: str) -> Nickname | None:
    parsed = Nickname.parse(display)
    return parsed if isinstance(parsed, Nickname) else None


def _nickserv(text: str) -> Input:
    """Read what ``/msg NickServ`` asks: ``SET PRIVATE-HISTORY ON|OFF`` (or ``DM-HISTORY``)."""
    match text.upper().split():
        case ["SET", setting, "ON" | "OFF" as choice] if setting in _PRIVATE_HISTORY_SETTINGS:
            return SetPrivateHistory(on=choice == "ON")
    usage = "SET PRIVATE-HISTORY ON|OFF (keep your account's private messages, or not)"
    return Tell(_AccountServiceNotice(usage))


def _fold(nick: str) -> str:
    parsed = Nickname.parse(nick)
    return parsed.key if isinstance(parsed, Nickname) else nick  # (an invalid one: as is)


def _room(display: str) -> RoomName:
    parsed = RoomName.parse(display)
    assert isinstance(parsed, RoomName), "the hub's rooms have valid names"
    return parsed


def _too_long(line: bytes) -> bool:
    tags, rest = split_tags(line)
    return len(tags) > MAX_TAGS_BYTES or len(rest) > MAX_IRC_LINE_BYTES - 2


def _erroneous(typed: str, refusal: Refusal) -> Numeric:
    return Numeric("432", (sanitize(typed) or "*", f"Erroneous nickname: {explain(refusal)}"))


def _no_such_nick(typed: str) -> Numeric:
    return Numeric("401", (sanitize(typed) or "*", "No such nick"))


def _duration(typed: str) -> int | None:
    """Read a ban's duration: seconds, or ``30m``, ``2h``, ``7d``, ``1w``; None if it is none."""
    if typed.isdecimal():
        return int(typed)
    number, unit = typed[:-1], typed[-1:].lower()
    if number.isdecimal() and unit in _DURATION_UNITS:
        return int(number) * _DURATION_UNITS[unit]
    return None


def _no_such_channel(typed: str) -> Numeric:
    return Numeric("403", (sanitize(typed) or "*", "No such channel"))


def _bad_room(typed: str, refusal: Refusal) -> Numeric:
    if refusal.reason is Reason.ROOM_NAME_NO_HASH:
        return Numeric("403", (sanitize(typed) or "*", "No such channel"))
    return Numeric("479", (sanitize(typed) or "*", f"Illegal channel name: {explain(refusal)}"))


def _cap_change(requested: str) -> tuple[frozenset[Cap], frozenset[Cap]] | None:
    """Find the capabilities a CAP REQ enables and disables; None if any is unknown (NAK)."""
    enable: set[Cap] = set()
    disable: set[Cap] = set()
    for name in requested.split():
        cap = _CAPS.get(name.removeprefix("-"))
        if cap is None:
            return None
        (disable if name.startswith("-") else enable).add(cap)
    return frozenset(enable), frozenset(disable)
