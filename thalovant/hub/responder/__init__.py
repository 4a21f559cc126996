"""The hub's responder: sessions, dispatch, skills and policy."""

from __future__ import annotations

__all__: list[str] = []
