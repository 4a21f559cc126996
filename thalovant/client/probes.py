"""The network steps of ``doctor()``: endpoint, DNS, TCP and TLS, each a
:class:`~thalovant.models.doctor.ThalovantDoctorCheck` with a hint (docs/protocol.md §9).

Each probe opens its own short-lived socket within its own timeout and closes it; nothing
here touches the client's link. The TLS probe verifies with the context the client would
use; when verification fails it reads the certificate again without verification, only to
say what is wrong with it (expired on which date, issued by whom).
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import anyio
from anyio.streams.tls import TLSAttribute

from thalovant.carriers.tls import CA_BUNDLE_ENV
from thalovant.identity.model import ThalovantIdentity
from thalovant.models.doctor import ThalovantDoctorCheck
from thalovant.redact import redact_url

__all__ = [
    "Target",
    "ca_bundle_in_use",
    "check",
    "probe_dns",
    "probe_tcp",
    "probe_tls",
    "target_for",
]

_SCHEMES = {
    "wss": {"wss": (443, True), "ws": (80, False)},
    "https": {"https": (443, True), "http": (80, False)},
    "mqtt": {
        "mqtts": (8883, True),
        "ssl": (8883, True),
        "mqtt": (1883, False),
        "tcp": (1883, False),
    },
}
_EXPIRED, _HOSTNAME = 10, 62
_UNTRUSTED = {18, 19, 20, 21, 2}


@dataclass(frozen=True)
class Target:
    """Where a carrier connects: the URL (redacted), host, port and whether TLS is used."""

    url: str
    host: str
    port: int
    tls: bool


def check(
    name: str, ok: bool, detail: str, started: float, hint: str = "", **facts: Any
) -> ThalovantDoctorCheck:
    """A check that began at ``started`` (``time.perf_counter``) and ends now.

    Args:
        name: The check.
        ok: Passed.
        detail: What was found.
        started: When it began.
        hint: What to do (failures).
        **facts: Structured findings.

    Returns:
        The check.
    """
    took = (time.perf_counter() - started) * 1000.0
    return ThalovantDoctorCheck(name, ok, detail, took, hint=hint if not ok else "", facts=facts)


def target_for(identity: ThalovantIdentity, protocol: str) -> tuple[Target | None, str]:
    """The carrier target of ``identity`` for ``protocol``.

    Args:
        identity: The identity.
        protocol: ``wss``, ``https`` or ``mqtt``.

    Returns:
        ``(target, "")``, or ``(None, why)`` when the endpoint is unusable.
    """
    url = identity.endpoint_for(protocol)
    if not url:
        return None, f"no {protocol} endpoint in this identity"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None, f"{redact_url(url)} is not a valid URL"
    scheme = parts.scheme.lower()
    known = _SCHEMES.get(protocol, {})
    if scheme not in known or not parts.hostname:
        allowed = "/".join(f"{s}://" for s in known)
        return None, f"{redact_url(url)} is not a {protocol} endpoint (use {allowed}host:port)"
    default_port, tls = known[scheme]
    if protocol == "mqtt" and identity.mqtt is not None and identity.mqtt.uses_tls:
        tls = True
    return Target(redact_url(url), parts.hostname, port or default_port, tls), ""


def ca_bundle_in_use(
    ssl_context: ssl.SSLContext | None, self_signed: bool, environ: Mapping[str, str] = os.environ
) -> str:
    """Which CA bundle verifies the hub (what the TLS check reports).

    Args:
        ssl_context: The client's own context, if given.
        self_signed: Verification is off.
        environ: The environment.

    Returns:
        The client's context, none (``self_signed``), ``$VAR=<path>`` or the system store.
    """
    if ssl_context is not None:
        return "the ssl_context= given to the client"
    if self_signed:
        return "none (self_signed=True: certificates are not verified)"
    for name in CA_BUNDLE_ENV:
        if environ.get(name):
            return f"${name}={environ[name]}"
    paths = ssl.get_default_verify_paths()
    return f"system store ({paths.cafile or paths.capath or 'OpenSSL default'})"


async def probe_dns(target: Target, timeout: float) -> tuple[ThalovantDoctorCheck, list[str]]:
    """Resolve the target's host.

    Args:
        target: The carrier target.
        timeout: Seconds.

    Returns:
        The check and the addresses found.
    """
    started = time.perf_counter()
    try:
        with anyio.fail_after(timeout):
            infos = await anyio.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except TimeoutError:
        hint = f"the resolver did not answer within {timeout:g} s: check the network and DNS"
        return check("dns", False, f"{target.host}: no answer", started, hint), []
    except OSError as exc:
        hint = f"check the host name in default_master ({target.host}) or your DNS settings"
        return check("dns", False, f"{target.host}: {exc}", started, hint), []
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    detail = f"{target.host} -> {', '.join(addresses[:4])}"
    return check("dns", True, detail, started, addresses=addresses), addresses


async def probe_tcp(target: Target, address: str, timeout: float) -> ThalovantDoctorCheck:
    """Open (and close) a TCP connection to the target.

    Args:
        target: The carrier target.
        address: The resolved address to use.
        timeout: Seconds.

    Returns:
        The check.
    """
    started = time.perf_counter()
    where = f"{address} port {target.port}"
    try:
        with anyio.fail_after(timeout):
            stream = await anyio.connect_tcp(address, target.port)
        await stream.aclose()
    except TimeoutError:
        hint = f"nothing answered within {timeout:g} s: a firewall may drop traffic to {where}"
        return check("tcp", False, f"{where}: timed out", started, hint)
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        hint = (
            f"nothing accepts connections on {where}: is the hub running, and is the port "
            "right (default_port, the URL in default_master, or --port)?"
        )
        return check("tcp", False, f"{where}: {reason}", started, hint)
    return check("tcp", True, f"connected to {where}", started)


def _certificate_facts(der: bytes) -> dict[str, Any]:
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    not_after = cert.not_valid_after_utc
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": not_after.isoformat(),
        "days_left": (not_after - datetime.now(timezone.utc)).days,
        "self_signed": cert.subject == cert.issuer,
    }


async def _peer_certificate(target: Target, address: str, context: ssl.SSLContext) -> bytes:
    stream = await anyio.connect_tcp(
        address,
        target.port,
        ssl_context=context,
        tls_hostname=target.host,
        tls_standard_compatible=False,  # no close_notify wait: peers often just close
    )
    try:
        ssl_object = stream.extra(TLSAttribute.ssl_object)
        return ssl_object.getpeercert(binary_form=True) or b""
    finally:
        with contextlib.suppress(OSError, anyio.BrokenResourceError):
            await stream.aclose()


def _unverified_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def probe_tls(
    target: Target, address: str, context: ssl.SSLContext, bundle: str, timeout: float
) -> ThalovantDoctorCheck:
    """Handshake TLS with the client's context; on failure, say what is wrong.

    Args:
        target: The carrier target.
        address: The resolved address.
        context: The context the client verifies with.
        bundle: Which CA bundle that is (:func:`ca_bundle_in_use`).
        timeout: Seconds.

    Returns:
        The check (``facts``: subject, issuer, validity, days left, CA bundle).
    """
    started = time.perf_counter()
    if not target.tls:
        return check("tls", True, f"not used ({target.url} is unencrypted)", started, tls=False)
    try:
        with anyio.fail_after(timeout):
            der = await _peer_certificate(target, address, context)
    except ssl.SSLCertVerificationError as exc:
        return await _explain(target, address, exc, bundle, started, timeout)
    except TimeoutError:
        hint = "the TLS handshake stalled: is this port serving TLS (wss:// vs ws://)?"
        return check("tls", False, f"no TLS handshake within {timeout:g} s", started, hint)
    except (ssl.SSLError, OSError, anyio.BrokenResourceError) as exc:
        hint = "the port does not speak TLS, or the TLS versions/ciphers do not match"
        return check("tls", False, f"TLS failed: {exc}", started, hint, ca_bundle=bundle)
    facts = _certificate_facts(der) if der else {}
    days = facts.get("days_left")
    detail = f"verified, issued to {facts.get('subject', '?')} by {facts.get('issuer', '?')}"
    detail += f", expires {facts.get('not_after', '?')} ({days} days); CA bundle: {bundle}"
    return check("tls", True, detail, started, ca_bundle=bundle, **facts)


async def _explain(
    target: Target,
    address: str,
    exc: ssl.SSLCertVerificationError,
    bundle: str,
    started: float,
    timeout: float,
) -> ThalovantDoctorCheck:
    facts: dict[str, Any] = {"ca_bundle": bundle, "verify_code": exc.verify_code}
    try:
        with anyio.fail_after(timeout):
            der = await _peer_certificate(target, address, _unverified_context())
        facts.update(_certificate_facts(der) if der else {})
    except (OSError, ssl.SSLError, TimeoutError, ValueError, anyio.BrokenResourceError):
        pass
    reason = exc.verify_message or str(exc)
    code = exc.verify_code
    if code == _EXPIRED:
        detail = f"certificate expired on {facts.get('not_after', '?')} ({reason})"
        hint = "renew the hub's TLS certificate (or fix this machine's clock if the date is wrong)"
    elif code == _HOSTNAME:
        detail = f"certificate is for {facts.get('subject', '?')}, not {target.host} ({reason})"
        hint = f"use the host name the certificate names, or reissue it for {target.host}"
    elif code in _UNTRUSTED:
        issuer = facts.get("issuer", "?")
        detail = f"certificate issued by {issuer} is not trusted by {bundle} ({reason})"
        hint = (
            "give the hub's CA certificate to the client: SSL_CERT_FILE=/path/ca.pem (the "
            "first set of REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, SSL_CERT_FILE wins) or "
            "ssl_context=; self_signed=True only for development"
        )
    else:
        detail = f"certificate rejected: {reason}"
        hint = "check the hub's certificate chain and the CA bundle in use"
    return check("tls", False, detail, started, hint, **facts)
