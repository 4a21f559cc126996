"""Fixtures of the sync facade tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from thalovant.link import link

from .dummy import Dummy


@pytest.fixture
def make_dummy() -> Iterator[Callable[[], Dummy]]:
    """Build dummy facades; every one is closed after the test."""
    made: list[Dummy] = []

    def factory() -> Dummy:
        dummy = Dummy()
        made.append(dummy)
        return dummy

    yield factory
    for dummy in made:
        dummy.close()


@pytest.fixture
def dummy(make_dummy: Callable[[], Dummy]) -> Dummy:
    """One dummy facade, closed after the test."""
    return make_dummy()


@pytest.fixture
def short_refusal_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """On loopback a refusal arrives within milliseconds (as in tests/client)."""
    monkeypatch.setattr(link, "REFUSAL_SETTLE_SECONDS", 0.15)
