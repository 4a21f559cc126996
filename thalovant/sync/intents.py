"""The blocking intent inventory of ``ThalovantClient``: ``list_intents``,
``describe_intent`` and ``intents``.

A mixin of :class:`~thalovant.sync.client.ThalovantClient`: each method is one call of its
async twin (:mod:`thalovant.client.intents`) through the client's loop thread.
"""

from __future__ import annotations

from collections.abc import Iterable

from thalovant.client.client import AsyncThalovantClient
from thalovant.models.intents import HubIntentInventory, IntentDefinition, IntentRegistration
from thalovant.sync.portal import LoopThread

__all__ = ["IntentMethods"]


class IntentMethods:
    """``list_intents``, ``describe_intent`` and ``intents`` of the blocking client."""

    _async: AsyncThalovantClient
    _loop: LoopThread

    def list_intents(
        self, lang: str | None = None, *, timeout: float = 5.0, include_definitions: bool = False
    ) -> list[IntentRegistration]:
        """The hub's registered intents (``AsyncThalovantClient.list_intents``).

        Args:
            lang: The language (default ``en-us``).
            timeout: Seconds for the answer.
            include_definitions: Ask for each intent's definition too.

        Returns:
            The registrations.

        Raises:
            ThalovantPolicyDeniedError: The hub does not let this client list intents.
            ThalovantTimeoutError: No answer in time.
        """
        return self._loop.call(
            self._async.list_intents, lang, timeout=timeout, include_definitions=include_definitions
        )

    def describe_intent(
        self, skill_id: str, intent_name: str, lang: str | None = None, *, timeout: float = 5.0
    ) -> list[IntentDefinition]:
        """One intent's definitions (``AsyncThalovantClient.describe_intent``).

        Args:
            skill_id: The skill.
            intent_name: The intent.
            lang: The language (default ``en-us``).
            timeout: Seconds for the answer.

        Returns:
            Its definitions.

        Raises:
            ThalovantPolicyDeniedError: The hub does not let this client describe intents.
            ThalovantTimeoutError: No answer in time.
        """
        return self._loop.call(
            self._async.describe_intent, skill_id, intent_name, lang, timeout=timeout
        )

    def intents(
        self,
        languages: Iterable[str] | None = None,
        *,
        timeout: float = 5.0,
        describe: bool = True,
        fallback: bool = True,
        nearest: bool = True,
    ) -> HubIntentInventory:
        """What the hub can answer, per skill (``AsyncThalovantClient.intents``).

        Args:
            languages: Language tags (default ``["en-us"]``).
            timeout: Seconds for each query.
            describe: Describe intents listed without phrases.
            fallback: Ask the engine manifests when the list is refused or unanswered.
            nearest: Accept phrases of the same primary language.

        Returns:
            The inventory.

        Raises:
            ThalovantPolicyDeniedError: Everything was refused and ``fallback`` is off.
            ThalovantTimeoutError: Nothing answered.
        """
        langs = None if languages is None else list(languages)
        return self._loop.call(
            self._async.intents,
            langs,
            timeout=timeout,
            describe=describe,
            fallback=fallback,
            nearest=nearest,
        )
