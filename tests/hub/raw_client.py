"""A minimal HiveMind v3 client built only from ``thalovant.protocol``, for driving the hub.

It is deliberately not the SDK client: it does exactly what docs/protocol.md §2-§3 prescribe and
nothing more (no redial, no collectors), so hub tests do not depend on client logic.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import anyio
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from thalovant.carriers.base import authorization_token, authorized_url
from thalovant.protocol.binary import BinaryFrame
from thalovant.protocol.channel import SecureChannel
from thalovant.protocol.envelope import BusMessage, HiveMessage, bus_message, bus_payload
from thalovant.protocol.handshake import ClientHandshake, HandshakeResult, generate_static_private
from thalovant.protocol.hello import client_hello
from thalovant.protocol.noise import SUITES
from thalovant.protocol.psk import default_psk_deriver

UA = "ThalovantPythonSDK/0.1.0"
TERMINAL = frozenset({"ovos.utterance.handled", "hive.policy.denied"})


class RawClosed(Exception):
    """The hub closed the WebSocket; ``code`` is its close code (1006 = no close frame)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"closed with {code}: {reason}")
        self.code = code
        self.reason = reason


def _closed(exc: ConnectionClosed) -> RawClosed:
    if exc.rcvd is None:
        return RawClosed(1006)
    return RawClosed(exc.rcvd.code, exc.rcvd.reason)


def correlation_context(
    request_id: str, *, site_id: str, session_id: str | None = None, lang: str = "en-us"
) -> dict[str, Any]:
    """The context an SDK ``ask`` sends (docs/protocol.md §3.2), runtime stamping included."""
    session: dict[str, Any] = {"site_id": site_id, "lang": lang, "request_id": request_id}
    if session_id is not None:
        session["session_id"] = session_id
    return {
        "session": session,
        "request_id": request_id,
        "thalovant_request_id": request_id,
        "source": UA,
        "platform": UA,
        "destination": "HiveMind",
    }


class RawClient:
    """One authenticated connection: handshake done, encrypted HELLO sent."""

    def __init__(
        self,
        ws: ClientConnection,
        handshake: ClientHandshake,
        *,
        site_id: str,
        session_id: str,
        static_private: bytes,
    ) -> None:
        self.ws = ws
        self.handshake = handshake
        self.result: HandshakeResult = handshake.result
        self.channel = SecureChannel(self.result.send_cipher, self.result.recv_cipher)
        self.site_id = site_id
        self.session_id = session_id
        self.static_private = static_private
        self.cleartext: list[dict[str, Any]] = []

    @property
    def hub_key(self) -> bytes:
        """The hub static key this handshake authenticated."""
        return self.result.remote_static

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        access_key: str,
        password: str,
        ssl: Any = None,
        static_private: bytes | None = None,
        pinned_hub_key: bytes | None = None,
        allow_kk: bool = True,
        suites: Sequence[str] = SUITES,
        site_id: str = "test-site",
        session_id: str | None = None,
        send_hello: bool = True,
    ) -> RawClient:
        """Open, authenticate and handshake; raise :class:`RawClosed` if the hub closes."""
        static = static_private or generate_static_private()
        handshake = ClientHandshake(
            static, pinned_hub_key=pinned_hub_key, allow_kk=allow_kk, suites=suites
        )
        target = authorized_url(url, authorization_token(UA, access_key))
        ws = await connect(
            target, ssl=ssl if url.startswith("wss") else None, compression=None, open_timeout=5
        )
        try:
            with anyio.fail_after(10):
                while not handshake.complete:
                    try:
                        frame = await ws.recv()
                    except ConnectionClosed as exc:
                        raise _closed(exc) from None
                    out = handshake.receive(frame)
                    if handshake.needs_psk:
                        assert handshake.node_id is not None
                        psk = await anyio.to_thread.run_sync(
                            default_psk_deriver.get, access_key, password, handshake.node_id
                        )
                        out = handshake.provide_psk(psk)
                    for reply in out:
                        await ws.send(reply)
            client = cls(
                ws,
                handshake,
                site_id=site_id,
                session_id=session_id or f"thalovant-python-{uuid.uuid4().hex}",
                static_private=static,
            )
            if send_hello:
                await client.send(client_hello(client.session_id, site_id))
            return client
        except BaseException:
            await ws.close()
            raise

    async def send(self, message: HiveMessage) -> None:
        """Encrypt and send one message."""
        try:
            for frame in self.channel.encrypt_message(message):
                await self.ws.send(frame)
        except ConnectionClosed as exc:
            raise _closed(exc) from None

    async def recv(self) -> HiveMessage | BinaryFrame:
        """The next decrypted message; :class:`RawClosed` when the hub closes."""
        while True:
            try:
                frame = await self.ws.recv()
            except ConnectionClosed as exc:
                raise _closed(exc) from None
            assert isinstance(frame, bytes), f"cleartext after the session: {frame!r}"
            message = self.channel.decrypt(frame)
            if message is not None:
                return message

    async def recv_bus(self) -> BusMessage:
        """The next message, which must be a ``bus`` one."""
        message = await self.recv()
        assert isinstance(message, HiveMessage)
        assert message.msg_type == "bus", message.msg_type
        return bus_payload(message)

    async def wait_closed(self) -> int:
        """Read until the hub closes; return the close code."""
        with anyio.fail_after(5):
            while True:
                try:
                    await self.recv()
                except RawClosed as closed:
                    return closed.code

    async def utter(
        self,
        text: str,
        *,
        request_id: str | None = None,
        session_id: str | None = None,
        lang: str = "en-us",
        context: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
    ) -> str:
        """Send ``recognizer_loop:utterance`` the way the SDK does; return the request id."""
        rid = request_id or f"thalovant-request-{uuid.uuid4().hex}"
        ctx = correlation_context(rid, site_id=self.site_id, session_id=session_id, lang=lang)
        ctx.update(context or {})
        payload = {"utterances": [text], "lang": lang, **(data or {})}
        await self.send(bus_message("recognizer_loop:utterance", payload, ctx))
        return rid

    async def collect(self, request_id: str, *, within: float = 5.0) -> list[BusMessage]:
        """Bus messages carrying ``request_id`` until ``handled`` or a denial."""
        out: list[BusMessage] = []
        with anyio.fail_after(within):
            while True:
                bus = await self.recv_bus()
                if bus.context.get("request_id") != request_id:
                    continue
                out.append(bus)
                if bus.type in TERMINAL:
                    return out

    async def ask(self, text: str, **kwargs: Any) -> list[BusMessage]:
        """:meth:`utter` then :meth:`collect`."""
        return await self.collect(await self.utter(text, **kwargs))

    async def aclose(self) -> None:
        """Close the WebSocket."""
        await self.ws.close()


def spoken(messages: list[BusMessage]) -> list[str]:
    """The texts of the ``speak`` events among ``messages``."""
    return [m.data["utterance"] for m in messages if m.type == "speak"]


def assert_echoes(request_id: str, message: BusMessage) -> None:
    """Every reply carries the three request ids unchanged, with routing swapped."""
    ctx = message.context
    assert ctx["request_id"] == request_id
    assert ctx["thalovant_request_id"] == request_id
    assert ctx["session"]["request_id"] == request_id
    assert ctx["source"] == "HiveMind"
    assert ctx["destination"] == UA
    assert ctx["platform"] == UA
