"""A room's modes: what its operators set, and what each setting lets members do. Pure.

The modes are IRC's, named by IRC's letters, which every IRC client already speaks and which the
plain protocol (``/mode +m``) and the page use too: one vocabulary for every front end. A mode
is a flag (``+m``), a setting with a value (``+k key``, ``+l 50``), a role given to a member
(``+o alice``, see :mod:`trio_chat.core.roles`) or a list of masks (``+b``, ``+e``, ``+I``, see
:mod:`trio_chat.core.masks`). The hub (:mod:`trio_chat.core.hub`) applies changes and decides
who may; this module says what a change is and what a room's modes are.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from trio_chat.core.roles import Role


class Mode(enum.Enum):
    """One of a room's modes; the value is its letter (IRC's, and every front end's)."""

    # Flags: on or off.
    TOPIC_LOCK = "t"  # only operators set the topic (on for new rooms)
    NO_EXTERNAL = "n"  # only members send to the room (on for new rooms; -n: anyone may)
    MODERATED = "m"  # only voiced members and operators speak
    INVITE_ONLY = "i"  # only invited members (or those on the +I list) join
    SECRET = "s"  # hidden from the room list and from look-ups by non-members
    REGISTERED_ONLY = "R"  # only members logged in to an account join
    REGISTERED_SPEAK = "M"  # only members logged in to an account speak
    # Settings with a value, given when set.
    KEY = "k"  # the password to join
    LIMIT = "l"  # the most members at once
    # Roles: the argument is a member's nickname.
    OPERATOR = "o"
    VOICE = "v"
    # Lists of masks: the argument is a mask.
    BAN = "b"
    EXCEPTION = "e"  # members matching one are never banned
    INVITATION = "I"  # members matching one join an invite-only room uninvited

    @property
    def role(self) -> Role | None:
        """The role this mode gives, if it is a role's."""
        return _ROLES.get(self)

    @property
    def is_list(self) -> bool:
        """Whether this mode is a list of masks (``b``, ``e``, ``I``)."""
        return self in LISTS

    @property
    def takes_argument_when_set(self) -> bool:
        """Whether ``+`` this mode needs an argument (``+k key``, ``+o nick``, ``+b mask``)."""
        return self in _ARGUMENT_WHEN_SET

    @property
    def takes_argument_when_unset(self) -> bool:
        """Whether ``-`` this mode needs an argument (``-o nick``, ``-b mask``; not ``-l``)."""
        return self in _ARGUMENT_WHEN_UNSET


_ROLES = {Mode.OPERATOR: Role.OPERATOR, Mode.VOICE: Role.VOICE}
ROLE_MODES = {role: mode for mode, role in _ROLES.items()}
FLAGS = frozenset(
    {
        Mode.TOPIC_LOCK,
        Mode.NO_EXTERNAL,
        Mode.MODERATED,
        Mode.INVITE_ONLY,
        Mode.SECRET,
        Mode.REGISTERED_ONLY,
        Mode.REGISTERED_SPEAK,
    }
)
LISTS = (Mode.BAN, Mode.EXCEPTION, Mode.INVITATION)
_ARGUMENT_WHEN_UNSET = frozenset({Mode.OPERATOR, Mode.VOICE, *LISTS})
_ARGUMENT_WHEN_SET = _ARGUMENT_WHEN_UNSET | {Mode.KEY, Mode.LIMIT}
NEW_ROOM_FLAGS = frozenset({Mode.TOPIC_LOCK, Mode.NO_EXTERNAL})  # what every new room starts with
MAX_KEY_CHARS = 23  # a key is one word of at most this many characters (IRC's KEYLEN)
MAX_LIST_ENTRIES = 100  # masks per list and room (IRC's MAXLIST)
MAX_CHANGES = 10  # mode changes in one command (IRC's MODES)


def mode_of(letter: str) -> Mode | None:
    """Return the mode a letter names, if any (letters are case-sensitive: ``I`` is not ``i``)."""
    try:
        return Mode(letter)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class ModeChange:
    """One change: ``on`` (``+``) or off (``-``) ``mode``, with its ``argument`` ("": none)."""

    mode: Mode
    on: bool
    argument: str = ""


@dataclass(frozen=True, slots=True)
class ListEntry:
    """A mask on one of a room's lists: who set it and when (IRC's 367 shows both)."""

    mask: str
    setter: str  # the operator's nickname
    time: float  # Unix time


@dataclass(slots=True)
class RoomModes:
    """A room's flags, key, limit and lists, as the hub keeps them."""

    flags: set[Mode] = field(default_factory=lambda: set(NEW_ROOM_FLAGS))
    key: str = ""  # "": none
    limit: int = 0  # 0: none
    lists: dict[Mode, list[ListEntry]] = field(default_factory=lambda: {m: [] for m in LISTS})

    def letters(self) -> str:
        """Return the flags and settings that are on, in a stable order (IRC's 324 shows them)."""
        letters = "".join(mode.value for mode in Mode if mode in self.flags)
        return letters + ("k" if self.key else "") + ("l" if self.limit else "")


def words(changes: tuple[ModeChange, ...]) -> tuple[str, ...]:
    """Return ``changes`` as IRC writes them: ``+mo-v``, then the arguments, in order."""
    letters, arguments, sign = [], [], ""
    for change in changes:
        wanted = "+" if change.on else "-"
        if wanted != sign:
            letters.append(wanted)
            sign = wanted
        letters.append(change.mode.value)
        if change.argument:
            arguments.append(change.argument)
    return ("".join(letters), *arguments)


def parse_changes(words_: tuple[str, ...]) -> tuple[ModeChange, ...] | str:
    """Read IRC's way of writing changes (``+ov-k alice bob key``), or return the bad letter.

    Arguments are taken in order by the modes that need one; a mode short of its argument is
    dropped, as IRC servers do. Lists queried without an argument (``+b``) become a change with
    an empty argument: the caller shows the list instead.
    """
    if not words_:
        return ()
    spec, arguments = words_[0], list(words_[1:])
    changes: list[ModeChange] = []
    on = True
    for letter in spec:
        if letter in "+-":
            on = letter == "+"
            continue
        mode = mode_of(letter)
        if mode is None:
            return letter
        needs = mode.takes_argument_when_set if on else mode.takes_argument_when_unset
        if mode is Mode.KEY and not on:  # "-k" needs no key, but takes one if it is given
            changes.append(ModeChange(mode, on, arguments.pop(0) if arguments else ""))
        elif needs and arguments:
            changes.append(ModeChange(mode, on, arguments.pop(0)))
        elif needs and mode.is_list:
            changes.append(ModeChange(mode, on))  # a query of the list
        elif not needs:
            changes.append(ModeChange(mode, on))
    return tuple(changes)
