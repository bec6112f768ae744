"""What is kept of a password (argon2id, SCRAM keys: never the password), and its rules."""

from __future__ import annotations

import argon2
import pytest
from scramp import ScramClient

from trio_chat.core.accounts import (
    Check,
    Credentials,
    PasswordRules,
    check,
    make_credentials,
    needs_rehash,
    scram,
)
from trio_chat.core.refusals import Reason, Refusal


@pytest.fixture(scope="module")
def credentials() -> Credentials:
    return make_credentials("correct horse battery", scram_iterations=4096)


def test_the_password_is_checked_against_its_argon2id_hash(credentials: Credentials) -> None:
    assert credentials.password_hash.startswith("$argon2id$")
    assert "correct horse" not in credentials.password_hash
    assert check(credentials, "correct horse battery") is Check.RIGHT
    assert check(credentials, "correct horse batterY") is Check.WRONG
    assert check(credentials, "") is Check.WRONG


def test_a_hash_with_other_parameters_is_right_but_old(credentials: Credentials) -> None:
    weaker = Credentials(
        argon2.PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("s3cret pass"),
        credentials.scram_salt,
        credentials.scram_stored_key,
        credentials.scram_server_key,
        credentials.scram_iterations,
    )
    assert needs_rehash(weaker)
    assert check(weaker, "s3cret pass") is Check.RIGHT_BUT_OLD
    assert not needs_rehash(credentials)


def test_a_hash_nobody_can_read_logs_nobody_in(credentials: Credentials) -> None:
    broken = Credentials("not a hash", b"", b"", b"", 4096)
    assert check(broken, "anything at all") is Check.WRONG


def test_the_scram_keys_let_a_client_prove_the_password(credentials: Credentials) -> None:
    keys = credentials
    server = scram().make_server(
        lambda name: (
            keys.scram_salt,
            keys.scram_stored_key,
            keys.scram_server_key,
            keys.scram_iterations,
        )
    )
    client = ScramClient(["SCRAM-SHA-256"], "alice", "correct horse battery")
    server.set_client_first(client.get_client_first())
    client.set_server_first(server.get_server_first())
    server.set_client_final(client.get_client_final())
    client.set_server_final(server.get_server_final())  # the server proved itself too


def test_credentials_never_show_their_hashes(credentials: Credentials) -> None:
    assert repr(credentials) == "Credentials(...)"
    assert credentials.password_hash not in f"{credentials!r} {credentials}"


@pytest.mark.parametrize(
    ("password", "refusal"),
    [
        ("short", Refusal(Reason.PASSWORD_TOO_SHORT, detail="8")),
        ("eight ok", None),
        ("é" * 4, None),  # 8 bytes in UTF-8: bytes count, not characters
        ("é" * 3, Refusal(Reason.PASSWORD_TOO_SHORT, detail="8")),
        ("x" * 256, None),
        ("x" * 257, Refusal(Reason.PASSWORD_TOO_LONG, detail="256")),
    ],
)
def test_password_rules_count_bytes(password: str, refusal: Refusal | None) -> None:
    assert PasswordRules().refusal(password) == refusal


def test_the_shortest_password_is_configurable() -> None:
    assert PasswordRules(min_bytes=4).refusal("four") is None
    assert PasswordRules(min_bytes=4).refusal("3by") == Refusal(
        Reason.PASSWORD_TOO_SHORT, detail="4"
    )
