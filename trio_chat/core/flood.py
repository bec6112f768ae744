"""Flood control: a token bucket per connection, as pure arithmetic on timestamps.

A member may send ``burst`` lines at once, then ``rate`` lines per second. The reader asks the
bucket, before handing each line to the room, how long to wait; waiting (rather than dropping)
is what IRC servers call *fakelag*: the flooder's own lines arrive late, its TCP window fills,
and nobody else notices anything.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    """``burst`` tokens, refilled at ``rate`` per second; ``rate`` 0 means unlimited."""

    burst: int
    rate: float
    tokens: float = 0.0
    updated: float = 0.0  # when ``tokens`` was last brought up to date

    @classmethod
    def full(cls, burst: int, rate: float, now: float) -> TokenBucket:
        """Make a bucket with all its tokens, as of ``now``."""
        return cls(burst, rate, float(burst), now)

    def take(self, now: float) -> float:
        """Take a token; return how many seconds to wait before using it (0: none)."""
        if not self.rate:
            return 0.0
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1
        # In debt: the token taken will exist after this long.
        return -self.tokens / self.rate if self.tokens < 0 else 0.0
