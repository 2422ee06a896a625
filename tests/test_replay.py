"""Replayable decisions: unique ids, the record of what a route read, Router.replay."""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadroute import Lead, PoolState, Router
from leadroute.testing import lead_batches, pool_states, routers

SETTINGS = settings(
    max_examples=int(os.environ.get("LEADROUTE_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@SETTINGS
@given(
    routers(max_drops=st.integers(0, 3) | st.just(50)),
    pool_states(),
    lead_batches(max_size=15),
    lead_batches(max_size=15),
)
def test_every_decision_replays_from_its_record(
    router: Router, state: PoolState, first: list[Lead], second: list[Lead]
) -> None:
    """Over two chained calls, every decision replays byte-identically from its record alone."""
    one = router.assign(state, first)
    later = [b.model_copy(update={"id": f"{b.id}b"}) for b in second]
    two = router.assign(one.state, later, now=max((b.created_at for b in later), default=None))
    for decision in (*one.audit, *two.audit):
        found = router.replay(decision)
        assert found.identical, found.explain()


@SETTINGS
@given(routers(), pool_states(), lead_batches(max_size=15))
def test_decision_ids_are_unique(router: Router, state: PoolState, batch: list[Lead]) -> None:
    """No two decisions of a call, or of two calls on the same state, share an id."""
    one = router.assign(state, batch)
    two = router.assign(state, [b.model_copy(update={"id": f"{b.id}x"}) for b in batch])
    ids = [d.decision_id for d in (*one.audit, *two.audit)]
    assert len(ids) == len(set(ids))


@SETTINGS
@given(routers(), pool_states(), lead_batches(max_size=10))
def test_outcome_audit_keeps_the_same_decision_ids(
    router: Router, state: PoolState, batch: list[Lead]
) -> None:
    """audit='outcome' gives each decision the id the full audit gives it."""
    full = router.assign(state, batch)
    bare = router.assign(state, batch, audit="outcome")
    assert [d.decision_id for d in bare.audit] == [d.decision_id for d in full.audit]
    assert all(d.inputs is None for d in bare.audit)


def test_reclaim_ids_differ_from_assign_ids() -> None:
    """A reclaim reroute of a lead and its first assignment have different ids."""
    from leadroute import ReclaimPolicy
    from leadroute.demo import sample_leads, sample_router, sample_state

    router = sample_router()
    first = router.assign(sample_state(), sample_leads(40))
    later = max(d.at for d in first.audit) + timedelta(days=3)
    sweep = router.reclaim(first.state, later, ReclaimPolicy(first_touch=timedelta(hours=1)))
    assert sweep.audit
    ids = [d.decision_id for d in (*first.audit, *sweep.audit)]
    assert len(ids) == len(set(ids))
