"""``health`` (is the link usable?) and ``doctor`` (what is wrong, step by step)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from thalovant.cli.common import load_identity, make_client, print_json, spinner, timeout_of
from thalovant.cli.talk import CONNECT_TIMEOUT
from thalovant.errors import ThalovantIdentityError, ThalovantUnsupportedProtocolError

__all__ = ["register"]

_MARKS = {"ok": "\033[32mPASS\033[0m", "failed": "\033[31mFAIL\033[0m", "skipped": "SKIP"}


def _cmd_health(args: argparse.Namespace) -> int:
    client = make_client(args)
    try:
        with spinner(args, "connecting"):
            health = client.healthcheck(timeout_of(args, CONNECT_TIMEOUT))
    finally:
        client.close()
    if args.json:
        print_json(health.as_dict())
    else:
        print("ok" if health.ok else "failed")
        for name in ("connected", "handshake_complete", "transport_alive", "last_error"):
            print(f"{name}: {getattr(health, name)}")
        info = health.connection
        if info is not None:
            print(f"protocol: {info.protocol}")
            print(f"pattern: {info.pattern}")
            print(f"connect_ms: {info.connect_ms}")
    return 0 if health.ok else 1


def _print_table(report: Any) -> None:
    plain = bool(os.environ.get("NO_COLOR"))  # https://no-color.org
    marks = {"ok": "PASS", "failed": "FAIL", "skipped": "SKIP"} if plain else _MARKS
    bold, reset = ("", "") if plain else ("\033[1m", "\033[0m")
    width = max(len(check.name) for check in report.checks)
    for check in report.checks:
        took = f"{check.duration_ms:8.1f} ms"
        print(f"{marks[check.status]}  {check.name:<{width}}  {took}  {check.detail}")
        if check.status == "failed" and check.hint:
            print(f"      {'':<{width}}  {'':>11}  {bold}fix:{reset} {check.hint}")
    print("all checks passed" if report.ok else f"failed: {report.failed.name}")


def _diagnose(args: argparse.Namespace, identity: Any, timeout: float, unusable: Any) -> Any:
    try:
        client = make_client(args, identity)
    except ThalovantUnsupportedProtocolError as exc:
        return unusable(identity, args.protocol or "default", str(exc))
    try:
        with spinner(args, "diagnosing"):
            return client.doctor(timeout=timeout, round_trip=not args.no_round_trip)
    finally:
        client.close()


def _cmd_doctor(args: argparse.Namespace) -> int:
    from thalovant.client.doctor import broken_identity_report, unusable_report

    timeout = timeout_of(args, 10.0)
    try:
        identity = load_identity(args)
    except ThalovantIdentityError as exc:
        report = broken_identity_report(str(exc))
    else:
        report = _diagnose(args, identity, timeout, unusable_report)
    if args.json:
        print_json(report.as_dict())
    elif sys.stdout.isatty():
        _print_table(report)
    else:
        print(report.format())
    return 0 if report.ok else 1


def register(sub: Any) -> None:
    """Add ``health`` and ``doctor``.

    Args:
        sub: The subparsers action.
    """
    health = sub.add_parser("health", help="connect and report whether the link is usable")
    health.add_argument("--timeout", type=float, default=None, help="seconds to connect (25)")
    health.set_defaults(func=_cmd_health)
    doctor = sub.add_parser("doctor", help="diagnose the way to the hub; says what to fix")
    doctor.add_argument("--timeout", type=float, default=None, help="seconds per step (10)")
    doctor.add_argument("--no-round-trip", action="store_true", help="do not ask the hub anything")
    doctor.set_defaults(func=_cmd_doctor)
