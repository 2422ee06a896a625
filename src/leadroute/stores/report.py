"""The live report: the policy lab's figures for real assignments in a store.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from leadroute.lab import SimulationReport, _shares, _wait_stats
from leadroute.stores.base import Store, aware

__all__ = ["live_report"]

_CAP_CODES = ("capacity", "daily_cap", "period_cap")


def live_report(store: Store, since: datetime, until: datetime | None = None) -> SimulationReport:
    """The lab's figures for the decisions a store recorded in ``since <= at < until``.

    Per-rep counts and shares against the weight targets, fairness (Gini,
    max/min, share deviation), cap hits (drops listed in the audit), time
    from a lead's creation to its assignment, unassigned and manual-review
    reasons by lead (its last decision in the period), and, in ``notes``,
    manual assignments and the conversions of leads closed in the period.
    ``load`` holds each rep's open leads now (one point).

    >>> from datetime import datetime, timezone
    >>> from leadroute.stores import MemoryStore
    >>> live_report(MemoryStore(), datetime(2026, 1, 1, tzinfo=timezone.utc)).leads
    0

    .. versionadded:: 0.2.0
    """
    aware(since, "since")
    aware(until, "until")
    rows = store.audit(kind="decision", since=since, until=until)
    counts: Counter[str] = Counter()
    caps: Counter[str] = Counter()
    final: dict[str, tuple[str, str | None, str]] = {}
    waits: list[float] = []
    revisions: set[str] = set()
    for row in rows:
        d: dict[str, Any] = row.data
        revisions.add(str(d.get("policy_revision", "")))
        rep_id = d.get("rep_id")
        outcome = str(d.get("outcome"))
        final[str(d.get("lead_id"))] = (outcome, rep_id, str(d.get("reason")))
        for step in d.get("steps") or ():
            for drop in step.get("dropped") or ():
                if drop.get("code") in _CAP_CODES:
                    caps[str(drop["code"])] += 1
        if outcome == "assigned" and rep_id is not None:
            counts[str(rep_id)] += 1
            if row.created_at is not None:
                waits.append((row.at - row.created_at).total_seconds() / 60)
    unassigned: Counter[str] = Counter()
    review: Counter[str] = Counter()
    assigned = 0
    for outcome, _rep, reason in final.values():
        if outcome == "assigned":
            assigned += 1
        elif outcome == "manual_review":
            review[reason] += 1
        else:
            unassigned[reason] += 1
    now = store.counters()
    per_rep, fairness = _shares(now, counts)
    notes: list[str] = []
    manual = store.audit(kind="assign_manually", since=since, until=until)
    if manual:
        notes.append(f"manual assignments: {len(manual)} (not in the shares)")
    closed = store.closed_leads(since=since, until=until)
    if closed:
        won = sum(1 for c in closed if c[2] == "won")
        notes.append(f"conversions: {won} won of {len(closed)} closed ({won / len(closed):.1%})")
        by_rep: dict[str, list[int]] = {}
        for _lead, rep_id, outcome, _at in closed:
            rec = by_rep.setdefault(rep_id, [0, 0])
            rec[0] += outcome == "won"
            rec[1] += 1
        for rep_id in sorted(by_rep):
            w, n = by_rep[rep_id]
            notes.append(f"  {rep_id}: {w} won of {n} closed ({w / n:.1%})")
    else:
        notes.append("conversions: no lead closed in the period")
    if len(revisions) > 1:
        notes.append(f"{len(revisions)} policy revisions made these decisions")
    end = until or now.as_of or since
    return SimulationReport(
        policy_revision=next(iter(revisions)) if len(revisions) == 1 else "mixed",
        leads=len(final),
        assigned=assigned,
        unassigned=dict(sorted(unassigned.items())),
        manual_review=dict(sorted(review.items())),
        per_rep=per_rep,
        cap_hits=dict(sorted(caps.items())),
        fairness=fairness,
        wait_minutes=_wait_stats(waits),
        load_times=(end,),
        load={r.id: (now.loads[r.id].open if r.id in now.loads else 0,) for r in now.reps},
        expected_conversions=None,
        learned_history=0,
        notes=tuple(notes),
    )
