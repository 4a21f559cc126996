"""A raw HTTP/1.1 client over a real TLS loopback socket, for requests no well-behaved client
library would send: undecodable header bytes, bogus charsets, raw paths.

One request per connection (``Connection: close``); the answer is read to EOF (bounded).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio

MAX_ANSWER = 1024 * 1024


@dataclass
class RawAnswer:
    """Status, headers (lower-case names) and body of one answer."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")


def build_request(
    method: str,
    path: str | bytes,
    *,
    host: str,
    headers: Iterable[tuple[str | bytes, str | bytes]] = (),
    body: bytes | None = None,
) -> bytes:
    """The bytes of one request (``Content-Length`` added when there is a body)."""
    lines = [_bytes(method) + b" " + _bytes(path) + b" HTTP/1.1", b"Host: " + _bytes(host)]
    lines += [_bytes(k) + b": " + _bytes(v) for k, v in headers]
    if body is not None:
        lines.append(b"Content-Length: " + str(len(body)).encode())
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def parse_answer(raw: bytes) -> RawAnswer:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = body[: int(headers["content-length"])]
    return RawAnswer(status, headers, body)


async def send_raw(
    api_url: str, request: bytes, ssl_context: ssl.SSLContext, *, deadline: float = 20
) -> RawAnswer:
    """Send ``request`` to the server of ``api_url`` and read the whole answer."""
    where = urlsplit(api_url)
    assert where.hostname is not None
    assert where.port is not None
    with anyio.fail_after(deadline):
        stream = await anyio.connect_tcp(
            where.hostname,
            where.port,
            ssl_context=ssl_context,
            tls_standard_compatible=False,
        )
        async with stream:
            await stream.send(request)
            chunks: list[bytes] = []
            size = 0
            while size < MAX_ANSWER:
                try:
                    chunk = await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError, ssl.SSLError):
                    break
                chunks.append(chunk)
                size += len(chunk)
    return parse_answer(b"".join(chunks))


async def request(
    api_url: str,
    ssl_context: ssl.SSLContext,
    method: str,
    path: str | bytes,
    *,
    headers: Iterable[tuple[str | bytes, str | bytes]] = (),
    body: bytes | None = None,
    token: str | None = None,
) -> RawAnswer:
    """One request to ``api_url`` (``token`` → ``Authorization: Bearer``)."""
    extra = list(headers)
    if token is not None:
        extra.append(("Authorization", f"Bearer {token}"))
    if body is not None and not any(_bytes(k).lower() == b"content-type" for k, _ in extra):
        extra.append(("Content-Type", "application/json"))
    host = urlsplit(api_url).netloc
    return await send_raw(
        api_url, build_request(method, path, host=host, headers=extra, body=body), ssl_context
    )
