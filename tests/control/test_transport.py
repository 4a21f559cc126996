"""Transport rules of the control-plane client (docs/protocol.md §7, contract §3.4)."""

from __future__ import annotations

import socket
import ssl

import aiohttp
import pytest
import trustme

from thalovant import DEFAULT_USER_AGENT
from thalovant.control.client import DEFAULT_CONTROL_API_URL, AsyncThalovantControlPlane
from thalovant.errors import (
    ThalovantAPIError,
    ThalovantAPIUnreachableError,
    ThalovantAuthError,
    ThalovantConnectionError,
    ThalovantRuntimeError,
)

from .conftest import TOKEN, Canned, FakeAPI, start_server

pytestmark = pytest.mark.anyio


def test_defaults() -> None:
    api = AsyncThalovantControlPlane()
    assert api.api_url == DEFAULT_CONTROL_API_URL == "https://api.thalovant.com"
    assert api.access_token is None
    assert repr(api) == (
        "AsyncThalovantControlPlane(api_url='https://api.thalovant.com', authenticated=False)"
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://api.example.com/", "https://api.example.com"),
        ("https://api.example.com/v1", "https://api.example.com"),
        ("https://api.example.com/v1/", "https://api.example.com"),
        ("https://example.com/api/v1", "https://example.com/api"),
        ("  HTTPS://api.example.com  ", "https://api.example.com"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080"),
    ],
)
def test_base_url_is_normalised(given: str, expected: str) -> None:
    assert AsyncThalovantControlPlane(given).api_url == expected


@pytest.mark.parametrize(
    "bad",
    ["ftp://api.example.com", "api.example.com", "https://", "https://h:99999", "https://h/?x=1"],
)
def test_bad_base_url_is_refused(bad: str) -> None:
    with pytest.raises(ThalovantAPIError):
        AsyncThalovantControlPlane(bad)


def test_userinfo_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(ThalovantAPIError) as caught:
        AsyncThalovantControlPlane("https://alice:hunter2secret@api.example.com")
    assert "hunter2secret" not in str(caught.value)
    assert "credentials" in str(caught.value)


def test_repr_hides_the_token() -> None:
    api = AsyncThalovantControlPlane(access_token=TOKEN)
    assert TOKEN not in repr(api)
    assert "authenticated=True" in repr(api)


async def test_authenticated_call_sends_standard_headers(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.reply("GET", "/v1/hubs", {"data": []})
    assert await api.list_hubs() == {"data": []}
    sent = fake_api.last
    assert sent.method == "GET"
    assert sent.path == "/v1/hubs"
    assert sent.query == {"limit": "100"}
    assert sent.headers["accept"] == "application/json"
    assert sent.headers["user-agent"] == DEFAULT_USER_AGENT
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert "content-type" not in sent.headers


async def test_json_body_sets_content_type(
    anon: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.reply("POST", "/v1/auth/token", {"access_token": "tvpat_x" * 4})
    await anon.login("a@example.com", "pw-123456789")
    assert fake_api.last.headers["content-type"] == "application/json"


async def test_custom_user_agent(fake_api: FakeAPI) -> None:
    fake_api.reply("GET", "/v1/public/hubs", {"data": []})
    async with AsyncThalovantControlPlane(fake_api.url, user_agent="MyApp/2.0") as api:
        await api.list_public_hubs()
    assert fake_api.last.headers["user-agent"] == "MyApp/2.0"


async def test_missing_token_fails_locally(
    anon: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    for call in (anon.list_hubs(), anon.get_profile(), anon.get_client("c1")):
        with pytest.raises(ThalovantAuthError, match="Missing Thalovant API access token"):
            await call
    assert fake_api.requests == []


async def test_public_calls_never_send_the_token(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.reply("GET", "/v1/public/hubs", {"data": []})
    await api.list_public_hubs()
    assert "authorization" not in fake_api.last.headers


async def test_plain_http_to_a_remote_host_is_refused_before_sending() -> None:
    async with AsyncThalovantControlPlane("http://api.example.com", access_token=TOKEN) as api:
        with pytest.raises(ThalovantAPIError, match="without TLS") as caught:
            await api.list_hubs()
        with pytest.raises(ThalovantAPIError, match="without TLS"):
            await api.login("a@example.com", "pw")
        with pytest.raises(ThalovantAPIError, match="without TLS"):
            await api.poll_device_login("device-code-123")
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_plain_http_allowed_on_loopback(host: str) -> None:
    # construction succeeds and the TLS rule does not apply (checked below over the wire)
    assert AsyncThalovantControlPlane(f"http://{host}:9").api_url == f"http://{host}:9"


async def test_plain_http_on_localhost_name_works(fake_api: FakeAPI) -> None:
    fake_api.reply("GET", "/v1/hubs", {"data": [{"id": "h1"}]})
    url = fake_api.url.replace("127.0.0.1", "localhost")
    async with AsyncThalovantControlPlane(url, access_token=TOKEN) as api:
        assert (await api.list_hubs())["data"] == [{"id": "h1"}]


async def test_redirect_is_not_followed(api: AsyncThalovantControlPlane, fake_api: FakeAPI) -> None:
    fake_api.on("GET", "/v1/hubs", Canned(302, None, {"Location": "https://evil.example/x"}))
    fake_api.reply("GET", "/x", {"data": []})
    with pytest.raises(ThalovantAPIError) as caught:
        await api.list_hubs()
    assert caught.value.status_code == 302
    assert "redirect" in str(caught.value)
    assert "evil.example" not in str(caught.value)
    assert len(fake_api.requests) == 1


async def test_empty_body_is_an_empty_object(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on("GET", "/v1/clients/c1", Canned(204))
    assert await api.get_client("c1") == {}


async def test_non_json_success_body_is_an_error(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on("GET", "/v1/hubs/h1", Canned(200, raw=b"<html>secret page</html>"))
    with pytest.raises(ThalovantAPIError, match="not JSON") as caught:
        await api.get_hub("h1")
    assert "secret page" not in str(caught.value)
    assert caught.value.status_code == 200


async def test_json_non_object_success_body_is_an_error(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.reply("GET", "/v1/hubs/h1", ["not", "an", "object"])
    with pytest.raises(ThalovantAPIError, match="not an object"):
        await api.get_hub("h1")


async def test_non_json_error_body_maps_by_status(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on("GET", "/v1/hubs/h1", Canned(502, raw=b"Bad gateway <b>upstream</b>"))
    with pytest.raises(ThalovantAPIError) as caught:
        await api.get_hub("h1")
    assert str(caught.value) == "Thalovant API request failed with HTTP 502"
    assert caught.value.problem is None


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_unreachable_api() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    async with AsyncThalovantControlPlane(url, access_token=TOKEN) as api:
        with pytest.raises(ThalovantAPIUnreachableError) as caught:
            await api.list_hubs()
    assert isinstance(caught.value, ThalovantAPIError)
    assert isinstance(caught.value, ThalovantConnectionError)
    assert caught.value.status_code is None
    assert TOKEN not in str(caught.value)


async def test_timeout_is_unreachable(fake_api: FakeAPI) -> None:
    import anyio

    release = anyio.Event()

    async def stall(request: aiohttp.web.Request) -> aiohttp.web.Response:
        await release.wait()
        return aiohttp.web.json_response({})

    app = aiohttp.web.Application()
    app.router.add_get("/v1/hubs", stall)
    from aiohttp.test_utils import TestServer

    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("")).rstrip("/")
        async with AsyncThalovantControlPlane(url, access_token=TOKEN, timeout=0.05) as api:
            with pytest.raises(ThalovantAPIUnreachableError, match="timed out"):
                await api.list_hubs()
    finally:
        release.set()
        await server.close()


async def test_query_params_drop_none_blank_false_and_spell_true(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.reply("GET", "/v1/clients", {"data": []})
    await api.list_clients(hub_id="h1", cursor="  ", owner_id=None, include_spec=False)
    assert fake_api.last.query == {"hub_id": "h1", "limit": "100"}
    await api.list_clients(include_spec=True, limit=5, cursor="abc")
    assert fake_api.last.query == {"limit": "5", "cursor": "abc", "include_spec": "true"}


async def test_ids_are_one_path_segment(api: AsyncThalovantControlPlane, fake_api: FakeAPI) -> None:
    fake_api.reply("GET", "/v1/clients/a/../b?x", {"id": "x"})
    await api.get_client("a/../b?x")
    assert fake_api.last.raw_path == "/v1/clients/a%2F..%2Fb%3Fx"
    assert fake_api.last.query == {}
    for bad in ("", "  ", "..", "."):
        with pytest.raises(ThalovantAPIError, match="could not be formed"):
            await api.get_client(bad)


async def test_caller_session_is_never_closed(fake_api: FakeAPI) -> None:
    fake_api.reply("GET", "/v1/public/hubs", {"data": []})
    async with aiohttp.ClientSession() as session:
        async with AsyncThalovantControlPlane(fake_api.url, session=session) as api:
            await api.list_public_hubs()
        assert not session.closed
        async with session.get(fake_api.url + "/v1/public/hubs") as response:
            assert response.status == 200


async def test_owned_session_is_closed_and_reopened(fake_api: FakeAPI) -> None:
    fake_api.reply("GET", "/v1/public/hubs", {"data": []})
    api = AsyncThalovantControlPlane(fake_api.url)
    async with api:
        await api.list_public_hubs()
        session = api._session
        assert session is not None
    assert session.closed
    assert api._session is None
    await api.list_public_hubs()  # usable again with a fresh session
    await api.aclose()
    assert len(fake_api.requests) == 2


async def test_owned_session_refuses_another_event_loop(fake_api: FakeAPI) -> None:
    fake_api.reply("GET", "/v1/public/hubs", {"data": []})
    async with AsyncThalovantControlPlane(fake_api.url) as api:
        await api.list_public_hubs()
        api._session_loop = object()  # type: ignore[assignment]  # as if opened elsewhere
        with pytest.raises(ThalovantRuntimeError, match="another event loop"):
            await api.list_public_hubs()
    assert len(fake_api.requests) == 1


async def test_ssl_context_trusts_a_custom_ca() -> None:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    fake = FakeAPI()
    fake.reply("GET", "/v1/hubs", {"data": [{"id": "tls"}]})
    server = await start_server(fake, ssl=server_ctx)
    try:
        assert fake.url.startswith("https://127.0.0.1:")
        async with AsyncThalovantControlPlane(fake.url, access_token=TOKEN) as api:
            with pytest.raises(ThalovantAPIUnreachableError):
                await api.list_hubs()  # unknown CA: verification fails, never bypassed
        async with AsyncThalovantControlPlane(
            fake.url, access_token=TOKEN, ssl_context=client_ctx
        ) as api:
            assert (await api.list_hubs())["data"] == [{"id": "tls"}]
    finally:
        await server.close()
    assert len(fake.requests) == 1
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
