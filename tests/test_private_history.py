"""An account's choice to keep none of its private messages: the hub, each front end, a server.

Private messages are kept for each end logged in to an account (tests/test_chathistory.py);
an account that turns that off has no copy kept at either end, its correspondents' included,
from then on; turned on again, new ones are kept. The choice is the account's: saved with it
(tests/test_account_store.py), and carried by the shared log (tests/test_replication.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import StartServer
from tests.names import nick
from tests.test_chathistory import in_batch, read_batch, request_caps
from tests.test_hub import received, registered, saved, turn, with_account
from tests.test_irc import feed, see
from tests.test_irc import registered as irc_registered
from tests.test_line import registered_front_end, usage
from tests.test_moderation_persistence import connect, new_account
from trio_chat.core.events import (
    PrivateFrom,
    PrivateHistorySet,
    PrivateMessage,
    PrivateTo,
    SetPrivateHistory,
    Tell,
)
from trio_chat.core.history import History, conversation_key
from trio_chat.core.hub import Hub
from trio_chat.core.members import Member
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.requests import Act
from trio_chat.frontends.base import IGNORED
from trio_chat.frontends.irc import IrcFrontEnd
from trio_chat.frontends.line import parse_line
from trio_chat.frontends.webjson import encode, parse_command
from trio_chat.shell.archive import HistoryConfig

T0 = 1_800_000_000.0


def kept(hub: Hub, owner: str, other: str) -> list[str]:
    """The texts kept in ``owner``'s copy of its conversation with ``other``."""
    assert hub.history is not None
    entries = hub.history.recent(conversation_key(owner, other), 10)
    return [e.event.text for e in entries if isinstance(e.event, PrivateFrom)]


def talk(hub: Hub, sender: Member, recipient: str, text: str) -> None:
    turn(hub, Act(sender, PrivateMessage(nick(recipient), text)))


# --- the hub ----------------------------------------------------------------------------------


def test_an_account_that_keeps_no_private_history_has_no_copy_kept_at_either_end() -> None:
    hub = Hub(clock=lambda: T0, history=History(10, 10))
    alice, bob = with_account(hub, "alice"), with_account(hub, "bob")
    talk(hub, alice, "bob", "kept")  # before the choice: both copies, as always
    received(alice), received(bob)
    turn(hub, Act(alice, SetPrivateHistory(on=False)))
    assert received(alice) == []  # not told before it is saved
    saved(hub)
    assert received(alice) == [PrivateHistorySet("alice", on=False)]
    talk(hub, alice, "bob", "said by alice")
    talk(hub, bob, "alice", "told to alice")
    # Neither end keeps either message (bob's copy is of messages with alice, who said no)...
    assert kept(hub, "alice", "bob") == ["kept"]  # ...and what was kept before stays.
    assert kept(hub, "bob", "alice") == ["kept"]
    # They were delivered all the same.
    assert [type(e) for e in received(alice)] == [PrivateTo, PrivateFrom]
    assert [type(e) for e in received(bob)] == [PrivateFrom, PrivateTo]


def test_an_account_that_keeps_its_private_history_again_has_new_messages_kept() -> None:
    hub = Hub(clock=lambda: T0, history=History(10, 10))
    alice, bob = with_account(hub, "alice"), with_account(hub, "bob")
    (guest,) = registered(hub, "guest")
    turn(hub, Act(alice, SetPrivateHistory(on=False)))
    saved(hub)
    talk(hub, guest, "alice", "not kept")
    talk(hub, alice, "bob", "nor this")
    turn(hub, Act(alice, SetPrivateHistory(on=True)))
    saved(hub)
    assert received(alice)[-1] == PrivateHistorySet("alice", on=True)
    talk(hub, guest, "alice", "kept")
    talk(hub, bob, "alice", "kept too")
    assert kept(hub, "alice", "guest") == ["kept"]
    assert kept(hub, "alice", "bob") == ["kept too"]
    assert kept(hub, "bob", "alice") == ["kept too"]


def test_bobs_choice_does_not_touch_alices_other_conversations() -> None:
    hub = Hub(clock=lambda: T0, history=History(10, 10))
    alice, bob = with_account(hub, "alice"), with_account(hub, "bob")
    with_account(hub, "carol")
    turn(hub, Act(bob, SetPrivateHistory(on=False)))
    saved(hub)
    talk(hub, alice, "bob", "to bob")
    talk(hub, alice, "carol", "to carol")
    assert kept(hub, "alice", "bob") == []
    assert kept(hub, "alice", "carol") == ["to carol"]
    assert kept(hub, "carol", "alice") == ["to carol"]
    assert bob.account is not None


def test_only_an_account_chooses_and_each_change_is_one_to_save() -> None:
    hub = Hub(history=History(10, 10))
    (guest,) = registered(hub, "guest")
    turn(hub, Act(guest, SetPrivateHistory(on=False)))
    assert received(guest) == [Refusal(Reason.PRIVATE_HISTORY_NEEDS_LOGIN)]
    assert hub.take_unsaved_accounts() == []
    alice = with_account(hub, "alice")
    # Two changes saved together are each told as they were made, in order.
    turn(hub, Act(alice, SetPrivateHistory(on=False)), Act(alice, SetPrivateHistory(on=True)))
    saved(hub)
    assert received(alice) == [
        PrivateHistorySet("alice", on=False),
        PrivateHistorySet("alice", on=True),
    ]
    account = hub.account("alice")
    assert account is not None
    assert account.private_history


# --- the front ends ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "command"),
    [
        (b"/private-history off", SetPrivateHistory(on=False)),
        (b"/private-history ON", SetPrivateHistory(on=True)),
        (b"/private-history", usage("/private-history on|off")),
        (b"/private-history maybe", usage("/private-history on|off")),
    ],
)
def test_the_plain_protocols_command(line: bytes, command: object) -> None:
    assert parse_line(line) == command


def test_the_plain_protocol_confirms_and_refuses_in_words() -> None:
    assert registered_front_end().see(
        [
            PrivateHistorySet("alice", on=False),
            PrivateHistorySet("alice", on=True),
            Refusal(Reason.PRIVATE_HISTORY_NEEDS_LOGIN),
        ]
    ) == [
        "* private messages of alice are no longer kept, at either end",
        "* private messages of alice are kept from now on",
        "! private messages are kept only for accounts: log in to choose whether yours are",
    ]


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("PRIVMSG NickServ :SET PRIVATE-HISTORY OFF", SetPrivateHistory(on=False)),
        ("PRIVMSG ns :set dm-history on", SetPrivateHistory(on=True)),  # ergo's name for it
    ],
)
def test_irc_asks_nickserv(line: str, command: object) -> None:
    assert feed(irc_registered(), line) == [command]


def test_irc_nickserv_answers_with_notices() -> None:
    front_end: IrcFrontEnd = irc_registered()
    (usage_notice,) = feed(front_end, "PRIVMSG NickServ :HELP")
    assert isinstance(usage_notice, Tell)
    assert feed(front_end, "NOTICE NickServ :SET PRIVATE-HISTORY OFF") == [IGNORED]  # (a notice)
    source = ":NickServ!NickServ@services NOTICE alice :"
    assert see(front_end, [usage_notice.event]) == [
        f"{source}SET PRIVATE-HISTORY ON|OFF (keep your account's private messages, or not)"
    ]
    assert see(
        front_end,
        [
            PrivateHistorySet("alice", on=False),
            PrivateHistorySet("alice", on=True),
            Refusal(Reason.PRIVATE_HISTORY_NEEDS_LOGIN),
        ],
    ) == [
        f"{source}Private messages of alice are no longer kept, at either end (older ones stay)",
        f"{source}Private messages of alice are kept from now on (CHATHISTORY reads them back)",
        f"{source}private messages are kept only for accounts: log in to choose whether yours are",
    ]


def test_the_pages_message_and_event() -> None:
    assert parse_command('{"type": "private_history", "on": false}') == SetPrivateHistory(False)
    refused = parse_command('{"type": "private_history", "on": "no"}')
    assert isinstance(refused, Tell)
    assert json.loads(encode(PrivateHistorySet("alice", on=True), 1.0) or "") == {
        "type": "private_history_set",
        "account": "alice",
        "on": True,
        "time": 1.0,
    }


# --- a real server ----------------------------------------------------------------------------


async def test_private_history_off_and_on_over_a_real_server(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server(irc=True, database=str(tmp_path / "db"), history=HistoryConfig())
    alice = await connect(server.irc_port, server.clients)
    await new_account(alice, "alice")
    bob = await connect(server.irc_port, server.clients)
    await new_account(bob, "bob")
    for client in (alice, bob):
        await request_caps(client)
    await alice.send("PRIVMSG NickServ :SET PRIVATE-HISTORY OFF")
    (notice,) = await alice.receive_until("NOTICE")
    assert notice.source == "NickServ!NickServ@services"
    assert "no longer kept" in notice.params[1]
    await alice.send("PRIVMSG bob :not kept")
    await bob.send("PRIVMSG alice :nor this")
    for client in (alice, bob):  # its own line echoed, and the other's
        assert [m.params[1] for m in await client.receive_until("PRIVMSG")] == ["not kept"]
        assert [m.params[1] for m in await client.receive_until("PRIVMSG")] == ["nor this"]
    await bob.send("CHATHISTORY LATEST alice * 10")
    assert in_batch(await read_batch(bob)) == []
    await alice.send("CHATHISTORY LATEST bob * 10")
    assert in_batch(await read_batch(alice)) == []
    # Back on: what comes next is kept, at both ends.
    await alice.send("PRIVMSG NickServ :SET PRIVATE-HISTORY ON")
    (notice,) = await alice.receive_until("NOTICE")
    assert "kept from now on" in notice.params[1]
    await alice.send("PRIVMSG bob :kept")
    for client in (alice, bob):
        await client.receive_until("PRIVMSG")
    await bob.send("CHATHISTORY LATEST alice * 10")
    assert in_batch(await read_batch(bob)) == ["kept"]
    await alice.send("CHATHISTORY LATEST bob * 10")
    assert in_batch(await read_batch(alice)) == ["kept"]
    # Without an account there is nothing to choose: NickServ says so.
    guest = await connect(server.irc_port, server.clients)
    await guest.register("guest")
    await guest.send("PRIVMSG NickServ :SET PRIVATE-HISTORY OFF")
    (refusal,) = await guest.receive_until("NOTICE")
    assert refusal.source == "NickServ!NickServ@services"
    assert "log in" in refusal.params[1]
