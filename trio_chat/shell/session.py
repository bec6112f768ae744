"""One connection, from registration to goodbye: a front end driven by a reader and a writer.

The session knows no wire format. Its front end (a sans-I/O object, see
:mod:`trio_chat.frontends.base`) turns the peer's bytes into inputs and the hub's deliveries into
bytes; the session moves the bytes, applies flood control and the timeouts, and decides what
happens when something stops: the peer, a timer, the hub, or the operator. ::

    Session.run()            registration (the front end's dialogue, under a timeout), then...
    └── _chat()              ...a reader alone, in a cancel scope, while the hub writes for it;
        │                    once a writer is needed, the member nursery:
        ├── _read()          peer -> front end -> flood control -> the hub's inbox
        └── _write...()      mailbox -> front end -> peer, when the hub cannot write at once

Exactly one party writes to the stream at any moment: on TCP (TLS too) the hub's own task,
through the mailbox's fast path, while nothing is queued; a backlog writer while something is
(:meth:`Session._write_backlog`); on in-memory streams, a writer for the whole session
(:meth:`Session._write`). See :mod:`trio_chat.shell.mailbox`.

A session knows its server only as a :class:`Host`: the hub's inbox, its settings, and three
things the server keeps for every session (shutdown cancels registrations; the watchdog watches
chatting sessions; the metrics count flood delays). So this module imports nothing from
:mod:`trio_chat.shell.server`, and a test can run a session with a host of its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import trio

from trio_chat.core.accounts import ticket_digest
from trio_chat.core.cloaks import cloak
from trio_chat.core.delivery import Delivery
from trio_chat.core.events import (
    AccountCreated,
    Event,
    LeaveReason,
    Quit,
    Registered,
    Reply,
    SaslChallenge,
    SaslFailed,
    SaslSucceeded,
    ShuttingDown,
    Tell,
    TicketGranted,
    TicketIs,
    TicketIssued,
)
from trio_chat.core.flood import TokenBucket
from trio_chat.core.hub import Request
from trio_chat.core.members import Member
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.requests import (
    Act,
    BecomeOperator,
    ChangePassword,
    CreateAccount,
    Disconnect,
    GrantTicket,
    LogIn,
    Login,
    Register,
    RevokeTicket,
)
from trio_chat.core.sasl import Challenge, CheckPassword, Exchange, Failed, Mechanism, Proven, Step
from trio_chat.frontends import base
from trio_chat.frontends.base import (
    AccountInput,
    Authenticate,
    ChangeOwnPassword,
    CheckTicket,
    DropTicket,
    Farewell,
    FrontEnd,
    Hangup,
    Ignored,
    Input,
    IssueTicket,
    OperLogin,
    RegisterAccount,
    SaslAbort,
    SaslResponse,
    SaslStart,
    Send,
)
from trio_chat.shell.credentials import Authenticator
from trio_chat.shell.listeners import socket_stream
from trio_chat.shell.mailbox import Item, Mailbox, Meter
from trio_chat.shell.tls import TlsStream

logger = logging.getLogger(__name__)

# What an account input asks the hub.
AccountRequest = LogIn | CreateAccount | ChangePassword | BecomeOperator

RECEIVE_BYTES = 65536  # per receive_some: big reads mean fewer trips through the event loop
# Requests a reader hands to the hub in one go (without yielding) when one receive brought
# several lines: the hub's next turn carries them all (larger writes to every member), and the
# other readers still get a turn at least every this many lines.
HAND_IN_BURST = 32
LAST_WORDS_TIMEOUT = 1.0  # seconds a final line may take to reach a peer that may not be reading
LEAVE_TIMEOUT = 5.0  # seconds a closing connection may wait for room in the inbox to say it left
LINGER_TIMEOUT = 2.0  # seconds a closed connection reads (and drops) what its peer still sends
LINGER_BYTES = 64 * 1024  # ...and at most this much: past either bound it is closed at once


@dataclass(frozen=True)
class SessionSettings:
    """What every session of one server is told: its mailbox's size, and its flood control."""

    mailbox_size: int = 256  # deliveries waiting for one member before it counts as too slow
    mailbox_bytes: int = 1 << 20  # bytes waiting for one member before it counts as too slow
    flood_burst: int = 10  # lines a member may send at once...
    flood_rate: float = 5.0  # ...then this many per second (0: no flood control)
    flood_kick_after: float = 30.0  # seconds over the rate without a break: "excess flood"
    meter: Meter | None = None  # what the mailboxes write, for the metrics (None: not counted)
    cloak_key: bytes = b"trio-chat"  # the key of members' cloaked hosts (--cloak-key)


class Host(Protocol):
    """What a session needs from the server that runs it (the shell's ``Server``)."""

    @property
    def inbox(self) -> trio.MemorySendChannel[Request]:
        """Where the session's requests go: the hub's inbox (or the shared log's)."""
        ...

    @property
    def settings(self) -> SessionSettings:
        """What the session is told."""
        ...

    @property
    def authenticator(self) -> Authenticator:
        """Who checks passwords and makes credentials, off the hub's task."""
        ...

    def track_registration(self, scope: trio.CancelScope) -> None:
        """Let shutdown cancel ``scope``, the registration's (at once if it has begun)."""
        ...

    def untrack_registration(self, scope: trio.CancelScope) -> None:
        """Forget ``scope``: the registration is over."""
        ...

    def watch(self, session: Session) -> None:
        """Put a chatting ``session`` under the watchdog's eye (send timeout, pings)."""
        ...

    def unwatch(self, session: Session) -> None:
        """Stop watching ``session``: it no longer chats."""
        ...

    def flood_delayed(self, seconds: float) -> None:
        """Count a line held back ``seconds`` by flood control (the metrics)."""
        ...


class Session:
    """One client: the front end's registration dialogue, then a reader and a writer."""

    # One per connection: no per-instance __dict__ (see docs/benchmarks.md, memory).
    __slots__ = (
        "_can_ping",
        "_eof",
        "_fd",
        "_idle",
        "_login",
        "_nursery",
        "_read_all",
        "_sasl",
        "_scope",
        "_writer",
        "address",
        "flood",
        "flooding_since",
        "front_end",
        "heard_at",
        "host",
        "leave_reason",
        "mailbox",
        "member",
        "peer",
        "pinged_at",
        "registration_requested",
        "registration_timeout",
        "sending_since",
        "stream",
    )

    def __init__(
        self,
        host: Host,
        stream: trio.abc.Stream,
        front_end: FrontEnd,
        peer: str,
        registration_timeout: float,
        *,
        address: str | None = None,
        ip: str = "",
    ) -> None:
        settings = host.settings
        self.host = host
        self.address = address  # the peer's, as per-address limits count it (None: exempt)
        self._login: Login | None = None  # proven while registering (SASL), not yet used
        self._sasl: Exchange | None = None  # a SASL exchange under way
        self.stream = stream
        self.front_end = front_end
        self.peer = peer
        self.registration_timeout = registration_timeout
        self.mailbox = Mailbox(settings.mailbox_size, settings.mailbox_bytes, settings.meter)
        self.member = Member(self.mailbox, peer)
        # Masks show a cloak of the address; the address itself only server operators see.
        self.member.address, self.member.group = ip, address or ""
        self.member.host = cloak(ip, settings.cloak_key) if ip else ""
        now = trio.current_time()
        self.flood = TokenBucket.full(settings.flood_burst, settings.flood_rate, now)
        self.flooding_since: float | None = None  # over the rate without a break since then
        self.registration_requested = False  # from then on the hub may count us as a member
        self.sending_since: float | None = None  # when the write in progress began
        self.heard_at = now  # when the peer last sent something
        self.pinged_at: float | None = None  # when it was pinged, if it has not answered since
        self._can_ping = True  # until its front end says its protocol has no keepalive
        # While chatting: what ends the chat (the reader's scope, then the member nursery's).
        self._scope: trio.CancelScope | None = None
        self._nursery: trio.Nursery | None = None  # the reader and writer's, once one is needed
        self._writer: Callable[[], Awaitable[None]] | None = None  # a writer waiting to start
        self._idle = False  # parked with no input in hand: a writer may cancel the reader
        self._read_all = False  # the peer quit or went: only the goodbye is left to deliver
        # A plain TCP socket's descriptor, read and written directly (-1: use the stream).
        self._fd = (
            transport.socket.fileno() if (transport := socket_stream(stream)) is stream else -1
        )
        self.leave_reason = LeaveReason.CONNECTION_LOST  # what to tell the hub if we just end
        self._eof = False  # the peer will send nothing more

    async def run(self) -> None:
        """Register, then chat until the member leaves or is removed.

        Cancellation: at any point. If the hub may count us as a member, it is told we left:
        in a shielded scope, because we may be here precisely because we were cancelled, and a
        bounded one, because a shield without a deadline could hang shutdown.
        """
        logger.info("%s connected", self.peer)
        try:
            if await self._register():
                await self._chat()
        finally:
            if self.registration_requested and self.member.left is None:
                if self.mailbox.evicted is LeaveReason.TOO_SLOW:
                    # Evicted by a hub that shares rooms with other processes: its departure
                    # is for the shared log to decide, so we say why it is leaving.
                    self.leave_reason = LeaveReason.TOO_SLOW
                with trio.move_on_after(LEAVE_TIMEOUT, shield=True):
                    await self.host.inbox.send(Disconnect(self.member, self.leave_reason))
            logger.info("%s disconnected", self.peer)

    async def _register(self) -> bool:
        """Run the registration dialogue until the hub accepts a nickname; False to hang up.

        Cancellation: the registration timeout and the server's shutdown each cancel their own
        scope here, and the peer is told which one happened.
        """
        # Cancelled by shutdown: someone still choosing a name is told, then disconnected.
        shutdown = trio.CancelScope()
        self.host.track_registration(shutdown)
        try:
            with shutdown:
                # A peer that never picks a name must not hold a connection slot forever.
                with trio.move_on_after(self.registration_timeout) as timer:
                    return await self._introduce()
        finally:
            self.host.untrack_registration(shutdown)
        if timer.cancelled_caught:
            logger.info("%s timed out before registering", self.peer)
            self.leave_reason = LeaveReason.TIMED_OUT
            await last_words(self.stream, self.front_end.farewell(Farewell.TIMED_OUT))
        else:
            await last_words(self.stream, self.front_end.farewell(Farewell.SHUTTING_DOWN))
        return False

    async def _send_now(self, data: bytes) -> None:
        """Send while registering (no writer yet): under the registration timeout."""
        await self.stream.send_all(data)
        self.mailbox.count_sent(len(data))

    async def _introduce(self) -> bool:
        """Hold the front end's registration dialogue: answer what it says, pass on what it asks."""
        if greeting := self.front_end.greeting():
            await self._send_now(greeting)
        while (item := await self._next_input()) is not None:
            if not await self._wait_for_flood_token():
                logger.info("%s flooded before registering", self.peer)
                await last_words(self.stream, self.front_end.farewell(Farewell.EXCESS_FLOOD))
                return False
            match item:
                case Send(data):
                    await self._send_now(data)
                case Hangup(data):
                    await last_words(self.stream, data)
                    return False
                case Ignored():
                    await trio.lowlevel.checkpoint()  # the reader yields, whatever it is sent
                case base.Introduce(nick, realname, user, lobby, account, password, ticket):
                    login = self._login or self.host.authenticator.ticket_login(ticket)
                    if account is not None:  # the plain protocol's password, IRC's PASS
                        proof = await self.host.authenticator.log_in(
                            account.display, password, self.address
                        )
                        if isinstance(proof, Refusal):
                            await self._send_now(self._rendered(proof))
                            continue
                        login = proof
                    self.member.realname, self.member.user = realname, user
                    self.registration_requested = True
                    await self.host.inbox.send(Register(self.member, nick, lobby, login))
                    match await self._hub_reply():
                        case None:
                            return False
                        case reply if _says(reply, Registered):
                            return True
                        case reply if _says(reply, ShuttingDown):
                            return False
                        case _ if self.member.left is not None:
                            return False  # turned away (a server ban): the reply said why
                case IssueTicket() | CheckTicket() | DropTicket():
                    await self._ticket(item)
                case RegisterAccount() | SaslStart() | SaslResponse() | SaslAbort():
                    for outcome in await self._account(item):
                        if isinstance(outcome, CreateAccount):
                            await self.host.inbox.send(outcome)
                            if await self._hub_reply() is None:
                                return False
                        elif isinstance(outcome, AccountRequest):
                            raise AssertionError(f"no member to change yet: {outcome!r}")
                        else:
                            await self._send_now(self._rendered(outcome))
                case _:
                    raise AssertionError(f"a command before registration: {item!r}")
        return False

    async def _hub_reply(self) -> Delivery | None:
        """Wait for the hub's reply to a request made while registering, and show it.

        Returns None if the connection should close (the processes sharing rooms lost Redis).
        """
        reply = await self.mailbox.receive.receive()
        assert isinstance(reply, Delivery), "nothing is written directly yet"
        self.mailbox.sent(reply)
        if _unavailable(reply):  # processes sharing rooms lost Redis: come back later
            await last_words(self.stream, self.front_end.farewell(Farewell.UNAVAILABLE))
            return None
        await self._send_now(self.front_end.render(reply))
        return reply

    async def _ticket(self, item: IssueTicket | CheckTicket | DropTicket) -> None:  # noqa: ASYNC910 (each case awaits)
        """Answer a browser's request about its ticket (see :mod:`trio_chat.frontends.web`).

        Cancellation: while a thread checks or hashes a password, or the hub answers; nothing
        is half done (a ticket the hub kept, unheard, is one a browser never holds).
        """
        authenticator, member = self.host.authenticator, self.member
        match item:
            case CheckTicket(token):
                await trio.lowlevel.checkpoint()
                found = authenticator.ticket_login(token)
                name = found.account.display if found is not None else ""
                await self._send_now(self._rendered(TicketIs(name)))
            case DropTicket(token):
                await self.host.inbox.send(RevokeTicket(member, ticket_digest(token)))
                await self._hub_reply()
            case IssueTicket(account, password, create):
                login: Login | Refusal
                if create:
                    made = await authenticator.new_credentials(password, self.address)
                    if isinstance(made, Refusal):
                        await self._send_now(self._rendered(made))
                        return
                    await self.host.inbox.send(CreateAccount(member, account, made))
                    reply = await self._hub_reply()
                    if reply is None or not _says(reply, AccountCreated):
                        return  # refused (and said so)
                    login = Login(account, made)
                else:
                    login = await authenticator.log_in(account.display, password, self.address)
                    if isinstance(login, Refusal):
                        await self._send_now(self._rendered(login))
                        return
                token, ticket = authenticator.new_ticket(login)
                await self.host.inbox.send(GrantTicket(member, login, ticket))
                reply = await self._hub_reply()
                if reply is not None and _says(reply, TicketGranted):
                    issued = TicketIssued(login.account.display, token)
                    await self._send_now(self._rendered(issued))

    def _rendered(self, event: Event) -> bytes:
        """Render an answer of the session's own to the peer, while registering."""
        return self.front_end.render(Delivery([event], personal=True))

    async def _account(self, item: AccountInput) -> list[Event | AccountRequest]:
        """Carry out an input that holds a secret: what to tell the peer, and to ask the hub.

        The checking and hashing happen here, in worker threads (see
        :mod:`trio_chat.shell.credentials`), never on the hub's task; the hub then gets a
        request that carries what was found, or the peer a refusal.

        Cancellation: while a thread checks or hashes (which then finishes first), or while a
        wrong password is answered slowly; nothing is half done.
        """
        authenticator, member = self.host.authenticator, self.member
        match item:
            case Authenticate(account, password):
                proof = await authenticator.log_in(account.display, password, self.address)
                return [proof if isinstance(proof, Refusal) else LogIn(member, proof)]
            case OperLogin(name, password):
                right = await authenticator.oper(name, password, self.address)
                if right is True:
                    logger.info("%s logged in as the server operator %r", self.peer, name)
                    return [BecomeOperator(member, name)]
                logger.info("%s failed an operator login as %r", self.peer, name)
                return [right or Refusal(Reason.WRONG_OPERATOR_LOGIN)]
            case RegisterAccount(password, name):
                made = await authenticator.new_credentials(password, self.address)
                return [made if isinstance(made, Refusal) else CreateAccount(member, name, made)]
            case ChangeOwnPassword(old, new):
                mine = authenticator.book.account(member.account.key) if member.account else None
                if mine is None:
                    await trio.lowlevel.checkpoint()
                    return [Refusal(Reason.NOT_LOGGED_IN)]
                proof = await authenticator.log_in_to(mine, old, self.address)
                if isinstance(proof, Refusal):
                    return [proof]
                made = await authenticator.changed_credentials(new)
                if isinstance(made, Refusal):
                    return [made]
                return [ChangePassword(member, proof.credentials, made)]
            case SaslStart(mechanism):
                await trio.lowlevel.checkpoint()
                if member.account is not None or self._login is not None:
                    return [SaslFailed(already=True)]
                self._sasl = authenticator.exchange(mechanism, self._certificate())
                return [self._sasl_step(self._sasl.start())]
            case SaslResponse(data) if self._sasl is not None:
                step = self._sasl.respond(data)
                login = None
                if isinstance(step, CheckPassword):
                    proof = await authenticator.log_in_to(
                        step.account, step.password, self.address, "sasl-plain"
                    )
                    login = proof if isinstance(proof, Login) else None
                    step = self._sasl.checked(login is not None)
                else:
                    await trio.lowlevel.checkpoint()
                outcome = self._sasl_step(step)
                if isinstance(step, Proven):
                    login = login or Login(step.account.name, step.account.credentials)
                    if self.registration_requested:  # SASL once registered: a login like /login
                        return [outcome, LogIn(member, login)]
                    self._login = login
                return [outcome]
            case SaslAbort(told=True):
                await trio.lowlevel.checkpoint()
                self._sasl = None
                return []  # the front end has answered already
            case _:  # an abort, or a response with no exchange under way
                await trio.lowlevel.checkpoint()
                self._sasl = None
                return [SaslFailed(aborted=isinstance(item, SaslAbort))]

    def _sasl_step(self, step: Step) -> Event:
        """Word a step of the SASL exchange as an event for the peer; forget it once it is over."""
        match step:
            case Challenge(data):
                return SaslChallenge(data)
            case Proven(account):
                if self._sasl is not None and self._sasl.mechanism is not Mechanism.PLAIN:
                    counted = f"sasl-{self._sasl.mechanism.value.lower()}", "right"
                    self.host.authenticator.logins[counted] += 1  # (PLAIN's: counted as checked)
                self._sasl = None
                logger.info("%s proved it is %r (SASL)", self.peer, account.name.display)
                return SaslSucceeded(account.name.display)
            case Failed(why):
                self._sasl = None
                logger.info("%s failed SASL: %s", self.peer, why)
                return SaslFailed()
            case CheckPassword():
                raise AssertionError("a password is checked before its step is worded")

    def _certificate(self) -> str | None:
        """Return the SHA-256 fingerprint of the peer's TLS client certificate, if it gave one."""
        if not isinstance(self.stream, TlsStream):
            return None
        der = self.stream.peer_certificate()
        return hashlib.sha256(der).hexdigest() if der else None

    async def _chat(self) -> None:
        """Read in this task; write from the hub's task, or from a writer when there is a backlog.

        Cancellation: by the hub (eviction, or its mailbox closed and written), the watchdog,
        shutdown; the reader and any writer stop together. The reader is also cancelled when a
        writer must start, between two inputs, and carries on beside it in the member nursery.
        """
        self.host.watch(self)  # under the watchdog's eye
        try:
            # While the hub writes for us, the reader needs a scope, not a nursery (0.6 KB less
            # per member): the mailbox cancels it to end the chat (_hang_up), so does the
            # watchdog (time_out), and so does a writer that must start (_start_writer).
            with trio.CancelScope() as self._scope:
                self._connect_output()
                await self._read()
            if self._writer is not None:
                # The reader and the writer live and die together: the same three cancel
                # this nursery, and the deadline the reader may have set goes on.
                async with trio.open_nursery() as nursery:
                    nursery.cancel_scope.deadline = self._scope.deadline
                    self._scope, self._nursery = nursery.cancel_scope, nursery
                    nursery.start_soon(self._writer)
                    await self._read()
        finally:
            # Leaving: no more direct writes (the stream will close, and its fd may be the
            # next connection's), and no writer started. One running has been cancelled.
            self.mailbox.disconnect()
            self.host.unwatch(self)

    def _connect_output(self) -> None:
        if self._fd >= 0:  # plain TCP: the hub writes itself while it can
            self.mailbox.connect(
                self.front_end.render, self._hang_up, fd=self._fd, start_writer=self._start_writer
            )
        elif (transport := self._tls_transport()) is not None:  # TLS on TCP: so does it, sealed
            self.mailbox.connect(
                self._render_sealed,
                self._hang_up,
                fd=transport.socket.fileno(),
                start_writer=self._start_writer,
            )
        else:  # in memory: every delivery through the channel to a writer, all along
            self.mailbox.connect(self.front_end.render, self._hang_up)
            self._writer = self._write

    def _tls_transport(self) -> trio.SocketStream | None:
        """Return the TCP connection under our TLS once its handshake is done (None: no such)."""
        stream = self.stream
        if isinstance(stream, TlsStream) and stream.handshaken:
            return socket_stream(stream)
        return None

    def _render_sealed(self, delivery: Delivery) -> bytes:
        """Render ``delivery`` as TLS records (the fast path's, and the backlog writer's).

        Records are sealed only by whoever writes them next (see trio_chat.shell.tls), so
        the mailbox's one order of writing is their order on the wire.
        """
        assert isinstance(self.stream, TlsStream)
        return self.stream.seal(self.front_end.render(delivery))

    def _hang_up(self, reason: str) -> None:
        """Cancel the reader and any writer, even one blocked in ``send_all``.

        The mailbox calls it: the hub evicted the member ("too slow"), the hub closed the
        mailbox and everything is written ("removed by the hub"), or the socket broke.
        """
        self._end(reason)

    def _start_writer(self) -> None:
        """Start a backlog writer (the mailbox asks): in the member nursery, opened for it first.

        The reader opens it (see _chat) once it has left its scope: at once if it is parked,
        since it holds no input, else as soon as it holds none (:meth:`_make_way`).
        """
        assert self._scope is not None, "connected to the mailbox only while chatting"
        if self._nursery is not None:
            self._nursery.start_soon(self._write_backlog)
        elif not self._scope.cancel_called:  # (a chat that is ending starts no writer)
            self._writer = self._write_backlog
            if self._idle:
                self._scope.cancel(reason="a writer starts")

    async def _make_way(self) -> None:
        """Leave the reader's scope for the member nursery, where a writer waits to start.

        Called between two inputs, so the ``Cancelled`` it raises drops nothing (see _chat).
        """
        assert self._scope is not None, "only while chatting"
        self._scope.cancel(reason="a writer starts")
        await trio.lowlevel.checkpoint()

    def _end(self, reason: str) -> None:
        assert self._scope is not None, "connected to the mailbox only while chatting"
        self._writer = None  # none starts for a connection that ends
        self._scope.cancel(reason=reason)

    async def _read(self) -> None:
        """Input from the peer becomes requests to the hub, until it quits or goes.

        Then the reader waits while the hub delivers the goodbye. Called again in the member
        nursery when a writer starts there (see _chat), it carries on where it was.

        Cancellation: by the mailbox, the watchdog or shutdown, and then a partly received
        line is simply dropped; or, holding no input, to make way for a writer.
        """
        leave: LeaveReason | None = LeaveReason.CONNECTION_LOST  # unless the loop says otherwise
        handed = 0  # requests handed in without yielding since the last wait for the inbox
        while not self._read_all and (item := await self._next_input()) is not None:
            if not await self._wait_for_flood_token():
                excess = Tell(Refusal(Reason.EXCESS_FLOOD))
                await self.host.inbox.send(Act(self.member, excess))
                leave = LeaveReason.EXCESS_FLOOD
                break
            match item:
                case Ignored():
                    await trio.lowlevel.checkpoint()  # the reader yields, whatever it is sent
                case base.Introduce() | Send() | Hangup():
                    raise AssertionError(f"registration input after registering: {item!r}")
                case IssueTicket() | CheckTicket() | DropTicket():
                    raise AssertionError(f"a browser's ticket request once chatting: {item!r}")
                case (
                    Authenticate()
                    | OperLogin()
                    | RegisterAccount()
                    | ChangeOwnPassword()
                    | SaslStart()
                    | SaslResponse()
                    | SaslAbort()
                ):
                    # Answers and requests alike go through the hub, in order with the rest.
                    for outcome in await self._account(item):
                        if isinstance(outcome, AccountRequest):
                            await self.host.inbox.send(outcome)
                        else:
                            await self.host.inbox.send(Act(self.member, Tell(outcome)))
                case command:
                    request = Act(self.member, command)
                    if handed < HAND_IN_BURST and not isinstance(command, Quit):
                        # Hand it in and go on to the next line (see HAND_IN_BURST): without
                        # one, the next receive waits anyway. A full inbox: we wait, below.
                        try:
                            self.host.inbox.send_nowait(request)
                            handed += 1
                            continue
                        except trio.WouldBlock:
                            pass
                    handed = 0
                    await self.host.inbox.send(request)
                    if isinstance(command, Quit):
                        leave = None  # the hub has the quit, and answers it
                        break
        assert self._scope is not None, "only while chatting"
        if not self._read_all:
            self._read_all = True
            if leave is not None:
                await self.host.inbox.send(Disconnect(self.member, leave))
            # The hub now closes our mailbox; what is in it (the goodbye) gets this long to be
            # delivered. A peer that does not read cannot keep the connection open longer.
            self._scope.deadline = trio.current_time() + LAST_WORDS_TIMEOUT
        # Our last words are the hub's to deliver: once everything in our mailbox is written,
        # the mailbox hangs up, which cancels our scope; or the deadline above does.
        if self._writer is not None and self._nursery is None:
            await self._make_way()
        self._idle = True
        await trio.sleep_forever()

    async def _next_input(self) -> Input | None:
        """Return the next unit of input, receiving as needed; None once the peer has gone.

        A plain TCP socket is read directly, as the hub writes it, and here rather than in a
        method of its own: a parked reader holds about 1.5 KB less than one parked in
        ``receive_some``, and a coroutine frame less, which counts when ten thousand members
        sit idle.

        Cancellation: safe; what is received goes to the front end before the next checkpoint,
        and bytes not yet parsed stay there. While chatting, a writer that must start cancels
        the reader here (or here it makes way), since it holds no input. An input already
        parsed is returned without a checkpoint (one receive may bring hundreds); the caller
        checkpoints when it acts on it.
        """
        if self._writer is not None and self._nursery is None:
            await self._make_way()
        while (item := self.front_end.next_input()) is None:
            if self._eof:
                return None  # noqa: ASYNC910 (the caller closes the stream: a checkpoint)
            self._idle = True
            try:
                if self._fd >= 0:
                    while (data := self._read_now()) is None:
                        await trio.lowlevel.wait_readable(self._fd)
                else:
                    try:
                        data = bytes(await self.stream.receive_some(RECEIVE_BYTES))
                    except trio.BrokenResourceError:
                        data = b""  # reset by the peer: for us, the same as a close
                self.heard_at, self.pinged_at = trio.current_time(), None
                self._eof = not data
                self.front_end.receive_data(data)
                if self._fd >= 0:
                    # Even when data was waiting: a peer that sends without pause must not
                    # starve the others.
                    await trio.lowlevel.checkpoint()
            finally:
                self._idle = False
        return item  # noqa: ASYNC910 (see "Cancellation" above)

    def _read_now(self) -> bytes | None:
        """Read what the peer sent, without waiting: None if nothing yet, ``b""`` once it went.

        Synchronous, so that no task waits inside the ``except`` below: a parked reader would
        keep the ``BlockingIOError`` and its traceback alive while the peer is quiet.
        """
        try:
            return os.read(self._fd, RECEIVE_BYTES)
        except BlockingIOError:
            return None
        except OSError:
            return b""  # reset by the peer: for us, the same as a close

    async def _wait_for_flood_token(self) -> bool:
        """Wait until flood control lets the next input through; False once it is excess flood.

        Every unit of input counts, empty lines too: sending nothing but newlines is flooding.

        Cancellation: only while waiting for a token; the input in hand is dropped.
        """
        now = trio.current_time()
        delay = self.flood.take(now)
        if not delay:
            self.flooding_since = None
            return True  # noqa: ASYNC910 (the caller checkpoints, at least every HAND_IN_BURST)
        if self.flooding_since is None:
            self.flooding_since = now
        elif now - self.flooding_since >= self.host.settings.flood_kick_after:
            return False  # noqa: ASYNC910 (as above)
        # Fakelag: the flooder waits for its own lines, its TCP window closes, and nobody
        # else notices anything. No line is dropped; it arrives late.
        self.host.flood_delayed(delay)
        await trio.sleep(delay)
        return True

    async def _write(self) -> None:  # noqa: ASYNC910 (the loop checkpoints while it runs)
        """Send everything the hub delivers, until it closes the mailbox (no fast path).

        Cancellation: by the reader's deadline, the hub (eviction) or shutdown, possibly inside
        send_all; then part of a line may have been sent, so the connection is never written
        to again.
        """
        mailbox = self.mailbox
        try:
            async for item in mailbox.receive:
                # All that is waiting goes out in one write: fewer system calls under load.
                await self._send([item, *mailbox.take()])
        except trio.BrokenResourceError:
            mailbox.disconnect_broken()
        else:
            mailbox.all_written()

    async def _write_backlog(self) -> None:  # noqa: ASYNC910 (started only with a backlog)
        """Send what the kernel did not take at once, and what queued behind it; then stop.

        Started by the mailbox when it queues something; the hub writes directly again once
        this has written everything (see trio_chat.shell.mailbox).

        Cancellation: as :meth:`_write`.
        """
        mailbox = self.mailbox
        try:
            while batch := mailbox.take():
                await self._send(batch)
        except trio.BrokenResourceError:
            mailbox.disconnect_broken()
        else:
            mailbox.backlog_written()

    async def _send(self, batch: list[Item]) -> None:
        # On TLS, bytes queued are records already (what the kernel refused of the fast path's
        # write), and deliveries are sealed here, in order behind them.
        output: trio.abc.SendStream = self.stream
        render = self.front_end.render
        if (transport := self._tls_transport()) is not None:
            output, render = transport, self._render_sealed
        data = b"".join(item if isinstance(item, bytes) else render(item) for item in batch)
        # The watchdog (trio_chat.shell.watchdog) times out a write stuck this long.
        self.sending_since = trio.current_time()
        await output.send_all(data)
        self.sending_since = None
        self.mailbox.count_sent(len(data))
        for item in batch:
            self.mailbox.sent(item)

    def time_out(self, leave: LeaveReason, why: str) -> None:
        """End this connection: a write blocked too long, or a ping unanswered (watchdog)."""
        self.leave_reason = leave
        self._end(why)

    def keepalive(self) -> Reply | None:
        """Make the event that asks the peer to show it is there, if its protocol has one."""
        if self._can_ping:
            ping = self.front_end.keepalive()
            self._can_ping = ping is not None
            return ping
        return None


def _says(delivery: Delivery, kind: type) -> bool:
    return any(isinstance(event, kind) for event in delivery.events)


def _unavailable(delivery: Delivery) -> bool:
    return any(
        isinstance(event, Refusal) and event.reason is Reason.UNAVAILABLE
        for event in delivery.events
    )


async def last_words(stream: trio.abc.SendStream, data: bytes) -> None:  # noqa: ASYNC910
    """Send a final line to a peer that may not be reading; give up quietly if it cannot go.

    Cancellation: bounded by LAST_WORDS_TIMEOUT. It may return without a checkpoint (peer already
    gone); callers close the stream next, which is one.
    """
    # Bounded: a peer that stopped reading must not keep a closing connection open.
    with trio.move_on_after(LAST_WORDS_TIMEOUT), contextlib.suppress(trio.BrokenResourceError):
        await stream.send_all(data)


async def linger(transport: trio.SocketStream) -> None:  # noqa: ASYNC910 (as last_words)
    """Close our half of ``transport``, then drop what the peer still sends, for a while.

    Closing a socket whose peer's input is still unread makes the kernel answer with a reset
    (RST) and throw away what it had not sent yet: the last words (``* bye``, IRC's ``ERROR``,
    a close frame, an HTTP answer) of a peer that is still sending were lost. So the server
    half-closes first (its FIN follows the last words), then reads and drops whatever comes,
    until the peer closes too or a bound of time and bytes is reached.

    Cancellation: bounded by LINGER_TIMEOUT; cancelled with its connection (shutdown's grace
    period, the second signal), after which the caller closes the stream as it would have.
    """
    dropped = 0
    # Bounded: a peer that keeps sending, or never closes, cannot keep the socket open.
    with (
        trio.move_on_after(LINGER_TIMEOUT),
        contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError),
    ):
        await transport.send_eof()
        while dropped < LINGER_BYTES and (data := await transport.receive_some(RECEIVE_BYTES)):
            dropped += len(data)
