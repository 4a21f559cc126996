"""The hub's state on disk: client registry, node keys, private files."""

from __future__ import annotations

__all__: list[str] = []
