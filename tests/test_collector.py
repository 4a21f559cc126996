"""AskCollector, QueryCollector and ConversationCarry (sans-I/O; time is passed in)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from thalovant.client.carry import ConversationCarry, carry_fields
from thalovant.client.collector import (
    MAX_CLIP_HEX_CHARS,
    AskCollector,
    QueryCollector,
)
from thalovant.errors import (
    ThalovantPolicyDeniedError,
    ThalovantRuntimeError,
    ThalovantTimeoutError,
    ThalovantUnansweredError,
)
from thalovant.models.types import ThalovantEvent

RID = "thalovant-request-1"


def ev(
    name: str, rid: str | None = RID, session: dict[str, Any] | None = None, **data: Any
) -> ThalovantEvent:
    context: dict[str, Any] = {}
    if rid is not None:
        context["request_id"] = rid
    if session is not None:
        context["session"] = session
    return ThalovantEvent(name, data, context)


def speak(text: str, **kw: Any) -> ThalovantEvent:
    return ev("speak", utterance=text, **kw)


HANDLED = "ovos.utterance.handled"


def collector(**kw: Any) -> AskCollector:
    return AskCollector(RID, session_id="req-session", utterance="what time is it", **kw)


# --- completion ----------------------------------------------------------------------------


@pytest.mark.parametrize("hub_sends_handled", [False, True])
def test_handled_completes_at_once(hub_sends_handled: bool) -> None:
    c = collector(hub_sends_handled=hub_sends_handled)
    assert not c.feed(speak("It is noon."), 0.0)
    assert c.feed(ev(HANDLED), 0.01)
    assert c.done
    assert c.handled_seen
    assert c.next_deadline() == 0.01
    reply = c.finish(0.01)
    assert reply.text == "It is noon."
    assert reply.ok
    assert reply.request_id == RID


def test_settle_window_is_the_fallback_without_handled() -> None:
    c = collector(settle_seconds=0.25)
    assert c.next_deadline() is None
    c.feed(speak("Hello."), 1.0)
    assert c.next_deadline() == pytest.approx(1.25)
    assert not c.poll(1.2)
    assert c.poll(1.25)
    assert c.done
    assert c.finish(1.25).text == "Hello."


def test_settle_window_slides_with_each_new_speech() -> None:
    c = collector(settle_seconds=0.25)
    c.feed(speak("One."), 0.0)
    c.feed(speak("Two."), 0.2)
    assert c.next_deadline() == pytest.approx(0.45)
    c.feed(speak("Two."), 0.4)  # a duplicate does not slide the window
    assert c.next_deadline() == pytest.approx(0.45)
    c.feed(speak("Three."), 0.44)
    assert c.next_deadline() == pytest.approx(0.69)
    assert c.finish(0.69).text == "One. Two. Three."


def test_hub_that_sends_handled_gets_no_settle_window() -> None:
    c = collector(hub_sends_handled=True)
    c.feed(speak("Part one."), 0.0)
    assert c.next_deadline() is None  # wait for handled, bounded by the caller's deadline
    assert not c.poll(100.0)
    c.feed(speak("Part two."), 3.0)
    assert c.feed(ev(HANDLED), 3.5)
    assert c.finish(3.5).utterances == ("Part one.", "Part two.")


def test_reply_at_overall_deadline_without_handled_is_not_an_error() -> None:
    c = collector(hub_sends_handled=True)
    c.feed(speak("Partial."), 0.0)
    assert c.finish(12.0).text == "Partial."


def test_consecutive_duplicates_skipped() -> None:
    c = collector()
    for i, text in enumerate(["a", "a", "b", "a", "", "  "]):
        c.feed(ev("ovos.utterance.speak", text=text), i * 0.01)
    reply = c.finish(1.0)
    assert reply.text == "a b a"
    assert reply.utterances == ("a", "b", "a")
    assert len(reply.events) == 6


def test_handled_without_speech_opens_empty_window_then_speech_settles() -> None:
    c = collector(hub_sends_handled=True, empty_wait_seconds=5.0)
    assert not c.feed(ev(HANDLED), 1.0)
    assert c.next_deadline() == 6.0
    assert not c.feed(ev(HANDLED), 2.0)
    assert c.next_deadline() == 6.0  # repeated events never extend the empty window
    assert not c.feed(speak("Late speech."), 2.5)  # handled already seen: short settle
    assert c.next_deadline() == pytest.approx(2.75)
    assert c.finish(2.75).text == "Late speech."


def test_handled_alone_times_out() -> None:
    c = collector()
    c.feed(ev(HANDLED), 0.0)
    assert c.poll(5.0)
    with pytest.raises(ThalovantTimeoutError, match="did not emit a speak reply"):
        c.finish(5.0)


def test_nothing_at_all_is_a_timeout() -> None:
    with pytest.raises(ThalovantTimeoutError, match="hub did not emit a speak reply"):
        collector().finish(12.0)


# --- failures ------------------------------------------------------------------------------


@pytest.mark.parametrize("miss", ["ovos.intent.unmatched", "complete_intent_failure"])
def test_soft_failure_recovered_by_speech(miss: str) -> None:
    c = collector(empty_wait_seconds=5.0)
    assert not c.feed(ev(miss), 0.0)
    assert c.next_deadline() == 5.0
    c.feed(speak("Fallback answer."), 1.0)
    assert c.next_deadline() == pytest.approx(1.25)
    reply = c.finish(1.25)
    assert reply.text == "Fallback answer."
    assert reply.handled
    assert reply.failure_event is None


def test_soft_failure_alone_is_unanswered() -> None:
    c = collector()
    c.feed(ev("ovos.intent.unmatched"), 0.0)
    assert c.poll(5.0)
    with pytest.raises(ThalovantUnansweredError) as info:
        c.finish(5.0)
    assert info.value.said == "what time is it"
    c2 = collector()
    c2.feed(ev("complete_intent_failure", utterance="blah blah"), 0.0)
    with pytest.raises(ThalovantUnansweredError) as info2:
        c2.finish(5.0)
    assert info2.value.said == "blah blah"


@pytest.mark.parametrize("order", ["miss-first", "handled-first"])
def test_handled_and_miss_complete_at_once(order: str) -> None:
    c = collector(hub_sends_handled=True)
    first, second = (
        (ev("ovos.intent.unmatched"), ev(HANDLED))
        if order == "miss-first"
        else (ev(HANDLED), ev("ovos.intent.unmatched"))
    )
    assert not c.feed(first, 0.0)
    assert c.feed(second, 0.1)
    with pytest.raises(ThalovantUnansweredError):
        c.finish(0.1)


def test_policy_denied_is_hard_and_immediate() -> None:
    c = collector()
    denied = ev(
        "hive.policy.denied",
        rid=None,
        denied_type="recognizer_loop:utterance",
        code="intent_quota_exceeded",
        reason="quota",
        data={"period": "day", "limit": 100, "used": 100},
    )
    assert c.feed(denied, 0.0)
    with pytest.raises(ThalovantPolicyDeniedError) as info:
        c.finish(0.0)
    assert info.value.code == "intent_quota_exceeded"
    assert info.value.quota is not None
    assert info.value.quota.limit == 100


def test_query_timeout_is_a_runtime_error() -> None:
    c = collector()
    assert c.feed(ev("hive.query.timeout", reason="hub gave up"), 0.0)
    with pytest.raises(ThalovantRuntimeError, match="hub gave up") as info:
        c.finish(0.0)
    assert not isinstance(info.value, ThalovantPolicyDeniedError)


def test_hard_failure_after_speech_keeps_partial_reply() -> None:
    c = collector()
    c.feed(speak("Starting…"), 0.0)
    assert c.feed(ev("hive.policy.denied", code="blocked"), 0.1)
    reply = c.finish(0.1)
    assert reply.text == "Starting…"
    assert not reply.handled
    assert not reply.ok
    assert reply.failure_event is not None
    assert reply.policy_denied


def test_events_of_other_requests_are_ignored() -> None:
    c = collector()
    assert not c.feed(speak("not mine", rid="other"), 0.0)
    assert not c.feed(ev("hive.policy.denied", rid="other"), 0.0)
    with pytest.raises(ThalovantTimeoutError):
        c.finish(1.0)


def test_events_after_the_window_are_not_collected() -> None:
    c = collector()
    c.feed(speak("first"), 0.0)
    assert c.feed(speak("too late"), 0.3)
    assert c.finish(0.3).text == "first"


# --- media, sessions, raw -----------------------------------------------------------------


def audio(hex_data: object) -> ThalovantEvent:
    return ev("mycroft.audio.queue", binary_data=hex_data)


def test_media_kept_in_order_and_caps_enforced() -> None:
    c = collector()
    clip = "ab" * (MAX_CLIP_HEX_CHARS // 2)  # exactly the per-clip cap
    c.feed(audio("0011"), 0.0)
    c.feed(speak("Here is a sound."), 0.0)
    c.feed(audio("zz"), 0.0)  # not hex
    c.feed(audio("001"), 0.0)  # odd length
    c.feed(audio(17), 0.0)  # not a string
    c.feed(audio(clip + "00"), 0.0)  # over the per-clip cap
    for _ in range(4):
        c.feed(audio(clip), 0.0)  # 0011 + 3 clips fit in 32 MiB of hex, the 4th does not
    reply = c.finish(0.1)
    assert [len(e.data["binary_data"]) for e in reply.media_events] == [4] + [len(clip)] * 3
    assert reply.media_events[0].data["binary_data"] == "0011"
    assert reply.dropped_media == 5
    assert reply.has_audio
    assert [e.name for e in reply.events][:2] == ["mycroft.audio.queue", "speak"]


def test_session_id_is_first_seen_else_requested() -> None:
    c = collector()
    c.feed(speak("a", session={"session_id": ""}), 0.0)
    c.feed(speak("b", session={"session_id": "hub-1"}), 0.0)
    c.feed(speak("c", session={"session_id": "hub-2"}), 0.0)
    reply = c.finish(1.0)
    assert reply.session_id == "hub-1"
    assert c.session_ids == ("hub-1", "hub-2")
    c2 = collector()
    c2.feed(speak("a"), 0.0)
    assert c2.finish(1.0).session_id == "req-session"


def test_raw_messages() -> None:
    c = collector()
    raw = {"type": "speak", "data": {"utterance": "x"}, "context": {"request_id": RID}}
    c.feed(ThalovantEvent.from_message(raw), 0.0)
    c.feed(speak("y"), 0.0)
    reply = c.finish(1.0)
    assert reply.raw_messages[0] == raw
    assert reply.raw_messages[1] == {
        "type": "speak",
        "data": {"utterance": "y"},
        "context": {"request_id": RID},
    }


# --- carry ---------------------------------------------------------------------------------


SESSION = {
    "session_id": "hub-session",
    "active_skills": [["weather.skill", 123]],
    "converse_handlers": [],
    "context": {"frame": 1},
    "utterance_states": {},
    "response_mode": "",
    "lang": "en-us",
}


def test_carry_from_handled() -> None:
    assert carry_fields(ev(HANDLED, session=SESSION)) == {
        "active_skills": [["weather.skill", 123]],
        "context": {"frame": 1},
    }
    c = collector()
    assert c.carry is None
    c.feed(speak("x"), 0.0)
    c.feed(ev(HANDLED, session=SESSION), 0.1)
    assert c.carry == {"active_skills": [["weather.skill", 123]], "context": {"frame": 1}}


def test_late_handled_still_records_carry() -> None:
    c = collector()
    c.feed(speak("x"), 0.0)
    assert c.poll(0.25)
    reply = c.finish(0.25)
    assert c.feed(ev(HANDLED, session={"active_skills": ["s"]}), 1.0)
    assert c.carry == {"active_skills": ["s"]}
    assert c.handled_seen
    assert reply.text == "x"


# --- QueryCollector ------------------------------------------------------------------------


def qframe(message: dict[str, Any] | str, qid: str = "q1", kind: str = "query") -> dict[str, Any]:
    inner = {"msg_type": "bus", "payload": message, "metadata": {}}
    return {"msg_type": kind, "payload": inner, "metadata": {"query_id": qid}}


def msg(name: str, **data: Any) -> dict[str, Any]:
    return {"type": name, "data": data, "context": {}}


def test_query_collects_until_complete() -> None:
    q = QueryCollector("q1", session_id="s")
    assert not q.feed_frame(qframe(msg("ovos.intent.unmatched")), 0.0)  # provisional
    assert not q.feed_frame(qframe(msg("speak", utterance="Hi")), 0.1)
    assert not q.feed_frame(qframe(msg("speak", utterance="other")), 0.1)
    assert not q.feed_frame(qframe(msg("speak", utterance="x"), qid="q2"), 0.2)
    assert not q.feed_frame({"msg_type": "bus", "payload": msg("speak", utterance="y")}, 0.2)
    cascade = {
        "msg_type": "cascade",
        "payload": msg("speak", utterance="z"),
        "metadata": {"queryId": "q1"},
    }
    assert not q.feed_frame(cascade, 0.25)
    assert q.feed_frame(qframe(msg("hive.query.complete")), 0.3)
    reply = q.finish(0.3)
    assert reply.text == "Hi other z"
    assert reply.session_id == "s"
    assert reply.handled
    assert q.next_deadline() is None


def test_query_unwraps_json_text_payloads() -> None:
    text = msgspec.json.encode(msg("speak", utterance="from json")).decode()
    assert QueryCollector.unwrap(qframe(text)) is not None
    assert QueryCollector.unwrap(qframe("{not json")) is None
    assert QueryCollector.unwrap({"msg_type": "query", "payload": 5}) is None


def test_query_deadline_is_a_timeout_even_with_speech() -> None:
    q = QueryCollector("q1")
    q.feed_frame(qframe(msg("speak", utterance="partial")), 0.0)
    with pytest.raises(ThalovantTimeoutError, match="did not complete"):
        q.finish(12.0)


def test_query_miss_then_complete_is_unanswered() -> None:
    q = QueryCollector("q1", utterance="zzz")
    q.feed_frame(qframe(msg("ovos.intent.unmatched")), 0.0)
    q.feed_frame(qframe(msg("hive.query.complete")), 0.1)
    with pytest.raises(ThalovantUnansweredError):
        q.finish(0.1)


def test_query_hard_failure_after_speech() -> None:
    q = QueryCollector("q1")
    q.feed_frame(qframe(msg("speak", utterance="partial")), 0.0)
    assert q.feed_frame(qframe(msg("hive.query.timeout")), 0.1)
    reply = q.finish(0.1)
    assert reply.text == "partial"
    assert not reply.handled
    assert q.feed(ThalovantEvent(HANDLED, {}, {"session": {"active_skills": ["a"]}}), 0.2)
    assert q.carry == {"active_skills": ["a"]}


# --- ConversationCarry ---------------------------------------------------------------------


def test_carry_record_and_apply_respects_caller_fields() -> None:
    carry = ConversationCarry()
    carry.record(["mine", "hub", None, ""], {"active_skills": ["a"], "context": {"x": 1}})
    assert "mine" in carry
    assert "hub" in carry
    assert len(carry) == 1
    session: dict[str, Any] = {"context": {"caller": True}, "active_skills": None}
    carry.apply("hub", session)
    assert session == {"context": {"caller": True}, "active_skills": ["a"]}
    session["active_skills"].append("mutated")
    assert carry.get("mine") == {"active_skills": ["a"], "context": {"x": 1}}
    carry.apply("unknown", session)
    carry.apply(None, session)


def test_empty_carry_erases() -> None:
    carry = ConversationCarry()
    carry.record(["s1", "s2"], {"active_skills": ["a"]})
    carry.record(["s2"], {"active_skills": [], "context": None})
    assert "s1" not in carry
    assert "s2" not in carry
    assert len(carry) == 0
    carry.record([], {"active_skills": ["a"]})
    assert len(carry) == 0


def test_carry_lru_cap_of_conversations() -> None:
    carry = ConversationCarry()
    for i in range(32):
        carry.record([f"s{i}"], {"active_skills": [i]})
    carry.apply("s0", {})  # touch: s0 becomes most recent, s1 is now the oldest
    carry.record(["s32"], {"active_skills": [32]})
    assert len(carry) == 32
    assert "s0" in carry
    assert "s1" not in carry
    assert "s32" in carry


def test_carry_alias_cap_and_merge() -> None:
    carry = ConversationCarry()
    carry.record([f"a{i}" for i in range(6)], {"active_skills": [1]})
    carry.record(["a5", "b0", "b1", "b2"], {"active_skills": [2]})
    assert len(carry) == 1
    assert "a0" not in carry  # 9 aliases: the 8 most recent are kept
    assert "a1" in carry
    assert all(f"a{i}" in carry for i in range(1, 6))
    assert "b2" in carry
    assert carry.get("a2") == {"active_skills": [2]}
    carry.record(["c0"], {"active_skills": [3]})
    carry.record(["c0", "a3"], {"active_skills": [4]})  # two conversations become one
    assert len(carry) == 1
    assert carry.get("b0") == carry.get("c0") == {"active_skills": [4]}
    carry.forget("c0")
    assert len(carry) == 0
    assert "a3" not in carry
    carry.record(["x"], {"context": {}, "response_mode": "x"})
    carry.clear()
    assert len(carry) == 0
