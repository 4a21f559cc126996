"""A small FastAPI service for the several-workers tests: one client per worker process.

Run by ``uvicorn --app-dir tests/workers workers_app:app`` or gunicorn with uvicorn workers.
The lifespan opens one :class:`~thalovant.AsyncThalovantClient` from the identity file named by
``WORKERS_IDENTITY`` (its Noise key folder beside it, shared by every worker; docs/protocol.md
§1.7), asks once, and writes ``<pid>.json`` to ``WORKERS_MARKERS`` (the handshake pattern
and the reply, or the error), so a test sees every worker without guessing which one answers
an HTTP request. ``WORKERS_PRELOAD=1`` opens the client at import time instead, as a
``gunicorn --preload`` user might: the fork guard must then answer at once in each worker.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from thalovant import AsyncThalovantClient, ThalovantError

_PRELOADED: AsyncThalovantClient | None = None


def _open() -> AsyncThalovantClient:
    return AsyncThalovantClient.from_identity_file(
        os.environ["WORKERS_IDENTITY"], protocol=os.environ.get("WORKERS_PROTOCOL", "wss")
    )


if os.environ.get("WORKERS_PRELOAD") == "1":  # the mistake the preload rule is about
    _PRELOADED = _open()
    asyncio.run(_PRELOADED.connect(timeout=30))


def _mark(record: dict[str, Any]) -> None:
    folder = Path(os.environ["WORKERS_MARKERS"])
    tmp = folder / f".{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"pid": os.getpid(), **record}), encoding="utf-8")
    tmp.replace(folder / f"{os.getpid()}.json")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    client = _PRELOADED or _open()
    try:
        info = await client.connect_with_info(timeout=30)
        reply = await client.ask("tell me a joke", timeout=30)
    except ThalovantError as exc:
        _mark({"error": type(exc).__name__, "message": str(exc)})
        raise
    _mark({"pattern": info.pattern, "text": reply.text})
    app.state.client = client
    try:
        yield
    finally:
        await client.close(timeout=5)


app = FastAPI(lifespan=lifespan)


@app.get("/ask")
async def ask(text: str = "tell me a joke") -> dict[str, Any]:
    client: AsyncThalovantClient = app.state.client
    reply = await client.ask(text, timeout=30)
    return {"pid": os.getpid(), "text": reply.text}


@app.get("/noask")
async def noask(text: str = "tell me a joke") -> dict[str, Any]:
    return {"pid": os.getpid(), "text": text}
