"""A real ``redis-server`` (Debian's package) on a free loopback port, for the backplane's tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.chat_client import free_port

REDIS = shutil.which("redis-server")
STARTUP = 10.0  # seconds redis-server may take to answer PING (it takes well under one)


def need_redis() -> str:
    """Return the path of redis-server; skip the test without it (fail, in CI)."""
    if REDIS is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed: .ci/run installs it (apt-get install)")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    return REDIS


class RedisServer:
    """One redis-server process, which tests may stop and start again on the same port."""

    def __init__(self, directory: Path, *, persistent: bool = False) -> None:
        self.directory = directory
        self.port = free_port()
        # Persistent: an append-only file, which stop()'s clean shutdown completes, so a
        # restart keeps all (fsynced each second, not per command: a slow disk must not
        # stall Redis past the backplane's timeout in the middle of a test).
        self.persistent = persistent
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Where the server listens, as ``--backplane`` takes it."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait (bounded) until it answers PING."""
        persistence = ["--appendonly", "yes", "--appendfsync", "everysec"]
        command = [
            need_redis(),
            *("--port", str(self.port), "--bind", "127.0.0.1", "--save", ""),
            *(persistence if self.persistent else ["--appendonly", "no"]),
            *("--dir", str(self.directory)),
        ]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP
        while self.command("PING") != "+PONG":
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError(f"redis-server did not start: {command}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server (a clean shutdown: a persistent one saves everything)."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=STARTUP)
            self._process = None

    def command(self, *words: str) -> str:
        """Send one command (blocking, for set-up); return the first line of the reply, or ""."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(" ".join(words).encode() + b"\r\n")
                return sock.makefile("rb").readline().decode().strip()
        except OSError:
            return ""
