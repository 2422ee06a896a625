"""Property-testing kit: hypothesis strategies and an invariant checker.

Install with ``pip install "leadroute[testing]"``. Importing this module
imports hypothesis; ``import leadroute`` does not.

Every generator returns a typed hypothesis strategy and accepts keyword
overrides for any field, either a plain value or a strategy::

    from hypothesis import given
    from leadroute.testing import check_invariants, lead_batches, pool_states

    @given(pool_states(), lead_batches())
    def test_my_policy(state, leads):
        result = MY_ROUTER.assign(state, leads)
        check_invariants(MY_ROUTER, state, leads, result)

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from hypothesis import strategies as st

from leadroute.audit import Decision, Step
from leadroute.exceptions import InputError
from leadroute.limits import check_json
from leadroute.models import Capacity, Lead, Rep
from leadroute.result import RoutingResult
from leadroute.router import Router
from leadroute.rules import Rule
from leadroute.state import PoolState
from leadroute.strategies import (
    Band,
    CapacityCap,
    Geo,
    Industry,
    Language,
    LeastLoaded,
    RandomPick,
    RoundRobin,
    Skill,
    ValueTier,
    Weighted,
)
from leadroute.strategies.base import Strategy

__all__ = [
    "REGIONS",
    "applied_steps",
    "capacities",
    "check_invariants",
    "lead_batches",
    "leads",
    "pool_states",
    "reps",
    "routers",
    "routes",
    "rules",
]

T = TypeVar("T")

#: Region codes the generators draw from (hierarchical on purpose).
REGIONS = ("CN", "CN-BJ", "CN-BJ-CY", "CN-SH", "US", "US-CA", "US-NY", "DE", "*")
INDUSTRIES = ("software", "healthcare", "retail")
SKILLS = ("mri", "ct", "lab")
LANGUAGES = ("zh", "zh-CN", "en", "de")
TIMEZONES = ("UTC", "Asia/Shanghai", "Asia/Urumqi", "America/Los_Angeles", "Europe/Berlin")
EPOCH = datetime(2026, 3, 1, tzinfo=UTC)


def _field(
    overrides: dict[str, Any], name: str, default: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    if name not in overrides:
        return default
    value = overrides.pop(name)
    if isinstance(value, st.SearchStrategy):
        return value
    try:
        check_json(value, name)  # a plain value: bounded (huge integers, deep nesting fail here)
    except ValueError as exc:
        raise InputError(str(exc), field=name) from None
    return st.just(value)


def _done(overrides: dict[str, Any], what: str) -> None:
    if overrides:
        msg = f"{what}() got unknown overrides {sorted(overrides)}"
        raise InputError(msg, field=str(sorted(overrides)[0]))


def _opt(inner: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.none() | inner


def capacities(**overrides: Any) -> st.SearchStrategy[Capacity]:
    """Rep capacities with small caps (so tests hit them)."""
    o = dict(overrides)
    s = st.builds(
        Capacity,
        max_open=_field(o, "max_open", _opt(st.integers(0, 6))),
        max_per_day=_field(o, "max_per_day", _opt(st.integers(0, 4))),
        max_per_period=_field(o, "max_per_period", _opt(st.integers(0, 10))),
        period_days=_field(o, "period_days", st.integers(1, 30)),
    )
    _done(o, "capacities")
    return s


def reps(**overrides: Any) -> st.SearchStrategy[Rep]:
    """Reps over a few regions, industries, skills, languages and time zones."""
    o = dict(overrides)
    s = st.builds(
        Rep,
        id=_field(o, "id", st.from_regex(r"\Ar[a-z0-9]{1,6}\Z")),
        active=_field(o, "active", st.sampled_from((True, True, True, False))),
        paused=_field(o, "paused", st.sampled_from((False, False, False, True))),
        territories=_field(
            o, "territories", st.lists(st.sampled_from(REGIONS), max_size=2, unique=True).map(tuple)
        ),
        industries=_field(
            o,
            "industries",
            st.lists(st.sampled_from((*INDUSTRIES, "*")), max_size=2, unique=True).map(tuple),
        ),
        skills=_field(
            o, "skills", st.lists(st.sampled_from(SKILLS), max_size=3, unique=True).map(tuple)
        ),
        languages=_field(
            o, "languages", st.lists(st.sampled_from(LANGUAGES), max_size=2, unique=True).map(tuple)
        ),
        level=_field(o, "level", st.integers(0, 3)),
        weight=_field(o, "weight", st.sampled_from((0.0, 0.5, 1.0, 2.0, 3.0))),
        capacity=_field(o, "capacity", capacities()),
        timezone=_field(o, "timezone", st.sampled_from(TIMEZONES)),
    )
    _done(o, "reps")
    return s


def pool_states(**overrides: Any) -> st.SearchStrategy[PoolState]:
    """Pool states with 1-8 reps of distinct ids (``reps=`` takes a list strategy)."""
    o = dict(overrides)
    roster = _field(o, "reps", st.lists(reps(), min_size=1, max_size=8, unique_by=lambda r: r.id))
    revision = _field(o, "revision", st.integers(0, 3))
    _done(o, "pool_states")
    return st.builds(lambda rs, rev: PoolState(reps=tuple(rs), revision=rev), roster, revision)


def leads(**overrides: Any) -> st.SearchStrategy[Lead]:
    """Leads created within a week, with geography, industry, needs, value and score."""
    o = dict(overrides)
    s = st.builds(
        Lead,
        id=_field(o, "id", st.from_regex(r"\AL[0-9]{1,5}\Z")),
        created_at=_field(
            o, "created_at", st.integers(0, 7 * 24 * 60).map(lambda m: EPOCH + timedelta(minutes=m))
        ),
        region=_field(o, "region", _opt(st.sampled_from(REGIONS[:-1]))),
        country=_field(o, "country", _opt(st.sampled_from(("CN", "US", "DE")))),
        industry=_field(o, "industry", _opt(st.sampled_from(INDUSTRIES))),
        language=_field(o, "language", _opt(st.sampled_from(LANGUAGES))),
        value=_field(o, "value", _opt(st.floats(0, 1e6, allow_nan=False))),
        score=_field(o, "score", _opt(st.integers(0, 100).map(float))),
        priority=_field(o, "priority", st.integers(0, 2)),
        account_key=_field(o, "account_key", _opt(st.sampled_from(("acme", "globex", "initech")))),
        attributes=_field(
            o,
            "attributes",
            st.lists(st.sampled_from(SKILLS), max_size=2, unique=True).map(lambda x: {"needs": x}),
        ),
    )
    _done(o, "leads")
    return s


def lead_batches(
    min_size: int = 0, max_size: int = 30, **overrides: Any
) -> st.SearchStrategy[list[Lead]]:
    """Lists of leads with distinct ids."""
    return st.lists(
        leads(**overrides), min_size=min_size, max_size=max_size, unique_by=lambda x: x.id
    )


_FILTERS: tuple[Strategy, ...] = (
    Geo(),
    Industry(),
    Skill(field="attributes.needs"),
    Language(),
    ValueTier(bands=(Band(min=70, min_level=2), Band(max=70))),
)
_SELECTORS: tuple[Strategy, ...] = (
    RoundRobin(),
    Weighted(),
    RandomPick(),
    RandomPick(weighted=True),
    LeastLoaded(),
    Weighted() | RoundRobin(),
)


def routes(*, capacity: bool = True) -> st.SearchStrategy[Strategy]:
    """Routes of 0-3 built-in filters then a selector; ``capacity`` adds ``CapacityCap()``."""

    def make(filters: list[Strategy], selector: Strategy) -> Strategy:
        steps = [*filters, CapacityCap()] if capacity else filters
        if not steps:
            return selector
        route = steps[0]
        for step in [*steps[1:], selector]:
            route = route >> step
        return route

    return st.builds(
        make,
        st.lists(st.sampled_from(_FILTERS), max_size=3, unique=True),
        st.sampled_from(_SELECTORS),
    )


_CONDITIONS: tuple[Any, ...] = (
    None,
    {"field": "country", "eq": "CN"},
    {"field": "region", "under": "US"},
    {"field": "score", "gte": 50},
    {"any": [{"field": "industry", "eq": "software"}, {"field": "priority", "gt": 0}]},
    {"not": {"field": "value", "exists": True}},
)


def rules(rule_id: str | st.SearchStrategy[str] = "r", **overrides: Any) -> st.SearchStrategy[Rule]:
    """Rules with a condition from a small set, a generated route and ``on_empty``."""
    o = dict(overrides)
    ident = rule_id if isinstance(rule_id, st.SearchStrategy) else st.just(rule_id)
    s = st.builds(
        Rule,
        id=ident,
        when=_field(o, "when", st.sampled_from(_CONDITIONS)),
        route=_field(o, "route", routes()),
        on_empty=_field(o, "on_empty", st.sampled_from(("next", "pool"))),
    )
    _done(o, "rules")
    return s


def routers(**overrides: Any) -> st.SearchStrategy[Router]:
    """Routers of 1-4 generated rules, an optional default route and a seed."""
    o = dict(overrides)
    count = _field(o, "count", st.integers(1, 4))
    default = _field(o, "default", _opt(routes()))
    seed = _field(o, "seed", st.integers(0, 2**31))
    _done(o, "routers")

    @st.composite
    def build(draw: st.DrawFn) -> Router:
        n = draw(count)
        rs = [draw(rules(f"rule{i}")) for i in range(n)]
        return Router(rules=rs, default=draw(default), seed=draw(seed))

    return build()


def check_invariants(
    router: Router, state: PoolState, leads: Sequence[Lead], result: RoutingResult
) -> None:
    """Assert leadroute's promises for one ``assign`` call; raise ``AssertionError`` if broken.

    * every lead appears exactly once, in input order, in ``assignments`` and ``audit``;
    * every assigned rep is in the state, active, not paused, and was dropped
      by no step of the decision, and the selector step picked them;
    * the next state holds each assigned lead open with that rep and each
      other lead in the pool; open counts grew by exactly the assignments;
    * caps are held for reps whose leads all went through ``CapacityCap()``;
    * the call is deterministic and left ``state`` unchanged: routing again
      gives byte-identical JSON.
    """
    before = state.model_dump_json()
    ids = [lead.id for lead in leads]
    _require(
        [a.lead_id for a in result.assignments] == ids,
        "assignments are not one per lead in input order",
    )
    _require(
        [d.lead_id for d in result.audit] == ids,
        "audit is not one decision per lead in input order",
    )
    nxt = result.state
    reps = state.rep_index
    for a, d in zip(result.assignments, result.audit, strict=True):
        _require(
            (a.rep_id, a.outcome, a.reason) == (d.rep_id, d.outcome, d.reason),
            f"lead {a.lead_id}: the assignment disagrees with its decision",
        )
        if a.rep_id is None:
            _require(a.outcome != "assigned", f"lead {a.lead_id}: assigned without a rep")
            _require(
                a.lead_id in nxt.pool and a.lead_id not in nxt.open_leads, f"lead {a.lead_id} lost"
            )
            continue
        rep = reps.get(a.rep_id)
        if rep is None:
            msg = f"lead {a.lead_id} went to unknown rep {a.rep_id}"
            raise AssertionError(msg)
        _require(
            rep.active and not rep.paused, f"lead {a.lead_id} went to unavailable rep {a.rep_id}"
        )
        _require(
            nxt.open_leads[a.lead_id].rep_id == a.rep_id,
            f"lead {a.lead_id} is not open with {a.rep_id} in the next state",
        )
        _require(a.lead_id not in nxt.pool, f"lead {a.lead_id} is both assigned and pooled")
        for step in applied_steps(d):
            _require(
                all(x.rep_id != a.rep_id for x in step.dropped),
                f"lead {a.lead_id}: {a.rep_id} was dropped at {step.path} yet assigned",
            )
        pickers = [s for s in d.steps if s.kind == "selector" and s.picked is not None]
        _require(
            bool(pickers) and pickers[-1].picked == a.rep_id,
            f"lead {a.lead_id}: no selector step picked {a.rep_id}",
        )
    assigned = Counter(a.rep_id for a in result.assignments if a.rep_id is not None)
    for rep_id in reps:
        _require(
            nxt.open_count(rep_id) == state.open_count(rep_id) + assigned[rep_id],
            f"open count of {rep_id}",
        )
    capped: dict[str, bool] = {}
    for a, d in zip(result.assignments, result.audit, strict=True):
        if a.rep_id is not None:
            through = any(s.strategy == "CapacityCap()" for s in d.steps)
            capped[a.rep_id] = capped.get(a.rep_id, True) and through
    for rep_id, all_capped in capped.items():
        if not all_capped:
            continue
        cap = reps[rep_id].capacity
        if cap.max_open is not None:
            _require(
                nxt.open_count(rep_id) <= max(cap.max_open, state.open_count(rep_id)),
                f"{rep_id} over max_open",
            )
        if cap.max_per_day is not None:
            before_days = state.load(rep_id).days
            for day, n in nxt.load(rep_id).days.items():
                _require(
                    n <= max(cap.max_per_day, before_days.get(day, 0)),
                    f"{rep_id} over max_per_day on {day}",
                )
    again = router.assign(state, leads, now=None if not result.audit else _now_of(result, leads))
    _require(
        again.model_dump_json() == result.model_dump_json(), "same input gave different output"
    )
    _require(state.model_dump_json() == before, "assign changed its input state")


def _now_of(result: RoutingResult, leads: Sequence[Lead]) -> datetime | None:
    """The ``now`` the call used: ``None`` when every decision time is the lead's own."""
    if all(d.at == lead.created_at for d, lead in zip(result.audit, leads, strict=True)):
        return None
    return result.audit[0].at


def applied_steps(decision: Decision) -> list[Step]:
    """The steps of ``decision`` that lay on the path to its outcome.

    Steps of rules that found nobody, of fallback options that found nobody
    and of value-tier bands that found nobody are left out.
    """
    if decision.rule_id is None:
        return []
    prefix = f"{decision.rule_id}:"
    failed = [
        s.path
        for s in decision.steps
        if s.kind in ("fallback", "note") and s.note is not None and "found nobody" in s.note
    ]
    return [
        s
        for s in decision.steps
        if s.path.startswith(prefix)
        and s.kind not in ("fallback", "note")
        and not any(s.path == f or s.path.startswith((f + ".", f + "[")) for f in failed)
    ]


def _require(condition: bool, message: str) -> None:
    """Raise :class:`AssertionError` with ``message`` unless ``condition`` (kept under ``python -O``)."""
    if not condition:
        raise AssertionError(message)
