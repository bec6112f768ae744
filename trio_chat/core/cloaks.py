"""Cloaked hosts: a name for where a member connects from that reveals nothing about it. Pure.

A mask needs a host that means something (a ban on ``*!*@host`` must hold across nickname
changes) but an address is private: only server operators see one. So every member is shown
with a cloak, a keyed hash of its address (ergo's approach): the same address always gets the
same cloak, nobody without the key can tell which address it is, and a server keeps its key
(``--cloak-key``) so that cloaks, and bans on them, outlive a restart. IPv6 peers are cloaked
by their /64 network, as one host is usually given a whole /64
(:func:`trio_chat.core.addresses.address_group`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from trio_chat.core.addresses import address_group

SUFFIX = "ip"  # every cloak ends with it: ``k5x2q9m4tbhe.ip``, never a real host name
_LETTERS = 12  # of base32: 60 bits, enough that two addresses practically never share one


def cloak(address: str, key: bytes) -> str:
    """Return the cloaked host of ``address`` (an IP address) under ``key``."""
    digest = hmac.new(key, address_group(address).encode(), hashlib.sha256).digest()
    return f"{base64.b32encode(digest).decode().lower()[:_LETTERS]}.{SUFFIX}"
