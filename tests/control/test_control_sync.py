"""``ThalovantControlPlane`` mirrors ``AsyncThalovantControlPlane`` and surfaces the same
typed errors (against a canned aiohttp server on a real socket)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import pytest

from thalovant.control.client import AsyncThalovantControlPlane
from thalovant.errors import (
    ThalovantAPIError,
    ThalovantAPIUnreachableError,
    ThalovantAuthError,
    ThalovantPlanError,
)
from thalovant.sync.control import ThalovantControlPlane

from .conftest import TOKEN, Canned, FakeAPI

T = TypeVar("T")
RENAMED = {"__aenter__": "__enter__", "__aexit__": "__exit__", "aclose": "close"}
SYNC_LACKS = {"session"}  # an aiohttp session belongs to the caller's loop, not ours


def methods(cls: type) -> dict[str, Any]:
    found = {}
    for name, value in inspect.getmembers(cls):
        if name.startswith("_") and name not in ("__init__", *RENAMED, *RENAMED.values()):
            continue
        if isinstance(inspect.getattr_static(cls, name), property) or not callable(value):
            continue
        found[RENAMED.get(name, name)] = value
    return found


def params(fn: Any) -> list[tuple[str, Any, Any, str]]:
    return [
        (p.name, p.kind, p.default, str(p.annotation))
        for p in inspect.signature(fn).parameters.values()
        if p.name not in SYNC_LACKS and p.name != "self"
    ]


def test_same_methods_parameters_and_properties() -> None:
    async_methods, sync_methods = (
        methods(AsyncThalovantControlPlane),
        methods(ThalovantControlPlane),
    )
    assert set(sync_methods) == set(async_methods)
    for name, fn in async_methods.items():
        assert params(sync_methods[name]) == params(fn), name
        assert not inspect.iscoroutinefunction(sync_methods[name]), name
        assert not inspect.isasyncgenfunction(sync_methods[name]), name
        if name not in ("__init__", "__enter__", "__exit__"):
            assert sync_methods[name].__doc__, name
    props = {
        n
        for n in dir(AsyncThalovantControlPlane)
        if not n.startswith("_")
        and isinstance(inspect.getattr_static(AsyncThalovantControlPlane, n), property)
    }
    for name in props:
        assert isinstance(inspect.getattr_static(ThalovantControlPlane, name), property), name


def test_lazy_export() -> None:
    import thalovant

    assert thalovant.ThalovantControlPlane is ThalovantControlPlane
    api = ThalovantControlPlane("https://api.example.com/v1/", access_token=TOKEN)
    assert api.api_url == "https://api.example.com"
    assert TOKEN not in repr(api)
    assert "ThalovantControlPlane(" in repr(api)
    api.access_token = "other-token-value"
    assert api.access_token == "other-token-value"
    assert api.token_id is None
    api.close()  # never started: nothing to stop


async def blocking(fn: Callable[[], T]) -> T:
    with anyio.fail_after(30):
        return await anyio.to_thread.run_sync(fn)


@pytest.mark.anyio
async def test_statuses_become_typed_errors(fake_api: FakeAPI) -> None:
    fake_api.reply("GET", "/v1/hubs", {"detail": "API access requires a paid plan"}, status=402)
    fake_api.reply(
        "GET",
        "/v1/clients",
        {"detail": "Too many requests", "code": "token_rate_limited"},
        status=429,
        headers={"Retry-After": "17"},
    )
    fake_api.reply("GET", "/v1/users/profile", {"detail": "upstream exploded"}, status=503)
    fake_api.on(
        "GET", "/v1/hubs/h1", Canned(302, None, headers={"Location": "https://evil.example/"})
    )
    fake_api.reply("GET", "/v1/clients/c1", {"detail": "Not authenticated"}, status=401)

    def run() -> list[ThalovantAPIError]:
        errors: list[ThalovantAPIError] = []
        with ThalovantControlPlane(fake_api.url, access_token=TOKEN) as api:
            calls: list[Callable[[], object]] = [
                api.list_hubs,
                api.list_clients,
                api.get_profile,
                lambda: api.get_hub("h1"),
                lambda: api.get_client("c1"),
            ]
            for call in calls:
                try:
                    call()
                except ThalovantAPIError as exc:
                    errors.append(exc)
        return errors

    plan, limited, broken, redirect, auth = await blocking(run)
    assert isinstance(plan, ThalovantPlanError)
    assert plan.status_code == 402
    assert "API access requires a paid plan" in str(plan)
    assert (limited.status_code, limited.code, limited.retry_after_seconds) == (
        429,
        "token_rate_limited",
        17.0,
    )
    assert (type(broken), broken.status_code) == (ThalovantAPIError, 503)
    assert redirect.status_code == 302
    assert "evil" not in str(redirect)
    assert len(fake_api.calls("GET", "/v1/hubs/h1")) == 1  # not followed
    assert isinstance(auth, ThalovantAuthError)
    for err in (plan, limited, broken, redirect, auth):
        assert TOKEN not in str(err)


@pytest.mark.anyio
async def test_iterators_and_unreachable(fake_api: FakeAPI) -> None:
    fake_api.on(
        "GET",
        "/v1/public/hubs",
        Canned(body={"data": [{"id": "a"}], "meta": {"next": "c2"}}),
        Canned(body={"data": [{"id": "b"}], "meta": {"next": None}}),
    )

    def run() -> list[str]:
        with ThalovantControlPlane(fake_api.url) as api:
            return [hub["id"] for hub in api.iter_public_hubs(limit=1)]

    assert await blocking(run) == ["a", "b"]

    def unreachable() -> None:
        with ThalovantControlPlane("http://127.0.0.1:9", timeout=2) as api:
            api.list_public_hubs()

    with pytest.raises(ThalovantAPIUnreachableError):
        await blocking(unreachable)
