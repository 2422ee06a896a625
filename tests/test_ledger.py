"""The ledger seam (issue 8 point 3): the engine's writes come back as an exact change set."""

from __future__ import annotations

import os
from datetime import datetime

from hypothesis import HealthCheck, given, settings

from leadroute import Lead, PoolState, Router, Rule
from leadroute.engine import ChangeSet, MemoryLedger, OwnerMap, Run, order_key
from leadroute.strategies import RoundRobin
from leadroute.testing import EPOCH, lead_batches, pool_states, routers

SETTINGS = settings(
    max_examples=int(os.environ.get("LEADROUTE_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _route(router: Router, state: PoolState, batch: list[Lead]) -> Run:
    """Route ``batch`` through a run over ``state`` as ``assign`` does, finishing it."""
    run = router.engine.run(state)
    ordered = sorted(batch, key=order_key)
    run.ctx.batch = tuple(ordered)
    latest: datetime | None = None
    for lead in ordered:
        run.route(lead, lead.created_at)
        if latest is None or lead.created_at > latest:
            latest = lead.created_at
    run.finish(latest)
    return run


@SETTINGS
@given(routers(), pool_states(), lead_batches())
def test_change_set_applied_to_the_input_gives_the_next_state(
    router: Router, state: PoolState, batch: list[Lead]
) -> None:
    """ChangeSet.apply(input state) is byte for byte the state finish() returns (and assign's)."""
    expected = router.assign(state, batch).state
    run = _route(router, state, batch)
    assert run.changes is not None
    assert run.changes.apply(state).model_dump_json() == expected.model_dump_json()


@SETTINGS
@given(routers(), pool_states(), lead_batches())
def test_change_set_counts_each_assigned_lead_once(
    router: Router, state: PoolState, batch: list[Lead]
) -> None:
    """Open and day increments add up to the leads assigned, and opened lists exactly them."""
    result = router.assign(state, batch)
    changes = _route(router, state, batch).changes
    assert changes is not None
    assigned = {a.lead_id for a in result.assignments if a.rep_id is not None}
    assert set(changes.opened) == assigned
    assert sum(changes.open_deltas.values()) == len(assigned)
    assert sum(sum(d.values()) for d in changes.day_deltas.values()) == len(assigned)
    assert set(changes.loads) == set(changes.open_deltas)


def test_ledger_leaves_the_input_state_alone() -> None:
    """Writing through a MemoryLedger changes none of the input state's counters."""
    state = PoolState(reps=[{"id": "a"}], loads={"a": {"open": 0, "days": {"2025-01-01": 3}}})
    before = state.model_dump_json()
    router = Router(rules=[Rule(id="all", route=RoundRobin())])
    lead = Lead(id="L1", created_at=EPOCH)
    _route(router, state, [lead])
    assert state.model_dump_json() == before


def test_change_set_of_an_empty_call_changes_only_the_revision() -> None:
    """A call that routes nothing writes nothing but the next revision."""
    state = PoolState(reps=[{"id": "a"}])
    done = MemoryLedger(state, {}).finish(None)
    assert done.changes == ChangeSet(base_revision=0, revision=1, as_of=None)
    assert done.changes.apply(state) == done.state


def test_owner_map_notes_every_kind_of_write() -> None:
    """Set, delete, pop, update and clear each note the accounts they touch."""
    owners = OwnerMap({"x": "a", "y": "b", "z": "c"})
    owners["w"] = "a"
    del owners["x"]
    owners.pop("y")
    owners.update({"v": "b"})
    assert list(owners.written) == ["w", "x", "y", "v"]
    owners.clear()
    assert set(owners.written) == {"w", "x", "y", "v", "z"}


class _CountingLedger(MemoryLedger):
    """A ledger that counts the engine's writes (as a store-backed one would turn them into SQL)."""

    def __init__(self, state: PoolState) -> None:
        super().__init__(state, state.rep_index)
        self.writes: list[str] = []

    def open(
        self,
        lead: Lead,
        rep_id: str,
        day: str,
        at: datetime,
        rule_id: str | None,
        account: str | None,
    ) -> bool:
        self.writes.append(f"open {lead.id} {rep_id}")
        return super().open(lead, rep_id, day, at, rule_id, account)

    def leave_in_pool(self, lead: Lead, at: datetime, reason: str) -> None:
        self.writes.append(f"pool {lead.id}")
        super().leave_in_pool(lead, at, reason)


def test_engine_writes_through_the_ledger_it_is_given() -> None:
    """A run given its own ledger routes through it: one write per lead, the same next state."""
    state = PoolState(reps=[{"id": "a"}, {"id": "b"}])
    router = Router(rules=[Rule(id="all", route=RoundRobin())])
    batch = [Lead(id=f"L{i}", created_at=EPOCH) for i in range(3)]
    ledger = _CountingLedger(state)
    run = router.engine.run(state, ledger=ledger)
    for lead in sorted(batch, key=order_key):
        run.route(lead, lead.created_at)
    after = run.finish(EPOCH)
    assert ledger.writes == ["open L0 a", "open L1 b", "open L2 a"]
    assert after.model_dump_json() == router.assign(state, batch).state.model_dump_json()
