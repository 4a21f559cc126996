"""pytest fixtures for code that talks to Thalovant hubs: a real local hub with real TLS.

Registered as a pytest plugin (entry point ``pytest11: thalovant``), so installing thalovant
with its ``test`` extra makes these fixtures available everywhere::

    import pytest

    @pytest.mark.anyio
    async def test_joke(local_hub):
        identity = local_hub.register_client("kiosk")
        ...  # connect a client with identity and tls=local_hub's CA (hub_tls.client_context)

- ``hub_tls`` (session scope): a throwaway CA from ``trustme``, a server context for
  ``127.0.0.1``/``localhost``/``::1``, a client context trusting only that CA, and the CA as
  a PEM file (``ca_file``) for code that wants a path (``SSL_CERT_FILE``, ``cafile=``).
- ``local_hub`` (async, function scope): a started :class:`~thalovant.hub.LocalHub` on
  ``wss://127.0.0.1:<free port>`` with the demo skills, the fallback skill and a fresh state
  folder. It needs the anyio pytest plugin (``@pytest.mark.anyio`` on the test) on the
  asyncio backend.

The fallback skill answers every utterance no skill matches, so ``ask`` never raises
``ThalovantUnansweredError`` against the fixture. To test that error, switch it off for
one test with the ``thalovant_hub`` marker (its keywords go to ``LocalHub``)::

    @pytest.mark.anyio
    @pytest.mark.thalovant_hub(fallback=False)
    async def test_unanswered(local_hub):
        ...  # an unmatched utterance now gets ovos.intent.unmatched

or, inside a test, with ``local_hub.fallback = False``.

``trustme`` and the hub are imported inside the fixtures, so loading this plugin costs nothing.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from thalovant.hub import LocalHub

__all__ = ["HUB_MARKER", "HubTLS", "hub_tls", "local_hub", "make_hub_tls", "pytest_configure"]

_HOSTS = ("127.0.0.1", "localhost", "::1")

HUB_MARKER = "thalovant_hub"
"""``@pytest.mark.thalovant_hub(**options)``: ``LocalHub`` options of the ``local_hub``
fixture for one test, e.g. ``fallback=False``."""


def pytest_configure(config: pytest.Config) -> None:
    """Register the :data:`HUB_MARKER` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        f"{HUB_MARKER}(**options): LocalHub options of the local_hub fixture, "
        "e.g. fallback=False to get ovos.intent.unmatched for unmatched utterances",
    )


@dataclass(frozen=True)
class HubTLS:
    """TLS material for a local hub: CA, server context, client context, CA file."""

    ca: Any
    """The ``trustme.CA`` (issue more certificates with ``ca.issue_cert(...)``)."""
    ca_file: Path
    """The CA certificate as PEM."""
    server_context: ssl.SSLContext
    """For :class:`~thalovant.hub.LocalHub` (``ssl_context=``)."""
    client_context: ssl.SSLContext
    """Verifies the hub's certificate against the CA only (hostname checked)."""


def make_hub_tls(folder: Path) -> HubTLS:
    """Create :class:`HubTLS` with ``trustme`` (the ``test`` extra), CA file in ``folder``."""
    try:
        import trustme
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("hub_tls needs trustme: pip install 'thalovant[test]'") from exc
    ca = trustme.CA()
    cert = ca.issue_cert(*_HOSTS)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_context)
    client_context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ca.configure_trust(client_context)
    folder.mkdir(parents=True, exist_ok=True)
    ca_file = folder / "thalovant-test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return HubTLS(ca, ca_file, server_context, client_context)


@pytest.fixture(scope="session")
def hub_tls(tmp_path_factory: pytest.TempPathFactory) -> HubTLS:
    """Session-wide trustme TLS material for local hubs and their clients."""
    return make_hub_tls(tmp_path_factory.mktemp("thalovant-tls"))


@pytest.fixture
async def local_hub(
    anyio_backend: Any, hub_tls: HubTLS, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[LocalHub]:
    """A running local hub (demo skills, fallback on, trustme TLS, fresh state), closed after
    the test; ``@pytest.mark.thalovant_hub(fallback=False, ...)`` passes options to it."""
    from thalovant.hub import LocalHub

    marker = request.node.get_closest_marker(HUB_MARKER)
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    options.setdefault("ssl_context", hub_tls.server_context)
    async with LocalHub(tmp_path / "thalovant-hub", **options) as hub:
        yield hub
