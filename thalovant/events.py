"""Names of the OVOS / HiveMind bus events the SDK sends, waits for or documents."""

from __future__ import annotations

__all__ = [
    "EVENT_AUDIO_QUEUE",
    "EVENT_HOME_REQUEST",
    "EVENT_HOME_RESPONSE",
    "EVENT_INTENT_DESCRIBE",
    "EVENT_INTENT_DESCRIBE_RESPONSE",
    "EVENT_INTENT_FAILURE",
    "EVENT_INTENT_LIST",
    "EVENT_INTENT_LIST_RESPONSE",
    "EVENT_INTENT_UNMATCHED",
    "EVENT_OVOS_UTTERANCE_SPEAK",
    "EVENT_POLICY_DENIED",
    "EVENT_QUERY_COMPLETE",
    "EVENT_QUERY_TIMEOUT",
    "EVENT_RECOGNIZER_LOOP_UTTERANCE",
    "EVENT_SKILL_HANDLER_COMPLETE",
    "EVENT_SKILL_HANDLER_START",
    "EVENT_SKILLS_LIST",
    "EVENT_SKILLS_LIST_RESPONSE",
    "EVENT_SPEAK",
    "EVENT_UTTERANCE_HANDLED",
    "FAILURE_EVENTS",
    "SPEAK_EVENTS",
]

EVENT_RECOGNIZER_LOOP_UTTERANCE = "recognizer_loop:utterance"
EVENT_SPEAK = "speak"
EVENT_OVOS_UTTERANCE_SPEAK = "ovos.utterance.speak"
EVENT_UTTERANCE_HANDLED = "ovos.utterance.handled"
EVENT_INTENT_FAILURE = "complete_intent_failure"  # older hubs
EVENT_INTENT_UNMATCHED = "ovos.intent.unmatched"  # newer hubs
EVENT_POLICY_DENIED = "hive.policy.denied"
EVENT_QUERY_TIMEOUT = "hive.query.timeout"
EVENT_QUERY_COMPLETE = "hive.query.complete"
EVENT_AUDIO_QUEUE = "mycroft.audio.queue"
EVENT_SKILL_HANDLER_START = "mycroft.skill.handler.start"
EVENT_SKILL_HANDLER_COMPLETE = "mycroft.skill.handler.complete"
EVENT_INTENT_LIST = "ovos.intent.list"
EVENT_INTENT_LIST_RESPONSE = "ovos.intent.list.response"
EVENT_INTENT_DESCRIBE = "ovos.intent.describe"
EVENT_INTENT_DESCRIBE_RESPONSE = "ovos.intent.describe.response"
EVENT_SKILLS_LIST = "ovos.skills.list"
EVENT_SKILLS_LIST_RESPONSE = "ovos.skills.list.response"
EVENT_HOME_REQUEST = "thalovant.home.request"
EVENT_HOME_RESPONSE = "thalovant.home.response"

#: Events that carry reply speech.
SPEAK_EVENTS = frozenset({EVENT_SPEAK, EVENT_OVOS_UTTERANCE_SPEAK})
#: Events that end a request without an answer.
FAILURE_EVENTS = frozenset(
    {EVENT_INTENT_FAILURE, EVENT_INTENT_UNMATCHED, EVENT_POLICY_DENIED, EVENT_QUERY_TIMEOUT}
)
