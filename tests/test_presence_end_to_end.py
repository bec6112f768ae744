"""Presence end to end over real sockets: MONITOR, on one process and across two on one Redis.

Across processes, every replica applies the same log, so a watcher on one process hears of a
nickname taken or given up on the other: its own process tells it, from its own replica.
A ``MONITOR +`` is answered once it is back from the log (the status it gets is its answer),
so anything sent after that answer comes after it in the one order.
"""

from __future__ import annotations

from tests.chat_client import RunningServer
from tests.conftest import StartServer
from tests.irc_client import IrcClient
from tests.test_backplane import backplane, redis_server
from tests.test_moderation_persistence import connect
from trio_chat.frontends.ircmessage import Message
from trio_chat.shell.backplane_config import BackplaneConfig

__all__ = ["backplane", "redis_server"]  # fixtures, from the backplane's tests


async def irc_user(server: RunningServer, nick: str) -> IrcClient:
    client = await connect(server.irc_port, server.clients)
    await client.register(nick, lobby=False)
    return client


def said(message: Message) -> tuple[str, tuple[str, ...]]:
    return message.command, message.params[1:]


async def test_a_watcher_hears_a_nickname_come_be_renamed_and_go(
    start_server: StartServer,
) -> None:
    server = await start_server(irc=True)
    alice = await irc_user(server, "alice")
    await alice.send("MONITOR + bob,carol")
    assert [said(m) for m in await alice.sync()] == [("731", ("bob,carol",))]
    bob = await irc_user(server, "bob")
    (online,) = await alice.receive_until("730")
    assert online.params[1].startswith("bob!~u@")
    await bob.send("NICK carol")
    assert [said(m) for m in await alice.receive_until("730")] == [
        ("731", ("bob",)),
        ("730", (online.params[1].replace("bob!", "carol!"),)),
    ]
    await bob.send("QUIT")
    await bob.expect_closed()
    assert [said(m) for m in await alice.receive_until("731")] == [("731", ("carol",))]
    await alice.send("MONITOR L")
    assert [m.command for m in await alice.receive_until("733")] == ["732", "733"]


async def test_a_watcher_on_one_process_hears_of_members_of_the_other(
    start_server: StartServer, backplane: BackplaneConfig
) -> None:
    first = await start_server(irc=True, backplane=backplane)
    second = await start_server(irc=True, backplane=backplane)
    alice = await irc_user(first, "alice")
    await alice.send("MONITOR + bob")
    assert [said(m) for m in await alice.receive_until("731")] == [("731", ("bob",))]
    bob = await irc_user(second, "bob")
    (online,) = await alice.receive_until("730")
    assert online.params[1].startswith("bob!")
    # A watcher on the second process, which started before bob's registration was applied.
    carol = await irc_user(second, "carol")
    await carol.send("MONITOR + bob,alice")
    (status,) = await carol.receive_until("730")
    assert {mask.partition("!")[0] for mask in status.params[1].split(",")} == {"bob", "alice"}
    await bob.send("QUIT")
    await bob.expect_closed()
    assert [said(m) for m in await alice.receive_until("731")] == [("731", ("bob",))]
    assert [said(m) for m in await carol.receive_until("731")] == [("731", ("bob",))]


async def test_a_new_real_name_reaches_those_with_setname_and_whois(
    start_server: StartServer,
) -> None:
    server = await start_server(irc=True)
    alice = await connect(server.irc_port, server.clients)
    await alice.register("alice", caps="setname")
    bob = await connect(server.irc_port, server.clients)
    await bob.register("bob", caps="setname")
    carol = await irc_user(server, "carol")  # without the capability, and in no room
    await carol.send("JOIN #lobby")
    await carol.receive_until("366")
    await alice.sync()
    await bob.sync()
    await alice.send("SETNAME :Alice Liddell")
    (own,) = await alice.receive_until("SETNAME")
    assert own.params == ("Alice Liddell",)
    (news,) = await bob.receive_until("SETNAME")
    assert news.source is not None
    assert news.source.startswith("alice!")
    await carol.send("WHOIS alice")
    whois = await carol.receive_until("318")
    assert [m.params[-1] for m in whois if m.command == "311"] == ["Alice Liddell"]  # no SETNAME
