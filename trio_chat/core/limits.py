"""How much of the server one member, or everyone together, may take: one set of limits.

The hub enforces these, and every front end advertises them from the same object (IRC's
``AWAYLEN``, ``TOPICLEN``, ``CHANLIMIT``, ``NICKLEN``, ``CHANNELLEN``), so what a client is told
is what the hub does: a limit written in two places drifts.
"""

from __future__ import annotations

from dataclasses import dataclass

from trio_chat.core.text import MAX_NICKNAME_CHARS, MAX_ROOM_NAME_CHARS


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits one server applies (``trio-chat server``'s ``--max-...`` options)."""

    rooms_per_member: int = 20
    rooms: int = 1000  # #lobby is always allowed: every newcomer is placed there
    topic_bytes: int = 300  # UTF-8 bytes, so that a topic fits an IRC line
    away_bytes: int = 300  # UTF-8 bytes of an away message
    realname_bytes: int = 200  # UTF-8 bytes of a real name set with SETNAME (IRC's NAMELEN)
    matches: int = 100  # members a look-up by mask may name (IRC's WHO *)
    history_lines: int = 50  # entries of a room's history a newcomer is shown
    watched: int = 100  # nicknames one member may watch (IRC's MONITOR=)
    # Rooms that one member, and one address (its /64 for IPv6), may have made and still exist:
    # so that a few connections cannot fill the room table (server operators are exempt, and
    # so are exempt networks, loopback by default; registered rooms do not count).
    rooms_created_per_member: int = 10
    rooms_created_per_address: int = 25

    # Names are checked as they are parsed, before any hub sees them, so these two are fixed:
    # they are here so that whoever advertises limits reads them all from one place.
    @property
    def nick_chars(self) -> int:
        """The longest nickname, in characters (NFKC)."""
        return MAX_NICKNAME_CHARS

    @property
    def room_name_chars(self) -> int:
        """The longest room name, in characters, its ``#`` included."""
        return MAX_ROOM_NAME_CHARS + 1
