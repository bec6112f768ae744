"""The server's Prometheus metrics, served at ``/metrics`` by the web front end.

Two kinds. What only the shell sees as it happens (a turn's duration, a flood delay, an
accepted connection) is counted with prometheus-client's own metrics, whose labelled children
are made once and kept (``labels()`` costs a microsecond, ``inc()`` a quarter). Everything
else is read at scrape time by a collector, from counts the hub and the mailboxes keep as
plain integers (:class:`~trio_chat.core.hub.HubStats`, :class:`~trio_chat.shell.mailbox.Meter`)
and from the state itself (members, rooms, open connections): the fan-out path pays for no
metric at all beyond an integer addition.

Every metric is registered in this server's own registry, not prometheus-client's global one,
so several servers in one process (the tests) never mix their figures.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from trio_chat.shell.heap import TrimStats
from trio_chat.shell.mailbox import Meter

if TYPE_CHECKING:
    from trio_chat.core.hub import Hub
    from trio_chat.shell.backplane import Backplane
    from trio_chat.shell.credentials import Authenticator

# A turn is usually tens of microseconds; a join storm's, milliseconds.
TURN_BUCKETS = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)


class Metrics:
    """One server's metrics, and what ``/healthz`` says (see the module docstring)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.meter = Meter()  # shared by every mailbox of the server
        self.trims = TrimStats()  # what giving the heap's free memory back did (shell/heap.py)
        self.turn_seconds = Histogram(
            "trio_chat_turn_seconds",
            "Time the hub took for one turn (applying requests, then delivering)",
            buckets=TURN_BUCKETS,
            registry=self.registry,
        )
        self.flood_delays = Counter(
            "trio_chat_flood_delays",
            "Inputs held back by flood control (fakelag)",
            registry=self.registry,
        )
        self.flood_delay_seconds = Counter(
            "trio_chat_flood_delay_seconds",
            "Time inputs were held back by flood control",
            registry=self.registry,
        )
        self._accepted = Counter(
            "trio_chat_connections_accepted",
            "Connections accepted, by front end",
            ["front_end"],
            registry=self.registry,
        )
        self._accepted_by: dict[str, Counter] = {}
        self._websockets = Counter(
            "trio_chat_websockets_opened",
            "WebSockets accepted on the web port, by what they speak (json, or IRC's subprotocol)",
            ["protocol"],
            registry=self.registry,
        )
        self.open_connections: collections.Counter[str] = collections.Counter()  # by front end
        self.serving = False  # from startup until shutdown begins
        self._hub: Hub | None = None
        self.backplane: Backplane | None = None  # with --backplane: read at scrape time too
        self.authenticator: Authenticator | None = None  # its counts, read at scrape time
        self.registry.register(_StateCollector(self))

    def watch(self, hub: Hub) -> None:
        """Read ``hub``'s state and counts at scrape time, and say the server is serving."""
        self._hub = hub
        self.serving = True

    def connected(self, front_end: str) -> None:
        """Count a connection accepted on a listener of ``front_end``."""
        child = self._accepted_by.get(front_end)
        if child is None:
            child = self._accepted_by[front_end] = self._accepted.labels(front_end)
        child.inc()
        self.open_connections[front_end] += 1

    def websocket_opened(self, subprotocol: str) -> None:
        """Count a WebSocket accepted, by what it speaks ("json", or an IRC subprotocol)."""
        self._websockets.labels(subprotocol).inc()  # once per WebSocket: labels() is cheap enough

    def disconnected(self, front_end: str) -> None:
        """Count a connection of ``front_end`` closed."""
        self.open_connections[front_end] -= 1

    def flood_delayed(self, seconds: float) -> None:
        """Count an input held back ``seconds`` by flood control."""
        self.flood_delays.inc()
        self.flood_delay_seconds.inc(seconds)

    def healthy(self) -> bool:
        """Say whether the server is serving (False before startup and once shutdown began)."""
        return self.serving

    def exposition(self) -> tuple[bytes, str]:
        """Return every metric in Prometheus' text format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    @property
    def hub(self) -> Hub | None:
        """The hub being watched, if the server has started."""
        return self._hub


class _StateCollector(Collector):
    """Read at scrape time: the hub's state and counts, the mailboxes' meter, the connections."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        metrics, hub = self._metrics, self._metrics.hub
        connections = GaugeMetricFamily(
            "trio_chat_connections", "Open connections, by front end", labels=["front_end"]
        )
        for front_end, count in sorted(metrics.open_connections.items()):
            connections.add_metric([front_end], count)
        yield connections
        meter = metrics.meter
        yield CounterMetricFamily(
            "trio_chat_sent_bytes", "Bytes written to clients", value=meter.bytes_sent
        )
        yield GaugeMetricFamily(
            "trio_chat_mailbox_high_water_deliveries",
            "The most deliveries that waited in one member's mailbox",
            value=meter.most_queued,
        )
        yield GaugeMetricFamily(
            "trio_chat_mailbox_high_water_bytes",
            "The most bytes that waited in one member's mailbox",
            value=meter.most_bytes,
        )
        yield from _trim_metrics(metrics.trims)
        if hub is None:
            return
        stats = hub.stats
        yield GaugeMetricFamily("trio_chat_members", "Registered members", value=len(hub))
        yield GaugeMetricFamily("trio_chat_rooms", "Rooms (each has members)", value=hub.room_count)
        yield GaugeMetricFamily(
            "trio_chat_members_peak", "The most members there ever were at once", value=hub.peak
        )
        yield CounterMetricFamily(
            "trio_chat_registrations", "Nicknames accepted", value=stats.registrations
        )
        yield CounterMetricFamily(
            "trio_chat_messages",
            "Messages said or emoted in a room, or sent privately",
            value=stats.messages,
        )
        yield CounterMetricFamily(
            "trio_chat_deliveries",
            "Deliveries handed to members (one per member per turn at most)",
            value=stats.deliveries,
        )
        removals = CounterMetricFamily(
            "trio_chat_removals", "Members who left, by reason", labels=["reason"]
        )
        for reason, count in sorted(stats.removals.items(), key=lambda item: item[0].value):
            removals.add_metric([reason.value], count)
        yield removals
        refusals = CounterMetricFamily(
            "trio_chat_refusals", "Requests refused, by reason", labels=["reason"]
        )
        for why, count in sorted(stats.refusals.items(), key=lambda item: item[0].value):
            refusals.add_metric([why.value], count)
        yield refusals
        yield GaugeMetricFamily(
            "trio_chat_accounts", "Registered accounts", value=hub.account_count
        )
        yield CounterMetricFamily(
            "trio_chat_accounts_registered", "Accounts registered", value=stats.accounts
        )
        yield from _moderation_metrics(hub)
        if metrics.authenticator is not None:
            yield from _login_metrics(metrics.authenticator)
        if metrics.backplane is not None:
            yield from _backplane_metrics(metrics.backplane)


def _moderation_metrics(hub: Hub) -> Iterator[Metric]:
    stats = hub.stats
    yield CounterMetricFamily("trio_chat_kicks", "Members kicked out of a room", value=stats.kicks)
    yield CounterMetricFamily(
        "trio_chat_room_bans",
        "Masks added to rooms' ban lists (+b, mutes included)",
        value=stats.room_bans,
    )
    yield GaugeMetricFamily(
        "trio_chat_registered_rooms", "Registered rooms", value=hub.registered_room_count
    )
    yield GaugeMetricFamily(
        "trio_chat_server_bans",
        "Server bans in force (KLINE, DLINE)",
        value=hub.server_bans_in_force(time.time()),
    )


def _trim_metrics(trims: TrimStats) -> Iterator[Metric]:
    yield CounterMetricFamily(
        "trio_chat_heap_trims", "Times the heap's free memory was given back", value=trims.trims
    )
    yield CounterMetricFamily(
        "trio_chat_heap_trimmed_bytes",
        "Resident memory given back by trimming the heap",
        value=trims.released,
    )
    yield CounterMetricFamily(
        "trio_chat_heap_trim_seconds",
        "Time the event loop spent trimming the heap",
        value=trims.seconds,
    )


def _login_metrics(authenticator: Authenticator) -> Iterator[Metric]:
    logins = CounterMetricFamily(
        "trio_chat_logins", "Logins, by mechanism and outcome", labels=["mechanism", "outcome"]
    )
    for (mechanism, outcome), count in sorted(authenticator.logins.items()):
        logins.add_metric([mechanism, outcome], count)
    yield logins
    yield CounterMetricFamily(
        "trio_chat_attempts_throttled",
        "Logins and registrations refused by the throttle, before any password was checked",
        value=authenticator.throttled,
    )


def _backplane_metrics(backplane: Backplane) -> Iterator[Metric]:
    stats = backplane.stats
    yield GaugeMetricFamily(
        "trio_chat_backplane_available",
        "1 while Redis answers (the chat is available), 0 during an outage",
        value=int(backplane.available),
    )
    counters = (
        ("entries_read", "Entries of the shared log applied (each a batch of requests)"),
        ("entries_appended", "Entries appended to the shared log"),
        ("requests_appended", "Requests appended to the shared log"),
        ("requests_refused", "Requests refused because Redis was unavailable"),
        ("outages", "Times Redis became unavailable"),
        ("catch_ups", "States adopted after missing part of the log"),
    )
    for name, text in counters:
        yield CounterMetricFamily(f"trio_chat_backplane_{name}", text, value=getattr(stats, name))
