"""Chaos: many first contacts at once, then every one of them again, pinned (issue #11, 2).

N clients with their own credentials and Noise folders make first contact (XXpsk2) with one
local hub at the same moment. Every client whose ``connect()`` returned must then complete an
``ask``; a client that did not connect must have failed with a typed error within its connect
budget. Then every connected client reconnects: pinned (KKpsk0), with no refusal and without
the hub deriving a single PSK again.

The hub gets its own PSK deriver (with a counting KDF: the real Argon2id), as a hub in another
process would; the clients use the process-wide one.
"""

from __future__ import annotations

import secrets
import statistics
import threading
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from tests.chaos.conftest import scaled
from thalovant.client.client import AsyncThalovantClient
from thalovant.errors import ThalovantError
from thalovant.hub import LocalHub
from thalovant.identity.model import ThalovantIdentity
from thalovant.link.supervisor import Backoff
from thalovant.protocol.psk import PskDeriver, derive_psk
from thalovant.testing import HubTLS

pytestmark = pytest.mark.anyio


class CountingKdf:
    """The real Argon2id, counted."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, password: str, node_id: str) -> bytes:
        with self._lock:
            self.calls += 1
        return derive_psk(password, node_id)


def _client(identity: ThalovantIdentity, folder: Path, tls: HubTLS) -> AsyncThalovantClient:
    client = AsyncThalovantClient(identity, ssl_context=tls.client_context, noise_state_dir=folder)
    client.reconnect_backoff = Backoff(initial=0.02, floor=0.01)
    return client


def _with_password(identity: ThalovantIdentity, password: str) -> ThalovantIdentity:
    data = identity.as_dict(include_secrets=True)
    data["password"] = password
    return ThalovantIdentity.from_mapping(data)


def _parsed_password(identity: ThalovantIdentity, password: str) -> str | None:
    try:
        return _with_password(identity, password).password
    except ThalovantError:
        return None


@pytest.mark.timeout(scaled(120, 1200))
async def test_concurrent_first_contacts_then_pinned_reconnects(
    hub_tls: HubTLS, tmp_path: Path, chaos_figure: Callable[[str], None]
) -> None:
    count = scaled(12, 200)
    budget = scaled(60.0, 240.0)
    kdf = CountingKdf()
    hub_deriver = PskDeriver(derive=kdf)
    async with LocalHub(
        tmp_path / "hub", ssl_context=hub_tls.server_context, psk_deriver=hub_deriver
    ) as hub:
        identities = [
            hub.register_client(
                f"fc{n}", access_key=f"fc-{n}-{secrets.token_hex(4)}", password=secrets.token_hex(8)
            )
            for n in range(count)
        ]
        clients = [
            _client(identity, tmp_path / f"noise-{n}", hub_tls)
            for n, identity in enumerate(identities)
        ]
        connect_s: dict[int, float] = {}
        asked: set[int] = set()
        typed: dict[int, tuple[str, float]] = {}
        untyped: dict[int, str] = {}
        ask_failed: dict[int, str] = {}

        async def first_contact(n: int) -> None:
            started = anyio.current_time()
            try:
                await clients[n].connect(timeout=budget)
            except ThalovantError as exc:
                typed[n] = (type(exc).__name__, anyio.current_time() - started)
                return
            except Exception as exc:  # the figure reports it
                untyped[n] = f"{type(exc).__name__}: {exc}"
                return
            connect_s[n] = anyio.current_time() - started
            try:
                reply = await clients[n].ask("hello", timeout=30)
            except Exception as exc:  # the figure reports it
                ask_failed[n] = f"{type(exc).__name__}: {exc}"
            else:
                if reply.text:
                    asked.add(n)

        try:
            with anyio.fail_after(budget + 60):
                async with anyio.create_task_group() as tg:
                    for n in range(count):
                        tg.start_soon(first_contact, n)
            first_derivations = kdf.calls
            times = sorted(connect_s.values()) or [0.0]
            chaos_figure(
                f"{count} first contacts: connected {len(connect_s)}, asked {len(asked)}, "
                f"typed failures {len(typed)}, untyped {len(untyped)}, ask failures "
                f"{len(ask_failed)}; connect p50 {statistics.median(times):.1f} s, "
                f"max {times[-1]:.1f} s; hub derivations {first_derivations}"
            )

            for client in clients:
                await client.close(timeout=5)
            # The hub must have taken every connected client's HELLO (so pinned its key).
            pinned = sum(
                1
                for n in connect_s
                if (record := hub.client(identities[n].access_key)) is not None
                and record.client_key is not None
            )

            patterns: dict[int, str | None] = {}
            refused: dict[int, str] = {}

            async def reconnect(n: int) -> None:
                try:
                    info = await clients[n].connect_with_info(timeout=budget)
                    await clients[n].ask("hello", timeout=30)
                except Exception as exc:  # the figure reports it
                    refused[n] = f"{type(exc).__name__}: {exc}"
                else:
                    patterns[n] = info.pattern

            with anyio.fail_after(budget + 60):
                async with anyio.create_task_group() as tg:
                    for n in connect_s:
                        tg.start_soon(reconnect, n)
            rederived = kdf.calls - first_derivations
            kk = sum(1 for pattern in patterns.values() if pattern == "KKpsk0")
            chaos_figure(
                f"pinned reconnects of {len(connect_s)}: hub-pinned {pinned}, KKpsk0 {kk}, "
                f"failed {len(refused)}; hub re-derivations {rederived}"
            )
        finally:
            for client in clients:
                await client.close(timeout=5)

    assert not untyped, untyped
    assert not ask_failed, sorted(ask_failed.items())[:3]
    assert len(asked) == len(connect_s)
    assert all(elapsed <= budget + 5 for _, elapsed in typed.values()), typed
    assert len(connect_s) == count, sorted(typed.items())[:3]
    assert pinned == len(connect_s)
    assert not refused, sorted(refused.items())[:3]
    assert kk == len(connect_s)
    assert rederived == 0


async def test_abandoned_first_contacts_leave_no_work_behind(
    hub_tls: HubTLS, tmp_path: Path, chaos_figure: Callable[[str], None]
) -> None:
    """Clients that give up long before their PSK could be derived: their queued
    derivations (client side and hub side) are dropped, so a later first contact does not
    wait behind work nobody wants."""
    count = scaled(40, 300)
    kdf = CountingKdf()
    hub_deriver = PskDeriver(derive=kdf)
    async with LocalHub(
        tmp_path / "hub",
        ssl_context=hub_tls.server_context,
        psk_deriver=hub_deriver,
        mqtt_broker=None,
    ) as hub:
        quitters = [
            hub.register_client(f"q{n}", password=secrets.token_hex(8)) for n in range(count)
        ]
        failures: dict[str, int] = {}

        async def give_up(n: int) -> None:
            client = _client(quitters[n], tmp_path / f"q-{n}", hub_tls)
            try:
                await client.connect(timeout=0.5)
            except ThalovantError as exc:
                failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
            finally:
                await client.close(timeout=5)

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for n in range(count):
                    tg.start_soon(give_up, n)
        derived = kdf.calls
        late = hub.register_client("late", password=secrets.token_hex(8))
        client = _client(late, tmp_path / "late", hub_tls)
        started = anyio.current_time()
        try:
            with anyio.fail_after(30):
                await client.connect()
                assert (await client.ask("hello")).text
        finally:
            await client.close(timeout=5)
        late_s = anyio.current_time() - started
    chaos_figure(
        f"{count} first contacts abandoned after 0.5 s: errors {failures}; hub derivations "
        f"run for them {derived}; next first contact {late_s:.1f} s"
    )
    assert derived < count / 2
    assert late_s < 15


async def test_wrong_passwords_never_ride_a_cached_psk(
    hub_tls: HubTLS, tmp_path: Path, chaos_figure: Callable[[str], None]
) -> None:
    """Issue #11 (11): many wrong passwords (near misses of the right one) sharing the key
    folder of an identity whose PSK is cached: every one refused, on every carrier, and the
    right password still connects pinned from its cached PSK."""
    carriers = ["wss", "https", "mqtt"]
    async with LocalHub(tmp_path / "hub", ssl_context=hub_tls.server_context) as hub:
        right = secrets.token_urlsafe(12)
        identity = hub.register_client("victim", password=right)
        wrong = [
            right.upper() if right.upper() != right else right.lower(),
            right + " ",
            " " + right,
            right[:-1],
            right + "x",
            right + "\u200b",
            right[::-1],
            "",
            secrets.token_urlsafe(12),
        ]
        # Only what is still a different, valid password once the identity is parsed
        # (surrounding whitespace is not part of a password there; an empty one is refused).
        wrong = [p for p in wrong if _parsed_password(identity, p) not in (None, right)]
        wrong = wrong[: scaled(2, 8)]
        folder = tmp_path / "noise"
        outcomes: dict[str, int] = {}
        for protocol in carriers:
            good = AsyncThalovantClient(
                identity,
                protocol=protocol,
                ssl_context=hub_tls.client_context,
                noise_state_dir=folder,
            )
            with anyio.fail_after(30):
                async with good:
                    assert (await good.ask("hello")).text

            async def attempt(password: str, protocol: str = protocol) -> None:
                bad = AsyncThalovantClient(
                    _with_password(identity, password),
                    protocol=protocol,
                    ssl_context=hub_tls.client_context,
                    noise_state_dir=folder,
                )
                try:
                    await bad.connect(timeout=30)
                except ThalovantError as exc:
                    name = "LEAKED" if password in str(exc) else type(exc).__name__
                else:
                    name = "CONNECTED"
                finally:
                    await bad.close(timeout=5)
                outcomes[name] = outcomes.get(name, 0) + 1

            # One after the other: an identity is one MQTT session (one topic prefix).
            with anyio.fail_after(120):
                for password in wrong:
                    await attempt(password)
                again = AsyncThalovantClient(
                    identity,
                    protocol=protocol,
                    ssl_context=hub_tls.client_context,
                    noise_state_dir=folder,
                )
                async with again:
                    assert (await again.connect_with_info()).pattern == "KKpsk0"
    chaos_figure(
        f"{len(wrong)} wrong passwords x {len(carriers)} carriers against a cached PSK: {outcomes}"
    )
    assert outcomes == {"ThalovantHubRefusedError": len(wrong) * len(carriers)}
