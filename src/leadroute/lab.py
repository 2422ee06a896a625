"""The policy lab: replay historical leads through a policy, measure, compare.

``simulate(router, state, leads)`` replays the leads in time order, one
clock step (a day by default) at a time: it closes the leads whose time has
come (at their historical close time when ``outcomes`` give one, else
``close_after`` after assignment), retries the leads waiting in the pool,
routes the step's new leads, and records what happened. The result is a
:class:`SimulationReport`; ``compare(a, b)`` sets two side by side.

Everything is deterministic: the same inputs give the same report.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import heapq
import logging
import math
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field

from leadroute import report as _report
from leadroute.exceptions import InputError
from leadroute.fast import build
from leadroute.fit import FitModel
from leadroute.hashing import unit_draw
from leadroute.limits import short_repr
from leadroute.models import FrozenModel, Lead, Rep
from leadroute.regions import region_covers
from leadroute.router import Router
from leadroute.state import ZERO_LOAD, ClosedLead, OpenLead, PoolState

__all__ = [
    "Comparison",
    "Fairness",
    "HistoricalOutcome",
    "RepShare",
    "SimulationReport",
    "compare",
    "gini",
    "simulate",
    "write_html",
]

logger = logging.getLogger(__name__)


class HistoricalOutcome(FrozenModel):
    """What really happened to a lead: who worked it, when they first did, how it ended.

    .. versionadded:: 0.1.0

    .. versionchanged:: 0.2.0
       ``first_activity_at``.
    """

    lead_id: str
    rep_id: str | None = None
    outcome: Literal["won", "lost", "disqualified"]
    closed_at: AwareDatetime | None = None
    #: when the rep first worked the lead (activity); learned strategies read the response time.
    first_activity_at: AwareDatetime | None = None


class RepShare(FrozenModel):
    """One rep's leads in a simulation against the share it should have had.

    ``target_share`` is the rep's fair share *within the territories it can
    serve*: each lead is shared among the active reps whose territories cover
    its region (in proportion to their weights; a rep without territories
    covers every lead), so a rep in a small region is not shown as starved.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       ``target_share`` takes territories into account (was weight over the roster).
    """

    count: int
    share: float
    target_share: float
    deviation: float


class Fairness(FrozenModel):
    """How evenly leads were spread: Gini of counts, max/min ratio, worst share deviation.

    .. versionadded:: 0.1.0
    """

    gini: float
    max_min_ratio: float | None
    max_share_deviation: float


class SimulationReport(FrozenModel):
    """What a policy did to a stream of historical leads.

    .. versionadded:: 0.1.0
    """

    policy_revision: str
    leads: int
    assigned: int
    unassigned: dict[str, int] = Field(default_factory=dict)
    manual_review: dict[str, int] = Field(default_factory=dict)
    per_rep: dict[str, RepShare] = Field(default_factory=dict)
    cap_hits: dict[str, int] = Field(default_factory=dict)
    fairness: Fairness
    wait_minutes: dict[str, float] = Field(default_factory=dict)
    load_times: tuple[datetime, ...] = ()
    load: dict[str, tuple[int, ...]] = Field(default_factory=dict)
    expected_conversions: float | None = None
    learned_history: int = 0
    notes: tuple[str, ...] = ()
    #: when the first and the last simulated lead arrived (``None``: no leads)
    first_lead_at: AwareDatetime | None = None
    last_lead_at: AwareDatetime | None = None
    #: the clock step of the simulation
    step: timedelta = timedelta(days=1)
    #: active reps per team (``""``: reps without a team)
    teams: dict[str, int] = Field(default_factory=dict)
    #: the ids of the policy's rules, in order
    rules: tuple[str, ...] = ()
    #: leads each active rep could serve by territory
    servable: dict[str, int] = Field(default_factory=dict)
    #: expected conversions of each rep's leads (with enough outcomes)
    expected_by_rep: dict[str, float] = Field(default_factory=dict)
    #: clock steps that ended with the rep at its ``max_open``
    full_steps: dict[str, int] = Field(default_factory=dict)
    #: times each rep was skipped for being at a cap (open, daily or period)
    cap_hits_by_rep: dict[str, int] = Field(default_factory=dict)
    #: 95% bootstrap interval of ``expected_conversions`` (``evaluation="holdout"`` only).
    expected_interval: tuple[float, float] | None = None
    #: how ``expected_conversions`` was computed, in one sentence.
    expected_method: str | None = None
    #: the sum of lead value (``value``, else ``score``) each rep received.
    value_per_rep: dict[str, float] = Field(default_factory=dict)
    #: Gini of ``value_per_rep`` over the active reps (``None`` when no lead had a value).
    value_gini: float | None = None

    def summary(self) -> str:
        """A short text report in plain words."""
        return _report.summary_text(self)

    def to_html(self, path: str | Path, *, title: str = "leadroute simulation") -> Path:
        """Write a self-contained HTML report with charts (needs ``pip install "leadroute[report]"``).

        See :func:`leadroute.report.write_html`.
        """
        return write_html([("policy", self)], path, title=title)


def gini(values: Sequence[float]) -> float:
    """The Gini coefficient of ``values`` (0 = perfectly even).

    >>> gini([5, 5, 5, 5])
    0.0
    >>> round(gini([0, 0, 0, 10]), 3)
    0.75
    """
    xs = sorted(values)
    n = len(xs)
    total = sum(xs)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((i + 1) * x for i, x in enumerate(xs))
    return (2 * weighted) / (n * total) - (n + 1) / n


def _pct(a: float, b: float) -> str:
    return "-" if not b else f"{a / b:.1%}"


def simulate(
    router: Router,
    state: PoolState,
    leads: Iterable[Lead],
    outcomes: Mapping[str, HistoricalOutcome] | Iterable[HistoricalOutcome] | None = None,
    *,
    step: timedelta = timedelta(days=1),
    close_after: timedelta | None = timedelta(days=7),
    retry_pool: bool = True,
    min_history: int = 300,
    prior_strength: float = 10.0,
    segment_by: Sequence[str] = ("industry",),
    progress: Callable[[int, int], None] | None = None,
    evaluation: Literal["in_sample", "holdout"] = "in_sample",
    bootstrap: int = 200,
    seed: int = 0,
) -> SimulationReport:
    """Replay ``leads`` through ``router`` from ``state`` and measure the result.

    Args:
        outcomes: historical outcomes by lead id. They set when a lead closes
            (``closed_at``); as the clock passes each ``closed_at`` the real
            close (who worked the lead, how it ended) joins the state's
            ``history``, so learned strategies such as ``BestFit`` learn only
            from what was known at the time; and, with enough of them
            (``min_history``), they give the expected conversions under this
            policy from a fit model learned on all of them.
        step: the clock step; pooled leads are retried at each step.
        close_after: when a lead without a historical close time closes
            (``None``: it stays open).
        retry_pool: retry leads left in the pool for want of a rep.
        evaluation: ``"in_sample"`` (default) scores the policy with a fit
            model learned from every outcome, including those the policy
            learned from -- optimistic for learned policies.
            ``"holdout"`` hides a stable-hash half of the outcomes from the
            policy (they never join the state's history) and scores the
            policy with a fit model learned from that half only, with a 95%
            bootstrap interval (``bootstrap`` resamples of the held-out
            outcomes, drawn from a stable hash of ``seed``); the report's
            ``expected_method`` says so. Use the same setting to compare
            policies on the same footing.
        progress: called as ``progress(done, total)`` after each clock step
            with the leads routed so far (``done`` only grows and ends at
            ``total``, the number of leads).

    Target shares are each rep's fair share within the territories it can
    serve (see :class:`RepShare`). The report's ``value_per_rep`` and
    ``value_gini`` give the balance of lead value (``value``, else
    ``score``), not only of counts.

    An outcome's ``first_activity_at`` (an activity event) joins the learned
    history with its close, so ``BestFit``'s response component reads real
    first-touch times instead of a constant 0.5.

    .. versionchanged:: 0.2.0
       ``evaluation``, ``bootstrap`` and ``seed``; value balance figures;
       activity events (``HistoricalOutcome.first_activity_at``); ``progress``;
       territory-aware target shares; the report describes what was simulated.
    """
    if evaluation not in ("in_sample", "holdout"):
        msg = f"evaluation={evaluation!r}: use 'in_sample' or 'holdout'"
        raise InputError(msg, field="evaluation")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        msg = f"bootstrap={bootstrap!r}: a number of resamples >= 0"
        raise InputError(msg, field="bootstrap")
    leads = _check_simulate(router, state, leads, step, close_after, min_history, prior_strength)
    stream = sorted(leads, key=lambda x: (x.created_at, x.id))
    logger.info(
        "simulate: %d leads, policy %s, %d reps",
        len(stream),
        router.policy_revision,
        len(state.reps),
    )
    start_state = state
    by_id = _outcomes(outcomes)
    fit: FitModel | None = None
    lead_of = {x.id: x for x in stream}
    closed: list[ClosedLead] = []
    hidden: list[ClosedLead] = []
    if by_id:
        closed = [
            ClosedLead(
                lead=lead_of[o.lead_id],
                rep_id=o.rep_id,
                assigned_at=lead_of[o.lead_id].created_at,
                closed_at=o.closed_at or lead_of[o.lead_id].created_at,
                outcome=o.outcome,
                first_activity_at=o.first_activity_at,
            )
            for o in by_id.values()
            if o.rep_id is not None and o.lead_id in lead_of
        ]
        if evaluation == "holdout":
            hidden = [c for c in closed if unit_draw(seed, "holdout", c.lead.id) < 0.5]
            closed = [c for c in closed if not unit_draw(seed, "holdout", c.lead.id) < 0.5]
        fit = FitModel(
            hidden if evaluation == "holdout" else closed,
            segment_by=segment_by,
            prior_strength=prior_strength,
            min_history=min_history,
        )
        closed.sort(key=lambda c: (c.closed_at, c.lead.id))
    learned_upto = 0
    counts: Counter[str] = Counter()
    unassigned: Counter[str] = Counter()
    review: Counter[str] = Counter()
    caps: Counter[str] = Counter()
    rep_caps: Counter[str] = Counter()
    waits: list[float] = []
    final: dict[str, str | tuple[str, str]] = {}
    load_times: list[datetime] = []
    rep_ids = [r.id for r in state.reps]
    snapshots: list[list[int]] = []  # open leads per rep (in roster order) after each step
    expected = 0.0
    closer = _Closer(by_id, close_after)
    i = 0
    extra_steps = 0
    if stream:
        clock = stream[0].created_at
        while True:
            end = clock + step
            state = closer.close_due(state, end)
            state, learned_upto = _learn(state, closed, learned_upto, clock)
            retried = 0
            if retry_pool and _waiting(state):
                retry = [p.lead for p in state.pool.values() if p.reason == "no_eligible_rep"]
                state, rows, drops, rep_hits = router.engine.replay(state, retry, now=clock)
                retried = sum(1 for r in rows if r[1] is not None)
                _tally(rows, drops, counts, caps, waits, final, lead_of)
                rep_caps.update(rep_hits)
                closer.opened(rows)
            batch = []
            while i < len(stream) and stream[i].created_at < end:
                batch.append(stream[i])
                i += 1
            if batch:
                state, rows, drops, rep_hits = router.engine.replay(state, batch)
                _tally(rows, drops, counts, caps, waits, final, lead_of)
                rep_caps.update(rep_hits)
                closer.opened(rows)
            load_times.append(end)
            if progress is not None:
                progress(i, len(stream))
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "simulate: step to %s, %d of %d leads", end.isoformat(), i, len(stream)
                )
            held = state.loads
            snapshots.append([0 if (x := held.get(r)) is None else x.open for r in rep_ids])
            clock = end
            if i < len(stream):
                continue
            # the stream is done: keep stepping only while waiting leads can still be served
            extra_steps += 1
            closable = close_after is not None or any(
                o.closed_at is not None and o.lead_id in state.open_leads for o in by_id.values()
            )
            if not (retry_pool and _waiting(state)) or (
                retried == 0 and not (closable and state.open_leads)
            ):
                break
            if extra_steps > 3650:
                notes_early = "stopped retrying the pool after 3650 steps past the last lead"
                break
    # final outcome per lead: a rep id, or (outcome, reason) for leads without one
    assigned = 0
    by_rep: dict[str, float] = {}
    for lead_id, where in final.items():
        if type(where) is str:
            assigned += 1
            if fit is not None and fit.enabled:
                rate = fit.estimate(where, lead_of[lead_id]).rate
                expected += rate
                by_rep[where] = by_rep.get(where, 0.0) + rate
        elif where[0] == "manual_review":
            review[where[1]] += 1
        else:
            unassigned[where[1]] += 1
    targets, servable = _fair_shares(state.reps, stream)
    per_rep, fairness = _shares(state, counts, targets)
    notes: list[str] = []
    if extra_steps > 3650:
        notes.append(notes_early)
    exp: float | None = None
    interval: tuple[float, float] | None = None
    method: str | None = None
    if fit is not None:
        if fit.enabled:
            exp = round(expected, 4)
            if evaluation == "holdout":
                placed = [(r, lead_of[k]) for k, r in final.items() if type(r) is str]
                interval = _bootstrap(
                    hidden, placed, bootstrap, seed, segment_by, prior_strength, min_history
                )
                method = (
                    f"Expected conversions: a fit model learned only from {len(hidden)} held-out "
                    f"outcomes (a stable-hash half the policy never learned from; it learned "
                    f"from the other {len(closed)}), summed over the assigned leads"
                    + (
                        f"; the interval is the 2.5-97.5 percentile of {bootstrap} bootstrap "
                        "resamples of the held-out outcomes."
                        if interval is not None
                        else "."
                    )
                )
            else:
                method = (
                    f"Expected conversions: a fit model learned from all {fit.closed} outcomes, "
                    "including any the policy learned from (optimistic for learned policies; "
                    'use evaluation="holdout" for an honest figure).'
                )
        else:
            notes.append(
                f"expected conversions off: {fit.closed} historical outcomes < {min_history}"
            )
    value_per_rep, value_gini = _value_balance(state, final, lead_of)
    report = SimulationReport(
        policy_revision=router.policy_revision,
        leads=len(stream),
        assigned=assigned,
        unassigned=dict(sorted(unassigned.items())),
        manual_review=dict(sorted(review.items())),
        per_rep=per_rep,
        cap_hits=dict(sorted(caps.items())),
        cap_hits_by_rep=dict(sorted(rep_caps.items())),
        fairness=fairness,
        wait_minutes=_wait_stats(waits),
        load_times=tuple(load_times),
        load=dict(zip(rep_ids, zip(*snapshots, strict=True), strict=True))
        if snapshots
        else dict.fromkeys(rep_ids, ()),
        expected_conversions=exp,
        learned_history=0 if fit is None else len(closed),
        notes=tuple(notes),
        first_lead_at=stream[0].created_at if stream else None,
        last_lead_at=stream[-1].created_at if stream else None,
        step=step,
        teams=dict(sorted(Counter(r.team or "" for r in start_state.reps if r.active).items())),
        rules=tuple(r.id for r in router.rules),
        servable=servable,
        expected_by_rep={k: round(by_rep[k], 4) for k in sorted(by_rep)} if exp is not None else {},
        full_steps=_full_steps(state.reps, rep_ids, snapshots),
        expected_interval=interval,
        expected_method=method,
        value_per_rep=value_per_rep,
        value_gini=value_gini,
    )
    logger.info(
        "simulate: done, %d of %d leads assigned, %d steps", assigned, len(stream), len(load_times)
    )
    if progress is not None and not stream:
        progress(0, 0)
    return report


def _bootstrap(
    held: Sequence[ClosedLead],
    placed: Sequence[tuple[str, Lead]],
    rounds: int,
    seed: int,
    segment_by: Sequence[str],
    prior_strength: float,
    min_history: int,
) -> tuple[float, float] | None:
    """The 2.5-97.5 percentile interval of expected conversions over resampled held-out outcomes."""
    if rounds < 2 or not held:
        return None
    n = len(held)
    totals: list[float] = []
    for b in range(rounds):
        sample = [held[min(n - 1, int(unit_draw(seed, "bootstrap", b, k) * n))] for k in range(n)]
        model = FitModel(
            sample, segment_by=segment_by, prior_strength=prior_strength, min_history=0
        )
        totals.append(sum(model.estimate(rep_id, lead).rate for rep_id, lead in placed))
    totals.sort()
    lo = totals[max(0, math.floor(0.025 * rounds))]
    hi = totals[min(rounds - 1, math.ceil(0.975 * rounds) - 1)]
    return round(lo, 4), round(hi, 4)


def _value_balance(
    state: PoolState, final: Mapping[str, str | tuple[str, str]], lead_of: Mapping[str, Lead]
) -> tuple[dict[str, float], float | None]:
    """Lead value (``value``, else ``score``) received per rep, and its Gini over active reps."""
    per: dict[str, float] = {}
    seen = False
    for lead_id, where in final.items():
        if type(where) is not str:
            continue
        lead = lead_of[lead_id]
        v = lead.value if lead.value is not None else lead.score
        if v is None:
            continue
        seen = True
        per[where] = per.get(where, 0.0) + float(v)
    if not seen:
        return {}, None
    active = [r.id for r in state.reps if r.active and not r.paused and r.weight > 0]
    out = {r: round(per.get(r, 0.0), 6) for r in active}
    for r in sorted(per):
        if r not in out:
            out[r] = round(per[r], 6)
    return out, round(gini([per.get(r, 0.0) for r in active]), 6)


def _outcomes(
    outcomes: Mapping[str, HistoricalOutcome] | Iterable[HistoricalOutcome] | None,
) -> dict[str, HistoricalOutcome]:
    if outcomes is None:
        return {}
    items = list(outcomes.values()) if isinstance(outcomes, Mapping) else outcomes
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        msg = f"outcomes: expected HistoricalOutcome records, got {type(outcomes).__name__}"
        raise InputError(msg, field="outcomes")
    items = list(items)
    for i, o in enumerate(items):
        if not isinstance(o, HistoricalOutcome):
            msg = f"outcomes[{i}] is a {type(o).__name__}, not a HistoricalOutcome"
            raise InputError(msg, field=f"outcomes[{i}]")
    if isinstance(outcomes, Mapping):
        return dict(outcomes)
    return {o.lead_id: o for o in items}


def _check_simulate(
    router: object,
    state: object,
    leads: object,
    step: object,
    close_after: object,
    min_history: object,
    prior_strength: object,
) -> list[Lead]:
    """``simulate``'s arguments checked (every problem an :class:`InputError`); the leads."""
    if not isinstance(router, Router):
        msg = f"router: expected a Router, got {type(router).__name__}"
        raise InputError(msg, field="router")
    if not isinstance(state, PoolState):
        msg = f"state: expected a PoolState, got {type(state).__name__}"
        raise InputError(msg, field="state")
    if isinstance(leads, (str, bytes, Mapping)) or not isinstance(leads, Iterable):
        msg = f"leads: expected a list of Lead objects, got {type(leads).__name__}"
        raise InputError(msg, field="leads")
    out = list(leads)
    for i, lead in enumerate(out):
        if not isinstance(lead, Lead):
            msg = f"leads[{i}] is a {type(lead).__name__}, not a Lead"
            raise InputError(msg, field=f"leads[{i}]")
    longest = timedelta(days=36_600)
    if not isinstance(step, timedelta) or not timedelta(0) < step <= longest:
        msg = f"step={short_repr(step)}: a positive duration of at most {longest.days} days"
        raise InputError(msg, field="step")
    if close_after is not None and (
        not isinstance(close_after, timedelta) or not timedelta(0) <= close_after <= longest
    ):
        msg = f"close_after={short_repr(close_after)}: a duration of 0 to {longest.days} days"
        raise InputError(msg, field="close_after")
    if isinstance(min_history, bool) or not isinstance(min_history, int) or min_history < 0:
        msg = f"min_history={short_repr(min_history)}: a whole number >= 0"
        raise InputError(msg, field="min_history")
    if (
        isinstance(prior_strength, bool)
        or not isinstance(prior_strength, (int, float))
        or not 0 < prior_strength < math.inf
    ):
        msg = f"prior_strength={short_repr(prior_strength)}: a finite number > 0"
        raise InputError(msg, field="prior_strength")
    return out


def _waiting(state: PoolState) -> bool:
    return any(p.reason == "no_eligible_rep" for p in state.pool.values())


Row = tuple[str, str | None, str, str, datetime]


def _tally(
    rows: list[Row],
    drops: Mapping[str, int],
    counts: Counter[str],
    caps: Counter[str],
    waits: list[float],
    final: dict[str, str | tuple[str, str]],
    lead_of: Mapping[str, Lead],
) -> None:
    for code, n in drops.items():
        if code in ("capacity", "daily_cap", "period_cap"):
            caps[code] += n
    for lead_id, rep_id, outcome, reason, at in rows:
        if rep_id is not None:
            counts[rep_id] += 1
            waits.append((at - lead_of[lead_id].created_at).total_seconds() / 60)
            final[lead_id] = rep_id
        else:
            final[lead_id] = (outcome, reason)


class _Closer:
    """When each simulated open lead closes, in a heap (so a step costs what it closes)."""

    def __init__(
        self, outcomes: Mapping[str, HistoricalOutcome], close_after: timedelta | None
    ) -> None:
        self.outcomes = outcomes
        self.close_after = close_after
        self.heap: list[tuple[datetime, str]] = []

    def opened(self, rows: list[tuple[str, str | None, str, str, datetime]]) -> None:
        """Schedule the closes of the leads assigned in ``rows``."""
        for lead_id, rep_id, _outcome, _reason, decided in rows:
            if rep_id is None:
                continue
            o = self.outcomes.get(lead_id)
            if o is not None and o.closed_at is not None:
                at = max(o.closed_at, decided)
            elif self.close_after is not None:
                at = decided + self.close_after
            else:
                continue
            heapq.heappush(self.heap, (at, lead_id))

    def close_due(self, state: PoolState, end: datetime) -> PoolState:
        """Close every scheduled lead whose close time is before ``end`` (one state change)."""
        gone: set[str] = set()
        heap = self.heap
        while heap and heap[0][0] < end:
            _at, lead_id = heapq.heappop(heap)
            if lead_id in state.open_leads:
                gone.add(lead_id)
        if not gone:
            return state
        open_leads = state.open_leads
        freed: dict[str, int] = {}
        for k in gone:
            rep_id = open_leads[k].rep_id
            freed[rep_id] = freed.get(rep_id, 0) + 1
        loads = dict(state.loads)
        for rep_id, n in freed.items():
            loads[rep_id] = (loads.get(rep_id) or ZERO_LOAD).release(n)
        values = {name: getattr(state, name) for name in PoolState.model_fields}
        values.update(
            open_leads=_without(state.open_leads, gone),
            loads=loads,
            revision=state.revision + 1,
        )
        return build(PoolState, **values)


def _without(items: Mapping[str, OpenLead], gone: set[str]) -> dict[str, OpenLead]:
    """A copy of ``items`` without the keys in ``gone`` (all present), order kept."""
    out = dict(items)
    for k in gone:
        del out[k]
    return out


def _learn(
    state: PoolState, known: list[ClosedLead], upto: int, end: datetime
) -> tuple[PoolState, int]:
    """Add the historical closes known before ``end`` to the state's history (for learned fit)."""
    stop = upto
    while stop < len(known) and known[stop].closed_at < end:
        stop += 1
    if stop == upto:
        return state, upto
    values = {name: getattr(state, name) for name in PoolState.model_fields}
    values["history"] = (*state.history, *known[upto:stop])
    return build(PoolState, **values), stop


def _fair_shares(
    reps: Sequence[Rep], leads: Sequence[Lead]
) -> tuple[dict[str, float], dict[str, int]]:
    """Each active rep's fair share of ``leads`` within its territories, and the leads it can serve.

    A lead is shared among the active reps whose territories cover its region,
    in proportion to their weights; a rep without territories covers every
    lead; a lead nobody covers is shared by the whole roster. Leads are
    grouped by region first, so the cost is leads + regions x reps.
    """
    roster = [r for r in reps if r.active and not r.paused and r.weight > 0]
    by_geo = Counter(x.region or x.country for x in leads)
    due: dict[str, float] = dict.fromkeys((r.id for r in roster), 0.0)
    servable: dict[str, int] = dict.fromkeys((r.id for r in roster), 0)
    for geo in sorted(by_geo, key=lambda g: (g is None, g or "")):
        n = by_geo[geo]
        cover = [
            r
            for r in roster
            if not r.territories
            or (geo is not None and any(region_covers(t, geo) for t in r.territories))
        ]
        for r in cover:
            servable[r.id] += n
        share_among = cover or roster
        weights = sum(r.weight for r in share_among)
        for r in share_among:
            due[r.id] += n * r.weight / weights
    total = sum(due.values())
    if not total:
        weights = sum(r.weight for r in roster)
        return {r.id: r.weight / weights for r in roster} if weights else {}, servable
    return {k: v / total for k, v in due.items()}, servable


def _full_steps(
    reps: Sequence[Rep], rep_ids: list[str], snapshots: list[list[int]]
) -> dict[str, int]:
    """How many clock steps ended with each capped rep at its ``max_open``."""
    caps = {r.id: r.capacity.max_open for r in reps}
    out: dict[str, int] = {}
    for j, rep_id in enumerate(rep_ids):
        cap = caps.get(rep_id)
        if cap:
            out[rep_id] = sum(1 for snap in snapshots if snap[j] >= cap)
    return out


def _shares(
    state: PoolState, counts: Counter[str], targets: Mapping[str, float] | None = None
) -> tuple[dict[str, RepShare], Fairness]:
    """Per-rep shares against ``targets`` (default: each rep's weight over the active roster)."""
    roster = [r for r in state.reps if r.active and not r.paused]
    if targets is None:
        weight_sum = sum(r.weight for r in roster)
        targets = {r.id: r.weight / weight_sum if weight_sum else 0.0 for r in roster}
    total = sum(counts.values())
    per: dict[str, RepShare] = {}
    for r in roster:
        n = counts.get(r.id, 0)
        share = n / total if total else 0.0
        target = targets.get(r.id, 0.0)
        per[r.id] = RepShare(
            count=n,
            share=round(share, 6),
            target_share=round(target, 6),
            deviation=round(share - target, 6),
        )
    for rep_id, n in sorted(counts.items()):
        if rep_id not in per:  # assigned, then deactivated
            per[rep_id] = RepShare(
                count=n, share=round(n / total, 6), target_share=0.0, deviation=round(n / total, 6)
            )
    active = {x.id for x in roster}
    values = [p.count for r, p in per.items() if r in active and p.target_share > 0]
    positive = [v for v in values if v > 0]
    ratio = None if not values or min(values) == 0 else round(max(values) / min(values), 6)
    if values and not positive:
        ratio = None
    fairness = Fairness(
        gini=round(gini(values), 6),
        max_min_ratio=ratio,
        max_share_deviation=round(max((abs(p.deviation) for p in per.values()), default=0.0), 6),
    )
    return per, fairness


def _wait_stats(waits: list[float]) -> dict[str, float]:
    if not waits:
        return {}
    xs = sorted(waits)
    p90 = xs[min(len(xs) - 1, math.ceil(0.9 * len(xs)) - 1)]
    return {
        "mean": round(statistics.fmean(xs), 4),
        "median": round(statistics.median(xs), 4),
        "p90": round(p90, 4),
        "max": round(xs[-1], 4),
    }


class Comparison(FrozenModel):
    """Two simulation reports side by side, with the differences that matter.

    .. versionadded:: 0.1.0
    """

    names: tuple[str, str]
    rows: tuple[tuple[str, str, str, str], ...]
    differences: tuple[str, ...]

    def table(self) -> str:
        """A plain-text table: measure, A, B, change."""
        head = ("measure", *self.names, "B - A")
        rows = [head, *self.rows]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        out = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        out.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join([*out, "", *self.differences])


def compare(
    a: SimulationReport, b: SimulationReport, names: tuple[str, str] = ("A", "B")
) -> Comparison:
    """Compare two reports of the same leads under two policies."""
    if a.leads != b.leads:
        msg = f"the reports cover different lead counts ({a.leads} and {b.leads})"
        raise InputError(msg)

    def row(name: str, x: float | None, y: float | None, fmt: str) -> tuple[str, str, str, str]:
        fx = "-" if x is None else format(x, fmt)
        fy = "-" if y is None else format(y, fmt)
        diff = "-" if x is None or y is None else format(y - x, "+" + fmt)
        return (name, fx, fy, diff)

    rows = [
        row("assigned", a.assigned, b.assigned, "d"),
        row("unassigned", sum(a.unassigned.values()), sum(b.unassigned.values()), "d"),
        row("manual review", sum(a.manual_review.values()), sum(b.manual_review.values()), "d"),
        row("cap hits", sum(a.cap_hits.values()), sum(b.cap_hits.values()), "d"),
        row("gini", a.fairness.gini, b.fairness.gini, ".3f"),
        row(
            "max share deviation",
            a.fairness.max_share_deviation,
            b.fairness.max_share_deviation,
            ".3%",
        ),
        row("max/min ratio", a.fairness.max_min_ratio, b.fairness.max_min_ratio, ".2f"),
        row("mean wait (min)", a.wait_minutes.get("mean"), b.wait_minutes.get("mean"), ".1f"),
        row("p90 wait (min)", a.wait_minutes.get("p90"), b.wait_minutes.get("p90"), ".1f"),
        row("expected conversions", a.expected_conversions, b.expected_conversions, ".1f"),
    ]
    diffs: list[str] = []
    na, nb = names
    if b.assigned != a.assigned:
        diffs.append(
            f"{nb} assigns {abs(b.assigned - a.assigned)} "
            f"{'more' if b.assigned > a.assigned else 'fewer'} leads than {na}."
        )
    if a.expected_conversions is not None and b.expected_conversions is not None:
        d = b.expected_conversions - a.expected_conversions
        if abs(d) >= 0.5:
            rel = _pct(abs(d), a.expected_conversions)
            diffs.append(
                f"{nb} expects {abs(d):.1f} {'more' if d > 0 else 'fewer'} conversions ({rel})."
            )
    dg = b.fairness.gini - a.fairness.gini
    if abs(dg) >= 0.01:
        diffs.append(f"{nb} spreads leads {'less' if dg > 0 else 'more'} evenly (gini {dg:+.3f}).")
    da = a.wait_minutes.get("mean", 0.0)
    db = b.wait_minutes.get("mean", 0.0)
    if abs(db - da) >= 1:
        diffs.append(f"{nb} {'adds' if db > da else 'saves'} {abs(db - da):.1f} min of mean wait.")
    moved = sorted(
        ((abs(b.per_rep[k].count - a.per_rep[k].count), k) for k in a.per_rep if k in b.per_rep),
        reverse=True,
    )[:3]
    for n, k in moved:
        if n:
            diffs.append(f"{k}: {a.per_rep[k].count} -> {b.per_rep[k].count} leads.")
    diffs.extend(f"Warning: {w}" for w in _report.verdict([(na, a), (nb, b)]).warnings)
    if not diffs:
        diffs.append("No difference that matters.")
    return Comparison(names=names, rows=tuple(rows), differences=tuple(diffs))


def write_html(
    reports: Sequence[tuple[str, SimulationReport]],
    path: str | Path,
    *,
    title: str = "leadroute simulation",
) -> Path:
    """A self-contained HTML page for ``reports`` (named policies), see :func:`leadroute.report.write_html`.

    Needs plotly (``pip install "leadroute[report]"``); raises :class:`ImportError` naming the
    extra before doing any work when it is missing.
    """
    return _report.write_html(reports, path, title=title)
