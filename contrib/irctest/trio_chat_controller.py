"""An irctest controller for trio-chat: run progval/irctest's server tests against it.

Usage, from a checkout of irctest with its requirements installed (this directory on the
module path, and the Python that has trio-chat installed in ``TRIO_CHAT_PYTHON``)::

    TRIO_CHAT_PYTHON=/path/to/trio-chat/.venv/bin/python PYTHONPATH=/path/to/contrib/irctest \
        python -m pytest --controller trio_chat_controller irctest/server_tests/bot_mode.py

Each test gets a server of its own, with its own database in the test's directory, so that
nothing of one test (accounts, history, read markers) shows up in the next. Accounts are made
with IRCv3 ``REGISTER`` (trio-chat has no separate services), and logins use SASL PLAIN.
IRC over WebSocket is served on the web port (``--http-port``) when a test asks for it
(``irctest/server_tests/websocket.py``); IRC over TLS is not wired here yet: those tests are
skipped.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any, ClassVar

from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.runner import NotImplementedByController

PYTHON = os.environ.get("TRIO_CHAT_PYTHON", "python3")  # the one with trio-chat installed
SERVER_NAME = "My.Little.Server"  # the name irctest's tests expect numerics from
REGISTER_TIMEOUT = 20.0  # seconds a REGISTER may take (its password is hashed with argon2id)
# irctest often has one client send a line and, at once, another send the PING whose PONG
# ends its read, expecting the first line's effect before the PONG. Lines from two
# connections that arrive in one instant are read in either order (Trio runs the tasks it
# wakes together in one order or its reverse, at random): back to back, 102 to 105 of 200
# such pairs came out reversed, over TCP and over WebSocket alike; 1 of 200 with 1 ms between
# them. No client can rely on an order between two connections, so give the first line a
# moment, as irctest's controllers for sable and bahamut do.
SYNC_SLEEP_TIME = 0.02  # seconds


class TrioChatController(BaseServerController, DirectoryBasedController):
    """Start ``trio-chat server`` with IRC only, and register accounts through it."""

    software_name = "trio-chat"
    supported_sasl_mechanisms: ClassVar[set[str]] = {"PLAIN"}
    supports_sts = False
    sync_sleep_time = SYNC_SLEEP_TIME  # before each read up to a PONG (see above)

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: str | None,
        ssl: bool,
        run_services: bool,
        faketime: str | None,
        websocket_hostname: str | None,
        websocket_port: int | None,
    ) -> None:
        """Start the server on ``hostname``:``port``, with a fresh database."""
        if websocket_hostname not in (None, hostname):
            raise NotImplementedByController("Websocket on another address than IRC's")
        if ssl:
            raise NotImplementedByController("TLS")
        assert self.proc is None
        self.port, self.hostname = port, hostname
        self.create_config()
        assert self.directory
        command = [PYTHON, "-m", "trio_chat", "server", "--no-plain"]
        command += ["--host", hostname, "--irc-port", str(port), "--irc-server-name", SERVER_NAME]
        # IRC over WebSocket is the web port's: on when a test asks for it (websocket.py).
        if websocket_port is None:
            command += ["--no-web"]
        else:
            command += ["--http-port", str(websocket_port)]
        command += ["--db", str(self.directory / "db.sqlite3"), "--flood-rate", "0"]
        # irctest's passwords are as short as "sesame1": a test server takes them.
        command += ["--log-level", "warning", "--min-password-bytes", "4"]
        if password:
            command += ["--irc-password", password]
        self.proc = self.execute(command)

    def wait_for_services(self) -> None:
        """Accounts are built in: there are no services to wait for, only the port."""
        self.wait_for_port()

    def registerUser(self, case: Any, username: str, password: str | None = None) -> None:
        """Register the account ``username`` with IRCv3 REGISTER, then hang up."""
        self.wait_for_port()
        with socket.create_connection((self.hostname, self.port)) as connection:
            connection.sendall(
                b"CAP LS 302\r\nCAP REQ :draft/account-registration\r\n"
                + f"NICK {username}\r\nREGISTER * * :{password}\r\n".encode()
            )
            received = b""
            deadline = time.monotonic() + REGISTER_TIMEOUT
            while b"REGISTER SUCCESS" not in received and b"FAIL REGISTER" not in received:
                assert time.monotonic() < deadline, received
                received += connection.recv(4096)
            assert b"REGISTER SUCCESS" in received, received
            connection.sendall(b"QUIT\r\n")


def get_irctest_controller_class() -> type[TrioChatController]:
    """Return the controller (irctest's entry point)."""
    return TrioChatController
