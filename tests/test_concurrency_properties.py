"""Hypothesis-generated clients run concurrently against a real server on 127.0.0.1.

Each example starts a server, an *observer* that registers first, joins every room the clients
use and stays to the end, and two to five clients that run generated scripts at the same time:
messages, renames to contested names, joining, leaving and switching rooms, random yields to the
scheduler. Trio draws its scheduling order from hypothesis, so each example interleaves the
tasks differently, and a failing interleaving replays and shrinks.

The observer is in every room throughout, so its transcript is the server's whole event log,
every room line prefixed with its room. For every client, the log is replayed to know which
rooms it was in at each moment; its transcript must be exactly the log's lines it could see:
the lines of the rooms it was in while it was in them, and the renames and departures of the
members it shared a room with. That is one global order across rooms, membership starting with
a room's welcome, exactly-once delivery, and (with the numbered messages) per-sender FIFO.
Replaying the log's joins, renames and departures checks that no two members ever held the same
normalized nickname, however the claims raced. (Clients never leave #lobby, which the observer
shares with all of them, so it sees every rename and departure.)

Some clients speak IRC (with ``echo-message``, so that they see their own lines as plain
clients do): their transcripts are translated into the plain protocol's lines and checked the
same way, so the order holds across front ends too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import trio
import trio.lowlevel
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.chat_client import ChatClient
from tests.conftest import plain_config
from tests.irc_client import IrcClient
from tests.names import nick
from trio_chat.shell.backplane_config import BackplaneConfig
from trio_chat.shell.server import serve

CONTESTED = ["shared", "Shared", "SHARED", "c0", "c1", "other"]  # names several clients want
ROOMS = ["#a", "#b"]
LOBBY = "#lobby"


@dataclass(frozen=True)
class Say:
    pass


@dataclass(frozen=True)
class Rename:
    name: str


@dataclass(frozen=True)
class Join:
    room: str


@dataclass(frozen=True)
class Part:
    room: str


@dataclass(frozen=True)
class Switch:
    room: str


@dataclass(frozen=True)
class Pause:
    yields: int  # scheduler turns to let pass (trio.sleep(0), not time)


Step = Say | Rename | Join | Part | Switch | Pause


@dataclass(frozen=True)
class Script:
    first_choice: str  # the nickname tried first; if taken, the client falls back on its own
    steps: list[Step]
    irc: bool = False  # speaks IRC rather than the plain protocol


rooms = st.sampled_from(ROOMS)
steps = st.one_of(
    st.just(Say()),
    st.sampled_from(CONTESTED).map(Rename),
    rooms.map(Join),
    rooms.map(Part),
    st.sampled_from([*ROOMS, LOBBY]).map(Switch),
    st.integers(1, 5).map(Pause),
)
scripts = st.builds(Script, st.sampled_from(CONTESTED), st.lists(steps, max_size=12), st.booleans())


@settings(deadline=None)
@given(st.lists(scripts, min_size=2, max_size=5))
def test_concurrent_clients_see_one_order_and_unique_nicknames(scripts: list[Script]) -> None:
    observed, transcripts = trio.run(run_scenario, scripts)
    check(scripts, observed, transcripts)


def check(scripts: list[Script], observed: list[str], transcripts: list[Transcript]) -> None:
    """Check a scenario's outcome (see the module docstring)."""
    check_nicknames_unique(observed)
    check_fifo_and_exactly_once(observed, scripts)
    for number, (script, transcript) in enumerate(zip(scripts, transcripts, strict=True)):
        # IRC lines always name their room; a plain client's do when it is in several.
        seen = broadcasts(transcript.lines if script.irc else as_seen(transcript.lines))
        assert seen == visible_part_of_log(observed, number, transcript), transcript.name


@dataclass
class Transcript:
    name: str  # the nickname the client registered as
    lines: list[str]  # everything after its welcome


async def run_scenario(
    scripts: list[Script],
    backplane: BackplaneConfig | None = None,
    servers: int = 1,
    *,
    ports: list[tuple[int, int]] | None = None,
) -> tuple[list[str], list[Transcript]]:
    """Run ``scripts`` at once; return the observer's lines and every client's transcript.

    With ``backplane``, ``servers`` servers share the rooms (with ``ports``, the plain and IRC
    ports of servers already running): the observer is on the first, and the clients are
    spread over all of them in turn.
    """
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        if ports is None:
            ports = []  # each server's plain and IRC ports
            for _ in range(servers):
                config = plain_config(irc=True, backplane=backplane)
                addresses = await nursery.start(partial(serve, config, stop=stop))
                ports.append((addresses[0][1], addresses[1][1]))
        observer, observer_lines = await register(ports[0][0], ["observer"])
        for room in ROOMS:
            await observer.send(f"/join {room}")
            assert (await observer.receive_line()).startswith(f"* welcome to {room}! ")
        async with trio.open_nursery() as observing:
            observing.start_soon(read_until_closed, observer, observer_lines)
            transcripts: list[Transcript] = [Transcript("", []) for _ in scripts]
            async with trio.open_nursery() as clients:
                for number, script in enumerate(scripts):
                    port, irc_port = ports[number % len(ports)]
                    if script.irc:
                        clients.start_soon(run_irc_client, irc_port, number, script, transcripts)
                    else:
                        clients.start_soon(run_client, port, number, script, transcripts)
            await observer.send("/exit")
        await observer.stream.aclose()
        stop.set()
    return observer_lines, transcripts


async def register(port: int, names: list[str]) -> tuple[ChatClient, list[str]]:
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
    client, lines = await register(port, [script.first_choice, own, f"{own}-again"])
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
                case Join(room):
                    await client.send(f"/join {room}")
                case Part(room):
                    await client.send(f"/part {room}")
                case Switch(room):
                    await client.send(f"/switch {room}")
                case Pause(yields):
                    for _ in range(yields):
                        await trio.lowlevel.checkpoint()
        await client.send("/exit")
    await client.stream.aclose()


async def read_until_closed(client: ChatClient, lines: list[str]) -> None:
    lines.extend(await client.expect_closed())


async def run_irc_client(
    port: int, number: int, script: Script, transcripts: list[Transcript]
) -> None:
    own = f"client{number}"
    client = IrcClient(await trio.open_tcp_stream("127.0.0.1", port))
    await client.send("CAP REQ :echo-message")
    await client.send("USER u 0 * :Real")
    for name in [script.first_choice, own, f"{own}-again"]:
        await client.send(f"NICK {name}")
        await client.send("CAP END")  # registration waits for it (again: harmless)
        while (reply := await client.receive()).command == "CAP":
            pass
        if reply.command == "001":
            break
        assert reply.command == "433", reply
    await client.receive_until("422")  # the welcome burst, up to the missing MOTD
    await client.send(f"JOIN {LOBBY}")  # where every plain user is
    await client.receive_until("366")
    lines: list[str] = []
    transcripts[number] = Transcript(name, lines)
    rooms, current = [LOBBY], LOBBY  # IRC has no current room: the client keeps its own
    async with trio.open_nursery() as nursery:
        nursery.start_soon(read_irc_until_closed, client, name, lines)
        await client.send(f"PRIVMSG {LOBBY} :hello from {own}")
        for serial, step in enumerate(script.steps):
            match step:
                case Say():
                    await client.send(f"PRIVMSG {current} :message {serial} from {own}")
                case Rename(name):
                    await client.send(f"NICK {name}")
                case Join(room):
                    await client.send(f"JOIN {room}")
                    if room not in rooms:
                        rooms.append(room)
                    current = room
                case Part(room) if room in rooms:
                    await client.send(f"PART {room}")
                    rooms.remove(room)
                    current = rooms[-1] if current == room else current
                case Switch(room) if room in rooms:
                    current = room
                case Pause(yields):
                    for _ in range(yields):
                        await trio.lowlevel.checkpoint()
        await client.send("QUIT")
    await client.stream.aclose()


async def read_irc_until_closed(client: IrcClient, nick: str, lines: list[str]) -> None:
    """Translate what an IRC client receives into the plain protocol's lines."""
    while True:
        try:
            message = await client.receive()
        except EOFError:
            return
        who = (message.source or "").partition("!")[0]
        params = message.params
        match message.command:
            case "PRIVMSG":
                lines.append(f"{params[0]} <{who}> {params[1]}")
            case "JOIN" if who == nick:
                lines.append(f"* welcome to {params[0]}! (a personal line)")
            case "JOIN":
                lines.append(f"{params[0]} * {who} joined")
            case "PART" if who == nick:
                lines.append(f"* you left {params[0]}")
            case "PART":
                lines.append(f"* {who} left {params[0]}")
            case "NICK":
                lines.append(f"* {who} is now {params[0]}")
                if who == nick:
                    nick = params[0]
            case "QUIT":
                lines.append(f"* {who} left ({params[0].lower()})")


def key(name: str) -> str:
    return nick(name).key


PERSONAL = ("* welcome to ", "* you left ", "* now talking in ", "* you are in no room", "* bye")


def is_broadcast(line: str) -> bool:
    """A line that everyone who can see it receives (not a reply to one member)."""
    if line.startswith("#"):
        return True
    return line.startswith(("<", "* ")) and not line.startswith(PERSONAL)


def broadcasts(lines: list[str]) -> list[str]:
    return [line for line in lines if is_broadcast(line)]


def as_seen(lines: list[str]) -> list[str]:
    """A client's lines with every room line prefixed, as the observer (in every room) sees them.

    A client in one room gets that room's lines without a prefix; its own welcomes and
    goodbyes to rooms say which rooms it is in.
    """
    rooms = [LOBBY]
    seen = []
    for line in lines:
        if line.startswith("* welcome to "):
            rooms.append(line.removeprefix("* welcome to ").partition("!")[0])
        elif line.startswith("* you left "):
            rooms.remove(line.removeprefix("* you left "))
        elif len(rooms) == 1 and is_room_line(line):
            line = f"{rooms[0]} {line}"
        seen.append(line)
    return seen


def is_room_line(line: str) -> bool:
    """A broadcast line that belongs to a room (renames, departures and parts do not)."""
    if not is_broadcast(line) or line.startswith("#"):
        return line.startswith("#")
    body = line.removeprefix("* ")
    return line.startswith("<") or not (" is now " in body or " left " in body)


def check_nicknames_unique(observed: list[str]) -> None:
    """Replay registrations, renames and departures: no normalized nickname is held twice."""
    present = {key("observer")}
    for line in broadcasts(observed):
        if line.startswith(f"{LOBBY} * ") and line.endswith(" joined"):
            name = line.removeprefix(f"{LOBBY} * ").removesuffix(" joined")
            assert key(name) not in present, f"{line!r} while {name} was online"
            present.add(key(name))
        elif line.startswith("* ") and " is now " in line:
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


def visible_part_of_log(observed: list[str], number: int, transcript: Transcript) -> list[str]:
    """The observer's broadcast lines that the client could see, from its welcome to its exit.

    Replays the log to follow the client's name and rooms: it sees the lines of the rooms it is
    in, and every rename and departure (all share #lobby); not its own joins and parts, which
    it sees as personal welcomes and goodbyes instead.
    """
    log = broadcasts(observed)
    hello = log.index(f"{LOBBY} <{transcript.name}> hello from client{number}")
    # Names are unique at every instant and the client said hello before it could rename, so
    # the last time its name joined the lobby before its hello was this client registering.
    start = max(i for i in range(hello) if log[i] == f"{LOBBY} * {transcript.name} joined")
    current, rooms = transcript.name, {LOBBY}
    visible: list[str] = []
    for line in log[start + 1 :]:
        if line == f"* {current} left (quit)":
            return visible
        room, _, rest = line.partition(" ") if line.startswith("#") else ("", "", line)
        if room and rest == f"* {current} joined":
            rooms.add(room)
        elif rest.startswith(f"* {current} left #"):
            rooms.remove(rest.removeprefix(f"* {current} left "))
        elif room and room not in rooms:
            pass
        elif rest.startswith("* ") and " left #" in rest:
            if rest.rpartition(" left ")[2] in rooms:
                visible.append(line)
        else:
            if rest.startswith(f"* {current} is now "):
                current = rest.removeprefix(f"* {current} is now ")
            visible.append(line)
    raise AssertionError(f"client{number} never left")
