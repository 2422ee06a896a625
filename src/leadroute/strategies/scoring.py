"""Lead scoring, learned fit, best-fit selection and surge mode.

* :class:`Scorecard` -- a 0-100 lead score from weighted factors, computed
  once per lead and shown, factor by factor, in the decision's ``facts``.
* :class:`BestFit` -- the candidate with the highest fit index: a weighted
  sum of learned conversion for the lead's segment, load headroom, response
  history and level match, every component shown per candidate.
* :class:`Surge` -- a circuit breaker: when more than ``threshold`` matching
  leads arrive within ``window``, per-day caps are lifted by ``extra_per_day``.
* :class:`CardFit` -- a scorecard whose factors may read the rep and its live
  counters (target attainment, open load, response time); the candidate with
  the highest card score gets the lead.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from leadroute.audit import Drop
from leadroute.conditions import Condition, parse_condition
from leadroute.exceptions import ConfigError, StrategyError
from leadroute.fit import FitModel, PooledFit, fields_key, fit_statistics
from leadroute.jsondata import FrozenDict
from leadroute.logit import LogitFit, require_numpy
from leadroute.models import Rep, lead_value
from leadroute.strategies.attributes import fold
from leadroute.strategies.availability import as_duration
from leadroute.strategies.base import Filter, FilterOutcome, Pick, Selector
from leadroute.strategies.selectors import check_weight, longest_waiting

if TYPE_CHECKING:
    from leadroute.context import RouteContext
    from leadroute.models import Lead

__all__ = ["REP_COUNTERS", "BestFit", "CardFit", "Factor", "Scorecard", "Surge", "rep_value"]


@dataclass(frozen=True, slots=True, repr=False)
class Factor:
    """One scorecard factor: a lead field mapped to points (0-100), and its weight.

    Give exactly one mapping:

    * ``table`` -- value -> points (names match case-insensitively);
    * ``ranges`` -- ``(low, high, points)`` rows for ``low <= value < high``
      (``None`` leaves a side open), first match wins;
    * ``present`` -- points when the field is set;
    * ``fn`` -- a function of the value returning points.

    Missing or unmatched values score ``default``.

    ``source`` says what the field is read from: the lead (default); the rep
    (``"rep"``: a rep field, ``stats.x``, ``attributes.x``, or a live counter
    of :data:`REP_COUNTERS` such as ``attainment`` or ``open``); or
    ``"match"``: whether the lead's ``field`` is among the rep's
    ``rep_field`` values (``language`` against ``languages``), scoring
    ``present`` when it is. Rep-side factors need a rep, so they count only
    in :class:`CardFit`; a plain :class:`Scorecard` scores them ``default``.

    >>> Factor("attributes.grade", 0.3, table={"A": 100, "B": 60})
    Factor(field='attributes.grade', weight=0.3, table={'A': 100, 'B': 60})
    >>> Factor("attainment", 20, source="rep", ranges=((None, 50, 100), (50, None, 40)))
    Factor(field='attainment', weight=20, ranges=((None, 50, 100), (50, None, 40)), source='rep')

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 ``source`` and ``rep_field``.
    """

    field: str
    weight: float
    table: dict[str, float] | None = None
    ranges: tuple[tuple[float | None, float | None, float], ...] | None = None
    present: float | None = None
    fn: Callable[[Any], float] | None = None
    default: float = 0.0
    name: str | None = None
    source: Literal["lead", "rep", "match"] = "lead"
    rep_field: str | None = None
    _folded: dict[str, float] = dc_field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        given = [k for k in ("table", "ranges", "present", "fn") if getattr(self, k) is not None]
        if len(given) != 1:
            msg = f"Factor({self.field!r}): give exactly one of table, ranges, present, fn (got {given or 'none'})"
            raise StrategyError(msg, field="table")
        if (
            isinstance(self.weight, bool)
            or not isinstance(self.weight, (int, float))
            or not self.weight >= 0
        ):
            msg = f"Factor({self.field!r}, weight={self.weight!r}): weights are numbers >= 0"
            raise StrategyError(msg, field="weight")
        if self.source not in ("lead", "rep", "match"):
            msg = f"Factor({self.field!r}, source={self.source!r}): use 'lead', 'rep' or 'match'"
            raise StrategyError(msg, field="source")
        if self.source == "match" and self.present is None:
            msg = f"Factor({self.field!r}, source='match'): give present= (points when it matches)"
            raise StrategyError(msg, field="present")
        if self.rep_field is not None and self.source != "match":
            msg = f"Factor({self.field!r}): rep_field is for source='match'"
            raise StrategyError(msg, field="rep_field")
        if self.ranges is not None:
            rows = tuple(tuple(r) for r in self.ranges)
            for row in rows:
                if len(row) != 3:
                    msg = (
                        f"Factor({self.field!r}): a range is (low, high, points), got {list(row)!r}"
                    )
                    raise StrategyError(msg, field="ranges")
            object.__setattr__(self, "ranges", rows)
        if self.table is not None:
            # a copy the caller cannot change afterwards (the policy revision depends on it)
            object.__setattr__(self, "table", FrozenDict(self.table))
            self._folded.update({fold(str(k)): float(v) for k, v in self.table.items()})
        for pts in self._all_points():
            if not 0 <= pts <= 100:
                msg = f"Factor({self.field!r}): points must lie in 0..100, got {pts!r}"
                raise StrategyError(msg, field="table")

    def _all_points(self) -> list[float]:
        pts = [self.default]
        if self.table is not None:
            pts.extend(self.table.values())
        if self.ranges is not None:
            pts.extend(r[2] for r in self.ranges)
        if self.present is not None:
            pts.append(self.present)
        return pts

    @property
    def label(self) -> str:
        """The factor's name in the audit (``name``, else the field)."""
        return self.name or self.field

    def points(self, lead: Lead) -> tuple[float, Any]:
        """Points (0-100) of ``lead`` on this factor, and the raw value read."""
        if self.source != "lead":
            return self.default, None
        return self.map(lead_value(lead, self.field))

    def points_for(self, lead: Lead, rep: Rep, ctx: RouteContext) -> tuple[float, Any]:
        """Points of this factor for ``lead`` and ``rep`` (rep-side and match factors read the rep).

        .. versionadded:: 0.2.0
        """
        if self.source == "lead":
            return self.map(lead_value(lead, self.field))
        if self.source == "rep":
            return self.map(rep_value(rep, self.field, ctx))
        wanted = lead_value(lead, self.field)
        have = rep_value(rep, self.rep_field or self.field, ctx)
        if wanted is None or wanted == "" or have is None:
            return self.default, False
        pool = have if isinstance(have, (list, tuple)) else (have,)
        hit = fold(str(wanted)) in {fold(str(v)) for v in pool}
        return (self.present if hit and self.present is not None else self.default), hit

    def map(self, raw: Any) -> tuple[float, Any]:
        """Points (0-100) of the raw value ``raw``, and ``raw``.

        .. versionadded:: 0.2.0
        """
        missing = raw is None or raw == "" or raw == [] or raw == ()
        if self.present is not None:
            return (self.default if missing else self.present), raw
        if missing:
            return self.default, raw
        if self.table is not None:
            return self._folded.get(fold(str(raw)), self.default), raw
        if self.ranges is not None:
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                return self.default, raw
            for lo, hi, pts in self.ranges:
                if (lo is None or raw >= lo) and (hi is None or raw < hi):
                    return pts, raw
            return self.default, raw
        assert self.fn is not None
        return min(100.0, max(0.0, float(self.fn(raw)))), raw

    def params(self) -> dict[str, Any]:
        """Parameters that differ from their defaults."""
        out: dict[str, Any] = {"field": self.field, "weight": self.weight}
        for key in ("table", "ranges", "present", "fn"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.default:
            out["default"] = self.default
        if self.name:
            out["name"] = self.name
        if self.source != "lead":
            out["source"] = self.source
        if self.rep_field is not None:
            out["rep_field"] = self.rep_field
        return out

    def __repr__(self) -> str:
        body = ", ".join(
            f"{k}={getattr(v, '__qualname__', None) or v!r}" for k, v in self.params().items()
        )
        return f"Factor({body})"


@dataclass(frozen=True, slots=True, repr=False)
class Scorecard(Filter):
    """A 0-100 lead score from weighted factors; keeps every rep.

    Weights are normalized to sum to 1. The score is stored in the
    decision's ``facts`` under ``fact`` (``"score"``) with every factor's
    value, points, weight and contribution under ``fact + "_factors"``, and
    :class:`~leadroute.strategies.ValueTier` and :class:`BestFit` read it.
    Computed once per lead, however often the scorecard appears.

    >>> Scorecard(factors=(Factor("source", 1, table={"referral": 100}),))
    Scorecard(factors=[source])

    .. versionadded:: 0.1.0
    """

    factors: tuple[Factor, ...] = ()
    fact: str = "score"

    kind: ClassVar[str] = "filter"

    def __post_init__(self) -> None:
        factors = tuple(
            f if isinstance(f, Factor) else _factor_from(f, i) for i, f in enumerate(self.factors)
        )
        object.__setattr__(self, "factors", factors)
        if not factors:
            msg = "Scorecard(factors=()): give at least one Factor"
            raise StrategyError(msg, field="factors")
        if sum(f.weight for f in factors) <= 0:
            msg = "Scorecard: the factor weights sum to 0"
            raise StrategyError(msg, field="factors")

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        names = ", ".join(f.label for f in self.factors)
        fact = "" if self.fact == "score" else f", fact={self.fact!r}"
        return f"Scorecard(factors=[{names}]{fact})"

    def score(
        self, lead: Lead, rep: Rep | None = None, ctx: RouteContext | None = None
    ) -> tuple[float, dict[str, Any]]:
        """The lead's score (0-100, 4 decimals) and each factor's contribution.

        With ``rep`` and ``ctx``, rep-side factors read that rep; without,
        they score their ``default``.
        """
        total = sum(f.weight for f in self.factors)
        parts: dict[str, Any] = {}
        score = 0.0
        for f in self.factors:
            pts, raw = (
                f.points(lead) if rep is None or ctx is None else f.points_for(lead, rep, ctx)
            )
            w = f.weight / total
            contribution = w * pts
            score += contribution
            parts[f.label] = {
                "value": raw
                if raw is None or isinstance(raw, (str, int, float, bool))
                else str(raw),
                "points": pts,
                "weight": round(w, 6),
                "contribution": round(contribution, 4),
            }
        return round(score, 4), parts

    def cached_score(self, lead: Lead, ctx: RouteContext) -> float:
        """The lead's score, computed once per call (shared with :meth:`apply`).

        .. versionadded:: 0.2.0
        """
        key = (id(self), lead.id)
        found = ctx.memo.get(key)
        if found is None:
            found = self.score(lead)
            ctx.memo[key] = found
        return float(found[0])

    def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
        return None

    def apply(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> FilterOutcome:
        key = (id(self), lead.id)
        found = ctx.memo.get(key)
        if found is None:
            found = self.score(lead)
            ctx.memo[key] = found
        score, parts = found
        ctx.lead_facts[self.fact] = score
        ctx.lead_facts[f"{self.fact}_factors"] = parts
        return FilterOutcome(candidates, [], note=f"{self.fact} {score:g}")


def _factor_from(raw: Any, i: int) -> Factor:
    if not isinstance(raw, Mapping):
        msg = f"factors[{i}] is {raw!r}, not a Factor or a table"
        raise StrategyError(msg, field=f"factors[{i}]")
    data = dict(raw)
    if "ranges" in data and isinstance(data["ranges"], list):
        data["ranges"] = tuple(tuple(r) for r in data["ranges"])
    try:
        return Factor(**data)
    except TypeError as exc:
        raise StrategyError(str(exc), field=f"factors[{i}]") from None
    except StrategyError as exc:
        raise StrategyError(str(exc), field=f"factors[{i}].{exc.field}") from None


#: Default weights of :class:`BestFit`'s components.
BEST_FIT_WEIGHTS: dict[str, float] = {
    "conversion": 0.5,
    "headroom": 0.3,
    "response": 0.1,
    "level": 0.1,
}


@dataclass(frozen=True, slots=True, repr=False)
class BestFit(Selector):
    """The candidate with the highest fit index; ties broken by rotation.

    ``fit = sum(weights[c] * component[c])`` over the components, each in 0..1:

    * ``conversion`` -- the rep's smoothed win rate in the lead's segment
      (``segment_by`` lead fields), learned from the state's closed-lead
      history: ``(wins + k * p0) / (closed + k)`` with ``p0`` the team's rate
      in the segment and ``k = prior_strength``;
    * ``headroom`` -- ``1 - open / max_open`` (``default_max_open`` when unset);
    * ``response`` -- ``1 / (1 + median first-touch hours / 24)`` from the
      rep's closed leads (0.5 without history);
    * ``level`` -- ``1 - |level - wanted| / 4``, ``wanted = min(4, score // 20)``
      from the lead's score (1 without a score).

    The learned components (conversion, response) are switched off below
    ``min_history`` closed leads in the pool, and the audit says so.

    ``model="pooled"`` takes ``conversion`` from a :class:`~leadroute.fit.PooledFit`
    instead (lead attributes ``lead_by``, rep and rep x segment, shrunk by
    empirical Bayes; learned once per history and extended as leads close):
    no global ``min_history``, each estimate carries its own evidence.
    ``model_kind="logit"`` takes it from a :class:`~leadroute.logit.LogitFit`:
    a regularised logistic regression on the lead attributes ``lead_by`` and
    the segment, the rep, rep x segment and rep x each ``rep_by`` field, its
    prior variances estimated from the data; learned once and extended as
    leads close, refitted on a fixed schedule (:meth:`LogitFit.of
    <leadroute.logit.LogitFit.of>`; needs numpy: ``pip install "leadroute[solver]"``).
    ``explore=True`` (pooled or logit) uses a Thompson draw of each rep's rate,
    seeded by a stable hash of the router's seed, lead and rep, so every rep
    keeps being measured and the same input still gives the same pick.

    The learned figures (the history size ``closed_history``; per candidate
    ``conversion`` and ``response``, or with ``pooled`` and ``logit`` the
    ``estimates`` ``[estimate, sd, evidence, response]`` and the draw) are
    read through :meth:`RouteContext.learned
    <leadroute.context.RouteContext.learned>`, so with the full audit the
    decision keeps them and replays without the history.

    .. versionchanged:: 0.2.0
       ``model_kind="logit"`` and ``rep_by``; learned figures kept for replay.

    >>> BestFit(weights={"conversion": 0.7, "headroom": 0.3})
    BestFit(weights={'conversion': 0.7, 'headroom': 0.3})

    .. versionadded:: 0.1.0
    """

    weights: dict[str, float] = dc_field(default_factory=lambda: dict(BEST_FIT_WEIGHTS))
    segment_by: tuple[str, ...] = ("industry",)
    prior_strength: float = 10.0
    min_history: int = 300
    default_max_open: int = 100
    model_kind: Literal["segment", "pooled", "logit"] = "segment"
    lead_by: tuple[str, ...] = ("source",)
    explore: bool = False
    rep_by: tuple[str, ...] = ("source",)

    COMPONENTS: ClassVar[tuple[str, ...]] = ("conversion", "headroom", "response", "level")

    def __post_init__(self) -> None:
        object.__setattr__(self, "segment_by", tuple(self.segment_by))
        object.__setattr__(self, "lead_by", tuple(self.lead_by))
        object.__setattr__(self, "rep_by", tuple(self.rep_by))
        if self.model_kind not in ("segment", "pooled", "logit"):
            msg = f"BestFit(model_kind={self.model_kind!r}): use 'segment', 'pooled' or 'logit'"
            raise StrategyError(msg, field="model_kind")
        if self.explore and self.model_kind == "segment":
            msg = (
                "BestFit(explore=True) needs model_kind='pooled' or 'logit' "
                "(draws need an uncertainty)"
            )
            raise StrategyError(msg, field="explore")
        if self.model_kind == "logit":
            require_numpy("BestFit(model_kind='logit')")
        for name, w in self.weights.items():
            if name not in self.COMPONENTS:
                msg = (
                    f"BestFit(weights.{name}): unknown component (use {', '.join(self.COMPONENTS)})"
                )
                raise StrategyError(msg, field=f"weights.{name}")
            check_weight("BestFit", name, w)
        if self.prior_strength <= 0:
            msg = f"BestFit(prior_strength={self.prior_strength!r}): must be > 0"
            raise StrategyError(msg, field="prior_strength")
        if self.min_history < 0 or self.default_max_open < 1:
            msg = "BestFit: min_history must be >= 0 and default_max_open >= 1"
            raise StrategyError(msg, field="min_history")

    def __hash__(self) -> int:
        return id(self)

    def model(self, ctx: RouteContext) -> FitModel:
        """The fit model learned from ``ctx.state.history`` (once per call)."""
        key = (id(self), "model")
        model = ctx.memo.get(key)
        if model is None:
            stats = fit_statistics(ctx.state)
            if stats is not None:  # a store's aggregates stand in for the history
                model = stats.fit_model(
                    segment_by=self.segment_by,
                    lead_by=self.lead_by,
                    prior_strength=self.prior_strength,
                    min_history=self.min_history,
                )
            else:
                model = FitModel(
                    ctx.state.history,
                    segment_by=self.segment_by,
                    prior_strength=self.prior_strength,
                    min_history=self.min_history,
                )
            ctx.memo[key] = model
        return model

    def components(
        self, lead: Lead, rep: Rep, ctx: RouteContext, model: FitModel
    ) -> dict[str, float]:
        """The component values (0..1) of ``rep`` for ``lead``."""
        out: dict[str, float] = {}
        if model.enabled:
            out["conversion"] = model.estimate(rep.id, lead).rate
            hours = model.median_first_touch_hours(rep.id)
            out["response"] = 0.5 if hours is None else 1 / (1 + hours / 24)
        else:
            out["conversion"] = 0.0
            out["response"] = 0.0
        cap = rep.capacity.max_open or self.default_max_open
        out["headroom"] = max(0.0, 1 - ctx.open_count(rep.id) / cap)
        score = ctx.lead_facts.get("score", lead.score)
        if isinstance(score, (int, float)) and not isinstance(score, bool):
            wanted = min(4, int(score // 20))
            out["level"] = max(0.0, 1 - abs(rep.level - wanted) / 4)
        else:
            out["level"] = 1.0
        return out

    def pooled(self, ctx: RouteContext) -> PooledFit:
        """The pooled model of ``ctx.state.history`` (cached; extended, not relearned)."""
        stats = fit_statistics(ctx.state)
        if stats is not None:  # a store's aggregates stand in for the history
            return stats.pooled_fit(
                segment_by=self.segment_by, lead_by=self.lead_by, prior_leads=self.prior_strength
            )
        return PooledFit.of(
            ctx.state.history,
            segment_by=self.segment_by,
            lead_by=self.lead_by,
            prior_leads=self.prior_strength,
        )

    @property
    def reads_history(self) -> bool:
        """Whether this BestFit reads the whole closed history (``model_kind="logit"``).

        A store then loads the history instead of its fit aggregates.

        .. versionadded:: 0.2.0
        """
        return self.model_kind == "logit"

    def logit(self, ctx: RouteContext) -> LogitFit:
        """The logistic model of ``ctx.state.history`` (cached; extended, refitted on a schedule).

        .. versionadded:: 0.2.0
        """
        return LogitFit.of(
            ctx.state.history,
            segment_by=self.segment_by,
            lead_by=self.lead_by,
            rep_by=self.rep_by,
        )

    def _learned_model(self, ctx: RouteContext) -> PooledFit | LogitFit:
        """The pooled or logistic model of ``ctx.state.history`` (looked up once per call)."""
        key = (id(self), "learned model")
        model: PooledFit | LogitFit | None = ctx.memo.get(key)
        if model is None:
            model = self.logit(ctx) if self.model_kind == "logit" else self.pooled(ctx)
            ctx.memo[key] = model
        return model

    def _conversions(self, lead: Lead, reps: Sequence[Rep], ctx: RouteContext) -> list[float]:
        """Each rep's smoothed win rate in the lead's segment (``model_kind="segment"``)."""
        model = self.model(ctx)
        seg = model.segment_of(lead)
        k = model.prior_strength
        kp0 = k * model.prior(seg)
        counts = model.counts
        none = (0, 0)
        return [
            (wins + kp0) / (closed + k)
            for wins, closed in (counts.get((rep.id, seg), none) for rep in reps)
        ]

    def _responses(self, reps: Sequence[Rep], ctx: RouteContext) -> list[float]:
        """Each rep's response component, from its median first-touch hours (segment model)."""
        hours_of = self.model(ctx).median_first_touch_hours
        return [
            0.5 if hours is None else 1 / (1 + hours / 24)
            for hours in (hours_of(rep.id) for rep in reps)
        ]

    def _pooled_figures(
        self, lead: Lead, reps: Sequence[Rep], ctx: RouteContext
    ) -> list[list[float]]:
        """``[estimate, sd, evidence, response]`` of each rep, and the draw with ``explore``."""
        model = self._learned_model(ctx)
        explore = self.explore
        seed = ctx.seed
        out: list[list[float]] = []
        for rep in reps:
            est = model.estimate(rep.id, lead)
            hours = model.median_first_touch_hours(rep.id)
            row = [est.rate, est.sd, est.evidence, 0.5 if hours is None else 1 / (1 + hours / 24)]
            if explore:
                row.append(model.draw(rep.id, lead, seed, "bestfit"))
            out.append(row)
        return out

    def _select_pooled(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> Pick:
        closed = ctx.learned("closed_history", lambda: self._learned_model(ctx).closed)
        figures = ctx.learned_per_rep(
            "estimates", candidates, lambda reps: self._pooled_figures(lead, reps, ctx)
        )
        explore = self.explore
        weights = self.weights
        w_conv = weights.get("conversion", 0.0)
        w_head = weights.get("headroom", 0.0)
        w_resp = weights.get("response", 0.0)
        w_level = weights.get("level", 0.0)
        score = ctx.lead_facts.get("score", lead.score)
        wanted = (
            min(4, int(score // 20))
            if isinstance(score, (int, float)) and not isinstance(score, bool)
            else None
        )
        opens = ctx.open_counts
        scored: list[tuple[float, Rep, dict[str, float]]] = []
        for rep, row in zip(candidates, figures, strict=True):
            rate, sd, evidence, resp = row[0], row[1], row[2], row[3]
            conv = row[4] if explore else rate
            cap = rep.capacity.max_open or self.default_max_open
            head = max(0.0, 1 - opens.get(rep.id, 0) / cap)
            level = 1.0 if wanted is None else max(0.0, 1 - abs(rep.level - wanted) / 4)
            fit = w_conv * conv + w_head * head + w_resp * resp + w_level * level
            comp = {
                "conversion": conv,
                "estimate": rate,
                "sd": sd,
                "evidence": evidence,
                "response": resp,
                "headroom": head,
                "level": level,
            }
            scored.append((round(fit, 9), rep, comp))
        top = max(s[0] for s in scored)
        tied = [rep for fit, rep, _ in scored if fit == top]
        best, _v, _ = longest_waiting(tied, ctx.last_served)
        if not ctx.explain:
            return Pick(best, "", {})
        ranked = sorted(scored, key=lambda s: (-s[0], ctx.order(s[1].id)))
        shown = ranked[:10]
        mode = "Thompson draw of " if self.explore else ""
        why = (
            f"{best.id} has the highest fit {top:.4f} ({len(tied)} tied); "
            f"{mode}{self.model_kind} fit on {closed} closed leads"
        )
        rationale: dict[str, Any] = {
            "why": why,
            "fit": top,
            "learned": True,
            "closed_history": closed,
            "weights": dict(weights),
            "segment": fields_key(lead, self.segment_by),
            "candidates": {
                rep.id: {"fit": fit, **{c: round(v, 6) for c, v in comp.items()}}
                for fit, rep, comp in shown
            },
        }
        if len(ranked) > 10:
            rationale["more"] = _components_table(ranked[10:])
        return Pick(best, why, rationale)

    def select(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> Pick | None:
        if not candidates:
            return None
        if self.model_kind != "segment":
            return self._select_pooled(lead, candidates, ctx)
        closed = ctx.learned("closed_history", lambda: self.model(ctx).closed)
        enabled = closed >= self.min_history
        weights = dict(self.weights)
        if not enabled:
            weights["conversion"] = 0.0
            weights["response"] = 0.0
        scored: list[tuple[float, Rep, dict[str, float]]] = []
        # the per-candidate loop of components(), the learned parts read through the context
        convs: list[float] = []
        resps: list[float] = []
        if enabled:
            convs = ctx.learned_per_rep(
                "conversion", candidates, lambda reps: self._conversions(lead, reps, ctx)
            )
            resps = ctx.learned_per_rep(
                "response", candidates, lambda reps: self._responses(reps, ctx)
            )
        score = ctx.lead_facts.get("score", lead.score)
        wanted = (
            min(4, int(score // 20))
            if isinstance(score, (int, float)) and not isinstance(score, bool)
            else None
        )
        w_conv = weights.get("conversion", 0.0)
        w_head = weights.get("headroom", 0.0)
        w_resp = weights.get("response", 0.0)
        w_level = weights.get("level", 0.0)
        opens = ctx.open_counts
        for i, rep in enumerate(candidates):
            if enabled:
                conv, resp = convs[i], resps[i]
            else:
                conv = resp = 0.0
            cap = rep.capacity.max_open or self.default_max_open
            head = max(0.0, 1 - opens.get(rep.id, 0) / cap)
            level = 1.0 if wanted is None else max(0.0, 1 - abs(rep.level - wanted) / 4)
            fit = w_conv * conv + w_head * head + w_resp * resp + w_level * level
            comp = {"conversion": conv, "response": resp, "headroom": head, "level": level}
            scored.append((round(fit, 9), rep, comp))
        top = max(s[0] for s in scored)
        tied = [rep for fit, rep, _ in scored if fit == top]
        best, _v, _ = longest_waiting(tied, ctx.last_served)
        ranked = sorted(scored, key=lambda s: (-s[0], ctx.order(s[1].id)))
        shown = ranked[:10]
        learned = (
            f"learned fit on ({closed} closed leads)"
            if enabled
            else f"learned fit off: {closed} closed leads < {self.min_history}"
        )
        why = f"{best.id} has the highest fit {top:.4f} ({len(tied)} tied); {learned}"
        rationale: dict[str, Any] = {
            "why": why,
            "fit": top,
            "learned": enabled,
            "closed_history": closed,
            "weights": weights,
            "segment": fields_key(lead, self.segment_by),
            "candidates": {
                rep.id: {"fit": fit, **{c: round(v, 6) for c, v in comp.items()}}
                for fit, rep, comp in shown
            },
        }
        if len(ranked) > 10:
            rationale["more"] = _components_table(ranked[10:])
        return Pick(best, why, rationale)


def _components_table(rest: list[tuple[float, Rep, dict[str, float]]]) -> dict[str, Any]:
    """The fit and components of the candidates beyond the first 10, as columns and rows.

    .. versionadded:: 0.2.0
    """
    columns = ["fit", *rest[0][2]]
    return {
        "columns": columns,
        "rows": {rep.id: [fit, *(round(v, 6) for v in comp.values())] for fit, rep, comp in rest},
    }


@dataclass(frozen=True, slots=True, repr=False)
class Surge(Filter):
    """Circuit breaker: lift per-day caps when matching leads arrive in a burst.

    When more than ``threshold`` leads matching ``when`` were created within
    ``window`` up to the decision time (counting this batch and the leads
    open or pooled in the state), a matching lead gets ``extra_per_day`` more
    room under every later :class:`~leadroute.strategies.CapacityCap`'s
    per-day cap, for the reps still in the route (put
    :class:`~leadroute.strategies.Availability` first to limit it to reps on
    shift). The decision's ``facts["surge"]`` records that it fired and why.

    With ``score_at_least`` and ``scorecard``, a lead matches only when that
    :class:`Scorecard` scores it at least so high (and ``when``, if given,
    matches): the breaker fires on the library's own score, computed for
    every lead counted. Put the same scorecard first in the route to show
    its factors (the score is computed once). The arrival count is read
    through :meth:`RouteContext.learned <leadroute.context.RouteContext.learned>`
    (``arrivals``), so the decision replays from its record.

    >>> Surge(when={"field": "score", "gte": 80}, threshold=20)
    Surge(when={'field': 'score', 'gte': 80}, threshold=20)

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 ``score_at_least`` and ``scorecard``.
    """

    when: Any = None
    threshold: int = 10
    window: timedelta = timedelta(hours=1)
    extra_per_day: int = 2
    score_at_least: float | None = None
    scorecard: Scorecard | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "scorecard", as_scorecard(self.scorecard, "Surge"))
        if self.score_at_least is not None:
            if (
                isinstance(self.score_at_least, bool)
                or not isinstance(self.score_at_least, (int, float))
                or not 0 <= self.score_at_least <= 100
            ):
                msg = f"Surge(score_at_least={self.score_at_least!r}): a score in 0..100"
                raise StrategyError(msg, field="score_at_least")
            if self.scorecard is None:
                msg = "Surge(score_at_least=...): give the scorecard that computes the score"
                raise StrategyError(msg, field="scorecard")
        try:
            cond = parse_condition(self.when, "when")
        except ConfigError as exc:
            raise StrategyError(str(exc), field="when") from None
        object.__setattr__(self, "when", cond)
        window = as_duration(self.window, "window", "Surge")
        if window is None or window <= timedelta(0):
            msg = f"Surge(window={self.window!r}): must be a positive duration"
            raise StrategyError(msg, field="window")
        object.__setattr__(self, "window", window)
        if self.threshold < 0 or self.extra_per_day < 0:
            msg = "Surge: threshold and extra_per_day must be >= 0"
            raise StrategyError(msg, field="threshold")

    def __hash__(self) -> int:
        return id(self)

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.when is not None:
            out["when"] = self.when.to_config() if isinstance(self.when, Condition) else self.when
        if self.threshold != 10:
            out["threshold"] = self.threshold
        if self.window != timedelta(hours=1):
            out["window"] = self.window
        if self.extra_per_day != 2:
            out["extra_per_day"] = self.extra_per_day
        if self.score_at_least is not None:
            out["score_at_least"] = self.score_at_least
        if self.scorecard is not None:
            out["scorecard"] = self.scorecard
        return out

    def _matches(self, lead: Lead, ctx: RouteContext | None = None) -> bool:
        cond = self.when
        if cond is not None and not cond.matches(lead):
            return False
        if self.score_at_least is None or self.scorecard is None or ctx is None:
            return True
        return self.scorecard.cached_score(lead, ctx) >= self.score_at_least

    def _arrivals(self, ctx: RouteContext) -> list[Any]:
        key = (id(self), "arrivals")
        times = ctx.memo.get(key)
        if times is None:
            seen: set[str] = set()
            found = []
            state = ctx.state
            pools = [o.lead for o in state.open_leads.values()] + [
                p.lead for p in state.pool.values()
            ]
            for lead in (*ctx.batch, *pools):
                if lead.id not in seen and self._matches(lead, ctx):
                    seen.add(lead.id)
                    found.append(lead.created_at)
            times = sorted(found)
            ctx.memo[key] = times
        return times

    def _count(self, ctx: RouteContext) -> int:
        """Matching leads created within ``window`` up to the decision time."""
        times = self._arrivals(ctx)
        now = ctx.now
        return bisect.bisect_right(times, now) - bisect.bisect_right(times, now - self.window)

    def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
        return None

    def apply(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> FilterOutcome:
        if not self._matches(lead, ctx):
            return FilterOutcome(candidates, [], note="lead does not match the surge condition")
        # read from the batch and the state's open and pooled leads: recorded for replay
        count = ctx.learned("arrivals", lambda: self._count(ctx))
        fired = count > self.threshold
        ctx.lead_facts["surge"] = {
            "fired": fired,
            "arrivals": count,
            "threshold": self.threshold,
            "window": str(self.window),
            "extra_per_day": self.extra_per_day if fired else 0,
        }
        if self.score_at_least is not None and self.scorecard is not None:
            surge = ctx.lead_facts["surge"]
            surge["score"] = self.scorecard.cached_score(lead, ctx)
            surge["score_at_least"] = self.score_at_least
        note = (
            f"surge fired: {count} matching leads in {self.window} > {self.threshold}; "
            f"per-day caps +{self.extra_per_day}"
            if fired
            else f"no surge: {count} matching leads in {self.window}"
        )
        return FilterOutcome(candidates, [], note=note)


def as_scorecard(value: Any, owner: str) -> Scorecard | None:
    """``value`` as a :class:`Scorecard`; ``None`` stays ``None``.

    A scorecard's config form is read where the route is
    (:func:`leadroute.strategies.codec.parse_route`).

    .. versionadded:: 0.2.0
    .. versionchanged:: 0.2.0
       A config form is no longer read here (the codec reads it).
    """
    if value is None or isinstance(value, Scorecard):
        return value
    msg = (
        f"{owner}(scorecard={value!r}): a Scorecard "
        "(its config form is read by leadroute.strategies.codec.parse_route)"
    )
    raise StrategyError(msg, field="scorecard")


#: Live rep counters a ``Factor(source="rep")`` may read, besides rep fields,
#: ``stats.x`` and ``attributes.x``.
REP_COUNTERS: dict[str, str] = {
    "open": "open leads the rep holds now (this call's earlier assignments included)",
    "load_pct": "100 * open / capacity.max_open (None without max_open)",
    "assigned_today": "leads assigned in the rep's local day",
    "assigned_in_period": "leads assigned in the rep's rolling capacity period",
    "won_this_month": "leads the rep won in its local calendar month (state history)",
    "attainment": "target attainment this month in percent: stats.attainment if the CRM "
    "supplies it, else 100 * won_this_month / monthly_target (stats or attributes)",
    "response_hours": "median hours from assignment to first activity (closed leads)",
}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _won_by_month(ctx: RouteContext) -> dict[tuple[str, str], int]:
    """Wins per (rep id, rep-local ``YYYY-MM``) from the state's history (once per call)."""
    key = ("rep_value", "won")
    found = ctx.memo.get(key)
    if found is None:
        found = {}
        index = ctx.state.rep_index
        for c in ctx.state.history:
            rep = index.get(c.rep_id)
            if c.outcome != "won" or rep is None:
                continue
            month = rep.local_time(c.closed_at).strftime("%Y-%m")
            found[(c.rep_id, month)] = found.get((c.rep_id, month), 0) + 1
        ctx.memo[key] = found
    return found


def _response_hours(ctx: RouteContext) -> dict[str, float]:
    key = ("rep_value", "response")
    found = ctx.memo.get(key)
    if found is None:
        hours: dict[str, list[float]] = {}
        for c in ctx.state.history:
            if c.first_activity_at is not None:
                delta: datetime = c.first_activity_at
                h = (delta - c.assigned_at).total_seconds() / 3600
                hours.setdefault(c.rep_id, []).append(h)
        found = {}
        for rep_id, values in hours.items():
            values.sort()
            n = len(values)
            found[rep_id] = values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2
        ctx.memo[key] = found
    return found


def rep_value(rep: Rep, name: str, ctx: RouteContext) -> Any:
    """Read ``name`` of ``rep`` at the decision time: a live counter, a field, ``stats.x``
    or ``attributes.x`` (a bare name falls back to ``stats``, then ``attributes``).

    .. versionadded:: 0.2.0
    """
    if name == "open":
        return ctx.open_count(rep.id)
    if name == "load_pct":
        cap = rep.capacity.max_open
        return None if not cap else round(100 * ctx.open_count(rep.id) / cap, 4)
    if name == "assigned_today":
        return ctx.assigned_today(rep)
    if name == "assigned_in_period":
        return ctx.assigned_in_period(rep)
    if name == "won_this_month":
        # from the state's history: recorded for replay
        return ctx.learned(
            f"won_this_month:{rep.id}",
            lambda: _won_by_month(ctx).get((rep.id, rep.local_time(ctx.now).strftime("%Y-%m")), 0),
        )
    if name == "attainment":
        given = _number(rep.stats.get("attainment"))
        if given is not None:
            return given
        target = _number(rep.stats.get("monthly_target"))
        if target is None:
            target = _number(rep.attributes.get("monthly_target"))
        if not target:
            return None
        return round(100 * rep_value(rep, "won_this_month", ctx) / target, 4)
    if name == "response_hours":
        return ctx.learned(f"response_hours:{rep.id}", lambda: _response_hours(ctx).get(rep.id))
    if name.startswith("stats."):
        return rep.stats.get(name[len("stats.") :])
    if name.startswith("attributes."):
        return rep.attributes.get(name[len("attributes.") :])
    if name in Rep.model_fields:
        return getattr(rep, name)
    if name in rep.stats:
        return rep.stats[name]
    return rep.attributes.get(name)


@dataclass(frozen=True, slots=True, repr=False)
class CardFit(Selector):
    """The candidate with the highest scorecard score, rep-side factors included.

    A :class:`Scorecard` of lead factors and rep factors
    (``Factor(..., source="rep")``, ``source="match"``) computed per
    candidate: the lead's part once, the rep's part for each rep (target
    attainment this month, open load, response time, language match...).
    The highest score wins; ties go to the candidate waiting longest. The
    winner's score and factors are in ``facts[fact]`` and
    ``facts[fact + "_factors"]``; the rationale lists the ten best.

    >>> CardFit(factors=(Factor("attainment", 1, source="rep", ranges=((None, 100, 100),)),))
    CardFit(factors=[attainment])

    .. versionadded:: 0.2.0
    """

    factors: tuple[Factor, ...] = ()
    fact: str = "fit"
    _card: Any = dc_field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        card = Scorecard(factors=self.factors, fact=self.fact)
        object.__setattr__(self, "factors", card.factors)
        object.__setattr__(self, "_card", card)

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        names = ", ".join(f.label for f in self.factors)
        fact = "" if self.fact == "fit" else f", fact={self.fact!r}"
        return f"CardFit(factors=[{names}]{fact})"

    @property
    def card(self) -> Scorecard:
        """The scorecard behind this selector."""
        card: Scorecard = self._card
        return card

    def select(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> Pick | None:
        if not candidates:
            return None
        card = self.card
        total = sum(f.weight for f in self.factors)
        # the lead's points once; the rep's per candidate; summed in factor order as
        # Scorecard.score does, so the figures are the same
        plan = [
            (f, f.weight / total, None if f.source != "lead" else f.points(lead)[0])
            for f in self.factors
        ]
        scored: list[tuple[float, Rep, dict[str, float]]] = []
        for rep in candidates:
            score = 0.0
            points: dict[str, float] = {}
            for f, w, pts in plan:
                if pts is None:
                    pts = f.points_for(lead, rep, ctx)[0]
                    points[f.label] = pts
                score += w * pts
            scored.append((round(score, 4), rep, points))
        top = max(s[0] for s in scored)
        tied = [rep for score, rep, _p in scored if score == top]
        best, _v, _ = longest_waiting(tied, ctx.last_served)
        ctx.lead_facts[self.fact] = top
        ctx.lead_facts[f"{self.fact}_factors"] = card.score(lead, best, ctx)[1]
        why = f"{best.id} has the highest card score {top:g} ({len(tied)} tied)"
        if not ctx.explain:
            return Pick(best, why, {})
        shown = sorted(scored, key=lambda s: (-s[0], ctx.order(s[1].id)))[:10]
        rationale: dict[str, Any] = {
            "why": why,
            "score": top,
            "candidates": {rep.id: {"score": score, **p} for score, rep, p in shown},
        }
        return Pick(best, why, rationale)
