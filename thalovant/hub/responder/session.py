"""One client connection on the hub side, independent of the carrier.

A carrier (WebSocket today; HTTPS polling and MQTT can reuse it) authenticates the access
key, then drives a :class:`HubSession`::

    session = HubSession(services, client, peer=peer, send=carrier_send, task_group=tg)
    try:
        with anyio.fail_after(handshake_timeout) as deadline:
            await session.start(deadline)      # sends HELLO and the offer
        async for frame in carrier:            # str = cleartext JSON, bytes = Noise message
            await session.receive(frame)
    except SessionClosed as closed:
        await carrier.close(closed.code, closed.reason)
    finally:
        session.mark_closed()

Close codes (docs/protocol.md §2.6): credential refusals during or right after the handshake use
1008 (wrong password, ``KKpsk0`` without a pinned client key, a client static key other than
the pinned one, an admin-only kind); malformed or out-of-order frames use 1002.

Replies to a message run as tasks in ``task_group``, at most ``max_in_flight`` at a time per
session (the reader waits for a slot, so a flood backs up into the carrier instead of memory).
Writes are serialised by a lock: the Noise nonces must leave in the order they were used.

The client's PSK comes from :class:`~thalovant.hub.state.keys.ClientPsks` (one entry per registered
client). When it must be derived, HELLO and the offer go out first and the derivation runs
while the client works on its own; the hub's wait for its own derivation does not count
against the client's handshake deadline (it is bounded by ``psk_wait_timeout`` instead).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import TaskGroup

from thalovant.errors import ThalovantHubRefusedError, ThalovantProtocolError
from thalovant.hub.responder.dispatch import Dispatcher, PolicyViolation
from thalovant.hub.responder.reassembly import ReassemblyPool
from thalovant.hub.responder.skills import DeliveryError
from thalovant.hub.state.keys import ClientPsks, HubKeys
from thalovant.hub.state.registry import ClientRecord, ClientRegistry
from thalovant.protocol.binary import BinaryFrame
from thalovant.protocol.channel import SecureChannel
from thalovant.protocol.envelope import HiveMessage
from thalovant.protocol.framing import Reassembler
from thalovant.protocol.handshake import HubHandshake
from thalovant.protocol.noise import PATTERN_XX, PATTERNS, SUITES, NoiseDecryptError
from thalovant.protocol.psk import PskDeriver, default_psk_deriver

__all__ = [
    "CLOSE_POLICY",
    "CLOSE_PROTOCOL",
    "DEFAULT_OFFER_EXTRA",
    "HubServices",
    "HubSession",
    "SessionClosed",
]

logger = logging.getLogger("thalovant.hub.session")

CLOSE_PROTOCOL = 1002
"""Close code for malformed or out-of-order frames."""
CLOSE_POLICY = 1008
"""Close code for refused credentials and forbidden message kinds."""
_CLOSE_SEND_FAILED = 1011

DEFAULT_OFFER_EXTRA: dict[str, Any] = {"max_protocol_version": 3, "binarize": False}
"""Keys the offer carries besides ``noise`` (all of it enters the prologue)."""


class SessionClosed(Exception):
    """The session is over: the carrier should close with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass
class HubServices:
    """Hub-wide state a session uses; one instance per hub, shared by every carrier."""

    keys: HubKeys
    registry: ClientRegistry
    dispatcher: Dispatcher
    psk_deriver: PskDeriver = default_psk_deriver
    psk_wait_timeout: float = 120.0
    """The longest a connection waits for the hub to derive its client's PSK."""
    patterns: tuple[str, ...] = PATTERNS
    suites: tuple[str, ...] = SUITES
    offer_extra: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_OFFER_EXTRA))
    max_in_flight: int = 16
    send_timeout: float = 10.0
    max_sessions_per_client: int = 16
    """Sessions (handshaking or ready) one access key may hold; the oldest makes room."""
    chunk_stall_timeout: float = 15.0
    """Seconds a chunked message may go without a new chunk before the session is closed."""
    reassembly: ReassemblyPool = field(default_factory=ReassemblyPool)
    """Memory for unfinished chunked messages, per client and for the whole hub."""
    by_client: dict[str, list[HubSession]] = field(default_factory=dict)
    """Open sessions per access key, oldest first."""
    on_ready: Callable[[HubSession], None] = lambda session: None
    on_closed: Callable[[HubSession], None] = lambda session: None
    psks: ClientPsks = field(init=False)
    """Every registered client's PSK, derived once (built from ``psk_deriver``)."""

    def __post_init__(self) -> None:
        self.psks = ClientPsks(self.psk_deriver, self.registry)


class HubSession:
    """The responder state machine of one connection: handshake, then encrypted messages."""

    def __init__(
        self,
        services: HubServices,
        client: ClientRecord,
        *,
        peer: str,
        send: Callable[[str | bytes], Awaitable[None]],
        task_group: TaskGroup,
        abort: Callable[[int, str], Awaitable[None]] | None = None,
        evict_first: Callable[[], bool] | None = None,
        carrier: str = "",
    ) -> None:
        self._services = services
        self._carrier = carrier
        self._evict_first = evict_first or (lambda: False)
        self._client = client
        self._peer = peer
        self._send = send
        self._abort = abort
        self._tg = task_group
        self._handshake: HubHandshake | None = None
        self._channel: SecureChannel | None = None
        self._reassembler = Reassembler(budget=services.reassembly.for_client(client.access_key))
        self._last_chunk = 0.0
        self._watching = False
        self._send_lock = anyio.Lock()
        self._slots = anyio.Semaphore(services.max_in_flight)
        self._session_id: str | None = None
        self._site_id: str | None = None
        self._ready = False
        self._closed = False
        self._psk_ready: anyio.Event | None = None
        self._psk_scope: anyio.CancelScope | None = None
        self._psk_failed = False

    # ------------------------------------------------------------------------ state

    @property
    def client(self) -> ClientRecord:
        """The registry record this connection authenticated as."""
        return self._client

    @property
    def peer(self) -> str:
        """The client's network address, ``host:port``."""
        return self._peer

    @property
    def session_id(self) -> str | None:
        """The session id from the client's encrypted HELLO."""
        return self._session_id

    @property
    def site_id(self) -> str | None:
        """The site id from the client's HELLO, else the registered one."""
        return self._site_id or self._client.site_id

    @property
    def carrier(self) -> str:
        """The carrier this connection runs on (``wss``, ``https``, ``mqtt``; ``""``: unknown)."""
        return self._carrier

    @property
    def ready(self) -> bool:
        """Handshake done and the client's HELLO received."""
        return self._ready and not self._closed

    @property
    def pattern(self) -> str | None:
        """The Noise pattern the client chose."""
        return self._handshake.pattern if self._handshake is not None else None

    @property
    def suite(self) -> str | None:
        """The Noise suite the client chose."""
        return self._handshake.suite if self._handshake is not None else None

    # --------------------------------------------------------------------- handshake

    async def start(self, handshake_deadline: anyio.CancelScope | None = None) -> None:
        """Send HELLO and the offer; get the client's PSK (known, or derived meanwhile).

        ``handshake_deadline`` is the carrier's handshake timeout scope: while this hub
        derives the PSK its deadline is pushed to ``psk_wait_timeout``, and once the PSK is
        known it restarts with the full handshake timeout (the client is not blamed for the
        hub's own queue of derivations)."""
        services, client = self._services, self._client
        self._enter()
        node_id = services.keys.node_id
        psk = services.psks.cached(client, node_id)
        self._handshake = HubHandshake(
            services.keys.static_private,
            node_id=node_id,
            psk=psk,
            hello_extra={"pubkey": services.keys.public_key.hex(), "peer": self._peer},
            patterns=services.patterns,
            suites=services.suites,
            known_client_key=client.client_key,
            offer_extra=services.offer_extra,
        )
        if psk is None:
            self._psk_ready = anyio.Event()
            self._psk_scope = anyio.CancelScope()
            self._tg.start_soon(self._derive_psk, node_id, handshake_deadline)
        for frame in self._handshake.initial_frames():
            await self._send_raw(frame)

    async def _derive_psk(self, node_id: str, deadline: anyio.CancelScope | None) -> None:
        assert self._psk_ready is not None
        assert self._psk_scope is not None
        handshake = self._handshake
        assert handshake is not None
        budget: float | None = None
        if deadline is not None:
            now = anyio.current_time()
            budget = max(0.0, deadline.deadline - now)
            deadline.deadline = now + max(budget, self._services.psk_wait_timeout)
        try:
            with self._psk_scope:
                psk = await self._services.psks.get(self._client, node_id)
                handshake.provide_psk(psk)
                if deadline is not None and budget is not None:
                    deadline.deadline = anyio.current_time() + budget
        except Exception:
            logger.exception("deriving the PSK of client %s failed", self._client.name)
            self._psk_failed = True
        finally:
            self._psk_ready.set()

    async def receive(self, frame: str | bytes) -> None:
        """Process one frame from the client; raises :class:`SessionClosed` to end the link."""
        if self._closed:
            raise SessionClosed(CLOSE_PROTOCOL, "session closed")
        handshake = self._handshake
        if handshake is None:
            raise RuntimeError("HubSession.start() must run before receive()")
        if self._channel is None:
            await self._receive_handshake(handshake, frame)
            return
        if isinstance(frame, str):
            raise self._fail(CLOSE_PROTOCOL, "cleartext frame after the Noise session exists")
        try:
            message = self._channel.decrypt(frame)
        except ThalovantProtocolError as exc:
            # Decrypt, framing or decode failure: the spec allows no frame skipping.
            raise self._fail(CLOSE_PROTOCOL, f"bad transport message: {exc}") from None
        if self._channel.reassembling:
            self._last_chunk = anyio.current_time()
            if not self._watching:
                self._watching = True
                self._tg.start_soon(self._watch_chunks)
        if message is not None:
            await self._on_message(message)

    async def _watch_chunks(self) -> None:
        """Close the session when its chunked message stops getting chunks (the partial
        message holds memory the hub shares with everyone)."""
        timeout = self._services.chunk_stall_timeout
        try:
            while not self._closed and self._channel is not None and self._channel.reassembling:
                left = self._last_chunk + timeout - anyio.current_time()
                if left <= 0:
                    self._fail(CLOSE_PROTOCOL, f"chunked message stalled for {timeout:g} s")
                    if self._abort is not None:
                        await self._abort(CLOSE_PROTOCOL, "chunked message stalled")
                    return
                await anyio.sleep(left)
        finally:
            self._watching = False

    async def _close_for(self, code: int, reason: str) -> None:
        if self._abort is not None:
            await self._abort(code, reason)

    def _enter(self) -> None:
        """Count this session for its client; close the oldest ones beyond the cap."""
        services = self._services
        mine = services.by_client.setdefault(self._client.access_key, [])
        if self not in mine:
            mine.append(self)
        while len(mine) > services.max_sessions_per_client:
            # The oldest connection anyone with the key could have opened (a cookie-less HTTPS
            # one) goes first, then the oldest of all: a key-only flood never evicts a
            # connection bound to its own client.
            others = [session for session in mine if session is not self]
            victim = next((s for s in others if s._evict_first()), others[0])
            logger.warning(
                "client %s has %d connections (max_sessions_per_client=%d): closing one",
                self._client.name,
                len(mine),
                services.max_sessions_per_client,
            )
            victim.mark_closed()  # leaves ``mine``
            self._tg.start_soon(victim._close_for, CLOSE_POLICY, "too many connections")

    async def _receive_handshake(self, handshake: HubHandshake, frame: str | bytes) -> None:
        if self._psk_ready is not None and not self._psk_ready.is_set():
            await self._psk_ready.wait()
        if self._psk_failed or not handshake.has_psk:
            raise self._fail(_CLOSE_SEND_FAILED, "internal error")
        try:
            replies = handshake.receive(frame)
        except NoiseDecryptError:
            raise self._fail(CLOSE_POLICY, "handshake failed to authenticate") from None
        except ThalovantHubRefusedError as exc:
            raise self._fail(CLOSE_POLICY, str(exc)) from None
        except ThalovantProtocolError as exc:
            raise self._fail(CLOSE_PROTOCOL, f"bad handshake frame: {exc}") from None
        for reply in replies:
            await self._send_raw(reply)
        if handshake.complete:
            await self._handshake_complete(handshake)

    async def _handshake_complete(self, handshake: HubHandshake) -> None:
        result = handshake.result
        presented = result.remote_static_hex
        if result.pattern == PATTERN_XX:
            pinned = await anyio.to_thread.run_sync(
                self._services.registry.pin_client_key, self._client.access_key, presented
            )
            if pinned is None:
                raise self._fail(CLOSE_POLICY, "client is no longer registered")
            if not hmac.compare_digest(pinned, presented):
                raise self._fail(CLOSE_POLICY, "a different client key is pinned for this client")
            if self._client.client_key is None:
                logger.info("pinned the static key of client %s", self._client.name)
        self._channel = SecureChannel(
            result.send_cipher, result.recv_cipher, reassembler=self._reassembler
        )
        logger.debug(
            "handshake with %s (%s) done: %s %s",
            self._client.name,
            self._peer,
            result.pattern,
            result.suite,
        )

    # ----------------------------------------------------------------------- messages

    async def _on_message(self, message: HiveMessage | BinaryFrame) -> None:
        if not self._ready:
            self._take_hello(message)
            if isinstance(message, HiveMessage) and message.msg_type == "hello":
                return
        if isinstance(message, HiveMessage) and message.msg_type in ("hello", "ping"):
            return
        try:
            job = self._services.dispatcher.route(self, message)
        except PolicyViolation as exc:
            raise self._fail(CLOSE_POLICY, str(exc)) from None
        except ThalovantProtocolError as exc:
            raise self._fail(CLOSE_PROTOCOL, f"malformed message: {exc}") from None
        if job is not None:
            try:
                await self._slots.acquire()
            except BaseException:
                job.close()  # cancelled while waiting for a slot: the job never runs
                raise
            self._tg.start_soon(self._run, job)

    def _take_hello(self, message: HiveMessage | BinaryFrame) -> None:
        hello: Any = None
        if isinstance(message, HiveMessage) and message.msg_type == "hello":
            hello = message.payload
        elif self._handshake is not None and self._handshake.client_hello is not None:
            hello = self._handshake.client_hello  # MQTT: the HELLO came in cleartext
        if not isinstance(hello, dict):
            raise self._fail(CLOSE_PROTOCOL, "the first transport message must be a HELLO")
        session = hello.get("session")
        session_id = session.get("session_id") if isinstance(session, dict) else None
        if isinstance(session_id, str) and session_id:
            self._session_id = session_id
        site_id = hello.get("site_id")
        if isinstance(site_id, str) and site_id:
            self._site_id = site_id
        self._ready = True
        logger.info("client %s connected from %s (%s)", self._client.name, self._peer, self.pattern)
        self._services.on_ready(self)

    async def _run(self, job: Coroutine[Any, Any, None]) -> None:
        try:
            await job
        except DeliveryError:
            logger.debug("reply to %s not delivered: connection gone", self._peer)
        except Exception:
            logger.exception("handling a message from %s failed", self._peer)
        finally:
            self._slots.release()

    # -------------------------------------------------------------------------- send

    async def send_message(self, message: HiveMessage) -> None:
        """Encrypt and send one message; :class:`DeliveryError` if the link is gone."""
        async with self._send_lock:
            if self._closed or self._channel is None:
                raise DeliveryError("the session is closed")
            frames = self._channel.encrypt_message(message)
            try:
                with anyio.fail_after(self._services.send_timeout):
                    for frame in frames:
                        await self._send(frame)
            except Exception as exc:
                # A half-sent chunk sequence or a timed-out write leaves the peer's nonce
                # out of step with ours: the session cannot continue.
                self.mark_closed()
                if self._abort is not None and isinstance(exc, TimeoutError):
                    await self._abort(_CLOSE_SEND_FAILED, "send timed out")
                raise DeliveryError(f"send failed: {type(exc).__name__}") from exc

    async def _send_raw(self, frame: str) -> None:
        async with self._send_lock:
            with anyio.fail_after(self._services.send_timeout):
                await self._send(frame)

    # ------------------------------------------------------------------------- close

    def _fail(self, code: int, reason: str) -> SessionClosed:
        logger.info(
            "closing %s (%s) with %d: %s", self._client.name, self._peer, code, reason[:200]
        )
        self.mark_closed()
        # A WebSocket close reason holds at most 123 bytes of UTF-8.
        return SessionClosed(code, reason.encode("utf-8")[:120].decode("utf-8", "ignore"))

    def mark_closed(self) -> None:
        """The carrier is gone (or going); idempotent."""
        if not self._closed:
            self._closed = True
            self._reassembler.reset()  # a partial message gives its memory back
            mine = self._services.by_client.get(self._client.access_key)
            if mine is not None and self in mine:
                mine.remove(self)
                if not mine:
                    del self._services.by_client[self._client.access_key]
            if self._psk_scope is not None:
                self._psk_scope.cancel()  # nobody needs the derivation any more
            if self._ready:
                self._services.on_closed(self)
