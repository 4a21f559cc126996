"""The ``thalovant`` command line.

Errors print ``thalovant: <message>`` on stderr and exit 1; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from ._version import __version__
from .errors import ThalovantError

__all__ = ["main"]


def _load_identity(args: argparse.Namespace) -> Any:
    from .identity import ThalovantIdentity

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
    print("thalovant demo: the offline quickstart on the local hub is coming in a later release.")
    return 0


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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
