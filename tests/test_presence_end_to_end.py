"""Presence end to end over real sockets: MONITOR, bots, read markers, on one process and two.

Across processes, every replica applies the same log, so a watcher on one process hears of a
nickname taken or given up on the other: its own process tells it, from its own replica.
A ``MONITOR +`` is answered once it is back from the log (the status it gets is its answer),
so anything sent after that answer comes after it in the one order.
"""

from __future__ import annotations

import base64
from pathlib import Path

from tests.chat_client import RunningServer
from tests.conftest import StartServer
from tests.irc_client import IrcClient
from tests.test_backplane import backplane, redis_server
from tests.test_moderation_persistence import PASSWORDS, QUICK, connect, new_account
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


async def test_a_bot_on_one_process_is_one_in_whois_and_who_on_the_other(
    start_server: StartServer, backplane: BackplaneConfig
) -> None:
    first = await start_server(irc=True, backplane=backplane)
    second = await start_server(irc=True, backplane=backplane)
    robot = await irc_user(first, "robot")
    await robot.send("JOIN #bots")
    await robot.receive_until("366")
    await robot.send("MODE robot +B")
    (mode,) = await robot.receive_until("MODE")
    assert mode.params == ("robot", "+B")
    await robot.sync()  # (the mode went through the log before this PING's answer)
    alice = await irc_user(second, "alice")
    await alice.send("WHOIS robot")
    whois = await alice.receive_until("318")
    assert [m.params[1:] for m in whois if m.command == "335"] == [("robot", "is a bot on TestNet")]
    await alice.send("WHO #bots")
    (who, _) = await alice.receive_until("315")
    assert who.params[5:7] == ("robot", "HB@")  # (it made the room: its operator)
    await robot.send("MODE robot -B")
    await robot.receive_until("MODE")
    await robot.sync()
    await alice.send("WHOIS robot")
    assert "335" not in [m.command for m in await alice.receive_until("318")]


async def read_marker_session(server: RunningServer, name: str, nick: str) -> IrcClient:
    """Log in to the account ``name`` (SASL) as ``nick``, with draft/read-marker."""
    irc = await connect(server.irc_port, server.clients)
    await irc.send("CAP LS 302")
    await irc.send("CAP REQ :sasl draft/read-marker")
    await irc.send("AUTHENTICATE PLAIN")
    await irc.receive_until("AUTHENTICATE")
    credentials = base64.b64encode(f"\0{name}\0{PASSWORDS[name]}".encode()).decode()
    await irc.send(f"AUTHENTICATE {credentials}")
    assert (await irc.receive_until("903", "904"))[-1].command == "903"
    await irc.send(f"NICK {nick}")
    await irc.send(f"USER {nick} 0 * :{nick}")
    await irc.send("CAP END")
    irc.nick = nick
    await irc.receive_until("376", "422")
    return irc


STAMP = "timestamp=2026-12-02T10:00:00.123Z"


async def test_a_marker_set_on_one_process_reaches_the_accounts_other_connection(
    start_server: StartServer, backplane: BackplaneConfig
) -> None:
    first = await start_server(irc=True, accounts=QUICK, backplane=backplane)
    second = await start_server(irc=True, accounts=QUICK, backplane=backplane)
    laptop = await connect(first.irc_port, first.clients)
    await new_account(laptop, "alice")  # (without the cap: its answers come all the same)
    phone = await read_marker_session(second, "alice", "alice_phone")
    stranger = await irc_user(second, "bob")
    await laptop.send(f"MARKREAD #Rust {STAMP}")
    (answer,) = await laptop.receive_until("MARKREAD")  # back from the log: applied everywhere
    assert answer.params == ("#Rust", STAMP)
    (news,) = await phone.receive_until("MARKREAD")
    assert news.params == ("#Rust", STAMP)
    await laptop.send("MARKREAD #rust timestamp=2026-12-01T00:00:00.000Z")  # older: the newer
    assert (await laptop.receive_until("MARKREAD"))[-1].params == ("#rust", STAMP)
    await phone.send("JOIN #rust")
    burst = await phone.receive_until("366")
    assert [m.params for m in burst if m.command == "MARKREAD"] == [("#rust", STAMP)]
    await stranger.send("MARKREAD #rust")  # another's: none
    assert (await stranger.receive_until("MARKREAD"))[-1].params == ("#rust", "*")
    assert "MARKREAD" not in [m.command for m in await phone.sync()]  # told once only


async def test_an_accounts_markers_survive_a_restart(
    start_server: StartServer, tmp_path: Path
) -> None:
    kept = {"irc": True, "accounts": QUICK, "database": str(tmp_path / "state.sqlite3")}
    first = await start_server(**kept)
    alice = await connect(first.irc_port, first.clients)
    await new_account(alice, "alice")
    await alice.send(f"MARKREAD bob {STAMP}")
    await alice.receive_until("MARKREAD")
    first.stop.set()  # a clean stop: what was queued is saved
    await first.finished.wait()
    second = await start_server(**kept)
    again = await read_marker_session(second, "alice", "alice")
    await again.send("MARKREAD Bob")
    assert (await again.receive_until("MARKREAD"))[-1].params == ("Bob", STAMP)


async def test_a_bots_messages_are_tagged_for_those_with_message_tags_only(
    start_server: StartServer,
) -> None:
    server = await start_server(irc=True)
    robot = await connect(server.irc_port, server.clients)
    await robot.register("robot", caps="echo-message message-tags", lobby=False)
    await robot.send("MODE robot +B")
    await robot.receive_until("MODE")
    tagged = await connect(server.irc_port, server.clients)
    await tagged.register("alice", caps="message-tags", lobby=False)
    plain = await irc_user(server, "carol")
    for member in (robot, tagged, plain):
        await member.send("JOIN #bots")
        await member.receive_until("366")
    await robot.sync()
    await tagged.sync()
    await robot.send("PRIVMSG alice :beep boop")
    await robot.send("PRIVMSG #bots :hello")
    (echo,) = await robot.receive_until("PRIVMSG")
    assert (echo.params, "bot" in echo.tags) == (("alice", "beep boop"), True)
    (private,) = await tagged.receive_until("PRIVMSG")
    assert "bot" in private.tags
    (said,) = await tagged.receive_until("PRIVMSG")
    assert (said.params, said.tags.get("bot", "?")) == (("#bots", "hello"), "")
    (plainly,) = await plain.receive_until("PRIVMSG")
    assert plainly.tags == {}  # no tags it did not ask for
