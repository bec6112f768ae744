"""Which peers a per-address connection limit counts together, and which it leaves alone. Pure.

IPv4 addresses count one by one. IPv6 addresses count by their /64 network: a single host is
usually given a whole /64, so limiting each address alone would limit nothing. Exempt networks
(loopback by default, as ergo does) are not limited at all.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK = ("127.0.0.0/8", "::1/128")
IPV6_GROUP_PREFIX = 64


def address_group(host: str) -> str:
    """Return the key under which connections from ``host`` are counted."""
    address = ipaddress.ip_address(host)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is an IPv4 peer
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_GROUP_PREFIX}", strict=False))
    return str(address)


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """Parse CIDR strings (``127.0.0.0/8``, ``::1``); raise ValueError for a malformed one."""
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def is_exempt(host: str, networks: Iterable[Network]) -> bool:
    """Whether ``host`` lies in one of ``networks`` (IPv4-mapped IPv6 counts as IPv4)."""
    address = ipaddress.ip_address(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)
