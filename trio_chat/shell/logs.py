"""Logging that never stalls the hub: records go through a bounded queue to a writer thread.

The hub logs from inside its turn (joins, renames, departures). A handler that writes to stderr
blocks when stderr does (a terminal paused with Ctrl+S, a pipe that nobody drains), and the hub
would block with it: everybody's chat would stop for one stalled log. So the handler the process
logs to only puts records on a bounded queue (the standard library's ``QueueHandler``), and a
thread (``QueueListener``) writes them out. When the queue is full, records are dropped and
counted, and the count is logged as soon as there is room again (and at exit): losing log
lines beats stalling the chat.

Two formats: the readable line (``FORMAT``), and JSON (:class:`JsonFormatter`, one object per
line) for operators who feed logs to a pipeline. Either way the writer thread formats: the
record it receives has its message merged already (the standard ``QueueHandler`` does that,
with an exception's traceback appended) and keeps the fields the call site gave.
"""

from __future__ import annotations

import contextlib
import json
import logging
import logging.handlers
import queue
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

LOG_QUEUE_SIZE = 10_000  # records waiting for the writer thread before new ones are dropped
STOP_TIMEOUT = 1.0  # seconds the writer thread gets to flush the queue at exit
FORMAT = "%(asctime)s %(levelname)s %(message)s"
# What every LogRecord has: anything else on a record is a field its event was given (extra=).
_STANDARD = {*vars(logging.makeLogRecord({})), "message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, event (the message), and the event's fields.

    The fields are what the call site gave with ``extra=`` (``port``, ``front_end``, ...);
    ``logger`` says where it was logged, and ``traceback`` carries an exception's, if any.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record`` as one line of JSON (newlines in it are escaped)."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            "logger": record.name,
        }
        entry |= {key: value for key, value in vars(record).items() if key not in _STANDARD}
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def formatter(name: str) -> logging.Formatter:
    """Return the formatter called ``name``: ``"text"`` (the readable line) or ``"json"``."""
    return JsonFormatter() if name == "json" else logging.Formatter(FORMAT)


class DroppingQueueHandler(logging.handlers.QueueHandler):
    """A ``QueueHandler`` that drops (and counts) records when its bounded queue is full."""

    def __init__(self, records: queue.Queue[logging.LogRecord]) -> None:
        super().__init__(records)
        self.dropped = 0  # records dropped since the last notice about them
        self.dropped_total = 0  # records dropped since the start

    def enqueue(self, record: logging.LogRecord) -> None:
        """Queue ``record`` without ever waiting; first, say how many were dropped, if any."""
        # The notice first: if it does not fit, neither would the record.
        if (self.dropped and not self.report_dropped()) or not self._put(record):
            self._drop()

    def report_dropped(self, timeout: float | None = None) -> bool:
        """Queue a notice of the records dropped since the last one; False if there is no room.

        ``timeout``: wait that long for room (at exit); by default, never wait.
        """
        notice = logging.LogRecord(
            __name__,
            logging.WARNING,
            __file__,
            0,
            "%d log records dropped: the log output did not keep up",
            (self.dropped,),
            None,
        )
        if not self._put(self.prepare(notice), timeout):
            return False
        self.dropped = 0
        return True

    def _drop(self) -> None:
        self.dropped += 1
        self.dropped_total += 1

    def _put(self, record: logging.LogRecord, timeout: float | None = None) -> bool:
        try:
            if timeout is None:
                self.queue.put_nowait(record)
            else:
                self.queue.put(record, timeout=timeout)  # type: ignore[attr-defined]
        except queue.Full:
            return False
        return True


ERROR_LOG_INTERVAL = 60.0  # seconds: one traceback per kind of error per minute, then counts
ERROR_KINDS = 256  # kinds of error remembered at once; the oldest is forgotten past it


class ErrorLog:
    """Log errors that end a connection, a bounded amount whatever clients send.

    A bug that one kind of input triggers (a ``RecursionError`` on deeply nested JSON, once)
    would otherwise write a traceback per try, and a client could fill the disk with them. So
    each *kind* of error (its type, or the types in its exception group) is logged with its
    traceback at most once per ``interval``; the others are counted, and the count is logged
    with the next traceback of that kind (``... and 49 more like it``). Pure bookkeeping: the
    caller passes the time.
    """

    def __init__(self, log: logging.Logger, interval: float = ERROR_LOG_INTERVAL) -> None:
        self.log = log
        self.interval = interval
        self._kinds: dict[str, tuple[float, int]] = {}  # kind -> (last logged, since unlogged)

    def exception(self, peer: str, error: BaseException, now: float) -> None:
        """Log that ``error`` ended ``peer``'s connection, unless its kind was just logged."""
        kind = _kind(error)
        logged, unlogged = self._kinds.pop(kind, (None, 0))
        if logged is not None and now - logged < self.interval:
            self._kinds[kind] = (logged, unlogged + 1)  # back in, as the most recent
            return
        if len(self._kinds) >= ERROR_KINDS:
            del self._kinds[next(iter(self._kinds))]  # the least recently seen kind
        self._kinds[kind] = (now, 0)
        more = f" (and {unlogged} more like it since the last report)" if unlogged else ""
        self.log.error("%s: connection failed%s", peer, more, exc_info=error)


def _kind(error: BaseException) -> str:
    if isinstance(error, BaseExceptionGroup):
        return "group(" + ",".join(sorted({_kind(inner) for inner in error.exceptions})) + ")"
    return f"{type(error).__module__}.{type(error).__qualname__}"


class _Writer(logging.handlers.QueueListener):
    """A ``QueueListener`` that can stop without waiting forever for a stalled stream."""

    def stop_within(self, timeout: float) -> None:
        """Let the thread write what is queued, for at most ``timeout`` seconds."""
        with contextlib.suppress(queue.Full):
            self.enqueue_sentinel()
        if self._thread is not None:
            self._thread.join(timeout)


@contextlib.contextmanager
def logging_to(
    stream: TextIO, level: int | str, log_format: str = "text"
) -> Iterator[DroppingQueueHandler]:
    """Send every log record of the process to ``stream``, from a thread, never blocking.

    ``log_format`` is ``"text"`` (a readable line per record) or ``"json"`` (an object).

    On the way out, the thread gets STOP_TIMEOUT seconds to write what is queued; a stream
    that stays stalled does not hold up the exit (the thread is a daemon).
    """
    records: queue.Queue[logging.LogRecord] = queue.Queue(LOG_QUEUE_SIZE)
    handler = DroppingQueueHandler(records)
    output = logging.StreamHandler(stream)
    # The writer thread formats (a queued record keeps its extra= fields, its message merged).
    output.setFormatter(formatter(log_format))
    writer = _Writer(records, output)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    # coredis (the backplane's Redis client) narrates its retries at INFO: only its warnings.
    logging.getLogger("coredis").setLevel(max(logging.WARNING, root.level))
    writer.start()
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        if handler.dropped:
            handler.report_dropped(timeout=STOP_TIMEOUT)
        writer.stop_within(STOP_TIMEOUT)
