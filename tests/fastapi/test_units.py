"""thalovant.fastapi in-process: trace ids, the error mapping, the lifespan and health.

The app runs in this process on httpx's ASGI transport; the hub is a real local hub on
loopback (trustme TLS), so the client underneath is the real one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from thalovant.errors import (
    ThalovantClientKeyRejectedError,
    ThalovantConnectionError,
    ThalovantConnectTimeoutError,
    ThalovantError,
    ThalovantIdentityError,
    ThalovantPolicyDeniedError,
    ThalovantQuota,
    ThalovantRuntimeError,
    ThalovantTimeoutError,
    ThalovantUnansweredError,
)
from thalovant.fastapi import (
    ClientDep,
    ScopeDep,
    ThalovantService,
    health_router,
    install_exception_handlers,
    parse_traceparent,
    problem_for,
    thalovant_lifespan,
    trace_id_from_headers,
)
from thalovant.hub import LocalHub
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio


def test_traceparent() -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    assert parse_traceparent(f"00-{trace}-00f067aa0ba902b7-01") == trace
    assert parse_traceparent(f"00-{'0' * 32}-00f067aa0ba902b7-01") is None
    assert parse_traceparent(f"ff-{trace}-00f067aa0ba902b7-01") is None
    assert parse_traceparent("garbage") is None
    assert parse_traceparent(None) is None


def test_trace_id_from_headers() -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    both = {"traceparent": f"00-{trace}-00f067aa0ba902b7-01", "x-request-id": "r1"}
    assert trace_id_from_headers(both) == (trace, True)
    assert trace_id_from_headers({"x-request-id": "r1"}) == ("r1", True)
    fresh, given = trace_id_from_headers({"x-request-id": "bad id\n" + "x" * 300})
    assert not given
    assert len(fresh) == 32


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (ThalovantTimeoutError("zq-private"), 504, "timeout"),
        (ThalovantConnectTimeoutError("zq-private"), 503, "hub_unavailable"),
        (ThalovantConnectionError("zq-private wss://h/?key=secret"), 503, "hub_unavailable"),
        (ThalovantUnansweredError("zq-private", said="x"), 422, "unanswered"),
        (ThalovantPolicyDeniedError("zq-private", denied_type="speak"), 403, "policy_denied"),
        (
            ThalovantIdentityError("zq-private /home/me/_identity.json"),
            500,
            "service_misconfigured",
        ),
        (
            ThalovantClientKeyRejectedError("zq-private", key_folder="/keys"),
            500,
            "service_misconfigured",
        ),
        (ThalovantRuntimeError("zq-private"), 502, "hub_error"),
        (ThalovantError("zq-private"), 502, "hub_error"),
    ],
)
def test_problem_mapping(error: ThalovantError, status: int, code: str) -> None:
    problem, headers = problem_for(error)
    assert problem["status"] == status
    assert problem["type"].endswith("/" + code)
    assert "zq-private" not in str(problem)
    assert ("Retry-After" in headers) == (status == 503)


def test_policy_denial_fields() -> None:
    error = ThalovantPolicyDeniedError(
        "d",
        denied_type="recognizer_loop:utterance",
        code="intent_quota_exceeded",
        reason="over quota",
        allowed=["speak"],
        quota=ThalovantQuota(period="day", limit=10, used=10, reset_after=60),
    )
    problem, _ = problem_for(error)
    assert problem["denied_type"] == "recognizer_loop:utterance"
    assert problem["code"] == "intent_quota_exceeded"
    assert problem["reason"] == "over quota"
    assert problem["allowed"] == ["speak"]
    assert problem["quota"] == {"period": "day", "limit": 10, "used": 10, "reset_after": 60}


@asynccontextmanager
async def app_for(path: Path, tls: HubTLS, **kw: object) -> AsyncIterator[httpx.AsyncClient]:
    seen: list[str] = []

    @asynccontextmanager
    async def mine(app: FastAPI) -> AsyncIterator[None]:
        assert isinstance(app.state.thalovant, ThalovantService)  # the clients exist already
        seen.append("up")
        yield
        seen.append("down")

    lifespan = thalovant_lifespan(
        identities={"main": path},
        client_options={"ssl_context": tls.client_context},
        lifespan=mine,
        **kw,  # type: ignore[arg-type]
    )
    app = FastAPI(lifespan=lifespan)
    install_exception_handlers(app)
    app.include_router(health_router())

    @app.get("/ask")
    async def ask(text: str, client: ClientDep, scope: ScopeDep) -> dict[str, str]:
        reply = await client.ask(text, timeout=5, **scope.ask_kwargs())
        return {"text": reply.text}

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            assert seen == ["up"]
            yield http
    assert seen == ["up", "down"]


@pytest.mark.thalovant_hub(fallback=False)  # the unmatched ask must stay unanswered (422)
async def test_lifespan_health_and_handlers(
    local_hub: LocalHub, hub_tls: HubTLS, tmp_path: Path
) -> None:
    from thalovant.hub import write_identity_file

    path = write_identity_file(local_hub.register_client("unit"), tmp_path / "_identity.json")
    async with app_for(path, hub_tls) as http:
        assert (await http.get("/health/live")).json() == {"status": "alive"}
        ready = await http.get("/health/ready")
        assert ready.status_code == 200
        assert ready.json()["clients"]["main"]["ok"] is True
        assert (await http.get("/ask", params={"text": "hello"})).status_code == 200
        missed = await http.get("/ask", params={"text": "recalibrate the flux capacitor"})
        assert missed.status_code == 422
        assert missed.headers["content-type"] == "application/problem+json"


async def test_no_identity_is_an_identity_error(tmp_path: Path, hub_tls: HubTLS) -> None:
    with pytest.raises(ThalovantIdentityError):
        async with app_for(tmp_path / "missing.json", hub_tls):
            pass


def test_fastapi_is_imported_only_in_thalovant_fastapi() -> None:
    package = Path(__file__).resolve().parents[2] / "thalovant"
    for module in package.rglob("*.py"):
        if "fastapi" in module.relative_to(package).parts[:1]:
            continue
        text = module.read_text(encoding="utf-8")
        for name in ("fastapi", "starlette", "sse_starlette"):
            assert f"import {name}" not in text, module
            assert f"from {name}" not in text, module
