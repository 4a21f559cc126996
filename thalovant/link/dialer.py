"""Dialing one hub: open the carrier, run the handshake, pin, announce (docs/protocol.md §2).

:func:`dial` opens the carrier (within ``connect_timeout``), sends the cleartext HELLO first
when the carrier needs one (MQTT, :attr:`~thalovant.carriers.base.Carrier.cleartext_hello`),
runs the HiveMind v3 handshake (within ``handshake_timeout``), pins the hub key, and sends the
encrypted client HELLO. A refused ``KKpsk0`` attempt (or one that used a PSK from the disk
cache) is retried once with ``XXpsk2`` inside the same dial (docs/protocol.md §2.3). Refusal
vs drop follows :mod:`thalovant.link.outcome`; whatever ends a dial reaches the caller as a
public error.

Blocking work runs off the event loop: key files in anyio worker threads, Argon2id on the PSK
deriver's own threads (waiting for it holds no thread). Nothing here logs a secret: URLs
are redacted and errors are scrubbed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

import anyio

from thalovant.carriers import Carrier, open_carrier
from thalovant.carriers.base import CarrierClosed
from thalovant.errors import (
    ThalovantConnectTimeoutError,
    ThalovantError,
    ThalovantHubRefusedError,
)
from thalovant.identity.psk_wait import derive_psk_async
from thalovant.link.link import Link
from thalovant.link.outcome import (
    REFUSAL_CLOSE_CODES,
    AttemptRefused,
    after_handshake_refusal,
    handshake_refusal,
    public_error,
)
from thalovant.link.settings import LinkSettings
from thalovant.link.telemetry import ConnectionTelemetry
from thalovant.protocol.channel import SecureChannel
from thalovant.protocol.handshake import ClientHandshake
from thalovant.protocol.hello import cleartext_client_hello, client_hello
from thalovant.protocol.noise import PATTERN_KK
from thalovant.redact import redact_url
from thalovant.telemetry import otel

__all__ = [
    "CONNECTION_SESSION_PREFIX",
    "MQTT_SESSION_PREFIX",
    "Budget",
    "dial",
    "send_cleartext_hello",
]

logger = logging.getLogger("thalovant.link")

#: Every connection announces a fresh ``thalovant-python-<hex>`` session id in its HELLO.
CONNECTION_SESSION_PREFIX = "thalovant-python-"
#: The cleartext HELLO's session id prefix (MQTT, docs/protocol.md §2.2).
MQTT_SESSION_PREFIX = "thalovant-python-mqtt-"
_CLOSE_SECONDS = 2.0

#: Returns the latest deadline (``anyio.current_time``) a caller waits for this dial, if any.
Budget = Callable[[], float | None]


def _no_budget() -> float | None:
    return None


@otel.traced_dial
async def dial(
    settings: LinkSettings, telemetry: ConnectionTelemetry, budget: Budget = _no_budget
) -> Link:
    """Open, authenticate and announce one connection (see the module docstring).

    ``connect_timeout`` and ``handshake_timeout`` bound the carrier and the handshake; a
    caller waiting with a later deadline (``budget``) extends both to it, so
    ``connect(timeout=240)`` is not cut short by the 20 s default. Waiting for this process's
    own Argon2id derivation never counts against the handshake timeout.

    Args:
        settings: The identity, carrier options, timeouts and key store.
        telemetry: Records the attempt's phases and timings.
        budget: The caller's deadline, if it waits longer than the timeouts.

    Returns:
        The authenticated link; drive it with :meth:`Link.run`.

    Raises:
        ThalovantConnectTimeoutError: The carrier or the handshake took too long.
        ThalovantHubRefusedError: The hub refused the credentials
            (:class:`~thalovant.errors.ThalovantClientKeyRejectedError`: another client key).
        ThalovantHubKeyChangedError: The hub's key differs from the pin.
        ThalovantProtocolError: The hub broke the handshake.
        ThalovantConnectionError: The hub could not be reached or the connection dropped.
    """
    try:
        return await _dial(settings, telemetry, budget)
    except ThalovantError as exc:
        public = public_error(exc)
        if public is exc:
            raise
        raise public from exc


async def send_cleartext_hello(carrier: Carrier, site_id: str) -> None:
    """Announce a new connection in cleartext, before the handshake (MQTT, §5.2).

    Args:
        carrier: The open carrier (one whose ``cleartext_hello`` is true).
        site_id: The client's site id.
    """
    session_id = MQTT_SESSION_PREFIX + uuid.uuid4().hex
    await carrier.send(cleartext_client_hello(session_id, site_id))


async def _dial(settings: LinkSettings, telemetry: ConnectionTelemetry, budget: Budget) -> Link:
    telemetry.begin()
    static, pin = await anyio.to_thread.run_sync(_load_keys, settings)
    try:
        return await _attempt(
            settings, telemetry, static, pin, budget, allow_kk=True, use_cache=True
        )
    except AttemptRefused as refused:
        if not refused.retry:
            raise refused.error from None
        logger.info("hub refused the first handshake attempt; retrying once with XXpsk2")
    try:
        return await _attempt(
            settings, telemetry, static, pin, budget, allow_kk=False, use_cache=False
        )
    except AttemptRefused as refused:
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
        raise AttemptRefused(exc, retry=kk_possible) from None
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
                if carrier.cleartext_hello:
                    await send_cleartext_hello(carrier, identity.site_id)
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
            refused = handshake_refusal(exc)
            if refused is None:
                raise
            if handshake.node_id is not None:
                await anyio.to_thread.run_sync(_forget_psk, settings, handshake.node_id, psk)
            retry = handshake.pattern == PATTERN_KK or from_disk or kk_possible
            raise AttemptRefused(refused, retry=retry and allow_kk) from None
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
                raise after_handshake_refusal(result.pattern, settings, exc) from None
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
        hello_ends_session=carrier.cleartext_hello,
    )
