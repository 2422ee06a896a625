"""simulate / compare / SimulationReport on small hand-made histories."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from leadroute import (
    Capacity,
    HistoricalOutcome,
    PoolState,
    Router,
    Rule,
    compare,
    simulate,
)
from leadroute.lab import gini
from leadroute.strategies import BestFit, CapacityCap, RoundRobin, Weighted
from tests.conftest import T0, lead, rep

DAY = timedelta(days=1)


def test_report_numbers_on_hand_made_history() -> None:
    """Counts, shares, cap hits, waits and fairness match a hand count."""
    state = PoolState(
        reps=(rep("a", capacity=Capacity(max_open=2)), rep("b", capacity=Capacity(max_open=2)))
    )
    router = Router(rules=[Rule(id="r", route=CapacityCap() >> RoundRobin())])
    # day 0: five leads; caps take four, one waits; leads close after 1 day and the fifth is retried on day 1
    leads = [lead(f"L{i}", i) for i in range(5)]
    report = simulate(router, state, leads, step=DAY, close_after=DAY)
    assert report.leads == 5
    assert report.assigned == 5
    assert {k: v.count for k, v in report.per_rep.items()} == {"a": 3, "b": 2}
    assert report.per_rep["a"].share == 0.6
    assert report.per_rep["a"].target_share == 0.5
    assert report.per_rep["a"].deviation == pytest.approx(0.1)
    assert report.cap_hits == {"capacity": 3}  # L3 found a full; L4 found a and b full
    # four leads routed on arrival (wait 0), L4 (created 09:04) waits until the next step at 09:00 + 1 day
    assert report.wait_minutes["max"] == pytest.approx(24 * 60 - 4)
    assert report.wait_minutes["median"] == 0
    assert report.fairness.gini == pytest.approx(gini([3, 2]))
    assert report.fairness.max_min_ratio == 1.5
    assert report.load_times[0] == T0 + DAY
    assert report.load["a"][0] == 2


def test_unserved_leads_counted_by_reason() -> None:
    """Leads nobody can take are counted by reason and the simulation ends."""
    state = PoolState(reps=(rep("a", capacity=Capacity(max_open=1)),))
    router = Router(rules=[Rule(id="r", route=CapacityCap() >> RoundRobin())])
    report = simulate(router, state, [lead("L1"), lead("L2", 1)], close_after=None)
    assert report.assigned == 1
    assert report.unassigned == {"no_eligible_rep": 1}


def test_simulate_is_deterministic() -> None:
    """The same inputs give the same report."""
    state = PoolState(reps=tuple(rep(f"r{i}", weight=i + 1) for i in range(4)))
    router = Router(rules=[Rule(id="r", route=Weighted())])
    leads = [lead(f"L{i:03d}", i * 7) for i in range(200)]
    a = simulate(router, state, leads)
    b = simulate(router, state, list(reversed(leads)))
    assert a.model_dump_json() == b.model_dump_json()
    assert a.per_rep["r3"].count == 80  # weight 4 of 10


def _history() -> tuple[list, dict[str, HistoricalOutcome]]:  # type: ignore[type-arg]
    leads = [
        lead(f"H{i:03d}", i * 30, industry="retail" if (i // 4) % 2 else "software")
        for i in range(400)
    ]
    outcomes = {}
    for i, ld in enumerate(leads):
        worker = "ace" if i % 4 == 0 else "avg"
        won = (i % 4 == 0 and (i // 4) % 3 != 0) or (i % 4 != 0 and i % 10 == 1)
        outcomes[ld.id] = HistoricalOutcome(
            lead_id=ld.id,
            rep_id=worker,
            outcome="won" if won else "lost",
            closed_at=ld.created_at + 2 * DAY,
        )
    return leads, outcomes


def test_expected_conversions_and_compare() -> None:
    """With outcomes, the report gives expected conversions; compare names the differences."""
    leads, outcomes = _history()
    state = PoolState(reps=(rep("ace"), rep("avg")))
    rotation = Router(rules=[Rule(id="r", route=RoundRobin())])
    fit = Router(rules=[Rule(id="r", route=BestFit(weights={"conversion": 1.0}, min_history=100))])
    a = simulate(rotation, state, leads, outcomes)
    b = simulate(fit, state, leads, outcomes)
    assert a.expected_conversions is not None
    assert b.expected_conversions is not None
    assert b.expected_conversions > a.expected_conversions
    cmp = compare(a, b, ("rotation", "fit"))
    text = cmp.table()
    assert "expected conversions" in text
    assert any("more conversions" in d for d in cmp.differences)
    assert any("less evenly" in d for d in cmp.differences)


def test_expected_conversions_off_below_min_history() -> None:
    """Too little history switches expected conversions off, with a note."""
    leads, outcomes = _history()
    state = PoolState(reps=(rep("ace"), rep("avg")))
    report = simulate(
        Router(rules=[Rule(id="r", route=RoundRobin())]),
        state,
        leads[:50],
        outcomes,
        min_history=300,
    )
    assert report.expected_conversions is None
    assert any("expected conversions off" in n for n in report.notes)


def test_html_report(tmp_path: Path) -> None:
    """The report renders to a self-contained HTML file with charts."""
    pytest.importorskip("plotly")
    state = PoolState(reps=(rep("a"), rep("b")))
    report = simulate(
        Router(rules=[Rule(id="r", route=RoundRobin())]),
        state,
        [lead(f"L{i}", i) for i in range(20)],
    )
    out = report.to_html(tmp_path / "report.html")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "Share of leads per rep" in text
    assert "plotly" in text.lower()


def test_bad_simulation_input_is_named() -> None:
    """A non-positive step and reports of different lead sets are errors naming the problem."""
    from leadroute import InputError

    state = PoolState(reps=(rep("a"),))
    router = Router(rules=[Rule(id="r", route=RoundRobin())])
    with pytest.raises(InputError, match="step"):
        simulate(router, state, [lead("L1")], step=timedelta(0))
    one = simulate(router, state, [lead("L1")])
    two = simulate(router, state, [lead("L1"), lead("L2", 1)])
    with pytest.raises(InputError, match="different lead counts"):
        compare(one, two)
