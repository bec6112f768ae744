"""A smoke run of the benchmarks at tiny sizes, so that their code never rots.

It checks that each scenario runs against both servers and that the checks inside the load
generator pass (a lost or reordered message would make a run fail). The figures themselves mean
nothing at these sizes; the real benchmark is ``nox -s bench``.
"""

from __future__ import annotations

import pytest

import benchmarks.__main__ as bench
from benchmarks.__main__ import (
    NOT_MEASURED,
    PEERS,
    SERVERS,
    Server,
    parse_scenario,
    peer_path,
    run_once,
    running,
    table,
)
from benchmarks.load import Load

# The peers (ngIRCd, InspIRCd) are optional: the benchmark runs without them, and so does this.
INSTALLED = [kind for kind in SERVERS if kind not in PEERS or peer_path(kind)]


@pytest.fixture
def _memory_settles_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny runs need not wait seconds for the memory to hold still."""
    monkeypatch.setattr(bench, "RSS_SETTLED", 0.3)


@pytest.mark.usefixtures("_memory_settles_quickly")
@pytest.mark.parametrize("server_kind", INSTALLED)
@pytest.mark.parametrize("scenario", ["fanout-6x3x20", "connect-30"])
def test_a_tiny_run_succeeds(scenario: str, server_kind: str) -> None:
    if parse_scenario(scenario)[0] in NOT_MEASURED.get(server_kind, ()):
        return  # the benchmark does not run it either
    with running(server_kind) as server:
        result = run_once(scenario, server)
    assert result["ok"], result.get("error")
    metric = "deliveries_per_s" if scenario.startswith("fanout") else "connections_per_s"
    assert float(result[metric]) > 0  # type: ignore[arg-type]


def test_a_tiny_soak_checks_every_stream_while_members_come_and_go() -> None:
    # Two seconds of the soak (benchmarks/soak.py): talk, joins, quits and dropped
    # connections, every member's stream compared with the room's (tests/test_benchmark_soak.py
    # tests those checks on wrong streams).
    with running("trio-chat") as server:
        result = run_once("soak-30", server, soak_seconds=2)
    assert result["ok"], result.get("error")
    assert result["joins"]
    assert result["quits"]
    assert result["drops"]
    assert int(result["deliveries_checked"]) > int(result["messages"])  # type: ignore[call-overload]


@pytest.mark.parametrize("server_kind", ["trio-chat", "trio-chat-irc", "trio-chat-tls"])
def test_a_paced_run_times_each_delivery_as_read_and_as_the_kernel_received_it(
    server_kind: str,
) -> None:
    with running(server_kind) as server:
        load = Load("127.0.0.1", server.ports[0], server.protocol, tls=server.tls)
        try:
            load.register(6)
            load.wait_for_join_notices()
            read, arrived = load.paced(senders=2, rate=200, duration=0.2)
        finally:
            load.close()
    receivers = 6 if server.protocol == "plain" else 5  # IRC: a sender gets the other's only
    assert len(read) == len(arrived) == 40 * receivers
    # Both clocks agree: the kernel received each line after it was sent (within a second)
    # and no later than this process read it.
    pairs = list(zip(read, arrived, strict=True))
    assert all(0 < when_arrived <= when_read < 1e9 for when_read, when_arrived in pairs)
    # What the kernel did not stamp (just after timestamps were asked for, on a busy machine)
    # is timed as read; the rest is the kernel's, which is earlier.
    assert load.unstamped < len(pairs)
    assert any(when_arrived < when_read for when_read, when_arrived in pairs)


def test_the_table_shows_medians_and_the_ratio() -> None:
    runs = [
        {"scenario": "connect-30", "server": "trio-chat", "ok": True, "connections_per_s": value}
        for value in (300.0, 100.0, 200.0)
    ] + [{"scenario": "connect-30", "server": "baseline", "ok": True, "connections_per_s": 100.0}]
    runs.append({"scenario": "connect-30", "server": "baseline", "ok": False, "error": "x"})
    row = table(runs).splitlines()[2]
    assert row.startswith("| connect-30 | connections/s | 200.0 (100.0")
    assert "**1 failed**" in row
    assert row.endswith("| 2.00 |")


def test_the_table_compares_tls_with_the_same_front_end_without() -> None:
    runs = [
        {"scenario": "connect-30", "server": server, "ok": True, "connections_per_s": value}
        for server, value in (("trio-chat", 300.0), ("trio-chat-tls", 150.0))
    ]
    header, _, row, *_ = table(runs).splitlines()
    # Both took part: their own pair, and not an empty baseline column beside trio-chat.
    assert header == ("| scenario | metric | trio-chat-tls | trio-chat | trio-chat-tls/trio-chat |")
    assert row.endswith("| 0.50 |")


def test_the_table_compares_the_irc_front_end_with_each_peer() -> None:
    runs = [
        {"scenario": "fanout-6x3x20", "server": server, "ok": True, "deliveries_per_s": value}
        for server, value in (("trio-chat-irc", 300.0), ("ngircd", 200.0), ("inspircd", 600.0))
    ]
    header, _, row, *_ = table(runs).splitlines()
    assert header == (
        "| scenario | metric | trio-chat-irc | ngircd | trio-chat-irc/ngircd"
        " | trio-chat-irc | inspircd | trio-chat-irc/inspircd |"
    )
    assert row.endswith(
        " | 1.50 | 300.0 (300.0\N{EN DASH}300.0) | 600.0 (600.0\N{EN DASH}600.0) | 0.50 |"
    )


def test_scenario_names() -> None:
    assert parse_scenario("fanout-500x50x200") == ("fanout", [500, 50, 200])
    assert parse_scenario("fanout-500\N{MULTIPLICATION SIGN}50\N{MULTIPLICATION SIGN}200") == (
        "fanout",
        [500, 50, 200],
    )
    assert parse_scenario("connect-5000") == ("connect", [5000])
    with pytest.raises(SystemExit):
        parse_scenario("fanout-1x2")


class FakeClock:
    """Stands for the time module in the benchmark: sleeping moves it on at once."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_memory_is_read_once_it_has_held_still(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(bench, "time", clock)

    class Trimming(Server):
        def rss_kib(self) -> int:
            return 50_000 if clock.now < 2 else 45_000  # the server trims its heap at 2 s

    server = Trimming("trio-chat", (1,), (1,), "plain")
    assert server.settled_rss_kib() == 45_000
    assert 2 + bench.RSS_SETTLED <= clock.now < 2.2 + bench.RSS_SETTLED


def test_memory_that_never_holds_still_is_read_after_a_bounded_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(bench, "time", clock)

    class Growing(Server):
        def rss_kib(self) -> int:
            return 50_000 + int(clock.now * 10_000)

    assert Growing("trio-chat", (1,), (1,), "plain").settled_rss_kib() > 50_000
    assert bench.RSS_WAIT <= clock.now < bench.RSS_WAIT + 0.2
