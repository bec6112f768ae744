"""The big-room soak: 10,000 members chatting for minutes while members come and go.

``python -m benchmarks soak-10000`` (``nox -s soak10k``): everyone registers in the one room,
then for ``--soak-seconds`` (5 minutes by default) a set of talkers keeps up a steady chat while
newcomers join and members leave, a few a second; the server's memory and CPU are sampled
throughout. Only trio-chat's plain protocol is spoken: the checks read its lines.

How every member's stream is checked, cheaply enough for one load-generator process:

- Every member sees the room's events in one order, so the bytes a member receives while it is
  in the room are exactly a slice of what a member present throughout receives: the same
  messages, notices and echoes, rendered the same way for everyone over the plain protocol.
  One such member, the *reference*, defines the room's order (:class:`RoomOrder`); the join
  and leave notices in it say where each other member's slice starts (just after ``* NAME
  joined``) and ends (at ``* NAME left (...)``).
- Each member's received bytes are compared with the reference's, as far as both have
  complete lines, about once a second, and then dropped (:class:`MemberStream`): a slice
  comparison per member, at C speed, so the load generator keeps only the last second of each
  member's stream. A gap, a duplicate, a reordering, a line meant for someone else or a line
  after leaving shows as a difference at that line.
- The reference's own lines are parsed as they come (a few dozen a second): each talker's
  sequence numbers must follow on without a gap, and at the end every message sent must be in
  it. So a member whose slice matches received every message of its time in the room, in the
  room's order, once.
- A member that leaves with ``/quit`` must have received its slice to the end, then ``* bye``
  and the end of the stream. A member that just drops its connection (as a phone losing its
  signal does) must have received a prefix of its slice. A member still in the room at the end
  must have received everything, up to a last message sent after the churn stops.
- The server closing the connection of a member that did not leave is a failure: nobody here
  reads slowly, so nobody may be evicted.
"""

from __future__ import annotations

import contextlib
import enum
import os
import queue
import random
import selectors
import socket
import threading
import time
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from benchmarks.load import PROMPT, RECV_BYTES, Client, Load, LoadError, now_ns, percentile

# A steady chat in a very big room: 10 messages/s is a busy live event's chat (the busiest IRC
# channels see well under one a second; a popular stream's chat of 10,000 viewers, tens), and
# it is 100,000 deliveries/s at 10,000 members, the fan-out doing real work all the time.
TALK_RATE = 10.0  # messages per second into the room, spread over the talkers in turn
TALKERS = 20  # members that talk (the first ones registered); the rest only read
CHURN_RATE = 2.0  # members joining per second, and as many leaving (a few a second)
CHECK_SECONDS = 1.0  # how often members' streams are compared with the room's (and dropped)
SAMPLE_SECONDS = 5.0  # how often the server's memory and CPU are sampled
WARM_UP_SECONDS = 60.0  # memory samples before this much time are left out of the slope
FINISH_SECONDS = 120.0  # after the churn stops, how long everyone gets to catch up
SEED = 24  # which members leave, and when: the same in every run

BYE = b"* bye\n"  # the last line a member that quits receives
# Lines a newcomer receives before its slice of the room begins: the prompt, its welcome with
# the roster (continued over several lines in a big room) and what was said before it came.
HEADER_STARTS = (PROMPT[:-1], b"* welcome, ", b"*   ", b"~ ")


class Ending(enum.Enum):
    """How a member's time in the room ends, which says how much of its slice it must have."""

    STAYS = "stays"  # in the room at the end: everything from its join to the last message
    QUIT = "quit"  # sent /quit: its whole slice, then "* bye", then the end of the stream
    DROPPED = "dropped"  # closed its connection: a prefix of its slice


@dataclass
class RoomOrder:
    """The room's order of events: what the reference member received, in full.

    Its lines are parsed as they complete: where each member's slice starts and ends, and each
    talker's sequence numbers, which must follow on from 0 without a gap.
    """

    data: bytearray = field(default_factory=bytearray)
    joined: dict[bytes, int] = field(default_factory=dict)  # name: offset after its join
    left: dict[bytes, int] = field(default_factory=dict)  # name: offset of its leave notice
    heard: dict[int, int] = field(default_factory=dict)  # talker: messages of it so far
    messages: list[int] = field(default_factory=list)  # the offset of every message line
    latencies: list[int] = field(default_factory=list)  # ns from send to arrival, per message
    parsed: int = 0  # how much of data has been parsed (complete lines only)

    def add(self, chunk: bytes, *, received: int = 0) -> None:
        """Take the reference's next bytes (``received``: when they arrived, in ns)."""
        self.data += chunk
        end = self.data.rfind(b"\n") + 1
        offset = self.parsed
        for line in bytes(self.data[self.parsed : end]).split(b"\n")[:-1]:
            self._parse(line, offset, received)
            offset += len(line) + 1
        self.parsed = offset

    def _parse(self, line: bytes, offset: int, received: int) -> None:
        if line.startswith(b"<"):  # "<c3> 3 17 1733224000000000000": talker, sequence, stamp
            fields = line.split(b" ")
            if len(fields) != 4:
                raise LoadError(f"the room: not a soak message: {line[:100]!r}")
            talker, seq, stamp = int(fields[1]), int(fields[2]), int(fields[3])
            expected = self.heard.get(talker, 0)
            if seq != expected:
                raise LoadError(f"the room: talker {talker} said {seq}, expected {expected}")
            self.heard[talker] = seq + 1
            self.messages.append(offset)
            if received:
                self.latencies.append(received - stamp)
        elif line.startswith(b"* ") and line.endswith(b" joined"):
            name = line[2 : -len(b" joined")]
            if name in self.joined:
                raise LoadError(f"the room: {name.decode()} joined twice")
            self.joined[name] = offset + len(line) + 1
        elif line.startswith(b"* ") and b" left (" in line:
            name = line[2 : line.index(b" left (")]
            if name in self.left:
                raise LoadError(f"the room: {name.decode()} left twice")
            self.left[name] = offset
        else:
            raise LoadError(f"the room: unexpected line {line[:100]!r}")

    def check_complete(self, sent: Sequence[int]) -> None:
        """Every message each talker sent (``sent[talker]`` of them) is in the room's order."""
        for talker, count in enumerate(sent):
            if self.heard.get(talker, 0) != count:
                heard = self.heard.get(talker, 0)
                raise LoadError(f"the room: talker {talker} sent {count}, the room has {heard}")

    def messages_between(self, start: int, end: int) -> int:
        """How many message lines start in ``data[start:end]``."""
        return bisect_left(self.messages, end) - bisect_left(self.messages, start)


@dataclass(eq=False)
class MemberStream:
    """One member's received bytes, checked against the room's order as they come.

    A member registered before the soak starts at offset 0 of the room's order; a newcomer at
    its join notice, once the reference has received it, after skipping its own header (the
    welcome, the roster, the history).
    """

    name: bytes
    start: int | None = None  # where its slice starts in the room's order, once known
    newcomer: bool = False  # its header (welcome, roster, history) is still to be skipped
    ending: Ending = Ending.STAYS
    ended: bool = False  # its stream is over: the server closed it after /quit, or it dropped
    checked: int = 0  # bytes of its slice found equal to the room's
    pending: bytearray = field(default_factory=bytearray)  # received, not yet checked

    @property
    def live(self) -> bool:
        """Whether its slice has begun: header skipped and its join seen by the reference."""
        return not self.newcomer and self.start is not None

    def caught_up(self, room: RoomOrder) -> bool:
        """Whether it has all of the room's order so far that it is to have."""
        if self.ended:
            return True
        return self.live and self.start is not None and self.start + self.checked == len(room.data)

    def receive(self, data: bytes) -> None:
        """Keep ``data`` to be checked."""
        self.pending += data

    def check(self, room: RoomOrder) -> None:
        """Compare the complete lines received so far with the room's; drop those that match."""
        if self.newcomer and not self._skip_header():
            return
        if self.start is None:
            self.start = room.joined.get(self.name)
            if self.start is None:
                return  # the reference has not seen it join yet
        position = self.start + self.checked
        complete = self.pending.rfind(b"\n") + 1
        lines = self.pending[:complete]
        if self.ending is Ending.QUIT and (lines == BYE or lines.endswith(b"\n" + BYE)):
            complete -= len(BYE)  # its last line, not the room's: checked at the end
        size = min(complete, len(room.data) - position)
        if size <= 0:
            return
        if self.pending[:size] != room.data[position : position + size]:
            raise LoadError(self._difference(room, position, size))
        del self.pending[:size]
        self.checked += size
        end = room.left.get(self.name)
        if end is not None and position + size > end:
            raise LoadError(f"{self.name.decode()}: received lines after it left")

    def finish(self, room: RoomOrder) -> None:
        """Check that it received its whole slice (a prefix, if it dropped), and nothing more."""
        self.check(room)
        name = self.name.decode()
        if self.start is None:
            raise LoadError(f"{name}: never seen in the room")
        end = room.left.get(self.name)
        position = self.start + self.checked
        if self.ending is Ending.STAYS:
            if end is not None:
                raise LoadError(f"{name}: left the room, but never asked to")
            if self.pending or position != len(room.data):
                missing = len(room.data) - position - len(self.pending)
                raise LoadError(f"{name}: its stream stops {missing} bytes before the room's end")
        elif end is None:
            raise LoadError(f"{name}: never seen leaving the room")
        elif self.ending is Ending.QUIT:
            if not self.ended or self.pending != BYE or position != end:
                raise LoadError(f"{name}: after /quit, its stream does not end at its leave")
        elif position > end or not room.data.startswith(self.pending, position):
            raise LoadError(f"{name}: its stream is not a prefix of its slice of the room")

    def _skip_header(self) -> bool:
        """Drop the complete header lines; return whether the slice proper has begun."""
        while True:
            end = self.pending.find(b"\n")
            if end < 0:
                return False
            if not self.pending.startswith(HEADER_STARTS):
                self.newcomer = False
                return True
            del self.pending[: end + 1]

    def _difference(self, room: RoomOrder, position: int, size: int) -> str:
        """Say which line differs from the room's, and what the room has there."""
        mine = bytes(self.pending[:size])
        theirs = bytes(room.data[position : position + size])
        index = next(i for i, (a, b) in enumerate(zip(mine, theirs, strict=True)) if a != b)
        line = mine.rfind(b"\n", 0, index) + 1
        got = mine[line : mine.find(b"\n", index)]
        stop = room.data.find(b"\n", position + index)
        expected = bytes(room.data[position + line : stop if stop >= 0 else len(room.data)])
        shown = self.checked + line
        return (
            f"{self.name.decode()}: received {got[:100]!r} where the room has "
            f"{expected[:100]!r} ({shown} bytes into its slice)"
        )


def slope_per_minute(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute (0 with fewer than two)."""
    if len(points) < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / len(points)
    mean_v = sum(v for _, v in points) / len(points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if not spread:
        return 0.0
    return 60 * sum((t - mean_t) * (v - mean_v) for t, v in points) / spread


class ServerProbe(Protocol):
    """What the soak samples of the server (benchmarks.__main__.Server is one)."""

    def rss_kib(self) -> int:
        """Resident memory of the server's processes, in KiB."""

    def cpu_seconds(self) -> float:
        """CPU time the server's processes have used so far."""


@dataclass(frozen=True)
class Sample:
    """The server's memory and both processes' CPU, at one moment of the soak."""

    seconds: float  # since the soak began
    rss_kib: int
    server_cpu: float  # share of a core since the previous sample
    loadgen_cpu: float  # the same, for this process
    members: int  # in the room (registered and not gone)
    load_average: float  # the machine's, over the last minute (others' work shows here)


class SoakLoad(Load):
    """The load generator, with the soak's traffic: talk, churn, and every stream checked."""

    def soak(
        self,
        seconds: float,
        server: ServerProbe,
        *,
        rate: float = TALK_RATE,
        talkers: int = TALKERS,
        churn: float = CHURN_RATE,
    ) -> dict[str, object]:
        """Run the soak on the clients registered so far; return its figures.

        Raises LoadError at the first wrong stream, eviction or timeout.
        """
        if self.irc or self.tls is not None:
            raise ValueError("the soak speaks the plain protocol only, over plain TCP")
        talkers = min(talkers, len(self.clients) // 2)  # (tiny runs)
        reference = self.clients[talkers]
        self._room = RoomOrder()
        self._streams = {c: MemberStream(c.name.encode(), start=0) for c in self.clients}
        self._named: set[Client] = set()  # newcomers that have answered the prompt
        del self._streams[reference]
        self._align(reference)
        with self._reading_aside(reference):
            return self._soak(seconds, server, rate, talkers, churn)

    def _soak(
        self, seconds: float, server: ServerProbe, rate: float, talkers: int, churn: float
    ) -> dict[str, object]:
        rng = random.Random(SEED)
        # Who may leave: readers in the room from the start, then newcomers once in.
        leavers = self.clients[talkers + 1 :]
        arriving: list[Client] = []
        sent = [0] * talkers  # messages each talker has sent
        said = joins = quits = drops = 0
        samples: list[Sample] = []
        started = time.monotonic()
        cpu_at, server_at, sampled_at = time.process_time(), server.cpu_seconds(), started
        next_check, next_sample = started + CHECK_SECONDS, started
        ends = started + seconds
        while True:
            now = time.monotonic()
            if now >= next_sample:
                cpu, server_cpu = time.process_time(), server.cpu_seconds()
                elapsed = max(now - sampled_at, 1e-3)  # (the first sample covers no time)
                members = len(self._streams) + 1 - quits - drops - len(arriving)
                samples.append(
                    Sample(
                        now - started,
                        server.rss_kib(),
                        (server_cpu - server_at) / elapsed,
                        (cpu - cpu_at) / elapsed,
                        members,
                        os.getloadavg()[0],
                    )
                )
                cpu_at, server_at, sampled_at = cpu, server_cpu, now
                next_sample += SAMPLE_SECONDS
            if now >= ends:
                break
            due = now - started
            while said < due * rate:  # the next message, from the next talker in turn
                talker = said % talkers
                self._send(self.clients[talker], b"%d %d %d\n" % (talker, sent[talker], now_ns()))
                sent[talker] += 1
                said += 1
            while joins < due * churn:
                newcomer = self._connect(f"c{len(self.clients)}")
                self._streams[newcomer] = MemberStream(newcomer.name.encode(), newcomer=True)
                arriving.append(newcomer)
                joins += 1
            while quits + drops < due * churn and leavers:
                # Half of them say goodbye, half just go (every other leaver).
                leaver = leavers.pop(rng.randrange(len(leavers)))
                if (quits + drops) % 2:
                    self._drop(leaver)
                    drops += 1
                else:
                    self._streams[leaver].ending = Ending.QUIT
                    self._send(leaver, b"/quit\n")
                    quits += 1
            if now >= next_check:
                self._check_all()
                leavers += [c for c in arriving if self._streams[c].live]
                arriving = [c for c in arriving if not self._streams[c].live]
                next_check += CHECK_SECONDS
            soonest = min(started + (said + 1) / rate, next_check, next_sample, ends)
            self._read(max(soonest - time.monotonic(), 0))
        # The churn stops; a last message, which everyone in the room must receive.
        self._send(self.clients[0], b"%d %d %d\n" % (0, sent[0], now_ns()))
        sent[0] += 1
        self._finish(sum(sent), time.monotonic() + FINISH_SECONDS)
        for stream in self._streams.values():
            stream.finish(self._room)
        self._room.check_complete(sent)
        return self._figures(seconds, samples, sent, joins, quits, drops)

    def _figures(
        self,
        seconds: float,
        samples: Sequence[Sample],
        sent: Sequence[int],
        joins: int,
        quits: int,
        drops: int,
    ) -> dict[str, object]:
        room = self._room
        deliveries = len(room.messages)  # the reference's own
        for stream in self._streams.values():
            assert stream.start is not None  # (finish checked it)
            deliveries += room.messages_between(stream.start, stream.start + stream.checked)
        rss = [(s.seconds, s.rss_kib / 1024) for s in samples]
        warm = [(t, mib) for t, mib in rss if t >= min(WARM_UP_SECONDS, seconds / 5)]
        later = samples[1:] or samples  # the first sample covers no time
        return {
            "soak_seconds": seconds,
            "messages": sum(sent),
            "joins": joins,
            "quits": quits,
            "drops": drops,
            "members_end": 1 + sum(s.ending is Ending.STAYS for s in self._streams.values()),
            "deliveries_checked": deliveries,
            "rss_start_mib": rss[0][1],
            "rss_end_mib": rss[-1][1],
            "rss_max_mib": max(mib for _, mib in rss),
            "rss_slope_mib_per_min": slope_per_minute(warm),
            "p50_ms": percentile(room.latencies, 0.5),
            "p99_ms": percentile(room.latencies, 0.99),
            "max_ms": max(room.latencies, default=0) / 1e6,
            "server_cpu_max": max(s.server_cpu for s in later),
            "loadgen_cpu_max": max(s.loadgen_cpu for s in later),
            # seconds, server RSS KiB, server and load generator CPU shares, members, load
            "series": [
                [
                    round(s.seconds, 1),
                    s.rss_kib,
                    round(s.server_cpu, 3),
                    round(s.loadgen_cpu, 3),
                    s.members,
                    s.load_average,
                ]
                for s in samples
            ],
        }

    def _align(self, reference: Client, *, timeout: float = 120) -> None:
        """Start every stream at one point of the room's order: a line all must receive.

        Registration leaves each member's inbox at a different point (the join notices of a
        storm are still arriving); what a member receives after this line is its stream.
        """
        first = self.clients[0]
        marker = b"<%s> ready\n" % first.name.encode()
        self._send(first, b"ready\n")
        waiting = [c for c in self.clients if marker not in c.inbox]
        deadline = time.monotonic() + timeout
        while waiting:
            for key, _ in self.selector.select(timeout=1):
                self._read_into_inbox(key.data)
            waiting = [c for c in waiting if marker not in c.inbox]
            if time.monotonic() > deadline:
                raise LoadError(f"soak: {len(waiting)} members never received the first line")
        for client in self.clients:
            after = bytes(client.inbox[client.inbox.find(marker) + len(marker) :])
            client.inbox.clear()
            if client is reference:
                self._room.add(after)
            else:
                self._streams[client].receive(after)

    def _check_all(self) -> None:
        for stream in self._streams.values():
            stream.check(self._room)

    def _finish(self, total: int, deadline: float) -> None:
        """Read until everyone has caught up with the room's order, whose end is known."""
        while True:
            self._check_all()
            behind = [s for s in self._streams.values() if not s.caught_up(self._room)]
            if not behind and sum(self._room.heard.values()) == total:
                return
            if time.monotonic() > deadline:
                names = [s.name.decode() for s in behind[:10]]
                raise LoadError(f"soak: {len(behind)} members never caught up: {names}")
            self._read(CHECK_SECONDS)

    def _read(self, timeout: float) -> None:
        """Handle what the selector reports within ``timeout``: connections, data, ends."""
        ready = self.selector.select(timeout=timeout)
        while True:
            try:
                received, data = self._reference.get_nowait()
            except queue.Empty:
                break
            if not data:
                raise LoadError("the server closed the reference's connection")
            self._room.add(data, received=received)
        for key, events in ready:
            client: Client = key.data
            if events & selectors.EVENT_WRITE:  # a newcomer connected
                error = client.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if error:
                    raise LoadError(f"{client.name}: connect failed: {os.strerror(error)}")
                self.selector.modify(client.sock, selectors.EVENT_READ, client)
                continue
            try:
                data = client.sock.recv(RECV_BYTES)
            except BlockingIOError:
                continue
            except ConnectionError as error:
                raise LoadError(f"{client.name}: {error}") from error
            stream = self._streams[client]
            if data:
                if stream.newcomer and client not in self._named:  # the prompt: answer it
                    self._named.add(client)
                    self._send(client, client.name.encode() + b"\n")
                stream.receive(data)
            elif stream.ending is Ending.QUIT:
                stream.ended = True
                self.selector.unregister(client.sock)
                client.sock.close()
                client.closed = True
            else:
                raise LoadError(f"{client.name}: the server closed the connection of a reader")

    @contextlib.contextmanager
    def _reading_aside(self, reference: Client) -> Iterator[None]:
        """Read the reference in a thread of its own while the soak runs.

        So that its bytes are timed when they arrive (to within the interpreter's switch
        interval, 5 ms), not when this process is done with the other 10,000 sockets: the
        delivery latency it reports is then the server's, not the load generator's.
        """
        self._reference: queue.SimpleQueue[tuple[int, bytes]] = queue.SimpleQueue()
        stop = threading.Event()  # set when the soak is over
        self.selector.unregister(reference.sock)
        reference.sock.settimeout(0.2)  # how often the thread looks at ``stop``

        def read() -> None:
            while not stop.is_set():
                try:
                    data = reference.sock.recv(RECV_BYTES)
                except TimeoutError:
                    continue
                except OSError:
                    data = b""
                self._reference.put((now_ns(), data))
                if not data:
                    return

        # A thread, not the selector: see above. It only receives; the soak parses.
        reader = threading.Thread(target=read, name="reference", daemon=True)
        reader.start()
        try:
            yield
        finally:
            stop.set()
            reader.join()
            reference.sock.setblocking(False)
            self.selector.register(reference.sock, selectors.EVENT_READ, reference)

    def _drop(self, client: Client) -> None:
        """Close a member's connection without a word, as a lost network does."""
        self._streams[client].ending = Ending.DROPPED
        self._streams[client].ended = True
        self.selector.unregister(client.sock)
        client.sock.close()
        client.closed = True
