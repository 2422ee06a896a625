"""A pooled, regularised logistic model of conversion: lead attributes, rep, rep x segment, rep x source.

Per lead ``x`` and rep ``r`` the log-odds of a win are a sum of terms::

    logit p = b0 + sum_f a[f, x.f]            # lead attributes (``lead_by``)
                 + u[r]                         # the rep
                 + v[r, segment(x)]             # the rep in the lead's segment
                 + sum_g s[r, g, x.g]           # the rep x each ``rep_by`` field

Every term but ``b0`` has a Gaussian prior centred on 0 (a ridge penalty).
Each group's prior variance is estimated from the data (empirical Bayes:
expectation-maximisation on the Laplace approximation), so a rep x segment
with few outcomes is shrunk towards the rep and a rep with few outcomes
towards the team, as strongly as the spread of the other reps warrants. No
setting is tuned by hand.

Fitting is deterministic (pure Python, block-coordinate Newton on the
history's distinct feature patterns in a canonical order, from the same start
every time): the same closed history gives bit-identical estimates in any
process. :meth:`LogitFit.of` builds the model once and extends it as leads
close: the outcome counts take each new close in O(1), and the model is
refitted only when the number of closed leads reaches the next point of a
fixed schedule (:func:`refit_point`: every close up to 40, then about every
5% more), so a one-lead ``assign`` after a close does not relearn. The fit
is a function of the history alone (its first ``refit_point(len(history))``
closes), the same whether the model was extended or built cold.

Per estimate there is an uncertainty (``sd`` of the log-odds, the Laplace
approximation with the Hessian's diagonal) and an ``evidence`` figure in
0..1: how much of the rep x segment term comes from this rep x segment's own
outcomes rather than from its prior. That is the per-estimate threshold in
place of one global history size.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import copy
import importlib.util
import itertools
import math
import operator
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from leadroute.exceptions import InputError, MissingExtraError
from leadroute.hashing import unit_draw
from leadroute.models import Lead, lead_value
from leadroute.state import ClosedLead

__all__ = ["LogitEstimate", "LogitFit", "refit_point"]

_NORMAL = statistics.NormalDist()
#: bounds of an estimated prior variance of a group of terms (log-odds squared)
VAR_BOUNDS = (1e-4, 4.0)


@dataclass(frozen=True, slots=True)
class LogitEstimate:
    """One rep's conversion estimate for one lead under a :class:`LogitFit`.

    ``rate`` is the fitted probability and ``sd`` its standard deviation;
    ``logit`` is the log-odds and ``logit_sd`` its standard deviation (Laplace
    approximation over the rep terms; the lead terms are taken as known). ``base`` is
    the rate of an average rep (rep terms at 0); ``rep_effect`` and
    ``segment_effect`` are the rep's and the rep x segment's log-odds terms.
    ``evidence`` (0..1) is the share of the rep x segment term's precision that
    comes from its own outcomes (``wins`` of ``closed``).

    .. versionadded:: 0.2.0
    """

    rep_id: str
    segment: str
    rate: float
    logit: float
    sd: float
    logit_sd: float
    base: float
    rep_effect: float
    segment_effect: float
    evidence: float
    wins: int
    closed: int


def require_numpy(feature: str) -> None:
    """Raise :class:`~leadroute.exceptions.MissingExtraError` unless numpy is installed.

    .. versionadded:: 0.2.0
    """
    if importlib.util.find_spec("numpy") is None:
        raise MissingExtraError(feature, extra="solver", module="numpy")


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


class LogitFit:
    """Pooled regularised logistic regression of wins on lead attributes and rep terms.

    ``lead_by`` are the lead fields used as attributes (each a main effect;
    ``lead_cell=True`` adds their joint cell as one more shrunk term),
    ``segment_by`` the fields whose values make the rep x segment term and
    ``rep_by`` the fields crossed with the rep (rep x source by default).

    The model is fitted on the whole history, or with ``scheduled=True`` on
    its first :func:`refit_point` closed leads (what :meth:`of` builds, so a
    history that grows by a few closes keeps its fit: see :meth:`extend`).
    The outcome counts (``closed``, ``wins``, each estimate's ``wins`` and
    ``closed``) always cover the whole history; ``fitted_at`` says how many
    closed leads the fit saw and ``fits`` how many fits the model ran.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> def closed(i, rep, won):
    ...     lead = Lead(id=f"c{i}", created_at=t, industry="retail", source="web")
    ...     return ClosedLead(lead=lead, rep_id=rep, assigned_at=t, closed_at=t,
    ...                       outcome="won" if won else "lost")
    >>> history = [closed(i, "ann", i % 2 == 0) for i in range(40)] + [
    ...     closed(100 + i, "bo", i % 4 == 0) for i in range(40)]
    >>> model = LogitFit(history, method="python")
    >>> ann, bo = model.estimate("ann", history[0].lead), model.estimate("bo", history[0].lead)
    >>> ann.rate > bo.rate, round(ann.rate + bo.rate, 2) <= 1
    (True, True)

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        history: Iterable[ClosedLead] = (),
        *,
        segment_by: Sequence[str] = ("industry",),
        lead_by: Sequence[str] = ("source",),
        rep_by: Sequence[str] = ("source",),
        lead_cell: bool = False,
        max_sweeps: int = 40,
        em_rounds: int = 8,
        tolerance: float = 1e-6,
        method: Literal["numpy", "python"] = "numpy",
        scheduled: bool = False,
    ) -> None:
        if method not in ("numpy", "python"):
            msg = f"LogitFit(method={method!r}): use 'numpy' or 'python'"
            raise InputError(msg, field="method")
        if method == "numpy":
            require_numpy("LogitFit")
        self.segment_by = tuple(segment_by)
        self.lead_by = tuple(lead_by)
        self.rep_by = tuple(rep_by)
        self.lead_cell = bool(lead_cell)
        self.max_sweeps = max_sweeps
        self.em_rounds = em_rounds
        self.tolerance = tolerance
        self.method = method
        self.scheduled = bool(scheduled)
        self.closed = 0
        self.wins = 0
        #: how many times this model was fitted (a cold build fits once)
        self.fits = 0
        #: the number of closed leads the current fit was learned from
        self.fitted_at = 0
        self._counts: dict[tuple[str, ...], tuple[int, int]] = {}  # pattern -> (wins, closed)
        self.rep_closed: dict[str, int] = {}
        self.seg_counts: dict[tuple[str, str], tuple[int, int]] = {}
        self._hours: dict[str, list[float]] = {}
        self._own_hours: set[str] = set()  # reps whose hours list this model may append to
        self._touch: dict[str, float] | None = None
        closes = history if isinstance(history, Sequence) else tuple(history)
        at = refit_point(len(closes)) if self.scheduled else len(closes)
        self._add(closes[:at])
        self._refit()
        self._add(closes[at:])

    def _add(self, closes: Iterable[ClosedLead]) -> None:
        """Count ``closes`` into the outcome counts (O(1) each); the fit is left as it is."""
        counts = self._counts
        seg_counts = self.seg_counts
        for c in closes:
            won = 1 if c.outcome == "won" else 0
            key = (c.rep_id, *self._lead_key(c.lead))
            w, n = counts.get(key, (0, 0))
            counts[key] = (w + won, n + 1)
            self.closed += 1
            self.wins += won
            self.rep_closed[c.rep_id] = self.rep_closed.get(c.rep_id, 0) + 1
            seg = (c.rep_id, self.segment_of(c.lead))
            w, n = seg_counts.get(seg, (0, 0))
            seg_counts[seg] = (w + won, n + 1)
            if c.first_activity_at is not None:
                hours = max(0.0, (c.first_activity_at - c.assigned_at).total_seconds() / 3600)
                mine = self._hours.get(c.rep_id)
                if mine is None or c.rep_id not in self._own_hours:  # copy on first write
                    mine = self._hours[c.rep_id] = list(mine or ())
                    self._own_hours.add(c.rep_id)
                mine.append(hours)
                self._touch = None

    def _refit(self) -> None:
        self._fit(self._counts)
        self.fits += 1
        self.fitted_at = self.closed

    def extend(self, closes: Sequence[ClosedLead]) -> None:
        """Add newly closed leads (the history grew by ``closes``), refitting only when due.

        The counts take each close in O(1). A model built with
        ``scheduled=False`` refits on every extension; a scheduled one (what
        :meth:`of` builds) refits only when the number of closed leads
        reaches a point of :func:`refit_point`'s schedule, on the counts at
        that point. Either way the model equals the one built cold from the
        whole history: the fit depends only on the counts it was learned
        from, never on what was cached.

        .. versionadded:: 0.2.0
        """
        if not closes:
            return
        if not self.scheduled:
            self._add(closes)
            self._refit()
            return
        at = refit_point(self.closed + len(closes)) - self.closed
        if at <= 0:  # no schedule point crossed: the fit stays
            self._add(closes)
            return
        self._add(closes[:at])
        self._refit()
        self._add(closes[at:])

    def extended(self, closes: Sequence[ClosedLead]) -> LogitFit:
        """A new model: this one with ``closes`` added (:meth:`extend`); this one is left as it is.

        The new model shares the fit and copies the counts (tables whose size
        does not grow with the history), so a model handed out earlier never
        changes under its user.

        .. versionadded:: 0.2.0
        """
        new = copy.copy(self)
        new._counts = dict(self._counts)
        new.seg_counts = dict(self.seg_counts)
        new.rep_closed = dict(self.rep_closed)
        new._hours = dict(self._hours)
        new._own_hours = set()
        new.extend(closes)
        return new

    # -- features -------------------------------------------------------------------------------

    def _lead_key(self, lead: Lead) -> tuple[str, ...]:
        """(segment, lead_by values..., rep_by values...) of ``lead``, as strings."""
        return (
            self.segment_of(lead),
            *(str(lead_value(lead, f)) for f in self.lead_by),
            *(str(lead_value(lead, f)) for f in self.rep_by),
        )

    def segment_of(self, lead: Lead) -> str:
        """The lead's segment: the ``segment_by`` field values joined with ``|``."""
        return "|".join(str(lead_value(lead, f)) for f in self.segment_by)

    def _features(self, rep: str, key: tuple[str, ...]) -> list[tuple[int, str]]:
        """The (group, level) features of a rep and a lead key; group 0 is the intercept."""
        seg = key[0]
        nl = len(self.lead_by)
        lead_vals = key[1 : 1 + nl]
        rep_vals = key[1 + nl :]
        out: list[tuple[int, str]] = [(0, ""), (1, seg)]
        for f, v in enumerate(lead_vals):
            out.append((2 + f, v))
        g = 2 + nl
        if self.lead_cell:
            out.append((g, "|".join(lead_vals)))
            g += 1
        out.append((g, rep))
        out.append((g + 1, f"{rep}|{seg}"))
        for f, v in enumerate(rep_vals):
            out.append((g + 2 + f, f"{rep}|{v}"))
        return out

    @property
    def groups(self) -> list[str]:
        """The names of the term groups, in feature order."""
        names = ["intercept", "segment", *(f"lead:{f}" for f in self.lead_by)]
        if self.lead_cell:
            names.append("lead cell")
        names += ["rep", "rep x segment", *(f"rep x {f}" for f in self.rep_by)]
        return names

    # -- fitting --------------------------------------------------------------------------------

    def _fit(self, counts: dict[tuple[str, ...], tuple[int, int]]) -> None:
        n_groups = len(self.groups)
        self._rep_group = n_groups - 2 - len(self.rep_by)
        rows = sorted(counts.items())
        # feature index per (group, level), in first-seen order over the sorted rows
        index: dict[tuple[int, str], int] = {}
        group_of: list[int] = []
        row_feats: list[list[int]] = []
        for (rep, *rest), _ in rows:
            feats = []
            for gl in self._features(rep, tuple(rest)):
                k = index.get(gl)
                if k is None:
                    k = index[gl] = len(group_of)
                    group_of.append(gl[0])
                feats.append(k)
            row_feats.append(feats)
        wins = [float(r[1][0]) for r in rows]
        tot = [float(r[1][1]) for r in rows]
        nf = len(group_of)
        # per group: the rows of each feature, all features of a group partition the rows
        by_group: list[list[int]] = [[] for _ in range(n_groups)]
        for k, g in enumerate(group_of):
            by_group[g].append(k)
        slot: list[list[int]] = [[0] * len(rows) for _ in range(n_groups)]
        for i, feats in enumerate(row_feats):
            for g, k in enumerate(feats):
                slot[g][i] = k
        if self.method == "numpy":
            w, var, hdiag, sweeps = _solve_numpy(slot, by_group, group_of, wins, tot, self)
        else:
            w, var, hdiag, sweeps = _solve_python(slot, by_group, group_of, wins, tot, self)
        self.prior_var = dict(zip(self.groups, var, strict=True))
        self.sweeps = sweeps
        self._index = index
        self._w = w
        self._var = var
        self._post = [
            (0.0 if var[group_of[k]] == 0.0 else 1.0 / var[group_of[k]]) + hdiag[k]
            for k in range(nf)
        ]
        self._data_prec = hdiag

    # -- estimates ------------------------------------------------------------------------------

    def _terms(self, rep_id: str, lead: Lead) -> list[tuple[float, float, float]]:
        """(weight, posterior variance, data precision) per feature of ``rep_id`` and ``lead``."""
        out = []
        for g, level in self._features(rep_id, self._lead_key(lead)):
            k = self._index.get((g, level))
            if k is None:
                var = self._var[g] if g else 0.0
                out.append((0.0, var, 0.0))
            else:
                post = self._post[k]
                out.append((self._w[k], 1.0 / post if post > 0 else 0.0, self._data_prec[k]))
        return out

    def estimate(self, rep_id: str, lead: Lead) -> LogitEstimate:
        """``rep_id``'s fitted conversion probability for ``lead``, with its uncertainty."""
        terms = self._terms(rep_id, lead)
        g = self._rep_group
        z = sum(t[0] for t in terms)
        rep_z = sum(t[0] for t in terms[g:])
        var = sum(t[1] for t in terms[g:])
        seg_w, _seg_var, seg_data = terms[g + 1]
        seg_prior = 1.0 / self._var[g + 1]
        seg = self.segment_of(lead)
        wins, closed = self.seg_counts.get((rep_id, seg), (0, 0))
        rate = _sigmoid(z)
        return LogitEstimate(
            rep_id=rep_id,
            segment=seg,
            rate=rate,
            logit=z,
            sd=rate * (1 - rate) * math.sqrt(var),
            logit_sd=math.sqrt(var),
            base=_sigmoid(z - rep_z),
            rep_effect=terms[g][0],
            segment_effect=seg_w,
            evidence=seg_data / (seg_data + seg_prior),
            wins=wins,
            closed=closed,
        )

    def draw(self, rep_id: str, lead: Lead, *parts: object) -> float:
        """A Thompson-sampling draw of the rate, from a stable hash of ``parts``, rep and lead."""
        est = self.estimate(rep_id, lead)
        u = unit_draw(*parts, "logit", rep_id, lead.id)
        z = _NORMAL.inv_cdf(min(1 - 1e-12, max(1e-12, u)))
        return _sigmoid(est.logit + est.logit_sd * z)

    def median_first_touch_hours(self, rep_id: str) -> float | None:
        """Median hours from assignment to first activity over the rep's closed leads."""
        if self._touch is None:
            self._touch = {rep: statistics.median(v) for rep, v in sorted(self._hours.items())}
        return self._touch.get(rep_id)

    @classmethod
    def of(
        cls,
        history: Sequence[ClosedLead],
        *,
        segment_by: Sequence[str] = ("industry",),
        lead_by: Sequence[str] = ("source",),
        rep_by: Sequence[str] = ("source",),
        lead_cell: bool = False,
        method: Literal["numpy", "python"] = "numpy",
    ) -> LogitFit:
        """The scheduled model of ``history`` from a cache: built once, extended as leads close.

        The model is ``LogitFit(history, scheduled=True)``: fitted on the
        first :func:`refit_point` ``(len(history))`` closed leads, with the
        outcome counts of all of them. A history that extends the cached one
        (the same closed-lead objects first, then new ones) only adds its new
        closes to the counts, and refits only when it reaches the next point of
        the schedule; any other history is built cold. Both give the same
        model, so the result never depends on what was cached. The extended
        model is a new object (:meth:`extended`): a model returned earlier is
        never changed, so concurrent calls on different histories each get
        their own history's model.
        """
        key = (tuple(segment_by), tuple(lead_by), tuple(rep_by), bool(lead_cell), method)
        n = len(history)
        found = _CACHE.get(key)
        if found is not None:
            model, seen = found
            size = model.closed
            if size <= n and (
                seen is history or all(map(operator.is_, itertools.islice(seen, size), history))
            ):
                if size < n:
                    model = model.extended(history[size:])
                _CACHE[key] = (model, history)
                return model
        model = cls(
            history,
            segment_by=segment_by,
            lead_by=lead_by,
            rep_by=rep_by,
            lead_cell=lead_cell,
            method=method,
            scheduled=True,
        )
        if len(_CACHE) >= 16 and key not in _CACHE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = (model, history)
        return model


_CACHE: dict[tuple[Any, ...], tuple[LogitFit, Sequence[ClosedLead]]] = {}


def refit_point(closed: int) -> int:
    """The number of closed leads a scheduled :class:`LogitFit` of ``closed`` is fitted on.

    The schedule's points are 0, 1, 2, ..., 40, then each point ``s`` is
    followed by ``s + s // 20`` (about every 5% more closed leads: 40, 42, 44,
    ..., 58, 60, 63, 66, ..., 964, 1012, 1062, ..., 47365, 49733, 52219, ...);
    the result is the largest point ``<= closed``. Integer arithmetic only, so
    it is the same everywhere.

    >>> [refit_point(n) for n in (0, 7, 41, 300, 50_000)]
    [0, 7, 40, 292, 49733]

    .. versionadded:: 0.2.0
    """
    s = 0
    while True:
        nxt = s + max(1, s // 20)
        if nxt > closed:
            return s
        s = nxt


_Solved = tuple[list[float], list[float], list[float], int]


def _em_variances(
    var: list[float], by_group: list[list[int]], w: Sequence[float], hdiag: Sequence[float]
) -> list[float]:
    """One EM step for each shrunk group's prior variance (Laplace approximation)."""
    new_var = list(var)
    for g in range(1, len(var)):
        ks = by_group[g]
        if len(ks) < 2:
            continue
        lam = 1.0 / var[g]
        m2 = sum(w[k] * w[k] + 1.0 / (hdiag[k] + lam) for k in ks) / len(ks)
        new_var[g] = min(VAR_BOUNDS[1], max(VAR_BOUNDS[0], m2))
    return new_var


def _solve_python(
    slot: list[list[int]],
    by_group: list[list[int]],
    group_of: list[int],
    wins: list[float],
    tot: list[float],
    model: LogitFit,
) -> _Solved:
    """Block-coordinate Newton with EM prior variances, pure Python."""
    n_groups = len(slot)
    n = len(wins)
    nf = len(group_of)
    var = [0.0] + [1.0] * (n_groups - 1)  # prior variance per group (intercept: flat)
    w = [0.0] * nf
    eta = [0.0] * n
    if n:
        overall = (sum(wins) + 0.5) / (sum(tot) + 1.0)
        w[slot[0][0]] = math.log(overall / (1 - overall))
        eta = [w[slot[0][0]]] * n
    hdiag = [0.0] * nf
    sweeps = 0
    for em in range(max(1, model.em_rounds)):
        for _sweep in range(model.max_sweeps):
            sweeps += 1
            biggest = 0.0
            for g in range(n_groups):
                lam = 0.0 if var[g] == 0.0 else 1.0 / var[g]
                grad = [0.0] * nf
                hess = [0.0] * nf
                sg = slot[g]
                for i in range(n):
                    p = _sigmoid(eta[i])
                    k = sg[i]
                    grad[k] += wins[i] - tot[i] * p
                    hess[k] += tot[i] * p * (1 - p)
                step = [0.0] * nf
                for k in by_group[g]:
                    h = hess[k] + lam
                    if h <= 0:
                        continue
                    d = max(-2.0, min(2.0, (grad[k] - lam * w[k]) / h))
                    step[k] = d
                    w[k] += d
                    biggest = max(biggest, abs(d))
                for i in range(n):
                    eta[i] += step[sg[i]]
            if biggest < model.tolerance:
                break
        hdiag = [0.0] * nf
        for i in range(n):
            p = _sigmoid(eta[i])
            h = tot[i] * p * (1 - p)
            for g in range(n_groups):
                hdiag[slot[g][i]] += h
        if em == model.em_rounds - 1:
            break
        new_var = _em_variances(var, by_group, w, hdiag)
        if max(abs(a - b) for a, b in zip(new_var, var, strict=True)) < 1e-4:
            break
        var = new_var
    return w, var, hdiag, sweeps


def _solve_numpy(
    slot: list[list[int]],
    by_group: list[list[int]],
    group_of: list[int],
    wins: list[float],
    tot: list[float],
    model: LogitFit,
) -> _Solved:
    """The same iteration as :func:`_solve_python`, vectorised with numpy."""
    import numpy as np

    n_groups = len(slot)
    nf = len(group_of)
    y = np.asarray(wins, dtype=float)
    t = np.asarray(tot, dtype=float)
    idx = [np.asarray(s, dtype=np.int64) for s in slot]
    var = [0.0] + [1.0] * (n_groups - 1)
    w = np.zeros(nf)
    eta = np.zeros(len(wins))
    if len(wins):
        overall = (float(y.sum()) + 0.5) / (float(t.sum()) + 1.0)
        w[slot[0][0]] = math.log(overall / (1 - overall))
        eta[:] = w[slot[0][0]]
    members = [np.asarray(ks, dtype=np.int64) for ks in by_group]
    hdiag = np.zeros(nf)
    sweeps = 0
    for em in range(max(1, model.em_rounds)):
        lam_of = np.zeros(nf)
        for g in range(n_groups):
            lam_of[members[g]] = 0.0 if var[g] == 0.0 else 1.0 / var[g]
        for _sweep in range(model.max_sweeps):
            sweeps += 1
            biggest = 0.0
            for g in range(n_groups):
                p = 1.0 / (1.0 + np.exp(-eta))
                grad = np.bincount(idx[g], weights=y - t * p, minlength=nf)
                hess = np.bincount(idx[g], weights=t * p * (1 - p), minlength=nf)
                ks = members[g]
                h = hess[ks] + lam_of[ks]
                d = np.zeros(len(ks))
                ok = h > 0
                d[ok] = np.clip((grad[ks][ok] - lam_of[ks][ok] * w[ks][ok]) / h[ok], -2.0, 2.0)
                w[ks] += d
                step = np.zeros(nf)
                step[ks] = d
                eta += step[idx[g]]
                if len(d):
                    biggest = max(biggest, float(np.abs(d).max()))
            if biggest < model.tolerance:
                break
        p = 1.0 / (1.0 + np.exp(-eta))
        hrow = t * p * (1 - p)
        hdiag = np.zeros(nf)
        for g in range(n_groups):
            hdiag += np.bincount(idx[g], weights=hrow, minlength=nf)
        if em == model.em_rounds - 1:
            break
        new_var = _em_variances(var, by_group, w.tolist(), hdiag.tolist())
        if max(abs(a - b) for a, b in zip(new_var, var, strict=True)) < 1e-4:
            break
        var = new_var
    return [float(x) for x in w], var, [float(x) for x in hdiag], sweeps
