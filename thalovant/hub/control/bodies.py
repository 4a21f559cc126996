"""Reading requests to the local control plane: bodies, text fields, query filters, pages.

Input is checked at the door: bodies are read with a deadline (:data:`BODY_SECONDS`), must be
UTF-8 JSON objects of at most :data:`MAX_BODY` bytes, no deeper than :data:`MAX_JSON_DEPTH`
(checked on the raw text before anything parses or recurses), and every string that is stored
or echoed passes :func:`~thalovant.hub.state.text.clean_text` (docs/protocol.md §7).
"""

from __future__ import annotations

import json
import re
from typing import Any

import anyio
from aiohttp import web

from thalovant.hub.control.problems import ApiProblem
from thalovant.hub.control.resources import decode_cursor, page
from thalovant.hub.state.text import clean_text

__all__ = [
    "BODY_SECONDS",
    "MAX_BODY",
    "MAX_JSON_DEPTH",
    "json_object",
    "json_too_deep",
    "limit_and_offset",
    "optional_text",
    "page_response",
    "query_filter",
    "read_body",
    "text_field",
]

#: Largest request body accepted (bytes).
MAX_BODY = 64 * 1024
#: Deepest nesting of arrays and objects accepted in a request body (the body itself is 1).
MAX_JSON_DEPTH = 32
#: Seconds a client has to send its whole request body.
BODY_SECONDS = 10.0
_MAX_LIMIT = 100
_MAX_QUERY = 256  # characters of a query filter (hub_id, owner_id)
_LIMIT = re.compile(r"[0-9]{1,3}")
_JSON_TOKENS = re.compile(r'[\[\]{}"\\]')


def json_too_deep(text: str) -> bool:
    """True when arrays and objects in ``text`` nest deeper than :data:`MAX_JSON_DEPTH`.

    One pass over the brackets, quotes and backslashes (no recursion, no parsing); brackets
    inside strings do not count. Text that is not JSON may be over- or under-counted; the
    parser refuses it afterwards at no deeper a level than counted here."""
    depth, in_string, skip = 0, False, -1
    for found in _JSON_TOKENS.finditer(text):
        at = found.start()
        if at == skip:  # the character after a backslash
            continue
        ch = text[at]
        if in_string:
            if ch == "\\":
                skip = at + 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif ch in "]}":
            depth -= 1
    return False


async def read_body(request: web.Request) -> bytes:
    """The body, at most :data:`MAX_BODY` bytes (413 past it, wherever the app is mounted:
    the root app's ``client_max_size`` may be larger)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.readany():
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiProblem(413, "body_too_large", f"The request body exceeds {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body: a JSON object, UTF-8 (whatever the ``charset``), at most
    :data:`MAX_BODY` bytes, sent within :data:`BODY_SECONDS`, nested at most
    :data:`MAX_JSON_DEPTH` deep."""
    if (request.content_length or 0) > MAX_BODY:
        raise ApiProblem(413, "body_too_large", f"The request body exceeds {MAX_BODY} bytes")
    with anyio.move_on_after(BODY_SECONDS) as waited:
        raw = await read_body(request)
    if waited.cancelled_caught:
        raise ApiProblem(408, "body_timeout", "The request body was not sent in time")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiProblem(400, "invalid_json", "The request body is not UTF-8 JSON") from None
    if json_too_deep(text):
        raise ApiProblem(
            400, "json_too_deep", f"The request body nests deeper than {MAX_JSON_DEPTH} levels"
        )
    try:
        body = json.loads(text, parse_constant=_no_constants)
    except ValueError:  # includes numbers too long to convert
        raise ApiProblem(400, "invalid_json", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiProblem(422, "invalid_body", "The request body must be a JSON object")
    return body


def text_field(
    value: object, what: str, *, code: str = "invalid_body", max_len: int, **rules: Any
) -> str:
    """``value`` as stored text, else a 422 naming ``what`` (never echoing the value)."""
    try:
        return clean_text(value, what, max_len=max_len, **rules)
    except ValueError as exc:
        raise ApiProblem(422, code, str(exc)) from None


def optional_text(
    value: object, what: str, *, max_len: int, code: str = "invalid_body"
) -> str | None:
    """Like :func:`text_field`; ``None`` for an absent, null or blank value."""
    if value is None or (isinstance(value, str) and not value.strip(" ")):
        return None
    return text_field(value, what, code=code, max_len=max_len)


def query_filter(request: web.Request, name: str) -> str | None:
    """A query filter (``hub_id``, ``owner_id``): ``None`` when absent or empty."""
    value = request.query.get(name)
    if not value:
        return None
    return text_field(value, name, code="invalid_query", max_len=_MAX_QUERY, strip=False)


def limit_and_offset(request: web.Request, default: int) -> tuple[int, int]:
    raw = request.query.get("limit", str(default))
    if not _LIMIT.fullmatch(raw):
        raise ApiProblem(422, "invalid_limit", "limit must be an integer") from None
    limit = int(raw)
    if not 1 <= limit <= _MAX_LIMIT:
        raise ApiProblem(422, "invalid_limit", f"limit must be between 1 and {_MAX_LIMIT}")
    offset = decode_cursor(request.query.get("cursor"))
    if offset is None:
        raise ApiProblem(422, "invalid_cursor", "cursor is not a cursor this API issued")
    return limit, offset


_PAGE_QUERY = ("hub_id", "owner_id", "include_spec")  # what the page links repeat


def page_response(request: web.Request, items: list[dict[str, Any]], default: int) -> web.Response:
    limit, offset = limit_and_offset(request, default)
    kept = {name: query_filter(request, name) for name in _PAGE_QUERY}
    query = {k: v for k, v in kept.items() if v is not None}
    return web.json_response(page(items, offset, limit, request.path, query))
