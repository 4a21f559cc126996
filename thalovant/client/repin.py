"""A changed hub key and the pin policy: ask it, and re-pin when it says yes (issue #15).

The dial (``ClientRuntime``) calls :func:`accept_hub_key` when the hub presents another static
key than the pinned one; a yes re-pins under the key store's lock (a compare-and-swap, so
workers sharing the folder agree) and the dial runs again at once. Anything else leaves the
change terminal (``ThalovantHubKeyChangedError``). The keys are public keys, not secrets.
"""

from __future__ import annotations

import inspect
import logging

import anyio

from thalovant.errors import ThalovantError, ThalovantHubKeyChangedError
from thalovant.link.policy import HubKeyChange, HubKeyPolicy
from thalovant.link.settings import LinkSettings

__all__ = ["accept_hub_key"]

logger = logging.getLogger("thalovant.client")

#: Bound of one pin-policy decision.
PIN_POLICY_SECONDS = 30.0


async def accept_hub_key(
    decide: HubKeyPolicy | None, settings: LinkSettings, exc: ThalovantHubKeyChangedError
) -> bool:
    """Ask ``decide`` about the key change in ``exc``; re-pin when it says yes.

    Args:
        decide: The pin policy (None: never accept).
        settings: The link's settings (key store and pin id).
        exc: The key change (with the pinned and presented keys).

    Returns:
        True when the presented key is now pinned (dial again).
    """
    old, new = exc.pinned_key, exc.presented_key
    if decide is None or old is None or new is None:
        return False
    change = HubKeyChange(settings.pin_id, old, new)
    try:
        with anyio.fail_after(PIN_POLICY_SECONDS):
            verdict = decide(change)
            if inspect.isawaitable(verdict):
                verdict = await verdict
    except Exception as error:  # a raising (or slow) policy says no
        logger.warning("the pin policy failed (%s); the hub key change stands", error)
        return False
    if verdict is not True:
        logger.warning("the pin policy refused the hub's new key for %s", settings.pin_id)
        return False
    try:
        swapped = await anyio.to_thread.run_sync(
            settings.key_store.replace_pin, settings.pin_id, old, new
        )
    except ThalovantError as error:
        logger.warning("cannot re-pin the hub key: %s", error)
        return False
    if swapped:
        logger.warning("re-pinned the hub key for %s (the pin policy accepted it)", settings.pin_id)
    return swapped
