"""Moderation across processes on one Redis: a ban set on one holds on the other, and each saves.

Two servers share rooms through a real redis-server (the backplane's fixtures); their clients
speak IRC over real sockets. A change and what it decides are in the one log, so when the
change's author has its answer, the change is before anything sent afterwards on either
process: no waiting is needed beyond that. (Not a PING's answer: with a backplane, PONG is
the session's process's own reply, which does not wait for the log.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import StartServer
from tests.test_backplane import backplane, redis_server
from tests.test_moderation_persistence import (
    QUICK,
    connect,
    join,
    logged_in,
    names_in,
    new_account,
    own_host,
)
from trio_chat.shell.backplane_config import BackplaneConfig

__all__ = ["backplane", "redis_server"]  # fixtures, from the backplane's tests

KEY = b"one key for every process"  # --cloak-key: the same address, the same cloak everywhere


def moderated(**overrides: Any) -> Any:
    fields = {"irc": True, "operators": ("alice",), "accounts": QUICK, "cloak_key": KEY}
    return fields | overrides


async def test_a_ban_set_on_one_process_refuses_the_member_on_the_other(
    start_server: StartServer, backplane: BackplaneConfig
) -> None:
    first = await start_server(**moderated(backplane=backplane))
    second = await start_server(**moderated(backplane=backplane))
    alice = await connect(first.irc_port, first.clients)
    await alice.register("alice", lobby=False)
    assert names_in(await join(alice, "#rust")) == ["@alice"]  # its first member runs it
    mallory = await connect(first.irc_port, first.clients)
    await mallory.register("mallory", lobby=False)
    cloak = await own_host(mallory)
    await mallory.send("QUIT")
    await mallory.expect_closed()
    await alice.send(f"MODE #rust +b *!*@{cloak}")
    (mode,) = await alice.receive_until("MODE")  # back from the log: applied everywhere
    assert mode.params == ("#rust", "+b", f"*!*@{cloak}")
    # Mallory, under another nickname, on the other process: the same cloak, banned.
    again = await connect(second.irc_port, second.clients)
    await again.register("mallory2", lobby=False)
    assert await own_host(again) == cloak
    assert (await join(again, "#rust"))[-1].command == "474"


async def test_a_registered_room_s_founder_gets_op_back_on_the_other_process(
    start_server: StartServer, backplane: BackplaneConfig
) -> None:
    first = await start_server(**moderated(backplane=backplane))
    second = await start_server(**moderated(backplane=backplane))
    alice = await connect(first.irc_port, first.clients)
    await new_account(alice, "alice")
    await join(alice, "#rust")
    await alice.send("PRIVMSG ChanServ :REGISTER #rust")
    await alice.send("PART #rust")
    await alice.receive_until("PART")  # back from the log: the room registered, then left
    await alice.send("QUIT")
    await alice.expect_closed()
    bob = await connect(second.irc_port, second.clients)
    await bob.register("bob", lobby=False)
    assert names_in(await join(bob, "#rust")) == ["bob"]  # kept while empty: not bob's to run
    alice = await connect(second.irc_port, second.clients)
    await logged_in(alice, "alice")
    assert names_in(await join(alice, "#rust")) == ["@alice", "bob"]


async def test_a_server_ban_set_on_one_process_puts_out_a_member_of_the_other(
    start_server: StartServer, backplane: BackplaneConfig
) -> None:
    first = await start_server(**moderated(backplane=backplane))
    second = await start_server(**moderated(backplane=backplane))
    eve = await connect(second.irc_port, second.clients)
    await eve.register("eve", lobby=False)
    alice = await connect(first.irc_port, first.clients)
    await new_account(alice, "alice")
    await alice.send("KLINE 1h eve!*@* spamming")
    (notice,) = await alice.receive_until("NOTICE")
    assert notice.params[-1].endswith(": spamming (1 put out)")
    lines = await eve.expect_closed()
    assert lines[-1].startswith("ERROR :Closing Link: (Banned (alice (spamming)))"), lines


async def test_each_process_saves_what_it_applies_and_the_state_it_starts_from(
    start_server: StartServer, backplane: BackplaneConfig, tmp_path: Path
) -> None:
    # A process that starts while another runs adopts its state (the registered room), then
    # applies the log (the server ban): its own database has both, for when it runs alone.
    first = await start_server(**moderated(backplane=backplane, database=str(tmp_path / "1")))
    alice = await connect(first.irc_port, first.clients)
    await new_account(alice, "alice")
    await join(alice, "#rust")
    await alice.send("PRIVMSG ChanServ :REGISTER #rust")
    await alice.send("TOPIC #rust :from the state")
    await alice.receive_until("TOPIC")  # back from the log: both applied
    second = await start_server(**moderated(backplane=backplane, database=str(tmp_path / "2")))
    bob = await connect(second.irc_port, second.clients)
    await bob.register("bob", lobby=False)
    await alice.send("KLINE eve!*@* spamming")
    await alice.send("PRIVMSG bob :after the ban")
    # Once bob has it, the second process has applied what came before it in the log.
    while (await bob.receive()).command != "PRIVMSG":
        pass
    for server in (first, second):
        server.stop.set()
        await server.finished.wait()

    alone = await start_server(**moderated(database=str(tmp_path / "2")))
    alice = await connect(alone.irc_port, alone.clients)
    await logged_in(alice, "alice")  # the account came with the state too
    entered = await join(alice, "#rust")
    assert names_in(entered) == ["@alice"]
    assert [m.params[-1] for m in entered if m.command == "332"] == ["from the state"]
    eve = await connect(alone.irc_port, alone.clients)
    await eve.send("NICK eve")
    await eve.send("USER eve 0 * :Eve")
    assert (await eve.receive()).command == "465"
