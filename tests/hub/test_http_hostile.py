"""Issue #11 on the hub's HTTPS polling carrier: hostile form bodies (defect 5) and requests
that carry the access key but not the replica cookie (defect 6). Real TLS on loopback; the
client side is raw aiohttp (and the SDK's own client for the legit party)."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import anyio
import pytest

from thalovant.client.client import AsyncThalovantClient
from thalovant.hub import LocalHub
from thalovant.hub.servers.http import _MAX_PER_KEY, REPLICA_COOKIE
from thalovant.link.supervisor import Backoff
from thalovant.protocol.envelope import bus_payload
from thalovant.testing import HubTLS

from .conftest import register
from .test_http_server import Raw, ask, handshake, raw
from .test_http_server import session as session

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
    (_MULTIPART, b"--zz\r\nContent-Disposition: form-data\r\n\r\nx\r\n--zz--\r\n"),  # no name
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
    session: aiohttp.ClientSession,
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
    session: aiohttp.ClientSession,
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


# -- defect 6: the access key alone does not reach another program's connection ------------


async def test_key_only_requests_do_not_reach_a_cookie_keeping_client(
    hub: LocalHub,
    hub_tls: HubTLS,
    session: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    identity = register(hub)
    intruder = raw(hub, session, identity)  # never learns a cookie
    intruder.keep_cookie = False
    stolen: list[str] = []
    asks = 6

    async def steal() -> None:
        while True:
            for path, field in (
                ("/get_binary_messages", "b64_messages"),
                ("/get_messages", "messages"),
            ):
                status, body = await intruder.call("GET", path)
                if status == 200 and isinstance(body, dict):
                    stolen.extend(body.get(field, []))

    client = AsyncThalovantClient(
        identity,
        protocol="https",
        ssl_context=hub_tls.client_context,
        noise_state_dir=tmp_path / "noise",
    )
    client.reconnect_backoff = Backoff(initial=0.02, floor=0.01)
    with anyio.fail_after(60):
        async with client, anyio.create_task_group() as tg:
            tg.start_soon(steal)
            for _ in range(asks):
                assert "Hello" in (await client.ask("hello", timeout=20)).text
            status, body = await intruder.call("POST", "/disconnect")
            assert (status, body) == (200, {"error": "Already Disconnected"})
            assert "Hello" in (await client.ask("hello", timeout=20)).text
            tg.cancel_scope.cancel()
            assert client.redials == 0
    assert stolen == []


async def test_a_cookie_less_client_still_works_beside_a_cookie_keeping_one(
    hub: LocalHub,
    session: aiohttp.ClientSession,
) -> None:
    """hivemind-bus-client never sends the cookie: its requests reach the key's newest
    connection that no request has named by its cookie, even after a cookie-keeping client of
    the same key connected later."""
    identity = register(hub)
    cookie_less = raw(hub, session, identity)
    cookie_less.keep_cookie = False
    keeper = raw(hub, session, identity)
    with anyio.fail_after(15):
        channel = await handshake(cookie_less, identity)
        await hub.wait_for_session("raw-http-session")
        assert (await keeper.call("POST", "/connect"))[0] == 200
        assert len(await keeper.frames(2)) == 2  # bound to its cookie from this poll on
        replies = await ask(cookie_less, channel, "hello")
        assert any(bus_payload(m).type == "speak" for m in replies)
        # a cookie-less disconnect ends the cookie-less connection, not the keeper's
        assert await cookie_less.call("POST", "/disconnect") == (200, {"status": "Disconnected"})
        assert await cookie_less.call("POST", "/disconnect") == (
            200,
            {"error": "Already Disconnected"},
        )
        status, body = await keeper.call("GET", "/get_messages")
        assert (status, body) == (200, {"messages": []})


async def test_a_connect_with_a_cookie_is_bound_at_once(
    hub: LocalHub,
    session: aiohttp.ClientSession,
) -> None:
    """A client that comes back with its cookie (our carrier on a redial) is bound from its
    ``/connect``: no cookie-less request ever sees its HELLO."""
    identity = register(hub)
    keeper, intruder = raw(hub, session, identity), raw(hub, session, identity)
    intruder.keep_cookie = False
    keeper.cookie = "my-own-cookie-value"
    with anyio.fail_after(10):
        assert (await keeper.call("POST", "/connect"))[0] == 200
        assert keeper.cookie == "my-own-cookie-value"
        assert (await intruder.call("GET", "/get_messages"))[0] == 410
        assert (await intruder.call("POST", "/send_message", data={"message": "x"}))[0] == 410
        assert len(await keeper.frames(2)) == 2


async def test_key_only_connects_do_not_evict_a_bound_connection(
    hub: LocalHub,
    session: aiohttp.ClientSession,
) -> None:
    identity = register(hub)
    keeper, intruder = raw(hub, session, identity), raw(hub, session, identity)
    intruder.keep_cookie = False
    with anyio.fail_after(30):
        assert (await keeper.call("POST", "/connect"))[0] == 200
        assert len(await keeper.frames(2)) == 2
        for _ in range(_MAX_PER_KEY + 5):
            assert (await intruder.call("POST", "/connect"))[0] == 200
        status, body = await keeper.call("GET", "/get_messages")
    assert (status, body) == (200, {"messages": []})
