"""Commands that need no hub connection: ``identity``, ``demo`` and ``hub``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from thalovant.cli.common import load_identity

__all__ = ["register"]


def _cmd_identity(args: argparse.Namespace) -> int:
    identity = load_identity(args)
    shown = identity.as_dict(include_secrets=False)
    shown["enabled_protocols"] = list(identity.enabled_protocols())
    print(json.dumps(shown, indent=2, sort_keys=True))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from thalovant.demo import main as demo_main

    return demo_main()


def _cmd_hub(args: argparse.Namespace) -> int:
    import anyio

    from thalovant.hub.runner import HubOptions, serve_hub

    options = HubOptions(
        host=args.host,
        port=args.port,
        https_port=args.https_port,
        state_dir=args.state_dir,
        tls_self_signed=args.tls_self_signed,
        identity_out=args.identity_out,
        name=args.name,
        control_port=args.control_port,
        account_email=args.account_email,
        account_password=args.account_password,
        account_totp_secret=args.account_totp_secret,
        broker=None if args.broker == "none" else args.broker,
        fallback=not args.no_fallback,
        ovos_bus=args.ovos_bus,
    )
    anyio.run(serve_hub, options)
    return 0


def _add_hub_parser(sub: Any) -> None:
    hub = sub.add_parser("hub", shared=False, help="run a local hub (loopback) until Ctrl-C")
    hub.add_argument("--host", default="127.0.0.1", help="address to listen on")
    hub.add_argument("--port", type=int, default=0, help="WebSocket port (0: any free port)")
    hub.add_argument(
        "--https-port", type=int, default=0, help="HTTPS polling port (0: any free port)"
    )
    hub.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="hub key, node id and client registry (default: XDG state folder)",
    )
    hub.add_argument(
        "--tls-self-signed",
        action="store_true",
        help="serve wss:// and https:// with a development CA kept in the state folder",
    )
    hub.add_argument(
        "--identity-out",
        type=Path,
        default=None,
        metavar="PATH",
        help="identity file (0600) for the client (default: <state-dir>/<name>.identity.json)",
    )
    hub.add_argument("--name", default="demo", help="client name (and site id)")
    hub.add_argument(
        "--control-port", type=int, default=0, help="control plane (/v1) port (0: any free port)"
    )
    hub.add_argument("--account-email", default=None, help="local control-plane account email")
    hub.add_argument(
        "--account-password",
        default=None,
        help="its password (default: a demo account, password generated and printed)",
    )
    hub.add_argument(
        "--account-totp-secret",
        default=None,
        metavar="BASE32",
        help="turn on two-step sign-in with this TOTP secret",
    )
    hub.add_argument(
        "--broker",
        default="embedded",
        help="MQTT broker: 'embedded' (default), a URL mqtt://user:pw@host:1883, or 'none'",
    )
    hub.add_argument(
        "--no-fallback",
        action="store_true",
        help="no fallback skill: unmatched utterances get ovos.intent.unmatched",
    )
    hub.add_argument(
        "--ovos-bus",
        default=None,
        metavar="URL",
        help="agent mode: relay to an OVOS messagebus, e.g. ws://127.0.0.1:8181/core",
    )
    hub.set_defaults(func=_cmd_hub)


def register(sub: Any) -> None:
    """Add ``identity``, ``demo`` and ``hub``.

    Args:
        sub: The subparsers action.
    """
    sub.add_parser("identity", help="show the identity (secrets redacted)").set_defaults(
        func=_cmd_identity
    )
    sub.add_parser("demo", help="run the quickstart against a local hub").set_defaults(
        func=_cmd_demo
    )
    _add_hub_parser(sub)
