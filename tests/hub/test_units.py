"""Pure pieces of the hub: token parsing, reply contexts, skill matching, dev TLS."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path
from typing import Any

import pytest

from thalovant.hub.responder.messages import normalize_request_context, reply_context
from thalovant.hub.responder.skills import HubSkill, SessionStore, SkillContext
from thalovant.hub.servers.tls import dev_certificates
from thalovant.hub.servers.wss import parse_authorization
from thalovant.protocol.envelope import BusMessage


def _path(token: str) -> str:
    return f"/?x=1&authorization={token}"


def test_parse_authorization() -> None:
    good = base64.b64encode(b"ThalovantPythonSDK/0.9.7:ak:with:colons").decode()
    assert parse_authorization(_path(good)) == ("ThalovantPythonSDK/0.9.7", "ak:with:colons")
    plus = base64.b64encode(b"UA:\xfb\xff").decode()  # contains '+' and '/'
    assert "+" in plus or "/" in plus
    assert parse_authorization(_path(plus.replace("+", " "))) is None  # not UTF-8 anyway
    spaced = base64.b64encode(b"UA:key>>>").decode()
    assert "+" in spaced
    assert parse_authorization(_path(spaced.replace("+", "%20"))) == ("UA", "key>>>")
    assert parse_authorization(_path(spaced.replace("+", "%2B"))) == ("UA", "key>>>")
    for bad in (
        "",
        "@@@",
        base64.b64encode(b"nocolon").decode(),
        base64.b64encode(b"UA:").decode(),
    ):
        assert parse_authorization(_path(bad)) is None
    assert parse_authorization("/") is None


def test_reply_context_swaps_routing_and_keeps_ids() -> None:
    request = {
        "source": "client",
        "destination": ["HiveMind", "other"],
        "request_id": "r",
        "session": {"session_id": "s", "request_id": "r"},
    }
    reply = reply_context(request, skill_id="k")
    assert reply == {
        "source": "HiveMind",
        "destination": "client",
        "request_id": "r",
        "session": {"session_id": "s", "request_id": "r"},
        "skill_id": "k",
    }
    reply["session"]["x"] = 1
    assert "x" not in request["session"]  # a deep copy
    assert reply_context({"destination": "HiveMind"}) == {"source": "HiveMind"}
    assert reply_context({"source": "client"}) == {"destination": "client"}


@pytest.mark.parametrize(
    ("context", "expected_id"),
    [
        ({}, "conn"),
        ({"session": "not a dict"}, "conn"),
        ({"session": {"session_id": "default"}}, "conn"),
        ({"session": {"session_id": ""}}, "conn"),
        ({"session": {"session_id": "mine"}}, "mine"),
    ],
)
def test_normalize_request_context(context: dict[str, Any], expected_id: str) -> None:
    out = normalize_request_context(context, session_id="conn", site_id="site")
    assert out["session"]["session_id"] == expected_id
    assert out["session"]["site_id"] == "site"


async def _send(message: BusMessage) -> None:
    return None


def _ctx(**data: Any) -> SkillContext:
    return SkillContext(
        message_type="recognizer_loop:utterance",
        data=data,
        request_context={"session": {"lang": "fr-fr"}},
        session_id="s",
        session_state={},
        send=_send,
    )


async def _noop(ctx: SkillContext) -> None:
    return None


def test_skill_context_reads_the_request() -> None:
    assert _ctx(utterances=["  hi  ", 3]).utterances == ["  hi  "]
    assert _ctx(utterances=["  hi  "]).utterance == "hi"
    assert _ctx(utterance="one").utterance == "one"
    assert _ctx().utterance == ""
    assert _ctx().lang == "fr-fr"
    assert _ctx(lang="de-de").lang == "de-de"
    assert _ctx().request_id is None
    assert _ctx(input={"kind": "code"}).input == {"kind": "code"}


def test_skill_matching() -> None:
    regex = HubSkill("r", _noop, match=r"colou?r is (\w+)")
    ctx = _ctx(utterances=["My COLOR is Blue"])
    assert not regex.matches(_ctx(utterances=["nothing"]))
    assert HubSkill("r2", _noop, match=r"color is (\w+)").matches(ctx)
    assert ctx.match is not None
    assert ctx.match.group(1) == "Blue"
    with pytest.raises(ValueError, match="name"):
        HubSkill(" ", _noop, match="x")


def test_session_store_is_bounded() -> None:
    store = SessionStore(max_sessions=2)
    store.state("a")["k"] = 1
    store.state("b")
    store.state("a")  # a is now the most recent
    store.state("c")  # evicts b
    assert store.state("a") == {"k": 1}
    assert store.state("b") == {}


def test_dev_certificates_verify_and_are_reused(tmp_path: Path) -> None:
    certs = dev_certificates(tmp_path, ("127.0.0.1", "localhost"))
    first = certs.cert_file.read_bytes()
    again = dev_certificates(tmp_path, ("127.0.0.1", "localhost"))
    assert again.cert_file.read_bytes() == first
    server = certs.server_context()
    client = certs.client_context()
    assert client.verify_mode == ssl.CERT_REQUIRED
    assert isinstance(server, ssl.SSLContext)
    other = dev_certificates(tmp_path, ("127.0.0.1", "hub.test"))
    assert other.cert_file.read_bytes() != first  # new host name: new certificate
