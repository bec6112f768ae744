"""Logging off the hub's path: a stalled log output never stalls the chat."""

from __future__ import annotations

import io
import logging
import re
import threading

import pytest
import trio

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
