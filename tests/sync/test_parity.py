"""The blocking classes mirror their async twins: same methods, same parameters and
defaults, same attributes. Only ``async def`` becomes ``def`` (and iterators, handlers and
subscriptions become their blocking forms)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from thalovant.client.client import AsyncThalovantClient
from thalovant.client.conversation import AsyncThalovantConversation
from thalovant.identity.model import ThalovantIdentity
from thalovant.sync.client import ThalovantClient, ThalovantConversation

# async name -> blocking name
RENAMED = {"__aenter__": "__enter__", "__aexit__": "__exit__"}
# async-only spellings with no blocking meaning
ASYNC_ONLY = {"aclose"}  # the async spelling of close()
# attributes that must not cross threads: the bus is used from its loop only
LOOP_ONLY = {"bus"}
# holding the link is loop-bound; HubSession and ThalovantAgent are its blocking forms
ASYNC_ONLY |= {"keep", "on_link_state", "keep_timing", "probe_link"}
LOOP_ONLY |= {"link_failure"}

PAIRS = [
    (AsyncThalovantClient, ThalovantClient),
    (AsyncThalovantConversation, ThalovantConversation),
]


def public_methods(cls: type) -> dict[str, Any]:
    found = {}
    for name, value in inspect.getmembers(cls):
        if name.startswith("_") and name not in ("__init__", *RENAMED, *RENAMED.values()):
            continue
        if isinstance(inspect.getattr_static(cls, name), property):
            continue
        if callable(value):
            found[RENAMED.get(name, name)] = value
    return found


def public_properties(cls: type) -> set[str]:
    return {
        name
        for name in dir(cls)
        if not name.startswith("_") and isinstance(inspect.getattr_static(cls, name), property)
    }


def parameters(fn: Any) -> list[tuple[str, Any, Any, str]]:
    # A blocking class takes its blocking peer where the async one takes its async peer.
    return [
        (p.name, p.kind, p.default, str(p.annotation).replace("AsyncThalovant", "Thalovant"))
        for p in inspect.signature(fn).parameters.values()
    ]


@pytest.mark.parametrize(("async_cls", "sync_cls"), PAIRS, ids=["client", "conversation"])
def test_same_methods(async_cls: type, sync_cls: type) -> None:
    expected = set(public_methods(async_cls)) - ASYNC_ONLY
    assert set(public_methods(sync_cls)) == expected


@pytest.mark.parametrize(("async_cls", "sync_cls"), PAIRS, ids=["client", "conversation"])
def test_same_parameters_and_defaults(async_cls: type, sync_cls: type) -> None:
    sync_methods = public_methods(sync_cls)
    for name, async_fn in public_methods(async_cls).items():
        if name in ASYNC_ONLY:
            continue
        sync_fn = sync_methods[name]
        assert parameters(sync_fn) == parameters(async_fn), name
        assert inspect.iscoroutinefunction(sync_fn) is False, name


def test_async_methods_become_plain_ones() -> None:
    for cls in (ThalovantClient, ThalovantConversation):
        for name, fn in public_methods(cls).items():
            assert not inspect.iscoroutinefunction(fn), name
            assert not inspect.isasyncgenfunction(fn), name


def test_same_attributes() -> None:
    identity = ThalovantIdentity.from_mapping(
        {
            "access_key": "ak-1",
            "password": "pw-1",
            "default_master": "wss://hub.example.com",
            "site_id": "site-1",
        }
    )
    aclient = AsyncThalovantClient(identity)
    client = ThalovantClient(identity)
    try:
        async_attrs = {n for n in vars(aclient) if not n.startswith("_")}
        async_attrs |= public_properties(AsyncThalovantClient)
        assert async_attrs - LOOP_ONLY <= public_properties(ThalovantClient)
        for name in async_attrs - LOOP_ONLY:
            assert getattr(client, name) == getattr(client._async, name), name
        # the conversation's attributes: client (set in __init__) and these
        assert {"session_id", "lang", "context"} <= public_properties(ThalovantConversation)
    finally:
        client.close()


def test_documented_flow_docstrings() -> None:
    for cls in (ThalovantClient, ThalovantConversation):
        assert cls.__doc__
        for name, fn in public_methods(cls).items():
            if name not in ("__init__", "__enter__", "__exit__"):
                assert fn.__doc__, f"{cls.__name__}.{name} has no docstring"
