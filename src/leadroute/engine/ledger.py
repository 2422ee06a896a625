"""The ledger: the working copy of the pool data that one call reads and writes.

The pipeline never touches a :class:`~leadroute.PoolState` directly: it asks
the ledger for counters, rotation memory, owners and pooled leads, and tells
it what was decided (a lead opened with a rep, a lead left in the pool, a
selector's turn). :meth:`MemoryLedger.finish` yields the next state. The
input state is never changed: counters are copied on first write.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from datetime import datetime, timedelta

from leadroute.context import RotationMemory
from leadroute.fast import assemble, build
from leadroute.models import Lead, Rep
from leadroute.state import OpenLead, PooledLead, PoolState, RepLoad, Rotation

__all__ = ["DAYS_KEPT", "MemoryLedger"]

#: Days of per-day counts kept in :class:`~leadroute.state.RepLoad` beyond the rep's period.
DAYS_KEPT = 92

_LOAD_SET = {"open", "days"}
_OPEN_SET = {
    "lead",
    "rep_id",
    "assigned_at",
    "rule_id",
    "account_key",
    "times_recycled",
    "previous_reps",
    "assigned_by",
}


class MemoryLedger:
    """The working copy of one call over an in-memory :class:`~leadroute.PoolState`.

    The dicts below are shared with the :class:`~leadroute.context.RouteContext`
    (strategies read counters through it); the ledger's methods are the only
    writers, except ``owners``, which the lifecycle's ownership moves edit.
    """

    def __init__(self, state: PoolState, by_id: dict[str, Rep]) -> None:
        self.state = state
        self.by_id = by_id
        self.open_counts = {k: v.open for k, v in state.loads.items()}
        self.days: dict[str, dict[str, int]] = {k: v.days for k, v in state.loads.items()}
        self.touched: set[str] = set()
        self.rotations = {
            k: RotationMemory(v.turn, dict(v.last_served), dict(v.credits))
            for k, v in state.rotations.items()
        }
        self.owners = dict(state.owners)
        self.open_new: dict[str, OpenLead] = {}
        self.pool = dict(state.pool)

    # -- writes ------------------------------------------------------------------------
    def rotate(self, path: str, rep_id: str, credits: dict[str, float] | None) -> None:
        """Remember that the selector at ``path`` served ``rep_id`` (and its new credits)."""
        mem = self.rotations.get(path)
        if mem is None:
            mem = RotationMemory(0, {}, {})
            self.rotations[path] = mem
        mem.last_served[rep_id] = mem.turn
        mem.turn += 1
        if credits:
            mem.credits.update(credits)

    def open(
        self,
        lead: Lead,
        rep_id: str,
        day: str,
        at: datetime,
        rule_id: str | None,
        account: str | None,
    ) -> bool:
        """Open ``lead`` with ``rep_id`` (counted on the rep's local ``day``).

        ``account`` becomes the rep's if nobody owns it; returns whether it did.
        """
        pooled = self.pool.get(lead.id)
        self.open_counts[rep_id] = self.open_counts.get(rep_id, 0) + 1
        if rep_id in self.touched:
            days = self.days[rep_id]
        else:
            # copy on first write: the input state's counters are never changed
            held = self.days.get(rep_id)
            days = dict(held) if held else {}
            self.days[rep_id] = days
            self.touched.add(rep_id)
        days[day] = days.get(day, 0) + 1
        owned = False
        if account and account not in self.owners:
            self.owners[account] = rep_id
            owned = True
        values = {
            "lead": lead,
            "rep_id": rep_id,
            "assigned_at": at,
            "rule_id": rule_id,
            "account_key": account,
            "first_activity_at": None,
            "last_activity_at": None,
            "times_reassigned": 0,
            "times_recycled": 0 if pooled is None else pooled.times_recycled,
            "previous_reps": () if pooled is None else pooled.previous_reps,
            "assigned_by": "router",
            "note": None,
        }
        self.open_new[lead.id] = assemble(OpenLead, values, _OPEN_SET)
        if pooled is not None:
            del self.pool[lead.id]
        return owned

    def leave_in_pool(self, lead: Lead, at: datetime, reason: str) -> None:
        """Keep ``lead`` in the pool (since ``at``, or since it was pooled) with ``reason``."""
        pooled = self.pool.get(lead.id)
        if pooled is None:
            self.pool[lead.id] = build(PooledLead, lead=lead, since=at, reason=reason)
        elif pooled.reason != reason:
            self.pool[lead.id] = pooled.model_copy(update={"reason": reason})

    def put_open(self, rec: OpenLead) -> None:
        """Replace the open record of a lead opened in this call (the lifecycle's bookkeeping)."""
        self.open_new[rec.lead.id] = rec

    def put_pooled(self, rec: PooledLead) -> None:
        """Put (or replace) the pooled record of a lead."""
        self.pool[rec.lead.id] = rec

    # -- the end -----------------------------------------------------------------------
    def finish(self, latest: datetime | None) -> PoolState:
        """The next state: the input state with every write applied, revision + 1."""
        state = self.state
        loads = dict(state.loads)
        for rep_id in sorted(self.touched):
            days = self.days[rep_id]
            if not days:
                continue
            # prune only when there can be days outside the window (the rep is looked at
            # only then: at 100,000 reps its record is seldom in the CPU cache)
            if len(days) > DAYS_KEPT and len(days) > (
                span := max(DAYS_KEPT, self.by_id[rep_id].capacity.period_days)
            ):
                # the decision clock decides what is old, never one lead's (later) day
                rep = self.by_id[rep_id]
                clock = (
                    rep.local_time(latest).date()
                    if latest is not None
                    else datetime.fromisoformat(max(days)).date()
                )
                keep_from = (clock - timedelta(days=span)).isoformat()
                days = {d: n for d, n in sorted(days.items()) if d > keep_from}
            loads[rep_id] = assemble(
                RepLoad, {"open": self.open_counts[rep_id], "days": days}, _LOAD_SET
            )
        rotations = dict(state.rotations)
        for key, mem in self.rotations.items():
            rotations[key] = build(
                Rotation,
                turn=mem.turn,
                last_served=dict(mem.last_served),
                credits=dict(mem.credits),
            )
        open_leads = dict(state.open_leads)
        open_leads.update(self.open_new)
        as_of = state.as_of
        if latest is not None and (as_of is None or latest > as_of):
            as_of = latest
        return build(
            PoolState,
            as_of=as_of,
            revision=state.revision + 1,
            reps=state.reps,
            # insertion order: the input state's keys first, then new ones (reps in id
            # order, selectors and accounts in routing order) -- deterministic, no sort
            loads=loads,
            rotations=rotations,
            owners=self.owners,
            open_leads=open_leads,
            pool=self.pool,
            history=state.history,
            account_history=state.account_history,
        )
