"""CHATHISTORY: any part of a conversation, from memory or the database, as IRCv3 specifies.

The selection is pure (:func:`select`), proven against the spec's examples (irctest's) and,
with the database, against reading everything; the hub decides who may read what; the IRC
front end parses and renders; a real server answers over real sockets.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import test_hub
from tests.conftest import StartServer
from tests.irc_client import IrcClient
from tests.names import nick, room
from tests.test_hub import with_account
from tests.test_moderation_persistence import connect, logged_in, new_account
from trio_chat.core.events import (
    AtId,
    AtTime,
    ConversationsAre,
    Direction,
    Entry,
    HistoryQuery,
    HistoryRead,
    Joined,
    JoinRoom,
    PrivateMessage,
    ReadHistory,
    Said,
    Say,
    SetTopic,
    ShowConversations,
    TopicChanged,
)
from trio_chat.core.history import History, Lookup, conversation_key, encode_event, select
from trio_chat.core.hub import Hub
from trio_chat.core.limits import Limits
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.requests import Act
from trio_chat.frontends.ircmessage import Message
from trio_chat.shell.archive import HistoryConfig
from trio_chat.shell.database import Database

T0 = 1_800_000_000.0
LATEST, BEFORE, AFTER, AROUND, BETWEEN = Direction


def said(i: int, *, at: float | None = None) -> Entry:
    """The ``i``-th message of #a: id 100 + i, i milliseconds after T0."""
    return Entry(100 + i, T0 + i / 1000 if at is None else at, Said("#a", "x", f"m{i}"))


def ms(entry: Entry) -> AtTime:
    return AtTime(round(entry.time * 1000))


TEN = [said(i) for i in range(10)]


def texts(entries: tuple[Entry, ...]) -> list[str]:
    return [e.event.text for e in entries if isinstance(e.event, Said)]


# --- the selection, as irctest's chathistory module expects it ---------------------------------


def test_each_direction_with_an_id_and_with_a_time() -> None:
    def query(direction: Direction, limit: int, *marks: AtId | AtTime | None) -> list[str]:
        mark, until = (*marks, None, None)[:2]
        return texts(select(TEN, HistoryQuery(direction, limit, mark, until)))

    m = [f"m{i}" for i in range(10)]
    for at in (lambda e: AtId(e.id), ms):
        assert query(LATEST, 5, None) == m[-5:]
        assert query(LATEST, 20, at(TEN[4])) == m[5:]
        assert query(BEFORE, 20, at(TEN[6])) == m[:6]
        assert query(BEFORE, 2, at(TEN[6])) == m[4:6]
        assert query(AFTER, 20, at(TEN[3])) == m[4:]
        assert query(AFTER, 3, at(TEN[3])) == m[4:7]
        assert query(AROUND, 1, at(TEN[7])) == m[7:8]
        assert query(AROUND, 3, at(TEN[7])) == m[6:9]
        assert query(BETWEEN, 20, at(TEN[0]), at(TEN[-1])) == m[1:-1]
        assert query(BETWEEN, 20, at(TEN[-1]), at(TEN[0])) == m[1:-1]
        assert query(BETWEEN, 3, at(TEN[0]), at(TEN[-1])) == m[1:4]
        assert query(BETWEEN, 3, at(TEN[-1]), at(TEN[0])) == m[-4:-1]


def test_without_event_playback_only_messages_count_toward_the_limit() -> None:
    topic = Entry(200, T0 + 1, TopicChanged("#a", "x", "new topic"))
    joined = Entry(201, T0 + 2, Joined("#a", "y"))
    entries = [*TEN, topic, joined]
    assert select(entries, HistoryQuery(LATEST, 3)) == tuple(TEN[-3:])
    assert select(entries, HistoryQuery(LATEST, 3, events=True)) == (TEN[-1], topic, joined)


# --- memory, and the database beyond it ------------------------------------------------------

# A room's entries (ids increasing, times in whole milliseconds never decreasing), a ring that
# keeps the last few, and any query with marks taken among and between the entries.
gaps = st.lists(st.tuples(st.integers(1, 3), st.integers(0, 2)), min_size=0, max_size=30)
marks = st.one_of(
    st.builds(AtId, st.integers(95, 200)),
    st.builds(AtTime, st.integers(round(T0 * 1000) - 2, round(T0 * 1000) + 70)),
)
queries = st.builds(
    HistoryQuery,
    st.sampled_from(Direction),
    st.integers(1, 12),
    marks,
    marks,
    st.booleans(),
)


def room_entries(steps: list[tuple[int, int]]) -> list[Entry]:
    entries, id_, when = [], 100, round(T0 * 1000)
    for i, (id_step, ms_step) in enumerate(steps):
        id_, when = id_ + id_step, when + ms_step
        event = Said("#a", "x", f"m{i}") if i % 3 else Joined("#a", f"n{i}")
        entries.append(Entry(id_, when / 1000, event))
    return entries


@settings(max_examples=300, deadline=None)
@given(gaps, st.integers(1, 8), queries, st.booleans())
def test_memory_and_the_database_together_answer_as_reading_everything_would(
    steps: list[tuple[int, int]], ring: int, query: HistoryQuery, latest_from_start: bool
) -> None:
    if latest_from_start and query.direction is LATEST:
        query = HistoryQuery(LATEST, query.limit, None, None, query.events)
    entries = room_entries(steps)
    history = History(ring, 10)
    history.load("#a", entries)
    database = Database.open(":memory:")
    try:
        _saved(database, entries)  # what the archive saved: everything
        answer, whole = history.read("#a", query)
        if not whole:
            ring_entries = history.recent("#a", ring)
            lookup = Lookup(test_hub.new_member(), "#a", "#a", query, ring_entries, 10**9)
            saved = database.read("#a", query, deadline=float("inf"))
            answer = lookup.answer(saved).entries
        assert answer == select(entries, query)
    finally:
        database.close()


def _saved(database: Database, entries: list[Entry]) -> None:
    """Save ``entries`` of #a as the archive would."""
    database._connection.executemany(
        "INSERT INTO history (id, room_key, room, time, kind, payload)"
        " VALUES (?, '#a', '#a', ?, ?, ?)",
        [(e.id, e.time, *encode_event(e.event)) for e in entries],
    )


def test_a_lookup_leaves_out_what_was_saved_after_it_was_asked() -> None:
    lookup = Lookup(test_hub.new_member(), "#a", "#a", HistoryQuery(LATEST, 10), (), TEN[4].id)
    assert texts(lookup.answer(TEN).entries) == ["m0", "m1", "m2", "m3", "m4"]


# --- the hub: who reads what -------------------------------------------------------------------


def test_a_room_is_read_only_by_its_members() -> None:
    hub = Hub(clock=lambda: T0, history=History(10, 10))
    alice, bob = test_hub.registered(hub, "alice", "bob")
    test_hub.turn(hub, Act(alice, JoinRoom(room("#rust"))), Act(alice, Say("hi", room("#rust"))))
    test_hub.received(alice)
    query = HistoryQuery(LATEST, 10)
    test_hub.turn(hub, Act(bob, ReadHistory(room("#rust"), query)))
    test_hub.turn(hub, Act(bob, ReadHistory(room("#nowhere"), query)))
    assert test_hub.received(bob) == [
        Refusal(Reason.HISTORY_NOT_YOURS, "#rust", "LATEST"),
        Refusal(Reason.HISTORY_NOT_YOURS, "#nowhere", "LATEST"),
    ]
    test_hub.turn(hub, Act(alice, ReadHistory(room("#rust"), query)))
    ((read,),) = [[e for e in test_hub.received(alice) if isinstance(e, HistoryRead)]]
    assert read.target == "#rust"
    assert texts(read.entries) == ["hi"]


def test_private_messages_are_kept_for_each_end_with_an_account() -> None:
    hub = Hub(clock=lambda: T0, history=History(10, 10))
    alice = with_account(hub, "alice")
    (guest,) = test_hub.registered(hub, "guest")
    test_hub.turn(hub, Act(guest, PrivateMessage(nick("alice"), "hello")))
    test_hub.turn(hub, Act(alice, PrivateMessage(nick("guest"), "hi guest")))
    assert hub.history is not None
    kept = hub.history.recent(conversation_key("alice", "guest"), 10)
    assert [e.event.text for e in kept if hasattr(e.event, "text")] == ["hello", "hi guest"]
    assert hub.history.recent(conversation_key("guest", "alice"), 10) == ()  # not an account
    test_hub.received(alice)
    test_hub.turn(hub, Act(alice, ReadHistory(nick("Guest"), HistoryQuery(LATEST, 10))))
    ((read,),) = [[e for e in test_hub.received(alice) if isinstance(e, HistoryRead)]]
    assert [e.id for e in read.entries] == [e.id for e in kept]
    test_hub.turn(hub, Act(guest, ReadHistory(nick("alice"), HistoryQuery(LATEST, 10))))
    assert Refusal(Reason.HISTORY_NEEDS_LOGIN, "alice", "LATEST") in test_hub.received(guest)


def test_targets_list_rooms_and_correspondents_by_their_latest_message() -> None:
    now = [T0]
    hub = Hub(clock=lambda: now[0], history=History(10, 10))
    alice = with_account(hub, "alice")
    (bob,) = test_hub.registered(hub, "bob")
    test_hub.turn(hub, Act(alice, JoinRoom(room("#rust"))), Act(alice, Say("a", room("#rust"))))
    now[0] += 1
    test_hub.turn(hub, Act(bob, PrivateMessage(nick("alice"), "b")))
    now[0] += 1
    test_hub.turn(hub, Act(alice, SetTopic("not a message", room("#rust"))))
    test_hub.received(alice)
    start, end = round(T0 * 1000) - 1, round(T0 * 1000) + 10_000
    test_hub.turn(hub, Act(alice, ShowConversations(end, start, 10)))  # (either order)
    ((found,),) = [[e for e in test_hub.received(alice) if isinstance(e, ConversationsAre)]]
    assert [(c.target, c.time) for c in found.conversations] == [("#rust", T0), ("bob", T0 + 1)]
    test_hub.turn(hub, Act(alice, ShowConversations(start + 1, end, 10)))  # exclusive
    ((found,),) = [[e for e in test_hub.received(alice) if isinstance(e, ConversationsAre)]]
    assert [c.target for c in found.conversations] == ["bob"]


# --- a real server, over real sockets ----------------------------------------------------------

CAPS = "batch server-time message-tags echo-message labeled-response draft/chathistory"


async def request_caps(client: IrcClient, caps: str = CAPS) -> None:
    """Ask for ``caps`` once connected, and read the server's answer."""
    await client.send(f"CAP REQ :{caps}")
    await client.receive_until("CAP")


def in_batch(messages: list[Message]) -> list[str]:
    """The texts of a chathistory batch's PRIVMSGs (the batch must open and close)."""
    opened = [m for m in messages if m.command == "BATCH" and m.params[0].startswith("+")]
    assert opened
    assert opened[-1].params[1] == "chathistory"
    reference = opened[-1].params[0][1:]
    assert messages[-1].params == (f"-{reference}",)
    return [m.params[1] for m in messages if m.command == "PRIVMSG"]


async def test_chathistory_over_a_real_server(start_server: StartServer, tmp_path: Path) -> None:
    server = await start_server(
        irc=True, database=str(tmp_path / "db"), history=HistoryConfig(ring=100)
    )
    alice = await connect(server.irc_port, server.clients)
    await alice.register("alice", caps=CAPS, lobby=False)
    await alice.send("JOIN #rust")
    joined = await alice.receive_until("366")
    assert not [m for m in joined if m.command == "BATCH"]  # with chathistory: it asks
    ids = []
    for i in range(10):
        await alice.send(f"PRIVMSG #rust :m{i}")
        (echo,) = await alice.receive_until("PRIVMSG")
        ids.append(echo.tags["msgid"])
    await alice.send(f"CHATHISTORY BEFORE #rust msgid={ids[6]} 2")
    assert in_batch(await read_batch(alice)) == ["m4", "m5"]
    await alice.send(f"CHATHISTORY AFTER #rust msgid={ids[3]} 3")
    assert in_batch(await read_batch(alice)) == ["m4", "m5", "m6"]
    await alice.send(f"CHATHISTORY BETWEEN #rust msgid={ids[9]} msgid={ids[0]} 3")
    assert in_batch(await read_batch(alice)) == ["m6", "m7", "m8"]
    await alice.send(f"@label=q1 CHATHISTORY AROUND #rust msgid={ids[7]} 3")
    answer = await read_batch(alice)
    assert answer[0].tags.get("label") == "q1"
    assert answer[0].params[1] == "labeled-response"
    assert in_batch(answer[1:-1]) == ["m6", "m7", "m8"]
    await alice.send("CHATHISTORY LATEST #elsewhere * 10")
    (fail,) = await alice.receive_until("FAIL")
    assert fail.params[:4] == ("CHATHISTORY", "INVALID_TARGET", "LATEST", "#elsewhere")
    await alice.send("CHATHISTORY LATEST #rust msgid=nonsense 10")
    (fail,) = await alice.receive_until("FAIL")
    assert fail.params[:3] == ("CHATHISTORY", "INVALID_PARAMS", "LATEST")


async def read_batch(client: IrcClient) -> list[Message]:
    """Read one batch, with the batches inside it, from its first line to its last."""
    messages = [await client.receive()]
    assert messages[0].command == "BATCH", messages
    depth = 1
    while depth:
        message = await client.receive()
        messages.append(message)
        if message.command == "BATCH":
            depth += 1 if message.params[0].startswith("+") else -1
    return messages


async def test_scrolling_back_past_memory_reads_the_database(
    start_server: StartServer, tmp_path: Path
) -> None:
    # Memory keeps the last 5 of #rust; the 30 before them are on disk (or queued for it).
    server = await start_server(
        irc=True,
        database=str(tmp_path / "db"),
        history=HistoryConfig(ring=5),
        limits=Limits(history_lines=5),  # (the ring keeps at least what newcomers are shown)
    )
    alice = await connect(server.irc_port, server.clients)
    await alice.register("alice", caps=CAPS, lobby=False)
    await alice.send("JOIN #rust")
    await alice.receive_until("366")
    ids = []
    for i in range(35):
        await alice.send(f"PRIVMSG #rust :m{i}")
        (echo,) = await alice.receive_until("PRIVMSG")
        ids.append(echo.tags["msgid"])
    await alice.send(f"CHATHISTORY BEFORE #rust msgid={ids[-1]} 20")
    assert in_batch(await read_batch(alice)) == [f"m{i}" for i in range(14, 34)]
    await alice.send(f"CHATHISTORY AFTER #rust msgid={ids[0]} 100")
    assert in_batch(await read_batch(alice)) == [f"m{i}" for i in range(1, 35)]
    await alice.send("PRIVMSG #rust :still here")
    (echo,) = await alice.receive_until("PRIVMSG")
    assert echo.params == ("#rust", "still here")


async def test_a_read_past_its_deadline_fails_that_query_only(
    start_server: StartServer, tmp_path: Path
) -> None:
    history = HistoryConfig(ring=2, lookup_timeout=0.0)  # a deadline that has always passed
    server = await start_server(
        irc=True, database=str(tmp_path / "db"), history=history, limits=Limits(history_lines=2)
    )
    alice = await connect(server.irc_port, server.clients)
    await alice.register("alice", caps=CAPS, lobby=False)
    await alice.send("JOIN #rust")
    await alice.receive_until("366")
    for i in range(5):
        await alice.send(f"PRIVMSG #rust :m{i}")
        await alice.receive_until("PRIVMSG")
    await alice.send("CHATHISTORY LATEST #rust * 10")  # needs the database: refused
    (fail,) = await alice.receive_until("FAIL")
    assert fail.params[:4] == ("CHATHISTORY", "MESSAGE_ERROR", "LATEST", "#rust")
    await alice.send("CHATHISTORY LATEST #rust * 2")  # memory holds it all: answered
    assert in_batch(await read_batch(alice)) == ["m3", "m4"]


async def test_private_history_and_targets_over_a_real_server(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server(irc=True, database=str(tmp_path / "db"), history=HistoryConfig())
    alice = await connect(server.irc_port, server.clients)
    await new_account(alice, "alice")
    bob = await connect(server.irc_port, server.clients)
    await new_account(bob, "bob")
    await request_caps(alice)
    await alice.send("PRIVMSG bob :psst")
    (got,) = await alice.receive_until("PRIVMSG")  # its echo, with its msgid and time
    await bob.receive_until("PRIVMSG")
    await bob.send("QUIT")
    await bob.expect_closed()
    again = await connect(server.irc_port, server.clients)  # bob, back later
    await logged_in(again, "bob")
    await request_caps(again)
    await again.send("CHATHISTORY LATEST alice * 10")
    history = await read_batch(again)
    assert in_batch(history) == ["psst"]
    (line,) = [m for m in history if m.command == "PRIVMSG"]
    assert line.tags["msgid"] == got.tags["msgid"]
    assert line.params[0] == "bob"
    always = "timestamp=2020-01-01T00:00:00.000Z timestamp=2262-01-01T00:00:00.000Z"
    await again.send(f"CHATHISTORY TARGETS {always} 10")
    targets = await read_batch(again)
    assert targets[0].params[1] == "draft/chathistory-targets"
    listed = [m.params[1:] for m in targets if m.command == "CHATHISTORY"]
    assert listed == [("alice", got.tags["time"])]


def test_sqlite_stops_a_read_at_its_deadline() -> None:
    database = Database.open(":memory:")
    try:
        _saved(database, [said(i) for i in range(2000)])
        query = HistoryQuery(LATEST, 100, events=True)
        assert len(database.read("#a", query, deadline=float("inf"))) == 100
        with pytest.raises(sqlite3.OperationalError, match="interrupted"):
            database.read("#a", HistoryQuery(AFTER, 2000, AtId(0), events=True), deadline=0.0)
        assert len(database.read("#a", query, deadline=float("inf"))) == 100  # usable again
    finally:
        database.close()
