"""One authenticated connection to a hub: carrier + Noise session + one reader + one writer.

:func:`dial` opens the carrier (within ``connect_timeout``), runs the HiveMind v3 handshake
(within ``handshake_timeout``), pins the hub key, and sends the encrypted client HELLO. A
refused ``KKpsk0`` attempt (or one that used a PSK from the disk cache) is retried once with
``XXpsk2`` inside the same dial (docs/protocol.md §2.3). The returned :class:`Link` is then driven
by
:meth:`Link.run` (the reader) until it ends; :meth:`Link.send` is the single writer.

Refusal vs drop (docs/protocol.md §2.6): a close with 1000/1005/1008 during the handshake, or within
:data:`REFUSAL_SETTLE_SECONDS` after it before any frame decrypted, is a credential refusal —
right after ``XXpsk2`` it means the hub pinned another client key
(:class:`ThalovantClientKeyRejectedError`). Any other end is a drop. After an ``XXpsk2``
handshake the link reports itself ready only when the settle window has passed or a frame
decrypted, so ``connect()`` on first contact tells the truth about a rejected client key.

Blocking work runs off the event loop: key files in anyio worker threads, Argon2id on the PSK
deriver's own threads (waiting for it holds no thread). Nothing here logs a secret: URLs
are redacted and errors are scrubbed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio

from thalovant.carriers import Carrier, CarrierClosed, CarrierOptions, open_carrier
from thalovant.errors import (
    ThalovantClientKeyRejectedError,
    ThalovantConnectionError,
    ThalovantConnectTimeoutError,
    ThalovantError,
    ThalovantHubRefusedError,
    ThalovantProtocolError,
    ThalovantRuntimeError,
)
from thalovant.identity.keystore import NoiseKeyStore
from thalovant.identity.model import ThalovantIdentity
from thalovant.identity.psk_wait import derive_psk_async
from thalovant.models.types import ConnectionPhase, ThalovantConnectionInfo
from thalovant.protocol.binary import BinaryFrame
from thalovant.protocol.channel import MalformedMessageError, SecureChannel, client_hello
from thalovant.protocol.envelope import HiveMessage
from thalovant.protocol.handshake import ClientHandshake
from thalovant.protocol.noise import PATTERN_KK, PATTERN_XX
from thalovant.protocol.psk import PskDeriver
from thalovant.redact import redact_url

__all__ = [
    "CONNECTION_SESSION_PREFIX",
    "REFUSAL_CLOSE_CODES",
    "REFUSAL_SETTLE_SECONDS",
    "ConnectionTelemetry",
    "Dispatch",
    "Link",
    "LinkDown",
    "LinkSettings",
    "dial",
]

logger = logging.getLogger("thalovant.link")

#: WebSocket close codes that mean "credentials refused" around the handshake.
REFUSAL_CLOSE_CODES = frozenset({1000, 1005, 1008})
#: How long after the handshake a refusal close still counts as a refusal.
REFUSAL_SETTLE_SECONDS = 0.75
#: Every connection announces a fresh ``thalovant-python-<hex>`` session id in its HELLO.
CONNECTION_SESSION_PREFIX = "thalovant-python-"
_CLOSE_SECONDS = 2.0

#: The reader hands every decrypted message to this callable (synchronously).
Dispatch = Callable[[HiveMessage | BinaryFrame], None]


class LinkDown(ThalovantConnectionError):
    """The link was already gone: nothing of the message reached the carrier, so the
    caller may reconnect and send it (this is the only send error that allows that)."""


@dataclass(frozen=True)
class LinkSettings:
    """Everything :func:`dial` needs; built once per client (off the event loop)."""

    identity: ThalovantIdentity
    protocol: str
    carrier: CarrierOptions
    handshake_timeout: float
    send_timeout: float
    key_store: NoiseKeyStore
    pin_id: str
    psk_deriver: PskDeriver
    legacy_store: NoiseKeyStore | None = None
    """Where to copy a key and pins from on first use of a per-identity folder."""


class ConnectionTelemetry:
    """Mutable record of the client's connection life, read as ThalovantConnectionInfo."""

    def __init__(self, protocol: str) -> None:
        self.protocol = protocol
        self.phase: ConnectionPhase = "idle"
        self.started_at: float | None = None
        self.connected_at: float | None = None
        self.transport_open_ms: float | None = None
        self.handshake_ms: float | None = None
        self.connect_ms: float | None = None
        self.last_error: str | None = None
        self.pattern: str | None = None

    def begin(self) -> None:
        """A new connect attempt starts."""
        self.phase = "connecting"
        self.started_at = time.time()
        self.connected_at = self.transport_open_ms = self.handshake_ms = None
        self.connect_ms = None

    def fail(self, exc: BaseException) -> None:
        """The attempt or link ended with ``exc``."""
        self.phase = "error"
        self.last_error = f"{type(exc).__name__}: {exc}"

    def ready(self) -> None:
        """The link is up."""
        self.phase = "ready"
        self.connected_at = time.time()
        if self.started_at is not None:
            self.connect_ms = round((self.connected_at - self.started_at) * 1000.0, 3)

    def info(self) -> ThalovantConnectionInfo:
        """A snapshot."""
        return ThalovantConnectionInfo(
            phase=self.phase,
            protocol=self.protocol,
            started_at=self.started_at,
            connected_at=self.connected_at,
            transport_open_ms=self.transport_open_ms,
            handshake_ms=self.handshake_ms,
            connect_ms=self.connect_ms,
            last_error=self.last_error,
            pattern=self.pattern,
        )


class _Refused(Exception):
    """Internal: one handshake attempt was refused; ``retry`` says whether XX may follow."""

    def __init__(self, error: ThalovantHubRefusedError, retry: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry = retry


# -- dialing --------------------------------------------------------------------------------


#: Returns the latest deadline (``anyio.current_time``) a caller waits for this dial, if any.
Budget = Callable[[], float | None]


def _no_budget() -> float | None:
    return None


async def dial(
    settings: LinkSettings, telemetry: ConnectionTelemetry, budget: Budget = _no_budget
) -> Link:
    """Open, authenticate and announce one connection; see the module docstring.

    ``connect_timeout`` and ``handshake_timeout`` bound the carrier and the handshake; a
    caller waiting with a later deadline (``budget``) extends both to it, so
    ``connect(timeout=240)`` is not cut short by the 20 s default. Waiting for this process's
    own Argon2id derivation never counts against the handshake timeout.
    """
    telemetry.begin()
    static, pin = await anyio.to_thread.run_sync(_load_keys, settings)
    try:
        return await _attempt(
            settings, telemetry, static, pin, budget, allow_kk=True, use_cache=True
        )
    except _Refused as refused:
        if not refused.retry:
            raise refused.error from None
        logger.info("hub refused the first handshake attempt; retrying once with XXpsk2")
    try:
        return await _attempt(
            settings, telemetry, static, pin, budget, allow_kk=False, use_cache=False
        )
    except _Refused as refused:
        raise refused.error from None


def _load_keys(settings: LinkSettings) -> tuple[bytes, bytes | None]:
    store = settings.key_store
    legacy = settings.legacy_store
    if legacy is not None and not store.has_static_key():
        store.migrate_from(legacy, settings.pin_id)
    return store.static_private_key(), store.pinned_key(settings.pin_id)


async def _get_psk(settings: LinkSettings, node_id: str, use_cache: bool) -> tuple[bytes, bool]:
    """The PSK and whether it came from the disk cache. The disk cache answers only for the
    identity's own password (keystore verifier); a derivation waits on the event loop."""
    identity = settings.identity
    if use_cache:
        cached = await anyio.to_thread.run_sync(
            settings.key_store.cached_psk, identity.access_key, node_id, identity.password
        )
        if cached is not None:
            return cached, True
    psk = await derive_psk_async(
        settings.psk_deriver, identity.access_key, identity.password, node_id
    )
    return psk, False


def _within(timeout: float, budget: Budget) -> float:
    """``timeout``, or longer when a caller waits until a later deadline."""
    until = budget()
    if until is None:
        return timeout
    return max(timeout, until - anyio.current_time())


def _forget_psk(settings: LinkSettings, node_id: str, psk: bytes | None) -> None:
    access_key = settings.identity.access_key
    settings.psk_deriver.forget(access_key, node_id)
    if psk is None:
        return
    try:  # only the refused value: a cached PSK of another password stays
        settings.key_store.forget_psk(access_key, node_id, psk)
    except ThalovantError as exc:
        logger.warning("cannot drop the cached PSK: %s", exc)


def _persist(
    settings: LinkSettings, *, node_id: str, hub_key: bytes, pinned: bool, psk: bytes | None
) -> None:
    store = settings.key_store
    if not pinned:
        store.pin(settings.pin_id, hub_key)
        logger.info("pinned the hub key for %s", settings.pin_id)
    if psk is not None:
        try:
            identity = settings.identity
            store.store_psk(identity.access_key, node_id, psk, identity.password)
        except ThalovantError as exc:  # only a cache
            logger.warning("cannot cache the PSK: %s", exc)


async def _attempt(
    settings: LinkSettings,
    telemetry: ConnectionTelemetry,
    static: bytes,
    pin: bytes | None,
    budget: Budget,
    *,
    allow_kk: bool,
    use_cache: bool,
) -> Link:
    identity, shown = settings.identity, redact_url(settings.pin_id)
    timeout = _within(settings.carrier.connect_timeout, budget)
    telemetry.phase = "connecting"
    started = time.perf_counter()
    kk_possible = pin is not None and allow_kk
    try:
        with anyio.fail_after(timeout):
            carrier = await open_carrier(settings.protocol, identity, options=settings.carrier)
    except TimeoutError:
        raise ThalovantConnectTimeoutError(f"could not open {shown} within {timeout:g} s") from None
    except ThalovantHubRefusedError as exc:  # HTTP 401/403
        raise _Refused(exc, retry=kk_possible) from None
    opened = time.perf_counter()
    telemetry.transport_open_ms = round((opened - started) * 1000.0, 3)
    telemetry.phase = "handshake"
    handshake = ClientHandshake(static, pinned_hub_key=pin, allow_kk=allow_kk)
    from_disk = False
    psk: bytes | None = None
    handshake_timeout = _within(settings.handshake_timeout, budget)
    try:
        try:
            with anyio.fail_after(handshake_timeout) as deadline:
                while not handshake.complete:
                    for frame in handshake.receive(await carrier.receive()):
                        await carrier.send(frame)
                    if handshake.needs_psk:
                        assert handshake.node_id is not None
                        waited = anyio.current_time()
                        got, from_disk = await _get_psk(settings, handshake.node_id, use_cache)
                        # This process's own queue of derivations is not the hub's delay.
                        deadline.deadline += anyio.current_time() - waited
                        psk = got
                        telemetry.pattern = handshake.pattern
                        for frame in handshake.provide_psk(got):
                            await carrier.send(frame)
        except TimeoutError:
            raise ThalovantConnectTimeoutError(
                f"the handshake with {shown} did not complete within {handshake_timeout:g} s"
            ) from None
        except (CarrierClosed, ThalovantHubRefusedError) as exc:
            refused = _refusal(exc)
            if refused is None:
                raise
            if handshake.node_id is not None:
                await anyio.to_thread.run_sync(_forget_psk, settings, handshake.node_id, psk)
            retry = handshake.pattern == PATTERN_KK or from_disk or kk_possible
            raise _Refused(refused, retry=retry and allow_kk) from None
        result = handshake.result
        await anyio.to_thread.run_sync(
            lambda: _persist(
                settings,
                node_id=result.node_id,
                hub_key=result.remote_static,
                pinned=pin is not None,
                psk=None if from_disk else psk,
            )
        )
        channel = SecureChannel(result.send_cipher, result.recv_cipher)
        session_id = CONNECTION_SESSION_PREFIX + uuid.uuid4().hex
        hello = channel.encrypt_message(client_hello(session_id, identity.site_id))
        try:
            for noise_message in hello:
                await carrier.send(noise_message)
        except CarrierClosed as exc:
            if exc.code in REFUSAL_CLOSE_CODES:
                raise _after_handshake_refusal(result.pattern, settings, exc) from None
            raise
    except BaseException:
        with anyio.CancelScope(shield=True), anyio.move_on_after(_CLOSE_SECONDS):
            await carrier.aclose()
        raise
    done = time.perf_counter()
    telemetry.handshake_ms = round((done - opened) * 1000.0, 3)
    telemetry.pattern = result.pattern
    logger.debug("handshake with %s done: %s %s", shown, result.pattern, result.suite)
    return Link(
        carrier,
        channel,
        session_id=session_id,
        pattern=result.pattern,
        settings=settings,
    )


def _refusal(exc: CarrierClosed | ThalovantHubRefusedError) -> ThalovantHubRefusedError | None:
    if isinstance(exc, ThalovantHubRefusedError):
        return exc
    if exc.refused or exc.code in REFUSAL_CLOSE_CODES:
        return ThalovantHubRefusedError(
            f"the hub refused the credentials during the handshake ({exc})"
        )
    return None


def _after_handshake_refusal(
    pattern: str, settings: LinkSettings, exc: CarrierClosed
) -> ThalovantHubRefusedError:
    if pattern == PATTERN_XX:
        folder = str(settings.key_store.folder)
        return ThalovantClientKeyRejectedError(
            f"the hub closed the link ({exc.code}) right after the XXpsk2 handshake: it has "
            f"pinned a different client key for this access key. This program's key is in "
            f"{folder}; use the folder holding the original key (noise_state_dir=), or have "
            "the hub forget the old key",
            key_folder=folder,
            other_key_folder=(
                str(settings.legacy_store.folder) if settings.legacy_store is not None else None
            ),
        )
    return ThalovantHubRefusedError(
        f"the hub closed the link ({exc.code}) right after the handshake: credentials refused"
    )


# -- the link -------------------------------------------------------------------------------


class Link:
    """One authenticated connection. :meth:`run` is its only reader, :meth:`send` its only
    writer (a lock around encrypt + every chunk, shielded from cancellation)."""

    def __init__(
        self,
        carrier: Carrier,
        channel: SecureChannel,
        *,
        session_id: str,
        pattern: str,
        settings: LinkSettings,
    ) -> None:
        self._carrier = carrier
        self._channel = channel
        self.session_id = session_id
        """The session id announced in this connection's HELLO."""
        self.pattern = pattern
        self._settings = settings
        self._lock = anyio.Lock(fast_acquire=True)
        self._established = time.monotonic()
        self._decrypted = 0
        self._closing = False
        self.dead = False
        """True once the link can no longer carry messages."""
        self.ready = False
        """True once the refusal window has passed (XXpsk2) or at once (KKpsk0)."""

    def __repr__(self) -> str:
        return f"<Link {redact_url(self._settings.pin_id)} {self.pattern} dead={self.dead}>"

    # -- writing --------------------------------------------------------------------------

    async def send(self, message: HiveMessage) -> None:
        """Encrypt and send one message. :class:`LinkDown` means nothing was sent; any other
        ThalovantConnectionError means it may have reached the hub (never resend it)."""
        await self._send(lambda: self._channel.encrypt_message(message))

    async def send_binary(
        self, data: bytes, *, kind: str | int, metadata: dict[str, Any] | None
    ) -> None:
        """Send a WIRE-1 ``bin`` frame carrying ``data``."""
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

    async def run(self, dispatch: Dispatch, on_ready: Callable[[], None]) -> ThalovantError | None:
        """Read until the link ends. Returns the classified error (a refusal is a
        ThalovantHubRefusedError), or None when :meth:`aclose` ended it."""
        ended: ThalovantError | None = None
        async with anyio.create_task_group() as tg:
            if self.pattern == PATTERN_XX:
                tg.start_soon(self._settle, on_ready)
            else:
                self._mark_ready(on_ready)
            try:
                ended = await self._read(dispatch, on_ready)
            finally:
                self.dead = True
                tg.cancel_scope.cancel()
        return ended

    async def _settle(self, on_ready: Callable[[], None]) -> None:
        await anyio.sleep(max(0.0, REFUSAL_SETTLE_SECONDS - (time.monotonic() - self._established)))
        self._mark_ready(on_ready)

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
                return None if self._closing else self._classify(exc)
            except ThalovantConnectionError as exc:
                return None if self._closing else exc
            if isinstance(frame, str):
                return ThalovantProtocolError("cleartext frame after the Noise session exists")
            try:
                message = channel.decrypt(frame)
            except MalformedMessageError as exc:
                self._decrypted += 1
                logger.warning("dropped a malformed message from the hub: %s", exc)
                continue
            except ThalovantProtocolError as exc:
                return exc
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
            return _after_handshake_refusal(self.pattern, self._settings, exc)
        return ThalovantConnectionError(f"connection to the hub lost: {exc}")

    # -- closing --------------------------------------------------------------------------

    async def aclose(self, timeout: float = _CLOSE_SECONDS) -> None:
        """Close the carrier (bounded by ``timeout``, then abort). Idempotent."""
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
