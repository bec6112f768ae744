"""The authenticator: passwords checked and hashed off the hub's task, throttled first."""

from __future__ import annotations

import argon2
import trio

from tests.names import nick
from trio_chat.core.accounts import Account, Credentials, Ticket, make_credentials
from trio_chat.core.hub import Hub
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.requests import Login
from trio_chat.shell.credentials import AccountRules, Authenticator

RULES = AccountRules(failed_login_delay=0.01, registrations_per_hour=2)


class Book:
    def __init__(self, *accounts: Account) -> None:
        self.accounts = {a.name.key: a for a in accounts}

    def account(self, name: str) -> Account | None:
        return self.accounts.get(nick(name).key)

    def account_with_certificate(self, fingerprint: str) -> Account | None:
        return None

    def ticket(self, digest: str) -> Ticket | None:
        return None


async def test_a_right_password_is_a_login_and_a_wrong_one_is_counted() -> None:
    keys = await trio.to_thread.run_sync(make_credentials, "right password", 4096)
    alice = Account(nick("alice"), keys, 0.0)
    authenticator = Authenticator(Book(alice), RULES)
    assert await authenticator.log_in("ALICE", "right password", None) == Login(nick("alice"), keys)
    assert await authenticator.log_in("alice", "wrong password", None) == Refusal(
        Reason.WRONG_PASSWORD, "alice"
    )
    assert await authenticator.log_in("nobody", "whatever", None) == Refusal(
        Reason.NO_SUCH_ACCOUNT, "nobody"
    )
    assert authenticator.logins == {("password", "right"): 1, ("password", "wrong"): 1}


async def test_an_old_hash_is_made_again_at_login() -> None:
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    keys = await trio.to_thread.run_sync(make_credentials, "right password", 4096)
    old = Credentials(weak.hash("right password"), *(keys.scram_salt, keys.scram_stored_key),
                      keys.scram_server_key, keys.scram_iterations)  # fmt: skip
    authenticator = Authenticator(Book(Account(nick("alice"), old, 0.0)), RULES)
    login = await authenticator.log_in("alice", "right password", None)
    assert isinstance(login, Login)
    assert login.credentials == old  # what was checked: the hub compares it with its own
    assert login.rehashed is not None
    assert login.rehashed.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


async def test_registrations_are_counted_per_address_and_rules_come_first() -> None:
    authenticator = Authenticator(Hub(), RULES)
    assert await authenticator.new_credentials("short", "10.0.0.1") == Refusal(
        Reason.PASSWORD_TOO_SHORT, detail="8"
    )
    for _ in range(2):
        assert isinstance(
            await authenticator.new_credentials("long enough", "10.0.0.1"), Credentials
        )
    refused = await authenticator.new_credentials("long enough", "10.0.0.1")
    assert isinstance(refused, Refusal)
    assert refused.reason is Reason.REGISTRATIONS_THROTTLED
    assert isinstance(await authenticator.new_credentials("long enough", "10.0.0.2"), Credentials)
    assert isinstance(await authenticator.new_credentials("long enough", None), Credentials)
    assert await authenticator.changed_credentials("x" * 300) == Refusal(
        Reason.PASSWORD_TOO_LONG, detail="256"
    )
    assert authenticator.throttled == 1
