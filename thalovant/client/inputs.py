"""The ``input`` of ``send_action`` and ``send_code`` (docs/protocol.md §4): what the hub's
skills read from ``context.input`` (and ``data.input`` for a code) besides the utterance.

Sans-I/O; :mod:`thalovant.client.utterances` calls these before publishing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from thalovant.client.context import copy_mapping
from thalovant.client.outgoing import require_text
from thalovant.errors import ThalovantRuntimeError

__all__ = ["action_input", "code_input"]


def action_input(
    action: str | None, payload: Mapping[str, Any] | str | None, title: str | None
) -> tuple[str, dict[str, Any]]:
    """The utterance and ``context.input`` of ``send_action``.

    Reference form (``payload=None``): ``action`` is the whole payload string, e.g.
    ``'/choose{"id":"42"}'`` (or, ``action`` None, ``payload`` is that string). Docs form:
    ``action="/choose"`` and a payload mapping (or JSON string): the utterance is ``action``
    + compact JSON, and ``input`` also carries ``action`` and ``data``.

    Args:
        action: The action (or the whole payload string).
        payload: A mapping, a JSON string or None.
        title: ``input.title``.

    Returns:
        ``(utterance, input)``.

    Raises:
        ThalovantRuntimeError: A blank action, or a payload that is not JSON.
    """
    if action is None:
        # the official keyword form: send_action(payload='/choose{"id":"42"}')
        action, payload = require_text(payload, "payload"), None
    require_text(action, "action")
    if payload is None:
        return action, {"kind": "action", "title": title, "payload": action}
    data: Any
    if isinstance(payload, str):
        encoded, data = payload, payload
    elif isinstance(payload, Mapping):
        data = copy_mapping(payload, "payload")
        try:
            encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise ThalovantRuntimeError(f"action payload is not JSON: {exc}") from None
    else:
        raise ThalovantRuntimeError("action payload must be a mapping, a string or None")
    text = action + encoded
    return text, {"kind": "action", "title": title, "payload": text, "action": action, "data": data}


def code_input(value: str, kind: str, label: str | None) -> dict[str, Any]:
    """The ``input`` of ``send_code``.

    Args:
        value: The exact value.
        kind: ``input.kind``.
        label: ``input.label``.

    Returns:
        ``{"kind", "label", "value", "exact": true}``.

    Raises:
        ThalovantRuntimeError: An empty value or a blank kind.
    """
    if not isinstance(value, str) or not value:
        raise ThalovantRuntimeError("code value must be a non-empty string")
    require_text(kind, "kind")
    return {"kind": kind, "label": label, "value": value, "exact": True}
