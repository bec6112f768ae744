"""Bans from the whole server: by mask, by account or by network, with a reason and an expiry.

Server operators set them (IRC's KLINE and DLINE, the plain protocol's ``/serverban``); the hub
applies them as a member registers or logs in, and to the members already on when one is set.
Each names members in one of three ways: a mask (``*!*@k5x2q9m4tbhe.ip``: a cloak, see
:mod:`trio_chat.core.cloaks`), an account (``a:alice``), or a network (``203.0.113.0/24``),
matched against the member's address, which only server operators ever see. Pure.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from trio_chat.core import masks
from trio_chat.core.events import ServerBanEntry
from trio_chat.core.masks import Identity
from trio_chat.core.text import fold

MAX_SERVER_BANS = 10_000
# Where IPv4 addresses live in IPv6 (peers are matched as IPv4, so their bans must be too).
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def normalized(typed: str) -> str | None:
    """Return ``typed`` as the list keeps it (a network in CIDR form), or None if it is none."""
    text = typed.strip()
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        mask = masks.normalized(text)
        return None if mask is None or mask.startswith(masks.MUTE_PREFIX) else mask
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= _MAPPED.prefixlen:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:  # ::ffff:192.0.2.1 is how an IPv4 peer looks on a v6 socket
            return f"{mapped}/{network.prefixlen - _MAPPED.prefixlen}"
    return str(network)


def names(mask: str, who: Identity, address: str) -> bool:
    """Whether the (normalized) ban ``mask`` names ``who``, connected from ``address``."""
    if "/" in mask and "!" not in mask and not mask.startswith(masks.ACCOUNT_PREFIX):
        return _in_network(address, mask)
    return masks.matches(mask, who)


def _in_network(address: str, cidr: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False  # a member with no address (a test's): no network names it
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    network = ipaddress.ip_network(cidr)
    return ip.version == network.version and ip in network


class ServerBanList:
    """The server bans in force, by normalized mask, dropping each as it expires."""

    def __init__(self) -> None:
        self._bans: dict[str, ServerBanEntry] = {}  # folded mask -> ban

    def __len__(self) -> int:
        return len(self._bans)

    def set(self, ban: ServerBanEntry) -> None:
        """Add ``ban``, or replace the one on the same mask."""
        self._bans[fold(ban.mask)] = ban

    def lift(self, mask: str) -> ServerBanEntry | None:
        """Remove the ban on ``mask``; return it, or None if there was none."""
        return self._bans.pop(fold(mask), None)

    def expire(self, now: float) -> list[ServerBanEntry]:
        """Drop the bans that expired by ``now``, and return them."""
        gone = [ban for ban in self._bans.values() if ban.expires and ban.expires <= now]
        for ban in gone:
            del self._bans[fold(ban.mask)]
        return gone

    def naming(self, who: Identity, address: str) -> ServerBanEntry | None:
        """Return the first ban in force that names ``who`` (connected from ``address``), if any."""
        return next((b for b in self._bans.values() if names(b.mask, who, address)), None)

    def entries(self) -> tuple[ServerBanEntry, ...]:
        """Every ban in force, in the order set."""
        return tuple(self._bans.values())

    def load(self, bans: Iterable[ServerBanEntry]) -> None:
        """Start with ``bans`` (saved ones, or a replica's state)."""
        for ban in bans:
            self.set(ban)
