"""Learned fit: per rep x segment conversion estimates from closed-lead history.

A rep with 3 wins out of 3 is not a 100% closer. Each rep's win rate in a
segment is smoothed towards the team's rate in that segment with a Beta
prior of strength ``k``::

    estimate = (wins + k * p0) / (closed + k)

where ``p0`` is the team's win rate in the segment (the overall rate when
the segment has no history). Below ``min_history`` closed leads in the pool
the model is off (``enabled`` is false) and learned components are not used.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from leadroute.hashing import unit_draw
from leadroute.models import Lead, lead_value
from leadroute.state import ClosedLead

__all__ = [
    "FitCounts",
    "FitEstimate",
    "FitModel",
    "FitStatistics",
    "PooledEstimate",
    "PooledFit",
    "fit_statistics",
]


def fields_key(lead: Lead, fields: Sequence[str]) -> str:
    """The values of ``fields`` of ``lead`` joined with ``|`` (a segment or a lead cell)."""
    return "|".join(str(lead_value(lead, f)) for f in fields)


@dataclass(frozen=True, slots=True)
class FitCounts:
    """Closed-lead aggregates a fit model is built from instead of the history itself.

    A store keeps them up to date as leads close (see ``docs/stores.md``):
    ``cells`` holds ``(rep id, segment, lead cell, wins, closed)`` for every
    rep x ``segment_by`` segment x ``lead_by`` cell seen, in the order each
    first appeared in the history; ``touch`` holds, per rep, the lower and the
    upper middle of the hours from assignment to first activity over the rep's
    closed leads (equal for an odd count). Their size follows the reps,
    segments and cells, not the history.

    .. versionadded:: 0.2.0
    """

    segment_by: tuple[str, ...]
    lead_by: tuple[str, ...]
    cells: tuple[tuple[str, str, str, int, int], ...] = ()
    touch: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        history: Iterable[ClosedLead],
        *,
        segment_by: Sequence[str] = ("industry",),
        lead_by: Sequence[str] = ("source",),
    ) -> FitCounts:
        """The aggregates of ``history`` (what a store keeps, computed at once).

        >>> from datetime import datetime, timezone
        >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
        >>> lead = Lead(id="c1", created_at=t, industry="retail")
        >>> c = ClosedLead(lead=lead, rep_id="ann", assigned_at=t, closed_at=t, outcome="won")
        >>> FitCounts.of([c]).cells
        (('ann', 'retail', 'None', 1, 1),)
        """
        seg_by, cell_by = tuple(segment_by), tuple(lead_by)
        rows: dict[tuple[str, str, str], list[int]] = {}
        hours: dict[str, list[float]] = {}
        for c in history:
            key = (c.rep_id, fields_key(c.lead, seg_by), fields_key(c.lead, cell_by))
            rec = rows.get(key)
            if rec is None:
                rec = rows[key] = [0, 0]
            rec[0] += 1 if c.outcome == "won" else 0
            rec[1] += 1
            if c.first_activity_at is not None:
                h = (c.first_activity_at - c.assigned_at).total_seconds() / 3600
                hours.setdefault(c.rep_id, []).append(h)
        touch: dict[str, tuple[float, float]] = {}
        for rep_id, xs in hours.items():
            xs.sort()
            touch[rep_id] = (xs[(len(xs) - 1) // 2], xs[len(xs) // 2])
        return cls(seg_by, cell_by, tuple((*k, w, n) for k, (w, n) in rows.items()), touch)

    def clamped_median(self, rep_id: str) -> float | None:
        """The rep's median first-touch hours with negative hours counted as 0."""
        found = self.touch.get(rep_id)
        if found is None:
            return None
        return (max(0.0, found[0]) + max(0.0, found[1])) / 2


class FitStatistics:
    """Fit models built from :class:`FitCounts` (a store's aggregates), each built once.

    A store attaches one to the partial state it routes on; :class:`BestFit
    <leadroute.strategies.BestFit>` then builds its model from it instead of
    the state's ``history`` (which the store does not read). The models equal
    those learned from the whole history.

    .. versionadded:: 0.2.0
    """

    def __init__(self, counts: Mapping[tuple[tuple[str, ...], tuple[str, ...]], FitCounts]) -> None:
        self.counts = dict(counts)
        self._models: dict[tuple[Any, ...], Any] = {}

    def _counts(self, segment_by: Sequence[str], lead_by: Sequence[str]) -> FitCounts:
        found = self.counts.get((tuple(segment_by), tuple(lead_by)))
        if found is None:
            msg = f"no fit aggregates for segment_by={segment_by!r}, lead_by={lead_by!r}"
            raise KeyError(msg)
        return found

    def fit_model(
        self,
        *,
        segment_by: Sequence[str],
        lead_by: Sequence[str],
        prior_strength: float,
        min_history: int,
    ) -> FitModel:
        """The :class:`FitModel` the whole history would give."""
        key = ("segment", tuple(segment_by), tuple(lead_by), float(prior_strength), min_history)
        model = self._models.get(key)
        if model is None:
            model = self._models[key] = FitModel.from_counts(
                self._counts(segment_by, lead_by),
                prior_strength=prior_strength,
                min_history=min_history,
            )
        assert isinstance(model, FitModel)
        return model

    def pooled_fit(
        self, *, segment_by: Sequence[str], lead_by: Sequence[str], prior_leads: float
    ) -> PooledFit:
        """The :class:`PooledFit` the whole history would give."""
        key = ("pooled", tuple(segment_by), tuple(lead_by), float(prior_leads))
        model = self._models.get(key)
        if model is None:
            model = self._models[key] = PooledFit.from_counts(
                self._counts(segment_by, lead_by), prior_leads=prior_leads
            )
        assert isinstance(model, PooledFit)
        return model


def fit_statistics(state: object) -> FitStatistics | None:
    """The fit aggregates a store attached to the partial ``state`` it routes on, if any.

    >>> from leadroute.state import PoolState
    >>> fit_statistics(PoolState()) is None
    True

    .. versionadded:: 0.2.0
    """
    found = getattr(state, "fit_statistics", None)
    return found if isinstance(found, FitStatistics) else None


@dataclass(frozen=True, slots=True)
class FitEstimate:
    """One rep's smoothed win rate in one segment, with the counts behind it.

    .. versionadded:: 0.1.0
    """

    rep_id: str
    segment: str
    wins: int
    closed: int
    prior: float
    rate: float


class FitModel:
    """Smoothed conversion estimates learned from closed leads.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> def closed(i, rep, outcome):
    ...     lead = Lead(id=f"c{i}", created_at=t, industry="retail")
    ...     return ClosedLead(lead=lead, rep_id=rep, assigned_at=t, closed_at=t, outcome=outcome)
    >>> history = [closed(i, "ann", "won") for i in range(3)] + [
    ...     closed(10 + i, "bo", "won" if i < 2 else "lost") for i in range(10)]
    >>> model = FitModel(history, prior_strength=10, min_history=0)
    >>> round(model.estimate("ann", history[0].lead).rate, 4)   # (3 + 10 * 5/13) / (3 + 10)
    0.5266

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        history: Iterable[ClosedLead],
        *,
        segment_by: Sequence[str] = ("industry",),
        prior_strength: float = 10.0,
        min_history: int = 300,
    ) -> None:
        self.segment_by = tuple(segment_by)
        self.prior_strength = float(prior_strength)
        self.min_history = min_history
        self.counts: dict[tuple[str, str], list[int]] = {}
        self.team: dict[str, list[int]] = {}
        touch: dict[str, list[float]] = {}
        wins = closed = 0
        for c in history:
            seg = self.segment_of(c.lead)
            won = 1 if c.outcome == "won" else 0
            rec = self.counts.setdefault((c.rep_id, seg), [0, 0])
            rec[0] += won
            rec[1] += 1
            team = self.team.setdefault(seg, [0, 0])
            team[0] += won
            team[1] += 1
            wins += won
            closed += 1
            if c.first_activity_at is not None:
                hours = (c.first_activity_at - c.assigned_at).total_seconds() / 3600
                touch.setdefault(c.rep_id, []).append(max(0.0, hours))
        self.closed = closed
        self.overall = wins / closed if closed else 0.0
        self._touch = {rep: statistics.median(v) for rep, v in touch.items()}

    @classmethod
    def from_counts(
        cls, counts: FitCounts, *, prior_strength: float = 10.0, min_history: int = 300
    ) -> FitModel:
        """The model of the history ``counts`` aggregates (equal to learning it from that history).

        .. versionadded:: 0.2.0
        """
        model = cls(
            (),
            segment_by=counts.segment_by,
            prior_strength=prior_strength,
            min_history=min_history,
        )
        wins = closed = 0
        for rep_id, seg, _cell, w, n in counts.cells:
            rec = model.counts.setdefault((rep_id, seg), [0, 0])
            rec[0] += w
            rec[1] += n
            team = model.team.setdefault(seg, [0, 0])
            team[0] += w
            team[1] += n
            wins += w
            closed += n
        model.closed = closed
        model.overall = wins / closed if closed else 0.0
        model._touch = {
            rep: (max(0.0, lo) + max(0.0, hi)) / 2 for rep, (lo, hi) in counts.touch.items()
        }
        return model

    @property
    def enabled(self) -> bool:
        """Whether there is enough history (``min_history`` closed leads) to use the model."""
        return self.closed >= self.min_history

    def segment_of(self, lead: Lead) -> str:
        """The lead's segment: the ``segment_by`` field values joined with ``|``."""
        return "|".join(str(lead_value(lead, f)) for f in self.segment_by)

    def prior(self, segment: str) -> float:
        """The team's win rate in ``segment`` (the overall rate without history there)."""
        team = self.team.get(segment)
        if not team or team[1] == 0:
            return self.overall
        return team[0] / team[1]

    def estimate(self, rep_id: str, lead: Lead) -> FitEstimate:
        """``rep_id``'s smoothed win rate for leads like ``lead``."""
        seg = self.segment_of(lead)
        wins, closed = self.counts.get((rep_id, seg), (0, 0))
        p0 = self.prior(seg)
        k = self.prior_strength
        rate = (wins + k * p0) / (closed + k)
        return FitEstimate(rep_id, seg, wins, closed, p0, rate)

    def median_first_touch_hours(self, rep_id: str) -> float | None:
        """Median hours from assignment to first activity over the rep's closed leads."""
        return self._touch.get(rep_id)


@dataclass(frozen=True, slots=True)
class PooledEstimate:
    """One rep's pooled conversion estimate for one lead, with its uncertainty.

    ``rate = base * rep_lift * cell_lift`` (at most 0.999): ``base`` is the
    team's smoothed rate for leads with these attributes (``lead_by``),
    ``rep_lift`` the rep's observed/expected wins shrunk towards 1 and
    ``cell_lift`` the rep's observed/expected wins in the segment shrunk
    towards the rep's lift. ``evidence`` (0..1) is how much of the estimate
    comes from this rep x segment's own outcomes: the per-estimate threshold
    that replaces one global history size. ``sd`` is the posterior standard
    deviation of ``rate``.

    .. versionadded:: 0.2.0
    """

    rep_id: str
    segment: str
    rate: float
    sd: float
    base: float
    rep_lift: float
    cell_lift: float
    evidence: float
    wins: int
    closed: int


_Derived = tuple[dict[str, float], dict[str, float], dict[tuple[str, str], float], float, float]


def _moments_k(pairs: Iterable[tuple[float, float, int]]) -> float:
    """Prior strength ``1 / tau^2`` of Gamma(k, k) lifts from (wins, expected, closed) triples.

    Binomial, not Poisson, noise is taken off the observed spread.
    """
    num = 0.0
    den = 0.0
    count = 0
    for obs, exp, n in pairs:
        if exp <= 0 or n <= 0:
            continue
        num += (obs - exp) ** 2 / exp - (1 - min(0.95, exp / n))
        den += exp
        count += 1
    tau2 = num / den if den > 0 and count > 1 else 0.25
    tau2 = min(1.0, max(0.001, tau2))
    return 1.0 / tau2


def _odds_shift(base: float, mean: float, lift: float) -> float:
    """``base`` moved by the odds ratio that takes ``mean`` to ``mean * lift`` (at most 0.999)."""
    target = min(0.999, mean * lift)
    if not 0 < mean < 1 or not 0 < base < 1 or target <= 0:
        return min(0.999, base * lift)
    z = math.log(base / (1 - base)) + math.log(target / (1 - target)) - math.log(mean / (1 - mean))
    return min(0.999, 1 / (1 + math.exp(-z)))


class PooledFit:
    """Pooled conversion estimates: lead attributes, rep and rep x segment, shrunk (empirical Bayes).

    Learned from closed leads and updated incrementally (:meth:`update` costs
    what it adds; the derived rates are recomputed from the counts, whose
    size does not grow with the history). Per lead and rep::

        base      = (wins_c + a * p) / (closed_c + a)      # c: the lead's lead_by cell
        rep_lift  ~ Gamma(k_r + W_r, k_r + E_r)            # E_r: expected wins at base rates
        cell_lift ~ Gamma(k_s + W_rs, k_s + rep_lift * E_rs)
        rate      = base * rep_lift * cell_lift

    with the prior strengths ``k_r``, ``k_s`` estimated from the spread of the
    observed lifts (method of moments). A rep x segment with few outcomes
    borrows from the rep's overall lift; a rep with few outcomes from the
    team. Deterministic: the same history gives the same estimates.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> def closed(i, rep, won):
    ...     lead = Lead(id=f"c{i}", created_at=t, industry="retail")
    ...     return ClosedLead(lead=lead, rep_id=rep, assigned_at=t, closed_at=t,
    ...                       outcome="won" if won else "lost")
    >>> history = [closed(i, "ann", i % 2 == 0) for i in range(40)] + [
    ...     closed(100 + i, "bo", i % 4 == 0) for i in range(40)]
    >>> model = PooledFit(history)
    >>> ann, bo = model.estimate("ann", history[0].lead), model.estimate("bo", history[0].lead)
    >>> ann.rate > bo.rate, round(ann.base, 3)
    (True, 0.375)

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        history: Iterable[ClosedLead] = (),
        *,
        segment_by: Sequence[str] = ("industry",),
        lead_by: Sequence[str] = ("source",),
        prior_leads: float = 10.0,
    ) -> None:
        self.segment_by = tuple(segment_by)
        self.lead_by = tuple(lead_by)
        self.prior_leads = float(prior_leads)
        self.closed = 0
        self.wins = 0
        self.cells: dict[str, list[int]] = {}  # lead cell -> [wins, closed]
        self.rep_wins: dict[str, int] = {}
        self.rep_closed: dict[str, int] = {}
        self.seg_wins: dict[tuple[str, str], int] = {}
        self.seg_closed: dict[tuple[str, str], int] = {}
        self.mix: dict[tuple[str, str], dict[str, int]] = {}  # (rep, seg) -> lead cell -> closed
        self._touch: dict[str, list[float]] = {}
        self._derived: _Derived | None = None
        self.update(history)

    def segment_of(self, lead: Lead) -> str:
        """The lead's segment: the ``segment_by`` field values joined with ``|``."""
        return "|".join(str(lead_value(lead, f)) for f in self.segment_by)

    def cell_of(self, lead: Lead) -> str:
        """The lead's attribute cell: the ``lead_by`` field values joined with ``|``."""
        return "|".join(str(lead_value(lead, f)) for f in self.lead_by)

    def update(self, closed: Iterable[ClosedLead]) -> None:
        """Add closed leads (their cost only; derived rates are recomputed on next use)."""
        added = False
        for c in closed:
            added = True
            won = 1 if c.outcome == "won" else 0
            cell = self.cell_of(c.lead)
            key = (c.rep_id, self.segment_of(c.lead))
            rec = self.cells.get(cell)
            if rec is None:
                rec = self.cells[cell] = [0, 0]
            rec[0] += won
            rec[1] += 1
            self.wins += won
            self.closed += 1
            self.rep_wins[c.rep_id] = self.rep_wins.get(c.rep_id, 0) + won
            self.rep_closed[c.rep_id] = self.rep_closed.get(c.rep_id, 0) + 1
            self.seg_wins[key] = self.seg_wins.get(key, 0) + won
            self.seg_closed[key] = self.seg_closed.get(key, 0) + 1
            mix = self.mix.get(key)
            if mix is None:
                mix = self.mix[key] = {}
            mix[cell] = mix.get(cell, 0) + 1
            if c.first_activity_at is not None:
                hours = max(0.0, (c.first_activity_at - c.assigned_at).total_seconds() / 3600)
                bisect.insort(self._touch.setdefault(c.rep_id, []), hours)
        if added:
            self._derived = None

    @classmethod
    def from_counts(cls, counts: FitCounts, *, prior_leads: float = 10.0) -> PooledFit:
        """The model of the history ``counts`` aggregates (equal to learning it from that history).

        .. versionadded:: 0.2.0
        """
        model = cls(segment_by=counts.segment_by, lead_by=counts.lead_by, prior_leads=prior_leads)
        cells, mix = model.cells, model.mix
        rep_wins, rep_closed = model.rep_wins, model.rep_closed
        seg_wins, seg_closed = model.seg_wins, model.seg_closed
        # rows in first-appearance order give the dicts the insertion order update() gives
        for rep_id, seg, cell, w, n in counts.cells:
            rec = cells.get(cell)
            if rec is None:
                rec = cells[cell] = [0, 0]
            rec[0] += w
            rec[1] += n
            model.wins += w
            model.closed += n
            rep_wins[rep_id] = rep_wins.get(rep_id, 0) + w
            rep_closed[rep_id] = rep_closed.get(rep_id, 0) + n
            key = (rep_id, seg)
            seg_wins[key] = seg_wins.get(key, 0) + w
            seg_closed[key] = seg_closed.get(key, 0) + n
            cell_mix = mix.get(key)
            if cell_mix is None:
                cell_mix = mix[key] = {}
            cell_mix[cell] = cell_mix.get(cell, 0) + n
        # the median of [lo, hi] is the median of the rep's whole sorted list
        model._touch = {rep: [max(0.0, lo), max(0.0, hi)] for rep, (lo, hi) in counts.touch.items()}
        return model

    @property
    def overall(self) -> float:
        """The team's win rate over all closed leads (0.5 without any)."""
        return self.wins / self.closed if self.closed else 0.5

    def base(self, cell: str) -> float:
        """The team's smoothed win rate for leads in the attribute ``cell``."""
        wins, closed = self.cells.get(cell, (0, 0))
        a = self.prior_leads
        return (wins + a * self.overall) / (closed + a)

    def _derive(self) -> _Derived:
        found = self._derived
        if found is not None:
            return found
        base = {cell: self.base(cell) for cell in self.cells}
        expected = {key: sum(n * base[c] for c, n in mix.items()) for key, mix in self.mix.items()}
        rep_exp: dict[str, float] = {}
        for (rep, _seg), e in expected.items():
            rep_exp[rep] = rep_exp.get(rep, 0.0) + e
        k_rep = _moments_k((self.rep_wins[r], e, self.rep_closed[r]) for r, e in rep_exp.items())
        lift = {r: (k_rep + self.rep_wins[r]) / (k_rep + e) for r, e in rep_exp.items()}
        k_seg = _moments_k(
            (self.seg_wins[key], lift[key[0]] * e, self.seg_closed[key])
            for key, e in expected.items()
        )
        found = (lift, rep_exp, expected, k_rep, k_seg)
        self._derived = found
        return found

    def estimate(self, rep_id: str, lead: Lead) -> PooledEstimate:
        """``rep_id``'s pooled conversion estimate for ``lead``."""
        lift, rep_exp, expected, k_rep, k_seg = self._derive()
        seg = self.segment_of(lead)
        base = self.base(self.cell_of(lead))
        key = (rep_id, seg)
        r_shape = k_rep + self.rep_wins.get(rep_id, 0)
        r_rate = k_rep + rep_exp.get(rep_id, 0.0)
        rep_lift = lift.get(rep_id, 1.0)
        e = rep_lift * expected.get(key, 0.0)
        wins = self.seg_wins.get(key, 0)
        c_shape = k_seg + wins
        c_rate = k_seg + e
        cell_lift = c_shape / c_rate
        closed = self.seg_closed.get(key, 0)
        mean = expected.get(key, 0.0) / closed if closed else base
        rate = _odds_shift(base, mean, rep_lift * cell_lift)
        cv2 = 1 / r_shape + 1 / c_shape
        return PooledEstimate(
            rep_id=rep_id,
            segment=seg,
            rate=rate,
            sd=rate * math.sqrt(cv2),
            base=base,
            rep_lift=r_shape / r_rate,
            cell_lift=cell_lift,
            evidence=e / (e + k_seg),
            wins=wins,
            closed=closed,
        )

    def draw(self, rep_id: str, lead: Lead, *parts: object) -> float:
        """A Thompson-sampling draw of the rate, from a stable hash of ``parts``, rep and lead."""
        lift, rep_exp, expected, k_rep, k_seg = self._derive()
        seg = self.segment_of(lead)
        base = self.base(self.cell_of(lead))
        rep_lift = _gamma_draw(
            k_rep + self.rep_wins.get(rep_id, 0),
            k_rep + rep_exp.get(rep_id, 0.0),
            unit_draw(*parts, "rep", rep_id, lead.id),
        )
        mean_lift = lift.get(rep_id, 1.0)
        cell_lift = _gamma_draw(
            k_seg + self.seg_wins.get((rep_id, seg), 0),
            k_seg + mean_lift * expected.get((rep_id, seg), 0.0),
            unit_draw(*parts, "cell", rep_id, lead.id),
        )
        closed = self.seg_closed.get((rep_id, seg), 0)
        mean = expected.get((rep_id, seg), 0.0) / closed if closed else base
        return _odds_shift(base, mean, rep_lift * cell_lift)

    def median_first_touch_hours(self, rep_id: str) -> float | None:
        """Median hours from assignment to first activity over the rep's closed leads."""
        xs = self._touch.get(rep_id)
        if not xs:
            return None
        return statistics.median(xs)

    @classmethod
    def of(
        cls,
        history: Sequence[ClosedLead],
        *,
        segment_by: Sequence[str] = ("industry",),
        lead_by: Sequence[str] = ("source",),
        prior_leads: float = 10.0,
    ) -> PooledFit:
        """The model of ``history``, from a cache: a longer history that extends a cached one
        (same leading items) only adds its new closes, so a one-lead ``assign`` does not relearn.
        """
        key = (tuple(segment_by), tuple(lead_by), float(prior_leads))
        n = len(history)
        found = _POOLED.get(key)
        if found is not None:
            model, first, last, size = found
            if size == n and (n == 0 or (history[0] is first and history[-1] is last)):
                return model
            if 0 < size < n and history[0] is first and history[size - 1] is last:
                model.update(history[size:])
                _POOLED[key] = (model, history[0], history[-1], n)
                return model
        model = cls(history, segment_by=segment_by, lead_by=lead_by, prior_leads=prior_leads)
        if len(_POOLED) >= 16:
            _POOLED.pop(next(iter(_POOLED)))
        _POOLED[key] = (model, history[0] if n else None, history[-1] if n else None, n)
        return model


_POOLED: dict[tuple[Any, ...], tuple[PooledFit, ClosedLead | None, ClosedLead | None, int]] = {}


def _gamma_draw(shape: float, rate: float, u: float) -> float:
    """A Gamma(shape, rate) quantile at ``u`` (Wilson-Hilferty), at least 0."""
    z = _NORMAL.inv_cdf(min(1 - 1e-12, max(1e-12, u)))
    c = 1 / (9 * shape)
    return max(0.0, shape / rate * (1 - c + z * math.sqrt(c)) ** 3)


_NORMAL = statistics.NormalDist()
