"""Worked-but-not-converted recycle (超时未转化回流): pool or nurture rule, protection, cooldown."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadroute import InputError, PoolState, ReclaimPolicy, Router, Rule
from leadroute.strategies import RoundRobin, Team
from tests.conftest import T0, lead, rep

DAY = timedelta(days=1)
ROUTER = Router(
    rules=[
        Rule(id="sales", route=Team(("sales",)) >> RoundRobin()),
        Rule(
            id="nurture",
            when={"field": "tags", "contains": "never"},
            route=Team(("nurture",)) >> RoundRobin(),
        ),
    ]
)
POLICY = ReclaimPolicy(first_touch=None, recycle_after=None, unconverted_after=30 * DAY)


@pytest.fixture
def worked() -> PoolState:
    """Sales reps a, b and nurture rep n; L1 assigned to a at T0 and called a day later."""
    state = PoolState(
        reps=(rep("a", team="sales"), rep("b", team="sales"), rep("n", team="nurture"))
    )
    state = ROUTER.assign(state, [lead("L1")]).state
    return state.record_activity("L1", T0 + DAY)


def test_worked_lead_returns_to_pool_after_n_days(worked: PoolState) -> None:
    """A worked lead still open 30 days after assignment goes to the pool, audited."""
    assert ROUTER.reclaim(worked, T0 + 29 * DAY, POLICY).assignments == ()
    r = ROUTER.reclaim(worked, T0 + 30 * DAY, POLICY)
    (a,) = r.assignments
    assert (a.outcome, a.reason) == ("pool", "unconverted")
    pooled = r.state.pool["L1"]
    assert pooled.times_recycled == 1
    assert pooled.cooldown == {"a": T0 + 37 * DAY}
    assert r.audit[0].steps[0].path == "reclaim:unconverted"


def test_untouched_lead_is_not_unconverted() -> None:
    """A lead without activity is left to the SLA and stale rules."""
    state = PoolState(reps=(rep("a", team="sales"),))
    state = ROUTER.assign(state, [lead("L1")]).state
    assert ROUTER.reclaim(state, T0 + 40 * DAY, POLICY).assignments == ()


def test_protection_delays_unconverted(worked: PoolState) -> None:
    """Nothing is reclaimed within protection of the assignment."""
    policy = ReclaimPolicy(
        first_touch=None, recycle_after=None, unconverted_after=DAY, protection=10 * DAY
    )
    assert ROUTER.reclaim(worked, T0 + 9 * DAY, policy).assignments == ()
    assert ROUTER.reclaim(worked, T0 + 10 * DAY, policy).assignments[0].reason == "unconverted"


def test_unconverted_to_nurture_rule(worked: PoolState) -> None:
    """unconverted_to names a rule: the lead is routed through it, its when not checked."""
    policy = ReclaimPolicy(
        first_touch=None, recycle_after=None, unconverted_after=30 * DAY, unconverted_to="nurture"
    )
    r = ROUTER.reclaim(worked, T0 + 30 * DAY, policy)
    (a,) = r.assignments
    assert (a.rep_id, a.rule_id, a.reason) == ("n", "nurture", "unconverted_rerouted")
    rec = r.state.open_leads["L1"]
    assert (rec.previous_reps, rec.times_recycled) == (("a",), 1)
    assert r.state.open_count("a") == 0


def test_unconverted_warning(worked: PoolState) -> None:
    """reclaim_warnings lists the coming unconverted recycle."""
    (w,) = ROUTER.reclaim_warnings(worked, T0 + 29 * DAY, DAY, POLICY)
    assert (w.kind, w.due_at) == ("unconverted", T0 + 30 * DAY)


def test_unknown_nurture_rule_is_an_error(worked: PoolState) -> None:
    """An unconverted_to naming no rule is an InputError naming the field."""
    policy = ReclaimPolicy(unconverted_after=DAY, unconverted_to="nope")
    with pytest.raises(InputError, match="unconverted_to"):
        ROUTER.reclaim(worked, T0 + 30 * DAY, policy)
