"""The ``trio-chat`` command line: argument parsing, logging set-up, signals."""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import pathlib
import signal
import ssl
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TypeVar, overload

import trio

from trio_chat import __version__
from trio_chat.config import ConfigError, given, read, render, toml_value
from trio_chat.core.accounts import PasswordRules, hash_password
from trio_chat.core.addresses import parse_networks
from trio_chat.core.limits import Limits
from trio_chat.frontends.base import FrontEndFactory
from trio_chat.frontends.irc import IrcConfig, IrcFrontEnd
from trio_chat.frontends.line import DEFAULT_MAX_LINE_BYTES, LineFrontEnd
from trio_chat.frontends.web import MAX_MESSAGE_BYTES, WebConfig, WebFrontEnd
from trio_chat.shell.archive import HistoryConfig
from trio_chat.shell.backplane_config import BackplaneConfig
from trio_chat.shell.credentials import AccountRules
from trio_chat.shell.listeners import raise_open_files_limit
from trio_chat.shell.logs import logging_to
from trio_chat.shell.metrics import Metrics
from trio_chat.shell.notify import notify
from trio_chat.shell.server import Endpoint, ServerConfig, StartupError, serve

logger = logging.getLogger("trio_chat")

EXIT_INTERRUPTED = 130  # the shell's convention for "stopped by SIGINT"
EXIT_CANNOT_LISTEN = 2
EXIT_BAD_CONFIG = 2  # as argparse exits for a bad option
DEFAULT_PORT = 12345  # the plain line protocol
DEFAULT_TLS_PORT = 12346  # the plain line protocol over TLS
DEFAULT_IRC_PORT = 6667  # IRC's registered port, where every IRC client looks first
DEFAULT_HTTP_PORT = 8080  # the chat page: the usual unprivileged HTTP port
DEFAULT_HTTP_REQUEST_TIMEOUT = 10.0  # seconds, from connecting to a request (or a hello)
GC_YOUNG_THRESHOLD = 20_000  # allocations between young-generation collections (default 700)

Number = TypeVar("Number", int, float)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``trio-chat`` with ``argv`` (default: the process's arguments); return the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = arguments(argv)
    except ConfigError as error:
        print(f"trio-chat server: {error}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    try:
        if args.command == "client":
            return _client(args)
        if args.command == "hash-password":
            return _hash_password()
        if args.print_config:
            print(render(args, server_parser(_build_parser())), end="")
            return 0
        return _server(args, argv)
    except KeyboardInterrupt:  # Ctrl+C before a signal receiver is open (starting up)
        return EXIT_INTERRUPTED


def arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse a ``trio-chat`` command line (exits with a usage message if it is wrong).

    With ``server --config FILE``, the file's settings are the options' values, except those
    the command line gives (see :mod:`trio_chat.config`).

    Raises:
        ConfigError: if the file cannot be used.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _build_parser().parse_args(argv)
    if args.command != "server" or args.config is None:
        return args
    from_file = read(args.config, server_parser(_build_parser()))
    explicit = given(_build_parser(), argv)
    for dest, value in from_file.items():
        if dest not in explicit:
            setattr(args, dest, value)
    return args


def server_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Return the parser of ``trio-chat server`` inside ``parser`` (made by _build_parser)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices["server"]
            return found
    raise AssertionError("no server command")


def _client(args: argparse.Namespace) -> int:
    # Imported only here: the terminal's libraries (prompt_toolkit) are no part of a server.
    from trio_chat.client.display import Display
    from trio_chat.client.session import Pipe, run_client, run_interactive

    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    tls = ssl.create_default_context(cafile=args.cafile) if args.tls else None
    if not interactive:
        return trio.run(
            partial(
                run_client,
                args.host,
                args.port,
                nick=args.nick,
                console=Pipe(),
                display=Display(color=False),
                tls=tls,
            )
        )
    # https://no-color.org: NO_COLOR set to anything but the empty string turns colour off.
    color = not args.no_color and not os.environ.get("NO_COLOR")
    return trio.run(
        partial(run_interactive, args.host, args.port, nick=args.nick, color=color, tls=tls)
    )


def _hash_password() -> int:
    """Read a password on stdin (its first line) and print its argon2id hash, for --oper-login."""
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("trio-chat hash-password: no password on stdin", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


def _server(args: argparse.Namespace, argv: Sequence[str]) -> int:
    for flag in ("irc_tls_port", "https_port"):
        if getattr(args, flag) is not None and not args.tls_cert:
            raise SystemExit(f"trio-chat server: --{flag.replace('_', '-')} needs --tls-cert")
    config = server_config(args)
    if not config.endpoints:
        raise SystemExit("trio-chat server: --no-plain, --no-irc and --no-web leave nothing")
    # Every connection holds a few dozen long-lived objects (tasks, scopes, channels); with the
    # default thresholds the cyclic garbage collector rescans all of them every 700 allocations,
    # which costs a busy server about a sixth of its time (measured with connect-5000). The
    # hub and the connections create few reference cycles, so collecting less often is safe.
    gc.set_threshold(GC_YOUNG_THRESHOLD, 50, 100)
    # What the imports made (modules, classes, functions: about 40,000 objects) lives as long
    # as the process. Frozen, it is left out of every collection: a full one walked it all,
    # a pause of several milliseconds that every member's messages waited behind.
    gc.freeze()
    with logging_to(sys.stderr, args.log_level.upper(), args.log_format):
        raise_open_files_limit(args.max_clients)
        reread = Reloader(argv, args, config.metrics)
        return trio.run(partial(run_server, config, reread=reread))


# Options a reload (SIGHUP) applies while serving; any other needs a restart. New options
# need a restart until they are added here (and Server.reconfigure applies them).
LIVE_OPTIONS = {
    "reserved_nicks",
    "ascii_nicks",
    "irc_server_name",
    "max_rooms_per_member",
    "max_rooms",
    "max_topic_bytes",
    "max_away_bytes",
    "history_lines",
    "flood_burst",
    "flood_rate",
    "flood_kick_after",
    "tls_cert",
    "tls_key",
    "max_clients",
    "max_per_ip",
    "limit_exempt",
    "irc_network",
    "irc_motd",
    "irc_password",
    "max_line_bytes",
    "web_origin",
    "max_message_bytes",
    "log_level",
    "oper",
    "oper_login",
}
# Of those, what every process sharing a backplane must agree on (the hub's names and
# limits): with --backplane they change only with a restart of every process.
SHARED_OPTIONS = {
    "reserved_nicks",
    "ascii_nicks",
    "irc_server_name",
    "irc_network",  # reserved too
    "oper",
    "max_rooms_per_member",
    "max_rooms",
    "max_topic_bytes",
    "max_away_bytes",
    "history_lines",
}


# Options whose values a log must not show (a reload says they changed, not to what).
SECRET_OPTIONS = {"irc_password", "oper_login", "cloak_key"}


class Reloader:
    """Read the configuration again, as the command line and its file now say (on SIGHUP)."""

    def __init__(self, argv: Sequence[str], args: argparse.Namespace, metrics: Metrics) -> None:
        self.argv = list(argv)
        self.started = args  # what the server started with: the options that need a restart
        self.current = args  # what the last reload applied
        self.metrics = metrics  # the running server's: new web front ends show the same

    def __call__(self) -> ServerConfig:
        """Return the configuration to apply now, and log what changed.

        Call it in a worker thread: it reads the file, and the MOTD.

        Raises:
            ConfigError: if the file cannot be used.
            OSError: if the MOTD cannot be read.
        """
        new = arguments(self.argv)
        config = server_config(new, self.metrics)
        live = LIVE_OPTIONS - (SHARED_OPTIONS if self.started.backplane else set())
        for dest, after in vars(new).items():
            if dest in SECRET_OPTIONS:
                live_change = dest in live and after != getattr(self.current, dest)
                if live_change or (dest not in live and after != getattr(self.started, dest)):
                    needs = "" if live_change else ", which needs a restart"
                    logger.info("reload: %s changed%s", dest, needs, extra={"option": dest})
            elif dest in live and after != (before := getattr(self.current, dest)):
                fields = {"option": dest, "value": after, "was": before}
                logger.info(
                    "reload: %s is now %s (was %s)", dest, _toml(after), _toml(before),
                    extra=fields,
                )  # fmt: skip
            elif dest not in live and after != (running := getattr(self.started, dest)):
                fields = {"option": dest, "value": running, "configured": after}
                logger.warning(
                    "reload: %s stays %s until a restart (the configuration says %s)",
                    dest, _toml(running), _toml(after), extra=fields,
                )  # fmt: skip
        self.current = new
        logging.getLogger().setLevel(new.log_level.upper())
        return config


def _toml(value: object) -> str:
    return "nothing" if value is None else toml_value(value)


def server_config(args: argparse.Namespace, metrics: Metrics | None = None) -> ServerConfig:
    """Make the server's configuration from its command line (``metrics``: a new one)."""
    metrics = metrics or Metrics()
    limits = server_limits(args)
    return ServerConfig(
        endpoints=endpoints(args, metrics, limits),
        host=args.host,
        max_clients=args.max_clients,
        mailbox_size=args.mailbox_size,
        registration_timeout=args.registration_timeout,
        shutdown_grace=args.shutdown_grace,
        send_timeout=args.send_timeout,
        ping_interval=args.ping_interval,
        ping_timeout=args.ping_timeout,
        flood_burst=args.flood_burst,
        flood_rate=args.flood_rate,
        flood_kick_after=args.flood_kick_after,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        # The IRC server's own name is always reserved: its NOTICEs show as server notices.
        reserved_nicks=(*args.reserved_nicks, args.irc_server_name, args.irc_network),
        ascii_nicks=args.ascii_nicks,
        limits=limits,
        database=args.db or str(default_database_path()),
        history=history_config(args),
        accounts=AccountRules(
            PasswordRules(min_bytes=args.min_password_bytes, max_bytes=args.max_password_bytes),
            login_attempts=args.login_attempts,
            login_window=args.login_window,
            registrations_per_hour=args.registrations_per_hour,
            oper_logins=tuple((name, hashed) for name, hashed in args.oper_login),
        ),
        operators=tuple(args.oper),
        cloak_key=args.cloak_key.encode() if args.cloak_key else None,
        backplane=backplane_config(args),
        max_per_ip=args.max_per_ip,
        limit_exempt=tuple(args.limit_exempt),
        metrics=metrics,
    )


def endpoints(args: argparse.Namespace, metrics: Metrics, limits: Limits) -> tuple[Endpoint, ...]:
    """Say what to listen on, according to the command line: each port with its front end.

    ``metrics`` is what the web endpoints show at /metrics and /healthz; ``limits`` are the
    hub's, which the front ends advertise.
    """
    line = partial(LineFrontEnd, args.max_line_bytes)
    found = []
    if not args.no_plain:
        found.append(Endpoint(args.port, line, "plain", hint=_hint("port", "plain")))
    if args.tls_cert:
        found.append(
            Endpoint(args.tls_port, line, "plain over TLS", tls=True, hint=_hint("tls-port"))
        )
    irc = partial(IrcFrontEnd, irc_config(args, limits))
    if not args.no_irc:
        found.append(Endpoint(args.irc_port, irc, "IRC", hint=_hint("irc-port", "irc")))
    if args.irc_tls_port is not None:
        hint = _hint("irc-tls-port")
        found.append(Endpoint(args.irc_tls_port, irc, "IRC over TLS", tls=True, hint=hint))
    separate = args.metrics_port is not None  # then the chat's ports show no metrics
    timeout = args.http_request_timeout
    web_ports = (
        (None if args.no_web else args.http_port, "web", "http", _hint("http-port", "web")),
        (args.https_port, "web over TLS", "https", _hint("https-port")),
    )
    for port, name, scheme, hint in web_ports:
        if port is not None:
            tls = scheme == "https"
            carried = None if args.no_irc_websocket else irc
            config = web_config(args, secure=tls, metrics=not separate, irc=carried)
            web = partial(WebFrontEnd, config, metrics)
            found.append(
                Endpoint(port, web, name, tls=tls, registration_timeout=timeout, hint=hint,
                         page=scheme)
            )  # fmt: skip
    if separate:
        only_metrics = partial(WebFrontEnd, WebConfig(chat=False), metrics)
        found.append(
            Endpoint(args.metrics_port, only_metrics, "metrics", host=args.metrics_host,
                     registration_timeout=timeout, hint=_hint("metrics-port"))
        )  # fmt: skip
    return tuple(found)


def _hint(option: str, front_end: str | None = None) -> str:
    """Say what an operator whose port is taken can do: the option that moves it, or drops it."""
    turn_off = f", --no-{front_end} turns it off" if front_end else ""
    return f"--{option} changes it{turn_off}"


def server_limits(args: argparse.Namespace) -> Limits:
    """Make the one set of limits the hub enforces and every front end advertises."""
    return Limits(
        rooms_per_member=args.max_rooms_per_member,
        rooms=args.max_rooms,
        topic_bytes=args.max_topic_bytes,
        away_bytes=args.max_away_bytes,
        history_lines=args.history_lines,
        rooms_created_per_member=args.max_rooms_created_per_member,
        rooms_created_per_address=args.max_rooms_created_per_address,
    )


def backplane_config(args: argparse.Namespace) -> BackplaneConfig | None:
    """Say which Redis this process shares rooms through (None: no ``--backplane``)."""
    if not args.backplane:
        return None
    ttl = args.backplane_ttl
    shared = tuple((dest, _shared_value(getattr(args, dest))) for dest in sorted(SHARED_OPTIONS))
    # Five beats per ttl: a process is declared gone only after missing several in a row.
    return BackplaneConfig(
        args.backplane, name=args.backplane_name, ttl=ttl, heartbeat=ttl / 5, shared=shared
    )


def _shared_value(value: object) -> str:
    """Return ``value`` as processes compare it: a list in any order is the same list."""
    return toml_value(sorted(value) if isinstance(value, list) else value)


def history_config(args: argparse.Namespace) -> HistoryConfig | None:
    """Say how much of rooms' history is kept (None: ``--no-history``)."""
    if args.no_history:
        return None
    return HistoryConfig(
        max_per_room=args.history_max_per_room,
        max_days=args.history_max_days,
        max_rooms=args.history_max_rooms,
        flush_interval=args.history_flush_interval,
    )


def default_database_path() -> pathlib.Path:
    """``$XDG_DATA_HOME/trio-chat/trio-chat.sqlite3`` (by default under ~/.local/share).

    A server that kept only history used ``history.sqlite3`` there: if that file exists and
    the new one does not, it is the database still.
    """
    data = os.environ.get("XDG_DATA_HOME") or pathlib.Path.home() / ".local" / "share"
    folder = pathlib.Path(data) / "trio-chat"
    database, before = folder / "trio-chat.sqlite3", folder / "history.sqlite3"
    return before if before.exists() and not database.exists() else database


def web_config(
    args: argparse.Namespace, *, secure: bool, metrics: bool, irc: FrontEndFactory | None = None
) -> WebConfig:
    """Make what a web endpoint serves: the page and its WebSocket, maybe /metrics, maybe IRC.

    ``irc`` is the IRC front end that IRC over WebSocket (at /) carries, if it is served.
    """
    return WebConfig(
        chat=True,
        metrics=metrics,
        secure=secure,
        origins=tuple(args.web_origin),
        max_message_bytes=args.max_message_bytes,
        hosts=tuple(args.web_host),
        irc=irc,
    )


def irc_config(args: argparse.Namespace, limits: Limits) -> IrcConfig:
    """Make what the IRC front end tells clients about this server."""
    motd = tuple(args.irc_motd.read_text().splitlines()) if args.irc_motd else ()
    return IrcConfig(
        server_name=args.irc_server_name,
        network=args.irc_network,
        motd=motd,
        password=args.irc_password,
        created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        limits=limits,
    )


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trio-chat", description="A multi-user chat on Trio.")
    parser.add_argument("--version", action="version", version=f"trio-chat {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    server = commands.add_parser("server", help="run the chat server")
    defaults = ServerConfig()
    server.add_argument(
        "--config",
        metavar="FILE",
        help="read options from this TOML file (options given here win over it)",
    )
    server.add_argument(
        "--print-config",
        action="store_true",
        help="print the configuration these options make, as a commented TOML file, and exit",
    )
    server.add_argument(
        "--host",
        default=defaults.host,
        help="address to listen on (default: %(default)s; 0.0.0.0 or :: opens it to the network)",
    )
    server.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="the plain protocol's port; 0 picks a free one (default: %(default)s)",
    )
    server.add_argument(
        "--max-clients",
        type=_positive(int),
        default=defaults.max_clients,
        help="connections served at once; newcomers past it are refused (default: %(default)s)",
    )
    server.add_argument(
        "--mailbox-size",
        type=_positive(int),
        default=defaults.mailbox_size,
        help="deliveries queued for a member before it is too slow (default: %(default)s)",
    )
    server.add_argument(
        "--max-line-bytes",
        type=_positive(int),
        default=DEFAULT_MAX_LINE_BYTES,
        help="longest line accepted from a client (default: %(default)s)",
    )
    server.add_argument(
        "--registration-timeout",
        type=_positive(float),
        default=defaults.registration_timeout,
        metavar="SECONDS",
        help="time a newcomer has to choose a nickname (default: %(default)s)",
    )
    server.add_argument(
        "--shutdown-grace",
        type=_positive(float),
        default=defaults.shutdown_grace,
        metavar="SECONDS",
        help="time members get to receive the shutdown notice (default: %(default)s)",
    )
    server.add_argument(
        "--send-timeout",
        type=_positive(float),
        default=defaults.send_timeout,
        metavar="SECONDS",
        help="a member whose connection takes no data for this long leaves (default: %(default)s)",
    )
    server.add_argument(
        "--flood-burst",
        type=_positive(int),
        default=defaults.flood_burst,
        metavar="N",
        help="lines a member may send at once before flood control (default: %(default)s)",
    )
    server.add_argument(
        "--flood-rate",
        type=_not_negative(float),
        default=defaults.flood_rate,
        metavar="R",
        help="lines per second after the burst; 0 turns flood control off (default: %(default)s)",
    )
    server.add_argument(
        "--flood-kick-after",
        type=_positive(float),
        default=defaults.flood_kick_after,
        metavar="SECONDS",
        help="over the rate this long without a break: removed (default: %(default)s)",
    )
    server.add_argument("--tls-cert", metavar="FILE", help="serve TLS with this certificate chain")
    server.add_argument("--tls-key", metavar="FILE", help="the certificate's private key")
    server.add_argument(
        "--tls-port",
        type=int,
        default=DEFAULT_TLS_PORT,
        help="the plain protocol over TLS (default: %(default)s)",
    )
    server.add_argument(
        "--no-plain", action="store_true", help="no plain-text port (the others only)"
    )
    irc = IrcConfig()
    server.add_argument(
        "--irc-port",
        type=int,
        default=DEFAULT_IRC_PORT,
        metavar="PORT",
        help="serve IRC on this port (default: %(default)s)",
    )
    server.add_argument("--no-irc", action="store_true", help="no IRC port (--irc-port)")
    server.add_argument(
        "--irc-tls-port", type=int, metavar="PORT", help="IRC over TLS (e.g. 6697; --tls-cert)"
    )
    server.add_argument(
        "--irc-server-name",
        default=irc.server_name,
        metavar="NAME",
        help="the server's name in IRC numerics (default: %(default)s)",
    )
    server.add_argument(
        "--irc-network",
        default=irc.network,
        metavar="NAME",
        help="the network's name for IRC clients (default: %(default)s)",
    )
    server.add_argument(
        "--irc-motd", type=pathlib.Path, metavar="FILE", help="the IRC message of the day"
    )
    server.add_argument(
        "--irc-password", metavar="PASSWORD", help="IRC clients must give it with PASS"
    )
    server.add_argument(
        "--ping-interval",
        type=_positive(float),
        default=defaults.ping_interval,
        metavar="SECONDS",
        help="an IRC client quiet this long is sent a PING (default: %(default)s)",
    )
    server.add_argument(
        "--ping-timeout",
        type=_positive(float),
        default=defaults.ping_timeout,
        metavar="SECONDS",
        help="...and removed if it still says nothing this long after (default: %(default)s)",
    )
    server.add_argument(
        "--reserved-nicks",
        nargs="*",
        default=list(defaults.reserved_nicks),
        metavar="NAME",
        help="nicknames nobody may take; * matches anything (default: %(default)s)",
    )
    server.add_argument(
        "--ascii-nicks", action="store_true", help="refuse nicknames that are not plain ASCII"
    )
    server.add_argument(
        "--http-port",
        type=int,
        default=DEFAULT_HTTP_PORT,
        metavar="PORT",
        help="serve the chat page, its WebSocket, /metrics and /healthz here "
        "(default: %(default)s)",
    )
    server.add_argument(
        "--no-web", action="store_true", help="no HTTP port for the chat page (--http-port)"
    )
    server.add_argument(
        "--no-irc-websocket",
        action="store_true",
        help="no IRC over WebSocket on the web port (web IRC clients connect to ws://HOST:PORT/)",
    )
    server.add_argument(
        "--https-port", type=int, metavar="PORT", help="the same over TLS (--tls-cert)"
    )
    server.add_argument(
        "--web-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a page allowed to open the chat's WebSocket, as scheme://host[:port], e.g. "
        "https://chat.example.org behind a proxy (repeatable; default: the server's own)",
    )
    server.add_argument(
        "--web-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a name the page is reached by, e.g. chat.example.org (repeatable; IP addresses, "
        "localhost and the hosts of --web-origin always are): other Host headers get 421",
    )
    server.add_argument(
        "--http-request-timeout",
        type=_positive(float),
        default=DEFAULT_HTTP_REQUEST_TIMEOUT,
        metavar="SECONDS",
        help="an HTTP request, or a WebSocket's hello, must arrive within this "
        "(default: %(default)s)",
    )
    server.add_argument(
        "--max-message-bytes",
        type=_positive(int),
        default=MAX_MESSAGE_BYTES,
        metavar="N",
        help="the largest WebSocket message a browser may send (default: %(default)s)",
    )
    server.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve /metrics and /healthz on this port only, not on the chat's",
    )
    server.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        help="address of --metrics-port (default: %(default)s)",
    )
    server.add_argument(
        "--backplane",
        metavar="URL",
        help="share nicknames and rooms with the other servers on this Redis "
        "(redis://HOST:PORT/DB); without it, this process is on its own",
    )
    server.add_argument(
        "--backplane-name",
        default=BackplaneConfig("").name,
        help="the prefix of the Redis keys: servers with the same Redis and name share rooms "
        "(default: %(default)s)",
    )
    server.add_argument(
        "--backplane-ttl",
        type=_positive(float),
        default=BackplaneConfig("").ttl,
        metavar="SECONDS",
        help="a server silent this long is gone: its members leave, their nicknames free up "
        "(default: %(default)s)",
    )
    history = HistoryConfig()
    server.add_argument(
        "--db",
        "--history-db",
        metavar="PATH",
        help="where accounts and rooms' history are saved (default: $XDG_DATA_HOME/trio-chat/"
        "trio-chat.sqlite3; :memory: keeps them in memory only)",
    )
    server.add_argument(
        "--no-history", action="store_true", help="keep no history: newcomers see only what follows"
    )
    rules = defaults.accounts
    server.add_argument(
        "--min-password-bytes",
        type=_positive(int),
        default=rules.passwords.min_bytes,
        metavar="N",
        help="the shortest account password, in UTF-8 bytes (default: %(default)s)",
    )
    server.add_argument(
        "--max-password-bytes",
        type=_positive(int),
        default=rules.passwords.max_bytes,
        metavar="N",
        help="the longest account password, in UTF-8 bytes (default: %(default)s)",
    )
    server.add_argument(
        "--login-attempts",
        type=_positive(int),
        default=rules.login_attempts,
        metavar="N",
        help="wrong passwords per account, and per address, before logins wait "
        "(default: %(default)s)",
    )
    server.add_argument(
        "--login-window",
        type=_positive(float),
        default=rules.login_window,
        metavar="SECONDS",
        help="...in this long; the next try waits until it has passed (default: %(default)s)",
    )
    server.add_argument(
        "--registrations-per-hour",
        type=_positive(int),
        default=rules.registrations_per_hour,
        metavar="N",
        help="accounts one address may register in an hour (default: %(default)s)",
    )
    server.add_argument(
        "--history-lines",
        type=_not_negative(int),
        default=defaults.limits.history_lines,
        metavar="N",
        help="entries of a room's history a newcomer is shown (default: %(default)s)",
    )
    server.add_argument(
        "--history-max-per-room",
        type=_positive(int),
        default=history.max_per_room,
        metavar="N",
        help="entries kept on disk per room (default: %(default)s)",
    )
    server.add_argument(
        "--history-max-days",
        type=_not_negative(float),
        default=history.max_days,
        metavar="DAYS",
        help="delete entries older than this; 0 keeps them (default: %(default)s)",
    )
    server.add_argument(
        "--history-max-rooms",
        type=_positive(int),
        default=history.max_rooms,
        metavar="N",
        help="rooms kept on disk; the least recently active are deleted first "
        "(default: %(default)s)",
    )
    server.add_argument(
        "--history-flush-interval",
        type=_positive(float),
        default=history.flush_interval,
        metavar="SECONDS",
        help="at most one commit per interval: what a crash can lose (default: %(default)s)",
    )
    limits = defaults.limits
    server.add_argument(
        "--max-rooms-per-member",
        type=_positive(int),
        default=limits.rooms_per_member,
        metavar="N",
        help="rooms one member may be in at once (default: %(default)s)",
    )
    server.add_argument(
        "--max-rooms",
        type=_positive(int),
        default=limits.rooms,
        metavar="N",
        help="rooms on the server at once, #lobby aside (default: %(default)s)",
    )
    server.add_argument(
        "--max-rooms-created-per-member",
        type=_positive(int),
        default=limits.rooms_created_per_member,
        metavar="N",
        help="rooms one member may have made that still exist (default: %(default)s)",
    )
    server.add_argument(
        "--max-rooms-created-per-address",
        type=_positive(int),
        default=limits.rooms_created_per_address,
        metavar="N",
        help="the same per address, an IPv6 /64 (default: %(default)s)",
    )
    server.add_argument(
        "--oper",
        action="append",
        default=[],
        metavar="ACCOUNT",
        help="make ACCOUNT a server operator once logged in (repeatable)",
    )
    server.add_argument(
        "--oper-login",
        action="append",
        nargs=2,
        default=[],
        metavar=("NAME", "HASH"),
        help="an OPER login: NAME and the argon2 HASH of its password, from"
        " `trio-chat hash-password` (repeatable)",
    )
    server.add_argument(
        "--cloak-key",
        metavar="KEY",
        help="the secret behind members' cloaked hosts, which bans on *!*@host name; give every"
        " process sharing rooms the same (default: one made at random the first time and kept"
        " in the database, so cloaks and bans on them survive restarts; with --db :memory:,"
        " a new one per start)",
    )
    server.add_argument(
        "--max-topic-bytes",
        type=_positive(int),
        default=limits.topic_bytes,
        metavar="N",
        help="the longest topic, in UTF-8 bytes (default: %(default)s)",
    )
    server.add_argument(
        "--max-away-bytes",
        type=_positive(int),
        default=limits.away_bytes,
        metavar="N",
        help="the longest away message, in UTF-8 bytes (default: %(default)s)",
    )
    server.add_argument(
        "--max-per-ip",
        type=_positive(int),
        default=defaults.max_per_ip,
        metavar="N",
        help="connections at once from one address, IPv6 by /64 (default: %(default)s)",
    )
    server.add_argument(
        "--limit-exempt",
        nargs="*",
        type=_network,
        default=list(defaults.limit_exempt),
        metavar="CIDR",
        help="networks --max-per-ip does not apply to (default: loopback)",
    )
    server.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="how much the log says: debug, info, warning or error (default: %(default)s)",
    )
    server.add_argument(
        "--log-format",
        default="text",
        choices=["text", "json"],
        help="text: a readable line per event; json: one object per line, with the time, "
        "the level, the event and its fields (default: %(default)s)",
    )
    commands.add_parser(
        "hash-password",
        help="read a password on stdin, print its argon2 hash (for --oper-login)",
    )
    client = commands.add_parser("client", help="chat with a trio-chat server")
    client.add_argument("--host", default=defaults.host, help="(default: %(default)s)")
    client.add_argument("--port", type=int, default=DEFAULT_PORT, help="(default: %(default)s)")
    client.add_argument("--nick", help="answer the name prompt with NICK (default: ask)")
    client.add_argument("--tls", action="store_true", help="connect with TLS")
    client.add_argument(
        "--cafile", metavar="FILE", help="trust this CA for --tls (default: the system's)"
    )
    client.add_argument(
        "--no-color", action="store_true", help="plain text (so does the NO_COLOR variable)"
    )
    return parser


def _positive(kind: Callable[[str], Number]) -> Callable[[str], Number]:
    return _checked(kind, lambda value: value > 0, "must be positive")


def _not_negative(kind: Callable[[str], Number]) -> Callable[[str], Number]:
    return _checked(kind, lambda value: value >= 0, "must not be negative")


def _checked(
    kind: Callable[[str], Number], accept: Callable[[Number], bool], rule: str
) -> Callable[[str], Number]:
    def convert(text: str) -> Number:
        value = kind(text)
        if not accept(value):
            raise argparse.ArgumentTypeError(f"{rule}, not {text}")
        return value

    convert.__name__ = kind.__name__  # argparse names the type in its "invalid ..." message
    return convert


def _network(text: str) -> str:
    try:
        parse_networks([text])
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


async def run_server(  # noqa: ASYNC128 (serve() calls task_status.started)
    config: ServerConfig,
    *,
    reread: Callable[[], ServerConfig] | None = None,
    task_status: trio.TaskStatus[list[tuple[str, int]]] = trio.TASK_STATUS_IGNORED,
) -> int:
    """Serve until SIGINT or SIGTERM, then shut down gracefully; a second signal stops at once.

    On SIGHUP, ``reread`` (called in a worker thread) says the configuration to apply now
    (see :meth:`~trio_chat.shell.server.Server.reconfigure`); if it raises ConfigError or
    OSError, the running configuration stays. Without it, SIGHUP is ignored.

    Returns the process exit code. Reports the bound addresses like :func:`serve`.

    Cancellation: the first SIGINT or SIGTERM sets ``stop`` (graceful: serve() says goodbye
    and returns); the second cancels serve() wherever it is (immediate) and the exit code says
    so. A reload under way is cancelled with the rest.
    """
    stop = trio.Event()  # set by the first signal: serve() begins its graceful shutdown
    exit_code = EXIT_INTERRUPTED  # unless serve() gets to return
    # One reload waits at most: SIGHUPs that come meanwhile are covered by it (it reads the
    # file as it is when it runs). What the reloader made waits for the server to take it.
    hangup_send, hangup_receive = trio.open_memory_channel[None](1)
    reload_send, reload_receive = trio.open_memory_channel[ServerConfig](1)
    # Receiving signals as a stream, rather than as KeyboardInterrupt raised wherever the code
    # happens to be, turns Ctrl+C into an ordinary event, handled in one place.
    watched = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    with trio.open_signal_receiver(*watched) as signals:
        # The signal watcher (and the reloader) run beside the server for as long as the
        # server does; a second signal cancels this nursery, server included, without
        # waiting for the grace period; a reload under way is cancelled with it.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_watch_signals, signals, stop, nursery.cancel_scope, hangup_send)
            if reread is not None:
                nursery.start_soon(_reload_on_hangup, hangup_receive, reread, reload_send)
            try:
                ready = _Ready(task_status)
                await serve(config, stop=stop, reloads=reload_receive, task_status=ready)
                exit_code = 0
            except StartupError as error:
                logger.error("%s", error)
                exit_code = EXIT_CANNOT_LISTEN
            nursery.cancel_scope.cancel(reason="server stopped")
    return exit_code


async def _watch_signals(
    signals: AsyncIterator[int],
    stop: trio.Event,
    everything: trio.CancelScope,
    hangups: trio.MemorySendChannel[None],
) -> None:
    async for signum in signals:
        name = signal.Signals(signum).name
        if signum == signal.SIGHUP:
            with contextlib.suppress(trio.WouldBlock):  # one is waiting: it will read it all
                hangups.send_nowait(None)
        elif stop.is_set():  # systemd was told STOPPING=1 already
            logger.warning("%s received again: stopping now", name)
            everything.cancel(reason=f"second {name}")
        else:
            logger.info("%s received: shutting down (send it again to stop at once)", name)
            notify("STOPPING=1")
            stop.set()


class _Ready:
    """A task status that tells systemd when every listener is up, then the caller."""

    def __init__(self, caller: trio.TaskStatus[list[tuple[str, int]]]) -> None:
        self.caller = caller

    @overload
    def started(self) -> None: ...
    @overload
    def started(self, value: list[tuple[str, int]]) -> None: ...
    def started(self, value: list[tuple[str, int]] | None = None) -> None:
        """Say READY=1 (with Type=notify, systemd waits for it), then report the addresses."""
        notify("READY=1\nSTATUS=serving")
        self.caller.started([] if value is None else value)


async def _reload_on_hangup(
    hangups: trio.MemoryReceiveChannel[None],
    reread: Callable[[], ServerConfig],
    reloads: trio.MemorySendChannel[ServerConfig],
) -> None:
    async for _ in hangups:
        logger.info("SIGHUP received: reading the configuration again")
        try:
            # The file and the MOTD are read off the event loop: a slow disk delays the reload,
            # never the chat. Cancelled (a second signal), the read is abandoned: it changes
            # nothing, and a stuck disk must not hold the shutdown.
            config = await trio.to_thread.run_sync(reread, abandon_on_cancel=True)
        except (ConfigError, OSError) as error:
            logger.error("reload: %s; the running configuration stays", error)
            continue
        # The server applies it (Server.follow_reloads), when it is ready to.
        await reloads.send(config)
