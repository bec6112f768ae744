"""Browsers over real sockets: the WebSocket, the page's HTTP, /metrics, and bad input."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import h11
import pytest
import trio
import trio.testing
import trio_websocket
from prometheus_client.parser import text_string_to_metric_families

from tests.chat_client import RunningServer
from tests.conftest import StartServer, web_front_end
from tests.test_web import masked_frame
from tests.web_client import Closed, WebClient
from trio_chat.frontends.web import WebConfig
from trio_chat.shell.metrics import Metrics

OpenWeb = Callable[[RunningServer], Awaitable[WebClient]]


@pytest.fixture
async def open_web() -> AsyncIterator[OpenWeb]:
    """Connect WebSocket clients to a server's web port (closed when the test ends)."""
    streams: list[trio.abc.Stream] = []

    async def open_web(server: RunningServer) -> WebClient:
        if server.listener is not None:
            stream: trio.abc.Stream = await server.listener.connect()
        else:
            stream = await trio.open_tcp_stream("127.0.0.1", server.web_port)
        streams.append(stream)
        return WebClient(stream, f"127.0.0.1:{server.web_port}")

    yield open_web
    for stream in streams:
        await trio.aclose_forcefully(stream)


async def joined(open_web: OpenWeb, server: RunningServer, nick: str) -> WebClient:
    client = await open_web(server)
    assert await client.handshake() == 101
    assert (await client.hello(nick))["type"] == "registered"
    await client.expect("room_entered")
    return client


async def start_web_in_memory(
    start_memory_server: StartServer, **overrides: Any
) -> tuple[RunningServer, Metrics]:
    """A server whose one endpoint is the web front end, over in-memory streams (autojump)."""
    metrics = Metrics()
    front_end = web_front_end(WebConfig(), metrics)
    server = await start_memory_server(front_end=front_end, metrics=metrics, **overrides)
    return server, metrics


async def http_get(port: int, request: bytes) -> bytes:
    """Send a raw request (asking to close after it); return everything until the server closes."""
    request = request.replace(b"\r\n", b"\r\nConnection: close\r\n", 1)
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(request)
        return await read_until_closed(stream)


async def read_until_closed(stream: trio.abc.ReceiveStream, patience: float = 10) -> bytes:
    """Return everything ``stream`` receives until the server closes it."""
    data = b""
    with trio.fail_after(patience):
        while chunk := await stream.receive_some(1 << 16):
            data += chunk
    return data


async def test_browsers_and_terminal_users_chat_in_one_room(
    start_server: StartServer, nursery: trio.Nursery
) -> None:
    server = await start_server(web=True)
    alice = await server.join("alice")
    url = f"ws://127.0.0.1:{server.web_port}/ws"
    browser = await trio_websocket.connect_websocket_url(nursery, url)
    await browser.send_message(json.dumps({"type": "hello", "v": 1, "nick": "José"}))
    welcome = json.loads(await browser.get_message())
    assert welcome == {"type": "registered", "v": 1, "nick": "José", "members": 2, "rooms": 1,
                       "time": welcome["time"]}  # fmt: skip
    entered = json.loads(await browser.get_message())
    assert (entered["type"], entered["room"], sorted(entered["roster"])) == (
        "room_entered", "#lobby", ["José", "alice"],
    )  # fmt: skip
    await alice.expect("* José joined")
    await browser.send_message(json.dumps({"type": "say", "room": "#lobby", "text": "olá"}))
    await alice.expect("<José> olá")
    await alice.send("hello, browser")
    await alice.expect("<alice> hello, browser")
    said = [json.loads(await browser.get_message()) for _ in range(2)]
    assert [(m["nick"], m["text"]) for m in said] == [("José", "olá"), ("alice", "hello, browser")]
    await browser.send_message(json.dumps({"type": "msg", "to": "alice", "text": "psst"}))
    await alice.expect("[pm from José] psst")
    await browser.aclose()
    await alice.expect("* José left (quit)")


async def test_a_second_room_with_a_browser_in_it(
    start_server: StartServer, open_web: OpenWeb
) -> None:
    server = await start_server(web=True)
    alice = await server.join("alice")
    web = await joined(open_web, server, "web")
    await alice.expect("* web joined")
    await alice.send("/join #rust")
    await alice.expect("* welcome to #rust! online (1): @alice")
    await web.send({"type": "join", "room": "#rust"})
    entered = await web.until("room_entered")
    assert (entered["room"], entered["roster"]) == ("#rust", ["alice", "web"])
    await alice.expect("#rust * web joined")
    await web.send({"type": "say", "room": "#rust", "text": "in rust"})
    await alice.expect("#rust <web> in rust")
    assert (await web.until("said"))["room"] == "#rust"


async def test_a_malformed_message_is_answered_and_loses_nothing_else(
    start_server: StartServer, open_web: OpenWeb
) -> None:
    server = await start_server(web=True)
    alice = await server.join("alice")
    web = await joined(open_web, server, "web")
    await web.send("{not json")
    error = await web.until("error")
    assert error["code"] == "not_json"
    await web.send({"type": "say", "text": "still here"})
    await alice.expect("* web joined", "<web> still here")


async def test_deeply_nested_json_is_an_error_and_logs_nothing(
    start_server: StartServer, open_web: OpenWeb, caplog: pytest.LogCaptureFixture
) -> None:
    # 3,000 nested arrays made json.loads raise RecursionError: 3 KB of traceback per
    # message, and the connection dropped without a close frame, before the hello too.
    server = await start_server(web=True)
    alice = await server.join("alice")
    newcomer = await open_web(server)
    assert await newcomer.handshake() == 101
    for _ in range(20):
        await newcomer.send("[" * 3000)
        assert (await newcomer.until("error"))["code"] == "too_deep"
    assert (await newcomer.hello("web"))["type"] == "registered"  # the connection went on
    for _ in range(20):
        await newcomer.send("[" * 3000 + "]" * 3000)
        assert (await newcomer.until("error"))["code"] == "too_deep"
    await newcomer.send({"type": "say", "text": "still here"})
    await alice.expect("* web joined", "<web> still here")
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_a_binary_frame_closes_with_1003(
    start_server: StartServer, open_web: OpenWeb
) -> None:
    from wsproto.events import BytesMessage

    server = await start_server(web=True)
    alice = await server.join("alice")
    web = await joined(open_web, server, "web")
    await web.send_raw(web.socket.send(BytesMessage(b"\x00\xff")))
    closed = await web.closed()
    assert (closed.code, closed.reason) == (1003, "text messages only")
    await alice.expect("* web joined", "* web left (quit: text messages only)")


async def test_a_frame_with_rsv1_set_closes_with_1002(
    start_server: StartServer, open_web: OpenWeb
) -> None:
    server = await start_server(web=True)
    alice = await server.join("alice")
    web = await joined(open_web, server, "web")
    await web.send_raw(masked_frame(0x80 | 0x40 | 0x1, b"hi"))  # RSV1, no extension agreed
    assert (await web.closed()).code == 1002  # was a goodbye and 1000
    await alice.expect("* web joined", "* web left (quit: protocol error)")


async def test_an_oversized_message_closes_with_1009(
    start_server: StartServer, open_web: OpenWeb
) -> None:
    server = await start_server(web=WebConfig(max_message_bytes=1000))
    web = await joined(open_web, server, "web")
    await web.send({"type": "say", "text": "x" * 5000})
    assert (await web.until("error"))["code"] == "too_big"
    assert (await web.closed()).code == 1009


async def test_a_page_from_another_origin_is_refused(
    start_server: StartServer, open_web: OpenWeb
) -> None:
    server = await start_server(web=True)
    web = await open_web(server)
    assert await web.handshake(origin="https://evil.example") == 403
    own = await open_web(server)
    assert await own.handshake(origin=f"http://127.0.0.1:{server.web_port}") == 101


async def test_a_rebound_name_is_misdirected(start_server: StartServer, open_web: OpenWeb) -> None:
    # The attack as it was run: a page of evil.example, whose name now resolves to 127.0.0.1.
    server = await start_server(web=True)
    web = await open_web(server)
    web.host = f"evil.example:{server.web_port}"
    assert await web.handshake(origin=f"http://evil.example:{server.web_port}") == 421
    page = await http_get(server.web_port, b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n")
    assert page.startswith(b"HTTP/1.1 421 ")


async def test_garbage_right_behind_the_upgrade_request(
    start_server: StartServer, open_web: OpenWeb
) -> None:
    server = await start_server(web=True)
    alice = await server.join("alice")
    web = await open_web(server)
    assert await web.handshake(after=b"\x00\x01garbage") == 101
    assert (await web.closed()).code == 1002  # protocol error, and that connection only
    await alice.send("/who")
    await alice.expect("* online (1): alice")


async def test_a_browser_that_stops_reading_is_evicted_alone(
    start_server: StartServer, open_web: OpenWeb
) -> None:
    server = await start_server(web=True, mailbox_size=8)
    alice = await server.join("alice")
    # A small receive buffer, so the server's writes block soon after the browser stops reading.
    sock = trio.socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    await sock.connect(("127.0.0.1", server.web_port))
    stuck = WebClient(trio.SocketStream(sock), f"127.0.0.1:{server.web_port}")
    assert await stuck.handshake() == 101
    assert (await stuck.hello("stuck"))["type"] == "registered"
    await alice.expect("* stuck joined")
    line = "z" * 2000
    for _ in range(200):  # the browser reads none of this
        await alice.send(line)
        if (await alice.receive_line()).startswith("* stuck left"):
            break
    else:
        raise AssertionError("the browser that does not read was never evicted")
    await alice.send("/who")
    assert (await alice.receive_line()).startswith("<alice> z")  # own lines still queued ahead
    await trio.aclose_forcefully(stuck.stream)


async def test_http_answers_over_the_wire(start_server: StartServer) -> None:
    server = await start_server(web=True)
    page = await http_get(server.web_port, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert page.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-security-policy: default-src 'none'" in page
    missing = await http_get(server.web_port, b"GET /secret HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert missing.startswith(b"HTTP/1.1 404 ")
    health = await http_get(server.web_port, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert health.startswith(b"HTTP/1.1 200 ")
    assert health.endswith(b"\r\n\r\nok\n")


async def test_a_page_load_shares_one_connection_until_it_idles(
    start_server: StartServer,
) -> None:
    # Every answer closed its connection: a page load was four. Now they share one, which the
    # server closes without a word once idle at the request timeout (0.5 s here).
    server = await start_server(web=True, web_timeout=0.5)
    stream = await trio.open_tcp_stream("127.0.0.1", server.web_port)
    client = h11.Connection(h11.CLIENT)
    statuses = []
    async with stream:
        for path in ("/", "/chat.js", "/chat.css", "/healthz"):
            request = h11.Request(method="GET", target=path, headers=[("host", "localhost")])
            await stream.send_all(client.send(request) + client.send(h11.EndOfMessage()))
            while not isinstance(event := client.next_event(), h11.EndOfMessage):
                if event is h11.NEED_DATA:
                    client.receive_data(await stream.receive_some(1 << 16))
                elif isinstance(event, h11.Response):
                    statuses.append(event.status_code)
            client.start_next_cycle()
        assert statuses == [200, 200, 200, 200]
        assert await read_until_closed(stream) == b""  # idle: closed, no 408 for nothing


async def test_metrics_count_what_a_session_did(
    start_server: StartServer, open_web: OpenWeb
) -> None:
    server = await start_server(web=True)
    alice = await server.join("alice")
    web = await joined(open_web, server, "web")
    await alice.expect("* web joined")
    taken = await open_web(server)
    assert await taken.handshake() == 101
    assert (await taken.hello("alice"))["reason"] == "nick_taken"
    for text in ("one", "two", "three"):
        await web.send({"type": "say", "text": text})
        await alice.expect(f"<web> {text}")
    await alice.send("/msg web psst")
    await alice.expect("[pm to web] psst")
    await web.send({"type": "quit"})
    assert (await web.closed()).code == 1000
    await alice.expect("* web left (quit)")

    exposition = await http_get(
        server.web_port, b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    head, _, body = exposition.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }
    assert samples[("trio_chat_members", ())] == 1  # alice
    assert samples[("trio_chat_registrations_total", ())] == 2
    assert samples[("trio_chat_messages_total", ())] == 4
    assert samples[("trio_chat_refusals_total", (("reason", "nick_taken"),))] == 1
    assert samples[("trio_chat_removals_total", (("reason", "quit"),))] == 1
    assert samples[("trio_chat_connections_accepted_total", (("front_end", "plain"),))] == 1
    # web, the refused one, and this scrape:
    assert samples[("trio_chat_connections_accepted_total", (("front_end", "web"),))] == 3
    assert samples[("trio_chat_connections", (("front_end", "plain"),))] == 1
    assert samples[("trio_chat_turn_seconds_count", ())] >= 5
    assert samples[("trio_chat_deliveries_total", ())] >= 10
    assert samples[("trio_chat_sent_bytes_total", ())] > 500


async def test_shutdown_closes_browsers_with_1001_and_healthz_says_503(
    start_server: StartServer, open_web: OpenWeb
) -> None:
    metrics = Metrics()
    server = await start_server(web=True, metrics=metrics)
    web = await joined(open_web, server, "web")
    assert metrics.healthy()
    server.stop.set()
    assert (await web.until("shutting_down"))["type"] == "shutting_down"
    closed = await web.closed()
    assert (closed.code, closed.reason) == (1001, "server shutting down")
    assert not metrics.healthy()
    await server.finished.wait()


async def test_an_http_request_that_never_finishes_times_out(
    start_memory_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    server, _ = await start_web_in_memory(start_memory_server, web_timeout=10)
    assert server.listener is not None
    stream = await server.listener.connect()
    await stream.send_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")  # and never the blank line
    start = trio.current_time()
    data = await read_until_closed(stream, patience=60)  # virtual seconds, past the timeout
    assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert trio.current_time() - start == pytest.approx(10)


async def test_a_websocket_without_a_hello_times_out_with_1008(
    start_memory_server: StartServer, open_web: OpenWeb, autojump_clock: trio.testing.MockClock
) -> None:
    server, _ = await start_web_in_memory(start_memory_server, web_timeout=5)
    web = await open_web(server)
    assert await web.handshake() == 101
    start = trio.current_time()
    closed = await web.closed()
    assert (closed.code, closed.reason) == (1008, "timed out")
    assert trio.current_time() - start == pytest.approx(5)


async def test_a_quiet_browser_is_pinged_and_stays_while_it_answers(
    start_memory_server: StartServer, open_web: OpenWeb, autojump_clock: trio.testing.MockClock
) -> None:
    server, _ = await start_web_in_memory(start_memory_server, ping_interval=90, ping_timeout=60)
    web = await joined(open_web, server, "quiet")
    # It answers pings (as browsers do on their own): one every 90 s of silence.
    assert await web.idle(600) == 6
    await web.send({"type": "say", "text": "still here"})
    assert (await web.until("said"))["text"] == "still here"


async def test_a_quiet_browser_that_does_not_answer_pings_is_removed(
    start_memory_server: StartServer, open_web: OpenWeb, autojump_clock: trio.testing.MockClock
) -> None:
    server, metrics = await start_web_in_memory(
        start_memory_server, ping_interval=90, ping_timeout=60
    )
    web = await open_web(server)
    assert await web.handshake() == 101
    assert (await web.hello("gone"))["type"] == "registered"
    start = trio.current_time()
    # Read raw bytes without answering the ping, until the server gives up on us.
    data = await read_until_closed(web.stream, patience=1000)
    web.socket.receive_data(data)
    assert any(type(event).__name__ == "Ping" for event in web.socket.events())
    assert trio.current_time() - start == pytest.approx(150, abs=1)
    assert metrics.hub is not None
    await trio.testing.wait_all_tasks_blocked()  # the hub's turn that hears the goodbye, too
    assert len(metrics.hub) == 0


async def test_closed_raises_for_a_plain_close() -> None:
    # The helper itself: a connection that ends without a close frame is Closed(None).
    left, right = trio.testing.memory_stream_pair()
    client = WebClient(left)
    await right.aclose()
    with pytest.raises(Closed) as raised:
        await client.receive()
    assert raised.value.code is None
