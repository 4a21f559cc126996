"""Reading requests of the HTTPS polling carrier: the posted form, error answers, the peer.

The form is parsed strictly (UTF-8 only, bounded field count); anything malformed is the
client's fault and gets HTTP 400 or 415, never a server error (docs/protocol.md §5.1).
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from typing import Any

from aiohttp import web
from multidict import MultiDict, MultiMapping

__all__ = ["http_error", "peer_name", "read_form"]

logger = logging.getLogger("thalovant.hub.http")

_FORM_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
_MAX_FORM_FIELDS = 72  # a batch of up to 64 messages (docs/protocol.md §5.1) and its flags


async def read_form(request: web.Request) -> MultiMapping[Any]:
    """The posted form, strictly: a body that is not a well-formed UTF-8 form is HTTP 400 (an
    unsupported charset or content type 415), never a server error.

    ``application/x-www-form-urlencoded`` (what every known client sends) is parsed here:
    UTF-8 only, and a percent-escape that is not UTF-8 is refused rather than replaced with
    U+FFFD (the frame would not be the one the client sent). ``multipart/form-data`` goes
    through aiohttp; whatever its parser raises on a malformed body is the client's fault.
    """
    if request.content_type == "multipart/form-data":
        try:
            return await request.post()
        except web.HTTPException:
            raise  # 413 for an oversized body
        except Exception as exc:  # aiohttp raises ValueError, LookupError, RuntimeError, ...
            logger.info(
                "malformed multipart form from %s: %s", peer_name(request), type(exc).__name__
            )
            raise http_error(400, "malformed multipart form") from None
    if request.content_type != "application/x-www-form-urlencoded":
        raise http_error(415, "the body must be a form (application/x-www-form-urlencoded)")
    if (request.charset or "utf-8").lower() not in _FORM_CHARSETS:
        raise http_error(415, "unsupported form charset (UTF-8 only)")
    body = await request.read()  # bounded by client_max_size (413)
    try:
        pairs = urllib.parse.parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=_MAX_FORM_FIELDS,
        )
    except ValueError:  # UnicodeDecodeError, or too many fields
        raise http_error(400, "malformed form (not UTF-8, or too many fields)") from None
    return MultiDict(pairs)  # ``get`` is the first value, as with aiohttp's form


def http_error(status: int, text: str, *, code: int | None = None) -> web.HTTPException:
    body: dict[str, Any] = {"error": text}
    if code is not None:
        body["code"] = code
    cls = {
        400: web.HTTPBadRequest,
        403: web.HTTPForbidden,
        410: web.HTTPGone,
        415: web.HTTPUnsupportedMediaType,
        503: web.HTTPServiceUnavailable,
    }[status]
    return cls(text=json.dumps(body), content_type="application/json")


def peer_name(request: web.Request) -> str:
    """``host:port`` (``[host]:port`` for IPv6) of the request's peer, for logs."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    if isinstance(peer, tuple) and len(peer) >= 2:
        host, port = peer[0], peer[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return "unknown"
