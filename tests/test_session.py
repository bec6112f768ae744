"""A session alone, with a host of the test's own: all it knows of the server is :class:`Host`."""

from __future__ import annotations

import trio
import trio.testing

from tests.names import nick
from trio_chat.core.delivery import Delivery
from trio_chat.core.events import Goodbye, Quit, Registered, Said, Say
from trio_chat.core.hub import Hub, Request
from trio_chat.core.requests import Act, Register
from trio_chat.frontends.line import LineFrontEnd
from trio_chat.shell.credentials import Authenticator
from trio_chat.shell.session import Session, SessionSettings


class Host:
    """Everything a session may ask of its server, recorded."""

    def __init__(self, inbox: trio.MemorySendChannel[Request]) -> None:
        self.inbox = inbox
        self.settings = SessionSettings(flood_rate=0)
        self.authenticator = Authenticator(Hub())  # no account here: nobody to check
        self.registrations: set[trio.CancelScope] = set()
        self.watched: set[Session] = set()
        self.ever_watched: list[Session] = []
        self.delays: list[float] = []

    def track_registration(self, scope: trio.CancelScope) -> None:
        self.registrations.add(scope)

    def untrack_registration(self, scope: trio.CancelScope) -> None:
        self.registrations.remove(scope)

    def watch(self, session: Session) -> None:
        self.watched.add(session)
        self.ever_watched.append(session)

    def unwatch(self, session: Session) -> None:
        self.watched.remove(session)

    def flood_delayed(self, seconds: float) -> None:
        self.delays.append(seconds)


async def receive_line(stream: trio.abc.ReceiveStream) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        data += await stream.receive_some(1)
    return data


async def test_a_session_registers_chats_and_leaves_through_its_host_alone() -> None:
    inbox, requests = trio.open_memory_channel[Request](10)
    host = Host(inbox)
    ours, theirs = trio.testing.memory_stream_pair()
    session = Session(host, ours, LineFrontEnd(), "peer", registration_timeout=10)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(session.run)
        assert await receive_line(theirs) == b"* what is your name?\n"
        assert len(host.registrations) == 1  # shutdown could cancel it now

        # The test plays the hub: it answers the registration as the hub would.
        await theirs.send_all(b"alice\n")
        register = await requests.receive()
        assert isinstance(register, Register)
        assert register.nick == nick("alice")
        member = register.member
        member.outbox.offer(Delivery([Registered("alice", 1, 0)], personal=True))
        await trio.testing.wait_all_tasks_blocked()
        assert not host.registrations
        assert host.watched == {session}  # chatting: under the watchdog's eye

        await theirs.send_all(b"hello\n")
        assert await requests.receive() == Act(member, Say("hello"))
        member.outbox.offer(Delivery([Said("#lobby", "alice", "hello")]))
        assert await receive_line(theirs) == b"<alice> hello\n"

        await theirs.send_all(b"/quit\n")
        assert await requests.receive() == Act(member, Quit())
        member.outbox.offer(Delivery([Goodbye()], personal=True))
        member.outbox.close()  # the hub removed it: once the goodbye is written, it ends
        assert await receive_line(theirs) == b"* bye\n"
    assert host.ever_watched == [session]
    assert not host.watched
