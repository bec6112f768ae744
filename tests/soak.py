"""The chaos test's mix at a larger scale, for minutes: ``nox -s soak`` (not part of CI).

Runs rounds of well-behaved members and misbehaving peers of all three front ends (plain, IRC,
web) against a trio-chat server process and prints, after each round, the server's resident
memory and open file descriptors, which must stay flat:
``python -m tests.soak --minutes 5 --scale 10``.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

import trio

from tests.chat_client import RunningServer, free_port
from tests.test_chaos import MISBEHAVIOURS
from trio_chat.shell.server import ServerConfig


def _server_usage(pid: int) -> tuple[int, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    return rss, len(list(Path(f"/proc/{pid}/fd").iterdir()))


async def _round(ports: tuple[int, int, int], scale: int, number: int) -> None:
    port, irc_port, web_port = ports
    server = RunningServer(ServerConfig(), trio.Event(), trio.Event(), [], port, irc_port, web_port)
    try:
        with trio.fail_after(60):
            members = [await server.join(f"r{number}m{n}") for n in range(scale)]
            async with trio.open_nursery() as nursery:
                for kind in MISBEHAVIOURS:
                    for n in range(scale):
                        nursery.start_soon(kind, server, number * 1000 + n)
                for member in members:
                    await member.send(f"round {number}")
            for member in members:
                while not (await member.receive_line()).startswith(f"<r{number}m{scale - 1}> "):
                    pass
    finally:
        for client in server.clients:
            await trio.aclose_forcefully(client.stream)


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main() -> None:
    """Run rounds until the time is up, printing the server's memory and descriptors."""
    parser = argparse.ArgumentParser(prog="python -m tests.soak")
    parser.add_argument("--minutes", type=float, default=2)
    parser.add_argument("--scale", type=int, default=10, help="peers of each kind per round")
    args = parser.parse_args()
    ports = port, irc_port, web_port = free_port(), free_port(), free_port()
    command = [sys.executable, "-m", "trio_chat", "server", "--port", str(port)]
    command += ["--irc-port", str(irc_port), "--http-port", str(web_port), "--db", ":memory:"]
    command += ["--registration-timeout", "1", "--http-request-timeout", "1"]
    command += ["--ping-interval", "0.5", "--ping-timeout", "0.5", "--log-level", "error"]
    server = subprocess.Popen(command)
    try:
        for one in ports:
            _wait_for_port(one)
        deadline = time.monotonic() + args.minutes * 60
        number = 0
        while time.monotonic() < deadline:
            trio.run(_round, ports, args.scale, number)
            time.sleep(1.5)  # let the registration timeout close the silent ones
            rss, fds = _server_usage(server.pid)
            print(f"round {number}: server RSS {rss / 1024:.1f} MiB, {fds} open fds", flush=True)
            number += 1
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
