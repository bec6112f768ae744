"""Who watches which nickname (IRC's MONITOR): the index the hub tells watchers from. Pure.

A member watches nicknames, not members: it may watch one nobody has yet, and is told when
someone takes it. Each member keeps its own list (``Member.watching``, as typed, for showing
it); this index answers the hub's question as a nickname comes or goes: who watches it? It is
keyed by the nickname's key, so ``Bob`` and ``bob`` are one nickname, and a change of case
alone is no coming or going.

Every replica applies the same commands (``Watch`` is shared through the log like any other),
so every replica's index is the same; each tells only its own members.
"""

from __future__ import annotations

from collections.abc import Iterable

from trio_chat.core.members import Member
from trio_chat.core.text import Nickname


class Watchers:
    """Nickname key -> the members watching it, in the order they began to."""

    __slots__ = ("_by_key",)

    def __init__(self) -> None:
        self._by_key: dict[str, dict[Member, None]] = {}

    def __len__(self) -> int:
        """How many nicknames someone watches."""
        return len(self._by_key)

    def add(self, member: Member, nicks: Iterable[Nickname], limit: int) -> list[Nickname]:
        """Make ``member`` watch ``nicks``, up to ``limit`` in all; return those left out."""
        refused = []
        for nick in nicks:
            if nick.key in member.watching:
                continue  # (a nickname already watched is not added again)
            if len(member.watching) >= limit:
                refused.append(nick)
                continue
            member.watching[nick.key] = nick
            self._by_key.setdefault(nick.key, {})[member] = None
        return refused

    def remove(self, member: Member, keys: Iterable[str]) -> None:
        """Make ``member`` stop watching the nicknames whose keys are ``keys``."""
        for key in keys:
            if member.watching.pop(key, None) is None:
                continue
            watchers = self._by_key[key]
            del watchers[member]
            if not watchers:
                del self._by_key[key]

    def forget(self, member: Member) -> None:
        """``member`` is gone: it watches nothing any more."""
        self.remove(member, list(member.watching))

    def of(self, key: str) -> list[Member]:
        """Return the members watching the nickname whose key is ``key``."""
        watchers = self._by_key.get(key)
        return list(watchers) if watchers else []

    def clear(self) -> None:
        """Forget everyone's lists (a replica starting again from a state)."""
        self._by_key.clear()
