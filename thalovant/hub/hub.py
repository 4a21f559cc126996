"""``LocalHub``: a HiveMind v3 hub on loopback for development, demos and tests.

The hub object puts the layers of :mod:`thalovant.hub` together: the state (keys, registry),
the responder (dispatcher, skill runtime, the services every session shares), the listeners
(:class:`~thalovant.hub.servers.listeners.Listeners`) and, when asked, the local control
plane's app on the HTTPS server. Client enrolment (:mod:`thalovant.hub.enrolment`) and skill
registration (:mod:`thalovant.hub.responder.hooks`) are inherited (docs/architecture.md, "The hub").
"""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio

from thalovant.errors import ThalovantRuntimeError
from thalovant.hub.control.api import build_control_app
from thalovant.hub.control.resources import HUB_TITLE
from thalovant.hub.enrolment import ClientEnrolment, MqttProvisioner
from thalovant.hub.limits import HubLimits
from thalovant.hub.responder.demo import demo_skills
from thalovant.hub.responder.demo_hub import fallback_skill, suggestions_from
from thalovant.hub.responder.dispatch import Dispatcher
from thalovant.hub.responder.hooks import SkillHooks
from thalovant.hub.responder.marketplace import SkillMarketplace
from thalovant.hub.responder.reassembly import ReassemblyPool
from thalovant.hub.responder.session import DEFAULT_OFFER_EXTRA, HubServices, HubSession
from thalovant.hub.responder.skills import HubFacts, HubSkill, SkillRuntime
from thalovant.hub.servers.broker import EmbeddedBroker
from thalovant.hub.servers.http import HTTPServer
from thalovant.hub.servers.listeners import Listeners
from thalovant.hub.servers.mqtt import MQTTHubServer
from thalovant.hub.servers.ovos_agent import OvosAgent
from thalovant.hub.servers.wss import WSSServer
from thalovant.hub.state.files import ensure_private_dir
from thalovant.hub.state.identities import write_identity_file
from thalovant.hub.state.keys import HubKeys
from thalovant.hub.state.registry import CLIENTS_FILE, ClientRecord, ClientRegistry
from thalovant.protocol.noise import PATTERNS, SUITES
from thalovant.protocol.psk import PskDeriver, default_psk_deriver

if TYPE_CHECKING:
    from aiohttp import web

    from thalovant.hub.control.account import LocalAccount

__all__ = ["LocalHub", "MqttProvisioner", "write_identity_file"]


class LocalHub(ClientEnrolment, SkillHooks):
    """A local Thalovant hub: the HiveMind v3 responder, a client registry and skills.

    ::

        async with LocalHub(state_dir, ssl_context=server_ctx) as hub:
            identity = hub.register_client("kiosk")
            ...  # connect a client with ``identity``

    The responder is :mod:`thalovant.hub.responder` (docs/protocol.md §2, §3), the listeners
    :class:`~thalovant.hub.servers.listeners.Listeners` (§5), the state
    :mod:`thalovant.hub.state` (docs/architecture.md, "The hub"). Runs on asyncio (the
    ``websockets`` and ``aiohttp`` servers); enter it from asyncio or anyio-on-asyncio.

    Args:
        state_dir: Keeps the hub's node id and static key (so clients' pins survive
            restarts) and the client registry.
        host: The address every listener binds.
        wss_port: The WebSocket port; ``0`` picks a free one (restart on the same port with
            ``LocalHub(state_dir, wss_port=old.wss_port)``).
        https_port: The HTTPS polling carrier's port (``0``: any free port, ``None``: no
            HTTPS server).
        ssl_context: The server TLS context of every client-facing listener (``None``:
            plain ``ws://``, ``http://``, ``mqtt://``).
        node_id: The node id for a new state folder (``None``: a fresh one).
        skills: The skills to install (``None``: the demo skills,
            :func:`~thalovant.hub.responder.demo.demo_skills`; ``[]``: none).
        fallback: Answer utterances no skill matches with the fallback skill (what it
            heard, what to try), as real hubs do; ``False``: send ``ovos.intent.unmatched``
            (clients raise ``ThalovantUnansweredError``). Switchable later through
            :attr:`fallback`.
        argon2: Accepted for compatibility and changes nothing: the PSK is always Argon2id,
            because that is the wire (speed comes from the PSK cache instead).
        psk_deriver: Derives the PSKs (``None``: the process-wide cache, so a client and a
            hub in one test process derive each PSK once).
        patterns: The Noise patterns offered (docs/protocol.md §2.3).
        suites: The cipher suites offered (e.g. only ``25519_AESGCM_SHA256``).
        offer_extra: Extra fields of the hub's offer (``None``: the defaults).
        handshake_timeout: Seconds a client has for the handshake.
        skill_timeout: Seconds one skill handler may run.
        close_timeout: Seconds connections get to finish on :meth:`aclose`.
        mqtt_broker: ``"embedded"`` (default) starts an in-process broker
            (:class:`~thalovant.hub.servers.broker.EmbeddedBroker`: a plain loopback
            listener for the hub, a TLS one for clients on ``mqtt_port``); a URL
            (``mqtt://user:pw@host:1883``) uses that broker with the hub account in the
            userinfo; ``None`` turns MQTT off. Each client gets its own broker
            username/password at registration and may only use
            ``<mqtt_topic_prefix>/<access key>``.
        mqtt_port: The embedded broker's client port (``0``: any free port).
        mqtt_client_url: Where clients reach an external broker (``None``: its URL without
            userinfo).
        mqtt_topic_prefix: The hub's topic prefix.
        mqtt_provisioner: Tells an external broker about each client's account.
        control_account: A :class:`~thalovant.hub.control.account.LocalAccount`: also serve
            the local control plane (``/v1``, docs/protocol.md §7) from the HTTPS server's
            app, at :attr:`api_url`.
        ovos_bus: Agent mode: relay client bus messages to this OVOS messagebus
            (``ws://127.0.0.1:8181/core``) and its replies back to the asking client, as
            HiveMind-core's OVOS agent plugin does
            (:class:`~thalovant.hub.servers.ovos_agent.OvosAgent`); the policy and the bus
            hooks still apply, the hub's own skills do not answer. ``None``: the skills.
        limits: Bounds what clients can hold (:class:`~thalovant.hub.limits.HubLimits`:
            time to a first request, connections per listener and per peer address,
            sessions per client, memory for unfinished chunked messages and how long such a
            message may stall; ``None``: the defaults).

    Raises:
        ThalovantRuntimeError: ``control_account`` without an HTTPS server, or an
            ``ovos_bus`` that is not a ``ws://``/``wss://`` URL.
    """

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        *,
        host: str = "127.0.0.1",
        wss_port: int = 0,
        https_port: int | None = 0,
        ssl_context: ssl.SSLContext | None = None,
        node_id: str | None = None,
        skills: Iterable[HubSkill] | None = None,
        fallback: bool = True,
        argon2: bool = True,
        psk_deriver: PskDeriver | None = None,
        patterns: Sequence[str] = PATTERNS,
        suites: Sequence[str] = SUITES,
        offer_extra: dict[str, Any] | None = None,
        handshake_timeout: float = 20.0,
        skill_timeout: float = 30.0,
        close_timeout: float = 5.0,
        mqtt_broker: str | None = "embedded",
        mqtt_port: int = 0,
        mqtt_client_url: str | None = None,
        mqtt_topic_prefix: str = "hivemind",
        mqtt_provisioner: MqttProvisioner | None = None,
        control_account: LocalAccount | None = None,
        limits: HubLimits | None = None,
        ovos_bus: str | None = None,
    ) -> None:
        self.limits = limits or HubLimits()
        """Bounds on connections and reassembly memory (:class:`~thalovant.hub.HubLimits`)."""
        self._state_dir = ensure_private_dir(Path(state_dir).expanduser().absolute())
        self.argon2 = argon2
        self.keys = HubKeys(self._state_dir, node_id=node_id)
        self.registry = ClientRegistry(self._state_dir / CLIENTS_FILE)
        """The client registry (on disk in ``clients.json``)."""
        self.runtime = SkillRuntime(
            demo_skills() if skills is None else skills, handler_timeout=skill_timeout
        )
        """The skill runtime (ordered skills and per-session state)."""
        self.marketplace = SkillMarketplace.with_demo_skills()
        """The skills the control plane can install, by name and version (the demo skills;
        :meth:`~thalovant.hub.responder.marketplace.SkillMarketplace.publish` adds yours)."""
        self._fallback_skill = fallback_skill(lambda: suggestions_from(self.runtime.skills))
        self.fallback = fallback
        self._sessions: set[HubSession] = set()
        self._changed = anyio.Event()
        self.facts = HubFacts(
            f"{HUB_TITLE} {self.keys.node_id}",
            clients=lambda: sorted(s.client.name for s in self._sessions),
        )
        """What skills may tell about this hub (name, uptime, connected clients)."""
        self.dispatcher = Dispatcher(
            self.runtime,
            peers=lambda: list(self._sessions),
            current_client=self._current,
            facts=self.facts,
        )
        self.services = HubServices(
            keys=self.keys,
            registry=self.registry,
            dispatcher=self.dispatcher,
            psk_deriver=default_psk_deriver if psk_deriver is None else psk_deriver,
            patterns=tuple(patterns),
            suites=tuple(suites),
            offer_extra=dict(DEFAULT_OFFER_EXTRA if offer_extra is None else offer_extra),
            on_ready=self._on_ready,
            on_closed=self._on_closed,
            max_sessions_per_client=self.limits.max_sessions_per_client,
            chunk_stall_timeout=self.limits.chunk_stall_timeout,
            reassembly=ReassemblyPool(
                self.limits.max_reassembly_total, self.limits.max_reassembly_per_client
            ),
        )
        self._listeners = Listeners(
            self.services,
            self.registry,
            host=host,
            wss_port=wss_port,
            https_port=https_port,
            ssl_context=ssl_context,
            handshake_timeout=handshake_timeout,
            close_timeout=close_timeout,
            mqtt_broker=mqtt_broker,
            mqtt_port=mqtt_port,
            mqtt_client_url=mqtt_client_url,
            mqtt_topic_prefix=mqtt_topic_prefix,
            limits=self.limits,
        )
        self._mqtt_provisioner = mqtt_provisioner
        self.ovos_agent = OvosAgent(ovos_bus) if ovos_bus is not None else None
        """Agent mode's link to the OVOS messagebus (``None`` without ``ovos_bus``)."""
        self.dispatcher.relay = self.ovos_agent
        self._running = False
        self.control_app: web.Application | None = None
        """The local control plane's ``/v1`` app, when ``control_account`` is given."""
        if control_account is not None:
            self._mount_control_plane(control_account)

    def _mount_control_plane(self, account: LocalAccount) -> None:
        http = self._listeners.http
        if http is None:
            raise ThalovantRuntimeError(
                "the local control plane is served by the HTTPS server: keep https_port set"
            )
        self.control_app = build_control_app(self, account)
        http.app.add_subapp("/v1", self.control_app)

    # ------------------------------------------------------------------------ facts

    @property
    def api_url(self) -> str | None:
        """The local control plane's API URL (``/v1`` is below it), when it is served."""
        return self.https_url if self.control_app is not None else None

    @property
    def state_dir(self) -> Path:
        """Where the hub keeps its key, node id and registry."""
        return self._state_dir

    @property
    def node_id(self) -> str:
        """The hub's node id (the PSK salt; stable across restarts)."""
        return self.keys.node_id

    @property
    def public_key(self) -> bytes:
        """The hub's static public key, which clients pin."""
        return self.keys.public_key

    @property
    def wss_server(self) -> WSSServer:
        """The WebSocket carrier's server (its ``gate`` holds the connection counters)."""
        return self._listeners.wss

    @property
    def mqtt_url(self) -> str | None:
        """The broker URL clients use (``mqtts://`` with TLS), or ``None`` without MQTT."""
        return self._listeners.mqtt_url

    @property
    def mqtt_port(self) -> int:
        """The embedded broker's client port (0 for an external broker or before start)."""
        return self._listeners.mqtt_port

    @property
    def mqtt_server(self) -> MQTTHubServer | None:
        """The hub's MQTT side (``None`` without MQTT)."""
        return self._listeners.mqtt

    @property
    def embedded_broker(self) -> EmbeddedBroker | None:
        """The in-process broker when ``mqtt_broker="embedded"``."""
        return self._listeners.broker

    @property
    def https_port(self) -> int | None:
        """The HTTPS polling port (the bound one once running); ``None`` without HTTPS."""
        return self._listeners.https_port

    @property
    def https_url(self) -> str | None:
        """``https://<host>:<port>`` (``http://`` without an SSL context); ``None`` without
        HTTPS."""
        return self._listeners.https_url

    @property
    def http_server(self) -> HTTPServer | None:
        """The HTTPS carrier's server; mount web apps on its ``app`` before :meth:`start`."""
        return self._listeners.http

    @property
    def fallback(self) -> bool:
        """Whether the fallback skill answers what no skill matches (set ``False`` to get
        ``ovos.intent.unmatched`` instead, e.g. to test ``ThalovantUnansweredError``)."""
        return self.runtime.fallback is not None

    @fallback.setter
    def fallback(self, on: bool) -> None:
        self.runtime.fallback = self._fallback_skill if on else None

    @property
    def running(self) -> bool:
        """Between start and close."""
        return self._running

    @property
    def connections(self) -> int:
        """Clients connected right now (handshake done and HELLO received)."""
        return len(self._sessions)

    @property
    def sessions(self) -> list[HubSession]:
        """The connected clients' sessions."""
        return list(self._sessions)

    # -------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Start serving (``async with`` does this).

        Raises:
            ThalovantRuntimeError: The hub is already running.
            ThalovantConnectionError: Agent mode, and the OVOS messagebus is unreachable.
            OSError: A listener could not bind (the ones started are stopped again).
        """
        if self._running:
            raise ThalovantRuntimeError("the local hub is already running")
        if self.ovos_agent is not None:
            await self.ovos_agent.start()
        try:
            await self._listeners.start()
        except BaseException:
            if self.ovos_agent is not None:
                await self.ovos_agent.aclose()
            raise
        self.facts.started = time.monotonic()
        self._running = True

    async def aclose(self) -> None:
        """Close every connection with 1001 and stop.

        Connections get at most ``close_timeout`` seconds to finish before they are aborted.
        """
        self._running = False
        await self._listeners.aclose()
        if self.ovos_agent is not None:
            await self.ovos_agent.aclose()

    async def __aenter__(self) -> LocalHub:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def kill(self) -> None:
        """Crash on purpose: stop listening and abort connections without a close frame.

        The ``async with`` exit (or :meth:`aclose`) still cleans up afterwards.
        """
        self._listeners.kill()

    async def drop_connections(self, code: int = 1011, reason: str = "") -> None:
        """Close every open connection, on every carrier.

        Args:
            code: The close code (1011: a drop clients redial after; docs/protocol.md §2.6).
            reason: The close reason.
        """
        await self._listeners.drop_connections(code, reason)

    async def wait_for_connections(self, count: int) -> None:
        """Wait until exactly ``count`` clients are connected (wrap in a timeout).

        Args:
            count: The number of connected clients to wait for.
        """
        while len(self._sessions) != count:
            await self._changed.wait()

    async def wait_for_session(self, session_id: str) -> HubSession:
        """Wait until a client whose HELLO named ``session_id`` is connected (wrap in a timeout).

        Args:
            session_id: The session id of the client's HELLO.

        Returns:
            That client's session.
        """
        while True:
            found = next((s for s in self._sessions if s.session_id == session_id), None)
            if found is not None:
                return found
            await self._changed.wait()

    def set_static_key(self, private: bytes | None = None) -> bytes:
        """Rotate the hub's static key.

        Takes effect for new connections; pinned clients then see "hub key changed".

        Args:
            private: The new private key (``None``: a fresh one).

        Returns:
            The new public key.
        """
        return self.keys.set_static_key(private)

    def _current(self, record: ClientRecord) -> ClientRecord:
        return self.registry.get(record.access_key) or record

    # ---------------------------------------------------------------------- tracking

    def _on_ready(self, session: HubSession) -> None:
        self._sessions.add(session)
        self._notify()

    def _on_closed(self, session: HubSession) -> None:
        self._sessions.discard(session)
        if self.ovos_agent is not None:
            self.ovos_agent.forget(session)
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, anyio.Event()
        changed.set()
