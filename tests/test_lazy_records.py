"""A result's records are built when first read, and are the records an eager run builds."""

from __future__ import annotations

import copy
import os
import pickle
import threading
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadroute import Lead, PoolState, Rep, Router, RoutingResult, Rule
from leadroute.engine.pipeline import order_key
from leadroute.engine.recorder import PLAIN_RATIONALE, call_digest, plain
from leadroute.strategies import BestFit, Fallback, Geo, LeastLoaded, Ownership, RoundRobin
from leadroute.testing import lead_batches, pool_states, routers, routes

SETTINGS = settings(
    max_examples=int(os.environ.get("LEADROUTE_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
T0 = datetime(2026, 3, 2, 3, tzinfo=UTC)


def _eager(router: Router, state: PoolState, batch: list[Lead]) -> list[str]:
    """Each decision's JSON, routed lead by lead with every record built at once."""
    order = sorted(range(len(batch)), key=lambda i: order_key(batch[i]))
    call = call_digest(
        "assign", router.policy.revision, state.revision, None, (batch[i].id for i in order)
    )
    run = router.engine.run(state, call=call)
    out = [""] * len(batch)
    for i in order:
        out[i] = run.route(batch[i], batch[i].created_at).model_dump_json()
    return out


@SETTINGS
@given(routers(max_drops=st.integers(0, 3) | st.just(50)), pool_states(), lead_batches(max_size=15))
def test_pending_records_equal_eager_records(
    router: Router, state: PoolState, batch: list[Lead]
) -> None:
    """The audit built on first read (inputs settled afterwards) is byte-identical to an eager run."""
    result = router.assign(state, batch)
    assert [d.model_dump_json() for d in result.audit] == _eager(router, state, batch)


@SETTINGS
@given(routers(), pool_states(), lead_batches(max_size=10), st.booleans())
def test_reading_order_does_not_change_the_result(
    router: Router, state: PoolState, batch: list[Lead], assignments_first: bool
) -> None:
    """Reading the assignments before the audit (or not) gives the same result JSON."""
    one = router.assign(state, batch)
    two = router.assign(state, batch)
    if assignments_first:
        assert len(two.assignments) == len(batch)
    assert one.model_dump_json() == two.model_dump_json()
    assert one == two


def _result() -> RoutingResult:
    router = Router(rules=[Rule(id="r", route=Geo() >> RoundRobin())])
    state = PoolState(reps=(Rep(id="a", territories=("CN",)), Rep(id="b", territories=("CN",))))
    leads = [Lead(id=f"L{i}", created_at=T0 + timedelta(minutes=i), region="CN") for i in range(3)]
    return router.assign(state, leads)


def test_pickle_builds_the_pending_records() -> None:
    """A pending result pickles and loads back equal, records included."""
    result = _result()
    loaded = pickle.loads(pickle.dumps(result))
    assert loaded == _result()
    assert [a.rep_id for a in loaded.assignments] == ["a", "b", "a"]


def test_copies_and_repr_build_the_pending_records() -> None:
    """copy, deepcopy, model_copy and repr see the records of a pending result."""
    expected = _result().model_dump_json()
    assert copy.copy(_result()).model_dump_json() == expected
    assert copy.deepcopy(_result()).model_dump_json() == expected
    assert _result().model_copy().model_dump_json() == expected
    assert "decision_id" in repr(_result())
    assert dict(_result())["audit"][0].lead_id == "L0"


def test_outcome_audit_holds_no_steps() -> None:
    """With audit='outcome' a fallback's note is not kept: decisions hold no steps."""
    router = Router(
        rules=[Rule(id="r", route=Fallback(Geo() >> RoundRobin(), LeastLoaded()))],
    )
    state = PoolState(reps=(Rep(id="a", territories=("US",)),))
    lead = Lead(id="L1", created_at=T0, region="CN")
    full = router.assign(state, [lead])
    bare = router.assign(state, [lead], audit="outcome")
    assert [s.kind for s in full.audit[0].steps] == ["filter", "fallback", "selector"]
    assert bare.audit[0].steps == ()
    assert bare.assignments == full.assignments


def test_threads_reading_one_result_see_the_same_records() -> None:
    """Threads reading a pending result's assignments and audit at once all see every lead."""
    router = Router(rules=[Rule(id="r", route=Geo() >> RoundRobin())])
    state = PoolState(reps=tuple(Rep(id=f"r{i}", territories=("CN",)) for i in range(5)))
    leads = [
        Lead(id=f"L{i:03d}", created_at=T0 + timedelta(minutes=i), region="CN") for i in range(300)
    ]
    expected = router.assign(state, leads).model_dump_json()
    for _ in range(5):
        result = router.assign(state, leads)
        barrier = threading.Barrier(4)
        seen: list[int] = []
        threads = [
            threading.Thread(target=_read_after, args=(barrier, result, which, seen))
            for which in ("assignments", "audit", "assignments", "audit")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert seen == [300] * 4
        assert result.model_dump_json() == expected


def _read_after(
    barrier: threading.Barrier, result: RoutingResult, which: str, seen: list[int]
) -> None:
    barrier.wait()
    seen.append(len(getattr(result, which)))


def test_account_reads_are_kept_per_lead() -> None:
    """Owner and name reads go to each lead's own record (the call's read log is sliced per lead)."""
    router = Router(rules=[Rule(id="r", route=Ownership() | RoundRobin())])
    state = PoolState(reps=(Rep(id="a"), Rep(id="b")))
    leads = [
        Lead(id="L1", created_at=T0, company="Acme Ltd"),
        Lead(id="L2", created_at=T0 + timedelta(minutes=1), company="Globex"),
        Lead(id="L3", created_at=T0 + timedelta(minutes=2), company="Acme Ltd"),
    ]
    result = router.assign(state, leads)
    assert [d.model_dump_json() for d in result.audit] == _eager(router, state, leads)
    owners = [d.inputs.owners if d.inputs else None for d in result.audit]
    assert owners == [{"acme": None}, {"globex": None}, {"acme": "a"}]
    assert [a.rep_id for a in result.assignments] == ["a", "b", "a"]



@SETTINGS
@given(
    routers(route=routes(scoring=True), count=st.integers(1, 2)),
    pool_states(min_history=5, max_history=30),
    lead_batches(max_size=8),
)
def test_selector_rationales_are_json_data(
    router: Router, state: PoolState, batch: list[Lead]
) -> None:
    """Every selector step's rationale is JSON data, those the engine keeps unchecked too."""
    for decision in router.assign(state, batch).audit:
        for step in decision.steps:
            assert plain(step.rationale), step.rationale


def test_best_fit_rationale_is_json_data() -> None:
    """BestFit (kept unchecked, in PLAIN_RATIONALE) gives JSON data with its "more" table too."""
    assert BestFit in PLAIN_RATIONALE
    reps = tuple(Rep(id=f"r{i:02d}", level=i % 4) for i in range(14))
    router = Router(rules=[Rule(id="r", route=BestFit())])
    lead = Lead(id="L1", created_at=T0, score=80.0, industry="software")
    step = router.assign(PoolState(reps=reps), [lead]).audit[0].steps[-1]
    assert step.rationale is not None
    assert "more" in step.rationale
    assert plain(step.rationale)
