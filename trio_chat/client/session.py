"""``trio-chat client``: a terminal client that never garbles what you type, and a piped mode.

The client is a nursery of siblings: one receives from the server and displays, another reads
what the person (or the script piping into stdin) types, and a third, the only one that writes
to the connection, sends what the others queue for it (lines typed, the nickname, the final
``/exit``), in order. When the receiver or the input reader finishes, the nursery cancels the
rest. A small task turns Ctrl+C, when it arrives as a signal rather than as a key press, into
a clean quit.

The keyboard is the interesting part. prompt_toolkit gives us a proper input line (editing,
history) and prints incoming lines *above* it (``patch_stdout``), but it runs on its own asyncio
event loop, so it cannot run inside Trio's. It runs in a worker thread instead, and a thread
blocked on a keyboard cannot be cancelled: ``trio.to_thread.run_sync(..., abandon_on_cancel=True)``
lets the Trio task go at once when cancelled, and leaves the thread behind. An abandoned thread
still owns the terminal (raw mode), so :meth:`Terminal.close` asks prompt_toolkit to exit and
waits, briefly, for the thread to restore the terminal.
"""

from __future__ import annotations

import os
import re
import signal
import ssl
import sys
import threading
from collections.abc import Callable
from typing import Protocol

import trio
from prompt_toolkit import PromptSession
from prompt_toolkit.filters import Condition
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.patch_stdout import patch_stdout

from trio_chat.client.display import Display
from trio_chat.core.framing import LineFramer, LineTooLong
from trio_chat.core.text import decode

EXIT_OK = 0
EXIT_DISCONNECTED = 1
EXIT_CANNOT_CONNECT = 2

GOODBYE_TIMEOUT = 2.0  # seconds to wait for the server's "* bye" after we quit
OUTGOING_LINES = 16  # lines queued for the writer; typing waits if the server does not take them
MAX_SERVER_LINE_BYTES = (
    1 << 20
)  # from the server; its lines are short, this only bounds a rogue one
TERMINAL_RESTORE_TIMEOUT = 1.0  # seconds the keyboard thread gets to give the terminal back
# The server's question when a nickname is an account's (the plain protocol's wording).
_PASSWORD_ASKED = re.compile(r"\* \S+ is registered: password\?")


class Console(Protocol):
    """Where the person's lines come from and where the server's lines go."""

    async def read_line(self) -> str | None:
        """Return the next line typed, or None when the person is done (EOF, Ctrl+D, Ctrl+C)."""
        ...

    def show(self, text: str) -> None:
        """Show one line from the server."""
        ...

    def ask_secret(self) -> None:
        """Treat the next line as a password: do not show it as it is typed, nor keep it."""
        ...


class Pipe:
    """Piped mode: lines from stdin, plain text to stdout, for scripts."""

    async def read_line(self) -> str | None:
        """Read a line from stdin in a worker thread (see the module docstring)."""
        # A blocking read cannot be cancelled; abandoning the thread at cancellation is harmless
        # here: it holds nothing but a read on stdin, and the process is about to exit.
        line = await trio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
        return line.rstrip("\r\n") if line else None

    def show(self, text: str) -> None:
        """Print the line and flush, so a reader at the other end of the pipe sees it now."""
        print(text, flush=True)

    def ask_secret(self) -> None:
        """Do nothing: a script gives the password as its next line, and nothing is echoed."""


class Terminal:
    """Interactive mode: a prompt_toolkit input line with incoming lines printed above it.

    Use inside ``prompt_toolkit.patch_stdout.patch_stdout(raw=True)``, which makes ``print``
    from any thread appear above the input line instead of through it.
    """

    def __init__(self, prompt: Callable[[], str]) -> None:
        # Set when the server asks for a password: the line being typed is masked, and kept
        # out of the history, until it is sent.
        self._secret = False
        # erase_when_done: the server echoes what we send, so keeping the typed line on screen
        # as well would show every message twice.
        self._session: PromptSession[str] = PromptSession(
            erase_when_done=True,
            is_password=Condition(lambda: self._secret),
            history=_History(lambda: self._secret),
        )
        self._prompt_text = prompt  # asked at every redraw: the prompt follows the current room
        # Set while no prompt is running in the keyboard thread; the terminal is then ours.
        self._idle = threading.Event()
        self._idle.set()

    async def read_line(self) -> str | None:
        """Prompt for one line in a worker thread.

        Cancellation: returns to Trio at once (the thread is abandoned, still prompting);
        call :meth:`close` before exiting to end that prompt and restore the terminal.
        """
        self._idle.clear()
        return await trio.to_thread.run_sync(self._prompt, abandon_on_cancel=True)

    def _prompt(self) -> str | None:
        try:
            return self._session.prompt(self._prompt_now)
        except (EOFError, KeyboardInterrupt):  # Ctrl+D, Ctrl+C (a key press in raw mode)
            return None
        finally:
            self._secret = False  # whatever was typed, the next line is an ordinary one
            self._idle.set()

    def _prompt_now(self) -> str:
        return "password: " if self._secret else self._prompt_text()

    def ask_secret(self) -> None:
        """Mask the line being typed from now on, and keep it out of the history."""
        self._secret = True
        self._redraw()

    def show(self, text: str) -> None:
        """Print above the input line (through patch_stdout's proxy), and redraw the prompt."""
        print(text)
        self._redraw()  # the line may have changed the room

    def _redraw(self) -> None:
        app = self._session.app
        if app.is_running and app.loop is not None:
            app.loop.call_soon_threadsafe(app.invalidate)

    async def close(self) -> None:
        """End a prompt still running in an abandoned thread, and wait for the terminal back.

        Cancellation: the wait can be abandoned; callers bound and shield it (see run_interactive).
        """
        app = self._session.app
        if app.is_running and app.loop is not None:
            app.loop.call_soon_threadsafe(app.exit)
        await trio.to_thread.run_sync(self._idle.wait, abandon_on_cancel=True)


class Connection:
    """One connection to the server, and how it ended."""

    def __init__(self, stream: trio.abc.Stream, console: Console, display: Display) -> None:
        self.stream = stream
        self.console = console
        self.display = display
        self.quitting = False  # we sent /exit: the server closing is the end we asked for
        # Lines for the writer, the one task that writes to the stream.
        self.outgoing, self._to_send = trio.open_memory_channel[str](OUTGOING_LINES)

    async def send_line(self, line: str) -> None:
        """Queue one line for the writer (waiting if it is that far behind)."""
        await self.outgoing.send(line)

    async def write(self, done: trio.CancelScope) -> None:  # noqa: ASYNC910 (see below)
        """Send the queued lines, in order: the only task that writes to the stream.

        The queue is never closed: this ends when the connection is cancelled, or the server is
        gone (a failed send, which is a checkpoint).

        Cancellation: with the connection; a line cut short by it is of no use to anyone then.
        """
        try:
            async for line in self._to_send:
                await self.stream.send_all(line.encode() + b"\n")
        except trio.BrokenResourceError:
            # The server is gone. (No checkpoint needed on this way out: the failed send was one.)
            done.cancel(reason="connection lost")

    async def quit(self, done: trio.CancelScope) -> None:
        """Say /exit, and give the server GOODBYE_TIMEOUT to answer before we stop waiting."""
        if self.quitting:
            return  # noqa: ASYNC910 (said already: nothing to do, nothing to wait for)
        self.quitting = True
        await self.send_line("/exit")
        # The receiver ends the connection when the server closes after "* bye"; if that takes
        # too long (a server that no longer answers), this deadline ends it instead.
        done.deadline = trio.current_time() + GOODBYE_TIMEOUT


async def run_interactive(
    host: str, port: int, *, nick: str | None, color: bool, tls: ssl.SSLContext | None = None
) -> int:
    """Run the client on a terminal; return the exit code."""
    display = Display(color=color)
    terminal = Terminal(display.prompt)
    # Everything printed while this is active appears above the input line, from any thread.
    with patch_stdout(raw=True):
        try:
            return await run_client(
                host, port, nick=nick, console=terminal, display=display, tls=tls
            )
        finally:
            # Shielded: we may be here because we were cancelled, and the terminal must still be
            # restored. Bounded: a keyboard thread that does not answer must not stop the exit.
            with trio.move_on_after(TERMINAL_RESTORE_TIMEOUT, shield=True):
                await terminal.close()


async def run_client(
    host: str,
    port: int,
    *,
    nick: str | None,
    console: Console,
    display: Display,
    tls: ssl.SSLContext | None = None,
) -> int:
    """Chat with the server at ``host``:``port`` until either side ends; return the exit code.

    With ``tls``, connect with TLS and verify the server's certificate against that context.
    ``display`` turns the server's lines into what ``console`` shows.

    Cancellation: cancelling this closes the connection without a goodbye.
    """
    address = f"{host}:{port}"
    stream: trio.abc.Stream
    try:
        stream = await trio.open_tcp_stream(host, port)
        if tls is not None:
            stream = trio.SSLStream(stream, tls, server_hostname=host)
            await stream.do_handshake()  # a certificate that fails verification fails here
    except trio.BrokenResourceError as error:  # the TLS handshake failed
        await trio.aclose_forcefully(stream)
        print(f"trio-chat: cannot connect to {address}: {error.__cause__}", file=sys.stderr)
        return EXIT_CANNOT_CONNECT
    except OSError as error:
        print(f"trio-chat: cannot connect to {address}: {_reason(error)}", file=sys.stderr)
        return EXIT_CANNOT_CONNECT  # noqa: ASYNC910 (the failed connect was the checkpoint)
    connection = Connection(stream, console, display)
    # With a nickname to give, typed (or piped) lines wait until it has been: else a script's
    # first line could reach the server first and be taken for the nickname.
    named = trio.Event()
    if nick is None:
        named.set()
    # The siblings live and die together: the receiver or the input reader, when it finishes,
    # cancels the rest (the writer, the Ctrl+C watcher). The stream is closed after them.
    async with stream, trio.open_nursery() as nursery:
        nursery.start_soon(_receive, connection, nick, named, nursery.cancel_scope)
        nursery.start_soon(_send_input, connection, named, nursery.cancel_scope)
        nursery.start_soon(connection.write, nursery.cancel_scope)
        nursery.start_soon(_quit_on_sigint, connection, nursery.cancel_scope)
    if connection.quitting:
        return EXIT_OK
    print(f"disconnected from {address}", file=sys.stderr)
    return EXIT_DISCONNECTED


async def _receive(  # noqa: ASYNC910 (a reset ends it after a failed receive, a checkpoint)
    connection: Connection, nick: str | None, named: trio.Event, done: trio.CancelScope
) -> None:
    """Show what the server sends until it closes; answer its first prompt if given a nick.

    ``named`` is set once the nick is queued, ahead of anything typed.
    """
    framer = LineFramer(MAX_SERVER_LINE_BYTES)
    while True:
        try:
            data = await connection.stream.receive_some()
        except trio.BrokenResourceError:
            data = b""  # reset: the same, for us, as a close
        if data:
            framer.feed(data)
        else:
            framer.feed_eof()
        while (raw := framer.next_line()) is not None:
            if isinstance(raw, LineTooLong):
                continue  # not from a trio-chat server; nothing worth showing
            line = decode(raw)
            if nick is not None and line == "* what is your name?":
                await connection.send_line(nick)
                nick = None  # if it is refused, the person answers the next prompt
                named.set()
                continue
            connection.console.show(connection.display.show(line))
            if _PASSWORD_ASKED.fullmatch(line):
                connection.console.ask_secret()
        if not data:
            break
    done.cancel(reason="server closed the connection")


async def _send_input(connection: Connection, named: trio.Event, done: trio.CancelScope) -> None:
    """Send what the person types, once the nick (if any) is given; at the end of input, quit."""
    await named.wait()
    while (line := await connection.console.read_line()) is not None:
        if line.strip().lower() in ("/exit", "/quit"):
            break
        await connection.send_line(line)
    await connection.quit(done)


async def _quit_on_sigint(connection: Connection, done: trio.CancelScope) -> None:
    # Ctrl+C arrives as a key press while prompt_toolkit holds the terminal in raw mode, but as
    # SIGINT in piped mode or between two prompts. Either way it means "leave cleanly".
    with trio.open_signal_receiver(signal.SIGINT) as signals:
        async for _ in signals:
            await connection.quit(done)


class _History(InMemoryHistory):
    """The input history, which never keeps a password (``secret()`` says one is typed)."""

    def __init__(self, secret: Callable[[], bool]) -> None:
        super().__init__()
        self._secret = secret

    def append_string(self, string: str) -> None:
        if not self._secret():
            super().append_string(string)


def _reason(error: OSError) -> str:
    # open_tcp_stream reports "all attempts to connect ... failed", from a group of the
    # attempts' own errors; the first of those says why ("Connection refused").
    cause = error.__cause__
    if isinstance(cause, BaseExceptionGroup):
        cause = cause.exceptions[0]
    if isinstance(cause, OSError) and cause.errno:
        return os.strerror(cause.errno)
    return str(error)
