"""Run the benchmarks: ``python -m benchmarks [SCENARIO ...] [--repeat N]``; see docs/benchmarks.md.

Each scenario runs against trio-chat and against the thread-per-client baseline
(benchmarks/baseline.py), interleaved, ``--repeat`` times each, every run on a fresh server
process. The server is pinned to CPU 0 and this process (the load generator) to CPU 1, where
``os.sched_setaffinity`` exists. Results are appended to a JSON-lines file and printed as a
Markdown table with medians, min and max, and the trio-chat/baseline ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.load import Load, LoadError, percentile

SERVERS = ("trio-chat", "baseline")
DEFAULT_SCENARIOS = (
    "fanout-100x10x200",
    "fanout-500x5x100",
    "fanout-500x50x200",
    "latency-rate",
    "connect-1000",
    "arrive-1000",
    "arrive-2000",
    "connect-5000",
    "connect-10000",
)
# The full default run must stay under 10 minutes. The baseline's join storms are quadratic
# in system calls (a sendall per notice per member): connect-5000 takes it about two minutes,
# so the largest scenarios run once, and connect-10000 (an absolute target: everyone
# registered and chatting, memory per connection) runs against trio-chat only.
DEFAULT_REPEAT_CAP = {"connect-5000": 1, "connect-10000": 1}
DEFAULT_SERVERS: dict[str, tuple[str, ...]] = {"connect-10000": ("trio-chat",)}
SERVER_CPU, LOAD_CPU = 0, 1
TIMES = "\N{MULTIPLICATION SIGN}"
DASH = "\N{EN DASH}"
# connect-N: a storm, up to 1,000 registering at once; arrive-N: users arriving the way they
# really do, a few at a time (at most 4 registering at once), each seeing the others join.
WINDOWS = {"connect": 1000, "arrive": 4}
LOADGEN_CPU_WARNING = 0.85  # above this share of a core, the load generator may be the limit


@dataclass(frozen=True)
class Server:
    """A server process under test."""

    kind: str
    pid: int
    port: int

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        """Resident memory of the server process, in KiB."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status)[1])  # type: ignore[index]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


@contextlib.contextmanager
def running(kind: str) -> Iterator[Server]:
    """Start a fresh server of ``kind`` on a free port; stop it afterwards."""
    port = _free_port()
    command = {
        "trio-chat": [
            *(sys.executable, "-m", "trio_chat", "server", "--port", str(port)),
            # Lift the limits meant for the open internet: load generators flood by design.
            *("--max-clients", "20000", "--log-level", "warning", "--flood-rate", "0"),
        ],
        "baseline": [sys.executable, "-m", "benchmarks.baseline", "--port", str(port)],
    }[kind]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, preexec_fn=lambda: _pin(SERVER_CPU)
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        yield Server(kind, process.pid, port)
    finally:
        process.kill()
        process.wait()


def parse_scenario(name: str) -> tuple[str, list[int]]:
    """Split ``fanout-500x50x200`` (or with multiplication signs) into its kind and sizes."""
    if name == "latency-rate":
        return "latency-rate", []
    kind, _, sizes = name.partition("-")
    numbers = [int(n) for n in re.split(f"[x{TIMES}]", sizes) if n.isdigit()]
    if (kind == "fanout" and len(numbers) == 3) or (kind in WINDOWS and len(numbers) == 1):
        return kind, numbers
    raise SystemExit(f"unknown scenario {name!r}")


def run_once(scenario: str, server: Server) -> dict[str, object]:
    """One measurement of ``scenario`` against ``server``."""
    kind, sizes = parse_scenario(scenario)
    load = Load("127.0.0.1", server.port)
    result: dict[str, object] = {}
    cpu_start, wall_start = time.process_time(), time.monotonic()
    server_cpu_start = server.cpu_seconds()
    try:
        if kind == "fanout":
            members, senders, messages = sizes
            load.register(members)
            load.wait_for_join_notices()
            cpu_start, wall_start = time.process_time(), time.monotonic()
            server_cpu_start = server.cpu_seconds()
            wall, latencies = load.fanout(senders, messages)
            result["deliveries_per_s"] = members * senders * messages / wall
            result |= _latency(latencies)
        elif kind == "latency-rate":
            load.register(100)
            load.wait_for_join_notices()
            cpu_start, wall_start = time.process_time(), time.monotonic()
            server_cpu_start = server.cpu_seconds()
            result |= _latency(load.paced(senders=10, rate=1000, duration=3))
        else:
            (count,) = sizes
            rss_before = server.rss_kib()
            started = time.monotonic()
            load.register(count, window=WINDOWS[kind], park=kind == "arrive")
            registered = max(client.registered for client in load.clients) - started
            load.wait_for_join_notices()
            load.chat_once()
            result["connections_per_s"] = count / registered
            waits = [int((c.registered - c.started) * 1e9) for c in load.clients]
            result["registration_p50_ms"] = percentile(waits, 0.5)
            result["registration_p99_ms"] = percentile(waits, 0.99)
            result["kib_per_connection"] = (server.rss_kib() - rss_before) / count
        result["ok"] = True
    except LoadError as error:
        result["ok"] = False
        result["error"] = str(error)
    finally:
        elapsed = max(time.monotonic() - wall_start, 1e-9)
        result["loadgen_cpu"] = (time.process_time() - cpu_start) / elapsed
        result["server_cpu"] = (server.cpu_seconds() - server_cpu_start) / elapsed
        load.close()
    return result


def _latency(samples: list[int]) -> dict[str, object]:
    return {
        "p50_ms": percentile(samples, 0.5),
        "p99_ms": percentile(samples, 0.99),
        "max_ms": max(samples) / 1e6 if samples else float("nan"),
        "samples": len(samples),
    }


METRICS = {
    "fanout": [("deliveries_per_s", "deliveries/s", True), ("p50_ms", "p50 ms", False),
               ("p99_ms", "p99 ms", False), ("max_ms", "max ms", False)],
    "latency-rate": [("p50_ms", "p50 ms", False), ("p99_ms", "p99 ms", False),
                     ("max_ms", "max ms", False)],
    "connect": [("connections_per_s", "connections/s", True),
                ("registration_p50_ms", "registration p50 ms", False),
                ("registration_p99_ms", "registration p99 ms", False),
                ("kib_per_connection", "KiB/connection", False)],
}  # fmt: skip
METRICS["arrive"] = METRICS["connect"]


def table(results: list[dict[str, object]]) -> str:
    """Render Markdown: a row per scenario and metric, median (min to max) per server, ratio."""
    rows = [
        "| scenario | metric | trio-chat | baseline | trio-chat/baseline |",
        "|---|---|---|---|---|",
    ]
    for scenario in dict.fromkeys(str(r["scenario"]) for r in results):
        kind, _ = parse_scenario(scenario)
        for key, label, _higher_is_better in METRICS[kind]:
            cells, medians = [], []
            for kind_of_server in SERVERS:
                runs = [
                    r for r in results if (r["scenario"], r["server"]) == (scenario, kind_of_server)
                ]
                values = [float(r[key]) for r in runs if r.get("ok") and key in r]  # type: ignore[arg-type]
                failed = sum(1 for r in runs if not r.get("ok"))
                if values:
                    median = statistics.median(values)
                    medians.append(median)
                    cell = f"{median:,.1f} ({min(values):,.1f}{DASH}{max(values):,.1f})"
                else:
                    medians.append(float("nan"))
                    cell = "—"
                if failed:
                    cell += f" **{failed} failed**"
                cells.append(cell)
            ratio = medians[0] / medians[1] if medians[1] else float("nan")
            shown = scenario.replace("x", TIMES)
            rows.append(f"| {shown} | {label} | {cells[0]} | {cells[1]} | {ratio:.2f} |")
    return "\n".join(rows)


def _summary(result: dict[str, object]) -> str:
    shown = {
        key: round(value, 2) if isinstance(value, float) else value
        for key, value in result.items()
        if key not in ("time", "machine", "cpus")
    }
    busy = float(result["loadgen_cpu"]) > LOADGEN_CPU_WARNING  # type: ignore[arg-type]
    return json.dumps(shown) + ("  (load generator above 85% of a core)" if busy else "")


def main() -> None:
    """Parse arguments, run the scenarios interleaved, print the table."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="trio-chat benchmarks"
    )
    parser.add_argument(
        "scenarios",
        nargs="*",
        default=DEFAULT_SCENARIOS,
        metavar="SCENARIO",
        help="fanout-NxSxM, latency-rate, connect-C or arrive-C (default: all)",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--servers", default=None, help="comma-separated (default: both)")
    parser.add_argument("--output", type=Path, default=Path("bench-results.jsonl"))
    args = parser.parse_args()
    for scenario in args.scenarios:
        parse_scenario(scenario)  # fail early on a typo
    _pin(LOAD_CPU)
    results = []
    defaults = tuple(args.scenarios) == DEFAULT_SCENARIOS
    for scenario in args.scenarios:
        repeat = args.repeat
        servers: tuple[str, ...] = SERVERS
        if defaults:
            repeat = min(repeat, DEFAULT_REPEAT_CAP.get(scenario, repeat))
            servers = DEFAULT_SERVERS.get(scenario, SERVERS)
        if args.servers:
            servers = tuple(args.servers.split(","))
        for run in range(repeat):
            for kind in servers:
                with running(kind) as server:
                    result = run_once(scenario, server)
                result |= {"scenario": scenario, "server": kind, "run": run,
                           "time": time.time(), "machine": platform.node(),
                           "cpus": os.cpu_count()}  # fmt: skip
                results.append(result)
                with args.output.open("a") as output:
                    output.write(json.dumps(result) + "\n")
                print(_summary(result), flush=True)
    print()
    print(table(results))


if __name__ == "__main__":
    main()
