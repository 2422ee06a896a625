"""The scripts in examples/ and benchmarks/ run (small sizes)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load(relative: str) -> ModuleType:
    path = ROOT / relative
    if not path.exists():
        pytest.skip("needs the source tree")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def test_copyable_policy_test_passes() -> None:
    """examples/test_my_policy.py passes as a user would run it."""
    module = _load("examples/test_my_policy.py")
    module.test_my_policy_keeps_its_promises()
    module.test_with_a_fixed_time_zone()


def test_policy_lab_script_writes_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """examples/policy_lab.py compares two policies and writes the HTML report."""
    pytest.importorskip("plotly")
    module = _load("examples/policy_lab.py")
    out = tmp_path / "lab.html"
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "policy_lab.py",
            "--csv",
            str(tmp_path / "missing.csv"),
            "--limit",
            "400",
            "--out",
            str(out),
        ],
    )
    module.main()
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_benchmarks_run_small(capsys: pytest.CaptureFixture[str]) -> None:
    """The benchmark scripts run and print their figures."""
    lab = _load("benchmarks/bench_lab.py")
    lab.main(["--leads", "2000", "--reps", "50"])
    assert "leads/s" in capsys.readouterr().out
