"""Line framing with a byte limit, sans-I/O: bytes in, lines out.

A peer that never sends a newline must not make us buffer without bound. The framer keeps at most
one line's worth of bytes (plus whatever one ``feed`` added); a line over the limit is reported
once, as :class:`LineTooLong`, and its bytes are dropped up to the next newline as they arrive.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LineTooLong:
    """A line longer than ``limit`` bytes arrived and was discarded."""

    limit: int


class LineFramer:
    """Split a byte stream into lines ending in LF or CR LF (the ending is removed).

    Call :meth:`feed` with received bytes and :meth:`feed_eof` at end of stream; then call
    :meth:`next_line` until it returns ``None``, which means "feed me more" (or, after
    ``feed_eof``, "nothing more, ever"). A final line without a newline is returned at EOF.
    """

    __slots__ = ("_buffer", "_discarding", "_eof", "_scanned", "_start", "max_line_bytes")

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes
        self._buffer = bytearray()
        self._start = 0  # where the next line begins inside _buffer
        self._scanned = 0  # _buffer[:_scanned] is known to hold no newline after _start
        self._discarding = False  # inside a line already reported as too long
        self._eof = False

    def feed(self, data: bytes | bytearray) -> None:
        """Add received bytes."""
        self._buffer += data

    def feed_eof(self) -> None:
        """Record that the peer will send nothing more."""
        self._eof = True

    def next_line(self) -> bytes | LineTooLong | None:
        """Return the next complete line, a :class:`LineTooLong` marker, or ``None`` if none."""
        while True:
            newline = self._buffer.find(b"\n", max(self._start, self._scanned))
            if newline < 0:
                return self._incomplete_line()
            line = self._buffer[self._start : newline]
            self._start = newline + 1
            if self._discarding:
                # The rest of a line we already reported; drop it and look for the next.
                self._discarding = False
                continue
            if line.endswith(b"\r"):
                del line[-1]
            if len(line) > self.max_line_bytes:
                return LineTooLong(self.max_line_bytes)
            return bytes(line)

    def _incomplete_line(self) -> bytes | LineTooLong | None:
        # Compact once per feed rather than once per line, so a chunk of many lines is linear.
        del self._buffer[: self._start]
        self._start = 0
        self._scanned = len(self._buffer)
        if self._discarding:
            self._buffer.clear()
            self._scanned = 0
            return None
        # One byte of slack: a line of exactly the limit may still be waiting for its "\r\n".
        if len(self._buffer) > self.max_line_bytes + 1:
            self._buffer.clear()
            self._scanned = 0
            self._discarding = not self._eof
            return LineTooLong(self.max_line_bytes)
        if self._eof and self._buffer:
            line = bytes(self._buffer.removesuffix(b"\r"))
            self._buffer.clear()
            self._scanned = 0
            if len(line) > self.max_line_bytes:
                return LineTooLong(self.max_line_bytes)
            return line
        return None
