"""``chat``: an interactive conversation, one session id for every turn.

Line editing and history come from :mod:`readline` when stdin is a terminal (history kept in
``$XDG_STATE_HOME/thalovant/chat_history``); piped stdin works line by line. An empty line
is skipped, Ctrl-D (end of input) exits 0, Ctrl-C exits 130. A turn that fails (no skill
matched, a timeout) prints ``thalovant: <message>`` on stderr and the chat goes on.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from thalovant.cli.common import make_client, print_json, spinner, timeout_of
from thalovant.cli.talk import CONNECT_TIMEOUT, reply_document
from thalovant.errors import ThalovantConnectionError, ThalovantError

__all__ = ["register"]

_HISTORY_LINES = 1000


def _history_file() -> Path:
    xdg = os.environ.get("XDG_STATE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "state"
    return base / "thalovant" / "chat_history"


def _enable_history() -> Path | None:
    try:
        import readline
    except ImportError:  # pragma: no cover - platform without readline
        return None
    path = _history_file()
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(_HISTORY_LINES)
    return path


def _save_history(path: Path | None) -> None:
    if path is None:
        return
    import readline

    with contextlib.suppress(OSError):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        readline.write_history_file(path)
        os.chmod(path, 0o600)


def _cmd_chat(args: argparse.Namespace) -> int:
    timeout = timeout_of(args, 12.0)
    interactive = sys.stdin.isatty()
    history = _enable_history() if interactive else None
    client = make_client(args)
    try:
        with spinner(args, "connecting"):
            client.connect(max(timeout, CONNECT_TIMEOUT))
        chat = client.conversation(session_id=args.session_id, lang=args.lang)
        if interactive:
            print(f"chat session {chat.session_id}; Ctrl-D to leave", file=sys.stderr)
        while True:
            try:
                line = input("you> " if interactive else "")
            except EOFError:
                if interactive:
                    print(file=sys.stderr)
                return 0
            if not line.strip():
                continue
            try:
                with spinner(args, "waiting for the hub"):
                    reply = chat.ask(line, timeout=timeout)
            except ThalovantConnectionError:
                raise
            except ThalovantError as exc:
                print(f"thalovant: {exc}", file=sys.stderr, flush=True)
                continue
            if args.json:
                print_json(reply_document(reply))
            else:
                print(f"hub> {reply.text}" if interactive else reply.text, flush=True)
    finally:
        _save_history(history)
        client.close()


def register(sub: Any) -> None:
    """Add ``chat``.

    Args:
        sub: The subparsers action.
    """
    chat = sub.add_parser("chat", help="talk with the hub, one line per turn (Ctrl-D exits)")
    chat.add_argument("--lang", default="en-us", help="language (default en-us)")
    chat.add_argument("--session-id", default=None, help="session id (default a new one)")
    chat.add_argument("--timeout", type=float, default=None, help="seconds per turn (12)")
    chat.set_defaults(func=_cmd_chat)
