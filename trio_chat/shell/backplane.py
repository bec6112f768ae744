"""Several processes, one set of rooms: the shared log in Redis, and this process's part in it.

Theory of operation
-------------------
Inside one process, the hub's task decides the order of everything (see
:mod:`trio_chat.core.hub`). With ``--backplane redis://...``, that decision moves to one Redis
stream, the log, and each process runs a *replica* of the hub: its members' requests are not
applied when they arrive but appended to the log (``XADD``), and every process, the sender's
included, applies the log's entries in the log's order as it reads them back (``XREAD``). The
hub is deterministic, so replicas that applied the same entries hold the same nicknames, rooms
and topics, and every member, on whatever process, sees one order. What each replica delivers
is what concerns its own members; the others' are :class:`~trio_chat.core.hub.Member` objects
with ``local`` False, whose outbox discards everything.

What follows from applying a log:

- *One order*: the log's, for every room and for private messages alike, and each sender's
  requests in the order it sent them, because one task (``_publish``) appends them in order
  and Redis keeps the order of one connection's commands. A request still in flight is simply
  not applied yet anywhere, its sender's process included: nobody sees it early.
- *Nicknames* are unique across processes because a registration is decided by the replicas,
  all in the same place of the log: the first of two claims wins everywhere.
- *A process that starts* while others run asks for the state (a ``Hello`` entry); the first
  running process to claim the question (``SET NX``) answers with the state at exactly that
  point of the log, and the newcomer applies the log from there.
- *A process that stops* says so (a ``Gone`` entry); one that dies stops renewing its heartbeat
  key (``SET ... PX``), and the first survivor to notice posts ``Gone`` for it (``SET NX`` on a
  key per dead process, so it is posted once). Its members leave every room then, with
  ``connection lost``, and their nicknames are free.

The tasks, in the server nursery::

    Backplane.run()          its own nursery: ends when the sessions' requests end
    ├── _publish()           the sessions' requests -> XADD, in order, a batch per entry
    ├── _follow()            XREAD BLOCK -> the hub's inbox, in the log's order
    ├── _keep_alive()        the heartbeat, and noticing processes whose heartbeat expired
    └── _answer()            the state, for a process that starts or fell behind

Backpressure: the hub's inbox is bounded, so when the hub falls behind, ``_follow`` waits and
the entries wait in Redis; the log is capped (``MAXLEN ~``), and a process that falls further
behind than the cap (or whose Redis lost its data) tells its members that messages were
missed, and adopts the state of another process, as a starting one does. Sessions wait on
the bounded requests channel while ``_publish`` waits on a slow Redis, and the peers on their
sockets.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import random
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NoReturn
from urllib.parse import urlsplit

import coredis
import trio
from coredis.exceptions import RedisError, ResponseError
from coredis.retry import NoRetryPolicy
from coredis.tokens import PureToken

from trio_chat.core.events import Labeled, LeaveReason, Quit, Service, ServiceChanged
from trio_chat.core.hub import Export, Hub, Request
from trio_chat.core.members import Member
from trio_chat.core.refusals import Reason, Refusal
from trio_chat.core.replication import (
    Acting,
    BecomingOperator,
    ChangingPassword,
    CreatingAccount,
    Gone,
    GrantingTicket,
    Hello,
    Leaving,
    LoggingIn,
    Record,
    Registering,
    RevokingTicket,
    State,
    decode,
    encode,
    process_of,
    shared,
    split_labeled,
)
from trio_chat.core.requests import (
    Act,
    Announce,
    BecomeOperator,
    ChangePassword,
    CreateAccount,
    Disconnect,
    DisconnectAll,
    GrantTicket,
    Inform,
    LogIn,
    Register,
    RevokeTicket,
    Shutdown,
)
from trio_chat.shell.backplane_config import BackplaneConfig, BackplaneError
from trio_chat.shell.channels import take_waiting

logger = logging.getLogger(__name__)

# Deletes a key only if it still holds our value: a lock or a heartbeat that expired and was
# taken by another process since is not ours to delete.
RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
READ_COUNT = 1000  # entries per XREAD: one hub turn's worth, at most
START = "0-0"  # the stream id before every entry
PUBLISH_BATCH = 512  # requests per entry of the log (one XADD)


def redis_client(config: BackplaneConfig) -> coredis.Redis[str]:
    """Return a client (not yet connected) for ``config.url``.

    Raises:
        ValueError: if it is not a ``redis://`` URL.
    """
    parts = urlsplit(config.url)
    if parts.scheme != "redis" or not parts.hostname:
        raise ValueError(f"not a redis://host:port/db URL: {config.url!r}")
    db = parts.path.strip("/") or "0"
    if not db.isdigit():
        raise ValueError(f"the database of {config.url!r} is not a number")
    return coredis.Redis(
        parts.hostname,
        parts.port or 6379,
        int(db),
        username=parts.username,  # Redis 6 ACLs: redis://user:password@host
        password=parts.password,
        decode_responses=True,
        connect_timeout=config.timeout,
        retry_policy=NoRetryPolicy(),  # we retry ourselves, and tell members meanwhile
    )


@dataclass(slots=True)
class BackplaneStats:
    """What the backplane has done, counted as it goes (the metrics read it at scrape time)."""

    entries_read: int = 0  # entries of the log handed to the hub (each a batch)
    entries_appended: int = 0
    requests_appended: int = 0
    requests_refused: int = 0  # while Redis was unavailable (their senders were told)
    outages: int = 0  # times Redis became unavailable
    catch_ups: int = 0  # states adopted after missing part of the log


class _Elsewhere:
    """The outbox of a member connected to another process: that process delivers to it."""

    def offer(self, delivery: object) -> bool:
        return True

    def close(self) -> None:
        pass

    def evict(self, reason: LeaveReason) -> None:
        pass


ELSEWHERE = _Elsewhere()


@contextlib.asynccontextmanager
async def open_backplane(config: BackplaneConfig) -> AsyncIterator[Backplane]:
    """Connect to the backplane of ``config`` for the duration.

    Raises:
        BackplaneError: if Redis cannot be reached.
    """
    try:
        redis = redis_client(config)
    except ValueError as error:
        raise BackplaneError(str(error)) from None
    # coredis keeps its connections in a task group; it lives in a task of its own (_hold), so
    # that our exceptions never cross it. They do cross this nursery, which wraps them in an
    # ExceptionGroup: with nothing else in it that can fail, we unwrap the body's exception
    # for our caller (StartupError from serve(), Cancelled), as trio-websocket does.
    try:
        async with trio.open_nursery() as nursery:  # _hold's, for as long as the backplane
            await nursery.start(_hold, redis)
            backplane = Backplane(config, redis)
            try:
                with trio.fail_after(config.timeout):  # an address that swallows packets
                    await redis.ping()
            except (RedisError, trio.TooSlowError) as error:
                where = config.shown_url()
                raise BackplaneError(f"cannot reach Redis at {where}: {error}") from None
            yield backplane
            nursery.cancel_scope.cancel(reason="backplane closed")  # closes the connections
    except BaseExceptionGroup as group:
        if len(group.exceptions) != 1:
            raise
        inner = group.exceptions[0]
        # Raised with its own cause and traceback; the group adds nothing worth keeping.
        raise inner.with_traceback(inner.__traceback__) from inner.__cause__


async def _hold(
    redis: coredis.Redis[str], *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Keep ``redis``'s connection pool open until cancelled."""
    async with redis:
        task_status.started()
        await trio.sleep_forever()


class Backplane:
    """One process's part in the shared log (see the module docstring)."""

    def __init__(self, config: BackplaneConfig, redis: coredis.Redis[str]) -> None:
        self.config = config
        self.redis = redis
        self.process = secrets.token_hex(6)  # a new id per start: a restart is a new process
        self._log = f"{config.name}:log"
        self._serial = itertools.count(1)
        # Every member the log names and that has not left yet, by id, ours and the others'.
        self._members: dict[str, Member] = {}
        # Ours whose connection has not ended (it asked for a nickname, and said nothing since
        # that ends it): what we keep when we adopt a state after missing part of the log.
        self._connected: dict[str, Member] = {}
        self._behind = False  # we missed part of the log and have not adopted a state since
        self._last = START  # the id of the last entry handed to the hub
        self._epoch = ""  # a token Redis keeps while it keeps its data
        self.available = True  # whether members were last told the chat is available
        self.stats = BackplaneStats()
        self._stopping = False  # the server is shutting down: our members are gone
        self._answers_send, self._answers = trio.open_memory_channel[State](4)
        self._release = redis.register_script(RELEASE)

    def _key(self, *parts: str) -> str:
        return ":".join((self.config.name, *parts))

    # --- starting: the state, from a running process ------------------------------------------

    async def start(self, hub: Hub) -> None:
        """Join the others: start ``hub`` from the state at this point of the log.

        The first process starts empty. Concurrent starts take turns (a lock in Redis), so each
        one sees whether another is running before it decides to start empty.

        Raises:
            BackplaneError: if Redis fails meanwhile, or no running process sends the state.
        """
        lock = self._key("starting")
        try:
            with trio.fail_after(self.config.state_timeout * 2):  # the lock expires by then
                ttl = int(self.config.state_timeout * 1000)
                # Polled: the lock is in Redis, and no Trio event can say it was released.
                while not await self.redis.set(lock, self.process, condition=PureToken.NX, px=ttl):  # noqa: ASYNC110
                    await trio.sleep(0.05)  # another process is starting
            try:
                with trio.fail_after(self.config.state_timeout):  # no answer: a clear error
                    await self._start(hub)
            finally:
                # Shielded: a cancelled start still frees the lock for the next process.
                with trio.move_on_after(self.config.timeout, shield=True):
                    await self._release(keys=[lock], args=[self.process])
        except (RedisError, trio.TooSlowError) as error:
            raise BackplaneError(f"cannot start with the others: {error!r}") from None

    async def _start(self, hub: Hub) -> None:
        self._epoch = await self._claim_epoch()
        others = await self._others()
        await self._check_shared(others)
        await self._beat()
        if not others:
            self._last = await self._append(Hello(self.process))  # where we start reading
            logger.info("backplane: the first process (%s)", self.process)
            return
        logger.info("backplane: other processes are running; asking for the state")
        answer = await self._ask_for_state()
        if answer is None:
            # They died without saying so (kill -9), and their heartbeats expired since.
            logger.info("backplane: nobody else is alive any more: starting empty")
            return
        hub.handle(self._adopt(*answer))
        hub.flush()  # nobody of ours to deliver to yet: this only ends the turn

    async def _ask_for_state(
        self, *, catching_up: bool = False
    ) -> tuple[State, list[Record]] | None:
        """Append a Hello, and read the log until the state that answers it.

        Return the state and the records after the Hello; or None, when our replica is to
        stand: no other process is alive any more to answer (reading then goes on from the
        Hello at start-up, and, catching up, from the start of what the log still holds: all
        of it came after what we read, since it was trimmed past us), or, catching up, every
        other process is catching up too and we asked first (then from the start as well: we
        answer them once we have read it all). Nothing read meanwhile has reached the hub.
        """
        hello = self._last = await self._append(Hello(self.process))
        # Catching up, we say so: processes that all fell behind must not wait for each other.
        straggling = self._key("behind", self.process)
        if catching_up:
            await self.redis.set(straggling, hello, px=int(self.config.state_timeout * 1000))
        try:
            records: list[Record] = []
            while True:
                reply = await self.redis.xread({self._log: self._last}, count=READ_COUNT, block=100)
                state = None
                for id_, fields in _entries(reply, self._log):
                    self._last = id_
                    for record in _decoded(id_, fields):
                        if isinstance(record, State) and record.hello == hello:
                            state = record
                        else:
                            records.append(record)
                if state is not None:
                    return state, records
                others = await self._others()
                if not others or (
                    catching_up and await self._first_of_the_stragglers(hello, others)
                ):
                    self._last = START if catching_up else hello
                    return None
        finally:
            if catching_up:
                # Shielded and bounded: a cancelled catch-up must not leave us looking behind
                # (the key would expire by itself, but others might stand on it meanwhile).
                with trio.move_on_after(self.config.timeout, shield=True):
                    await self._release(keys=[straggling], args=[hello])

    async def _first_of_the_stragglers(self, hello: str, others: list[str]) -> bool:
        """Say whether all ``others`` (alive) are catching up too, each having asked after us."""
        for process in others:
            asked = await self.redis.get(self._key("behind", process))
            if asked is None or not _later(str(asked), hello):
                return False  # a process that can answer, or one that asked first
        return True  # noqa: ASYNC910 (others is never empty here: the loop awaited)

    def _adopt(self, state: State, records: Sequence[Record]) -> Export:
        """Return the request that starts the hub again from ``state``, then ``records``.

        Our map of members is rebuilt now, in the reader's task, before it reads on; the hub
        changes in its own turn. Our own members keep their connections: those the state knows
        are theirs again; those it does not (their registration was lost) are disconnected.
        """
        ours = {id_: m for id_, m in self._connected.items() if m.left is None}
        self._members = {}
        members = []
        for id_, saved in zip(state.members, state.hub.members, strict=True):
            member = ours.get(id_)
            if member is None:
                member = self._member_for(id_, saved.peer, saved.realname, saved.user)
            self._members[id_] = member
            members.append(member)
        lost = [member for id_, member in ours.items() if id_ not in self._members]
        requests = [r for record in records if (r := self._request(record))]

        def restore(hub: Hub) -> None:
            hub.reset()
            hub.restore(state.hub, members)
            hub.last_id = state.last_id  # ids go on from the one sequence every process follows
            if hub.history is not None:
                hub.history.restore(state.rings, state.last_id)
            for member in lost:
                member.outbox.evict(LeaveReason.CONNECTION_LOST)
            for request in requests:
                hub.handle(request)

        return Export(restore)

    def _stale(self, state: State) -> list[Record]:
        """Departures to post: members of ours the state has, whose connection has ended."""
        return [
            Leaving(id_, LeaveReason.CONNECTION_LOST)
            for id_ in state.members
            if process_of(id_) == self.process and id_ not in self._connected
        ]

    # --- running ------------------------------------------------------------------------------

    async def run(
        self,
        requests: trio.MemoryReceiveChannel[Request],
        hub_inbox: trio.MemorySendChannel[Request],
    ) -> None:
        """Append the sessions' ``requests`` to the log, and feed the log to ``hub_inbox``.

        Returns once ``requests`` is closed (every session is done) and the last of them is
        appended; then ``hub_inbox`` is closed, which ends the hub's task.

        Cancellation: with the server; nothing to undo (the others notice our heartbeat stop).
        """
        with hub_inbox:  # closed on the way out, with the clones: then the hub's task ends
            # The backplane nursery: the publisher's end (the server shutting down) ends all.
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._follow, hub_inbox.clone())
                nursery.start_soon(self._keep_alive, hub_inbox.clone())
                nursery.start_soon(self._answer)
                await self._publish(requests, hub_inbox)
                nursery.cancel_scope.cancel(reason="server shut down")

    async def _publish(
        self,
        requests: trio.MemoryReceiveChannel[Request],
        hub_inbox: trio.MemorySendChannel[Request],
    ) -> None:
        """Append requests to the log in the order sessions sent them; hand the rest to the hub.

        While Redis is unavailable, a message or a registration is refused (its sender is
        told); a departure, which must not be lost, waits and is appended once Redis is back.

        Cancellation: by the backplane nursery only after this returns (see :meth:`run`).
        """
        waiting: list[Record] = []  # departures that Redis did not take yet
        async with requests:
            while True:
                batch: list[Request] = []
                # While departures wait, wake up to retry them even if nobody says anything.
                with trio.move_on_after(self.config.retry_max if waiting else math.inf):  # noqa: ASYNC912 (receive() is a checkpoint)
                    try:
                        batch.append(await requests.receive())
                    except trio.EndOfChannel:
                        break
                    batch += take_waiting(requests, PUBLISH_BATCH - 1)
                records, senders = list(waiting), [None] * len(waiting)
                waiting.clear()
                for request in batch:
                    if isinstance(request, Act) and isinstance(request.command, Labeled):
                        local, labeled = split_labeled(request.command)
                        if local and labeled is not None:  # the front end's own part: here
                            for command in local:
                                await hub_inbox.send(Act(request.member, command))
                            request = Act(request.member, labeled)
                    record = self._record(request)
                    if record is None:
                        await hub_inbox.send(request)  # nothing shared: straight to the hub
                    else:
                        records.append(record)
                        senders.append(getattr(request, "member", None))
                    if isinstance(request, Shutdown):
                        # Ours were told by the hub; everyone else's replica removes them now.
                        self._stopping = True
                        records.append(Gone(self.process, LeaveReason.SERVER_SHUTDOWN))
                        senders.append(None)
                if records and not await self._append_all(records):
                    for record, sender in zip(records, senders, strict=True):
                        if _must_arrive(record):
                            waiting.append(record)
                        elif sender is not None:
                            self.stats.requests_refused += 1
                            await hub_inbox.send(Inform(sender, Refusal(Reason.UNAVAILABLE)))
        if waiting:  # a last try; if Redis is still away, the others see our heartbeat expire
            await self._append_all(waiting)

    def _record(self, request: Request) -> Record | None:
        """Return the log entry of a session's ``request``; None if it changes nothing shared."""
        match request:
            case Register() if self._stopping:
                return None  # refused by our hub, which is shutting down: nobody else hears
            case Register(member, nick, lobby, login):
                self._identify(member)
                return Registering(
                    member.id,
                    nick,
                    lobby,
                    member.peer,
                    member.realname,
                    member.user,
                    login,
                    member.host,
                    member.address,
                    member.group,
                )
            case CreateAccount(member, name, credentials):
                self._identify(member)  # an IRC client may register an account first
                return CreatingAccount(member.id, name, credentials)
            case LogIn(member, login) if member.id:
                return LoggingIn(member.id, login)
            case BecomeOperator(member, name) if member.id:
                return BecomingOperator(member.id, name)
            case ChangePassword(member, old, new) if member.id:
                return ChangingPassword(member.id, old, new)
            case GrantTicket(member, login, ticket):
                self._identify(member)  # a browser asks for one before it has a nickname
                return GrantingTicket(member.id, login, ticket)
            case RevokeTicket(member, digest):
                self._identify(member)
                return RevokingTicket(member.id, digest)
            case Act(member, command) if shared(command) and member.id:
                if isinstance(command, Quit):
                    self._connected.pop(member.id, None)
                return Acting(member.id, command)
            case Disconnect(member, reason) if member.id:
                self._connected.pop(member.id, None)
                return Leaving(member.id, reason)
            case _:
                return None  # a front end's reply, the shutdown, a notice: for the hub only

    def _identify(self, member: Member) -> None:
        """Give ``member`` its id in the log, on its first request that goes there."""
        if not member.id:
            member.id = f"{self.process}/{next(self._serial)}"
            self._members[member.id] = member
            self._connected[member.id] = member

    async def _follow(self, hub_inbox: trio.MemorySendChannel[Request]) -> NoReturn:
        """Hand the log's entries to the hub, in order, from where we are.

        When Redis goes away, members are told, and this retries with backoff and jitter;
        when it is back, reading resumes after the last entry delivered, so members who
        stayed see no duplicate and no gap, or are told that messages were missed.

        Cancellation: by the backplane nursery; the blocking XREAD is cancelled cleanly (coredis
        drops that connection), and the entries after ``_last`` are still in Redis.
        """
        block = int(self.config.heartbeat * 1000)
        delay = self.config.retry_first
        with hub_inbox:  # our clone of the hub's inbox, closed when we are cancelled
            while True:
                try:
                    if self._behind:
                        # What we missed may have changed who is online: adopt a state first.
                        with trio.fail_after(self.config.state_timeout):
                            await self._catch_up(hub_inbox)
                    # XREAD BLOCK returns by itself after `block`; later than that, Redis stalls.
                    with trio.fail_after(self.config.heartbeat + self.config.timeout):
                        reply = await self.redis.xread(
                            {self._log: self._last}, count=READ_COUNT, block=block
                        )
                    if not self.available:
                        # Two more commands: if they stall, Redis is not back after all.
                        with trio.fail_after(self.config.timeout):
                            status = await self._recovery()
                        self.available = True
                        logger.warning("backplane: Redis is back (%s)", status.value)
                        if self._behind:
                            continue  # the catch-up tells members, and what was read is old
                        await hub_inbox.send(Announce(ServiceChanged(status)))
                        if self._last == START:
                            continue  # a new log: read it again from its start
                except (RedisError, trio.TooSlowError) as error:
                    if self.available:
                        logger.warning("backplane: Redis is unavailable: %r", error)
                        self.available = False
                        self.stats.outages += 1
                        await hub_inbox.send(Announce(ServiceChanged(Service.UNAVAILABLE)))
                    # Jitter: processes that lost Redis together do not all come back at once.
                    await trio.sleep(delay * random.uniform(0.5, 1.5))
                    delay = min(delay * 2, self.config.retry_max)
                    continue
                delay = self.config.retry_first
                for id_, fields in _entries(reply, self._log):
                    self._last = id_
                    self.stats.entries_read += 1
                    for record in _decoded(id_, fields):
                        if (request := self._request(record, at=id_)) is None:
                            continue
                        try:
                            # Without a checkpoint, so that the hub takes the whole read in
                            # one turn (a delivery per member, not one per entry)...
                            hub_inbox.send_nowait(request)
                        except trio.WouldBlock:
                            await hub_inbox.send(request)  # ...unless it is behind: we wait

    async def _catch_up(self, hub_inbox: trio.MemorySendChannel[Request]) -> None:
        """Adopt the state of a process that did not miss what we did, if one is alive.

        Members are told what happened once it is over: from then on, what they say reaches
        everyone, in one order.
        """
        answer = await self._ask_for_state(catching_up=True)
        if answer is not None:
            logger.warning("backplane: missed part of the log; adopting the state of another")
            self.stats.catch_ups += 1
            await hub_inbox.send(self._adopt(*answer))
            if stale := self._stale(answer[0]):
                await self._append_all(stale)
        self._behind = False  # (or our replica stands: nobody knows better)
        await hub_inbox.send(Announce(ServiceChanged(Service.MISSED)))

    async def _recovery(self) -> Service:
        """Redis answers again: say whether anything was lost meanwhile."""
        if self._behind:  # a catch-up did not finish
            return Service.MISSED  # noqa: ASYNC910 (called right after a read: a checkpoint)
        epoch = await self.redis.get(self._key("epoch"))
        if epoch != self._epoch:
            # Redis restarted without its data: what was in flight is lost for everyone, and
            # nobody knows better than we do, so we keep our replica (a catch-up would only
            # have every process wait for the others' answers).
            self._epoch = await self._claim_epoch()
            self._last = START  # the log is new: all of it came after what we read
            return Service.MISSED
        if await self._trimmed_past_us():  # others may have read what we missed: catch up
            self._behind = True
            return Service.MISSED
        return Service.AVAILABLE

    async def _trimmed_past_us(self) -> bool:
        """Say whether the log lost entries we had not read (its cap, or an operator trimmed it).

        The entry we read last is gone, and the log went on after it: what followed it up to
        the first entry left is lost. A false alarm when nothing did, which costs a catch-up:
        the log was trimmed past our last entry but not past an entry we were about to read
        (only a log trimmed to fewer entries than we are behind: the cap keeps 100,000).
        XINFO cannot tell the two apart: its ``max-deleted-entry-id`` counts XDEL, not trims.
        """
        if self._last == START:  # reading a new log from its start: nothing can be missing
            return False  # noqa: ASYNC910 (always after a command, which checkpointed)
        try:
            info = await self.redis.xinfo_stream(self._log)
        except ResponseError:  # no log at all: nothing was written since
            return False  # noqa: ASYNC910 (the command that failed was the checkpoint)
        first = info["first-entry"]
        if first is None:  # empty: trimmed to nothing
            return _later(str(info["last-generated-id"]), self._last)
        return _later(str(first.identifier), self._last)

    def _request(self, record: Record, *, at: str = "") -> Request | None:
        """Return what the hub must apply for ``record``, the log's at ``at`` (None: nothing).

        Without ``at`` (records that came with a state we adopt, not read from the log), a
        Hello is old news: nobody waits for our answer to it.
        """
        match record:
            case Registering(id_, nick, lobby, peer, realname, user, login, host, address, group):
                member = self._member_for(id_, peer, realname, user)
                if not member.local:  # maybe met before, as it registered an account first
                    member.peer, member.realname, member.user = peer, realname, user
                    member.host, member.address, member.group = host, address, group
                return Register(member, nick, lobby, login)
            case CreatingAccount(id_, name, credentials):
                member = self._member_for(id_, "?", "", "")  # what it is comes with Registering
                return CreateAccount(member, name, credentials)
            case LoggingIn(id_, login) if id_ in self._members:
                return LogIn(self._members[id_], login)
            case BecomingOperator(id_, name) if id_ in self._members:
                return BecomeOperator(self._members[id_], name)
            case ChangingPassword(id_, old, new) if id_ in self._members:
                return ChangePassword(self._members[id_], old, new)
            case GrantingTicket(id_, login, ticket):
                return GrantTicket(self._member_for(id_, "?", "", ""), login, ticket)
            case RevokingTicket(id_, digest):
                return RevokeTicket(self._member_for(id_, "?", "", ""), digest)
            case Acting(id_, command) if id_ in self._members:
                if isinstance(command, Quit):
                    return Act(self._members.pop(id_), command)  # its last request
                return Act(self._members[id_], command)
            case Leaving(id_, reason) if id_ in self._members:
                return Disconnect(self._members.pop(id_), reason)
            case Gone(process, reason):
                ids = [id_ for id_ in self._members if process_of(id_) == process]
                return DisconnectAll(frozenset(self._members.pop(id_) for id_ in ids), reason)
            case Hello(process) if at and process != self.process:
                return Export(partial(self._state_for, record, at))
            case _:
                return None  # a state for someone else, an entry about someone already gone

    def _member_for(self, id_: str, peer: str, realname: str, user: str) -> Member:
        member = self._members.get(id_)
        if member is None:  # another process's: its outbox is elsewhere
            member = Member(ELSEWHERE, peer, realname, user, id=id_, local=False)
            self._members[id_] = member
        return member

    def _state_for(self, question: Hello, hello: str, hub: Hub) -> None:
        """In the hub's turn: the state ``question`` (at ``hello``) asks for, to :meth:`_answer`."""
        state, members = hub.state()
        history = hub.history
        try:
            self._answers_send.send_nowait(
                State(
                    question.process,
                    hello,
                    state,
                    tuple(member.id for member in members),
                    tuple(history.rings()) if history is not None else (),
                    hub.last_id,
                )
            )
        except trio.WouldBlock:
            logger.warning("backplane: too many processes starting at once; one must retry")

    async def _answer(self) -> NoReturn:
        """Send a starting process its state, unless another running process already does.

        Cancellation: by the backplane nursery; a process left waiting gives up at its timeout.
        """
        async for state in self._answers:
            try:
                with trio.fail_after(self.config.timeout):  # stalled: the newcomer gives up
                    key = self._key("answered", state.hello)
                    ttl = int(self.config.state_timeout * 1000)
                    if await self.redis.set(key, self.process, condition=PureToken.NX, px=ttl):
                        await self._append(state)
            except (RedisError, trio.TooSlowError) as error:
                logger.warning("backplane: could not send the state: %r", error)
        raise AssertionError("the answers channel is never closed")

    async def _keep_alive(self, hub_inbox: trio.MemorySendChannel[Request]) -> NoReturn:
        """Beat; post ``Gone`` for processes whose heartbeat expired; notice falling behind.

        Cancellation: by the backplane nursery, between beats or in a command; the heartbeat
        key then expires by itself.
        """
        quiet_since = trio.current_time()  # after an outage every beat is new: wait a ttl
        with hub_inbox:  # our clone of the hub's inbox, closed when we are cancelled
            while True:
                # Members our hub removed (a gone process's, say) end without a departure.
                self._connected = {k: m for k, m in self._connected.items() if m.left is None}
                trimmed = False
                try:
                    with trio.fail_after(self.config.timeout):  # stalled: beat again next round
                        await self._beat()
                        if trio.current_time() - quiet_since >= self.config.ttl:
                            await self._bury_the_dead()
                        if self.available and not self._behind:
                            trimmed = await self._trimmed_past_us()
                except (RedisError, trio.TooSlowError):
                    quiet_since = trio.current_time()  # _follow tells the members
                if trimmed:  # a reader slower than the log's cap: _follow catches up, and says so
                    logger.warning("backplane: the log was trimmed past what we read")
                    self._behind = True
                await trio.sleep(self.config.heartbeat)

    async def _claim_epoch(self) -> str:
        """Return the token Redis keeps while it keeps its data, setting one if it has none."""
        await self.redis.set(self._key("epoch"), secrets.token_hex(8), condition=PureToken.NX)
        return await self.redis.get(self._key("epoch")) or ""

    async def _others(self) -> list[str]:
        """Return the ids of the other processes whose heartbeat has not expired."""
        prefix = self._key("alive", "")
        cursor, others = 0, []
        while True:
            cursor, keys = await self.redis.scan(cursor, match=f"{prefix}*", count=1000)
            others += [key.removeprefix(prefix) for key in keys]
            if cursor == 0:  # the scan is complete
                return [process for process in others if process != self.process]

    async def _check_shared(self, others: list[str]) -> None:
        """Refuse to start if a running process's shared settings differ from ours.

        Raises:
            BackplaneError: naming each difference.
        """
        if not others:
            return  # noqa: ASYNC910 (the beat that follows checkpoints)
        ours = dict(self.config.shared)
        beats = await self.redis.mget([self._key("alive", process) for process in others])
        for process, beat in zip(others, beats, strict=True):
            try:
                theirs = dict(json.loads(beat or "")["shared"])
            except (ValueError, KeyError, TypeError):
                continue  # gone since, or a version that did not say
            differences = [
                f"{name} is {ours[name]} here, {theirs[name]} there"
                for name in sorted(ours.keys() & theirs.keys())  # what both say
                if ours.get(name) != theirs.get(name)
            ]
            if differences:
                raise BackplaneError(
                    f"this process's settings differ from those of process {process}, which "
                    f"shares the backplane: {'; '.join(differences)} (give every process the "
                    "same, or restart them all)"
                )

    async def _beat(self) -> None:
        key = self._key("alive", self.process)
        beat = json.dumps({"shared": self.config.shared})  # what a newcomer checks
        await self.redis.set(key, beat, px=int(self.config.ttl * 1000))

    async def _bury_the_dead(self) -> None:  # noqa: ASYNC910 (after a beat, which checkpoints)
        processes = {process_of(id_) for id_ in self._members} - {self.process}
        for process in sorted(processes):
            if await self.redis.exists([self._key("alive", process)]):
                continue
            # The first survivor to notice says so, once: the others see the key taken.
            key, ttl = self._key("buried", process), int(self.config.ttl * 10_000)
            if await self.redis.set(key, self.process, condition=PureToken.NX, px=ttl):
                logger.warning("backplane: process %s stopped beating: its members leave", process)
                await self._append(Gone(process, LeaveReason.CONNECTION_LOST))

    # --- Redis --------------------------------------------------------------------------------

    async def _append(self, record: Record) -> str:
        """Append ``record`` to the log; return its id."""
        return await self._append_batch([record])

    async def _append_batch(self, records: Sequence[Record]) -> str:
        """Append ``records``, in order, as one entry of the log; return its id."""
        return str(
            await self.redis.xadd(
                self._log,
                encode(records),
                trim_strategy=PureToken.MAXLEN,
                threshold=self.config.max_entries,
                trim_operator=PureToken.APPROXIMATELY,
            )
        )

    async def _append_all(self, records: Sequence[Record]) -> bool:
        """Append ``records`` in order, in one entry; False if Redis did not answer.

        False does not prove that nothing was appended (Redis may have taken the entry before
        it went silent): a message refused then may still appear, once; it is never duplicated.
        """
        try:
            with trio.fail_after(self.config.timeout):  # a stalled Redis counts as gone
                await self._append_batch(records)
        except (RedisError, trio.TooSlowError) as error:
            logger.warning("backplane: %d requests not appended: %r", len(records), error)
            return False  # noqa: ASYNC910 (Redis failing means a connection was tried: awaited)
        self.stats.entries_appended += 1
        self.stats.requests_appended += len(records)
        return True


def _must_arrive(record: Record) -> bool:
    """Say whether ``record`` waits for Redis rather than being refused (a departure)."""
    return isinstance(record, Leaving | Gone) or (
        isinstance(record, Acting) and isinstance(record.command, Quit)
    )


def _entries(reply: Any, log: str) -> list[tuple[str, dict[str, str]]]:
    """Return the (id, fields) of each entry of ``log`` in an XREAD ``reply`` (None: none)."""
    if not reply:
        return []
    return [
        (str(entry.identifier), {str(k): str(v) for k, v in entry.field_values.items()})
        for entry in reply.get(log, ())
    ]


def _decoded(id_: str, fields: dict[str, str]) -> list[Record]:
    """Return the records of the entry ``id_``, or none (logged) if this version cannot read it."""
    try:
        return decode(fields)
    except ValueError as error:
        logger.error("backplane: skipping entry %s: %s", id_, error)
        return []


def _later(first: str, second: str) -> bool:
    """Say whether stream id ``first`` comes after stream id ``second``."""
    a, b = (tuple(map(int, id_.split("-"))) for id_ in (first, second))
    return a > b
