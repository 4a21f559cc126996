"""Fixtures: a local hub (trustme TLS) and the example app under real uvicorn subprocesses.

The hub runs on this test's event loop; each service is ``python -m uvicorn
examples.fastapi_app:app --workers N`` on a free loopback port, configured the documented
way (``THALOVANT_IDENTITY_FILE``, ``SSL_CERT_FILE``). Readiness is awaited by polling
``/health/live`` within a bound; the Noise state beside the identity file is warmed once
in-process (first contact: XXpsk2, Argon2id), so both workers share one pinned client key.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import pytest
from anyio.abc import Process

from thalovant.carriers.tls import CA_BUNDLE_ENV
from thalovant.client.client import AsyncThalovantClient
from thalovant.hub import LocalHub, write_identity_file
from thalovant.hub.responder.demo import demo_skills
from thalovant.hub.responder.skills import HubSkill, SkillContext
from thalovant.identity.model import ThalovantIdentity
from thalovant.testing import HubTLS

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 40.0
"""Seconds for uvicorn and both workers to come up (2 shared cores, cold imports)."""


class Waiters:
    """The ``wait forever`` skill's state: how many asks are parked, and their release."""

    def __init__(self) -> None:
        self.parked = 0
        self.target = 0
        self.reached = anyio.Event()
        self.release = anyio.Event()

    def expect(self, count: int) -> None:
        self.parked, self.target, self.reached = 0, count, anyio.Event()

    async def handler(self, ctx: SkillContext) -> None:
        self.parked += 1
        if self.target and self.parked >= self.target:
            self.reached.set()
        release = self.release
        with anyio.move_on_after(60):
            await release.wait()

    def release_all(self) -> None:
        """Let every parked ask finish (a hub session runs its requests one at a time)."""
        self.release.set()
        self.release = anyio.Event()


async def _echo_trace(ctx: SkillContext) -> None:
    await ctx.speak(f"trace {ctx.request_context.get('trace_id')} request {ctx.request_id}")


def hub_skills(waiters: Waiters) -> list[HubSkill]:
    """The demo skills plus ``wait forever`` and ``echo trace``."""
    return [
        HubSkill("test.wait", waiters.handler, match=r"wait forever", priority=100),
        HubSkill("test.trace", _echo_trace, match=r"echo trace", priority=100),
        *demo_skills(),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def identity_file(
    identity: ThalovantIdentity, folder: Path, tls: HubTLS, *, warm: bool = True
) -> Path:
    """Write the identity file and (optionally) make first contact from its key folder."""
    path = write_identity_file(identity, folder / "_identity.json")
    if warm:
        client = AsyncThalovantClient.from_identity_file(path, ssl_context=tls.client_context)
        with anyio.fail_after(30):
            async with client:
                pass
    return path


@dataclass
class Service:
    url: str
    process: Process
    http: httpx.AsyncClient


def service_env(identity: Path, tls: HubTLS, extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THALOVANT_")}
    for name in CA_BUNDLE_ENV:
        env[name] = str(tls.ca_file)
    env.update(THALOVANT_IDENTITY_FILE=str(identity), PYTHONUNBUFFERED="1", **extra)
    return env


@asynccontextmanager
async def serve(
    identity: Path, tls: HubTLS, *, workers: int = 2, env: Mapping[str, str] | None = None
) -> AsyncIterator[Service]:
    """Run the example under uvicorn until the block ends (SIGTERM, bounded wait, kill)."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "examples.fastapi_app:app", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    process = await anyio.open_process(
        cmd, cwd=ROOT, env=service_env(identity, tls, env or {}), stdout=None, stderr=None
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30.0) as http:
            with anyio.fail_after(START_TIMEOUT):
                while True:
                    try:
                        if (await http.get("/health/live")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert process.returncode is None, "uvicorn exited during start-up"
                    await anyio.sleep(0.1)  # polling a readiness endpoint within a bound
            yield Service(url, process, http)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            with anyio.move_on_after(15):
                await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()
        await process.aclose()


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def waiters() -> Waiters:
    return Waiters()


@pytest.fixture(scope="module")
async def hub(
    anyio_backend: str, hub_tls: HubTLS, tmp_path_factory: pytest.TempPathFactory, waiters: Waiters
) -> AsyncIterator[LocalHub]:
    root = tmp_path_factory.mktemp("fastapi-hub")
    # No fallback skill: the error-mapping tests need unmatched utterances to stay unanswered.
    skills = hub_skills(waiters)
    async with LocalHub(
        root, ssl_context=hub_tls.server_context, skills=skills, fallback=False
    ) as h:
        h.services.max_in_flight = 64  # the drain test parks 64 asks over two connections
        yield h
        waiters.release_all()
