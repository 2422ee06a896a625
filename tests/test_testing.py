"""leadroute.testing: the generators honour overrides and check_invariants catches breakage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from leadroute import Assignment, Rep, Router, Rule
from leadroute.exceptions import InputError
from leadroute.strategies import CapacityCap, RoundRobin
from leadroute.testing import check_invariants, lead_batches, pool_states, reps
from tests.conftest import lead, rep


@settings(max_examples=20)
@given(reps(level=3, timezone="Asia/Shanghai"))
def test_overrides_fix_fields(r: Rep) -> None:
    """A keyword override fixes the field."""
    assert (r.level, r.timezone) == (3, "Asia/Shanghai")


def test_unknown_override_rejected() -> None:
    """A misspelled override is an error, not silently ignored."""
    with pytest.raises(InputError, match="levle"):
        reps(levle=3)


@settings(max_examples=20)
@given(pool_states(), lead_batches(min_size=1, max_size=5))
def test_generated_ids_unique(state, batch) -> None:  # type: ignore[no-untyped-def]
    """Generated rosters and batches have distinct ids."""
    assert len({r.id for r in state.reps}) == len(state.reps)
    assert len({x.id for x in batch}) == len(batch)


def _routed() -> tuple[Router, object, list, object]:  # type: ignore[type-arg]
    from leadroute import Capacity, PoolState

    state = PoolState(reps=(rep("a", capacity=Capacity(max_open=1)), rep("b")))
    router = Router(rules=[Rule(id="r", route=CapacityCap() >> RoundRobin())])
    batch = [lead("L1"), lead("L2", 1), lead("L3", 2)]
    return router, state, batch, router.assign(state, batch)


def test_check_invariants_passes_on_real_result() -> None:
    """A genuine result passes."""
    router, state, batch, result = _routed()
    check_invariants(router, state, batch, result)  # type: ignore[arg-type]


def test_check_invariants_catches_lost_lead() -> None:
    """A result missing a lead fails."""
    router, state, batch, result = _routed()
    broken = result.model_copy(update={"assignments": result.assignments[:-1]})  # type: ignore[attr-defined]
    with pytest.raises(AssertionError, match="one per lead"):
        check_invariants(router, state, batch, broken)  # type: ignore[arg-type]


def test_check_invariants_catches_swapped_rep() -> None:
    """A result whose assignment disagrees with its audit fails."""
    router, state, batch, result = _routed()
    first = result.assignments[0]  # type: ignore[attr-defined]
    other = "b" if first.rep_id == "a" else "a"
    swapped = Assignment(
        lead_id=first.lead_id, rep_id=other, rule_id="r", outcome="assigned", reason="routed"
    )
    broken = result.model_copy(update={"assignments": (swapped, *result.assignments[1:])})  # type: ignore[attr-defined]
    with pytest.raises(AssertionError):
        check_invariants(router, state, batch, broken)  # type: ignore[arg-type]
