"""The soak's stream checks (benchmarks/soak.py), on hand-made streams: no server, no clock.

Each member's bytes must be exactly its slice of the room's order (the reference member's
stream), from just after its join notice to its leave notice; these tests feed the checker
right and wrong streams and see it pass the first and catch each kind of wrong one.
"""

from __future__ import annotations

import re

import pytest

from benchmarks.load import LoadError
from benchmarks.soak import (
    BYE,
    Ending,
    MemberStream,
    RoomOrder,
    slope_per_minute,
)


def said(talker: int, seq: int) -> bytes:
    return b"<c%d> %d %d 1000\n" % (talker, talker, seq)


def joined(name: bytes) -> bytes:
    return b"* " + name + b" joined\n"


def left(name: bytes, why: bytes = b"quit") -> bytes:
    return b"* " + name + b" left (" + why + b")\n"


# The room as the reference saw it: c9 comes and quits while c0 and c1 talk, c8 drops out.
BEFORE = said(0, 0) + said(1, 0)
WINDOW = said(0, 1) + said(1, 1) + said(0, 2)  # what c9 must receive
ROOM = BEFORE + joined(b"c9") + WINDOW + left(b"c9") + said(1, 2) + left(b"c8", b"connection lost")
# What a newcomer receives before its slice: prompt, welcome, roster's continuation, history.
HEADER = (
    b"* what is your name?\n* welcome, c9! online (3): c0, c1,\n*   c8, c9\n"
    b"~ 2026-12-03 14:00 <c0> 0 0 1000\n~ 2026-12-03 14:00 <c1> 1 0 1000\n"
)


def room(data: bytes = ROOM) -> RoomOrder:
    order = RoomOrder()
    order.add(data)
    return order


def check_all(stream: MemberStream, data: bytes, order: RoomOrder) -> None:
    stream.receive(data)
    stream.check(order)


@pytest.mark.parametrize("chunk", [len(ROOM), 1, 7])
def test_a_member_present_throughout_matches_the_room_however_its_bytes_are_cut(
    chunk: int,
) -> None:
    # Whole, a byte at a time, and in pieces that cut lines: the reference and the member
    # each get the same bytes in their own chunks, checked after every one.
    order = RoomOrder()
    member = MemberStream(b"c0", start=0)
    for offset in range(0, len(ROOM), chunk):
        member.receive(ROOM[offset : offset + chunk])
        member.check(order)  # the member ahead of the reference: kept for later
        order.add(ROOM[offset : offset + chunk])
        member.check(order)
    member.finish(order)
    assert member.checked == len(ROOM)
    assert order.heard == {0: 3, 1: 3}


def test_a_newcomer_is_checked_from_its_join_to_its_quit() -> None:
    order = RoomOrder()
    newcomer = MemberStream(b"c9", newcomer=True, ending=Ending.QUIT)
    # Its header and slice arrive before the reference has even seen it join.
    check_all(newcomer, HEADER + WINDOW[:10], order)
    assert newcomer.start is None
    assert not newcomer.live
    order.add(ROOM[:40])
    newcomer.receive(WINDOW[10:] + BYE)
    order.add(ROOM[40:])
    newcomer.ended = True
    newcomer.finish(order)
    assert newcomer.live
    assert newcomer.checked == len(WINDOW)
    assert order.messages_between(newcomer.start or 0, len(BEFORE + joined(b"c9") + WINDOW)) == 3


@pytest.mark.parametrize(
    ("received", "complaint"),
    [
        (said(0, 1) + said(0, 2), "received b'<c0> 0 2 1000' where the room has b'<c1> 1 1 1000'"),
        (said(1, 1) + said(0, 1), "received b'<c1> 1 1 1000' where the room has b'<c0> 0 1 1000'"),
        (said(0, 1) * 2, "received b'<c0> 0 1 1000' where the room has b'<c1> 1 1 1000'"),
        (said(0, 1) + b"! you are too slow\n", "received b'! you are too slow' where the room"),
    ],
    ids=["a gap", "the wrong order", "a duplicate", "a line meant for it alone"],
)
def test_a_stream_that_is_not_the_rooms_slice_fails_at_the_line_that_differs(
    received: bytes, complaint: str
) -> None:
    newcomer = MemberStream(b"c9", newcomer=True)
    with pytest.raises(LoadError, match=re.escape(complaint)):
        check_all(newcomer, HEADER + received, room())


def test_lines_after_its_leave_fail() -> None:
    # c9 quit, but still received what was said after: its slice ends at its leave notice.
    quitter = MemberStream(b"c9", newcomer=True, ending=Ending.QUIT)
    with pytest.raises(LoadError, match=re.escape("where the room has b'* c9 left (quit)'")):
        check_all(quitter, HEADER + WINDOW + said(1, 2) + BYE, room())


def test_the_reference_seeing_a_member_leave_twice_or_join_twice_fails() -> None:
    with pytest.raises(LoadError, match="c9 left twice"):
        room(ROOM + left(b"c9"))
    with pytest.raises(LoadError, match="c9 joined twice"):
        room(ROOM + joined(b"c9"))


def test_a_newcomers_refusal_is_not_taken_for_its_header() -> None:
    newcomer = MemberStream(b"c9", newcomer=True)
    refused = b"* what is your name?\n! c9 is taken, try another\n" + WINDOW
    with pytest.raises(LoadError, match=re.escape("received b'! c9 is taken")):
        check_all(newcomer, refused, room())


def test_a_quitter_must_have_its_whole_slice_then_bye_then_the_end() -> None:
    complete = MemberStream(b"c9", newcomer=True, ending=Ending.QUIT)
    check_all(complete, HEADER + WINDOW + BYE, room())
    complete.ended = True
    complete.finish(room())
    short = MemberStream(b"c9", newcomer=True, ending=Ending.QUIT, ended=True)
    check_all(short, HEADER + WINDOW[: -len(said(0, 2))] + BYE, room())
    with pytest.raises(LoadError, match="does not end at its leave"):
        short.finish(room())
    not_closed = MemberStream(b"c9", newcomer=True, ending=Ending.QUIT)
    check_all(not_closed, HEADER + WINDOW + BYE, room())
    with pytest.raises(LoadError, match="does not end at its leave"):
        not_closed.finish(room())


def test_a_member_that_stays_must_have_everything_to_the_end() -> None:
    stayer = MemberStream(b"c1", start=0)
    check_all(stayer, ROOM[:-1], room())
    with pytest.raises(LoadError, match="its stream stops 1 bytes before the room's end"):
        stayer.finish(room())


def test_a_member_the_room_saw_leave_cannot_be_one_that_stays() -> None:
    stayer = MemberStream(b"c9", newcomer=True)
    check_all(stayer, HEADER + WINDOW, room())
    with pytest.raises(LoadError, match="left the room, but never asked to"):
        stayer.finish(room())


def test_a_member_that_dropped_out_may_have_any_prefix_of_its_slice_but_no_other() -> None:
    # c8 was there from the start and dropped its connection mid-line.
    end = ROOM.index(left(b"c8", b"connection lost"))
    dropped = MemberStream(b"c8", start=0, ending=Ending.DROPPED, ended=True)
    check_all(dropped, ROOM[: end - 5], room())
    dropped.finish(room())
    wrong = MemberStream(b"c8", start=0, ending=Ending.DROPPED, ended=True)
    check_all(wrong, ROOM[: end - 5] + b"x", room())
    with pytest.raises(LoadError, match="not a prefix of its slice"):
        wrong.finish(room())


def test_the_rooms_own_order_must_have_each_talker_in_sequence_and_complete() -> None:
    with pytest.raises(LoadError, match="talker 1 said 2, expected 1"):
        room(said(1, 0) + said(1, 2))
    with pytest.raises(LoadError, match="unexpected line"):
        room(said(1, 0) + b"* something else\n")
    with pytest.raises(LoadError, match="not a soak message"):
        room(b"<c1> hello\n")
    room().check_complete([3, 3])
    with pytest.raises(LoadError, match="talker 1 sent 4, the room has 3"):
        room().check_complete([3, 4])


def test_the_slope_is_per_minute_and_flat_memory_measures_zero() -> None:
    assert slope_per_minute([(0, 50.0), (5, 50.0), (10, 50.0)]) == 0
    assert slope_per_minute([(0, 50.0), (30, 51.0), (60, 52.0)]) == pytest.approx(2.0)
    assert slope_per_minute([(0, 50.0)]) == 0


def test_a_member_that_receives_its_own_leave_notice_fails_there() -> None:
    # The bytes are the room's, but c8's slice ended where the room saw it leave.
    dropped = MemberStream(b"c8", start=0, ending=Ending.DROPPED, ended=True)
    with pytest.raises(LoadError, match="received lines after it left"):
        check_all(dropped, ROOM, room())
