"""Rep-side factors and CardFit, review by importance, Surge on a Scorecard's score."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadroute import Capacity, ClosedLead, Drop, Lead, PoolState, Rep, Router, Rule, StrategyError
from leadroute.context import RouteContext
from leadroute.strategies import (
    CapacityCap,
    CardFit,
    Factor,
    Filter,
    ManualReview,
    RoundRobin,
    Scorecard,
    Surge,
)
from leadroute.strategies.scoring import rep_value
from tests.conftest import T0, lead, rep

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

#: The article's card: 医院等级 30% + 咨询产品单价 25% + 销售当月任务完成度 20% + 客户来源渠道 15% + 语言偏好 10%
ARTICLE = CardFit(
    factors=(
        Factor("attributes.hospital_grade", 30, table={"3A": 100, "2A": 60, "1A": 20}, name="hospital grade"),
        Factor("value", 25, ranges=((None, 1000, 10), (1000, 10000, 50), (10000, None, 100)), name="unit price"),
        Factor(
            "attainment", 20, source="rep", name="attainment",
            ranges=((None, 50, 100), (50, 80, 70), (80, 100, 40), (100, None, 10)),
        ),
        Factor("source", 15, table={"referral": 100, "web": 40}, default=10, name="channel"),
        Factor("language", 10, source="match", rep_field="languages", present=100, name="language"),
    )
)  # fmt: skip
HOT = lead("L1", value=5000, source="referral", language="zh", attributes={"hospital_grade": "3A"})


def _team() -> PoolState:
    return PoolState(
        reps=(
            rep("li", languages=("zh",), stats={"attainment": 45}),
            rep("anna", languages=("de", "en"), stats={"attainment": 30}),
            rep("wang", languages=("zh",), stats={"monthly_target": 4}),
        ),
        history=(
            ClosedLead(
                lead=lead("W1"), rep_id="wang", assigned_at=T0 - 5 * DAY,
                closed_at=T0 - DAY, outcome="won", first_activity_at=T0 - 4 * DAY,
            ),
            ClosedLead(
                lead=lead("W2"), rep_id="wang", assigned_at=T0 - 5 * DAY,
                closed_at=T0 - DAY, outcome="won", first_activity_at=T0 - 5 * DAY + 2 * HOUR,
            ),
        ),
    )  # fmt: skip


def test_article_card_as_written() -> None:
    """The 30/25/20/15/10 card: li (zh, 45% of target) scores 0.3*100+0.25*50+0.2*100+0.15*100+0.1*100."""
    router = Router(rules=[Rule(id="r", route=ARTICLE)])
    result = router.assign(_team(), [HOT])
    assert result.assignments[0].rep_id == "li"
    facts = result.audit[0].facts
    assert facts["fit"] == 30 + 12.5 + 20 + 15 + 10
    rationale: Any = result.audit[0].steps[-1].rationale
    # anna: at 30% of target (100 pts) but no Chinese: 30 + 12.5 + 20 + 15 + 0
    assert rationale["candidates"]["anna"]["score"] == 77.5
    # wang: 2 wins of a target of 4 this month = 50% -> 70 pts: 30 + 12.5 + 14 + 15 + 10
    assert rationale["candidates"]["wang"]["score"] == 81.5


class _Probe(Filter):
    """Records what rep_value reads for rep wang (keeps every rep)."""

    seen: ClassVar[dict[str, Any]] = {}

    def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
        if rep.id == "wang":
            for name in ("won_this_month", "attainment", "response_hours", "open", "level"):
                self.seen[name] = rep_value(rep, name, ctx)
        return None


def test_rep_counters_read_live_state() -> None:
    """Rep factors read won_this_month, attainment, response_hours, open load and fields."""
    Router(rules=[Rule(id="p", route=_Probe() >> RoundRobin())]).assign(_team(), [lead("X")])
    assert _Probe.seen == {
        "won_this_month": 2,
        "attainment": 50.0,
        "response_hours": 13.0,
        "open": 0,
        "level": 1,
    }


def test_scorecard_without_rep_factors_unchanged() -> None:
    """A rep factor in a plain Scorecard scores its default; lead factors as before."""
    card = Scorecard(factors=ARTICLE.factors)
    score, parts = card.score(HOT)
    assert score == 30 + 12.5 + 0 + 15 + 0
    assert parts["attainment"]["points"] == 0


def test_card_fit_config_round_trip() -> None:
    """CardFit with rep and match factors survives to_config / from_config."""
    router = Router(rules=[Rule(id="r", route=ARTICLE)])
    again = Router.from_config(router.to_config())
    assert again == router
    assert (
        again.assign(_team(), [HOT]).model_dump_json()
        == router.assign(_team(), [HOT]).model_dump_json()
    )


def test_match_factor_needs_present() -> None:
    """A match factor without present= is a StrategyError naming the field."""
    with pytest.raises(StrategyError, match="present"):
        Factor("language", 1, source="match", table={"zh": 100})


# -- review by importance -------------------------------------------------------------


def test_top_share_by_value_goes_to_review() -> None:
    """ManualReview(top=0.1, by='value') reviews the 10% most valuable leads of the window."""
    state = PoolState(reps=(rep("a"),))
    leads = [lead(f"L{i:02d}", i, value=float(i)) for i in range(20)]
    route = ManualReview(top=0.1, reason="key_account", window=timedelta(days=30)) | RoundRobin()
    result = Router(rules=[Rule(id="r", route=route)]).assign(state, leads, now=T0 + HOUR)
    reviewed = [a.lead_id for a in result.assignments if a.outcome == "manual_review"]
    assert reviewed == ["L18", "L19"]
    assert {a.reason for a in result.assignments if a.outcome == "manual_review"} == {"key_account"}


def test_top_share_counts_only_the_window() -> None:
    """State leads before the window do not count; leads without a value are never ranked."""
    old = lead("OLD", -3 * 24 * 60, value=1000.0)
    recent = lead("R", -60, value=100.0)
    state = PoolState(
        reps=(rep("a"),),
        history=tuple(
            ClosedLead(lead=ld, rep_id="a", assigned_at=ld.created_at, closed_at=T0, outcome="lost")
            for ld in (old, recent)
        ),
    )
    new = [lead(f"N{i}", i, value=float(i)) for i in range(6)] + [lead("NV", 7)]
    route = ManualReview(top=0.25, window=DAY) | RoundRobin()
    result = Router(rules=[Rule(id="r", route=route)]).assign(state, new, now=T0 + HOUR)
    out = {a.lead_id: a.outcome for a in result.assignments}
    # window: R (100) and N0..N5: ceil(0.25 * 7) = 2 reviewed -> R (closed) and N5
    assert [k for k, v in out.items() if v == "manual_review"] == ["N5"]
    assert out["NV"] == "assigned"


def test_top_share_by_scorecard_score() -> None:
    """by='score' with a scorecard ranks on that scorecard's score."""
    card = Scorecard(factors=(Factor("source", 1, table={"referral": 100, "web": 10}),))
    state = PoolState(reps=(rep("a"),))
    leads = [
        lead("A", 0, source="web"),
        lead("B", 1, source="referral"),
        lead("C", 2, source="web"),
    ]
    route = ManualReview(top=0.3, by="score", scorecard=card) | RoundRobin()
    result = Router(rules=[Rule(id="r", route=route)]).assign(state, leads, now=T0 + HOUR)
    assert [a.outcome for a in result.assignments] == ["assigned", "manual_review", "assigned"]


def test_top_review_config_round_trip() -> None:
    """ManualReview(top, by, window, scorecard) survives to_config / from_config."""
    card = Scorecard(factors=(Factor("source", 1, table={"referral": 100}),))
    review = ManualReview(top=0.05, by="score", window=timedelta(days=7), scorecard=card)
    router = Router(rules=[Rule(id="r", route=review | RoundRobin())])
    cfg = router.to_config()
    assert cfg["rules"][0]["route"]["options"][0]["window"] == "P7D"
    assert Router.from_config(cfg) == router


def test_top_and_sample_are_exclusive() -> None:
    """Giving both top and sample is a StrategyError naming top."""
    with pytest.raises(StrategyError, match="top"):
        ManualReview(top=0.1, sample=0.1)


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(st.integers(0, 50), min_size=1, max_size=40),
    top=st.sampled_from([0.05, 0.2, 0.5, 1.0]),
)
def test_top_share_size_is_exact(values: list[int], top: float) -> None:
    """Exactly ceil(top * n) leads of a batch (all in the window) go to review, whatever the order."""
    import math

    state = PoolState(reps=(rep("a"),))
    leads = [lead(f"L{i:02d}", i, value=float(v)) for i, v in enumerate(values)]
    route = ManualReview(top=top) | RoundRobin()
    router = Router(rules=[Rule(id="r", route=route)])
    result = router.assign(state, leads, now=T0 + DAY)
    reviewed = sum(a.outcome == "manual_review" for a in result.assignments)
    assert reviewed == math.ceil(top * len(values))
    again = router.assign(state, list(reversed(leads)), now=T0 + DAY)
    assert {a.lead_id for a in again.assignments if a.outcome == "manual_review"} == {
        a.lead_id for a in result.assignments if a.outcome == "manual_review"
    }


# -- surge on the library's score --------------------------------------------------------

CARD = Scorecard(factors=(Factor("source", 1, table={"referral": 100, "web": 20}),))


def test_surge_fires_on_scorecard_score() -> None:
    """Surge(score_at_least=80, scorecard=card) counts leads the card scores >= 80."""
    state = PoolState(reps=(rep("a", capacity=Capacity(max_per_day=2)),))
    surge = Surge(score_at_least=80, scorecard=CARD, threshold=3, extra_per_day=2)
    router = Router(rules=[Rule(id="r", route=CARD >> surge >> CapacityCap() >> RoundRobin())])
    hot = [lead(f"H{i}", i, source="referral") for i in range(6)]
    result = router.assign(state, hot)
    assert [a.rep_id for a in result.assignments] == ["a", "a", None, "a", "a", None]
    facts: Any = result.audit[3].facts["surge"]
    assert facts["fired"] is True
    assert (facts["score"], facts["score_at_least"]) == (100.0, 80)


def test_surge_ignores_low_scores() -> None:
    """Leads the card scores below the bar neither count nor fire the breaker."""
    state = PoolState(reps=(rep("a", capacity=Capacity(max_per_day=2)),))
    surge = Surge(score_at_least=80, scorecard=CARD, threshold=3, extra_per_day=2)
    router = Router(rules=[Rule(id="r", route=surge >> CapacityCap() >> RoundRobin())])
    cold = [lead(f"C{i}", i, source="web") for i in range(6)]
    result = router.assign(state, cold)
    assert sum(a.rep_id is not None for a in result.assignments) == 2


def test_surge_score_needs_scorecard_and_round_trips() -> None:
    """score_at_least without a scorecard is an error; with one it survives the config."""
    with pytest.raises(StrategyError, match="scorecard"):
        Surge(score_at_least=80)
    router = Router(
        rules=[Rule(id="r", route=Surge(score_at_least=80, scorecard=CARD) >> RoundRobin())]
    )
    assert Router.from_config(router.to_config()) == router
