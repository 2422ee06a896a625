"""Property tests: the router's promises over random reps, states, rules and batches."""

from __future__ import annotations

import json
import os
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadroute import Lead, PoolState, Router
from leadroute.testing import EPOCH, check_invariants, lead_batches, leads, pool_states, routers
from tests.processes import outputs_under_hash_seeds

SETTINGS = settings(
    max_examples=int(os.environ.get("LEADROUTE_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@SETTINGS
@given(routers(), pool_states(), lead_batches())
def test_invariants_hold(router: Router, state: PoolState, batch: list[Lead]) -> None:
    """Every lead once, caps held, filters honoured, deterministic, input untouched."""
    result = router.assign(state, batch)
    check_invariants(router, state, batch, result)


@SETTINGS
@given(routers(), pool_states(), lead_batches())
def test_outcome_audit_routes_like_full_audit(
    router: Router, state: PoolState, batch: list[Lead]
) -> None:
    """Without the audit (selectors skip their reasons) the picks and the next state are the same,
    and so are the bulk replay's rows (the policy lab's path)."""
    full = router.assign(state, batch)
    bare = router.assign(state, batch, audit="outcome")
    assert bare.assignments == full.assignments
    assert bare.state.model_dump_json() == full.state.model_dump_json()
    replay_state, rows, _drops, _caps = router._replay(state, batch)
    assert replay_state.model_dump_json() == full.state.model_dump_json()
    # rows come in processing order, the audit in input order
    assert sorted((r[0], r[1] or "", r[2], r[3]) for r in rows) == sorted(
        (d.lead_id, d.rep_id or "", d.outcome, d.reason) for d in full.audit
    )


@SETTINGS
@given(routers(), pool_states(), lead_batches(max_size=15), lead_batches(max_size=15))
def test_invariants_hold_over_two_calls(
    router: Router, state: PoolState, first: list[Lead], second: list[Lead]
) -> None:
    """The invariants hold when the second call starts from the first call's state."""
    one = router.assign(state, first)
    later = [b.model_copy(update={"id": f"{b.id}b"}) for b in second]
    two = router.assign(one.state, later)
    check_invariants(router, one.state, later, two)


@SETTINGS
@given(routers(), pool_states(), st.data())
def test_split_batches_equal_one_batch(
    router: Router, state: PoolState, data: st.DataObject
) -> None:
    """assign(state, A+B) gives B the same reps as assign(assign(state, A).state, B)."""
    early = data.draw(
        lead_batches(
            max_size=12,
            priority=0,
            created_at=st.integers(0, 999).map(lambda m: EPOCH + timedelta(minutes=m)),
        )
    )
    late = data.draw(
        lead_batches(
            max_size=12,
            priority=0,
            created_at=st.integers(1000, 2000).map(lambda m: EPOCH + timedelta(minutes=m)),
        )
    )
    late = [x.model_copy(update={"id": f"{x.id}z"}) for x in late]
    whole = router.assign(state, early + late)
    step = router.assign(router.assign(state, early).state, late)
    tail = whole.assignments[len(early) :]
    assert [(a.lead_id, a.rep_id, a.reason) for a in tail] == [
        (a.lead_id, a.rep_id, a.reason) for a in step.assignments
    ]


@SETTINGS
@given(pool_states(), st.data())
def test_state_json_round_trip(state: PoolState, data: st.DataObject) -> None:
    """PoolState and RoutingResult survive a JSON round trip exactly."""
    router = data.draw(routers())
    result = router.assign(state, data.draw(lead_batches(max_size=10)))
    text = result.state.model_dump_json()
    assert PoolState.model_validate_json(text).model_dump_json() == text
    full = result.model_dump_json()
    assert type(result).model_validate_json(full).model_dump_json() == full


@settings(max_examples=30, deadline=None)
@given(leads())
def test_lead_json_round_trip(lead: Lead) -> None:
    """A lead survives a JSON round trip exactly."""
    assert Lead.model_validate_json(lead.model_dump_json()) == lead


SCRIPT = """
import json
from leadroute.demo import sample_leads, sample_router, sample_state
r = sample_router().assign(sample_state(), sample_leads(200))
print(r.model_dump_json())
"""


def test_identical_across_processes_and_hash_seeds() -> None:
    """Two processes with different PYTHONHASHSEED produce byte-identical JSON."""
    outs = outputs_under_hash_seeds(SCRIPT, ("1", "4242"))
    assert outs[0] == outs[1]
    assert json.loads(outs[0])["assignments"]
