"""``doctor()``: diagnose one client's way to its hub, step by step, and say what to fix.

A mixin of :class:`~thalovant.client.client.AsyncThalovantClient`. The steps, in order:
``identity`` (the fields, redacted), ``endpoint`` (the URL for the client's protocol; a
``wss://`` ``default_master`` is valid), ``dns``, ``tcp``, ``tls`` (verified with the client's
own context: subject, issuer, expiry, which CA bundle), ``carrier`` (the hub admits the
connection: WebSocket upgrade, HTTPS ``/connect``, MQTT CONNACK), ``handshake`` (Noise
pattern, pinned hub key or first contact, the key folder) and ``round_trip`` (an ``ask``
answered). The network probes are :mod:`thalovant.client.probes`; carrier and handshake
are the client's own ``connect`` (so the doctor also works on a client that never connected,
and leaves it connected when everything passed). After the first failure the remaining steps
are reported as skipped. Nothing raises for a diagnosis: a failure is a failed check.
"""

from __future__ import annotations

import time
from typing import Protocol, cast

import anyio

from thalovant.carriers.tls import client_ssl_context
from thalovant.client.options import ClientOptions
from thalovant.client.probes import (
    Target,
    ca_bundle_in_use,
    check,
    probe_dns,
    probe_tcp,
    probe_tls,
    target_for,
)
from thalovant.errors import (
    ThalovantClientKeyRejectedError,
    ThalovantConnectionError,
    ThalovantConnectTimeoutError,
    ThalovantError,
    ThalovantHubKeyChangedError,
    ThalovantHubRefusedError,
    ThalovantPolicyDeniedError,
    ThalovantProtocolError,
    ThalovantTimeoutError,
    ThalovantUnansweredError,
)
from thalovant.identity.keystore import NoiseKeyStore, resolve_noise_folder
from thalovant.identity.model import ThalovantIdentity
from thalovant.link.settings import pin_id_for
from thalovant.models.doctor import ThalovantDoctorCheck, ThalovantDoctorReport
from thalovant.models.types import ThalovantConnectionInfo, ThalovantReply

__all__ = [
    "CHECK_NAMES",
    "DoctorHost",
    "DoctorMethods",
    "identity_check",
    "run_doctor",
    "skipped",
    "broken_identity_report",
    "unusable_report",
]

#: Every check ``doctor()`` reports, in order.
CHECK_NAMES = ("identity", "endpoint", "dns", "tcp", "tls", "carrier", "handshake", "round_trip")


class DoctorHost(Protocol):
    """What the doctor needs of the client it diagnoses."""

    identity: ThalovantIdentity
    protocol: str
    options: ClientOptions

    @property
    def is_connected(self) -> bool: ...

    async def connect(self, timeout: float | None = None) -> None: ...

    def connection_info(self) -> ThalovantConnectionInfo: ...

    async def ask(self, text: str, *, timeout: float = ...) -> ThalovantReply: ...


def skipped(name: str, after: str) -> ThalovantDoctorCheck:
    """A check not run because ``after`` failed.

    Args:
        name: The check.
        after: The failed check.

    Returns:
        The skipped check.
    """
    return ThalovantDoctorCheck(name, False, f"not run: {after} failed", skipped=True)


def identity_check(identity: ThalovantIdentity) -> ThalovantDoctorCheck:
    """The ``identity`` check: which identity this is (no secret shown).

    Args:
        identity: The identity.

    Returns:
        The check (always passed: a loaded identity has its required fields).
    """
    started = time.perf_counter()
    protocols = ", ".join(identity.enabled_protocols()) or "none flagged"
    source = identity.source_path or "environment or mapping"
    detail = f"site_id={identity.site_id}, hub protocols: {protocols}; from {source}"
    return check("identity", True, detail, started, site_id=identity.site_id, source=source)


def _finish(
    identity: ThalovantIdentity, checks: list[ThalovantDoctorCheck]
) -> ThalovantDoctorReport:
    failed = next((c.name for c in checks if not c.ok), None)
    if failed is not None:
        done = {c.name for c in checks}
        checks += [skipped(name, failed) for name in CHECK_NAMES if name not in done]
    return ThalovantDoctorReport(identity.as_dict(include_secrets=False), tuple(checks))


def _key_facts(host: DoctorHost) -> tuple[str, str, bool]:
    """(key folder, pin id, whether a hub key is pinned)."""
    opts, identity = host.options, host.identity
    folder = resolve_noise_folder(opts.noise_state_dir, identity.source_path)
    pin_id = pin_id_for(host.protocol, identity)
    try:
        pinned = NoiseKeyStore(folder).pinned_key(pin_id) is not None
    except ThalovantError:
        pinned = False
    return str(folder), pin_id, pinned


def _connect_failure(
    exc: ThalovantConnectionError, opened: bool, folder: str, pin_id: str, started: float
) -> ThalovantDoctorCheck:
    """The carrier or handshake check a failed ``connect`` means."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, ThalovantClientKeyRejectedError):
        hint = (
            f"the hub pinned another client key for this access key: use the key folder "
            f"that first connected (this one is {folder}), or reset the client's pin on the hub"
        )
        return check("handshake", False, text, started, hint, key_folder=folder)
    if isinstance(exc, ThalovantHubKeyChangedError):
        hint = (
            f"the hub's key is not the one pinned for {pin_id} in {folder}: if the hub was "
            "reinstalled on purpose, remove that pin (first contact pins the new key)"
        )
        return check("handshake", False, text, started, hint, key_folder=folder)
    if isinstance(exc, ThalovantHubRefusedError):
        if not opened:
            hint = (
                "the hub does not admit this access key: check access_key, or register the client"
            )
            return check("carrier", False, text, started, hint)
        hint = (
            "the hub refused the credentials: check the password (and access key) of the identity"
        )
        return check("handshake", False, text, started, hint, key_folder=folder)
    if isinstance(exc, ThalovantProtocolError):
        hint = "the peer does not speak HiveMind v3 (Noise): is this the hub's data-plane port?"
        return check("handshake" if opened else "carrier", False, text, started, hint)
    if isinstance(exc, ThalovantConnectTimeoutError):
        if opened:
            hint = "the hub did not finish the handshake (busy?): retry with a longer --timeout"
            return check("handshake", False, text, started, hint)
        hint = "the carrier did not open in time: check the URL path and any proxy in between"
        return check("carrier", False, text, started, hint)
    step = "handshake" if opened else "carrier"
    hint = "the connection failed; run with -v for the log, and check the hub's log"
    return check(step, False, text, started, hint)


async def _link_checks(host: DoctorHost, timeout: float) -> list[ThalovantDoctorCheck]:
    folder, pin_id, pinned = await anyio.to_thread.run_sync(_key_facts, host)
    contact = "pinned hub key (KKpsk0 expected)" if pinned else "first contact (XXpsk2)"
    started = time.perf_counter()
    if not host.is_connected:
        try:
            await host.connect(timeout)
        except ThalovantConnectionError as exc:
            opened = host.connection_info().transport_open_ms is not None
            failure = _connect_failure(exc, opened, folder, pin_id, started)
            if failure.name == "carrier":
                return [failure]
            return [check("carrier", True, "admitted (the connection opened)", started), failure]
    info = host.connection_info()
    open_ms, took = info.transport_open_ms or 0.0, info.handshake_ms or 0.0
    carrier = ThalovantDoctorCheck(
        "carrier", True, f"{host.protocol} connection admitted", open_ms, facts={"ms": open_ms}
    )
    detail = f"{info.pattern or '?'}; {contact}; keys in {folder}"
    facts = {"pattern": info.pattern, "pinned": pinned, "key_folder": folder}
    handshake = ThalovantDoctorCheck("handshake", True, detail, took, facts=facts)
    return [carrier, handshake]


async def _round_trip(host: DoctorHost, utterance: str, timeout: float) -> ThalovantDoctorCheck:
    started = time.perf_counter()
    try:
        reply = await host.ask(utterance, timeout=timeout)
    except ThalovantUnansweredError:
        return check(
            "round_trip", True, f"{utterance!r}: the hub answered (no skill matched)", started
        )
    except ThalovantPolicyDeniedError as exc:
        hint = "the hub does not let this client send utterances: allow recognizer_loop:utterance"
        return check("round_trip", False, f"denied: {exc}", started, hint)
    except ThalovantTimeoutError:
        hint = "connected, but nothing answered: is the hub's voice assistant (skills) running?"
        return check(
            "round_trip", False, f"no reply to {utterance!r} in {timeout:g} s", started, hint
        )
    except ThalovantError as exc:
        hint = "the link broke during the request: check the hub's log"
        return check("round_trip", False, f"{type(exc).__name__}: {exc}", started, hint)
    said = reply.text if len(reply.text) <= 80 else reply.text[:77] + "..."
    return check("round_trip", True, f"{utterance!r} -> {said!r}", started, reply=reply.text)


async def run_doctor(
    host: DoctorHost, *, timeout: float = 10.0, utterance: str = "hello", round_trip: bool = True
) -> ThalovantDoctorReport:
    """Diagnose ``host``'s connection (see the module docstring).

    Args:
        host: The client.
        timeout: Seconds per network step (the handshake gets at least 25).
        utterance: What the round trip asks.
        round_trip: Whether to ask at all.

    Returns:
        The report.
    """
    identity = host.identity
    checks = [identity_check(identity)]
    started = time.perf_counter()
    target, why = target_for(identity, host.protocol)
    if target is None:
        hint = (
            f"give the identity a {host.protocol} endpoint, or choose another protocol (--protocol)"
        )
        checks.append(check("endpoint", False, why, started, hint))
        return _finish(identity, checks)
    checks.append(
        check("endpoint", True, f"{target.url} ({host.protocol})", started, url=target.url)
    )
    for step in await _network_checks(host, target, timeout):
        checks.append(step)
        if not step.ok:
            return _finish(identity, checks)
    checks += await _link_checks(host, max(timeout, 25.0))
    if all(c.ok for c in checks):
        if round_trip:
            checks.append(await _round_trip(host, utterance, timeout))
        else:
            checks.append(ThalovantDoctorCheck("round_trip", True, "not asked", skipped=True))
    return _finish(identity, checks)


async def _network_checks(
    host: DoctorHost, target: Target, timeout: float
) -> list[ThalovantDoctorCheck]:
    dns, addresses = await probe_dns(target, timeout)
    if not dns.ok:
        return [dns]
    tcp = await probe_tcp(target, addresses[0], timeout)
    if not tcp.ok:
        return [dns, tcp]
    opts = host.options
    context = opts.ssl_context or client_ssl_context(self_signed=opts.self_signed)
    bundle = ca_bundle_in_use(opts.ssl_context, opts.self_signed)
    return [dns, tcp, await probe_tls(target, addresses[0], context, bundle, timeout)]


class DoctorMethods:
    """``doctor`` of the async client."""

    async def doctor(
        self, *, timeout: float = 10.0, utterance: str = "hello", round_trip: bool = True
    ) -> ThalovantDoctorReport:
        """Diagnose the way to the hub, step by step; connects if needed.

        Args:
            timeout: Seconds per network step (the handshake gets at least 25).
            utterance: What the round-trip check asks.
            round_trip: Whether to ask at all (skip it on a hub where an ask has effects).

        Returns:
            The report: ``ok``, ``failed`` (the first failing check), each check's
            ``detail``, ``duration_ms`` and ``hint``. Never raises for a failed step.
        """
        return await run_doctor(
            cast(DoctorHost, self), timeout=timeout, utterance=utterance, round_trip=round_trip
        )


def unusable_report(identity: ThalovantIdentity, protocol: str, why: str) -> ThalovantDoctorReport:
    """The report for an identity no client can be made for with ``protocol``.

    Args:
        identity: The identity.
        protocol: The protocol asked for.
        why: The reason (``ThalovantUnsupportedProtocolError``'s text).

    Returns:
        ``identity`` passed, ``endpoint`` failed, the rest skipped.
    """
    started = time.perf_counter()
    usable = ", ".join(p for p in ("wss", "https", "mqtt") if target_for(identity, p)[0]) or "none"
    hint = (
        f"choose a protocol this identity has an endpoint for ({usable}), or fetch a new identity"
    )
    endpoint = check("endpoint", False, why, started, hint, protocol=protocol)
    return _finish(identity, [identity_check(identity), endpoint])


def broken_identity_report(why: str) -> ThalovantDoctorReport:
    """The report when no identity could be loaded.

    Args:
        why: The loader's error text.

    Returns:
        ``identity`` failed, the rest skipped.
    """
    hint = (
        "pass -i PATH to an identity file, --config/--profile, or set THALOVANT_ACCESS_KEY, "
        "THALOVANT_PASSWORD, THALOVANT_SITE_ID and THALOVANT_DEFAULT_MASTER"
    )
    first = ThalovantDoctorCheck("identity", False, why, hint=hint)
    rest = [skipped(name, "identity") for name in CHECK_NAMES[1:]]
    return ThalovantDoctorReport({}, (first, *rest))
