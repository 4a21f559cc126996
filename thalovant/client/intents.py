"""The intent inventory of ``AsyncThalovantClient``: ``list_intents``, ``describe_intent`` and
``intents`` (docs/protocol.md §4).

A mixin. Each query is a ``bus`` message (``ovos.intent.list`` data ``{"lang"[,
"include_definitions": true]}``, ``ovos.intent.describe`` data ``{"skill_id", "intent_name",
"lang"}``, context ``{"request_id", "lang"}`` + stamping), answered by the matching
``.response`` event carrying the request id. A ``hive.policy.denied`` naming the query type
(hubs send it without a request id) fails the query with ``ThalovantPolicyDeniedError``.
``intents()`` falls back to the adapt/padatious manifest queries when the list is refused or
unanswered, and builds the per-skill :class:`~thalovant.models.intents.HubIntentInventory`.
Every query has one deadline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import anyio

from thalovant.client.correlation import new_request_id
from thalovant.client.options import DEFAULT_CONNECT_TIMEOUT
from thalovant.client.outgoing import RequestStamp, build_emit, require_text
from thalovant.client.runtime import ClientRuntime
from thalovant.errors import (
    ThalovantPolicyDeniedError,
    ThalovantRuntimeError,
    ThalovantTimeoutError,
)
from thalovant.events import (
    EVENT_INTENT_DESCRIBE,
    EVENT_INTENT_DESCRIBE_RESPONSE,
    EVENT_INTENT_LIST,
    EVENT_INTENT_LIST_RESPONSE,
    EVENT_POLICY_DENIED,
)
from thalovant.link.link import Link
from thalovant.models.intents import (
    HubIntent,
    HubIntentInventory,
    HubSkillIntents,
    IntentDefinition,
    IntentRegistration,
)
from thalovant.models.types import ThalovantEvent

__all__ = ["ADAPT_MANIFEST", "PADATIOUS_MANIFEST", "IntentMethods"]

#: Engine manifest queries and their answers (``intents()``'s fallback).
ADAPT_MANIFEST = ("intent.service.adapt.manifest.get", "intent.service.adapt.manifest")
PADATIOUS_MANIFEST = ("intent.service.padatious.manifest.get", "intent.service.padatious.manifest")
#: ``intents(describe=True)`` describes at most this many intents without phrases.
MAX_DESCRIBES = 64
_MAX_ENTRIES = 4096


class _AnswerSink:
    """The request sink of one query: the first answer event, or an error."""

    def __init__(self, response: str) -> None:
        self.response = response
        self.answer: ThalovantEvent | None = None
        self.error: BaseException | None = None
        self.done = anyio.Event()

    def deliver(self, event: ThalovantEvent) -> None:
        if self.done.is_set():
            return
        if event.name == self.response:
            self.answer = event
        elif event.name == EVENT_POLICY_DENIED:
            self.error = ThalovantPolicyDeniedError.from_data(event.data)
        else:
            return
        self.done.set()

    def fail(self, exc: BaseException) -> None:
        if not self.done.is_set():
            self.error = exc
            self.done.set()


def _entries(data: Mapping[str, Any], *keys: str) -> list[Any]:
    for key in keys:
        value = data.get(key)
        if isinstance(value, list):
            return value[:_MAX_ENTRIES]
    return []


class IntentMethods:
    """``list_intents``, ``describe_intent`` and ``intents`` of the async client."""

    _runtime: ClientRuntime
    _stamp: RequestStamp

    async def _inquire(
        self, msg_type: str, data: Mapping[str, Any], lang: str, response: str, timeout: float
    ) -> ThalovantEvent:
        """Send one query and wait for its ``response`` event (or a denial) by ``timeout``."""
        self._runtime.check_loop()
        if timeout <= 0:
            raise ThalovantRuntimeError("timeout must be positive")
        rid = new_request_id()
        sink = _AnswerSink(response)
        bus = self._runtime.open_bus()
        reg = bus.register_request(rid, sink)
        reg.mark_done()  # routed by id, but never an ask a denial could be attributed to

        def denied(event: ThalovantEvent) -> bool:
            named = event.data.get("denied_type") or event.data.get("msg_type")
            return named == msg_type and event.request_id in (None, rid)

        watch = bus.on(EVENT_POLICY_DENIED, sink.deliver, predicate=denied)
        try:
            context = {"request_id": rid, "lang": lang}

            async def send(link: Link) -> None:
                await link.send(build_emit(self._stamp, msg_type, data, context, link.session_id))

            connect_by = anyio.current_time() + max(timeout, DEFAULT_CONNECT_TIMEOUT)
            await self._runtime.publish(connect_by, send)
            with anyio.move_on_after(timeout):
                await sink.done.wait()
        finally:
            reg.close()
            watch.close()
        if sink.error is not None:
            raise sink.error
        if sink.answer is None:
            raise ThalovantTimeoutError(f"the hub did not answer {msg_type} within {timeout:g} s")
        return sink.answer

    async def list_intents(
        self, lang: str | None = None, *, timeout: float = 5.0, include_definitions: bool = False
    ) -> list[IntentRegistration]:
        """The hub's registered intents (``ovos.intent.list``).

        Args:
            lang: The language (default ``en-us``).
            timeout: Seconds for the answer (connecting included, at least 25 for that).
            include_definitions: Ask for each intent's definition too.

        Returns:
            The registrations (malformed entries skipped).

        Raises:
            ThalovantPolicyDeniedError: The hub does not let this client list intents.
            ThalovantTimeoutError: No answer in time.
            ThalovantConnectionError: Not connected in time, or the link dropped.
        """
        language = lang or "en-us"
        data: dict[str, Any] = {"lang": language}
        if include_definitions:
            data["include_definitions"] = True
        event = await self._inquire(
            EVENT_INTENT_LIST, data, language, EVENT_INTENT_LIST_RESPONSE, timeout
        )
        found = []
        for raw in _entries(event.data, "intents", "registrations"):
            reg = IntentRegistration.from_mapping(raw)
            if reg is not None:
                found.append(reg if reg.lang else _with_lang(reg, language))
        return found

    async def describe_intent(
        self, skill_id: str, intent_name: str, lang: str | None = None, *, timeout: float = 5.0
    ) -> list[IntentDefinition]:
        """One intent's definitions (``ovos.intent.describe``).

        Args:
            skill_id: The skill.
            intent_name: The intent.
            lang: The language (default ``en-us``).
            timeout: Seconds for the answer.

        Returns:
            Its definitions; empty when the hub does not know the intent.

        Raises:
            ThalovantPolicyDeniedError: The hub does not let this client describe intents.
            ThalovantTimeoutError: No answer in time.
            ThalovantConnectionError: Not connected in time, or the link dropped.
        """
        require_text(skill_id, "skill_id")
        require_text(intent_name, "intent_name")
        language = lang or "en-us"
        data = {"skill_id": skill_id, "intent_name": intent_name, "lang": language}
        event = await self._inquire(
            EVENT_INTENT_DESCRIBE, data, language, EVENT_INTENT_DESCRIBE_RESPONSE, timeout
        )
        if event.data.get("found") is False:
            return []
        items = _entries(event.data, "definitions", "intents")
        if not items:
            items = [{**data, **event.data}]
        found = []
        for raw in items:
            if isinstance(raw, Mapping):
                item = {"skill_id": skill_id, "intent_name": intent_name, **raw}
                item.setdefault("lang", language)
                definition = IntentDefinition.from_mapping(item)
                if definition is not None:
                    found.append(definition)
        return found

    async def intents(
        self,
        languages: Iterable[str] | None = None,
        *,
        timeout: float = 5.0,
        describe: bool = True,
        fallback: bool = True,
        nearest: bool = True,
    ) -> HubIntentInventory:
        """What the hub can answer, per skill, in ``languages``.

        Args:
            languages: Language tags (default ``["en-us"]``).
            timeout: Seconds for each query.
            describe: Describe intents listed without phrases (at most 64).
            fallback: When the list is refused or unanswered, ask the engine manifests.
            nearest: Accept phrases of the same primary language (``en-gb`` for ``en-us``).

        Returns:
            The inventory (``denied`` names refused query types).

        Raises:
            ThalovantPolicyDeniedError: Everything was refused and ``fallback`` is off.
            ThalovantTimeoutError: Nothing answered (and no fallback answered either).
            ThalovantConnectionError: Not connected in time, or the link dropped.
        """
        langs = [lang.strip().lower() for lang in (languages or ["en-us"]) if lang.strip()]
        langs = list(dict.fromkeys(langs)) or ["en-us"]
        regs: list[IntentRegistration] = []
        listed: list[str] = []
        denied: list[str] = []
        last_error: BaseException | None = None
        for lang in langs:
            try:
                regs += await self.list_intents(lang, timeout=timeout, include_definitions=describe)
                listed.append(lang)
            except (ThalovantPolicyDeniedError, ThalovantTimeoutError) as exc:
                if isinstance(exc, ThalovantPolicyDeniedError) and EVENT_INTENT_LIST not in denied:
                    denied.append(EVENT_INTENT_LIST)
                last_error = exc
                if not fallback:
                    raise
                break
        if not listed:
            return await self._from_manifests(langs, timeout, denied, last_error)
        if describe:
            regs = await self._describe_missing(regs, timeout)
        return HubIntentInventory(
            languages=tuple(langs),
            skills=_group(regs, langs, nearest),
            source="intent-manifest",
            listed_in=tuple(listed),
            denied=tuple(denied),
        )

    async def _describe_missing(
        self, regs: list[IntentRegistration], timeout: float
    ) -> list[IntentRegistration]:
        out: list[IntentRegistration] = []
        budget = MAX_DESCRIBES
        for reg in regs:
            if reg.samples or budget <= 0:
                out.append(reg)
                continue
            budget -= 1
            try:
                defs = await self.describe_intent(
                    reg.skill_id, reg.intent_name, reg.lang, timeout=timeout
                )
            except (ThalovantPolicyDeniedError, ThalovantTimeoutError):
                out.append(reg)
                budget = 0  # the hub will not describe: stop asking
                continue
            samples = [s for d in defs for s in d.samples]
            definition = {"samples": samples} if samples else reg.definition
            out.append(_with_definition(reg, definition))
        return out

    async def _from_manifests(
        self, langs: list[str], timeout: float, denied: list[str], error: BaseException | None
    ) -> HubIntentInventory:
        regs: list[IntentRegistration] = []
        answered = False
        for (query, answer), engine in (
            (ADAPT_MANIFEST, "adapt"),
            (PADATIOUS_MANIFEST, "padatious"),
        ):
            try:
                event = await self._inquire(query, {}, langs[0], answer, timeout)
            except ThalovantPolicyDeniedError as exc:
                denied.append(query)
                error = exc
                continue
            except ThalovantTimeoutError as exc:
                error = exc
                continue
            answered = True
            for raw in _entries(event.data, "intents"):
                reg = _manifest_entry(raw, engine, langs[0])
                if reg is not None:
                    regs.append(reg)
        if not answered:
            assert error is not None
            raise error
        return HubIntentInventory(
            languages=tuple(langs),
            skills=_group(regs, langs, nearest=True),
            source="engine-manifests",
            listed_in=(),
            denied=tuple(denied),
        )


def _with_lang(reg: IntentRegistration, lang: str) -> IntentRegistration:
    return IntentRegistration(
        reg.skill_id, reg.intent_name, lang, reg.method, reg.enabled, reg.session_id, reg.definition
    )


def _with_definition(
    reg: IntentRegistration, definition: dict[str, Any] | None
) -> IntentRegistration:
    return IntentRegistration(
        reg.skill_id, reg.intent_name, reg.lang, reg.method, reg.enabled, reg.session_id, definition
    )


def _manifest_entry(raw: Any, engine: str, lang: str) -> IntentRegistration | None:
    """A manifest names intents as ``skill_id:intent`` strings or as mappings."""
    if isinstance(raw, str) and raw.strip():
        skill, sep, name = raw.strip().rpartition(":")
        return IntentRegistration(skill if sep else "unknown", name, lang, engine)
    if isinstance(raw, Mapping):
        item = {"method": engine, "lang": lang, **raw}
        if "intent_name" not in item and isinstance(item.get("name"), str):
            skill, sep, name = item["name"].rpartition(":")
            item.setdefault("skill_id", skill if sep else "unknown")
            item["intent_name"] = name
        return IntentRegistration.from_mapping(item)
    return None


def _group(
    regs: list[IntentRegistration], langs: list[str], nearest: bool
) -> tuple[HubSkillIntents, ...]:
    """Registrations (one per intent and language) as skills with phrases per language."""
    by_skill: dict[str, dict[str, dict[str, Any]]] = {}
    for reg in regs:
        lang = reg.lang or langs[0]
        if not nearest and lang not in langs:
            continue
        intent = by_skill.setdefault(reg.skill_id, {}).setdefault(
            reg.intent_name, {"engine": reg.method, "phrases": {}, "enabled": reg.enabled}
        )
        if reg.samples:
            intent["phrases"].setdefault(lang, tuple(reg.samples))
    return tuple(
        HubSkillIntents(
            skill_id,
            tuple(
                HubIntent(skill_id, name, v["engine"], dict(v["phrases"]), v["enabled"])
                for name, v in intents.items()
            ),
        )
        for skill_id, intents in by_skill.items()
    )
