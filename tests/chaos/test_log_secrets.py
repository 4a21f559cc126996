"""Secrets never reach a log record (issue #11, defect 3), whatever library wrote it.

Every logger is at DEBUG (the root logger, so ``websockets``, ``aiomqtt``/paho, ``aiohttp``,
``asyncio`` and ours alike) on the client and the hub side while a client goes through a
whole life over every carrier: control-plane sign-in and provisioning, connect, ask, listen,
a callback handler, a drop, the redial (now ``KKpsk0``), another ask, close; then generated
identities whose access keys and passwords hold characters that URL-encoding and base64
change (``=``, ``~``, ``.``, spaces, non-ASCII) connect, ask and get refused with a wrong
password. Every captured record (message and traceback) is then searched for every secret in
play, raw and in the encodings a library might print: URL-encoded, base64, hex.
"""

from __future__ import annotations

import base64
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import anyio
import pytest

from tests.client.conftest import MQTT_MOSQUITTO
from tests.mosquitto import Mosquitto, mosquitto_available
from thalovant.carriers.base import authorization_token
from thalovant.client.client import AsyncThalovantClient
from thalovant.control.client import AsyncThalovantControlPlane
from thalovant.errors import ThalovantHubRefusedError
from thalovant.events import EVENT_SPEAK
from thalovant.hub import LocalHub
from thalovant.hub.control.account import DEMO_EMAIL, LocalAccount
from thalovant.identity.keystore import NoiseKeyStore
from thalovant.identity.model import ThalovantIdentity
from thalovant.link import link
from thalovant.link.supervisor import Backoff
from thalovant.models.types import ThalovantEvent
from thalovant.protocol.psk import derive_psk
from thalovant.testing import HubTLS

from .conftest import scaled

pytestmark = pytest.mark.anyio


class _Capture(logging.Handler):
    """Keeps every record, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []
        self.origins: set[str] = set()  # the package whose code logged each record

    def emit(self, record: logging.LogRecord) -> None:
        path = Path(record.pathname).parts
        top = path.index("site-packages") + 1 if "site-packages" in path else -1
        self.origins.add(path[top].partition(".")[0] if 0 < top < len(path) else record.name)
        self.lines.append(self.format(record))


@pytest.fixture
def captured() -> Iterator[_Capture]:
    """The root logger and every logger below it at DEBUG, captured."""
    root = logging.getLogger()
    handler = _Capture()
    saved = root.level
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    levels = [(lg, lg.level, lg.disabled) for lg in loggers if isinstance(lg, logging.Logger)]
    for lg, _level, _disabled in levels:
        lg.setLevel(logging.NOTSET)
        lg.disabled = False
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)
        for lg, level, disabled in levels:
            lg.setLevel(level)
            lg.disabled = disabled


def encodings(secret: str | bytes) -> set[str]:
    """``secret`` as a library might print it."""
    raw = secret.encode() if isinstance(secret, str) else secret
    forms = {
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        base64.b64encode(raw).decode().rstrip("="),
    }
    if isinstance(secret, str):
        forms |= {secret, quote(secret, safe=""), quote_plus(secret), repr(raw)[2:-1]}
    else:
        forms |= {raw.hex(), raw.hex().upper(), repr(raw)[2:-1]}
    return {form for form in forms if len(form) >= 8}


def leaks(text: str, named: dict[str, str | bytes]) -> list[str]:
    """``name:form`` for every encoding of a secret found in ``text``."""
    found = []
    for name, secret in named.items():
        for form in encodings(secret):
            if form in text:
                found.append(f"{name}:{form[:6]}…")
    return found


@pytest.fixture
async def broker(
    tmp_path: Path, hub_tls: HubTLS, request: pytest.FixtureRequest
) -> AsyncIterator[Mosquitto | None]:
    """mosquitto for the ``mqtt-mosquitto`` run, else None (the hub's embedded broker)."""
    if request.param != MQTT_MOSQUITTO:
        yield None
        return
    if not mosquitto_available():
        pytest.fail("mosquitto is not installed: apt-get install -y mosquitto")
    running = Mosquitto(tmp_path / "mosquitto", hub_tls)
    running.start()
    try:
        yield running
    finally:
        running.stop()


async def _life(
    hub: LocalHub,
    identity: ThalovantIdentity,
    protocol: str,
    tls: HubTLS,
    noise: Path,
    rounds: int,
) -> AsyncThalovantClient:
    """connect, ask, listen, on(), a drop, the redial, ask again; returns the closed client."""
    client = AsyncThalovantClient(
        identity, protocol=protocol, ssl_context=tls.client_context, noise_state_dir=noise
    )
    client.reconnect_backoff = Backoff(initial=0.02, floor=0.01)
    heard = anyio.Event()

    def on_speak(event: ThalovantEvent) -> None:
        heard.set()

    try:
        with anyio.fail_after(30):
            await client.connect()
            client.on(EVENT_SPEAK, on_speak)
            for _ in range(rounds):
                assert (await client.ask("hello")).text
            rid = uuid.uuid4().hex
            async with client.listen(EVENT_SPEAK, timeout=10, max_events=1, request_id=rid) as it:
                await client.send_utterance("tell me a joke", request_id=rid)
                assert [event.text async for event in it]
            await heard.wait()
            await hub.drop_connections(1011, "chaos drop")
            await hub.wait_for_connections(0)
            await hub.wait_for_connections(1)  # the redial
            await client.connected()
            assert client.redials == 1
            assert (await client.ask("hello")).text
    finally:
        await client.close(timeout=5)
    return client


def hostile_credentials(index: int) -> tuple[str, str]:
    """An access key and a password with characters encodings change."""
    tail = "=~._-"[index % 5 :] + "=~._-"[: index % 5]
    key = f"{secrets.token_urlsafe(12)}{tail}é{secrets.token_hex(3)}"
    password = f"pä ss{tail} {secrets.token_urlsafe(9)} wörd/+{index}"
    return key, password


async def _short_life(identity: ThalovantIdentity, protocol: str, tls: HubTLS, noise: Path) -> None:
    """connect + ask, then a refused connect with a wrong password."""
    options: dict[str, Any] = {
        "protocol": protocol,
        "ssl_context": tls.client_context,
        "noise_state_dir": noise,
    }
    with anyio.fail_after(30):
        async with AsyncThalovantClient(identity, **options) as client:
            assert (await client.ask("hello")).text
        wrong = ThalovantIdentity.from_mapping(
            {**identity.as_dict(include_secrets=True), "password": "wrong " + identity.password}
        )
        options["noise_state_dir"] = noise / "wrong"  # no cached PSK: the password counts
        refused = AsyncThalovantClient(wrong, auto_reconnect=False, **options)
        try:
            with pytest.raises(ThalovantHubRefusedError):
                await refused.connect(timeout=10)
        finally:
            await refused.close(timeout=5)


@pytest.mark.parametrize("broker", ["embedded", MQTT_MOSQUITTO], indirect=True)
async def test_no_secret_in_any_debug_log(
    anyio_backend: Any,
    hub_tls: HubTLS,
    tmp_path: Path,
    captured: _Capture,
    broker: Mosquitto | None,
    chaos_figure: Callable[[str], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(link, "REFUSAL_SETTLE_SECONDS", 0.15)
    account_password = secrets.token_urlsafe(18)
    options: dict[str, Any] = {"control_account": LocalAccount.create(DEMO_EMAIL, account_password)}
    if broker is not None:
        options |= {
            "mqtt_broker": broker.hub_url,
            "mqtt_client_url": broker.client_url,
            "mqtt_provisioner": broker.add_client,
        }
    named: dict[str, str | bytes] = {"account password": account_password}
    rounds = scaled(2, 20)
    async with LocalHub(tmp_path / "hub", ssl_context=hub_tls.server_context, **options) as hub:
        named["hub private key"] = hub.keys.static_private
        if broker is not None:
            named["hub broker password"] = broker.hub_password
        else:
            named["hub broker password"] = hub._listeners._hub_account[1]
        assert hub.api_url is not None
        with anyio.fail_after(30):
            async with AsyncThalovantControlPlane(
                hub.api_url, ssl_context=hub_tls.client_context
            ) as api:
                hubs = (await api.list_public_hubs(limit=5))["data"]
                token = await api.login(DEMO_EMAIL, account_password)
                named["api token"] = token["access_token"]
                await api.get_profile()
                result = await api.create_client_identity(hubs[0]["id"], name="chaos")
                await api.wait_for_admission(result, timeout=20)
        identity = result.identity
        named["access key"] = identity.access_key
        named["password"] = identity.password
        psk = await anyio.to_thread.run_sync(derive_psk, identity.password, hub.node_id)
        named["derived psk"] = psk
        if identity.mqtt is not None and identity.mqtt.password:
            named["broker password"] = identity.mqtt.password
        protocols = ["mqtt"] if broker is not None else ["wss", "https", "mqtt"]
        noise = tmp_path / "noise"
        for protocol in protocols:
            client = await _life(hub, identity, protocol, hub_tls, noise, rounds)
            named["authorization token"] = authorization_token(
                client.options.useragent, identity.access_key
            )
        store = NoiseKeyStore(noise)
        named["client private key"] = store.static_private_key()
        for index in range(scaled(1, 10)):
            key, password = hostile_credentials(index)
            other = hub.register_client(f"hostile-{index}", access_key=key, password=password)
            named[f"hostile key {index}"] = key
            named[f"hostile password {index}"] = password
            if other.mqtt is not None:
                named[f"hostile broker password {index}"] = other.mqtt.password
            for protocol in protocols:
                await _short_life(other, protocol, hub_tls, tmp_path / f"noise-{index}")
    text = "\n".join(captured.lines)
    found = leaks(text, named)
    libraries = sorted({name.split(".")[0] for name in captured.origins})
    chaos_figure(
        f"{len(captured.lines)} records ({', '.join(libraries)}) over {', '.join(protocols)}; "
        f"{len(named)} secrets x encodings; secrets found: "
        f"{len({leak.partition(':')[0] for leak in found})} {sorted(set(found))}"
    )
    assert len(captured.lines) > 100
    assert found == []
