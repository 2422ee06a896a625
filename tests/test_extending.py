"""The public strategy contract: abstract roles, user combinators, identity, checked figures."""

from __future__ import annotations

import json
import pickle
from dataclasses import FrozenInstanceError, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadroute import (
    Combinator,
    ConfigError,
    Decision,
    Filter,
    InputError,
    Lead,
    LeadrouteError,
    PoolState,
    Rep,
    RepLoad,
    Router,
    Rule,
    Selector,
    StrategyError,
)
from leadroute.audit import Drop
from leadroute.context import RouteContext
from leadroute.jsondata import FrozenDict, json_problem
from leadroute.policy import check_route
from leadroute.strategies import (
    BestFit,
    Chain,
    Fallback,
    FunctionFilter,
    Geo,
    LeastLoaded,
    Pick,
    RoundRobin,
    Routed,
    Runner,
    Strategy,
    Weighted,
)
from leadroute.strategies.base import function_name

DOCS = Path(__file__).resolve().parent.parent / "docs"
T0 = datetime(2026, 3, 2, 3, tzinfo=UTC)


def reps(*levels: int) -> tuple[Rep, ...]:
    return tuple(Rep(id=f"r{i}", level=lv) for i, lv in enumerate(levels))


def lead(lead_id: str = "L1", at: datetime = T0, **kw: Any) -> Lead:
    return Lead(id=lead_id, created_at=at, **kw)


# -- user strategies used below ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class MinLevel(Filter):
    """Keep reps of at least ``level``."""

    level: int = 1
    code = "level"

    def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
        if rep.level >= self.level:
            return None
        return self.drop(rep, f"level {rep.level} < {self.level}", level=rep.level)


@dataclass(frozen=True, slots=True, repr=False)
class FirstNonEmpty(Combinator):
    """The first option that picks someone."""

    options: tuple[Strategy, ...]

    def parts(self) -> tuple[tuple[str, Strategy], ...]:
        return tuple((f".opt{i}", o) for i, o in enumerate(self.options))

    def route(self, lead: Lead, candidates: list[Rep], ctx: RouteContext, run: Runner) -> Routed:
        for i in range(len(self.options)):
            left, pick = run.child(i, candidates)
            if pick is not None:
                run.record(f".opt{i}", note=f"option {i} picked", candidates_in=len(candidates))
                return left, pick
        return [], None


@dataclass(frozen=True, slots=True, repr=False)
class ByHour(Combinator):
    """``day`` between 9 and 18 o'clock UTC, ``night`` otherwise."""

    day: Strategy
    night: Strategy

    def parts(self) -> tuple[tuple[str, Strategy], ...]:
        return ((".day", self.day), (".night", self.night))

    def route(self, lead: Lead, candidates: list[Rep], ctx: RouteContext, run: Runner) -> Routed:
        branch = 0 if 9 <= ctx.now.hour < 18 else 1
        run.record(note=f"hour {ctx.now.hour}", candidates_in=len(candidates))
        return run.child(branch, candidates)


@dataclass(frozen=True, slots=True, repr=False)
class Pipe(Combinator):
    """A user-written chain: each stage narrows what the previous left, a pick ends it."""

    stages: tuple[Strategy, ...]
    sequence = "stages"

    def parts(self) -> tuple[tuple[str, Strategy], ...]:
        return tuple((f".stages[{i}]", s) for i, s in enumerate(self.stages))

    def is_complete(self) -> bool:
        return self.stages[-1].is_complete()

    def route(self, lead: Lead, candidates: list[Rep], ctx: RouteContext, run: Runner) -> Routed:
        found: Routed = (candidates, None)
        for i in range(len(self.stages)):
            found = run.child(i, found[0])
            if found[1] is not None or not found[0]:
                return found
        return found


class PlainLevel(Filter):
    """A plain (non-dataclass) filter class."""

    def __init__(self, level: int, weights: dict[str, float] | None = None) -> None:
        self.level = level
        self._weights = weights or {}

    def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
        return None if rep.level >= self.level else self.drop(rep, "too junior")


def seniors(lead: Lead, rep: Rep) -> bool:
    return rep.level > 1


def juniors(lead: Lead, rep: Rep) -> bool:
    return rep.level <= 1


# -- abstract roles --------------------------------------------------------------------------


def test_filter_without_check_cannot_be_built() -> None:
    """A Filter subclass that does not define check fails when built, naming class and method."""

    @dataclass(frozen=True, slots=True)
    class NoCheck(Filter):
        pass

    with pytest.raises(StrategyError, match=r"NoCheck cannot be built.*check\(\).*Filter"):
        NoCheck()  # type: ignore[abstract]


def test_selector_without_select_cannot_be_built() -> None:
    """A Selector subclass that does not define select fails when built."""

    class NoSelect(Selector):
        pass

    with pytest.raises(StrategyError, match=r"NoSelect.*select\(\).*Selector"):
        NoSelect()  # type: ignore[abstract]


def test_combinator_without_route_cannot_be_built() -> None:
    """A Combinator subclass missing route (or parts) fails when built, naming both."""

    class Half(Combinator):
        def parts(self) -> tuple[tuple[str, Strategy], ...]:
            return ()

    with pytest.raises(StrategyError, match=r"Half.*route\(\).*Combinator"):
        Half()  # type: ignore[abstract]


def test_builtin_combinators_are_combinators() -> None:
    """Chain, Fallback and ValueTier implement the public Combinator contract."""
    from leadroute.strategies import Band, ValueTier

    tier = ValueTier(bands=(Band(min=50, route=RoundRobin()), Band(max=50)))
    for node in (Geo() >> RoundRobin(), RoundRobin() | LeastLoaded(), tier):
        assert isinstance(node, Combinator)
    assert tier.parts() == ((".bands[0].route", RoundRobin()),)
    assert (Geo() >> RoundRobin()).parts() == (("[0]", Geo()), ("[1]", RoundRobin()))


# -- user combinators end to end --------------------------------------------------------------


def test_user_combinator_routes_and_shows_in_audit() -> None:
    """A user combinator picks a branch; its step and its children's paths are in the audit."""
    router = Router(
        rules=[Rule(id="r", route=ByHour(day=MinLevel(2) >> RoundRobin(), night=LeastLoaded()))]
    )
    day = router.assign(PoolState(reps=reps(1, 2)), [lead("L1", T0.replace(hour=10))])
    assert day.assignments[0].rep_id == "r1"
    paths = [s.path for s in day.audit[0].steps]
    assert paths == ["r:route", "r:route.day[0]", "r:route.day[1]"]
    assert day.audit[0].steps[0].note == "hour 10"
    assert day.audit[0].steps[1].dropped[0].figures == {"level": 1}
    night = router.assign(PoolState(reps=reps(1, 2)), [lead("L2", T0.replace(hour=22))])
    assert [s.path for s in night.audit[0].steps] == ["r:route", "r:route.night"]


@dataclass(frozen=True, slots=True, repr=False)
class InTurn(Combinator):
    """Its parts one after another, through ``run.chain``."""

    steps: tuple[Strategy, ...]

    def parts(self) -> tuple[tuple[str, Strategy], ...]:
        return tuple((f".steps[{i}]", s) for i, s in enumerate(self.steps))

    def is_complete(self) -> bool:
        return self.steps[-1].is_complete()

    def route(self, lead: Lead, candidates: list[Rep], ctx: RouteContext, run: Runner) -> Routed:
        return run.chain(candidates)


def test_run_chain_routes_like_a_chain() -> None:
    """run.chain narrows part by part as Chain does: same picks, each part's step in the audit."""
    state = PoolState(reps=reps(1, 2, 3, 0))
    leads = [lead(f"L{i}", T0 + timedelta(minutes=i)) for i in range(5)]
    mine = Router(rules=[Rule(id="r", route=InTurn(steps=(MinLevel(2), RoundRobin())))])
    theirs = Router(rules=[Rule(id="r", route=MinLevel(2) >> RoundRobin())])
    got = mine.assign(state, leads)
    assert got.counts() == theirs.assign(state, leads).counts() == {"r1": 3, "r2": 2}
    assert [s.path for s in got.audit[0].steps] == ["r:route.steps[0]", "r:route.steps[1]"]


def test_user_combinator_explain_names_the_dropping_step() -> None:
    """explain(lead, rep) reports the drop made inside a user combinator's branch."""
    router = Router(
        rules=[Rule(id="r", route=ByHour(day=MinLevel(2) >> RoundRobin(), night=LeastLoaded()))]
    )
    result = router.assign(PoolState(reps=reps(1, 2)), [lead("L1", T0.replace(hour=10))])
    text = result.explain("L1", "r0")
    assert "MinLevel(level=2) at r:route.day[0] [level]" in text


def test_first_non_empty_falls_through_options() -> None:
    """A FirstNonEmpty combinator tries its options in order, inside a chain."""
    route = MinLevel(1) >> FirstNonEmpty(options=(MinLevel(5) >> RoundRobin(), LeastLoaded()))
    router = Router(rules=[Rule(id="r", route=route)])
    result = router.assign(PoolState(reps=reps(1, 2)), [lead()])
    assert result.assignments[0].rep_id == "r0"
    assert result.audit[0].steps[-1].path == "r:route[1].opt1"
    assert router.strategy_at("r:route[1].opt0[1]") == RoundRobin()


def test_user_combinator_rotation_continues_across_calls() -> None:
    """A selector inside a user combinator keeps its rotation under the combinator's path."""
    router = Router(
        rules=[Rule(id="r", route=FirstNonEmpty(options=(RoundRobin(), LeastLoaded())))]
    )
    first = router.assign(PoolState(reps=reps(1, 1)), [lead("A")])
    second = router.assign(first.state, [lead("B", T0 + timedelta(minutes=1))])
    assert "r:route.opt0" in second.state.rotations
    assert {first.assignments[0].rep_id, second.assignments[0].rep_id} == {"r0", "r1"}


def test_user_combinator_round_trips_through_config() -> None:
    """A registered user combinator writes to config and loads back with the same revision."""
    router = Router(
        rules=[Rule(id="r", route=ByHour(day=MinLevel(2) >> RoundRobin(), night=LeastLoaded()))]
    )
    data = json.loads(json.dumps(router.to_config()))
    again = Router.from_config(data, strategies={"ByHour": ByHour, "MinLevel": MinLevel})
    assert again.policy_revision == router.policy_revision


def test_incomplete_user_combinator_is_refused() -> None:
    """A rule whose user combinator has a part that never picks is refused at construction."""
    with pytest.raises(LeadrouteError, match="does not end with a selector"):
        Router(rules=[Rule(id="r", route=ByHour(day=MinLevel(2), night=LeastLoaded()))])


def test_user_sequence_combinator_routes_like_a_chain() -> None:
    """A user combinator declaring its parts a sequence routes and audits like a chain."""
    state = PoolState(reps=reps(1, 2, 3))
    piped = Router(rules=[Rule(id="r", route=Pipe(stages=(MinLevel(2), RoundRobin())))])
    chained = Router(rules=[Rule(id="r", route=MinLevel(2) >> RoundRobin())])
    leads = [lead("L1"), lead("L2", T0 + timedelta(minutes=1))]
    got = piped.assign(state, leads)
    assert [a.rep_id for a in got.assignments] == [
        a.rep_id for a in chained.assign(state, leads).assignments
    ]
    assert [s.path for s in got.audit[0].steps] == ["r:route.stages[0]", "r:route.stages[1]"]


def test_user_sequence_with_an_early_selector_is_refused() -> None:
    """A user sequence whose non-last part always picks is refused, naming the part."""
    route = Pipe(stages=(RoundRobin(), LeastLoaded()))  # built fine: the policy checks it
    with pytest.raises(StrategyError, match=r"step 0 of .* already picks a rep") as info:
        check_route(route, "rule 'r'")
    assert info.value.field == "stages[0]"


def test_user_sequence_early_selector_fails_the_rule() -> None:
    """A rule routing through a user sequence that picks too early cannot be built."""
    with pytest.raises(LeadrouteError, match="could never run"):
        Rule(id="r", route=Pipe(stages=(RoundRobin(), LeastLoaded())))


def test_alternatives_may_each_pick() -> None:
    """A combinator that does not declare a sequence may have a picking part before the last."""
    rule = Rule(id="r", route=FirstNonEmpty(options=(RoundRobin(), LeastLoaded())))
    assert rule.route.is_complete()


# -- identity -------------------------------------------------------------------------------


def test_identity_holds_class_and_all_params() -> None:
    """Identity is the qualified class name and every declared parameter, defaults included."""
    ident = MinLevel().identity()
    assert ident == {"type": f"{__name__}.MinLevel", "params": {"level": 1}}


def test_two_named_functions_give_different_revisions() -> None:
    """Two different plain functions give different revisions (and decision ids)."""
    a = Router(rules=[Rule(id="r", route=seniors >> RoundRobin())])
    b = Router(rules=[Rule(id="r", route=juniors >> RoundRobin())])
    assert a.policy_revision != b.policy_revision


def test_lambda_without_name_refuses_revision() -> None:
    """A lambda filter without a name makes the router refuse, naming the rule path."""
    with pytest.raises(ConfigError, match="no stable name") as info:
        Router(rules=[Rule(id="r", route=(lambda lead, rep: True) >> RoundRobin())])
    assert info.value.path == "rules[0].route.steps[0].fn"


def test_named_lambda_has_a_revision() -> None:
    """A lambda filter with a name has a revision that depends on the name."""
    a = Router(
        rules=[Rule(id="r", route=FunctionFilter(lambda _l, _r: True, name="a") >> RoundRobin())]
    )
    b = Router(
        rules=[Rule(id="r", route=FunctionFilter(lambda _l, _r: True, name="b") >> RoundRobin())]
    )
    assert a.policy_revision != b.policy_revision


def test_closure_has_no_stable_name() -> None:
    """A closure's name is not stable; a nested function capturing nothing is."""
    level = 2

    def captures(lead: Lead, rep: Rep) -> bool:
        return rep.level > level

    def plain(lead: Lead, rep: Rep) -> bool:
        return True

    assert function_name(captures) is None
    assert function_name(plain) == f"{__name__}.test_closure_has_no_stable_name.<locals>.plain"


def test_plain_class_params_are_in_identity() -> None:
    """A plain class's __init__ parameters (kept as attributes or _attributes) make its identity."""
    a, b = PlainLevel(2), PlainLevel(3)
    assert a.identity()["params"] == {"level": 2, "weights": {}}
    r1 = Router(rules=[Rule(id="r", route=a >> RoundRobin())])
    r2 = Router(rules=[Rule(id="r", route=b >> RoundRobin())])
    assert r1.policy_revision != r2.policy_revision
    assert repr(b) == "PlainLevel(level=3, weights={})"


def test_plain_class_with_unkept_param_is_refused() -> None:
    """A plain class that drops an __init__ parameter cannot be built (its identity is unknown)."""

    class Forgetful(Filter):
        def __init__(self, level: int) -> None:
            pass

        def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
            return None

    with pytest.raises(StrategyError, match="'level' is not kept"):
        Forgetful(3)


def test_dict_params_are_frozen_copies() -> None:
    """A weights dict is copied into a read-only mapping: changing the original changes nothing."""
    weights = {"r0": 1.0, "r1": 3.0}
    sel = Weighted(weights=weights)
    before = Router(rules=[Rule(id="r", route=sel)]).policy_revision
    weights["r0"] = 100.0
    assert sel.weights == {"r0": 1.0, "r1": 3.0}
    assert Router(rules=[Rule(id="r", route=sel)]).policy_revision == before
    with pytest.raises(TypeError, match="read-only"):
        sel.weights["r0"] = 5.0


def test_plain_class_dict_param_is_frozen() -> None:
    """A plain class's dict attribute is frozen, and its attributes are read-only once built."""
    flt = PlainLevel(1, {"a": 1.0})
    assert isinstance(flt._weights, FrozenDict)
    with pytest.raises(FrozenInstanceError):
        flt.level = 5


def test_frozen_dict_dumps_and_pickles_as_a_dict() -> None:
    """FrozenDict writes as a JSON object and survives pickling."""
    fd = FrozenDict({"b": 1, "a": (1, 2)})
    assert json.dumps(fd) == '{"b": 1, "a": [1, 2]}'
    assert pickle.loads(pickle.dumps(fd)) == fd
    assert hash(fd) == hash(FrozenDict({"a": (1, 2), "b": 1}))


def test_default_written_out_keeps_identity() -> None:
    """Writing a parameter's default out does not change the identity; another value does."""
    assert BestFit().identity() == BestFit(weights=dict(BestFit().weights)).identity()
    assert MinLevel(1).identity() != MinLevel(2).identity()


def test_integral_float_and_int_params_are_one_identity() -> None:
    """1 and 1.0 are the same parameter value in an identity."""
    whole: dict[str, float] = {"a": 1}
    assert Weighted(weights=whole).identity() == Weighted(weights={"a": 1.0}).identity()


@given(st.dictionaries(st.text(min_size=1, max_size=5), st.integers(1, 9), min_size=1, max_size=5))
def test_identity_ignores_dict_insertion_order(weights: dict[str, float]) -> None:
    """The revision of a policy does not depend on the insertion order of a dict parameter."""
    flipped = dict(reversed(list(weights.items())))
    a = Router(rules=[Rule(id="r", route=Weighted(weights=weights))])
    b = Router(rules=[Rule(id="r", route=Weighted(weights=flipped))])
    assert a.policy_revision == b.policy_revision


# -- figures --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class Figures(Filter):
    """Drops every rep with the given figure."""

    figure: str = "ok"

    def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
        if self.figure == "set":
            return self.drop(rep, "x", tags={"a", "b"})
        if self.figure == "datetime":
            return self.drop(rep, "x", when=ctx.now)
        if self.figure == "nan":
            return self.drop(rep, "x", ratio=float("nan"))
        return self.drop(rep, "x", nested={"a": [1, 2.5, None, True, "t"]}, n=3)


@pytest.mark.parametrize(
    ("figure", "where"), [("set", "tags"), ("datetime", "when"), ("nan", "ratio")]
)
def test_bad_figures_fail_clearly(figure: str, where: str) -> None:
    """A custom filter putting a set, datetime or nan into figures fails naming filter and figure."""
    router = Router(rules=[Rule(id="r", route=Figures(figure) >> RoundRobin())])
    with pytest.raises(StrategyError, match=rf"Figures.drop\(rep 'r0'\): figure '{where}'"):
        router.assign(PoolState(reps=reps(1)), [lead()])


def test_custom_figures_round_trip_the_audit() -> None:
    """An audit with custom figures reads back from its JSON equal."""
    router = Router(rules=[Rule(id="r", route=Figures() >> RoundRobin())], default=RoundRobin())
    result = router.assign(PoolState(reps=reps(1, 2)), [lead()])
    for decision in result.audit:
        text = decision.model_dump_json()
        assert Decision.model_validate_json(text) == decision
        assert Decision.model_validate_json(text).model_dump_json() == text


def test_json_problem_accepts_json_data() -> None:
    """JSON scalars and lists / str-keyed dicts of them pass."""
    assert json_problem({"a": [1, 2.5, None, True, "x", {"b": []}]}) is None
    assert json_problem({1: 2}) == ("", "key 1 is not a text")


def test_release_refuses_bad_counts() -> None:
    """RepLoad.release takes a whole number >= 0, or fails naming n."""
    load = RepLoad(open=3)
    assert load.release(2).open == 1
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(InputError, match="n="):
            load.release(bad)  # type: ignore[arg-type]


# -- the docs page --------------------------------------------------------------------------


def test_extending_page_runs() -> None:
    """Every Python block of docs/extending.md runs, in order, as one script."""
    if not DOCS.exists():
        pytest.skip("needs the source tree")
    text = (DOCS / "extending.md").read_text(encoding="utf-8")
    blocks = [part.split("```", 1)[0] for part in text.split("```python")[1:]]
    namespace: dict[str, object] = {"__name__": "extending_page"}
    code = compile("\n".join(blocks), "docs/extending.md", "exec", dont_inherit=True)
    exec(code, namespace)
    assert "router" in namespace


def test_chain_and_fallback_operators_equal_named_forms() -> None:
    """``a >> b`` and ``a | b`` build the same combinators as Chain and Fallback."""
    assert (Geo() >> RoundRobin()) == Chain(Geo(), RoundRobin())
    assert (RoundRobin() | LeastLoaded()) == Fallback(RoundRobin(), LeastLoaded())


def test_pick_type_is_public() -> None:
    """Pick is importable beside the contract (selectors return it)."""
    assert Pick(None, "nobody").rep is None


@dataclass(frozen=True, slots=True, repr=False)
class Zone(Filter):
    """An indexable filter whose repr hides its parameter."""

    zone: str = "a"
    indexable = True

    def __repr__(self) -> str:
        return "Zone"

    def rep_keys(self, rep: Rep) -> tuple[str, ...]:
        return ("in",) if rep.team == self.zone else ("out",)

    def lead_keys(self, lead: Lead) -> tuple[str, ...]:
        return ("in",)

    def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
        return None if rep.team == self.zone else self.drop(rep, "other zone")


def test_index_is_keyed_by_identity_not_repr() -> None:
    """Two indexable filters with the same repr but different parameters use their own index."""
    router = Router(
        rules=[
            Rule(id="a", route=Zone("a") >> MinLevel(9) >> RoundRobin()),
            Rule(id="b", route=Zone("b") >> RoundRobin()),
        ]
    )
    state = PoolState(reps=(Rep(id="ra", team="a"), Rep(id="rb", team="b")))
    assert router.assign(state, [lead()]).assignments[0].rep_id == "rb"


@dataclass(frozen=True, slots=True, repr=False)
class Broken(Combinator):
    """A combinator that misuses the runner in the way ``how`` names."""

    inner: Strategy
    how: str = "return"

    def parts(self) -> tuple[tuple[str, Strategy], ...]:
        return ((".inner", self.inner),)

    def route(self, lead: Lead, candidates: list[Rep], ctx: RouteContext, run: Runner) -> Routed:
        if self.how == "child":
            return run.child(3, candidates)
        if self.how == "record":
            run.record(kind="verdict", candidates_in=len(candidates))  # type: ignore[arg-type]
        return "nobody"  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("how", "text"),
    [
        ("return", "route returned 'nobody'"),
        ("child", r"run.child\(3\): it has 1 parts"),
        ("record", "run.record: kind 'verdict'"),
    ],
)
def test_misbehaving_combinator_fails_naming_its_path(how: str, text: str) -> None:
    """A user combinator that breaks the contract fails with a StrategyError naming it and its path."""
    router = Router(rules=[Rule(id="r", route=Broken(RoundRobin(), how))])
    with pytest.raises(StrategyError, match=rf"Broken\(.*\) at r:route: .*{text}"):
        router.assign(PoolState(reps=reps(1)), [lead()])


def test_bad_figure_error_names_the_rule_path() -> None:
    """The engine adds the strategy's path in the policy to a bad-figure error."""
    router = Router(rules=[Rule(id="r", route=Figures("set") >> RoundRobin())])
    with pytest.raises(StrategyError, match=r"^Figures\(figure='set'\) at r:route\[0\]: "):
        router.assign(PoolState(reps=reps(1)), [lead()])


def test_engine_names_no_builtin_combinator() -> None:
    """The engine, router, policy, results, lifecycle and lab never name Chain, Fallback or ValueTier."""
    src = Path(__file__).resolve().parent.parent / "src" / "leadroute"
    if not src.exists():
        pytest.skip("needs the source tree")
    files = [*sorted((src / "engine").glob("*.py"))] + [
        src / f"{name}.py" for name in ("router", "result", "lifecycle", "lab", "policy")
    ]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for name in ("Chain", "Fallback", "ValueTier"):
            assert f"isinstance(node, {name})" not in text, path
            assert f"import {name}" not in text, (path, name)
            assert f" {name}," not in text, (path, name)


def big(lead: Lead) -> bool:
    return (lead.value or 0) > 100


def small(lead: Lead) -> bool:
    return (lead.value or 0) <= 100


def test_function_conditions_differ_in_revision() -> None:
    """Two rules differing only in their (named) condition function have different revisions."""
    a = Router(rules=[Rule(id="r", when=big, route=RoundRobin())])
    b = Router(rules=[Rule(id="r", when=small, route=RoundRobin())])
    assert a.policy_revision != b.policy_revision


def test_factor_table_is_a_frozen_copy() -> None:
    """A scorecard factor's table is copied: changing the caller's dict changes nothing."""
    from leadroute.strategies import Factor

    table = {"A": 100.0}
    factor = Factor("attributes.grade", 1, table=table)
    table["A"] = 0.0
    assert factor.table == {"A": 100.0}


@dataclass(frozen=True, slots=True, repr=False)
class _SetFigure(Selector):
    """Reads a learned figure that is not JSON data (a set)."""

    def select(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> Pick | None:
        ctx.learned("ids", lambda: {r.id for r in candidates})
        return Pick(candidates[0], "first", {})


@dataclass(frozen=True, slots=True, repr=False)
class _NanRates(Selector):
    """Reads a per-rep learned figure that is not a finite number."""

    def select(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> Pick | None:
        ctx.learned_per_rep("rate", candidates, lambda reps: [float("nan") for _ in reps])
        return Pick(candidates[0], "first", {})


def test_learned_figures_must_be_json_data() -> None:
    """A learned figure that is not JSON data is a StrategyError naming the path and figure."""
    state = PoolState(reps=(Rep(id="ann"),))
    lead = Lead(id="L1", created_at=datetime(2026, 3, 2, tzinfo=UTC))
    with pytest.raises(StrategyError, match=r"all:route: learned figure 'ids' holds a set"):
        Router(rules=[Rule(id="all", route=_SetFigure())]).assign(state, [lead])
    with pytest.raises(StrategyError, match=r"learned figure 'rate.ann' holds nan"):
        Router(rules=[Rule(id="all", route=_NanRates())]).assign(state, [lead])
