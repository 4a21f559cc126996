"""The ``thalovant`` command line.

Errors print ``thalovant: <message>`` on stderr and exit 1; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from thalovant._version import __version__
from thalovant.errors import ThalovantError

__all__ = ["main"]


def _load_identity(args: argparse.Namespace) -> Any:
    from thalovant.identity.model import ThalovantIdentity

    if args.identity:
        identity = ThalovantIdentity.from_file(args.identity)
    elif args.config or args.profile:
        identity = ThalovantIdentity.from_config(args.config, profile=args.profile)
    else:
        identity = ThalovantIdentity.from_env()
    return identity


def _cmd_identity(args: argparse.Namespace) -> int:
    identity = _load_identity(args)
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
    )
    anyio.run(serve_hub, options)
    return 0


def _add_hub_parser(sub: Any) -> None:
    from pathlib import Path

    hub = sub.add_parser("hub", help="run a local hub (loopback) until Ctrl-C")
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
    hub.set_defaults(func=_cmd_hub)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="thalovant", description="Talk to Thalovant hubs, or run a local one."
    )
    parser.add_argument("--version", action="version", version=f"thalovant {__version__}")
    parser.add_argument("-i", "--identity", metavar="PATH", help="identity JSON file")
    parser.add_argument("--config", metavar="PATH", help="config.yaml (default: XDG location)")
    parser.add_argument("--profile", metavar="NAME", help="profile inside the config file")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("identity", help="show the identity (secrets redacted)").set_defaults(
        func=_cmd_identity
    )
    sub.add_parser("demo", help="run the quickstart against a local hub").set_defaults(
        func=_cmd_demo
    )
    _add_hub_parser(sub)
    from thalovant.cli_skills import register as register_skills

    register_skills(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``thalovant`` console script."""
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ThalovantError as exc:
        print(f"thalovant: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `thalovant identity | head`
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the flush at exit
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
