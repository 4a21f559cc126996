"""A canned control plane on a real loopback socket, and a fake clock.

``FakeAPI`` answers every request from a per-route queue of canned responses (the last one
repeats) and records what it received, so tests assert methods, paths, headers, queries and
bodies of real HTTP requests. ``FakeTime`` replaces ``sleep``/``clock`` so pollers and the
device login never wait.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.lowlevel
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from thalovant.control.client import AsyncThalovantControlPlane

TOKEN = "tvpat_test_token_0123456789abcdef"


@dataclass
class Canned:
    """One canned answer: status, JSON body (or raw bytes) and headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None

    def response(self) -> web.Response:
        if self.raw is not None:
            data = self.raw
        elif self.body is None:
            data = b""
        else:
            data = json.dumps(self.body).encode()
        headers = dict(self.headers)
        if self.raw is None and self.body is not None:
            headers.setdefault("Content-Type", "application/json")
        return web.Response(status=self.status, body=data, headers=headers)


@dataclass
class Recorded:
    """What the server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    raw_path: str = ""

    @property
    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[web.Request], Canned]


class FakeAPI:
    """Route table ``(METHOD, path) -> [Canned | handler, ...]`` plus a request log."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Canned | Handler]] = {}
        self.requests: list[Recorded] = []
        self.url = ""

    def on(self, method: str, path: str, *answers: Canned | Handler) -> None:
        self.routes[(method.upper(), path)] = list(answers)

    def reply(self, method: str, path: str, body: Any = None, status: int = 200, **kw: Any) -> None:
        self.on(method, path, Canned(status, body, **kw))

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (path is None or r.path == path)
        ]

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                dict(request.query),
                {k.lower(): v for k, v in request.headers.items()},
                body,
                request.raw_path.partition("?")[0],
            )
        )
        queue = self.routes.get((request.method, request.path))
        if not queue:
            return web.json_response({"detail": "Not Found"}, status=404)
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        canned = answer if isinstance(answer, Canned) else answer(request)
        return canned.response()


class FakeTime:
    """A clock that moves only when something sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await anyio.lowlevel.checkpoint()


async def start_server(fake: FakeAPI, **kw: Any) -> TestServer:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(**kw)
    fake.url = str(server.make_url("")).rstrip("/")
    return server


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeAPI]:
    fake = FakeAPI()
    server = await start_server(fake)
    try:
        yield fake
    finally:
        await server.close()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def api(fake_api: FakeAPI, fake_time: FakeTime) -> AsyncIterator[AsyncThalovantControlPlane]:
    async with AsyncThalovantControlPlane(
        fake_api.url, access_token=TOKEN, sleep=fake_time.sleep, clock=fake_time.clock
    ) as client:
        client.retry_attempts = 1  # one request per call: these tests count them
        yield client


@pytest.fixture
async def anon(fake_api: FakeAPI, fake_time: FakeTime) -> AsyncIterator[AsyncThalovantControlPlane]:
    async with AsyncThalovantControlPlane(
        fake_api.url, sleep=fake_time.sleep, clock=fake_time.clock
    ) as client:
        client.retry_attempts = 1  # one request per call: these tests count them
        yield client
