"""The web front end alone: HTTP answers, the WebSocket handshake, frames in and out (no I/O).

The JSON inside the frames is tests/test_webjson.py's.
"""

from __future__ import annotations

import json
from email.utils import formatdate
from typing import Any

import h11
import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    Request,
    TextMessage,
)

from tests.names import nick
from trio_chat.core.delivery import Delivery
from trio_chat.core.events import (
    Event,
    Goodbye,
    JoinRoom,
    Quit,
    Registered,
    Said,
    Say,
    ShuttingDown,
    Tell,
    TicketIs,
    TicketIssued,
    TicketRevoked,
)
from trio_chat.core.limits import Limits
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.text import Nickname, RoomName
from trio_chat.frontends.base import (
    IGNORED,
    CheckTicket,
    DropTicket,
    Farewell,
    Hangup,
    Introduce,
    IssueTicket,
    Send,
)
from trio_chat.frontends.web import (
    CONTENT_SECURITY_POLICY,
    MAX_HEAD_BYTES,
    MAX_REQUESTS,
    PAGE,
    Phase,
    WebConfig,
    WebFrontEnd,
    http_date,
)
from trio_chat.frontends.webjson import ErrorCode, Invalid
from trio_chat.frontends.websocket import WsPing, WsPong


class Site:
    def __init__(self) -> None:
        self.serving = True
        self.opened: list[str] = []  # the WebSockets accepted, by what they speak

    def healthy(self) -> bool:
        return self.serving

    def exposition(self) -> tuple[bytes, str]:
        return b"trio_chat_members 3.0\n", "text/plain; version=1.0.0; charset=utf-8"

    def websocket_opened(self, subprotocol: str) -> None:
        self.opened.append(subprotocol)


def http(front_end: WebFrontEnd, request: bytes) -> tuple[h11.Response, bytes]:
    """Send ``request``; return the response and its body (the front end hangs up after)."""
    front_end.receive_data(request)
    data = b""
    while True:
        item = front_end.next_input()
        if isinstance(item, Send):
            data += item.data
        elif isinstance(item, Hangup):
            data += item.data
            break
        elif item is None and data:
            break  # answered, and kept alive for another request
        else:
            raise AssertionError(f"expected an answer, got {item!r}")
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("host", "x")]))
    client.send(h11.EndOfMessage())
    client.receive_data(data)
    response = client.next_event()
    assert isinstance(response, h11.Response)
    body = b""
    while isinstance(event := client.next_event(), h11.Data):
        body += event.data
    return response, body


def get(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: localhost", *headers, "", ""]
    return "\r\n".join(lines).encode()


def header(response: h11.Response, name: bytes) -> bytes | None:
    return next((value for key, value in response.headers if key == name), None)


class Browser:
    """A WebSocket client (wsproto), to talk to the front end as a browser would."""

    def __init__(self, front_end: WebFrontEnd, origin: str | None = "http://localhost") -> None:
        self.front_end = front_end
        self.socket = WSConnection(ConnectionType.CLIENT)
        extra = [(b"Origin", origin.encode())] if origin else []
        self.front_end.receive_data(
            self.socket.send(Request(host="localhost", target="/ws", extra_headers=extra))
        )

    def accepted(self) -> bool:
        item = self.front_end.next_input()
        assert isinstance(item, Send | Hangup)
        self.socket.receive_data(item.data)
        return any(isinstance(event, AcceptConnection) for event in self.socket.events())

    def send(self, message: Any) -> None:
        text = message if isinstance(message, str) else json.dumps(message)
        self.front_end.receive_data(self.socket.send(TextMessage(text)))

    def read(self, data: bytes) -> list[Any]:
        """Decode what the server sent: JSON messages, and close frames as ("close", code)."""
        self.socket.receive_data(data)
        found: list[Any] = []
        for event in self.socket.events():
            if isinstance(event, TextMessage):
                found.append(json.loads(event.data))
            elif isinstance(event, CloseConnection):
                found.append(("close", event.code))
            elif isinstance(event, Ping | Pong):
                found.append((type(event).__name__.lower(), bytes(event.payload)))
        return found


def upgraded(**config: Any) -> tuple[WebFrontEnd, Browser]:
    """A front end whose browser's WebSocket upgrade it has accepted."""
    front_end = WebFrontEnd(WebConfig(**config), Site())
    browser = Browser(front_end)
    assert browser.accepted()
    return front_end, browser


def registered(**config: Any) -> tuple[WebFrontEnd, Browser]:
    """A front end whose browser has said hello and been welcomed."""
    front_end, browser = upgraded(**config)
    browser.send({"type": "hello", "nick": "alice"})
    assert isinstance(front_end.next_input(), Introduce)
    browser.read(front_end.render(Delivery([Registered("alice", 1, 1)], personal=True)))
    return front_end, browser


# --- HTTP --------------------------------------------------------------------------------------


def test_the_page_is_served_with_its_security_headers() -> None:
    response, body = http(WebFrontEnd(WebConfig(), Site()), get("/"))
    assert response.status_code == 200
    assert b'<script src="/chat.js"' in body
    assert header(response, b"content-security-policy") == CONTENT_SECURITY_POLICY.encode()
    assert header(response, b"x-content-type-options") == b"nosniff"
    assert header(response, b"connection") is None  # kept alive: see the keep-alive tests
    assert header(response, b"content-type") == b"text/html; charset=utf-8"
    assert "connect-src 'self'" in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY  # no inline script


@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/chat.js", b"text/javascript"), ("/chat.css", b"text/css"), ("/favicon.svg", b"image/svg")],
)
def test_the_page_files_have_their_types(path: str, content_type: bytes) -> None:
    response, body = http(WebFrontEnd(WebConfig(), Site()), get(path))
    assert response.status_code == 200
    assert (header(response, b"content-type") or b"").startswith(content_type)
    assert body


def test_a_page_load_is_one_connection_kept_alive_within_bounds() -> None:
    # Every answer closed its connection: a page load took four. Successful GETs now keep
    # it, up to MAX_REQUESTS answers; the last one says close, and hangs up.
    front_end = WebFrontEnd(WebConfig(), Site())
    for number in range(1, MAX_REQUESTS + 1):
        front_end.receive_data(get("/chat.css"))
        answer = front_end.next_input()
        assert isinstance(answer, Send)
        assert answer.data.startswith(b"HTTP/1.1 200 OK\r\n")
        last = number == MAX_REQUESTS
        assert (b"connection: close\r\n" in answer.data) is last
        assert front_end.next_input() == (Hangup() if last else None)


@pytest.mark.parametrize(
    "request_bytes",
    [
        get("/", "Connection: close"),  # the client says so
        b"GET / HTTP/1.0\r\n\r\n",  # HTTP/1.0 has no keep-alive (without asking)
        get("/missing"),  # errors close
    ],
)
def test_some_answers_still_close(request_bytes: bytes) -> None:
    front_end = WebFrontEnd(WebConfig(), Site())
    front_end.receive_data(request_bytes)
    assert isinstance(front_end.next_input(), Send)
    assert front_end.next_input() == Hangup()


def test_an_idle_kept_alive_connection_closes_without_a_word() -> None:
    front_end = WebFrontEnd(WebConfig(), Site())
    front_end.receive_data(get("/"))
    assert isinstance(front_end.next_input(), Send)
    assert front_end.next_input() is None
    assert front_end.farewell(Farewell.TIMED_OUT) == b""  # no 408 to a request never made
    front_end.receive_data(b"GET / HT")  # but half a request is answered
    assert front_end.next_input() is None
    assert front_end.farewell(Farewell.TIMED_OUT).startswith(b"HTTP/1.1 408 ")


def test_head_answers_without_a_body() -> None:
    front_end = WebFrontEnd(WebConfig(), Site())
    front_end.receive_data(b"HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    send = front_end.next_input()
    assert isinstance(send, Send)
    assert send.data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert send.data.endswith(b"\r\n\r\n")  # headers only
    assert b"content-length: " in send.data


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (get("/../../etc/passwd"), 404),
        (get("/trio_chat/"), 404),  # no directory listing: only the page's files exist
        (b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc", 405),
        (b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello", 413),
        (get("/ws"), 426),  # not an upgrade
        (b"GARBAGE\r\n\r\n", 400),
        # A head that never ends is refused once it is longer than MAX_HEAD_BYTES.
        (b"GET / HTTP/1.1\r\nHost: localhost\r\nX: " + b"y" * MAX_HEAD_BYTES, 431),
        # The same once it has ended: h11 bounds only heads still incomplete.
        (b"GET / HTTP/1.1\r\nHost: localhost\r\nX: " + b"y" * 60_000 + b"\r\n\r\n", 431),
    ],
)
def test_bad_requests_get_clear_answers(request_bytes: bytes, status: int) -> None:
    response, _ = http(WebFrontEnd(WebConfig(), Site()), request_bytes)
    assert response.status_code == status
    assert header(response, b"x-content-type-options") == b"nosniff"


@pytest.mark.parametrize("size", [MAX_HEAD_BYTES, MAX_HEAD_BYTES + 1])
@pytest.mark.parametrize("chunk", [1, 1000, 1 << 20])  # a byte at a time, in pieces, whole
def test_the_head_limit_holds_however_the_bytes_arrive(size: int, chunk: int) -> None:
    start = b"GET / HTTP/1.1\r\nHost: localhost\r\nX: "
    request = start + b"y" * (size - len(start) - 4) + b"\r\n\r\n"
    assert len(request) == size
    front_end = WebFrontEnd(WebConfig(), Site())
    for offset in range(0, len(request), chunk):
        front_end.receive_data(request[offset : offset + chunk])
        if (answer := front_end.next_input()) is not None:
            break
    assert isinstance(answer, Send | Hangup)
    status = 200 if size <= MAX_HEAD_BYTES else 431
    assert answer.data.startswith(f"HTTP/1.1 {status} ".encode())


def test_a_method_not_allowed_says_which_are() -> None:
    response, _ = http(
        WebFrontEnd(WebConfig(), Site()), b"DELETE / HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    assert response.status_code == 405
    assert header(response, b"allow") == b"GET, HEAD"


def test_healthz_says_ok_then_503_once_shutting_down() -> None:
    site = Site()
    response, body = http(WebFrontEnd(WebConfig(), site), get("/healthz"))
    assert (response.status_code, body) == (200, b"ok\n")
    site.serving = False
    response, _ = http(WebFrontEnd(WebConfig(), site), get("/healthz"))
    assert response.status_code == 503


def test_metrics_are_served_unless_they_have_a_port_of_their_own() -> None:
    response, body = http(WebFrontEnd(WebConfig(), Site()), get("/metrics"))
    assert (response.status_code, body) == (200, b"trio_chat_members 3.0\n")
    assert (header(response, b"content-type") or b"").startswith(b"text/plain; version=")
    response, _ = http(WebFrontEnd(WebConfig(metrics=False), Site()), get("/metrics"))
    assert response.status_code == 404


def test_a_metrics_only_endpoint_serves_no_chat() -> None:
    for path in ("/", "/ws", "/chat.js"):
        response, _ = http(WebFrontEnd(WebConfig(chat=False), Site()), get(path))
        assert response.status_code == 404
    response, _ = http(WebFrontEnd(WebConfig(chat=False), Site()), get("/metrics"))
    assert response.status_code == 200


def test_farewells_before_an_upgrade_are_http_errors() -> None:
    front_end = WebFrontEnd(WebConfig(), Site())
    assert front_end.farewell(Farewell.TIMED_OUT).startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert front_end.farewell(Farewell.SERVER_FULL).startswith(b"HTTP/1.1 503 ")
    assert front_end.farewell(Farewell.EXCESS_FLOOD).startswith(b"HTTP/1.1 429 ")


# --- the WebSocket handshake -----------------------------------------------------------------


def test_the_upgrade_is_accepted_from_the_servers_own_origin() -> None:
    assert Browser(WebFrontEnd(WebConfig(), Site())).accepted()


def test_the_upgrade_is_accepted_from_a_client_that_sends_no_origin() -> None:
    # Only browsers send Origin, and only a browser can be made to open a socket for a page.
    assert Browser(WebFrontEnd(WebConfig(), Site()), origin=None).accepted()


def test_another_sites_page_cannot_open_the_chat() -> None:
    front_end = WebFrontEnd(WebConfig(), Site())
    browser = Browser(front_end, origin="https://evil.example")
    assert not browser.accepted()
    response, _ = http(WebFrontEnd(WebConfig(), Site()), get(
        "/ws", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Origin: https://evil.example",
    ))  # fmt: skip
    assert response.status_code == 403


def test_configured_origins_replace_the_servers_own() -> None:
    config = WebConfig(origins=("https://chat.example.org",))
    assert Browser(WebFrontEnd(config, Site()), origin="https://chat.example.org").accepted()
    assert not Browser(WebFrontEnd(config, Site()), origin="http://localhost").accepted()


def upgrade_request(host: str, origin: str) -> bytes:
    return "\r\n".join([
        "GET /ws HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
        "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        f"Origin: {origin}", "", "",
    ]).encode()  # fmt: skip


def test_a_page_of_a_rebound_name_cannot_open_the_chat() -> None:
    # DNS rebinding: evil.example first resolves to the attacker, then to 127.0.0.1; its page
    # then sends Host and Origin both naming evil.example. The Origin check alone let it in.
    front_end = WebFrontEnd(WebConfig(), Site())
    front_end.receive_data(upgrade_request("evil.example:8080", "http://evil.example:8080"))
    answer = front_end.next_input()
    assert isinstance(answer, Send)
    assert answer.data.startswith(b"HTTP/1.1 421 Misdirected Request\r\n")


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost", True),
        ("LOCALHOST.:8080", True),
        ("127.0.0.1:8080", True),
        ("[::1]:8080", True),
        ("192.0.2.7", True),  # any address: a browser sent to an address is not rebound
        ("chat.example.org", True),  # named with --web-host
        ("chat.example.org:443", True),
        ("proxy.example.net", True),  # the host of a --web-origin
        ("evil.example", False),
        ("localhost.evil.example", False),
        ("127.0.0.1.evil.example", False),
        ("", False),
    ],
)
def test_the_page_answers_only_the_names_it_is_reached_by(host: str, allowed: bool) -> None:
    config = WebConfig(hosts=("chat.example.org",), origins=("https://proxy.example.net",))
    for path in ("/", "/chat.js", "/session"):
        front_end = WebFrontEnd(config, Site())
        front_end.receive_data(get(path).replace(b"localhost", host.encode()))
        answer = front_end.next_input()
        misdirected = isinstance(answer, Send) and answer.data.startswith(b"HTTP/1.1 421 ")
        assert misdirected is not allowed, path
    # Health checks come from load balancers, which name the server as they like.
    response, _ = http(WebFrontEnd(config, Site()), get("/healthz").replace(b"localhost", b"lb"))
    assert response.status_code == 200


def test_only_websocket_version_13_is_spoken() -> None:
    response, _ = http(WebFrontEnd(WebConfig(), Site()), get(
        "/ws", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 8",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    ))  # fmt: skip
    assert response.status_code == 426
    assert header(response, b"sec-websocket-version") == b"13"


def test_garbage_right_behind_the_upgrade_closes_with_a_protocol_error() -> None:
    front_end = WebFrontEnd(WebConfig(), Site())
    client = WSConnection(ConnectionType.CLIENT)
    front_end.receive_data(client.send(Request(host="localhost", target="/ws")) + b"\x00garbage")
    upgraded = front_end.next_input()
    assert isinstance(upgraded, Send)
    client.receive_data(upgraded.data)
    assert isinstance(next(client.events()), AcceptConnection)
    hangup = front_end.next_input()
    assert isinstance(hangup, Hangup)
    client.receive_data(hangup.data)
    (close,) = client.events()
    assert isinstance(close, CloseConnection)
    assert close.code == 1002  # protocol error


# --- registering ---------------------------------------------------------------------------------


def test_a_hello_asks_to_register_in_the_lobby() -> None:
    front_end, browser = upgraded()
    browser.send({"type": "hello", "v": 1, "nick": "José"})
    assert front_end.next_input() == Introduce(Nickname("José", "josé"), lobby=True)


def test_a_reconnecting_page_gets_its_rooms_back() -> None:
    front_end, browser = upgraded()
    browser.send({"type": "hello", "nick": "alice", "rooms": ["#rust", "#no spaces", "#lobby"]})
    assert front_end.next_input() == Introduce(Nickname("alice", "alice"), lobby=False)
    assert front_end.next_input() is None  # the joins wait for the welcome
    welcome = browser.read(front_end.render(Delivery([Registered("alice", 1, 0)], personal=True)))
    assert welcome[0]["type"] == "registered"
    assert front_end.next_input() == JoinRoom(RoomName("#rust", "#rust"))
    assert front_end.next_input() == JoinRoom(RoomName("#lobby", "#lobby"))  # the bad one skipped


def test_a_refused_nickname_is_answered_and_the_browser_may_try_again() -> None:
    front_end, browser = upgraded()
    browser.send({"type": "hello", "nick": "bad name"})
    answer = front_end.next_input()
    assert isinstance(answer, Send)
    (refusal,) = browser.read(answer.data)
    assert (refusal["type"], refusal["reason"]) == ("refusal", "nick_invalid")
    assert refusal["text"].startswith("nicknames use letters")
    browser.send({"type": "hello", "nick": "good"})
    assert isinstance(front_end.next_input(), Introduce)


def test_a_command_before_the_hello_is_an_error() -> None:
    front_end, browser = upgraded()
    browser.send({"type": "say", "text": "hi"})
    answer = front_end.next_input()
    assert isinstance(answer, Send)
    assert browser.read(answer.data)[0]["code"] == "register_first"


def test_a_ping_while_registering_is_answered_at_once() -> None:
    front_end, browser = upgraded()
    front_end.receive_data(browser.socket.send(Ping(b"are you there")))
    answer = front_end.next_input()
    assert isinstance(answer, Send)
    assert browser.read(answer.data) == [("pong", b"are you there")]


def test_closing_while_registering_is_answered_with_a_close() -> None:
    front_end, browser = upgraded()
    front_end.receive_data(browser.socket.send(CloseConnection(1000)))
    answer = front_end.next_input()
    assert isinstance(answer, Hangup)
    assert browser.read(answer.data) == [("close", 1000)]


def test_the_end_of_the_connection_is_the_end_of_input() -> None:
    front_end, _ = upgraded()
    front_end.receive_data(b"")
    assert front_end.next_input() is None


# --- chatting ----------------------------------------------------------------------------------


def test_messages_become_commands() -> None:
    front_end, browser = registered()
    browser.send({"type": "say", "room": "#rust", "text": "hi\nthere"})
    assert front_end.next_input() == Say("hi there", RoomName("#rust", "#rust"))
    browser.send('{"type": "quit"}')
    assert front_end.next_input() == Quit("")


def test_an_oversized_message_closes_with_1009() -> None:
    front_end, browser = registered(max_message_bytes=100)
    browser.send({"type": "say", "text": "x" * 200})
    tell = front_end.next_input()
    assert tell == Tell(Invalid(ErrorCode.TOO_BIG, "messages up to 100 bytes"))
    assert front_end.next_input() == Quit("messages up to 100 bytes")
    assert isinstance(tell, Tell)
    shown = browser.read(front_end.render(Delivery([tell.event], personal=True)))
    assert shown == [{"type": "error", "code": "too_big", "text": "messages up to 100 bytes"},
                     ("close", 1009)]  # fmt: skip
    # Nothing goes out after our close frame, not even the goodbye.
    assert front_end.render(Delivery([Goodbye()], personal=True)) == b""
    assert front_end.phase is Phase.CLOSED


def masked_frame(first_byte: int, payload: bytes) -> bytes:
    """One client frame, built by hand (wsproto will not make invalid ones)."""
    mask = b"\x01\x02\x03\x04"
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return bytes([first_byte, 0x80 | len(payload)]) + mask + masked


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (masked_frame(0x80 | 0x40 | 0x1, b"hi"), 1002),  # RSV1 set, no extension agreed
        (masked_frame(0x80 | 0x8, b"\x00\x01"), 1002),  # a close code of 1
        (masked_frame(0x80 | 0x1, b"\xff\xfe"), 1007),  # a text message that is not UTF-8
    ],
)
def test_protocol_violations_close_with_the_code_rfc_6455_says(frame: bytes, code: int) -> None:
    # They were answered with a goodbye and close 1000, as if the browser had quit.
    front_end, browser = registered()
    front_end.receive_data(frame)
    tell = front_end.next_input()
    assert isinstance(tell, Tell)
    assert isinstance(quit_ := front_end.next_input(), Quit)  # the hub hears it left
    assert browser.read(front_end.render(Delivery([tell.event], personal=True))) == [
        ("close", code)
    ]
    assert front_end.render(Delivery([Goodbye()], personal=True)) == b""  # nothing after it
    assert quit_.message == ("invalid UTF-8" if code == 1007 else "protocol error")
    # Before the hello, the same code, at once.
    front_end, browser = upgraded()
    front_end.receive_data(frame)
    hangup = front_end.next_input()
    assert isinstance(hangup, Hangup)
    assert browser.read(hangup.data) == [("close", code)]


def test_a_big_message_in_fragments_counts_as_a_whole() -> None:
    front_end, browser = registered(max_message_bytes=100)
    for _ in range(3):
        front_end.receive_data(browser.socket.send(TextMessage("y" * 40, message_finished=False)))
    tell = front_end.next_input()
    assert isinstance(tell, Tell)
    assert tell.event == Invalid(ErrorCode.TOO_BIG, "messages up to 100 bytes")


def test_a_binary_message_closes_with_1003() -> None:
    front_end, browser = registered()
    front_end.receive_data(browser.socket.send(BytesMessage(b"\x00\x01")))
    tell = front_end.next_input()
    assert isinstance(tell, Tell)
    assert browser.read(front_end.render(Delivery([tell.event], personal=True)))[-1] == (
        "close",
        1003,
    )


def test_the_browsers_ping_is_answered_through_the_hub_and_its_pong_is_input() -> None:
    front_end, browser = registered()
    front_end.receive_data(browser.socket.send(Ping(b"1")))
    pong = front_end.next_input()
    assert pong == Tell(WsPong(b"1"))
    assert isinstance(pong, Tell)
    assert browser.read(front_end.render(Delivery([pong.event], personal=True))) == [("pong", b"1")]
    keepalive = front_end.keepalive()
    assert isinstance(keepalive, WsPing)
    assert browser.read(front_end.render(Delivery([keepalive], personal=True))) == [
        ("ping", b"trio-chat")
    ]
    front_end.receive_data(browser.socket.send(Pong(b"trio-chat")))
    assert front_end.next_input() is IGNORED


def test_the_browser_closing_is_a_quit_and_the_goodbye_completes_the_handshake() -> None:
    front_end, browser = registered()
    front_end.receive_data(browser.socket.send(CloseConnection(1001, "tab closed")))
    assert front_end.next_input() == Quit("tab closed")
    assert browser.read(front_end.render(Delivery([Goodbye()], personal=True))) == [
        {"type": "goodbye", "time": 0.0},
        ("close", 1000),
    ]


def test_shutdown_closes_with_1001_going_away() -> None:
    front_end, browser = registered()
    shown = browser.read(front_end.render(Delivery([ShuttingDown()], personal=True, time=5.0)))
    assert shown == [{"type": "shutting_down", "time": 5.0}, ("close", 1001)]


def test_excess_flood_closes_with_1008() -> None:
    front_end, browser = registered()
    shown = browser.read(front_end.render(Delivery([Refusal(Reason.EXCESS_FLOOD)], personal=True)))
    assert shown[-1] == ("close", 1008)


def test_farewells_after_the_upgrade_are_close_frames() -> None:
    front_end, browser = registered()
    assert browser.read(front_end.farewell(Farewell.SHUTTING_DOWN)) == [("close", 1001)]
    front_end, browser = upgraded()
    assert browser.read(front_end.farewell(Farewell.TIMED_OUT)) == [("close", 1008)]
    front_end, browser = registered()
    assert browser.read(front_end.farewell(Farewell.UNAVAILABLE)) == [("close", 1013)]


def test_every_farewell_has_an_http_status() -> None:
    for why in Farewell:
        front_end = WebFrontEnd(WebConfig(), Site())
        assert front_end.farewell(why).startswith(b"HTTP/1.1 ")


def test_a_shared_delivery_is_framed_once_for_every_browser() -> None:
    first, first_browser = registered()
    second, _ = registered()
    delivery = Delivery([Said("#lobby", "bob", "<b>hi</b>")], time=12.5)
    data = first.render(delivery)
    assert second.render(delivery) is data  # the same bytes, not a second rendering
    assert first_browser.read(data) == [
        {"type": "said", "room": "#lobby", "nick": "bob", "text": "<b>hi</b>", "notice": False,
         "time": 12.5}
    ]  # fmt: skip


# --- the page ----------------------------------------------------------------------------------


def test_the_pages_name_fields_are_as_long_as_the_hub_allows() -> None:
    page = PAGE[b"/"][0].decode()
    limits = Limits()
    assert f'id="nick" name="nick" maxlength="{limits.nick_chars}"' in page
    assert f'id="join-room" placeholder="#room" maxlength="{limits.room_name_chars}"' in page


# --- a browser's ticket: logging in without the page keeping the password ------------------------


def post(path: str, body: bytes, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: localhost", f"Content-Length: {len(body)}", *headers]
    return "\r\n".join([*lines, "", ""]).encode() + body


JSON_FROM_PAGE = ("Content-Type: application/json", "Origin: http://localhost")


def answer(front_end: WebFrontEnd, event: Event) -> tuple[h11.Response, bytes]:
    """Render the shell's answer to a ticket request: an HTTP response, then a hang-up."""
    data = front_end.render(Delivery([event], personal=True))
    assert isinstance(front_end.next_input(), Hangup)
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("host", "x")]))
    client.send(h11.EndOfMessage())
    client.receive_data(data)
    response = client.next_event()
    assert isinstance(response, h11.Response)
    body = client.next_event()
    return response, bytes(body.data) if isinstance(body, h11.Data) else b""


def test_a_login_is_a_ticket_request_and_its_answer_sets_an_http_only_cookie() -> None:
    front_end = WebFrontEnd(WebConfig(), Site())
    body = json.dumps({"account": "Ana", "password": "a long passphrase"}).encode()
    front_end.receive_data(post("/session", body, *JSON_FROM_PAGE))
    request = front_end.next_input()
    assert request == IssueTicket(Nickname("Ana", "ana"), "a long passphrase")
    assert "passphrase" not in repr(request)
    response, sent = answer(front_end, TicketIssued("Ana", "t0ken"))
    assert response.status_code == 200
    assert json.loads(sent) == {"account": "Ana"}
    cookie = header(response, b"set-cookie")
    assert cookie == b"trio_chat_ticket=t0ken; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000"


def test_behind_tls_the_cookie_is_secure_and_registering_is_a_ticket_request_too() -> None:
    front_end = WebFrontEnd(WebConfig(secure=True, origins=("https://localhost",)), Site())
    body = json.dumps({"account": "ana", "password": "a long passphrase"}).encode()
    front_end.receive_data(post("/account", body, JSON_FROM_PAGE[0], "Origin: https://localhost"))
    assert front_end.next_input() == IssueTicket(nick("ana"), "a long passphrase", create=True)
    response, _ = answer(front_end, TicketIssued("ana", "t0ken"))
    assert (header(response, b"set-cookie") or b"").endswith(b"; Secure")


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (post("/session", b"{}", "Content-Type: application/json"), 403),  # no Origin
        (post("/session", b"{}", JSON_FROM_PAGE[0], "Origin: http://evil.test"), 403),
        (post("/session", b"{}", "Origin: http://localhost"), 415),  # not JSON
        (post("/session", b"x" * 5000, *JSON_FROM_PAGE), 413),
        (post("/session", b"[]", *JSON_FROM_PAGE), 400),
        (post("/session", b'{"account": "a b", "password": "x"}', *JSON_FROM_PAGE), 400),
        (post("/account", b"{}", *JSON_FROM_PAGE), 400),
        (get("/account"), 405),
    ],
)
def test_ticket_requests_that_cannot_be_taken(request_bytes: bytes, status: int) -> None:
    response, _ = http(WebFrontEnd(WebConfig(), Site()), request_bytes)
    assert response.status_code == status


def test_asking_who_the_cookie_is_and_logging_out() -> None:
    front_end = WebFrontEnd(WebConfig(), Site())
    front_end.receive_data(get("/session", "Cookie: theme=dark; trio_chat_ticket=t0ken"))
    assert front_end.next_input() == CheckTicket("t0ken")
    response, sent = answer(front_end, TicketIs(""))
    assert json.loads(sent) == {"account": None}

    front_end = WebFrontEnd(WebConfig(), Site())
    lines = ["DELETE /session HTTP/1.1", "Host: localhost", "Origin: http://localhost"]
    front_end.receive_data("\r\n".join([*lines, "Cookie: trio_chat_ticket=t0ken", "", ""]).encode())
    assert front_end.next_input() == DropTicket("t0ken")
    response, _ = answer(front_end, TicketRevoked())
    assert (header(response, b"set-cookie") or b"").startswith(b"trio_chat_ticket=; ")
    assert b"Max-Age=0" in (header(response, b"set-cookie") or b"")


def test_a_refused_login_is_an_http_error_with_the_reason() -> None:
    front_end = WebFrontEnd(WebConfig(), Site())
    front_end.receive_data(post("/session", b'{"account":"ana","password":"x"}', *JSON_FROM_PAGE))
    front_end.next_input()
    response, sent = answer(front_end, Refusal(Reason.WRONG_PASSWORD, "ana"))
    assert response.status_code == 403
    assert json.loads(sent) == {
        "refusal": {"reason": "wrong_password", "text": "wrong password for ana"}
    }


def test_the_upgrades_cookie_logs_the_hello_in() -> None:
    front_end = WebFrontEnd(WebConfig(), Site())
    browser = Browser(front_end)  # (no cookie: a hello without a ticket)
    assert browser.accepted()
    browser.send({"type": "hello", "nick": "ana"})
    assert front_end.next_input() == Introduce(nick("ana"), lobby=True)
    front_end = WebFrontEnd(WebConfig(), Site())
    socket = WSConnection(ConnectionType.CLIENT)
    extra = [(b"Origin", b"http://localhost"), (b"Cookie", b"trio_chat_ticket=t0ken")]
    front_end.receive_data(
        socket.send(Request(host="localhost", target="/ws", extra_headers=extra))
    )
    accepted = front_end.next_input()
    assert isinstance(accepted, Send)
    socket.receive_data(accepted.data)
    front_end.receive_data(socket.send(TextMessage(json.dumps({"type": "hello", "nick": "ana"}))))
    assert front_end.next_input() == Introduce(nick("ana"), lobby=True, ticket="t0ken")


@pytest.mark.parametrize("when", [0, 951_782_400, 1_796_311_800.7, 4_102_444_799])
def test_the_date_header_is_the_one_email_utils_would_write(when: float) -> None:
    # 1970, a leap day (29 Feb 2000), a Thursday in December 2026, the last second of 2099.
    assert http_date(when).decode() == formatdate(when, usegmt=True)
