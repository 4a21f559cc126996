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
from thalovant.hub.control.account import account_from_options
from thalovant.hub.control_plane import LocalControlPlane
from thalovant.hub.hub import LocalHub, write_identity_file
from thalovant.hub.limits import HubLimits
from thalovant.hub.servers.tls import dev_certificates
from thalovant.identity.model import ThalovantIdentity
from thalovant.redact import redact_url

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
    control_port: int = 0
    account_email: str | None = None
    account_password: str | None = None
    account_totp_secret: str | None = None
    broker: str | None = "embedded"
    """``"embedded"``, a broker URL (``mqtt://hub:pw@host:1883``), or ``None`` (no MQTT)."""
    limits: HubLimits | None = None
    """Connection and memory bounds of every listener (``None``: the defaults)."""
    fallback: bool = True
    ovos_bus: str | None = None
    """Agent mode: the OVOS messagebus to relay client bus messages to (``None``: skills)."""
    """Answer unmatched utterances with the fallback skill (``False``: unmatched)."""


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
    server_tls = certs.server_context() if certs else None
    account, shown_password = account_from_options(
        state_dir, options.account_email, options.account_password, options.account_totp_secret
    )
    async with contextlib.AsyncExitStack() as stack:
        hub = await stack.enter_async_context(
            LocalHub(
                state_dir,
                host=options.host,
                wss_port=options.port,
                https_port=options.https_port,
                ssl_context=server_tls,
                mqtt_broker=options.broker,
                control_account=account if options.https_port is not None else None,
                limits=options.limits,
                fallback=options.fallback,
                ovos_bus=options.ovos_bus,
            )
        )
        api_url = hub.api_url
        if api_url is None:  # no HTTPS server: the control plane gets its own port
            control = LocalControlPlane(
                hub,
                account,
                host=options.host,
                port=options.control_port,
                ssl_context=server_tls,
                limits=hub.limits,
            )
            api_url = (await stack.enter_async_context(control)).api_url
        path = options.identity_out or state_dir / f"{options.name}.identity.json"
        identity = _existing_identity(hub, path) or hub.register_client(options.name)
        written = write_identity_file(identity, path)
        rows = [("node id", hub.node_id), ("WSS URL", hub.wss_url)]
        if hub.https_url is not None:
            rows.append(("HTTPS URL", hub.https_url))
        if hub.mqtt_url is not None:
            rows.append(("MQTT URL", hub.mqtt_url))
        if options.ovos_bus is not None:
            rows.append(("OVOS bus", f"{redact_url(options.ovos_bus)}  (agent mode)"))
        rows.append(("identity", str(written)))
        rows.append(("API URL", f"{api_url}  (control plane /v1)"))
        login = f"{account.email} / {shown_password}" if shown_password else account.email
        rows.append(("account", login + ("  (two-step sign-in on)" if account.two_step else "")))
        if certs is not None:
            hint = f"(clients: REQUESTS_CA_BUNDLE={certs.ca_file})"
            rows.append(("TLS CA", f"{certs.ca_file}  {hint}"))
        lines = ["Thalovant local hub"]
        lines += [f"  {key + ':':<11}{value}" for key, value in rows]
        lines.append("Press Ctrl-C to stop.")
        print("\n".join(lines), file=out, flush=True)
        await anyio.sleep_forever()
