"""Learned fit on a store: per rep x segment aggregates kept as leads close, equal to the history."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadroute import ClosedLead, Lead, PoolState, Rep, Router, Rule
from leadroute.exceptions import LeadrouteError
from leadroute.fit import FitCounts, FitModel, PooledFit
from leadroute.stores import SQLiteStore, SQLStore, open_store
from leadroute.stores.base import FitView
from leadroute.stores.sql import DEFAULT_FIT_VIEW, _Tx
from leadroute.strategies import BestFit, RoundRobin
from tests.conftest import T0

REPS = [Rep(id=f"r{i}", level=i % 5) for i in range(4)]
INDUSTRIES = ["retail", "software", None]
SOURCES = ["web", "event"]


def _closed(
    i: int, rep: int, won: bool, industry: int, source: int, touch: int | None
) -> ClosedLead:
    lead = Lead(
        id=f"h{i}",
        created_at=T0,
        industry=INDUSTRIES[industry],
        source=SOURCES[source],
    )
    at = T0 + timedelta(hours=1)
    return ClosedLead(
        lead=lead,
        rep_id=f"r{rep}",
        assigned_at=at,
        closed_at=at + timedelta(days=2),
        outcome="won" if won else "lost",
        first_activity_at=None if touch is None else at + timedelta(minutes=touch),
    )


closed_leads = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.booleans(),
        st.integers(0, 2),
        st.integers(0, 1),
        st.one_of(st.none(), st.integers(-120, 3000)),
    ),
    max_size=40,
).map(lambda rows: [_closed(i, *row) for i, row in enumerate(rows)])


def _probe() -> list[Lead]:
    return [
        Lead(id=f"p{i}-{j}", created_at=T0, industry=ind, source=src)
        for i, ind in enumerate(INDUSTRIES)
        for j, src in enumerate(SOURCES)
    ]


@settings(max_examples=60, deadline=None)
@given(closed_leads)
def test_counts_give_the_segment_model_of_the_history(history: list[ClosedLead]) -> None:
    """FitModel.from_counts of a history's aggregates equals FitModel of the history."""
    direct = FitModel(history, min_history=0)
    built = FitModel.from_counts(FitCounts.of(history), min_history=0)
    assert (built.counts, built.team, built.closed, built.overall) == (
        direct.counts,
        direct.team,
        direct.closed,
        direct.overall,
    )
    for rep in REPS:
        assert built.median_first_touch_hours(rep.id) == direct.median_first_touch_hours(rep.id)
        for probe in _probe():
            assert built.estimate(rep.id, probe) == direct.estimate(rep.id, probe)


@settings(max_examples=60, deadline=None)
@given(closed_leads)
def test_counts_give_the_pooled_model_of_the_history(history: list[ClosedLead]) -> None:
    """PooledFit.from_counts gives the same estimates, draws and medians, bit for bit."""
    direct = PooledFit(history)
    built = PooledFit.from_counts(FitCounts.of(history))
    assert list(built.mix.items()) == list(direct.mix.items())
    assert list(built.rep_wins.items()) == list(direct.rep_wins.items())
    for rep in REPS:
        assert built.median_first_touch_hours(rep.id) == direct.median_first_touch_hours(rep.id)
        for probe in _probe():
            assert built.estimate(rep.id, probe) == direct.estimate(rep.id, probe)
            assert built.draw(rep.id, probe, 7) == direct.draw(rep.id, probe, 7)


def kept(store: SQLStore, view: FitView = DEFAULT_FIT_VIEW) -> FitCounts:
    """The aggregates the store keeps for ``view``, read afresh."""
    store._fit_cache = None
    with store._lock, store._transaction(True):
        return store._fit_statistics(_Tx(store._meta()), [view]).counts[view]


def _expected(store: SQLStore, view: FitView = DEFAULT_FIT_VIEW) -> FitCounts:
    return FitCounts.of(store.snapshot().history, segment_by=view[0], lead_by=view[1])


ROUND = Router(rules=[Rule(id="all", route=RoundRobin())])

op = st.one_of(
    st.tuples(st.just("assign"), st.integers(0, 9), st.integers(0, 5)),
    st.tuples(st.just("activity"), st.integers(0, 9), st.integers(-30, 600)),
    st.tuples(st.just("close"), st.integers(0, 9), st.booleans()),
)


def _lead(i: int, kind: int = 0) -> Lead:
    return Lead(id=f"L{i}", created_at=T0, industry=INDUSTRIES[kind % 3], source=SOURCES[kind % 2])


def _run(store: SQLStore, actions: list[tuple[str, int, object]]) -> None:
    for step, (kind, i, arg) in enumerate(actions):
        at = T0 + timedelta(hours=step + 1)
        try:
            if kind == "assign":
                assert isinstance(arg, int)
                ROUND.assign(store, [_lead(i, arg)], now=at)
            elif kind == "activity":
                assert isinstance(arg, int)
                store.record_activity(f"L{i}", at + timedelta(minutes=arg))
            else:
                store.close(f"L{i}", "won" if arg else "lost", at + timedelta(hours=10))
        except LeadrouteError:  # refused calls (unknown lead, time order) change nothing
            continue


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=30))
def test_sqlite_keeps_the_aggregates_of_its_history(actions: list[tuple[str, int, object]]) -> None:
    """After any calls, the kept counts and first-touch middles equal those of the history."""
    with tempfile.TemporaryDirectory() as folder, SQLiteStore(Path(folder) / "p.db") as store:
        store.set_reps(REPS)
        _run(store, actions)
        assert kept(store) == _expected(store)


def _history_state(n: int = 60) -> PoolState:
    history = tuple(
        _closed(i, i % 4, i % 3 == 0, i % 3, (i // 3) % 2, None if i % 5 == 0 else (i * 37) % 700)
        for i in range(n)
    )
    return PoolState(reps=tuple(REPS), history=history)


def _ops(url: str) -> SQLStore:
    store = open_store(url)
    assert isinstance(store, SQLStore)
    return store


def test_store_keeps_the_aggregates_as_leads_close(db_url: str) -> None:
    """Closing leads one by one on top of a loaded history keeps the counts exact."""
    with _ops(db_url) as store:
        store.load(_history_state())
        assert kept(store) == _expected(store)
        actions: list[tuple[str, int, object]] = []
        for i in range(9):
            actions += [("assign", i, i), ("activity", i, 7 * i - 20), ("close", i, i % 2 == 0)]
        _run(store, actions)
        assert len(store.snapshot().history) == 69
        assert kept(store) == _expected(store)


@pytest.mark.parametrize(
    "fit",
    [
        BestFit(min_history=0),
        BestFit(min_history=0, model_kind="pooled"),
        BestFit(min_history=0, model_kind="pooled", explore=True),
        BestFit(min_history=50, segment_by=("industry", "source"), lead_by=("country",)),
    ],
    ids=["segment", "pooled", "explore", "new-view"],
)
def test_best_fit_on_a_store_equals_best_fit_on_the_state(db_url: str, fit: BestFit) -> None:
    """BestFit routes on the store's aggregates exactly as on the whole PoolState (audit too)."""
    router = Router(rules=[Rule(id="fit", route=fit)], seed=3)
    with _ops(db_url) as store:
        store.load(_history_state())
        for k in range(3):
            batch = [_lead(100 + 3 * k + j, k + j) for j in range(3)]
            now = T0 + timedelta(days=3, hours=k)
            state = store.snapshot()
            direct = router.assign(state, batch, now=now)
            stored = router.assign(store, batch, now=now)
            assert stored.assignments == direct.assignments
            assert [d.model_dump_json() for d in stored.audit] == [
                d.model_dump_json() for d in direct.audit
            ]
            assert stored.state.history == ()
            store.close(batch[0].id, "won", now + timedelta(hours=1))


def test_a_new_view_is_built_from_the_history_once(db_url: str) -> None:
    """A BestFit with other segment fields registers its view, built from the history."""
    view: FitView = (("country",), ("industry",))
    router = Router(
        rules=[Rule(id="fit", route=BestFit(min_history=0, segment_by=view[0], lead_by=view[1]))]
    )
    with _ops(db_url) as store:
        store.load(_history_state())
        router.assign(store, [_lead(500)], now=T0 + timedelta(days=3))
        assert view in store._views()
        store.close("L500", "won", T0 + timedelta(days=4))
        assert kept(store, view) == _expected(store, view)


def test_a_failed_close_leaves_the_aggregates(db_url: str) -> None:
    """A close that fails before commit changes neither the history nor the aggregates."""
    with _ops(db_url) as store:
        store.load(_history_state())
        ROUND.assign(store, [_lead(1)], now=T0 + timedelta(days=3))
        store.record_activity("L1", T0 + timedelta(days=3, hours=1))
        before = kept(store)

        def boom() -> None:
            raise RuntimeError("killed before commit")

        store._before_commit = boom
        with pytest.raises(RuntimeError):
            store.close("L1", "won", T0 + timedelta(days=4))
        store._before_commit = None
        assert kept(store) == before
        assert "L1" in store.snapshot().open_leads


def test_aggregates_follow_a_load(db_url: str) -> None:
    """Loading another state replaces the aggregates with those of its history."""
    with _ops(db_url) as store:
        store.load(_history_state(60))
        store.load(_history_state(7))
        assert kept(store) == _expected(store)
        store.load(PoolState(reps=tuple(REPS)))
        assert kept(store) == FitCounts(*DEFAULT_FIT_VIEW)


def test_cached_model_is_dropped_when_another_connection_closes(db_url: str) -> None:
    """A second connection's close is seen by the first connection's next BestFit call."""
    router = Router(rules=[Rule(id="fit", route=BestFit(min_history=0))])
    with _ops(db_url) as first, _ops(db_url) as second:
        first.load(_history_state())
        router.assign(first, [_lead(1)], now=T0 + timedelta(days=3))
        ROUND.assign(second, [_lead(2, 1)], now=T0 + timedelta(days=3))
        second.close("L2", "won", T0 + timedelta(days=3, hours=2))
        batch = [_lead(3, 2)]
        now = T0 + timedelta(days=3, hours=3)
        direct = router.assign(first.snapshot(), batch, now=now)
        stored = router.assign(first, batch, now=now)
        assert stored.audit[0].model_dump_json() == direct.audit[0].model_dump_json()
