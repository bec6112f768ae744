"""Run the benchmarks: ``python -m benchmarks [SCENARIO ...] [--repeat N]``; see docs/benchmarks.md.

Each scenario runs against trio-chat and against the thread-per-client baseline
(benchmarks/baseline.py) over the plain line protocol, and, where ngIRCd and InspIRCd are
installed, against trio-chat's IRC front end and each of them over IRC; interleaved,
``--repeat`` times each, every run on a fresh server process. The server is pinned to CPU 0
and this process (the load generator) to CPU 1, where ``os.sched_setaffinity`` exists.
Results are appended to a JSON-lines file and printed as a Markdown table with medians, min
and max, and the ratios of each pair. Kinds not run by default (``--servers``): trio-chat
sharing rooms through Redis, and trio-chat over TLS, each against the same server without.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from benchmarks.load import Load, LoadError, percentile
from benchmarks.soak import SoakLoad

# Compared in pairs, over the same protocol: trio-chat against the baseline (plain), and
# trio-chat's IRC front end against ngIRCd (C) and InspIRCd (C++), when installed.
# And, only when asked for (--servers), trio-chat sharing rooms through Redis: one process
# with the backplane, and members spread over two processes, each against trio-chat alone;
# and each front end over TLS, against itself without.
PAIRS = (
    ("trio-chat", "baseline"),
    ("trio-chat-irc", "ngircd"),
    ("trio-chat-irc", "inspircd"),
    ("trio-chat-redis", "trio-chat"),
    ("trio-chat-2p", "trio-chat"),
    ("trio-chat-tls", "trio-chat"),
    ("trio-chat-irc-tls", "trio-chat-irc"),
)
BACKPLANE_KINDS = ("trio-chat-redis", "trio-chat-2p")
TLS_KINDS = ("trio-chat-tls", "trio-chat-irc-tls")
ON_REQUEST = BACKPLANE_KINDS + TLS_KINDS  # run only when --servers names them
SERVERS = tuple(dict.fromkeys(kind for pair in PAIRS for kind in pair))
PROTOCOLS = {
    "trio-chat": "plain",
    "baseline": "plain",
    "trio-chat-irc": "irc",
    "ngircd": "irc",
    "inspircd": "irc",
    "trio-chat-redis": "plain",
    "trio-chat-2p": "plain",
    "trio-chat-tls": "plain",
    "trio-chat-irc-tls": "irc",
}
PEERS = ("ngircd", "inspircd")  # IRC servers of the field, Debian packages of those names
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
# The full default run must stay under 10 minutes (with all four servers, 6.5 minutes on
# 2 vCPUs). The baseline's join storms are quadratic in system calls (a sendall per notice
# per member): connect-5000 takes it about a minute, so the largest scenarios run once, and
# connect-10000 (an absolute target: everyone registered and chatting, memory per
# connection) runs against trio-chat only. ngIRCd's arrive-2000 takes about 18 s a run.
DEFAULT_REPEAT_CAP = {"connect-5000": 1, "connect-10000": 1}
DEFAULT_SERVERS: dict[str, tuple[str, ...]] = {"connect-10000": ("trio-chat",)}
# InspIRCd completes a registration in its once-a-second pass over the users waiting (a
# client waits about 1 s for its welcome, measured): arrivals, 4 at a time, would measure
# that timer (4 a second), and a storm would take it a second per batch. Fan-out and latency
# are what it is compared on.
NOT_MEASURED: dict[str, tuple[str, ...]] = {"inspircd": ("arrive", "connect", "soak")}
NOT_MEASURED_WHY = {"inspircd": "it completes registrations once a second (docs/benchmarks.md)"}
SERVER_CPU, LOAD_CPU = 0, 1
TIMES = "\N{MULTIPLICATION SIGN}"
DASH = "\N{EN DASH}"
# connect-N: a storm, up to 1,000 registering at once; arrive-N: users arriving the way they
# really do, a few at a time (at most 4 registering at once), each seeing the others join.
WINDOWS = {"connect": 1000, "arrive": 4}
LOADGEN_CPU_WARNING = 0.85  # above this share of a core, the load generator may be the limit
# soak-N (only when named): N members in one room for --soak-seconds, talking, coming and
# going, every stream checked (benchmarks/soak.py). Its checks read trio-chat's plain lines,
# and it takes minutes: one run, against trio-chat, unless --servers and --repeat say more.
SOAK_SERVERS = ("trio-chat",)
SOAK_SECONDS = 300.0
# Memory is read once it has held still (within RSS_STILL_KIB) for RSS_SETTLED seconds, as an
# operator would see it a few seconds after a burst; RSS_WAIT seconds at most.
RSS_STILL_KIB, RSS_SETTLED, RSS_WAIT = 256, 3.0, 20.0


@dataclass(frozen=True)
class Server:
    """A server process under test."""

    kind: str
    pids: tuple[int, ...]  # its processes (with a backplane: the servers and redis-server)
    ports: tuple[int, ...]  # where clients connect, in turn
    protocol: str  # what the load generator speaks to it: "plain" or "irc"
    log: Path | None = None  # where its output goes (ngIRCd logs every connection there)
    tls: ssl.SSLContext | None = None  # over TLS: the clients' context, trusting its certificate

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server's processes have used so far."""
        total = 0
        for pid in self.pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def rss_kib(self) -> int:
        """Resident memory of the server's processes, in KiB."""
        total = 0
        for pid in self.pids:
            status = Path(f"/proc/{pid}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+) kB", status)[1])  # type: ignore[index]
        return total

    def settled_rss_kib(self) -> int:
        """Resident memory once it holds still (see RSS_SETTLED), in KiB.

        trio-chat gives the heap's free memory back 1 to 2 s after a burst
        (trio_chat/shell/heap.py), and once 2 s after it starts: read at once, the memory would
        not show the first and would count the second as the run's.
        """
        deadline = time.monotonic() + RSS_WAIT
        still, since = self.rss_kib(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.rss_kib()
            if abs(now - still) > RSS_STILL_KIB:
                still, since = now, time.monotonic()
            elif time.monotonic() - since >= RSS_SETTLED:
                break
        return self.rss_kib()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


def peer_path(kind: str) -> str | None:
    """Return where the peer ``kind`` is installed, if it is (in /usr/sbin, often not on PATH)."""
    found = shutil.which(kind)
    if found is None and os.access(f"/usr/sbin/{kind}", os.X_OK):
        found = f"/usr/sbin/{kind}"
    return found


def peer_missing(kind: str) -> str:
    """Say how to install the peer ``kind``, which is missing."""
    return f'{kind} not found: install it with "apt-get install {kind}" to compare with it'


def _ngircd_config(directory: Path, port: int) -> Path:
    """Write ngIRCd's configuration, with the limits meant for the open internet lifted."""
    include = directory / "conf.d"  # empty: the system's /etc/ngircd/conf.d is not read
    include.mkdir()
    config = directory / "ngircd.conf"
    config.write_text(
        f"""\
[Global]
Name = bench.ngircd
Info = trio-chat benchmark
AdminInfo1 = benchmark
AdminInfo2 = benchmark
AdminEMail = bench@localhost
Listen = 127.0.0.1
Ports = {port}
MotdPhrase = benchmark
HelpFile =
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
# ngIRCd's ceiling (it refuses 32).
MaxNickLength = 31
# 0: no flood penalties at all, as trio-chat's --flood-rate 0.
MaxPenaltyTime = 0
PingTimeout = 3600
PongTimeout = 3600
[Options]
DNS = no
Ident = no
PAM = no
IncludeDir = {include}
"""
    )
    return config


def _inspircd_config(directory: Path, port: int) -> Path:
    """Write InspIRCd's configuration, with the limits meant for the open internet lifted.

    No flood penalties or fake lag (as trio-chat's --flood-rate 0), send and receive queues
    large enough that no reader of a benchmark is dropped, no DNS or ident lookups, and no
    keepalive PINGs during a run (the load generator does not answer them).
    """
    (directory / "motd.txt").write_text("benchmark\n")
    config = directory / "inspircd.conf"
    config.write_text(
        f"""\
<server name="bench.inspircd" description="trio-chat benchmark" network="bench">
<admin name="benchmark" nick="benchmark" email="bench@localhost">
<bind address="127.0.0.1" port="{port}" type="clients">
<connect name="bench" allow="*" maxchans="100" timeout="60" pingfreq="3600"
    hardsendq="64M" softsendq="64M" recvq="64M" threshold="1000000"
    commandrate="1000000000" fakelag="no" localmax="100000" globalmax="100000"
    maxconnwarn="no" resolvehostnames="no" useident="no" limit="100000">
<performance netbuffersize="65536" somaxconn="4096" softlimit="20000" clonesonconnect="no"
    quietbursts="yes">
<security announceinvites="none">
<files motd="{directory / "motd.txt"}">
<pid file="{directory / "inspircd.pid"}">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default"
    target="{directory / "inspircd.log"}">
"""
    )
    return config


def _certificate(directory: Path) -> tuple[Path, Path, ssl.SSLContext]:
    """Make a self-signed certificate for 127.0.0.1 in ``directory``, for one run.

    Returns the certificate, its key, and a client context that trusts it (and only it).
    With OpenSSL's command line (Debian's ``openssl``, there wherever Python's ssl is), so
    that the benchmark needs nothing beyond trio-chat itself. An elliptic curve key, as most
    servers use now: only the handshakes pay for it, and no figure measures one alone.
    """
    cert, key = directory / "cert.pem", directory / "key.pem"
    openssl = shutil.which("openssl")
    if openssl is None:
        raise SystemExit('openssl not found: install it with "apt-get install openssl"')
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key, ssl.create_default_context(cafile=str(cert))


def _server_process_setup(cpu: int = SERVER_CPU) -> None:
    """In the server's process, before it starts: its CPU, and as many open files as allowed."""
    _pin(cpu)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextlib.contextmanager
def running(kind: str) -> Iterator[Server]:
    """Start a fresh server of ``kind`` on a free port; stop it afterwards."""
    port = _free_port()
    trio_chat = [
        *(sys.executable, "-m", "trio_chat", "server"),
        # Lift the limits meant for the open internet: load generators flood by design.
        *("--max-clients", "20000", "--log-level", "warning", "--flood-rate", "0"),
        "--no-web",  # the chat page is not measured: its default port stays free
    ]
    with (
        tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as scratch,
        contextlib.ExitStack() as processes,
    ):
        directory = Path(scratch)
        log = directory / "server.log"
        if kind in BACKPLANE_KINDS:
            redis, redis_port = _redis_path(), _free_port()
            redis_command = [redis, "--port", str(redis_port), "--bind", "127.0.0.1"]
            redis_command += ["--save", "", "--appendonly", "no", "--dir", str(directory)]
            redis_pid = processes.enter_context(
                _started(redis_command, directory / "redis.log", redis_port, directory)
            )
            backplane = ("--backplane", f"redis://127.0.0.1:{redis_port}/0")
            # Two processes: one on the server's CPU, one on the load generator's (the
            # machine has two); each server process is pinned, Redis is not.
            ports = (port, _free_port()) if kind == "trio-chat-2p" else (port,)

            def own_db(n: int) -> tuple[str, str]:
                return ("--db", str(directory / f"server{n}.sqlite3"))

            pids = [
                processes.enter_context(
                    _started(
                        # Each process its own database: a second one on a file is refused.
                        [*trio_chat, "--port", str(one), "--no-irc", *backplane, *own_db(n)],
                        directory / f"server{n}.log",
                        one,
                        directory,
                        cpu=(SERVER_CPU, LOAD_CPU)[n],
                    )
                )
                for n, one in enumerate(ports)
            ]
            first_log = directory / "server0.log"
            yield Server(kind, (*pids, redis_pid), ports, PROTOCOLS[kind], first_log)
            return
        # No keepalive PINGs during a run (as ngIRCd's PingTimeout below): the load
        # generator does not answer them, and one would break the byte-for-byte checks.
        keepalive = ("--ping-interval", "3600", "--ping-timeout", "3600")
        client_tls = None
        if kind in TLS_KINDS:
            cert, key, client_tls = _certificate(directory)
            trio_chat += ["--tls-cert", str(cert), "--tls-key", str(key)]
        if kind == "trio-chat":
            command = [*trio_chat, "--port", str(port), "--no-irc"]
        elif kind == "trio-chat-irc":
            command = [*trio_chat, "--no-plain", "--irc-port", str(port), *keepalive]
        elif kind == "trio-chat-tls":
            command = [*trio_chat, "--no-plain", "--no-irc", "--tls-port", str(port)]
        elif kind == "trio-chat-irc-tls":
            # With a certificate the plain protocol over TLS is served too: on a port of its own.
            other = ("--tls-port", str(_free_port()))
            command = [*trio_chat, "--no-plain", "--no-irc", "--irc-tls-port", str(port), *other,
                       *keepalive]  # fmt: skip
        elif kind == "baseline":
            command = [sys.executable, "-m", "benchmarks.baseline", "--port", str(port)]
        elif kind == "ngircd":
            executable = peer_path(kind)
            if executable is None:
                raise SystemExit(peer_missing(kind))
            # In the foreground; started as root it switches to "nobody" by itself.
            command = [executable, "--nodaemon", "--config", str(_ngircd_config(directory, port))]
            directory.chmod(0o755)  # readable after it switched users (for a REHASH)
        elif kind == "inspircd":
            executable = peer_path(kind)
            if executable is None:
                raise SystemExit(peer_missing(kind))
            # In the foreground; as root it refuses to start unless told to run as root.
            command = [executable, "--nofork", "--config", str(_inspircd_config(directory, port))]
            command += ["--runasroot"] if os.geteuid() == 0 else []
        else:
            raise SystemExit(f"unknown server {kind!r}")
        pid = processes.enter_context(_started(command, log, port, directory))
        yield Server(kind, (pid,), (port,), PROTOCOLS[kind], log, client_tls)


@contextlib.contextmanager
def _started(
    command: list[str], log: Path, port: int, directory: Path, *, cpu: int = SERVER_CPU
) -> Iterator[int]:
    """Run ``command`` until it listens on ``port``; yield its pid; kill it afterwards."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            # trio-chat keeps rooms' history (as shipped) in the run's own directory.
            env={**os.environ, "XDG_DATA_HOME": str(directory)},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=partial(_server_process_setup, cpu),
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    tail = log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"{command[0]} did not start: {tail}") from None
                time.sleep(0.05)
        yield process.pid
    finally:
        process.kill()
        process.wait()


def _redis_path() -> str:
    path = shutil.which("redis-server")
    if path is None:
        raise SystemExit('redis-server not found: install it with "apt-get install redis-server"')
    return path


def listen_overflows() -> int:
    """Count the connections the kernel dropped because an accept queue was full.

    Machine-wide (TcpExt ListenOverflows). A server with a short listen backlog (ngIRCd
    hard-codes 10) overflows it in a connection storm: the client retries its handshake a
    second later, or has its connection reset.
    """
    with contextlib.suppress(OSError, ValueError, IndexError):
        lines = Path("/proc/net/netstat").read_text().splitlines()
        for names, values in zip(lines[::2], lines[1::2], strict=False):
            if names.startswith("TcpExt:"):
                return int(values.split()[names.split().index("ListenOverflows")])
    return 0


def parse_scenario(name: str) -> tuple[str, list[int]]:
    """Split ``fanout-500x50x200`` (or with multiplication signs) into its kind and sizes."""
    if name == "latency-rate":
        return "latency-rate", []
    kind, _, sizes = name.partition("-")
    numbers = [int(n) for n in re.split(f"[x{TIMES}]", sizes) if n.isdigit()]
    one_size = kind in WINDOWS or kind == "soak"
    if (kind == "fanout" and len(numbers) == 3) or (one_size and len(numbers) == 1):
        return kind, numbers
    raise SystemExit(f"unknown scenario {name!r}")


def run_once(
    scenario: str, server: Server, *, soak_seconds: float = SOAK_SECONDS
) -> dict[str, object]:
    """One measurement of ``scenario`` against ``server`` (a soak lasts ``soak_seconds``)."""
    kind, sizes = parse_scenario(scenario)
    first, *more = server.ports
    load = (SoakLoad if kind == "soak" else Load)(
        "127.0.0.1", first, server.protocol, more_ports=more, tls=server.tls
    )
    result: dict[str, object] = {}
    cpu_start, wall_start = time.process_time(), time.monotonic()
    server_cpu_start = server.cpu_seconds()
    overflows_start = listen_overflows()
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
            # Not measured: the generator's first paced second is slow on its side (whichever
            # server ran first in a fresh process measured 0.68 ms p50 instead of 0.3).
            load.paced(senders=10, rate=1000, duration=1)
            cpu_start, wall_start = time.process_time(), time.monotonic()
            server_cpu_start = server.cpu_seconds()
            read, arrived = load.paced(senders=10, rate=1000, duration=3)
            result |= _latency(read)
            # The same deliveries, timed by the kernel as they reached the reader's socket.
            result |= {f"arrived_{key}": value for key, value in _latency(arrived).items()}
            result["arrived_unstamped"] = load.unstamped  # (timed as read: see Load.paced)
        elif kind == "soak":
            assert isinstance(load, SoakLoad)
            (count,) = sizes
            started = time.monotonic()
            load.register(count, window=WINDOWS["connect"])
            result["register_seconds"] = time.monotonic() - started
            cpu_start, wall_start = time.process_time(), time.monotonic()
            server_cpu_start = server.cpu_seconds()
            result |= load.soak(soak_seconds, server)
        else:
            (count,) = sizes
            rss_before = server.settled_rss_kib()
            started = time.monotonic()
            load.register(count, window=WINDOWS[kind], park=kind == "arrive")
            registered = max(client.registered for client in load.clients) - started
            load.wait_for_join_notices()
            load.chat_once()
            result["connections_per_s"] = count / registered
            waits = [int((c.registered - c.started) * 1e9) for c in load.clients]
            result["registration_p50_ms"] = percentile(waits, 0.5)
            result["registration_p99_ms"] = percentile(waits, 0.99)
            result["kib_per_connection"] = (server.settled_rss_kib() - rss_before) / count
        result["ok"] = True
    except (LoadError, OSError) as error:
        result["ok"] = False
        result["error"] = str(error) or repr(error)
        result |= _server_complaints(server)
    finally:
        elapsed = max(time.monotonic() - wall_start, 1e-9)
        result["loadgen_cpu"] = (time.process_time() - cpu_start) / elapsed
        result["server_cpu"] = (server.cpu_seconds() - server_cpu_start) / elapsed
        result["listen_overflows"] = listen_overflows() - overflows_start
        load.close()
    return result


def _server_complaints(server: Server) -> dict[str, object]:
    """Why the server says it dropped connections, if it logs that (ngIRCd does), counted."""
    if server.log is None or server.kind != "ngircd":
        return {}
    reasons: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in server.log.read_text(errors="replace").splitlines():
            found = re.search(r"Shutting down connection \d+ \((.*?)\) with", line)
            if found and found[1] != "Client closed connection":
                reasons[found[1]] = reasons.get(found[1], 0) + 1
    return {"server_closed": reasons} if reasons else {}


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
                     ("max_ms", "max ms", False),
                     ("arrived_p50_ms", "p50 ms at the socket", False),
                     ("arrived_p99_ms", "p99 ms at the socket", False)],
    "connect": [("connections_per_s", "connections/s", True),
                ("registration_p50_ms", "registration p50 ms", False),
                ("registration_p99_ms", "registration p99 ms", False),
                ("kib_per_connection", "KiB/connection", False)],
}  # fmt: skip
METRICS["arrive"] = METRICS["connect"]
METRICS["soak"] = [("rss_start_mib", "RSS at start MiB", False),
                   ("rss_end_mib", "RSS at end MiB", False),
                   ("rss_max_mib", "RSS max MiB", False),
                   ("rss_slope_mib_per_min", "RSS slope after warm-up MiB/min", False),
                   ("server_cpu", "server CPU share", False),
                   ("deliveries_checked", "deliveries checked", True),
                   ("p50_ms", "p50 ms (to one member)", False),
                   ("p99_ms", "p99 ms (to one member)", False)]  # fmt: skip


def table(results: list[dict[str, object]]) -> str:
    """Render Markdown: a row per scenario and metric, median (min to max) per server, ratio.

    A pair of columns, and their ratio, for each pair of servers that took part in the run.
    """
    present = {r["server"] for r in results}
    # A pair shows when both its servers took part; a server in no such pair shows in the
    # first pair it belongs to, beside an empty column (the table is never without it).
    shown = {pair for pair in PAIRS if set(pair) <= present}
    for server in present:
        if not any(server in pair for pair in shown):
            shown.add(next((pair for pair in PAIRS if server in pair), PAIRS[0]))
    pairs = [pair for pair in PAIRS if pair in shown] or [PAIRS[0]]
    header, rule = ["scenario", "metric"], ["---", "---"]
    for first, second in pairs:
        header += [first, second, f"{first}/{second}"]
        rule += ["---"] * 3
    rows = ["| " + " | ".join(header) + " |", "|" + "|".join(rule) + "|"]
    for scenario in dict.fromkeys(str(r["scenario"]) for r in results):
        kind, _ = parse_scenario(scenario)
        for key, label, _higher_is_better in METRICS[kind]:
            cells = [scenario.replace("x", TIMES), label]
            for pair in pairs:
                medians = []
                for kind_of_server in pair:
                    cell, median = _cell(results, scenario, kind_of_server, key)
                    cells.append(cell)
                    medians.append(median)
                ratio = medians[0] / medians[1] if medians[1] else float("nan")
                cells.append(f"{ratio:.2f}")
            rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _cell(
    results: list[dict[str, object]], scenario: str, server: str, key: str
) -> tuple[str, float]:
    """One server's cell for one metric: median (min to max), failures; and the median."""
    runs = [r for r in results if (r["scenario"], r["server"]) == (scenario, server)]
    values = [float(r[key]) for r in runs if r.get("ok") and key in r]  # type: ignore[arg-type]
    failed = sum(1 for r in runs if not r.get("ok"))
    if values:
        median = statistics.median(values)
        cell = f"{median:,.1f} ({min(values):,.1f}{DASH}{max(values):,.1f})"
    else:
        median, cell = float("nan"), "—"
    if failed:
        cell += f" **{failed} failed**"
    return cell, median


def _summary(result: dict[str, object]) -> str:
    shown = {
        key: round(value, 2) if isinstance(value, float) else value
        for key, value in result.items()
        if key not in ("time", "machine", "cpus")
    }
    busy = float(result.get("loadgen_cpu", 0.0)) > LOADGEN_CPU_WARNING  # type: ignore[arg-type]
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
        help="fanout-NxSxM, latency-rate, connect-C, arrive-C or soak-N (default: all but soak)",
    )
    parser.add_argument("--repeat", type=int, default=None, help="runs of each (default: 3)")
    parser.add_argument(
        "--soak-seconds",
        type=float,
        default=SOAK_SECONDS,
        help=f"how long soak-N runs (default: {SOAK_SECONDS:.0f})",
    )
    parser.add_argument(
        "--servers",
        default=None,
        help=f"comma-separated, from {', '.join(SERVERS)} (default: all, the peers if installed)",
    )
    parser.add_argument("--output", type=Path, default=Path("bench-results.jsonl"))
    args = parser.parse_args()
    for scenario in args.scenarios:
        parse_scenario(scenario)  # fail early on a typo
    available = tuple(kind for kind in SERVERS if kind not in ON_REQUEST)  # if asked for
    missing = [kind for kind in PEERS if peer_path(kind) is None]
    available = tuple(kind for kind in available if kind not in missing)
    if len(missing) == len(PEERS):
        # trio-chat-irc is there to be compared with the peers, over the same protocol.
        available = tuple(kind for kind in available if kind != "trio-chat-irc")
    if not args.servers:
        for kind in missing:
            print(peer_missing(kind), flush=True)
    chosen = tuple(args.servers.split(",")) if args.servers else None
    for kind in chosen or ():
        if kind not in SERVERS:
            raise SystemExit(f"unknown server {kind!r} (choose from {', '.join(SERVERS)})")
        if kind in PEERS and peer_path(kind) is None:
            raise SystemExit(peer_missing(kind))
    _pin(LOAD_CPU)
    results = []
    defaults = tuple(args.scenarios) == DEFAULT_SCENARIOS
    for scenario in args.scenarios:
        repeat = 3 if args.repeat is None else args.repeat
        servers: tuple[str, ...] = available
        if parse_scenario(scenario)[0] == "soak":
            repeat, servers = args.repeat or 1, SOAK_SERVERS
        if defaults:
            repeat = min(repeat, DEFAULT_REPEAT_CAP.get(scenario, repeat))
            servers = DEFAULT_SERVERS.get(scenario, available)
        if chosen:
            servers = chosen
        kind_of_scenario = parse_scenario(scenario)[0]
        skipped = [kind for kind in servers if kind_of_scenario in NOT_MEASURED.get(kind, ())]
        for kind in skipped:
            print(f"{kind} is not measured in {scenario}: {NOT_MEASURED_WHY[kind]}", flush=True)
        servers = tuple(kind for kind in servers if kind not in skipped)
        for run in range(repeat):
            # Each round starts with another server, so that none always takes the first run,
            # which has measured slower (latency-rate p50 0.40 vs 0.33-0.37 ms in 6 pairs).
            for kind in servers[run % len(servers) :] + servers[: run % len(servers)]:
                try:
                    with running(kind) as server:
                        result = run_once(scenario, server, soak_seconds=args.soak_seconds)
                except (RuntimeError, OSError) as error:  # it did not start, or died
                    result = {"ok": False, "error": str(error) or repr(error)}
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
