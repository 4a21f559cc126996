"""The ask hook stays under 2 µs per ask with no provider configured
(``benchmarks/bench_telemetry.py``, best of five rounds, so a busy machine inflates nothing
but the worst rounds)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_telemetry.py"


def test_the_ask_hook_costs_under_two_microseconds() -> None:
    spec = importlib.util.spec_from_file_location("bench_telemetry", BENCH)
    assert spec is not None
    assert spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.hook_overhead() < 2e-6
    assert bench.hook_overhead_without_api() < 2e-6
