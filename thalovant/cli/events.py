"""``listen`` (print events as they come) and ``emit`` (send one bus message)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from thalovant.cli.common import UsageError, json_object, make_client, print_json, timeout_of
from thalovant.cli.talk import CONNECT_TIMEOUT

__all__ = ["register"]


def _cmd_listen(args: argparse.Namespace) -> int:
    if args.max_events is not None and args.max_events < 1:
        raise UsageError("--max-events must be at least 1")
    given = args.timeout is not None or args.global_timeout is not None
    timeout = timeout_of(args, 1.0) if given else None
    client = make_client(args)
    try:
        client.connect(CONNECT_TIMEOUT if timeout is None else max(timeout, CONNECT_TIMEOUT))
        events = client.listen(
            args.event, timeout=timeout, max_events=args.max_events, session_id=args.session_id
        )
        with events:
            for event in events:
                if args.json:
                    print_json(event.as_dict())
                else:
                    print(event.text or json.dumps(event.data, sort_keys=True), flush=True)
        return 0
    finally:
        client.close()


def _cmd_emit(args: argparse.Namespace) -> int:
    data = json_object(args.data, "--data")
    context = json_object(args.context, "--context")
    client = make_client(args)
    try:
        client.connect(timeout_of(args, CONNECT_TIMEOUT))
        client.emit(args.event, data, context)
        if args.json:
            print_json({"sent": True, "type": args.event})
        else:
            print("sent")
        return 0
    finally:
        client.close()


def register(sub: Any) -> None:
    """Add ``listen`` and ``emit``.

    Args:
        sub: The subparsers action.
    """
    listen = sub.add_parser("listen", help="print events named EVENT as they arrive")
    listen.add_argument("event", metavar="EVENT", help="event name ('*' for all)")
    listen.add_argument("--timeout", type=float, default=None, help="stop after S seconds")
    listen.add_argument("--max-events", type=int, default=None, help="stop after N events")
    listen.add_argument("--session-id", default=None, help="only events of this session")
    listen.set_defaults(func=_cmd_listen)
    emit = sub.add_parser("emit", help="send one bus message")
    emit.add_argument("event", metavar="EVENT", help="message type")
    emit.add_argument("--data", default="{}", help="data, a JSON object")
    emit.add_argument("--context", default="{}", help="context, a JSON object")
    emit.add_argument("--timeout", type=float, default=None, help="seconds to connect")
    emit.set_defaults(func=_cmd_emit)
