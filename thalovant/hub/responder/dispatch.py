"""What the hub does with each application message of an established session.

:meth:`Dispatcher.route` runs in the session's reader: it validates the message and applies
the connection-level rules at once (a malformed payload raises
:class:`~thalovant.errors.ThalovantProtocolError`, an admin-only kind from a non-admin raises
:class:`PolicyViolation`; the session closes the link for either). It returns the work to do,
a coroutine the session runs concurrently with later messages:

- ``bus``: policy check (``hive.policy.denied`` for a type outside the client's allow-list),
  then a user hook registered for the type, else the skill runtime for utterances, else the
  inventory answers; other types are ignored.
- ``query``: the nested bus message is handled the same way, but every answer travels in a
  ``query`` frame carrying ``metadata.query_id``, and a final ``hive.query.complete`` ends it.
- agent mode (:attr:`Dispatcher.relay` set, e.g. an OVOS messagebus): after the policy check
  and the hooks, bus messages (also a query's) go to the relay instead of the skills.
- ``broadcast`` (admin only) and ``propagate``: delivered to the other connected clients
  (``broadcast`` only to those whose site id equals ``target_site_id``, when set).
- ``bin`` (binary) frames: handed to the binary hooks.
- anything else: ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, Protocol

from thalovant.events import EVENT_RECOGNIZER_LOOP_UTTERANCE
from thalovant.hub.responder.intents import INVENTORY_TYPES, answer_inventory
from thalovant.hub.responder.messages import (
    denied_message,
    normalize_request_context,
    query_complete_message,
    reply_context,
    wrap_bus,
    wrap_query,
)
from thalovant.hub.responder.policy import ADMIN_ONLY_KINDS, denial_data, is_type_allowed
from thalovant.hub.responder.skills import (
    DeliveryError,
    HubFacts,
    SkillContext,
    SkillHandler,
    SkillRuntime,
)
from thalovant.hub.state.registry import ClientRecord
from thalovant.protocol.binary import BinaryFrame
from thalovant.protocol.envelope import BusMessage, HiveMessage, bus_payload, inner_message

__all__ = ["BinaryHandler", "BusRelay", "Dispatcher", "PolicyViolation", "SessionView"]

logger = logging.getLogger("thalovant.hub.dispatch")

_FORWARDED_KINDS = frozenset({"broadcast", "propagate"})


class PolicyViolation(Exception):
    """The client sent a message kind it has no grant for; the hub drops the connection."""


class SessionView(Protocol):
    """What the dispatcher needs from a session (see
    :class:`thalovant.hub.responder.session.HubSession`)."""

    @property
    def client(self) -> ClientRecord: ...

    @property
    def peer(self) -> str: ...

    @property
    def session_id(self) -> str | None: ...

    @property
    def site_id(self) -> str | None: ...

    @property
    def carrier(self) -> str: ...

    async def send_message(self, message: HiveMessage) -> None: ...


BinaryHandler = Callable[[SessionView, BinaryFrame], Awaitable[None]]
"""``async def on_binary(session, frame) -> None``."""


class BusRelay(Protocol):
    """Where agent mode sends client bus messages (and how their replies come back)."""

    async def relay(
        self, session: SessionView, message: BusMessage, *, query_id: str | None = None
    ) -> None:
        """Send ``message`` (context normalised, policy passed) on; ``query_id`` when it came
        in a HiveMind ``query`` (the relay then also completes the query)."""


class Dispatcher:
    """Routes application messages to policy, hooks, skills and other sessions."""

    def __init__(
        self,
        runtime: SkillRuntime,
        *,
        peers: Callable[[], Iterable[SessionView]] = tuple,
        current_client: Callable[[ClientRecord], ClientRecord] | None = None,
        facts: HubFacts | None = None,
    ) -> None:
        self.runtime = runtime
        self.facts = facts
        """What skills may tell about the hub (:attr:`SkillContext.hub`)."""
        self.bus_hooks: dict[str, SkillHandler] = {}
        """User handlers by bus type; they replace the built-in handling of that type."""
        self.binary_hooks: list[BinaryHandler] = []
        self.relay: BusRelay | None = None
        """Agent mode: the relay that answers bus messages instead of the skills."""
        self._peers = peers
        self._current_client = current_client

    def route(
        self, session: SessionView, message: HiveMessage | BinaryFrame
    ) -> Coroutine[Any, Any, None] | None:
        """Validate ``message`` now; return the coroutine that handles it, if any."""
        if isinstance(message, BinaryFrame):
            return self._binary(session, message) if self.binary_hooks else None
        kind = message.msg_type
        if kind in ADMIN_ONLY_KINDS and not self._client(session).admin:
            raise PolicyViolation(f"{kind} needs an admin grant")
        if kind == "bus":
            bus = bus_payload(message)
            return self._bus(session, bus, lambda reply: session.send_message(wrap_bus(reply)))
        if kind == "query":
            inner = inner_message(message)
            if inner.msg_type != "bus":
                logger.debug("ignoring a query that nests %s", inner.msg_type[:40])
                return None
            query_id = _query_id(message, bus_payload(inner))
            return self._query(session, bus_payload(inner), query_id)
        if kind in _FORWARDED_KINDS:
            inner_message(message)  # validates the nested envelope
            return self._forward(session, message)
        return None

    # ---------------------------------------------------------------------------- bus

    async def _bus(
        self,
        session: SessionView,
        bus: BusMessage,
        send: Callable[[BusMessage], Awaitable[None]],
    ) -> None:
        await self._handle(session, bus, send)

    async def _handle(
        self,
        session: SessionView,
        bus: BusMessage,
        send: Callable[[BusMessage], Awaitable[None]],
        query_id: str | None = None,
    ) -> bool:
        """Handle one bus message; ``False`` when the relay took it (it completes queries)."""
        client = self._client(session)
        context = normalize_request_context(
            bus.context, session_id=session.session_id, site_id=session.site_id
        )
        if not is_type_allowed(bus.type, allowed_types=client.allowed_types, admin=client.admin):
            logger.info("denied %s from %s (%s)", bus.type[:60], client.name, session.peer)
            denial = denial_data(bus.type, client.allowed_types)
            await send(denied_message(reply_context(context), denial))
            return True
        hook = self.bus_hooks.get(bus.type)
        if hook is None and self.relay is not None:
            await self.relay.relay(
                session, BusMessage(bus.type, bus.data, context), query_id=query_id
            )
            return False
        session_key = str(context["session"].get("session_id") or session.peer)
        ctx = SkillContext(
            message_type=bus.type,
            data=bus.data,
            request_context=context,
            session_id=session_key,
            session_state=self.runtime.sessions.state(session_key),
            send=send,
            client_name=client.name,
            peer=session.peer,
            carrier=session.carrier,
            hub=self.facts,
        )
        if hook is not None:
            await hook(ctx)
        elif bus.type == EVENT_RECOGNIZER_LOOP_UTTERANCE:
            await self.runtime.handle_utterance(ctx)
        elif bus.type in INVENTORY_TYPES:
            await answer_inventory(ctx, self.runtime.skills)
        else:
            logger.debug("no handler for bus type %s", bus.type[:60])
        return True

    async def _query(self, session: SessionView, bus: BusMessage, query_id: str) -> None:
        async def send(reply: BusMessage) -> None:
            await session.send_message(wrap_query(reply, query_id))

        if not await self._handle(session, bus, send, query_id):
            return
        context = reply_context(
            normalize_request_context(
                bus.context, session_id=session.session_id, site_id=session.site_id
            )
        )
        await send(query_complete_message(context, query_id))

    # ---------------------------------------------------------------------- mesh, bin

    async def _forward(self, session: SessionView, message: HiveMessage) -> None:
        target = message.target_site_id if message.msg_type == "broadcast" else None
        for peer in list(self._peers()):
            if peer is session or (target is not None and peer.site_id != target):
                continue
            try:
                await peer.send_message(message)
            except DeliveryError:
                continue

    async def _binary(self, session: SessionView, frame: BinaryFrame) -> None:
        for hook in list(self.binary_hooks):
            try:
                await hook(session, frame)
            except DeliveryError:
                raise
            except Exception:
                logger.exception("binary hook failed on a frame from %s", session.peer)

    def _client(self, session: SessionView) -> ClientRecord:
        # The registry may have changed since the connection opened (allow-list, admin).
        if self._current_client is None:
            return session.client
        return self._current_client(session.client)


def _query_id(message: HiveMessage, bus: BusMessage) -> str:
    for key in ("query_id", "queryId"):
        value = message.metadata.get(key)
        if isinstance(value, str) and value:
            return value
    for key in ("request_id", "thalovant_request_id"):
        value = bus.context.get(key)
        if isinstance(value, str) and value:
            return value
    return ""
