"""The sliding window behind the login and registration throttles, as arithmetic on times."""

from __future__ import annotations

import pytest

from trio_chat.core import throttle
from trio_chat.core.throttle import Throttle


def test_attempts_are_allowed_until_the_window_is_full_then_wait_for_the_oldest() -> None:
    limit = Throttle(attempts=3, window=60)
    for now in (0, 10, 20):
        assert limit.wait("alice", now) == 0
        limit.count("alice", now)
    assert limit.wait("alice", 30) == 30  # the first attempt leaves the window at 60
    assert limit.wait("bob", 30) == 0  # per key
    assert limit.wait("alice", 60) == 0


def test_forgetting_a_key_clears_it() -> None:
    limit = Throttle(attempts=1, window=60)
    limit.count("alice", 0)
    assert limit.wait("alice", 1) == 59
    limit.forget("alice")
    assert limit.wait("alice", 1) == 0


def test_keys_whose_window_has_passed_are_forgotten_when_many(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(throttle, "MAX_KEYS", 3)
    limit = Throttle(attempts=1, window=10)
    for n in range(3):
        limit.count(n, 0)
    limit.count("late", 100)  # a fourth key: the old ones have left their windows
    assert limit.wait(0, 100) == 0
    assert limit.wait("late", 101) == 9
    assert len(limit._counted) == 1
