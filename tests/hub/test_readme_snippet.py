"""The README's "Local hub in your tests" snippet runs as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from thalovant.hub import LocalHub
from thalovant.testing import HubTLS

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.anyio


def snippet(marker: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    found = [block for block in blocks if marker in block]
    assert len(found) == 1, f"expected one README block with {marker!r}"
    return found[0]


async def test_local_hub_snippet(local_hub: LocalHub, hub_tls: HubTLS, tmp_path: Path) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(snippet("async def test_weather"), str(README), "exec"), namespace)
    await namespace["test_weather"](local_hub, hub_tls, tmp_path)
