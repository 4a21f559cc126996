"""``thalovant hub``: run a local hub until Ctrl-C and hand out an identity file.

The identity file (mode 0600) is kept across runs: if it names a client this hub knows, that
client is reused (its URL refreshed, since ``--port 0`` picks a new port each run); otherwise
a new client is registered and the file written.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import anyio

from thalovant.errors import ThalovantIdentityError
from thalovant.identity import ThalovantIdentity

from .hub import LocalHub, write_identity_file
from .tls import dev_certificates

__all__ = ["HubOptions", "default_state_dir", "serve_hub"]


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/thalovant/hub``, else ``~/.local/state/thalovant/hub``."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join("~", ".local", "state")
    return Path(base).expanduser() / "thalovant" / "hub"


@dataclass(frozen=True)
class HubOptions:
    """What ``thalovant hub`` was asked for."""

    host: str = "127.0.0.1"
    port: int = 0
    https_port: int | None = 0
    state_dir: Path | None = None
    tls_self_signed: bool = False
    identity_out: Path | None = None
    name: str = "demo"


def _existing_identity(hub: LocalHub, path: Path) -> ThalovantIdentity | None:
    if not path.exists():
        return None
    with contextlib.suppress(ThalovantIdentityError):
        old = ThalovantIdentity.from_file(path)
        if hub.client(old.access_key) is not None:
            return hub.identity_for(old.access_key)
    return None


async def serve_hub(options: HubOptions, *, out: TextIO = sys.stdout) -> None:
    """Start the hub, write the identity file, print where things are, serve forever."""
    state_dir = (options.state_dir or default_state_dir()).expanduser().absolute()
    hosts = tuple(dict.fromkeys((options.host, "127.0.0.1", "localhost")))
    certs = dev_certificates(state_dir, hosts) if options.tls_self_signed else None
    async with LocalHub(
        state_dir,
        host=options.host,
        wss_port=options.port,
        https_port=options.https_port,
        ssl_context=certs.server_context() if certs else None,
    ) as hub:
        path = options.identity_out or state_dir / f"{options.name}.identity.json"
        identity = _existing_identity(hub, path) or hub.register_client(options.name)
        written = write_identity_file(identity, path)
        rows = [("node id", hub.node_id), ("WSS URL", hub.wss_url)]
        if hub.https_url is not None:
            rows.append(("HTTPS URL", hub.https_url))
        rows.append(("identity", str(written)))
        if certs is not None:
            rows.append(("TLS CA", f"{certs.ca_file}  (clients: SSL_CERT_FILE={certs.ca_file})"))
        lines = ["Thalovant local hub"]
        lines += [f"  {key + ':':<11}{value}" for key, value in rows]
        lines.append("Press Ctrl-C to stop.")
        print("\n".join(lines), file=out, flush=True)
        await anyio.sleep_forever()
