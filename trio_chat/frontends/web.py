"""The web front end: an HTTP/1.1 connection (h11) that serves the page, or becomes a WebSocket.

One sans-I/O object per connection, like every front end (see :mod:`trio_chat.frontends.base`):
it parses the request with h11 and answers it, and if it is the page's WebSocket upgrade it
hands the rest of the connection to wsproto, whose text messages carry the JSON protocol of
:mod:`trio_chat.frontends.webjson`. The shell drives it like any other: the HTTP exchange and
the WebSocket handshake are its registration dialogue (under the endpoint's request timeout),
the hello message is its registration, and from then on every JSON message is a command.
A WebSocket upgrade at ``/`` is IRC instead (the IRCv3 WebSocket transport, for web IRC
clients): the connection is then handed to a
:class:`~trio_chat.frontends.websocket.LinesOverWebSocket` around the IRC front end the
endpoint is configured with, and this object only passes everything on to it.

What a connection can ask for::

    GET /              the chat page (and /chat.js, /chat.css, /favicon.svg); as a WebSocket
                       upgrade, IRC over WebSocket (Origin checked), if the endpoint serves it
    GET /ws            the WebSocket (Origin checked), when the endpoint serves the chat
    GET /healthz       200 while serving, 503 once shutdown began
    GET /metrics       Prometheus' text format, when the endpoint serves metrics
    GET /session       {"account": ...}: who the browser's ticket (its cookie) logs in as
    POST /session      {"account", "password"}: log in; the answer sets the ticket's cookie
    POST /account      the same, registering the account first
    DELETE /session    log out: the ticket is forgotten, the cookie cleared

A ticket is how a browser stays logged in across reloads without keeping the password: a
random token in an ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` behind TLS), of which
the server keeps only a digest (:class:`~trio_chat.core.accounts.Ticket`). Requests that change
something must come from an allowed origin (the Origin header), and their bodies are small
JSON objects.

A successful answer to ``GET`` or ``HEAD`` keeps its connection open for the next request
(HTTP/1.1 keep-alive), so a page load is one connection, not four: bounded to MAX_REQUESTS
answers, and, like the whole HTTP exchange, to the endpoint's request timeout from connecting
(an idle connection is then closed without a word). Errors, logins and HTTP/1.0 close.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import re
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import h11
from wsproto import ConnectionType
from wsproto.connection import Connection as WebSocket
from wsproto.connection import ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.frame_protocol import CloseReason, FrameProtocol
from wsproto.utilities import generate_accept_token

from trio_chat.core.delivery import Delivery
from trio_chat.core.events import (
    Event,
    JoinRoom,
    Quit,
    Registered,
    Reply,
    Tell,
    TicketIs,
    TicketIssued,
    TicketRevoked,
)
from trio_chat.core.refusals import Reason, Refusal, explain
from trio_chat.core.text import sanitize
from trio_chat.frontends import webjson
from trio_chat.frontends.base import (
    IGNORED,
    CheckTicket,
    DropTicket,
    Farewell,
    FrontEndFactory,
    Hangup,
    Input,
    Introduce,
    IssueTicket,
    Send,
)
from trio_chat.frontends.webjson import ErrorCode, Greeting, Invalid
from trio_chat.frontends.websocket import (
    FAREWELL_CODE,
    VIOLATIONS,
    LinesOverWebSocket,
    Subprotocol,
    WsClose,
    WsPing,
    WsPong,
    choose_subprotocol,
    close_code,
)

MAX_HEAD_BYTES = 8 * 1024  # request line and headers; a longer head is refused (431)
MAX_BODY_BYTES = 4 * 1024  # a login's JSON body, at most; a longer one is refused (413)
MAX_REQUESTS = 32  # answers one connection may get (keep-alive): a page load needs four
COOKIE = "trio_chat_ticket"  # the cookie that holds a browser's ticket
TICKET_SECONDS = 30 * 86400  # the cookie's Max-Age: as long as the ticket lasts
MAX_MESSAGE_BYTES = 16 * 1024  # one JSON message from the browser; longer closes with 1009
PING_PAYLOAD = b"trio-chat"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


def _load_page() -> dict[bytes, tuple[bytes, str]]:
    """Read the page's files from the package, once: nothing else on disk is ever served.

    Read beside this module rather than through ``importlib.resources``, which would bring
    ``zipfile`` and its readers (0.4 MB) for a package that is never run from a zip.
    """
    folder = Path(__file__).with_name("page")
    files = {}
    for entry in folder.iterdir():
        suffix = entry.name[entry.name.rfind(".") :]
        if suffix in _TYPES:
            files[b"/" + entry.name.encode()] = (entry.read_bytes(), _TYPES[suffix])
    files[b"/"] = files[b"/index.html"]
    return files


PAGE = _load_page()


class Site(Protocol):
    """What the server says about itself over HTTP (the shell's metrics implement it)."""

    def healthy(self) -> bool:
        """Say whether the server is serving (False once shutdown began)."""
        ...

    def exposition(self) -> tuple[bytes, str]:
        """Return the metrics in Prometheus' text format, and their content type."""
        ...

    def websocket_opened(self, subprotocol: str) -> None:
        """Count a WebSocket accepted, by what it speaks ("json", or an IRC subprotocol)."""
        ...


@dataclass(frozen=True)
class WebConfig:
    """What one HTTP endpoint serves, and to whom."""

    chat: bool = True  # the page and its WebSocket
    metrics: bool = True  # /metrics
    secure: bool = False  # behind TLS: the page's own origin is https://
    origins: tuple[str, ...] = ()  # pages allowed to open the WebSocket (): the server's own
    max_message_bytes: int = MAX_MESSAGE_BYTES
    # Names the page may be reached by, beyond IP literals, localhost and the origins' hosts
    # (--web-host): a Host header naming anything else is refused (421), which is what stops
    # DNS rebinding (evil.example resolving to 127.0.0.1, its page then talking to us).
    hosts: tuple[str, ...] = ()
    # IRC over WebSocket at / (--no-irc-websocket: None): the IRC front end each such
    # connection speaks, carried by frontends.websocket; the command line composes the two.
    irc: FrontEndFactory | None = None

    def allows_host(self, host: str) -> bool:
        """Say whether a request's ``Host`` (a name or address, with its port) is one of ours."""
        name = _host_name(host)
        if name in ("localhost", *map(_host_name, self.hosts), *self._origin_hosts()):
            return True
        try:
            ipaddress.ip_address(name)  # an address typed in a browser: not a rebinding
        except ValueError:
            return False
        return True

    def _origin_hosts(self) -> list[str]:
        return [_host_name(origin.partition("://")[2]) for origin in self.origins]


class Phase(enum.Enum):
    """Where a web connection is in its life."""

    HTTP = "http"  # reading a request
    WEBSOCKET = "websocket"  # upgraded, no hello yet
    CHATTING = "chatting"  # registered: every message is a command
    CLOSED = "closed"  # our close frame is sent: nothing more goes out


class WebFrontEnd:
    """One HTTP connection, and the WebSocket it may become (see the module docstring)."""

    def __init__(self, config: WebConfig, site: Site) -> None:
        self.config = config
        self.site = site
        self.phase = Phase.HTTP
        self._http = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        self._upgrade: h11.Request | None = None  # a valid upgrade, waiting for its end
        self._method = b""  # of the request being answered
        self._socket: WebSocket | None = None
        self._pending: deque[Input] = deque()  # one message may ask for several things
        self._message: list[str] = []  # the text message being received, in fragments
        self._message_bytes = 0
        self._skipping = False  # the rest of a message already refused
        self._rejoin: tuple[JoinRoom, ...] = ()  # the rooms a hello asked for
        self._posted: h11.Request | None = None  # a login request, its body being read
        self._body: list[bytes] = []
        self._body_bytes = 0
        self._ticket = ""  # the token the upgrade request's cookie held ("": none)
        self._answered = 0  # HTTP answers sent on this connection
        self._irc: Subprotocol | None = None  # an upgrade at /: IRC, in text or binary frames
        self._irc_named = False  # ...and the client named that subprotocol (the 101 says it)
        self._carrier: LinesOverWebSocket | None = None  # IRC over the accepted WebSocket

    # --- bytes in ---------------------------------------------------------------------------

    def greeting(self) -> bytes:
        """Say nothing: HTTP clients speak first."""
        return b""

    def receive_data(self, data: bytes) -> None:
        """Feed received bytes (``b""``: end of input)."""
        if self._carrier is not None:
            self._carrier.receive_data(data)
        elif self._socket is not None:
            self._socket.receive_data(data or None)
        else:
            self._http.receive_data(data)

    def next_input(self) -> Input | None:
        """Return the next unit of input, or None when more bytes are needed (or none will come)."""
        if self._pending:
            return self._pending.popleft()
        if self._carrier is not None:
            return self._carrier.next_input()
        if self._socket is None:
            return self._next_request()
        return self._next_message()

    # --- HTTP -------------------------------------------------------------------------------

    def _next_request(self) -> Input | None:
        if self._head_too_long():
            return self._answer(431, "request heads here are up to 8 KiB\n")
        while True:
            try:
                event = self._http.next_event()
            except h11.RemoteProtocolError as error:
                return self._answer(error.error_status_hint, "bad request\n")
            match event:
                case h11.Request():
                    if (answer := self._route(event)) is not None:
                        return answer
                    if self._posted is None:
                        self._upgrade = event  # answered once the request has ended
                case h11.EndOfMessage() if self._upgrade is not None:
                    return self._accept_websocket(self._upgrade)
                case h11.Data(data) if self._posted is not None:
                    self._body_bytes += len(data)
                    if self._body_bytes > MAX_BODY_BYTES:
                        return self._answer(413, "bodies here are small JSON objects\n")
                    self._body.append(bytes(data))
                case h11.EndOfMessage() if self._posted is not None:
                    return self._ticket_request(self._posted, b"".join(self._body))
                case h11.Data() | h11.EndOfMessage():
                    continue  # no other request we answer has a body: nothing to keep
                case h11.PAUSED if self._http.our_state is h11.DONE:
                    self._http.start_next_cycle()  # kept alive: the next request
                case _:  # NEED_DATA, PAUSED, ConnectionClosed
                    return None

    def _head_too_long(self) -> bool:
        """Say whether the request head being received is longer than MAX_HEAD_BYTES.

        h11's own bound (``max_incomplete_event_size``) applies only while the head is
        incomplete: a 60,000-byte head that arrived in one read was parsed and answered.
        """
        if self._http.their_state is not h11.IDLE:
            return False  # the head is in: a body, or the next request's turn
        received, _ = self._http.trailing_data
        end = _END_OF_HEAD.search(received, 0, MAX_HEAD_BYTES + len(b"\r\n\r\n"))
        return (end.end() if end else len(received)) > MAX_HEAD_BYTES

    def _route(self, request: h11.Request) -> Input | None:
        """Answer ``request`` now, or return None for a WebSocket upgrade to accept."""
        path = request.target.partition(b"?")[0]
        self._method = request.method
        host = _header(request, b"host")  # HTTP/1.1 requires it (h11 checks), 1.0 does not
        if (
            self.config.chat
            and path != b"/healthz"
            and host is not None
            and not self.config.allows_host(host.decode("latin-1"))
        ):
            # A page of another site whose name now resolves to us (DNS rebinding).
            return self._answer(421, "this server is not reached by that name\n")
        if self.config.chat and path in _TICKET_PATHS:
            return self._route_ticket(path, request)
        if request.method not in (b"GET", b"HEAD"):
            return self._answer(405, "method not allowed\n", [(b"allow", b"GET, HEAD")])
        if _header(request, b"content-length") not in (None, b"0") or _header(
            request, b"transfer-encoding"
        ):
            return self._answer(413, "requests here have no body\n")
        if path == b"/healthz":
            if self.site.healthy():
                return self._answer(200, "ok\n", keep_alive=True)
            return self._answer(503, "shutting down\n")
        if path == b"/metrics" and self.config.metrics:
            body, content_type = self.site.exposition()
            return self._answer(200, body, content_type=content_type, keep_alive=True)
        if not self.config.chat:
            return self._answer(404, "not found\n")
        if path == b"/ws":
            return self._check_upgrade(request)
        upgrade = (_header(request, b"upgrade") or b"").lower()
        if path == b"/" and self.config.irc is not None and upgrade == b"websocket":
            return self._check_irc_upgrade(request)
        if path in PAGE:
            body, content_type = PAGE[path]
            return self._answer(200, body, content_type=content_type, keep_alive=True)
        return self._answer(404, "not found\n")

    def _route_ticket(self, path: bytes, request: h11.Request) -> Input | None:
        """Route a request about a browser's ticket; None to read a login's body first."""
        allowed = _TICKET_PATHS[path]
        if request.method not in allowed:
            return self._answer(405, "method not allowed\n", [(b"allow", b", ".join(allowed))])
        if request.method == b"GET":
            return CheckTicket(_cookie(request))
        # A change: only from our own pages (with SameSite=Strict, a second line of defence).
        origin = _header(request, b"origin")
        if origin is None or origin.decode("latin-1") not in self._origins(request):
            return self._answer(403, "this page's origin may not log in here\n")
        if request.method == b"DELETE":
            return DropTicket(_cookie(request))
        if not (_header(request, b"content-type") or b"").startswith(b"application/json"):
            return self._answer(415, "a JSON object, please\n")
        self._posted = request
        return None

    def _ticket_request(self, request: h11.Request, body: bytes) -> Input:
        """Read a login's body: an account and its password (to register first, on /account)."""
        self._posted = None
        login = webjson.parse_login(body.decode("utf-8", "replace"))
        if isinstance(login, Invalid):
            return self._answer(400, _error_body(login), content_type=_JSON)
        if isinstance(login, Refusal):
            return self._answer(400, _refusal_body(login), content_type=_JSON)
        account, password = login
        return IssueTicket(account, password, create=request.target.startswith(b"/account"))

    def _check_upgrade(self, request: h11.Request) -> Input | None:
        if (
            (_header(request, b"upgrade") or b"").lower() != b"websocket"
            or b"upgrade" not in (_header(request, b"connection") or b"").lower()
            or request.method != b"GET"
        ):
            return self._answer(426, "this is a WebSocket endpoint\n", [(b"upgrade", b"websocket")])
        if _header(request, b"sec-websocket-version") != b"13":
            return self._answer(
                426, "WebSocket version 13 only\n", [(b"sec-websocket-version", b"13")]
            )
        if not _header(request, b"sec-websocket-key"):
            return self._answer(400, "no Sec-WebSocket-Key\n")
        origin = _header(request, b"origin")
        if origin is not None and origin.decode("latin-1") not in self._origins(request):
            # Another site's page, in a visitor's browser, may not chat in the visitor's name.
            return self._answer(403, "this page's origin may not open the chat\n")
        self._ticket = _cookie(request)  # logs the hello in, if it is still valid
        return None

    def _check_irc_upgrade(self, request: h11.Request) -> Input | None:
        """Check an upgrade at / as the page's (the same Origin rules); choose its framing.

        A client that names neither IRCv3 subprotocol (gamja's ``new WebSocket(url)``) gets
        text frames, and a 101 that names none: what ergo and InspIRCd do (see
        :mod:`trio_chat.frontends.websocket`). A plain ``GET /`` is still the page.
        """
        if (refused := self._check_upgrade(request)) is not None:
            return refused
        offered = [
            name.strip().decode("latin-1")
            for key, value in request.headers
            if key == b"sec-websocket-protocol"
            for name in value.split(b",")
        ]
        chosen = choose_subprotocol(offered)
        self._irc, self._irc_named = chosen or Subprotocol.TEXT, chosen is not None
        return None

    def _origins(self, request: h11.Request) -> Sequence[str]:
        if self.config.origins:
            return self.config.origins
        host = (_header(request, b"host") or b"").decode("latin-1").lower()
        return (f"{'https' if self.config.secure else 'http'}://{host}",)

    def _accept_websocket(self, request: h11.Request) -> Input:
        key = _header(request, b"sec-websocket-key") or b""
        response = h11.InformationalResponse(
            status_code=101,
            reason=b"Switching Protocols",
            headers=[
                (b"upgrade", b"websocket"),
                (b"connection", b"Upgrade"),
                (b"sec-websocket-accept", generate_accept_token(key)),
                *self._subprotocol_header(),
            ],
        )
        data = self._http.send(response) or b""
        trailing, _ = self._http.trailing_data
        # No extension is negotiated (no permessage-deflate): a server's frame then holds
        # nothing of its connection, so a shared delivery is framed once for every browser.
        self._socket = WebSocket(ConnectionType.SERVER)
        self.phase = Phase.WEBSOCKET
        if trailing:
            self._socket.receive_data(trailing)  # what the browser sent right behind it
        if self._irc is not None and self.config.irc is not None:
            self._carrier = LinesOverWebSocket(self.config.irc(), self._socket, self._irc)
        self.site.websocket_opened("json" if self._irc is None else self._irc.value)
        return Send(data)

    def _subprotocol_header(self) -> list[tuple[bytes, bytes]]:
        if self._irc is not None and self._irc_named:
            return [(b"sec-websocket-protocol", self._irc.value.encode())]
        return []

    def _answer(
        self,
        status: int,
        body: str | bytes,
        headers: Sequence[tuple[bytes, bytes]] = (),
        *,
        content_type: str = "text/plain; charset=utf-8",
        keep_alive: bool = False,
    ) -> Input:
        """Answer the request with ``status``; then hang up, unless ``keep_alive``.

        Kept alive only within MAX_REQUESTS, and if h11 agrees (not HTTP/1.0, not a client
        that said ``Connection: close``).
        """
        data = body.encode() if isinstance(body, str) else body
        self._answered += 1
        close = not keep_alive or self._answered >= MAX_REQUESTS
        head = [*_head(data, content_type, close=close), *headers]
        if self._http.our_state is not h11.SEND_RESPONSE:  # no request, or a broken one
            return Hangup(_raw_response(status, data, head))
        reason = _REASONS.get(status, "").encode()
        response = self._http.send(h11.Response(status_code=status, headers=head, reason=reason))
        response = response or b""
        if self._method != b"HEAD":
            response += self._http.send(h11.Data(data=data)) or b""
        response += self._http.send(h11.EndOfMessage()) or b""
        # Sent under the request timeout (the shell's Send), not the short last-words one.
        if not self._kept_alive():  # we said close, or the client did, or HTTP/1.0
            self._pending.append(Hangup())
        return Send(response)

    # --- WebSocket --------------------------------------------------------------------------

    def _next_message(self) -> Input | None:
        assert self._socket is not None
        while (event := next(self._socket.events(), None)) is not None:
            if self.phase is Phase.CLOSED:
                continue  # we closed: whatever the browser still says changes nothing
            match event:
                case TextMessage(data, _, finished):
                    if (item := self._take_text(data, finished)) is not None:
                        return item
                case BytesMessage():
                    return self._refuse(ErrorCode.NOT_TEXT, "text messages only")
                case Ping(payload):
                    if self.phase is Phase.CHATTING:
                        return Tell(WsPong(bytes(payload)))  # in order, through the hub
                    return Send(self._socket.send(Pong(payload)))
                case Pong():
                    return IGNORED  # the browser is there, which the shell has noticed
                case CloseConnection(code, reason) if (
                    self._socket.state is not ConnectionState.CLOSED
                ):
                    # The browser closes; or, with the connection still open, it sent what
                    # wsproto cannot parse (RSV bits, a close code of 1, ...: code 1002, or
                    # 1007 for invalid UTF-8), and RFC 6455 says to close with that code.
                    if self._socket.state is ConnectionState.OPEN:  # a violation
                        reason = VIOLATIONS.get(code, "protocol error")
                        if self.phase is Phase.CHATTING:
                            self._pending.append(Quit(reason))  # after the close frame
                            return Tell(WsClose(code, reason))
                    elif self.phase is Phase.CHATTING:
                        return Quit(sanitize(reason or "")[:200])
                    self.phase = Phase.CLOSED
                    return Hangup(self._socket.send(CloseConnection(code, reason)))
                case CloseConnection():  # the connection ended without a close frame
                    return None
        return None

    def _take_text(self, data: str, finished: bool) -> Input | None:
        if not self._skipping:
            self._message.append(data)
            self._message_bytes += len(data.encode())
            if self._message_bytes > self.config.max_message_bytes:
                self._skipping = True
                return self._refuse(
                    ErrorCode.TOO_BIG, f"messages up to {self.config.max_message_bytes} bytes"
                )
        if not finished:
            return None
        if self._skipping:
            self._skipping = False
            return None
        text = "".join(self._message)
        self._message, self._message_bytes = [], 0
        if self.phase is Phase.CHATTING:
            return webjson.parse_command(text)
        return self._hello(text)

    def _hello(self, text: str) -> Input:
        assert self._socket is not None
        match webjson.parse_hello(text):
            case Greeting(nick, rooms):
                self._rejoin = tuple(JoinRoom(room) for room in rooms or ())
                return Introduce(nick, lobby=rooms is None, ticket=self._ticket)
            case answer:  # a refused nickname, or a message that is not a hello
                return Send(_frames((answer,), 0.0))

    def _refuse(self, code: ErrorCode, why: str) -> Input:
        """Close the WebSocket over a message it cannot take (1009 too big, 1003 binary)."""
        assert self._socket is not None
        refusal = Invalid(code, why)
        if self.phase is Phase.CHATTING:
            self._pending.append(Quit(why))  # after the refusal, which closes the socket
            return Tell(refusal)
        self.phase = Phase.CLOSED
        close = _close_code(refusal)
        assert close is not None, "a message refused closes the WebSocket"
        return Hangup(_frames((refusal,), 0.0) + self._close(*close))

    # --- bytes out --------------------------------------------------------------------------

    def render(self, delivery: Delivery) -> bytes:
        """Frame each event of ``delivery`` as one text message (JSON).

        Before the upgrade, the answer to a request about a ticket is an HTTP response.
        """
        if self._carrier is not None:
            return self._carrier.render(delivery)
        if self._socket is None:
            return b"".join(self._http_answer(event) for event in delivery.events)
        if self.phase is Phase.CLOSED:
            return b""  # after our close frame, nothing more may be sent
        if delivery.personal:
            return b"".join(
                self._render_personal(event, delivery.time) for event in delivery.events
            )
        # Frames hold nothing of their connection: every browser shares one rendering.
        return delivery.render(_KIND, lambda events: _frames(events, delivery.time))

    def _render_personal(self, event: Event, time: float) -> bytes:
        if self.phase is Phase.CLOSED:
            return b""
        match event:
            case WsPing(payload) | WsPong(payload):
                assert self._socket is not None
                frame = Ping(payload) if isinstance(event, WsPing) else Pong(payload)
                return (
                    self._socket.send(frame) if self._socket.state is ConnectionState.OPEN else b""
                )
            case WsClose(code, reason):
                return self._close(code, reason)
            case Registered():
                self.phase = Phase.CHATTING
                self._pending.extend(self._rejoin)
        data = _frames((event,), time)
        if (close := _close_code(event)) is not None:
            data += self._close(*close)
        return data

    def _http_answer(self, event: Event) -> bytes:
        """Return the HTTP answer that ends a ticket request (nothing for the steps before)."""
        cookie = f"{COOKIE}={{}}; Path=/; HttpOnly; SameSite=Strict; Max-Age={{}}"
        if self.config.secure:
            cookie += "; Secure"
        match event:
            case TicketIssued(account, token):
                headers = [(b"set-cookie", cookie.format(token, TICKET_SECONDS).encode())]
                status, body = 200, json.dumps({"account": account})
            case TicketIs(account):
                status, body, headers = 200, json.dumps({"account": account or None}), []
            case TicketRevoked():
                headers = [(b"set-cookie", cookie.format("", 0).encode())]
                status, body = 200, json.dumps({"account": None})
            case Refusal(reason):
                status, body, headers = _REFUSAL_STATUS.get(reason, 403), _refusal_body(event), []
            case _:
                return b""  # a step on the way (the account is made, the ticket kept)
        answer = self._answer(status, body, headers, content_type=_JSON)
        assert isinstance(answer, Send), "a request is being answered"
        return answer.data

    def _close(self, code: int, reason: str) -> bytes:
        """Our close frame, with the code that says why; nothing goes out after it."""
        assert self._socket is not None
        self.phase = Phase.CLOSED
        if self._socket.state not in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            return b""
        return self._socket.send(CloseConnection(code, reason))

    def farewell(self, why: Farewell) -> bytes:
        """Return an HTTP error, or a close frame once upgraded, saying why it closes."""
        if self._carrier is not None:
            return self._carrier.farewell(why)
        if self._socket is None:
            if self._answered and self._idle():
                return b""  # kept alive, idle: closed without a word, as servers do
            status = _FAREWELL_STATUS[why]
            data = f"{why.value}\n".encode()
            return _raw_response(status, data, _head(data))
        code = FAREWELL_CODE.get(why, CloseReason.POLICY_VIOLATION)
        if self._socket.state is not ConnectionState.OPEN:
            return b""
        self.phase = Phase.CLOSED
        return self._socket.send(CloseConnection(code, why.value))

    def _kept_alive(self) -> bool:
        """Say whether the answer just sent leaves the connection open for another request."""
        return self._http.our_state is h11.DONE

    def _idle(self) -> bool:
        """Say whether the connection is between requests: all answered, nothing more came."""
        done = (h11.IDLE, h11.DONE)
        http = self._http
        return http.our_state in done and http.their_state in done and not http.trailing_data[0]

    def keepalive(self) -> Reply | None:
        """Return a WebSocket ping (browsers answer them on their own); IRC's own, for IRC."""
        if self._carrier is not None:
            return self._carrier.keepalive()
        return WsPing(PING_PAYLOAD)


_KIND = "web"
_FRAMER = FrameProtocol(client=False, extensions=[])  # stateless for whole, unmasked messages


def _text_frame(text: str) -> bytes:
    return bytes(_FRAMER.send_data(text, fin=True))


def _frames(events: Sequence[Event], time: float) -> bytes:
    return b"".join(
        _text_frame(text) for event in events if (text := webjson.encode(event, time)) is not None
    )


def _close_code(event: Event) -> tuple[int, str] | None:
    """Return the code and reason to close the WebSocket with after showing ``event``, if any."""
    match event:
        case Invalid(ErrorCode.TOO_BIG):
            return CloseReason.MESSAGE_TOO_BIG, "message too big"
        case Invalid(ErrorCode.NOT_TEXT):
            return CloseReason.UNSUPPORTED_DATA, "text messages only"
    return close_code(event)


_FAREWELL_STATUS = {
    Farewell.SERVER_FULL: 503,
    Farewell.TOO_MANY_FROM_ADDRESS: 503,
    Farewell.TIMED_OUT: 408,
    Farewell.EXCESS_FLOOD: 429,
    Farewell.SHUTTING_DOWN: 503,
    Farewell.UNAVAILABLE: 503,
}
_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict",
            413: "Content Too Large", 415: "Unsupported Media Type", 421: "Misdirected Request",
            426: "Upgrade Required", 429: "Too Many Requests",
            431: "Request Header Fields Too Large", 503: "Service Unavailable"}  # fmt: skip


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(when: float) -> bytes:
    """Return ``when`` (seconds since the epoch) as HTTP's Date header writes it (RFC 9110).

    Written here rather than by ``email.utils.formatdate``: importing the email package for
    one date format was half a megabyte of an idle server's memory. English names, whatever the
    locale (``time.strftime`` would follow it).
    """
    day = time.gmtime(when)
    return (
        f"{_DAYS[day.tm_wday]}, {day.tm_mday:02d} {_MONTHS[day.tm_mon - 1]} {day.tm_year} "
        f"{day.tm_hour:02d}:{day.tm_min:02d}:{day.tm_sec:02d} GMT"
    ).encode()


def _head(
    data: bytes, content_type: str = "text/plain; charset=utf-8", *, close: bool = True
) -> list[tuple[bytes, bytes]]:
    """Return the headers of every answer whose body is ``data``."""
    return [
        (b"date", http_date(time.time())),
        (b"server", b"trio-chat"),
        *([(b"connection", b"close")] if close else []),
        (b"cache-control", b"no-cache"),
        *SECURITY_HEADERS,
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(data)).encode()),
    ]


def _raw_response(status: int, body: bytes, headers: Sequence[tuple[bytes, bytes]]) -> bytes:
    """Format an answer to no (valid) request by hand: h11 will not make one."""
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}".encode()]
    lines += [name + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


_JSON = "application/json"
# The requests about a browser's ticket, and the methods each takes.
_TICKET_PATHS = {b"/session": (b"GET", b"POST", b"DELETE"), b"/account": (b"POST",)}
_REFUSAL_STATUS = {
    Reason.ACCOUNT_EXISTS: 409,
    Reason.ACCOUNT_NAME_IN_USE: 409,
    Reason.LOGINS_THROTTLED: 429,
    Reason.REGISTRATIONS_THROTTLED: 429,
    Reason.PASSWORD_TOO_SHORT: 400,
    Reason.PASSWORD_TOO_LONG: 400,
    Reason.UNAVAILABLE: 503,
    Reason.NOT_SAVED: 503,
}


def _refusal_body(refusal: Refusal) -> str:
    return json.dumps({"refusal": {"reason": refusal.reason.value, "text": explain(refusal)}})


def _error_body(invalid: Invalid) -> str:
    return json.dumps({"error": {"code": invalid.code.value, "text": invalid.text}})


def _cookie(request: h11.Request) -> str:
    """Return the ticket token the request's cookie holds, or ""."""
    for name, value in request.headers:
        if name == b"cookie":
            for crumb in value.decode("latin-1").split(";"):
                key, _, token = crumb.strip().partition("=")
                if key == COOKIE:
                    return token
    return ""


_END_OF_HEAD = re.compile(rb"\n\r?\n")  # the blank line that ends a head, as h11 finds it


def _host_name(host: str) -> str:
    """Return the name or address of a ``Host`` value, without its port: ``[::1]:80`` is ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit() and ":" not in name:
        host = name
    return host.removesuffix(".")


def _header(request: h11.Request, name: bytes) -> bytes | None:
    for key, value in request.headers:
        if key == name:
            return bytes(value)
    return None
