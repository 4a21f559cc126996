"""Hive ``query`` / ``cascade`` frames, sans-I/O (docs/protocol.md §3.6).

A query answer arrives as a ``query`` (or ``cascade``) envelope whose metadata names the query
and whose payload nests, possibly through several envelopes or as JSON text, the OVOS bus
message. :func:`unwrap_query` digs it out for whoever routes or collects the answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

__all__ = ["QUERY_KINDS", "unwrap_query"]

QUERY_KINDS: frozenset[str] = frozenset({"query", "cascade"})
"""Kinds whose frames carry a query id and a nested bus message."""

_MAX_NESTING = 8  # nested envelopes: query -> bus -> message


def unwrap_query(frame: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]] | None:
    """The query id and the OVOS bus message inside a hive query frame.

    Args:
        frame: One envelope as plain JSON values (``msg_type``, ``metadata``, ``payload``).

    Returns:
        ``(query_id, message)``: the id from ``metadata.query_id`` (or ``queryId``), None when
        absent, and the innermost ``{"type", "data", "context"}`` mapping. None when the frame
        is not a ``query``/``cascade`` frame or nests no bus message.
    """
    if frame.get("msg_type") not in QUERY_KINDS:
        return None
    meta = frame.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    qid = meta.get("query_id", meta.get("queryId"))
    payload: object = frame.get("payload")
    for _ in range(_MAX_NESTING):
        if isinstance(payload, (str, bytes)):
            try:
                payload = msgspec.json.decode(payload)
            except msgspec.DecodeError:
                return None
        if isinstance(payload, Mapping) and "type" not in payload and "msg_type" in payload:
            payload = payload.get("payload")
            continue
        break
    if not isinstance(payload, Mapping) or not isinstance(payload.get("type"), str):
        return None
    return (str(qid) if qid is not None else None), payload
