"""The running link: one authenticated connection, its only reader and its only writer.

:func:`~thalovant.link.dialer.dial` builds a :class:`Link`; :meth:`Link.run` is then its reader
until it ends, and :meth:`Link.send` its single writer (a lock around encrypt + every chunk,
shielded from cancellation).

Refusal vs drop (docs/protocol.md §2.6): a close with one of the refusal codes within
:data:`REFUSAL_SETTLE_SECONDS` after the handshake, before any frame decrypted, is a credential
refusal (right after ``XXpsk2``: the hub pinned another client key,
:class:`~thalovant.errors.ThalovantClientKeyRejectedError`). Any other end is a drop. After an
``XXpsk2`` handshake the link reports itself ready only when the settle window has passed or a
frame decrypted, so ``connect()`` on first contact tells the truth about a rejected client key.

Text after the session exists kills the link (§5.1/§5.2) as a protocol error, except a
cleartext hub HELLO on a carrier that greets in cleartext (MQTT): HiveMind's MQTT plugin ends
a session without a word, and the client's next publish opens a new session that greets anew
(docs/interop.md). The link reads that as a close without a status (1005), so the refusal
window applies exactly as to any other close.

Silent peers: with ``probe=(idle, down)`` (a held link, :mod:`thalovant.link.policy`),
:meth:`Link.run` probes the carrier with one round trip (``Carrier.probe``: a WebSocket
ping, the next HTTPS poll, an MQTT QoS 1 publish) whenever no frame arrived for ``idle``
seconds, and ends the link as a drop when the probe gets no answer within ``down`` seconds,
instead of waiting for the operating system's TCP timeout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import anyio

from thalovant.carriers import Carrier
from thalovant.carriers.base import SESSION_GONE_CODE, CarrierClosed
from thalovant.errors import (
    ThalovantConnectionError,
    ThalovantError,
    ThalovantProtocolError,
    ThalovantRuntimeError,
)
from thalovant.link.outcome import REFUSAL_CLOSE_CODES, after_handshake_refusal, public_error
from thalovant.link.settings import LinkSettings
from thalovant.protocol.binary import BinaryFrame
from thalovant.protocol.channel import MalformedMessageError, SecureChannel
from thalovant.protocol.envelope import HiveMessage
from thalovant.protocol.hello import is_hello
from thalovant.protocol.noise import PATTERN_XX
from thalovant.redact import redact_url

__all__ = ["REFUSAL_SETTLE_SECONDS", "Dispatch", "Link", "LinkDown"]

logger = logging.getLogger("thalovant.link")

#: How long after the handshake a refusal close still counts as a refusal.
REFUSAL_SETTLE_SECONDS = 0.75
_CLOSE_SECONDS = 2.0

#: The reader hands every decrypted message to this callable (synchronously).
Dispatch = Callable[[HiveMessage | BinaryFrame], None]


class LinkDown(ThalovantConnectionError):
    """Internal to the link and the client runtime: the link was already gone, so nothing of
    the message reached the carrier and the caller may reconnect and send it (the only send
    error that allows that). The runtime raises a plain ThalovantConnectionError instead."""


class Link:
    """One authenticated connection. :meth:`run` is its only reader, :meth:`send` its only
    writer (a lock around encrypt + every chunk, shielded from cancellation).

    Args:
        carrier: The open carrier.
        channel: The Noise transport channel of the completed handshake.
        session_id: The session id announced in this connection's HELLO.
        pattern: The handshake's Noise pattern (``XXpsk2`` waits out the refusal window).
        settings: The settings the link was dialed with.
        hello_ends_session: Read a cleartext hub HELLO as the hub ending the session (the
            carrier's ``cleartext_hello``; see the module docstring).
    """

    def __init__(
        self,
        carrier: Carrier,
        channel: SecureChannel,
        *,
        session_id: str,
        pattern: str,
        settings: LinkSettings,
        hello_ends_session: bool = False,
    ) -> None:
        self._carrier = carrier
        self._hello_ends_session = hello_ends_session
        self._channel = channel
        self.session_id = session_id
        """The session id announced in this connection's HELLO."""
        self.pattern = pattern
        self._settings = settings
        self._lock = anyio.Lock(fast_acquire=True)
        self._established = time.monotonic()
        self._decrypted = 0
        self._closing = False
        self._silenced: ThalovantConnectionError | None = None
        self.last_heard = time.monotonic()
        """``time.monotonic()`` of the last frame from the hub (or of the handshake)."""
        self.dead = False
        """True once the link can no longer carry messages."""
        self.ready = False
        """True once the refusal window has passed (XXpsk2) or at once (KKpsk0)."""

    def __repr__(self) -> str:
        return f"<Link {redact_url(self._settings.pin_id)} {self.pattern} dead={self.dead}>"

    # -- writing --------------------------------------------------------------------------

    async def send(self, message: HiveMessage) -> None:
        """Encrypt and send one message.

        Args:
            message: The envelope to send.

        Raises:
            LinkDown: The link was already gone: nothing was sent.
            ThalovantConnectionError: Sending failed or timed out; the message may have
                reached the hub (never resend it).
            ThalovantRuntimeError: The message cannot be encoded (nothing was sent).
        """
        await self._send(lambda: self._channel.encrypt_message(message))

    async def send_binary(
        self, data: bytes, *, kind: str | int, metadata: dict[str, Any] | None
    ) -> None:
        """Send a WIRE-1 ``bin`` frame carrying ``data`` (docs/protocol.md §2.5).

        Args:
            data: The payload bytes.
            kind: The binary kind (``"raw_audio"``, ``"file"``, ... or its number).
            metadata: The frame's metadata.

        Raises:
            LinkDown: The link was already gone: nothing was sent.
            ThalovantConnectionError: Sending failed or timed out.
            ThalovantRuntimeError: The frame cannot be encoded (nothing was sent).
        """
        await self._send(
            lambda: self._channel.encrypt_binary(
                "bin", metadata=metadata, binary_kind=kind, data=data
            )
        )

    async def _send(self, encrypt: Callable[[], list[bytes]]) -> None:
        if self.dead:
            raise LinkDown("the connection to the hub is gone")
        async with self._lock:
            if self.dead:
                raise LinkDown("the connection to the hub is gone")
            try:
                frames = encrypt()
            except (TypeError, ValueError) as exc:  # the caller's payload, nothing sent
                raise ThalovantRuntimeError(f"cannot encode the message: {exc}") from None
            # One scope: shielded from the caller's cancellation, bounded by send_timeout.
            timeout = self._settings.send_timeout
            scope = anyio.CancelScope(shield=True, deadline=anyio.current_time() + timeout)
            try:
                with scope:
                    for frame in frames:
                        await self._carrier.send(frame)
            except ThalovantConnectionError as exc:
                self._kill()
                raise ThalovantConnectionError(f"sending to the hub failed: {exc}") from None
            if scope.cancelled_caught:
                self._kill()
                raise ThalovantConnectionError(f"sending to the hub timed out after {timeout:g} s")

    def _kill(self) -> None:
        # A half-written message leaves the hub's nonce out of step: the link cannot go on.
        self.dead = True
        abort = getattr(self._carrier, "abort", None)
        if abort is not None:
            abort()

    # -- reading --------------------------------------------------------------------------

    async def run(
        self,
        dispatch: Dispatch,
        on_ready: Callable[[], None],
        *,
        probe: tuple[float, float] | None = None,
    ) -> ThalovantError | None:
        """Read until the link ends.

        Args:
            dispatch: Called with every decrypted message (synchronously; its errors are
                logged and the link kept).
            on_ready: Called once the link counts as ready (see the module docstring).
            probe: ``(idle, down)`` seconds: probe after ``idle`` without a frame, end the
                link when a probe gets no answer within ``down`` (None: no probes).

        Returns:
            The public error that ended the link (a refusal is a ThalovantHubRefusedError),
            or None when :meth:`aclose` ended it.
        """
        ended: ThalovantError | None = None
        async with anyio.create_task_group() as tg:
            if self.pattern == PATTERN_XX:
                tg.start_soon(self._settle, on_ready)
            else:
                self._mark_ready(on_ready)
            if probe is not None and callable(getattr(self._carrier, "probe", None)):
                tg.start_soon(self._watch, *probe)
            try:
                ended = await self._read(dispatch, on_ready)
            finally:
                self.dead = True
                tg.cancel_scope.cancel()
        return ended

    async def _settle(self, on_ready: Callable[[], None]) -> None:
        await anyio.sleep(max(0.0, REFUSAL_SETTLE_SECONDS - (time.monotonic() - self._established)))
        self._mark_ready(on_ready)

    async def _watch(self, idle: float, down: float) -> None:
        """Probe an idle link; abort it when a probe goes unanswered (a silent peer)."""
        while not self.dead:
            quiet = time.monotonic() - self.last_heard
            if quiet < idle:
                await anyio.sleep(idle - quiet)
                continue
            if not await self.check(down):
                return

    async def check(self, down: float) -> bool:
        """Probe the link now with one round trip (as the idle probe does); abort it as a
        silent peer when neither the answer nor any frame comes within ``down`` seconds.

        Args:
            down: Seconds to wait for the answer.

        Returns:
            True when the hub answered (or the carrier has no probe and the link is alive);
            False when the link is gone or was dropped for silence (the reader reports it).
        """
        probe: Callable[[], Any] | None = getattr(self._carrier, "probe", None)
        if self.dead or not callable(probe):
            return not self.dead
        sent = time.monotonic()
        answered = False
        with anyio.move_on_after(down):
            try:
                await probe()
                answered = True
            except ThalovantConnectionError:
                return False  # the carrier is gone: the reader reports it
        if answered or self.last_heard >= sent:
            self.last_heard = max(self.last_heard, time.monotonic())
            return True
        self._silenced = ThalovantConnectionError(
            f"the hub went silent: no answer to a probe within {down:g} s"
        )
        logger.warning("%s; dropping the link", self._silenced)
        self.abort()
        return False

    def _mark_ready(self, on_ready: Callable[[], None]) -> None:
        if not self.ready and not self.dead:
            self.ready = True
            on_ready()

    async def _read(
        self, dispatch: Dispatch, on_ready: Callable[[], None]
    ) -> ThalovantError | None:
        carrier, channel = self._carrier, self._channel
        while True:
            try:
                frame = await carrier.receive()
            except CarrierClosed as exc:
                if self._silenced is not None:
                    return self._silenced
                return None if self._closing else self._classify(exc)
            except ThalovantConnectionError as exc:
                if self._silenced is not None:
                    return self._silenced
                return None if self._closing else public_error(exc)
            self.last_heard = time.monotonic()
            if isinstance(frame, str):
                if self._hello_ends_session and is_hello(frame):
                    gone = CarrierClosed(
                        "the hub ended the session (it greeted this connection anew)",
                        code=SESSION_GONE_CODE,
                    )
                    return self._classify(gone)
                return ThalovantProtocolError("cleartext frame after the Noise session exists")
            try:
                message = channel.decrypt(frame)
            except MalformedMessageError as exc:
                self._decrypted += 1
                logger.warning("dropped a malformed message from the hub: %s", exc)
                continue
            except ThalovantProtocolError as exc:
                return public_error(exc)
            self._decrypted += 1
            if not self.ready:
                self._mark_ready(on_ready)
            if message is not None:
                try:
                    dispatch(message)
                except Exception:
                    logger.exception("dispatching a message from the hub failed; link kept")

    def _classify(self, exc: CarrierClosed) -> ThalovantConnectionError:
        early = time.monotonic() - self._established <= REFUSAL_SETTLE_SECONDS
        if exc.code in REFUSAL_CLOSE_CODES and early and self._decrypted == 0:
            return after_handshake_refusal(self.pattern, self._settings, exc)
        return ThalovantConnectionError(f"connection to the hub lost: {exc}")

    # -- closing --------------------------------------------------------------------------

    async def aclose(self, timeout: float = _CLOSE_SECONDS) -> None:
        """Close the carrier (bounded by ``timeout``, then abort). Idempotent.

        Args:
            timeout: Seconds the close may take before the connection is dropped.
        """
        self._closing = True
        self.dead = True
        with anyio.CancelScope(shield=True), anyio.move_on_after(timeout) as scope:
            try:
                await self._carrier.aclose()
            except Exception as exc:  # closing is best effort
                logger.debug("closing the carrier failed: %s", exc)
        if scope.cancelled_caught:
            self.abort()

    def abort(self) -> None:
        """Drop the connection at once, without a close handshake."""
        self._closing = True
        self._kill()
