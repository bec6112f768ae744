"""Taking what is already waiting in a memory channel, without waiting for more.

The hub's task, the backplane's publisher, the history writer and a member's backlog writer all
wake up for one item and then take whatever else has arrived, so that one turn, one round trip
or one commit covers it all.
"""

from __future__ import annotations

import math
from typing import TypeVar

import trio

T = TypeVar("T")


def take_waiting(channel: trio.MemoryReceiveChannel[T], most: float = math.inf) -> list[T]:
    """Return up to ``most`` items already in ``channel``, in order, without a checkpoint.

    A closed channel gives what it still holds, as an empty one gives nothing: the caller's
    next ``receive`` says that it is closed.
    """
    taken: list[T] = []
    while len(taken) < most:
        try:
            taken.append(channel.receive_nowait())
        except (trio.WouldBlock, trio.EndOfChannel):
            break
    return taken
