"""Values a model derives from its fields follow the fields, also through ``model_copy``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadroute import ClosedLead, Lead, PoolState, Rep, Router, Rule
from leadroute.strategies import RoundRobin

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _closed(lead_id: str) -> ClosedLead:
    lead = Lead(id=lead_id, created_at=T0)
    return ClosedLead(lead=lead, rep_id="a", assigned_at=T0, closed_at=T0, outcome="won")


def test_rep_index_follows_a_copy_with_other_reps() -> None:
    """rep_index of a copy with other reps lists the copy's reps, not the original's."""
    state = PoolState(reps=(Rep(id="a"),))
    assert list(state.rep_index) == ["a"]
    copied = state.model_copy(update={"reps": (Rep(id="b"),)})
    assert list(copied.rep_index) == ["b"]


def test_closed_ids_follow_a_copy_with_another_history() -> None:
    """closed_ids of a copy with another history are the copy's closed leads."""
    state = PoolState(reps=(Rep(id="a"),), history=(_closed("L1"),))
    assert state.closed_ids == {"L1"}
    assert state.model_copy(update={"history": ()}).closed_ids == frozenset()
    assert state.model_copy(update={"history": (_closed("L2"),)}).closed_ids == {"L2"}


def test_next_state_shares_the_closed_ids() -> None:
    """A call's next state holds the same history, and its closed ids are not computed again."""
    state = PoolState(reps=(Rep(id="a"),), history=tuple(_closed(f"C{i}") for i in range(50)))
    router = Router(rules=[Rule(id="r", route=RoundRobin())])
    nxt = router.assign(state, [Lead(id="L1", created_at=T0 + timedelta(hours=1))]).state
    assert nxt.history is state.history
    assert nxt.closed_ids is state.closed_ids


def test_rep_zone_follows_a_copy_with_another_timezone() -> None:
    """A rep copied with another time zone has that zone (and its working hours re-parsed)."""
    rep = Rep(id="a", timezone="Asia/Shanghai", working_hours={"mon": ("09:00-18:00",)})
    assert rep.zone.key == "Asia/Shanghai"
    assert rep.hours_minutes is not None
    copied = rep.model_copy(update={"timezone": "Europe/Paris", "working_hours": None})
    assert copied.zone.key == "Europe/Paris"
    assert copied.hours_minutes is None
