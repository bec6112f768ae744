"""The read markers' index, pure: forward only, noted for the store, forgotten, loaded."""

from __future__ import annotations

from trio_chat.core.read_markers import ReadMark, ReadMarkers


def test_markers_only_move_forward_and_each_move_is_noted_once() -> None:
    markers = ReadMarkers()
    assert markers.advance("alice", "#rust", 10) == (10, True)
    assert markers.advance("alice", "#rust", 10) == (10, False)  # the same: no move
    assert markers.advance("alice", "#rust", 4) == (10, False)
    assert markers.advance("alice", "#rust", 12) == (12, True)
    assert markers.get("alice", "#rust") == 12
    assert markers.get("alice", "#go") is None
    assert markers.get("bob", "#rust") is None  # each account its own
    assert markers.take_unsaved() == [ReadMark("alice", "#rust", 12)]  # as it now is, once
    assert markers.take_unsaved() == []


def test_forgotten_markers_are_noted_and_loading_one_keeps_nothing() -> None:
    markers = ReadMarkers()
    markers.load([ReadMark("alice", "#rust", 3), ReadMark("bob", "alice", None)])
    assert markers.marks() == (ReadMark("alice", "#rust", 3),)
    assert markers.take_unsaved() == []  # loaded: saved already
    markers.forget()
    assert markers.marks() == ()
    assert markers.take_unsaved() == [ReadMark("alice", "#rust", None)]
