"""Per-address limits: which peers count together, and which are exempt."""

from __future__ import annotations

import pytest

from trio_chat.core.addresses import LOOPBACK, address_group, is_exempt, parse_networks


@pytest.mark.parametrize(
    ("host", "group"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),  # same /64: counted together
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),  # an IPv4 peer on a dual-stack socket
    ],
)
def test_address_groups(host: str, group: str) -> None:
    assert address_group(host) == group


def test_loopback_is_exempt_by_default_and_others_are_not() -> None:
    loopback = parse_networks(LOOPBACK)
    assert is_exempt("127.0.0.1", loopback)
    assert is_exempt("127.1.2.3", loopback)
    assert is_exempt("::1", loopback)
    assert is_exempt("::ffff:127.0.0.1", loopback)
    assert not is_exempt("192.0.2.7", loopback)
    assert not is_exempt("2001:db8::1", loopback)


def test_malformed_networks_are_refused() -> None:
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 network"):
        parse_networks(["10.0.0.0/33"])
