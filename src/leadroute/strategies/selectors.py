"""Selectors: pick one rep from the candidates that survived the filters.

Every selector keeps its memory (rotation turn, last-served turns, weighted
credits) in the pool state under its place in the policy, so a later call
continues where this one stopped.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from leadroute.exceptions import StrategyError
from leadroute.hashing import unit_draw
from leadroute.limits import MAX_WEIGHT, as_duration, short_repr
from leadroute.models import lead_value
from leadroute.services import NEVER as _NEVER
from leadroute.services import scan_longest_waiting
from leadroute.strategies.base import Pick, Selector

if TYPE_CHECKING:
    from leadroute.context import RouteContext
    from leadroute.models import Lead, Rep
    from leadroute.strategies.scoring import Scorecard

__all__ = ["AssignTo", "LeastLoaded", "ManualReview", "RandomPick", "RoundRobin", "Weighted"]


def rep_number(rep: Rep, by: str) -> float:
    """A numeric rep field (``weight``, ``level``) or ``attributes[by]``; missing reads 0."""
    value: Any = getattr(rep, by, None) if by in type(rep).model_fields else rep.attributes.get(by)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return float(value)


def check_weight(owner: str, key: str, weight: object) -> None:
    """Raise :class:`StrategyError` naming ``weights.<key>`` unless ``weight`` is in 0..MAX_WEIGHT."""
    if (
        isinstance(weight, bool)
        or not isinstance(weight, (int, float))
        or not 0 <= weight <= MAX_WEIGHT
    ):
        msg = (
            f"{owner}(weights.{key}={short_repr(weight)}): weights are numbers in 0..{MAX_WEIGHT:g}"
        )
        raise StrategyError(msg, field=f"weights.{key}")


def longest_waiting(candidates: list[Rep], last: Mapping[str, int]) -> tuple[Rep, int, Rep | None]:
    """The candidate served longest ago (never-served first; ties by roster order) and the next.

    The plain scan (:func:`leadroute.services.scan_longest_waiting`); a
    selector routing through the engine asks :meth:`RouteContext.longest_waiting`,
    which answers shared index cells without a scan.
    """
    return scan_longest_waiting(candidates, last)


def _served(v: int) -> str:
    return "never served" if v == _NEVER else f"last served at turn {v}"


@dataclass(frozen=True, slots=True, repr=False)
class RoundRobin(Selector):
    """Rotate over the route's reps in a stable order.

    The rep who has waited longest since their last lead gets the next one
    (reps never served first, in roster order). A rep dropped by a filter
    keeps their place: when eligible again they are first in line. A rep
    added to the roster joins at the front; removing one changes no one
    else's turn. The memory lives in the pool state, so rotation continues
    across calls.

    >>> RoundRobin()
    RoundRobin()

    .. versionadded:: 0.1.0
    """

    def select(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> Pick | None:
        if not candidates:
            return None
        best, best_v, second = ctx.longest_waiting(candidates, with_next=ctx.explain)
        if not ctx.explain:
            return Pick(best, "", {})
        why = f"{best.id} waited longest ({_served(best_v)}; turn now {ctx.turn})"
        rationale: dict[str, Any] = {
            "why": why,
            "turn": ctx.turn,
            "last_served": None if best_v == _NEVER else best_v,
            "next_in_line": None if second is None else second.id,
        }
        return Pick(best, why, rationale)


@dataclass(frozen=True, slots=True, repr=False)
class Weighted(Selector):
    """Deterministic weighted rotation (smooth weighted round robin).

    Each pick adds every candidate's weight to its credit, gives the lead to
    the highest credit (ties by roster order) and takes the total weight off
    the winner. Over N leads to the same reps, each gets ``N*w/sum(w)`` within
    one. Weight 0 means never.

    When a filter drops a rep (or one comes back), the eligible reps' credits
    no longer sum to zero (the absent rep's credit stays frozen); they are
    recentred over the eligible reps, each shifted by its weight share of the
    excess, so the frozen credit does not skew the rotation of the others.

    .. versionchanged:: 0.2.0
       Credits recentred over the eligible reps after a drop or return.

    Weights come from ``weights`` (rep id -> weight; reps not named weigh 0)
    or else from the rep field ``by`` (``weight`` by default, or a key of
    ``attributes``).

    >>> Weighted()
    Weighted()
    >>> Weighted(weights={"alice": 3, "bob": 1})
    Weighted(weights={'alice': 3, 'bob': 1})

    .. versionadded:: 0.1.0
    """

    by: str = "weight"
    weights: dict[str, float] | None = None

    def __post_init__(self) -> None:
        if self.weights is not None:
            if not isinstance(self.weights, Mapping):
                msg = f"Weighted(weights={short_repr(self.weights)}): a table of rep id -> weight"
                raise StrategyError(msg, field="weights")
            for rep_id, w in self.weights.items():
                check_weight("Weighted", str(rep_id), w)

    def __hash__(self) -> int:
        return hash(
            (self.by, None if self.weights is None else tuple(sorted(self.weights.items())))
        )

    def named_reps(self) -> Iterable[str]:
        return () if self.weights is None else tuple(self.weights)

    def weight_of(self, rep: Rep) -> float:
        """The weight this selector gives ``rep``."""
        if self.weights is not None:
            return float(self.weights.get(rep.id, 0.0))
        return rep_number(rep, self.by)

    def select(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> Pick | None:
        credits = ctx.credits
        updated: dict[str, float] = {}
        total = 0.0
        best: Rep | None = None
        best_c = -math.inf
        excess = 0.0
        for rep in candidates:
            w = self.weight_of(rep)
            if w <= 0:
                continue
            c = credits.get(rep.id, 0.0) + w
            updated[rep.id] = c
            total += w
            excess += c - w
            if c > best_c:
                best, best_c = rep, c
        if best is None:
            return None
        if abs(excess) > 1e-9 * total:
            # a rep dropped (or back) left the eligible credits off zero: recentre them
            best_c = -math.inf
            for rep in candidates:
                old = updated.get(rep.id)
                if old is None:
                    continue
                c = old - excess * self.weight_of(rep) / total
                updated[rep.id] = c
                if c > best_c:
                    best, best_c = rep, c
            assert best is not None
        updated[best.id] = best_c - total
        why = f"{best.id} had the highest credit {best_c:g} (total weight {total:g})"
        shown = dict(list(updated.items())[:10])
        rationale: dict[str, Any] = {
            "why": why,
            "credit": best_c,
            "total_weight": total,
            "credits_after": shown,
        }
        return Pick(best, why, rationale, credits=updated)


@dataclass(frozen=True, slots=True, repr=False)
class RandomPick(Selector):
    """A draw from a stable hash of the seed and the lead id, optionally weighted.

    The same seed and lead give the same draw in every process; ``seed``
    overrides the router's seed for this selector.

    >>> RandomPick(weighted=True)
    RandomPick(weighted=True)

    .. versionadded:: 0.1.0
    """

    weighted: bool = False
    by: str = "weight"
    seed: int | None = None

    def select(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> Pick | None:
        if not candidates:
            return None
        seed = ctx.seed if self.seed is None else self.seed
        draw = unit_draw(seed, lead.id)
        if not self.weighted:
            i = min(int(draw * len(candidates)), len(candidates) - 1)
            rep = candidates[i]
            why = f"hash draw {draw:.6f} of seed {seed} and lead {lead.id} -> slot {i} of {len(candidates)}"
            return Pick(rep, why, {"why": why, "draw": draw, "seed": seed, "slot": i})
        weights = [rep_number(r, self.by) for r in candidates]
        total = sum(w for w in weights if w > 0)
        if total <= 0:
            return None
        target = draw * total
        acc = 0.0
        chosen = candidates[-1]
        for rep, w in zip(candidates, weights, strict=True):
            if w <= 0:
                continue
            acc += w
            chosen = rep
            if target < acc:
                break
        why = f"hash draw {draw:.6f} of seed {seed} and lead {lead.id} -> {chosen.id} (weighted, total {total:g})"
        return Pick(chosen, why, {"why": why, "draw": draw, "seed": seed, "total_weight": total})


@dataclass(frozen=True, slots=True, repr=False)
class LeastLoaded(Selector):
    """The least loaded rep; ties go by rotation.

    ``measure="open"`` (default): the open-load ratio, open leads /
    ``max_open`` (``default_max_open`` when unset). ``measure="period_rate"``:
    leads assigned in the rep's rolling period per day the rep could work in
    it (days fully away do not count), so a rep back from three weeks of
    leave catches up to the team's daily rate instead of being handed the
    backlog. Ties go to the rep who has waited longest (rotation), not to
    the first listed, so early-listed reps are not favoured.

    >>> LeastLoaded()
    LeastLoaded()
    >>> LeastLoaded(measure="period_rate")
    LeastLoaded(measure='period_rate')

    .. versionadded:: 0.1.0
    """

    default_max_open: int = 100
    measure: Literal["open", "period_rate"] = "open"

    def __post_init__(self) -> None:
        if self.default_max_open < 1:
            msg = f"LeastLoaded(default_max_open={self.default_max_open!r}): must be >= 1"
            raise StrategyError(msg, field="default_max_open")
        if self.measure not in ("open", "period_rate"):
            msg = f"LeastLoaded(measure={self.measure!r}): use 'open' or 'period_rate'"
            raise StrategyError(msg, field="measure")

    def ratio(self, rep: Rep, ctx: RouteContext) -> float:
        """The rep's load now, by ``measure``."""
        if self.measure == "period_rate":
            days = ctx.available_days(rep)
            return ctx.assigned_in_period(rep) / max(1, days)
        cap = rep.capacity.max_open or self.default_max_open
        return ctx.open_count(rep.id) / cap

    def select(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> Pick | None:
        if not candidates:
            return None
        ratios = [(self.ratio(rep, ctx), rep) for rep in candidates]
        low = min(r for r, _ in ratios)
        tied = [rep for r, rep in ratios if r == low]
        best, best_v, _ = longest_waiting(tied, ctx.last_served)
        why = (
            f"{best.id} has the lowest load {low:.3f} "
            f"(open {ctx.open_count(best.id)}); {len(tied)} tied, {_served(best_v)}"
        )
        loads = {rep.id: round(r, 6) for r, rep in ratios[:10]}
        return Pick(best, why, {"why": why, "load": low, "tied": len(tied), "loads": loads})


@dataclass(frozen=True, slots=True, repr=False)
class AssignTo(Selector):
    """Always the named rep, if they survived the filters (a default owner).

    >>> AssignTo("alice")
    AssignTo(rep_id='alice')

    .. versionadded:: 0.1.0
    """

    rep_id: str

    def __post_init__(self) -> None:
        if not isinstance(self.rep_id, str) or not self.rep_id:
            msg = f"AssignTo(rep_id={self.rep_id!r}): name a rep"
            raise StrategyError(msg, field="rep_id")

    def named_reps(self) -> Iterable[str]:
        return (self.rep_id,)

    def select(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> Pick | None:
        for rep in candidates:
            if rep.id == self.rep_id:
                why = f"fixed owner {rep.id}"
                return Pick(rep, why, {"why": why})
        return None


@dataclass(frozen=True, slots=True, repr=False)
class ManualReview(Selector):
    """Send the lead to manual review instead of a rep.

    With ``sample`` (a fraction in ``(0, 1]``) only that deterministic share of
    leads goes to review (a stable hash of the seed and lead id decides);
    the rest find nobody here, so ``ManualReview(sample=0.05) | RoundRobin()``
    reviews 5% and rotates the rest.

    With ``top`` (a fraction in ``(0, 1]``) the *most important* leads go to
    review: a lead is reviewed when it ranks in the top ``top`` share, by
    ``by``, of the leads created in the rolling ``window`` up to the decision
    time (this call's leads and the state's open, pooled and closed leads).
    ``by`` is ``"value"``, ``"score"`` or any lead field; with ``scorecard``,
    ``"score"`` is that :class:`~leadroute.strategies.Scorecard`'s score of
    each lead. Rank: leads with a higher value first, equal values by lead
    id; a lead is in the top share when fewer than ``ceil(top * n)`` leads
    rank before it (``n`` leads with a number in the window). Leads without a
    number are never reviewed by rank.

    >>> ManualReview(reason="key_account")
    ManualReview(reason='key_account')
    >>> ManualReview(top=0.05, by="value")
    ManualReview(top=0.05)

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 ``top``, ``by``, ``window``, ``scorecard``.
    """

    reason: str = "manual_review"
    sample: float | None = None
    top: float | None = None
    by: str = "value"
    window: timedelta = timedelta(days=30)
    scorecard: Scorecard | None = None

    def __post_init__(self) -> None:
        if self.sample is not None and not 0 < self.sample <= 1:
            msg = f"ManualReview(sample={self.sample!r}): a fraction in (0, 1]"
            raise StrategyError(msg, field="sample")
        if self.top is not None:
            if (
                isinstance(self.top, bool)
                or not isinstance(self.top, (int, float))
                or not 0 < self.top <= 1
            ):
                msg = f"ManualReview(top={self.top!r}): a fraction in (0, 1]"
                raise StrategyError(msg, field="top")
            if self.sample is not None:
                msg = "ManualReview: give sample or top, not both"
                raise StrategyError(msg, field="top")
        if not isinstance(self.by, str) or not self.by:
            msg = f"ManualReview(by={self.by!r}): a lead field name such as 'value' or 'score'"
            raise StrategyError(msg, field="by")
        window = as_duration(self.window, "window", "ManualReview")
        if window is None or window <= timedelta(0):
            msg = f"ManualReview(window={self.window!r}): must be a positive duration"
            raise StrategyError(msg, field="window")
        object.__setattr__(self, "window", window)
        card = self.scorecard
        # a Scorecard (the config form is parsed by leadroute.strategies.codec); checked by its
        # method, as the scoring family sits above the selectors
        if card is not None and not callable(getattr(card, "cached_score", None)):
            msg = f"ManualReview(scorecard={short_repr(card)}): a Scorecard"
            raise StrategyError(msg, field="scorecard")

    def _number(self, lead: Lead, ctx: RouteContext) -> float | None:
        if self.by == "score" and self.scorecard is not None:
            value: Any = self.scorecard.cached_score(lead, ctx)
        else:
            value = lead_value(lead, self.by)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            return None
        return float(value)

    def _peers(self, ctx: RouteContext) -> tuple[list[datetime], list[tuple[float, str]]]:
        """Every known lead with a number: creation times (sorted) and (value, id) alongside."""
        key = (id(self), "peers")
        found = ctx.memo.get(key)
        if found is None:
            seen: set[str] = set()
            rows: list[tuple[datetime, str, float]] = []
            state = ctx.state
            leads = [
                *ctx.batch,
                *(o.lead for o in state.open_leads.values()),
                *(p.lead for p in state.pool.values()),
                *(c.lead for c in state.history),
            ]
            for other in leads:
                if other.id in seen:
                    continue
                seen.add(other.id)
                v = self._number(other, ctx)
                if v is not None:
                    rows.append((other.created_at, other.id, v))
            rows.sort()
            found = ([r[0] for r in rows], [(r[2], r[1]) for r in rows])
            ctx.memo[key] = found
        return found

    def _window(
        self, ctx: RouteContext, rows: list[tuple[float, str]], lo: int, hi: int
    ) -> list[tuple[float, str]]:
        """``rows[lo:hi]`` as sorted ``(-value, id)`` keys; slid from the last window when close."""
        key = (id(self), "window")
        last = ctx.memo.get(key)
        if last is not None and last[0] == lo and last[1] == hi:
            ranked: list[tuple[float, str]] = last[2]
            return ranked
        if last is not None and lo >= last[0] and hi >= last[1] and lo <= last[1]:
            ranked = last[2]
            if (lo - last[0]) + (hi - last[1]) <= max(16, len(ranked) // 8):
                for v, i in rows[last[0] : lo]:
                    del ranked[bisect.bisect_left(ranked, (-v, i))]
                for v, i in rows[last[1] : hi]:
                    bisect.insort(ranked, (-v, i))
                ctx.memo[key] = (lo, hi, ranked)
                return ranked
        ranked = sorted((-v, i) for v, i in rows[lo:hi])
        ctx.memo[key] = (lo, hi, ranked)
        return ranked

    def _ranked(self, lead: Lead, ctx: RouteContext) -> Pick | None:
        assert self.top is not None
        value = self._number(lead, ctx)
        if value is None:
            return None
        times, rows = self._peers(ctx)
        now = ctx.now
        lo = bisect.bisect_right(times, now - self.window)
        hi = bisect.bisect_right(times, now)
        ranked = self._window(ctx, rows, lo, hi)
        me = (-value, lead.id)
        rank = bisect.bisect_left(ranked, me)
        inside = rank < len(ranked) and ranked[rank] == me
        n = len(ranked) + (0 if inside else 1)
        cut = math.ceil(self.top * n)
        if rank >= cut:
            return None
        why = (
            f"top {self.top:.0%} by {self.by}: {value:g} ranks {rank + 1} of {n} leads "
            f"in the last {self.window} (review the first {cut})"
        )
        rationale = {
            "why": why,
            "by": self.by,
            "value": value,
            "rank": rank + 1,
            "of": n,
            "cut": cut,
        }
        return Pick(None, why, rationale, review=True, reason=self.reason)

    def select(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> Pick | None:
        if self.top is not None:
            return self._ranked(lead, ctx)
        if self.sample is not None:
            draw = unit_draw(ctx.seed, "review", lead.id)
            if draw >= self.sample:
                return None
            why = f"sampled for review (draw {draw:.6f} < {self.sample:g})"
            return Pick(None, why, {"why": why, "draw": draw}, review=True, reason=self.reason)
        why = f"sent to manual review: {self.reason}"
        return Pick(None, why, {"why": why}, review=True, reason=self.reason)
