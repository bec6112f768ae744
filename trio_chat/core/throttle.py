"""How often something may be tried: a sliding window of attempts per key. Pure.

Logins are throttled per account and per address (after a few wrong passwords, the next try
waits), and registrations per address (a few an hour), so that guessing a password or filling
the account table costs an attacker time, not the server CPU: a check of a password is tens of
milliseconds of one core, and only an allowed attempt gets one. Times are passed in, so the
arithmetic is tested without a clock.
"""

from __future__ import annotations

import collections
from collections.abc import Hashable

MAX_KEYS = 10_000  # keys remembered at once; past it, those whose window has passed are forgotten


class Throttle:
    """At most ``attempts`` counted per ``window`` seconds for each key."""

    __slots__ = ("_counted", "attempts", "window")

    def __init__(self, attempts: int, window: float) -> None:
        self.attempts = attempts
        self.window = window
        self._counted: dict[Hashable, collections.deque[float]] = {}

    def wait(self, key: Hashable, now: float) -> float:
        """Return how long until ``key`` may try again (0: now)."""
        times = self._counted.get(key)
        if times is None:
            return 0.0
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) < self.attempts:
            return 0.0
        return times[0] + self.window - now

    def count(self, key: Hashable, now: float) -> None:
        """Count an attempt of ``key`` (a wrong password, a registration) at ``now``."""
        if key not in self._counted and len(self._counted) >= MAX_KEYS:
            self._forget_old(now)
        times = self._counted.setdefault(key, collections.deque(maxlen=self.attempts))
        times.append(now)

    def forget(self, key: Hashable) -> None:
        """Forget ``key``'s attempts (its password was right at last)."""
        self._counted.pop(key, None)

    def _forget_old(self, now: float) -> None:
        for key in [k for k, times in self._counted.items() if times[-1] <= now - self.window]:
            del self._counted[key]
