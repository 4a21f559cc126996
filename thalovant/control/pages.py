"""Paging of the control plane's list calls (docs/protocol.md §7): the next cursor, and every
item of every page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from thalovant.control.values import text_or_none

__all__ = ["Page", "iter_pages", "next_page_cursor"]

#: A page of a list call: ``{"data": [...], "meta": {...}, "links": {...}}``.
Page = dict[str, Any]


def _cursor_from(value: object) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("href") or value.get("cursor")
    text = text_or_none(value)
    if not text:
        return None
    if "://" in text or text.startswith(("/", "?")):
        found = parse_qs(urlsplit(text).query).get("cursor")
        return found[0] if found and found[0] else None
    return text


def next_page_cursor(page: Mapping[str, Any]) -> str | None:
    """The cursor of the next page, or ``None`` on the last one.

    Looked up in top-level ``next_cursor``, ``meta.next_cursor``, ``meta.next``,
    ``links.next`` (a URL: its ``cursor`` query parameter) and ``next``.
    """
    meta = page.get("meta") if isinstance(page.get("meta"), Mapping) else {}
    links = page.get("links") if isinstance(page.get("links"), Mapping) else {}
    assert isinstance(meta, Mapping)
    assert isinstance(links, Mapping)
    for candidate in (
        page.get("next_cursor"),
        meta.get("next_cursor"),
        meta.get("next"),
        links.get("next"),
        page.get("next"),
    ):
        found = _cursor_from(candidate)
        if found:
            return found
    return None


async def iter_pages(
    fetch: Callable[[str | None], Awaitable[Page]],
) -> AsyncIterator[dict[str, Any]]:
    """Every item of every page, following :func:`next_page_cursor` until it ends or repeats.

    Args:
        fetch: Fetches one page for a cursor (``None`` for the first page).

    Yields:
        Each object of each page's ``data`` (other entries are skipped).
    """
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        page = await fetch(cursor)
        items = page.get("data")
        for item in items if isinstance(items, list) else ():
            if isinstance(item, Mapping):
                yield dict(item)
        cursor = next_page_cursor(page)
        if cursor is None or cursor in seen:
            return
        seen.add(cursor)
