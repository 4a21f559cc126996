"""A hub whose Noise static key changed is refused on every carrier (real key rotation)."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from thalovant.carriers import AVAILABLE_CARRIERS
from thalovant.client.client import AsyncThalovantClient
from thalovant.errors import ThalovantHubKeyChangedError
from thalovant.testing import HubTLS

from .conftest import CARRIERS
from .peer import PeerHub

pytestmark = [pytest.mark.interop, pytest.mark.anyio]


async def test_hub_key_changed(peer: PeerHub, hub_tls: HubTLS, tmp_path: Path) -> None:
    carriers = [c for c in CARRIERS if c in AVAILABLE_CARRIERS]
    identities = {carrier: peer.identity(peer.take()) for carrier in carriers}

    def client(carrier: str) -> AsyncThalovantClient:
        return AsyncThalovantClient(
            identities[carrier],
            protocol=carrier,
            ssl_context=hub_tls.client_context,
            noise_state_dir=tmp_path / carrier,
        )

    with anyio.fail_after(60):
        for carrier in carriers:
            async with client(carrier) as pinned:
                await pinned.ask("pin me")
        await anyio.to_thread.run_sync(peer.rotate_hub_key)
        for carrier in carriers:
            changed = client(carrier)
            with pytest.raises(ThalovantHubKeyChangedError):
                await changed.connect()
            await changed.close()
