"""The load generator: many chat clients in one thread, on non-blocking sockets and epoll.

Written so that it is not the bottleneck: one thread, no per-line Python work on the hot path
(received data is counted with ``bytes.count`` and kept for checking after the run), large
``recv`` calls, and messages batched into large ``send`` calls. The only per-line work during a
run is on a small sample of receivers, for latency.

Checking a fanout run costs nothing during it: every member was present for every message, so
every member must have received exactly the same bytes. Comparing the receivers' byte strings
checks one total order, no loss and no duplicate at C speed; parsing one of them then checks
per-sender FIFO and completeness.

Two protocols: trio-chat's plain line protocol (``protocol="plain"``, which the baseline also
speaks) and IRC (``protocol="irc"``), where every client joins the channel #bench. IRC servers
do not echo a message to its sender, so over IRC a sender receives everyone's messages but its
own, and only the non-senders' streams are compared byte for byte.

Either protocol may run over TLS (``tls=``, a client context): each client then keeps its
non-blocking socket in the selector as before, and an ``ssl.SSLObject`` over two memory BIOs
(:class:`Tls`) turns what the socket brings into plaintext and what the client sends into
records. Everything above the socket (registration, the byte-for-byte checks) sees plaintext,
and is the same code.
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import ssl
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

RECV_BYTES = 1 << 20
PROMPT = b"* what is your name?\n"
LATENCY_SAMPLE = 10  # receivers whose every line is timed (the rest are only counted)
CHANNEL = b"#bench"  # over IRC, everyone's room
PRIVMSG = b" PRIVMSG "  # what marks an IRC message line (a PING or a NOTICE is not one)
# Linux's SO_TIMESTAMPNS (the socket module has no name for it): recvmsg() then says, as an
# SCM_TIMESTAMPNS message (a struct timespec, CLOCK_REALTIME), when the kernel received the
# data read, which is when the server's write() reached loopback.
SO_TIMESTAMPNS = SCM_TIMESTAMPNS = 35
TIMESPEC = struct.Struct("@ll")


class LoadError(Exception):
    """The run went wrong (a lost, duplicated or reordered message, an eviction, a timeout)."""


class Tls:
    """A client's TLS connection, kept in memory: its socket only ever moves records.

    Records received are fed to :meth:`receive`, which returns the plaintext they complete;
    plaintext to send is given to :meth:`send`, and the records it makes wait in ``wire``
    until the socket takes them. What the client sends before the handshake ends waits as
    plaintext, and is encrypted once it has.
    """

    __slots__ = ("_early", "_incoming", "_outgoing", "_tls", "ready", "wire")

    def __init__(self, context: ssl.SSLContext, host: str) -> None:
        self._incoming, self._outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_hostname=host)
        self.ready = False  # the handshake is done
        self._early = bytearray()  # plaintext sent before it was
        self.wire = bytearray()  # records the socket has not taken yet

    def start(self) -> None:
        """Begin the handshake: its first flight goes to ``wire``."""
        self._handshake()

    def receive(self, records: bytes) -> bytes:
        """Take what the socket received; return the plaintext it completes (maybe none)."""
        self._incoming.write(records)
        if not self.ready and not self._handshake():
            return b""
        chunks = []
        try:
            while True:
                chunks.append(self._tls.read(RECV_BYTES))
        except ssl.SSLWantReadError:
            pass  # all of it read: the rest of a record is still on its way
        except ssl.SSLZeroReturnError:
            raise LoadError("the server closed the TLS connection") from None
        self.wire += self._outgoing.read()  # (nothing, unless the library had to answer)
        return b"".join(chunks)

    def send(self, data: bytes | bytearray) -> None:
        """Encrypt ``data`` into ``wire`` (or keep it until the handshake is done)."""
        if not self.ready:
            self._early += data
            return
        if data:
            self._tls.write(data)
        self.wire += self._outgoing.read()

    def _handshake(self) -> bool:
        try:
            self._tls.do_handshake()
        except ssl.SSLWantReadError:
            self.wire += self._outgoing.read()
            return False
        except ssl.SSLError as error:
            raise LoadError(f"TLS handshake failed: {error}") from error
        self.ready = True
        self.wire += self._outgoing.read()
        early, self._early = bytes(self._early), bytearray()
        if early:
            self.send(early)
        return True


@dataclass(eq=False)
class Client:
    """One simulated chat client."""

    name: str
    sock: socket.socket
    started: float = 0.0  # when connect() was called
    registered: float = 0.0  # when its welcome (IRC: the end of #bench's names) arrived
    expected_joins: int = 0  # join notices still to come after its welcome
    inbox: bytearray = field(default_factory=bytearray)  # everything received (fanout)
    lines: int = 0  # message lines received in the current phase
    expected: int = 0  # message lines it is to receive in the current phase
    tail: bytes = b""  # over IRC, the end of the last chunk not kept (a token may straddle)
    outbox: bytearray = field(default_factory=bytearray)  # still to send
    # For latency samples: (when read, when the kernel received it, chunk); the second only
    # in a paced run (see SO_TIMESTAMPNS), the first in its place otherwise.
    timed: list[tuple[int, int, bytes]] | None = None
    closed: bool = False
    tls: Tls | None = None  # over TLS: its connection, between the socket and the rest


def now_ns() -> int:
    """Read a clock shared by every process on the machine (CLOCK_MONOTONIC), in ns."""
    return time.monotonic_ns()


class Load:
    """A set of clients against one server, driven by one selector.

    ``protocol`` is ``"plain"`` (trio-chat's line protocol, and the baseline's) or ``"irc"``;
    with ``tls`` (a client context that trusts the server's certificate for ``host``), either
    one over TLS.
    """

    def __init__(
        self,
        host: str,
        port: int,
        protocol: str = "plain",
        *,
        more_ports: Sequence[int] = (),
        tls: ssl.SSLContext | None = None,
    ) -> None:
        if protocol not in ("plain", "irc"):
            raise ValueError(f"unknown protocol {protocol!r}")
        self.host, self.tls = host, tls
        # With more_ports (servers sharing rooms), clients connect to each port in turn.
        self.addresses = [(host, one) for one in (port, *more_ports)]
        self.irc = protocol == "irc"
        self.selector = selectors.DefaultSelector()
        self.unstamped = 0  # chunks of the last paced run the kernel did not timestamp
        self.clients: list[Client] = []
        self._parked: list[Client] = []  # registered, not read until the join notices are
        # What a message is sent as, and what marks one received. Over IRC the sender of
        # a message does not receive it back.
        if self.irc:
            self._message = b"PRIVMSG " + CHANNEL + b" :%d %d %d\r\n"
            self._join_notice = b" JOIN "
            self._echo = False
        else:
            self._message = b"%d %d %d\n"
            # "* c5 joined" at the start of a line: the history a newcomer is shown first
            # ("~ 2026-12-01 10:00 * c4 joined") has such lines too, but not at line starts.
            self._join_notice = b"\n* "
            self._echo = True

    def close(self) -> None:
        """Close every client socket (abruptly: the server sees connections lost)."""
        for client in self.clients:
            if not client.closed:
                if client not in self._parked:
                    self.selector.unregister(client.sock)
                client.sock.close()
        self.selector.close()

    # --- registration ----------------------------------------------------------------------

    def register(
        self, count: int, *, window: int = 500, park: bool = False, timeout: float = 120
    ) -> None:
        """Connect and register ``count`` clients, at most ``window`` in progress at once.

        With ``park``, clients already registered are not read meanwhile (their join notices
        wait in the kernel's buffers, a few tens of kilobytes with a few thousand clients):
        reading a thousand sockets per newcomer would make this process, not the server, the
        bottleneck of a realistic arrival. :meth:`wait_for_join_notices` reads them all
        afterwards. Without it, they are read as they go, as real clients would: with ten
        thousand, the notices would no longer fit in the kernel's buffers, and the server
        would be measured holding backlogs that no real client leaves it.
        """
        deadline = time.monotonic() + timeout
        total = len(self.clients) + count
        pending = [f"c{len(self.clients) + n}" for n in range(count)]
        pending.reverse()
        in_progress: dict[Client, bytearray] = {}  # what each has received so far
        named: set[Client] = set()  # answered the prompt (IRC: sent JOIN after the welcome)
        advance = self._advance_irc if self.irc else self._advance_plain
        while pending or in_progress:
            while pending and len(in_progress) < window:
                client = self._connect(pending.pop())
                in_progress[client] = bytearray()
            for key, events in self.selector.select(timeout=1):
                client = key.data
                if client not in in_progress:
                    self._read_into_inbox(client)  # notices for an already registered client
                    continue
                if events & selectors.EVENT_WRITE:  # connected
                    error = client.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if error:
                        raise LoadError(f"{client.name}: connect failed: {errno.errorcode[error]}")
                    self.selector.modify(client.sock, selectors.EVENT_READ, client)
                    if client.tls is not None:
                        client.tls.start()
                        self._send(client, b"")  # the handshake's first flight
                    if self.irc:  # IRC has no prompt: the client speaks first (over TLS,
                        # once the handshake is done)
                        nick = client.name.encode()
                        self._send(client, b"NICK %s\r\nUSER %s 0 * :%s\r\n" % (nick, nick, nick))
                    continue
                received = in_progress[client]
                received += self._recv(client)
                online = advance(client, received, named)
                if online is not None:
                    client.registered = time.monotonic()
                    client.expected_joins = total - online
                    del in_progress[client]
                    if park:  # until registration ends
                        self.selector.unregister(client.sock)
                        self._parked.append(client)
            if time.monotonic() > deadline:
                raise LoadError(f"registration timed out with {len(in_progress)} in progress")

    def _advance_plain(self, client: Client, received: bytearray, named: set[Client]) -> int | None:
        """Answer the prompt; at the welcome, return how many it says are online."""
        if client not in named and received.startswith(PROMPT):
            self._send(client, client.name.encode() + b"\n")
            named.add(client)
        end = received.find(b"\n", len(PROMPT))
        if end < 0:
            return None
        welcome = bytes(received[len(PROMPT) : end])
        if not welcome.startswith(f"* welcome, {client.name}! online (".encode()):
            raise LoadError(f"{client.name}: not welcomed: {welcome[:100]!r}")
        client.inbox += received[end + 1 :]
        return int(welcome.split(b"(", 1)[1].split(b")", 1)[0])

    def _advance_irc(self, client: Client, received: bytearray, named: set[Client]) -> int | None:
        """JOIN #bench after the welcome (001); at its end of names (366), return the names.

        Everything else a server sends meanwhile (NOTICE, 002 to 005, 251 to 266, the MOTD or
        422, MODE) is ignored.
        """
        nick = client.name.encode()
        if client not in named:
            if b" 001 " not in received:
                if b"ERROR " in received or b" 433 " in received:  # refused, nick in use
                    raise LoadError(f"{client.name}: not welcomed: {bytes(received[-200:])!r}")
                return None
            self._send(client, b"JOIN " + CHANNEL + b"\r\n")
            named.add(client)
        marker = b" 366 %s %s " % (nick, CHANNEL)
        start = received.find(marker)
        end = received.find(b"\n", start) if start >= 0 else -1
        if end < 0:
            if b"ERROR " in received:
                raise LoadError(f"{client.name}: could not join: {bytes(received[-200:])!r}")
            return None
        online = 0
        names = b" 353 %s " % nick
        for line in bytes(received[:start]).split(b"\n"):
            if names in line and b" %s " % CHANNEL in line:
                listed = line.split(b" %s " % CHANNEL, 1)[1].strip().removeprefix(b":")
                online += len(listed.split())  # "@op +voiced plain": prefixes do not matter
        client.inbox += received[end + 1 :]
        return online

    def _connect(self, name: str) -> Client:
        sock = socket.socket()
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = Client(name, sock, started=time.monotonic())
        if self.tls is not None:
            client.tls = Tls(self.tls, self.host)
        with contextlib.suppress(BlockingIOError):  # connecting: selected as writable when done
            sock.connect(self.addresses[len(self.clients) % len(self.addresses)])
        self.clients.append(client)
        self.selector.register(sock, selectors.EVENT_WRITE, client)
        return client

    def wait_for_join_notices(self, *, timeout: float = 300) -> None:
        """Read until every client has seen (at least) every join after its own."""
        deadline = time.monotonic() + timeout
        for client in self._parked:
            self.selector.register(client.sock, selectors.EVENT_READ, client)
        self._parked.clear()
        notice = self._join_notice

        def done(client: Client) -> bool:  # ...and not in the middle of a line
            seen = client.inbox.count(notice)
            if not self.irc and client.inbox.startswith(notice[1:]):
                seen += 1  # the first line after the welcome
            return seen >= client.expected_joins and (
                not client.inbox or client.inbox.endswith(b"\n")
            )

        waiting = {c for c in self.clients if not done(c)}
        while waiting:
            for key, _ in self.selector.select(timeout=1):
                client = key.data
                self._read_into_inbox(client)
                if client in waiting and done(client):
                    waiting.discard(client)
            if time.monotonic() > deadline:
                raise LoadError(f"{len(waiting)} clients still waiting for join notices")
        for client in self.clients:
            # Only "at least": the baseline, having no single order of events, can announce a
            # join to someone whose welcome already listed the newcomer. (trio-chat's exact
            # join order is checked by its own tests.)
            client.inbox.clear()

    # --- traffic -----------------------------------------------------------------------------

    def fanout(
        self, senders: int, messages: int, *, timeout: float = 600
    ) -> tuple[float, list[int]]:
        """Each of the first ``senders`` clients sends ``messages`` lines as fast as accepted.

        Returns the wall time (first send to last delivery) and latency samples in ns.
        """
        if not self._echo and senders >= len(self.clients):
            raise ValueError("over IRC, at least one client must not be a sender")
        for index, client in enumerate(self.clients):
            client.lines = 0
            client.inbox.clear()
            client.expected = senders * messages
            if index < senders and not self._echo:
                client.expected -= messages  # its own are not sent back to it
        for client in self.clients[:LATENCY_SAMPLE]:
            client.timed = []
        next_seq = dict.fromkeys(range(senders), 0)
        message = self._message
        irc = self.irc

        def refill(sender: int, client: Client) -> None:
            stamp = now_ns()
            batch = min(256, messages - next_seq[sender])
            first = next_seq[sender]
            client.outbox += b"".join(
                message % (sender, seq, stamp) for seq in range(first, first + batch)
            )
            next_seq[sender] += batch

        senders_left = set(range(senders))
        for sender in senders_left:
            client = self.clients[sender]
            self.selector.modify(client.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, client)
        started = time.monotonic()
        done = 0
        deadline = started + timeout
        while done < len(self.clients):
            for key, events in self.selector.select(timeout=1):
                client = key.data
                if events & selectors.EVENT_WRITE:
                    sender = int(client.name[1:])
                    if not client.outbox and next_seq[sender] < messages:
                        refill(sender, client)
                    if client.outbox:
                        sent = self._send_some(client)
                        del client.outbox[:sent]
                    if (
                        not client.outbox
                        and next_seq[sender] >= messages
                        and not (client.tls and client.tls.wire)
                    ):
                        self.selector.modify(client.sock, selectors.EVENT_READ, client)
                if events & selectors.EVENT_READ:
                    before = client.lines
                    kept = len(client.inbox)
                    data = self._read_into_inbox(client)
                    if client.timed is not None and data:
                        read = now_ns()
                        client.timed.append((read, read, data))
                    if irc:  # from just before the new data: a token may straddle two reads
                        client.lines += client.inbox.count(PRIVMSG, max(kept - len(PRIVMSG) + 1, 0))
                    else:
                        client.lines += data.count(b"\n")
                    if before < client.expected <= client.lines:
                        done += 1
            if time.monotonic() > deadline:
                raise LoadError(f"fanout timed out: {done} of {len(self.clients)} complete")
        wall = time.monotonic() - started
        self._check_fanout(senders, messages)
        return wall, self._latencies()[0]

    def _check_fanout(self, senders: int, messages: int) -> None:
        """Everyone received the same stream (over IRC: every non-sender), complete and FIFO."""
        reference_client = self.clients[0] if self._echo else self.clients[-1]
        reference = bytes(reference_client.inbox)
        compared = self.clients if self._echo else self.clients[senders:]
        for client in compared:
            if client.inbox != reference:
                raise LoadError(
                    f"{client.name} received a different stream than {reference_client.name}"
                )
        for client in self.clients[: senders if not self._echo else 0]:
            if client.inbox.count(PRIVMSG) != client.expected:
                raise LoadError(f"{client.name} received {client.inbox.count(PRIVMSG)} messages")
        seen = dict.fromkeys(range(senders), 0)
        for line in reference.splitlines():
            if not self._is_message(line):
                raise LoadError(f"unexpected line: {line[:100]!r}")
            _, sender_field, seq_field, _ = line.rsplit(b" ", 3)
            sender, seq = int(sender_field.removeprefix(b":")), int(seq_field)
            if seq != seen[sender]:
                raise LoadError(f"sender {sender}: got {seq}, expected {seen[sender]}")
            seen[sender] += 1
        if any(count != messages for count in seen.values()):
            raise LoadError("messages missing")

    def _is_message(self, line: bytes) -> bool:
        return PRIVMSG in line if self.irc else line.startswith(b"<")

    def _latencies(self) -> tuple[list[int], list[int]]:
        """Each timed message line's latency in ns: as read, and as the kernel received it."""
        read_samples, arrived_samples = [], []
        for client in self.clients:
            partial = b""  # a line is timed when its last byte arrived
            for read, arrived, chunk in client.timed or ():
                *lines, partial = (partial + chunk).split(b"\n")
                for line in lines:
                    if self._is_message(line):
                        sent = int(line.rsplit(b" ", 1)[1])
                        read_samples.append(read - sent)
                        arrived_samples.append(arrived - sent)
            client.timed = None
        return read_samples, arrived_samples

    def paced(self, senders: int, rate: float, duration: float) -> tuple[list[int], list[int]]:
        """Send ``rate`` messages/s in total, round-robin over ``senders``; time every delivery.

        Returns every delivery's latency twice, in ns: as this process read it, and as the
        kernel received it. This one thread reads a hundred sockets in turn, so the first
        includes its own wait for the sockets read before (the median reader waits for 50);
        the second is the server's alone, the reader's kernel timestamp (SO_TIMESTAMPNS),
        or the time read for what the kernel did not stamp (counted in ``unstamped``).
        """
        total = int(rate * duration)
        # The kernel stamps with CLOCK_REALTIME, messages carry CLOCK_MONOTONIC: this converts.
        realtime_ahead = time.time_ns() - now_ns()
        self.unstamped = 0
        for index, client in enumerate(self.clients):
            client.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            client.lines = 0
            client.inbox.clear()
            client.timed = []
            client.tail = b""
            client.expected = total
            if index < senders and not self._echo:
                client.expected -= len(range(index, total, senders))  # its own
        started = time.monotonic()
        sent = 0
        while True:
            while sent < total and time.monotonic() >= started + sent / rate:
                sender = self.clients[sent % senders]
                self._send(sender, self._message % (sent % senders, sent, now_ns()))
                sent += 1
            wait = started + sent / rate - time.monotonic() if sent < total else 1.0
            for key, _ in self.selector.select(timeout=max(wait, 0)):
                client = key.data
                data, stamp = self._recv_stamped(client)
                read = now_ns()
                if stamp is None:  # (see _recv_stamped) timed as read: never earlier than it was
                    self.unstamped += 1
                arrived = read if stamp is None else stamp - realtime_ahead
                assert client.timed is not None
                client.timed.append((read, arrived, data))
                client.lines += self._count_messages(client, data)
            if sent == total and all(client.lines >= client.expected for client in self.clients):
                break
            if time.monotonic() > started + duration + 30:
                raise LoadError("paced run: deliveries missing after 30 s")
        for client in self.clients:
            client.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 0)
        return self._latencies()

    def chat_once(self, *, timeout: float = 120) -> None:
        """One message from the first client must reach everyone."""
        for client in self.clients:
            client.lines = 0
            client.inbox.clear()
        first = self.clients[0]
        if self.irc:
            self._send(first, b"PRIVMSG " + CHANNEL + b" :still here\r\n")
            line = b"PRIVMSG " + CHANNEL + b" :still here"
        else:
            self._send(first, b"still here\n")
            line = f"<{first.name}> still here\n".encode()
        waiting = set(self.clients if self._echo else self.clients[1:])
        deadline = time.monotonic() + timeout
        while waiting:
            for key, _ in self.selector.select(timeout=1):
                client = key.data
                self._read_into_inbox(client)
                if line in client.inbox:
                    waiting.discard(client)
            if time.monotonic() > deadline:
                raise LoadError(f"{len(waiting)} clients never got the message")

    # --- plumbing ----------------------------------------------------------------------------

    def _count_messages(self, client: Client, data: bytes) -> int:
        """Message lines in ``data``, a chunk not kept in the inbox, that follows the last."""
        if not self.irc:
            return data.count(b"\n")  # the plain protocol's servers send nothing else here
        edge = len(PRIVMSG) - 1
        count = data.count(PRIVMSG) + (client.tail + data[:edge]).count(PRIVMSG)
        client.tail = data[-edge:] if len(data) >= edge else (client.tail + data)[-edge:]
        return count

    def _send(self, client: Client, data: bytes) -> None:
        """Send ``data`` at once (a few lines: the kernel's buffer takes them)."""
        tls = client.tls
        if tls is not None:
            tls.send(data)
            data, tls.wire = bytes(tls.wire), bytearray()
        try:
            client.sock.sendall(data)
        except OSError as error:
            raise LoadError(f"{client.name}: {error}") from error

    def _send_some(self, client: Client) -> int:
        """Send what the socket takes of the outbox; return how much of the outbox went.

        Over TLS the outbox is encrypted whole, and the next one only once the socket has
        taken every record of it: a sender never has more than one outbox of records waiting.
        """
        tls, taken = client.tls, 0
        if tls is not None and not tls.wire:
            tls.send(client.outbox)
            taken = len(client.outbox)
        try:
            if tls is None:
                return client.sock.send(client.outbox)
            del tls.wire[: client.sock.send(tls.wire)]
        except BlockingIOError:
            pass
        except OSError as error:
            raise LoadError(f"{client.name}: {error}") from error
        return taken

    def _recv(self, client: Client) -> bytes:
        try:
            data = client.sock.recv(RECV_BYTES)
        except BlockingIOError:
            return b""
        except ConnectionError as error:
            raise LoadError(f"{client.name}: {error}") from error
        return self._received(client, data)

    def _recv_stamped(self, client: Client) -> tuple[bytes, int | None]:
        """Receive as :meth:`_recv`, with the kernel's timestamp of it (CLOCK_REALTIME, ns).

        None: the kernel did not stamp it. Linux turns timestamping on for the whole machine
        a moment after the first socket asks (in a work queue), so what arrives just after
        :meth:`paced` asks (on a busy machine, the first deliveries) may come unstamped.
        """
        try:
            data, ancillary, _, _ = client.sock.recvmsg(RECV_BYTES, socket.CMSG_SPACE(16))
        except BlockingIOError:
            return b"", None
        except ConnectionError as error:
            raise LoadError(f"{client.name}: {error}") from error
        for level, kind, stamp in ancillary:
            if (level, kind) == (socket.SOL_SOCKET, SCM_TIMESTAMPNS):
                seconds, nanoseconds = TIMESPEC.unpack(stamp)
                return self._received(client, data), seconds * 1_000_000_000 + nanoseconds
        return self._received(client, data), None

    def _received(self, client: Client, data: bytes) -> bytes:
        """Return the plaintext that ``data``, just read from the socket, brings (TLS or not)."""
        if not data:
            raise LoadError(f"{client.name}: the server closed the connection (evicted?)")
        tls = client.tls
        if tls is not None:  # over TLS: the plaintext these records complete
            handshaking = not tls.ready
            data = tls.receive(data)
            if handshaking and tls.wire:  # its next flight, and the lines sent meanwhile
                self._send(client, b"")
        return data

    def _read_into_inbox(self, client: Client, *, keep: bool = True) -> bytes:
        data = self._recv(client)
        if keep:
            client.inbox += data
        return data


def percentile(samples: list[int], fraction: float) -> float:
    """Return the ``fraction`` percentile of ``samples`` (ns), in milliseconds."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1e6
