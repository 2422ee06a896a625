"""Property: any sequence of calls leaves a SQLite store exactly where the reference is."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadroute import Capacity, Lead, Rep, Router, Rule
from leadroute.exceptions import LeadrouteError
from leadroute.lifecycle import ReclaimPolicy
from leadroute.stores import MemoryStore, SQLiteStore, Store
from leadroute.strategies import CapacityCap, RoundRobin
from tests.conftest import T0

ROUTER = Router(rules=[Rule(id="all", route=CapacityCap() >> RoundRobin())])
REPS = [Rep(id=f"r{i}", capacity=Capacity(max_open=3)) for i in range(3)]

op = st.one_of(
    st.tuples(st.just("assign"), st.lists(st.integers(0, 12), min_size=1, max_size=4)),
    st.tuples(st.just("activity"), st.integers(0, 12)),
    st.tuples(st.just("close"), st.integers(0, 12)),
    st.tuples(st.just("reclaim"), st.integers(0, 3)),
    st.tuples(st.just("manual"), st.integers(0, 12)),
)


def _apply(store: Store, step: int, action: tuple[str, object]) -> str:
    at = T0 + timedelta(days=step)
    kind, arg = action
    try:
        if kind == "assign":
            assert isinstance(arg, list)
            leads = [
                Lead(id=f"L{i}", created_at=T0, company=f"c{i % 3}") for i in dict.fromkeys(arg)
            ]
            res = ROUTER.assign(store, leads, now=at)
            return "|".join(a.model_dump_json() for a in res.assignments)
        if kind == "activity":
            store.record_activity(f"L{arg}", at)
        elif kind == "close":
            store.close(f"L{arg}", "won", at)
        elif kind == "reclaim":
            res = ROUTER.reclaim(store, at, ReclaimPolicy(working_time=False))
            return "|".join(a.model_dump_json() for a in res.assignments)
        else:
            store.assign_manually(Lead(id=f"L{arg}", created_at=T0), "r0", at=at, by="ops")
    except LeadrouteError as exc:
        return f"{type(exc).__name__}: {exc}"
    return "ok"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=8))
def test_sqlite_store_follows_the_reference(actions: list[tuple[str, object]]) -> None:
    """Outcomes, errors and the final snapshot equal the in-memory reference's."""
    with tempfile.TemporaryDirectory() as folder:
        db = SQLiteStore(Path(folder) / "p.db")
        ref = MemoryStore()
        db.set_reps(REPS)
        ref.set_reps(REPS)
        for step, action in enumerate(actions):
            assert _apply(db, step, action) == _apply(ref, step, action)
        assert db.snapshot().model_dump_json() == ref.snapshot().model_dump_json()
        db.disconnect()
