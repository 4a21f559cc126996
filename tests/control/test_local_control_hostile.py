"""The local control plane (``/v1``) against hostile requests (issue #11), over real TLS.

Every stored string is checked at the door (a 4xx Problem+JSON, nothing stored); registry
writes are all-or-nothing; cursors, emails and deeply nested bodies never answer 500; every
route enforces the access its route-table entry declares.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from thalovant.client.client import AsyncThalovantClient
from thalovant.errors import ThalovantError, ThalovantRuntimeError
from thalovant.hub import ClientRegistry, HubLimits, LocalHub
from thalovant.hub.control import api as api_module
from thalovant.hub.control import bodies as bodies_module
from thalovant.hub.control.account import LocalAccount
from thalovant.hub.control.resources import hub_id_for
from thalovant.hub.control.tokens import KNOWN_SCOPES, TokenStore
from thalovant.hub.control_plane import LocalControlPlane
from thalovant.hub.state.registry import InvalidClientError
from thalovant.testing import HubTLS

from .raw_http import RawAnswer, build_request, parse_answer, request, send_raw

pytestmark = pytest.mark.anyio

EMAIL, PASSWORD = "ada@example.test", "correct horse battery staple"


@pytest.fixture(scope="module")
def account() -> LocalAccount:
    return LocalAccount.create(EMAIL, PASSWORD)


@pytest.fixture
async def control(
    local_hub: LocalHub, account: LocalAccount, hub_tls: HubTLS
) -> AsyncIterator[LocalControlPlane]:
    async with LocalControlPlane(
        local_hub, account, ssl_context=hub_tls.server_context, tokens=TokenStore()
    ) as running:
        yield running


class Caller:
    """Raw requests to one control plane, with a full-scope token at hand."""

    def __init__(self, control: LocalControlPlane, hub_tls: HubTLS) -> None:
        self.control = control
        self.tls = hub_tls
        self.token, self.record = control.tokens.issue(KNOWN_SCOPES)

    async def __call__(
        self,
        method: str,
        path: str | bytes,
        *,
        body: Any = None,
        raw: bytes | None = None,
        token: str | bool | None = True,
        headers: list[tuple[str | bytes, str | bytes]] | None = None,
    ) -> RawAnswer:
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        bearer = self.token if token is True else None if token is False else token
        answer = await request(
            self.control.api_url,
            self.tls.client_context,
            method,
            path,
            headers=headers or [],
            body=data,
            token=bearer if isinstance(bearer, str) else None,
        )
        documented = answer.status == 501 and b'"not_supported"' in answer.body  # device login
        assert answer.status < 500 or documented, (method, path, answer.status, answer.body[:300])
        return answer


@pytest.fixture
def call(control: LocalControlPlane, hub_tls: HubTLS) -> Caller:
    return Caller(control, hub_tls)


def problem(answer: RawAnswer, status: int, code: str | None = None) -> dict[str, Any]:
    assert answer.status == status, answer.body[:300]
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert set(body) == {"type", "title", "status", "detail", "code"}
    if code is not None:
        assert body["code"] == code
    return body


def create_body(hub: LocalHub, name: Any = "kiosk", **spec: Any) -> dict[str, Any]:
    return {"hub_id": hub_id_for(hub), "name": name, "spec": spec}


def registry_on_disk(hub: LocalHub) -> list[Any]:
    return ClientRegistry(hub.registry.path).records()


# ------------------------------------------------ defect 1: one request corrupts the registry


async def test_lone_surrogate_name_leaves_the_registry_writable(
    call: Caller, local_hub: LocalHub, hub_tls: HubTLS, tmp_path: Path
) -> None:
    answer = await call("POST", "/v1/clients", body=create_body(local_hub, "a\ud800b"))
    detail = problem(answer, 422, "invalid_body")["detail"]
    assert "name" in detail
    assert len(local_hub.registry) == 0
    # Creates go on working, through the API and in Python, and reach the disk.
    made = await call("POST", "/v1/clients", body=create_body(local_hub, "after"))
    assert made.status == 201, made.body[:300]
    identity = local_hub.register_client("python side")
    assert len(local_hub.registry) == 2
    assert registry_on_disk(local_hub) == local_hub.registry.records()
    # A registered client's first contact pins its key (the hub writes the registry).
    async with AsyncThalovantClient(
        identity, ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "noise"
    ):
        pass
    record = local_hub.client(identity.access_key)
    assert record is not None
    assert record.client_key is not None
    assert registry_on_disk(local_hub) == local_hub.registry.records()


BAD_TEXT = [
    "a\ud800b",  # lone surrogate
    "\udcff",
    "nul\x00",
    "line\nbreak",
    "tab\there",
    "esc\x1b[31m",
    "del\x7f",
    "c1\x85",
    "sep\u2028",
    "x" * 129,
    "",
    "   ",
]


@pytest.mark.parametrize("bad", BAD_TEXT, ids=repr)
async def test_register_client_refuses_bad_strings(local_hub: LocalHub, bad: str) -> None:
    with pytest.raises(InvalidClientError, match="name") as caught:
        local_hub.register_client(bad)
    assert isinstance(caught.value, ThalovantError)
    assert isinstance(caught.value, ValueError)
    assert bad.strip() == "" or bad not in str(caught.value)  # the value is never echoed
    with pytest.raises(InvalidClientError, match="site_id"):
        local_hub.register_client("fine", site_id=bad)
    assert len(local_hub.registry) == 0
    local_hub.register_client("fine")
    assert registry_on_disk(local_hub) == local_hub.registry.records()


async def test_registry_writes_are_all_or_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state" / "clients.json"
    registry = ClientRegistry(path)
    first = registry.create("first")
    path.unlink()
    path.mkdir()  # every write now fails (os.replace onto a directory)
    with pytest.raises(OSError):
        registry.create("second")
    with pytest.raises(OSError):
        registry.update(first.access_key, name="renamed")
    with pytest.raises(OSError):
        registry.pin_client_key(first.access_key, "ab" * 32)
    with pytest.raises(OSError):
        registry.ensure_mqtt_credentials(first.access_key)
    with pytest.raises(OSError):
        registry.remove(first.access_key)
    assert registry.records() == [first]  # memory never ran ahead of the disk
    shutil.rmtree(path)
    third = registry.create("third")
    assert ClientRegistry(path).records() == [first, third]


async def test_undecodable_registry_file_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "clients.json"
    path.write_bytes(b'{"version": 1, "clients": [{"name": "\xff"}]}')
    with pytest.raises(ThalovantRuntimeError, match="not UTF-8"):
        ClientRegistry(path)


@pytest.mark.parametrize("bad", BAD_TEXT, ids=repr)
async def test_create_refuses_bad_names_and_site_ids(
    call: Caller, local_hub: LocalHub, bad: str
) -> None:
    problem(await call("POST", "/v1/clients", body=create_body(local_hub, bad)), 422)
    answer = await call("POST", "/v1/clients", body=create_body(local_hub, "ok", siteId=bad))
    if bad.strip(" "):
        problem(answer, 422, "invalid_spec")
        assert len(local_hub.registry) == 0
    else:  # a blank site id is no site id: it defaults to the name
        assert answer.status == 201
        assert answer.json()["site_id"] == "ok"


@pytest.mark.parametrize(
    "bad",
    ["k" * 15 + "\ud800", "k" * 15 + "\x00", "k" * 15 + "\x7f", "k" * 15 + "\u2028", "k" * 257],
    ids=repr,
)
async def test_create_refuses_bad_secrets(call: Caller, local_hub: LocalHub, bad: str) -> None:
    for field in ("apiKey", "password"):
        answer = await call("POST", "/v1/clients", body=create_body(local_hub, **{field: bad}))
        assert "k" * 15 not in problem(answer, 422, "invalid_spec")["detail"]
    assert len(local_hub.registry) == 0


async def test_hostile_headers(call: Caller, local_hub: LocalHub) -> None:
    for header in (b"Bearer \xff\xfe", b"Bearer tvpat_\xc3\x28", b"Bearer " + b"a" * 4000):
        answer = await call("GET", "/v1/hubs", token=False, headers=[("Authorization", header)])
        problem(answer, 401, "invalid_token")
    for key in (b"\xff\xfe", b"k" * 300, b"a b", "é".encode()):
        answer = await call(
            "POST",
            "/v1/clients",
            body=create_body(local_hub),
            headers=[("Idempotency-Key", key)],
        )
        problem(answer, 422, "invalid_idempotency_key")
    for content_type in ("application/json; charset=bogus", "application/json; charset=utf-16"):
        answer = await call(
            "POST",
            "/v1/auth/token",
            body={"email": EMAIL, "password": PASSWORD},
            token=False,
            headers=[("Content-Type", content_type)],
        )
        assert answer.status == 200  # JSON is UTF-8 (RFC 8259): the charset is ignored
    assert len(local_hub.registry) == 0


async def test_a_body_sent_too_slowly_gets_408(
    control: LocalControlPlane, hub_tls: HubTLS, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bodies_module, "BODY_SECONDS", 0.5)
    host = control.api_url.removeprefix("https://")
    head = build_request("POST", "/v1/auth/token", host=host, body=b"x" * 100)
    partial = head[: len(head) - 90]  # the headers promise 100 bytes; 10 are sent
    hostname, port = host.rsplit(":", 1)
    with anyio.fail_after(30):
        stream = await anyio.connect_tcp(
            hostname, int(port), ssl_context=hub_tls.client_context, tls_standard_compatible=False
        )
        async with stream:
            await stream.send(partial)
            raw = b""
            while b"\r\n\r\n" not in raw or not raw.rstrip().endswith(b"}"):
                raw += await stream.receive()
    problem(parse_answer(raw), 408, "body_timeout")


async def test_a_header_sent_too_slowly_is_cut_off(
    local_hub: LocalHub, account: LocalAccount, hub_tls: HubTLS, monkeypatch: pytest.MonkeyPatch
) -> None:
    limits = HubLimits(request_timeout=0.5)
    async with LocalControlPlane(
        local_hub, account, ssl_context=hub_tls.server_context, limits=limits
    ) as cp:
        hostname, port = cp.api_url.removeprefix("https://").rsplit(":", 1)
        with anyio.fail_after(20):  # aiohttp's own default would be an hour
            stream = await anyio.connect_tcp(
                hostname,
                int(port),
                ssl_context=hub_tls.client_context,
                tls_standard_compatible=False,
            )
            async with stream:
                await stream.send(b"GET /v1/public/hubs HTTP/1.1\r\nHost: x\r\n")
                received = b""
                try:
                    while True:
                        received += await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    pass
    assert received == b""  # closed without an answer: it never finished its request


async def test_body_limit_holds_on_both_mounts(
    call: Caller, hub_tls: HubTLS, tmp_path: Path, account: LocalAccount
) -> None:
    """A chunked body (no Content-Length) past MAX_BODY is a 413 on the control plane's own
    server and on the hub's HTTPS server (whose root app takes larger bodies)."""
    chunk = b'{"email": "' + b"x" * (api_module.MAX_BODY + 10) + b'"}'
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk)
    headers: list[tuple[str | bytes, str | bytes]] = [
        ("Transfer-Encoding", "chunked"),
        ("Content-Type", "application/json"),
    ]
    async with LocalHub(
        tmp_path / "mounted", ssl_context=hub_tls.server_context, control_account=account
    ) as hub:
        assert hub.https_url is not None
        for url in (call.control.api_url, hub.https_url.rstrip("/")):
            host = url.split("://", 1)[1].split("/", 1)[0]
            head = build_request("POST", "/v1/auth/token", host=host, headers=headers)
            answer = await send_raw(url, head + chunked, hub_tls.client_context)
            problem(answer, 413, "body_too_large")


# ------------------------------------------------------------- defect 4: answers of 500


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "text", ["o:" + "9" * 5000, "o:" + "1" * 40, "o:-1", "o:+1", "o: 1", "o:1_0", "x:1"]
)
async def test_hostile_cursors(call: Caller, text: str) -> None:
    for path in ("/v1/clients", "/v1/hubs", "/v1/public/hubs"):
        answer = await call("GET", f"{path}?cursor={_cursor(text)}")
        problem(answer, 422, "invalid_cursor")


async def test_non_ascii_email_signs_in(local_hub: LocalHub, hub_tls: HubTLS, call: Caller) -> None:
    jose = LocalAccount.create("José@Example.test", PASSWORD)
    async with LocalControlPlane(local_hub, jose, ssl_context=hub_tls.server_context) as control:
        other = Caller(control, hub_tls)
        for email in ("josé@example.test", "JOSÉ@example.test", "jose\u0301@example.test"):
            answer = await other(
                "POST", "/v1/auth/token", body={"email": email, "password": PASSWORD}, token=False
            )
            assert answer.status == 200, answer.body[:300]
            assert answer.json()["access_token"].startswith("tvpat_")
    # A non-ASCII email against an ASCII account: a plain wrong sign-in.
    answer = await call(
        "POST", "/v1/auth/token", body={"email": "zoë@example.test", "password": PASSWORD}
    )
    problem(answer, 401, "invalid_credentials")
    for email in ("a\ud800@example.test", "a\x00@example.test", "a" * 400 + "@x.test"):
        body = {"email": email, "password": PASSWORD}
        problem(await call("POST", "/v1/auth/token", body=body), 422, "invalid_body")
    for secret in ("pw\ud800", "x" * 5000):
        body = {"email": EMAIL, "password": secret}
        problem(await call("POST", "/v1/auth/token", body=body), 422, "invalid_body")
    body = {"email": EMAIL, "password": PASSWORD, "recovery_code": "\ud800"}
    problem(await call("POST", "/v1/auth/token", body=body), 422, "invalid_body")


async def test_any_password_the_account_takes_signs_in(
    local_hub: LocalHub, hub_tls: HubTLS
) -> None:
    secret = " tab\there, zero\u200bwidth and trailing space "
    owner = LocalAccount.create(EMAIL, secret)
    async with LocalControlPlane(local_hub, owner, ssl_context=hub_tls.server_context) as control:
        body = {"email": EMAIL, "password": secret}
        answer = await Caller(control, hub_tls)("POST", "/v1/auth/token", body=body, token=False)
        assert answer.status == 200, answer.body[:300]


def _nested(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("kind", ["list", "object"])
async def test_deeply_nested_bodies(call: Caller, local_hub: LocalHub, kind: str) -> None:
    deep = _nested(6000, kind)
    assert len(deep) < api_module.MAX_BODY
    for path in ("/v1/auth/token", "/v1/clients"):
        problem(await call("POST", path, raw=deep), 400, "json_too_deep")
    # Nesting inside an otherwise valid create is refused the same way, before anything runs.
    inner = json.dumps(create_body(local_hub)).encode()[:-1] + b', "x": ' + deep + b"}"
    problem(await call("POST", "/v1/clients", raw=inner), 400, "json_too_deep")
    # Brackets inside strings do not count.
    answer = await call("POST", "/v1/clients", body=create_body(local_hub, "[" * 200))
    problem(answer, 422, "invalid_body")  # too long a name, not too deep
    answer = await call("POST", "/v1/clients", body=create_body(local_hub, "k[{" * 10))
    assert answer.status == 201
    deepest = _nested(api_module.MAX_JSON_DEPTH - 1, kind)
    body = json.dumps(create_body(local_hub, "deep")).encode()[:-1] + b', "x": ' + deepest + b"}"
    assert (await call("POST", "/v1/clients", raw=body)).status == 201


# ------------------------------------------------------- defect 10: scopes on every route


async def test_read_only_token_cannot_revoke_other_tokens(
    call: Caller, control: LocalControlPlane
) -> None:
    full, full_record = control.tokens.issue(KNOWN_SCOPES)
    reader, reader_record = control.tokens.issue(("hubs:read",))
    other, other_record = control.tokens.issue(("hubs:read",))
    path = f"/v1/auth/api-tokens/{full_record.token_id}"
    problem(await call("DELETE", path, token=reader), 403, "insufficient_scopes")
    assert (await call("GET", "/v1/users/profile", token=full)).status == 200
    # An unknown id answers the same: no oracle for which token ids exist.
    answer = await call("DELETE", "/v1/auth/api-tokens/tok_unknown", token=reader)
    problem(answer, 403, "insufficient_scopes")
    path = f"/v1/auth/api-tokens/{other_record.token_id}"
    problem(await call("DELETE", path, token=reader), 403, "insufficient_scopes")
    # Any token signs itself out; a full-scope token revokes others.
    path = f"/v1/auth/api-tokens/{reader_record.token_id}"
    assert (await call("DELETE", path, token=reader)).status == 204
    path = f"/v1/auth/api-tokens/{other_record.token_id}"
    assert (await call("DELETE", path, token=full)).status == 204
    problem(await call("GET", "/v1/users/profile", token=other), 401, "invalid_token")
    assert (await call("GET", "/v1/users/profile", token=full)).status == 200


def _sample_path(path: str, token_id: str) -> str:
    values = {"token_id": token_id}
    out = path
    while "{" in out:
        start, end = out.index("{"), out.index("}")
        name = out[start + 1 : end]
        out = out[:start] + values.get(name, "x") + out[end + 1 :]
    return "/v1" + out


async def test_route_table_covers_every_route(control: LocalControlPlane) -> None:
    served = {
        (route.method, route.resource.canonical.removeprefix("/v1"))
        for route in control.app.router.routes()
        if route.resource is not None and route.resource.canonical != "/v1/{tail}"
    }
    declared = {(route.method, route.path) for route in api_module.ROUTES}
    assert served == declared
    for route in api_module.ROUTES:
        assert isinstance(route.access, api_module.Access), route
        assert set(route.access.any_of) <= set(KNOWN_SCOPES), route


@pytest.mark.parametrize(
    "route", api_module.ROUTES, ids=lambda r: f"{r.method} {r.path}".replace("/", "_")
)
async def test_every_route_enforces_its_scopes(
    call: Caller, control: LocalControlPlane, route: Any
) -> None:
    access = route.access
    body = b"{}" if route.method in ("POST", "PUT", "PATCH") else None

    async def send(token: str | None, token_id: str = "tok_x") -> RawAnswer:
        path = _sample_path(route.path, token_id)
        return await call(route.method, path, raw=body, token=token or False)

    if access.public:
        answer = await send(None)
        assert answer.status not in (401, 403), answer.body[:300]
        return
    problem(await send(None), 401, "not_authenticated")
    if access.any_of:
        lacking = tuple(s for s in KNOWN_SCOPES if s not in access.any_of)
        token, record = control.tokens.issue(lacking)
        problem(await send(token, record.token_id), 403, "insufficient_scopes")
        for scope in access.any_of:
            token, record = control.tokens.issue((scope,))
            answer = await send(token, record.token_id)
            assert answer.status not in (401, 403), (scope, answer.body[:300])
    else:  # any live token, whatever its scopes
        token, record = control.tokens.issue(())
        answer = await send(token, record.token_id)
        assert answer.status not in (401, 403), answer.body[:300]


async def test_concurrent_mixed_creates_keep_disk_and_memory_equal(
    call: Caller, local_hub: LocalHub
) -> None:
    """A burst of good and hostile creates at once, then a reload: disk == memory."""

    async def create(name: str) -> None:
        await call("POST", "/v1/clients", body=create_body(local_hub, name))

    async with anyio.create_task_group() as tg:
        for n in range(12):
            tg.start_soon(create, f"kiosk-{n}" if n % 2 else f"bad-{n}\ud800")
    assert len(local_hub.registry) == 6
    assert registry_on_disk(local_hub) == local_hub.registry.records()
