"""``thalovant skills list|add|update|remove``: a hub's skills on the control plane.

Talks to the control plane at ``--api-url`` (or ``THALOVANT_API_URL``; default the hosted
one) with the token of ``--token`` (or ``THALOVANT_API_TOKEN``). ``--hub`` names the hub (id
or slug; default: the workspace's only hub). ``--wait`` waits until the change is live,
showing its progress on a terminal; ``--json`` prints machine-readable answers. Failures
print ``thalovant: <message>`` and exit 1; usage errors exit 2 (docs/control-plane.md).
``--json`` and ``--timeout`` also work before the command name (the global options).
"""

from __future__ import annotations

import argparse
import logging
import os
import ssl
import sys
from typing import Any

from thalovant.cli.common import print_json, timeout_of
from thalovant.errors import ThalovantAPIError

__all__ = ["register"]

_POLL = 0.25


def register(subparsers: Any) -> None:
    """Add the ``skills`` command (and its four subcommands) to ``subparsers``.

    Args:
        subparsers: What :meth:`argparse.ArgumentParser.add_subparsers` returned.
    """
    skills = subparsers.add_parser(
        "skills", shared=False, help="list, add, update or remove a hub's skills"
    )
    actions = skills.add_subparsers(dest="skills_action", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--hub", default=None, help="hub id or slug (default: the only hub)")
    common.add_argument(
        "--api-url",
        default=None,
        help="control plane URL (default: $THALOVANT_API_URL, else the hosted one)",
    )
    common.add_argument("--token", default=None, help="API token (default: $THALOVANT_API_TOKEN)")
    common.add_argument(
        "--ca-file",
        default=None,
        metavar="PEM",
        help="CA bundle to trust (default: $SSL_CERT_FILE or $REQUESTS_CA_BUNDLE, else system)",
    )
    common.add_argument(
        "--timeout", type=_seconds, default=None, help="seconds to wait (default 120)"
    )
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    changing = argparse.ArgumentParser(add_help=False)
    changing.add_argument("--wait", action="store_true", help="wait until the change is live")

    listing = actions.add_parser("list", parents=[common], help="the hub's skills")
    listing.set_defaults(func=_run, action="list")
    add = actions.add_parser("add", parents=[common, changing], help="install a skill")
    add.add_argument("skill", help="the skill's marketplace name")
    add.add_argument("--version", default="latest", help="version to install (default latest)")
    add.set_defaults(func=_run, action="add")
    update = actions.add_parser("update", parents=[common, changing], help="change a version")
    update.add_argument("skill", help="the installed skill")
    update.add_argument("--version", default="latest", help="version to move to (default latest)")
    update.set_defaults(func=_run, action="update")
    remove = actions.add_parser("remove", parents=[common, changing], help="uninstall a skill")
    remove.add_argument("skill", help="the installed skill")
    remove.set_defaults(func=_run, action="remove")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("expected a positive number of seconds")
    return value


def _ssl_context(ca_file: str | None) -> ssl.SSLContext | None:
    path = ca_file or os.environ.get("SSL_CERT_FILE") or os.environ.get("REQUESTS_CA_BUNDLE")
    if not path:
        return None
    try:
        return ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        raise ThalovantAPIError(f"Cannot read the CA bundle {path}: {exc}") from None


def _run(args: argparse.Namespace) -> int:
    import anyio

    return anyio.run(_main, args)


async def _main(args: argparse.Namespace) -> int:
    from thalovant.control.client import DEFAULT_CONTROL_API_URL, AsyncThalovantControlPlane

    timeout = timeout_of(args, 120.0)
    as_json = bool(getattr(args, "json", False))
    # A retry is not news on a terminal: keep stamina's warnings out of stderr.
    logging.getLogger("stamina").addHandler(logging.NullHandler())
    url = args.api_url or os.environ.get("THALOVANT_API_URL") or DEFAULT_CONTROL_API_URL
    token = args.token or os.environ.get("THALOVANT_API_TOKEN") or None
    async with AsyncThalovantControlPlane(
        url,
        access_token=token,
        timeout=min(timeout, 30.0),
        ssl_context=_ssl_context(args.ca_file),
    ) as api:
        hub_id = args.hub or await _only_hub(api)
        if args.action == "list":
            listed = await api.list_hub_skills(hub_id)
            if as_json:
                print_json(listed.as_dict())
            else:
                _print_table(listed.as_dict()["data"])
            return 0
        progress = _progress(args.skill) if args.wait and sys.stderr.isatty() else None
        wait = {"wait": args.wait, "timeout": timeout, "progress": progress}
        if args.action == "add":
            done = await api.install_hub_skill(
                hub_id, args.skill, version=args.version, poll_interval=_POLL, **wait
            )
        elif args.action == "update":
            done = await api.update_hub_skill(
                hub_id, args.skill, version=args.version, poll_interval=_POLL, **wait
            )
        else:
            done = await api.remove_hub_skill(hub_id, args.skill, poll_interval=_POLL, **wait)
        if progress is not None:
            print(file=sys.stderr)
        if as_json:
            print_json(done.as_dict())
        else:
            verb = {"add": "Installed", "update": "Updated", "remove": "Removed"}[args.action]
            version = f" {done.version}" if done.version else ""
            if done.is_ready:
                print(f"{verb} {done.skill}{version}.")
            else:
                print(
                    f"Accepted: {done.skill}{version} ({done.state}, operation {done.operation_id})"
                )
        return 0


async def _only_hub(api: Any) -> str:
    hubs = [h for h in (await api.list_hubs(limit=100)).get("data", []) if isinstance(h, dict)]
    if len(hubs) == 1 and hubs[0].get("id"):
        return str(hubs[0]["id"])
    if not hubs:
        raise ThalovantAPIError("This account has no hub; pass --hub")
    names = ", ".join(str(h.get("slug") or h.get("id")) for h in hubs[:10])
    raise ThalovantAPIError(f"This account has {len(hubs)} hubs; pass --hub (one of: {names})")


def _progress(skill: str) -> Any:
    def show(operation: Any) -> None:
        print(f"\r{skill}: {operation.status}   ", end="", file=sys.stderr, flush=True)

    return show


def _print_table(rows: list[dict[str, Any]]) -> None:
    table = [("SKILL", "VERSION", "STATE", "LATEST")]
    for row in rows:
        latest = row.get("latest_version") or "-"
        if row.get("update_available"):
            latest += " (update)"
        table.append((row["skill"], row.get("version") or "-", row["state"], latest))
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    for line in table:
        cells = [cell.ljust(width) for cell, width in zip(line[:3], widths, strict=True)]
        print("  ".join([*cells, line[3]]))
