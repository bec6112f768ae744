"""THE BASELINE: the seed's thread-per-client design, written properly.

This is not trio-chat. It is the obvious alternative that trio-chat is measured against: one
blocking-socket thread per client, a lock around the shared nickname map, and a broadcast that
loops over every client calling ``sendall``. It speaks the same protocol for what the benchmark
uses (prompt, name, welcome with roster, ``<name> text``, join and leave notices, ``/exit``),
sets TCP_NODELAY, and checks nickname uniqueness under the lock, so it is a fair competitor.
What it cannot do by design: a client that stops reading blocks the thread that broadcasts to
it, and everyone behind it.

Run: ``python -m benchmarks.baseline --port 12345``.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import threading

PROMPT = b"* what is your name?\n"


class BaselineServer:
    """Thread per client; ``clients`` maps a normalized nickname to its socket and send lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # guards `clients`
        self.clients: dict[str, tuple[str, socket.socket, threading.Lock]] = {}
        # One broadcast (or registration) at a time, so that every client receives events in
        # the same order: without it, two senders' loops interleave differently at each
        # receiver, and a join notice can reach someone whose welcome already listed the
        # newcomer. Under the GIL this costs little: one thread runs Python at a time anyway.
        # Reentrant, because registering includes broadcasting the join.
        self.order = threading.RLock()

    def broadcast(self, data: bytes, *, skip: str | None = None) -> None:
        """Send ``data`` to every client (but ``skip``), one after the other."""
        with self.order:
            with self.lock:
                recipients = [entry for key, entry in self.clients.items() if key != skip]
            for _, sock, send_lock in recipients:
                try:
                    with send_lock:  # the client's own thread may be sending "* bye"
                        sock.sendall(data)
                except OSError:
                    pass  # its own thread will notice and clean up

    def serve_client(self, sock: socket.socket) -> None:
        """Run one client's thread: registration, then its lines, until it leaves."""
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = sock.makefile("rb")
        key = name = None
        send_lock = threading.Lock()
        try:
            while key is None:
                sock.sendall(PROMPT)
                line = reader.readline()
                if not line:
                    return
                name = line.decode("utf-8", "replace").strip()
                if not name or len(name) > 32 or not name.replace("_", "").isalnum():
                    sock.sendall(b"! invalid nickname\n")
                    continue
                with self.order:
                    with self.lock:
                        if name.casefold() not in self.clients:
                            key = name.casefold()
                            self.clients[key] = (name, sock, send_lock)
                            roster = sorted(entry[0] for entry in self.clients.values())
                    if key is not None:
                        welcome = f"* welcome, {name}! online ({len(roster)}): {', '.join(roster)}"
                        with send_lock:
                            sock.sendall(welcome.encode() + b"\n")
                        self.broadcast(f"* {name} joined\n".encode(), skip=key)
                if key is None:
                    sock.sendall(f"! nickname {name} is taken\n".encode())
            while line := reader.readline():
                text = line.decode("utf-8", "replace").rstrip("\r\n")
                if text in ("/exit", "/quit"):
                    with send_lock:
                        sock.sendall(b"* bye\n")
                    break
                if text.strip():
                    self.broadcast(f"<{name}> {text}\n".encode())
        except OSError:
            pass
        finally:
            if key is not None:
                with self.lock:
                    del self.clients[key]
                self.broadcast(f"* {name} left (quit)\n".encode())
            sock.close()

    def serve(self, host: str, port: int) -> None:
        """Accept clients forever, a thread each."""
        with socket.create_server((host, port), backlog=4096) as listener:
            print(f"baseline listening on {host} port {listener.getsockname()[1]}", flush=True)
            while True:
                sock, _ = listener.accept()
                threading.Thread(target=self.serve_client, args=(sock,), daemon=True).start()


def main() -> None:
    """Run the baseline server until killed."""
    parser = argparse.ArgumentParser(description="the thread-per-client baseline server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12345)
    args = parser.parse_args()
    threading.stack_size(256 * 1024)  # 10,000 threads with the default 8 MiB would be silly
    with contextlib.suppress(KeyboardInterrupt):
        BaselineServer().serve(args.host, args.port)


if __name__ == "__main__":
    main()
