"""SASL exchanges, sans-I/O: PLAIN, SCRAM-SHA-256 and EXTERNAL, with accounts looked up by name."""

from __future__ import annotations

import pytest
from scramp import ScramClient

from tests.names import nick
from trio_chat.core.accounts import Account, Credentials, Ticket, make_credentials
from trio_chat.core.sasl import (
    Challenge,
    CheckPassword,
    Exchange,
    Failed,
    Mechanism,
    Proven,
)

FINGERPRINT = "ab" * 32


@pytest.fixture(scope="module")
def jilles() -> Account:
    keys = make_credentials("sesame sesame", scram_iterations=4096)
    return Account(nick("jilles"), keys, 0.0, (FINGERPRINT,))


class Book:
    """One account, found by name or by its certificate."""

    def __init__(self, account: Account) -> None:
        self.only = account

    def account(self, name: str) -> Account | None:
        return self.only if nick(name).key == self.only.name.key else None

    def account_with_certificate(self, fingerprint: str) -> Account | None:
        return self.only if fingerprint in self.only.certificates else None

    def ticket(self, digest: str) -> Ticket | None:
        return None


def exchange(account: Account, mechanism: Mechanism, certificate: str | None = None) -> Exchange:
    return Exchange(mechanism, Book(account), certificate)


def test_plain_asks_the_shell_to_check_the_password(jilles: Account) -> None:
    plain = exchange(jilles, Mechanism.PLAIN)
    assert plain.start() == Challenge(b"")
    step = plain.respond(b"jilles\0Jilles\0sesame sesame")  # authzid may be the same account
    assert step == CheckPassword(jilles, "sesame sesame")
    assert "sesame" not in repr(step)
    assert plain.checked(True) == Proven(jilles)


def test_plain_with_a_wrong_password_fails_once_checked(jilles: Account) -> None:
    plain = exchange(jilles, Mechanism.PLAIN)
    plain.start()
    assert isinstance(plain.respond(b"\0jilles\0wrong"), CheckPassword)
    assert plain.checked(False) == Failed("wrong password")


@pytest.mark.parametrize(
    "message",
    [
        b"\0\0sesame sesame",  # no account
        b"\0jilles\0",  # no password
        b"\0nobody\0sesame sesame",
        b"bob\0jilles\0sesame sesame",  # to act as another
        b"jilles sesame sesame",
        b"\0jilles\0\xff\xfe",
    ],
)
def test_plain_messages_that_prove_nothing_fail_at_once(jilles: Account, message: bytes) -> None:
    plain = exchange(jilles, Mechanism.PLAIN)
    plain.start()
    assert isinstance(plain.respond(message), Failed)


def scram_client(password: str) -> ScramClient:
    return ScramClient(["SCRAM-SHA-256"], "jilles", password)


def test_scram_proves_the_password_without_sending_it(jilles: Account) -> None:
    scram = exchange(jilles, Mechanism.SCRAM_SHA_256)
    client = scram_client("sesame sesame")
    assert scram.start() == Challenge(b"")
    first = scram.respond(client.get_client_first().encode())
    assert isinstance(first, Challenge)
    client.set_server_first(first.data.decode())
    final = scram.respond(client.get_client_final().encode())
    assert isinstance(final, Challenge)
    client.set_server_final(final.data.decode())  # raises if the server did not prove itself
    assert scram.respond(b"") == Proven(jilles)


def test_scram_with_a_wrong_password_fails(jilles: Account) -> None:
    scram = exchange(jilles, Mechanism.SCRAM_SHA_256)
    client = scram_client("open barley")
    scram.start()
    first = scram.respond(client.get_client_first().encode())
    assert isinstance(first, Challenge)
    client.set_server_first(first.data.decode())
    assert isinstance(scram.respond(client.get_client_final().encode()), Failed)


def test_scram_for_nobody_fails_at_its_first_message(jilles: Account) -> None:
    scram = exchange(jilles, Mechanism.SCRAM_SHA_256)
    scram.start()
    other = ScramClient(["SCRAM-SHA-256"], "nobody", "whatever pass")
    assert isinstance(scram.respond(other.get_client_first().encode()), Failed)
    assert isinstance(scram.respond(b"more"), Failed)  # and nothing after


def test_external_takes_the_certificate_an_account_has_added(jilles: Account) -> None:
    assert exchange(jilles, Mechanism.EXTERNAL, FINGERPRINT).respond(b"jilles") == Proven(jilles)
    assert exchange(jilles, Mechanism.EXTERNAL, FINGERPRINT).respond(b"") == Proven(jilles)
    assert isinstance(exchange(jilles, Mechanism.EXTERNAL, "cd" * 32).respond(b"jilles"), Failed)
    assert isinstance(exchange(jilles, Mechanism.EXTERNAL, None).respond(b"jilles"), Failed)


def test_credentials_travel_without_the_password(jilles: Account) -> None:
    keys: Credentials = jilles.credentials
    assert b"sesame" not in keys.scram_stored_key + keys.scram_server_key
