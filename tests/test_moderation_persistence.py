"""What moderation keeps survives a restart and ``kill -9``: registered rooms, bans, cloaks.

Real servers on real sockets, spoken to over IRC; the database is a real file. The hashing is
the real argon2id, so these tests run in real time.
"""

from __future__ import annotations

import base64
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

import trio

from tests.chat_client import PATIENCE, ChatClient, free_port
from tests.conftest import StartServer
from tests.irc_client import IrcClient
from tests.test_backplane import server_process
from trio_chat.frontends.ircmessage import Message
from trio_chat.shell.credentials import AccountRules

QUICK = AccountRules(failed_login_delay=0.05)
PASSWORDS = {"alice": "alice's passphrase", "bob": "bob's passphrase"}


async def connect(port: int, clients: list[ChatClient] | None = None) -> IrcClient:
    irc = IrcClient(await trio.open_tcp_stream("127.0.0.1", port))
    if clients is not None:
        clients.append(ChatClient(irc.stream))  # closed when the test ends
    return irc


async def new_account(irc: IrcClient, name: str) -> list[Message]:
    """Register ``name`` with IRCv3 REGISTER and connect; return what came before a PONG."""
    await irc.send("CAP LS 302")
    await irc.send("CAP REQ :draft/account-registration")
    await irc.send(f"NICK {name}")
    await irc.send(f"REGISTER * * :{PASSWORDS[name]}")
    assert (await irc.receive_until("REGISTER"))[-1].params[0] == "SUCCESS"
    await irc.send(f"USER {name} 0 * :{name}")
    await irc.send("CAP END")
    irc.nick = name
    return [*await irc.receive_until("376", "422"), *await irc.sync()]


async def logged_in(irc: IrcClient, name: str) -> list[Message]:
    """Log in to ``name`` with SASL PLAIN and connect; return what came before a PONG."""
    await irc.send("CAP LS 302")
    await irc.send("CAP REQ :sasl")
    await irc.send("AUTHENTICATE PLAIN")
    await irc.receive_until("AUTHENTICATE")
    credentials = base64.b64encode(f"\0{name}\0{PASSWORDS[name]}".encode()).decode()
    await irc.send(f"AUTHENTICATE {credentials}")
    assert (await irc.receive_until("903", "904"))[-1].command == "903"
    await irc.send(f"NICK {name}")
    await irc.send(f"USER {name} 0 * :{name}")
    await irc.send("CAP END")
    irc.nick = name
    return [*await irc.receive_until("376", "422"), *await irc.sync()]


async def own_host(irc: IrcClient) -> str:
    """The cloaked host the server shows for ``irc`` (WHOIS's 311)."""
    await irc.send(f"WHOIS {irc.nick}")
    (whois,) = [m for m in await irc.receive_until("318") if m.command == "311"]
    return whois.params[3]


async def join(irc: IrcClient, room: str) -> list[Message]:
    await irc.send(f"JOIN {room}")
    return await irc.receive_until("366", "474", "475", "471", "473")


def names_in(burst: list[Message]) -> list[str]:
    return [name for m in burst if m.command == "353" for name in m.params[-1].split()]


async def set_up(port: int, clients: list[ChatClient] | None = None) -> str:
    """On a fresh server: a registered #rust with an operator by account, modes, topic, bans.

    Returns mallory's cloaked host, which #rust bans.
    """
    alice = await connect(port, clients)
    burst = await new_account(alice, "alice")
    assert "381" in [m.command for m in burst]  # --oper alice: an operator once logged in
    bob = await connect(port, clients)
    await new_account(bob, "bob")
    await join(alice, "#rust")
    await alice.send("PRIVMSG ChanServ :REGISTER #rust")
    await join(bob, "#rust")
    mallory = await connect(port, clients)
    await mallory.register("mallory", lobby=False)
    cloak = await own_host(mallory)
    await alice.send("MODE #rust +o bob")
    await alice.send("MODE #rust +ml 10")
    await alice.send(f"MODE #rust +b mallory!*@{cloak}")
    await alice.send("TOPIC #rust :kept across restarts")
    await alice.send("KLINE 1h eve!*@* spamming")
    await alice.send("DLINE 203.0.113.0/24 a botnet")
    said = [m.params[-1] for m in await alice.sync()]
    assert "#rust is registered to alice" in said
    assert any(text.startswith("Banned eve!*@* until ") for text in said), said
    return cloak


async def check_kept(port: int, cloak: str, clients: list[ChatClient] | None = None) -> None:
    """On the server started again: everything :func:`set_up` did holds."""
    alice = await connect(port, clients)
    assert "381" in [m.command for m in await logged_in(alice, "alice")]  # --oper alice
    entered = await join(alice, "#rust")
    assert names_in(entered) == ["@alice"]  # the founder runs it again, alone in it
    assert [m.params[-1] for m in entered if m.command == "332"] == ["kept across restarts"]
    await alice.send("MODE #rust")
    await alice.send("MODE #rust +b")
    await alice.send("STATS K")
    replies = await alice.sync()
    (modes,) = [m for m in replies if m.command == "324"]
    assert sorted(modes.params[2].lstrip("+")) == sorted("lmnt")
    assert modes.params[3] == "10"
    assert [m.params[2:4] for m in replies if m.command == "367"] == [
        (f"mallory!*@{cloak}", "alice")
    ]
    bans = [(m.params[2], m.params[5]) for m in replies if m.command == "216"]
    assert sorted(bans) == [("203.0.113.0/24", "a botnet"), ("eve!*@*", "spamming")]

    bob = await connect(port, clients)
    await logged_in(bob, "bob")
    assert names_in(await join(bob, "#rust")) == ["@alice", "@bob"]  # an operator by account

    mallory = await connect(port, clients)
    await mallory.register("mallory", lobby=False)
    assert (await join(mallory, "#rust"))[-1].command == "474"  # the same cloak: banned

    eve = await connect(port, clients)
    await eve.send("NICK eve")
    await eve.send("USER eve 0 * :Eve")
    refusal = await eve.receive()
    assert (refusal.command, refusal.params[-1]) == (
        "465",
        "You are banned from this server: spamming",
    )


def kept(path: Path) -> Any:
    # No --cloak-key (the tests' fixed one aside): the database's, made once, is the key.
    fields = {"database": str(path), "irc": True, "operators": ("alice",), "accounts": QUICK}
    return fields | {"cloak_key": None}


async def test_a_registered_room_and_server_bans_survive_a_restart(
    start_server: StartServer, tmp_path: Path
) -> None:
    first = await start_server(**kept(tmp_path / "state.sqlite3"))
    cloak = await set_up(first.irc_port, first.clients)
    first.stop.set()
    await first.finished.wait()
    second = await start_server(**kept(tmp_path / "state.sqlite3"))
    await check_kept(second.irc_port, cloak, second.clients)


async def test_cloaks_are_the_same_after_a_restart_with_the_key_the_database_keeps(
    start_server: StartServer, tmp_path: Path
) -> None:
    hosts = []
    for _ in range(2):
        server = await start_server(**kept(tmp_path / "state.sqlite3"))
        irc = await connect(server.irc_port, server.clients)
        await irc.register("carol", lobby=False)
        hosts.append(await own_host(irc))
        server.stop.set()
        await server.finished.wait()
    assert hosts[0] == hosts[1]
    assert hosts[0].endswith(".ip")
    # Without a database, a random key per start: the same address, another cloak.
    others = []
    for _ in range(2):
        server = await start_server(irc=True, cloak_key=None)
        irc = await connect(server.irc_port, server.clients)
        await irc.register("carol", lobby=False)
        others.append(await own_host(irc))
        server.stop.set()
        await server.finished.wait()
    assert len({hosts[0], *others}) == 3


async def test_a_registered_room_and_server_bans_survive_kill_9(
    nursery: trio.Nursery, tmp_path: Path
) -> None:
    database = tmp_path / "state.sqlite3"
    port = free_port()
    command = [sys.executable, "-m", "trio_chat", "server", "--no-plain", "--irc-port", str(port)]
    command += ["--no-web", "--db", str(database), "--oper", "alice", "--log-level", "info"]
    process = await server_process(nursery, command, listeners=1)
    clients: list[ChatClient] = []
    cloak = await set_up(port, clients)
    # Nobody is told when a room's settings reach the disk: wait (bounded) until a reader of
    # the file sees the last of them, as a crash would find it.
    with trio.fail_after(PATIENCE):
        # Polling another process's file: there is no event to wait on.
        while not saved(database, "SELECT 1 FROM server_bans WHERE mask = '203.0.113.0/24'"):  # noqa: ASYNC110
            await trio.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # at once: nothing gets to be saved after this
    await process.wait()
    for client in clients:
        await trio.aclose_forcefully(client.stream)

    again = await server_process(nursery, command, listeners=1)
    await check_kept(port, cloak, clients)
    for client in clients:
        await trio.aclose_forcefully(client.stream)
    again.send_signal(signal.SIGTERM)
    assert await again.wait() == 0


def saved(path: Path, query: str) -> bool:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return connection.execute(query).fetchone() is not None
        finally:
            connection.close()
    except sqlite3.Error:
        return False  # not created yet
