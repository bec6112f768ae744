"""Running a room over the plain protocol, through a running server on real sockets.

Every client connects from 127.0.0.1, so every one has the same cloaked host: a ban or a mute
of one member's host names them all (as it would name everyone behind one address). Each step
waits for the lines it causes, in order, so nothing here depends on timing.
"""

from __future__ import annotations

from tests.chat_client import ChatClient, RunningServer
from tests.conftest import StartServer
from trio_chat.core.accounts import hash_password
from trio_chat.shell.credentials import AccountRules


async def enter(server: RunningServer, nick: str, roster: str) -> ChatClient:
    """Connect as ``nick``, join #rust (seeing ``roster``) and leave #lobby: one room, #rust."""
    client = await server.join(nick)
    await client.send("/join #rust")
    await client.expect(f"* welcome to #rust! online {roster}")
    await client.send("/part #lobby")
    await client.expect("* you left #lobby")
    return client


async def everyone(clients: tuple[ChatClient, ...], *lines: str) -> None:
    for client in clients:
        await client.expect(*lines)


async def test_an_operator_runs_a_room_over_the_plain_protocol(start_server: StartServer) -> None:
    rules = AccountRules(failed_login_delay=0.01, oper_logins=(("root", hash_password("pw")),))
    server = await start_server(accounts=rules)
    # Whoever makes a room runs it, and everyone sees her mark.
    alice = await enter(server, "alice", "(1): @alice")
    bob = await enter(server, "bob", "(2): @alice, bob")
    await alice.expect("* bob joined")
    carol = await enter(server, "carol", "(3): @alice, bob, carol")
    await everyone((alice, bob), "* carol joined")
    room = (alice, bob, carol)

    # Only operators set the topic (+t is on in a new room) or the modes.
    await bob.send("/topic mine now")
    await bob.expect("! you are not an operator of #rust")
    await bob.send("/mode +m")
    await bob.expect("! you are not an operator of #rust")
    await carol.send("/mode")
    await carol.expect("* modes of #rust: +tn")

    # Moderated: without voice, bob is told why his line went nowhere.
    await alice.send("/mode +m")
    await everyone(room, "* alice set +m")
    await bob.send("hello?")
    await bob.expect("! #rust is moderated: only members with voice speak there")
    await alice.send("/voice bob")
    await everyone(room, "* alice set +v bob")
    await bob.send("hello!")
    await everyone(room, "<bob> hello!")
    await carol.send("/who")
    await carol.expect("* online (3): @alice, +bob, carol")
    await alice.send("/mode -m")
    await everyone(room, "* alice set -m")

    # A mute by name silences carol's host (the m: extban); she stays, and hears why.
    await alice.send("/mute carol")
    (muted,) = {await client.receive_line() for client in room}
    assert muted.startswith("* alice set +b m:*!*@"), muted
    assert muted.endswith(".ip"), muted  # a cloak, never 127.0.0.1
    host = muted.removeprefix("* alice set +b m:*!*@")
    await carol.send("can I speak?")
    await carol.expect("! you are muted in #rust")
    await alice.send("/unmute carol")
    await everyone(room, f"* alice set -b m:*!*@{host}")
    await carol.send("and now?")
    await everyone(room, "<carol> and now?")

    # A kick: out, but free to come back.
    await alice.send("/kick bob calm down")
    await everyone((alice, carol), "* alice kicked bob out of #rust (calm down)")
    await bob.expect(
        "* alice kicked you out of #rust (calm down)", "* you are in no room now (try /join #name)"
    )
    await bob.send("/join #rust")
    await bob.expect("* welcome to #rust! online (3): @alice, bob, carol")
    await everyone((alice, carol), "* bob joined")

    # A ban by name bans bob's host and puts him out; another nickname does not get him in.
    await alice.send("/ban bob spam")
    await everyone(room, f"* alice set +b *!*@{host}")
    await everyone((alice, carol), "* alice kicked bob out of #rust (spam)")
    await bob.expect(
        "* alice kicked you out of #rust (spam)", "* you are in no room now (try /join #name)"
    )
    await bob.send("/nick robert")
    await bob.expect("* bob is now robert")
    await bob.send("/join #rust")
    await bob.expect("! you are banned from #rust")
    await carol.send("/mode +b")
    await carol.expect(f"* bans in #rust (1): *!*@{host} (by alice)")

    # Server operators: a wrong password, then the right one, then a kill.
    await carol.send("/kill robert enough")
    await carol.expect("! only server operators may do that")
    await alice.send("/oper root wrong")
    await alice.expect("! wrong operator name or password")
    await alice.send("/oper root pw")
    await alice.expect("* you are a server operator now (root)")
    await alice.send("/serverbans")
    await alice.expect("* no server bans")
    await alice.send("/kill robert enough")
    assert await bob.expect_closed() == ["! alice put you off the server (enough)"]
