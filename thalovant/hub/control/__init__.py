"""The local control plane (``/v1``): API, resources, account, tokens."""

from __future__ import annotations

__all__: list[str] = []
