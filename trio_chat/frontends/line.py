"""The plain-text line protocol (what ``nc``, ``telnet`` and ``trio-chat client`` speak).

Pure: no I/O, no Trio. :class:`LineFrontEnd` is one connection's protocol object: lines from the
peer become :mod:`trio_chat.core.events` commands, deliveries from the hub become lines.

Every line the server sends starts with a marker, so people and scripts can tell them apart:
``<nick>`` a chat message, ``*`` a notice, ``!`` an error for you alone, ``[pm`` a private
message, ``~`` a line of a room's past (with its time), and ``#`` a line of a room: a line
that belongs to a room starts with the room's name (``#rust <alice> hi``) unless that room is
the only one you are in, so that someone who never types a room command sees exactly the
lines of a one-room chat. Lines about joining and leaving a room name the room in their text
instead (``* alice left #rust``). A chat line is as long as what was said plus its markers;
lists (rosters, the rooms) are cut into lines of at most ``LIST_LINE_BYTES``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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
    HistoryRead,
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
    PresenceIs,
    PrivateFrom,
    PrivateHistorySet,
    PrivateMessage,
    PrivateTo,
    PutOut,
    Quit,
    ReadMarker,
    RealnameChanged,
    Recalled,
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
    Say,
    SendWallops,
    ServerBanChanged,
    ServerBanEntry,
    ServerBans,
    Service,
    ServiceChanged,
    SetAway,
    SetPrivateHistory,
    SetTopic,
    ShowHistory,
    ShowServerBans,
    ShowTopic,
    ShowWatched,
    ShuttingDown,
    Signalled,
    SwitchRoom,
    Tell,
    TopicChanged,
    TopicIs,
    Unwatch,
    Wallops,
    Watch,
    Who,
)
from trio_chat.core.framing import LineFramer, LineTooLong
from trio_chat.core.modes import MAX_CHANGES, Mode, ModeChange, parse_changes
from trio_chat.core.refusals import Reason, Refusal, explain
from trio_chat.core.roles import marks
from trio_chat.core.text import ROOM_PREFIX, Nickname, RoomName, sanitize, sanitized
from trio_chat.core.wording import describe, parenthesized, service_news, stamp
from trio_chat.frontends.base import (
    IGNORED,
    AccountInput,
    Authenticate,
    ChangeOwnPassword,
    Farewell,
    Input,
    Introduce,
    OperLogin,
    RegisterAccount,
    Send,
)

PROMPT = b"* what is your name?\n"
DEFAULT_MAX_LINE_BYTES = 2048  # the longest line accepted from a peer, unless configured
LIST_LINE_BYTES = 2048  # lists (rosters, rooms) are cut into lines of at most this many bytes
CONTINUATION = "*   "  # starts the lines that continue a long list
HISTORY_SHOWN = 20  # entries /history shows without a number...
HISTORY_ASKED_MAX = 1000  # ...and the most it may ask for (from memory, then the database)
LISTED_ROOMS = 100  # /rooms names the largest rooms only, and says how many more there are

HELP_LINES = (
    "* commands:",
    "*   /join #room [key]   join a room and talk there (with its key, if it has one)",
    "*   /part [#room]       leave a room (the current one if none is named)",
    "*   /switch #room       talk in another of your rooms",
    "*   /rooms              list the rooms, largest first",
    "*   /who [#room]        list who is in a room",
    "*   /topic [text]       show or set the current room's topic",
    "*   /away [message]     say you are away (or, without a message, back)",
    "*   /history [N]        show what was said in the current room before",
    "*   /me <action>        describe what you do",
    "*   /nick <name>        change your nickname",
    "*   /register PASSWORD  make your nickname an account: yours alone, with this password",
    "*   /login NAME PASSWORD  log in to your account (or answer the password prompt)",
    "*   /passwd OLD NEW     change your account's password",
    "*   /logout             log out (under another nickname than your account's)",
    "*   /private-history on|off  keep your private messages in history, or none at either end",
    "*   /msg <name> <text>  send a private message",
    "*   /watch <name>...    be told when they come online or leave (/unwatch, /watching)",
    "* running a room (its operators, marked @; members with voice are marked +):",
    "*   /op, /deop, /voice, /devoice [#room] <name>  give or take a role",
    "*   /kick [#room] <name> [reason]   put someone out of the room",
    "*   /ban [#room] <name|mask> [reason]  ban (a name: its host) and put out",
    "*   /unban [#room] <mask>          lift a ban (/mode +b lists them)",
    "*   /mute, /unmute [#room] <name|mask>  silence someone in the room, or not",
    "*   /mode [#room] [+-modes args]   show or change modes: +t topic lock,",
    "*                        +m moderated, +i invite-only, +k key, +l limit, +s secret",
    "*   /invite <name> [#room]         invite someone (to an invite-only room)",
    "*   /register-room #room, /drop-room #room  keep a room you run, or stop",
    "* server operators:",
    "*   /oper NAME PASSWORD  become a server operator",
    "*   /kill <name> <reason>  put someone off the server",
    "*   /wallops <text>     tell every server operator",
    "*   /serverban [30m|2h|7d] <mask> [reason], /unserverban <mask>, /serverbans",
    "*   /help               show this help",
    "*   /exit or /quit      leave",
    "*   //text              send a line that starts with /",
)

_FAREWELLS = {
    Farewell.SERVER_FULL: b"! server full\n",
    Farewell.TOO_MANY_FROM_ADDRESS: b"! too many connections from your address\n",
    Farewell.TIMED_OUT: b"! timed out\n",
    Farewell.EXCESS_FLOOD: b"! excess flood\n",
    Farewell.SHUTTING_DOWN: b"* server shutting down\n",
    Farewell.UNAVAILABLE: b"! chat is unavailable, try again later\n",
}

# The plain protocol's own hints, where the shared English wording has none.
_HINTS = {
    Reason.UNKNOWN_COMMAND: " (try /help)",
    Reason.IN_NO_ROOM: " (try /join #name)",
}


@dataclass(frozen=True, slots=True)
class Help(Reply):
    """The member asked for /help: the plain front end's own reply, in order (see Tell)."""


class LineFrontEnd:
    """The plain protocol for one connection (see :class:`~trio_chat.frontends.base.FrontEnd`).

    It remembers what it needs about its viewer, from the deliveries it renders: whether it is
    registered, and which rooms it is in (to know when room lines need their prefix).
    """

    __slots__ = ("_eof", "_framer", "_nick", "_password_for", "_registered", "_rooms", "_welcome")

    def __init__(self, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self._framer = LineFramer(max_line_bytes)
        self._eof = False
        self._registered = False
        self._welcome: str | None = None  # registered as this, lobby welcome not yet shown
        self._nick: str | None = None  # the viewer's nickname, once registered
        self._rooms: list[str] = []  # the rooms the viewer is in, as displayed
        self._password_for: Nickname | None = None  # a registered name asked for: password?

    def greeting(self) -> bytes:
        """Ask for a name."""
        return PROMPT

    def receive_data(self, data: bytes) -> None:
        """Feed received bytes (``b""``: end of input)."""
        if data:
            self._framer.feed(data)
        else:
            self._framer.feed_eof()

    def next_input(self) -> Input | None:
        """Parse the next line: a command (a nickname while registering), or None for more bytes."""
        line = self._framer.next_line()
        if line is None:
            return None
        if not self._registered and self._password_for is not None:
            # The answer to "alice is registered: password?", as typed (never sanitized).
            name, self._password_for = self._password_for, None
            if isinstance(line, LineTooLong):
                return Send(_refusal_line(_too_long(line)).encode() + PROMPT)
            return Introduce(name, account=name, password=line.decode("utf-8", "replace"))
        if not self._registered:
            nick = parse_name(line)
            if isinstance(nick, Refusal):
                return Send(_refusal_line(nick).encode() + PROMPT)
            return Introduce(nick)
        command = parse_line(line)
        return IGNORED if command is None else command

    def render(self, delivery: Delivery) -> bytes:
        """Render the lines that show ``delivery``."""
        if delivery.personal:
            return self._render_personal(delivery.events)
        # A shared delivery holds events of the viewer's rooms only, and none that change what
        # we know of the viewer: one rendering fits everyone in as many rooms (one, or more).
        if len(self._rooms) > 1:
            return delivery.render(_PREFIXED, _encode_prefixed)
        return delivery.render(_UNPREFIXED, _encode_unprefixed)

    def farewell(self, why: Farewell) -> bytes:
        """One line saying why the connection closes."""
        return _FAREWELLS[why]

    def keepalive(self) -> None:
        """Have none: a plain-text peer is not expected to answer anything (TCP keepalive is)."""

    def _render_personal(self, events: Sequence[Event]) -> bytes:
        lines = []
        for event in events:
            match event:
                case AwayChanged(nick, message) if nick == self._nick:
                    lines.append(f"* you are away: {message}\n" if message else "* you are back\n")
                    continue
                case Renamed(old, new) if old == self._nick:
                    self._nick = new
                case Registered(nick):
                    self._nick = nick
                    self._registered = True
                    self._welcome = nick  # shown with the lobby's roster, which comes next
                    continue
                case RoomEntered(room, roster, topic) if self._welcome is not None:
                    # The first room of a session: the one welcome a one-room chat would give.
                    lines.append(_list(f"* welcome, {self._welcome}! online", _names(roster)))
                    lines.append(_topic(topic))
                    self._welcome = None
                    self._rooms.append(room)
                    continue
                case RoomEntered(room):
                    self._rooms.append(room)
                case RoomExited(room):
                    self._rooms.remove(room)
                case Refusal(Reason.NICK_REGISTERED, name) if not self._registered:
                    # The seed's prompt, one step longer: the name is someone's account.
                    parsed = Nickname.parse(name)
                    self._password_for = parsed if isinstance(parsed, Nickname) else None
                    lines.append(f"* {name} is registered: password?\n")
                    continue
                case Refusal() if not self._registered:
                    lines.append(_refusal_line(event) + PROMPT.decode())
                    continue
                case Kicked(room, nick, target, reason) if target == self._nick:
                    if room in self._rooms:
                        self._rooms.remove(room)
                    lines.append(f"* {nick} kicked you out of {room}{parenthesized(reason)}\n")
                    continue
                case Invited(room, nick, target) if target == self._nick:
                    lines.append(f"* {nick} invites you to {room} (/join {room})\n")
                    continue
                case Invited(room, nick, target) if nick == self._nick:
                    lines.append(f"* you invited {target} to {room}\n")
                    continue
            where = _room_of(event)
            only_room = len(self._rooms) == 1 and self._rooms[0] == where
            lines.append(_line(event, "" if where is None or only_room else f"{where} "))
        return "".join(lines).encode()


def parse_name(line: bytes | LineTooLong) -> Nickname | Refusal:
    """Turn the answer to :data:`PROMPT` into a nickname, or a refusal saying why not.

    The name is checked as typed: a control character in it is refused, not removed.
    """
    if isinstance(line, LineTooLong):
        return _too_long(line)
    return Nickname.parse(line.decode("utf-8", "replace"))


def parse_line(line: bytes | LineTooLong) -> Command | AccountInput | None:
    """Turn one line from a registered member into a command; ``None`` means ignore it.

    Mistakes become ``Tell(Refusal(...))`` so the member hears about them in order. Texts are
    sanitized; names (nicknames, rooms) are checked as typed, so a control character in a name
    is refused rather than removed.
    """
    if isinstance(line, LineTooLong):
        return Tell(_too_long(line))
    raw = line.decode("utf-8", "replace")
    text = sanitize(raw)
    if not text.strip():
        return None
    if not text.startswith("/"):
        return Say(text)
    if text.startswith("//"):
        return Say(text[1:])
    name, _, argument = text[1:].partition(" ")
    # Sanitizing removes no space, so the raw line's first space is the text's first space.
    typed = raw.partition(" ")[2].strip()
    argument = argument.strip()
    match name.lower():
        case "me":
            return Emote(argument) if argument else _usage("/me <action>")
        case "nick":
            return _rename(typed) if typed else _usage("/nick <name>")
        case "msg":
            recipient = typed.partition(" ")[0]
            message = argument.partition(" ")[2].strip()
            if not message:
                return _usage("/msg <name> <text>")
            return _private_message(recipient, message)
        case "join":
            return _join(typed) if typed else _usage("/join #room [key]")
        case "switch":
            return _with_room(SwitchRoom, typed) if typed else _usage("/switch #room")
        case "part":
            return _part(typed, argument)
        case "rooms":
            return ListRooms()
        case "who":
            return _with_room(Who, typed) if typed else Who()
        case "topic":
            return SetTopic(argument) if argument else ShowTopic()
        case "away":
            return SetAway(argument)
        case "history":
            return _history(argument)
        case "watch" | "unwatch":
            return _watch(name.lower(), typed)
        case "watching":
            return ShowWatched(presence=True)
        case "help":
            return Tell(Help())
        case "register":
            password = _secret(raw)
            return RegisterAccount(password) if password else _usage("/register PASSWORD")
        case "login":
            name, _, password = _secret(raw).partition(" ")
            account = Nickname.parse(name)
            if isinstance(account, Refusal) or not password:
                return _usage("/login NAME PASSWORD")
            return Authenticate(account, password)
        case "passwd":
            old, _, new = _secret(raw).partition(" ")
            return ChangeOwnPassword(old, new) if old and new else _usage("/passwd OLD NEW")
        case "logout":
            return LogOut()
        case "private-history":
            choice = argument.lower()
            if choice not in ("on", "off"):
                return _usage("/private-history on|off")
            return SetPrivateHistory(on=choice == "on")
        case "op" | "deop" | "voice" | "devoice":
            return _roles(name.lower(), typed)
        case "kick":
            return _kick(typed)
        case "ban" | "unban" | "mute" | "unmute":
            return _ban(name.lower(), typed)
        case "mode":
            return _mode(typed)
        case "invite":
            return _invite(typed)
        case "register-room" | "drop-room":
            return _register_room(name.lower(), typed)
        case "oper":
            login, _, password = _secret(raw).partition(" ")
            if not login or not password:
                return _usage("/oper NAME PASSWORD")
            return OperLogin(login, password)
        case "kill":
            victim, _, reason = typed.partition(" ")
            if not victim:
                return _usage("/kill <name> <reason>")
            target = Nickname.parse(victim)
            if isinstance(target, Refusal):
                return Tell(Refusal(Reason.NO_SUCH_NICK, sanitize(victim)))
            return Kill(target, sanitize(reason).strip())
        case "wallops":
            return SendWallops(argument) if argument else _usage("/wallops <text>")
        case "serverban":
            return _server_ban(typed)
        case "unserverban":
            return LiftServerBan(argument) if argument else _usage("/unserverban <mask>")
        case "serverbans":
            return ShowServerBans()
        case "exit" | "quit":
            return Quit()
        case _:
            return Tell(Refusal(Reason.UNKNOWN_COMMAND, f"/{name}"))


def _secret(raw: str) -> str:
    """Return what follows a command's name, as typed (a password: never sanitized)."""
    return raw.partition(" ")[2].strip(" ")


def _history(argument: str) -> Command:
    if not argument:
        return ShowHistory(HISTORY_SHOWN)
    if not argument.isdigit() or not 0 < int(argument) <= HISTORY_ASKED_MAX:
        return _usage(f"/history [N], N from 1 to {HISTORY_ASKED_MAX}")
    return ShowHistory(int(argument))


def _too_long(line: LineTooLong) -> Refusal:
    return Refusal(Reason.LINE_TOO_LONG, detail=str(line.limit))


def _usage(synopsis: str) -> Tell:
    return Tell(Refusal(Reason.USAGE, detail=synopsis))


def _watch(verb: str, typed: str) -> Command:
    """``/watch alice bob``, ``/unwatch alice`` (``/unwatch`` alone: everyone)."""
    nicks = []
    for word in typed.split():
        nick = Nickname.parse(word)
        if isinstance(nick, Refusal):
            return Tell(nick)
        nicks.append(nick)
    if verb == "unwatch":
        return Unwatch(tuple(nicks))
    return Watch(tuple(nicks)) if nicks else _usage("/watch <name> [name...]")


def _rename(typed: str) -> Command:
    nick = Nickname.parse(typed)
    return Tell(nick) if isinstance(nick, Refusal) else Rename(nick)


def _private_message(typed: str, text: str) -> Command:
    recipient = Nickname.parse(typed)
    if isinstance(recipient, Refusal):
        # Nobody can be online under an invalid name.
        return Tell(Refusal(Reason.NO_SUCH_NICK, sanitize(typed)))
    return PrivateMessage(recipient, text)


def _with_room(command: type[SwitchRoom | Who], typed: str) -> Command:
    room = RoomName.parse(typed)
    return Tell(sanitized(room)) if isinstance(room, Refusal) else command(room)


def _join(typed: str) -> Command:
    name, _, key = typed.partition(" ")
    room = RoomName.parse(name)
    return Tell(sanitized(room)) if isinstance(room, Refusal) else JoinRoom(room, key.strip())


def _room_first(typed: str) -> tuple[RoomName | Refusal | None, list[str]]:
    """Split ``[#room] words...``: the room (None: the current one), and the words after it."""
    words = typed.split()
    if words and words[0].startswith(ROOM_PREFIX):
        room = RoomName.parse(words[0])
        return (sanitized(room) if isinstance(room, Refusal) else room), words[1:]
    return None, words


_ROLE_COMMANDS = {
    "op": (Mode.OPERATOR, True),
    "deop": (Mode.OPERATOR, False),
    "voice": (Mode.VOICE, True),
    "devoice": (Mode.VOICE, False),
}


def _roles(command: str, typed: str) -> Command:
    """``/op [#room] alice [bob ...]``: one mode change per name, as ``/mode +oo`` would."""
    room, names = _room_first(typed)
    if isinstance(room, Refusal):
        return Tell(room)
    if not names:
        return _usage(f"/{command} [#room] <name>")
    mode, on = _ROLE_COMMANDS[command]
    return ChangeModes(room, tuple(ModeChange(mode, on, name) for name in names[:MAX_CHANGES]))


def _kick(typed: str) -> Command:
    room, words = _room_first(typed)
    if isinstance(room, Refusal):
        return Tell(room)
    if not words:
        return _usage("/kick [#room] <name> [reason]")
    target = Nickname.parse(words[0])
    if isinstance(target, Refusal):
        return Tell(Refusal(Reason.NO_SUCH_NICK, sanitize(words[0])))
    return Kick(room, target, sanitize(" ".join(words[1:])))


def _ban(command: str, typed: str) -> Command:
    """``/ban``, ``/unban``, ``/mute``, ``/unmute``: a name (its host, see BanMember) or a mask."""
    room, words = _room_first(typed)
    if isinstance(room, Refusal):
        return Tell(room)
    if not words:
        what = "<mask>" if command == "unban" else "<name|mask>"
        return _usage(f"/{command} [#room] {what}" + (" [reason]" if command == "ban" else ""))
    mute, on = command in ("mute", "unmute"), command in ("ban", "mute")
    reason = sanitize(" ".join(words[1:])) if command == "ban" else ""
    return BanMember(room, sanitize(words[0]), mute=mute, on=on, reason=reason)


def _mode(typed: str) -> Command:
    room, words = _room_first(typed)
    if isinstance(room, Refusal):
        return Tell(room)
    changes = parse_changes(tuple(sanitize(word) for word in words))
    if isinstance(changes, str):
        return Tell(Refusal(Reason.UNKNOWN_MODE, detail=changes))
    return ChangeModes(room, changes[:MAX_CHANGES])


def _invite(typed: str) -> Command:
    words = typed.split()
    if not 1 <= len(words) <= 2:
        return _usage("/invite <name> [#room]")
    target = Nickname.parse(words[0])
    if isinstance(target, Refusal):
        return Tell(Refusal(Reason.NO_SUCH_NICK, sanitize(words[0])))
    room = RoomName.parse(words[1]) if len(words) > 1 else None
    return Tell(sanitized(room)) if isinstance(room, Refusal) else Invite(target, room)


def _register_room(command: str, typed: str) -> Command:
    room = RoomName.parse(typed) if typed else None
    if room is None:
        return _usage(f"/{command} #room")
    if isinstance(room, Refusal):
        return Tell(sanitized(room))
    return RegisterRoom(room, drop=command == "drop-room")


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _duration(typed: str) -> int | None:
    """Read a ban's duration: seconds, or ``30m``, ``2h``, ``7d``, ``1w``; None if it is none."""
    if typed.isdecimal():
        return int(typed)
    number, unit = typed[:-1], typed[-1:].lower()
    if number.isdecimal() and unit in _DURATION_UNITS:
        return int(number) * _DURATION_UNITS[unit]
    return None


def _server_ban(typed: str) -> Command:
    """``/serverban [duration] mask [reason]`` (IRC's KLINE, in ergo's order)."""
    words = typed.split()
    seconds = _duration(words[0]) if len(words) > 1 else None
    rest = words[1:] if seconds is not None else words
    if not rest:
        return _usage("/serverban [30m|2h|7d] <mask> [reason]")
    return BanFromServer(sanitize(rest[0]), seconds or 0, sanitize(" ".join(rest[1:])))


def _part(typed: str, argument: str) -> Command:
    if not typed.startswith(ROOM_PREFIX):
        return PartRoom(message=argument)  # the current room, with a message if any
    name, _, _ = typed.partition(" ")
    room = RoomName.parse(name)
    if isinstance(room, Refusal):
        return Tell(sanitized(room))
    return PartRoom(room, argument.partition(" ")[2].strip())


def render(event: Event, *, prefixed: bool = False) -> str:
    """Render one event as one or more lines, each ending in a newline.

    ``prefixed``: if the event is a line of a room, start it with the room's name (the viewer
    is in other rooms too).
    """
    room = _room_of(event) if prefixed else None
    return _line(event, "" if room is None else f"{room} ")


def _line(event: Event, prefix: str) -> str:
    match event:
        case Said() | Emoted() | Joined() | TopicChanged() | ModesChanged():
            return f"{prefix}{describe(event)}\n"
        case Parted() | Departed() | Renamed() | Kicked():  # they name their room, or several
            return f"{describe(event)}\n"
        case Redacted(target, nick, _, reason):  # (a terminal cannot unsay a line: it says so)
            return f"* {nick} took back a message to {target}{parenthesized(reason)}\n"
        case Invited(room, nick, target):
            return f"* {nick} invited {target} to {room}\n"
        case ModesAre(room, letters, key, limit):
            settings = " ".join(value for value in (key, str(limit) if limit else "") if value)
            shown = f"+{letters}" + (f" {settings}" if settings else "") if letters else "none"
            return f"* modes of {room}: {shown}\n"
        case ListIs(room, mode, ()):
            return f"* no {_LIST_NAMES[mode]} in {room}\n"
        case ListIs(room, mode, entries):
            listed = [f"{entry.mask} (by {entry.setter})" for entry in entries]
            return _list(f"* {_LIST_NAMES[mode]} in {room}", listed)
        case OperatorNow(name):
            return f"* you are a server operator now ({name})\n"
        case Wallops(nick, text):
            return f"* wallops from {nick}: {text}\n"
        case PutOut(LeaveReason.KILLED, by, message):
            return f"! {by} put you off the server{parenthesized(message)}\n"
        case PutOut(_, by, message):
            return f"! you are banned from this server by {by}{parenthesized(message)}\n"
        case ServerBanChanged(None, lifted):
            return f"* the server ban on {lifted} is lifted\n"
        case ServerBanChanged(ServerBanEntry() as ban, _, removed):
            put_out = f", {removed} put out" if removed else ""
            return f"* banned from the server: {_server_ban_line(ban)}{put_out}\n"
        case ServerBans(()):
            return "* no server bans\n"
        case ServerBans(entries):
            head = f"* server bans ({len(entries)}):\n"
            return head + "".join(f"{CONTINUATION}{_server_ban_line(ban)}\n" for ban in entries)
        case RoomRegistered(room, _, True):
            return f"* {room} is no longer registered\n"
        case RoomRegistered(room, founder):
            return f"* {room} is registered, to {founder}: it keeps its settings when empty\n"
        case TopicIs(_, ""):
            return f"{prefix}* no topic is set\n"
        case TopicIs(_, topic):
            return f"{prefix}* topic: {topic}\n"
        case Roster(_, roster):
            names = _names(roster)
            return _list(f"{prefix}* online", names, continuation=prefix + CONTINUATION)
        case Signalled() | PrivateFrom(signal=True) | PrivateTo(signal=True):
            return ""  # tags alone (IRC's TAGMSG: someone is typing): nothing to read here
        case PrivateFrom(sender, text, action=True):
            return f"[pm from {sender}] * {sender} {text}\n"
        case PrivateFrom(sender, text):
            return f"[pm from {sender}] {text}\n"
        case PrivateTo(recipient, text, action=True):
            return f"[pm to {recipient}] * {text}\n"
        case PrivateTo(recipient, text):
            return f"[pm to {recipient}] {text}\n"
        case IsAway(nick, message):
            return f"* {nick} is away: {message}\n"
        case PresenceIs(online, offline):
            lines = [f"* {seen.nick} is online\n" for seen in online]
            return "".join(lines + [f"* {nick} is offline\n" for nick in offline])

        case RoomList(rooms):
            listed = [f"{room.room} ({room.members})" for room in rooms[:LISTED_ROOMS]]
            if len(rooms) > LISTED_ROOMS:
                listed.append(f"and {len(rooms) - LISTED_ROOMS} more")
            return _list("* rooms", listed, count=len(rooms))
        case CurrentRoom(None):
            return "* you are in no room now (try /join #name)\n"
        case CurrentRoom(room):
            return f"* now talking in {room}\n"
        case RoomExited(room):
            return f"* you left {room}\n"
        case RoomEntered(room, roster, topic):
            return _list(f"* welcome to {room}! online", _names(roster)) + _topic(topic)
        case Goodbye():
            return "* bye\n"
        case ShuttingDown():
            return _FAREWELLS[Farewell.SHUTTING_DOWN].decode()
        case ServiceChanged(Service.UNAVAILABLE):
            return f"! {service_news(Service.UNAVAILABLE)}\n"
        case ServiceChanged(status):
            return f"* {service_news(status)}\n"
        case Refusal():
            return _refusal_line(event)
        case Help():
            return "".join(f"{line}\n" for line in HELP_LINES)
        case Recalled(room, ()) | HistoryRead(room, ()):
            return f"{prefix}* nothing said in {room} yet\n"
        case Recalled(_, entries) | HistoryRead(_, entries):
            # Each line of the past starts with "~" and its time (UTC), then as it was shown.
            return "".join(
                f"{prefix}~ {stamp(entry.time)} {_line(entry.event, '')}" for entry in entries
            )
        case LoggedIn(account):
            return f"* you are logged in as {account}\n"
        case LoggedOut(account):
            return f"* you are logged out of {account}\n"
        case AccountCreated(account):
            return f"* {account} is registered: it is yours, with this password\n"
        case PasswordChanged(account):
            return f"* the password of {account} is changed\n"
        case PrivateHistorySet(account, on=True):
            return f"* private messages of {account} are kept from now on\n"
        case PrivateHistorySet(account, on=False):
            return f"* private messages of {account} are no longer kept, at either end\n"
        case Registered() | AwayChanged() | AccountChanged() | RealnameChanged():
            return ""  # the welcome line comes with the lobby's roster; others' news: noise
        case ReadMarker():
            return ""  # (a terminal shows what it receives: nothing to mark)
        case _:
            raise AssertionError(f"not a plain-protocol event: {event!r}")


# The lines a prefix can start:
_ROOM_LINES = (Said, Emoted, Joined, TopicChanged, ModesChanged, TopicIs, Roster, Recalled)
_LIST_NAMES = {Mode.BAN: "bans", Mode.EXCEPTION: "ban exceptions", Mode.INVITATION: "invitations"}


def _server_ban_line(ban: ServerBanEntry) -> str:
    until = f"until {stamp(ban.expires)}" if ban.expires else "until lifted"
    return f"{ban.mask} ({until}, by {ban.setter}): {ban.reason}"


def _room_of(event: Event) -> str | None:
    """Return the room whose name starts this event's lines when the viewer is in several."""
    if isinstance(event, HistoryRead):
        return event.target
    return event.room if isinstance(event, _ROOM_LINES) else None


def _names(roster: Sequence[RosterEntry]) -> list[str]:
    """Return the names of a roster as shown: each with its highest role's mark (``@alice``)."""
    return [marks(entry.roles) + entry.nick if entry.roles else entry.nick for entry in roster]


def _topic(topic: str) -> str:
    return f"* topic: {topic}\n" if topic else ""


def _refusal_line(refusal: Refusal) -> str:
    return f"! {explain(refusal)}{_HINTS.get(refusal.reason, '')}\n"


def encode(events: Iterable[Event], *, prefixed: bool = False) -> bytes:
    """Render events to the bytes a plain-text client receives."""
    return "".join(render(event, prefixed=prefixed) for event in events).encode()


_UNPREFIXED = ("line", False)  # the kinds of viewer of a shared delivery (Delivery.render)
_PREFIXED = ("line", True)


def _encode_unprefixed(events: Sequence[Event]) -> bytes:
    return encode(events)


def _encode_prefixed(events: Sequence[Event]) -> bytes:
    return encode(events, prefixed=True)


def _list(
    head: str,
    items: Sequence[str],
    *,
    count: int | None = None,
    continuation: str = CONTINUATION,
) -> str:
    """``head`` + " (N): a, b, ...", in lines of at most LIST_LINE_BYTES.

    A room of 10,000 lists them all; clients (and IRC servers' own rules) choke on a line of
    100 kB, so a long list continues on lines starting with ``continuation``. The split is done
    on the encoded bytes with ``rfind``, so a big room costs a few C-level calls, not a Python
    loop per name.
    """
    line = f"{head} ({len(items) if count is None else count}): {', '.join(items)}"
    data = line.encode()
    if len(data) <= LIST_LINE_BYTES:
        return line + "\n"
    prefix = continuation.encode()
    lines = []
    start, lead = 0, b""
    while len(data) - start > LIST_LINE_BYTES - len(lead):
        # Cut after the last ", " that fits (names are short, so there always is one).
        end = data.rfind(b", ", start, start + LIST_LINE_BYTES - len(lead) + 2)
        lines.append(lead + data[start:end])
        start, lead = end + 2, prefix
    lines.append(lead + data[start:])
    return b"\n".join(lines).decode() + "\n"
