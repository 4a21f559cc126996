"""Spans, metrics and the trace id of asks, dials and control-plane calls, against a real
local hub over loopback TLS, recorded by the OpenTelemetry SDK's in-memory exporter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from opentelemetry import trace

from tests.telemetry.conftest import Otel
from thalovant.client.client import AsyncThalovantClient
from thalovant.control.client import AsyncThalovantControlPlane
from thalovant.errors import ThalovantAPIError, ThalovantTimeoutError
from thalovant.hub import LocalHub
from thalovant.hub.control.account import LocalAccount
from thalovant.hub.control_plane import LocalControlPlane
from thalovant.hub.responder.skills import SkillContext
from thalovant.link import link
from thalovant.link.backoff import Backoff
from thalovant.telemetry import current_trace_id, tracing_active
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def short_refusal_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(link, "REFUSAL_SETTLE_SECONDS", 0.15)


class TraceSkill:
    """A hub skill that records the ``trace_id`` each request context carried."""

    def __init__(self, hub: LocalHub) -> None:
        self.seen: list[Any] = []
        self.arrived = anyio.Event()

        @hub.skill("trace-echo", match=r"\btrace me\b", priority=10)
        async def echo(ctx: SkillContext) -> None:
            self.seen.append(ctx.request_context.get("trace_id"))
            await ctx.speak("traced")

        @hub.skill("slow", match=r"\bslowly\b", priority=10)
        async def slow(ctx: SkillContext) -> None:
            self.arrived.set()
            await anyio.sleep(5)


@pytest.fixture
async def traced(
    local_hub: LocalHub, hub_tls: HubTLS, tmp_path: Path
) -> AsyncIterator[tuple[AsyncThalovantClient, TraceSkill]]:
    skill = TraceSkill(local_hub)
    client = AsyncThalovantClient(
        local_hub.register_client("otel"),
        ssl_context=hub_tls.client_context,
        noise_state_dir=tmp_path / "noise",
    )
    client.reconnect_backoff = Backoff(initial=0.02, floor=0.01)
    with anyio.fail_after(20):
        await client.connect()
    yield client, skill
    await client.close(timeout=5)


async def test_span_tree_of_one_ask_and_trace_id_at_the_skill(
    otel: Otel, local_hub: LocalHub, hub_tls: HubTLS, tmp_path: Path
) -> None:
    skill = TraceSkill(local_hub)
    client = AsyncThalovantClient(
        local_hub.register_client("otel"),
        ssl_context=hub_tls.client_context,
        noise_state_dir=tmp_path / "noise",
    )
    tracer = trace.get_tracer("the-service")
    try:
        with anyio.fail_after(20):
            await client.connect()
            with tracer.start_as_current_span("POST /ask") as service:
                reply = await client.ask("please trace me", session_id="kiosk-7")
    finally:
        await client.close(timeout=5)
    service_ctx = service.get_span_context()
    trace_hex = format(service_ctx.trace_id, "032x")

    # The hub's skill saw the service's trace id in the request context.
    assert skill.seen == [trace_hex]
    assert reply.text == "traced"

    (ask,) = otel.finished("thalovant.ask")
    assert ask.parent is not None
    assert ask.parent.span_id == service_ctx.span_id
    assert ask.context.trace_id == service_ctx.trace_id
    assert ask.kind is trace.SpanKind.CLIENT
    assert dict(ask.attributes or {}) == {
        "thalovant.protocol": "wss",
        "thalovant.pattern": "XXpsk2",
        "thalovant.request_id": reply.request_id,
        "thalovant.session_id": "kiosk-7",
        "thalovant.outcome": "ok",
    }
    assert ask.status.is_ok

    (connect,) = otel.finished("thalovant.connect")
    (handshake,) = otel.finished("thalovant.handshake")
    assert handshake.parent is not None
    assert handshake.parent.span_id == connect.context.span_id
    assert handshake.context.trace_id == connect.context.trace_id
    assert connect.start_time <= handshake.start_time <= handshake.end_time <= connect.end_time
    attrs = dict(connect.attributes or {})
    assert attrs.pop("thalovant.session_id").startswith("thalovant-python-")
    assert attrs == {
        "thalovant.protocol": "wss",
        "thalovant.pattern": "XXpsk2",
        "thalovant.outcome": "ok",
    }
    assert dict(handshake.attributes or {})["thalovant.outcome"] == "ok"

    (duration,) = otel.points("thalovant.ask.duration")
    assert duration.count == 1  # type: ignore[attr-defined]
    assert dict(duration.attributes) == {  # type: ignore[attr-defined]
        "thalovant.protocol": "wss",
        "thalovant.outcome": "ok",
    }
    (in_flight,) = otel.points("thalovant.ask.in_flight")
    assert in_flight.value == 0  # type: ignore[attr-defined]


async def test_the_callers_trace_id_wins_and_a_root_ask_starts_its_own_trace(
    otel: Otel, traced: tuple[AsyncThalovantClient, TraceSkill]
) -> None:
    client, skill = traced
    with anyio.fail_after(10):
        await client.ask("trace me", context={"trace_id": "req-42"})
        await client.ask("trace me")
    first, second = otel.finished("thalovant.ask")
    assert skill.seen[0] == "req-42"
    assert second.parent is None
    assert skill.seen[1] == format(second.context.trace_id, "032x")
    assert dict(second.attributes or {})["thalovant.pattern"] == "XXpsk2"
    assert first.parent is None


async def test_a_timed_out_ask_has_its_outcome_and_error_type(
    otel: Otel, traced: tuple[AsyncThalovantClient, TraceSkill]
) -> None:
    client, _ = traced
    with anyio.fail_after(10), pytest.raises(ThalovantTimeoutError):
        await client.ask("answer slowly", timeout=0.5, request_id="rid-slow")
    (ask,) = otel.finished("thalovant.ask")
    attrs = dict(ask.attributes or {})
    assert attrs["thalovant.outcome"] == "timeout"
    assert attrs["thalovant.request_id"] == "rid-slow"
    assert attrs["error.type"] == "ThalovantTimeoutError"
    assert not ask.status.is_ok
    assert ask.status.description == "ThalovantTimeoutError"  # no message text
    (duration,) = otel.points("thalovant.ask.duration")
    assert dict(duration.attributes)["thalovant.outcome"] == "timeout"  # type: ignore[attr-defined]


async def test_a_redial_is_counted_and_traced(
    otel: Otel, local_hub: LocalHub, traced: tuple[AsyncThalovantClient, TraceSkill]
) -> None:
    client, _ = traced
    await local_hub.drop_connections()
    with anyio.fail_after(15):
        await local_hub.wait_for_connections(0)
        await local_hub.wait_for_connections(1)  # the client redialled
        reply = await client.ask("trace me")
    assert reply.text == "traced"
    (redials,) = otel.points("thalovant.link.redials")
    assert redials.value >= 1  # type: ignore[attr-defined]
    assert dict(redials.attributes) == {"thalovant.protocol": "wss"}  # type: ignore[attr-defined]
    connects = otel.finished("thalovant.connect")
    assert connects, "the redial is a connect span of its own"
    assert dict(connects[-1].attributes or {})["thalovant.pattern"] == "KKpsk0"


async def test_control_plane_calls_are_spans(
    otel: Otel, local_hub: LocalHub, hub_tls: HubTLS
) -> None:
    account = LocalAccount.create("ada@example.test", "correct horse battery staple")
    async with (
        LocalControlPlane(local_hub, account, ssl_context=hub_tls.server_context) as control,
        AsyncThalovantControlPlane(control.api_url, ssl_context=hub_tls.client_context) as api,
    ):
        with anyio.fail_after(20):
            await api.list_public_hubs(limit=12)
            with pytest.raises(ThalovantAPIError):
                await api.login("ada@example.test", "wrong password")
    ok, failed = otel.finished("thalovant.control GET")[0], otel.finished("thalovant.control POST")
    assert dict(ok.attributes or {}) == {
        "http.request.method": "GET",
        "url.template": "/v1/public/hubs",
        "thalovant.outcome": "ok",
    }
    attrs = dict(failed[-1].attributes or {})
    assert attrs["thalovant.outcome"] == "error"
    assert attrs["http.response.status_code"] in (400, 401, 403)
    for span in otel.spans.get_finished_spans():  # no secret reaches a span
        assert "correct horse" not in str(span.to_json())
        assert "wrong password" not in str(span.to_json())


async def test_without_a_provider_nothing_is_recorded_and_no_trace_id_is_added(
    traced: tuple[AsyncThalovantClient, TraceSkill],
) -> None:
    client, skill = traced
    assert not tracing_active()
    assert current_trace_id() is None
    with anyio.fail_after(10):
        await client.ask("trace me")
    assert skill.seen == [None]


def test_the_fastapi_scope_takes_the_current_trace_id(otel: Otel) -> None:
    from thalovant.fastapi.tracing import trace_id_from_headers

    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with trace.get_tracer("svc").start_as_current_span("GET /") as span:
        current = format(span.get_span_context().trace_id, "032x")
        assert trace_id_from_headers({}) == (current, False)
        assert trace_id_from_headers({"x-request-id": "abc"}) == ("abc", True)
        assert trace_id_from_headers({"traceparent": parent})[0] == parent[3:35]
    assert trace_id_from_headers({})[0] != current


async def test_the_blocking_client_keeps_the_callers_span(
    otel: Otel, local_hub: LocalHub, hub_tls: HubTLS, tmp_path: Path
) -> None:
    from thalovant.sync.client import ThalovantClient

    skill = TraceSkill(local_hub)
    identity = local_hub.register_client("otel-sync")

    def in_a_thread() -> tuple[int, int]:
        with (
            ThalovantClient(
                identity, ssl_context=hub_tls.client_context, noise_state_dir=tmp_path / "n"
            ) as client,
            trace.get_tracer("svc").start_as_current_span("job") as job,
        ):
            client.ask("trace me", timeout=10)
        ctx = job.get_span_context()
        return ctx.trace_id, ctx.span_id

    with anyio.fail_after(30):
        trace_id, span_id = await anyio.to_thread.run_sync(in_a_thread)
    (ask,) = otel.finished("thalovant.ask")
    assert ask.parent is not None
    assert ask.parent.span_id == span_id
    assert skill.seen == [format(trace_id, "032x")]


async def test_events_a_slow_handler_loses_are_counted(
    otel: Otel, local_hub: LocalHub, hub_tls: HubTLS, tmp_path: Path
) -> None:
    from thalovant.events import EVENT_SPEAK

    gate = anyio.Event()

    async def stuck(event: object) -> None:
        await gate.wait()

    client = AsyncThalovantClient(
        local_hub.register_client("otel-drops"),
        ssl_context=hub_tls.client_context,
        noise_state_dir=tmp_path / "noise",
        max_buffered_events=1,
    )
    try:
        with anyio.fail_after(20):
            async with client:
                subscription = client.on(EVENT_SPEAK, stuck)
                await client.ask("tell me a story")  # three speak events, 50 ms apart
                gate.set()
    finally:
        await client.close(timeout=5)
    assert subscription.dropped >= 1
    (dropped,) = otel.points("thalovant.events.dropped")
    assert dropped.value == subscription.dropped  # type: ignore[attr-defined]
    assert dict(dropped.attributes) == {"thalovant.subscription": EVENT_SPEAK}  # type: ignore[attr-defined]


def test_control_paths_keep_no_ids() -> None:
    from thalovant.telemetry.otel import url_template

    assert url_template("/v1/clients/c_81f2a9") == "/v1/clients/{id}"
    assert url_template("/v1/auth/api-tokens/tok_1?x=1") == "/v1/auth/api-tokens/{id}"
    assert url_template("https://api.example/v1/operations/op-9Z") == "/v1/operations/{id}"
    assert url_template("/v1/public/hubs") == "/v1/public/hubs"
