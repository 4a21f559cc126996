"""``LocalHub``: a HiveMind v3 hub on loopback for development, demos and tests."""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio

from thalovant.errors import ThalovantRuntimeError
from thalovant.identity import ThalovantIdentity
from thalovant.protocol.noise import PATTERNS, SUITES
from thalovant.protocol.psk import PskDeriver, default_psk_deriver

from ._files import ensure_private_dir, write_private_json
from .demo import demo_skills
from .dispatch import BinaryHandler, Dispatcher
from .http import HTTPServer
from .keys import HubKeys
from .policy import DEFAULT_ALLOWED_TYPES
from .registry import CLIENTS_FILE, ClientRecord, ClientRegistry
from .session import DEFAULT_OFFER_EXTRA, HubServices, HubSession
from .skills import DEFAULT_PIPELINE_ID, HubSkill, SkillHandler, SkillMatcher, SkillRuntime
from .wss import WSSServer

__all__ = ["LocalHub", "write_identity_file"]


def write_identity_file(identity: ThalovantIdentity, path: str | os.PathLike[str]) -> Path:
    """Write ``identity`` with its secrets to ``path`` (mode 0600, atomic); return the path."""
    target = Path(path).expanduser().absolute()
    write_private_json(target, identity.as_dict(include_secrets=True))
    return target


class LocalHub:
    """A local Thalovant hub: the HiveMind v3 responder, a client registry and skills.

    ::

        async with LocalHub(state_dir, ssl_context=server_ctx) as hub:
            identity = hub.register_client("kiosk")
            ...  # connect a client with ``identity``

    ``state_dir`` keeps the hub's node id and static key (so clients' pins survive restarts)
    and the client registry. ``wss_port=0`` picks a free port; restart on the same port with
    ``LocalHub(state_dir, wss_port=old.wss_port)``. ``https_port`` is the HTTPS polling
    carrier's port (``0``: any free port, ``None``: no HTTPS server). ``skills=None``
    installs the demo skills (:func:`thalovant.hub.demo.demo_skills`); pass ``[]`` for none.
    ``patterns``/``suites`` restrict the offer (e.g. only ``25519_AESGCM_SHA256``).
    ``psk_deriver`` defaults to the process-wide cache, so a client and a hub in one test
    process derive each PSK once.
    ``argon2`` must stay true in spirit: the PSK is always Argon2id, because that is the wire;
    ``False`` is accepted and changes nothing (speed comes from the PSK cache instead).

    Runs on asyncio (the ``websockets`` and ``aiohttp`` servers); enter it from asyncio or
    anyio-on-asyncio.
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
        argon2: bool = True,
        psk_deriver: PskDeriver | None = None,
        patterns: Sequence[str] = PATTERNS,
        suites: Sequence[str] = SUITES,
        offer_extra: dict[str, Any] | None = None,
        handshake_timeout: float = 20.0,
        skill_timeout: float = 30.0,
        close_timeout: float = 5.0,
    ) -> None:
        self._state_dir = ensure_private_dir(Path(state_dir).expanduser().absolute())
        self._host = host
        self._ssl = ssl_context
        self.argon2 = argon2
        self.keys = HubKeys(self._state_dir, node_id=node_id)
        self.registry = ClientRegistry(self._state_dir / CLIENTS_FILE)
        """The client registry (on disk in ``clients.json``)."""
        self.runtime = SkillRuntime(
            demo_skills() if skills is None else skills, handler_timeout=skill_timeout
        )
        """The skill runtime (ordered skills and per-session state)."""
        self._sessions: set[HubSession] = set()
        self._changed = anyio.Event()
        self.dispatcher = Dispatcher(
            self.runtime, peers=lambda: list(self._sessions), current_client=self._current
        )
        self.services = HubServices(
            keys=self.keys,
            registry=self.registry,
            dispatcher=self.dispatcher,
            psk_deriver=psk_deriver or default_psk_deriver,
            patterns=tuple(patterns),
            suites=tuple(suites),
            offer_extra=dict(DEFAULT_OFFER_EXTRA if offer_extra is None else offer_extra),
            on_ready=self._on_ready,
            on_closed=self._on_closed,
        )
        self._wss = WSSServer(
            self.services,
            lookup=self.registry.get,
            host=host,
            port=wss_port,
            ssl_context=ssl_context,
            handshake_timeout=handshake_timeout,
        )
        self._http = (
            None
            if https_port is None
            else HTTPServer(
                self.services,
                lookup=self.registry.get,
                host=host,
                port=https_port,
                ssl_context=ssl_context,
                handshake_timeout=handshake_timeout,
            )
        )
        self._running = False
        self._close_timeout = close_timeout

    # ------------------------------------------------------------------------ facts

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
    def wss_port(self) -> int:
        """The WebSocket port (the bound one once running)."""
        return self._wss.port

    @property
    def wss_url(self) -> str:
        """``wss://<host>:<port>`` (``ws://`` without an SSL context)."""
        return self._wss.url

    @property
    def https_port(self) -> int | None:
        """The HTTPS polling port (the bound one once running); ``None`` without HTTPS."""
        return self._http.port if self._http is not None else None

    @property
    def https_url(self) -> str | None:
        """``https://<host>:<port>`` (``http://`` without an SSL context); ``None`` without
        HTTPS."""
        return self._http.url if self._http is not None else None

    @property
    def http_server(self) -> HTTPServer | None:
        """The HTTPS carrier's server; mount web apps on its ``app`` before :meth:`start`."""
        return self._http

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
        """Start serving (``async with`` does this)."""
        if self._running:
            raise ThalovantRuntimeError("the local hub is already running")
        await self._wss.start()
        if self._http is not None:
            try:
                await self._http.start()
            except BaseException:
                await self._wss.aclose(self._close_timeout)
                raise
        self._running = True

    async def aclose(self) -> None:
        """Close every connection with 1001 and stop, waiting at most ``close_timeout``
        for connections to finish before aborting them."""
        self._running = False
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._wss.aclose, self._close_timeout)
            if self._http is not None:
                tg.start_soon(self._http.aclose, self._close_timeout)

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
        self._wss.kill()
        if self._http is not None:
            self._http.kill()

    async def drop_connections(self, code: int = 1011, reason: str = "") -> None:
        """Close every open connection with ``code`` (1011: a drop clients redial after)."""
        await self._wss.drop_connections(code, reason)
        if self._http is not None:
            await self._http.drop_connections(code, reason)

    async def wait_for_connections(self, count: int) -> None:
        """Wait until exactly ``count`` clients are connected (wrap in a timeout)."""
        while len(self._sessions) != count:
            await self._changed.wait()

    async def wait_for_session(self, session_id: str) -> HubSession:
        """Wait until a client whose HELLO named ``session_id`` is connected; return its
        session (wrap in a timeout)."""
        while True:
            found = next((s for s in self._sessions if s.session_id == session_id), None)
            if found is not None:
                return found
            await self._changed.wait()

    def set_static_key(self, private: bytes | None = None) -> bytes:
        """Rotate the hub's static key (fresh unless ``private``); return the public key.

        Takes effect for new connections; pinned clients then see "hub key changed".
        """
        return self.keys.set_static_key(private)

    # ---------------------------------------------------------------------- clients

    def register_client(
        self,
        name: str = "demo",
        *,
        site_id: str | None = None,
        allowed_types: Iterable[str] = DEFAULT_ALLOWED_TYPES,
        admin: bool = False,
        access_key: str | None = None,
        password: str | None = None,
    ) -> ThalovantIdentity:
        """Register a client and return its identity for this hub.

        Access key and password are random unless given; ``site_id`` defaults to ``name``.
        The hub must be running, or have a fixed ``wss_port``, so the URL is known.
        """
        self._require_url()
        record = self.registry.create(
            name,
            site_id=site_id,
            allowed_types=allowed_types,
            admin=admin,
            access_key=access_key,
            password=password,
        )
        return self.identity_for(record.access_key)

    def identity_for(self, access_key: str) -> ThalovantIdentity:
        """The identity of a registered client, pointing at this hub's current URLs: WSS
        (the default protocol) and, when its port is known, HTTPS (``protocol="https"``)."""
        record = self.registry.get(access_key)
        if record is None:
            raise KeyError("no client with this access key")
        url = self._require_url()
        endpoints = {"wss": url}
        if self.https_url is not None and self.https_port:  # known once bound (or fixed)
            endpoints["https"] = self.https_url
        return ThalovantIdentity.from_mapping(
            {
                "access_key": record.access_key,
                "password": record.password,
                "site_id": record.site_id,
                "default_master": url,
                "default_port": self.wss_port,
                "data_plane_endpoints": endpoints,
                "protocols": {"wss": True, "http": "https" in endpoints, "mqtt": False},
            }
        )

    def client(self, access_key: str) -> ClientRecord | None:
        """The registry record of a client."""
        return self.registry.get(access_key)

    def _require_url(self) -> str:
        if self.wss_port == 0:
            raise ThalovantRuntimeError(
                "the hub's port is not known yet: start the hub first, or pass wss_port"
            )
        return self.wss_url

    def _current(self, record: ClientRecord) -> ClientRecord:
        return self.registry.get(record.access_key) or record

    # ------------------------------------------------------------------ skills, hooks

    def skill(
        self,
        name: str,
        *,
        match: str | re.Pattern[str] | SkillMatcher,
        pipeline_id: str = DEFAULT_PIPELINE_ID,
        priority: int = 0,
        examples: Iterable[str] = (),
        description: str = "",
    ) -> Callable[[SkillHandler], SkillHandler]:
        """Decorator registering ``async def handler(ctx: SkillContext)`` as a skill.

        ``match``: a regex searched case-insensitively in the utterance, a compiled pattern,
        or a function of the context. Higher ``priority`` is tried first; a skill of the same
        name is replaced.
        """

        def register(handler: SkillHandler) -> SkillHandler:
            self.runtime.add(
                HubSkill(
                    name,
                    handler,
                    match=match,
                    pipeline_id=pipeline_id,
                    priority=priority,
                    examples=examples,
                    description=description,
                )
            )
            return handler

        return register

    def add_skill(self, skill: HubSkill) -> HubSkill:
        """Register a ready-made :class:`HubSkill`."""
        return self.runtime.add(skill)

    def remove_skill(self, name: str) -> bool:
        """Unregister a skill by name."""
        return self.runtime.remove(name)

    def on_bus(self, msg_type: str) -> Callable[[SkillHandler], SkillHandler]:
        """Decorator: ``async def handler(ctx: SkillContext)`` answers bus messages of
        ``msg_type`` (after the policy check), replacing the built-in handling."""

        def register(handler: SkillHandler) -> SkillHandler:
            self.dispatcher.bus_hooks[msg_type] = handler
            return handler

        return register

    def on_binary(self, handler: BinaryHandler) -> BinaryHandler:
        """Register ``async def handler(session, frame: BinaryFrame)`` for ``bin`` frames."""
        self.dispatcher.binary_hooks.append(handler)
        return handler

    # ---------------------------------------------------------------------- tracking

    def _on_ready(self, session: HubSession) -> None:
        self._sessions.add(session)
        self._notify()

    def _on_closed(self, session: HubSession) -> None:
        self._sessions.discard(session)
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, anyio.Event()
        changed.set()
