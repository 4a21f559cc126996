"""The demo home-link relay: the local hub's side of the Home Assistant link.

A user says ``"home <request>"`` (``"home turn on the kitchen light"``) to any client; the hub
sends ``thalovant.home.request`` ``{request_id, utterance, lang, conversation_id}`` to the
linked Home Assistant client, waits at most ``timeout`` (10 s, the hub's bound) for the one
``thalovant.home.response`` with that ``request_id``, and speaks its ``speech``.

The linked client is the connected client registered under :data:`HOME_LINK_CLIENT_NAME`;
without one, the asking client gets the request itself (one client can be both ends of a
demo). Only that target's answer counts, at most :data:`MAX_PENDING` requests wait at once,
and a spoken answer is at most :data:`MAX_SPEECH_CHARS` long.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import anyio

from thalovant.events import EVENT_HOME_REQUEST, EVENT_HOME_RESPONSE
from thalovant.hub.responder.hooks import SkillHooks
from thalovant.hub.responder.messages import wrap_bus
from thalovant.hub.responder.skills import SkillContext
from thalovant.hub.state.registry import ClientRecord
from thalovant.protocol.envelope import BusMessage, HiveMessage

__all__ = ["HOME_LINK_CLIENT_NAME", "HOME_LINK_SKILL", "HomeLinkRelay"]

logger = logging.getLogger("thalovant.hub")

HOME_LINK_CLIENT_NAME = "home-assistant"
"""The registered name of the client that answers home-link requests."""
HOME_LINK_SKILL = "thalovant-demo.home"
MAX_PENDING = 64
MAX_SPEECH_CHARS = 2000
_MATCH = r"^\s*home[,:]?\s+(?P<request>\S.*)$"


class _Peer(Protocol):
    @property
    def client(self) -> ClientRecord: ...

    @property
    def ready(self) -> bool: ...

    async def send_message(self, message: HiveMessage) -> None: ...


class _Pending:
    __slots__ = ("answer", "done", "target")

    def __init__(self, target: str) -> None:
        self.target = target
        self.done = anyio.Event()
        self.answer: dict[str, Any] | None = None


class HomeLinkRelay:
    """Relays ``"home ..."`` utterances to the linked Home Assistant client.

    Args:
        peers: The hub's connected sessions.
        timeout: Seconds to wait for the answer (the hub's bound).
        client_name: The registered name of the linked client.
    """

    def __init__(
        self,
        peers: Callable[[], Iterable[_Peer]],
        *,
        timeout: float = 10.0,
        client_name: str = HOME_LINK_CLIENT_NAME,
    ) -> None:
        self._peers = peers
        self.timeout = timeout
        self.client_name = client_name
        self._pending: dict[str, _Pending] = {}

    def install(self, hooks: SkillHooks) -> None:
        """Register the relay's skill and its ``thalovant.home.response`` hook.

        Args:
            hooks: The hub (its skill and bus-hook registration).
        """
        hooks.skill(
            HOME_LINK_SKILL,
            match=_MATCH,
            examples=("home turn on the kitchen light",),
            description="Asks the linked Home Assistant",
        )(self._ask)
        hooks.on_bus(EVENT_HOME_RESPONSE)(self._answered)

    def _target(self) -> _Peer | None:
        return next(
            (p for p in self._peers() if p.ready and p.client.name == self.client_name), None
        )

    async def _ask(self, ctx: SkillContext) -> None:
        if len(self._pending) >= MAX_PENDING:
            await ctx.speak("Home Assistant is busy; try again in a moment.")
            return
        match = ctx.match
        utterance = match.group("request").strip() if match else ctx.utterance
        request_id = f"home-{secrets.token_hex(8)}"
        target = self._target()
        data = {
            "request_id": request_id,
            "utterance": utterance,
            "lang": ctx.lang,
            "conversation_id": ctx.session_id,
        }
        context = {"source": "hub", "destination": "home_assistant", "session": {}}
        request = BusMessage(EVENT_HOME_REQUEST, data, context)
        pending = _Pending(target.client.name if target is not None else ctx.client_name)
        self._pending[request_id] = pending
        try:
            if target is not None:
                await target.send_message(wrap_bus(request))
            else:
                await ctx.send(request)
            with anyio.move_on_after(self.timeout):
                await pending.done.wait()
        finally:
            self._pending.pop(request_id, None)
        await ctx.speak(_speech(pending.answer))

    async def _answered(self, ctx: SkillContext) -> None:
        request_id = ctx.data.get("request_id")
        pending = self._pending.get(request_id) if isinstance(request_id, str) else None
        if pending is None or pending.target != ctx.client_name or pending.done.is_set():
            logger.debug("ignoring a home-link answer from %s", ctx.client_name)
            return
        pending.answer = dict(ctx.data)
        pending.done.set()


def _speech(answer: dict[str, Any] | None) -> str:
    if answer is None:
        return "Home Assistant did not answer in time."
    speech = answer.get("speech")
    text = re.sub(r"\s+", " ", speech).strip()[:MAX_SPEECH_CHARS] if isinstance(speech, str) else ""
    if answer.get("response_type") == "error":
        code = answer.get("error_code")
        return text or f"Home Assistant could not do that ({str(code)[:40]})."
    return text or "Done."
