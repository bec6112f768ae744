"""Hypothesis-generated clients run concurrently against a real server on 127.0.0.1.

Each example starts a server, an *observer* that joins first and stays to the end, and two to
five clients that run generated scripts (messages, renames to contested names, random yields to
the scheduler) at the same time. Trio draws its scheduling order from hypothesis, so each example
interleaves the tasks differently, and a failing interleaving replays and shrinks.

The observer was present throughout, so its transcript is the room's whole event log. Every
client's transcript must be exactly the observer's log between that client's join and its leave:
that is one total order, exactly-once delivery to everyone present, and (with the numbered
messages) per-sender FIFO. Replaying the log's joins, renames and leaves checks that no two
members ever held the same normalized nickname, however the claims raced.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import trio
import trio.lowlevel
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.chat_client import ChatClient
from trio_chat.core.text import Nickname
from trio_chat.shell.server import ServerConfig, serve

CONTESTED = ["shared", "Shared", "SHARED", "c0", "c1", "other"]  # names several clients want


@dataclass(frozen=True)
class Say:
    pass


@dataclass(frozen=True)
class Rename:
    name: str


@dataclass(frozen=True)
class Pause:
    yields: int  # scheduler turns to let pass (trio.sleep(0), not time)


Step = Say | Rename | Pause


@dataclass(frozen=True)
class Script:
    first_choice: str  # the nickname tried first; if taken, the client falls back on its own
    steps: list[Step]


steps = st.one_of(
    st.just(Say()),
    st.sampled_from(CONTESTED).map(Rename),
    st.integers(1, 5).map(Pause),
)
scripts = st.builds(Script, st.sampled_from(CONTESTED), st.lists(steps, max_size=12))


@settings(deadline=None)
@given(st.lists(scripts, min_size=2, max_size=5))
def test_concurrent_clients_see_one_order_and_unique_nicknames(scripts: list[Script]) -> None:
    observed, transcripts = trio.run(run_scenario, scripts)
    check_nicknames_unique(observed)
    check_fifo_and_exactly_once(observed, scripts)
    for number, transcript in enumerate(transcripts):
        assert broadcasts(transcript.lines) == membership_window(observed, number, transcript)


@dataclass
class Transcript:
    name: str  # the nickname the client joined as
    lines: list[str]  # everything after its welcome


async def run_scenario(scripts: list[Script]) -> tuple[list[str], list[Transcript]]:
    stop = trio.Event()
    config = ServerConfig(host="127.0.0.1", port=0, flood_rate=0)  # scripts type fast
    async with trio.open_nursery() as nursery:
        addresses = await nursery.start(partial(serve, config, stop=stop))
        port = addresses[0][1]
        observer, observer_lines = await join(port, ["observer"])
        async with trio.open_nursery() as observing:
            observing.start_soon(read_until_closed, observer, observer_lines)
            transcripts: list[Transcript] = [Transcript("", []) for _ in scripts]
            async with trio.open_nursery() as clients:
                for number, script in enumerate(scripts):
                    clients.start_soon(run_client, port, number, script, transcripts)
            await observer.send("/exit")
        await observer.stream.aclose()
        stop.set()
    return observer_lines, transcripts


async def join(port: int, names: list[str]) -> tuple[ChatClient, list[str]]:
    """Connect and try ``names`` in turn; return the client and the name that was accepted."""
    client = ChatClient(await trio.open_tcp_stream("127.0.0.1", port))
    for name in names:
        await client.expect("* what is your name?")
        await client.send(name)
        reply = await client.receive_line()
        if reply.startswith("* welcome, "):
            client.nick = reply.removeprefix("* welcome, ").partition("!")[0]
            return client, []
        assert reply == f"! nickname {name} is taken"
    raise AssertionError(f"every name was taken: {names}")


async def run_client(port: int, number: int, script: Script, transcripts: list[Transcript]) -> None:
    own = f"client{number}"
    client, lines = await join(port, [script.first_choice, own, f"{own}-again"])
    transcripts[number] = Transcript(client.nick, lines)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(read_until_closed, client, lines)
        await client.send(f"hello from {own}")  # identifies this client's join in the log
        for serial, step in enumerate(script.steps):
            match step:
                case Say():
                    await client.send(f"message {serial} from {own}")
                case Rename(name):
                    await client.send(f"/nick {name}")
                case Pause(yields):
                    for _ in range(yields):
                        await trio.lowlevel.checkpoint()
        await client.send("/exit")
    await client.stream.aclose()


async def read_until_closed(client: ChatClient, lines: list[str]) -> None:
    lines.extend(await client.expect_closed())


def key(name: str) -> str:
    return Nickname.parse(name).key


def is_broadcast(line: str) -> bool:
    """A line every member present receives (not a reply to one member)."""
    if line.startswith("<"):
        return True
    return line.startswith("* ") and line != "* bye"


def broadcasts(lines: list[str]) -> list[str]:
    return [line for line in lines if is_broadcast(line)]


def check_nicknames_unique(observed: list[str]) -> None:
    """Replay joins, renames and leaves: no normalized nickname is ever held twice."""
    present = {key("observer")}
    for line in broadcasts(observed):
        if line.endswith(" joined"):
            name = line.removeprefix("* ").removesuffix(" joined")
            assert key(name) not in present, f"{line!r} while {name} was online"
            present.add(key(name))
        elif " is now " in line and line.startswith("* "):
            old, new = line.removeprefix("* ").split(" is now ")
            present.remove(key(old))
            assert key(new) not in present, f"{line!r} while {new} was online"
            present.add(key(new))
        elif line.startswith("* ") and " left (" in line:
            present.remove(key(line.removeprefix("* ").partition(" left (")[0]))


def check_fifo_and_exactly_once(observed: list[str], scripts: list[Script]) -> None:
    """The observer got every message once, each sender's in the order sent."""
    for number, script in enumerate(scripts):
        own = f"client{number}"
        sent = [
            f"message {serial} from {own}"
            for serial, step in enumerate(script.steps)
            if isinstance(step, Say)
        ]
        got = [line.partition("> ")[2] for line in observed if line.endswith(f" from {own}")]
        assert got == [f"hello from {own}", *sent]


def membership_window(observed: list[str], number: int, transcript: Transcript) -> list[str]:
    """The observer's broadcast lines between the client's join and its leave, exclusive."""
    log = broadcasts(observed)
    hello = log.index(f"<{transcript.name}> hello from client{number}")
    # Names are unique at every instant and the client said hello before it could rename, so
    # the last time its name joined before its hello was this client joining.
    start = max(i for i in range(hello) if log[i] == f"* {transcript.name} joined")
    current = transcript.name
    for end in range(start + 1, len(log)):
        if log[end].startswith(f"* {current} is now "):
            current = log[end].removeprefix(f"* {current} is now ")
        elif log[end].startswith(f"* {current} left ("):
            assert log[end] == f"* {current} left (quit)"
            return log[start + 1 : end]
    raise AssertionError(f"client{number} never left")
