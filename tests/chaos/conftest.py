"""The chaos suite (issue #11): hostile input, silent sockets, floods and load against a real
local hub over loopback.

Every test here runs in the default test run at a shortened scale and in full under
``nox -s chaos`` (``THALOVANT_CHAOS_SCALE=full``). Each records the figure it measured with the
``chaos_figure`` fixture; the figures are printed in the terminal summary.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

#: ``short`` (default run, CI) or ``full`` (``nox -s chaos``).
SCALE = os.environ.get("THALOVANT_CHAOS_SCALE", "short")


def scaled(short: int, full: int) -> int:
    """``short`` in the default run, ``full`` under ``nox -s chaos``."""
    return full if SCALE == "full" else short


FIGURES: list[str] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/chaos/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.chaos)


@pytest.fixture
def chaos_figure(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record one measured figure (a line of text) for the terminal summary."""

    def record(text: str) -> None:
        FIGURES.append(f"{request.node.name}: {text}")

    return record
