"""Listening and accepting: TCP listeners (TLS or not), the accept loop, socket options.

Every listener, plain or TLS, is accepted from by the same loop, :func:`accept`, which backs off
and carries on when the system runs out of file descriptors: a server that is full must refuse
newcomers, not die. TLS is a wrapper the loop puts around each accepted connection, so a TLS
listener is a TCP listener like any other.
"""

from __future__ import annotations

import errno
import logging
import os
import resource
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NoReturn

import trio

from trio_chat.frontends.base import FrontEndFactory
from trio_chat.shell.tls import TlsStream

logger = logging.getLogger(__name__)

ACCEPT_BACKOFF = 0.1  # seconds to wait after accept() ran out of file descriptors or memory
# accept() errors that concern only the connection being accepted (it went away first):
ACCEPT_IGNORED = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.ENETDOWN})
ACCEPT_EXHAUSTED = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_PROBES = 60, 10, 3  # seconds, seconds, probes
RESERVED_FILES = 64  # descriptors the process needs besides its clients (listeners, epoll, logs)
UNLIMITED_FILES = 1 << 20  # the limit to ask for when the hard one is "unlimited" (Linux's nr_open)

Handler = Callable[[trio.abc.Stream, "Listening"], Awaitable[None]]


@dataclass
class Listening:
    """An open listener, and what to serve on the connections it accepts.

    A reload replaces ``front_end`` and ``tls``: connections accepted afterwards get the new
    ones, those already open keep theirs.
    """

    listener: trio.abc.Listener[trio.abc.Stream]
    front_end: FrontEndFactory
    name: str = "plain"  # for the log and the metrics: which protocol this port speaks
    tls: ssl.SSLContext | None = None  # wrap each accepted connection in TLS
    registration_timeout: float | None = None  # None: the server's


async def open_listeners(
    host: str,
    port: int,
    front_end: FrontEndFactory,
    name: str,
    tls: ssl.SSLContext | None,
    registration_timeout: float | None = None,
) -> list[Listening]:
    """Open TCP listeners on ``host`` (one per address family it resolves to) and ``port``.

    Raises:
        OSError: if a socket cannot be opened; none is left open then.
    """
    listeners = await trio.open_tcp_listeners(port, host=host)
    return [
        Listening(listener, front_end, name, tls, registration_timeout) for listener in listeners
    ]


async def accept(listening: Listening, handler: Handler, connections: trio.Nursery) -> None:
    """Start ``handler`` in ``connections`` for every connection ``listening`` accepts.

    Like trio.serve_listeners, except that for TCP it takes *every* connection already waiting
    each time the listening socket is ready. Each trio accept() is a checkpoint, so Trio's own
    loop admits one connection per pass of the scheduler (python-trio/trio#14); under load a
    pass is long (hundreds of writers sending a join notice each), and a storm of newcomers
    would then trickle in at a hundred or so per second.

    Error handling: when the system runs out of file descriptors or memory, the loop says so
    once, waits ACCEPT_BACKOFF seconds and tries again, until it can accept again; errors
    that concern only the connection being accepted are ignored. Anything else is a bug, and
    propagates.

    Cancellation: at shutdown; the listener is closed on the way out.
    """
    async with listening.listener as listener:
        if isinstance(listener, trio.SocketListener):
            await _accept_tcp(listener, listening, handler, connections)
        else:
            await _accept_streams(listener, listening, handler, connections)


async def _accept_tcp(
    listener: trio.SocketListener,
    listening: Listening,
    handler: Handler,
    connections: trio.Nursery,
) -> NoReturn:
    backing_off = _BackOff()
    # A second handle on the listening socket, to call the standard library's non-blocking
    # accept() until it would block; closed with the listener.
    with socket.socket(fileno=os.dup(listener.socket.fileno())) as listening_socket:
        listening_socket.setblocking(False)
        while True:
            await trio.lowlevel.wait_readable(listening_socket)
            sockets, exhausted = _accept_waiting(listening_socket)
            for sock in sockets:
                stream = trio.SocketStream(trio.socket.from_stdlib_socket(sock))
                connections.start_soon(handler, _wrap(stream, listening), listening)
            await backing_off.after(exhausted)


async def _accept_streams(
    listener: trio.abc.Listener[trio.abc.Stream],
    listening: Listening,
    handler: Handler,
    connections: trio.Nursery,
) -> NoReturn:
    backing_off = _BackOff()
    while True:
        try:
            stream = await listener.accept()
        except OSError as error:
            if error.errno not in ACCEPT_EXHAUSTED | ACCEPT_IGNORED:
                raise
            await backing_off.after(error if error.errno in ACCEPT_EXHAUSTED else None)
        else:
            connections.start_soon(handler, _wrap(stream, listening), listening)
            await backing_off.after(None)


def _accept_waiting(listening: socket.socket) -> tuple[list[socket.socket], OSError | None]:
    """Accept every connection waiting; also return the error if the system ran out of some."""
    sockets: list[socket.socket] = []
    while True:
        try:
            sock, _ = listening.accept()
        except BlockingIOError:
            return sockets, None
        except OSError as error:
            if error.errno in ACCEPT_EXHAUSTED:
                return sockets, error
            if error.errno not in ACCEPT_IGNORED:
                raise
        else:
            sockets.append(sock)


class _BackOff:
    """Waits after an accept() that ran out of resources, and says so once per episode."""

    def __init__(self) -> None:
        self._since: float | None = None  # when the current shortage began

    async def after(self, exhausted: OSError | None) -> None:
        """Back off if ``exhausted`` (the accept's error, if it ran out of something)."""
        if exhausted is None:
            if self._since is not None:
                logger.warning("accepting again after %.1f s", trio.current_time() - self._since)
                self._since = None
            return  # noqa: ASYNC910 (callers checkpoint in every iteration of their loops)
        if self._since is None:
            self._since = trio.current_time()
            logger.error(
                "accept: %s; newcomers wait, retrying every %s s",
                exhausted.strerror,
                ACCEPT_BACKOFF,
            )
        await trio.sleep(ACCEPT_BACKOFF)


def _wrap(stream: trio.abc.Stream, listening: Listening) -> trio.abc.Stream:
    if listening.tls is None:
        return stream
    # The handshake happens on the first read or write, which is the session's greeting or
    # the peer's first line: it counts against the registration timeout, and a peer that fails
    # it (plain text on the TLS port) is just a connection that broke. Our own stream, not
    # trio.SSLStream: the hub writes its records (see trio_chat.shell.tls).
    return TlsStream(stream, listening.tls)


def keep_alive(sock: socket.socket | trio.socket.SocketType) -> None:
    """Have the kernel probe an idle connection, so a peer that vanished is noticed.

    After KEEPALIVE_IDLE seconds of silence, a probe every KEEPALIVE_INTERVAL seconds; after
    KEEPALIVE_PROBES unanswered, reads fail and the member leaves with "connection lost".
    Options the platform lacks are skipped.

    Raises:
        OSError: if the socket refuses an option (a connection already reset, on some systems).
    """
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (
        ("TCP_KEEPIDLE", KEEPALIVE_IDLE),
        ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL),
        ("TCP_KEEPCNT", KEEPALIVE_PROBES),
    ):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


def raise_open_files_limit(max_clients: int) -> int:
    """Raise this process's soft limit of open files to its hard limit; return the new limit.

    Every client holds a file descriptor, and the soft limit is often 1024, far below what
    ``--max-clients`` allows: past it, accept() fails (and the server backs off) while the
    server still believes it has room. Warns when ``max_clients`` cannot fit under the limit.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else UNLIMITED_FILES
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as error:  # some systems cap it lower than they claim
            logger.warning("cannot raise the open files limit to %d: %s", target, error)
    if max_clients + RESERVED_FILES > soft:
        logger.warning(
            "--max-clients %d does not fit under the open files limit (%d): past about %d "
            "connections, newcomers wait until someone leaves (raise it with ulimit -n)",
            max_clients,
            soft,
            max(soft - RESERVED_FILES, 0),
        )
    return soft


def bound_address(listener: trio.abc.Listener[trio.abc.Stream]) -> tuple[str, int]:
    """Return the address a TCP listener is bound to (useful with port 0)."""
    assert isinstance(listener, trio.SocketListener)
    host, port, *_ = listener.socket.getsockname()
    return host, port


def socket_stream(stream: trio.abc.Stream) -> trio.SocketStream | None:
    """Return the TCP connection under ``stream`` (under TLS too), or None if there is none."""
    if isinstance(stream, TlsStream):
        stream = stream.transport_stream
    return stream if isinstance(stream, trio.SocketStream) else None


def peer_address(stream: trio.SocketStream | None) -> str:
    """Return the peer's IP address ("": it has none, in memory or on a Unix socket, or gone)."""
    if stream is None or stream.socket.family not in (socket.AF_INET, socket.AF_INET6):
        return ""
    try:
        host: str = stream.socket.getpeername()[0]
    except OSError:
        return ""
    return host


def peer_name(stream: trio.SocketStream | None) -> str:
    """``host:port`` of the peer, for the log (``[host]:port`` for IPv6)."""
    if stream is None:
        return "in-memory"
    try:
        address = stream.socket.getpeername()
    except OSError:
        return "(gone)"
    if stream.socket.family not in (socket.AF_INET, socket.AF_INET6):
        return repr(address)  # a Unix socket's peer, say: no host, no port
    host, port, *_ = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
