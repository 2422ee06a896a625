"""Long random operation sequences: every state is consistent and reloads equal.

A hypothesis ``RuleBasedStateMachine`` drives assign / record_activity /
close / reclaim / roster changes / manual assignment against one router and
checks, after every step, that the state reloads from its JSON and is equal,
that every lead is in one place only, that open counters match the open
leads, and that no day count was lost.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from leadroute import (
    Capacity,
    Lead,
    LeadrouteError,
    PoolState,
    ReclaimPolicy,
    Rep,
    Router,
    Rule,
)
from leadroute.state import consistency_problem
from leadroute.strategies import CapacityCap, Geo, Industry, LeastLoaded, RoundRobin, Weighted
from leadroute.testing import EPOCH, lead_batches, leads, pool_states, routers

ROSTER = tuple(
    Rep(
        id=f"r{i}",
        territories=(("CN", "US", "*")[i % 3],),
        industries=(("software", "*", "retail")[i % 3],),
        weight=float(i % 3 + 1),
        capacity=Capacity(max_open=3 + i % 2, max_per_day=2 + i % 3, period_days=7),
    )
    for i in range(5)
)
ROUTER = Router(
    rules=[
        Rule(id="geo", route=Geo() >> Industry() >> CapacityCap() >> (Weighted() | RoundRobin())),
    ],
    default=CapacityCap() >> LeastLoaded(),
)
POLICY = ReclaimPolicy(first_touch=timedelta(hours=4), recycle_after=timedelta(days=5))


def _total_days(state: PoolState) -> Counter[str]:
    out: Counter[str] = Counter()
    for rep_id, load in state.loads.items():
        out[rep_id] = sum(load.days.values())
    return out


class PoolMachine(RuleBasedStateMachine):
    """Random sequences of every state-changing call."""

    def __init__(self) -> None:
        super().__init__()
        self.state = PoolState(reps=ROSTER)
        self.clock = EPOCH
        self.serial = 0
        self.assigned_total: Counter[str] = Counter()

    @initialize()
    def start(self) -> None:
        self.state = PoolState(reps=ROSTER)

    def _next(self, minutes: int) -> None:
        self.clock += timedelta(minutes=minutes)

    @rule(batch=lead_batches(max_size=6), minutes=st.integers(1, 2000), use_now=st.booleans())
    def assign(self, batch: list[Lead], minutes: int, use_now: bool) -> None:
        self._next(minutes)
        fresh = [
            lead.model_copy(update={"id": f"S{self.serial}-{lead.id}", "created_at": self.clock})
            for lead in batch
        ]
        self.serial += 1
        result = ROUTER.assign(self.state, fresh, now=self.clock if use_now else None)
        for a in result.assignments:
            if a.rep_id is not None:
                self.assigned_total[a.rep_id] += 1
        self.state = result.state

    @precondition(lambda self: bool(self.state.open_leads))
    @rule(pick=st.integers(0, 10**6), minutes=st.integers(1, 600))
    def record_activity(self, pick: int, minutes: int) -> None:
        ids = sorted(self.state.open_leads)
        lead_id = ids[pick % len(ids)]
        at = max(self.clock, self.state.open_leads[lead_id].assigned_at) + timedelta(minutes=minutes)
        self.state = self.state.record_activity(lead_id, at)

    @precondition(lambda self: bool(self.state.open_leads))
    @rule(pick=st.integers(0, 10**6), outcome=st.sampled_from(["won", "lost", "disqualified"]))
    def close(self, pick: int, outcome: str) -> None:
        ids = sorted(self.state.open_leads)
        lead_id = ids[pick % len(ids)]
        at = max(self.clock, self.state.open_leads[lead_id].assigned_at)
        self.state = self.state.close(lead_id, outcome, at)  # type: ignore[arg-type]

    @rule(hours=st.integers(1, 24 * 8))
    def reclaim(self, hours: int) -> None:
        self._next(hours * 60)
        result = ROUTER.reclaim(self.state, self.clock, POLICY)
        for a in result.assignments:
            if a.rep_id is not None:
                self.assigned_total[a.rep_id] += 1
        self.state = result.state

    @rule(drop=st.integers(0, 4))
    def remove_rep(self, drop: int) -> None:
        rep_id = ROSTER[drop].id
        holding = any(o.rep_id == rep_id for o in self.state.open_leads.values())
        roster = [r for r in self.state.reps if r.id != rep_id]
        if holding or not roster:
            return
        self.state = self.state.with_reps(roster)

    @rule()
    def restore_roster(self) -> None:
        self.state = self.state.with_reps(list(ROSTER))

    @rule(lead=leads(), pick=st.integers(0, 4), force=st.booleans())
    def assign_manually(self, lead: Lead, pick: int, force: bool) -> None:
        rep_ids = [r.id for r in self.state.reps]
        rep_id = rep_ids[pick % len(rep_ids)]
        fresh = lead.model_copy(
            update={"id": f"M{self.serial}", "created_at": self.clock}
        )
        self.serial += 1
        try:
            self.state = self.state.assign_manually(
                fresh, rep_id, at=self.clock, by="boss", force=force
            )
        except LeadrouteError:
            return  # at capacity without force: nothing applied
        self.assigned_total[rep_id] += 1

    @rule(pick=st.integers(0, 10**6))
    def resubmit_closed(self, pick: int) -> None:
        if not self.state.history:
            return
        closed = self.state.history[pick % len(self.state.history)].lead
        before = self.state
        try:
            ROUTER.assign(self.state, [closed])
        except LeadrouteError:
            pass
        else:  # pragma: no cover - a closed lead must never route again
            raise AssertionError("a closed lead was routed again")
        assert self.state is before

    @invariant()
    def reloads_equal(self) -> None:
        again = PoolState.model_validate_json(self.state.model_dump_json())
        assert again == self.state

    @invariant()
    def consistent(self) -> None:
        assert consistency_problem(self.state) is None

    @invariant()
    def day_counts_never_lost(self) -> None:
        # nothing here is older than the kept window, so every assignment is still counted
        days = _total_days(self.state)
        for rep_id, n in self.assigned_total.items():
            assert days[rep_id] == n, (rep_id, days[rep_id], n)


PoolMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestPoolMachine = PoolMachine.TestCase


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    router=routers(),
    state=pool_states(),
    batches=st.lists(lead_batches(max_size=12), min_size=1, max_size=3),
    data=st.data(),
)
def test_every_state_round_trips(
    router: Router, state: PoolState, batches: list[list[Lead]], data: st.DataObject
) -> None:
    """Every state assign / close / reclaim produces reloads from its JSON and is equal."""
    for k, batch in enumerate(batches):
        fresh = [lead.model_copy(update={"id": f"B{k}-{lead.id}"}) for lead in batch]
        state = router.assign(state, fresh).state
        assert PoolState.model_validate_json(state.model_dump_json()) == state
        for lead_id in sorted(state.open_leads)[:: data.draw(st.integers(2, 4))]:
            rec = state.open_leads[lead_id]
            state = state.close(lead_id, "won", rec.assigned_at + timedelta(hours=1))
            assert PoolState.model_validate_json(state.model_dump_json()) == state
        at = EPOCH + timedelta(days=data.draw(st.integers(1, 60)))
        state = router.reclaim(state, at).state
        assert PoolState.model_validate_json(state.model_dump_json()) == state
