"""What the web port's WebSockets share, and a line protocol carried over one (IRC over WebSocket).

The web front end (:mod:`trio_chat.frontends.web`) upgrades a connection to a WebSocket in two
cases: the page's JSON socket at ``/ws``, and, at ``/``, the IRCv3 WebSocket transport
(https://ircv3.net/specs/extensions/websocket), which web IRC clients such as gamja and Kiwi
IRC speak. This module holds what both need (the control replies that travel through the hub,
the close codes of the shell's farewells) and :class:`LinesOverWebSocket`, the second case.

Theory of operation
-------------------
IRC over WebSocket is IRC with a different framing: one IRC line per WebSocket message, no
CR LF. So the IRC session is the IRC front end itself, unchanged, handed in as any
:class:`~trio_chat.frontends.base.FrontEnd` (this module imports no other front end: the
command line composes them). :class:`LinesOverWebSocket` sits between it and the socket:

- *In*, each message's payload is streamed to the inner front end as it arrives, followed by
  the line ending the client did not send. The inner front end's own framer then applies the
  IRC line limit (512 bytes and the tags: ``417`` beyond, the connection goes on, as over
  TCP), and never buffers more than one line, however long the message. A trailing CR LF is
  tolerated; a line break *inside* a message would smuggle a second line into one message,
  and closes the WebSocket with 1002 (a protocol error), as a frame that breaks RFC 6455 does.
- *Out*, the inner front end's lines become one message each: text frames for
  ``text.ircv3.net``, binary frames for ``binary.ircv3.net`` (its lines are UTF-8 either way:
  the server says ``UTF8ONLY``). A message of either kind is taken from the client under
  either subprotocol, as ergo does; text frames that are not UTF-8 close with 1007.
- With no subprotocol named (or none we know), the connection speaks ``text.ircv3.net`` and the
  101 names none: the default of ergo and of InspIRCd (``<websocket defaultmode="text">``),
  so clients that open ``new WebSocket(url)`` (gamja) work. A plain ``GET /`` is the page.

Control frames obey the shell's one rule for replies: while registering, a pong goes out at
once (:class:`~trio_chat.frontends.base.Send`); once registered, through the hub
(:class:`WsPong`), in order with everything else. The keepalive is the inner front end's (an
IRC ``PING``), which every IRC client over WebSocket answers.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from wsproto.connection import Connection, ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.frame_protocol import CloseReason

from trio_chat.core.delivery import Delivery
from trio_chat.core.events import Event, Goodbye, Quit, Registered, Reply, ShuttingDown, Tell
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.text import sanitize
from trio_chat.frontends.base import IGNORED, Farewell, FrontEnd, Hangup, Input, Send


@dataclass(frozen=True, slots=True)
class WsPing(Reply):
    """A WebSocket ping to a quiet browser (see :meth:`WebFrontEnd.keepalive`)."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class WsClose(Reply):
    """Our close frame for a peer that broke the protocol, in order through the hub."""

    code: int  # 1002 (a protocol error), or 1007 (a text message that is not UTF-8)
    reason: str


@dataclass(frozen=True, slots=True)
class WsPong(Reply):
    """The answer to the peer's ping, sent in order through the hub."""

    payload: bytes


FAREWELL_CODE = {  # after the upgrade; the others are the peer's fault (1008)
    Farewell.SHUTTING_DOWN: CloseReason.GOING_AWAY,
    Farewell.UNAVAILABLE: CloseReason.TRY_AGAIN_LATER,
}
VIOLATIONS: dict[int, str] = {CloseReason.INVALID_FRAME_PAYLOAD_DATA: "invalid UTF-8"}  # or 1002


class Subprotocol(enum.Enum):
    """The IRCv3 WebSocket subprotocols: which kind of frame carries each line."""

    TEXT = "text.ircv3.net"
    BINARY = "binary.ircv3.net"


def choose_subprotocol(offered: Sequence[str]) -> Subprotocol | None:
    """Return the first of the client's ``offered`` subprotocols that we speak, if any.

    The client's order decides, as in ergo and InspIRCd: it lists what it prefers first.
    """
    known = {subprotocol.value: subprotocol for subprotocol in Subprotocol}
    return next((known[name] for name in offered if name in known), None)


_TEXT, _BINARY = 0x1, 0x2  # RFC 6455's opcodes
_LINE_END = b"\r\n"


def frame(opcode: int, payload: bytes) -> bytes:
    """Return one whole, unmasked server frame (FIN set, no extension) carrying ``payload``."""
    size = len(payload)
    if size < 126:
        head = bytes((0x80 | opcode, size))
    elif size < 1 << 16:
        head = bytes((0x80 | opcode, 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 127)) + size.to_bytes(8, "big")
    return head + payload


class LinesOverWebSocket:
    """A line protocol's front end (IRC's) carried over an accepted WebSocket.

    One per connection, made by the web front end once it has accepted the upgrade; it drives
    ``socket`` (a wsproto server connection, open) and ``inner`` (the front end of the
    protocol the lines speak), and is driven by the shell like any front end (see the module
    docstring).
    """

    __slots__ = ("_chatting", "_held", "_inner", "_opcode", "_pending", "_socket", "subprotocol")

    def __init__(self, inner: FrontEnd, socket: Connection, subprotocol: Subprotocol) -> None:
        self._inner = inner
        self._socket = socket
        self.subprotocol = subprotocol
        self._opcode = _BINARY if subprotocol is Subprotocol.BINARY else _TEXT
        self._pending: deque[Input] = deque()  # a violation: the close, then the quit
        self._held = b""  # a message's trailing CR LF so far, dropped if the message ends there
        self._chatting = False  # registered: our own replies go through the hub

    # --- bytes in ---------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed received bytes (``b""``: end of input)."""
        if self._socket.state is ConnectionState.CLOSED:
            return  # the closing handshake is over: whatever else comes changes nothing
        self._socket.receive_data(data or None)

    def next_input(self) -> Input | None:
        """Return the next unit of input: the inner front end's, or the WebSocket's own."""
        while True:
            if self._pending:
                return self._pending.popleft()
            match self._inner.next_input():
                case None:
                    pass
                case Send(data):  # registering: the inner front end answers at once
                    return Send(self._frames(data))
                case Hangup(data):  # a QUIT, or a wrong password, while registering
                    return Hangup(self._frames(data) + self._close(CloseReason.NORMAL_CLOSURE, ""))
                case item:
                    return item
            if (event := next(self._socket.events(), None)) is None:
                return None
            match event:
                case TextMessage(text, _, finished):
                    if (refused := self._take(text.encode(), finished)) is not None:
                        return refused
                case BytesMessage(payload, _, finished):
                    if (refused := self._take(bytes(payload), finished)) is not None:
                        return refused
                case Ping(payload):
                    if self._chatting:
                        return Tell(WsPong(bytes(payload)))  # in order, through the hub
                    return Send(self._socket.send(Pong(payload)))
                case Pong():
                    return IGNORED  # the peer is there, which the shell has noticed
                case CloseConnection(code, reason) if self._socket.state is ConnectionState.OPEN:
                    # What wsproto cannot parse (RSV bits, a close code of 1, text that is
                    # not UTF-8): RFC 6455 says to close with the code it names.
                    return self._violation(code, VIOLATIONS.get(code, "protocol error"))
                case CloseConnection(code, reason) if (
                    self._socket.state is ConnectionState.REMOTE_CLOSING
                ):
                    if self._chatting:  # the goodbye completes the closing handshake
                        return Quit(sanitize(reason or "")[:200])
                    return Hangup(self._socket.send(CloseConnection(code, reason)))
                case CloseConnection():  # the connection ended (without a close frame)
                    continue  # a message cut short is dropped, never taken as a line

    def _take(self, data: bytes, finished: bool) -> Input | None:
        """Hand a message's ``data`` to the inner front end; end its line once ``finished``.

        Returns the refusal of a message that holds a line break before its end.
        """
        data = self._held + data
        body = data.rstrip(b"\r\n")
        self._held = data[len(body) :]
        if b"\n" in body or b"\r" in body or len(self._held) > len(_LINE_END):
            return self._violation(CloseReason.PROTOCOL_ERROR, "one IRC line per message")
        if body:
            self._inner.receive_data(body)
        if finished:
            self._held = b""
            self._inner.receive_data(_LINE_END)
        return None

    def _violation(self, code: int, reason: str) -> Input:
        """Close over a broken rule: now while registering, else in order (then quit)."""
        if self._chatting:
            self._pending.append(Quit(reason))  # after the close frame
            return Tell(WsClose(code, reason))
        return Hangup(self._close(code, reason))

    # --- bytes out --------------------------------------------------------------------------

    def render(self, delivery: Delivery) -> bytes:
        """Frame each line the inner front end renders for ``delivery`` as one message."""
        if self._socket.state is not ConnectionState.OPEN:
            return self._closing(delivery)
        if not delivery.personal:
            return self._frames(self._inner.render(delivery))
        data: list[bytes] = []
        run: list[Event] = []  # events for the inner front end, in order
        for event in delivery.events:
            match event:
                case WsPing(payload) | WsPong(payload):
                    data.append(self._render_run(run, delivery.time))
                    frame_ = Ping(payload) if isinstance(event, WsPing) else Pong(payload)
                    data.append(self._socket.send(frame_))
                case WsClose(code, reason):
                    data.append(self._render_run(run, delivery.time))
                    data.append(self._close(code, reason))
                    return b"".join(data)  # nothing more goes out after our close frame
                case _:
                    run.append(event)
                    if isinstance(event, Registered):
                        self._chatting = True
                    elif (close := close_code(event)) is not None:
                        data.append(self._render_run(run, delivery.time))
                        data.append(self._close(*close))
                        return b"".join(data)
        data.append(self._render_run(run, delivery.time))
        return b"".join(data)

    def _render_run(self, run: list[Event], time: float) -> bytes:
        """Frame what the inner front end renders of ``run`` (emptied), a personal delivery."""
        if not run:
            return b""
        events, run[:] = tuple(run), []
        return self._frames(self._inner.render(Delivery(events, personal=True, time=time)))

    def _closing(self, delivery: Delivery) -> bytes:
        """Render the close frame that answers the peer's, once the goodbye comes; else nothing."""
        if self._socket.state is ConnectionState.REMOTE_CLOSING and delivery.personal:
            for event in delivery.events:
                if (close := close_code(event)) is not None:
                    return self._close(*close)
        return b""  # our close frame is sent: nothing more may be

    def _frames(self, lines: bytes) -> bytes:
        """Return each CR LF-terminated line of ``lines`` as one message, without its CR LF."""
        opcode = self._opcode
        return b"".join([frame(opcode, line) for line in lines.split(_LINE_END)[:-1]])

    def _close(self, code: int, reason: str) -> bytes:
        """Our close frame, with the code that says why; nothing goes out after it."""
        if self._socket.state not in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            return b""
        return self._socket.send(CloseConnection(code, reason))

    def farewell(self, why: Farewell) -> bytes:
        """Return the inner front end's last words as a message, then a close frame."""
        if self._socket.state is not ConnectionState.OPEN:
            return b""
        words = self._frames(self._inner.farewell(why))
        return words + self._close(FAREWELL_CODE.get(why, CloseReason.POLICY_VIOLATION), why.value)

    def keepalive(self) -> Reply | None:
        """Return the inner front end's keepalive (IRC's ``PING``)."""
        return self._inner.keepalive()


def close_code(event: Event) -> tuple[int, str] | None:
    """Return the code and reason to close with after showing ``event``, if it ends the session.

    (What ends every WebSocket session; the page's JSON socket has reasons of its own too.)
    """
    match event:
        case Goodbye():
            return CloseReason.NORMAL_CLOSURE, "bye"
        case ShuttingDown():
            return CloseReason.GOING_AWAY, "server shutting down"
        case Refusal(Reason.EXCESS_FLOOD):
            return CloseReason.POLICY_VIOLATION, "excess flood"
    return None
