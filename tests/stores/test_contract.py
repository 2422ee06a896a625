"""One suite, every backend: the stores behave like the in-memory engine, call by call."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadroute import Capacity, Lead, PoolState, Rep, Router, Rule
from leadroute.exceptions import (
    CapacityExceededError,
    InputError,
    LeadAlreadyClosedError,
    UnknownLeadError,
)
from leadroute.lifecycle import ReclaimPolicy
from leadroute.ownership import OwnershipPolicy
from leadroute.stores import MemoryStore, SQLStore, Store
from leadroute.stores.base import store_needs
from leadroute.strategies import (
    BestFit,
    CapacityCap,
    CardFit,
    Factor,
    Geo,
    ManualReview,
    RoundRobin,
    Surge,
)
from tests.conftest import T0, lead
from tests.stores.conftest import Factory

REPS = (
    Rep(id="ann", territories=("CN",), capacity=Capacity(max_open=3)),
    Rep(id="bo", territories=("CN", "US"), capacity=Capacity(max_open=3)),
    Rep(id="cy", territories=("US",), capacity=Capacity(max_open=3)),
)


def _router() -> Router:
    return Router(rules=[Rule(id="geo", route=Geo() >> CapacityCap() >> RoundRobin())])


def _leads(prefix: str, n: int, start: int = 0) -> list[Lead]:
    return [
        lead(
            f"{prefix}{i}",
            i,
            country="CN" if i % 3 else "US",
            company=f"Co{i % 4}",
        )
        for i in range(start, start + n)
    ]


def _script(store: Store, router: Router) -> list[str]:
    """The same sequence of calls; returns the assignments as text."""
    out: list[str] = []
    s = store
    s.set_reps(REPS)
    for k in range(3):
        res = router.assign(s, _leads(f"b{k}-", 4), now=T0 + timedelta(hours=k))
        out.extend(a.model_dump_json() for a in res.assignments)
    s.record_activity("b0-1", T0 + timedelta(hours=3))
    s.close("b0-1", "won", T0 + timedelta(hours=4))
    s.assign_manually(lead("m1"), "cy", at=T0 + timedelta(hours=5), by="ops", force=True)
    own = OwnershipPolicy(protection=timedelta(days=1))
    s.assign_manually(
        lead("b1-2", company="Co2"),
        "cy",
        at=T0 + timedelta(hours=6),
        by="ops",
        force=True,
        ownership=own,
    )
    s.record_activity("b1-3", T0 + timedelta(hours=7))
    policy = ReclaimPolicy(working_time=False, ownership=own, unconverted_after=timedelta(days=1))
    res = router.reclaim(s, T0 + timedelta(days=2), policy)
    out.extend(a.model_dump_json() for a in res.assignments)
    res = router.reclaim(s, T0 + timedelta(days=2), ReclaimPolicy(working_time=False))
    out.extend(a.model_dump_json() for a in res.assignments)
    res = router.reclaim(s, T0 + timedelta(days=60), ReclaimPolicy(first_touch=None))
    out.extend(a.model_dump_json() for a in res.assignments)
    res = router.assign(s, _leads("late", 3), now=T0 + timedelta(days=61))
    out.extend(a.model_dump_json() for a in res.assignments)
    return out


def test_store_matches_the_reference(make_store: Factory) -> None:
    """A sequence of calls gives the reference's assignments and the same state, byte for byte."""
    store = make_store()
    ref = MemoryStore()
    assert _script(store, _router()) == _script(ref, _router())
    assert store.snapshot().model_dump_json() == ref.snapshot().model_dump_json()


def test_audit_rows_match_the_reference(make_store: Factory) -> None:
    """The same calls write the same audit rows (kind, lead, time, data) as the reference."""
    store = make_store()
    ref = MemoryStore()
    _script(store, _router())
    _script(ref, _router())

    def rows(s: Store) -> list[tuple[object, ...]]:
        return [(r.kind, r.lead_id, r.at, r.created_at, r.data) for r in s.audit()]

    assert rows(store) == rows(ref)


def test_new_connection_sees_the_pool(make_store: Factory) -> None:
    """A second connection to the same store reads what the first committed."""
    first = make_store()
    first.set_reps(REPS)
    _router().assign(first, _leads("a", 3), now=T0)
    second = make_store()
    assert sorted(second.snapshot().open_leads) == ["a0", "a1", "a2"]


def _rich_state() -> PoolState:
    store = MemoryStore(PoolState(reps=REPS))
    _script(store, _router())
    return store.snapshot()


def test_load_snapshot_round_trip_is_exact(make_store: Factory) -> None:
    """``load(state)`` then ``snapshot()`` gives the same JSON."""
    state = _rich_state()
    assert state.history
    assert state.pool
    assert state.owners
    assert state.rotations
    store = make_store()
    store.load(state)
    assert store.snapshot().model_dump_json() == state.model_dump_json()


def test_routing_after_load_equals_routing_the_state(make_store: Factory) -> None:
    """Routing against a loaded store gives what routing the same PoolState gives."""
    state = _rich_state()
    store = make_store()
    store.load(state)
    batch = _leads("z", 5)
    direct = _router().assign(state, batch, now=T0 + timedelta(days=62))
    stored = _router().assign(store, batch, now=T0 + timedelta(days=62))
    assert stored.assignments == direct.assignments
    assert store.snapshot().model_dump_json() == direct.state.model_dump_json()


def test_open_lead_resubmitted_returns_its_assignment(make_store: Factory) -> None:
    """An open lead submitted again comes back as ``already_open`` with no second decision."""
    store = make_store()
    store.set_reps(REPS)
    first = _router().assign(store, _leads("a", 1), now=T0)
    again = _router().assign(store, _leads("a", 2), now=T0 + timedelta(minutes=5))
    assert again.assignments[0].rep_id == first.assignments[0].rep_id
    assert again.assignments[0].reason == "already_open"
    assert [d.lead_id for d in again.audit] == ["a1"]
    assert len(store.audit(lead_id="a0", kind="decision")) == 1


def test_closed_lead_resubmitted_is_refused(make_store: Factory) -> None:
    """A closed lead submitted again raises LeadAlreadyClosedError and writes nothing."""
    store = make_store()
    store.set_reps(REPS)
    _router().assign(store, _leads("a", 1), now=T0)
    store.close("a0", "lost", T0 + timedelta(hours=1))
    before = store.snapshot().model_dump_json()
    with pytest.raises(LeadAlreadyClosedError, match="a0"):
        _router().assign(store, _leads("a", 2), now=T0 + timedelta(hours=2))
    assert store.snapshot().model_dump_json() == before


def test_closing_twice_is_refused(make_store: Factory) -> None:
    """Closing a closed lead raises UnknownLeadError."""
    store = make_store()
    store.set_reps(REPS)
    _router().assign(store, _leads("a", 1), now=T0)
    store.close("a0", "won", T0 + timedelta(hours=1))
    with pytest.raises(UnknownLeadError, match="already closed"):
        store.close("a0", "won", T0 + timedelta(hours=2))


def test_failed_call_changes_nothing(make_store: Factory) -> None:
    """A manual assignment over a cap raises and leaves the store as it was."""
    store = make_store()
    store.set_reps([Rep(id="ann", capacity=Capacity(max_open=1))])
    Router(rules=[Rule(id="all", route=RoundRobin())]).assign(store, [lead("a")], now=T0)
    before = store.snapshot().model_dump_json()
    with pytest.raises(CapacityExceededError):
        store.assign_manually(lead("b"), "ann", at=T0, by="ops")
    assert store.snapshot().model_dump_json() == before


def test_set_reps_keeps_counters(make_store: Factory) -> None:
    """Changing the roster keeps the counters of the reps who stay."""
    store = make_store()
    store.set_reps(REPS)
    _router().assign(store, _leads("a", 6), now=T0)
    loads = store.snapshot().loads
    store.set_reps([*REPS, Rep(id="dee")])
    after = store.snapshot()
    assert [r.id for r in after.reps] == ["ann", "bo", "cy", "dee"]
    assert after.loads == loads


def test_set_reps_refuses_removing_a_holder(make_store: Factory) -> None:
    """Removing a rep who holds open leads names the leads and changes nothing."""
    store = make_store()
    store.set_reps(REPS)
    _router().assign(store, _leads("a", 3), now=T0)
    holder = store.snapshot().open_leads["a1"].rep_id
    with pytest.raises(InputError, match="a1"):
        store.set_reps([r for r in REPS if r.id != holder])
    assert len(store.snapshot().reps) == 3


def test_audit_by_lead_and_time(make_store: Factory) -> None:
    """Audit rows are found by lead id and by a time range."""
    store = make_store()
    store.set_reps(REPS)
    for k in range(3):
        _router().assign(store, _leads(f"h{k}-", 2), now=T0 + timedelta(hours=k))
    rows = store.audit(lead_id="h1-0")
    assert [r.decision.lead_id for r in rows] == ["h1-0"]
    window = store.audit(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=2))
    assert sorted(r.lead_id or "" for r in window) == ["h1-0", "h1-1"]


def test_learned_fit_router_runs_on_the_whole_pool(make_store: Factory) -> None:
    """A router with BestFit (reads history) routes as it does on the PoolState."""
    state = _rich_state()
    store = make_store()
    store.load(state)
    router = Router(rules=[Rule(id="fit", route=BestFit(min_history=0))])
    batch = _leads("f", 3)
    direct = router.assign(state, batch, now=T0 + timedelta(days=62))
    stored = router.assign(store, batch, now=T0 + timedelta(days=62))
    assert stored.assignments == direct.assignments


def test_reclaim_reads_only_due_leads(tmp_path: object, sqlite_url: str) -> None:
    """A reclaim sweep with nothing due moves nothing and writes nothing."""
    from leadroute.stores import open_store

    store = open_store(sqlite_url)
    assert isinstance(store, SQLStore)
    store.set_reps(REPS)
    _router().assign(store, _leads("a", 5), now=T0)
    audit_rows = len(store.audit())
    res = _router().reclaim(store, T0 + timedelta(minutes=30), ReclaimPolicy(working_time=False))
    assert res.assignments == ()
    assert len(store.audit()) == audit_rows


def test_learned_fit_reads_aggregates_not_history(make_store: Factory) -> None:
    """A BestFit router's call reads the fit aggregates, not the closed history or other leads."""
    state = _rich_state()
    store = make_store()
    store.load(state)
    router = Router(rules=[Rule(id="fit", route=BestFit(min_history=0))])
    stored = router.assign(store, _leads("f", 1), now=T0 + timedelta(days=62))
    if isinstance(store, SQLStore):
        assert stored.state.history == ()
        assert set(stored.state.open_leads) <= {"f0"}


def test_surge_router_sees_the_whole_pool(make_store: Factory) -> None:
    """A router with Surge (reads every open lead's arrival) routes as on the PoolState."""
    state = _rich_state()
    store = make_store()
    store.load(state)
    router = Router(
        rules=[Rule(id="s", route=Surge(threshold=1, window=timedelta(days=90)) >> RoundRobin())]
    )
    batch = _leads("s", 3)
    direct = router.assign(state, batch, now=T0 + timedelta(days=62))
    stored = router.assign(store, batch, now=T0 + timedelta(days=62))
    assert stored.assignments == direct.assignments
    assert stored.audit == direct.audit


def test_reclaim_warnings_match_the_reference(make_store: Factory) -> None:
    """Warnings from a store equal the warnings computed on its snapshot."""
    store = make_store()
    store.set_reps(REPS)
    _router().assign(store, _leads("w", 6), now=T0)
    store.record_activity("w1", T0 + timedelta(hours=1))
    policy = ReclaimPolicy(working_time=False, unconverted_after=timedelta(days=3))
    for hours in (1, 3, 100):
        got = _router().reclaim_warnings(store, T0, timedelta(hours=hours), policy)
        want = _router().reclaim_warnings(store.snapshot(), T0, timedelta(hours=hours), policy)
        assert got == want
    assert got


def test_surge_reads_only_its_window(make_store: Factory) -> None:
    """A Surge router's call reads the leads created within its window, not older ones."""
    store = make_store()
    store.set_reps(REPS)
    old = [lead(f"o{i}", 0, country="CN") for i in range(3)]
    _router().assign(store, old, now=T0)
    recent = [lead(f"r{i}", 600 + i, country="CN") for i in range(3)]
    _router().assign(store, recent, now=T0 + timedelta(hours=10, minutes=5))
    router = Router(
        rules=[Rule(id="s", route=Surge(threshold=2, window=timedelta(hours=1)) >> RoundRobin())]
    )
    batch = [lead("s0", 620, country="US")]
    now = T0 + timedelta(hours=10, minutes=30)
    direct = router.assign(store.snapshot(), batch, now=now)
    stored = router.assign(store, batch, now=now)
    assert stored.audit == direct.audit
    surge = stored.audit[0].facts["surge"]
    assert isinstance(surge, dict)
    assert surge["fired"]
    if isinstance(store, SQLStore):
        assert set(stored.state.open_leads) == {"r0", "r1", "r2", "s0"}


def test_history_rep_factors_on_a_store_equal_the_state(make_store: Factory) -> None:
    """CardFit on wins this month (read from the history) routes as on the PoolState."""
    store = make_store()
    store.set_reps(REPS)
    first = _router().assign(store, _leads("a", 3), now=T0)
    winner = first.assignments[0].rep_id
    store.close("a0", "won", T0 + timedelta(hours=1))
    card = CardFit(
        factors=(Factor("won_this_month", 1, source="rep", ranges=((None, 1, 100), (1, None, 0))),)
    )
    router = Router(rules=[Rule(id="c", route=card)])
    batch = _leads("c", 2)
    now = T0 + timedelta(hours=2)
    direct = router.assign(store.snapshot(), batch, now=now)
    stored = router.assign(store, batch, now=now)
    assert stored.audit == direct.audit
    assert winner not in {a.rep_id for a in stored.assignments}


def test_manual_review_by_rank_on_a_store_equals_the_state(make_store: Factory) -> None:
    """ManualReview ranking among every known lead routes as on the PoolState."""
    store = make_store()
    store.load(_rich_state())
    router = Router(
        rules=[Rule(id="m", route=ManualReview(top=0.2, by="value", window=timedelta(days=90)))],
        default=RoundRobin(),
    )
    batch = [lead(f"v{i}", i, value=100 * i) for i in range(5)]
    now = T0 + timedelta(days=62)
    direct = router.assign(store.snapshot(), batch, now=now)
    stored = router.assign(store, batch, now=now)
    assert stored.audit == direct.audit


def test_store_needs_come_from_the_policy() -> None:
    """store_needs answers from the policy alone: a router and its policy give the same needs."""
    router = Router(rules=[Rule(id="a", route=ManualReview() | RoundRobin())])
    assert store_needs(router) is store_needs(router.policy)
    assert store_needs(router).pool
    assert not store_needs(Router(rules=[Rule(id="a", route=RoundRobin())])).pool


def test_store_reclaim_decisions_replay_from_the_audit_rows(make_store: Factory) -> None:
    """Every SLA reassignment a store's reclaim wrote replays from its audit row alone."""
    store = make_store()
    store.set_reps(REPS)
    _router().assign(store, _leads("s", 4), now=T0)
    moved = _router().reclaim(
        store, T0 + timedelta(days=3), ReclaimPolicy(first_touch=timedelta(hours=1))
    )
    assert {d.reason for d in moved.audit} == {"sla_reassigned"}
    rows = [row.decision for row in store.audit() if row.kind == "decision"]
    assert len(rows) == 8
    assert all(_router().replay(d).identical for d in rows)
