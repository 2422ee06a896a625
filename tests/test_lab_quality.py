"""Honest lab figures: held-out expected conversions with an interval, value balance."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadroute import HistoricalOutcome, InputError, Lead, PoolState, Router, Rule, simulate
from leadroute.hashing import unit_draw
from leadroute.lab import gini
from leadroute.strategies import BestFit, RoundRobin
from tests.conftest import lead, rep

DAY = timedelta(days=1)


def _equal_skill() -> tuple[list[Lead], dict[str, HistoricalOutcome]]:
    """Three equally good reps, 25 segments: any learned difference is noise."""
    leads = [
        lead(f"H{i:04d}", i * 60, industry=f"seg{i % 25}", value=float(100 + i % 7))
        for i in range(1500)
    ]
    outcomes = {
        x.id: HistoricalOutcome(
            lead_id=x.id,
            rep_id=("a", "b", "c")[i % 3],
            outcome="won" if unit_draw("truth", x.id) < 0.3 else "lost",
            closed_at=x.created_at + 2 * DAY,
        )
        for i, x in enumerate(leads)
    }
    return leads, outcomes


def _runs(evaluation: str) -> tuple[float, float]:
    leads, outcomes = _equal_skill()
    state = PoolState(reps=(rep("a"), rep("b"), rep("c")))
    rotation = Router(rules=[Rule(id="r", route=RoundRobin())])
    fit = Router(rules=[Rule(id="r", route=BestFit(weights={"conversion": 1.0}, min_history=100))])
    a = simulate(rotation, state, leads, outcomes, min_history=100, evaluation=evaluation)  # type: ignore[arg-type]
    b = simulate(fit, state, leads, outcomes, min_history=100, evaluation=evaluation)  # type: ignore[arg-type]
    assert a.expected_conversions is not None
    assert b.expected_conversions is not None
    return a.expected_conversions, b.expected_conversions


def test_in_sample_overstates_a_learned_policy() -> None:
    """With equally good reps the true gain is 0; held-out scoring shows less of the noise gain."""
    rot_in, fit_in = _runs("in_sample")
    rot_out, fit_out = _runs("holdout")
    assert fit_in - rot_in > (fit_out - rot_out) + 20


def test_holdout_report_gives_interval_and_method() -> None:
    """A holdout report has a bootstrap interval around the figure and says how it was made."""
    leads, outcomes = _equal_skill()
    state = PoolState(reps=(rep("a"), rep("b"), rep("c")))
    router = Router(rules=[Rule(id="r", route=RoundRobin())])
    report = simulate(
        router, state, leads, outcomes, min_history=100, evaluation="holdout", bootstrap=50
    )
    assert report.expected_conversions is not None
    assert report.expected_interval is not None
    lo, hi = report.expected_interval
    assert lo < report.expected_conversions < hi
    assert report.expected_method is not None
    assert "held-out" in report.expected_method
    assert "bootstrap" in report.summary()
    assert 0 < report.learned_history < len(outcomes)


def test_in_sample_default_has_no_interval() -> None:
    """The default evaluation keeps the old figure and adds no interval."""
    leads, outcomes = _equal_skill()
    state = PoolState(reps=(rep("a"), rep("b"), rep("c")))
    report = simulate(
        Router(rules=[Rule(id="r", route=RoundRobin())]), state, leads, outcomes, min_history=100
    )
    assert report.expected_interval is None
    assert report.learned_history == len(outcomes)


def test_value_balance_figures() -> None:
    """value_per_rep sums the value each rep received; value_gini is its Gini."""
    leads, _ = _equal_skill()
    state = PoolState(reps=(rep("a"), rep("b"), rep("c")))
    report = simulate(Router(rules=[Rule(id="r", route=RoundRobin())]), state, leads[:30])
    assert sum(report.value_per_rep.values()) == pytest.approx(
        sum(x.value or 0 for x in leads[:30])
    )
    assert report.value_gini == pytest.approx(gini(list(report.value_per_rep.values())), abs=1e-6)


def test_bad_evaluation_is_refused() -> None:
    """An unknown evaluation raises InputError naming the field."""
    state = PoolState(reps=(rep("a"),))
    with pytest.raises(InputError) as exc:
        simulate(Router(rules=[Rule(id="r", route=RoundRobin())]), state, [], evaluation="x")  # type: ignore[arg-type]
    assert exc.value.field == "evaluation"


def test_activity_events_reach_the_response_component() -> None:
    """First-activity times in the outcomes make BestFit's response favour the fast rep."""
    leads = [lead(f"A{i:03d}", i * 60) for i in range(300)]
    outcomes = [
        HistoricalOutcome(
            lead_id=x.id,
            rep_id=("fast", "slow")[i % 2],
            outcome="lost",
            closed_at=x.created_at + DAY,
            first_activity_at=x.created_at + timedelta(hours=1 if i % 2 == 0 else 48),
        )
        for i, x in enumerate(leads[:200])
    ]
    state = PoolState(reps=(rep("fast"), rep("slow")))
    router = Router(rules=[Rule(id="r", route=BestFit(weights={"response": 1.0}, min_history=50))])
    report = simulate(router, state, leads, outcomes, close_after=None)
    assert report.per_rep["fast"].count > 2 * report.per_rep["slow"].count
