"""benchmarks/bench_store.py runs (tiny sizes, SQLite only) and prints its figures."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_store.py"


def test_bench_store_prints_ratios(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The benchmark prints per-call medians, the size ratio and the baseline ratio."""
    if not BENCH.exists():
        pytest.skip("needs the source tree")
    spec = importlib.util.spec_from_file_location("bench_store", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_store"] = module
    spec.loader.exec_module(module)
    monkeypatch.setenv("LEADROUTE_TEST_POSTGRES", "")
    monkeypatch.setattr(sys, "argv", ["bench_store.py", "--sizes", "10,50", "--closed", "20,60", "--calls", "3"])
    module.main()
    out = capsys.readouterr().out
    assert "assign / hand-written baseline at 50" in out
    assert "record_activity" in out
    assert "assign BestFit after a close" in out
    assert "reclaim (one lead due)" in out
