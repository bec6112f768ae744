"""Server bans, pure: what a typed ban means, whom it names, and the list that expires them."""

from __future__ import annotations

import pytest

from trio_chat.core.events import ServerBanEntry
from trio_chat.core.masks import Identity
from trio_chat.core.server_bans import ServerBanList, names, normalized

ALICE = Identity("alice", "~alice", "k5x2q9m4tbhe.ip", account="alice")
GUEST = Identity("guest", "", "b7vb6yq3mw2e.ip")


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("203.0.113.7/24", "203.0.113.0/24"),  # a network, in CIDR form
        ("203.0.113.7", "203.0.113.7/32"),  # one address
        ("2001:db8::1/32", "2001:db8::/32"),
        ("2001:db8::1", "2001:db8::1/128"),
        ("::ffff:192.0.2.1", "192.0.2.1/32"),  # an IPv4 peer as a dual-stack socket shows it
        ("::ffff:192.0.2.0/120", "192.0.2.0/24"),  # ...and its network
        ("bob", "bob!*@*"),  # a mask
        ("*!*@k5x2q9m4tbhe.ip", "*!*@k5x2q9m4tbhe.ip"),
        ("a:alice", "a:alice"),  # an account
    ],
)
def test_what_a_typed_server_ban_means(typed: str, kept: str) -> None:
    assert normalized(typed) == kept


@pytest.mark.parametrize("typed", ["", "a b", "m:bob", "m:a:alice", "a:"])
def test_what_is_no_server_ban(typed: str) -> None:
    # A mute is a room's business: the server bans or does not.
    assert normalized(typed) is None


@pytest.mark.parametrize(
    ("ban", "who", "address", "named"),
    [
        ("203.0.113.0/24", GUEST, "203.0.113.99", True),
        ("203.0.113.0/24", GUEST, "203.0.114.1", False),
        ("203.0.113.0/24", GUEST, "::ffff:203.0.113.99", True),  # on a dual-stack socket
        ("192.0.2.0/24", GUEST, "2001:db8::1", False),  # another family
        ("2001:db8::/32", GUEST, "2001:db8:5::1", True),
        ("2001:db8::/32", GUEST, "2001:db9::1", False),
        ("203.0.113.0/24", GUEST, "", False),  # no address: no network names it
        ("*!*@b7vb6yq3mw2e.ip", GUEST, "203.0.113.99", True),  # by cloak
        ("GUEST!*@*", GUEST, "", True),  # by nickname, folded
        ("a:alice", ALICE, "", True),
        ("a:alice", GUEST, "", False),
    ],
)
def test_whom_a_server_ban_names(ban: str, who: Identity, address: str, named: bool) -> None:
    assert names(ban, who, address) is named


@pytest.mark.parametrize("typed", ["::ffff:192.0.2.0/120", "::ffff:192.0.2.1", "192.0.2.0/24"])
def test_an_ipv4_network_names_its_peers_however_it_was_typed(typed: str) -> None:
    ban = normalized(typed)
    assert ban is not None
    for address in ("192.0.2.1", "::ffff:192.0.2.1"):
        assert names(ban, GUEST, address)


def ban(mask: str, expires: float = 0.0, reason: str = "spam") -> ServerBanEntry:
    return ServerBanEntry(mask, reason, "oper", 100.0, expires)


def test_the_list_holds_one_ban_per_mask_in_the_order_set() -> None:
    bans = ServerBanList()
    bans.set(ban("bob!*@*"))
    bans.set(ban("203.0.113.0/24"))
    bans.set(ban("BOB!*@*", reason="again"))  # the same mask, folded: replaced in place
    assert len(bans) == 2
    assert bans.entries() == (ban("BOB!*@*", reason="again"), ban("203.0.113.0/24"))
    assert bans.naming(Identity("Bob", "", "h.ip"), "") == ban("BOB!*@*", reason="again")
    assert bans.naming(GUEST, "203.0.113.1") == ban("203.0.113.0/24")
    assert bans.naming(GUEST, "198.51.100.1") is None
    assert bans.lift("bob!*@*") == ban("BOB!*@*", reason="again")
    assert bans.lift("bob!*@*") is None
    assert bans.entries() == (ban("203.0.113.0/24"),)


def test_bans_expire_at_their_time_and_never_if_they_have_none() -> None:
    bans = ServerBanList()
    bans.load([ban("a!*@*", expires=200.0), ban("b!*@*", expires=300.0), ban("c!*@*")])
    assert bans.expire(199.9) == []
    assert bans.expire(200.0) == [ban("a!*@*", expires=200.0)]  # at its time, gone
    assert bans.expire(1e12) == [ban("b!*@*", expires=300.0)]
    assert bans.entries() == (ban("c!*@*"),)  # no expiry: forever
