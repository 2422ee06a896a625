"""Batch-optimal selection: plan the whole call's leads jointly, then hand them out.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from leadroute.exceptions import StrategyError
from leadroute.fit import PooledFit
from leadroute.hashing import unit_draw
from leadroute.logit import LogitFit, require_numpy
from leadroute.models import lead_value
from leadroute.optimize import solve
from leadroute.strategies.base import Pick, Selector

if TYPE_CHECKING:
    from leadroute.context import RouteContext
    from leadroute.models import Lead, Rep

__all__ = ["BatchFit"]

#: The size of the stable-hash tie-break added to each cost (far below any real difference).
TIE = 1e-9


@dataclass(frozen=True, slots=True, repr=False)
class BatchFit(Selector):
    """Assign the call's leads jointly: most expected conversions under share caps.

    On the first lead of a call it plans the whole batch (``ctx.batch``) with
    the exact solver :func:`leadroute.optimize.solve`: maximise the sum of
    the leads' estimated conversion (a :class:`~leadroute.fit.PooledFit`
    learned from the state's history, cached and extended incrementally)
    subject to, per rep j with weight share ``s_j`` among the active reps:

    * at most ``floor(d_j + max_share * s_j * n)`` of the ``n`` leads, where
      ``d_j`` is the rep's running deficit (its fair share accrued while
      eligible, minus what this selector gave it; kept in the state), so a
      rep short of its share gets more room next time and no rep runs ahead
      of its share by more than ``slack`` leads plus ``max_share - 1`` times
      one batch's share (a larger ``slack`` lets the plan trade across
      batches: more conversions, a less even count);
    * at least ``ceil(d_j + min_share * s_j * n)`` when there are leads for it;
    * its open-lead room (``capacity.max_open``), if set.

    ``horizon`` > 0 plans the batch together with that many recent closed
    leads from the history standing in for the leads still to come (their
    plan is thrown away): a batch lead then goes to a strong rep only if it
    gains more there than the leads that will compete for the same room, which
    brings daily batches close to a plan over the whole stream.

    ``value_tiers`` > 1 ranks the batch by lead value (``value``, else
    ``score``) into that many equal tiers and applies the caps in each tier,
    so reps get a fair part of the valuable leads, not only of the count.
    ``explore=True`` plans on Thompson draws (hash-seeded, reproducible)
    instead of the mean estimates, so every rep keeps being measured. Ties
    between equal costs are broken by a stable hash of seed, lead and rep.

    ``model_kind="logit"`` plans on a :class:`~leadroute.logit.LogitFit`
    (a regularised logistic regression on lead attributes ``lead_by``, rep,
    rep x segment and rep x ``rep_by``; needs numpy, extra ``solver``) instead
    of the pooled rates; with ``horizon=400`` (and ``rep_by=()``, as the
    simulated team has no rep x source skill) it is the best policy with even
    counts in ``benchmarks/bench_quality.py`` (89.2% of the optimum at Gini
    0.038; the issue's 91% is not reached, see docs/lab.md).

    Each lead then gets its planned rep if still a candidate, else the
    candidate furthest behind its share. The rationale names the planned
    rep, the runner-up at the plan's prices and the cost gap between them.

    >>> BatchFit(max_share=1.1)
    BatchFit(max_share=1.1)

    .. versionadded:: 0.2.0
    """

    segment_by: tuple[str, ...] = ("industry",)
    lead_by: tuple[str, ...] = ("source",)
    max_share: float = 1.2
    min_share: float = 0.0
    slack: float = 0.0
    horizon: int = 0
    value_tiers: int = 1
    explore: bool = False
    prior_leads: float = 10.0
    solver: Literal["python", "scipy"] = "python"
    model_kind: Literal["pooled", "logit"] = "pooled"
    rep_by: tuple[str, ...] = ("source",)

    kind: ClassVar[str] = "selector"

    def __post_init__(self) -> None:
        object.__setattr__(self, "segment_by", tuple(self.segment_by))
        object.__setattr__(self, "lead_by", tuple(self.lead_by))
        object.__setattr__(self, "rep_by", tuple(self.rep_by))
        if self.model_kind not in ("pooled", "logit"):
            msg = f"BatchFit(model_kind={self.model_kind!r}): use 'pooled' or 'logit'"
            raise StrategyError(msg, field="model_kind")
        if self.model_kind == "logit":
            require_numpy("BatchFit(model_kind='logit')")
        if not (isinstance(self.max_share, (int, float)) and self.max_share >= 1):
            msg = f"BatchFit(max_share={self.max_share!r}): a multiple of the even share, >= 1"
            raise StrategyError(msg, field="max_share")
        if isinstance(self.horizon, bool) or not isinstance(self.horizon, int) or self.horizon < 0:
            msg = f"BatchFit(horizon={self.horizon!r}): a number of recent leads >= 0"
            raise StrategyError(msg, field="horizon")
        if not (isinstance(self.slack, (int, float)) and 0 <= self.slack < math.inf):
            msg = f"BatchFit(slack={self.slack!r}): leads a rep may run ahead of its share, >= 0"
            raise StrategyError(msg, field="slack")
        if not (isinstance(self.min_share, (int, float)) and 0 <= self.min_share <= 1):
            msg = f"BatchFit(min_share={self.min_share!r}): a multiple of the even share in 0..1"
            raise StrategyError(msg, field="min_share")
        if (
            isinstance(self.value_tiers, bool)
            or not isinstance(self.value_tiers, int)
            or self.value_tiers < 1
        ):
            msg = f"BatchFit(value_tiers={self.value_tiers!r}): an integer >= 1"
            raise StrategyError(msg, field="value_tiers")
        if self.prior_leads <= 0:
            msg = f"BatchFit(prior_leads={self.prior_leads!r}): must be > 0"
            raise StrategyError(msg, field="prior_leads")
        if self.solver not in ("python", "scipy"):
            msg = f"BatchFit(solver={self.solver!r}): use 'python' or 'scipy'"
            raise StrategyError(msg, field="solver")

    def __hash__(self) -> int:
        return id(self)

    def model(self, ctx: RouteContext) -> PooledFit | LogitFit:
        """The fit model of ``ctx.state.history`` (cached: learned once, extended as leads close)."""
        if self.model_kind == "logit":
            return LogitFit.of(
                ctx.state.history,
                segment_by=self.segment_by,
                lead_by=self.lead_by,
                rep_by=self.rep_by,
            )
        return PooledFit.of(
            ctx.state.history,
            segment_by=self.segment_by,
            lead_by=self.lead_by,
            prior_leads=self.prior_leads,
        )

    def _plan(self, ctx: RouteContext) -> dict[str, tuple[str | None, str | None, float, float]]:
        key = (id(self), "plan", ctx.path)
        found: dict[str, tuple[str | None, str | None, float, float]] | None = ctx.memo.get(key)
        if found is not None:
            return found
        model = self.model(ctx)
        reps = [r for r in ctx.state.reps if r.active and not r.paused and r.weight > 0]
        leads = list(ctx.batch)
        plan: dict[str, tuple[str | None, str | None, float, float]] = {}
        ctx.memo[key] = plan
        if not reps or not leads:
            return plan
        real = len(leads)
        if self.horizon:
            # recent closed leads stand in for the leads still to come: the batch competes
            # with them for the reps' room, as it would with the future
            ids = {x.id for x in leads}
            leads.extend(c.lead for c in ctx.state.history[-self.horizon :] if c.lead.id not in ids)
        total_w = sum(r.weight for r in reps)
        share = [r.weight / total_w for r in reps]
        deficit = recentred(ctx.credits, reps, share)
        n = len(leads)
        room = [
            None
            if r.capacity.max_open is None
            else max(0, r.capacity.max_open - ctx.open_count(r.id))
            for r in reps
        ]
        est: list[list[float]] = []
        for lead in leads:
            if self.explore:
                est.append([model.draw(r.id, lead, ctx.seed, "batchfit") for r in reps])
            else:
                est.append([model.estimate(r.id, lead).rate for r in reps])
        for tier in _tiers(leads, self.value_tiers):
            part = len(tier) / n
            hi = []
            lo = []
            for j in range(len(reps)):
                cap = max(
                    0,
                    math.floor(
                        part * (deficit[j] + self.slack)
                        + self.max_share * share[j] * len(tier)
                        + 1e-9
                    ),
                )
                if room[j] is not None:
                    cap = min(cap, room[j] or 0)
                hi.append(cap)
                low = max(
                    0, math.ceil(part * deficit[j] + self.min_share * share[j] * len(tier) - 1e-9)
                )
                lo.append(min(low, cap) if self.min_share > 0 else 0)
            # columns: each rep's guaranteed slots (a bonus makes them fill first), then the rest
            bonus = 2.0 + len(tier) * TIE
            m = len(reps)
            costs: list[list[float | None]] = []
            for i in tier:
                lead = leads[i]
                base: list[float | None] = [
                    -est[i][j] + TIE * unit_draw(ctx.seed, "batchfit", lead.id, reps[j].id)
                    for j in range(m)
                ]
                costs.append([None if c is None else c - bonus for c in base] + base)
            caps = [*lo, *(h - lo_ for h, lo_ in zip(hi, lo, strict=True))]
            result = solve(costs, caps, method=self.solver)
            for pos, i in enumerate(tier):
                if i >= real:
                    continue
                at = result.assignment[pos]
                lead = leads[i]
                if at < 0:
                    plan[lead.id] = (None, None, 0.0, 0.0)
                    continue
                j = at % m
                if room[j] is not None:
                    room[j] = (room[j] or 0) - 1
                runner = None
                gap = 0.0
                # the runner-up: the best other rep at the plan's prices (either column of it)
                mine = (costs[pos][at] or 0.0) + result.prices[at]
                best_v = math.inf
                for col, c in enumerate(costs[pos]):
                    if c is None or col % m == j:
                        continue
                    v = c + result.prices[col]
                    if v < best_v:
                        best_v, runner = v, reps[col % m].id
                if runner is not None:
                    gap = max(0.0, best_v - mine)
                plan[lead.id] = (reps[j].id, runner, round(gap, 9), round(est[i][j], 9))
        return plan

    def select(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> Pick | None:
        if not candidates:
            return None
        plan = self._plan(ctx)
        planned, runner, gap, rate = plan.get(lead.id, (None, None, 0.0, 0.0))
        eligible = [r for r in ctx.state.reps if r.active and not r.paused and r.weight > 0]
        total_w = sum(r.weight for r in eligible) or 1.0
        share = [r.weight / total_w for r in eligible]
        deficit = recentred(ctx.credits, eligible, share)
        behind = {r.id: d + s for r, d, s in zip(eligible, deficit, share, strict=True)}
        chosen: Rep | None = None
        if planned is not None:
            for rep in candidates:
                if rep.id == planned:
                    chosen = rep
                    break
        fallback = chosen is None
        if chosen is None:
            chosen = max(candidates, key=lambda r: (behind.get(r.id, -math.inf), -ctx.order(r.id)))
        credits = {r.id: behind[r.id] for r in eligible}
        if chosen.id in credits:
            credits[chosen.id] -= 1.0
        if not ctx.explain:
            return Pick(chosen, "", {}, credits=credits)
        if fallback:
            why = (
                f"{chosen.id} is furthest behind its share among the candidates "
                f"(planned rep {planned or 'none'} is not a candidate)"
            )
        else:
            why = (
                f"{chosen.id} is this lead's rep in the batch plan ({len(ctx.batch)} leads, "
                f"estimated conversion {rate:.4f})"
                + (f"; runner-up {runner} would cost {gap:.4f} more" if runner else "")
            )
        rationale: dict[str, Any] = {
            "why": why,
            "planned": planned,
            "runner_up": runner,
            "cost_gap": gap,
            "estimate": rate,
            "batch": len(ctx.batch),
            "fallback": fallback,
        }
        return Pick(chosen, why, rationale, credits=credits)


def recentred(credits: Any, reps: Sequence[Rep], share: Sequence[float]) -> list[float]:
    """The reps' running credits shifted so they sum to 0 over ``reps`` (by share).

    A rep who was dropped keeps a credit frozen in the state; without the
    shift the others' credits would not sum to 0 and the rotation would run
    ahead of or behind its targets.

    .. versionadded:: 0.2.0
    """
    raw = [float(credits.get(r.id, 0.0)) for r in reps]
    excess = sum(raw)
    return [c - excess * s for c, s in zip(raw, share, strict=True)]


def _tiers(leads: Sequence[Lead], k: int) -> list[list[int]]:
    """Indices of ``leads`` split into ``k`` value tiers (highest value first), stable order."""
    if k <= 1:
        return [list(range(len(leads)))]

    def worth(lead: Lead) -> float:
        v = lead.value if lead.value is not None else lead_value(lead, "score")
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0

    order = sorted(range(len(leads)), key=lambda i: (-worth(leads[i]), i))
    size = len(order)
    out = [order[t * size // k : (t + 1) * size // k] for t in range(k)]
    return [sorted(t) for t in out if t]
