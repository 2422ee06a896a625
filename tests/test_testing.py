"""leadroute.testing: the generators honour overrides and check_invariants catches breakage."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadroute import AccountMatcher, Assignment, Capacity, Lead, PoolState, Rep, Router, Rule
from leadroute.exceptions import InputError
from leadroute.strategies import CapacityCap, RoundRobin
from leadroute.strategies.base import Strategy
from leadroute.testing import (
    ROUTER_FIELDS,
    capacities,
    check_invariants,
    lead_batches,
    leads,
    pool_states,
    reps,
    routers,
    routes,
    rules,
)
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


_SAMPLES: dict[str, Any] = {
    "Lead": Lead(
        id="L9", created_at=datetime(2026, 3, 2, tzinfo=UTC), company="Acme", tags=("vip",)
    ),
    "Rep": Rep(id="r9", name="Nine", working_hours={"mon": ("09:00-17:00",)}, lat=1.0, lon=2.0),
    "Capacity": Capacity(max_open=3, period_days=7),
    "PoolState": PoolState(owners={"acme": "r9"}, reps=(Rep(id="r9"),)),
    "Rule": Rule(id="x", route=RoundRobin(), on_empty="pool"),
}
_GENERATORS: dict[str, Callable[..., st.SearchStrategy[Any]]] = {
    "Lead": leads,
    "Rep": reps,
    "Capacity": capacities,
    "PoolState": pool_states,
    "Rule": rules,
}
_FIELDS = [
    (model, name) for model, sample in _SAMPLES.items() for name in type(sample).model_fields
]


@settings(max_examples=3)
@pytest.mark.parametrize(("model", "name"), _FIELDS, ids=[f"{m}.{n}" for m, n in _FIELDS])
@given(data=st.data())
def test_every_model_field_can_be_overridden(model: str, name: str, data: st.DataObject) -> None:
    """Each generator accepts every field of its model by keyword and honours it."""
    sample = _SAMPLES[model]
    value = getattr(sample, name)
    overrides = {name: value}
    if model == "PoolState":  # the state's other fields must name reps it holds
        overrides.setdefault("reps", sample.reps)
    drawn = data.draw(_GENERATORS[model](**overrides))
    assert getattr(drawn, name) == value


@settings(max_examples=3, deadline=None)
@pytest.mark.parametrize("name", ROUTER_FIELDS)
@given(data=st.data())
def test_every_router_parameter_can_be_overridden(name: str, data: st.DataObject) -> None:
    """routers() accepts every Router parameter (and count) by keyword and honours it."""
    values: dict[str, Any] = {
        "rules": [Rule(id="only", route=RoundRobin())],
        "default": None,
        "seed": 5,
        "max_drops": 9,
        "accounts": AccountMatcher(aliases={"a": "b"}),
        "count": 2,
    }
    if name not in values:
        pytest.skip(f"no sample value for Router parameter {name!r}")
    router = data.draw(routers(**{name: values[name]}))
    got: Any = len(router.rules) if name == "count" else getattr(router, name)
    assert got == values[name] or (name == "rules" and list(got) == values[name])


def test_router_fields_come_from_router_signature() -> None:
    """routers() accepts exactly Router's parameters plus count."""
    params = set(inspect.signature(Router).parameters)
    assert set(ROUTER_FIELDS) == params | {"count"}


@settings(max_examples=15, deadline=None)
@given(pool_states(min_history=3, max_history=6))
def test_pool_states_with_history_close_leads_of_their_reps(state: PoolState) -> None:
    """pool_states(max_history=...) gives 3-6 closed leads, each of a rep of the state."""
    assert 3 <= len(state.history) <= 6
    assert {c.rep_id for c in state.history} <= {r.id for r in state.reps}


def test_pool_states_history_bounds_are_checked() -> None:
    """min_history above max_history is an InputError naming the parameter."""
    with pytest.raises(InputError, match="min_history"):
        pool_states(min_history=5, max_history=2)


@settings(max_examples=10, deadline=None)
@given(routers(route=st.just(RoundRobin()), count=2))
def test_routers_draw_their_routes_from_route(router: Router) -> None:
    """routers(route=...) gives every generated rule (and the default) a route drawn from it."""
    assert [rule.route for rule in router.rules] == [RoundRobin(), RoundRobin()]
    assert router.default in (None, RoundRobin())


@settings(max_examples=30, deadline=None)
@given(routes(scoring=True))
def test_scoring_routes_end_in_a_selector(route: Strategy) -> None:
    """routes(scoring=True) builds valid routes (a Router accepts each)."""
    assert Router(rules=[Rule(id="r", route=route)]).rules[0].route is not None
