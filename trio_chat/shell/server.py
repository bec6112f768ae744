"""The network shell: listeners, the room task, one nursery per connection, graceful shutdown.

The task tree, and what each nursery is for::

    serve()                      opens the TCP listeners, then runs serve_listeners()
    serve_listeners()            server nursery: the room and everything that feeds it
    ├── run_room()               the room task (trio_chat.core.room)
    └── connections nursery      every client; a crashing connection is logged, not fatal
        ├── accepting nursery    _accept() per listener, alone, so shutdown can cancel it
        └── Server.handle()      one per client: registration, then...
            └── member nursery   ...a reader and a writer that live and die together
                ├── _read()      peer -> framing -> parse -> the room's inbox
                └── _write()     mailbox -> render -> peer (the only task writing to the stream)

Protocol work is delegated to pure modules (framing, line_protocol); this module only moves bytes
and decides what happens when something stops: a peer, a timer, the room, or the operator.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import logging
import os
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import NoReturn

import trio

from trio_chat.core.addresses import LOOPBACK, address_group, is_exempt, parse_networks
from trio_chat.core.events import Error, LeaveReason, Quit, ShuttingDown, Tell, Welcome
from trio_chat.core.flood import TokenBucket
from trio_chat.core.framing import LineFramer, LineTooLong
from trio_chat.core.room import Act, Join, Leave, Member, Request, Room, Shutdown, run_room
from trio_chat.core.text import DEFAULT_RESERVED_NICKS, NicknamePolicy
from trio_chat.frontends.line import (
    PROMPT,
    SERVER_FULL,
    SERVER_SHUTTING_DOWN,
    TIMED_OUT,
    TOO_MANY_FROM_ADDRESS,
    encode,
    parse_line,
    parse_name,
)
from trio_chat.shell.mailbox import Delivery, Mailbox

logger = logging.getLogger(__name__)

ROOM_INBOX_SIZE = 1024  # requests queued for the room; when full, readers (and peers) wait
RECEIVE_BYTES = 65536  # per receive_some: big reads mean fewer trips through the event loop
SEND_WATCH_INTERVAL = 0.5  # seconds between the send watchdog's rounds (its precision)
ACCEPT_BACKOFF = 0.1  # seconds to wait after accept() ran out of file descriptors or memory
# accept() errors that concern only the connection being accepted (it went away first):
ACCEPT_IGNORED = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.ENETDOWN})
ACCEPT_EXHAUSTED = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_PROBES = 60, 10, 3  # seconds, seconds, probes
LAST_WORDS_TIMEOUT = 1.0  # seconds a final line may take to reach a peer that may not be reading
LEAVE_TIMEOUT = 5.0  # seconds a closing connection may wait for room in the inbox to say it left


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything ``trio-chat server`` can be told on its command line."""

    host: str = "127.0.0.1"
    port: int = 12345
    max_clients: int = 10_000
    mailbox_size: int = 256  # deliveries waiting for one member before it counts as too slow
    mailbox_bytes: int = 1 << 20  # bytes waiting for one member before it counts as too slow
    max_line_bytes: int = 2048
    registration_timeout: float = 60.0
    shutdown_grace: float = 2.0
    send_timeout: float = 30.0  # one write blocked this long means the peer is gone
    flood_burst: int = 10  # lines a member may send at once...
    flood_rate: float = 5.0  # ...then this many per second (0: no flood control)
    flood_kick_after: float = 30.0  # seconds over the rate without a break: "excess flood"
    reserved_nicks: tuple[str, ...] = DEFAULT_RESERVED_NICKS  # patterns, "*" for anything
    ascii_nicks: bool = False  # refuse nicknames that are not plain ASCII
    tls_cert: str | None = None  # with tls_key: also serve TLS on tls_port
    tls_key: str | None = None
    tls_port: int = 12346
    plain: bool = True  # serve plain text on port (False: TLS only)
    max_per_ip: int = 10  # connections at once from one address (an IPv6 /64)...
    limit_exempt: tuple[str, ...] = LOOPBACK  # ...except from these networks


async def serve(
    config: ServerConfig,
    *,
    stop: trio.Event,
    task_status: trio.TaskStatus[list[tuple[str, int]]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve chat over TCP on ``config.host``/``config.port`` until ``stop`` is set.

    Reports the bound ``(host, port)`` addresses through ``task_status`` (useful with port 0).
    See :func:`serve_listeners` for the rest.

    Cancellation: as :func:`serve_listeners`.

    Raises:
        OSError: if the listening sockets cannot be opened (before anything is started).
    """
    listeners: list[trio.abc.Listener[trio.abc.Stream]] = []
    if config.plain:
        listeners += await trio.open_tcp_listeners(config.port, host=config.host)
    if config.tls_cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(config.tls_cert, config.tls_key)
        # The handshake happens on the first read or write, which is the name prompt: it
        # counts against the registration timeout, and a client that fails it (plain text
        # on the TLS port) is just a connection that broke.
        tls = await trio.open_ssl_over_tcp_listeners(config.tls_port, context, host=config.host)
        listeners += tls
    addresses = [_bound_address(listener) for listener in listeners]
    # Only here to learn when serve_listeners is ready, so that our caller hears it then.
    async with trio.open_nursery() as nursery:
        await nursery.start(partial(serve_listeners, listeners, config, stop=stop))
        for host, port in addresses:
            logger.info("listening on %s port %d", host, port)
        task_status.started(addresses)


async def serve_listeners(
    listeners: Sequence[trio.abc.Listener[trio.abc.Stream]],
    config: ServerConfig,
    *,
    stop: trio.Event,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve chat to whoever connects through ``listeners`` until ``stop`` is set, then shut down.

    Shutting down: stop accepting, tell everyone, give writers ``config.shutdown_grace`` seconds
    to flush, cancel whatever is left, and return. (Tests pass in-memory listeners here.)

    Cancellation: cancelling this stops everything at once, without the goodbyes; set ``stop``
    for a graceful shutdown.
    """
    inbox_send, inbox_receive = trio.open_memory_channel[Request](ROOM_INBOX_SIZE)
    server = Server(config, inbox_send)
    # The server nursery: if the room task crashes (a bug), nothing can work, so everything stops.
    async with trio.open_nursery() as server_nursery:
        policy = NicknamePolicy(config.reserved_nicks, ascii_only=config.ascii_nicks)
        server_nursery.start_soon(run_room, Room(policy), inbox_receive)
        # Closing the inbox once every connection is done is what ends the room task.
        with inbox_send:
            # The connections nursery: every client's handler runs here.
            async with trio.open_nursery() as connections:
                # The accept loops (and the send watchdog) get a nursery of their own so that
                # shutdown can cancel them alone: the loops close their listeners, and the
                # handlers, living in `connections`, carry on.
                async with trio.open_nursery() as accepting:
                    for listener in listeners:
                        accepting.start_soon(_accept, listener, server.handle, connections)
                    accepting.start_soon(server.watch_sends)
                    task_status.started()
                    await stop.wait()
                    accepting.cancel_scope.cancel(reason="server shutting down")
                await server.shut_down(connections.cancel_scope)


async def _accept(
    listener: trio.abc.Listener[trio.abc.Stream],
    handler: Callable[[trio.abc.Stream], Awaitable[None]],
    connections: trio.Nursery,
) -> None:
    """Start ``handler`` in ``connections`` for every connection ``listener`` accepts.

    Like trio.serve_listeners, except that for TCP it takes *every* connection already waiting
    each time the listening socket is ready. Each trio accept() is a checkpoint, so Trio's own
    loop admits one connection per pass of the scheduler (python-trio/trio#14); under load a
    pass is long (hundreds of writers sending a join notice each), and a storm of newcomers
    would then trickle in at a hundred or so per second.

    Cancellation: at shutdown; the listener is closed on the way out.
    """
    async with listener:
        if not isinstance(listener, trio.SocketListener):
            while True:
                connections.start_soon(handler, await listener.accept())
        # A second handle on the listening socket, to call the standard library's
        # non-blocking accept() until it would block; closed with the listener.
        with socket.socket(fileno=os.dup(listener.socket.fileno())) as listening:
            listening.setblocking(False)
            while True:
                await trio.lowlevel.wait_readable(listening)
                streams, exhausted = _accept_waiting(listening)
                for stream in streams:
                    connections.start_soon(handler, stream)
                if exhausted:
                    await trio.sleep(ACCEPT_BACKOFF)


def _accept_waiting(listening: socket.socket) -> tuple[list[trio.SocketStream], bool]:
    """Accept every connection waiting; also say whether the system ran out of resources."""
    streams: list[trio.SocketStream] = []
    while True:
        try:
            sock, _ = listening.accept()
        except BlockingIOError:
            return streams, False
        except OSError as error:
            if error.errno in ACCEPT_EXHAUSTED:
                logger.error("accept: %s; retrying in %s s", error.strerror, ACCEPT_BACKOFF)
                return streams, True
            if error.errno not in ACCEPT_IGNORED:
                raise
        else:
            streams.append(trio.SocketStream(trio.socket.from_stdlib_socket(sock)))


def keep_alive(sock: socket.socket | trio.socket.SocketType) -> None:
    """Have the kernel probe an idle connection, so a peer that vanished is noticed.

    After KEEPALIVE_IDLE seconds of silence, a probe every KEEPALIVE_INTERVAL seconds; after
    KEEPALIVE_PROBES unanswered, reads fail and the member leaves with "connection lost".
    Options the platform lacks are skipped.
    """
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (
        ("TCP_KEEPIDLE", KEEPALIVE_IDLE),
        ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL),
        ("TCP_KEEPCNT", KEEPALIVE_PROBES),
    ):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


class Server:
    """State shared by all connections of one :func:`serve` call."""

    def __init__(self, config: ServerConfig, inbox: trio.MemorySendChannel[Request]) -> None:
        self.config = config
        self.inbox = inbox  # the room's inbox: every connection sends its requests here
        self.open_connections = 0
        self._per_address: collections.Counter[str] = collections.Counter()
        self._exempt = parse_networks(config.limit_exempt)
        self.shutting_down = False
        # One scope per connection still choosing a nickname; shutdown cancels them all.
        self._registrations: set[trio.CancelScope] = set()
        self.chatting: set[Connection] = set()  # registered connections, for the send watchdog

    async def watch_sends(self) -> NoReturn:
        """Time out every connection whose current write has been blocked too long.

        A peer that takes nothing for ``config.send_timeout`` seconds has vanished (or is
        stalling us on purpose); in a quiet room its mailbox would never fill up to tell us.
        One task checks every writer each SEND_WATCH_INTERVAL, instead of a timeout per write:
        arming and disarming a deadline around each of the room's deliveries (a cancel scope's
        deadline lives in Trio's timer heap) doubled the latency-rate benchmark's p99.

        Cancellation: at shutdown, with the accept loops; nothing to clean up.
        """
        timeout = self.config.send_timeout
        while True:
            await trio.sleep(SEND_WATCH_INTERVAL)
            now = trio.current_time()
            for connection in list(self.chatting):
                started = connection.sending_since
                if started is not None and now - started >= timeout:
                    connection.time_out_send()

    async def shut_down(self, connections: trio.CancelScope) -> None:
        """Tell everyone, and cancel what is still running after the grace period.

        Cancellation: the grace period is the deadline of ``connections`` (the scope of the
        connections nursery, which this runs in), so this too stops when the grace period ends.
        """
        logger.info("shutting down")
        self.shutting_down = True
        for registration in self._registrations:
            registration.cancel(reason="server shutting down")
        # Members' writers get this long to flush the notice; then whatever is still running
        # (a writer blocked on a peer that does not read) is cancelled.
        connections.deadline = trio.current_time() + self.config.shutdown_grace
        await self.inbox.send(Shutdown())

    async def handle(self, stream: trio.abc.Stream) -> None:
        """Serve one client, from accept to close.

        Resource handling: the stream is always closed on the way out.

        Error handling: an ``Exception`` ends this connection only, and is logged; the others
        carry on. ``Cancelled`` and other ``BaseException``s propagate, as they must.

        Cancellation: at any point; the room is told the member left (shielded, bounded).
        """
        transport = _socket_stream(stream)
        if transport is not None:
            keep_alive(transport.socket)
        peer = _peer_name(transport)
        group = self._limited_group(transport)
        try:
            if self.open_connections >= self.config.max_clients:
                logger.warning("%s refused: server full", peer)
                await _last_words(stream, SERVER_FULL)
                return
            if group is not None and self._per_address[group] >= self.config.max_per_ip:
                logger.warning("%s refused: too many connections from %s", peer, group)
                await _last_words(stream, TOO_MANY_FROM_ADDRESS)
                return
            self.open_connections += 1
            if group is not None:
                self._per_address[group] += 1
            try:
                await Connection(self, stream, peer).run()
            finally:
                self.open_connections -= 1
                if group is not None:
                    self._per_address[group] -= 1
                    if not self._per_address[group]:
                        del self._per_address[group]
        except trio.BrokenResourceError:
            pass  # the peer vanished while we wrote to it; the room has been told
        except Exception:
            logger.exception("%s: connection failed", peer)
        finally:
            await trio.aclose_forcefully(stream)

    def _limited_group(self, stream: trio.SocketStream | None) -> str | None:
        """Return the key the per-address limit counts this peer under (None: exempt)."""
        if stream is None:
            return None  # not from the network (an in-memory stream in tests)
        try:
            host = stream.socket.getpeername()[0]
        except OSError:
            return None  # already gone: it will not stay long enough to count
        if is_exempt(host, self._exempt):
            return None
        return address_group(host)

    def track_registration(self, scope: trio.CancelScope) -> None:
        """Let shutdown cancel ``scope``, at once if shutdown has already begun."""
        self._registrations.add(scope)
        if self.shutting_down:
            scope.cancel(reason="server shutting down")

    def untrack_registration(self, scope: trio.CancelScope) -> None:
        """Forget ``scope``: its registration is over."""
        self._registrations.discard(scope)


class Connection:
    """One client: registration, then a reader and a writer until it leaves."""

    def __init__(self, server: Server, stream: trio.abc.Stream, peer: str) -> None:
        config = server.config
        self.server = server
        self.stream = stream
        self.peer = peer
        self.lines = LineReader(stream, config.max_line_bytes)
        self.member = Member(Mailbox(config.mailbox_size, config.mailbox_bytes), peer)
        self.flood = TokenBucket.full(config.flood_burst, config.flood_rate, trio.current_time())
        self.flooding_since: float | None = None  # over the rate without a break since then
        self.join_requested = False  # from then on the room may count us as a member
        self.sending_since: float | None = None  # when the write in progress began
        self._chatting: trio.CancelScope | None = None  # the reader and writer's nursery
        self.leave_reason = LeaveReason.CONNECTION_LOST  # what to tell the room if we just end

    async def run(self) -> None:
        """Register, then chat until the member leaves or is removed.

        Cancellation: at any point. If the room may count us as a member, it is told we left:
        in a shielded scope, because we may be here precisely because we were cancelled, and a
        bounded one, because a shield without a deadline could hang shutdown.
        """
        logger.info("%s connected", self.peer)
        try:
            if await self._register():
                await self._chat()
        finally:
            if self.join_requested and self.member.left is None:
                with trio.move_on_after(LEAVE_TIMEOUT, shield=True):
                    await self.server.inbox.send(Leave(self.member, self.leave_reason))
            logger.info("%s disconnected", self.peer)

    async def _register(self) -> bool:
        """Ask for a nickname until the room accepts one; False if the connection should end.

        Cancellation: the registration timeout and the server's shutdown each cancel their own
        scope here, and the peer is told which one happened.
        """
        # Cancelled by shutdown: someone still choosing a name is told, then disconnected.
        shutdown = trio.CancelScope()
        self.server.track_registration(shutdown)
        try:
            with shutdown:
                # A peer that never picks a name must not hold a connection slot forever.
                with trio.move_on_after(self.server.config.registration_timeout) as timer:
                    return await self._choose_nickname()
        finally:
            self.server.untrack_registration(shutdown)
        if timer.cancelled_caught:
            logger.info("%s timed out before registering", self.peer)
            self.leave_reason = LeaveReason.TIMED_OUT
            await _last_words(self.stream, TIMED_OUT)
        else:
            await _last_words(self.stream, SERVER_SHUTTING_DOWN)
        return False

    async def _choose_nickname(self) -> bool:
        while True:
            await self.stream.send_all(PROMPT)
            line = await self.lines.receive_line()
            if line is None:
                return False
            nick = parse_name(line)
            if isinstance(nick, Error):
                await self.stream.send_all(encode([nick]))
                continue
            self.join_requested = True
            await self.server.inbox.send(Join(self.member, nick))
            reply = await self.member.mailbox.receive.receive()
            self.member.mailbox.sent(reply)
            await self.stream.send_all(reply.encode(encode))
            if isinstance(reply.events[0], Welcome):
                return True
            if isinstance(reply.events[0], ShuttingDown):
                return False

    async def _chat(self) -> None:
        self.server.chatting.add(self)  # under the send watchdog's eye
        try:
            # The room cancels this scope to evict a member that is too slow: reader and writer
            # stop at once, even a writer blocked in send_all. (Cancelled before we get here?
            # Entering an already-cancelled scope cancels at the first checkpoint: no harm.)
            with self.member.cancel_scope:
                # Reader and writer live and die together: whichever finishes first cancels
                # the other.
                async with trio.open_nursery() as nursery:
                    self._chatting = nursery.cancel_scope
                    nursery.start_soon(self._write, nursery.cancel_scope)
                    nursery.start_soon(self._read, nursery.cancel_scope)
        finally:
            self.server.chatting.discard(self)

    async def _read(self, done: trio.CancelScope) -> None:
        """Lines from the peer become requests to the room, until the peer quits or goes.

        Cancellation: by the writer or the room; a partly received line is simply dropped.
        """
        leave: LeaveReason | None = LeaveReason.CONNECTION_LOST  # unless the loop says otherwise
        while (line := await self.lines.receive_line()) is not None:
            command = parse_line(line)
            if command is None:
                continue
            if not await self._wait_for_flood_token():
                await self.server.inbox.send(Act(self.member, Tell(Error("excess flood"))))
                leave = LeaveReason.EXCESS_FLOOD
                break
            await self.server.inbox.send(Act(self.member, command))
            if isinstance(command, Quit):
                leave = None  # the room has the quit, and answers it
                break
        if leave is not None:
            await self.server.inbox.send(Leave(self.member, leave))
        # The room now closes our mailbox; the writer gets this long to deliver what is in it
        # (the goodbye). A peer that does not read cannot keep the connection open longer.
        done.deadline = trio.current_time() + LAST_WORDS_TIMEOUT

    async def _wait_for_flood_token(self) -> bool:
        """Wait until flood control lets the next line through; False once it is excess flood.

        Cancellation: only while waiting for a token; the line in hand is dropped.
        """
        now = trio.current_time()
        delay = self.flood.take(now)
        if not delay:
            self.flooding_since = None
            return True  # noqa: ASYNC910 (the caller checkpoints next, sending to the room)
        if self.flooding_since is None:
            self.flooding_since = now
        elif now - self.flooding_since >= self.server.config.flood_kick_after:
            return False  # noqa: ASYNC910 (as above)
        # Fakelag: the flooder waits for its own lines, its TCP window closes, and nobody
        # else notices anything. No line is dropped; it arrives late.
        await trio.sleep(delay)
        return True

    async def _write(self, done: trio.CancelScope) -> None:  # noqa: ASYNC910 (see below)
        """Send everything the room delivers, until the room closes the mailbox.

        Cancellation: by the reader, the room (eviction) or shutdown, possibly inside send_all;
        then part of a line may have been sent, so the connection is never written to again.
        """
        mailbox = self.member.mailbox
        try:
            async for delivery in mailbox.receive:
                # All that is waiting goes out in one write: fewer system calls under load.
                batch = [delivery, *_drain(mailbox.receive)]
                # The send watchdog (Server.watch_sends) times out a write stuck this long.
                self.sending_since = trio.current_time()
                await self.stream.send_all(b"".join(item.encode(encode) for item in batch))
                self.sending_since = None
                for item in batch:
                    mailbox.sent(item)
        except trio.BrokenResourceError:
            # No checkpoint needed on the way out: the cancellation we ask for is one.
            done.cancel(reason="connection lost")
        else:
            done.cancel(reason="removed from the room")

    def time_out_send(self) -> None:
        """End this connection: its current write has been blocked too long (watchdog)."""
        assert self._chatting is not None, "only chatting connections are watched"
        self.leave_reason = LeaveReason.TIMED_OUT
        self._chatting.cancel(reason="send timed out")


class LineReader:
    """Receive lines from a stream, through a :class:`~trio_chat.core.framing.LineFramer`."""

    def __init__(self, stream: trio.abc.ReceiveStream, max_line_bytes: int) -> None:
        self._stream = stream
        self._framer = LineFramer(max_line_bytes)
        self._eof = False

    async def receive_line(self) -> bytes | LineTooLong | None:
        """Return the next line, a too-long marker, or ``None`` once the peer has closed or reset.

        Cancellation: safe; bytes received and not yet returned stay in the framer. A line already
        framed is returned without a checkpoint (one receive may bring hundreds); the caller
        checkpoints when it hands the line on to the room.
        """
        while (line := self._framer.next_line()) is None:
            if self._eof:
                return None  # noqa: ASYNC910 (the caller closes the stream: a checkpoint)
            try:
                data = await self._stream.receive_some(RECEIVE_BYTES)
            except trio.BrokenResourceError:
                data = b""  # reset by the peer: for us, the same as a close
            if data:
                self._framer.feed(data)
            else:
                self._eof = True
                self._framer.feed_eof()
        return line  # noqa: ASYNC910 (see "Cancellation" above)


def _drain(receive: trio.MemoryReceiveChannel[Delivery]) -> list[Delivery]:
    items = []
    while True:
        try:
            items.append(receive.receive_nowait())
        except (trio.WouldBlock, trio.EndOfChannel):
            return items


async def _last_words(stream: trio.abc.SendStream, data: bytes) -> None:  # noqa: ASYNC910
    """Send a final line to a peer that may not be reading; give up quietly if it cannot go.

    Cancellation: bounded by LAST_WORDS_TIMEOUT. It may return without a checkpoint (peer already
    gone); callers close the stream next, which is one.
    """
    # Bounded: a peer that stopped reading must not keep a closing connection open.
    with trio.move_on_after(LAST_WORDS_TIMEOUT), contextlib.suppress(trio.BrokenResourceError):
        await stream.send_all(data)


def _bound_address(listener: trio.abc.Listener[trio.abc.Stream]) -> tuple[str, int]:
    if isinstance(listener, trio.SSLListener):
        listener = listener.transport_listener
    assert isinstance(listener, trio.SocketListener)
    return _address(listener.socket.getsockname())


def _socket_stream(stream: trio.abc.Stream) -> trio.SocketStream | None:
    """Return the TCP connection under ``stream`` (under TLS too), or None if there is none."""
    if isinstance(stream, trio.SSLStream):
        stream = stream.transport_stream
    return stream if isinstance(stream, trio.SocketStream) else None


def _peer_name(stream: trio.SocketStream | None) -> str:
    if stream is None:
        return "in-memory"
    try:
        host, port = _address(stream.socket.getpeername())
    except OSError:
        return "(gone)"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _address(sockaddr: tuple[str, int] | tuple[str, int, int, int]) -> tuple[str, int]:
    return sockaddr[0], sockaddr[1]
