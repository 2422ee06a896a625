"""The lead pool's lifecycle: SLA reassignment, recycling to the pool, warnings.

``Router.reclaim(state, now, policy)`` sweeps the open leads:

* **SLA** -- a lead with no first activity within ``first_touch`` (counted
  in the rep's working hours when ``working_time``) is reassigned through the
  router's rules with every previous owner excluded. After
  ``max_reassignments`` it goes to the pool (or manual review) instead.
* **Stale** -- a lead with no activity for ``recycle_after`` (45 days by
  default) goes back to the pool: the owner is cleared, ``times_recycled``
  grows, and the rep who lost it cannot get it back for ``cooldown``.
* **Worked, not converted** -- a lead with activity but still open
  ``unconverted_after`` its assignment goes back to the pool like a stale one
  (or through a nurture rule, ``unconverted_to``).
* **Protection** -- nothing is reclaimed within ``protection`` of its
  assignment.
* **Ownership** -- with ``ownership`` (an
  :class:`~leadroute.ownership.OwnershipPolicy`) the account follows, stays
  or is released, and the move's audit says which.

Every move is an audited :class:`~leadroute.audit.Decision`; a lead is never
lost: each open lead of the input state is, afterwards, open with the same
rep, open with a new rep, or in the pool.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from leadroute.audit import Decision, RuleTrial, Step
from leadroute.engine import PROGRESS_EVERY, HasEngine, ReplayPlan, Run, call_digest
from leadroute.exceptions import InputError, StrategyError
from leadroute.fast import build
from leadroute.limits import MAX_COUNT, check_datetime, short_repr
from leadroute.models import FrozenModel, Rep
from leadroute.ownership import OwnershipPolicy, change_owner, ownership_step
from leadroute.result import RoutingResult, assignments_of
from leadroute.state import ZERO_LOAD, OpenLead, OwnershipChange, PooledLead, PoolState
from leadroute.strategies.availability import as_duration
from leadroute.worktime import add_working_time

if TYPE_CHECKING:
    from leadroute.policy import Rule

#: The kinds of reclaim, in the order a tie is settled.
ReclaimKind = Literal["recycle", "sla", "unconverted"]

__all__ = ["ReclaimPolicy", "ReclaimWarning", "reclaim", "warnings"]

logger = logging.getLogger(__name__)


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
    #: worked (some activity) but still open this long after assignment -> recycled
    #: (``None``: off). .. versionadded:: 0.2.0
    unconverted_after: timedelta | None = None
    #: ``"pool"``, or the id of a rule of the router (a nurture route) that routes
    #: unconverted leads, its ``when`` not checked. .. versionadded:: 0.2.0
    unconverted_to: str = "pool"
    #: what happens to the account of a moved lead (``None``: as in 0.1 -- kept on SLA
    #: moves, released by the losing rep on recycling); or per rule: a mapping from the
    #: id of the rule that assigned the lead to a policy, ``"*"`` for the other rules.
    #: .. versionadded:: 0.2.0
    ownership: OwnershipPolicy | Mapping[str, OwnershipPolicy] | None = None

    def __post_init__(self) -> None:
        for name in ("first_touch", "recycle_after", "protection", "cooldown", "unconverted_after"):
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
        if not isinstance(self.unconverted_to, str) or not self.unconverted_to:
            msg = f"ReclaimPolicy(unconverted_to={short_repr(self.unconverted_to)}): 'pool' or a rule id"
            raise InputError(msg, field="unconverted_to")
        own = self.ownership
        if isinstance(own, Mapping):
            for key, each in own.items():
                if not isinstance(key, str) or not isinstance(each, OwnershipPolicy):
                    msg = (
                        f"ReclaimPolicy(ownership[{short_repr(key)}]={short_repr(each)}): an OwnershipPolicy by rule id"
                    )
                    raise InputError(msg, field=f"ownership.{key}")
            object.__setattr__(self, "ownership", dict(own))
        elif own is not None and not isinstance(own, OwnershipPolicy):
            msg = f"ReclaimPolicy(ownership={short_repr(own)}): an OwnershipPolicy or a mapping of them"
            raise InputError(msg, field="ownership")
        if not isinstance(self.after_max, str) or self.after_max not in ("pool", "manual_review"):
            msg = (
                f"ReclaimPolicy(after_max={short_repr(self.after_max)}): "
                "use 'pool' or 'manual_review'"
            )
            raise InputError(msg, field="after_max")

    def ownership_for(self, rec: OpenLead) -> OwnershipPolicy | None:
        """The ownership policy for ``rec`` (by the rule that assigned it, else ``"*"``).

        .. versionadded:: 0.2.0
        """
        own = self.ownership
        if own is None or isinstance(own, OwnershipPolicy):
            return own
        found = own.get(rec.rule_id) if rec.rule_id is not None else None
        return found if found is not None else own.get("*")

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

    def unconverted_due(self, rec: OpenLead) -> datetime | None:
        """When worked-but-open ``rec`` is recycled (``None`` if untouched or off).

        .. versionadded:: 0.2.0
        """
        if self.unconverted_after is None or rec.first_activity_at is None:
            return None
        return rec.assigned_at + self.unconverted_after


class ReclaimWarning(FrozenModel):
    """An open lead that will be reclaimed soon (for reminders).

    .. versionadded:: 0.1.0
    """

    lead_id: str
    rep_id: str
    kind: Literal["sla", "recycle", "unconverted"]
    due_at: datetime


def _due(
    state: PoolState, rec: OpenLead, policy: ReclaimPolicy
) -> tuple[ReclaimKind, datetime] | None:
    rep = state.rep_index[rec.rep_id]
    floor = rec.assigned_at + policy.protection
    candidates: list[tuple[datetime, ReclaimKind]] = []
    sla = policy.sla_due(rep, rec)
    if sla is not None:
        candidates.append((max(sla, floor), "sla"))
    stale = policy.recycle_due(rec)
    if stale is not None:
        candidates.append((max(stale, floor), "recycle"))
    unconverted = policy.unconverted_due(rec)
    if unconverted is not None:
        candidates.append((max(unconverted, floor), "unconverted"))
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
    router: HasEngine,
    state: PoolState,
    now: datetime,
    policy: ReclaimPolicy,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> RoutingResult:
    """The implementation of :meth:`leadroute.Router.reclaim` (``router`` or its engine)."""
    engine = router.engine
    rules = engine.policy
    _check_now(now)
    _check_call(state, policy)
    nurture = _nurture_rule(rules.rules, policy)
    moves: list[tuple[OpenLead, ReclaimKind, datetime]] = []
    for lead_id in sorted(state.open_leads, key=lambda k: (state.open_leads[k].assigned_at, k)):
        rec = state.open_leads[lead_id]
        found = _due(state, rec, policy)
        if found is not None and found[1] <= now:
            moves.append((rec, found[0], found[1]))
    logger.debug("reclaim: %d open leads at %s, %d due", len(state.open_leads), now, len(moves))
    if not moves:
        if progress is not None:
            progress(0, 0)
        logger.info("reclaim: %d open leads, none moved", len(state.open_leads))
        result = build(RoutingResult, assignments=(), state=state, audit=())
        result._bind(rules, state)
        return result
    loads = dict(state.loads)
    open_leads = dict(state.open_leads)
    for rec, _kind, _at in moves:
        del open_leads[rec.lead.id]
        loads[rec.rep_id] = (loads.get(rec.rep_id) or ZERO_LOAD).release()
    freed = state.replace(loads=loads, open_leads=open_leads)
    call = call_digest("reclaim", rules.revision, state.revision, now, (m[0].lead.id for m in moves))
    run = engine.run(freed, call=call, made_by="reclaim")
    ledger = run.ledger
    decisions: list[Decision] = []
    history: dict[str, tuple[OwnershipChange, ...]] = dict(state.account_history)
    total = len(moves)
    for done, (rec, kind, due) in enumerate(moves):
        if progress is not None and done and done % PROGRESS_EVERY == 0:
            progress(done, total)
        lead = rec.lead
        lead_id = lead.id
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("reclaim: lead %s of %s is due (%s, %s)", lead_id, rec.rep_id, kind, due)
        previous = (*rec.previous_reps, rec.rep_id)
        own = policy.ownership_for(rec)
        if kind == "unconverted" and nurture is not None:
            d = run.route_rule(nurture, lead, now, (rec.rep_id,))
            note = (
                f"worked but not converted {policy.unconverted_after} after assignment "
                f"to {rec.rep_id}; to nurture rule {nurture.id!r}"
            )
            if d.outcome == "assigned":
                ledger.open_new[lead_id] = ledger.open_new[lead_id].model_copy(
                    update={
                        "previous_reps": previous,
                        "times_recycled": rec.times_recycled + 1,
                        "assigned_by": "reclaim",
                    }
                )
                reason = "unconverted_rerouted"
            else:
                reason = "unconverted" if d.outcome == "pool" else d.reason
                ledger.put_pooled(
                    ledger.pool[lead_id].model_copy(
                        update={
                            "reason": reason,
                            "previous_reps": previous,
                            "times_recycled": rec.times_recycled + 1,
                            "cooldown": {rec.rep_id: now + policy.cooldown}
                            if policy.cooldown
                            else {},
                        }
                    )
                )
            d = d.model_copy(
                update={
                    "reason": reason,
                    "steps": (_note_step("reclaim:unconverted", note), *d.steps),
                }
            )
            if own is not None:
                d = _with_ownership(d, run, history, own, rec, "unconverted", now)
            elif rec.account_key is not None and ledger.owners.get(rec.account_key) == rec.rep_id:
                del ledger.owners[rec.account_key]
            decisions.append(d)
            continue
        if kind == "sla" and rec.times_reassigned < policy.max_reassignments:
            d = run.route(lead, now, exclude=previous)
            note = (
                f"no first activity by {due.isoformat()} ({policy.first_touch} "
                f"{'working time' if policy.working_time else ''} after assignment to {rec.rep_id})"
            ).replace("  ", " ")
            step = _note_step("reclaim:sla", note)
            if d.outcome == "assigned":
                assert d.rep_id is not None
                new = ledger.open_new[lead_id]
                ledger.open_new[lead_id] = new.model_copy(
                    update={
                        "times_reassigned": rec.times_reassigned + 1,
                        "previous_reps": previous,
                        "times_recycled": rec.times_recycled,
                        "assigned_by": "reclaim",
                    }
                )
                reason = "sla_reassigned"
            else:
                pooled = ledger.pool[lead_id]
                ledger.put_pooled(
                    pooled.model_copy(
                        update={
                            "reason": "sla_no_eligible_rep",
                            "previous_reps": previous,
                            "times_recycled": rec.times_recycled,
                        }
                    )
                )
                reason = "sla_no_eligible_rep"
            d = d.model_copy(update={"reason": reason, "steps": (step, *d.steps)})
            if own is not None:
                d = _with_ownership(d, run, history, own, rec, "sla", now)
            decisions.append(d)
            continue
        if kind == "sla":
            reason = "sla_max_reassignments"
            note = f"no first activity after {rec.times_reassigned} reassignments; to {policy.after_max}"
            outcome = policy.after_max
            cooldown: dict[str, datetime] = {}
        else:
            if kind == "unconverted":
                reason = "unconverted"
                note = (
                    f"worked but not converted {policy.unconverted_after} after assignment "
                    f"({rec.assigned_at.isoformat()})"
                )
            else:
                reason = "recycled"
                note = f"no activity since {(due - (policy.recycle_after or timedelta(0))).isoformat()}"
            outcome = "pool"
            cooldown = {rec.rep_id: now + policy.cooldown} if policy.cooldown else {}
            account = rec.account_key
            if own is None and account is not None and ledger.owners.get(account) == rec.rep_id:
                del ledger.owners[account]
        ledger.put_pooled(
            PooledLead(
                lead=lead,
                since=now,
                reason=reason,
                times_recycled=rec.times_recycled + (0 if kind == "sla" else 1),
                previous_reps=previous,
                cooldown=cooldown,
            )
        )
        moved = build(
            Decision,
            decision_id=run.next_id(lead_id),
            lead_id=lead_id,
            at=now,
            policy_revision=rules.revision,
            state_revision=state.revision,
            seed=rules.seed,
            rules=(build(RuleTrial, rule_id="reclaim", result="routed", detail=note),),
            rule_id="reclaim",
            steps=(_note_step(f"reclaim:{kind}", note),),
            outcome=outcome,
            rep_id=None,
            reason=reason,
            facts={"previous_rep": rec.rep_id, "due_at": due.isoformat()},
        )
        if own is not None:
            moved = _with_ownership(moved, run, history, own, rec, kind, now)
        decisions.append(moved)
    new_state = run.finish(now)
    if history != state.account_history:
        new_state = new_state.model_copy(update={"account_history": history})
    assignments = assignments_of(decisions)
    if progress is not None:
        progress(total, total)
    if logger.isEnabledFor(logging.INFO):
        rerouted = sum(1 for a in assignments if a.rep_id is not None)
        logger.info(
            "reclaim: %d open leads, %d moved: %d to a new rep, %d to the pool or review",
            len(state.open_leads),
            total,
            rerouted,
            total - rerouted,
        )
    result = build(RoutingResult, assignments=assignments, state=new_state, audit=tuple(decisions))
    result._bind(rules, freed)
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


def _nurture_rule(rules: tuple[Rule, ...], policy: ReclaimPolicy) -> Rule | None:
    """The router's rule named by ``policy.unconverted_to`` (``None`` for the pool)."""
    if policy.unconverted_to == "pool":
        return None
    for rule in rules:
        if rule.id == policy.unconverted_to:
            return rule
    known = ", ".join(r.id for r in rules) or "none"
    msg = (
        f"ReclaimPolicy(unconverted_to={policy.unconverted_to!r}): the router has no such rule "
        f"(rules: {known})"
    )
    raise InputError(msg, field="unconverted_to")


def _with_ownership(
    d: Decision,
    run: Run,
    history: dict[str, tuple[OwnershipChange, ...]],
    own: OwnershipPolicy,
    rec: OpenLead,
    cause: Literal["sla", "recycle", "unconverted"],
    now: datetime,
) -> Decision:
    """``d`` with the ownership policy applied to its account and shown in its audit."""
    _change, fact = change_owner(
        run.ledger.owners,
        history,
        account=rec.account_key,
        losing=rec.rep_id,
        action=own.action(cause),
        to=d.rep_id if d.outcome == "assigned" else None,
        at=now,
        cause=cause,
        lead_id=rec.lead.id,
        protection=own.protection,
    )
    return d.model_copy(
        update={"facts": {**d.facts, "ownership": fact}, "steps": (*d.steps, ownership_step(fact))}
    )


#: The note steps a reclaim decision routed through the rules starts with, by kind.
_ROUTED_NOTES = ("reclaim:sla", "reclaim:unconverted")


def reclaim_replay_plan(decision: Decision) -> ReplayPlan:
    """How :meth:`leadroute.Router.replay` replays a decision of :func:`reclaim`.

    An SLA reassignment was routed through all the rules (previous owners
    excluded) and a worked-not-converted lead through the nurture rule alone;
    the replay routes the lead the same way from the decision's inputs and
    applies what :func:`reclaim` adds: the reason, the leading note step (its
    text comes from the reclaim policy and the open lead's record, so it is
    taken from the record) and the ownership fact with its step (taken from
    the record, as it depends on the account's history, except the new owner,
    which follows from the replayed rep). A move straight to the pool or to
    manual review was not routed, so it is refused with the reason.

    .. versionadded:: 0.2.0
    """
    head = decision.steps[0] if decision.steps else None
    note = head.path if head is not None and head.strategy == "Reclaim" else None
    if decision.inputs is None or note not in _ROUTED_NOTES:
        if decision.inputs is None and note is not None:
            why = (
                f"steps[0]: a reclaim move ({note.removeprefix('reclaim:')}, reason "
                f"{decision.reason!r}) straight to {decision.outcome.replace('_', ' ')}: no route "
                "ran, so there is nothing to replay (the move follows from the ReclaimPolicy and "
                "the open lead's record)"
            )
        elif decision.inputs is None:
            why = (
                "inputs: the decision holds no inputs (made with audit='outcome' or by an "
                "older version), so it cannot be replayed alone"
            )
        else:
            why = (
                "steps[0]: a routed reclaim decision starts with its reclaim note "
                f"({' or '.join(_ROUTED_NOTES)}); this one does not, so it cannot be replayed"
            )
        return ReplayPlan("reclaim", refused=why)
    assert head is not None
    sla = note == "reclaim:sla"
    if not sla and decision.rule_id is None:
        why = "rule_id: a nurture reroute names its rule; this decision names none"
        return ReplayPlan("reclaim", refused=why)
    recorded_fact = decision.facts.get("ownership")

    def amend(d: Decision) -> Decision:
        if sla:
            reason = "sla_reassigned" if d.outcome == "assigned" else "sla_no_eligible_rep"
        elif d.outcome == "assigned":
            reason = "unconverted_rerouted"
        else:
            reason = "unconverted" if d.outcome == "pool" else d.reason
        d = d.model_copy(update={"reason": reason, "steps": (head, *d.steps)})
        if isinstance(recorded_fact, dict):
            fact = dict(recorded_fact)
            if "to" in fact:  # _with_ownership: the account follows the lead on "transfer"
                moved = d.outcome == "assigned" and fact.get("policy") == "transfer"
                fact["to"] = d.rep_id if moved else None
            d = d.model_copy(
                update={
                    "facts": {**d.facts, "ownership": fact},
                    "steps": (*d.steps, ownership_step(fact)),
                }
            )
        return d

    return ReplayPlan("reclaim", amend=amend, rule_id=None if sla else decision.rule_id)
