"""Property: from_mapping(as_dict(include_secrets=True)) == original, for any valid identity."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from thalovant.identity.model import ThalovantIdentity

# printable text without surrogates, non-empty after stripping
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30
).filter(lambda s: bool(s.strip()))
LABEL = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
HOST = st.one_of(
    st.builds(lambda *parts: ".".join(parts), LABEL, LABEL),
    st.just("localhost"),
    st.just("127.0.0.1"),
    st.just("[::1]"),
)
PORT = st.integers(min_value=1, max_value=65535)
SEGMENTS = st.lists(LABEL, max_size=3)
USERINFO = st.one_of(st.just(""), st.builds(lambda u, p: f"{u}:{p}@", LABEL, LABEL))


@st.composite
def urls(draw: st.DrawFn, schemes: tuple[str, ...]) -> str:
    scheme = draw(st.sampled_from(schemes))
    port = draw(st.one_of(st.none(), PORT))
    path = "".join(f"/{s}" for s in draw(SEGMENTS))
    slash = draw(st.sampled_from(["", "/"]))
    host = draw(HOST)
    netloc = f"{draw(USERINFO)}{host}" + (f":{port}" if port else "")
    return f"{scheme}://{netloc}{path}{slash}" if scheme else f"{netloc}{path}{slash}"


JSON_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
JSON = st.recursive(
    JSON_SCALAR,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FLAG = st.one_of(
    st.booleans(),
    st.sampled_from(["true", "false", "yes", "no", "on", "off", "1", "0"]),
    st.builds(lambda b: {"enabled": b}, st.booleans()),
    st.none(),
)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def raw_identities(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {
        draw(st.sampled_from(["access_key", "key", "api_key", "apiKey"])): draw(TEXT),
        "password": draw(TEXT),
        draw(st.sampled_from(["site_id", "siteId", "site", "client_id", "clientId"])): draw(TEXT),
        draw(st.sampled_from(["default_master", "host", "master", "hubHttpHost"])): draw(
            urls(("https", "wss", "ws", "http", ""))
        ),
    }
    port = draw(maybe(st.one_of(PORT, PORT.map(str))))
    if port is not None:
        data[draw(st.sampled_from(["default_port", "port", "hub_http_port"]))] = port
    path = draw(maybe(st.builds(lambda segs: "/".join(segs), SEGMENTS)))
    if path is not None:
        data[draw(st.sampled_from(["default_path", "path", "uri_path"]))] = path
    endpoints = {
        key: draw(urls(schemes))
        for key, schemes in (
            ("https", ("https", "http", "")),
            ("wss", ("wss", "ws", "")),
            ("mqtt", ("mqtts", "mqtt", "")),
        )
        if draw(st.booleans())
    }
    where = draw(st.sampled_from(["data_plane_endpoints", "endpoints", "top", "none"]))
    if where == "top":
        data.update({k: v for k, v in endpoints.items() if k != "mqtt"})
    elif where != "none":
        data[where] = endpoints
    flags = {k: draw(FLAG) for k in draw(st.sets(st.sampled_from(["wss", "http", "mqtt"])))}
    container = draw(st.sampled_from(["protocols", "network", "spec", "none"]))
    if container == "spec":
        data["spec"] = {"protocols": flags}
    elif container != "none":
        data[container] = flags
    if draw(st.booleans()):
        block: dict[str, Any] = {
            "endpoint": draw(urls(("mqtts", "mqtt", "ssl", "tcp"))),
            "username": draw(TEXT),
            "password": draw(TEXT),
            "qos": draw(st.sampled_from([0, 1, 2, "0", None])),
            "tls": draw(maybe(st.booleans())),
        }
        prefix = draw(maybe(st.builds(lambda segs: "/".join(segs), st.lists(LABEL, min_size=1))))
        if prefix is not None:
            block["topic_prefix"] = draw(st.sampled_from(["", "/", " "])) + prefix
        data["mqtt"] = block
    metadata = draw(maybe(st.dictionaries(st.text(max_size=10), JSON, max_size=4)))
    if metadata is not None:
        data["metadata"] = metadata
    if draw(st.booleans()):
        data["crypto_key"] = draw(TEXT)
    return data


@settings(max_examples=200, deadline=None)
@given(raw_identities())
def test_as_dict_round_trips(raw: dict[str, Any]) -> None:
    original = ThalovantIdentity.from_mapping(raw)
    saved = original.as_dict(include_secrets=True)
    assert ThalovantIdentity.from_mapping(saved) == original
    # and through real JSON text, as a saved identity file would be
    assert ThalovantIdentity.from_mapping(json.loads(json.dumps(saved))) == original
    # derived values survive too
    again = ThalovantIdentity.from_mapping(saved)
    assert again.endpoint_base() == original.endpoint_base()
    assert again.enabled_protocols() == original.enabled_protocols()
    assert hash(again) == hash(original)


@settings(max_examples=50, deadline=None)
@given(raw_identities())
def test_redacted_as_dict_is_json_and_stable(raw: dict[str, Any]) -> None:
    identity = ThalovantIdentity.from_mapping(raw)
    redacted = identity.as_dict()
    json.dumps(redacted)
    assert set(redacted) == set(identity.as_dict(include_secrets=True))
    assert redacted["access_key"] == redacted["password"] == "<redacted>"
