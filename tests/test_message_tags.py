"""Message ids and tags: given by the hub in its one order, rendered by IRC's message-tags.

The hub half drives a real :class:`Hub` without Trio; the IRC half feeds the front end lines
and deliveries, as the shell would.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests import test_hub
from tests.names import nick, room, roster
from tests.test_irc import feed, registered, see
from trio_chat.core.delivery import Delivery
from trio_chat.core.events import (
    Answered,
    Answering,
    Departed,
    Emoted,
    Entry,
    Event,
    Joined,
    JoinRoom,
    Labeled,
    LeaveReason,
    PrivateFrom,
    PrivateMessage,
    PrivateTo,
    Said,
    Say,
    Signal,
    Signalled,
    Tell,
)
from trio_chat.core.history import History, conversation_key, decode_event, kept
from trio_chat.core.hub import Hub, first_id
from trio_chat.core.replication import shared, split_labeled
from trio_chat.core.requests import Act, Disconnect
from trio_chat.frontends.base import IGNORED
from trio_chat.frontends.irc import Numeric
from trio_chat.shell.database import Commit, Database

T0 = 1_800_000_000.0

# --- the hub gives every event its place in the one order --------------------------------


def test_a_fresh_hub_numbers_from_the_time_so_ids_grow_across_restarts() -> None:
    assert Hub(clock=lambda: T0).last_id == first_id(T0) == int(T0 * 1_000_000)
    history = History(10, 10)
    history.last_id = first_id(T0 + 60) + 5  # what a database saved, later than now
    assert Hub(clock=lambda: T0, history=history).last_id == first_id(T0 + 60) + 5


def test_every_event_of_a_room_and_every_private_message_has_the_next_id() -> None:
    hub = Hub(clock=lambda: T0, history=History(10, 10))
    alice, bob = test_hub.registered(hub, "alice", "bob")
    start = hub.last_id
    test_hub.turn(
        hub,
        Act(alice, Say("hi")),
        Act(alice, PrivateMessage(nick("bob"), "psst")),
        Act(bob, Say("ho", tags=(("+draft/reply", str(start + 1)),))),
    )
    to_bob, to_alice = test_hub.received(bob), test_hub.received(alice)
    said = [e for e in to_bob if isinstance(e, Said)]
    assert [e.id for e in said] == [start + 1, start + 3]
    assert said[1].tags == (("+draft/reply", str(start + 1)),)
    (private,) = [e for e in to_bob if isinstance(e, PrivateFrom)]
    (copy,) = [e for e in to_alice if isinstance(e, PrivateTo)]
    assert private.id == copy.id == start + 2  # one message, one id, at both ends
    assert hub.history is not None
    assert [e.id for e in hub.history.recent("#lobby", 2)] == [start + 1, start + 3]


def test_a_departure_from_several_rooms_is_one_event_with_one_id_in_each() -> None:
    hub = Hub(clock=lambda: T0, history=History(10, 10))
    alice, bob = test_hub.registered(hub, "alice", "bob")
    test_hub.turn(hub, Act(alice, JoinRoom(room("#rust"))), Act(bob, JoinRoom(room("#rust"))))
    test_hub.turn(hub, Disconnect(bob, LeaveReason.QUIT))
    (departed,) = [e for e in test_hub.received(alice) if isinstance(e, Departed)]
    assert hub.history is not None
    for key in ("#lobby", "#rust"):
        assert hub.history.recent(key, 1)[0].id == departed.id == hub.last_id


def test_a_signal_goes_to_the_room_and_is_kept_only_if_it_asks() -> None:
    hub = Hub(clock=lambda: T0, history=History(10, 10))
    alice, bob = test_hub.registered(hub, "alice", "bob")
    test_hub.turn(
        hub,
        Act(alice, Signal((("+typing", "active"),))),
        Act(alice, Signal((("+draft/react", "ok"), ("+draft/reply", "1")))),
    )
    signals = [e for e in test_hub.received(bob) if isinstance(e, Signalled)]
    assert [e.tags[0][0] for e in signals] == ["+typing", "+draft/react"]
    assert hub.history is not None
    (entry,) = hub.history.recent("#lobby", 1)
    assert entry.event == signals[1]
    assert entry.id == signals[1].id
    assert not kept(signals[0])
    assert kept(signals[1])


def test_each_accounts_private_messages_have_a_key_no_room_has() -> None:
    assert conversation_key("alice", "bob") == "@alice bob"
    assert conversation_key("bob", "alice") != conversation_key("alice", "bob")  # two copies
    assert not conversation_key("alice", "bob").startswith("#")  # never a room's name


# --- saved with their ids ------------------------------------------------------------------


def test_a_database_made_before_ids_is_upgraded_and_keeps_its_entries(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE history (id INTEGER PRIMARY KEY, room_key TEXT NOT NULL, room TEXT NOT"
        " NULL, time REAL NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL);"
        "CREATE INDEX history_by_room ON history (room_key, id);"
        "INSERT INTO history VALUES (7, '#a', '#a', 1.0, 'Said',"
        ' \'{"room":"#a","nick":"x","text":"old","notice":false,"user":"","account":"",'
        '"host":""}\');'
    )
    old.commit()
    old.close()
    database = Database.open(str(path))
    history = History(10, 10)
    database.load(history)
    (entry,) = history.recent("#a", 5)
    assert entry == Entry(7, 1.0, Said("#a", "x", "old"))
    assert entry.event.id == 7  # saved before events carried ids: the entry's id is theirs
    # A departure is one event in each of its rooms: the same id, twice, now fits.
    gone = Departed("x", LeaveReason.QUIT, id=8)
    history.record("#a", "#a", gone, 2.0)
    history.record("#b", "#b", gone, 2.0)
    database.save(Commit.of(history.take_unsaved()), max_per_room=10)
    reloaded = History(10, 10)
    database.load(reloaded)
    assert [e.id for e in reloaded.recent("#b", 5)] == [8]
    assert [e.id for e in reloaded.recent("#a", 5)] == [7, 8]
    database.close()


def test_a_saved_event_comes_back_with_its_id_and_tags() -> None:
    from trio_chat.core.history import encode_event

    said = Said("#a", "x", "hi", tags=(("+draft/reply", "3"),), id=4)
    back = decode_event(*encode_event(said))
    assert back == said
    assert back.id == 4
    assert back.tags == said.tags


# --- IRC: message-tags ---------------------------------------------------------------------


def test_without_message_tags_a_client_sees_exactly_the_lines_it_saw_before() -> None:
    front_end = registered("server-time")
    said = Said("#lobby", "bob", "hi", tags=(("+draft/reply", "1"),), id=42)
    assert see(front_end, [said], personal=False) == [
        "@time=2023-11-14T22:13:20.250Z :bob!bob@irc.test PRIVMSG #lobby :hi"
    ]
    assert see(front_end, [Signalled("#lobby", "bob", (("+typing", "active"),), id=43)]) == []


def test_with_message_tags_messages_have_their_msgid_and_client_tags() -> None:
    front_end = registered("message-tags account-tag")
    said = Said("#lobby", "bob", "hi", account="Bob", tags=(("+draft/reply", "a;b c"),), id=42)
    assert see(front_end, [said], personal=False) == [
        r"@msgid=42;account=Bob;+draft/reply=a\:b\sc :bob!bob@irc.test PRIVMSG #lobby :hi"
    ]
    signalled = Signalled("#lobby", "bob", (("+typing", "active"),), id=43)
    assert see(front_end, [signalled]) == [
        "@msgid=43;+typing=active :bob!bob@irc.test TAGMSG #lobby"
    ]
    emoted = Emoted("#lobby", "bob", "waves", id=44)
    joined = Joined("#lobby", "carol", id=45)
    assert see(front_end, [emoted, joined]) == [
        "@msgid=44 :bob!bob@irc.test PRIVMSG #lobby :\x01ACTION waves\x01",
        "@msgid=45 :carol!carol@irc.test JOIN #lobby",
    ]


def test_a_shared_delivery_is_rendered_once_per_mix_of_tag_capabilities() -> None:
    plain, tagged = registered(), registered("message-tags", nickname="carol")
    delivery = Delivery([Said("#lobby", "bob", "hi", id=42)], time=T0)
    assert plain.render(delivery) == b":bob!bob@irc.test PRIVMSG #lobby :hi\r\n"
    assert tagged.render(delivery) == b"@msgid=42 :bob!bob@irc.test PRIVMSG #lobby :hi\r\n"


def test_private_messages_and_their_echo_carry_the_same_msgid() -> None:
    front_end = registered("message-tags echo-message")
    private = PrivateFrom("bob", "psst", tags=(("+typing", "done"),), id=9)
    copy = PrivateTo("bob", "back", id=10)
    assert see(front_end, [private, copy]) == [
        "@msgid=9;+typing=done :bob!bob@irc.test PRIVMSG alice :psst",
        "@msgid=10 :alice!~al@irc.test PRIVMSG bob :back",
    ]
    signal = PrivateFrom("bob", "", tags=(("+typing", "active"),), signal=True, id=11)
    assert see(front_end, [signal]) == ["@msgid=11;+typing=active :bob!bob@irc.test TAGMSG alice"]


def test_client_tags_are_taken_with_message_tags_and_only_then() -> None:
    tagged = registered("message-tags")
    assert feed(tagged, "@+draft/reply=7;msgid=forged;label=x PRIVMSG #rust :hi") == [
        Say("hi", room("#rust"), tags=(("+draft/reply", "7"),))  # server tags are not a client's
    ]
    assert feed(tagged, "@+typing=active TAGMSG #rust,bob") == [
        Signal((("+typing", "active"),), room("#rust")),
        PrivateMessage(nick("bob"), "", tags=(("+typing", "active"),), signal=True),
    ]
    assert feed(tagged, "TAGMSG") == [Tell(Numeric("461", ("TAGMSG", "Not enough parameters")))]
    plain = registered()
    assert feed(plain, "@+draft/reply=7 PRIVMSG #rust :hi") == [Say("hi", room("#rust"))]
    assert feed(plain, "@+typing=active TAGMSG #rust") == [
        Tell(Numeric("421", ("TAGMSG", "Unknown command")))
    ]
    assert feed(tagged, "@+typing TAGMSG #no spaces") == [Signal((("+typing", ""),), room("#no"))]
    assert feed(tagged, "@+typing TAGMSG bad,nick!") == [
        PrivateMessage(nick("bad"), "", tags=(("+typing", ""),), signal=True),
        IGNORED,
    ]


def test_tags_past_4094_bytes_are_refused_with_417() -> None:
    # The limit counts all of a line's tags, as irctest's testLengthLimits sends them.
    tagged = registered("message-tags")
    at_limit = "foo=bar;+baz=" + "x" * 4081  # 4094 bytes between "@" and " "
    (said,) = feed(tagged, f"@{at_limit} PRIVMSG #rust :hi")
    assert isinstance(said, Say)
    assert said.tags == (("+baz", "x" * 4081),)  # (foo is not a client-only tag: not relayed)
    assert feed(tagged, f"@{at_limit}y PRIVMSG #rust :hi") == [
        Tell(Numeric("417", ("Input line was too long",)))
    ]


def test_a_message_that_would_be_split_when_relayed_is_refused_with_message_tags() -> None:
    # Split, its pieces would be several messages to the client, only the first with the msgid.
    tagged = registered("message-tags")
    mask = "alice!~al@irc.test"
    fits = "b" * (510 - len(f":{mask} PRIVMSG #rust :"))
    (said,) = feed(tagged, f"PRIVMSG #rust :{fits}")
    assert isinstance(said, Say)
    assert feed(tagged, f"PRIVMSG #rust :{fits}b") == [
        Tell(Numeric("417", ("Input line was too long",)))
    ]
    (plain,) = feed(registered(), f"PRIVMSG #rust :{fits}b")  # without tags: split, as before
    assert isinstance(plain, Say)


def test_a_long_message_split_for_irc_carries_its_msgid_on_the_first_line_only() -> None:
    # A client drops a line whose msgid it has seen: were the rest tagged alike, it would
    # keep only the first 400 bytes of a plain user's message. Time and account stay on all.
    from trio_chat.core.events import Recalled

    text = "é" * 1000 + " and the end"  # 2,012 bytes, as a plain user may send
    said = Said("#lobby", "bob", text, account="Bob", id=42)
    tagged = registered("message-tags server-time account-tag batch", nickname="carol")
    stamp = "time=2023-11-14T22:13:20.250Z"

    def lines(*events: Event, personal: bool = True) -> list[str]:
        # (Not test_irc.see: with their tags these lines are longer than 512 bytes, as allowed.)
        delivery = Delivery(events, personal=personal, time=1_700_000_000.25)
        return tagged.render(delivery).decode().splitlines()

    alone = lines(said)  # a personal delivery (private messages are rendered so)
    shared = lines(said, personal=False)  # a room's, rendered once per kind
    recalled = lines(Recalled("#lobby", (Entry(42, 1_700_000_000.25, said),)))[1:-1]
    batch = "batch=history1;"
    for rendered, before in ((alone, ""), (shared, ""), (recalled, batch)):
        assert len(rendered) == 5
        assert rendered[0].startswith(f"@{before}{stamp};msgid=42;account=Bob :bob!bob@irc.test ")
        assert all(line.startswith(f"@{before}{stamp};account=Bob :") for line in rendered[1:])


def test_history_lines_carry_msgid_in_their_batch() -> None:
    from trio_chat.core.events import Recalled

    front_end = registered("batch server-time message-tags")
    recalled = Recalled("#lobby", (Entry(5, T0, Said("#lobby", "bob", "old", id=5)),))
    assert see(front_end, [recalled]) == [
        ":irc.test BATCH +history1 chathistory #lobby",
        "@batch=history1;time=2027-01-15T08:00:00.000Z;msgid=5"
        " :bob!bob@irc.test PRIVMSG #lobby :old",
        ":irc.test BATCH -history1",
    ]
    assert roster("alice")  # (the names helper the registration used)


# --- labeled-response --------------------------------------------------------------------


def test_a_labelled_line_is_one_labelled_command_for_the_hub() -> None:
    front_end = registered("labeled-response batch")
    assert feed(front_end, "@label=a1 JOIN #a,#b") == [
        Labeled("a1", (JoinRoom(room("#a")), JoinRoom(room("#b"))))
    ]
    assert feed(front_end, "@label=a2 PONG x") == [Labeled("a2", ())]  # answered with ACK
    assert feed(front_end, "@label=" + "x" * 65 + " PONG x") == [IGNORED]  # too long: no label
    assert feed(registered(), "@label=a3 JOIN #a") == [JoinRoom(room("#a"))]  # without the cap


def test_the_hub_puts_a_labelled_commands_answer_between_two_marks() -> None:
    hub = Hub(clock=lambda: T0)
    alice, bob = test_hub.registered(hub, "alice", "bob")
    test_hub.turn(
        hub,
        Act(bob, Say("before")),
        Act(alice, Labeled("a1", (Say("hi"), Tell(Numeric("999", ("x",)))))),
        Act(bob, Say("after")),
    )
    seen = test_hub.received(alice)
    texts = [e.text if isinstance(e, Said) else e for e in seen]
    assert texts == [
        "before",
        Answering("a1"),
        "hi",
        Numeric("999", ("x",)),
        Answered("a1"),
        "after",
    ]


def test_an_answer_is_an_ack_its_one_line_labelled_or_a_batch() -> None:
    # (With echo-message: without it, our own line is no answer, and PRIVMSG's is an ACK.)
    front_end = registered("labeled-response batch message-tags echo-message")
    assert see(front_end, [Answering("a1"), Answered("a1")]) == ["@label=a1 :irc.test ACK"]
    said = Said("#lobby", "alice", "hi", id=3)
    assert see(front_end, [Answering("a2"), said, Answered("a2")]) == [
        "@label=a2;msgid=3 :alice!alice@irc.test PRIVMSG #lobby :hi"
    ]
    numeric = Numeric("999", ("x",))
    assert see(front_end, [Answering("a;3"), said, numeric, Answered("a;3")]) == [
        r"@label=a\:3 :irc.test BATCH +answer1 labeled-response",
        "@batch=answer1;msgid=3 :alice!alice@irc.test PRIVMSG #lobby :hi",
        "@batch=answer1 :irc.test 999 alice x",
        ":irc.test BATCH -answer1",
    ]
    without_echo = registered("labeled-response batch message-tags")
    assert see(without_echo, [Answering("a4"), said, Answered("a4")]) == ["@label=a4 :irc.test ACK"]


def test_a_labelled_message_to_oneself_labels_its_echo_and_delivers_it_after() -> None:
    front_end = registered("labeled-response batch message-tags echo-message")
    delivery = PrivateFrom("alice", "me", user="alice", id=4, recipient="alice")
    echo = PrivateTo("alice", "me", id=4)
    assert see(front_end, [Answering("s1"), delivery, echo, Answered("s1")]) == [
        "@label=s1;msgid=4 :alice!~al@irc.test PRIVMSG alice :me",
        "@msgid=4 :alice!alice@irc.test PRIVMSG alice :me",
    ]


def test_a_history_batch_in_an_answer_is_nested_in_it() -> None:
    from trio_chat.core.events import Recalled

    front_end = registered("labeled-response batch server-time")
    recalled = Recalled("#lobby", (Entry(5, T0, Said("#lobby", "bob", "old", id=5)),))
    assert see(front_end, [Answering("h"), recalled, Answered("h")]) == [
        "@label=h :irc.test BATCH +answer2 labeled-response",
        "@batch=answer2 :irc.test BATCH +history1 chathistory #lobby",
        "@batch=history1;time=2027-01-15T08:00:00.000Z :bob!bob@irc.test PRIVMSG #lobby :old",
        "@batch=answer2 :irc.test BATCH -history1",
        ":irc.test BATCH -answer2",
    ]


def test_a_labelled_commands_own_replies_stay_on_its_process() -> None:
    labeled = Labeled("a", (Tell(Numeric("999", ("x",))), Say("hi")))
    assert split_labeled(labeled) == ((Tell(Numeric("999", ("x",))),), Labeled("a", (Say("hi"),)))
    assert split_labeled(Labeled("b", (Say("hi"),))) == ((), Labeled("b", (Say("hi"),)))
    assert split_labeled(Labeled("c", (Tell(Numeric("1")),))) == ((Tell(Numeric("1")),), None)
    assert not shared(Labeled("c", (Tell(Numeric("1")),)))
    assert shared(labeled)
