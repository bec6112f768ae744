"""The server: its nursery tree, the hub's task, admission, the send watchdog, graceful shutdown.

The task tree, and what each nursery is for::

    serve()                      opens the listeners, then runs serve_listeners()
    serve_listeners()            server nursery: the hub and everything that feeds it
    ├── run_hub()                the hub's task (the logic is trio_chat.core.hub)
    ├── Backplane.run()          with --backplane: requests to Redis and back to the hub
    └── connections nursery      every client; a crashing connection is logged, not fatal
        ├── accepting nursery    accept() per listener, the watchdog, the heap's trimmer
        │                        (shell/heap.py), the reloads (Server.follow_reloads):
        │                        shutdown stops them
        └── Server.handle()      one per client: admission, then a Session (trio_chat.shell.session)

Nothing here knows a wire format: each listener comes with a front-end factory, and a
connection's front end (trio_chat.frontends) does all the parsing and rendering.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import secrets
import socket
import sqlite3
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING

import trio

from trio_chat.core.accounts import Account, Ticket
from trio_chat.core.addresses import LOOPBACK, address_group, is_exempt, parse_networks
from trio_chat.core.events import ServerBanEntry
from trio_chat.core.hub import Hub, Request
from trio_chat.core.limits import Limits
from trio_chat.core.read_markers import ReadMark
from trio_chat.core.requests import Inform, Reconfigure, Saved, Shutdown
from trio_chat.core.snapshots import RoomRecord
from trio_chat.core.text import DEFAULT_RESERVED_NICKS, NicknamePolicy, fold
from trio_chat.frontends.base import Farewell, FrontEndFactory
from trio_chat.shell.account_store import AccountStore
from trio_chat.shell.archive import Archive, HistoryConfig
from trio_chat.shell.backplane_config import BackplaneConfig, BackplaneError
from trio_chat.shell.channels import take_waiting
from trio_chat.shell.credentials import AccountRules, Authenticator
from trio_chat.shell.database import CLOAK_KEY_BYTES, Database, DatabaseError
from trio_chat.shell.heap import glibc_heap, trim_after_bursts
from trio_chat.shell.history_reader import HistoryReader
from trio_chat.shell.listeners import (
    Listening,
    accept,
    bound_address,
    keep_alive,
    open_listeners,
    peer_address,
    peer_name,
    socket_stream,
)
from trio_chat.shell.logs import ErrorLog
from trio_chat.shell.metrics import Histogram, Metrics
from trio_chat.shell.moderation_store import ModerationStore
from trio_chat.shell.session import Session, SessionSettings, last_words, linger
from trio_chat.shell.watchdog import Watchdog

if TYPE_CHECKING:
    from trio_chat.shell.backplane import Backplane

logger = logging.getLogger(__name__)

HUB_INBOX_SIZE = 1024  # requests queued for the hub; when full, readers (and peers) wait


@dataclass(frozen=True)
class Endpoint:
    """A port to listen on, the front end its connections speak, and whether TLS wraps it."""

    port: int
    front_end: FrontEndFactory
    name: str = "plain"  # for the log and the metrics
    tls: bool = False  # needs ServerConfig.tls_cert
    host: str | None = None  # None: ServerConfig.host
    registration_timeout: float | None = None  # None: ServerConfig.registration_timeout
    hint: str = ""  # what to do if the port is taken ("--irc-port changes it"), for the error
    page: str | None = None  # "http" or "https": the chat page is here, and the log says where


@dataclass(frozen=True)
class ServerConfig:
    """Everything ``trio-chat server`` can be told on its command line, as the shell needs it."""

    endpoints: tuple[Endpoint, ...] = ()
    host: str = "127.0.0.1"
    max_clients: int = 10_000
    mailbox_size: int = 256  # deliveries waiting for one member before it counts as too slow
    mailbox_bytes: int = 1 << 20  # bytes waiting for one member before it counts as too slow
    registration_timeout: float = 60.0
    shutdown_grace: float = 2.0
    send_timeout: float = 30.0  # one write blocked this long means the peer is gone
    ping_interval: float = 90.0  # a peer quiet this long is pinged, if its protocol can...
    ping_timeout: float = 60.0  # ...and removed if it still says nothing this long after
    flood_burst: int = 10  # lines a member may send at once...
    flood_rate: float = 5.0  # ...then this many per second (0: no flood control)
    flood_kick_after: float = 30.0  # seconds over the rate without a break: "excess flood"
    reserved_nicks: tuple[str, ...] = DEFAULT_RESERVED_NICKS  # patterns, "*" for anything
    ascii_nicks: bool = False  # refuse nicknames that are not plain ASCII
    limits: Limits = field(default_factory=Limits)  # rooms per member, rooms, topic length
    tls_cert: str | None = None  # with tls_key: what the TLS endpoints present
    tls_key: str | None = None
    max_per_ip: int = 10  # connections at once from one address (an IPv6 /64)...
    limit_exempt: tuple[str, ...] = LOOPBACK  # ...except from these networks
    metrics: Metrics = field(default_factory=Metrics)  # what /metrics shows (the web front end)
    database: str | None = None  # the file accounts and history are saved in (None: none)
    history: HistoryConfig | None = None  # how much of rooms' history is kept (None: none)
    accounts: AccountRules = field(default_factory=AccountRules)  # passwords, throttles
    backplane: BackplaneConfig | None = None  # other processes to share rooms with (None: none)
    operators: tuple[str, ...] = ()  # accounts whose members are server operators (--oper)
    # The key of members' cloaked hosts (--cloak-key); None: the one kept in the database
    # (made at its first start), or without a database a random one for this process.
    cloak_key: bytes | None = None


# The fields of a ServerConfig that a reload changes while serving (besides each endpoint's
# front end, and its TLS certificate); the others keep the values the server started with.
LIVE_FIELDS = (
    "reserved_nicks",
    "ascii_nicks",
    "limits",
    "flood_burst",
    "flood_rate",
    "flood_kick_after",
    "tls_cert",
    "tls_key",
    "max_clients",
    "max_per_ip",
    "limit_exempt",
    "operators",
)


class StartupError(Exception):
    """The server cannot start (a port in use, a certificate that does not load)."""


async def serve(
    config: ServerConfig,
    *,
    stop: trio.Event,
    reloads: trio.MemoryReceiveChannel[ServerConfig] | None = None,
    task_status: trio.TaskStatus[list[tuple[str, int]]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve chat on every endpoint of ``config`` until ``stop`` is set.

    Each configuration received from ``reloads`` is applied while serving (see
    :meth:`Server.reconfigure`).

    Reports the bound ``(host, port)`` addresses through ``task_status`` (useful with port 0),
    in the order of ``config.endpoints``. See :func:`serve_listeners` for the rest.

    Resource handling: if any listener cannot be opened, those already open are closed.

    Cancellation: as :func:`serve_listeners`.

    Raises:
        StartupError: if a listener, the certificate, the history database or the backplane
            cannot be opened (nothing is left open).
    """
    tls = _tls_context(config) if any(endpoint.tls for endpoint in config.endpoints) else None
    database = await open_database(config)
    archive = None
    handed_over = False  # from then on, writers of serve_listeners may be using the database
    try:
        archive = await open_archive(database, config)
        async with contextlib.AsyncExitStack() as stack:
            backplane = None
            if config.backplane is not None:
                # Imported only here: its Redis client is a third of an idle server's memory.
                from trio_chat.shell.backplane import open_backplane

                try:
                    backplane = await stack.enter_async_context(open_backplane(config.backplane))
                except BackplaneError as error:
                    raise StartupError(str(error)) from None
            opened = await _open_all(config, tls)
            listenings = [listening for _, listening in opened]
            addresses = [bound_address(listening.listener) for listening in listenings]
            try:
                # Only here to learn when serve_listeners is ready, so our caller hears it then.
                async with trio.open_nursery() as nursery:
                    serving = partial(
                        serve_listeners,
                        listenings,
                        config,
                        stop=stop,
                        database=database,
                        archive=archive,
                        backplane=backplane,
                        reloads=reloads,
                    )
                    handed_over = True
                    await nursery.start(serving)
                    for listening, (host, port) in zip(listenings, addresses, strict=True):
                        fields = {"host": host, "port": port, "front_end": listening.name}
                        logger.info(
                            "listening on %s port %d (%s)", host, port, listening.name, extra=fields
                        )
                    for url in page_urls(opened, addresses):
                        logger.info("the chat page: open %s in a browser", url, extra={"url": url})
                    task_status.started(addresses)
            except* StartupError as failed:  # from serve_listeners, before it was ready
                # Raised as it was, with its own traceback: the nursery only wrapped it.
                inner = failed.exceptions[0]
                raise inner.with_traceback(inner.__traceback__) from inner.__cause__
    except BaseException:
        # Cancelled while serving, a commit abandoned in its thread may still be using the
        # database: it is left for the process's exit to close. Before, nothing used it yet.
        if database is not None and not handed_over:
            database.close()  # synchronous: no thread uses it yet
        raise
    if database is not None and not (archive is not None and archive.gave_up):
        # The writers are done (their tasks ended with the server's nursery): fold the WAL
        # back into the file, off the event loop like every other use of the database.
        await trio.to_thread.run_sync(database.close, limiter=database.limiter)


def _tls_context(config: ServerConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # Renegotiation would need an answer before our next records: TlsStream cannot give one.
    context.options |= ssl.OP_NO_RENEGOTIATION
    try:
        context.load_cert_chain(config.tls_cert or "", config.tls_key)
    except OSError as error:  # ssl.SSLError is one too
        raise StartupError(f"cannot load the TLS certificate {config.tls_cert}: {error}") from None
    return context


async def open_database(config: ServerConfig) -> Database | None:
    """Open the database of ``config``, if it has one.

    Raises:
        StartupError: if it cannot be opened or read.
    """
    if config.database is None:
        return None  # noqa: ASYNC910 (serve() checkpoints next, opening its listeners)
    try:
        return await trio.to_thread.run_sync(Database.open, config.database)
    except DatabaseError as error:
        raise StartupError(str(error)) from None


async def open_archive(database: Database | None, config: ServerConfig) -> Archive | None:
    """Load rooms' history from ``database``, if ``config`` keeps history.

    Raises:
        StartupError: if the database cannot be read.
    """
    if database is None or config.history is None:
        return None  # noqa: ASYNC910 (serve() checkpoints next, opening its listeners)
    limits = config.limits
    try:
        return await Archive.open(
            database, config.history, rooms=limits.rooms, shown=limits.history_lines
        )
    except sqlite3.Error as error:
        raise StartupError(f"cannot read the history in {database.path}: {error}") from None


def page_urls(
    opened: Sequence[tuple[Endpoint, Listening]], addresses: Sequence[tuple[str, int]]
) -> list[str]:
    """Return where a browser finds the chat page: one address per endpoint that serves it."""
    urls: dict[int, str] = {}  # by the endpoint's id: one address each, if it has several
    for (endpoint, _), (host, port) in zip(opened, addresses, strict=True):
        if endpoint.page is not None and id(endpoint) not in urls:
            # Listening on every address: this machine's own name reaches it.
            host = "localhost" if host in ("0.0.0.0", "::") else host
            shown = f"[{host}]" if ":" in host else host
            urls[id(endpoint)] = f"{endpoint.page}://{shown}:{port}/"
    return list(urls.values())


async def _open_all(
    config: ServerConfig, tls: ssl.SSLContext | None
) -> list[tuple[Endpoint, Listening]]:
    opened: list[tuple[Endpoint, Listening]] = []
    try:
        for endpoint in config.endpoints:
            context = tls if endpoint.tls else None
            host = endpoint.host or config.host
            try:
                listenings = await open_listeners(
                    host,
                    endpoint.port,
                    endpoint.front_end,
                    endpoint.name,
                    context,
                    endpoint.registration_timeout,
                )
            except OSError as error:
                where = f"{host} port {endpoint.port} ({endpoint.name})"
                reason = error.strerror or str(error)
                hint = f"; {endpoint.hint}" if endpoint.hint else ""
                raise StartupError(f"cannot listen on {where}: {reason}{hint}") from None
            opened += [(endpoint, listening) for listening in listenings]
    except BaseException:
        for _, listening in opened:  # synchronous: nothing to wait for, whatever stopped us
            assert isinstance(listening.listener, trio.SocketListener)
            listening.listener.socket.close()
        raise
    return opened  # noqa: ASYNC910 (no endpoint, nothing to open: serve() checkpoints next)


async def serve_listeners(
    listenings: Sequence[Listening],
    config: ServerConfig,
    *,
    stop: trio.Event,
    database: Database | None = None,
    archive: Archive | None = None,
    backplane: Backplane | None = None,
    reloads: trio.MemoryReceiveChannel[ServerConfig] | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve chat to whoever connects through ``listenings`` until ``stop`` is set, then shut down.

    With ``database``, accounts are loaded from it and saved to it (see
    :mod:`trio_chat.shell.account_store`; without, they last as long as the process), and so
    are registered rooms and server bans (:mod:`trio_chat.shell.moderation_store`); it keeps
    the key of cloaked hosts too, unless ``config`` has one. With
    ``archive``, rooms keep a history, which it saves (see :mod:`trio_chat.shell.archive`).
    With ``backplane``, the hub is a replica that applies the log shared with other processes
    (see :mod:`trio_chat.shell.backplane`): the sessions' requests go to the log, not the hub.
    Each configuration from ``reloads`` is applied as it comes (:meth:`Server.reconfigure`).

    Raises:
        StartupError: if the backplane cannot start (the state never came).

    Shutting down: stop accepting, tell everyone, give writers ``config.shutdown_grace`` seconds
    to flush, cancel whatever is left, and return. (Tests pass in-memory listeners here.)

    Cancellation: cancelling this stops everything at once, without the goodbyes; set ``stop``
    for a graceful shutdown.
    """
    inbox_send, inbox_receive = trio.open_memory_channel[Request](HUB_INBOX_SIZE)
    policy = NicknamePolicy(config.reserved_nicks, ascii_only=config.ascii_nicks)
    history = archive.history if archive else None
    operators = frozenset(fold(account) for account in config.operators)
    hub = Hub(
        policy,
        config.limits,
        history=history,
        remove_too_slow=backplane is None,
        operators=operators,
    )
    cloak_key = config.cloak_key
    if database is not None:
        saved = await trio.to_thread.run_sync(_load, database, limiter=database.limiter)
        hub.load_accounts(saved.accounts, saved.tickets)
        hub.load_rooms(saved.rooms)
        hub.load_server_bans(saved.server_bans)
        hub.load_read_markers(saved.read_markers)
        cloak_key = cloak_key or saved.cloak_key  # made once, kept: cloaks survive restarts
    if cloak_key is None:  # no database: cloaks (and bans on them) last as long as the process
        cloak_key = secrets.token_bytes(CLOAK_KEY_BYTES)
    config = replace(config, cloak_key=cloak_key)
    server = Server(config, inbox_send, Authenticator(hub, config.accounts))
    config.metrics.watch(hub)
    config.metrics.authenticator = server.authenticator
    # With processes sharing rooms, the hub's own inbox is fed by the shared log, and the
    # sessions' requests go to the log: the store's news is this process's alone.
    hub_send, hub_receive = inbox_send, inbox_receive
    if backplane is not None:
        hub_send, hub_receive = trio.open_memory_channel[Request](HUB_INBOX_SIZE)
        config.metrics.backplane = backplane
        try:
            await _join(backplane, hub)
        except StartupError:
            _close_now(listenings)  # the accept loops, which close them, never started
            raise
    store = AccountStore(database, hub_send) if database is not None else None
    kept = ModerationStore(database) if database is not None else None
    reader = HistoryReader(archive, hub_send) if archive is not None else None
    # The server nursery: if the hub's task crashes (a bug), nothing can work: everything stops.
    async with trio.open_nursery() as server_nursery:
        turns = config.metrics.turn_seconds
        server_nursery.start_soon(run_hub, hub, hub_receive, turns, archive, store, kept, reader)
        if backplane is not None:
            # Ends once every connection is done: then it closes the hub's inbox.
            server_nursery.start_soon(backplane.run, inbox_receive, hub_send)
        if archive is not None:
            server_nursery.start_soon(archive.run)  # ends once run_hub has closed it
        if store is not None:
            server_nursery.start_soon(store.run)  # likewise
        if kept is not None:
            server_nursery.start_soon(kept.run)  # likewise
        if reader is not None:
            server_nursery.start_soon(reader.run)  # likewise
        # Closing the inbox once every connection is done is what ends the hub's task.
        with inbox_send:
            # The connections nursery: every client's handler runs here.
            async with trio.open_nursery() as connections:
                # The accept loops (and the send watchdog, the trimmer, and the reloads) get a
                # nursery of their own so that shutdown can cancel them alone: the loops close
                # their listeners, and the handlers, living in `connections`, carry on.
                async with trio.open_nursery() as accepting:
                    for listening in listenings:
                        accepting.start_soon(accept, listening, server.handle, connections)
                    accepting.start_soon(server.watchdog.run)
                    heap = glibc_heap()
                    if heap is not None:  # glibc: give a burst's freed memory back after it
                        accepting.start_soon(trim_after_bursts, heap, config.metrics.trims)
                    if reloads is not None:
                        # With a backplane the hub is a replica: its names and limits must stay
                        # those of the other processes, so a reload leaves them alone.
                        hub_inbox = hub_send if backplane is None else None
                        accepting.start_soon(server.follow_reloads, reloads, listenings, hub_inbox)
                    task_status.started()
                    await stop.wait()
                    accepting.cancel_scope.cancel(reason="server shutting down")
                await server.shut_down(connections.cancel_scope)


def _close_now(listenings: Sequence[Listening]) -> None:
    """Close the listeners' sockets, synchronously: there is nothing to wait for."""
    for listening in listenings:
        if isinstance(listening.listener, trio.SocketListener):
            listening.listener.socket.close()


@dataclass(frozen=True)
class _Saved:
    """What the database holds for the hub at start-up."""

    accounts: list[Account]
    tickets: list[Ticket]
    rooms: list[RoomRecord]
    server_bans: list[ServerBanEntry]
    cloak_key: bytes
    read_markers: list[ReadMark]


def _load(database: Database) -> _Saved:
    """Read what the hub starts with (in a worker thread); the cloak key is made if need be."""
    now = time.time()
    return _Saved(
        database.load_accounts(),
        database.load_tickets(now),
        database.load_rooms(),
        database.load_server_bans(now),
        database.cloak_key(),
        database.load_read_markers(),
    )


async def _join(backplane: Backplane, hub: Hub) -> None:
    """Start ``hub`` from the state the other processes share.

    Raises:
        StartupError: if that fails.
    """
    try:
        await backplane.start(hub)
    except BackplaneError as error:
        raise StartupError(str(error)) from None


async def run_hub(
    hub: Hub,
    inbox: trio.MemoryReceiveChannel[Request],
    turn_seconds: Histogram | None = None,
    archive: Archive | None = None,
    store: AccountStore | None = None,
    kept: ModerationStore | None = None,
    reader: HistoryReader | None = None,
) -> None:
    """Apply requests from ``inbox`` to ``hub`` a turn at a time, until it is closed and drained.

    ``turn_seconds`` observes how long each turn takes (the metrics' histogram); ``archive`` is
    handed the history each turn recorded, ``store`` the account changes, and ``kept`` the
    registered rooms and server bans changed, each closed when the hub is done. Without a
    store, accounts live in memory, saved as soon as made; without ``kept``, rooms and bans
    live in memory only. ``reader`` reads history beyond the hub's memory; without one, the
    memory's answer is the whole answer.

    Cancellation: the only checkpoint is waiting for the inbox, between turns, so cancelling this
    task never leaves the hub half-updated (the yield before a turn is shielded: a cancelled
    hub still applies the request it took, and sees the cancellation at its next wait). The
    server closes the inbox rather than cancelling the hub, so that the hub can still answer the
    connections' goodbyes during shutdown.
    """
    try:
        async for first in inbox:
            # Let the tasks already runnable (readers woken with us, each with a line) hand in
            # their requests before the turn begins: one pass of the scheduler, which nearly
            # doubles what a busy turn carries (fewer, larger writes to every member) and costs
            # a quiet one a few microseconds. Not a cancellation point: see "Cancellation".
            await trio.lowlevel.cancel_shielded_checkpoint()
            started = time.perf_counter()
            hub.handle(first)
            # Take everything else already waiting, so one turn (and one delivery each) covers it.
            for request in take_waiting(inbox):
                hub.handle(request)
            if store is None:  # nothing to wait for: each change is told in this same turn
                for unsaved in hub.take_unsaved_accounts():
                    if unsaved.change is not None and unsaved.member is not None:
                        key = unsaved.account.name.key
                        hub.handle(Saved(key, unsaved.change, unsaved.member))
                hub.take_unsaved_tickets()  # kept in memory only
            if reader is None:  # memory is all the history there is
                for lookup in hub.take_lookups():
                    hub.handle(Inform(lookup.member, lookup.answer(())))
            else:
                for refused in reader.offer(hub.take_lookups()):  # never waits for the disk
                    hub.handle(refused)
            hub.flush()
            if archive is not None:
                archive.offer(archive.history.take_unsaved())  # never waits for the disk
            if store is not None:
                store.offer([*hub.take_unsaved_accounts(), *hub.take_unsaved_tickets()])  # nor this
            if kept is not None:
                rooms, bans = hub.take_unsaved_rooms(), hub.take_unsaved_server_bans()
                kept.offer(rooms, bans, hub.take_unsaved_read_markers())  # nor this
            else:
                hub.take_unsaved_rooms()  # kept in memory only
                hub.take_unsaved_server_bans()
                hub.take_unsaved_read_markers()
            if turn_seconds is not None:
                turn_seconds.observe(time.perf_counter() - started)
    finally:
        if archive is not None:
            archive.close()  # synchronous: the writer saves what is left, within its timeout
        if store is not None:
            store.close()  # likewise
        if kept is not None:
            kept.close()  # likewise
        if reader is not None:
            reader.close()  # likewise


class Server:
    """State shared by all connections of one :func:`serve_listeners` call."""

    def __init__(
        self,
        config: ServerConfig,
        inbox: trio.MemorySendChannel[Request],
        authenticator: Authenticator,
    ) -> None:
        self.config = config
        self.inbox = inbox  # the hub's inbox: every connection sends its requests here
        self.authenticator = authenticator  # passwords, checked and hashed off the hub's task
        self.settings = _session_settings(config)
        self.watchdog = Watchdog(
            inbox,
            send_timeout=config.send_timeout,
            ping_interval=config.ping_interval,
            ping_timeout=config.ping_timeout,
        )
        self.open_connections = 0
        self._per_address: collections.Counter[str] = collections.Counter()
        self._exempt = parse_networks(config.limit_exempt)
        self.shutting_down = False
        self._errors = ErrorLog(logger)  # errors that end a connection, logged boundedly
        # One scope per connection still registering; shutdown cancels them all.
        self._registrations: set[trio.CancelScope] = set()

    async def follow_reloads(
        self,
        reloads: trio.MemoryReceiveChannel[ServerConfig],
        listenings: Sequence[Listening],
        hub_inbox: trio.MemorySendChannel[Request] | None,
    ) -> None:
        """Apply each configuration from ``reloads``, in turn (see :meth:`reconfigure`).

        Cancellation: this runs in the accepting nursery, so shutdown cancels it with the
        accept loops; a reload cut short there has changed some things and not others, which
        no longer matters: nobody new is let in.
        """
        async for config in reloads:
            await self.reconfigure(config, listenings, hub_inbox)

    async def reconfigure(
        self,
        config: ServerConfig,
        listenings: Sequence[Listening],
        hub_inbox: trio.MemorySendChannel[Request] | None,
    ) -> None:
        """Apply what of ``config`` can change while serving: from now on, for whoever comes.

        Each listener takes its endpoint's new front end (an IRC client connecting next is
        told the new MOTD), and the TLS listeners the certificate read again from its files
        (new handshakes use it; connections already open keep theirs); new members get the
        new flood settings, and the admission limits apply to the next connection. With
        ``hub_inbox``, the hub is sent the new reserved names and limits as a request like
        any other, which it applies in its turn: the hub never waits for a reload.

        Cancellation: at the certificate's loading (in a thread) and at the hub's inbox.
        """
        tls = None
        if any(listening.tls is not None for listening in listenings):
            try:
                tls = await trio.to_thread.run_sync(_tls_context, config)
                logger.info("reload: TLS certificate %s loaded", config.tls_cert)
            except StartupError as error:
                logger.error("reload: %s; TLS goes on with the certificate it had", error)
        front_ends = {endpoint.name: endpoint.front_end for endpoint in config.endpoints}
        for listening in listenings:
            listening.front_end = front_ends.get(listening.name, listening.front_end)
            if listening.tls is not None and tls is not None:
                listening.tls = tls
        live = {name: getattr(config, name) for name in LIVE_FIELDS}
        if tls is None:  # the certificate that failed to load is not the one in use
            live |= {"tls_cert": self.config.tls_cert, "tls_key": self.config.tls_key}
        accounts = replace(self.config.accounts, oper_logins=config.accounts.oper_logins)
        self.config = replace(self.config, accounts=accounts, **live)
        self.authenticator.rules = accounts  # OPER checks its logins there, as they come
        self.settings = _session_settings(self.config)
        self._exempt = parse_networks(self.config.limit_exempt)
        if hub_inbox is not None:
            policy = NicknamePolicy(config.reserved_nicks, ascii_only=config.ascii_nicks)
            operators = frozenset(fold(account) for account in config.operators)
            await hub_inbox.send(Reconfigure(policy, config.limits, operators))
        else:
            await trio.lowlevel.checkpoint()  # a reload is a checkpoint, whatever it changes
        logger.info("reload applied")

    async def shut_down(self, connections: trio.CancelScope) -> None:
        """Tell everyone, and cancel what is still running after the grace period.

        Cancellation: the grace period is the deadline of ``connections`` (the scope of the
        connections nursery, which this runs in), so this too stops when the grace period ends.
        """
        logger.info("shutting down")
        self.shutting_down = True
        self.config.metrics.serving = False  # /healthz says so from now on
        for registration in self._registrations:
            registration.cancel(reason="server shutting down")
        # Members' writers get this long to flush the notice; then whatever is still running
        # (a writer blocked on a peer that does not read) is cancelled.
        connections.deadline = trio.current_time() + self.config.shutdown_grace
        await self.inbox.send(Shutdown())

    async def handle(self, stream: trio.abc.Stream, listening: Listening) -> None:
        """Serve one client, from accept to close.

        Resource handling: the stream is always closed on the way out.

        Error handling: an ``Exception`` ends this connection only, and is logged; the others
        carry on. ``Cancelled`` and other ``BaseException``s propagate, as they must.

        Cancellation: at any point; the hub is told the member left (shielded, bounded).
        """
        peer = "(unknown)"
        metrics, counted = self.config.metrics, False
        try:
            transport = socket_stream(stream)
            peer = peer_name(transport)
            if transport is not None:
                try:
                    keep_alive(transport.socket)
                except OSError as error:  # some systems refuse options on a reset connection
                    logger.info("%s gone before it was served: %s", peer, error.strerror)
                    return  # noqa: ASYNC910 (the finally below closes the stream: a checkpoint)
            metrics.connected(listening.name)
            counted = True
            ip = peer_address(transport)
            group = self._limited_group(transport)
            front_end = listening.front_end()
            # Admitted here rather than in a method of its own: a coroutine frame less for
            # every member to hold while it chats (see docs/benchmarks.md, memory).
            if (refusal := self._refusal(peer, group)) is not None:
                await last_words(stream, front_end.farewell(refusal))
            else:
                self._count_in(group)
                try:
                    timeout = listening.registration_timeout or self.config.registration_timeout
                    session = Session(self, stream, front_end, peer, timeout, address=group, ip=ip)
                    await session.run()
                finally:
                    self._count_out(group)
            if transport is not None:
                await linger(transport)  # so that the last words reach a peer still sending
        except trio.BrokenResourceError:
            pass  # the peer vanished while we wrote to it; the hub has been told
        except Exception as error:
            # Logged a bounded amount: a client repeating what triggers a bug must not fill
            # the disk (one traceback per kind of error per minute, the rest counted).
            self._errors.exception(peer, error, trio.current_time())
        finally:
            if counted:
                metrics.disconnected(listening.name)
            await trio.aclose_forcefully(stream)

    def _refusal(self, peer: str, group: str | None) -> Farewell | None:
        """Say why a newcomer is refused: the server or its address is full (None: admitted)."""
        if self.open_connections >= self.config.max_clients:
            logger.warning("%s refused: server full", peer)
            return Farewell.SERVER_FULL
        if group is not None and self._per_address[group] >= self.config.max_per_ip:
            logger.warning("%s refused: too many connections from %s", peer, group)
            return Farewell.TOO_MANY_FROM_ADDRESS
        return None

    def _count_in(self, group: str | None) -> None:
        """Count an admitted connection, against the server's limit and its address's."""
        self.open_connections += 1
        if group is not None:
            self._per_address[group] += 1

    def _count_out(self, group: str | None) -> None:
        """Stop counting a connection that ended (see _count_in)."""
        self.open_connections -= 1
        if group is not None:
            self._per_address[group] -= 1
            if not self._per_address[group]:
                del self._per_address[group]

    def _limited_group(self, stream: trio.SocketStream | None) -> str | None:
        """Return the key the per-address limit counts this peer under (None: exempt)."""
        if stream is None or stream.socket.family not in (socket.AF_INET, socket.AF_INET6):
            return None  # not from the network (an in-memory stream in tests, a Unix socket)
        try:
            host = stream.socket.getpeername()[0]
        except OSError:
            return None  # already gone: it will not stay long enough to count
        if is_exempt(host, self._exempt):
            return None
        return address_group(host)

    def track_registration(self, scope: trio.CancelScope) -> None:
        """Let shutdown cancel ``scope``, at once if shutdown has already begun."""
        self._registrations.add(scope)
        if self.shutting_down:
            scope.cancel(reason="server shutting down")

    def untrack_registration(self, scope: trio.CancelScope) -> None:
        """Forget ``scope``: its registration is over."""
        self._registrations.discard(scope)

    def watch(self, session: Session) -> None:
        """Put a chatting session under the watchdog's eye."""
        self.watchdog.watched.add(session)

    def unwatch(self, session: Session) -> None:
        """Stop watching ``session``."""
        self.watchdog.watched.discard(session)

    def flood_delayed(self, seconds: float) -> None:
        """Count a line that flood control held back ``seconds`` (the metrics)."""
        self.config.metrics.flood_delayed(seconds)


def _session_settings(config: ServerConfig) -> SessionSettings:
    return SessionSettings(
        mailbox_size=config.mailbox_size,
        mailbox_bytes=config.mailbox_bytes,
        flood_burst=config.flood_burst,
        flood_rate=config.flood_rate,
        flood_kick_after=config.flood_kick_after,
        meter=config.metrics.meter,
        cloak_key=config.cloak_key or b"",
    )
