"""Each built-in strategy, alone and composed (by class and by operator)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from leadroute import Capacity, PoolState, Router, Rule, StrategyError
from leadroute.strategies import (
    AssignTo,
    Band,
    CapacityCap,
    Chain,
    Fallback,
    FunctionFilter,
    Geo,
    Industry,
    Language,
    LeastLoaded,
    ManualReview,
    RandomPick,
    Roster,
    RoundRobin,
    Skill,
    Team,
    ValueTier,
    Weighted,
)
from leadroute.strategies.base import Strategy
from tests.conftest import lead, rep


def route_one(state: PoolState, route: Strategy, **lead_fields: Any) -> tuple[str | None, object]:
    """Route one lead through ``route``; return the rep and the decision."""
    result = Router(rules=[Rule(id="r", route=route)]).assign(state, [lead("L1", **lead_fields)])
    return result.assignments[0].rep_id, result.audit[0]


# -- filters -------------------------------------------------------------------------


def test_geo_hierarchy() -> None:
    """CN covers CN-BJ and CN-BJ-CY; CN-SH does not cover CN-BJ."""
    state = PoolState(reps=(rep("sh", territories=("CN-SH",)), rep("cn", territories=("cn",))))
    who, _decision = route_one(state, Geo() >> RoundRobin(), region="CN-BJ-CY")
    assert who == "cn"
    state2 = PoolState(reps=(rep("sh", territories=("CN-SH",)), rep("bj", territories=("CN-BJ",))))
    result = Router(rules=[Rule(id="r", route=Geo() >> RoundRobin())]).assign(
        state2, [lead("L1", region="CN-BJ")]
    )
    assert result.assignments[0].rep_id == "bj"
    text = result.explain("L1", "sh")
    assert "CN-BJ not under CN-SH" in text
    assert "[territory]" in text


def test_geo_wildcard_and_country_fallback() -> None:
    """``*`` covers every lead; a lead's country is used when it has no region."""
    state = PoolState(reps=(rep("us", territories=("US",)), rep("all", territories=("*",))))
    result = Router(rules=[Rule(id="r", route=Geo() >> RoundRobin())]).assign(
        state, [lead("L1", country="US"), lead("L2", 1, country="FR"), lead("L3", 2)]
    )
    assert [a.rep_id for a in result.assignments] == ["us", "all", None]


def test_geo_max_km_nearest() -> None:
    """With max_km and nearest, only the closest rep within range is kept."""
    state = PoolState(
        reps=(
            rep("bj", lat=39.9, lon=116.4),
            rep("tj", lat=39.1, lon=117.2),
            rep("sh", lat=31.2, lon=121.5),
        )
    )
    route = Geo(territory=False, max_km=200, nearest=True) >> RoundRobin()
    who, decision = route_one(state, route, lat=39.95, lon=116.3)
    assert who == "bj"
    codes = {d.rep_id: d.code for s in decision.steps for d in s.dropped}  # type: ignore[attr-defined]
    assert codes == {"tj": "distance", "sh": "distance"}


def test_geo_rejects_bad_params() -> None:
    """Geo validates its parameters at construction."""
    with pytest.raises(StrategyError, match="max_km"):
        Geo(max_km=-1)
    with pytest.raises(StrategyError):
        Geo(nearest=True)


def test_industry_wildcard_and_missing() -> None:
    """Industry matches case-insensitively, ``*`` covers all, missing keeps by default."""
    state = PoolState(reps=(rep("a", industries=("Software",)), rep("b", industries=("*",))))
    assert route_one(state, Industry() >> AssignTo("a"), industry="software")[0] == "a"
    assert route_one(state, Industry() >> AssignTo("a"), industry="retail")[0] is None
    assert route_one(state, Industry() >> AssignTo("a"))[0] == "a"
    assert route_one(state, Industry(if_missing="drop") >> RoundRobin())[0] is None


def test_skill_requires_all() -> None:
    """Skill keeps only reps holding every required skill."""
    state = PoolState(reps=(rep("a", skills=("mri",)), rep("b", skills=("mri", "ct"))))
    who, _decision = route_one(
        state, Skill(field="attributes.needs") >> RoundRobin(), attributes={"needs": ["MRI", "ct"]}
    )
    assert who == "b"
    assert (
        route_one(state, Skill(field="needs") >> RoundRobin(), attributes={"needs": "mri"})[0]
        == "a"
    )


def test_language_prefix() -> None:
    """A rep speaking zh covers zh-CN; one speaking zh-TW does not."""
    state = PoolState(reps=(rep("tw", languages=("zh-TW",)), rep("zh", languages=("zh",))))
    assert route_one(state, Language() >> RoundRobin(), language="zh-CN")[0] == "zh"


def test_team_and_roster() -> None:
    """Team and Roster keep the named teams and reps."""
    state = PoolState(reps=(rep("a", team="x"), rep("b", team="y"), rep("c", team="y")))
    assert route_one(state, Team(("y",)) >> RoundRobin())[0] == "b"
    assert route_one(state, Roster(("c",)) >> RoundRobin())[0] == "c"
    with pytest.raises(StrategyError):
        Roster(("a", "a"))


def test_capacity_cap_open_daily_period() -> None:
    """CapacityCap drops reps at their open, daily or period caps with the figures."""
    state = PoolState(
        reps=(rep("a", capacity=Capacity(max_open=1)), rep("b", capacity=Capacity(max_per_day=1)))
    )
    router = Router(rules=[Rule(id="r", route=CapacityCap() >> RoundRobin())])
    result = router.assign(state, [lead(f"L{i}", i) for i in range(3)])
    assert [a.rep_id for a in result.assignments] == ["a", "b", None]
    drops = {d.rep_id: d for s in result.audit[2].steps for d in s.dropped}
    assert drops["a"].code == "capacity"
    assert drops["a"].detail == "open 1 of 1"
    assert drops["a"].figures == {"open": 1, "max_open": 1}
    assert drops["b"].code == "daily_cap"


def test_capacity_cap_override_and_validation() -> None:
    """Caps given on the strategy override the rep's; negative caps are rejected."""
    state = PoolState(reps=(rep("a", capacity=Capacity(max_open=10)),))
    router = Router(rules=[Rule(id="r", route=CapacityCap(max_open=1) >> RoundRobin())])
    result = router.assign(state, [lead("L1"), lead("L2", 1)])
    assert [a.rep_id for a in result.assignments] == ["a", None]
    with pytest.raises(StrategyError, match="max_open"):
        CapacityCap(max_open=-1)


def test_capacity_period_rolls() -> None:
    """The rolling period counts the last period_days local days only."""
    state = PoolState(reps=(rep("a", capacity=Capacity(max_per_period=2, period_days=2)),))
    router = Router(rules=[Rule(id="r", route=CapacityCap() >> RoundRobin())])
    day = 24 * 60
    result = router.assign(
        state, [lead("L1"), lead("L2", day), lead("L3", day + 1), lead("L4", 2 * day)]
    )
    assert [a.rep_id for a in result.assignments] == ["a", "a", None, "a"]


def test_function_filter() -> None:
    """A plain function filters; a string return value is the drop detail."""

    def seniors(ld: object, r: object) -> bool | str:
        return True if r.level >= 2 else "too junior"  # type: ignore[attr-defined]

    state = PoolState(reps=(rep("jr", level=1), rep("sr", level=3)))
    who, decision = route_one(state, seniors >> RoundRobin())
    assert who == "sr"
    drops = [d for s in decision.steps for d in s.dropped]  # type: ignore[attr-defined]
    assert drops[0].detail == "too junior"
    assert drops[0].code == "custom"
    assert repr(FunctionFilter(seniors)) == "FunctionFilter(test_function_filter.<locals>.seniors)"


def test_value_tier_bands_and_fallthrough() -> None:
    """The lead's score picks a band; fallthrough tries lower bands when one is empty."""
    state = PoolState(reps=(rep("sr", level=3, capacity=Capacity(max_open=1)), rep("jr", level=1)))
    tier = ValueTier(
        bands=(Band(name="top", min=80, min_level=3), Band(name="rest", max=80, max_level=1)),
    )
    router = Router(rules=[Rule(id="r", route=CapacityCap() >> tier >> RoundRobin())])
    result = router.assign(
        state, [lead("L1", score=90), lead("L2", 1, score=20), lead("L3", 2, score=95)]
    )
    assert [a.rep_id for a in result.assignments] == ["sr", "jr", None]
    tier_ft = ValueTier(
        bands=(
            Band(name="top", min=80, min_level=3, route=RoundRobin()),
            Band(name="rest", route=RoundRobin()),
        ),
        fallthrough=True,
    )
    router2 = Router(rules=[Rule(id="r", route=CapacityCap() >> tier_ft)])
    result2 = router2.assign(state, [lead("L1", score=90), lead("L3", 2, score=95)])
    assert [a.rep_id for a in result2.assignments] == ["sr", "jr"]
    assert result2.audit[1].facts["tier"] == {"by": "score", "value": 95.0, "band": "rest"}


def test_value_tier_validation() -> None:
    """Bands are validated at construction."""
    with pytest.raises(StrategyError):
        Band(min=10, max=5)
    with pytest.raises(StrategyError):
        ValueTier(bands=())


# -- selectors -----------------------------------------------------------------------


def test_round_robin_rotates_and_skips_dropped() -> None:
    """RoundRobin rotates; a rep dropped by a filter keeps their place in line."""
    state = PoolState(reps=(rep("a"), rep("b", capacity=Capacity(max_per_day=1)), rep("c")))
    router = Router(rules=[Rule(id="r", route=CapacityCap() >> RoundRobin())])
    result = router.assign(state, [lead(f"L{i}", i) for i in range(6)])
    assert [a.rep_id for a in result.assignments] == ["a", "b", "c", "a", "c", "a"]


def test_round_robin_continues_across_calls() -> None:
    """The rotation cursor lives in the state, so the next call continues."""
    state = PoolState(reps=(rep("a"), rep("b"), rep("c")))
    router = Router(rules=[Rule(id="r", route=RoundRobin())])
    one = router.assign(state, [lead("L1"), lead("L2", 1)])
    two = router.assign(one.state, [lead("L3", 2), lead("L4", 3)])
    assert [a.rep_id for a in one.assignments + two.assignments] == ["a", "b", "c", "a"]


def test_round_robin_roster_change_keeps_turns() -> None:
    """Adding a rep does not reset the others' order; the newcomer goes first."""
    state = PoolState(reps=(rep("a"), rep("b"), rep("c")))
    router = Router(rules=[Rule(id="r", route=RoundRobin())])
    one = router.assign(state, [lead("L1"), lead("L2", 1)])
    wider = one.state.with_reps((*one.state.reps, rep("d")))
    two = router.assign(wider, [lead(f"M{i}", 10 + i) for i in range(4)])
    assert [a.rep_id for a in two.assignments] == ["c", "d", "a", "b"]


def test_weighted_shares_exact_within_one() -> None:
    """Over 10,000 leads each rep's count is within 1 of N*w/sum(w); weight 0 gets none."""
    weights = {"a": 5.0, "b": 3.0, "c": 1.5, "d": 0.5, "z": 0.0}
    state = PoolState(reps=tuple(rep(k, weight=w) for k, w in weights.items()))
    router = Router(rules=[Rule(id="r", route=Weighted())])
    n = 10_000
    result = router.assign(state, [lead(f"L{i:05d}", i) for i in range(n)])
    counts = Counter(a.rep_id for a in result.assignments)
    total = sum(weights.values())
    for rep_id, w in weights.items():
        assert abs(counts[rep_id] - n * w / total) <= 1, (rep_id, counts[rep_id])
    assert counts["z"] == 0


def test_weighted_explicit_weights_and_validation() -> None:
    """Weights may be given per rep id; negative ones name the rep."""
    state = PoolState(reps=(rep("a"), rep("b")))
    router = Router(rules=[Rule(id="r", route=Weighted(weights={"a": 3, "b": 1}))])
    result = router.assign(state, [lead(f"L{i}", i) for i in range(8)])
    assert Counter(a.rep_id for a in result.assignments) == {"a": 6, "b": 2}
    with pytest.raises(StrategyError) as info:
        Weighted(weights={"bob": -1})
    assert info.value.field == "weights.bob"


def test_random_pick_is_stable_and_spread() -> None:
    """RandomPick gives the same draw for the same seed and lead, spread across reps."""
    state = PoolState(reps=tuple(rep(f"r{i}") for i in range(4)))
    router = Router(rules=[Rule(id="r", route=RandomPick())], seed=11)
    leads = [lead(f"L{i:05d}", i) for i in range(4000)]
    first = router.assign(state, leads)
    again = router.assign(state, leads)
    assert first.model_dump_json() == again.model_dump_json()
    counts = Counter(a.rep_id for a in first.assignments)
    # binomial(4000, 1/4): sd ~ 27; 5 sd bounds
    assert all(abs(c - 1000) < 140 for c in counts.values()), counts
    other = Router(rules=[Rule(id="r", route=RandomPick())], seed=12).assign(state, leads)
    assert [a.rep_id for a in other.assignments] != [a.rep_id for a in first.assignments]


def test_random_pick_weighted_distribution() -> None:
    """Weighted RandomPick follows the weights within statistical bounds."""
    state = PoolState(reps=(rep("a", weight=3), rep("b", weight=1), rep("z", weight=0)))
    router = Router(rules=[Rule(id="r", route=RandomPick(weighted=True))], seed=3)
    result = router.assign(state, [lead(f"L{i:05d}", i) for i in range(4000)])
    counts = Counter(a.rep_id for a in result.assignments)
    assert counts["z"] == 0
    assert abs(counts["a"] - 3000) < 5 * 27.4  # sd = sqrt(4000 * .75 * .25)


def test_least_loaded_ties_by_rotation() -> None:
    """LeastLoaded picks the lowest load; ties go by rotation, not list order."""
    state = PoolState(reps=(rep("a"), rep("b"), rep("c")))
    router = Router(rules=[Rule(id="r", route=LeastLoaded())])
    result = router.assign(state, [lead(f"L{i}", i) for i in range(6)])
    assert [a.rep_id for a in result.assignments] == ["a", "b", "c", "a", "b", "c"]
    loaded = result.state
    fresh = loaded.with_reps((*loaded.reps, rep("d")))
    nxt = router.assign(fresh, [lead("M1", 10), lead("M2", 11), lead("M3", 12)])
    # the newcomer catches up to the others' load, then rotation resumes with a
    assert [a.rep_id for a in nxt.assignments] == ["d", "d", "a"]


def test_least_loaded_uses_ratio() -> None:
    """The load is open / max_open, so a bigger cap takes more."""
    state = PoolState(
        reps=(
            rep("small", capacity=Capacity(max_open=2)),
            rep("big", capacity=Capacity(max_open=6)),
        )
    )
    router = Router(rules=[Rule(id="r", route=LeastLoaded())])
    result = router.assign(state, [lead(f"L{i}", i) for i in range(8)])
    assert Counter(a.rep_id for a in result.assignments) == {"big": 6, "small": 2}


def test_manual_review_sample() -> None:
    """A sampled ManualReview reviews a stable share and passes the rest on."""
    state = PoolState(reps=(rep("a"),))
    router = Router(rules=[Rule(id="r", route=ManualReview(sample=0.1) | RoundRobin())])
    result = router.assign(state, [lead(f"L{i:05d}", i) for i in range(2000)])
    reviewed = sum(a.outcome == "manual_review" for a in result.assignments)
    assert 130 < reviewed < 270
    with pytest.raises(StrategyError):
        ManualReview(sample=1.5)


# -- combinators ---------------------------------------------------------------------

CHAIN_CASES = [
    ("by class", Chain(Geo(), CapacityCap(), RoundRobin())),
    ("by operator", Geo() >> CapacityCap() >> RoundRobin()),
    ("nested", Chain(Chain(Geo(), CapacityCap()), RoundRobin())),
]


@pytest.mark.parametrize(("label", "route"), CHAIN_CASES, ids=[c[0] for c in CHAIN_CASES])
def test_chain_forms_are_equal_and_flat(label: str, route: Chain) -> None:
    """Chains built by class, by operator or nested are the same flat chain."""
    assert route == Chain(Geo(), CapacityCap(), RoundRobin())
    assert len(route.steps) == 3
    assert repr(route) == "Geo() >> CapacityCap() >> RoundRobin()"


FALLBACK_CASES = [
    ("by class", Fallback(AssignTo("x"), AssignTo("y"), RoundRobin())),
    ("by operator", AssignTo("x") | AssignTo("y") | RoundRobin()),
    ("nested", Fallback(Fallback(AssignTo("x"), AssignTo("y")), RoundRobin())),
]


@pytest.mark.parametrize(("label", "route"), FALLBACK_CASES, ids=[c[0] for c in FALLBACK_CASES])
def test_fallback_forms_route_alike(label: str, route: Fallback) -> None:
    """Fallbacks by class, operator or nesting are flat and try options in order."""
    assert len(route.options) == 3
    state = PoolState(reps=(rep("x", active=False), rep("y"), rep("z")))
    who, decision = route_one(state, route)
    assert who == "y"
    notes = [s for s in decision.steps if s.kind == "fallback"]  # type: ignore[attr-defined]
    assert len(notes) == 1


def test_operators_do_not_change_operands() -> None:
    """``a >> b`` and ``a | b`` return new objects and leave the operands alone."""
    a, b = Geo(), RoundRobin()
    chain = a >> b
    assert chain.steps == (a, b)
    assert repr(a) == "Geo()"
    assert repr(b) == "RoundRobin()"


def test_chain_rejects_selector_in_middle() -> None:
    """A selector before the end of a chain is an error."""
    with pytest.raises(StrategyError, match="last"):
        RoundRobin() >> Geo()


def test_fallback_of_filters_inside_chain() -> None:
    """A fallback of filters narrows by the first filter that keeps someone."""
    state = PoolState(reps=(rep("a", team="x", industries=("retail",)), rep("b", team="y")))
    route = (Industry(if_missing="drop") | Team(("y",))) >> RoundRobin()
    assert route_one(state, route, industry="software")[0] == "b"
    assert route_one(state, route, industry="retail")[0] == "a"


def test_reprs_read_like_code() -> None:
    """Strategies print as a user would write them."""
    assert repr(Weighted(by="weight")) == "Weighted()"
    assert repr(CapacityCap(max_open=5)) == "CapacityCap(max_open=5)"
    assert (
        repr(Geo() >> (AssignTo("a") | RoundRobin()))
        == "Geo() >> (AssignTo(rep_id='a') | RoundRobin())"
    )


def test_user_subclass_appears_in_audit() -> None:
    """A user's Filter subclass works like a built-in and shows in the audit."""
    from dataclasses import dataclass

    from leadroute.strategies import Filter

    @dataclass(frozen=True, slots=True, repr=False)
    class MinLevel(Filter):
        level: int = 2
        code = "seniority"

        def check(self, lead, rep, ctx):  # type: ignore[no-untyped-def]
            return (
                None
                if rep.level >= self.level
                else self.drop(rep, f"level {rep.level} < {self.level}")
            )

    state = PoolState(reps=(rep("jr", level=1), rep("sr", level=2)))
    who, decision = route_one(state, MinLevel() >> RoundRobin())
    assert who == "sr"
    step = decision.steps[0]  # type: ignore[attr-defined]
    assert step.strategy == "MinLevel()"
    assert step.dropped[0].code == "seniority"
