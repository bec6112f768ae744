"""IRC end to end: IRC and plain clients in the same rooms, over real sockets on 127.0.0.1."""

from __future__ import annotations

import math
import ssl
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest
import trio
import trio.testing
import trustme

from tests.chat_client import ChatClient, RunningServer
from tests.conftest import CLOAK_KEY, LOCAL_CLOAK, StartServer, irc_front_end, plain_config
from tests.irc_client import IrcClient
from trio_chat.cli import arguments, server_config
from trio_chat.core.accounts import hash_password
from trio_chat.core.cloaks import cloak
from trio_chat.frontends.ircmessage import Message
from trio_chat.shell.credentials import AccountRules
from trio_chat.shell.server import Endpoint, serve

SERVER = "irc.test"


@pytest.fixture
async def server(start_server: StartServer) -> RunningServer:
    return await start_server(irc=True)


async def connect(server: RunningServer) -> IrcClient:
    client = IrcClient(await trio.open_tcp_stream("127.0.0.1", server.irc_port))
    server.clients.append(ChatClient(client.stream))  # closed when the test ends
    return client


async def test_irc_and_plain_users_chat_in_one_order(server: RunningServer) -> None:
    irc = await connect(server)
    burst = await irc.register("ircuser")
    assert [message.command for message in burst[-6:]] == ["251", "254", "255", "265", "266", "422"]
    plain = await server.join("José")
    assert await irc.lines() == [f":José!José@{LOCAL_CLOAK} JOIN #lobby"]

    await plain.send("hello from nc")
    await plain.expect("<José> hello from nc")  # in, before the other is sent
    await irc.send("PRIVMSG #lobby :hello from irc")
    await plain.expect("<ircuser> hello from irc")
    assert await irc.lines() == [
        f":José!José@{LOCAL_CLOAK} PRIVMSG #lobby :hello from nc"  # its own: no echo-message
    ]
    await irc.send("PRIVMSG #lobby :\x01ACTION waves\x01")
    await plain.expect("* ircuser waves")
    await irc.send("JOIN #rust")
    joined = await irc.receive_until("366")  # in #rust, before José is
    assert [(message.command, message.params) for message in joined] == [
        ("JOIN", ("#rust",)),
        ("353", ("ircuser", "=", "#rust", "@ircuser")),
        ("366", ("ircuser", "#rust", "End of /NAMES list")),
    ]
    await plain.send("/join #rust")
    await plain.expect("* welcome to #rust! online (2): @ircuser, José")
    assert await irc.lines() == [f":José!José@{LOCAL_CLOAK} JOIN #rust"]
    await plain.send("/nick Josefina")
    await plain.expect("* José is now Josefina")
    await irc.send("PART #rust :later")
    await plain.expect("* ircuser left #rust (later)")
    await irc.send("PRIVMSG Josefina :psst")
    await plain.expect("[pm from ircuser] psst")
    await plain.send("/msg ircuser back at you")
    await plain.expect("[pm to ircuser] back at you")
    assert await irc.lines() == [
        f":José!José@{LOCAL_CLOAK} NICK Josefina",
        f":ircuser!~u@{LOCAL_CLOAK} PART #rust later",
        f":Josefina!Josefina@{LOCAL_CLOAK} PRIVMSG ircuser :back at you",
    ]
    await irc.send("QUIT :see you")
    assert await irc.expect_closed() == ["ERROR :Closing Link: (Quit)"]
    await plain.expect("* ircuser left (quit: see you)")


async def test_one_nickname_namespace_across_front_ends(server: RunningServer) -> None:
    await server.join("alice")
    irc = await connect(server)
    await irc.send("NICK ALICE")
    await irc.send("USER u 0 * :Real")
    assert (await irc.receive()) == Message(
        "433", ("*", "ALICE", "Nickname is already in use"), SERVER
    )
    await irc.send("NICK aIice")  # a look-alike, with a capital I
    message = await irc.receive()
    assert message.command == "432"
    assert "looks too much like alice" in message.params[-1]
    await irc.register("bob")
    newcomer = await server.connect()
    await newcomer.send("Bob")
    await newcomer.expect("! nickname Bob is taken", "* what is your name?")


async def test_a_long_plain_line_reaches_irc_whole_in_several_lines(
    server: RunningServer,
) -> None:
    irc = await connect(server)
    await irc.register("reader")
    plain = await server.join("writer")
    text = "word " * 400  # 2,000 bytes, under the plain limit of 2,048
    await plain.send(text)
    await plain.expect(f"<writer> {text}")
    lines = [m for m in await irc.sync() if m.command == "PRIVMSG"]
    assert len(lines) == 5
    assert "".join(m.params[1] for m in lines) == text


async def test_replies_come_in_order_and_numerics_name_their_recipient(
    server: RunningServer,
) -> None:
    irc = await connect(server)
    await irc.register("alice", caps="echo-message server-time", lobby=False)
    await irc.send("JOIN #a,#b@")
    await irc.send("TOPIC #a :first topic")
    await irc.send("NICK al")
    await irc.send("WHOIS al")
    await irc.send("PRIVMSG #nowhere :hi")
    lines = await irc.lines()
    assert lines == [
        f":alice!~u@{LOCAL_CLOAK} JOIN #a",
        ":irc.test 353 alice = #a @alice",
        ":irc.test 366 alice #a :End of /NAMES list",
        ":irc.test 479 alice #b@ :Illegal channel name: room names use letters, digits, _ and - "
        "only (not '@')",
        f":alice!~u@{LOCAL_CLOAK} TOPIC #a :first topic",
        f":alice!~u@{LOCAL_CLOAK} NICK al",
        f":irc.test 311 al al ~u {LOCAL_CLOAK} * :Real alice",
        ":irc.test 319 al al @#a",
        ":irc.test 312 al al irc.test trio-chat-0.1.0",
        ":irc.test 318 al al :End of /WHOIS list",
        ":irc.test 403 al #nowhere :No such channel",
    ]


async def test_a_client_that_stops_answering_pings_is_removed(
    start_memory_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start_memory_server(front_end=irc_front_end, ping_interval=90, ping_timeout=60)
    assert server.listener is not None
    quiet = IrcClient(await server.listener.connect(), patience=math.inf)
    await quiet.register("quiet")
    answering = IrcClient(await server.listener.connect(), patience=math.inf)
    await answering.register("answering")
    await quiet.receive_until("JOIN")  # answering joined the lobby
    start = trio.current_time()
    quits: list[Message] = []

    async def answer_pings() -> None:
        while (message := await answering.receive()).command != "QUIT":
            if message.command == "PING":
                await answering.send(f"PONG :{message.params[0]}")
        quits.append(message)

    # answering answers every PING; quiet reads its PING and says nothing.
    async with trio.open_nursery() as nursery:
        nursery.start_soon(answer_pings)
        ping = await quiet.receive()
        assert ping.command == "PING"
        assert 90 <= trio.current_time() - start <= 90.5  # the watchdog's precision: 0.5 s
    (quit,) = quits
    assert quit.source is not None
    assert quit.source.startswith("quiet!")
    assert quit.params == ("Ping timeout",)
    assert 150 <= trio.current_time() - start <= 151
    assert await quiet.expect_closed() == []  # cut off: a peer that does not answer gets nothing


@pytest.fixture
async def tls_server(
    nursery: trio.Nursery, tmp_path: Path
) -> AsyncIterator[tuple[int, ssl.SSLContext]]:
    ca = trustme.CA()
    chain = tmp_path / "server.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(chain))
    config = plain_config(
        endpoints=(Endpoint(0, irc_front_end, "IRC over TLS", tls=True),),
        tls_cert=str(chain),
    )
    stop = trio.Event()
    ((_, port),) = await nursery.start(partial(serve, config, stop=stop))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    yield port, context
    stop.set()


async def test_irc_over_tls(tls_server: tuple[int, ssl.SSLContext]) -> None:
    port, context = tls_server
    stream = await trio.open_ssl_over_tcp_stream("127.0.0.1", port, ssl_context=context)
    client = IrcClient(stream)
    await client.register("secure")
    await client.send("PRIVMSG #lobby :encrypted")
    await client.send("QUIT")
    assert await client.expect_closed() == ["ERROR :Closing Link: (Quit)"]
    await stream.aclose()


async def test_what_irc_advertises_is_what_the_hub_enforces(nursery: trio.Nursery) -> None:
    # The configuration the command line makes, with limits that are not the defaults: the
    # IRC front end and the hub read the same Limits, so each advertised limit holds exactly.
    argv = ["server", "--port", "0", "--irc-port", "0", "--no-web", "--no-history"]
    argv += ["--flood-rate", "0"]
    argv += ["--max-topic-bytes", "40", "--max-away-bytes", "25", "--max-rooms-per-member", "3"]
    config = server_config(arguments(argv))
    addresses = await nursery.start(partial(serve, config, stop=trio.Event()))
    irc = IrcClient(await trio.open_tcp_stream("127.0.0.1", addresses[1][1]))
    burst = await irc.register("limited", lobby=False)
    tokens = dict(
        token.partition("=")[::2]
        for message in burst
        if message.command == "005"
        for token in message.params[1:-1]
    )
    away, topic = int(tokens["AWAYLEN"]), int(tokens["TOPICLEN"])
    rooms = int(tokens["CHANLIMIT"].removeprefix("#:"))
    assert (away, topic, rooms) == (25, 40, 3)
    assert (tokens["NICKLEN"], tokens["CHANNELLEN"]) == ("32", "51")

    await irc.send(f"AWAY :{'a' * away}")
    assert [m.command for m in await irc.sync()] == ["306"]  # marked away
    await irc.send(f"AWAY :{'a' * (away + 1)}")
    assert [m.params[-1] for m in await irc.sync()] == ["away message too long (max 25 bytes)"]

    for n in range(rooms):
        await irc.send(f"JOIN #room{n}")
    await irc.sync()
    await irc.send("JOIN #one-too-many")
    assert [m.command for m in await irc.sync()] == ["405"]

    await irc.send(f"TOPIC #room0 :{'t' * topic}")
    assert [m.command for m in await irc.sync()] == ["TOPIC"]
    await irc.send(f"TOPIC #room0 :{'t' * (topic + 1)}")
    assert [m.params[-1] for m in await irc.sync()] == ["topic too long (max 40 bytes)"]
    # And a nickname as long as NICKLEN is one, one character more is refused.
    await irc.send(f"NICK {'n' * 32}")
    assert [m.command for m in await irc.sync()] == ["NICK"]
    await irc.send(f"NICK {'n' * 33}")
    assert [m.command for m in await irc.sync()] == ["432"]
    await trio.aclose_forcefully(irc.stream)


# --- moderation: a room's operators, and the server's ------------------------------------------


async def connect_from(server: RunningServer, address: str) -> IrcClient:
    """Connect from another loopback address (another host, with a cloak of its own)."""
    stream = await trio.open_tcp_stream("127.0.0.1", server.irc_port, local_address=address)
    server.clients.append(ChatClient(stream))
    return IrcClient(stream)


async def test_an_operator_kicks_and_bans_and_a_new_nickname_does_not_get_back_in(
    server: RunningServer,
) -> None:
    op = await connect(server)
    await op.register("op", lobby=False)
    spammer = await connect_from(server, "127.0.0.2")
    await spammer.register("spammer", lobby=False)
    host = cloak("127.0.0.2", CLOAK_KEY)
    assert host != LOCAL_CLOAK  # another address, another cloak: and neither says which
    await op.send("JOIN #den")
    await op.receive_until("366")
    await spammer.send("JOIN #den")
    assert [m.params[-1] for m in await spammer.receive_until("366")][1] == "@op spammer"
    await op.receive_until("JOIN")

    await op.send(f"MODE #den +b *!*@{host}")
    await op.send("KICK #den spammer :no spam here")
    assert await op.lines() == [
        f":op!~u@{LOCAL_CLOAK} MODE #den +b *!*@{host}",
        f":op!~u@{LOCAL_CLOAK} KICK #den spammer :no spam here",
    ]
    assert await spammer.lines() == [
        f":op!~u@{LOCAL_CLOAK} MODE #den +b *!*@{host}",
        f":op!~u@{LOCAL_CLOAK} KICK #den spammer :no spam here",
    ]
    await spammer.send("NICK innocent")
    await spammer.send("JOIN #den")
    await spammer.send("PRIVMSG #den :let me in")
    assert await spammer.lines() == [
        f":spammer!~u@{host} NICK innocent",
        ":irc.test 474 innocent #den :Cannot join channel (+b)",
        ":irc.test 404 innocent #den :Cannot send to channel",
    ]
    assert await op.lines() == []  # nothing of it reached the room

    # The room's other settings: moderated, and a voice to speak.
    friend = await connect(server)
    await friend.register("friend", lobby=False)
    await friend.send("JOIN #den")
    await friend.receive_until("366")
    await op.send("MODE #den +m")
    await friend.send("PRIVMSG #den :hello?")
    assert (await friend.lines())[-1] == ":irc.test 404 friend #den :Cannot send to channel (+m)"
    await op.send("MODE #den +v friend")
    await friend.receive_until("MODE")
    await friend.send("PRIVMSG #den hello!")
    assert (await op.lines())[-1] == f":friend!~u@{LOCAL_CLOAK} PRIVMSG #den hello!"


async def test_a_server_operator_sees_addresses_kills_and_bans_from_the_server(
    start_server: StartServer,
) -> None:
    logins = (("operuser", hash_password("operpassword")),)
    server = await start_server(irc=True, accounts=AccountRules(oper_logins=logins))
    oper = await connect(server)
    await oper.register("oper", lobby=False)
    spammer = await connect_from(server, "127.0.0.2")
    await spammer.register("spammer", lobby=False)
    await oper.send("WHOIS spammer")
    assert not any(m.command == "338" for m in await oper.receive_until("318"))  # not yet

    await oper.send("OPER operuser wrong")
    assert (await oper.receive()).command == "464"
    await oper.send("OPER operuser operpassword")
    assert [m.command for m in await oper.receive_until("MODE")] == ["381", "MODE"]
    await oper.send("WHOIS spammer")
    whois = {m.command: m.params for m in await oper.receive_until("318")}
    assert whois["311"][3] == cloak("127.0.0.2", CLOAK_KEY)
    assert whois["338"][2] == "127.0.0.2"  # an address: told to server operators only
    await spammer.send("WHOIS oper")
    assert "313" in {m.command for m in await spammer.receive_until("318")}  # an operator

    await oper.send("KILL spammer :spam")
    assert await spammer.expect_closed() == ["ERROR :Closing Link: (Killed (oper (spam)))"]
    await oper.send("DLINE 1h 127.0.0.2/32 :a spam wave")
    assert "Banned 127.0.0.2/32" in (await oper.receive()).params[-1]
    again = await connect_from(server, "127.0.0.2")
    await again.send("NICK back")
    await again.send("USER u 0 * :r")
    assert await again.expect_closed() == [
        ":irc.test 465 * :You are banned from this server: a spam wave",
        "ERROR :Closing Link: (Banned: a spam wave)",
    ]
    await oper.send("STATS K")
    stats = await oper.receive_until("219")
    assert [m.params[1:3] for m in stats if m.command == "216"] == [("K", "127.0.0.2/32")]


async def test_who_with_spaces_is_answered_with_the_parameters_the_server_meant(
    server: RunningServer,
) -> None:
    # Raw lines, not re-serialized: "315 zed a b :c d :End of WHO list" was what came back.
    irc = await connect(server)
    await irc.register("zed")
    await irc.send("WHO :a b :c d")
    await irc.send("PING :done")
    lines = []
    while "PONG" not in (line := await irc.receive_line()):
        lines.append(line)
    assert lines == [":irc.test 315 zed * :End of WHO list"]
