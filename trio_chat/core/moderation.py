"""Who may do what in a room: the decisions that a room's modes and roles make. Pure.

The hub (:mod:`trio_chat.core.hub`) asks these as members join, speak and change modes; they
read a room and a member and change nothing but the room's modes (:func:`apply`), so each can
be tested on its own. A member is matched against masks as others see it, by its
:func:`identity`: its nickname, user name, cloaked host and account.
"""

from __future__ import annotations

from trio_chat.core import masks
from trio_chat.core.masks import Identity
from trio_chat.core.members import Member
from trio_chat.core.modes import (
    FLAGS,
    MAX_KEY_CHARS,
    MAX_LIST_ENTRIES,
    ListEntry,
    Mode,
    ModeChange,
)
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.roles import Role, Roles
from trio_chat.core.rooms import Room
from trio_chat.core.text import Nickname


def identity(member: Member, nick: Nickname | None = None) -> Identity:
    """``member`` as masks see it (known as ``nick``: one it is registering with)."""
    nick = nick or member.nick
    assert nick is not None, "only members with a nickname are matched"
    account = member.account.display if member.account is not None else ""
    return Identity(nick.display, member.user, member.host, account)


def is_operator(room: Room[Member], member: Member) -> bool:
    """Whether ``member`` runs ``room``: it is an operator there."""
    return Role.OPERATOR in room.members.get(member, ())


def is_founder(room: Room[Member], member: Member) -> bool:
    """Whether ``member`` is logged in to the account that founded ``room`` (if registered)."""
    return bool(room.founder) and member.account is not None and member.account.key == room.founder


def banned(room: Room[Member], who: Identity) -> bool:
    """Whether a ban of ``room`` names ``who``, and no exception does."""
    lists = room.modes.lists
    if not any(masks.matches(entry.mask, who) for entry in lists[Mode.BAN]):
        return False
    return not any(masks.matches(entry.mask, who) for entry in lists[Mode.EXCEPTION])


def admission(room: Room[Member], member: Member, key: str) -> Refusal | None:
    """Why ``member`` may not join ``room`` with ``key``, or None: it may.

    The founder of a registered room always gets in: a room can never be taken from it.
    An invitation lets a member past invite-only, a full room and a key, never past a ban.
    """
    if is_founder(room, member):
        return None
    who = identity(member)
    name = room.name.display
    if banned(room, who):
        return Refusal(Reason.BANNED_FROM_ROOM, name)
    modes = room.modes
    invited = room.name.key in member.invited or any(
        masks.matches(entry.mask, who) for entry in modes.lists[Mode.INVITATION]
    )
    if invited:
        return None
    if Mode.INVITE_ONLY in modes.flags:
        return Refusal(Reason.INVITE_ONLY, name)
    if modes.key and key != modes.key:
        return Refusal(Reason.WRONG_KEY, name)
    if modes.limit and len(room) >= modes.limit:
        return Refusal(Reason.ROOM_FULL, name, str(modes.limit))
    if Mode.REGISTERED_ONLY in modes.flags and member.account is None:
        return Refusal(Reason.ACCOUNT_NEEDED, name)
    return None


def silenced(room: Room[Member], member: Member, roles: Roles) -> Refusal | None:
    """Why ``member`` (with ``roles`` in ``room``) may not speak there, or None: it may.

    Anyone with a role speaks; a ban, ``+m``, a mute or ``+M`` silences anyone else.
    """
    if roles:
        return None
    who = identity(member)
    name = room.name.display
    modes = room.modes
    if banned(room, who):
        return Refusal(Reason.BANNED_CANNOT_SPEAK, name)
    if Mode.MODERATED in modes.flags:
        return Refusal(Reason.MODERATED, name)
    if any(masks.muted(entry.mask, who) for entry in modes.lists[Mode.BAN]):
        return Refusal(Reason.MUTED, name)
    if Mode.REGISTERED_SPEAK in modes.flags and member.account is None:
        return Refusal(Reason.ACCOUNT_NEEDED_TO_SPEAK, name)
    return None


def apply(
    room: Room[Member], change: ModeChange, setter: str, now: float
) -> ModeChange | Refusal | None:
    """Apply a change of a flag, a setting or a list (not a role's) to ``room``.

    Return the change as applied (a list's mask normalized), a refusal, or None when it
    changes nothing (``+m`` on a moderated room), which nobody is told about, as on IRC.
    """
    modes = room.modes
    mode, on, argument = change.mode, change.on, change.argument
    if mode in FLAGS:
        if (mode in modes.flags) == on:
            return None
        (modes.flags.add if on else modes.flags.discard)(mode)
        return ModeChange(mode, on)
    if mode is Mode.KEY:
        if not on:
            if not modes.key:
                return None
            modes.key = ""
            return ModeChange(mode, on, "*")
        if not argument or len(argument) > MAX_KEY_CHARS or any(c in argument for c in " ,:"):
            return Refusal(Reason.BAD_MODE_ARGUMENT, room.name.display, mode.value)
        modes.key = argument
        return ModeChange(mode, on, argument)
    if mode is Mode.LIMIT:
        if not on:
            if not modes.limit:
                return None
            modes.limit = 0
            return ModeChange(mode, on)
        if not argument.isdecimal() or not 0 < int(argument) < 1_000_000:
            return Refusal(Reason.BAD_MODE_ARGUMENT, room.name.display, mode.value)
        modes.limit = int(argument)
        return ModeChange(mode, on, str(modes.limit))
    assert mode.is_list, f"roles are the hub's to change, not {mode}"
    mask = masks.normalized(argument)
    if mask is None or (mode is not Mode.BAN and mask.startswith(masks.MUTE_PREFIX)):
        return Refusal(Reason.BAD_MODE_ARGUMENT, room.name.display, mode.value)
    entries = modes.lists[mode]
    found = next((e for e in entries if masks.same(e.mask, mask)), None)
    if on:
        if found is not None:
            return None
        if len(entries) >= MAX_LIST_ENTRIES:
            return Refusal(Reason.LIST_FULL, room.name.display, str(MAX_LIST_ENTRIES))
        entries.append(ListEntry(mask, setter, now))
        return ModeChange(mode, on, mask)
    if found is None:
        return None
    entries.remove(found)
    return ModeChange(mode, on, found.mask)
