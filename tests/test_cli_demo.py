"""`leadroute demo` output is tidy, and time zones work without a system zone database."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from leadroute.cli import WIDTH, main


@pytest.fixture(scope="module")
def demo_text() -> str:
    """The output of `leadroute demo`."""
    out = io.StringIO()
    assert main(["demo"], out=out) == 0
    return out.getvalue()


def test_demo_lines_fit_in_100_characters(demo_text: str) -> None:
    """No line of the demo is longer than 100 characters."""
    assert WIDTH == 100
    assert max(len(line) for line in demo_text.splitlines()) <= 100


def test_demo_has_no_raw_python_dicts(demo_text: str) -> None:
    """Facts are shown as text, not as Python dict or list reprs."""
    assert not re.search(r"\{'\w+':|\['\w+'", demo_text)
    assert "tier: by score, value" in demo_text


def test_demo_plurals_are_right(demo_text: str) -> None:
    """'1 candidate', never '1 candidates'."""
    assert not re.search(r"\b1 candidates\b", demo_text)
    assert re.search(r"\b1 candidate\b", demo_text)


def test_demo_files_writes_a_sample(tmp_path: Path) -> None:
    """demo --files writes rules.json, state.json and leads.jsonl that `route` accepts."""
    out = io.StringIO()
    assert main(["demo", "--leads", "12", "--files", str(tmp_path)], out=out) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leads.jsonl", "rules.json", "state.json"]
    argv = ["route", "--rules", str(tmp_path / "rules.json"), "--state"]
    argv += [str(tmp_path / "state.json"), "--leads", str(tmp_path / "leads.jsonl")]
    out = io.StringIO()
    assert main(argv, out=out) == 0
    assert len(out.getvalue().splitlines()) == 12


def test_demo_runs_without_a_system_zone_database(tmp_path: Path) -> None:
    """With no zone files on TZPATH the demo still runs, on the tzdata package."""
    empty = tmp_path / "no-zones"
    empty.mkdir()
    env = {**os.environ, "PYTHONTZPATH": str(empty)}
    proc = subprocess.run(
        [sys.executable, "-m", "leadroute", "demo", "--leads", "30"],
        env=env,
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b""
    out = io.StringIO()
    main(["demo", "--leads", "30"], out=out)
    assert proc.stdout.decode() == out.getvalue()


def test_missing_zone_database_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without any zone data the error names the missing database and `pip install tzdata`."""
    import zoneinfo

    import leadroute.models as models
    from leadroute import Rep

    def no_zone(name: str) -> zoneinfo.ZoneInfo:
        raise zoneinfo.ZoneInfoNotFoundError(name)

    monkeypatch.setattr(models, "ZoneInfo", no_zone)
    monkeypatch.setattr(models, "available_timezones", set)
    with pytest.raises(ValueError, match="no time-zone database found; pip install tzdata") as e:
        Rep(id="wang", timezone="Asia/Shanghai")
    assert "such as 'Asia/Shanghai'" not in str(e.value)


def test_unknown_zone_suggests_another_name() -> None:
    """A misspelled zone is called unknown, with an example that is not the name itself."""
    from leadroute import Rep

    with pytest.raises(ValueError, match="unknown time zone 'Asia/Shanghi'"):
        Rep(id="wang", timezone="Asia/Shanghi")


def test_tzdata_is_a_dependency_everywhere() -> None:
    """pyproject requires tzdata without a platform marker."""
    import tomllib

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    deps = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    assert any(d.startswith("tzdata") and ";" not in d for d in deps)
