"""Scorecard, learned fit, BestFit and Surge: exact figures on fixed inputs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from leadroute import Capacity, ClosedLead, PoolState, Router, Rule, StrategyError
from leadroute.fit import FitModel
from leadroute.strategies import (
    Band,
    BestFit,
    CapacityCap,
    Factor,
    RoundRobin,
    Scorecard,
    Surge,
    ValueTier,
)
from tests.conftest import T0, lead, rep

HOSPITAL = Scorecard(
    factors=(
        Factor(
            "attributes.grade", 30, table={"3A": 100, "2A": 60, "1A": 20}, name="hospital grade"
        ),
        Factor(
            "value",
            25,
            ranges=((None, 1000, 10), (1000, 10000, 50), (10000, None, 100)),
            name="unit price",
        ),
        Factor("source", 15, table={"referral": 100, "web": 40}, default=10, name="channel"),
        Factor("language", 10, present=100, name="language"),
        Factor("attributes.beds", 20, fn=lambda beds: min(100, beds / 10), name="size"),
    )
)


def test_scorecard_exact_score_and_breakdown() -> None:
    """Weights are normalized; score = sum of weight x points, each factor shown."""
    ld = lead(
        "L1", value=5000, source="Referral", language="zh", attributes={"grade": "3a", "beds": 400}
    )
    score, parts = HOSPITAL.score(ld)
    # 0.3*100 + 0.25*50 + 0.15*100 + 0.1*100 + 0.2*40 = 30 + 12.5 + 15 + 10 + 8
    assert score == 75.5
    assert parts["unit price"] == {
        "value": 5000.0,
        "points": 50,
        "weight": 0.25,
        "contribution": 12.5,
    }
    assert parts["channel"]["points"] == 100.0


def test_scorecard_missing_values_use_defaults() -> None:
    """Missing fields score their default."""
    score, parts = HOSPITAL.score(lead("L2"))
    assert score == pytest.approx(0.15 * 10)
    assert parts["hospital grade"]["points"] == 0


def test_scorecard_feeds_value_tier_and_audit() -> None:
    """The score picks the ValueTier band and appears in the decision facts."""
    state = PoolState(reps=(rep("senior", level=3), rep("junior", level=1)))
    tiers = ValueTier(bands=(Band(min=70, min_level=3), Band(max=70, max_level=1)))
    router = Router(rules=[Rule(id="r", route=HOSPITAL >> tiers >> RoundRobin())])
    hot = lead(
        "L1", value=5000, source="referral", language="zh", attributes={"grade": "3A", "beds": 400}
    )
    result = router.assign(state, [hot, lead("L2", 1)])
    assert [a.rep_id for a in result.assignments] == ["senior", "junior"]
    facts = result.audit[0].facts
    assert facts["score"] == 75.5
    assert "hospital grade" in facts["score_factors"]  # type: ignore[operator]
    assert "score: 75.5" in result.audit[0].explain()


def test_factor_validation() -> None:
    """A factor needs exactly one mapping and points within 0..100."""
    with pytest.raises(StrategyError, match="exactly one"):
        Factor("source", 1)
    with pytest.raises(StrategyError, match=r"0\.\.100"):
        Factor("source", 1, table={"x": 150})
    with pytest.raises(StrategyError, match="weight"):
        Factor("source", -1, present=10)


def test_scorecard_config_round_trip() -> None:
    """A scorecard without functions survives to_config / from_config."""
    card = Scorecard(
        factors=(Factor("source", 2, table={"web": 40}), Factor("value", 1, ranges=((0, 10, 5),)))
    )
    router = Router(rules=[Rule(id="r", route=card >> RoundRobin())])
    assert Router.from_config(router.to_config()).policy_revision == router.policy_revision


def _closed(
    i: int, rep_id: str, won: bool, industry: str = "retail", touch_h: float = 1.0
) -> ClosedLead:
    ld = lead(f"H{i}", industry=industry)
    return ClosedLead(
        lead=ld,
        rep_id=rep_id,
        assigned_at=T0,
        closed_at=T0 + timedelta(days=3),
        outcome="won" if won else "lost",
        first_activity_at=T0 + timedelta(hours=touch_h),
    )


def test_fit_smoothing_matches_hand_computation() -> None:
    """(wins + k*p0) / (closed + k), p0 the team's segment rate; 3/3 is not 100%."""
    history = [_closed(i, "ann", True) for i in range(3)]
    history += [_closed(10 + i, "bo", i < 3) for i in range(12)]  # 3 of 12
    history += [_closed(40 + i, "bo", True, "software") for i in range(5)]
    model = FitModel(history, prior_strength=4, min_history=10)
    p0 = 6 / 15  # retail: ann 3/3 + bo 3/12
    ann = model.estimate("ann", lead("x", industry="retail"))
    assert ann.rate == pytest.approx((3 + 4 * p0) / (3 + 4))
    assert ann.rate < 1
    bo = model.estimate("bo", lead("x", industry="retail"))
    assert bo.rate == pytest.approx((3 + 4 * p0) / (12 + 4))
    new = model.estimate("cy", lead("x", industry="healthcare"))  # no segment history: overall rate
    assert new.rate == pytest.approx(11 / 20)
    assert model.enabled
    assert not FitModel(history, min_history=300).enabled


def test_best_fit_components_and_learned_switch() -> None:
    """BestFit shows every component per candidate and switches learned parts off below min_history."""
    history = [_closed(i, "ann", True, touch_h=2) for i in range(6)] + [
        _closed(20 + i, "bo", False, touch_h=48) for i in range(6)
    ]
    reps = (rep("ann", capacity=Capacity(max_open=10)), rep("bo", capacity=Capacity(max_open=10)))
    state = PoolState(reps=reps, history=tuple(history))
    on = Router(rules=[Rule(id="r", route=BestFit(min_history=10))])
    res = on.assign(state, [lead("L1", industry="retail")])
    assert res.assignments[0].rep_id == "ann"
    rationale: dict[str, Any] = dict(res.audit[0].steps[-1].rationale or {})
    assert rationale["learned"] is True
    comp = rationale["candidates"]["ann"]
    p0 = 0.5
    assert comp["conversion"] == pytest.approx((6 + 10 * p0) / (6 + 10), abs=1e-6)
    assert comp["response"] == pytest.approx(1 / (1 + 2 / 24), abs=1e-6)
    off = Router(rules=[Rule(id="r", route=BestFit())])  # min_history 300
    res2 = off.assign(state, [lead("L1", industry="retail"), lead("L2", 1, industry="retail")])
    why = str(dict(res2.audit[0].steps[-1].rationale or {})["why"])
    assert "learned fit off: 12 closed leads < 300" in why
    # with learned parts off, headroom decides and ties go by rotation
    assert [a.rep_id for a in res2.assignments] == ["ann", "bo"]


def test_best_fit_validation() -> None:
    """Unknown components and negative weights are named."""
    with pytest.raises(StrategyError, match=r"weights\.speed"):
        BestFit(weights={"speed": 1})


def test_surge_lifts_daily_cap_and_records() -> None:
    """Past the threshold, per-day caps are lifted by extra_per_day and the audit says so."""
    state = PoolState(reps=(rep("a", capacity=Capacity(max_per_day=2)),))
    surge = Surge(
        when={"field": "score", "gte": 80}, threshold=3, window=timedelta(hours=1), extra_per_day=2
    )
    router = Router(rules=[Rule(id="r", route=surge >> CapacityCap() >> RoundRobin())])
    hot = [lead(f"H{i}", i, score=90) for i in range(6)]
    result = router.assign(state, hot)
    # H2 is the 3rd hot lead in the hour (not > 3): cap 2 holds; from H3 on the cap is 2 + 2
    assert [a.rep_id for a in result.assignments] == ["a", "a", None, "a", "a", None]
    facts = result.audit[3].facts["surge"]
    assert facts == {
        "fired": True,
        "arrivals": 4,
        "threshold": 3,
        "window": "1:00:00",
        "extra_per_day": 2,
    }
    early: dict[str, Any] = dict(result.audit[1].facts["surge"])  # type: ignore[arg-type]
    assert early["fired"] is False
    calm = Router(rules=[Rule(id="r", route=CapacityCap() >> RoundRobin())]).assign(state, hot)
    assert sum(a.rep_id is not None for a in calm.assignments) == 2


def test_surge_and_best_fit_config_round_trip() -> None:
    """Surge (with its condition and window) and BestFit survive to_config / from_config."""
    route = (
        Surge(when={"field": "score", "gte": 80}, threshold=5, window=timedelta(minutes=30))
        >> CapacityCap()
        >> BestFit(weights={"conversion": 0.6, "headroom": 0.4}, min_history=50)
    )
    router = Router(rules=[Rule(id="r", route=route)])
    cfg = router.to_config()
    assert cfg["rules"][0]["route"][0] == {
        "type": "Surge",
        "when": {"field": "score", "gte": 80},
        "threshold": 5,
        "window": "PT30M",
    }
    assert Router.from_config(cfg).policy_revision == router.policy_revision
