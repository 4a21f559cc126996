"""``intents``: what the hub can answer, per skill, with example phrases.

Piped output is one tab-separated line per example (``skill<TAB>intent<TAB>example``,
stable for scripts); on a terminal it is grouped by skill under friendly titles.
``--speakable`` renders patterns as sentences one could say, ``--all`` shows every example
(default two per intent) and disabled intents too. ``--cache`` reuses a listing younger than
an hour (:class:`~thalovant.models.listing_cache.InventoryCache`, private files).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from typing import Any

from thalovant.cli.common import load_identity, make_client, print_json, spinner, timeout_of
from thalovant.cli.talk import CONNECT_TIMEOUT
from thalovant.models.inventory import Inventory
from thalovant.models.listing import as_sentence, sort_key, speakable
from thalovant.models.listing_cache import InventoryCache

__all__ = ["register"]


def _live(args: argparse.Namespace, langs: list[str], timeout: float) -> Inventory:
    identity = load_identity(args)
    client = make_client(args, identity)
    try:
        with spinner(args, "connecting"):
            client.connect(max(timeout, CONNECT_TIMEOUT))
        with spinner(args, "listing intents"):
            found = client.intents(langs, timeout=timeout)
        hub = identity.endpoint_for(client.protocol) or identity.default_master
    finally:
        client.close()
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return found.listing(hub, hub, now, include_disabled=args.all)


def _inventory(args: argparse.Namespace, langs: list[str], timeout: float) -> Inventory:
    if not args.cache:
        return _live(args, langs, timeout)
    cache = InventoryCache()
    mode = [*langs, str(args.all), str(args.protocol), str(args.host), str(args.port)]
    where = args.identity or f"{args.config}|{args.profile}"
    key = InventoryCache.key("|".join(mode), where)
    cached = cache.load(key)
    if cached is not None:
        return cached
    inventory = _live(args, langs, timeout)
    cache.store(key, inventory)
    return inventory


def _cmd_intents(args: argparse.Namespace) -> int:
    timeout = timeout_of(args, 5.0)
    langs = args.lang or ["en-us"]
    inventory = _inventory(args, langs, timeout)
    if args.json:
        print_json(inventory.as_dict())
        return 0
    lang, limit = langs[0], 1_000 if args.all else 2
    table = sys.stdout.isatty()
    for skill in sorted(inventory.skills, key=lambda s: sort_key(s.title)):
        if table:
            print(f"{skill.title}  ({skill.id})")
        for intent in sorted(skill.intents, key=lambda i: sort_key(i.name)):
            examples = intent.examples(lang, limit)
            if args.speakable:
                examples = tuple(as_sentence(speakable(e, lang=lang), lang) for e in examples)
            if table:
                shown = " / ".join(f'"{e}"' for e in examples) or "(no examples)"
                print(f"  {intent.name}: {shown}")
            else:
                for example in examples or ("",):
                    print(f"{skill.id}\t{intent.name}\t{example}")
    if not inventory.skills:
        print("thalovant: the hub listed no intents", file=sys.stderr)
    for note in inventory.notes:
        if note.startswith("the hub refused"):
            print(f"thalovant: {note}", file=sys.stderr)
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
    intents.add_argument("--cache", action="store_true", help="reuse a listing up to 1 h old")
    intents.set_defaults(func=_cmd_intents)
