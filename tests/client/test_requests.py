"""Sans-I/O request builders: context order, correlation, stamping, actions, codes, mesh."""

from __future__ import annotations

import json
from typing import Any

import pytest

from thalovant.client.carry import ConversationCarry
from thalovant.client.correlation import caller_session_id, new_request_id, new_session_id
from thalovant.client.inputs import action_input, code_input
from thalovant.client.outgoing import (
    RequestStamp,
    build_emit,
    build_mesh,
    build_query,
    build_reply,
    build_utterance,
)
from thalovant.errors import ThalovantRuntimeError
from thalovant.models.types import ThalovantEvent
from thalovant.protocol.envelope import BusMessage, HiveMessage, encode_message

UA = "ThalovantPythonSDK/test"
STAMP = RequestStamp(UA, "kiosk", {"tenant": "acme", "shared": "identity"})
CONN = "thalovant-python-conn"


def wire(message: HiveMessage) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(encode_message(message))
    return decoded


def test_ids() -> None:
    rid, sid = new_request_id(), new_session_id()
    assert rid.startswith("thalovant-request-")
    assert len(rid) == len("thalovant-request-") + 32
    assert sid.startswith("thalovant-session-")
    assert rid != new_request_id()


def test_ask_wire_shape_without_session() -> None:
    out = build_utterance(
        STAMP,
        "what time is it",
        lang="en-us",
        connection_session_id=CONN,
        request_id="thalovant-request-abc",
        stt_lang="fr-fr",
        pipeline=["adapt_high"],
    )
    frame = wire(out.message)
    assert list(frame) == [
        "msg_type",
        "payload",
        "metadata",
        "route",
        "node",
        "target_site_id",
        "target_pubkey",
        "source_peer",
    ]
    payload = frame["payload"]
    assert payload["type"] == "recognizer_loop:utterance"
    assert payload["data"] == {"utterances": ["what time is it"], "lang": "en-us"}
    context = payload["context"]
    assert context["request_id"] == context["thalovant_request_id"] == "thalovant-request-abc"
    assert context["session"] == {
        "pipeline": ["adapt_high"],
        "request_id": "thalovant-request-abc",
        "site_id": "kiosk",
        "lang": "en-us",
        "session_id": CONN,
    }
    assert context["stt_lang"] == "fr-fr"
    assert context["metadata"] == {"tenant": "acme", "shared": "identity"}
    assert (context["source"], context["platform"], context["destination"]) == (UA, UA, "HiveMind")
    assert out.request_id == "thalovant-request-abc"
    assert out.session_id == CONN


def test_caller_keys_win_and_caller_dicts_are_untouched() -> None:
    given = {
        "source": "my-app",
        "metadata": {"shared": "caller"},
        "session": {"site_id": "other-site", "lang": "de-de"},
    }
    snapshot = json.dumps(given, sort_keys=True)
    out = build_utterance(
        STAMP, "hi", lang="en-us", connection_session_id=CONN, context=given, session_id="s-1"
    )
    context = wire(out.message)["payload"]["context"]
    assert json.dumps(given, sort_keys=True) == snapshot
    assert context["source"] == "my-app"
    assert context["platform"] == UA
    assert context["metadata"] == {"tenant": "acme", "shared": "caller"}
    assert context["session"]["site_id"] == "other-site"
    assert context["session"]["lang"] == "de-de"
    assert context["session"]["session_id"] == "s-1"


@pytest.mark.parametrize(
    ("context", "session_id", "expected"),
    [
        (None, None, None),
        (None, "default", None),
        ({"session": {"session_id": "a"}}, None, "a"),
        ({"session_id": "b"}, None, "b"),
        ({"session": '{"session_id": "c"}'}, None, "c"),
        ({"session": {"session_id": "a"}}, "given", "given"),
        ({"session": {"session_id": "default"}}, None, None),
    ],
)
def test_caller_session_id(
    context: dict[str, Any] | None, session_id: str | None, expected: str | None
) -> None:
    assert caller_session_id(context, session_id) == expected


def test_default_session_becomes_connection_session() -> None:
    out = build_utterance(
        STAMP, "hi", lang="en-us", connection_session_id=CONN, context={"session": "not json"}
    )
    session = wire(out.message)["payload"]["context"]["session"]
    assert session["session_id"] == CONN


def test_request_id_from_caller_context() -> None:
    out = build_utterance(
        STAMP, "hi", lang="en-us", connection_session_id=CONN, context={"request_id": "mine"}
    )
    assert out.request_id == "mine"


def test_carry_is_applied_where_the_caller_set_nothing() -> None:
    carry = ConversationCarry()
    carry.record(["s-1"], {"active_skills": [["joke", 1]], "response_mode": "x"})
    out = build_utterance(
        STAMP,
        "again",
        lang="en-us",
        connection_session_id=CONN,
        session_id="s-1",
        context={"session": {"response_mode": "mine"}},
        carry=carry,
    )
    session = wire(out.message)["payload"]["context"]["session"]
    assert session["active_skills"] == [["joke", 1]]
    assert session["response_mode"] == "mine"


def test_action_forms_give_the_same_text() -> None:
    docs_text, docs = action_input("/choose", {"id": "42"}, "Coffee")
    ref_text, ref = action_input('/choose{"id":"42"}', None, "Coffee")
    assert docs_text == ref_text == '/choose{"id":"42"}'
    assert ref == {"kind": "action", "title": "Coffee", "payload": '/choose{"id":"42"}'}
    assert docs == {**ref, "action": "/choose", "data": {"id": "42"}}
    text, given = action_input("/pick", '{"n":1}', None)
    assert text == '/pick{"n":1}'
    assert given["data"] == '{"n":1}'
    with pytest.raises(ThalovantRuntimeError):
        action_input("", None, None)
    with pytest.raises(ThalovantRuntimeError):
        action_input("/x", {"bad": object()}, None)


def test_code_goes_to_data_and_context() -> None:
    given = code_input("SN-1", "barcode", "serial")
    out = build_utterance(
        STAMP,
        "SN-1",
        lang="en-us",
        connection_session_id=CONN,
        input=given,
        data_input=True,
    )
    payload = wire(out.message)["payload"]
    expected = {"kind": "barcode", "label": "serial", "value": "SN-1", "exact": True}
    assert payload["data"] == {"utterances": ["SN-1"], "lang": "en-us", "input": expected}
    assert payload["context"]["input"] == expected
    with pytest.raises(ThalovantRuntimeError):
        code_input("", "code", None)


def test_emit_stamps_but_does_not_correlate() -> None:
    frame = wire(build_emit(STAMP, "my.event", {"a": 1}, None, connection_session_id=CONN))
    context = frame["payload"]["context"]
    assert "request_id" not in context
    assert context["session"] == {"session_id": CONN, "site_id": "kiosk"}
    assert context["metadata"] == {"tenant": "acme", "shared": "identity"}


def test_reply_swaps_routing_from_the_wire_context() -> None:
    raw = {
        "type": "thalovant.home.request",
        "data": {},
        "context": {"source": "hub-skill", "destination": ["client-a", "b"], "request_id": "r"},
    }
    event = ThalovantEvent("thalovant.home.request", {}, {"source": "taken-in"}, raw)
    frame = wire(
        build_reply(
            STAMP,
            event,
            "thalovant.home.response",
            {"ok": True},
            {"extra": 1},
            connection_session_id=CONN,
        )
    )
    context = frame["payload"]["context"]
    assert context["source"] == "client-a"
    assert context["destination"] == "hub-skill"
    assert context["request_id"] == "r"
    assert context["extra"] == 1
    no_source = ThalovantEvent("x", {}, {}, {"type": "x", "context": {"destination": "me"}})
    context = wire(build_reply(STAMP, no_source, "y", None, None, connection_session_id=CONN))[
        "payload"
    ]["context"]
    assert context["source"] == "me"
    assert context["destination"] == "HiveMind"  # stamped by emit, as the reference does


def test_mesh_nests_a_full_stamped_bus_envelope() -> None:
    frame = wire(build_mesh(STAMP, "propagate", "t", {"a": 1}, None, connection_session_id=CONN))
    assert frame["msg_type"] == "propagate"
    inner = frame["payload"]
    assert inner["msg_type"] == "bus"
    assert set(inner) >= {"metadata", "route", "node", "target_site_id"}
    assert inner["payload"]["context"]["source"] == UA
    with pytest.raises(ThalovantRuntimeError):
        build_mesh(STAMP, "intercom", "t", None, None, connection_session_id=CONN)


def test_query_frame() -> None:
    out, qid = build_query(
        STAMP, "hello", lang="en-us", context=None, session_id=None, query_id=None
    )
    frame = wire(out.message)
    assert frame["msg_type"] == "query"
    assert frame["metadata"] == {"query_id": qid}
    assert qid == out.request_id
    inner = frame["payload"]["payload"]
    assert inner["type"] == "recognizer_loop:utterance"
    context = inner["context"]
    assert "source" not in context
    assert "destination" not in context
    assert context["session"]["session_id"] == out.session_id
    assert out.session_id.startswith("thalovant-session-")


def test_bus_message_payload_is_not_shared() -> None:
    out = build_utterance(STAMP, "hi", lang="en-us", connection_session_id=CONN)
    assert isinstance(out.message.payload, BusMessage)
