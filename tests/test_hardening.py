"""Hardening: one error tree, bounded inputs, consistent states, no lost counts."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leadroute import (
    Capacity,
    ConfigError,
    FutureLeadError,
    InputError,
    Lead,
    LeadAlreadyClosedError,
    ModelError,
    PoolState,
    Rep,
    RepLoad,
    Router,
    Rule,
    StrategyError,
)
from leadroute.limits import MAX_DEPTH, MAX_ID_LENGTH, MAX_WEIGHT, short_repr
from leadroute.strategies import (
    CapacityCap,
    RoundRobin,
    Selector,
    Team,
    Weighted,
)
from leadroute.strategies.base import Pick
from tests.conftest import T0, lead, rep

ROUTER = Router(rules=[Rule(id="all", route=CapacityCap() >> RoundRobin())])


def _router_from(route: Any) -> Router:
    return Router.from_config({"rules": [{"id": "r", "route": route}]})


# -- one error tree ----------------------------------------------------------------------


def test_model_error_is_a_value_error_with_details() -> None:
    """A bad model raises ModelError, a ValueError that keeps pydantic's structured details."""
    with pytest.raises(ModelError) as info:
        Lead(id="L1", created_at=datetime(2026, 1, 1))
    assert isinstance(info.value, ValueError)
    assert info.value.errors()[0]["loc"] == ("created_at",)
    assert info.value.path == "created_at"


@pytest.mark.parametrize("how", ["init", "validate", "json"])
def test_model_error_from_every_constructor(how: str) -> None:
    """__init__, model_validate and model_validate_json all raise ModelError."""
    data = {"id": "wang", "weight": -1}
    calls = {
        "init": lambda: Rep(**data),
        "validate": lambda: Rep.model_validate(data),
        "json": lambda: Rep.model_validate_json(json.dumps(data)),
    }
    with pytest.raises(ModelError, match="weight"):
        calls[how]()


def test_nested_error_names_the_rep_by_id() -> None:
    """A bad rep inside a state is named by its id and the place inside it."""
    data = {"reps": [{"id": "ann"}, {"id": "wang", "working_hours": {"mon": ["18:00-09:00"]}}]}
    with pytest.raises(ModelError) as info:
        PoolState.model_validate(data)
    assert info.value.path == "reps[wang].working_hours.mon"
    assert "ends before it starts" in str(info.value)


def test_rep_error_names_the_rep() -> None:
    """An unknown time zone names the rep it belongs to."""
    with pytest.raises(ModelError, match="Rep 'wang': timezone"):
        Rep(id="wang", timezone="Mars/Olympus")


def test_router_rule_dict_error_names_the_rule_index() -> None:
    """Router(rules=[dict]) names rules[i] and the place inside the rule."""
    with pytest.raises(ConfigError, match=r"rules\[1\]"):
        Router(rules=[{"id": "a", "route": "RoundRobin"}, {"id": "b", "route": ["Geo", True]}])


def test_router_rules_not_a_list() -> None:
    """rules that are not a list of rules is a ConfigError."""
    with pytest.raises(ConfigError, match="rules"):
        Router(rules=5)  # type: ignore[arg-type]


def test_team_teams_true_fails_at_load() -> None:
    """A strategy parameter of the wrong type fails when the config loads, naming it."""
    with pytest.raises(ConfigError, match=r"rules\[0\]\.route\[0\]\.teams"):
        _router_from([{"type": "Team", "teams": True}, "RoundRobin"])


def test_wrong_parameter_type_in_python_fails_at_construction() -> None:
    """A strategy built in Python with a wrong parameter type is a StrategyError naming it."""
    with pytest.raises(StrategyError, match="teams"):
        Team(True)  # type: ignore[arg-type]


def test_wrong_type_tripping_post_init_is_strategy_error() -> None:
    """A wrong type that the strategy's own checks trip over is still a StrategyError."""
    with pytest.raises(StrategyError, match="period_days"):
        CapacityCap(period_days="x")  # type: ignore[arg-type]


def test_manual_review_reason_must_be_text() -> None:
    """A non-string ManualReview reason is rejected at load."""
    with pytest.raises(ConfigError, match="reason"):
        _router_from({"type": "ManualReview", "reason": 5})


def test_weights_nested_path() -> None:
    """A bad weight names rules[i].route[j].weights.<rep>."""
    with pytest.raises(ConfigError, match=r"rules\[0\]\.route\[1\]\.weights\.bob"):
        _router_from(["Geo", {"type": "Weighted", "weights": {"bob": "x"}}])


def test_custom_selector_non_text_reason_is_strategy_error() -> None:
    """A custom selector's non-text reason never reaches the state."""

    class Odd(Selector):
        def select(self, lead: Lead, candidates: list[Rep], ctx: Any) -> Pick | None:
            return Pick(None, "odd", review=True, reason=3.5)  # type: ignore[arg-type]

    router = Router(rules=[Rule(id="r", route=Odd())])
    with pytest.raises(StrategyError, match="reason"):
        router.assign(PoolState(reps=(rep("a"),)), [lead("L1")])


def test_assign_rejects_a_non_state() -> None:
    """assign with something that is not a PoolState is an InputError."""
    with pytest.raises(InputError, match="state"):
        ROUTER.assign((), [])  # type: ignore[arg-type]


def test_lifecycle_bad_time_is_input_error() -> None:
    """Lifecycle calls with a non-datetime time raise InputError naming the field."""
    state = ROUTER.assign(PoolState(reps=(rep("a"),)), [lead("L1")]).state
    with pytest.raises(InputError, match="at"):
        state.close("L1", "won", "yesterday")  # type: ignore[arg-type]


# -- bounded inputs ----------------------------------------------------------------------


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e300])
def test_lead_numbers_are_finite_and_bounded(value: float) -> None:
    """NaN, infinities and absurd magnitudes are rejected in lead numbers."""
    with pytest.raises(ModelError, match="value"):
        lead("L1", value=value)


def test_attribute_nan_rejected_with_path() -> None:
    """A NaN inside attributes is rejected, naming the key."""
    with pytest.raises(ModelError, match=r"attributes\.x\.y"):
        lead("L1", attributes={"x": {"y": math.nan}})


@pytest.mark.parametrize("year", [1, 1899, 2201, 9999])
def test_dates_outside_the_window_rejected(year: int) -> None:
    """Dates outside 1900-2200 are rejected (no OverflowError later)."""
    with pytest.raises(ModelError, match="years"):
        Lead(id="L", created_at=datetime(year, 6, 1, tzinfo=UTC))


def test_rep_weight_bounded() -> None:
    """A rep weight above MAX_WEIGHT is rejected."""
    with pytest.raises(ModelError, match="weight"):
        Rep(id="a", weight=MAX_WEIGHT * 10)


def test_weighted_weights_bounded() -> None:
    """Weighted weights above MAX_WEIGHT are a StrategyError naming the rep."""
    with pytest.raises(StrategyError, match=r"weights\.bob"):
        Weighted(weights={"bob": MAX_WEIGHT * 2})


def test_weighted_credits_stay_finite_at_max_weight() -> None:
    """Credits with the largest weights stay finite and the state reloads equal."""
    reps = tuple(rep(f"r{i}", weight=MAX_WEIGHT) for i in range(5))
    router = Router(rules=[Rule(id="w", route=Weighted())])
    state = PoolState(reps=reps)
    for k in range(5):
        state = router.assign(state, [lead(f"L{k}-{i}", k * 10 + i) for i in range(7)]).state
    credits = [c for rot in state.rotations.values() for c in rot.credits.values()]
    assert all(math.isfinite(c) for c in credits)
    assert PoolState.model_validate_json(state.model_dump_json()) == state


def test_id_length_limit() -> None:
    """An id longer than MAX_ID_LENGTH is rejected."""
    with pytest.raises(ModelError, match="id"):
        Lead(id="x" * (MAX_ID_LENGTH + 1), created_at=T0)


def test_condition_depth_limit() -> None:
    """Conditions nested deeper than MAX_DEPTH fail with a ConfigError, not RecursionError."""
    cond: dict[str, Any] = {"field": "country", "eq": "CN"}
    for _ in range(MAX_DEPTH * 20):
        cond = {"not": cond}
    with pytest.raises(ConfigError, match="deeper"):
        Router.from_config({"rules": [{"id": "r", "when": cond, "route": "RoundRobin"}]})


def test_condition_within_depth_limit_loads() -> None:
    """Conditions nested 30 levels deep still load."""
    cond: dict[str, Any] = {"field": "country", "eq": "CN"}
    for _ in range(30):
        cond = {"not": cond}
    Router.from_config({"rules": [{"id": "r", "when": cond, "route": "RoundRobin"}]})


def test_huge_integer_in_config_is_config_error() -> None:
    """An integer with thousands of digits is a ConfigError, never a ValueError from repr."""
    with pytest.raises(ConfigError, match="seed"):
        Router.from_config({"rules": [], "seed": 10**5000})


def test_short_repr_is_bounded() -> None:
    """short_repr keeps messages short for long texts."""
    assert len(short_repr("x" * 100_000)) < 80


# -- states: consistency on load -----------------------------------------------------------


def _opened() -> PoolState:
    return ROUTER.assign(PoolState(reps=(rep("a"), rep("b"))), [lead("L1"), lead("L2", 1)]).state


def test_open_counter_mismatch_rejected() -> None:
    """An open counter that differs from the rep's open leads is rejected, naming it."""
    data = json.loads(_opened().model_dump_json())
    data["loads"]["a"]["open"] = 5
    with pytest.raises(ModelError, match=r"loads\.a\.open"):
        PoolState.model_validate(data)


def test_lead_open_and_closed_rejected() -> None:
    """A lead both open and in history is rejected."""
    state = _opened()
    closed = state.close("L1", "won", T0 + timedelta(hours=1))
    data = json.loads(closed.model_dump_json())
    data["open_leads"]["L1"] = json.loads(state.model_dump_json())["open_leads"]["L1"]
    data["loads"]["a"]["open"] += 1
    with pytest.raises(ModelError, match="closed and open"):
        PoolState.model_validate(data)


def test_owner_of_unknown_rep_rejected() -> None:
    """An account owned by a rep the state does not know is rejected."""
    with pytest.raises(ModelError, match="owners"):
        PoolState(reps=(rep("a"),), owners={"acme": "zed"})


# -- no lost counts ------------------------------------------------------------------------


def test_closed_lead_resubmitted_is_rejected() -> None:
    """A closed lead submitted again raises LeadAlreadyClosedError; nothing is reopened."""
    state = _opened().close("L1", "won", T0 + timedelta(hours=1))
    with pytest.raises(LeadAlreadyClosedError, match="L1"):
        ROUTER.assign(state, [lead("L1", 120)])


def test_closed_lead_manual_assignment_rejected() -> None:
    """A closed lead assigned by hand raises LeadAlreadyClosedError."""
    state = _opened().close("L1", "won", T0 + timedelta(hours=1))
    with pytest.raises(LeadAlreadyClosedError):
        state.assign_manually(lead("L1"), "b", at=T0 + timedelta(hours=2), by="boss")


def test_future_lead_rejected_against_now() -> None:
    """A lead created more than a day after now is a FutureLeadError."""
    with pytest.raises(FutureLeadError, match="L9"):
        ROUTER.assign(PoolState(reps=(rep("a"),)), [lead("L9", 3 * 1440)], now=T0)


def test_future_lead_within_tolerance_routes() -> None:
    """A lead created an hour after now (clock skew) still routes."""
    result = ROUTER.assign(PoolState(reps=(rep("a"),)), [lead("L9", 60)], now=T0)
    assert result.assignments[0].rep_id == "a"


def test_future_lead_rejected_against_as_of() -> None:
    """Without now, a lead dated years after the state's as_of is a FutureLeadError."""
    state = _opened()
    far = Lead(id="L9", created_at=T0 + timedelta(days=3000))
    with pytest.raises(FutureLeadError):
        ROUTER.assign(state, [far])


def test_removed_rep_keeps_day_counts() -> None:
    """A rep removed and added back keeps its day counts, so the daily cap still holds."""
    capped = rep("a", capacity=Capacity(max_per_day=2))
    state = ROUTER.assign(PoolState(reps=(capped, rep("b"))), [lead("L1")]).state
    state = state.close("L1", "won", T0 + timedelta(minutes=5))
    before = state.loads["a"]
    state = state.with_reps([rep("b")]).with_reps([capped, rep("b")])
    assert state.loads["a"] == before


def test_day_counts_pruned_by_decision_clock_not_lead_date() -> None:
    """Day counts of the current window survive a batch routed at now (the decision clock)."""
    a = rep("a", capacity=Capacity(max_per_period=1000, period_days=30))
    days = {
        (T0.date() - timedelta(days=i)).isoformat(): 1 for i in range(100)
    }
    state = PoolState(reps=(a,), loads={"a": RepLoad(open=0, days=dict(sorted(days.items())))})
    state = ROUTER.assign(state, [lead("L1")], now=T0).state
    kept = state.loads["a"].days
    assert (T0.date() - timedelta(days=29)).isoformat() in kept
    assert len(kept) <= 93
