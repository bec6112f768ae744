"""The server's Prometheus metrics, served at ``/metrics`` by the web front end.

Two kinds. What only the shell sees as it happens (a turn's duration, a flood delay, an
accepted connection) is counted then, in plain numbers: a histogram's buckets, a count per
front end. Everything else is read at scrape time, from counts the hub and the mailboxes keep
as plain integers (:class:`~trio_chat.core.hub.HubStats`, :class:`~trio_chat.shell.mailbox.Meter`)
and from the state itself (members, rooms, open connections): the fan-out path pays for no
metric at all beyond an integer addition.

Written in Prometheus' text format (version 0.0.4) here rather than by prometheus-client:
importing any part of it imports all of it, its HTTP servers, ``urllib.request`` and ``gzip``
among them, 1.4 MB of an idle server's memory for a format of a few lines. The tests read what
is written here with prometheus-client's own parser.

Each server has a :class:`Metrics` of its own, so several servers in one process (the tests)
never mix their figures.
"""

from __future__ import annotations

import bisect
import collections
import math
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from trio_chat.shell.heap import TrimStats
from trio_chat.shell.mailbox import Meter

if TYPE_CHECKING:
    from trio_chat.core.hub import Hub
    from trio_chat.shell.backplane import Backplane
    from trio_chat.shell.credentials import Authenticator

# A turn is usually tens of microseconds; a join storm's, milliseconds.
TURN_BUCKETS = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # Prometheus' text format


class Histogram:
    """Observations counted in buckets (each: those at most its bound), with their sum."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(sorted(bounds))
        self.counts = [0] * len(self.bounds)  # per bucket, not cumulative (the text adds them up)
        self.count = 0  # every observation, those above the last bound too
        self.sum = 0.0

    def observe(self, value: float) -> None:
        """Count ``value``."""
        index = bisect.bisect_left(self.bounds, value)  # the first bound >= value
        if index < len(self.counts):
            self.counts[index] += 1
        self.count += 1
        self.sum += value


class Metrics:
    """One server's metrics, and what ``/healthz`` says (see the module docstring)."""

    def __init__(self) -> None:
        self.meter = Meter()  # shared by every mailbox of the server
        self.trims = TrimStats()  # what giving the heap's free memory back did (shell/heap.py)
        self.turn_seconds = Histogram(TURN_BUCKETS)  # how long the hub's turns took
        self.flood_delays = 0  # inputs held back by flood control
        self.flood_delay_seconds = 0.0  # and for how long in all
        self.accepted: collections.Counter[str] = collections.Counter()  # by front end
        self.websockets: collections.Counter[str] = collections.Counter()  # by what they speak
        self.open_connections: collections.Counter[str] = collections.Counter()  # by front end
        self.serving = False  # from startup until shutdown begins
        self._hub: Hub | None = None
        self.backplane: Backplane | None = None  # with --backplane: read at scrape time too
        self.authenticator: Authenticator | None = None  # its counts, read at scrape time

    def watch(self, hub: Hub) -> None:
        """Read ``hub``'s state and counts at scrape time, and say the server is serving."""
        self._hub = hub
        self.serving = True

    def connected(self, front_end: str) -> None:
        """Count a connection accepted on a listener of ``front_end``."""
        self.accepted[front_end] += 1
        self.open_connections[front_end] += 1

    def websocket_opened(self, subprotocol: str) -> None:
        """Count a WebSocket accepted, by what it speaks ("json", or an IRC subprotocol)."""
        self.websockets[subprotocol] += 1

    def disconnected(self, front_end: str) -> None:
        """Count a connection of ``front_end`` closed."""
        self.open_connections[front_end] -= 1

    def flood_delayed(self, seconds: float) -> None:
        """Count an input held back ``seconds`` by flood control."""
        self.flood_delays += 1
        self.flood_delay_seconds += seconds

    def healthy(self) -> bool:
        """Say whether the server is serving (False before startup and once shutdown began)."""
        return self.serving

    def exposition(self) -> tuple[bytes, str]:
        """Return every metric in Prometheus' text format, and its content type."""
        text = Exposition()
        _shell_metrics(text, self)
        hub = self._hub
        if hub is not None:
            _hub_metrics(text, hub)
            _moderation_metrics(text, hub)
        if self.authenticator is not None:
            _login_metrics(text, self.authenticator)
        if self.backplane is not None:
            _backplane_metrics(text, self.backplane)
        return text.encode(), CONTENT_TYPE

    @property
    def hub(self) -> Hub | None:
        """The hub being watched, if the server has started."""
        return self._hub


Labelled = Iterable[tuple[tuple[str, ...], float]]  # label values, and the figure for them


class Exposition:
    """Prometheus' text format (version 0.0.4), written family by family."""

    def __init__(self) -> None:
        self._lines: list[str] = []

    def counter(self, name: str, text: str, value: float) -> None:
        """Write a counter (named ``name_total``)."""
        self.labelled(name, "counter", text, (), [((), value)])

    def gauge(self, name: str, text: str, value: float) -> None:
        """Write a gauge."""
        self.labelled(name, "gauge", text, (), [((), value)])

    def labelled(
        self, name: str, kind: str, text: str, labels: tuple[str, ...], samples: Labelled
    ) -> None:
        """Write a counter or gauge family: one sample per tuple of ``labels``' values.

        A counter's family is named ``name_total`` in this format, as its samples are.
        """
        family = f"{name}_total" if kind == "counter" else name
        self._head(family, kind, text)
        for values, value in samples:
            self._sample(family, zip(labels, values, strict=True), value)

    def histogram(self, name: str, text: str, histogram: Histogram) -> None:
        """Write ``histogram``: cumulative buckets, then the count and the sum."""
        self._head(name, "histogram", text)
        below = 0
        for bound, count in zip(histogram.bounds, histogram.counts, strict=True):
            below += count
            self._sample(f"{name}_bucket", [("le", _number(bound))], below)
        self._sample(f"{name}_bucket", [("le", "+Inf")], histogram.count)
        self._sample(f"{name}_count", [], histogram.count)
        self._sample(f"{name}_sum", [], histogram.sum)

    def encode(self) -> bytes:
        """Return what was written, as the body of a scrape."""
        return "".join(f"{line}\n" for line in self._lines).encode()

    def _head(self, name: str, kind: str, text: str) -> None:
        escaped = text.replace("\\", "\\\\").replace("\n", "\\n")
        self._lines += [f"# HELP {name} {escaped}", f"# TYPE {name} {kind}"]

    def _sample(self, name: str, labels: Iterable[tuple[str, str]], value: float) -> None:
        pairs = ",".join(f'{label}="{_label_value(value)}"' for label, value in labels)
        self._lines.append(
            f"{name}{{{pairs}}} {_number(value)}" if pairs else f"{name} {_number(value)}"
        )


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))  # NaN is "nan", as Prometheus reads it too


def _shell_metrics(text: Exposition, metrics: Metrics) -> None:
    text.histogram(
        "trio_chat_turn_seconds",
        "Time the hub took for one turn (applying requests, then delivering)",
        metrics.turn_seconds,
    )
    text.counter(
        "trio_chat_flood_delays",
        "Inputs held back by flood control (fakelag)",
        metrics.flood_delays,
    )
    text.counter(
        "trio_chat_flood_delay_seconds",
        "Time inputs were held back by flood control",
        metrics.flood_delay_seconds,
    )
    text.labelled(
        "trio_chat_connections_accepted",
        "counter",
        "Connections accepted, by front end",
        ("front_end",),
        (((front_end,), count) for front_end, count in sorted(metrics.accepted.items())),
    )
    text.labelled(
        "trio_chat_websockets_opened",
        "counter",
        "WebSockets accepted on the web port, by what they speak (json, or IRC's subprotocol)",
        ("protocol",),
        (((protocol,), count) for protocol, count in sorted(metrics.websockets.items())),
    )
    text.labelled(
        "trio_chat_connections",
        "gauge",
        "Open connections, by front end",
        ("front_end",),
        (((front_end,), count) for front_end, count in sorted(metrics.open_connections.items())),
    )
    meter = metrics.meter
    text.counter("trio_chat_sent_bytes", "Bytes written to clients", meter.bytes_sent)
    text.gauge(
        "trio_chat_mailbox_high_water_deliveries",
        "The most deliveries that waited in one member's mailbox",
        meter.most_queued,
    )
    text.gauge(
        "trio_chat_mailbox_high_water_bytes",
        "The most bytes that waited in one member's mailbox",
        meter.most_bytes,
    )
    trims = metrics.trims
    text.counter("trio_chat_heap_trims", "Times the heap's free memory was given back", trims.trims)
    text.counter(
        "trio_chat_heap_trimmed_bytes",
        "Resident memory given back by trimming the heap",
        trims.released,
    )
    text.counter(
        "trio_chat_heap_trim_seconds", "Time the event loop spent trimming the heap", trims.seconds
    )


def _hub_metrics(text: Exposition, hub: Hub) -> None:
    stats = hub.stats
    text.gauge("trio_chat_members", "Registered members", len(hub))
    text.gauge("trio_chat_rooms", "Rooms (each has members)", hub.room_count)
    text.gauge("trio_chat_members_peak", "The most members there ever were at once", hub.peak)
    text.counter("trio_chat_registrations", "Nicknames accepted", stats.registrations)
    text.counter(
        "trio_chat_messages", "Messages said or emoted in a room, or sent privately", stats.messages
    )
    text.counter(
        "trio_chat_deliveries",
        "Deliveries handed to members (one per member per turn at most)",
        stats.deliveries,
    )
    text.labelled(
        "trio_chat_removals",
        "counter",
        "Members who left, by reason",
        ("reason",),
        (
            ((reason.value,), count)
            for reason, count in sorted(stats.removals.items(), key=lambda item: item[0].value)
        ),
    )
    text.labelled(
        "trio_chat_refusals",
        "counter",
        "Requests refused, by reason",
        ("reason",),
        (
            ((why.value,), count)
            for why, count in sorted(stats.refusals.items(), key=lambda item: item[0].value)
        ),
    )
    text.gauge("trio_chat_accounts", "Registered accounts", hub.account_count)
    text.counter("trio_chat_accounts_registered", "Accounts registered", stats.accounts)


def _moderation_metrics(text: Exposition, hub: Hub) -> None:
    stats = hub.stats
    text.counter("trio_chat_kicks", "Members kicked out of a room", stats.kicks)
    text.counter(
        "trio_chat_room_bans",
        "Masks added to rooms' ban lists (+b, mutes included)",
        stats.room_bans,
    )
    text.gauge("trio_chat_registered_rooms", "Registered rooms", hub.registered_room_count)
    text.gauge(
        "trio_chat_server_bans",
        "Server bans in force (KLINE, DLINE)",
        hub.server_bans_in_force(time.time()),
    )


def _login_metrics(text: Exposition, authenticator: Authenticator) -> None:
    text.labelled(
        "trio_chat_logins",
        "counter",
        "Logins, by mechanism and outcome",
        ("mechanism", "outcome"),
        sorted(authenticator.logins.items()),
    )
    text.counter(
        "trio_chat_attempts_throttled",
        "Logins and registrations refused by the throttle, before any password was checked",
        authenticator.throttled,
    )


def _backplane_metrics(text: Exposition, backplane: Backplane) -> None:
    stats = backplane.stats
    text.gauge(
        "trio_chat_backplane_available",
        "1 while Redis answers (the chat is available), 0 during an outage",
        int(backplane.available),
    )
    counters = (
        ("entries_read", "Entries of the shared log applied (each a batch of requests)"),
        ("entries_appended", "Entries appended to the shared log"),
        ("requests_appended", "Requests appended to the shared log"),
        ("requests_refused", "Requests refused because Redis was unavailable"),
        ("outages", "Times Redis became unavailable"),
        ("catch_ups", "States adopted after missing part of the log"),
    )
    for name, about in counters:
        text.counter(f"trio_chat_backplane_{name}", about, getattr(stats, name))
