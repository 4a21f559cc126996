"""What every command shares: the global options, the identity and client they name, output
(text, ``--json``, TTY-only decoration), logging for ``-v`` and the exit codes.

Exit codes: :data:`EXIT_OK` 0, :data:`EXIT_FAILURE` 1, :data:`EXIT_USAGE` 2 (argparse's own),
130 for Ctrl-C. Errors print ``thalovant: <message>`` on stderr (:class:`UsageError` for bad
arguments the parser cannot see, e.g. invalid ``--data`` JSON).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from thalovant.errors import ThalovantError
from thalovant.redact import scrub_text

if TYPE_CHECKING:
    from thalovant.identity.model import ThalovantIdentity
    from thalovant.sync.client import ThalovantClient

__all__ = [
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROTOCOLS",
    "UsageError",
    "add_shared_options",
    "json_object",
    "load_identity",
    "make_client",
    "print_json",
    "setup_logging",
    "spinner",
    "timeout_of",
    "use_table",
]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
PROTOCOLS = ("wss", "https", "mqtt")


class UsageError(ThalovantError):
    """A command-line argument is unusable (exit code 2)."""


def add_shared_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The options every command takes, before or after its name.

    On the top parser they have defaults; on a command's parser they are ``SUPPRESS``ed, so
    ``thalovant ask hi --json`` and ``thalovant --json ask hi`` mean the same.

    Args:
        parser: The parser.
        top: Whether it is the top-level parser.
    """

    def default(value: Any) -> Any:
        return value if top else argparse.SUPPRESS

    parser.add_argument(
        "-i", "--identity", metavar="PATH", default=default(None), help="identity JSON file"
    )
    parser.add_argument(
        "--config", metavar="PATH", default=default(None), help="config.yaml (XDG location)"
    )
    parser.add_argument(
        "--profile", metavar="NAME", default=default(None), help="profile in the config file"
    )
    parser.add_argument(
        "--host",
        metavar="URL",
        default=default(None),
        help="hub address (overrides default_master)",
    )
    parser.add_argument(
        "--port",
        type=int,
        metavar="N",
        default=default(None),
        help="hub port (overrides the URL's)",
    )
    parser.add_argument(
        "--protocol", choices=PROTOCOLS, default=default(None), help="data-plane carrier"
    )
    parser.add_argument(
        "--json", action="store_true", default=default(False), help="print JSON documents"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default(False), help="log on stderr"
    )


def _with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return url
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def load_identity(args: argparse.Namespace) -> ThalovantIdentity:
    """The identity the options name (``-i``, ``--config``/``--profile``, else the
    ``THALOVANT_*`` environment), with ``--host``/``--port`` applied.

    Args:
        args: The parsed options.

    Returns:
        The identity.

    Raises:
        ThalovantIdentityError: It is missing or invalid.
    """
    import msgspec

    from thalovant.identity.endpoints import HubDataPlaneEndpoints
    from thalovant.identity.model import ThalovantIdentity

    if args.identity:
        identity = ThalovantIdentity.from_file(args.identity)
    elif args.config or args.profile:
        identity = ThalovantIdentity.from_config(args.config, profile=args.profile)
    else:
        identity = ThalovantIdentity.from_env()
    if args.host:
        mqtt = identity.data_plane_endpoints.mqtt
        identity = msgspec.structs.replace(
            identity,
            default_master=args.host,
            data_plane_endpoints=HubDataPlaneEndpoints(mqtt=mqtt),
        )
    if args.port is not None:
        if not 1 <= args.port <= 65535:
            raise UsageError("--port must be between 1 and 65535")
        ends = identity.data_plane_endpoints
        identity = msgspec.structs.replace(
            identity,
            default_master=_with_port(identity.default_master, args.port),
            default_port=args.port,
            data_plane_endpoints=HubDataPlaneEndpoints(
                https=_with_port(ends.https, args.port) if ends.https else None,
                wss=_with_port(ends.wss, args.port) if ends.wss else None,
                mqtt=ends.mqtt,
            ),
        )
    return identity


def timeout_of(args: argparse.Namespace, default: float) -> float:
    """The command's ``--timeout``, else the global one, else ``default``.

    Args:
        args: The parsed options.
        default: The command's default.

    Returns:
        Seconds.

    Raises:
        UsageError: A timeout that is not positive.
    """
    value = getattr(args, "timeout", None)
    if value is None:
        value = getattr(args, "global_timeout", None)
    value = default if value is None else float(value)
    if value <= 0:
        raise UsageError("--timeout must be positive")
    return value


def make_client(
    args: argparse.Namespace, identity: ThalovantIdentity | None = None
) -> ThalovantClient:
    """The blocking client for the options (not connected yet).

    Args:
        args: The parsed options.
        identity: The identity (default :func:`load_identity`).

    Returns:
        The client.

    Raises:
        ThalovantIdentityError: No usable identity.
        ThalovantUnsupportedProtocolError: ``--protocol`` is not usable with it.
    """
    from thalovant.sync.client import ThalovantClient

    return ThalovantClient(identity or load_identity(args), protocol=args.protocol)


def json_object(text: str, option: str) -> dict[str, Any]:
    """Parse a ``--data``/``--context`` argument.

    Args:
        text: The argument.
        option: Its name (for the message).

    Returns:
        The object.

    Raises:
        UsageError: Not JSON, or not an object.
    """
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{option} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{option} must be a JSON object, got {type(value).__name__}")
    return value


def print_json(value: Any) -> None:
    """Print one JSON document on one line (JSON lines for streams).

    Args:
        value: A JSON-ready value.
    """
    print(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str), flush=True)


def use_table(args: argparse.Namespace) -> bool:
    """Whether to decorate: stdout is a terminal and ``--json`` is off."""
    return not args.json and sys.stdout.isatty()


@contextlib.contextmanager
def spinner(args: argparse.Namespace, label: str) -> Iterator[None]:
    """A spinner on stderr while the block runs, only when stderr is a terminal.

    Args:
        args: The parsed options (``--json`` or ``-v`` turn it off).
        label: What it is waiting for.
    """
    if args.json or args.verbose or not sys.stderr.isatty():
        yield
        return
    stop = threading.Event()

    def spin() -> None:
        frames = "|/-\\"
        n = 0
        while not stop.wait(0.1):
            sys.stderr.write(f"\r{frames[n % 4]} {label}")
            sys.stderr.flush()
            n += 1
        sys.stderr.write("\r" + " " * (len(label) + 2) + "\r")
        sys.stderr.flush()

    thread = threading.Thread(target=spin, name="thalovant-spinner", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(1.0)


class _RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        text = scrub_text(super().format(record))
        for secret in self.secrets:
            text = text.replace(secret, "<redacted>")
        return text


def setup_logging(args: argparse.Namespace) -> None:
    """``-v``: the SDK's logs on stderr at DEBUG, secrets of the identity redacted.

    Args:
        args: The parsed options.
    """
    if not args.verbose:
        return
    secrets: list[str] = []
    with contextlib.suppress(ThalovantError):
        identity = load_identity(args)
        secrets = [identity.access_key, identity.password]
    env_secrets = ("THALOVANT_ACCESS_KEY", "THALOVANT_PASSWORD", "THALOVANT_API_TOKEN")
    secrets += [os.environ.get(name, "") for name in env_secrets]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter(secrets))
    logger = logging.getLogger("thalovant")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
