"""The server end to end, over real sockets on 127.0.0.1."""

from __future__ import annotations

import socket
import struct

import pytest
import trio
import trio.testing

from tests.chat_client import PATIENCE, ChatClient, RunningServer
from tests.conftest import StartServer
from tests.test_hub import deliveries, registered
from trio_chat.core.events import Command, Said, Say
from trio_chat.core.framing import LineTooLong
from trio_chat.core.hub import Hub, Request
from trio_chat.core.requests import Act
from trio_chat.frontends import line as line_protocol
from trio_chat.frontends.base import AccountInput
from trio_chat.frontends.line import HELP_LINES
from trio_chat.shell.server import run_hub


async def test_a_session_matches_the_protocol_table(server: RunningServer) -> None:
    alice = await server.join("alice")
    bob = await server.connect()
    await bob.send("bob")
    await bob.expect("* welcome, bob! online (2): alice, bob")
    await alice.expect("* bob joined")

    await alice.send("hello")
    for member in (alice, bob):
        await member.expect("<alice> hello")
    await alice.send("/me waves")
    for member in (alice, bob):
        await member.expect("* alice waves")
    await alice.send("/nick al")
    for member in (alice, bob):
        await member.expect("* alice is now al")
    await alice.send("/msg bob hi")
    await bob.expect("[pm from al] hi")
    await alice.expect("[pm to bob] hi")
    await alice.send("/who")
    await alice.expect("* online (2): al, bob")
    await alice.send("/help")
    await alice.expect(*HELP_LINES)
    await alice.send("/foo")
    await alice.expect("! unknown command /foo (try /help)")
    await alice.send("   ")  # ignored: the next line proves nothing came in between
    await alice.send("//etc")
    for member in (alice, bob):
        await member.expect("<al> /etc")
    await alice.send("/exit")
    assert await alice.expect_closed() == ["* bye"]
    await bob.expect("* al left (quit)")


async def test_quit_is_a_synonym_for_exit(server: RunningServer) -> None:
    alice = await server.join("alice")
    bob = await server.join("bob")
    await alice.expect("* bob joined")
    await bob.send("/QUIT")
    assert await bob.expect_closed() == ["* bye"]
    await alice.expect("* bob left (quit)")


@pytest.mark.parametrize(
    ("name", "refusal"),
    [
        ("Alice", "! nickname Alice is taken"),
        ("ALICE ", "! nickname ALICE is taken"),
        ("", "! a nickname needs at least one character"),
        ("al ice", "! nicknames use letters, digits, _ and - only (not spaces)"),
        ("x" * 33, "! nickname too long (max 32 characters)"),
        # Control and bidi characters are refused, never silently removed (which made ab\x07cd
        # into abcd, and let two different typed names become one).
        ("\x1b[31m", "! nicknames use letters, digits, _ and - only (not U+001B)"),
        ("ab\x07cd", "! nicknames use letters, digits, _ and - only (not U+0007)"),
        ("ab\u202ecd", "! nicknames use letters, digits, _ and - only (not U+202E)"),
    ],
)
async def test_a_refused_nickname_says_why_and_asks_again(
    server: RunningServer, name: str, refusal: str
) -> None:
    alice = await server.join("alice")
    newcomer = await server.connect()
    await newcomer.send(name)
    await newcomer.expect(refusal, "* what is your name?")
    await newcomer.send("bob")
    await newcomer.expect("* welcome, bob! online (2): alice, bob")
    await alice.expect("* bob joined")  # and nothing about the refused attempt before it


async def test_lines_after_the_name_in_the_same_packet_are_kept(server: RunningServer) -> None:
    alice = await server.join("alice")
    bob = await server.connect()
    await bob.stream.send_all(b"bob\r\nhello\r\n")
    await bob.expect("* welcome, bob! online (2): alice, bob", "<bob> hello")
    await alice.expect("* bob joined", "<bob> hello")


async def test_control_characters_and_invalid_utf8_never_reach_others(
    server: RunningServer,
) -> None:
    alice = await server.join("alice")
    bob = await server.join("bob")
    await alice.expect("* bob joined")
    await bob.send(b"\x1b]0;pwned\x07\x1b[2J\xc2\x9b31mred \xff\xfe end\r")
    await alice.expect("<bob> ]0;pwned[2J31mred \ufffd\ufffd end")


async def test_a_line_over_the_limit_is_refused_and_the_next_one_works(
    start_server: StartServer,
) -> None:
    server = await start_server(max_line_bytes=100)
    alice = await server.join("alice")
    await alice.send("x" * 101)
    await alice.expect("! line too long (max 100 bytes)")
    await alice.send("y" * 100)
    await alice.expect("<alice> " + "y" * 100)


async def test_an_endless_line_is_discarded_as_it_arrives(server: RunningServer) -> None:
    # Five megabytes without a newline: one error, the line dropped, the connection still fine.
    alice = await server.join("alice")
    chunk = b"z" * 65536
    for _ in range(80):
        await alice.stream.send_all(chunk)
    await alice.send("end of the long line")  # discarded with the rest of it
    await alice.send("after")
    await alice.expect("! line too long (max 2048 bytes)", "<alice> after")


async def test_a_line_over_the_limit_at_the_name_prompt(server: RunningServer) -> None:
    newcomer = await server.connect()
    await newcomer.send("n" * 3000)
    await newcomer.expect("! line too long (max 2048 bytes)", "* what is your name?")


async def test_a_final_line_without_newline_is_delivered(server: RunningServer) -> None:
    alice = await server.join("alice")
    bob = await server.join("bob")
    await alice.expect("* bob joined")
    await bob.stream.send_all(b"no newline at the end")
    await bob.send_eof()
    await alice.expect("<bob> no newline at the end", "* bob left (connection lost)")


async def test_a_half_closed_client_still_gets_its_last_lines(server: RunningServer) -> None:
    alice = await server.join("alice")
    await alice.send("one")
    await alice.send_eof()  # like `nc -N` at the end of its input
    assert await alice.expect_closed() == ["<alice> one"]


async def test_a_closed_connection_leaves_with_connection_lost(server: RunningServer) -> None:
    alice = await server.join("alice")
    bob = await server.join("bob")
    await alice.expect("* bob joined")
    await bob.stream.aclose()
    await alice.expect("* bob left (connection lost)")


async def test_a_reset_connection_leaves_with_connection_lost(server: RunningServer) -> None:
    alice = await server.join("alice")
    bob = await server.join("bob")
    await alice.expect("* bob joined")
    # SO_LINGER with a zero timeout makes close() send a RST instead of a FIN.
    assert isinstance(bob.stream, trio.SocketStream)
    bob.stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    bob.stream.socket.close()
    await alice.expect("* bob left (connection lost)")
    await alice.send("/who")
    await alice.expect("* online (1): alice")


async def test_a_client_leaving_during_registration_leaves_no_trace(
    server: RunningServer,
) -> None:
    quitter = await server.connect()
    await quitter.stream.aclose()
    alice = await server.join("alice")
    await alice.send("/who")
    await alice.expect("* online (1): alice")


async def test_past_max_clients_newcomers_are_refused(start_server: StartServer) -> None:
    server = await start_server(max_clients=2)
    alice = await server.join("alice")
    await server.connect()  # registering counts too
    refused = await server.open_connection()
    assert await refused.expect_closed() == ["! server full"]
    await alice.send("still here")
    await alice.expect("<alice> still here")


async def test_a_slot_is_freed_when_a_client_leaves(start_server: StartServer) -> None:
    server = await start_server(max_clients=1)
    alice = await server.join("alice")
    await alice.send("/exit")
    await alice.expect_closed()
    await server.join("bob")


async def test_a_burst_from_many_senders_evicts_nobody(server: RunningServer) -> None:
    members, senders, messages = 60, 15, 40
    clients = [await server.join(f"m{n}") for n in range(members)]
    # Everyone has seen the last join: from here on, every member sees every message.
    for client in clients[:-1]:
        while not (await client.receive_line()).endswith(f"m{members - 1} joined"):
            pass
    expected = {f"<m{s}> {k}" for s in range(senders) for k in range(messages)}
    transcripts: dict[str, list[str]] = {}

    async def send_all(client: ChatClient) -> None:
        for k in range(messages):
            await client.send(str(k))

    async def receive_all(client: ChatClient) -> None:
        transcripts[client.nick] = await client.receive_lines(len(expected))

    async with trio.open_nursery() as nursery:
        for client in clients:
            nursery.start_soon(receive_all, client)
        for client in clients[:senders]:
            nursery.start_soon(send_all, client)
    for transcript in transcripts.values():
        assert set(transcript) == expected  # nobody left, nothing lost, nothing extra
        assert transcript == transcripts["m0"]  # one total order


async def test_a_message_right_after_the_welcome_reaches_the_newcomer(
    server: RunningServer,
) -> None:
    # Alice talks without pause while Bob joins. Whatever Bob's welcome came after, every
    # message after it must reach Bob: the numbers he receives are one unbroken run to the end.
    alice = await server.join("alice")
    total = 300
    joined = trio.Event()

    async def talk() -> None:
        for n in range(total):
            await alice.send(str(n))
            if n == total // 2:
                await joined.wait()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(talk)
        bob = await server.join("bob")
        joined.set()
        numbers: list[int] = []
        while not numbers or numbers[-1] != total - 1:
            line = await bob.receive_line()
            numbers.append(int(line.removeprefix("<alice> ")))
    assert numbers == list(range(numbers[0], total))


async def test_a_crashing_connection_is_logged_and_ends_alone(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A bug in handling one line (simulated: the parser raises) ends that connection only;
    # `except Exception` at the connection boundary logs it, and the hub hears it left.
    original = line_protocol.parse_line

    def parse_line(line: bytes | LineTooLong) -> Command | AccountInput | None:
        if line == b"boom":
            raise RuntimeError("simulated bug")
        return original(line)

    monkeypatch.setattr(line_protocol, "parse_line", parse_line)
    alice = await server.join("alice")
    bob = await server.join("bob")
    await alice.expect("* bob joined")
    await bob.send("boom")
    assert await bob.expect_closed() == []
    await alice.expect("* bob left (connection lost)")
    await alice.send("still fine")
    await alice.expect("<alice> still fine")
    assert "connection failed" in caplog.text
    assert "RuntimeError: simulated bug" in caplog.text


async def test_a_bug_that_clients_repeat_is_logged_once(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # No input from clients may produce an unbounded amount of log: the same kind of error
    # ending five connections is one traceback (the next one, a minute later, says how many).
    original = line_protocol.parse_line

    def parse_line(line: bytes | LineTooLong) -> Command | AccountInput | None:
        if line == b"boom":
            raise RuntimeError("simulated bug")
        return original(line)

    monkeypatch.setattr(line_protocol, "parse_line", parse_line)
    for number in range(5):
        client = await server.join(f"user{number}")
        await client.send("boom")
        assert await client.expect_closed() == []
    alice = await server.join("alice")
    await alice.send("/who")
    await alice.expect("* online (1): alice")  # every crashed connection has been handled
    failures = [record for record in caplog.records if "connection failed" in record.message]
    assert len(failures) == 1


async def test_last_words_reach_a_peer_that_is_still_sending(server: RunningServer) -> None:
    # A client that sends ahead without reading: many commands, /exit, then more. The
    # answers still wait in the server's kernel (the client's receive buffer is small) when
    # the "more" arrives at a socket the server has closed: the kernel then answered with a
    # reset and threw the answers away, "* bye" included. A lingering close half-closes,
    # reads and drops the rest, and the answers arrive.
    client = await server.join("zed", receive_buffer=4096)
    answers = 500  # more than the kernel buffers between us hold, fewer than a mailbox
    await client.stream.send_all(b"/who\n" * answers + b"/exit\n")
    await trio.testing.wait_all_tasks_blocked()  # the server has read, answered and ended
    await client.stream.send_all(b"more, never read\n" * 100)
    received = b""
    with trio.fail_after(PATIENCE):
        while data := await client.stream.receive_some(1 << 16):  # raises on a reset
            received += data
    assert received.decode().splitlines() == ["* online (1): zed"] * answers + ["* bye"]


async def test_too_many_connections_from_one_address_are_refused(
    start_server: StartServer,
) -> None:
    server = await start_server(max_per_ip=2, limit_exempt=())  # loopback limited, for the test
    alice = await server.join("alice")
    await server.connect()  # registering counts too
    third = await server.open_connection()
    assert await third.expect_closed() == ["! too many connections from your address"]
    await alice.send("/exit")
    await alice.expect_closed()
    await server.join("bob")  # a slot from that address is free again


async def test_loopback_is_exempt_from_the_per_address_limit(start_server: StartServer) -> None:
    server = await start_server(max_per_ip=1)
    await server.join("alice")
    await server.join("bob")


async def test_reserved_nicknames_are_refused_at_registration_and_rename(
    server: RunningServer,
) -> None:
    newcomer = await server.connect()
    await newcomer.send("NickServ")
    await newcomer.expect("! the nickname NickServ is reserved", "* what is your name?")
    await newcomer.send("alice")
    await newcomer.expect("* welcome, alice! online (1): alice")
    await newcomer.send("/nick admin")
    await newcomer.expect("! the nickname admin is reserved")


async def test_run_hub_handles_a_burst_in_one_turn_and_ends_with_its_inbox() -> None:
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    inbox_send, inbox_receive = trio.open_memory_channel[Request](100)
    for n in range(50):
        inbox_send.send_nowait(Act(alice, Say(str(n))))
    inbox_send.close()
    await run_hub(hub, inbox_receive)  # returns because the inbox is closed and drained
    (delivery,) = deliveries(bob)
    assert len(delivery.events) == 50


async def test_a_turn_waits_for_a_sender_woken_with_the_hub() -> None:
    # A reader runnable in the same pass of the scheduler as the hub gets its line into the
    # same turn. Which of the two runs first in a pass is Trio's coin toss, so sixteen rounds:
    # without the hub's yield, about half of them would be two turns (two writes each).
    hub = Hub()
    alice, bob, carol = registered(hub, "alice", "bob", "carol")
    inbox_send, inbox_receive = trio.open_memory_channel[Request](100)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_hub, hub, inbox_receive)
        for n in range(16):
            inbox_send.send_nowait(Act(alice, Say(f"a{n}")))  # wakes the hub
            await trio.lowlevel.cancel_shielded_checkpoint()  # we run in the hub's pass
            inbox_send.send_nowait(Act(bob, Say(f"b{n}")))
            await trio.testing.wait_all_tasks_blocked()
            (delivery,) = deliveries(carol)
            said = [event.text for event in delivery.events if isinstance(event, Said)]
            assert said == [f"a{n}", f"b{n}"]  # one turn, in the order handed in
        inbox_send.close()


async def test_a_lone_line_is_delivered_in_its_own_turn_without_waiting_for_company(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The hub's yield gathers only what is already runnable: a quiet room's line goes out at
    # once, with no window of time to wait for others (the clock would jump to its end).
    hub = Hub()
    alice, bob = registered(hub, "alice", "bob")
    inbox_send, inbox_receive = trio.open_memory_channel[Request](100)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run_hub, hub, inbox_receive)
        await trio.testing.wait_all_tasks_blocked()
        before = trio.current_time()
        inbox_send.send_nowait(Act(alice, Say("anyone here?")))
        await trio.testing.wait_all_tasks_blocked()
        (delivery,) = deliveries(bob)
        assert [event.text for event in delivery.events if isinstance(event, Said)] == [
            "anyone here?"
        ]
        assert trio.current_time() == before
        inbox_send.close()


async def test_a_session_in_two_rooms_matches_the_protocol_table(server: RunningServer) -> None:
    alice = await server.join("alice")
    bob = await server.join("bob")
    await alice.expect("* bob joined")

    await alice.send("/join #rust")
    await alice.expect("* welcome to #rust! online (1): @alice")
    await alice.send("/topic Rust 2.0 is out")
    await alice.expect("#rust * alice set the topic: Rust 2.0 is out")
    await alice.send("/topic")
    await alice.expect("#rust * topic: Rust 2.0 is out")
    await bob.send("/join #Rust")  # one room, however it is spelled
    await bob.expect("* welcome to #rust! online (2): @alice, bob", "* topic: Rust 2.0 is out")
    await alice.expect("#rust * bob joined")

    await alice.send("hello rustaceans")  # to the current room: the one joined last
    for member in (alice, bob):
        await member.expect("#rust <alice> hello rustaceans")
    await alice.send("/rooms")
    await alice.expect("* rooms (2): #lobby (2), #rust (2)")
    await alice.send("/switch #lobby")
    await alice.expect("* now talking in #lobby")
    await alice.send("/me is back in the lobby")
    for member in (alice, bob):
        await member.expect("#lobby * alice is back in the lobby")
    await alice.send("/who #rust")
    await alice.expect("#rust * online (2): @alice, bob")

    await bob.send("/part #lobby")
    await bob.expect("* you left #lobby")
    await alice.expect("* bob left #lobby")
    await bob.send("only in rust now")  # one room again: no prefix for bob
    await bob.expect("<bob> only in rust now")
    await alice.expect("#rust <bob> only in rust now")
    await bob.send("/nick robert")
    await bob.expect("* bob is now robert")
    await alice.expect("* bob is now robert")  # once, though they share only #rust now

    await alice.send("/part")  # the current room: #lobby
    await alice.expect("* you left #lobby", "* now talking in #rust")
    await alice.send("/part #rust see you")
    await alice.expect("* you left #rust", "* you are in no room now (try /join #name)")
    await bob.expect("* alice left #rust (see you)")
    await alice.send("anyone?")
    await alice.expect("! you are in no room (try /join #name)")
    await alice.send("/msg robert still here")
    await bob.expect("[pm from alice] still here")
    await alice.expect("[pm to robert] still here")
    await alice.send("/join rust")
    await alice.expect("! room names start with # (try #rust)")
    await alice.send("/switch #rust")
    await alice.expect("! you are not in #rust")
    await alice.send("/who #go")
    await alice.expect("! there is no room #go")
    await alice.send("/exit")
    assert await alice.expect_closed() == ["* bye"]
    await bob.send("/who")
    await bob.expect("* online (1): robert")  # alice shared no room with bob: no notice


async def test_a_reply_comes_after_the_effects_of_what_was_sent_before_it(
    server: RunningServer,
) -> None:
    # One packet: the join is applied before /who is answered, so /who names the new room.
    alice = await server.join("alice")
    await alice.stream.send_all(b"/join #a\n/who\n/part #a\n/who\n")
    await alice.expect(
        "* welcome to #a! online (1): @alice",
        "#a * online (1): @alice",
        "* you left #a",
        "* now talking in #lobby",
        "* online (1): alice",
    )
