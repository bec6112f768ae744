"""What members ask of the room (commands) and what the room tells them (events).

The room speaks these values, never bytes: each front end parses its own wire format into
commands and renders events back into it. Nicknames in events are display strings, ready to show.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from trio_chat.core.text import Nickname


class LeaveReason(enum.Enum):
    """Why a member left the room; the value is shown to the others."""

    QUIT = "quit"
    CONNECTION_LOST = "connection lost"
    TOO_SLOW = "too slow"
    TIMED_OUT = "timed out"
    SERVER_SHUTDOWN = "server shutdown"
    EXCESS_FLOOD = "excess flood"


# --- events: the room to a member ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Welcome:
    """First event of every membership: you are in, and this is who is here (you included)."""

    nick: str
    roster: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Joined:
    """Someone else joined."""

    nick: str


@dataclass(frozen=True, slots=True)
class Said:
    """A chat message, delivered to everyone including its sender."""

    nick: str
    text: str


@dataclass(frozen=True, slots=True)
class Emoted:
    """An action (``/me waves``)."""

    nick: str
    text: str


@dataclass(frozen=True, slots=True)
class Renamed:
    """A member changed nickname."""

    old: str
    new: str


@dataclass(frozen=True, slots=True)
class PrivateFrom:
    """A private message to you."""

    sender: str
    text: str


@dataclass(frozen=True, slots=True)
class PrivateTo:
    """Your copy of a private message you sent."""

    recipient: str
    text: str


@dataclass(frozen=True, slots=True)
class Roster:
    """Who is online, sorted by normalized nickname."""

    nicks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Left:
    """Someone else left."""

    nick: str
    reason: LeaveReason


@dataclass(frozen=True, slots=True)
class Goodbye:
    """Last event to a member who quit."""


@dataclass(frozen=True, slots=True)
class ShuttingDown:
    """The server is stopping; last event to every member (and to anyone trying to join)."""


@dataclass(frozen=True, slots=True)
class NicknameTaken:
    """A join or rename was refused because someone online already uses the name."""

    nick: str


@dataclass(frozen=True, slots=True)
class NoSuchNick:
    """A private message named nobody online."""

    nick: str


@dataclass(frozen=True, slots=True)
class Help:
    """The member asked for help; each front end lists its own commands."""


@dataclass(frozen=True, slots=True)
class Error:
    """Something the member sent was refused; ``message`` says why."""

    message: str


Event = (
    Welcome
    | Joined
    | Said
    | Emoted
    | Renamed
    | PrivateFrom
    | PrivateTo
    | Roster
    | Left
    | Goodbye
    | ShuttingDown
    | NicknameTaken
    | NoSuchNick
    | Help
    | Error
)

# --- commands: a member to the room -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Say:
    """Send ``text`` to everyone."""

    text: str


@dataclass(frozen=True, slots=True)
class Emote:
    """Describe an action to everyone."""

    text: str


@dataclass(frozen=True, slots=True)
class Rename:
    """Change my nickname."""

    nick: Nickname


@dataclass(frozen=True, slots=True)
class PrivateMessage:
    """Send ``text`` to one member only."""

    recipient: Nickname
    text: str


@dataclass(frozen=True, slots=True)
class Who:
    """Ask who is online."""


@dataclass(frozen=True, slots=True)
class Tell:
    """Deliver ``event`` to me, in order with everything else the room sends me.

    A front end answers some commands itself (help, usage errors); routing the answer through the
    room keeps the room the only producer of each mailbox, so replies never overtake messages.
    """

    event: Event


@dataclass(frozen=True, slots=True)
class Quit:
    """Leave the room (``/exit``)."""


Command = Say | Emote | Rename | PrivateMessage | Who | Tell | Quit
