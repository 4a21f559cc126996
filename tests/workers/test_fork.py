"""The async client's fork guard (docs/architecture.md, "Several workers": the preload rule).

A client bound to its loop in one process and used in a forked child raises
ThalovantRuntimeError at once, naming the parent process and the lifespan, never hangs.
"""

from __future__ import annotations

import asyncio
import os
import select
import threading
import warnings

import anyio
import pytest

from thalovant import AsyncThalovantClient, ThalovantRuntimeError
from thalovant.hub import LocalHub
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio

#: Seconds the child has to answer (it should take milliseconds).
CHILD_TIMEOUT = 20.0


def _probe_in_child(client: AsyncThalovantClient, out: int) -> None:
    """In the child: a fresh loop in a fresh thread (the parent's loop is not ours)."""
    result: list[str] = []

    async def probe() -> None:
        try:
            await client.ask("tell me a joke", timeout=5)
            result.append("answered")
        except ThalovantRuntimeError as exc:
            result.append(f"ThalovantRuntimeError: {exc}")
        except BaseException as exc:
            result.append(f"{type(exc).__name__}: {exc}")

    worker = threading.Thread(target=lambda: asyncio.run(probe()))
    worker.start()
    worker.join(CHILD_TIMEOUT / 2)
    os.write(out, (result[0] if result else "hang").encode())


def _fork_and_probe(client: AsyncThalovantClient) -> str:
    read, write = os.pipe()
    with warnings.catch_warnings():  # 3.12+ warns about fork with threads; the child is brief
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(read)
            _probe_in_child(client, write)
        finally:
            os._exit(0)
    os.close(write)
    try:
        ready, _, _ = select.select([read], [], [], CHILD_TIMEOUT)
        answer = os.read(read, 4096).decode() if ready else "no answer"
    finally:
        os.close(read)
        if not ready:
            os.kill(pid, 9)
        os.waitpid(pid, 0)
    return answer


async def test_forked_child_gets_a_typed_error(hub: LocalHub, hub_tls: HubTLS) -> None:
    client = AsyncThalovantClient(
        hub.register_client("forked"),
        ssl_context=hub_tls.client_context,
        noise_state_dir=hub.state_dir.parent / "noise",
    )
    async with client:
        await client.ask("tell me a joke", timeout=30)
        answer = await anyio.to_thread.run_sync(_fork_and_probe, client)
        assert answer.startswith("ThalovantRuntimeError: "), answer
        assert "opened in the parent process" in answer
        assert f"pid {os.getpid()}" in answer
        # the parent's client is untouched
        reply = await client.ask("tell me a joke", timeout=30)
        assert reply.text
