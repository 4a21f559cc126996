"""Chaos: generated hostile requests against every ``/v1`` route of the local control plane.

A seeded generator builds requests over the served route table (from the aiohttp router, so
a new route is fuzzed without touching this file): hostile path parameters, queries
(cursors, limits, ids), headers (bearer tokens, Idempotency-Key, If-Match, charsets) and
bodies (lone surrogates, control characters, long strings, wrong types, huge numbers, deep
nesting, invalid UTF-8, truncated JSON), sent as raw bytes over real TLS. Figure: requests
sent / 5xx (and unanswered) seen; then the registry must still take a client, and a restarted
hub must load exactly what the running one held.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import anyio
import pytest
from aiohttp import web

from tests.chaos.conftest import scaled
from tests.control.raw_http import RawAnswer, request
from thalovant.hub import ClientRegistry, LocalHub
from thalovant.hub.control import api as control_api
from thalovant.hub.control import signin as control_signin
from thalovant.hub.control.account import LocalAccount
from thalovant.hub.control.resources import client_id_for, hub_id_for
from thalovant.hub.control.tokens import (
    ALL_SCOPES,
    EXTRA_SCOPES,
    KNOWN_SCOPES,
    IssuedToken,
    TokenStore,
)
from thalovant.hub.control_plane import LocalControlPlane
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio

EMAIL, PASSWORD = "ada@example.test", "correct horse battery staple"
SEED = 1111


class Raw:
    """A JSON token written as is (``NaN``, a 5,000-digit number, a truncated object)."""

    def __init__(self, text: bytes) -> None:
        self.text = text


def emit(value: Any) -> bytes:
    """JSON bytes of ``value``; lone surrogates are written as ``\\udXXX`` escapes."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return b"{" + b",".join(emit(str(k)) + b":" + emit(v) for k, v in value.items()) + b"}"
    if isinstance(value, list):
        return b"[" + b",".join(emit(v) for v in value) + b"]"
    return json.dumps(value).encode("ascii")


class Hostile:
    """Seeded generator of hostile values."""

    SPECIAL: ClassVar[list[str]] = [
        "",
        " ",
        "\t",
        "a\ud800b",
        "\udfff",
        "\ud83d",
        "nul\x00byte",
        "line\nbreak",
        "\r\n\r\nHTTP/1.1 200 OK",
        "\x1b[2J",
        "\x7f\x85\x9f",
        "\u2028\u2029",
        "\ufeffbom",
        "\u202eevil",
        "zero\u200bwidth",
        "e\u0301\u0301\u0301",
        "josé@example.test",
        "ADA@EXAMPLE.TEST",
        "%00",
        "../../etc/passwd",
        "null",
        "{}",
        "[[[[",
        "😀" * 40,
        "k" * 16,
        "k" * 257,
    ]

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def pick(self, options: list[Any]) -> Any:
        return options[self.rng.randrange(len(options))]

    def text(self) -> str:
        """A hostile string: one of five classes, equally likely."""
        rng = self.rng
        kind = rng.randrange(5)
        if kind == 0:  # a normal string with a lone surrogate or a control character in it
            bad = chr(rng.choice([rng.randrange(0xD800, 0xE000), rng.randrange(0, 0x20)]))
            return f"kiosk{bad}{rng.randrange(1000)}"
        if kind == 1:
            bad = self.pick(["\x7f", "\x85", "\x9f", "\u2028", "\u2029", "\ufffe", "\U0010ffff"])
            return f"site{bad}"
        if kind == 2:
            return "x" * int(self.pick([127, 128, 129, 255, 256, 257, 320, 1024, 20_000]))
        if kind == 3:
            return str(self.pick(self.SPECIAL))
        size = rng.randrange(1, 40)
        alphabet = [chr(rng.randrange(0, 0x110000)) for _ in range(8)] + list("aZ9-_:@ ")
        return "".join(self.pick(alphabet) for _ in range(size))

    def deep(self) -> Raw:
        depth = self.pick([40, 200, 1000, 6000, 20_000])
        if self.rng.random() < 0.5:
            return Raw(b"[" * depth + b"]" * depth)
        return Raw(b'{"a":' * depth + b"0" + b"}" * depth)

    def value(self, depth: int = 0) -> Any:
        roll = self.rng.random()
        if roll < 0.45:
            return self.text()
        if roll < 0.55:
            return self.pick([None, True, False, 0, -1, 2**63, 1.5])
        if roll < 0.65:
            return self.pick([Raw(b"NaN"), Raw(b"-Infinity"), Raw(b"1e999"), Raw(b"9" * 5000)])
        if roll < 0.75:
            return self.deep()
        if depth < 3 and roll < 0.88:
            return [self.value(depth + 1) for _ in range(self.rng.randrange(0, 4))]
        if depth < 3:
            return {self.text(): self.value(depth + 1) for _ in range(self.rng.randrange(0, 4))}
        return self.text()

    def cursor(self) -> str:
        inner = self.pick(
            [
                "o:" + "9" * self.pick([13, 100, 5000]),
                "o:-1",
                "o:1e3",
                "o:",
                "o:1_000",
                "o:٣",
                "x:1",
                "o:0",
                "o:1",
            ]
        )
        raw = base64.urlsafe_b64encode(inner.encode()).decode().rstrip("=")
        return str(self.pick([raw, raw + "=", "!!!", "%ff", _quoted(self.text()), ""]))


def _quoted(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


Headers = list[tuple[str | bytes, str | bytes]]


@dataclass
class Target:
    """One place the ``/v1`` app is served: its base URL, the app and its token store."""

    api_url: str
    app: web.Application
    tokens: TokenStore

    @classmethod
    def of_server(cls, control: LocalControlPlane) -> Target:
        return cls(control.api_url, control.app, control.tokens)

    @classmethod
    def of_hub(cls, hub: LocalHub) -> Target:
        assert hub.control_app is not None
        assert hub.https_url is not None
        base = hub.https_url.split("://", 1)
        url = f"{base[0]}://{base[1].split('/', 1)[0]}"
        return cls(url, hub.control_app, hub.control_app[control_api.STATE].tokens)


class Corpus:
    """Hostile requests over the served routes: a valid request for the route (real ids, a
    fresh full-scope token, a valid body), then one to three hostile mutations of its path,
    query, headers or body, so that hostile values get past the first check they meet."""

    def __init__(self, hub: LocalHub, control: Target, routes: list[tuple[str, str]]) -> None:
        self.hub = hub
        self.control = control
        self.routes = routes
        self.gen = Hostile(SEED)
        self.ids: dict[str, list[str]] = {
            "client_id": ["cl_x"],
            "op_id": ["op_x"],
            "hub_id": [hub_id_for(hub), "local-hub"],
            "ref": ["local-hub", hub_id_for(hub)],
            "token_id": ["tok_x"],
        }
        self.serial = 0

    # ------------------------------------------------------------------ valid baseline

    def _path(self, template: str, token_id: str) -> list[str]:
        """The template cut into literal parts and parameter values."""
        parts: list[str] = []
        out = template
        while "{" in out:
            start, end = out.index("{"), out.index("}")
            name = out[start + 1 : end]
            value = token_id if name == "token_id" else self.gen.pick(self.ids.get(name, ["x"]))
            parts += [out[:start], value]
            out = out[end + 1 :]
        return [*parts, out]

    def _body(self, template: str) -> dict[str, Any]:
        self.serial += 1
        if template == "/auth/token":
            return {"email": EMAIL, "password": PASSWORD}
        return {
            "hub_id": hub_id_for(self.hub),
            "name": f"fuzz {self.serial}",
            "spec": {
                "apiKey": f"key-{self.serial:012d}",
                "password": f"pw-{self.serial:014d}",
                "siteId": f"site-{self.serial}",
            },
        }

    # ---------------------------------------------------------------------- mutations

    def _mutate_body(self, body: dict[str, Any]) -> Any:
        gen = self.gen
        roll = gen.rng.random()
        if roll < 0.15:
            return gen.pick(
                [
                    Raw(b"{"),
                    Raw(b"\xff\xfe{}"),
                    Raw(b'{"name": "\xed\xa0\x80"}'),
                    Raw(b"[]"),
                    Raw(b"null"),
                    Raw(b'{"a": 1, "a": 2}'),
                    gen.deep(),
                ]
            )
        if "email" in body:  # sign-in
            fields = ["email", "password", "scope", "scopes", "otp_code", "recovery_code", "x"]
        else:
            fields = ["name", "spec", "spec", "spec", "hub_id", "active", "x"]
        name = gen.pick(fields)
        spec = body.get("spec")
        if name == "spec" and isinstance(spec, dict) and gen.rng.random() < 0.8:
            key = gen.pick(["apiKey", "password", "siteId", "site_id", "connectionType", "x"])
            spec[key] = gen.value()
        elif gen.rng.random() < 0.1:
            body.pop(name, None)
        else:
            body[name] = gen.value()
        return body

    def _mutate_query(self, query: dict[str, str]) -> None:
        gen = self.gen
        name = gen.pick(["cursor", "limit", "hub_id", "owner_id", "include_spec", "junk"])
        if name == "cursor":
            query[name] = gen.cursor()
        elif name == "limit":
            query[name] = gen.pick(["0", "101", "-5", "1e3", "9" * 5000, "%D9%A3", "1_0", " 5"])
        else:
            query[name] = _quoted(gen.text())

    def _mutate_headers(self, headers: Headers) -> None:
        gen = self.gen
        roll = gen.rng.random()
        if roll < 0.4:
            headers[:] = [h for h in headers if h[0] != "Authorization"]
            value = gen.pick(
                [
                    b"Bearer",
                    b"Bearer ",
                    b"Basic YTpi",
                    b"Bearer \xff\xfe",
                    b"bearer tvpat_" + b"A" * 43,
                    b"Bearer " + b"x" * 6000,
                    b"Bearer tvpat_\xc3\x28",
                    b"Bearer a b c",
                    b"Bearer tvpat_" + "é".encode() * 20,
                ]
            )
            headers.append(("Authorization", value))
        elif roll < 0.6:
            key = gen.pick([b"\xff", b"k" * 300, b"a\x01b", b"fine-key", b"", b"  ", b"\xc3\xa9"])
            headers.append(("Idempotency-Key", key))
        elif roll < 0.75:
            headers.append(("If-Match", gen.pick([b"*", b'"x"', b"\xff", b"W/" + b"a" * 2000])))
        else:
            ctype = gen.pick(
                [
                    b"application/json; charset=bogus",
                    b"application/json; charset=utf-16",
                    b"text/plain",
                    b"application/json; charset=\xff",
                    b"multipart/form-data; boundary=x",
                ]
            )
            headers.append(("Content-Type", ctype))

    def next(self) -> tuple[str, bytes, Headers, bytes | None]:
        gen = self.gen
        method, template = gen.pick(self.routes)
        token, record = self.control.tokens.issue(ALL_SCOPES)
        path = self._path(template, record.token_id)
        query: dict[str, str] = {}
        headers: Headers = [("Authorization", f"Bearer {token}")]
        body: Any = self._body(template) if method == "POST" else None
        for _ in range(gen.rng.randrange(1, 4)):
            where = gen.rng.random() * (0.8 if isinstance(body, dict) else 1.0)
            if isinstance(body, dict) and gen.rng.random() < 0.5:
                where = 0.7
            params = list(range(1, len(path), 2))
            if where < 0.2 and params:
                path[gen.pick(params)] = _quoted(gen.text())
            elif where < 0.4:
                self._mutate_query(query)
            elif where < 0.6:
                self._mutate_headers(headers)
            elif isinstance(body, dict):
                body = self._mutate_body(body)
            elif where < 0.8:
                body = gen.pick([gen.deep(), Raw(b"{"), {"x": gen.value()}])
        raw_path = ("/v1" + "".join(path)).encode("utf-8", "surrogatepass")
        if gen.rng.random() < 0.03:
            raw_path += gen.pick([b"\xff", b"/%2e%2e/", b"//", b"#frag"])
        if query:
            raw_path += ("?" + "&".join(f"{k}={v}" for k, v in query.items())).encode()
        return method, raw_path, headers, None if body is None else emit(body)


async def _fuzz(
    control: Target, hub: LocalHub, hub_tls: HubTLS, count: int
) -> tuple[int, list[str]]:
    """Send ``count`` generated requests (8 at a time); the 5xx and unanswered ones."""
    routes = sorted(
        {
            (r.method if r.method != "*" else "GET", r.resource.canonical.replace("{tail}", "x"))
            for r in control.app.router.routes()
            if r.resource is not None
        }
    )
    corpus = Corpus(hub, control, [(m, p.removeprefix("/v1")) for m, p in routes])
    for n in range(3):  # real ids for the path parameters
        record = hub.registry.create(f"seed {n}")
        corpus.ids["client_id"].append(client_id_for(record.access_key))
    bad: list[str] = []
    limiter = anyio.CapacityLimiter(8)

    async def one(method: str, path: bytes, headers: Headers, body: bytes | None) -> None:
        async with limiter:
            try:
                answer: RawAnswer = await request(
                    control.api_url,
                    hub_tls.client_context,
                    method,
                    path,
                    headers=headers,
                    body=body,
                )
            except (TimeoutError, ValueError, IndexError, OSError) as exc:
                bad.append(f"{method} {path[:80]!r}: no answer ({type(exc).__name__})")
                return
            if answer.status == 501 and b'"not_supported"' in answer.body:
                return  # the device-login routes' documented answer
            if answer.status >= 500:
                bad.append(f"{method} {path[:80]!r}: {answer.status} {answer.body[:120]!r}")
            elif answer.status == 201 and b'"operation"' in answer.body:
                found = json.loads(answer.body)
                corpus.ids["client_id"].append(found["id"])
                corpus.ids["op_id"].append(found["operation"]["id"])

    async with anyio.create_task_group() as tg:
        for _ in range(count):
            tg.start_soon(one, *corpus.next())
    return count, bad


async def _registry_still_writable(control: Target, hub: LocalHub, hub_tls: HubTLS) -> bool:
    """A create through the API and one in Python still work."""
    token, _ = control.tokens.issue(ALL_SCOPES)
    body = {"hub_id": hub_id_for(hub), "name": "after the storm"}
    answer = await request(
        control.api_url,
        hub_tls.client_context,
        "POST",
        "/v1/clients",
        body=json.dumps(body).encode(),
        token=token,
    )
    if answer.status != 201:
        return False
    try:
        hub.register_client("python side after the storm")
    except (ValueError, OSError):
        return False
    return True


@asynccontextmanager
async def _serving(mount: str, state: Path, tls: HubTLS) -> AsyncIterator[tuple[LocalHub, Target]]:
    """The hub and the ``/v1`` app on its own server, or mounted in the hub's HTTPS one."""
    account = LocalAccount.create(EMAIL, PASSWORD)
    if mount == "hub":
        async with LocalHub(state, ssl_context=tls.server_context, control_account=account) as hub:
            yield hub, Target.of_hub(hub)
        return
    async with (
        LocalHub(state, ssl_context=tls.server_context) as hub,
        LocalControlPlane(
            hub, account, ssl_context=tls.server_context, tokens=TokenStore()
        ) as control,
    ):
        yield hub, Target.of_server(control)


@pytest.mark.parametrize("mount", ["server", "hub"])
async def test_hostile_requests_on_every_route(
    hub_tls: HubTLS,
    tmp_path: Path,
    mount: str,
    chaos_figure: Callable[[str], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(control_signin, "LOCKOUT_AFTER", 10**9)  # keep sign-in reachable
    state = tmp_path / "hub"
    async with _serving(mount, state, hub_tls) as (hub, target):
        sent, bad = await _fuzz(target, hub, hub_tls, scaled(250, 4000))
        writable = await _registry_still_writable(target, hub, hub_tls)
        before = hub.registry.records()
    async with LocalHub(state, ssl_context=hub_tls.server_context) as restarted:
        after = restarted.registry.records()
        try:
            restarted.register_client("after the restart")
        except (ValueError, OSError):
            writable = False
    consistent = after == before and len(ClientRegistry(state / "clients.json")) == len(after) + 1
    chaos_figure(
        f"{sent} requests, {len(bad)} 5xx/unanswered; registry writable: "
        f"{'yes' if writable else 'no'}, {len(before)} clients in memory, "
        f"{len(after)} after restart (consistent: {'yes' if consistent else 'no'})"
    )
    assert bad == [], bad[:10]
    assert writable
    assert consistent


# ---------------------------------------------------------------- scopes, every route


#: Who may call each route, written out independently of the implementation's table:
#: ``None`` = public, ``()`` = any live token, else a token holding one of the scopes.
EXPECTED_ACCESS: dict[tuple[str, str], tuple[str, ...] | None] = {
    ("GET", "/public/hubs"): None,
    ("GET", "/public/hubs/{ref}"): None,
    ("GET", "/hubs"): ("hubs:read",),
    ("GET", "/hubs/{hub_id}"): ("hubs:read",),
    ("POST", "/auth/token"): None,
    ("POST", "/auth/device/authorize"): None,
    ("POST", "/auth/device/token"): None,
    ("DELETE", "/auth/api-tokens/{token_id}"): (),  # own token; others need every scope
    ("GET", "/users/profile"): (),
    ("GET", "/clients"): ("clients:read",),
    ("POST", "/clients"): ("clients:write",),
    ("GET", "/clients/{client_id}"): ("clients:read",),
    ("DELETE", "/clients/{client_id}"): ("clients:write",),
    ("GET", "/operations/{op_id}"): ("clients:read", "clients:write", "hubs:read", "hubs:write"),
    # the wider control plane (docs/control-plane.md)
    ("POST", "/hubs"): ("hubs:write",),
    ("PATCH", "/hubs/{hub_id}"): ("hubs:write",),
    ("DELETE", "/hubs/{hub_id}"): ("hubs:write",),
    ("POST", "/hubs/{hub_id}/release"): ("hubs:write",),
    ("PUT", "/hubs/{hub_id}/rating"): ("hubs:read", "hubs:write"),
    ("DELETE", "/hubs/{hub_id}/rating"): ("hubs:read", "hubs:write"),
    ("GET", "/hubs/{hub_id}/runtime-capabilities"): ("hubs:inspect", "hubs:write"),
    ("GET", "/hubs/{hub_id}/skills"): ("hubs:read", "hubs:write"),
    ("POST", "/hubs/{hub_id}/skills"): ("hubs:write",),
    ("GET", "/hubs/{hub_id}/skills/history"): ("hubs:read", "hubs:write"),
    ("PATCH", "/hubs/{hub_id}/skills/{skill}"): ("hubs:write",),
    ("DELETE", "/hubs/{hub_id}/skills/{skill}"): ("hubs:write",),
    ("GET", "/marketplace/skills"): ("hubs:read", "hubs:write"),
    ("GET", "/runtime-groups"): ("hubs:read", "hubs:write"),
    ("POST", "/runtime-groups"): ("hubs:write",),
    ("GET", "/runtime-groups/{group_id}"): ("hubs:read", "hubs:write"),
    ("PATCH", "/runtime-groups/{group_id}"): ("hubs:write",),
    ("DELETE", "/runtime-groups/{group_id}"): ("hubs:write",),
    ("GET", "/runtime-groups/{group_id}/config"): ("hubs:read", "hubs:write"),
    ("PATCH", "/runtime-groups/{group_id}/config"): ("hubs:write",),
    ("PUT", "/runtime-groups/{group_id}/config"): ("hubs:write",),
    ("POST", "/runtime-groups/{group_id}/release"): ("hubs:write",),
    ("GET", "/runtime-groups/{group_id}/marketplace"): ("hubs:read", "hubs:write"),
    ("GET", "/runtime-groups/{group_id}/inventory"): ("hubs:read", "hubs:write"),
    ("POST", "/runtime-groups/{group_id}/skills"): ("hubs:write",),
    ("DELETE", "/runtime-groups/{group_id}/skills/{skill_id}"): ("hubs:write",),
    ("GET", "/memory"): ("memory:read", "memory:write"),
    ("POST", "/memory"): ("memory:write",),
    ("GET", "/memory/summary"): ("memory:read", "memory:write"),
    ("GET", "/memory/{memory_id}"): ("memory:read", "memory:write"),
    ("PATCH", "/memory/{memory_id}"): ("memory:write",),
    ("DELETE", "/memory/{memory_id}"): ("memory:write",),
    ("GET", "/analytics/overview"): ("analytics:read",),
    ("GET", "/auth/device/codes/{user_code}"): (),
    ("POST", "/auth/device/codes/{user_code}/approve"): (),
    ("POST", "/auth/device/codes/{user_code}/deny"): (),
    ("POST", "/auth/native/authorize"): (),
    ("POST", "/auth/native/token"): None,
}


def _subsets() -> list[tuple[str, ...]]:
    # every subset of the client scopes; each wider scope alone, and all of them
    out: list[tuple[str, ...]] = []
    for mask in range(2 ** len(ALL_SCOPES)):
        out.append(tuple(s for i, s in enumerate(ALL_SCOPES) if mask >> i & 1))
    out += [(scope,) for scope in EXTRA_SCOPES]
    out.append(KNOWN_SCOPES)
    return out


async def test_every_route_against_every_scope_set(
    hub_tls: HubTLS, tmp_path: Path, chaos_figure: Callable[[str], None]
) -> None:
    """Each route x each set of scopes (and no token, and a forged one), with a real target
    for the destructive routes: whatever the scopes do not allow must be refused (401/403)
    and change nothing."""
    account = LocalAccount.create(EMAIL, PASSWORD)
    async with (
        LocalHub(tmp_path / "hub", ssl_context=hub_tls.server_context) as hub,
        LocalControlPlane(
            hub, account, ssl_context=hub_tls.server_context, tokens=TokenStore()
        ) as control,
    ):
        served = {
            (r.method, r.resource.canonical.removeprefix("/v1"))
            for r in control.app.router.routes()
            if r.resource is not None and r.resource.canonical != "/v1/{tail}"
        }
        assert served == set(EXPECTED_ACCESS), "a route without an expected access entry"
        sent, escalations = 0, []
        for (method, template), needs in sorted(EXPECTED_ACCESS.items()):
            callers: list[tuple[str, tuple[str, ...] | None]] = [("none", None), ("forged", None)]
            callers += [("token", subset) for subset in _subsets()]
            for kind, scopes in callers:
                for target_own in (True, False) if "{token_id}" in template else (True,):
                    caller: tuple[str, IssuedToken] | None = None
                    if kind == "forged":  # a well-formed token this store never issued
                        caller = ("tvpat_" + "A" * 43, control.tokens.issue(())[1])
                    elif scopes is not None:
                        caller = control.tokens.issue(scopes)
                    victim_token, victim = control.tokens.issue(ALL_SCOPES)
                    record = hub.registry.create(f"target {sent}")
                    values = {
                        "ref": "local-hub",
                        "hub_id": hub_id_for(hub),
                        "token_id": caller[1].token_id
                        if caller is not None and target_own
                        else victim.token_id,
                        "client_id": client_id_for(record.access_key),
                        "op_id": "op_missing",
                        "skill": "skill-missing",
                        "skill_id": "skill-missing",
                        "group_id": "rg_missing",
                        "memory_id": "mem_missing",
                        "user_code": "CODE-MISSING",
                    }
                    path = "/v1" + template
                    for name, value in values.items():
                        path = path.replace("{" + name + "}", value)
                    body = None
                    if method == "POST":
                        body = json.dumps(
                            {"hub_id": hub_id_for(hub), "name": f"new {sent}"}
                            if template == "/clients"
                            else {"email": EMAIL, "password": PASSWORD}
                        ).encode()
                    answer = await request(
                        control.api_url,
                        hub_tls.client_context,
                        method,
                        path,
                        body=body,
                        token=None if caller is None else caller[0],
                    )
                    sent += 1
                    if needs is None:
                        allowed = True
                    elif scopes is None:  # no token, or a forged one
                        allowed = False
                    elif "{token_id}" in template and not target_own:
                        allowed = set(ALL_SCOPES) <= set(scopes or ())
                    else:
                        allowed = not needs or bool(set(needs) & set(scopes or ()))
                    refused = answer.status in (401, 403)
                    changed = (
                        hub.registry.get(record.access_key) is None
                        or control.tokens.check(victim_token)[0] is None
                    )
                    if not allowed and (not refused or changed):
                        escalations.append(f"{method} {template} scopes={scopes}: {answer.status}")
                    elif allowed and refused:
                        escalations.append(f"{method} {template} scopes={scopes}: refused")
    chaos_figure(f"{sent} route x scope-set requests, {len(escalations)} wrong answers")
    assert escalations == [], escalations[:10]
