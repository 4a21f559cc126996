"""``intents``: what the hub can answer, per skill, with example phrases.

Piped output is one tab-separated line per example (``skill<TAB>intent<TAB>example``,
stable for scripts); on a terminal it is grouped by skill under friendly titles.
``--speakable`` renders patterns as phrases one could say, ``--all`` shows every example
(default two per intent) and disabled intents too.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from thalovant.cli.common import make_client, print_json, spinner, timeout_of
from thalovant.cli.talk import CONNECT_TIMEOUT
from thalovant.models.listing import common_affix, friendly_title, sort_key, strip_affix

__all__ = ["register"]


def _cmd_intents(args: argparse.Namespace) -> int:
    timeout = timeout_of(args, 5.0)
    client = make_client(args)
    try:
        with spinner(args, "connecting"):
            client.connect(max(timeout, CONNECT_TIMEOUT))
        with spinner(args, "listing intents"):
            inventory = client.intents(args.lang or None, timeout=timeout)
    finally:
        client.close()
    if args.json:
        print_json(inventory.as_dict())
        return 0
    lang = (args.lang or ["en-us"])[0]
    limit = 1_000 if args.all else 2
    kind, token = common_affix([skill.skill_id for skill in inventory.skills])
    table = sys.stdout.isatty()
    for skill in sorted(inventory.skills, key=lambda s: sort_key(s.skill_id)):
        title = friendly_title(strip_affix(skill.skill_id, kind, token))
        if table:
            print(f"{title}  ({skill.skill_id})")
        for intent in sorted(skill.intents, key=lambda i: sort_key(i.name)):
            if not intent.enabled and not args.all:
                continue
            examples = intent.examples(
                lang, limit, speakable=args.speakable, sentence=args.speakable
            )
            if table:
                shown = " / ".join(f'"{e}"' for e in examples) or "(no examples)"
                print(f"  {intent.name}: {shown}")
            else:
                for example in examples or ("",):
                    print(f"{skill.skill_id}\t{intent.name}\t{example}")
    if not inventory.skills:
        print("the hub listed no intents", file=sys.stderr)
    for denied in inventory.denied:
        print(f"thalovant: the hub refused {denied}", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    """Add ``intents``.

    Args:
        sub: The subparsers action.
    """
    intents = sub.add_parser("intents", help="list the hub's skills and intents")
    intents.add_argument(
        "--lang", action="append", default=None, help="language (repeatable; default en-us)"
    )
    intents.add_argument("--timeout", type=float, default=None, help="seconds per query (5)")
    intents.add_argument("--speakable", action="store_true", help="examples as sayable sentences")
    intents.add_argument("--all", action="store_true", help="every example, disabled intents too")
    intents.set_defaults(func=_cmd_intents)
