"""The FastAPI example under real uvicorn (two workers) against a local hub, over HTTP.

Covers the issue's "Done when": an ask, a conversation across two requests, an SSE stream
whose items arrive before the request completes, each error mapping, and a SIGTERM with 64
asks in flight that ends within the close timeout, each ask answered by a typed 503.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest
import websockets

from tests.fastapi.conftest import Service, Waiters, identity_file, serve
from thalovant.hub import LocalHub
from thalovant.hub.responder.demo import DEMO_JOKES
from thalovant.testing import HubTLS

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(180)]

PROBLEM = "application/problem+json"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture(scope="module")
async def service(
    hub: LocalHub, hub_tls: HubTLS, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    folder = tmp_path_factory.mktemp("svc")
    path = await identity_file(hub.register_client("svc"), folder, hub_tls)
    async with serve(path, hub_tls, workers=2) as svc:
        yield svc


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert str(body["type"]).endswith("/" + code)
    assert body["trace_id"] == response.headers["x-request-id"]
    return dict(body)


async def test_ready_and_ask(service: Service) -> None:
    ready = await service.http.get("/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["clients"]["default"]["ok"] is True
    response = await service.http.post("/ask", json={"text": "tell me a joke"})
    assert response.status_code == 200, response.text
    assert response.json()["text"] in DEMO_JOKES


async def test_traceparent_reaches_the_hub(service: Service) -> None:
    response = await service.http.post(
        "/ask", json={"text": "echo trace"}, headers={"traceparent": TRACEPARENT}
    )
    assert response.status_code == 200, response.text
    assert response.json()["text"] == f"trace {TRACE_ID} request {TRACE_ID}"
    assert response.headers["x-request-id"] == TRACE_ID
    response = await service.http.post(
        "/ask", json={"text": "echo trace"}, headers={"X-Request-ID": "req-42"}
    )
    assert response.json()["text"] == "trace req-42 request req-42"


async def test_conversation_across_two_requests(service: Service) -> None:
    async with httpx.AsyncClient(base_url=service.url, timeout=30.0) as browser:
        first = await browser.post("/conversation", json={"text": "my favourite colour is teal"})
        assert first.status_code == 200, first.text
        session = first.json()["session_id"]
        second = await browser.post("/conversation", json={"text": "what is my favourite colour"})
        assert second.json()["session_id"] == session
        assert "teal" in second.json()["text"]
    async with httpx.AsyncClient(base_url=service.url, timeout=30.0) as stranger:
        other = await stranger.post("/conversation", json={"text": "what is my favourite colour"})
        assert "teal" not in other.json()["text"]


async def test_sse_items_arrive_before_the_reply(service: Service) -> None:
    seen: list[tuple[str, float, dict[str, object]]] = []
    event = ""
    async with service.http.stream("GET", "/stream", params={"text": "tell me a story"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        async for line in r.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                seen.append((event, time.monotonic(), json.loads(line.split(":", 1)[1])))
    names = [name for name, _, _ in seen]
    assert names == ["speak", "speak", "speak", "reply"], seen
    first, last = seen[0][1], seen[-1][1]
    assert last - first >= 0.08  # two 50 ms pauses of the story skill: not all at the end
    assert seen[1][1] - first >= 0.03


async def test_websocket_streams_each_speak(service: Service) -> None:
    url = service.url.replace("http://", "ws://") + "/ws"
    frames: list[tuple[str, float]] = []
    with anyio.fail_after(30):
        async with websockets.connect(url, additional_headers={"X-Request-ID": "ws-1"}) as ws:
            await ws.send("tell me a story")
            while not frames or frames[-1][0] not in ("reply", "error"):
                frames.append((json.loads(await ws.recv())["event"], time.monotonic()))
    assert [name for name, _ in frames] == ["speak", "speak", "speak", "reply"]
    assert frames[-1][1] - frames[0][1] >= 0.08


async def test_timeout_is_504(service: Service, waiters: Waiters) -> None:
    response = await service.http.post("/ask", json={"text": "wait forever", "timeout": 0.5})
    assert_problem(response, 504, "timeout")
    waiters.release_all()


async def test_unanswered_is_422(service: Service) -> None:
    response = await service.http.post("/ask", json={"text": "xyzzy plugh frobnicate"})
    assert_problem(response, 422, "unanswered")


async def test_policy_denied_is_403_with_fields(
    hub: LocalHub, hub_tls: HubTLS, tmp_path: Path
) -> None:
    identity = hub.register_client("denied", allowed_types=["speak"])
    path = await identity_file(identity, tmp_path, hub_tls)
    async with serve(path, hub_tls, workers=1) as svc:
        response = await svc.http.post("/ask", json={"text": "tell me a joke"})
        streamed = await svc.http.get("/stream", params={"text": "tell me a joke"})
    assert streamed.status_code == 200  # the status is sent before the hub answers
    assert "event: error" in streamed.text
    assert "policy_denied" in streamed.text
    body = assert_problem(response, 403, "policy_denied")
    assert body["denied_type"] == "recognizer_loop:utterance"
    assert body["allowed"] == ["speak"]
    assert identity.access_key not in response.text
    assert identity.password not in response.text


async def test_hub_down_is_503_with_retry_after(hub_tls: HubTLS, tmp_path: Path) -> None:
    async with LocalHub(tmp_path / "hub", ssl_context=hub_tls.server_context) as small:
        identity = small.register_client("down")
        path = await identity_file(identity, tmp_path / "svc", hub_tls)
        async with serve(path, hub_tls, workers=1) as svc:
            assert (await svc.http.post("/ask", json={"text": "hello"})).status_code == 200
            await small.aclose()
            response = await svc.http.post("/ask", json={"text": "hello"})
            assert_problem(response, 503, "hub_unavailable")
            assert response.headers["retry-after"] == "5"
            ready = await svc.http.get("/health/ready")
            assert ready.status_code == 503
            assert "127.0.0.1" not in ready.text


async def test_sigterm_with_64_asks_in_flight(
    hub: LocalHub, hub_tls: HubTLS, tmp_path: Path, waiters: Waiters
) -> None:
    close_timeout = 3.0
    path = await identity_file(hub.register_client("drain"), tmp_path, hub_tls)
    waiters.expect(64)
    results: list[httpx.Response] = []
    async with serve(path, hub_tls, workers=2, env={"THALOVANT_CLOSE_TIMEOUT": "3"}) as svc:
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=svc.url, timeout=60.0, limits=limits) as http:

            async def one(n: int) -> None:  # one session each: a hub session runs serially
                body = {"text": "wait forever", "timeout": 50}
                cookie = {"Cookie": f"thalovant_session=drain-{n}"}
                results.append(await http.post("/conversation", json=body, headers=cookie))

            async with anyio.create_task_group() as tg:
                for n in range(64):
                    tg.start_soon(one, n)
                with anyio.fail_after(30):
                    await waiters.reached.wait()  # all 64 reached the hub's skill
                started = time.monotonic()
                svc.process.send_signal(signal.SIGTERM)
                with anyio.fail_after(close_timeout + 10):
                    await svc.process.wait()
                elapsed = time.monotonic() - started
    print(f"SIGTERM with 64 asks in flight: exited in {elapsed:.2f} s")
    assert elapsed < close_timeout + 5, elapsed
    assert len(results) == 64
    for response in results:
        assert_problem(response, 503, "hub_unavailable")
