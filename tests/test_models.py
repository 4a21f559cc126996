"""ThalovantEvent, display items, strip_ssml, ThalovantReply, connection info and health."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from thalovant.errors import ThalovantRuntimeError
from thalovant.models.types import (
    ThalovantConnectionInfo,
    ThalovantDisplayItem,
    ThalovantDisplayItems,
    ThalovantEvent,
    ThalovantHealth,
    ThalovantReply,
    parse_display_items,
    strip_ssml,
)


def ev(name: str = "speak", data: dict[str, Any] | None = None, **context: Any) -> ThalovantEvent:
    return ThalovantEvent(name, data or {}, context)


# --- event properties ----------------------------------------------------------------------


def test_from_message_is_lenient() -> None:
    event = ThalovantEvent.from_message({"type": "speak", "data": "junk", "context": None})
    assert (event.name, event.data, event.context) == ("speak", {}, {})
    assert event.raw == {"type": "speak", "data": "junk", "context": None}


@pytest.mark.parametrize(
    ("data", "text"),
    [
        ({"utterance": "  hello \n  world ", "text": "no"}, "hello world"),
        ({"utterance": "   ", "text": "from text"}, "from text"),
        ({"utterances": ["first  one", "second"]}, "first one"),
        ({"utterances": [3, "x"]}, ""),
        ({}, ""),
    ],
)
def test_text_lookup(data: dict[str, Any], text: str) -> None:
    assert ev(data=data).text == text


def test_display_text_and_utterances() -> None:
    event = ev(data={"utterance": "<speak>It is <emphasis>5</emphasis> &amp; sunny</speak>"})
    assert event.display_text == "It is 5 & sunny"
    assert event.utterances == ("<speak>It is <emphasis>5</emphasis> &amp; sunny</speak>",)
    assert ev(data={"utterances": ["a", 1, "b"]}).utterances == ("a", "b")
    assert ev().utterances == ()


def test_session_and_site_ids() -> None:
    event = ev(session={"session_id": "s1", "site_id": "kiosk"}, session_id="s2", site_id="x")
    assert (event.session_id, event.site_id) == ("s1", "kiosk")
    event = ev(session={"session_id": " "}, session_id="s2", site_id="x")
    assert (event.session_id, event.site_id) == ("s2", "x")
    assert ev(session="not a dict").session_id is None


@pytest.mark.parametrize(
    ("context", "data", "expected"),
    [
        ({"request_id": "a", "thalovant_request_id": "b", "correlation_id": "c"}, {}, "a"),
        ({"thalovant_request_id": "b", "correlation_id": "c"}, {}, "b"),
        ({"correlation_id": "c", "session": {"request_id": "s"}}, {}, "c"),
        ({"session": {"correlation_id": "s"}}, {"request_id": "d"}, "s"),
        ({"request_id": ""}, {"thalovant_request_id": "d"}, "d"),
        ({"request_id": 42}, {}, "42"),
        ({"request_id": True}, {}, None),
        ({}, {}, None),
    ],
)
def test_request_id_lookup_order(
    context: dict[str, Any], data: dict[str, Any], expected: str | None
) -> None:
    assert ThalovantEvent("x", data, context).request_id == expected


def test_lang_lookup_order() -> None:
    assert ev(data={"lang": "de-de"}, lang="fr-fr").lang == "de-de"
    assert ev(lang="fr-fr", session={"lang": "it-it"}).lang == "fr-fr"
    assert ev(session={"lang": "it-it"}).lang == "it-it"
    assert ev().lang is None


def test_audio() -> None:
    event = ev("mycroft.audio.queue", {"binary_data": "00ff10"})
    assert event.is_audio
    assert event.has_audio
    assert event.audio_bytes() == b"\x00\xff\x10"
    assert not ev().is_audio
    assert not ev().has_audio
    assert ev().audio_bytes() is None
    with pytest.raises(ThalovantRuntimeError, match="exceeds"):
        event.audio_bytes(max_bytes=2)
    assert event.audio_bytes(max_bytes=3) == b"\x00\xff\x10"
    with pytest.raises(ThalovantRuntimeError, match="hex"):
        ev("mycroft.audio.queue", {"binary_data": "zz"}).audio_bytes()


def test_failure_flags() -> None:
    assert ev("hive.policy.denied").is_policy_denied
    assert ev("hive.policy.denied").is_failure
    assert ev("ovos.intent.unmatched").is_failure
    assert not ev("ovos.intent.unmatched").is_speech
    assert ev("complete_intent_failure").is_failure
    assert ev("hive.query.timeout").is_failure
    assert not ev("speak").is_failure
    assert ev("ovos.utterance.speak").is_speech


def test_rich_media_key_priority() -> None:
    assert ev(data={"display": 1, "rich_media": 2, "rich_media_data": 3}).rich_media == 3
    assert ev(data={"display": 1, "rich_media": 2}).rich_media == 2
    assert ev(data={"display": 1}).rich_media == 1
    assert ev().rich_media is None


@pytest.mark.parametrize(
    ("context", "session_id", "request_id", "ok"),
    [
        ({"request_id": "r1"}, None, "r1", True),
        ({"request_id": "r1"}, None, "r2", False),
        # both request ids exist and agree: a differing session does not matter
        ({"request_id": "r1", "session": {"session_id": "hub"}}, "mine", "r1", True),
        # no event request id: sessions compared
        ({"session": {"session_id": "s1"}}, "s1", "r1", True),
        ({"session": {"session_id": "s1"}}, "s2", "r1", False),
        # no expected request id: sessions compared
        ({"request_id": "r9", "session_id": "s1"}, "s2", None, False),
        # missing metadata is compatible
        ({}, "s1", "r1", True),
        ({"session_id": "s1"}, None, None, True),
    ],
)
def test_matches_context(
    context: dict[str, Any], session_id: str | None, request_id: str | None, ok: bool
) -> None:
    assert ev(**context).matches_context(session_id=session_id, request_id=request_id) is ok


def test_event_as_dict() -> None:
    event = ev(data={"utterance": "hi"}, request_id="r")
    assert event.as_dict() == {
        "name": "speak",
        "data": {"utterance": "hi"},
        "context": {"request_id": "r"},
    }


# --- strip_ssml ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "plain"),
    [
        ("plain   text\n here", "plain text here"),
        ("<speak>Hello <break time='1s'/>world</speak>", "Hello world"),
        ("one<break/>two", "one two"),
        ("<p>para one</p><p>para two</p>", "para one para two"),
        ('<say-as interpret-as="digits">123</say-as>4', "1234"),
        ("a<!-- hidden <b>x</b> -->b", "ab"),
        ("<?xml version='1.0'?><speak>x</speak>", "x"),
        ("<![CDATA[<raw> &amp;]]> done", "<raw> &amp; done"),
        ("&lt;b&gt; &amp; &quot;q&quot; &apos;s&apos;", "<b> & \"q\" 's'"),
        ("a&nbsp;&nbsp;b", "a b"),
        ("&#65;&#x42;&#X43;", "ABC"),
        ("bad &#0; &#x110000; &#xD800;", "bad \ufffd \ufffd \ufffd"),
        ("unknown &foo; &amp", "unknown &foo; &amp"),
        ("a < b and c > d", "a < b and c > d"),
        ("1<2", "1<2"),
        ("tail <unterminated", "tail <unterminated"),
        ("tail <!-- unterminated", "tail"),
        ("", ""),
    ],
)
def test_strip_ssml(source: str, plain: str) -> None:
    assert strip_ssml(source) == plain


@pytest.mark.parametrize(
    "adversarial",
    ["<a" * 300_000, "<!--" * 300_000, "&#" * 300_000, "a<" * 300_000, "<a>" * 200_000],
)
def test_strip_ssml_is_linear_on_adversarial_input(adversarial: str) -> None:
    # A quadratic implementation needs ~10^11 steps here; pytest-timeout would fire.
    assert isinstance(strip_ssml(adversarial), str)


@given(st.text())
def test_strip_ssml_never_fails_and_is_collapsed(text: str) -> None:
    out = strip_ssml(text)
    assert out == " ".join(out.split())


@given(st.text(alphabet=st.characters(blacklist_characters="<&")))
def test_strip_ssml_plain_text_only_collapses(text: str) -> None:
    assert strip_ssml(text) == " ".join(text.split())


# --- display items -------------------------------------------------------------------------


def test_parse_choices_table_image_attachment_and_unknown() -> None:
    media = [
        {"kind": "text", "text": " Hello ", "style": "title"},
        {
            "kind": "choices",
            "title": "Pick one",
            "choices": ["Yes", {"label": "No", "value": "/no"}, {"title": "Later"}, 7, {}],
        },
        {"type": "table", "columns": ["a", "b"], "rows": [[1, 2], {"a": 3, "b": 4}, "junk"]},
        {"kind": "img", "src": "https://x/y.png", "alt": "a cat", "silent": True},
        {"kind": "file", "url": "https://x/r.pdf", "title": "report"},
        {"kind": "map", "lat": 1.5, "lon": 2.5},
        42,
        "  a plain string item ",
    ]
    items = parse_display_items(media)
    assert [i.kind for i in items] == [
        "text",
        "choices",
        "table",
        "image",
        "attachment",
        "map",
        "text",
    ]
    text, choices, table, image, attachment, unknown, plain = items
    assert text.text == "Hello"
    assert text.data["style"] == "title"
    assert choices.title == "Pick one"
    assert [(c["title"], c["payload"]) for c in choices.data["choices"]] == [
        ("Yes", "Yes"),
        ("No", "/no"),
        ("Later", "Later"),
    ]
    assert table.data["columns"] == ["a", "b"]
    assert table.data["rows"] == [[1, 2], [3, 4]]
    assert (image.url, image.text, image.silent) == ("https://x/y.png", "a cat", True)
    assert (attachment.url, attachment.title) == ("https://x/r.pdf", "report")
    assert unknown.data == {"kind": "map", "lat": 1.5, "lon": 2.5}
    assert plain.text == "a plain string item"


def test_parse_wrappers_and_aliases() -> None:
    assert parse_display_items(None) == ()
    wrapped = parse_display_items({"items": [{"kind": "paragraph", "text": "p"}]})
    assert wrapped[0].kind == "text"
    assert wrapped[0].data["style"] == "paragraph"
    one = parse_display_items({"kind": "choice", "title": "Use saved", "payload": "/choose"})
    assert one[0].kind == "choices"
    assert one[0].payload == "/choose"
    assert one[0].data["choices"][0]["title"] == "Use saved"
    dict_rows = parse_display_items({"kind": "table", "rows": [{"x": 1, "y": 2}]})
    assert dict_rows[0].data["columns"] == ["x", "y"]
    assert dict_rows[0].data["rows"] == [[1, 2]]
    assert parse_display_items({"choices": ["a"]})[0].kind == "choices"
    no_list = parse_display_items({"kind": "choices", "title": "Pick", "choices": "junk"})
    assert no_list[0].data["choices"] == []
    assert no_list[0].payload is None


def test_display_items_are_callable_and_truncate() -> None:
    items = ThalovantDisplayItems([ThalovantDisplayItem(kind="text", text="abcdefghij")])
    assert items() is items
    assert items(5)[0].text == "abcd\u2026"
    assert items(0)[0].text == ""
    assert items(50)[0].text == "abcdefghij"
    assert isinstance(items(5), tuple)
    assert len(items(5)) == 1


def test_event_display_items_fallback_text() -> None:
    event = ev(data={"utterance": "<speak>It is late</speak>"})
    assert [i.as_dict() for i in event.display_items()] == [
        {
            "kind": "text",
            "text": "It is late",
            "title": None,
            "payload": None,
            "url": None,
            "silent": False,
            "data": {},
        }
    ]
    rich = ev(data={"utterance": "x", "rich_media": {"kind": "image", "url": "u"}})
    assert [i.kind for i in rich.display_items()] == ["image"]


# --- replies -------------------------------------------------------------------------------


def speak(text: str, **extra: Any) -> ThalovantEvent:
    data = {"utterance": text, **extra.pop("data", {})}
    return ThalovantEvent(
        "speak", data, extra, raw={"type": "speak", "data": data, "context": extra}
    )


def test_reply_display_items_attribute_and_call() -> None:
    choice = {"kind": "choices", "title": "Pick", "choices": [{"title": "A", "payload": "/a"}]}
    reply = ThalovantReply(
        text="Pick one please",
        utterances=("Pick one please",),
        events=(speak("Pick one please", data={"rich_media": choice}),),
    )
    assert [item.kind for item in reply.display_items] == ["choices"]
    for item in reply.display_items:
        if item.kind == "choices":
            assert [c["title"] for c in item.data["choices"]] == ["A"]
    assert reply.display_items() == reply.display_items
    plain = ThalovantReply(text="<speak>Just text here</speak>")
    assert [i.text for i in plain.display_items] == ["Just text here"]
    assert [i.text for i in plain.display_items(max_text_chars=6)] == ["Just\u2026"]
    assert ThalovantReply().display_items == ()


def test_reply_derived_fields() -> None:
    first = speak("Hi", pipeline_id="adapt_high", skill_id="hello.skill", lang="en-us")
    second = speak("there", pipeline_id="adapt_high", skill_id="other.skill")
    audio = ThalovantEvent("mycroft.audio.queue", {"binary_data": "00"}, {})
    reply = ThalovantReply(
        text="Hi <break/>there",
        utterances=("Hi", "there"),
        handled=True,
        events=(first, audio, second),
        session_id="s",
        request_id="r",
    )
    assert reply.ok
    assert reply.handled
    assert not reply.policy_denied
    assert reply.speech == reply.display_text == "Hi there"
    assert reply.pipeline_ids == ("adapt_high",)
    assert reply.skill_ids == ("hello.skill", "other.skill")
    assert reply.claimed
    assert reply.lang == "en-us"
    assert reply.media_events == (audio,)
    assert reply.has_audio
    assert reply.raw_event == second.raw


def test_reply_claimed_rules() -> None:
    fallback = speak("meh", pipeline_id="fallback_low")
    assert not ThalovantReply(text="meh", events=(fallback,)).claimed
    forced = speak("meh", pipeline_id="fallback_low", data={"meta": {"thalovant_claimed": True}})
    assert ThalovantReply(text="meh", events=(forced,)).claimed
    mixed = (fallback, speak("x", pipeline_id="padatious_high"))
    assert ThalovantReply(text="x", events=mixed).claimed
    assert ThalovantReply(text="x", events=(speak("x"),)).claimed


def test_reply_failure_and_raw_event() -> None:
    denied = ThalovantEvent("hive.policy.denied", {"code": "blocked"}, {}, raw={"type": "hive"})
    reply = ThalovantReply(handled=False, failure_event=denied, events=(denied,))
    assert reply.policy_denied
    assert not reply.ok
    assert reply.raw_event == {"type": "hive"}
    assert ThalovantReply().raw_event is None


def test_reply_as_dict_is_json_ready() -> None:
    reply = ThalovantReply(
        text="Hello",
        utterances=("Hello",),
        handled=True,
        events=(speak("Hello", request_id="r"),),
        request_id="r",
        session_id="s",
        dropped_media=1,
    )
    out = reply.as_dict()
    json.dumps(out)
    assert out["text"] == out["speech"] == "Hello"
    assert out["utterances"] == ["Hello"]
    assert out["ok"] is True
    assert out["dropped_media"] == 1
    assert out["display_items"][0]["kind"] == "text"
    assert out["events"][0]["name"] == "speak"
    assert out["failure_event"] is None


# --- connection info and health ------------------------------------------------------------


def test_connection_info_scrubs_and_validates() -> None:
    info = ThalovantConnectionInfo(
        phase="error",
        protocol="wss",
        last_error="cannot open wss://hub.example/hivemind?authorization=c2VjcmV0 now",
    )
    assert "c2VjcmV0" not in (info.last_error or "")
    assert info.as_dict()["phase"] == "error"
    with pytest.raises(ThalovantRuntimeError):
        ThalovantConnectionInfo(phase="bogus")  # type: ignore[arg-type]


def test_health() -> None:
    healthy = ThalovantHealth(connected=True, handshake_complete=True, transport_alive=True)
    assert healthy.ok
    assert healthy.as_dict()["ok"] is True
    sick = ThalovantHealth(
        connected=True,
        last_error="https://u:pw@hub.example/x?authorization=abc",
        connection=ThalovantConnectionInfo(phase="ready"),
    )
    assert not sick.ok
    out = sick.as_dict()
    assert "pw" not in out["last_error"]
    assert "abc" not in out["last_error"]
    assert out["connection"]["phase"] == "ready"
    json.dumps(out)
