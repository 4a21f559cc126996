"""Pieces of the HTTPS polling carrier (:mod:`thalovant.carriers.https`): the pooled
connector with trimmed TLS buffers, form encoding, what the hub's answers mean, proxies.
"""

from __future__ import annotations

import re
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from thalovant.carriers.base import SESSION_GONE_CODE, CarrierClosed
from thalovant.carriers.tls import trim_tls_read_buffer
from thalovant.redact import scrub_text

__all__ = [
    "FORM",
    "HTTPS_TLS_READ_BUFFER_BYTES",
    "NOT_CONNECTED",
    "TrimmedConnector",
    "env_proxy",
    "hub_says",
    "is_loopback_http",
    "polled",
    "quote_base64",
    "session_gone",
    "strings",
]

NOT_CONNECTED = re.compile(r"\bnot connected\b", re.IGNORECASE)
LOOPBACK = ("localhost", "127.0.0.1", "::1")

#: TLS read buffer of each pooled connection: answers are small JSON bodies (a large poll
#: answer costs a few more ``recv`` calls), and a client keeps two connections.
HTTPS_TLS_READ_BUFFER_BYTES = 8 * 1024


class TrimmedConnector(aiohttp.TCPConnector):
    """Pooled connections with the TLS read buffer trimmed to 8 KiB (asyncio keeps 256 KiB
    per connection; see :func:`~thalovant.carriers.tls.trim_tls_read_buffer`)."""

    async def _wrap_create_connection(self, *args: Any, **kwargs: Any) -> Any:
        transport, protocol = await super()._wrap_create_connection(*args, **kwargs)
        trim_tls_read_buffer(transport, HTTPS_TLS_READ_BUFFER_BYTES)
        return transport, protocol


FORM = "application/x-www-form-urlencoded"


def quote_base64(data: bytes) -> bytes:
    """Form-encode base64 text: only ``+``, ``/`` and ``=`` need escaping (C-speed replaces,
    where ``urlencode`` quotes character by character)."""
    return data.replace(b"+", b"%2B").replace(b"/", b"%2F").replace(b"=", b"%3D")


def session_gone(where: str) -> CarrierClosed:
    return CarrierClosed(f"the hub no longer has this session: {where}", code=SESSION_GONE_CODE)


def polled(body: dict[str, Any], path: str) -> dict[str, Any]:
    """``body`` of a 2xx poll, or :class:`CarrierClosed` when it carries a truthy ``error``
    (``not connected``: the hub ended the session, see :data:`SESSION_GONE_CODE`)."""
    error = body.get("error")
    if not error:
        return body
    if isinstance(error, str) and NOT_CONNECTED.search(error):
        raise session_gone(f"GET {path}{hub_says(body)}")
    raise CarrierClosed(f"hub answered GET {path} with an error{hub_says(body)}")


def strings(items: object) -> list[str]:
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise CarrierClosed("hub sent a malformed message list")
    return items


def hub_says(body: object) -> str:
    """``: <hub's error text> (code N)`` from an error body, scrubbed and bounded."""
    if not isinstance(body, dict):
        return ""
    text = body.get("error") or body.get("status")
    out = f": {scrub_text(str(text))[:100]}" if text else ""
    code = body.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        out += f" (code {code})"
    return out


def env_proxy(url: str) -> str | None:
    """The proxy for ``url`` from the environment, like the WebSocket carrier's ``proxy=True``.

    Args:
        url: The hub URL.

    Returns:
        The proxy URL from ``HTTPS_PROXY``/``HTTP_PROXY`` (honouring ``NO_PROXY``), or None
        (always for loopback).
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host in LOOPBACK or urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(parts.scheme.lower())


def is_loopback_http(url: str) -> bool:
    """Whether ``url`` is plain HTTP to loopback (allowed without TLS).

    Args:
        url: A base URL.

    Returns:
        True for ``http://`` URLs to localhost, 127.0.0.1 or [::1].
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() == "http" and parts.hostname in LOOPBACK
