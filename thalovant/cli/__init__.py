"""The ``thalovant`` command line (entry point ``thalovant.cli:main``).

One module per command group; each has ``register(sub)``, which adds its commands to the
argparse subparsers action ``sub`` (``sub.add_parser(name, help=...)`` then
``set_defaults(func=handler)``, ``handler(args) -> int`` the exit code). Every command
parser gets the shared options (:func:`~thalovant.cli.common.add_shared_options`) on its
own, so they work before or after the command name.

Exit codes: 0 ok, 1 failure, 2 usage, 130 Ctrl-C; errors print ``thalovant: <message>`` on
stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from thalovant._version import __version__
from thalovant.cli import chat, events, inventory, local, skills, status, talk
from thalovant.cli.common import EXIT_FAILURE, EXIT_USAGE, UsageError, add_shared_options
from thalovant.errors import ThalovantError

__all__ = ["COMMAND_GROUPS", "build_parser", "main"]

#: The modules whose ``register(sub)`` adds commands, in help order.
COMMAND_GROUPS: tuple[Any, ...] = (talk, chat, events, status, inventory, local, skills)


class _Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subparsers whose every command also takes the shared options."""

    def add_parser(
        self, name: str, *, shared: bool = True, **kwargs: Any
    ) -> argparse.ArgumentParser:
        """A command parser; ``shared=False`` leaves out the shared options (``hub``)."""
        if shared:
            common = argparse.ArgumentParser(add_help=False)
            add_shared_options(common, top=False)
            kwargs["parents"] = [*kwargs.get("parents", ()), common]
        parser: argparse.ArgumentParser = super().add_parser(name, **kwargs)
        return parser


def build_parser() -> argparse.ArgumentParser:
    """The parser with every command group registered.

    Returns:
        The top-level parser.
    """
    parser = argparse.ArgumentParser(
        prog="thalovant", description="Talk to Thalovant hubs, or run a local one."
    )
    parser.register("action", "parsers", _Commands)
    parser.add_argument("--version", action="version", version=f"thalovant {__version__}")
    add_shared_options(parser, top=True)
    parser.add_argument(
        "--timeout",
        dest="global_timeout",
        type=float,
        default=None,
        metavar="S",
        help="seconds a command may take (each command has its own default)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``thalovant`` console script.

    Args:
        argv: The arguments (default ``sys.argv[1:]``).

    Returns:
        The exit code.
    """
    args = build_parser().parse_args(argv)
    try:
        from thalovant.cli.common import setup_logging

        setup_logging(args)
        return int(args.func(args))
    except UsageError as exc:
        print(f"thalovant: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ThalovantError as exc:
        print(f"thalovant: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `thalovant identity | head`
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the flush at exit
        return 0
