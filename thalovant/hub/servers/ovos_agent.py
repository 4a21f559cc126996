"""Agent mode: the hub fronts a real OVOS messagebus, as HiveMind-core's OVOS agent plugin does.

``LocalHub(ovos_bus="ws://127.0.0.1:8181/core")`` (``thalovant hub --ovos-bus URL``) keeps one
WebSocket to the bus. The dispatcher still applies the policy (allow-lists, admin-only
kinds) and the tests' bus hooks; every other client ``bus`` message (and the bus message of
a ``query``) is relayed here instead of to the hub's own skills:

- **client → bus**: the hub stamps the connection's peer id into ``context.source`` and
  ``context.peer`` (``<client name>::<session id>``, with a ``::<suffix>`` when two live
  connections would share it) and its own label into ``context.destination``; whatever the
  client put there is overwritten, so a client cannot address another one. The session id of
  a non-admin client is namespaced (``<namespace>:<session id>``, the namespace derived from
  its access key) so two clients never share an OVOS session.
- **bus → client**: a bus message is delivered to each connected peer its
  ``context.destination`` names (``Message.reply`` puts the asker's peer there), with
  ``source`` set to ``"hive"`` and the session id un-namespaced. A message whose ``source`` is
  a connected peer is that peer's own request, never a reply, and goes to nobody. Replies to
  a ``query`` travel in ``query`` frames; ``ovos.utterance.handled`` ends it with
  ``hive.query.complete``.

Each peer has its own bounded outbox and sender task, so a slow client delays only itself.
While the bus is unreachable the agent reconnects in the background, and a relayed message
waits at most ``send_timeout`` for it before it is dropped (logged).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from collections import OrderedDict
from typing import Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from thalovant.errors import ThalovantConnectionError, ThalovantRuntimeError
from thalovant.events import EVENT_UTTERANCE_HANDLED
from thalovant.hub.responder.dispatch import SessionView
from thalovant.hub.responder.messages import query_complete_message, wrap_bus, wrap_query
from thalovant.hub.responder.skills import DeliveryError
from thalovant.protocol.envelope import BusMessage
from thalovant.protocol.framing import MAX_MESSAGE_BYTES
from thalovant.redact import redact_url, scrub_text

__all__ = ["AGENT_LABEL", "OvosAgent"]

logger = logging.getLogger("thalovant.hub.ovos_agent")

AGENT_LABEL = "thalovant-ovos-agent"
"""``context.destination`` of a message relayed to the bus (a label OVOS does not read)."""
_OUTBOX = 256
_MAX_QUERIES = 1024
_BACKOFF = (0.2, 0.5, 1.0, 2.0, 5.0)


class _Peer:
    """One connected client as the bus sees it: its id, namespace and outbox."""

    def __init__(self, session: SessionView, peer_id: str, namespace: str | None) -> None:
        self.session = session
        self.peer_id = peer_id
        self.namespace = namespace
        outbox: tuple[MemoryObjectSendStream[Any], MemoryObjectReceiveStream[Any]]
        outbox = anyio.create_memory_object_stream(_OUTBOX)
        self.outbox, self.inbox = outbox


class OvosAgent:
    """The hub's link to an OVOS messagebus (see the module docs).

    Args:
        url: The bus, ``ws://host:port/core`` (or ``wss://``).
        connect_timeout: Seconds :meth:`start` waits for the first connection.
        send_timeout: Seconds a relayed message waits for the bus (reconnecting) and for a
            client's write.

    Raises:
        ThalovantRuntimeError: ``url`` is not a ``ws://`` or ``wss://`` URL.
    """

    def __init__(
        self, url: str, *, connect_timeout: float = 10.0, send_timeout: float = 10.0
    ) -> None:
        if not url.startswith(("ws://", "wss://")):
            shown = redact_url(url)
            raise ThalovantRuntimeError(f"the OVOS bus URL must be ws:// or wss://, not {shown!r}")
        self.url = url
        self._shown = redact_url(url)
        self.connect_timeout = connect_timeout
        self.send_timeout = send_timeout
        self._ws: ClientConnection | None = None
        self._connected = anyio.Event()
        self._task: asyncio.Task[None] | None = None
        self._tg: TaskGroup | None = None
        self._peers: dict[str, _Peer] = {}
        self._by_session: dict[int, _Peer] = {}
        self._queries: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._last_error = "not connected yet"
        self._closing = False

    @property
    def connected(self) -> bool:
        """Whether the bus link is up right now."""
        return self._ws is not None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect to the bus and start relaying.

        Raises:
            ThalovantConnectionError: The bus did not answer within ``connect_timeout``.
        """
        started = anyio.Event()
        self._task = asyncio.get_running_loop().create_task(self._main(started))
        await started.wait()
        with anyio.move_on_after(self.connect_timeout):
            await self._connected.wait()
        if not self._connected.is_set():
            await self.aclose()
            raise ThalovantConnectionError(
                f"the hub could not reach the OVOS messagebus at {self._shown}: "
                f"{scrub_text(self._last_error)}"
            )
        logger.info("agent mode: relaying client bus messages to %s", self._shown)

    async def aclose(self) -> None:
        """Stop relaying and close the bus link."""
        task, self._task = self._task, None
        self._closing = True
        if task is not None:
            task.cancel()
            with anyio.CancelScope(shield=True):
                await asyncio.wait({task}, timeout=5.0)

    async def _main(self, started: anyio.Event) -> None:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            started.set()
            attempt = 0
            while True:
                try:
                    async with connect(
                        self.url, max_size=MAX_MESSAGE_BYTES, open_timeout=self.connect_timeout
                    ) as ws:
                        self._ws, attempt = ws, 0
                        self._connected.set()
                        async for frame in ws:
                            try:
                                self._from_bus(frame)
                            except Exception:
                                logger.exception("could not route a message from the OVOS bus")
                except (OSError, TimeoutError, WebSocketException) as exc:
                    self._last_error = f"{type(exc).__name__}: {exc}"[:300]
                finally:
                    if self._ws is not None and not self._closing:
                        logger.warning("the OVOS messagebus link dropped; reconnecting")
                    self._ws = None
                    if self._connected.is_set():  # waiters on an unset event keep waiting
                        self._connected = anyio.Event()
                await anyio.sleep(_BACKOFF[min(attempt, len(_BACKOFF) - 1)])
                attempt += 1

    # ---------------------------------------------------------------- client side

    def _peer(self, session: SessionView) -> _Peer:
        known = self._by_session.get(id(session))
        if known is not None:
            return known
        client = session.client
        peer_id = f"{client.name}::{session.session_id or session.peer}"
        if peer_id in self._peers:
            peer_id += f"::{secrets.token_hex(4)}"
        namespace = None
        if not client.admin:
            digest = hashlib.blake2s(client.access_key.encode(), person=b"thalovnt").hexdigest()
            namespace = digest[:16]
        peer = _Peer(session, peer_id, namespace)
        self._peers[peer_id] = peer
        self._by_session[id(session)] = peer
        if self._tg is not None:
            self._tg.start_soon(self._pump, peer)
        return peer

    def forget(self, session: SessionView) -> None:
        """The client disconnected: drop its peer id and outbox."""
        peer = self._by_session.pop(id(session), None)
        if peer is not None:
            self._peers.pop(peer.peer_id, None)
            peer.outbox.close()
            for key in [k for k in self._queries if k[0] == peer.peer_id]:
                del self._queries[key]

    async def relay(
        self, session: SessionView, message: BusMessage, *, query_id: str | None = None
    ) -> None:
        """Send a client's bus message (its context normalised by the dispatcher) to the bus.

        Args:
            session: The client's connection.
            message: The bus message.
            query_id: Set when it came in a HiveMind ``query``: its replies travel in
                ``query`` frames, and ``ovos.utterance.handled`` completes it.
        """
        peer = self._peer(session)
        context = dict(message.context)
        context["peer"] = context["source"] = peer.peer_id
        context["destination"] = AGENT_LABEL
        session_ctx = context.get("session")
        if peer.namespace is not None and isinstance(session_ctx, dict):
            sid = session_ctx.get("session_id")
            if isinstance(sid, str) and sid:
                context["session"] = {**session_ctx, "session_id": f"{peer.namespace}:{sid}"}
        if query_id is not None:
            self._queries[(peer.peer_id, _request_key(context))] = query_id
            while len(self._queries) > _MAX_QUERIES:
                self._queries.popitem(last=False)
        frame = json.dumps({"type": message.type, "data": message.data, "context": context})
        with anyio.move_on_after(self.send_timeout):
            while True:
                ws = self._ws
                if ws is None:
                    await self._connected.wait()
                    continue
                try:
                    await ws.send(frame)
                    return
                except WebSocketException:
                    await anyio.sleep(0.05)  # the reader notices the drop and reconnects
        logger.warning(
            "dropped %s from %s: the OVOS messagebus is unreachable (%s)",
            message.type[:60],
            peer.peer_id,
            self._last_error,
        )

    # ------------------------------------------------------------------- bus side

    def _from_bus(self, frame: str | bytes) -> None:
        try:
            raw = json.loads(frame)
        except (ValueError, RecursionError):
            logger.debug("ignoring a bus frame that is not JSON")
            return
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            return
        context = raw.get("context")
        data = raw.get("data")
        if not isinstance(context, dict):
            return
        targets = context.get("destination") or []
        if not isinstance(targets, list):
            targets = [targets]
        source = context.get("source")
        if isinstance(source, str) and source in self._peers:
            return  # a peer's own request (or something forwarded from it): not a reply
        for target in targets:
            peer = self._peers.get(target) if isinstance(target, str) else None
            if peer is None:
                continue
            out = dict(context, source="hive")
            session_ctx = out.get("session")
            prefix = f"{peer.namespace}:" if peer.namespace else None
            if prefix and isinstance(session_ctx, dict):
                sid = session_ctx.get("session_id")
                if isinstance(sid, str) and sid.startswith(prefix) and len(sid) > len(prefix):
                    out["session"] = {**session_ctx, "session_id": sid[len(prefix) :]}
            message = BusMessage(raw["type"], data if isinstance(data, dict) else {}, out)
            try:
                peer.outbox.send_nowait(message)
            except anyio.WouldBlock:
                logger.warning("outbox of %s is full: dropped %s", peer.peer_id, raw["type"][:60])
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                continue

    async def _pump(self, peer: _Peer) -> None:
        """Deliver a peer's replies in order (``query`` frames for a query's)."""
        async with peer.inbox:
            async for message in peer.inbox:
                key = (peer.peer_id, _request_key(message.context))
                query_id = self._queries.get(key)
                try:
                    with anyio.fail_after(self.send_timeout):
                        if query_id is None:
                            await peer.session.send_message(wrap_bus(message))
                            continue
                        await peer.session.send_message(wrap_query(message, query_id))
                        if message.type == EVENT_UTTERANCE_HANDLED:
                            self._queries.pop(key, None)
                            done = query_complete_message(message.context, query_id)
                            await peer.session.send_message(wrap_query(done, query_id))
                except (DeliveryError, TimeoutError):
                    logger.debug("reply to %s not delivered: connection gone", peer.peer_id)
                    self.forget(peer.session)  # a closed session sends nothing more
                except Exception:
                    logger.exception("could not deliver %s to %s", message.type[:60], peer.peer_id)


def _request_key(context: dict[str, Any]) -> str:
    """The request id a reply carries back (``request_id``, else the session's)."""
    session = context.get("session")
    for value in (
        context.get("request_id"),
        context.get("thalovant_request_id"),
        session.get("request_id") if isinstance(session, dict) else None,
    ):
        if isinstance(value, str) and value:
            return value
    return ""
