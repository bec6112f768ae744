"""Taking a message back (IRC's draft/message-redaction): who may, who hears, what history keeps."""

from __future__ import annotations

from pathlib import Path

from tests import test_hub
from tests.conftest import StartServer
from tests.names import nick, room, roster
from tests.test_chathistory import CAPS, in_batch, read_batch
from tests.test_hub import with_account
from tests.test_irc import feed, registered, see
from tests.test_moderation_persistence import connect
from trio_chat.core.events import (
    Entry,
    JoinRoom,
    PrivateMessage,
    Redact,
    Redacted,
    RoomEntered,
    Said,
    Say,
    Tell,
)
from trio_chat.core.history import History, Redaction, RoomEntry, conversation_key
from trio_chat.core.hub import Hub
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.requests import Act
from trio_chat.shell.archive import HistoryConfig
from trio_chat.shell.database import Commit, Database

T0 = 1_800_000_000.0


def said_ids(hub: Hub, key: str) -> list[int]:
    assert hub.history is not None
    return [entry.id for entry in hub.history.recent(key, 100)]


def test_a_message_is_taken_back_by_its_author_or_the_rooms_operator_only() -> None:
    hub = Hub(clock=lambda: T0, history=History(10, 10))
    op, alice, bob = test_hub.registered(hub, "op", "alice", "bob")
    test_hub.turn(hub, Act(op, JoinRoom(room("#rust"))))  # the first in: its operator
    test_hub.turn(hub, Act(alice, JoinRoom(room("#rust"))), Act(bob, JoinRoom(room("#rust"))))
    test_hub.turn(hub, Act(alice, Say("one", room("#rust"))), Act(alice, Say("two", room("#rust"))))
    one, two = said_ids(hub, "#rust")[-2:]
    for member in (op, alice, bob):
        test_hub.received(member)
    test_hub.turn(hub, Act(bob, Redact(room("#rust"), one)))
    assert test_hub.received(bob) == [Refusal(Reason.REDACT_FORBIDDEN, "#rust", str(one))]
    test_hub.turn(hub, Act(alice, Redact(room("#rust"), one, "typo")))
    redacted = Redacted("#rust", "alice", one, "typo")
    assert redacted in test_hub.received(bob)
    assert redacted in test_hub.received(op)
    test_hub.turn(hub, Act(op, Redact(room("#rust"), two)))
    assert Redacted("#rust", "op", two) in test_hub.received(alice)
    assert one not in said_ids(hub, "#rust")
    assert two not in said_ids(hub, "#rust")
    assert hub.history is not None
    assert [c for c in hub.history.take_unsaved() if isinstance(c, Redaction)] == [
        Redaction("#rust", one),
        Redaction("#rust", two),
    ]
    test_hub.turn(hub, Act(alice, Redact(room("#rust"), one)))  # gone: nothing to take back
    test_hub.turn(hub, Act(alice, Redact(room("#go"), one)))
    assert test_hub.received(alice) == [
        Refusal(Reason.REDACT_UNKNOWN, "#rust", str(one)),
        Refusal(Reason.REDACT_INVALID_TARGET, "#go", str(one)),
    ]


def test_a_private_message_is_taken_back_from_both_ends_copies() -> None:
    hub = Hub(clock=lambda: T0, history=History(10, 10))
    alice, bob = with_account(hub, "alice"), with_account(hub, "bob")
    test_hub.turn(hub, Act(alice, PrivateMessage(nick("bob"), "oops")))
    (message,) = said_ids(hub, conversation_key("alice", "bob"))
    assert said_ids(hub, conversation_key("bob", "alice")) == [message]
    test_hub.received(alice)
    test_hub.received(bob)
    test_hub.turn(hub, Act(bob, Redact(nick("alice"), message)))  # not bob's to take back
    assert test_hub.received(bob) == [Refusal(Reason.REDACT_FORBIDDEN, "alice", str(message))]
    test_hub.turn(hub, Act(alice, Redact(nick("bob"), message)))
    assert test_hub.received(alice) == [Redacted("bob", "alice", message)]
    assert test_hub.received(bob) == [Redacted("bob", "alice", message)]
    assert said_ids(hub, conversation_key("alice", "bob")) == []
    assert said_ids(hub, conversation_key("bob", "alice")) == []


def test_the_database_forgets_an_entry_taken_back(tmp_path: Path) -> None:
    database = Database.open(str(tmp_path / "db"))
    try:
        entries = [Entry(i, T0, Said("#a", "x", str(i), id=i)) for i in (1, 2)]
        database.save(Commit.of(RoomEntry("#a", "#a", e) for e in entries), max_per_room=10)
        database.save(Commit.of([Redaction("#a", 1)]), max_per_room=10)
        history = History(10, 10)
        database.load(history)
        assert [e.id for e in history.recent("#a", 10)] == [2]
    finally:
        database.close()


def test_irc_redact_is_parsed_and_told_only_to_those_with_the_capability() -> None:
    front_end = registered("draft/message-redaction")
    (refused,) = feed(front_end, "REDACT #rust 123")  # not in it (yet)
    assert isinstance(refused, Tell)
    assert see(front_end, [refused.event]) == [
        ":irc.test FAIL REDACT INVALID_TARGET #rust :You are not in that channel"
    ]
    see(front_end, [RoomEntered("#rust", roster("alice"), "")])
    assert feed(front_end, "REDACT #rust 123 :wrong room") == [
        Redact(room("#rust"), 123, "wrong room")
    ]
    (unknown,) = feed(front_end, "REDACT #rust abc")
    assert isinstance(unknown, Tell)
    assert see(front_end, [unknown.event]) == [
        ":irc.test FAIL REDACT UNKNOWN_MSGID #rust abc :No such message"
    ]
    redacted = Redacted("#rust", "bob", 123, "spam", "b", "host")
    assert see(front_end, [redacted]) == [":bob!b@host REDACT #rust 123 spam"]
    assert see(registered(), [redacted]) == []
    forbidden = Refusal(Reason.REDACT_FORBIDDEN, "#rust", "123")
    assert see(front_end, [forbidden]) == [
        ":irc.test FAIL REDACT REDACT_FORBIDDEN #rust 123 :message 123 is not yours to take back"
    ]


async def test_a_message_taken_back_leaves_chathistory_and_the_database(
    start_server: StartServer, tmp_path: Path
) -> None:
    database = str(tmp_path / "db")
    server = await start_server(irc=True, database=database, history=HistoryConfig())
    alice = await connect(server.irc_port, server.clients)
    await alice.register("alice", caps=f"{CAPS} draft/message-redaction", lobby=False)
    await alice.send("JOIN #rust")
    await alice.receive_until("366")
    for text in ("keep", "take back"):
        await alice.send(f"PRIVMSG #rust :{text}")
        (echo,) = await alice.receive_until("PRIVMSG")
    await alice.send(f"REDACT #rust {echo.tags['msgid']}")
    (redact,) = await alice.receive_until("REDACT")
    assert redact.params == ("#rust", echo.tags["msgid"])
    await alice.send("CHATHISTORY LATEST #rust * 10")
    assert in_batch(await read_batch(alice)) == ["keep"]
    server.stop.set()
    await server.finished.wait()
    saved = Database.open(database)
    try:
        history = History(10, 10)
        saved.load(history)
        texts = [e.event.text for e in history.recent("#rust", 10) if isinstance(e.event, Said)]
        assert texts == ["keep"]
    finally:
        saved.close()
