"""Property-testing kit: hypothesis strategies and an invariant checker.

Install with ``pip install "leadroute[testing]"``. Importing this module
imports hypothesis; ``import leadroute`` does not.

Every generator returns a typed hypothesis strategy and accepts keyword
overrides for every field of its model (the keywords come from the model's
own fields), either a plain value or a strategy::

    from hypothesis import given
    from leadroute.testing import check_invariants, lead_batches, pool_states

    @given(pool_states(), lead_batches())
    def test_my_policy(state, leads):
        result = MY_ROUTER.assign(state, leads)
        check_invariants(MY_ROUTER, state, leads, result)

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from hypothesis import strategies as st

from leadroute.audit import Decision, Step
from leadroute.exceptions import InputError, MissingExtraError
from leadroute.limits import check_json
from leadroute.models import Capacity, Lead, Rep
from leadroute.result import RoutingResult
from leadroute.router import Router
from leadroute.rules import Rule
from leadroute.state import ClosedLead, PoolState
from leadroute.strategies import (
    Band,
    BestFit,
    CapacityCap,
    CardFit,
    Factor,
    Geo,
    Industry,
    Language,
    LeastLoaded,
    RandomPick,
    RoundRobin,
    Scorecard,
    Skill,
    Surge,
    ValueTier,
    Weighted,
)
from leadroute.strategies.base import Strategy

__all__ = [
    "REGIONS",
    "ROUTER_FIELDS",
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


def _as_strategy(value: Any, name: str) -> st.SearchStrategy[Any]:
    if isinstance(value, st.SearchStrategy):
        return value
    try:
        check_json(value, name)  # a plain value: bounded (huge integers, deep nesting fail here)
    except ValueError as exc:
        raise InputError(str(exc), field=name) from None
    return st.just(value)


def _built(
    model: Callable[..., T],
    fields: Iterable[str],
    defaults: dict[str, st.SearchStrategy[Any]],
    overrides: dict[str, Any],
    what: str,
) -> st.SearchStrategy[T]:
    """``st.builds(model)`` from ``defaults`` with ``overrides`` for any of ``fields``.

    The accepted keywords are the model's own fields, so a new field can be
    overridden as soon as it exists; a field with no generated default takes
    the model's default unless overridden.
    """
    known = tuple(fields)
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        msg = f"{what}() got unknown overrides {unknown} (fields: {', '.join(known)})"
        raise InputError(msg, field=unknown[0])
    kwargs = {**defaults, **{k: _as_strategy(v, k) for k, v in overrides.items()}}
    return st.builds(model, **kwargs)


def _opt(inner: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.none() | inner


def capacities(**overrides: Any) -> st.SearchStrategy[Capacity]:
    """Rep capacities with small caps (so tests hit them); any ``Capacity`` field by keyword."""
    defaults: dict[str, st.SearchStrategy[Any]] = {
        "max_open": _opt(st.integers(0, 6)),
        "max_per_day": _opt(st.integers(0, 4)),
        "max_per_period": _opt(st.integers(0, 10)),
        "period_days": st.integers(1, 30),
    }
    return _built(Capacity, Capacity.model_fields, defaults, overrides, "capacities")


def reps(**overrides: Any) -> st.SearchStrategy[Rep]:
    """Reps over a few regions, industries, skills, languages and time zones; any ``Rep`` field."""
    defaults: dict[str, st.SearchStrategy[Any]] = {
        "id": st.from_regex(r"\Ar[a-z0-9]{1,6}\Z"),
        "active": st.sampled_from((True, True, True, False)),
        "paused": st.sampled_from((False, False, False, True)),
        "territories": st.lists(st.sampled_from(REGIONS), max_size=2, unique=True).map(tuple),
        "industries": st.lists(st.sampled_from((*INDUSTRIES, "*")), max_size=2, unique=True).map(
            tuple
        ),
        "skills": st.lists(st.sampled_from(SKILLS), max_size=3, unique=True).map(tuple),
        "languages": st.lists(st.sampled_from(LANGUAGES), max_size=2, unique=True).map(tuple),
        "level": st.integers(0, 3),
        "weight": st.sampled_from((0.0, 0.5, 1.0, 2.0, 3.0)),
        "capacity": capacities(),
        "timezone": st.sampled_from(TIMEZONES),
    }
    return _built(Rep, Rep.model_fields, defaults, overrides, "reps")


def pool_states(
    *, min_history: int = 0, max_history: int = 0, **overrides: Any
) -> st.SearchStrategy[PoolState]:
    """Pool states with 1-8 reps of distinct ids; any ``PoolState`` field by keyword.

    ``reps=`` takes a list (or a strategy of lists) of reps. With
    ``max_history`` > 0 the state's ``history`` holds ``min_history`` to
    ``max_history`` closed leads of its reps (ids ``H0``, ``H1``...; won or
    lost, with a first touch, in a few industries and sources, closed in the
    five weeks before :data:`EPOCH`), for learned strategies such as
    :class:`~leadroute.strategies.BestFit`.

    .. versionchanged:: 0.2.0 ``min_history`` and ``max_history``.
    """
    if not 0 <= min_history <= max_history:
        msg = f"pool_states(min_history={min_history}, max_history={max_history}): need 0 <= min <= max"
        raise InputError(msg, field="min_history")
    if max_history and "history" in overrides:
        msg = "pool_states(): give history= or max_history=, not both"
        raise InputError(msg, field="history")
    o = dict(overrides)
    if "reps" in o:
        o["reps"] = _as_strategy(o["reps"], "reps").map(tuple)
    defaults: dict[str, st.SearchStrategy[Any]] = {
        "reps": st.lists(reps(), min_size=1, max_size=8, unique_by=lambda r: r.id).map(tuple),
        "revision": st.integers(0, 3),
    }
    states = _built(PoolState, PoolState.model_fields, defaults, o, "pool_states")
    if not max_history:
        return states
    return states.flatmap(lambda state: _with_history(state, min_history, max_history))


#: One closed lead of a generated history: (rep position, industry, source, won, hours to
#: the first touch).
_CLOSE = st.tuples(
    st.integers(0, 7),
    st.sampled_from(INDUSTRIES),
    st.sampled_from(("web", "referral")),
    st.booleans(),
    st.integers(0, 72),
)


def _with_history(state: PoolState, low: int, high: int) -> st.SearchStrategy[PoolState]:
    """``state`` with a history of ``low``..``high`` closed leads of its reps."""
    ids = [r.id for r in state.reps]
    at = EPOCH - timedelta(days=37)

    def build(rows: list[tuple[int, str, str, bool, int]]) -> PoolState:
        history = tuple(
            ClosedLead(
                lead=Lead(id=f"H{i}", created_at=at, industry=industry, source=source),
                rep_id=ids[pos % len(ids)],
                assigned_at=at,
                closed_at=at + timedelta(days=1 + hours // 2),
                outcome="won" if won else "lost",
                first_activity_at=at + timedelta(hours=hours),
            )
            for i, (pos, industry, source, won, hours) in enumerate(rows)
        )
        return state.replace(history=history)

    return st.lists(_CLOSE, min_size=low, max_size=high).map(build)


def leads(**overrides: Any) -> st.SearchStrategy[Lead]:
    """Leads created within a week, with geography, industry, needs, value and score.

    Any ``Lead`` field can be overridden by keyword.
    """
    defaults: dict[str, st.SearchStrategy[Any]] = {
        "id": st.from_regex(r"\AL[0-9]{1,5}\Z"),
        "created_at": st.integers(0, 7 * 24 * 60).map(lambda m: EPOCH + timedelta(minutes=m)),
        "region": _opt(st.sampled_from(REGIONS[:-1])),
        "country": _opt(st.sampled_from(("CN", "US", "DE"))),
        "industry": _opt(st.sampled_from(INDUSTRIES)),
        "language": _opt(st.sampled_from(LANGUAGES)),
        "value": _opt(st.floats(0, 1e6, allow_nan=False)),
        "score": _opt(st.integers(0, 100).map(float)),
        "priority": st.integers(0, 2),
        "account_key": _opt(st.sampled_from(("acme", "globex", "initech"))),
        "attributes": st.lists(st.sampled_from(SKILLS), max_size=2, unique=True).map(
            lambda x: {"needs": x}
        ),
    }
    return _built(Lead, Lead.model_fields, defaults, overrides, "leads")


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


#: The lead scorecard of the scoring routes (lead factors only).
_SCORECARD = Scorecard(
    factors=(
        Factor("priority", 40, table={"0": 20, "1": 60, "2": 100}),
        Factor("value", 60, ranges=((None, 1000, 10), (1000, 100000, 50), (100000, None, 90))),
    )
)


def _learned_selectors() -> tuple[Strategy, ...]:
    """``BestFit`` with learning on small histories: each model kind, with and without draws."""
    found: list[Strategy] = [
        BestFit(min_history=5),
        BestFit(min_history=5, weights={"conversion": 0.8, "response": 0.2}),
        BestFit(min_history=1000),
        BestFit(model_kind="pooled", lead_by=("source",)),
        BestFit(model_kind="pooled", explore=True),
    ]
    try:
        found.append(BestFit(model_kind="logit"))
        found.append(BestFit(model_kind="logit", explore=True, rep_by=("industry",)))
    except MissingExtraError:  # the logistic fit needs numpy
        pass
    learned = tuple(found)
    card = CardFit(
        factors=(
            Factor("won_this_month", 1, source="rep", ranges=((None, 1, 20), (1, None, 100))),
            Factor("response_hours", 1, source="rep", ranges=((None, 12, 100),), default=40),
        )
    )
    tiered = ValueTier(
        bands=(
            Band(name="hi", min=60, min_level=1, route=learned[0]),
            Band(name="lo", route=RoundRobin()),
        ),
        fallthrough=True,
    )
    return (*learned, card, tiered)


#: Tiers that drop every rep of a lead without a score.
_SCORE_OR_DROP = ValueTier(bands=(Band(min=50, min_level=1), Band(max=50)), if_missing="drop")

#: A surge breaker that fires often on small batches (it reads the batch and the state's leads).
_SURGE = Surge(when={"field": "priority", "gte": 1}, threshold=1, window=timedelta(days=2))


def routes(*, capacity: bool = True, scoring: bool = False) -> st.SearchStrategy[Strategy]:
    """Routes of 0-3 built-in filters then a selector; ``capacity`` adds ``CapacityCap()``.

    ``scoring=True`` adds routes that learn and score: a lead
    :class:`~leadroute.strategies.Scorecard` may come first (so
    :class:`~leadroute.strategies.ValueTier` reads its score), a
    :class:`~leadroute.strategies.Surge` breaker and a ``ValueTier`` that
    drops every rep of a lead without a score may join the filters, and
    the selector may be a :class:`~leadroute.strategies.BestFit` of each
    model kind (``segment`` with a small ``min_history``, ``pooled``,
    ``logit`` when numpy is installed; with and without ``explore``), a
    :class:`~leadroute.strategies.CardFit` reading the reps' history
    counters, or a ``ValueTier`` whose top band routes to a ``BestFit``. Give the states a history
    (``pool_states(max_history=...)``) so that they learn.

    .. versionchanged:: 0.2.0 ``scoring``.
    """
    # with scoring, half the routes end in a learned or scoring selector
    selectors = st.sampled_from(_SELECTORS)
    if scoring:
        selectors = selectors | st.sampled_from(_learned_selectors())
    filters = (*_FILTERS, _SURGE, _SCORE_OR_DROP) if scoring else _FILTERS

    def make(scored: bool, filters: list[Strategy], selector: Strategy) -> Strategy:
        steps = [*filters, CapacityCap()] if capacity else filters
        if scored:
            steps = [_SCORECARD, *steps]
        if not steps:
            return selector
        route = steps[0]
        for step in [*steps[1:], selector]:
            route = route >> step
        return route

    return st.builds(
        make,
        st.booleans() if scoring else st.just(False),
        st.lists(st.sampled_from(filters), max_size=3, unique=True),
        selectors,
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
    """Rules with a condition from a small set, a generated route and ``on_empty``.

    Any ``Rule`` field can be overridden by keyword (``id=`` is the same as ``rule_id``).
    """
    o = dict(overrides)
    defaults: dict[str, st.SearchStrategy[Any]] = {
        "id": _as_strategy(o.pop("id", rule_id), "id"),
        "when": st.sampled_from(_CONDITIONS),
        "route": routes(),
        "on_empty": st.sampled_from(("next", "pool")),
    }
    return _built(Rule, Rule.model_fields, defaults, o, "rules")


#: The keywords :func:`routers` accepts: ``Router``'s parameters and ``count``.
ROUTER_FIELDS: tuple[str, ...] = (
    *(p for p in inspect.signature(Router).parameters if p != "self"),
    "count",
)


def routers(
    *, route: st.SearchStrategy[Strategy] | None = None, **overrides: Any
) -> st.SearchStrategy[Router]:
    """Routers of 1-4 generated rules, an optional default route and a seed.

    Every ``Router`` parameter can be overridden by keyword (``rules=`` takes
    a list of rules or a strategy of lists); ``count=`` sets the number of
    generated rules. ``route=`` is the strategy the generated rules and
    default draw their routes from (:func:`routes` by default; for example
    ``routes(scoring=True)``).

    .. versionchanged:: 0.2.0 ``route``.
    """
    unknown = sorted(set(overrides) - set(ROUTER_FIELDS))
    if unknown:
        msg = f"routers() got unknown overrides {unknown} (fields: {', '.join(ROUTER_FIELDS)})"
        raise InputError(msg, field=unknown[0])
    o = {k: _as_strategy(v, k) for k, v in overrides.items()}
    count = o.pop("count", st.integers(1, 4))
    drawn = routes() if route is None else route

    @st.composite
    def generated(draw: st.DrawFn) -> list[Rule]:
        if route is None:
            return [draw(rules(f"rule{i}")) for i in range(draw(count))]
        return [draw(rules(f"rule{i}", route=drawn)) for i in range(draw(count))]

    defaults: dict[str, st.SearchStrategy[Any]] = {
        "rules": generated(),
        "default": _opt(drawn),
        "seed": st.integers(0, 2**31),
    }
    return st.builds(Router, **{**defaults, **o})


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
