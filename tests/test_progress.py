"""Progress callbacks on simulate, assign and reclaim; the ``leadroute`` logger; the terminal display."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

import leadroute.engine.pipeline
import leadroute.lifecycle
import leadroute.progress
from leadroute import PoolState, ReclaimPolicy, Router, Rule, simulate
from leadroute.cli import main
from leadroute.progress import terminal_progress
from leadroute.strategies import RoundRobin
from tests.conftest import T0, lead, rep

ROUTER = Router(rules=[Rule(id="rr", route=RoundRobin())])
STATE = PoolState(reps=(rep("a"), rep("b"), rep("c")))


class Calls(list[tuple[int, int]]):
    """A progress callback that remembers its calls."""

    def __call__(self, done: int, total: int) -> None:
        self.append((done, total))


def assert_monotone_to_total(calls: list[tuple[int, int]], total: int) -> None:
    """Counts only grow, the total never changes, and the last call is (total, total)."""
    assert calls
    assert all(t == total for _, t in calls)
    dones = [d for d, _ in calls]
    assert dones == sorted(dones)
    assert calls[-1] == (total, total)


def test_simulate_reports_progress_per_step() -> None:
    """simulate calls back once per clock step, counts growing to the number of leads."""
    calls = Calls()
    leads = [lead(f"L{i:03d}", i * 60 * 6) for i in range(40)]  # one every 6 hours: 10 days
    simulate(ROUTER, STATE, leads, progress=calls)
    assert_monotone_to_total(calls, 40)
    assert len(calls) >= 10


def test_assign_reports_progress_every_n_leads(monkeypatch: pytest.MonkeyPatch) -> None:
    """assign calls back every PROGRESS_EVERY leads and once at the end."""
    monkeypatch.setattr(leadroute.engine.pipeline, "PROGRESS_EVERY", 10)
    calls = Calls()
    ROUTER.assign(STATE, [lead(f"L{i:02d}", i) for i in range(35)], progress=calls)
    assert calls == [(10, 35), (20, 35), (30, 35), (35, 35)]


def test_small_assign_reports_once() -> None:
    """A batch smaller than PROGRESS_EVERY gives a single final call."""
    calls = Calls()
    ROUTER.assign(STATE, [lead("L1"), lead("L2", 1)], progress=calls)
    assert calls == [(2, 2)]


def test_reclaim_reports_progress_over_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    """reclaim calls back over the leads it moves, ending at their number."""
    monkeypatch.setattr(leadroute.lifecycle, "PROGRESS_EVERY", 2)
    state = ROUTER.assign(STATE, [lead(f"L{i}", i) for i in range(5)]).state
    calls = Calls()
    result = ROUTER.reclaim(state, T0 + timedelta(days=60), ReclaimPolicy(), progress=calls)
    assert len(result.assignments) == 5
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_logger_records_calls(caplog: pytest.LogCaptureFixture) -> None:
    """assign, reclaim and simulate log their counts at INFO on the 'leadroute' logger tree."""
    with caplog.at_level(logging.INFO, logger="leadroute"):
        result = ROUTER.assign(STATE, [lead("L1"), lead("L2", 1)])
        ROUTER.reclaim(result.state, T0 + timedelta(days=60))
        simulate(ROUTER, STATE, [lead("L3")])
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("leadroute")]
    assert "assign: 2 leads, 2 assigned, 0 not" in messages
    assert any(m.startswith("reclaim: 2 open leads, 2 moved") for m in messages)
    assert any(m.startswith("simulate: done, 1 of 1 leads assigned") for m in messages)


def test_logger_debug_has_steps(caplog: pytest.LogCaptureFixture) -> None:
    """At DEBUG, simulate logs each clock step."""
    with caplog.at_level(logging.DEBUG, logger="leadroute"):
        simulate(ROUTER, STATE, [lead("L1"), lead("L2", 60 * 30)])
    steps = [r for r in caplog.records if r.getMessage().startswith("simulate: step to")]
    assert len(steps) == 2
    assert all(r.levelno == logging.DEBUG for r in steps)


def test_library_prints_nothing_by_default() -> None:
    """Without logging configured, routing, reclaiming and simulating write nothing to stderr."""
    code = (
        "import logging\n"
        "from datetime import datetime, timedelta, timezone\n"
        "from leadroute import Lead, PoolState, Rep, Router, Rule, simulate\n"
        "from leadroute.strategies import RoundRobin\n"
        "t = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)\n"
        "r = Router(rules=[Rule(id='rr', route=RoundRobin())])\n"
        "s = PoolState(reps=(Rep(id='a'),))\n"
        "res = r.assign(s, [Lead(id='L1', created_at=t)])\n"
        "r.reclaim(res.state, t + timedelta(days=60))\n"
        "simulate(r, s, [Lead(id='L2', created_at=t)])\n"
        "logging.getLogger('leadroute.router').warning('not shown')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr == ""
    assert out.stdout == ""


def test_terminal_progress_is_silent_off_a_terminal() -> None:
    """On a stream that is not a terminal the display draws nothing."""
    out = io.StringIO()
    with terminal_progress("simulate", out) as tick:
        tick(5, 10)
        tick(10, 10)
    assert out.getvalue() == ""


def test_terminal_progress_plain_lines_every_tenth() -> None:
    """Without the bar, one line per 10% of the work."""
    out = io.StringIO()
    with terminal_progress("route", out, force=True, bar=False) as tick:
        for done in range(0, 1001, 50):
            tick(done, 1000)
    lines = out.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[-1] == "route: 1,000 of 1,000 leads (100%)"


def test_terminal_progress_bar_with_tqdm() -> None:
    """With tqdm installed, a bar labelled with the task is drawn and finished."""
    pytest.importorskip("tqdm")
    out = io.StringIO()
    with terminal_progress("simulate rules.toml", out, force=True) as tick:
        tick(500, 1000)
        tick(1000, 1000)
    assert "simulate rules.toml" in out.getvalue()
    assert "1000/1000" in out.getvalue()


def test_cli_route_and_reclaim_show_progress_at_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``leadroute route`` and ``leadroute reclaim`` draw progress when stderr is a terminal."""
    monkeypatch.setattr(leadroute.progress, "_is_terminal", lambda stream: True)
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the plain lines, whatever is installed
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(ROUTER.to_config()), encoding="utf-8")
    state = tmp_path / "state.json"
    state.write_text(STATE.model_dump_json(), encoding="utf-8")
    leads = tmp_path / "leads.jsonl"
    leads.write_text("".join(lead(f"L{i}", i).model_dump_json() + "\n" for i in range(30)))
    nxt = tmp_path / "next.json"
    args = ["route", "--rules", str(rules), "--state", str(state), "--leads", str(leads)]
    assert main([*args, "--next-state", str(nxt)], io.StringIO()) == 0
    assert "route: 30 of 30 leads (100%)" in capsys.readouterr().err
    later = (T0 + timedelta(days=60)).isoformat()
    reclaim = ["reclaim", "--rules", str(rules), "--state", str(nxt), "--now", later]
    assert main([*reclaim, "--next-state", str(tmp_path / "after.json")], io.StringIO()) == 0
    assert "reclaim: 30 of 30 leads (100%)" in capsys.readouterr().err
