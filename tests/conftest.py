"""Shared fixtures: hypothesis profiles and a real server on 127.0.0.1, port 0."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, settings

from trio_chat.core.cloaks import cloak
from trio_chat.frontends.irc import IrcConfig, IrcFrontEnd
from trio_chat.frontends.line import DEFAULT_MAX_LINE_BYTES, LineFrontEnd
from trio_chat.frontends.web import WebConfig, WebFrontEnd
from trio_chat.shell.listeners import Listening
from trio_chat.shell.metrics import Metrics
from trio_chat.shell.server import (
    Endpoint,
    ServerConfig,
    open_archive,
    open_database,
    serve,
    serve_listeners,
)

pytest.register_assert_rewrite("tests.chat_client")  # show values when its asserts fail
from tests.chat_client import ChatClient, MemoryListener, RunningServer  # noqa: E402 (must follow the line above)

# A fast default for development; `ci` (chosen by `nox` when CI is set) tries harder and is
# derandomized, so a failure in CI reproduces on any machine from the printed example.
settings.register_profile("default", max_examples=50)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)

StartServer = Callable[..., Awaitable[RunningServer]]

# Most tests send faster than a person types; flood control has tests of its own.
NO_FLOOD_CONTROL: dict[str, Any] = {"flood_rate": 0}


IRC_CONFIG = IrcConfig(server_name="irc.test", network="TestNet")

T0 = 1_796_000_000.0  # a fixed hub clock: 2026-11-30 00:53:20 UTC


def plain_config(**overrides: Any) -> ServerConfig:
    """A ServerConfig with one plain endpoint on port 0, any field overridden.

    ``max_line_bytes`` is the plain front end's, the rest ServerConfig's. With ``irc=True``,
    an IRC endpoint on port 0 too; with ``web`` (a WebConfig, or True), a web endpoint on port
    ``web_port`` (0) after it, whose request timeout is ``web_timeout``; with ``front_end``,
    that front end instead of the plain one (``web_front_end`` makes one for an in-memory
    server).
    """
    metrics = overrides.setdefault("metrics", Metrics())
    line = partial(LineFrontEnd, overrides.pop("max_line_bytes", DEFAULT_MAX_LINE_BYTES))
    timeout = overrides.pop("web_timeout", None)
    front_end = overrides.pop("front_end", None)
    endpoints = [Endpoint(0, front_end or line, registration_timeout=front_end and timeout)]
    if overrides.pop("irc", False):
        endpoints.append(Endpoint(0, irc_front_end, "IRC"))
    web = overrides.pop("web", None)
    web_port = overrides.pop("web_port", 0)
    if web is not None:
        factory = web_front_end(WebConfig() if web is True else web, metrics)
        endpoints.append(Endpoint(web_port, factory, "web", registration_timeout=timeout))
    fields = {"host": "127.0.0.1", "endpoints": tuple(endpoints), "cloak_key": CLOAK_KEY}
    return ServerConfig(**(NO_FLOOD_CONTROL | fields | overrides))


CLOAK_KEY = b"the tests' key"  # fixed, so that a test knows every member's cloaked host
LOCAL_CLOAK = cloak("127.0.0.1", CLOAK_KEY)  # the cloak of every test client on 127.0.0.1


def irc_front_end() -> IrcFrontEnd:
    return IrcFrontEnd(IRC_CONFIG)


def web_front_end(config: WebConfig, metrics: Metrics) -> Callable[[], WebFrontEnd]:
    return partial(WebFrontEnd, config, metrics)


@pytest.fixture(autouse=True)
def _private_data_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Servers started as processes keep their history under a temporary directory."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data")))


@pytest.fixture
async def start_server(nursery: trio.Nursery) -> AsyncIterator[StartServer]:
    """Start servers on 127.0.0.1, port 0, with any ServerConfig fields overridden.

    The servers run in the test's nursery, which is cancelled when the test ends.
    """
    clients: list[ChatClient] = []

    async def start(**overrides: Any) -> RunningServer:
        running = RunningServer(plain_config(**overrides), trio.Event(), trio.Event(), clients)
        addresses = await nursery.start(partial(_serve_tcp, running))
        ports = {
            endpoint.name: port
            for endpoint, (_, port) in zip(running.config.endpoints, addresses, strict=True)
        }
        running.port = addresses[0][1]
        running.irc_port = ports.get("IRC", 0)
        running.web_port = ports.get("web", 0)
        return running

    yield start
    for client in clients:
        await trio.aclose_forcefully(client.stream)


@pytest.fixture
async def start_memory_server(nursery: trio.Nursery) -> AsyncIterator[StartServer]:
    """Like ``start_server``, but clients connect through in-memory streams.

    For tests under ``autojump_clock``: with no kernel in between, "every task is blocked"
    really means nothing can happen until a timer fires, so virtual time jumps only then.
    """
    clients: list[ChatClient] = []

    async def start(**overrides: Any) -> RunningServer:
        running = RunningServer(plain_config(**overrides), trio.Event(), trio.Event(), clients)
        running.listener = MemoryListener()
        await nursery.start(partial(_serve_memory, running))
        return running

    yield start
    for client in clients:
        await trio.aclose_forcefully(client.stream)


async def _serve_tcp(  # noqa: ASYNC128 (serve() calls started)
    running: RunningServer, *, task_status: trio.TaskStatus[list[tuple[str, int]]]
) -> None:
    await serve(running.config, stop=running.stop, task_status=task_status)
    running.finished.set()


async def _serve_memory(  # noqa: ASYNC128 (serve_listeners() calls started)
    running: RunningServer, *, task_status: trio.TaskStatus[None]
) -> None:
    assert running.listener is not None
    (endpoint,) = running.config.endpoints
    listening = Listening(
        running.listener, endpoint.front_end, registration_timeout=endpoint.registration_timeout
    )
    database = await open_database(running.config)
    archive = await open_archive(database, running.config)
    await serve_listeners(
        [listening],
        running.config,
        stop=running.stop,
        database=database,
        archive=archive,
        task_status=task_status,
    )
    if database is not None and not (archive is not None and archive.gave_up):
        database.close()
    running.finished.set()


@pytest.fixture
async def server(start_server: StartServer) -> RunningServer:
    """A server with the default configuration."""
    return await start_server()
