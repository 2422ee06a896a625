"""Fuzz: malformed values through every public entry point raise only leadroute errors.

Each test drives random malformed values (wrong types, NaN / inf, huge
integers, far dates, long texts, deep nesting) through one entry point and
asserts that the call either succeeds or raises a
:class:`~leadroute.LeadrouteError`, and that the input state is unchanged.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadroute import (
    Capacity,
    Lead,
    LeadrouteError,
    PoolState,
    ReclaimPolicy,
    Rep,
    Router,
    Rule,
    TimeWindow,
    simulate,
)
from leadroute.strategies import BUILTIN
from tests.conftest import T0

FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

ODD_DATES = st.sampled_from(
    [
        datetime(2026, 1, 1),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2026, 1, 1, tzinfo=UTC),
    ]
)


def _deep(n: int) -> Any:
    value: Any = {"field": "country", "eq": "CN"}
    for _ in range(n):
        value = {"not": value}
    return value


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(4400, 6000).map(lambda n: 10**n),
    st.sampled_from([-(10**30), 2**64]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "x" * 20_000, "Mars/Olympus", "25:00-26:00", "18:00-09:00", "PT2H"]),
    ODD_DATES,
    st.sampled_from([timedelta(days=-1), timedelta(days=10**6), b"bytes"]),
    st.sampled_from([70, 400, 1500]).map(_deep),
)
WEIRD = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def _paths(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    if isinstance(node, dict):
        for k in list(node):
            out.append((node, k))
            _paths(node[k], out)
    elif isinstance(node, list):
        for i in range(len(node)):
            out.append((node, i))
            _paths(node[i], out)
    return out


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """``base`` (JSON-like data) with one node replaced by a malformed value (or a key added)."""
    data = copy.deepcopy(base)
    paths = _paths(data, [])
    parent, key = draw(st.sampled_from(paths))
    if isinstance(parent, dict) and draw(st.booleans()) and draw(st.booleans()):
        parent[draw(st.text(min_size=1, max_size=8))] = draw(WEIRD)
    else:
        parent[key] = draw(WEIRD)
    return data


LEAD = {
    "id": "L1",
    "created_at": "2026-03-02T09:00:00+00:00",
    "country": "CN",
    "region": "CN-BJ",
    "industry": "software",
    "company": "Acme",
    "value": 1000.0,
    "score": 50.0,
    "priority": 1,
    "tags": ["vip"],
    "attributes": {"needs": ["mri"], "grade": "A"},
}
REP = {
    "id": "wang",
    "territories": ["CN"],
    "industries": ["software"],
    "weight": 2.0,
    "level": 2,
    "capacity": {"max_open": 5, "max_per_day": 3, "period_days": 7},
    "timezone": "Asia/Shanghai",
    "working_hours": {"mon": ["09:00-18:00"]},
    "away": [{"start": "2026-03-10T00:00:00+00:00", "end": "2026-03-12T00:00:00+00:00"}],
    "attributes": {"quota": 3},
}
CONFIG: dict[str, Any] = {
    "rules": [
        {
            "id": "cn",
            "when": {"all": [{"field": "country", "eq": "CN"}, {"field": "score", "gte": 10}]},
            "route": [
                "Geo",
                {"type": "Industry", "if_missing": "keep"},
                {"type": "Team", "teams": ["a"]},
                {"type": "CapacityCap", "max_open": 3, "period_days": 7},
                {
                    "type": "Fallback",
                    "options": [
                        {"type": "Ownership", "if_unavailable": "route_on"},
                        {"type": "Weighted", "weights": {"ann": 2, "bo": 1}},
                    ],
                },
            ],
            "on_empty": "next",
        },
        {
            "id": "tier",
            "route": [
                {
                    "type": "Scorecard",
                    "factors": [
                        {"field": "source", "weight": 1, "table": {"web": 30}},
                        {"field": "value", "weight": 2, "ranges": [[None, 100, 10], [100, None, 90]]},
                    ],
                },
                {"type": "Surge", "when": {"field": "score", "gte": 5}, "threshold": 3, "window": "PT1H"},
                {
                    "type": "ValueTier",
                    "bands": [{"min": 50, "min_level": 1, "route": "RoundRobin"}, {"max": 50}],
                    "fallthrough": True,
                },
                {"type": "LeastLoaded", "default_max_open": 10, "measure": "open"},
            ],
        },
    ],
    "default": [{"type": "Availability", "within": "PT2H"}, {"type": "ManualReview", "reason": "check"}],
    "seed": 3,
    "max_drops": 5,
}


def _state() -> PoolState:
    reps = tuple(
        Rep(id=r, territories=("CN",), industries=("software",), team="a", level=i)
        for i, r in enumerate(("ann", "bo", "cy"))
    )
    return PoolState(reps=reps)


STATE = _state()
ROUTER = Router.from_config(CONFIG)
BATCH = [Lead.model_validate({**LEAD, "id": f"L{i}", "score": float(i * 20)}) for i in range(5)]
OPENED = ROUTER.assign(STATE, BATCH).state


def _only_leadroute_errors(call: Any) -> Any:
    try:
        return call()
    except LeadrouteError:
        return None


@pytest.mark.parametrize(
    ("cls", "base"),
    [
        (Lead, LEAD),
        (Rep, REP),
        (Capacity, {"max_open": 3, "period_days": 7}),
        (TimeWindow, {"start": "2026-03-02T00:00:00Z", "end": "2026-03-03T00:00:00Z"}),
        (Rule, {"id": "r", "when": {"field": "country", "eq": "CN"}, "route": ["Geo", "RoundRobin"]}),
    ],
    ids=["Lead", "Rep", "Capacity", "TimeWindow", "Rule"],
)
@FUZZ
@given(data=st.data())
def test_models_raise_only_leadroute_errors(cls: Any, base: dict[str, Any], data: st.DataObject) -> None:
    """Model construction, model_validate and model_validate_json raise only leadroute errors."""
    bad = data.draw(mutated(base))
    _only_leadroute_errors(lambda: cls(**bad))
    _only_leadroute_errors(lambda: cls.model_validate(bad))
    try:
        text = json.dumps(bad, default=str)
    except (ValueError, RecursionError):
        return
    _only_leadroute_errors(lambda: cls.model_validate_json(text))


@FUZZ
@given(data=st.data())
def test_state_loading_raises_only_leadroute_errors(data: st.DataObject) -> None:
    """Loading a malformed state raises only leadroute errors; a state that loads routes."""
    base = json.loads(OPENED.model_dump_json())
    bad = data.draw(mutated(base))
    state = _only_leadroute_errors(lambda: PoolState.model_validate(bad))
    if state is not None:
        _only_leadroute_errors(lambda: ROUTER.assign(state, [Lead.model_validate({**LEAD, "id": "N1"})]))


@FUZZ
@given(data=st.data())
def test_config_that_loads_routes(data: st.DataObject) -> None:
    """A malformed config raises a leadroute error at load, or it routes and saves a reloadable state."""
    cfg = data.draw(mutated(CONFIG))
    router = _only_leadroute_errors(lambda: Router.from_config(cfg))
    if router is None:
        return
    result = _only_leadroute_errors(lambda: router.assign(STATE, BATCH))
    if result is not None:
        assert PoolState.model_validate_json(result.state.model_dump_json()) == result.state


@FUZZ
@given(data=st.data())
def test_router_rule_dicts_raise_only_leadroute_errors(data: st.DataObject) -> None:
    """Router(rules=[dict], default=..., seed=...) raises only leadroute errors."""
    rules = data.draw(mutated(CONFIG["rules"]))
    _only_leadroute_errors(lambda: Router(rules=rules))
    seed: Any = data.draw(WEIRD)
    _only_leadroute_errors(lambda: Router(default=data.draw(WEIRD), seed=seed))


@FUZZ
@given(now=WEIRD, leads=WEIRD, state=WEIRD)
def test_assign_arguments_raise_only_leadroute_errors(now: Any, leads: Any, state: Any) -> None:
    """assign with malformed now, leads or state raises only leadroute errors; input unchanged."""
    before = STATE.model_dump_json()
    _only_leadroute_errors(lambda: ROUTER.assign(STATE, BATCH, now=now))
    _only_leadroute_errors(lambda: ROUTER.assign(STATE, leads))
    _only_leadroute_errors(lambda: ROUTER.assign(state, BATCH))
    assert STATE.model_dump_json() == before


@FUZZ
@given(a=WEIRD, b=WEIRD, c=WEIRD, which=st.integers(0, 7))
def test_lifecycle_calls_raise_only_leadroute_errors(a: Any, b: Any, c: Any, which: int) -> None:
    """Lifecycle calls with malformed arguments raise only leadroute errors; input unchanged."""
    before = OPENED.model_dump_json()
    lead_id = sorted(OPENED.open_leads)[0]
    calls = [
        lambda: OPENED.close(a, b, c),
        lambda: OPENED.close(lead_id, "won", a),
        lambda: OPENED.record_activity(a, b),
        lambda: OPENED.assign_manually(BATCH[0], a, at=T0, by=b, note=c, force=False),
        lambda: OPENED.with_reps(a),
        lambda: ROUTER.reclaim(OPENED, a, b),
        lambda: OPENED.transfer_accounts("ann", a, at=b, by="boss", protection=c),
        lambda: ROUTER.transfer_accounts(OPENED, a, at=T0, by=b, leads=c),
    ]
    _only_leadroute_errors(calls[which])
    assert OPENED.model_dump_json() == before


@FUZZ
@given(name=st.sampled_from(["first_touch", "max_reassignments", "after_max", "cooldown", "working_time"]), value=WEIRD)
def test_reclaim_policy_raises_only_leadroute_errors(name: str, value: Any) -> None:
    """ReclaimPolicy with a malformed field raises only leadroute errors."""
    _only_leadroute_errors(lambda: ReclaimPolicy(**{name: value}))


@settings(max_examples=25, deadline=None)
@given(leads=WEIRD, step=WEIRD, close_after=WEIRD)
def test_simulate_raises_only_leadroute_errors(leads: Any, step: Any, close_after: Any) -> None:
    """simulate with malformed leads, step or close_after raises only leadroute errors."""
    _only_leadroute_errors(lambda: simulate(ROUTER, STATE, leads))
    _only_leadroute_errors(lambda: simulate(ROUTER, STATE, BATCH, step=step))
    _only_leadroute_errors(lambda: simulate(ROUTER, STATE, BATCH, close_after=close_after))


@settings(max_examples=30, deadline=None)
@given(
    gen=st.sampled_from(["leads", "reps", "capacities", "pool_states"]),
    key=st.sampled_from(["id", "weight", "levle", "priority", "max_open"]),
    value=SCALARS.filter(lambda v: not isinstance(v, dict)),
    data=st.data(),
)
def test_testing_kit_bad_overrides_raise_only_leadroute_errors(
    gen: str, key: str, value: Any, data: st.DataObject
) -> None:
    """leadroute.testing generators with a bad override raise only leadroute errors."""
    from leadroute import testing

    make = getattr(testing, gen)
    _only_leadroute_errors(lambda: data.draw(make(**{key: value})))


@FUZZ
@given(
    name=st.sampled_from(sorted(set(BUILTIN) - {"Chain", "Fallback"})),
    data=st.data(),
)
def test_strategy_constructors_raise_only_leadroute_errors(name: str, data: st.DataObject) -> None:
    """Built-in strategies built in Python with a malformed parameter raise only leadroute errors."""
    cls = BUILTIN[name]
    params = [f.name for f in dataclasses.fields(cls) if f.init]
    if not params:
        return
    key = data.draw(st.sampled_from(params))
    _only_leadroute_errors(lambda: cls(**{key: data.draw(WEIRD)}))
