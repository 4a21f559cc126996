"""Shared fixtures."""

from __future__ import annotations

import pytest

# Helpers shared across test folders get pytest's assertion rewriting wherever they are first
# imported from (the chaos suite imports the hub's raw client before tests/hub is collected).
pytest.register_assert_rewrite("tests.hub.raw_client")

from tests.chaos.conftest import FIGURES  # noqa: E402

#: Carriers the end-to-end client tests run over, once each (the ``protocol`` fixture).
E2E_PROTOCOLS = ["wss", "https", "mqtt"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=E2E_PROTOCOLS)
def protocol(request: pytest.FixtureRequest) -> str:
    """The data-plane protocol of an end-to-end test (a test may override it with
    ``@pytest.mark.parametrize("protocol", ["wss"])`` when it is WSS-specific)."""
    value: str = request.param
    return value


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures the chaos suite measured (tests/chaos)."""
    if FIGURES:
        terminalreporter.section("chaos figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
