"""The lead pool's lifecycle: SLA reassignment, recycling to the pool, warnings.

``Router.reclaim(state, now, policy)`` sweeps the open leads:

* **SLA** -- a lead with no first activity within ``first_touch`` (counted
  in the rep's working hours when ``working_time``) is reassigned through the
  router's rules with every previous owner excluded. After
  ``max_reassignments`` it goes to the pool (or manual review) instead.
* **Stale** -- a lead with no activity for ``recycle_after`` (45 days by
  default) goes back to the pool: the owner is cleared, ``times_recycled``
  grows, and the rep who lost it cannot get it back for ``cooldown``.
* **Protection** -- nothing is reclaimed within ``protection`` of its
  assignment.

Every move is an audited :class:`~leadroute.audit.Decision`; a lead is never
lost: each open lead of the input state is, afterwards, open with the same
rep, open with a new rep, or in the pool.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from leadroute.audit import Decision, RuleTrial, Step
from leadroute.exceptions import InputError, StrategyError
from leadroute.fast import build
from leadroute.limits import MAX_COUNT, check_datetime, short_repr
from leadroute.models import FrozenModel, Rep
from leadroute.result import RoutingResult, assignments_of
from leadroute.state import ZERO_LOAD, OpenLead, PooledLead, PoolState
from leadroute.strategies.availability import as_duration
from leadroute.worktime import add_working_time

if TYPE_CHECKING:
    from leadroute.router import Router

__all__ = ["ReclaimPolicy", "ReclaimWarning", "reclaim", "warnings"]


@dataclass(frozen=True, slots=True)
class ReclaimPolicy:
    """What ``Router.reclaim`` does with open leads.

    Durations accept a ``timedelta``, seconds, or ISO 8601 (``"PT2H"``);
    ``None`` switches the check off.

    >>> ReclaimPolicy(first_touch="PT2H").first_touch
    datetime.timedelta(seconds=7200)

    .. versionadded:: 0.1.0
    """

    first_touch: timedelta | None = timedelta(hours=2)
    working_time: bool = True
    max_reassignments: int = 2
    after_max: Literal["pool", "manual_review"] = "pool"
    recycle_after: timedelta | None = timedelta(days=45)
    protection: timedelta = timedelta(0)
    cooldown: timedelta = timedelta(days=7)

    def __post_init__(self) -> None:
        for name in ("first_touch", "recycle_after", "protection", "cooldown"):
            try:
                value = as_duration(getattr(self, name), name, "ReclaimPolicy")
            except StrategyError as exc:
                raise InputError(str(exc), field=name) from None
            if value is None and name in ("protection", "cooldown"):
                value = timedelta(0)
            if value is not None and value > MAX_DURATION:
                msg = f"ReclaimPolicy({name}={value!r}): at most {MAX_DURATION.days} days"
                raise InputError(msg, field=name)
            object.__setattr__(self, name, value)
        if (
            isinstance(self.max_reassignments, bool)
            or not isinstance(self.max_reassignments, int)
            or not 0 <= self.max_reassignments <= MAX_COUNT
        ):
            msg = (
                f"ReclaimPolicy(max_reassignments={short_repr(self.max_reassignments)}): "
                f"a whole number in 0..{MAX_COUNT}"
            )
            raise InputError(msg, field="max_reassignments")
        if not isinstance(self.working_time, bool):
            msg = f"ReclaimPolicy(working_time={short_repr(self.working_time)}): true or false"
            raise InputError(msg, field="working_time")
        if not isinstance(self.after_max, str) or self.after_max not in ("pool", "manual_review"):
            msg = (
                f"ReclaimPolicy(after_max={short_repr(self.after_max)}): "
                "use 'pool' or 'manual_review'"
            )
            raise InputError(msg, field="after_max")

    def sla_due(self, rep: Rep, rec: OpenLead) -> datetime | None:
        """When the first-touch SLA of ``rec`` runs out (``None`` if touched or off)."""
        if self.first_touch is None or rec.first_activity_at is not None:
            return None
        if self.working_time:
            return add_working_time(rep, rec.assigned_at, self.first_touch)
        return rec.assigned_at + self.first_touch

    def recycle_due(self, rec: OpenLead) -> datetime | None:
        """When ``rec`` goes stale (``None`` if recycling is off)."""
        if self.recycle_after is None:
            return None
        last = rec.last_activity_at or rec.first_activity_at or rec.assigned_at
        return last + self.recycle_after


class ReclaimWarning(FrozenModel):
    """An open lead that will be reclaimed soon (for reminders).

    .. versionadded:: 0.1.0
    """

    lead_id: str
    rep_id: str
    kind: Literal["sla", "recycle"]
    due_at: datetime


def _due(
    state: PoolState, rec: OpenLead, policy: ReclaimPolicy
) -> tuple[Literal["sla", "recycle"], datetime] | None:
    rep = state.rep_index[rec.rep_id]
    floor = rec.assigned_at + policy.protection
    candidates: list[tuple[datetime, Literal["sla", "recycle"]]] = []
    sla = policy.sla_due(rep, rec)
    if sla is not None:
        candidates.append((max(sla, floor), "sla"))
    stale = policy.recycle_due(rec)
    if stale is not None:
        candidates.append((max(stale, floor), "recycle"))
    if not candidates:
        return None
    at, kind = min(candidates)
    return kind, at


def warnings(
    state: PoolState, now: datetime, horizon: timedelta, policy: ReclaimPolicy
) -> list[ReclaimWarning]:
    """Open leads whose reclaim falls due by ``now + horizon``, soonest first."""
    _check_now(now)
    _check_call(state, policy)
    if not isinstance(horizon, timedelta) or not timedelta(0) <= horizon <= MAX_DURATION:
        msg = f"horizon={short_repr(horizon)}: a duration of 0 to {MAX_DURATION.days} days"
        raise InputError(msg, field="horizon")
    out: list[ReclaimWarning] = []
    for lead_id, rec in state.open_leads.items():
        due = _due(state, rec, policy)
        if due is not None and due[1] <= now + horizon:
            out.append(
                ReclaimWarning(lead_id=lead_id, rep_id=rec.rep_id, kind=due[0], due_at=due[1])
            )
    out.sort(key=lambda w: (w.due_at, w.lead_id))
    return out


#: Longest duration a :class:`ReclaimPolicy` accepts (about 100 years).
MAX_DURATION = timedelta(days=36_600)


def _check_now(now: datetime) -> None:
    try:
        check_datetime(now, "now")
    except ValueError as exc:
        raise InputError(str(exc), field="now") from None


def _check_call(state: PoolState, policy: ReclaimPolicy) -> None:
    if not isinstance(state, PoolState):
        msg = f"state: expected a PoolState, got {type(state).__name__}"
        raise InputError(msg, field="state")
    if not isinstance(policy, ReclaimPolicy):
        msg = f"policy: expected a ReclaimPolicy, got {type(policy).__name__}"
        raise InputError(msg, field="policy")


def reclaim(
    router: Router, state: PoolState, now: datetime, policy: ReclaimPolicy
) -> RoutingResult:
    """The implementation of :meth:`leadroute.Router.reclaim`."""
    from leadroute.router import _Run, decision_id

    _check_now(now)
    _check_call(state, policy)
    moves: list[tuple[OpenLead, str, datetime]] = []
    for lead_id in sorted(state.open_leads, key=lambda k: (state.open_leads[k].assigned_at, k)):
        rec = state.open_leads[lead_id]
        found = _due(state, rec, policy)
        if found is not None and found[1] <= now:
            moves.append((rec, found[0], found[1]))
    if not moves:
        result = build(RoutingResult, assignments=(), state=state, audit=())
        result._bind(router, state)
        return result
    loads = dict(state.loads)
    open_leads = dict(state.open_leads)
    for rec, _kind, _at in moves:
        del open_leads[rec.lead.id]
        loads[rec.rep_id] = (loads.get(rec.rep_id) or ZERO_LOAD).release()
    freed = state.replace(loads=loads, open_leads=open_leads)
    run = _Run(router, freed)
    decisions: list[Decision] = []
    for rec, kind, due in moves:
        lead = rec.lead
        lead_id = lead.id
        previous = (*rec.previous_reps, rec.rep_id)
        if kind == "sla" and rec.times_reassigned < policy.max_reassignments:
            d = run.route(lead, now, exclude=previous)
            note = (
                f"no first activity by {due.isoformat()} ({policy.first_touch} "
                f"{'working time' if policy.working_time else ''} after assignment to {rec.rep_id})"
            ).replace("  ", " ")
            step = _note_step("reclaim:sla", note)
            if d.outcome == "assigned":
                assert d.rep_id is not None
                new = run.open_new[lead_id]
                run.open_new[lead_id] = new.model_copy(
                    update={
                        "times_reassigned": rec.times_reassigned + 1,
                        "previous_reps": previous,
                        "times_recycled": rec.times_recycled,
                        "assigned_by": "reclaim",
                    }
                )
                reason = "sla_reassigned"
            else:
                pooled = run.pool[lead_id]
                run.pool[lead_id] = pooled.model_copy(
                    update={
                        "reason": "sla_no_eligible_rep",
                        "previous_reps": previous,
                        "times_recycled": rec.times_recycled,
                    }
                )
                reason = "sla_no_eligible_rep"
            decisions.append(d.model_copy(update={"reason": reason, "steps": (step, *d.steps)}))
            continue
        if kind == "sla":
            reason = "sla_max_reassignments"
            note = f"no first activity after {rec.times_reassigned} reassignments; to {policy.after_max}"
            outcome = policy.after_max
            cooldown: dict[str, datetime] = {}
        else:
            reason = "recycled"
            note = f"no activity since {(due - (policy.recycle_after or timedelta(0))).isoformat()}"
            outcome = "pool"
            cooldown = {rec.rep_id: now + policy.cooldown} if policy.cooldown else {}
            account = rec.account_key
            if account is not None and run.owners.get(account) == rec.rep_id:
                del run.owners[account]
        run.pool[lead_id] = PooledLead(
            lead=lead,
            since=now,
            reason=reason,
            times_recycled=rec.times_recycled + (1 if kind == "recycle" else 0),
            previous_reps=previous,
            cooldown=cooldown,
        )
        decisions.append(
            build(
                Decision,
                decision_id=decision_id(router.policy_revision, lead_id, state.revision),
                lead_id=lead_id,
                at=now,
                policy_revision=router.policy_revision,
                state_revision=state.revision,
                seed=router.seed,
                rules=(build(RuleTrial, rule_id="reclaim", result="routed", detail=note),),
                rule_id="reclaim",
                steps=(_note_step(f"reclaim:{kind}", note),),
                outcome=outcome,
                rep_id=None,
                reason=reason,
                facts={"previous_rep": rec.rep_id, "due_at": due.isoformat()},
            )
        )
    new_state = run.finish(now)
    assignments = assignments_of(decisions)
    result = build(RoutingResult, assignments=assignments, state=new_state, audit=tuple(decisions))
    result._bind(router, freed)
    return result


def _note_step(path: str, note: str) -> Step:
    return build(
        Step,
        path=path,
        strategy="Reclaim",
        kind="note",
        candidates_in=0,
        candidates_out=0,
        note=note,
    )
