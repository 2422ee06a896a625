"""Activity, closing, manual assignment and Router.reclaim (SLA, recycle, protection, cooldown)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadroute import (
    Capacity,
    CapacityExceededError,
    InputError,
    PoolState,
    ReclaimPolicy,
    Router,
    Rule,
    UnknownLeadError,
)
from leadroute.strategies import CapacityCap, RoundRobin
from leadroute.testing import lead_batches, pool_states
from tests.conftest import T0, lead, rep

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
ROUTER = Router(rules=[Rule(id="rr", route=CapacityCap() >> RoundRobin())])
WALL = ReclaimPolicy(first_touch=2 * HOUR, working_time=False, max_reassignments=1)


@pytest.fixture
def pool() -> PoolState:
    """Three reps, lead L1 assigned to a at T0."""
    state = PoolState(reps=(rep("a"), rep("b"), rep("c")))
    return ROUTER.assign(state, [lead("L1")]).state


def test_record_activity_and_close(pool: PoolState) -> None:
    """Activity is recorded; closing frees capacity and keeps history."""
    s1 = pool.record_activity("L1", T0 + HOUR)
    rec = s1.open_leads["L1"]
    assert rec.first_activity_at == rec.last_activity_at == T0 + HOUR
    s2 = s1.close("L1", "won", T0 + DAY)
    assert "L1" not in s2.open_leads
    assert s2.open_count("a") == 0
    assert s2.history[-1].outcome == "won"
    assert s2.revision == pool.revision + 2


def test_bad_lifecycle_calls_leave_state_unchanged(pool: PoolState) -> None:
    """Unknown leads, double closes and naive times are errors naming the lead or field."""
    with pytest.raises(UnknownLeadError, match="L9"):
        pool.record_activity("L9", T0)
    closed = pool.close("L1", "lost", T0 + DAY)
    with pytest.raises(UnknownLeadError, match="already closed"):
        closed.close("L1", "lost", T0 + DAY)
    with pytest.raises(InputError, match="at"):
        pool.record_activity("L1", T0.replace(tzinfo=None))
    assert "L1" in pool.open_leads


def test_manual_assignment_respects_caps_unless_forced() -> None:
    """Manual assignment records who and why, and respects caps unless forced."""
    state = PoolState(reps=(rep("a", capacity=Capacity(max_open=1)),))
    s1 = state.assign_manually(lead("L1"), "a", at=T0, by="manager", note="VIP")
    assert (s1.open_leads["L1"].assigned_by, s1.open_leads["L1"].note) == ("manager", "VIP")
    with pytest.raises(CapacityExceededError, match="open 1 of 1"):
        s1.assign_manually(lead("L2"), "a", at=T0, by="manager")
    s2 = s1.assign_manually(lead("L2"), "a", at=T0, by="manager", force=True)
    assert s2.open_count("a") == 2


def test_sla_reassigns_excluding_previous_owner(pool: PoolState) -> None:
    """No first activity within the SLA: reassigned to someone else, audited."""
    result = ROUTER.reclaim(pool, T0 + 3 * HOUR, WALL)
    a = result.assignments[0]
    assert (a.lead_id, a.outcome, a.reason) == ("L1", "assigned", "sla_reassigned")
    assert a.rep_id != "a"
    rec = result.state.open_leads["L1"]
    assert (rec.times_reassigned, rec.previous_reps) == (1, ("a",))
    assert result.state.open_count("a") == 0
    assert "no first activity" in result.audit[0].explain()
    # after max_reassignments the lead goes to the pool
    again = ROUTER.reclaim(result.state, T0 + 10 * HOUR, WALL)
    assert again.assignments[0].reason == "sla_max_reassignments"
    assert "L1" in again.state.pool


def test_activity_stops_sla_and_protection_delays(pool: PoolState) -> None:
    """Touched leads are not SLA-reclaimed; protected leads are not reclaimed at all."""
    touched = pool.record_activity("L1", T0 + HOUR)
    assert ROUTER.reclaim(touched, T0 + 5 * HOUR, WALL).assignments == ()
    protected = ReclaimPolicy(first_touch=2 * HOUR, working_time=False, protection=6 * HOUR)
    assert ROUTER.reclaim(pool, T0 + 5 * HOUR, protected).assignments == ()
    assert len(ROUTER.reclaim(pool, T0 + 7 * HOUR, protected).assignments) == 1


def test_recycle_after_45_days_with_cooldown(pool: PoolState) -> None:
    """An idle lead returns to the pool after 45 days; its rep cannot get it back during cooldown."""
    touched = pool.record_activity("L1", T0 + HOUR)
    assert ROUTER.reclaim(touched, T0 + 44 * DAY).assignments == ()
    result = ROUTER.reclaim(touched, T0 + 46 * DAY)
    a = result.assignments[0]
    assert (a.outcome, a.reason) == ("pool", "recycled")
    pooled = result.state.pool["L1"]
    assert pooled.times_recycled == 1
    assert "a" in pooled.cooldown
    back = ROUTER.assign(result.state, [lead("L1")], now=T0 + 47 * DAY)
    assert back.assignments[0].rep_id in {"b", "c"}
    assert any(d.code == "excluded" for s in back.audit[0].steps for d in s.dropped)


def test_recycle_clears_owner() -> None:
    """Recycling a lead clears the account owner it set."""
    state = PoolState(reps=(rep("a"),))
    s = ROUTER.assign(state, [lead("L1", account_key="acme")]).state
    assert s.owners == {"acme": "a"}
    out = ROUTER.reclaim(s.record_activity("L1", T0), T0 + 50 * DAY)
    assert out.state.owners == {}


def test_sla_in_working_hours() -> None:
    """With working_time, the SLA clock runs only in the rep's working hours."""
    hours = dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), ("09:00-18:00",))
    state = PoolState(reps=(rep("a", timezone="Asia/Shanghai", working_hours=hours), rep("b")))
    friday_5pm = datetime.fromisoformat("2026-03-06T17:00:00+08:00")
    s = (
        Router(rules=[Rule(id="r", route=RoundRobin())])
        .assign(state, [lead("L1")], now=friday_5pm)
        .state
    )
    policy = ReclaimPolicy(first_touch=2 * HOUR)
    monday_9_30 = datetime.fromisoformat("2026-03-09T09:30:00+08:00")
    assert ROUTER.reclaim(s, monday_9_30, policy).assignments == ()
    warns = ROUTER.reclaim_warnings(s, monday_9_30, HOUR, policy)
    assert [(w.lead_id, w.kind, w.due_at) for w in warns] == [
        ("L1", "sla", datetime.fromisoformat("2026-03-09T10:00:00+08:00"))
    ]
    assert len(ROUTER.reclaim(s, monday_9_30 + HOUR, policy).assignments) == 1


OPS = st.lists(
    st.tuples(
        st.sampled_from(("assign", "activity", "close", "reclaim")),
        st.integers(0, 40),
        st.integers(1, 72),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(pool_states(), lead_batches(max_size=20), OPS)
def test_no_lead_lost_over_random_sequences(state: PoolState, batch: list, ops: list) -> None:  # type: ignore[type-arg]
    """Over assign / activity / close / reclaim sequences, no lead is lost or duplicated and caps hold."""
    now = T0
    pending = list(batch)
    known: set[str] = set()
    closed: set[str] = set()
    for op, n, hours in ops:
        now += timedelta(hours=hours)
        if op == "assign" and pending:
            take, pending = pending[: n % 5 + 1], pending[n % 5 + 1 :]
            take = [x.model_copy(update={"created_at": now}) for x in take]
            state = ROUTER.assign(state, take).state
            known.update(x.id for x in take)
        elif op == "activity" and state.open_leads:
            lid = sorted(state.open_leads)[n % len(state.open_leads)]
            state = state.record_activity(lid, max(now, state.open_leads[lid].assigned_at))
        elif op == "close" and state.open_leads:
            lid = sorted(state.open_leads)[n % len(state.open_leads)]
            state = state.close(lid, "lost", max(now, state.open_leads[lid].assigned_at))
            closed.add(lid)
        elif op == "reclaim":
            before = dict(state.open_leads)
            state = ROUTER.reclaim(
                state,
                now,
                ReclaimPolicy(first_touch=24 * HOUR, working_time=False, recycle_after=3 * DAY),
            ).state
            for lid in before:
                assert lid in state.open_leads or lid in state.pool
        open_ids, pool_ids = set(state.open_leads), set(state.pool)
        assert not open_ids & pool_ids
        assert open_ids | pool_ids | closed == known
        for r in state.reps:
            held = sum(1 for o in state.open_leads.values() if o.rep_id == r.id)
            assert state.open_count(r.id) == held
            if r.capacity.max_open is not None:
                assert held <= r.capacity.max_open
