"""Issue #11 on the hub's HTTPS polling carrier: hostile form bodies (defect 5) and requests
that carry the access key but not the replica cookie (defect 6). Real TLS on loopback; the
client side is raw aiohttp (and the SDK's own client for the legit party)."""

from __future__ import annotations

import logging

import aiohttp
import anyio
import pytest

from thalovant.hub import LocalHub
from thalovant.hub.http import REPLICA_COOKIE

from .conftest import register
from .test_http_server import Raw, handshake, raw
from .test_http_server import session as session  # noqa: F401  (the fixture)

pytestmark = pytest.mark.anyio

_MULTIPART = "multipart/form-data; boundary=zz"
_PART = b'--zz\r\nContent-Disposition: form-data; name="message"\r\n'

#: (content type, body) pairs a client may post to ``/send_message``; none is a valid form.
HOSTILE_FORMS: list[tuple[str, bytes]] = [
    ("application/x-www-form-urlencoded", b"message=\xff\xfe"),  # raw non-UTF-8 bytes
    ("application/x-www-form-urlencoded", b"message=%ff%fe"),  # escaped non-UTF-8 bytes
    ("application/x-www-form-urlencoded; charset=utf-8", b"message=%C3%28"),
    ("application/x-www-form-urlencoded; charset=bogus-9", b"message=x"),  # unknown charset
    ("application/x-www-form-urlencoded; charset=utf-16", b"message=x"),
    ("multipart/form-data", b"--x\r\n\r\nx\r\n--x--\r\n"),  # no boundary
    (_MULTIPART, b"garbage\r\n\r\n\xff"),  # no starting boundary
    (_MULTIPART, b'--zz\r\nContent-Disposition: form-data\r\n\r\nx\r\n--zz--\r\n'),  # no name
    (_MULTIPART, _PART + b"Content-Type: text/plain; charset=nope\r\n\r\nx\r\n--zz--\r\n"),
    (_MULTIPART, _PART + b"Content-Transfer-Encoding: weird\r\n\r\nx\r\n--zz--\r\n"),
    (_MULTIPART, _PART + b"\r\n\xff\xfe\r\n--zz--\r\n"),  # non-UTF-8 part
    (_MULTIPART, _PART + b"\r\nunterminated"),
    ("text/plain", b"message=x"),  # not a form at all
]


async def _post_form(client: Raw, content_type: str, body: bytes) -> tuple[int, object]:
    return await client.call(
        "POST", "/send_message", data=body, headers={"Content-Type": content_type}
    )


@pytest.mark.parametrize(("content_type", "body"), HOSTILE_FORMS)
async def test_hostile_form_is_a_4xx_without_an_error_log(
    hub: LocalHub,
    session: aiohttp.ClientSession,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
    content_type: str,
    body: bytes,
) -> None:
    caplog.set_level(logging.INFO)
    identity = register(hub)
    client = raw(hub, session, identity)
    with anyio.fail_after(10):
        await client.call("POST", "/connect")
        await client.frames(2)
        status, answer = await _post_form(client, content_type, body)
        assert 400 <= status < 500, (status, answer)
        assert isinstance(answer, dict)
        assert answer.get("error")
        # the refused form did not reach the session: the handshake still works after it
        await handshake(client, identity)
        await hub.wait_for_session("raw-http-session")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def test_a_well_formed_multipart_form_is_accepted(
    hub: LocalHub,
    session: aiohttp.ClientSession,  # noqa: F811
) -> None:
    client = raw(hub, session, register(hub))
    with anyio.fail_after(10):
        await client.call("POST", "/connect")
        await client.frames(2)
        form = aiohttp.FormData()
        form.add_field("message", "not a handshake frame")
        status, answer = await client.call("POST", "/send_message", data=form)
        assert (status, answer) == (200, {"status": "message sent"})
        status, answer = await client.call("GET", "/get_messages")
    assert status == 410  # it reached the session, which refused the frame (1002)
    assert isinstance(answer, dict)
    assert answer["code"] == 1002


def test_cookie_name_is_the_hubs() -> None:
    assert REPLICA_COOKIE == "hivemind_http_replica"
