"""Code written for the official SDK (0.9.7) runs unchanged on ours.

The listing of every official public name and signature is read at test time from
``../shared/spec/official-api.md`` (relative to the repository root). For every name: it
exists in ``thalovant``; every parameter of every function and method is accepted by the
same name and kind (positional ones in the same order), with the same default where the
listing shows a literal; what is async there is async here; constants have the same value;
classes keep their official bases, fields and properties.

An exemption names one member (``"Class.method"``, ``"function"``, ``"Class"``) or one
parameter of it (``"Class.method(param)"``) and says why. ``KEPT`` holds the differences
kept on purpose (the README's "Migrating from the official SDK" lists them). ``PENDING``
holds names other issues are building right now: delete an entry when its branch lands,
and this test then checks the name.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import thalovant
from tests.compat.checks import Problem, check_callable, check_class, same_default
from tests.compat.official_api import LISTING, Listing, load

# --------------------------------------------------------------------------- kept on purpose

_UA = (
    "the default user agent names this SDK and its own version, not 0.9.7; pass it "
    "explicitly to send another"
)
_BUFFER = (
    "defaults to the client's max_buffered_events option, which is 256 unless the client "
    "was built with another value"
)
_ACTION = (
    "the first argument is positional-only, so both official forms, send_action('/choose"
    '{"id":"42"}\') and send_action(payload=\'/choose{...}\'), and the documented '
    "send_action('/choose', payload={'id': '42'}) work"
)

KEPT: dict[str, str] = {
    "AsyncThalovantClient.__init__(useragent)": _UA,
    "ThalovantClient.__init__(useragent)": _UA,
    "AsyncThalovantControlPlane.__init__(user_agent)": _UA,
    "ThalovantControlPlane.__init__(user_agent)": _UA,
    "AsyncThalovantClient.listen(max_buffered_events)": _BUFFER,
    "ThalovantClient.listen(max_buffered_events)": _BUFFER,
    "AsyncThalovantClient.send_action(payload)": _ACTION,
    "ThalovantClient.send_action(payload)": _ACTION,
    "AsyncThalovantConversation.send_action(payload)": _ACTION,
    "ThalovantConversation.send_action(payload)": _ACTION,
    "HubDataPlaneEndpoints.as_dict(redact_credentials)": (
        "as_dict() redacts URL credentials unless asked not to (redact_credentials=False or "
        "include_secrets=True), so a logged dict never carries them"
    ),
    "ThalovantDisplayItem.__init__(text)": (
        "text is always a str ('' when an item has none), so item.text needs no None check"
    ),
    "ThalovantDisplayItem.__init__(data)": (
        "data is always a dict ({} when an item has none), so item.data needs no None check"
    ),
    "ThalovantReply.display_items": (
        "a property whose value is also callable: reply.display_items(max_text_chars=80) "
        "works as in the official SDK, reply.display_items as in the docs"
    ),
    "ThalovantSubscription.__init__": (
        "subscriptions are made by on(), never by callers; ThalovantSubscription is the "
        "protocol every subscription satisfies, so isinstance() checks keep working"
    ),
}

# ----------------------------------------------- pending: being built by other issues now

_P15 = "pending #15 (agents and hub sessions)"
_P17_SIGNATURE = "pending #17 (control plane: its methods' signatures are reworked there)"

PENDING: dict[str, str] = {}

EXEMPT = {**KEPT, **PENDING}

# Names the listing records as functions that are type aliases here (not callable).
TYPE_ALIASES = {"EventHandler", "EventPredicate", "HubProtocol", "OperationStatus"}

LISTED: Listing = load()


def _exempt(member: str, problems: list[Problem]) -> list[str]:
    left = []
    for param, text in problems:
        if member in EXEMPT or (param and f"{member}({param})" in EXEMPT):
            continue
        left.append(f"{member}{f'({param})' if param else ''} {text}")
    return left


def _public() -> dict[str, Any]:
    return {n: getattr(thalovant, n) for n in LISTED.names if hasattr(thalovant, n)}


def test_the_listing_is_there_and_complete() -> None:
    assert LISTING.is_file(), f"{LISTING} is missing (CI checks out ../shared/spec)"
    assert len(LISTED.classes) > 60
    assert len(LISTED.functions) > 25
    assert "ThalovantClient" in LISTED.classes
    assert "ask" in LISTED.classes["ThalovantClient"].methods


@pytest.mark.parametrize("name", LISTED.names)
def test_name_exists(name: str) -> None:
    if name in EXEMPT:
        return  # checked by test_every_exemption_is_still_needed
    assert hasattr(thalovant, name), f"thalovant.{name} is missing"
    assert name in thalovant.__all__, f"thalovant.{name} is not in __all__"


@pytest.mark.parametrize("name", sorted(LISTED.classes))
def test_class_matches(name: str) -> None:
    if name in EXEMPT:
        return
    problems = check_class(getattr(thalovant, name), LISTED.classes[name], _public())
    left = [
        text
        for member, found in problems.items()
        for text in _exempt(f"{name}.{member}" if member else name, found)
    ]
    assert not left, "\n".join(left)


@pytest.mark.parametrize("name", sorted(LISTED.functions))
def test_function_matches(name: str) -> None:
    if name in EXEMPT or name in TYPE_ALIASES:
        return
    ours = getattr(thalovant, name)
    left = _exempt(name, check_callable(ours, LISTED.functions[name], bound=False))
    assert not left, "\n".join(left)


@pytest.mark.parametrize("name", sorted(LISTED.constants))
def test_constant_matches(name: str) -> None:
    assert same_default(getattr(thalovant, name), LISTED.constants[name]), name


def test_every_exemption_is_still_needed() -> None:
    """An exemption that no longer hides a problem must go (so PENDING shrinks on merge)."""
    public = _public()
    hidden: set[str] = set()
    for name in LISTED.names:
        if name not in public:
            hidden.add(name)
    for name, official in LISTED.classes.items():
        if name not in public:
            continue
        for member, problems in check_class(public[name], official, public).items():
            key = f"{name}.{member}" if member else name
            hidden.update((key, name) if problems else ())  # a class entry hides its members
            hidden.update(f"{key}({param})" for param, _ in problems if param)
    for name, fn in LISTED.functions.items():
        if name in public and name not in TYPE_ALIASES:
            problems = check_callable(public[name], fn, bound=False)
            hidden.update(name for _ in problems)
            hidden.update(f"{name}({param})" for param, _ in problems if param)
    stale = sorted(set(EXEMPT) - hidden)
    assert not stale, f"exemptions that hide nothing any more (delete them): {stale}"


def test_every_exemption_names_an_official_name() -> None:
    for key in EXEMPT:
        top = key.split(".", 1)[0].split("(", 1)[0]
        assert top in LISTED.names, key
        assert EXEMPT[key].strip(), key


def test_async_names_are_async_and_sync_ones_are_not() -> None:
    client = LISTED.classes["AsyncThalovantClient"]
    assert client.methods["on_hive"].is_async
    assert client.methods["connection_info"].is_async
    assert inspect.iscoroutinefunction(thalovant.AsyncThalovantClient.on_hive)
    assert inspect.iscoroutinefunction(thalovant.AsyncThalovantClient.connection_info)
    assert not inspect.iscoroutinefunction(thalovant.ThalovantClient.on_hive)
