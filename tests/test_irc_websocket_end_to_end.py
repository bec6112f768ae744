"""IRC over WebSocket on the web port, over real sockets: web IRC clients and TCP ones, together."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from prometheus_client.parser import text_string_to_metric_families
from wsproto.events import BytesMessage, TextMessage

from tests.chat_client import ChatClient, RunningServer
from tests.conftest import LOCAL_CLOAK, StartServer, irc_front_end, web_front_end
from tests.irc_client import IrcClient
from tests.test_web import masked_frame
from tests.test_web_end_to_end import http_get
from tests.web_client import IrcOverWebSocket, WebClient
from trio_chat.frontends.web import WebConfig
from trio_chat.shell.metrics import Metrics


@pytest.fixture
async def server(start_server: StartServer) -> RunningServer:
    """A server with an IRC port, and IRC over WebSocket on its web port."""
    return await start_server(irc=True, web=WebConfig(irc=irc_front_end))


async def tcp(server: RunningServer, port: int) -> trio.SocketStream:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    server.clients.append(ChatClient(stream))  # closed when the test ends
    return stream


async def web_irc(
    server: RunningServer, subprotocols: list[str], origin: str | None = None
) -> IrcOverWebSocket:
    """Open a WebSocket at / asking for ``subprotocols``; the handshake must succeed."""
    socket = IrcOverWebSocket(await tcp(server, server.web_port), f"127.0.0.1:{server.web_port}")
    assert await socket.handshake(subprotocols, origin=origin) == 101
    return socket


@pytest.mark.parametrize("subprotocol", ["text.ircv3.net", "binary.ircv3.net"])
async def test_a_web_irc_client_chats_with_a_tcp_one(
    server: RunningServer, subprotocol: str
) -> None:
    socket = await web_irc(server, [subprotocol])
    assert socket.subprotocol == subprotocol
    web = IrcClient(socket)
    burst = await web.register("webby", lobby=False)
    assert burst[0].params[0] == "webby"
    tcp_client = IrcClient(await tcp(server, server.irc_port))
    await tcp_client.register("tcpuser", lobby=False)

    await web.send("JOIN #room")
    joined = await web.receive_until("366")
    assert [message.command for message in joined] == ["JOIN", "353", "366"]
    await tcp_client.send("JOIN #room")
    await tcp_client.receive_until("366")
    assert await web.lines() == [f":tcpuser!~u@{LOCAL_CLOAK} JOIN #room"]

    await web.send("PRIVMSG #room :hello from a browser")
    assert await tcp_client.lines() == [
        f":webby!~u@{LOCAL_CLOAK} PRIVMSG #room :hello from a browser"
    ]
    await tcp_client.send("PRIVMSG #room :hello from a terminal")
    assert await web.lines() == [f":tcpuser!~u@{LOCAL_CLOAK} PRIVMSG #room :hello from a terminal"]
    # Every line came in the kind of message the subprotocol says, one line each.
    assert socket.kinds == {"binary" if subprotocol == "binary.ircv3.net" else "text"}

    await web.send("QUIT :gone to lunch")
    assert (await web.expect_closed())[-1].startswith("ERROR")
    assert socket.close_code == 1000
    assert await tcp_client.lines() == [f":webby!~u@{LOCAL_CLOAK} QUIT :Quit: gone to lunch"]


async def test_the_clients_order_of_subprotocols_decides(server: RunningServer) -> None:
    first = await web_irc(server, ["binary.ircv3.net", "text.ircv3.net"])
    assert first.subprotocol == "binary.ircv3.net"
    second = await web_irc(server, ["text.ircv3.net", "binary.ircv3.net"])
    assert second.subprotocol == "text.ircv3.net"
    # A client that names none (gamja's `new WebSocket(url)`) is spoken to in text, as ergo
    # and InspIRCd do.
    unnamed = await web_irc(server, [])
    assert unnamed.subprotocol is None
    client = IrcClient(unnamed)
    await client.register("plainws", lobby=False)
    assert unnamed.kinds == {"text"}


async def test_a_trailing_crlf_is_tolerated_and_a_line_break_inside_closes(
    server: RunningServer,
) -> None:
    socket = await web_irc(server, ["text.ircv3.net"])
    web = IrcClient(socket)
    await web.register("crlf", lobby=False)
    await socket.send_message(TextMessage("JOIN #crlf\r\n"))
    assert (await web.receive_until("366"))[0].command == "JOIN"
    # Two lines in one message would be a second command smuggled in: 1002.
    await socket.send_message(TextMessage("PRIVMSG #crlf :hi\r\nQUIT"))
    await web.expect_closed()
    assert socket.close_code == 1002


async def test_a_message_longer_than_an_irc_line_is_refused_as_over_tcp(
    server: RunningServer,
) -> None:
    socket = await web_irc(server, ["binary.ircv3.net"])
    web = IrcClient(socket)
    await web.register("longish", lobby=False)
    await socket.send_message(BytesMessage(b"PRIVMSG longish :" + b"x" * 9000))
    (too_long,) = await web.sync()
    assert too_long.command == "417"  # and the connection goes on
    assert await web.sync() == []


async def test_a_text_message_that_is_not_utf8_closes_that_client_alone_with_1007(
    server: RunningServer,
) -> None:
    socket = await web_irc(server, ["text.ircv3.net"])
    web = IrcClient(socket)
    await web.register("badtext", lobby=False)
    await web.send("JOIN #room")
    await web.receive_until("366")
    tcp_client = IrcClient(await tcp(server, server.irc_port))
    await tcp_client.register("tcpuser", lobby=False)
    await tcp_client.send("JOIN #room")
    await tcp_client.receive_until("366")
    assert await web.lines() == [f":tcpuser!~u@{LOCAL_CLOAK} JOIN #room"]
    # Latin-1 in a text frame (wsproto will not build one: by hand).
    await socket.stream.send_all(masked_frame(0x80 | 0x1, b"PRIVMSG #room :caf\xe9"))
    assert await web.expect_closed() == []  # no line of it was taken
    assert socket.close_code == 1007  # RFC 6455's "invalid frame payload data"
    # The room heard nothing of it but the quit, with the reason, and goes on.
    assert await tcp_client.lines() == [f":badtext!~u@{LOCAL_CLOAK} QUIT :Quit: invalid UTF-8"]
    other = IrcClient(await web_irc(server, ["text.ircv3.net"]))
    await other.register("goodtext", lobby=False)
    await other.send("JOIN #room")
    await other.receive_until("366")
    await tcp_client.send("PRIVMSG #room :café au lait")
    assert await other.lines() == [f":tcpuser!~u@{LOCAL_CLOAK} PRIVMSG #room :café au lait"]


async def test_another_sites_page_cannot_open_irc(server: RunningServer) -> None:
    stream = await tcp(server, server.web_port)
    socket = IrcOverWebSocket(stream, f"127.0.0.1:{server.web_port}")
    assert await socket.handshake(["text.ircv3.net"], origin="https://evil.example") == 403
    # The server's own page may, as it may open /ws.
    await web_irc(server, ["text.ircv3.net"], origin=f"http://127.0.0.1:{server.web_port}")


async def test_the_page_and_its_json_socket_are_where_they_were(server: RunningServer) -> None:
    page = await http_get(server.web_port, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert page.startswith(b"HTTP/1.1 200 OK")
    assert b"<!doctype html>" in page.lower()
    # A WebSocket upgrade at / is IRC, whatever it names; a plain GET of / (above) the page.
    socket = IrcOverWebSocket(await tcp(server, server.web_port), f"127.0.0.1:{server.web_port}")
    assert await socket.handshake([]) == 101
    browser = WebClient(await tcp(server, server.web_port), f"127.0.0.1:{server.web_port}")
    assert await browser.handshake() == 101
    assert (await browser.hello("browser"))["type"] == "registered"


async def test_metrics_count_websockets_by_what_they_speak(server: RunningServer) -> None:
    await IrcClient(await web_irc(server, ["text.ircv3.net"])).register("m", lobby=False)
    await web_irc(server, ["binary.ircv3.net"])
    browser = WebClient(await tcp(server, server.web_port), f"127.0.0.1:{server.web_port}")
    assert await browser.handshake() == 101
    exposition = await http_get(
        server.web_port, b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    body = exposition.partition(b"\r\n\r\n")[2].decode()
    samples = {
        (sample.name, tuple(sample.labels.values())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }
    assert samples[("trio_chat_websockets_opened_total", ("text.ircv3.net",))] == 1
    assert samples[("trio_chat_websockets_opened_total", ("binary.ircv3.net",))] == 1
    assert samples[("trio_chat_websockets_opened_total", ("json",))] == 1
    assert samples[("trio_chat_members", ())] == 1


async def test_a_web_irc_client_that_never_registers_is_closed_at_the_request_timeout(
    start_memory_server: StartServer, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start_memory_server(
        front_end=web_front_end(WebConfig(irc=irc_front_end), Metrics()), web_timeout=5
    )
    assert server.listener is not None
    socket = IrcOverWebSocket(await server.listener.connect(), "localhost")
    assert await socket.handshake(["text.ircv3.net"]) == 101
    start = trio.current_time()
    await IrcClient(socket).send("NICK halfway")  # and never USER
    closed = await IrcClient(socket).expect_closed()
    # The upgrade and IRC's registration share the web port's one timeout: IRC's last
    # word, then the close frame.
    assert trio.current_time() - start == pytest.approx(5)
    assert closed[-1].startswith("ERROR")
    assert socket.close_code == 1008
