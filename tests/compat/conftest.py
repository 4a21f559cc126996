"""The client suite's fixtures (a real local hub on loopback, clients closed after use)."""

from __future__ import annotations

from tests.client.conftest import (  # noqa: F401  (fixtures, found by name)
    client,
    hub,
    identity,
    make_client,
    short_refusal_window,
)
