"""Several servers, one set of rooms: the backplane, against a real redis-server.

Most tests run two servers in this process, each with its own hub, its own connections to
Redis and its own listeners: for the backplane they are two processes (nothing is shared but
Redis). The test of a killed process runs one as a real process, and kills it.

The log's records alone, and replicas of the hub, need no Redis: tests/test_replication.py.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import coredis
import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from tests import test_concurrency_properties as concurrency
from tests.chat_client import PATIENCE, ChatClient, RunningServer, free_port
from tests.conftest import StartServer, plain_config
from tests.irc_client import IrcClient
from tests.names import nick
from tests.redis_server import RedisServer
from trio_chat.cli import (
    EXIT_CANNOT_LISTEN,
    SHARED_OPTIONS,
    arguments,
    backplane_config,
    run_server,
)
from trio_chat.core.events import LeaveReason
from trio_chat.core.hub import Hub
from trio_chat.core.replication import (
    Hello,
    Leaving,
    Record,
    Registering,
)
from trio_chat.shell.archive import HistoryConfig
from trio_chat.shell.backplane import Backplane
from trio_chat.shell.backplane_config import BackplaneConfig
from trio_chat.shell.metrics import Metrics


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the session; each test has rooms of its own (a key prefix)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


def quick(url: str, **overrides: Any) -> BackplaneConfig:
    """A backplane of rooms no other test shares, with heartbeats and timeouts for tests."""
    fields: dict[str, Any] = {
        "name": f"test-{uuid.uuid4().hex[:12]}",
        "heartbeat": 0.1,
        "ttl": 1.0,
        "timeout": 0.5,
        "retry_first": 0.02,
        "retry_max": 0.2,
        "state_timeout": 5.0,
    }
    return BackplaneConfig(url, **(fields | overrides))


@pytest.fixture
def backplane(redis_server: RedisServer) -> BackplaneConfig:
    return quick(redis_server.url)


async def two_servers(
    start_server: StartServer, backplane: BackplaneConfig
) -> tuple[RunningServer, RunningServer]:
    first = await start_server(backplane=backplane)
    second = await start_server(backplane=backplane)
    return first, second


async def receive_until(client: ChatClient, line: str) -> list[str]:
    """Receive lines up to and including ``line``; return them all."""
    lines: list[str] = []
    while not lines or lines[-1] != line:
        lines.append(await client.receive_line())
    return lines


# --- two servers, one set of rooms --------------------------------------------------------------


async def test_members_of_two_servers_share_rooms_and_private_messages(
    start_server: StartServer, backplane: BackplaneConfig
) -> None:
    first, second = await two_servers(start_server, backplane)
    alice = await first.join("alice")
    bob = await second.connect()
    await bob.send("bob")
    assert await bob.receive_line() == "* welcome, bob! online (2): alice, bob"
    await alice.expect("* bob joined")
    await alice.send("hi bob")
    await alice.expect("<alice> hi bob")
    await bob.expect("<alice> hi bob")
    await bob.send("/msg alice psst")
    await bob.expect("[pm to alice] psst")
    await alice.expect("[pm from bob] psst")
    await bob.send("/join #rust")
    await bob.expect("* welcome to #rust! online (1): @bob")
    await bob.send("/topic crabs")
    await bob.expect("#rust * bob set the topic: crabs")
    await alice.send("/rooms")
    assert await alice.receive_line() == "* rooms (2): #lobby (2), #rust (1)"
    await alice.send("/join #rust")
    await alice.expect("* welcome to #rust! online (2): alice, @bob", "* topic: crabs")
    await bob.expect("#rust * alice joined")


async def test_everyone_sees_one_order_whichever_server_they_are_on(
    start_server: StartServer, backplane: BackplaneConfig
) -> None:
    first, second = await two_servers(start_server, backplane)
    members = [await server.join(f"m{n}") for n, server in enumerate([first, second] * 2)]
    for n, member in enumerate(members):  # each sees the joins after its own
        for later in range(n + 1, len(members)):
            await receive_until(member, f"* m{later} joined")

    async def talk(member: ChatClient) -> None:
        for k in range(10):
            await member.send(f"{k}")

    async with trio.open_nursery() as nursery:  # all at once, from both servers
        for member in members:
            nursery.start_soon(talk, member)
    seen = [await member.receive_lines(40) for member in members]
    assert all(lines == seen[0] for lines in seen)
    for member in members:  # each sender's messages in the order sent
        said = [line for line in seen[0] if line.startswith(f"<{member.nick}> ")]
        assert said == [f"<{member.nick}> {k}" for k in range(10)]


async def test_a_nickname_is_held_once_across_servers_lookalikes_too(
    start_server: StartServer, backplane: BackplaneConfig
) -> None:
    first, second = await two_servers(start_server, backplane)
    await first.join("alice")
    other = await second.connect()
    await other.send("ALICE")
    assert await other.receive_line() == "! nickname ALICE is taken"
    await other.receive_line()  # asked again
    await other.send("aIice")  # a capital I
    assert (
        await other.receive_line()
        == "! the nickname aIice looks too much like alice, who is online"
    )


async def test_a_server_that_starts_later_gets_rooms_topics_and_history(
    start_server: StartServer, backplane: BackplaneConfig
) -> None:
    memory = {"database": ":memory:", "history": HistoryConfig()}
    first = await start_server(backplane=backplane, **memory)
    alice = await first.join("alice")
    await alice.send("/join #rust")
    await alice.expect("* welcome to #rust! online (1): @alice")
    await alice.send("/topic crabs")
    await alice.expect("#rust * alice set the topic: crabs")
    await alice.send("said before the second server started")
    await alice.expect("#rust <alice> said before the second server started")

    second = await start_server(backplane=backplane, **memory)  # its database is empty
    bob = await second.join("bob")
    assert (await bob.receive_line()).endswith(" * alice joined")  # #lobby's history
    await bob.send("/join #rust")
    assert await bob.receive_line() == "* welcome to #rust! online (2): @alice, bob"
    assert await bob.receive_line() == "* topic: crabs"
    history = [await bob.receive_line() for _ in range(3)]
    assert all(line.startswith("#rust ~ ") for line in history), history
    assert [line.split(" ", 4)[4] for line in history] == [
        "* alice joined",
        "* alice set the topic: crabs",
        "<alice> said before the second server started",
    ]
    await alice.expect("#lobby * bob joined", "#rust * bob joined")


async def test_a_server_that_stops_tells_the_others_its_members_left(
    start_server: StartServer, backplane: BackplaneConfig
) -> None:
    first, second = await two_servers(start_server, backplane)
    alice = await first.join("alice")
    bob = await second.join("bob")
    await alice.expect("* bob joined")
    second.stop.set()
    assert await bob.expect_closed() == ["* server shutting down"]
    await alice.expect("* bob left (server shutdown)")
    carol = await first.join("bob")  # the name is free again
    await alice.expect("* bob joined")
    await carol.send("/who")
    await carol.expect("* online (2): alice, bob")


async def test_a_member_too_slow_for_its_server_leaves_everywhere(
    start_server: StartServer, backplane: BackplaneConfig
) -> None:
    first = await start_server(backplane=backplane, mailbox_size=3, mailbox_bytes=8192)
    second = await start_server(backplane=backplane)
    alice = await second.join("alice")
    await first.join("stuck", receive_buffer=4096)  # and never reads again
    await alice.expect("* stuck joined")
    padding = "x" * 1000
    for n in range(1000):  # bounded: kernel buffers and the mailbox fill up long before
        await alice.send(f"{n} {padding}")
        line = await alice.receive_line()
        if line == "* stuck left (too slow)":  # decided by its server, applied by both
            break
        assert line == f"<alice> {n} {padding}"
    else:
        raise AssertionError("the stuck member was never evicted")
    await alice.send("/who")
    while (line := await alice.receive_line()).startswith("<alice> "):
        pass  # the echo of the last message, if the departure came first
    assert line == "* online (1): alice"


# --- faults -------------------------------------------------------------------------------------


async def test_redis_unreachable_at_start_up_is_a_clear_error_and_exit_code_2(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = plain_config(backplane=quick(f"redis://127.0.0.1:{free_port()}/0"))
    assert await run_server(config) == EXIT_CANNOT_LISTEN
    assert "cannot reach Redis at redis://127.0.0.1:" in caplog.text


async def test_a_backplane_url_that_is_not_redis_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = plain_config(backplane=quick("http://127.0.0.1:6379/"))
    assert await run_server(config) == EXIT_CANNOT_LISTEN
    assert "not a redis://host:port/db URL" in caplog.text


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server for one test, which it may stop and start: with an append-only file."""
    server = RedisServer(tmp_path, persistent=True)
    server.start()
    yield server
    server.stop()


UNAVAILABLE = "! chat is unavailable, retrying"
AVAILABLE = "* chat is available again"


async def test_redis_restarted_mid_conversation_loses_and_repeats_nothing(
    start_server: StartServer, own_redis: RedisServer
) -> None:
    first, second = await two_servers(start_server, quick(own_redis.url))
    alice = await first.join("alice")
    bob = await second.join("bob")
    await alice.expect("* bob joined")
    await alice.send("before")
    for member in (alice, bob):
        await member.expect("<alice> before")

    own_redis.stop()
    for member in (alice, bob):
        await member.expect(UNAVAILABLE)
    await alice.send("while Redis is away")
    await alice.expect("! not sent: chat is unavailable, retrying")  # refused, not dropped

    own_redis.start()  # with its data: the log is where it was
    for member in (alice, bob):
        await member.expect(AVAILABLE)
    await bob.send("after")
    for member in (alice, bob):
        await member.expect("<bob> after")  # nothing repeated, nothing missing in between
    await alice.send("/who")
    await alice.expect("* online (2): alice, bob")


async def test_redis_restarted_without_its_data_says_messages_were_missed(
    start_server: StartServer, tmp_path: Path
) -> None:
    redis = RedisServer(tmp_path)  # no persistence at all
    redis.start()
    try:
        first, second = await two_servers(start_server, quick(redis.url))
        alice = await first.join("alice")
        bob = await second.join("bob")
        await alice.expect("* bob joined")
        redis.stop()
        for member in (alice, bob):
            await member.expect(UNAVAILABLE)
        redis.start()
        for member in (alice, bob):
            await member.expect("* some messages were missed")
        await alice.send("still here")
        await bob.send("me too")
        # The new log is read from its start: each message once, in one order for both.
        seen = [await member.receive_lines(2) for member in (alice, bob)]
        assert seen[0] == seen[1]
        assert set(seen[0]) == {"<alice> still here", "<bob> me too"}
        await bob.send("/who")
        await bob.expect("* online (2): alice, bob")
    finally:
        redis.stop()


async def test_registering_while_redis_is_away_is_refused_with_try_again_later(
    start_server: StartServer, own_redis: RedisServer
) -> None:
    server = await start_server(backplane=quick(own_redis.url), irc=True)
    own_redis.stop()
    plain = await server.connect()
    await plain.send("zoe")
    assert await plain.expect_closed() == ["! chat is unavailable, try again later"]
    async with await trio.open_tcp_stream("127.0.0.1", server.irc_port) as stream:
        irc = IrcClient(stream)
        await irc.send("NICK zed")
        await irc.send("USER zed 0 * :Zed")
        error = await irc.receive()
    closing = "Closing Link: (Chat unavailable, try again later)"
    assert (error.command, error.params) == ("ERROR", (closing,))
    own_redis.start()
    await server.join("zoe")  # and once Redis is back, in they come


async def test_a_stalled_redis_refuses_messages_then_recovers(
    start_server: StartServer, own_redis: RedisServer
) -> None:
    server = await start_server(backplane=quick(own_redis.url))
    alice = await server.join("alice")
    # Redis answers nobody for 3 s: long enough for the backplane's timeout (0.5 s) to see
    # the stall, and then the append of alice's line to time out too, even on a busy machine.
    assert own_redis.command("CLIENT", "PAUSE", "3000", "ALL") == "+OK"
    await alice.expect(UNAVAILABLE)
    await alice.send("during the stall")
    lines = await receive_until(alice, AVAILABLE)
    assert lines[0] == "! not sent: chat is unavailable, retrying"
    await alice.send("after the stall")
    lines += await receive_until(alice, "<alice> after the stall")
    # Redis may have taken the refused message before it stalled: it then shows up, but once.
    assert lines.count("<alice> during the stall") <= 1
    assert set(lines) <= {
        "! not sent: chat is unavailable, retrying",
        "<alice> during the stall",
        AVAILABLE,
        "<alice> after the stall",
    }


async def test_a_killed_server_s_members_leave_and_their_nicknames_free_up(
    start_server: StartServer, redis_server: RedisServer
) -> None:
    backplane = quick(redis_server.url, ttl=1.0, heartbeat=0.2)
    first = await start_server(backplane=backplane)
    alice = await first.join("alice")
    port = free_port()
    command = [
        *(sys.executable, "-m", "trio_chat", "server", "--port", str(port), "--no-history"),
        *("--no-irc", "--no-web"),
        *("--backplane", redis_server.url, "--backplane-name", backplane.name),
        *("--backplane-ttl", "1"),
    ]
    async with trio.open_nursery() as nursery:
        process = await server_process(nursery, command, listeners=1)
        other = RunningServer(first.config, trio.Event(), trio.Event(), first.clients, port=port)
        bob = await other.join("bob")
        await alice.expect("* bob joined")
        process.send_signal(signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL
    with trio.fail_after(PATIENCE):  # within the ttl, and a heartbeat of a survivor
        await alice.expect("* bob left (connection lost)")
    await bob.expect_closed()
    await first.join("bob")
    await alice.expect("* bob joined")


# --- the property: one order, one holder per nickname, across processes --------------------------


@settings(deadline=None, max_examples=60)
@given(st.lists(concurrency.scripts, min_size=2, max_size=5), st.integers(2, 3))
def test_clients_spread_over_servers_see_one_order_and_unique_nicknames(
    redis_server: RedisServer, scripts: list[concurrency.Script], servers: int
) -> None:
    # The scenario of tests/test_concurrency_properties.py, its checks too, with the clients
    # spread over two or three servers: the observer, on the first, sees the log of them all.
    backplane = quick(redis_server.url)
    observed, transcripts = trio.run(concurrency.run_scenario, scripts, backplane, servers)
    concurrency.check(scripts, observed, transcripts)


def test_the_state_is_the_hubs_even_when_the_reader_is_ahead_of_it() -> None:
    # The reader converts a whole XREAD before the hub applies it: here a Hello, then the
    # departure of a member. The state, taken when the hub reaches the Hello, still has it.
    redis = coredis.Redis("127.0.0.1", 1, decode_responses=True)  # never connected
    backplane = Backplane(quick("redis://127.0.0.1:1/0"), redis)
    hub = Hub()
    registering = Registering("other/1", nick("bob"), True, "peer", "", "")
    read: list[Record] = [registering, Hello("newcomer"), Leaving("other/1", LeaveReason.QUIT)]
    converted = [backplane._request(record, at=f"{n}-0") for n, record in enumerate(read)]
    for request in converted:
        assert request is not None
        hub.handle(request)
    hub.flush()
    state = backplane._answers.receive_nowait()
    assert (state.process, state.hello) == ("newcomer", "1-0")
    assert state.members == ("other/1",)
    assert [m.nick.display for m in state.hub.members] == ["bob"]
    assert len(hub) == 0  # and then it left


def test_a_password_in_the_url_is_never_shown() -> None:
    config = BackplaneConfig("redis://chat:s3cret@127.0.0.1:6379/2")
    assert config.shown_url() == "redis://chat:***@127.0.0.1:6379/2"
    assert BackplaneConfig("redis://127.0.0.1/0").shown_url() == "redis://127.0.0.1/0"


async def test_a_server_that_missed_part_of_the_log_adopts_the_state_of_another(
    start_server: StartServer, own_redis: RedisServer
) -> None:
    # The second server logs in as its own Redis user, which the test can lock out: it then
    # misses what the first server's members do, and the log is trimmed past it meanwhile.
    assert own_redis.command("ACL", "SETUSER", "second", "on", ">pw", "~*", "&*", "+@all") == "+OK"
    config = quick(own_redis.url, ttl=30.0)  # nobody is declared gone during the test
    first = await start_server(backplane=config)
    locked_out = own_redis.url.replace("redis://", "redis://second:pw@")
    second = await start_server(backplane=replace(config, url=locked_out))
    alice = await first.join("alice")
    bob = await second.join("bob")
    await alice.expect("* bob joined")

    assert own_redis.command("ACL", "SETUSER", "second", "off") == "+OK"
    assert own_redis.command("CLIENT", "KILL", "USER", "second").startswith(":")
    await bob.expect(UNAVAILABLE)
    carol = await first.join("carol")  # while the second server cannot see it
    await alice.expect("* carol joined")
    # All but carol's arrival, the entry the first server read last: it lost nothing, so it
    # must not catch up (trimmed to nothing, its next read could race its own heartbeat's
    # check and see the log gone past it), while the second server lost bob's view of carol.
    assert own_redis.command("XTRIM", f"{config.name}:log", "MAXLEN", "1").startswith(":")
    await carol.send("said while the second server was away")
    for member in (alice, carol):
        await member.expect("<carol> said while the second server was away")

    assert own_redis.command("ACL", "SETUSER", "second", "on") == "+OK"
    await bob.expect("* some messages were missed")
    await bob.send("/who")
    await bob.expect("* online (3): alice, bob, carol")  # the other server's state, adopted
    await carol.send("and after")
    for member in (alice, bob, carol):
        await member.expect("<carol> and after")


def backplane_samples(metrics: Metrics) -> dict[str, float]:
    body, _ = metrics.exposition()
    return {
        sample.name.removeprefix("trio_chat_backplane_"): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name.startswith("trio_chat_backplane_")
    }


async def test_the_metrics_say_whether_redis_answers_and_what_was_refused(
    start_server: StartServer, own_redis: RedisServer
) -> None:
    metrics = Metrics()
    server = await start_server(backplane=quick(own_redis.url), metrics=metrics)
    alice = await server.join("alice")
    await alice.send("hi")
    await alice.expect("<alice> hi")
    before = backplane_samples(metrics)
    assert before["available"] == 1
    # Read back before alice saw her line; the append is counted when XADD's answer is
    # taken, which may come after the log was read back, so it is checked below.
    assert before["entries_read_total"] == 2  # the registration and the message
    assert before["outages_total"] == before["requests_refused_total"] == 0

    own_redis.stop()
    await alice.expect(UNAVAILABLE)
    await alice.send("lost")
    await alice.expect("! not sent: chat is unavailable, retrying")
    during = backplane_samples(metrics)
    assert (during["available"], during["outages_total"], during["requests_refused_total"]) == (
        0,
        1,
        1,
    )
    # Both answers were in hand long before Redis stopped: one entry each, one request each.
    assert during["entries_appended_total"] == during["requests_appended_total"] == 2
    own_redis.start()
    await alice.expect(AVAILABLE)
    assert backplane_samples(metrics)["available"] == 1


async def in_processes(
    scripts: list[concurrency.Script], redis_url: str, count: int
) -> tuple[list[str], list[concurrency.Transcript]]:
    """The same scenario, against ``count`` servers started as processes (and killed after)."""
    name = quick(redis_url).name
    async with trio.open_nursery() as nursery:
        processes, ports = [], []
        for _ in range(count):
            port, irc_port = free_port(), free_port()
            command = [
                *(sys.executable, "-m", "trio_chat", "server", "--no-history", "--flood-rate", "0"),
                *("--db", ":memory:"),  # each process its own: one file serves one process
                *("--port", str(port), "--irc-port", str(irc_port), "--no-web"),
                *("--backplane", redis_url, "--backplane-name", name),
            ]
            processes.append(await server_process(nursery, command, listeners=2))
            ports.append((port, irc_port))
        try:
            outcome = await concurrency.run_scenario(scripts, ports=ports)
        finally:
            for process in processes:
                process.kill()
    return outcome


async def server_process(
    nursery: trio.Nursery, command: list[str], *, listeners: int
) -> trio.Process:
    """Start the server ``command`` in ``nursery``; return it once its ``listeners`` listen."""
    process: trio.Process = await nursery.start(
        partial(trio.run_process, command, stderr=subprocess.PIPE, check=False)
    )
    assert process.stderr is not None
    with trio.fail_after(PATIENCE):  # until all its ports listen
        log = b""
        while log.count(b"listening on") < listeners:
            log += await process.stderr.receive_some()
    nursery.start_soon(_drain, process.stderr)  # its log goes on: never let it block
    return process


async def _drain(stream: trio.abc.ReceiveStream) -> None:
    while await stream.receive_some():
        pass


@settings(deadline=None, max_examples=8)
@given(st.lists(concurrency.scripts, min_size=2, max_size=5), st.integers(2, 3))
def test_clients_spread_over_server_processes_see_one_order_and_unique_nicknames(
    redis_server: RedisServer, scripts: list[concurrency.Script], servers: int
) -> None:
    # The same property with real server processes: nothing is shared but Redis.
    observed, transcripts = trio.run(in_processes, scripts, redis_server.url, servers)
    concurrency.check(scripts, observed, transcripts)


async def test_two_servers_that_missed_the_same_part_of_the_log_agree_again(
    start_server: StartServer, own_redis: RedisServer
) -> None:
    # Both fall behind at once: each asks for the state, and neither may wait for the other.
    for user in ("one", "two"):
        assert own_redis.command("ACL", "SETUSER", user, "on", ">pw", "~*", "&*", "+@all") == "+OK"
    config = quick(own_redis.url, ttl=30.0, state_timeout=30.0)  # no rescue by a timeout
    url = own_redis.url.replace("redis://", "redis://{}:pw@")
    first = await start_server(backplane=replace(config, url=url.format("one")))
    second = await start_server(backplane=replace(config, url=url.format("two")))
    alice = await first.join("alice")
    bob = await second.join("bob")
    await alice.expect("* bob joined")

    for user in ("one", "two"):
        assert own_redis.command("ACL", "SETUSER", user, "off") == "+OK"
        assert own_redis.command("CLIENT", "KILL", "USER", user).startswith(":")
    for member in (alice, bob):
        await member.expect(UNAVAILABLE)
    log = f"{config.name}:log"
    assert own_redis.command("XADD", log, "*", "r", "[]").startswith("$")  # the log goes on...
    assert own_redis.command("XTRIM", log, "MAXLEN", "0").startswith(":")  # ...and is cut
    for user in ("one", "two"):
        assert own_redis.command("ACL", "SETUSER", user, "on") == "+OK"
    for member in (alice, bob):
        await member.expect("* some messages were missed")
    await alice.send("still one chat")
    for member in (alice, bob):
        await member.expect("<alice> still one chat")
    await bob.send("/who")
    await bob.expect("* online (2): alice, bob")


async def test_a_process_whose_shared_settings_differ_refuses_to_start(
    start_server: StartServer, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Replicas must apply the same rules: one with other limits would decide differently.
    shared = (("max_rooms", "1000"), ("reserved_nicks", '["admin"]'))
    first = quick(redis_server.url, shared=shared)
    running = await start_server(backplane=first)
    other = replace(first, shared=(("max_rooms", "5"), ("reserved_nicks", '["admin"]')))
    with trio.fail_after(PATIENCE):  # were it let in, it would serve on: fail, not hang
        assert await run_server(plain_config(backplane=other)) == EXIT_CANNOT_LISTEN
    (refusal,) = [r.getMessage() for r in caplog.records if "differ from those" in r.getMessage()]
    assert refusal.endswith(
        "shares the backplane: max_rooms is 5 here, 1000 there (give every process the same,"
        " or restart them all)"
    )
    # With the same settings, a process joins.
    second = await start_server(backplane=replace(first))
    alice = await running.join("alice")
    bob = await second.join("bob")
    await alice.expect("* bob joined")
    await bob.send("hi")
    await alice.expect("<bob> hi")


def test_the_command_line_says_what_processes_must_share() -> None:
    args = arguments(["server", "--backplane", "redis://127.0.0.1:6379/0", "--max-rooms", "7"])
    config = backplane_config(args)
    assert config is not None
    shared = dict(config.shared)
    assert shared["max_rooms"] == "7"
    assert set(shared) == SHARED_OPTIONS
