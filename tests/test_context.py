"""build_client_context, build_location, request_context."""

from __future__ import annotations

import pytest

from thalovant.client.context import build_client_context, build_location, request_context
from thalovant.errors import ThalovantRuntimeError


def test_client_context_documented_keys() -> None:
    ctx = build_client_context(
        user_id="u-1",
        user_name="Ada",
        source="kiosk",
        platform="web",
        locale="en-GB",
        trace_id="t-9",
        channel="chat",
        device_id="dev-3",
        session_id="s-1",
        roles=["admin", "ops"],
        auth_provider="oidc",
        auth_claims={"sub": "u-1"},
        metadata={"tenant": "acme"},
    )
    assert ctx == {
        "user_id": "u-1",
        "user_name": "Ada",
        "source": "kiosk",
        "platform": "web",
        "locale": "en-GB",
        "trace_id": "t-9",
        "channel": "chat",
        "device_id": "dev-3",
        "roles": ["admin", "ops"],
        "auth": {"provider": "oidc", "claims": {"sub": "u-1"}},
        "metadata": {"tenant": "acme"},
        "session": {"session_id": "s-1"},
    }


def test_client_context_extends_base_without_mutating_it() -> None:
    base = {"session": {"lang": "de-de"}, "metadata": {"a": 1}, "custom": True}
    ctx = build_client_context(session_id="s", metadata={"b": 2}, context=base)
    assert ctx["session"] == {"lang": "de-de", "session_id": "s"}
    assert ctx["metadata"] == {"a": 1, "b": 2}
    assert ctx["custom"] is True
    assert base == {"session": {"lang": "de-de"}, "metadata": {"a": 1}, "custom": True}


def test_none_arguments_are_left_out() -> None:
    assert build_client_context() == {}
    assert build_client_context(user_id="x") == {"user_id": "x"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"metadata": {"api_token": "abc"}},
        {"metadata": {"nested": {"password": "p"}}},
        {"context": {"access_key": "k"}},
        {"auth_claims": {"id_token": "t"}},
        {"context": {"items": [{"secret": "s"}]}},
    ],
)
def test_secrets_in_context_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ThalovantRuntimeError, match="secret") as info:
        build_client_context(**kwargs)  # type: ignore[arg-type]
    for value in ("abc", "'p'", "'k'", "'t'", "'s'"):
        assert value not in str(info.value)


def test_roles_must_not_be_a_string() -> None:
    with pytest.raises(ThalovantRuntimeError):
        build_client_context(roles="admin")


def test_build_location_full() -> None:
    loc = build_location(
        " Lisbon ",
        region="Lisboa",
        country_code="pt",
        timezone="Europe/Lisbon",
        latitude=38.72,
        longitude=-9.14,
    )
    assert loc == {
        "city": "Lisbon",
        "region": "Lisboa",
        "country_code": "PT",
        "timezone": {"code": "Europe/Lisbon"},
        "coordinate": {"latitude": 38.72, "longitude": -9.14},
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"city": 5},
        {"city": "x", "latitude": 1.0},
        {"city": "x", "latitude": 91.0, "longitude": 0.0},
        {"city": "x", "latitude": 0.0, "longitude": 181.0},
        {"city": "x", "latitude": float("nan"), "longitude": 0.0},
        {"city": "x", "latitude": True, "longitude": 0.0},
    ],
)
def test_build_location_rejects_bad_input(kwargs: dict[str, object]) -> None:
    with pytest.raises(ThalovantRuntimeError):
        build_location(**kwargs)  # type: ignore[arg-type]


def test_request_context_merges_hints() -> None:
    base = {"session": {"session_id": "s"}, "x": 1}
    ctx = request_context(
        base,
        stt_lang="fr-fr",
        pipeline=["adapt_high", "fallback_low"],
        location=build_location("Paris"),
    )
    assert ctx == {
        "session": {"session_id": "s", "pipeline": ["adapt_high", "fallback_low"]},
        "x": 1,
        "stt_lang": "fr-fr",
        "location": {"city": "Paris"},
    }
    assert base == {"session": {"session_id": "s"}, "x": 1}
    assert request_context() == {}


def test_request_context_pipeline_must_be_a_list() -> None:
    with pytest.raises(ThalovantRuntimeError):
        request_context(pipeline="adapt")
