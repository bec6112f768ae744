"""Cloaked hosts, pure: stable for one address (an IPv6 /64), unrelated across keys."""

from __future__ import annotations

import re

from trio_chat.core.cloaks import SUFFIX, cloak

KEY = b"k" * 32
OTHER_KEY = b"o" * 32


def test_one_address_always_gets_the_same_cloak() -> None:
    assert cloak("192.0.2.7", KEY) == cloak("192.0.2.7", KEY)
    # Base32 letters only: nothing of the address (no 0, 1, 8, 9, no dot but the suffix's).
    assert re.fullmatch(rf"[a-z2-7]{{12}}\.{SUFFIX}", cloak("192.0.2.7", KEY))


def test_different_addresses_get_different_cloaks() -> None:
    cloaks = {cloak(f"192.0.2.{n}", KEY) for n in range(256)}
    assert len(cloaks) == 256


def test_an_ipv6_host_is_cloaked_by_its_64() -> None:
    one = cloak("2001:db8:1:2:aaaa::1", KEY)
    assert cloak("2001:db8:1:2:bbbb::9", KEY) == one  # same /64: one host
    assert cloak("2001:db8:1:3::1", KEY) != one


def test_an_ipv4_peer_on_a_dual_stack_socket_is_cloaked_as_itself() -> None:
    assert cloak("::ffff:192.0.2.7", KEY) == cloak("192.0.2.7", KEY)


def test_another_key_gives_unrelated_cloaks() -> None:
    addresses = ["192.0.2.7", "198.51.100.1", "2001:db8::1"]
    mine = [cloak(address, KEY) for address in addresses]
    theirs = [cloak(address, OTHER_KEY) for address in addresses]
    assert not set(mine) & set(theirs)
