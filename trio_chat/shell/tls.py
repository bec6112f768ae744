"""TLS on an accepted connection, with its records made in memory so that the hub can write them.

``trio.SSLStream`` makes records and sends them in one ``await``: nobody else can write them.
The fan-out's fast path (see :mod:`trio_chat.shell.mailbox`) needs the hub's own task to turn a
delivery into bytes and hand them to the socket with one non-blocking ``write()``, as it does
on plain TCP. :class:`TlsStream` keeps the connection's TLS state in an ``ssl.SSLObject`` over
two memory BIOs (as ``trio.SSLStream`` does inside) and adds :meth:`TlsStream.seal`: encrypt
now, and let the caller send the records.

Order: TLS numbers each record as it is made, so records must reach the wire in the order they
were made. Once the handshake is over, records leave the outgoing BIO only through ``seal()``
(which ``send_all`` uses too), so whoever writes the bytes of each ``seal()`` in the order the
calls were made keeps them in order: the mailbox does (one party writes at a time, and each
seals only what it writes next). Reading may make records too (the answer to a client's TLS
1.3 KeyUpdate, an alert): they wait in the BIO and go out in front of the next ``seal()``,
which is where TLS 1.3 wants a KeyUpdate answered (before the next application data).
Renegotiation, which would need an answer before anything else, is refused by the server's
context (``ssl.OP_NO_RENEGOTIATION``).
"""

from __future__ import annotations

import ssl

import trio

RECEIVE_BYTES = 65536  # decrypted bytes per receive_some, unless asked for fewer


class TlsStream(trio.abc.Stream):
    """The server's side of TLS over ``transport_stream``; the handshake comes first, by itself.

    The handshake happens in the first ``receive_some`` or ``send_all``, which the session
    makes from one task while it registers (so within its registration timeout). Errors
    (a failed handshake, a corrupt record) raise ``trio.BrokenResourceError``, as the
    transport's do. A handshake or a ``send_all`` that did not finish (cancelled, or failed)
    leaves the stream broken, as ``trio.SSLStream`` does: part of a flight or of a record may
    have gone, so every later ``receive_some`` or ``send_all`` raises at once (a registration
    that timed out in the handshake has no last words to send, and does not wait to try); so
    does a TLS session that ended (see :meth:`seal`).
    """

    __slots__ = ("_broken", "_handshaken", "_incoming", "_outgoing", "_tls", "transport_stream")

    def __init__(self, transport_stream: trio.abc.Stream, context: ssl.SSLContext) -> None:
        self.transport_stream = transport_stream
        self._incoming, self._outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._handshaken = False
        self._broken = False

    @property
    def handshaken(self) -> bool:
        """Whether the handshake is done (and :meth:`seal` may be called)."""
        return self._handshaken

    def seal(self, data: bytes) -> bytes:
        """Encrypt ``data``; return the records to send, in front of anything sealed later.

        Synchronous: the hub calls it in its turn. Only after the handshake. Once the TLS
        session is over (the client closed TCP without TLS's close_notify, or sent corrupt
        records), nothing can be encrypted any more: it returns nothing, and the reader, which
        saw the end, ends the session. (Raising here would raise in the hub's turn: an
        ``ssl.SSLEOFError`` there once stopped the whole server.)
        """
        assert self._handshaken, "records are sealed only after the handshake"
        if data and not self._broken:
            try:
                self._tls.write(data)
            except ssl.SSLError:
                self._broken = True
        return b"" if self._broken else self._outgoing.read()

    def peer_certificate(self) -> bytes | None:
        """Return the client's certificate (DER), if it gave one."""
        return self._tls.getpeercert(binary_form=True)

    def _check(self) -> None:
        if self._broken:
            raise trio.BrokenResourceError("a handshake or a send did not finish, or TLS ended")

    async def _handshake(self) -> None:  # noqa: ASYNC910 (it always waits for the client's hello)
        try:
            await self._shake_hands()
        except BaseException:
            self._broken = True
            raise

    async def _shake_hands(self) -> None:  # noqa: ASYNC910 (as _handshake)
        while True:
            try:
                self._tls.do_handshake()
            except ssl.SSLWantReadError:
                pass  # it needs the client's next flight
            except (ssl.SSLError, ssl.CertificateError) as error:
                raise trio.BrokenResourceError(f"TLS handshake failed: {error}") from error
            else:
                break
            if self._outgoing.pending:
                await self.transport_stream.send_all(self._outgoing.read())
            received = await self.transport_stream.receive_some(RECEIVE_BYTES)
            if not received:
                raise trio.BrokenResourceError("the client left during the TLS handshake")
            self._incoming.write(received)
        self._handshaken = True
        if self._tls.version() != "TLSv1.3" and self._outgoing.pending:
            # TLS 1.2's last flight is ours (the server's Finished): the client waits for it.
            await self.transport_stream.send_all(self._outgoing.read())
        # TLS 1.3's last flight is the client's; what the library made after it (session
        # tickets) goes out with the first records, as trio.SSLStream does: a client that
        # closes right after its handshake is not sent data it never reads (python-trio/trio#819).

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """Return the next decrypted bytes; ``b""`` once the client closed TLS (close_notify).

        Cancellation: before anything is decrypted, or while waiting for the transport; bytes
        decrypted are always returned.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        self._check()
        if not self._handshaken:
            await self._handshake()
        waited = False
        while True:
            try:
                data = self._tls.read(max_bytes or RECEIVE_BYTES)
                break
            except ssl.SSLWantReadError:
                pass  # the rest of a record is on its way
            except ssl.SSLZeroReturnError:
                data = b""  # the client closed TLS
                break
            except ssl.SSLError as error:  # a corrupt record, or TCP closed without close_notify
                raise trio.BrokenResourceError(f"TLS: {error}") from error
            waited = True
            received = await self.transport_stream.receive_some(RECEIVE_BYTES)
            if received:
                self._incoming.write(received)
            else:
                self._incoming.write_eof()
        if not waited:  # decrypted what had arrived already: a scheduling point, never cancelled
            await trio.lowlevel.cancel_shielded_checkpoint()
        return data

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Encrypt ``data`` and send the records (and any waiting in front of them)."""
        self._check()
        if not self._handshaken:
            await self._handshake()
        try:
            records = self.seal(bytes(data))
            if self._broken:  # the TLS session ended (see seal): what we were given cannot go
                raise trio.BrokenResourceError("the TLS session is over")
            await self.transport_stream.send_all(records)
        except BaseException:
            self._broken = True
            raise

    async def wait_send_all_might_not_block(self) -> None:
        """Wait until the transport might take more (part of Trio's stream interface)."""
        await self.transport_stream.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        """Close the transport (no close_notify: trio-chat closes connections forcefully)."""
        await self.transport_stream.aclose()
