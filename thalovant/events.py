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
    "HIVE_BROADCAST",
    "HIVE_ESCALATE",
    "HIVE_INTERCOM",
    "HIVE_KINDS",
    "HIVE_PROPAGATE",
    "HIVE_RENDEZVOUS",
    "HOME_REQUEST",
    "HOME_RESPONSE",
    "SPEAK_EVENTS",
    "THALOVANT_CLAIMED_META_KEY",
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
HOME_REQUEST = EVENT_HOME_REQUEST
HOME_RESPONSE = EVENT_HOME_RESPONSE

# HiveMind message kinds a client can subscribe to with ``on_hive``.
HIVE_BROADCAST = "broadcast"
HIVE_PROPAGATE = "propagate"
HIVE_ESCALATE = "escalate"
HIVE_INTERCOM = "intercom"
HIVE_RENDEZVOUS = "rendezvous"
HIVE_KINDS: tuple[str, ...] = (
    HIVE_BROADCAST,
    HIVE_PROPAGATE,
    HIVE_ESCALATE,
    HIVE_INTERCOM,
    HIVE_RENDEZVOUS,
)

#: ``data.meta`` key of a ``speak`` that marks the reply as claimed (``ThalovantReply.claimed``).
THALOVANT_CLAIMED_META_KEY = "thalovant_claimed"

#: Events that carry reply speech.
SPEAK_EVENTS = frozenset({EVENT_SPEAK, EVENT_OVOS_UTTERANCE_SPEAK})
#: Events that end a request without an answer.
FAILURE_EVENTS = frozenset(
    {EVENT_INTENT_FAILURE, EVENT_INTENT_UNMATCHED, EVENT_POLICY_DENIED, EVENT_QUERY_TIMEOUT}
)
