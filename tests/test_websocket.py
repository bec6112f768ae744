"""IRC over WebSocket, sans I/O: the web front end hands an upgrade at / to the IRC front end."""

from __future__ import annotations

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)

from tests.conftest import irc_front_end
from tests.test_web import Site, get, header, http, masked_frame
from trio_chat.core.delivery import Delivery
from trio_chat.core.events import Goodbye, Quit, Registered, ShuttingDown, Tell
from trio_chat.core.text import Nickname
from trio_chat.frontends.base import IGNORED, Farewell, Hangup, Input, Introduce, Send
from trio_chat.frontends.web import WebConfig, WebFrontEnd
from trio_chat.frontends.websocket import (
    Subprotocol,
    WsClose,
    WsPong,
    choose_subprotocol,
    frame,
)

IRC = WebConfig(irc=irc_front_end)
REGISTRATION = ("NICK webby", "USER u 0 * :Web Client")
INTRODUCE = Introduce(Nickname("webby", "webby"), "Web Client", "~u", lobby=False)


class IrcPage:
    """A web IRC client (wsproto) talking to one front end: lines out, frames in."""

    def __init__(
        self,
        front_end: WebFrontEnd,
        subprotocols: list[str],
        origin: str | None = None,
    ) -> None:
        self.front_end = front_end
        self.socket = WSConnection(ConnectionType.CLIENT)
        extra = [(b"Origin", origin.encode())] if origin else []
        request = Request("localhost", "/", subprotocols=subprotocols, extra_headers=extra)
        self.front_end.receive_data(self.socket.send(request))

    def accepted(self) -> AcceptConnection | RejectConnection:
        item = self.front_end.next_input()
        assert isinstance(item, Send | Hangup)
        self.socket.receive_data(item.data)
        event = next(self.socket.events())  # (a rejection's body follows)
        assert isinstance(event, AcceptConnection | RejectConnection)
        return event

    def send(self, *messages: str | bytes | Event) -> None:
        data = b""
        for message in messages:
            if isinstance(message, str):
                message = TextMessage(message)
            elif isinstance(message, bytes):
                message = BytesMessage(message)
            data += self.socket.send(message)
        self.front_end.receive_data(data)

    def read(self, data: bytes) -> list[tuple[str, str | bytes | int]]:
        """What the server sent: ("text", line), ("binary", line), ("close", code), pings."""
        self.socket.receive_data(data)
        found: list[tuple[str, str | bytes | int]] = []
        for event in self.socket.events():
            match event:
                case TextMessage(text):
                    found.append(("text", text))
                case BytesMessage(payload):
                    found.append(("binary", bytes(payload)))
                case CloseConnection(code):
                    found.append(("close", code))
                case Ping(payload) | Pong(payload):
                    found.append((type(event).__name__.lower(), bytes(payload)))
        return found


def opened(subprotocols: list[str]) -> tuple[WebFrontEnd, IrcPage]:
    front_end = WebFrontEnd(IRC, Site())
    page = IrcPage(front_end, subprotocols)
    assert isinstance(page.accepted(), AcceptConnection)
    return front_end, page


def inputs(front_end: WebFrontEnd) -> list[Input]:
    """Every input the front end has, but the ones that ask for nothing (NICK before USER)."""
    found = []
    while (item := front_end.next_input()) is not None:
        if item is not IGNORED:
            found.append(item)
    return found


def registered(subprotocols: list[str]) -> tuple[WebFrontEnd, IrcPage]:
    front_end, page = opened(subprotocols)
    page.send(*REGISTRATION)
    assert inputs(front_end) == [INTRODUCE]
    welcome = page.read(front_end.render(Delivery([Registered("webby", 1, 1)], personal=True)))
    assert welcome[0][1] in ("webby", b"webby") or "001" in str(welcome[0][1])
    return front_end, page


# --- the handshake -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [
        (["text.ircv3.net"], Subprotocol.TEXT),
        (["binary.ircv3.net"], Subprotocol.BINARY),
        (["binary.ircv3.net", "text.ircv3.net"], Subprotocol.BINARY),
        (["text.ircv3.net", "binary.ircv3.net"], Subprotocol.TEXT),
        (["chat", "binary.ircv3.net"], Subprotocol.BINARY),
        (["chat"], None),
        ([], None),
    ],
)
def test_the_first_subprotocol_the_client_offers_that_we_speak_is_chosen(
    offered: list[str], chosen: Subprotocol | None
) -> None:
    assert choose_subprotocol(offered) is chosen


def test_the_101_names_the_chosen_subprotocol() -> None:
    site = Site()
    accepted = IrcPage(WebFrontEnd(IRC, site), ["chat", "binary.ircv3.net"]).accepted()
    assert isinstance(accepted, AcceptConnection)
    assert accepted.subprotocol == "binary.ircv3.net"
    assert site.opened == ["binary.ircv3.net"]  # for the metrics


@pytest.mark.parametrize("subprotocols", [[], ["chat"]])
def test_an_upgrade_at_slash_that_names_no_irc_subprotocol_is_irc_in_text(
    subprotocols: list[str],
) -> None:
    # gamja opens `new WebSocket(url)`: no subprotocol. ergo and InspIRCd speak text to it,
    # and their 101 names none.
    site = Site()
    accepted = IrcPage(WebFrontEnd(IRC, site), subprotocols).accepted()
    assert isinstance(accepted, AcceptConnection)
    assert accepted.subprotocol is None
    assert site.opened == ["text.ircv3.net"]  # for the metrics


def test_the_same_origin_rules_as_the_pages_socket() -> None:
    refused = IrcPage(WebFrontEnd(IRC, Site()), ["text.ircv3.net"], "https://evil.example")
    rejection = refused.accepted()
    assert isinstance(rejection, RejectConnection)
    assert rejection.status_code == 403
    own = IrcPage(WebFrontEnd(IRC, Site()), ["text.ircv3.net"], "http://localhost")
    assert isinstance(own.accepted(), AcceptConnection)
    listed = WebConfig(irc=irc_front_end, origins=("https://gamja.example",))
    gamja = IrcPage(WebFrontEnd(listed, Site()), ["text.ircv3.net"], "https://gamja.example")
    assert isinstance(gamja.accepted(), AcceptConnection)


def test_a_plain_get_of_slash_is_still_the_page() -> None:
    response, body = http(WebFrontEnd(IRC, Site()), get("/"))
    assert response.status_code == 200
    assert b"<!doctype html>" in body.lower()
    # Without IRC over WebSocket, an upgrade at / is not one: the page, as before.
    upgrade = get(
        "/", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    )  # fmt: skip
    response, _ = http(WebFrontEnd(WebConfig(), Site()), upgrade)
    assert response.status_code == 200
    assert header(response, b"content-type") == b"text/html; charset=utf-8"
    # An upgrade to something else (h2c) is not taken for IRC either.
    response, _ = http(WebFrontEnd(IRC, Site()), get("/", "Upgrade: h2c", "Connection: Upgrade"))
    assert response.status_code == 200


# --- lines in ----------------------------------------------------------------------------------


@pytest.mark.parametrize("way", ["whole", "byte by byte", "with the next behind"])
def test_each_message_is_one_line_however_the_bytes_arrive(way: str) -> None:
    front_end, page = opened(["text.ircv3.net"])
    data = page.socket.send(TextMessage(REGISTRATION[0])) + page.socket.send(
        TextMessage(REGISTRATION[1] + "\r\n")  # a trailing CR LF is tolerated
    )
    if way == "byte by byte":
        for byte in data:
            front_end.receive_data(bytes([byte]))
    elif way == "whole":
        front_end.receive_data(data)
    else:
        front_end.receive_data(data + page.socket.send(TextMessage("PING x")))
    assert inputs(front_end)[0] == INTRODUCE


def test_a_message_in_fragments_is_one_line_and_binary_messages_are_taken_too() -> None:
    front_end, page = opened(["text.ircv3.net"])
    page.send(
        TextMessage("NICK we", message_finished=False),
        TextMessage("bby\r", message_finished=False),
        TextMessage("\n"),
        b"USER u 0 * :Web Client",  # a binary message under text.ircv3.net: taken, as ergo does
    )
    assert inputs(front_end) == [INTRODUCE]


@pytest.mark.parametrize(
    "messages",
    [
        [TextMessage("NICK a\r\nUSER u 0 * :x")],
        [TextMessage("NICK a\nQUIT")],
        [TextMessage("NICK a\r", message_finished=False), TextMessage("\nQUIT")],
        [TextMessage("NICK a\r\n\r\n")],
    ],
)
def test_a_line_break_inside_a_message_closes_with_1002(messages: list[TextMessage]) -> None:
    front_end, page = opened(["text.ircv3.net"])
    page.send(*messages)
    hangup = front_end.next_input()
    assert isinstance(hangup, Hangup)
    assert page.read(hangup.data) == [("close", 1002)]
    # Registered, the close goes in order through the hub, then the hub hears it left.
    front_end, page = registered(["text.ircv3.net"])
    page.send(*messages)
    tell = front_end.next_input()
    assert tell == Tell(WsClose(1002, "one IRC line per message"))
    assert front_end.next_input() == Quit("one IRC line per message")
    assert page.read(front_end.render(Delivery([tell.event], personal=True))) == [("close", 1002)]
    assert front_end.render(Delivery([Goodbye()], personal=True)) == b""  # nothing after it


def test_a_message_longer_than_an_irc_line_is_a_417_and_the_connection_goes_on() -> None:
    front_end, page = opened(["binary.ircv3.net"])
    page.send(b"NICK " + b"x" * 20_000, b"NICK webby")
    too_long, nick = inputs(front_end)[0], inputs(front_end)
    assert isinstance(too_long, Send)
    assert page.read(too_long.data) == [("binary", b":irc.test 417 * :Input line was too long")]
    assert nick == []  # NICK alone registers nobody: USER is still to come
    page.send(REGISTRATION[1])
    assert isinstance(front_end.next_input(), Introduce)


def test_the_text_of_a_text_message_must_be_utf8_and_closes_with_1007() -> None:
    front_end, _ = registered(["text.ircv3.net"])
    front_end.receive_data(masked_frame(0x80 | 0x1, b"\xff\xfe"))
    tell = front_end.next_input()
    assert tell == Tell(WsClose(1007, "invalid UTF-8"))
    assert front_end.next_input() == Quit("invalid UTF-8")


def test_a_message_cut_short_by_the_end_of_the_connection_is_never_a_line() -> None:
    front_end, page = opened(["text.ircv3.net"])
    page.send(TextMessage("QUIT :half", message_finished=False))
    front_end.receive_data(b"")
    assert inputs(front_end) == []
    front_end.receive_data(b"")  # and what comes after the end changes nothing
    assert inputs(front_end) == []


# --- lines out ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("subprotocol", "kind"), [("text.ircv3.net", "text"),
                                                   ("binary.ircv3.net", "binary")])  # fmt: skip
def test_every_line_is_one_message_of_the_subprotocols_kind(subprotocol: str, kind: str) -> None:
    front_end, page = opened([subprotocol])
    page.send("CAP LS 302")
    answer = front_end.next_input()
    assert isinstance(answer, Send)  # registering: answered at once
    (cap,) = page.read(answer.data)
    assert cap[0] == kind
    assert str(cap[1]).startswith("b':irc.test CAP * LS" if kind == "binary" else ":irc.test CAP")
    page.send("CAP END", *REGISTRATION)
    assert isinstance(inputs(front_end)[-1], Introduce)
    welcome = page.read(front_end.render(Delivery([Registered("webby", 1, 1)], personal=True)))
    assert {found[0] for found in welcome} == {kind}
    lines = [found[1] if kind == "text" else bytes(found[1]).decode() for found in welcome]  # type: ignore[arg-type]
    assert str(lines[0]).startswith(":irc.test 001 webby")
    assert not any("\r" in str(line) or "\n" in str(line) for line in lines)


def test_a_ping_is_answered_at_once_while_registering_then_through_the_hub() -> None:
    front_end, page = opened(["text.ircv3.net"])
    page.send(Ping(b"1"))
    pong = front_end.next_input()
    assert isinstance(pong, Send)
    assert page.read(pong.data) == [("pong", b"1")]
    front_end, page = registered(["text.ircv3.net"])
    page.send(Ping(b"2"))
    tell = front_end.next_input()
    assert tell == Tell(WsPong(b"2"))
    assert page.read(front_end.render(Delivery([tell.event], personal=True))) == [("pong", b"2")]
    # The keepalive is IRC's own PING, which the client answers with any line.
    keepalive = front_end.keepalive()
    assert keepalive is not None
    assert page.read(front_end.render(Delivery([keepalive], personal=True))) == [
        ("text", "PING irc.test-1")
    ]


def test_the_client_closing_is_a_quit_and_the_goodbye_is_the_closing_handshakes_end() -> None:
    front_end, page = registered(["text.ircv3.net"])
    page.send(CloseConnection(1000, "tab closed"))
    assert front_end.next_input() == Quit("tab closed")
    assert page.read(front_end.render(Delivery([Goodbye()], personal=True))) == [("close", 1000)]
    # Registering, the close is answered at once.
    front_end, page = opened(["text.ircv3.net"])
    page.send(CloseConnection(1001))
    hangup = front_end.next_input()
    assert isinstance(hangup, Hangup)
    assert page.read(hangup.data) == [("close", 1001)]


def test_a_quit_says_error_then_closes_with_1000() -> None:
    front_end, page = opened(["text.ircv3.net"])
    page.send("QUIT")  # registering: the IRC front end hangs up itself
    hangup = front_end.next_input()
    assert isinstance(hangup, Hangup)
    assert page.read(hangup.data) == [("text", "ERROR :Closing Link: (Quit)"), ("close", 1000)]
    front_end, page = registered(["text.ircv3.net"])
    assert page.read(front_end.render(Delivery([Goodbye()], personal=True))) == [
        ("text", "ERROR :Closing Link: (Quit)"),
        ("close", 1000),
    ]


def test_shutdown_says_why_and_closes_with_1001() -> None:
    front_end, page = registered(["binary.ircv3.net"])
    assert page.read(front_end.render(Delivery([ShuttingDown()], personal=True))) == [
        ("binary", b"ERROR :Closing Link: (Server shutting down)"),
        ("close", 1001),
    ]
    assert front_end.render(Delivery([Goodbye()], personal=True)) == b""
    # The shell's own farewells: the IRC front end's words, then the close code.
    front_end, page = opened(["text.ircv3.net"])
    assert page.read(front_end.farewell(Farewell.TIMED_OUT)) == [
        ("text", "ERROR :Closing Link: (Timed out)"),
        ("close", 1008),
    ]
    assert front_end.farewell(Farewell.TIMED_OUT) == b""  # closed already


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
@pytest.mark.parametrize("opcode", [0x1, 0x2])
def test_frames_are_what_wsproto_reads(size: int, opcode: int) -> None:
    client = WSConnection(ConnectionType.CLIENT)
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(client.send(Request("localhost", "/")))
    client.receive_data(server.send(AcceptConnection()))
    assert [type(event) for event in client.events()] == [AcceptConnection]
    client.receive_data(frame(opcode, b"a" * size))
    (event,) = client.events()
    assert isinstance(event, TextMessage if opcode == 0x1 else BytesMessage)
    assert event.message_finished
    assert len(event.data) == size
