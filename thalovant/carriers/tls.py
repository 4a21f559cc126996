"""TLS client contexts: verified by default, CA bundles from the usual environment variables."""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CA_BUNDLE_ENV",
    "TLS_READ_BUFFER_BYTES",
    "client_ssl_context",
    "trim_ssl_protocol",
    "trim_tls_read_buffer",
]

logger = logging.getLogger("thalovant.carriers")

#: Size of the raw read buffer kept per TLS connection (see :func:`trim_tls_read_buffer`).
TLS_READ_BUFFER_BYTES = 17 * 1024  # one full TLS record (16 KiB + overhead) per recv

#: Environment variables naming a CA bundle, first set wins.
CA_BUNDLE_ENV = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


def client_ssl_context(
    *,
    self_signed: bool = False,
    cafile: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ssl.SSLContext:
    """A client context that verifies the hub's certificate.

    Args:
        self_signed: Turn verification off (development only).
        cafile: A CA bundle; wins over the environment (:data:`CA_BUNDLE_ENV`). Without
            either the system store is used.
        environ: The environment to read (default ``os.environ``).

    Returns:
        The SSL context.
    """
    env = os.environ if environ is None else environ
    if cafile is None:
        cafile = next((env[name] for name in CA_BUNDLE_ENV if env.get(name)), None)
    context = ssl.create_default_context(cafile=cafile)
    if self_signed:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def trim_tls_read_buffer(
    transport: asyncio.BaseTransport | None, size: int = TLS_READ_BUFFER_BYTES
) -> bool:
    """Shrink asyncio's per-connection TLS read buffer.

    CPython's ``asyncio.sslproto.SSLProtocol`` allocates a fixed 256 KiB receive buffer for
    every TLS connection and keeps it for the connection's life: about 90% of an idle
    client's memory. The buffer only stages ciphertext between the socket and OpenSSL, so
    a smaller one costs at most a few more ``recv`` calls on large bursts (a TLS record is
    at most ~16 KiB). The protocol object honours a smaller per-instance ``max_size`` in
    ``get_buffer``; on any other event loop or implementation this does nothing.

    Args:
        transport: The connection's transport.
        size: The new buffer size in bytes.

    Returns:
        True when the buffer is (now) at most ``size`` bytes.
    """
    return trim_ssl_protocol(getattr(transport, "_ssl_protocol", None), size)


def trim_ssl_protocol(protocol: Any, size: int = TLS_READ_BUFFER_BYTES) -> bool:
    """:func:`trim_tls_read_buffer` for asyncio's ``SSLProtocol`` itself.

    E.g. the protocol of a raw transport right after ``loop.start_tls`` began.

    Args:
        protocol: The SSL protocol object.
        size: The new buffer size in bytes.

    Returns:
        True when trimmed (or already small enough); False for anything else.
    """
    if protocol is None or not isinstance(getattr(protocol, "max_size", None), int):
        return False
    if not isinstance(getattr(protocol, "_ssl_buffer", None), bytearray):
        return False
    if len(protocol._ssl_buffer) <= size:
        return True
    buffer = bytearray(size)
    protocol.max_size = size
    protocol._ssl_buffer = buffer
    protocol._ssl_buffer_view = memoryview(buffer)
    logger.debug("TLS read buffer trimmed to %d bytes", size)
    return True
