"""Where the backplane is and how it behaves: what the command line and the server need to know.

Kept apart from :mod:`trio_chat.shell.backplane` so that a server without ``--backplane`` never
imports the Redis client (coredis is about 29 MB of an idle process's memory): the server
imports the backplane itself only when its configuration has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


class BackplaneError(Exception):
    """The backplane cannot start: Redis cannot be reached, or the state never came."""


@dataclass(frozen=True)
class BackplaneConfig:
    """Where the shared log is, and how processes tell they are alive."""

    url: str  # redis://[user:password@]host[:port][/db]
    name: str = "trio-chat"  # the keys' prefix: processes with the same Redis and name share rooms
    heartbeat: float = 1.0  # seconds between heartbeats...
    ttl: float = 5.0  # ...and how long a process that stopped beating counts as alive
    timeout: float = 2.0  # a command that takes longer means Redis is unavailable
    retry_first: float = 0.1  # seconds before the first reconnection attempt, doubling...
    retry_max: float = 5.0  # ...up to this (with jitter)
    max_entries: int = 100_000  # the log's cap (approximate, MAXLEN ~)
    state_timeout: float = 10.0  # how long a starting process waits for the state
    # What every process must agree on (limits, reserved names), by name, as text: a process
    # whose settings differ from those of the processes running refuses to start.
    shared: tuple[tuple[str, str], ...] = ()

    def shown_url(self) -> str:
        """Return :attr:`url` as it may be logged: without its password."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()
