"""Accounts end to end: register on one front end, log in on another, over real sockets.

The hashing is the real argon2id (tens of milliseconds a check), so these tests run in real
time: a mock clock would jump ahead while a worker thread hashes, since every task then waits.
"""

from __future__ import annotations

import base64
import signal
import sys
from dataclasses import replace
from pathlib import Path

import trio
from scramp import ScramClient

from tests.chat_client import ChatClient, RunningServer, free_port
from tests.conftest import StartServer
from tests.irc_client import IrcClient
from tests.test_backplane import backplane, redis_server, server_process
from trio_chat.frontends.ircmessage import Message
from trio_chat.shell.backplane_config import BackplaneConfig
from trio_chat.shell.credentials import AccountRules

__all__ = ["backplane", "redis_server"]  # fixtures, from the backplane's tests

QUICK = AccountRules(failed_login_delay=0.05)  # a wrong password is still slowed, less


async def irc_client(server: RunningServer) -> IrcClient:
    client = IrcClient(await trio.open_tcp_stream("127.0.0.1", server.irc_port))
    server.clients.append(ChatClient(client.stream))  # closed when the test ends
    return client


async def registered_account(server: RunningServer, name: str, password: str) -> ChatClient:
    member = await server.join(name)
    await member.send(f"/register {password}")
    await member.expect(f"* {name} is registered: it is yours, with this password")
    return member


async def sasl_plain(irc: IrcClient, account: str, password: str) -> list[Message]:
    await irc.send("CAP LS 302")
    await irc.send("CAP REQ :sasl")
    await irc.send("AUTHENTICATE PLAIN")
    await irc.receive_until("AUTHENTICATE")
    credentials = base64.b64encode(f"\0{account}\0{password}".encode()).decode()
    await irc.send(f"AUTHENTICATE {credentials}")
    replies = [await irc.receive()]
    while replies[-1].command not in ("903", "904"):
        replies.append(await irc.receive())
    return replies


async def test_registered_on_the_plain_protocol_logged_in_over_irc_with_sasl_plain(
    start_server: StartServer,
) -> None:
    server = await start_server(irc=True, accounts=QUICK)
    alice = await registered_account(server, "alice", "correct horse")
    await alice.send("/quit")
    await alice.expect_closed()

    irc = await irc_client(server)
    replies = await sasl_plain(irc, "alice", "correct horse")
    assert [(m.command, m.params[2:]) for m in replies] == [
        ("900", ("alice", "You are now logged in as alice")),
        ("903", ()),
    ]
    await irc.send("NICK alice")  # the name is its to take
    await irc.send("USER a 0 * :Alice")
    await irc.send("CAP END")
    assert (await irc.receive()).command == "001"
    await irc.send("WHOIS alice")
    whois = await irc.receive_until("318")
    assert ("330", ("alice", "alice", "alice", "is logged in as")) in [
        (m.command, m.params) for m in whois
    ]


async def test_a_registered_nickname_is_refused_without_its_password_on_every_front_end(
    start_server: StartServer,
) -> None:
    server = await start_server(irc=True, accounts=QUICK)
    alice = await registered_account(server, "alice", "correct horse")
    await alice.send("/quit")
    await alice.expect_closed()

    # IRC, no SASL: a 433 that says to log in.
    irc = await irc_client(server)
    await irc.send("NICK alice")
    await irc.send("USER a 0 * :A")
    refusal = await irc.receive()
    assert refusal.command == "433"
    assert "log in with SASL" in refusal.params[-1]

    # The plain protocol: asked for the password; a wrong one is refused, and asked again.
    mallory = await server.connect()  # (past the name prompt)
    await mallory.send("alice")
    await mallory.expect("* alice is registered: password?")
    await mallory.send("guessing")
    await mallory.expect("! wrong password for alice", "* what is your name?")

    # IRC with SASL and a wrong password: 904, and registration may go on without it.
    wrong = await irc_client(server)
    replies = await sasl_plain(wrong, "alice", "guessing")
    assert replies[-1].command == "904"

    # PASS account:password with a wrong one: 464.
    bad_pass = await irc_client(server)
    await bad_pass.send("PASS :alice:guessing")
    await bad_pass.send("NICK somebody")
    await bad_pass.send("USER a 0 * :A")
    assert (await bad_pass.receive()).command == "464"


async def test_scram_sha_256_logs_in_without_sending_the_password(
    start_server: StartServer,
) -> None:
    server = await start_server(irc=True, accounts=QUICK)
    await registered_account(server, "scrammer", "open sesame")
    irc = await irc_client(server)
    await irc.send("CAP REQ :sasl")
    await irc.send("AUTHENTICATE SCRAM-SHA-256")
    await irc.receive_until("AUTHENTICATE")
    client = ScramClient(["SCRAM-SHA-256"], "scrammer", "open sesame")

    async def exchange(message: str) -> str:
        await irc.send(f"AUTHENTICATE {base64.b64encode(message.encode()).decode()}")
        (reply,) = await irc.receive_until("AUTHENTICATE")
        return base64.b64decode(reply.params[0]).decode()

    client.set_server_first(await exchange(client.get_client_first()))
    client.set_server_final(await exchange(client.get_client_final()))  # the server's proof
    await irc.send("AUTHENTICATE +")
    assert [(await irc.receive()).command for _ in range(2)] == ["900", "903"]


async def test_irc_registers_before_connecting_and_pass_logs_in_later(
    start_server: StartServer,
) -> None:
    server = await start_server(irc=True, accounts=QUICK)
    irc = await irc_client(server)
    await irc.send("CAP LS 302")
    await irc.send("CAP REQ :draft/account-registration")
    await irc.send("NICK bar")
    await irc.send("REGISTER * * :a fine passphrase")
    success = await irc.receive_until("REGISTER")
    assert success[-1].params[:2] == ("SUCCESS", "bar")
    assert (await irc.receive()).command == "900"
    await irc.send("USER b 0 * :B")
    await irc.send("CAP END")
    assert (await irc.receive_until("001"))[-1].command == "001"
    await irc.send("QUIT")

    # A client that knows no SASL logs in with PASS (here: just the password, for its nick).
    later = await irc_client(server)
    await later.send("PASS :a fine passphrase")
    await later.send("NICK bar")
    await later.send("USER b 0 * :B")
    assert [(await later.receive()).command for _ in range(2)] == ["900", "001"]


async def test_wrong_passwords_are_throttled_per_account(start_server: StartServer) -> None:
    server = await start_server(accounts=replace(QUICK, login_attempts=2, login_window=600))
    alice = await registered_account(server, "alice", "correct horse")
    await alice.send("/quit")
    await alice.expect_closed()
    mallory = await server.connect()  # (past the name prompt)
    for _ in range(2):
        await mallory.send("alice")
        await mallory.expect("* alice is registered: password?")
        await mallory.send("guessing")
        await mallory.expect("! wrong password for alice", "* what is your name?")
    await mallory.send("alice")
    await mallory.expect("* alice is registered: password?")
    await mallory.send("correct horse")  # right, but the throttle answers before any check
    line = await mallory.receive_line()
    assert line.startswith("! too many wrong passwords: try again in ")
    metrics = server.config.metrics.exposition()[0].decode()
    assert 'trio_chat_logins_total{mechanism="password",outcome="wrong"} 2.0' in metrics
    assert 'trio_chat_logins_total{mechanism="password",outcome="throttled"} 1.0' in metrics
    assert "correct horse" not in metrics


async def test_an_account_survives_kill_9_right_after_register_success(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    database = tmp_path / "state.sqlite3"
    port = free_port()
    command = [sys.executable, "-m", "trio_chat", "server", "--no-plain", "--irc-port", str(port)]
    command += ["--no-web"]
    command += ["--db", str(database), "--log-level", "info"]
    process = await server_process(nursery, command, listeners=1)
    irc = IrcClient(await trio.open_tcp_stream("127.0.0.1", port))
    await irc.send("NICK durable")
    await irc.send("REGISTER * * :kept on disk")
    assert (await irc.receive_until("REGISTER"))[-1].params[0] == "SUCCESS"
    process.send_signal(signal.SIGKILL)  # at once: nothing gets to be saved after this
    await process.wait()
    await trio.aclose_forcefully(irc.stream)

    again = await server_process(nursery, command, listeners=1)
    irc = IrcClient(await trio.open_tcp_stream("127.0.0.1", port))
    replies = await sasl_plain(irc, "durable", "kept on disk")
    assert replies[-1].command == "903"
    await trio.aclose_forcefully(irc.stream)
    again.send_signal(signal.SIGTERM)
    assert await again.wait() == 0


async def test_an_account_registered_on_one_process_logs_in_on_another(
    start_server: StartServer, backplane: BackplaneConfig
) -> None:
    first = await start_server(backplane=backplane, accounts=QUICK)
    second = await start_server(backplane=backplane, irc=True, accounts=QUICK)
    alice = await registered_account(first, "alice", "correct horse")
    await alice.send("/quit")
    await alice.expect_closed()
    irc = await irc_client(second)
    assert (await sasl_plain(irc, "alice", "correct horse"))[-1].command == "903"


async def test_two_processes_registering_one_name_at_once_end_with_one_account(
    start_server: StartServer, backplane: BackplaneConfig
) -> None:
    first = await start_server(backplane=backplane, irc=True, accounts=QUICK)
    second = await start_server(backplane=backplane, irc=True, accounts=QUICK)
    clients = [await irc_client(first), await irc_client(second)]
    for client in clients:
        await client.send("NICK contested")  # not registered yet: both may ask
    for client in clients:
        await client.send("REGISTER * * :a fine passphrase")
    outcomes = []
    for client in clients:
        replies = await client.receive_until("REGISTER", "FAIL")
        outcomes.append(replies[-1].command)
    assert sorted(outcomes) == ["FAIL", "REGISTER"]


async def test_login_password_change_and_logout_on_the_plain_protocol(
    start_server: StartServer,
) -> None:
    server = await start_server(accounts=QUICK)
    owner = await registered_account(server, "alice", "first-password")
    await owner.send("/passwd wrong-one second-password")
    await owner.expect("! wrong password for alice")
    await owner.send("/passwd first-password second-password")  # (OLD has no spaces)
    await owner.expect("* the password of alice is changed")
    await owner.send("/nick alice_away")
    await owner.expect("* alice is now alice_away")
    await owner.send("/logout")
    await owner.expect("* you are logged out of alice")
    await owner.send("/login alice first-password")
    await owner.expect("! wrong password for alice")
    await owner.send("/login alice second-password")
    await owner.expect("* you are logged in as alice")
    await owner.send("/quit")
    await owner.expect_closed()

    other = await server.join("bob")
    await other.send("/login alice second-password")
    await other.expect("* you are logged in as alice")
    await other.send("/nick alice")  # its account's name: its own
    await other.expect("* bob is now alice")
    await other.send("/logout")
    await other.expect("! you use the name alice: change your nickname first")
