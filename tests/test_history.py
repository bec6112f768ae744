"""Rooms' history: in the hub and in every front end (on disk: tests/test_archive.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.conftest import T0, StartServer
from tests.names import nick, room, roster
from tests.test_archive import saved
from tests.test_hub import join as join_room
from tests.test_hub import new_member, received, registered, say, turn
from tests.test_irc import feed, see
from tests.test_irc import registered as irc_registered
from trio_chat.core.delivery import Delivery
from trio_chat.core.events import (
    AtId,
    AtTime,
    Departed,
    Direction,
    Emote,
    Emoted,
    Entry,
    HistoryQuery,
    HistoryRead,
    Joined,
    LeaveReason,
    Parted,
    PartRoom,
    PrivateMessage,
    ReadHistory,
    Recalled,
    Registered,
    Rename,
    Renamed,
    RoomEntered,
    Said,
    ShowHistory,
    Tell,
    TopicChanged,
)
from trio_chat.core.history import History, decode_event, encode_event
from trio_chat.core.hub import Hub
from trio_chat.core.limits import Limits
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.requests import Act, Register
from trio_chat.frontends.line import LineFrontEnd
from trio_chat.frontends.webjson import encode


def hub_with_history(lines: int = 3, ring: int = 5) -> Hub:
    return Hub(limits=Limits(history_lines=lines), clock=lambda: T0, history=History(ring, 10))


def recalled(events: Sequence[object]) -> list[Recalled]:
    return [event for event in events if isinstance(event, Recalled)]


# --- the hub ---------------------------------------------------------------------------------


def test_a_newcomer_sees_the_last_entries_before_its_arrival_then_live() -> None:
    hub = hub_with_history(lines=3)
    alice, bob = registered(hub, "alice", "bob")
    for text in ("one", "two", "three", "four"):
        turn(hub, say(alice, text))
    received(alice), received(bob)
    carol = new_member()
    turn(hub, Register(carol, nick("carol")))
    events = received(carol)
    entered = next(i for i, e in enumerate(events) if isinstance(e, RoomEntered))
    (history,) = recalled(events)
    assert events.index(history) == entered + 1  # right after the welcome to the room
    assert [entry.event for entry in history.entries] == [
        Said("#lobby", "alice", "two"),
        Said("#lobby", "alice", "three"),
        Said("#lobby", "alice", "four"),
    ]
    turn(hub, say(bob, "five"))
    assert received(carol) == [Said("#lobby", "bob", "five")]


def test_history_and_live_meet_without_a_gap_in_one_turn() -> None:
    # A message and a join in the same turn: the newcomer gets the message as history.
    hub = hub_with_history(lines=10)
    (alice,) = registered(hub, "alice")
    received(alice)
    dave = registered(hub, "dave")[0]  # in the lobby too
    received(dave)
    carol = new_member()
    turn(hub, say(alice, "just before"), Register(carol, nick("carol")), say(alice, "just after"))
    events = received(carol)
    (history,) = recalled(events)
    assert history.entries[-1].event == Said("#lobby", "alice", "just before")
    assert events[-1] == Said("#lobby", "alice", "just after")
    texts = [e.event.text for e in history.entries if isinstance(e.event, Said)]
    assert "just after" not in texts  # no duplicate either


def test_what_history_keeps_and_what_it_does_not() -> None:
    hub = hub_with_history(lines=20, ring=20)
    alice, bob = registered(hub, "alice", "bob")
    turn(
        hub,
        Act(alice, Emote("waves")),
        Act(alice, PrivateMessage(nick("bob"), "secret")),
        join_room(bob, "#rust"),
    )
    turn(hub, Act(alice, Rename(nick("alicia"))))
    received(alice), received(bob)
    carol = new_member()
    turn(hub, Register(carol, nick("carol")))
    (history,) = recalled(received(carol))
    events = [entry.event for entry in history.entries]
    assert Emoted("#lobby", "alice", "waves") in events
    assert Renamed("alice", "alicia") in events
    assert Joined("#lobby", "bob") in events
    assert not any("secret" in repr(event) for event in events)  # never a private message
    ids = [entry.id for entry in history.entries]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(entry.time == T0 for entry in history.entries)


def test_a_room_that_emptied_keeps_its_history() -> None:
    hub = hub_with_history()
    (alice,) = registered(hub, "alice")
    turn(hub, join_room(alice, "#tea"), say(alice, "anyone?", "#tea"))
    turn(hub, Act(alice, PartRoom(room("#tea"))))
    assert hub.room_count == 1  # #tea is gone...
    (bob,) = registered(hub, "bob")
    received(bob)
    turn(hub, join_room(bob, "#tea"))
    (history,) = recalled(received(bob))
    assert [entry.event for entry in history.entries][-2:] == [
        Said("#tea", "alice", "anyone?"),
        Parted("#tea", "alice"),
    ]  # ...but not its past


def test_history_beyond_memory_is_looked_up_with_what_memory_holds() -> None:
    hub = hub_with_history(lines=1, ring=4)
    (alice,) = registered(hub, "alice")
    for n in range(6):
        turn(hub, say(alice, str(n)))
    received(alice)
    turn(hub, Act(alice, ShowHistory(100)))
    assert not [e for e in received(alice) if isinstance(e, HistoryRead)]  # not yet: the disk
    (lookup,) = hub.take_lookups()
    assert lookup.member is alice
    assert lookup.query == HistoryQuery(Direction.LATEST, 100, events=True)
    assert [entry.event for entry in lookup.answer(()).entries] == [
        Said("#lobby", "alice", str(n)) for n in range(2, 6)
    ]
    turn(hub, Act(alice, ShowHistory(3)))  # memory holds all of it: answered at once
    (read,) = [e for e in received(alice) if isinstance(e, HistoryRead)]
    assert [entry.event for entry in read.entries] == [Said("#lobby", "alice", n) for n in "345"]
    assert hub.take_lookups() == []


def test_the_ring_keeps_the_most_recently_active_rooms() -> None:
    history = History(ring=2, rooms=2)
    for id_, key in enumerate(("#a", "#b", "#c"), start=1):
        history.record(key, key, Said(key, "x", "hi", id=id_), T0)
    assert history.recent("#a", 5) == ()  # silent the longest: dropped from memory
    assert [entry.id for entry in history.recent("#c", 5)] == [3]
    assert len(history.take_unsaved()) == 3
    assert history.take_unsaved() == []


@pytest.mark.parametrize(
    "event",
    [
        Said("#a", "José", "olá \N{SNOWMAN}", notice=True, user="~jose"),
        Emoted("#a", "bob", "waves"),
        Joined("#a", "bob", away="lunch"),
        Parted("#a", "bob", "bye"),
        TopicChanged("#a", "bob", "news"),
        Renamed("bob", "bobby"),
        Departed("bob", LeaveReason.TOO_SLOW, "", "bob"),
    ],
)
def test_every_kept_event_is_saved_and_read_back_intact(event: object) -> None:
    kind, payload = encode_event(event)  # type: ignore[arg-type]
    assert decode_event(kind, payload) == event


def test_an_entry_of_an_unknown_kind_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        decode_event("Shouted", "{}")
    with pytest.raises(ValueError, match="does not fit"):
        decode_event("Said", json.dumps({"room": "#a"}))


# --- rendering -------------------------------------------------------------------------------

ENTRIES = (
    Entry(7, T0, Said("#lobby", "alice", "hello")),
    Entry(8, T0 + 60, Joined("#lobby", "bob")),
)


def test_plain_history_lines_start_with_a_tilde_and_the_time() -> None:
    front_end = LineFrontEnd()
    front_end.render(
        Delivery(
            [
                Registered("carol", 1, 1),
                RoomEntered(
                    "#lobby",
                    roster("carol"),
                    "",
                ),
            ],
            personal=True,
        )
    )
    assert front_end.render(Delivery([Recalled("#lobby", ENTRIES)], personal=True)) == (
        b"~ 2026-11-30 00:53 <alice> hello\n~ 2026-11-30 00:54 * bob joined\n"
    )
    assert front_end.render(Delivery([Recalled("#lobby", ())], personal=True)) == (
        b"* nothing said in #lobby yet\n"
    )


def test_irc_history_is_a_chathistory_batch_with_batch_and_server_time() -> None:
    front_end = irc_registered("batch server-time", "carol")
    assert see(front_end, [Recalled("#lobby", ENTRIES)]) == [
        ":irc.test BATCH +history1 chathistory #lobby",
        "@batch=history1;time=2026-11-30T00:53:20.000Z :alice!alice@irc.test PRIVMSG #lobby :hello",
        "@batch=history1;time=2026-11-30T00:54:20.000Z :bob!bob@irc.test JOIN #lobby",
        ":irc.test BATCH -history1",
    ]


def test_irc_history_without_batch_is_notices_from_the_server() -> None:
    front_end = irc_registered("server-time", "carol")
    assert see(front_end, [Recalled("#lobby", ENTRIES)]) == [
        ":irc.test NOTICE #lobby :[2026-11-30 00:53] <alice> hello",
        ":irc.test NOTICE #lobby :[2026-11-30 00:54] * bob joined",
    ]


def test_a_past_rename_does_not_rename_the_viewer() -> None:
    front_end = irc_registered("batch server-time", "carol")
    past = (Entry(1, T0, Renamed("carol", "carla")),)
    see(front_end, [Recalled("#lobby", past)])
    # Still carol: numerics are still addressed to carol.
    (line,) = see(front_end, [Refusal(Reason.NO_SUCH_NICK, "zed")])
    assert " 401 carol zed " in line


def test_irc_chathistory_asks_for_history() -> None:
    front_end = irc_registered()
    assert feed(front_end, "CHATHISTORY LATEST #lobby * 30") == [
        ReadHistory(room("#lobby"), HistoryQuery(Direction.LATEST, 30))
    ]
    assert feed(front_end, "CHATHISTORY BEFORE #lobby timestamp=2026-12-03T10:00:00.250Z 500") == [
        ReadHistory(room("#lobby"), HistoryQuery(Direction.BEFORE, 100, AtTime(1796292000250)))
    ]
    assert feed(front_end, "CHATHISTORY BETWEEN bob msgid=7 msgid=3 5") == [
        ReadHistory(nick("bob"), HistoryQuery(Direction.BETWEEN, 5, AtId(7), AtId(3)))
    ]
    refusals = [
        ("CHATHISTORY BEFORE #lobby timestamp=x 30", "INVALID_PARAMS BEFORE timestamp=x"),
        ("CHATHISTORY AFTER #lobby * 30", "INVALID_PARAMS AFTER *"),
        ("CHATHISTORY LATEST #lobby * 0", "INVALID_PARAMS LATEST 0"),
        ("CHATHISTORY LATEST #lo,bby * 1", "INVALID_TARGET LATEST #lo,bby"),
        ("CHATHISTORY SIDEWAYS #lobby * 1", "INVALID_PARAMS SIDEWAYS"),
        ("CHATHISTORY BETWEEN #lobby msgid=1 2", "NEED_MORE_PARAMS BETWEEN"),
        ("CHATHISTORY TARGETS * * 1", "INVALID_PARAMS TARGETS"),
    ]
    for line, expected in refusals:
        (refused,) = feed(front_end, line)
        assert isinstance(refused, Tell), line
        (rendered,) = see(front_end, [refused.event])
        assert rendered.startswith(f":irc.test FAIL CHATHISTORY {expected} :"), rendered


def test_the_page_gets_history_with_each_entrys_event() -> None:
    message = json.loads(encode(Recalled("#lobby", ENTRIES), T0 + 120) or "")
    assert message["type"] == "recalled"
    assert message["entries"][0] == {
        "id": 7, "time": T0,
        "event": {"type": "said", "room": "#lobby", "nick": "alice", "text": "hello",
                  "notice": False},
    }  # fmt: skip
    assert message["entries"][1]["event"]["type"] == "joined"


def test_history_times_are_stamped_as_live_events_are() -> None:
    # The page skips entries no newer than what it showed live: equal times must compare equal.
    moment = T0 + 0.0004321
    entry = Entry(7, moment, Said("#lobby", "alice", "hello"))
    live = json.loads(encode(Said("#lobby", "alice", "hello"), moment) or "")
    recalled = json.loads(encode(Recalled("#lobby", (entry,)), moment) or "")
    assert recalled["entries"][0]["time"] == live["time"]


# --- the server, with a database -------------------------------------------------------------


async def test_a_newcomer_on_the_plain_protocol_sees_history_lines(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server(**saved(tmp_path / "h.sqlite3"))
    alice = await server.join("alice")
    await alice.send("before you came")
    await alice.expect("<alice> before you came")
    bob = await server.join("bob")
    lines = [await bob.receive_line() for _ in range(2)]
    stamp = r"~ \d{4}-\d\d-\d\d \d\d:\d\d "
    assert re.fullmatch(stamp + r"\* alice joined", lines[0]), lines
    assert re.fullmatch(stamp + r"<alice> before you came", lines[1]), lines
    await alice.send("live now")
    await bob.expect("<alice> live now")


async def test_plain_history_reads_the_database_beyond_memory(
    start_server: StartServer, tmp_path: Path
) -> None:
    # Memory keeps the last 3 of #lobby (what a newcomer is shown, too): /history 8 reads more.
    options = saved(tmp_path / "h.sqlite3", ring=3)
    server = await start_server(**options, limits=Limits(history_lines=3))
    alice = await server.join("alice")
    for n in range(8):
        await alice.send(f"line {n}")
        await alice.expect(f"<alice> line {n}")
    await alice.send("/history 8")
    lines = [await alice.receive_line() for _ in range(8)]
    assert [line.split(" ", 3)[3] for line in lines] == [f"<alice> line {n}" for n in range(8)]
