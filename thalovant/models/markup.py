"""SSML stripping and display items (rich media) parsing.

Rich media shape (what :meth:`ThalovantEvent.display_items` parses, leniently). A speak
event may carry ``data.rich_media`` (or ``rich_media_data`` / ``display``) as one item, a list
of items, or ``{"items": [...]}``; a bare string is a text item. An item is a mapping::

    {"kind": "text", "text": "...", "style": "paragraph|title|subtitle|status"}
    {"kind": "choices", "title": "...", "choices": [{"title": "...", "payload": "/choose{...}"}]}
    {"kind": "table", "title": "...", "columns": ["a", "b"], "rows": [[1, 2], {"a": 3, "b": 4}]}
    {"kind": "image", "url": "https://...", "title": "...", "text": "alt text"}
    {"kind": "attachment", "url": "https://...", "title": "report.pdf", "mime_type": "..."}

``type`` is accepted for ``kind``; ``choice``/``buttons``/``options`` mean ``choices`` (a single
``choice`` with a ``payload`` becomes a one-choice item whose ``payload`` is that choice's);
``img`` means ``image``, ``file`` means ``attachment``; ``paragraph``/``subtitle``/``status``/
``heading`` mean ``text`` with that ``style``. A choice may be a string (title = payload) or a
mapping (``title``/``label``/``text`` and ``payload``/``value``/``id``). Any optional
``silent: true`` marks an item that must not be spoken. Unknown kinds are kept, with their raw
mapping in ``data``: clients ignore kinds they do not know, the SDK never drops them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

__all__ = [
    "ThalovantDisplayItem",
    "ThalovantDisplayItems",
    "parse_display_items",
    "strip_ssml",
]


def _opt_text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _collapse(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# SSML


_ENTITY = re.compile(r"&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,7}|amp|lt|gt|quot|apos|nbsp);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": "\u00a0"}
# Tags that separate words when removed ("one<break/>two" is two words).
_SEPARATOR_TAGS = frozenset(
    {"break", "br", "p", "s", "paragraph", "sentence", "speak", "div", "voice", "audio"}
)


def _entity(match: re.Match[str]) -> str:
    ref = match.group(1)
    if not ref.startswith("#"):
        return _NAMED[ref]
    code = int(ref[2:], 16) if ref[1:2] in ("x", "X") else int(ref[1:])
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return chr(code)


def _decode(segment: str) -> str:
    return _ENTITY.sub(_entity, segment) if "&" in segment else segment


def strip_ssml(text: str) -> str:
    """Plain text of an SSML/markup string, in linear time.

    Removes tags, comments (``<!-- -->``) and processing instructions (``<? ?>``), keeps
    CDATA content verbatim, decodes numeric character references and the entities ``&amp;``
    ``&lt;`` ``&gt;`` ``&quot;`` ``&apos;`` ``&nbsp;``, and collapses whitespace. A ``<`` that
    does not start a tag (``a < b``) is text. Every search starts where the previous one ended
    and an unterminated construct ends the scan, so adversarial input cannot go quadratic.

    Args:
        text: The markup.

    Returns:
        The plain text.
    """
    if "<" not in text and "&" not in text:
        return _collapse(text)
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        lt = text.find("<", i)
        if lt < 0:
            out.append(_decode(text[i:]))
            break
        out.append(_decode(text[i:lt]))
        if text.startswith("<!--", lt):
            end = text.find("-->", lt + 4)
            if end < 0:
                break  # an unterminated comment swallows the rest
            i = end + 3
            continue
        if text.startswith("<![CDATA[", lt):
            end = text.find("]]>", lt + 9)
            out.append(text[lt + 9 :] if end < 0 else text[lt + 9 : end])
            if end < 0:
                break
            i = end + 3
            continue
        nxt = text[lt + 1 : lt + 2]
        if not nxt or not (nxt.isalpha() or nxt in "/!?"):
            out.append("<")
            i = lt + 1
            continue
        end = text.find("?>" if nxt == "?" else ">", lt + 1)
        if end < 0:
            out.append(_decode(text[lt:]))  # no closing '>' anywhere after: literal text
            break
        words = text[lt + 1 : end].lstrip("/").split(None, 1)
        if words and words[0].rstrip("/").lower() in _SEPARATOR_TAGS:
            out.append(" ")
        i = end + (2 if nxt == "?" else 1)
    return _collapse("".join(out))


# ---------------------------------------------------------------------------------------------
# Display items


class ThalovantDisplayItem(msgspec.Struct, frozen=True):
    """One renderable element of a reply: ``text``, ``choices``, ``table``, ``image``,
    ``attachment``, or a kind this SDK does not know (kept with its raw ``data``)."""

    kind: str
    text: str = ""
    data: dict[str, Any] = {}
    title: str | None = None
    payload: Any = None
    url: str | None = None
    silent: bool = False

    def truncated(self, max_text_chars: int | None) -> ThalovantDisplayItem:
        """A copy whose ``text`` is at most ``max_text_chars`` long.

        Args:
            max_text_chars: The longest text kept (None: no limit).

        Returns:
            This item, or a copy whose text ends with an ellipsis.
        """
        if max_text_chars is None or len(self.text) <= max_text_chars:
            return self
        limit = max(0, int(max_text_chars))
        text = self.text[: limit - 1].rstrip() + "\u2026" if limit else ""
        return msgspec.structs.replace(self, text=text)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict.

        Returns:
            Every field (``data`` copied).
        """
        return {
            "kind": self.kind,
            "text": self.text,
            "title": self.title,
            "payload": self.payload,
            "url": self.url,
            "silent": self.silent,
            "data": dict(self.data),
        }


class ThalovantDisplayItems(tuple[ThalovantDisplayItem, ...]):
    """A tuple of display items that is also callable: ``items(max_text_chars=80)``.

    The docs read ``reply.display_items`` as an attribute, the reference SDK calls
    ``reply.display_items()``; this type makes both spellings work.
    """

    __slots__ = ()

    def __call__(self, max_text_chars: int | None = None) -> ThalovantDisplayItems:
        """These items, with text cut to ``max_text_chars`` when given."""
        if max_text_chars is None:
            return self
        return ThalovantDisplayItems(item.truncated(max_text_chars) for item in self)


_KIND_ALIASES = {
    "choice": "choices",
    "buttons": "choices",
    "options": "choices",
    "img": "image",
    "file": "attachment",
}
_TEXT_STYLES = frozenset({"paragraph", "subtitle", "status", "heading"})


def _first_str(data: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = _opt_text(data.get(key))
        if value:
            return value
    return None


def _choice(value: object) -> dict[str, Any] | None:
    if isinstance(value, str):
        return {"title": value, "payload": value} if value.strip() else None
    if not isinstance(value, Mapping):
        return None
    out = {str(k): v for k, v in value.items()}
    title = _opt_text(out.get("title")) or _opt_text(out.get("label")) or _opt_text(out.get("text"))
    payload = next((out[k] for k in ("payload", "value", "id") if out.get(k) is not None), title)
    if title is None and payload is None:
        return None
    out["title"] = title if title is not None else str(payload)
    out["payload"] = payload
    return out


def _table(raw: Mapping[str, Any], data: dict[str, Any]) -> None:
    cols = raw.get("columns", raw.get("headers"))
    columns = [str(c) for c in cols] if isinstance(cols, (list, tuple)) else []
    rows_in = raw.get("rows")
    rows: list[list[Any]] = []
    for row in rows_in if isinstance(rows_in, (list, tuple)) else ():
        if isinstance(row, Mapping):
            if not columns:
                columns = [str(k) for k in row]
            rows.append([row.get(c) for c in columns])
        elif isinstance(row, (list, tuple)):
            rows.append(list(row))
    data["columns"] = columns
    data["rows"] = rows


def _item(raw: object) -> ThalovantDisplayItem | None:
    if isinstance(raw, str):
        return ThalovantDisplayItem(kind="text", text=raw.strip()) if raw.strip() else None
    if not isinstance(raw, Mapping):
        return None
    data: dict[str, Any] = {str(k): v for k, v in raw.items()}
    declared = _opt_text(data.get("kind")) or _opt_text(data.get("type"))
    kind = (declared or ("choices" if "choices" in data else "text")).lower()
    if kind in _TEXT_STYLES:
        data.setdefault("style", kind)
        kind = "text"
    kind = _KIND_ALIASES.get(kind, kind)
    title = _opt_text(data.get("title")) or _opt_text(data.get("heading"))
    text = _first_str(data, ("text", "body", "caption", "alt")) or ""
    url = _first_str(data, ("url", "src", "href"))
    payload = data.get("payload")
    if kind == "choices":
        raw_choices = data.get("choices", data.get("buttons", data.get("options")))
        choices: list[dict[str, Any]] = []
        if isinstance(raw_choices, (list, tuple)):
            choices = [c for c in map(_choice, raw_choices) if c is not None]
        elif declared is not None and declared.lower() == "choice":
            one = _choice({k: v for k, v in data.items() if k not in ("kind", "type")})
            if one is not None:  # a single choice: the item itself is the choice
                choices, payload = [one], one["payload"]
        data["choices"] = choices
    elif kind == "table":
        _table(raw, data)
    return ThalovantDisplayItem(
        kind=kind,
        text=text,
        data=data,
        title=title,
        payload=payload,
        url=url,
        silent=data.get("silent") is True,
    )


def parse_display_items(media: object) -> tuple[ThalovantDisplayItem, ...]:
    """Parse rich media (see the module docstring for the shape).

    Malformed entries are skipped, unknown kinds kept.

    Args:
        media: One item, a list of items, or ``{"items": [...]}``.

    Returns:
        The display items, in order.
    """
    if media is None:
        return ()
    if isinstance(media, Mapping) and "kind" not in media and "type" not in media:
        items = media.get("items")
        if isinstance(items, (list, tuple)):
            media = items
    entries = media if isinstance(media, (list, tuple)) else (media,)
    return tuple(item for item in map(_item, entries) if item is not None)
