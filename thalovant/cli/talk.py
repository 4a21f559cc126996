"""``ask`` (one question; ``--stream`` prints speech as it arrives) and ``utter`` (send an
utterance, wait for nothing)."""

from __future__ import annotations

import argparse
from typing import Any

from thalovant.cli.common import make_client, print_json, spinner, timeout_of

__all__ = ["CONNECT_TIMEOUT", "register", "reply_document"]

#: Seconds to connect before a request (Argon2id on first contact included).
CONNECT_TIMEOUT = 25.0


def reply_document(reply: Any) -> dict[str, Any]:
    """The ``--json`` document of a reply.

    Args:
        reply: A ``ThalovantReply``.

    Returns:
        Text, utterances, ids, skills and whether it was handled.
    """
    return {
        "text": reply.text,
        "utterances": list(reply.utterances),
        "handled": reply.handled,
        "ok": reply.ok,
        "session_id": reply.session_id,
        "request_id": reply.request_id,
        "skill_ids": list(reply.skill_ids),
        "lang": reply.lang,
    }


def _cmd_ask(args: argparse.Namespace) -> int:
    timeout = timeout_of(args, 12.0)
    client = make_client(args)
    try:
        with spinner(args, "connecting"):
            client.connect(max(timeout, CONNECT_TIMEOUT))
        options = {"timeout": timeout, "lang": args.lang, "session_id": args.session_id}
        if args.stream:
            with client.ask_stream(args.text, **options) as stream:
                for event in stream:
                    if args.json:
                        print_json({"event": event.name, "text": event.text})
                    elif event.text:
                        print(event.text, flush=True)
                reply = stream.reply
            if args.json and reply is not None:
                print_json({"reply": reply_document(reply)})
            return 0
        with spinner(args, "waiting for the hub"):
            reply = client.ask(args.text, **options)
        if args.json:
            print_json(reply_document(reply))
        else:
            print(reply.text)
        return 0
    finally:
        client.close()


def _cmd_utter(args: argparse.Namespace) -> int:
    timeout = timeout_of(args, CONNECT_TIMEOUT)
    client = make_client(args)
    try:
        client.connect(timeout)
        rid = client.send_utterance(args.text, lang=args.lang, session_id=args.session_id)
        if args.json:
            print_json({"sent": True, "request_id": rid})
        else:
            print("sent")
        return 0
    finally:
        client.close()


def register(sub: Any) -> None:
    """Add ``ask`` and ``utter``.

    Args:
        sub: The subparsers action.
    """
    ask = sub.add_parser("ask", help="ask the hub and print its reply")
    ask.add_argument("text", help="what to ask")
    ask.add_argument("--lang", default="en-us", help="language (default en-us)")
    ask.add_argument("--session-id", default=None, help="session id (default the connection's)")
    ask.add_argument("--stream", action="store_true", help="print speech as it arrives")
    ask.add_argument("--timeout", type=float, default=None, help="seconds (default 12)")
    ask.set_defaults(func=_cmd_ask)
    utter = sub.add_parser("utter", help="send an utterance without waiting for a reply")
    utter.add_argument("text", help="the utterance")
    utter.add_argument("--lang", default="en-us", help="language (default en-us)")
    utter.add_argument("--session-id", default=None, help="session id")
    utter.add_argument("--timeout", type=float, default=None, help="seconds to connect")
    utter.set_defaults(func=_cmd_utter)
