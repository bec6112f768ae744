"""Logging off the hub's path: a stalled log output never stalls the chat."""

from __future__ import annotations

import io
import json
import logging
import re
import signal
import subprocess
import sys
import threading

import pytest
import trio

from tests.chat_client import PATIENCE
from tests.conftest import StartServer
from trio_chat.shell import logs


class StalledStream(io.StringIO):
    """A log output that blocks every write until released (a full pipe, a paused terminal)."""

    def __init__(self) -> None:
        super().__init__()
        self.released = threading.Event()

    def write(self, text: str) -> int:
        self.released.wait()
        return super().write(text)


async def test_a_stalled_log_output_does_not_stall_the_hub(
    start_memory_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every registration and departure is logged from inside the hub's turn. With the log
    # output stalled, the queue in front of it fills up and further records are dropped:
    # the members chat on. (With a plain StreamHandler, the hub blocked in its first log call.)
    monkeypatch.setattr(logs, "LOG_QUEUE_SIZE", 5)
    output = StalledStream()
    with logs.logging_to(output, logging.INFO) as handler:
        server = await start_memory_server()
        with trio.fail_after(5):
            alice = await server.join("alice")
            for n in range(20):
                member = await server.join(f"member{n}")
                await member.send("/exit")
                await member.expect_closed()
            await alice.send("still here")
            while (line := await alice.receive_line()) != "<alice> still here":
                assert line.startswith("* member")
        assert handler.dropped_total > 0
        output.released.set()
    # Every record dropped was counted in a notice, the last of them at exit.
    text = output.getvalue()
    reported = re.findall(
        r"WARNING (\d+) log records dropped: the log output did not keep up", text
    )
    assert sum(map(int, reported)) == handler.dropped_total


def test_records_are_formatted_once_and_written_in_order() -> None:
    output = io.StringIO()
    with logs.logging_to(output, logging.INFO):
        log = logging.getLogger("trio_chat.test")
        log.info("first %s", "record")
        log.debug("not at this level")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("with a traceback")
    lines = output.getvalue().splitlines()
    assert lines[0].endswith("INFO first record")
    assert lines[1].endswith("ERROR with a traceback")
    assert "RuntimeError: boom" in lines[-1]
    assert not any("not at this level" in line for line in lines)


def test_errors_ending_connections_are_logged_once_per_kind_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    errors = logs.ErrorLog(logging.getLogger("test"), interval=60)
    with caplog.at_level(logging.ERROR):
        for second in range(50):  # one client, fifty tries in fifty seconds
            errors.exception(f"peer{second}", RecursionError("deep"), now=float(second))
        errors.exception("other", ValueError("another kind"), now=50.0)
        assert [record.getMessage() for record in caplog.records] == [
            "peer0: connection failed",
            "other: connection failed",
        ]
        assert [record.exc_info is not None for record in caplog.records] == [True, True]
        # Once the interval has passed, the next one is logged, with what was left unsaid.
        errors.exception("later", RecursionError("deep"), now=60.0)
        assert caplog.records[-1].getMessage() == (
            "later: connection failed (and 49 more like it since the last report)"
        )
        # A group is a kind of its own, named by what it holds.
        errors.exception("grouped", ExceptionGroup("", [RecursionError()]), now=61.0)
        assert caplog.records[-1].getMessage() == "grouped: connection failed"


def test_the_error_log_forgets_the_oldest_kind_past_its_bound(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(logs, "ERROR_KINDS", 2)
    errors = logs.ErrorLog(logging.getLogger("test"))
    kinds = [type(f"Error{number}", (Exception,), {}) for number in range(3)]
    with caplog.at_level(logging.ERROR):
        for kind in [*kinds, kinds[0]]:
            errors.exception("peer", kind(), now=0.0)
    assert len(caplog.records) == 4  # the first kind was forgotten, so logged again


def test_json_logs_are_one_object_per_line_with_the_events_fields() -> None:
    output = io.StringIO()
    with logs.logging_to(output, logging.INFO, "json"):
        log = logging.getLogger("trio_chat.test")
        log.info("listening on %s port %d", "127.0.0.1", 6667, extra={"port": 6667})
        log.warning("two\nlines")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    lines = output.getvalue().splitlines()
    assert len(lines) == 3  # a newline in a message, or a traceback, stays inside its object
    first, second, third = map(json.loads, lines)
    assert first.keys() == {"time", "level", "event", "logger", "port"}
    assert first["event"] == "listening on 127.0.0.1 port 6667"
    assert (first["level"], first["port"], first["logger"]) == ("info", 6667, "trio_chat.test")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", first["time"])
    assert (second["level"], second["event"]) == ("warning", "two\nlines")
    assert third["event"].startswith("failed\nTraceback")
    assert "ValueError: boom" in third["event"]


def test_the_formatter_keeps_a_traceback_apart_when_it_has_one() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    entry = json.loads(logs.JsonFormatter().format(record))
    assert entry["event"] == "failed"
    assert "ValueError: boom" in entry["traceback"]


def test_the_default_stays_the_readable_line() -> None:
    output = io.StringIO()
    with logs.logging_to(output, logging.INFO):
        logging.getLogger("trio_chat.test").info("hello %s", "there", extra={"port": 1})
    assert re.fullmatch(r"\S+ \S+ INFO hello there\n", output.getvalue())


async def test_a_server_started_with_log_format_json_logs_json() -> None:
    command = [sys.executable, "-m", "trio_chat", "server", "--log-format", "json"]
    command += ["--port", "0", "--no-irc", "--no-web", "--db", ":memory:"]
    process = await trio.lowlevel.open_process(command, stderr=subprocess.PIPE)
    assert process.stderr is not None
    try:
        log = b""
        with trio.fail_after(PATIENCE):
            while b'"front_end": "plain"' not in log:
                log += await process.stderr.receive_some()
        process.send_signal(signal.SIGTERM)
        with trio.fail_after(PATIENCE):
            assert await process.wait() == 0
        log += await process.stderr.receive_some()
        entries = [json.loads(line) for line in log.decode().splitlines()]
        (listening,) = [entry for entry in entries if entry.get("front_end") == "plain"]
        assert listening["event"] == f"listening on 127.0.0.1 port {listening['port']} (plain)"
        assert any(entry["event"] == "shutting down" for entry in entries)
    finally:
        process.kill()
        # Shielded, so that a failing (cancelled) test still reaps its child; bounded, in case.
        with trio.move_on_after(PATIENCE, shield=True):
            await process.wait()
