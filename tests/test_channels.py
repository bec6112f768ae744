"""take_waiting alone: what a memory channel already holds, in order, without waiting for more."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from trio_chat.shell.channels import take_waiting


def channel_holding(
    *items: int,
) -> tuple[trio.MemorySendChannel[int], trio.MemoryReceiveChannel[int]]:
    send, receive = trio.open_memory_channel[int](100)
    for item in items:
        send.send_nowait(item)
    return send, receive


async def test_everything_waiting_is_taken_in_order_without_a_checkpoint() -> None:
    send, receive = channel_holding(1, 2, 3)
    with trio.testing.assert_no_checkpoints():
        assert take_waiting(receive) == [1, 2, 3]
        assert take_waiting(receive) == []  # nothing more: no waiting for it either
    await send.send(4)  # what arrives later is taken the next time
    assert take_waiting(receive) == [4]


def test_no_more_than_most_are_taken_and_the_rest_stay() -> None:
    _, receive = channel_holding(1, 2, 3, 4, 5)
    assert take_waiting(receive, most=2) == [1, 2]
    assert take_waiting(receive, most=2) == [3, 4]
    assert take_waiting(receive, most=2) == [5]
    assert take_waiting(receive, most=2) == []


def test_a_closed_channel_gives_what_it_still_holds() -> None:
    send, receive = channel_holding(1, 2)
    send.close()
    assert take_waiting(receive) == [1, 2]
    assert take_waiting(receive) == []  # and then nothing: the next receive says it is closed
    with pytest.raises(trio.EndOfChannel):
        receive.receive_nowait()
