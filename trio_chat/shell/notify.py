"""Telling systemd how the service is doing: the ``sd_notify`` protocol, without libsystemd.

With ``Type=notify``, systemd starts the service and waits until it says ``READY=1`` before it
counts it as started (and starts what comes after it); ``STOPPING=1`` says a shutdown began.
The service says so by sending a datagram to the Unix socket named by ``NOTIFY_SOCKET`` (a
path, or an abstract name starting with ``@``). Without that variable (not run by systemd),
nothing is sent. A datagram is sent without ever waiting: a notification that cannot be sent
at once is dropped, and logged, rather than stalling the server.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

logger = logging.getLogger(__name__)


def notify(message: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Send ``message`` (``"READY=1"``, ...) to systemd if it asked; return whether it was sent."""
    address = environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket: its name starts with a NUL byte
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notifier:
            notifier.setblocking(False)
            notifier.sendto(message.encode(), address)
    except OSError as error:
        logger.warning("cannot tell systemd %r at %s: %s", message, address, error)
        return False
    return True
