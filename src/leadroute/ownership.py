"""Account ownership over its whole life (客户归属): policy, audited changes, bulk transfer.

When a lead moves -- an SLA reassignment, a recycle to the pool, a manual
move -- an :class:`OwnershipPolicy` says what happens to its *account*:

* ``transfer`` -- the account follows the lead to its new rep (released when
  the lead goes to the pool instead);
* ``keep`` -- the old rep keeps the account;
* ``release`` -- the account becomes unowned, so its next lead routes afresh.

A policy only moves an account its losing rep owns. Every change is an
:class:`~leadroute.state.OwnershipChange` kept, per account, in
``PoolState.account_history`` (the previous owners), and shown in the move's
audit (``facts["ownership"]``). A new owner may get a ``protection`` period
during which automatic moves (SLA, recycle) leave the account with them;
changes made by a person (manual moves, :func:`transfer_accounts`) are not
held back.

>>> OwnershipPolicy(on_recycle="keep", protection="P30D").protection
datetime.timedelta(days=30)

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from leadroute.audit import Decision, RuleTrial, Step
from leadroute.engine import HasEngine, ReplayPlan, call_digest, check_inputs, decision_id
from leadroute.exceptions import InputError
from leadroute.fast import build
from leadroute.limits import short_repr
from leadroute.models import FrozenModel
from leadroute.state import (
    ZERO_LOAD,
    OpenLead,
    OwnershipChange,
    OwnershipPolicy,
    PooledLead,
    PoolState,
    change_owner,
    prepare_transfer,
    transfer_to_rep,
)
from leadroute.state import OwnershipAction as OwnershipAction
from leadroute.state import protected_until as protected_until

__all__ = ["OwnershipPolicy", "TransferResult", "change_owner", "transfer_accounts"]

def ownership_step(fact: Mapping[str, Any]) -> Step:
    """The audit step that shows an ownership fact."""
    return build(
        Step,
        path="ownership",
        strategy="OwnershipPolicy",
        kind="note",
        candidates_in=0,
        candidates_out=0,
        note=str(fact.get("why", "")),
    )


class TransferResult(FrozenModel):
    """What :func:`transfer_accounts` did: the next state, one decision per moved lead, the changes.

    .. versionadded:: 0.2.0
    """

    state: PoolState
    audit: tuple[Decision, ...] = ()
    changes: tuple[OwnershipChange, ...] = ()


def transfer_accounts(
    state: PoolState,
    from_rep: str,
    to: str | HasEngine,
    *,
    at: datetime,
    by: str,
    note: str | None = None,
    leads: Literal["accounts", "all", "none"] = "accounts",
    force: bool = False,
    protection: timedelta = timedelta(0),
) -> TransferResult:
    """Move every account ``from_rep`` owns (and their open leads) to ``to``.

    For a departing or overloaded rep. ``to`` is a rep id, or a
    :class:`~leadroute.Router` whose rules route the open leads (``from_rep``
    excluded, so the route's caps apply): an account goes to the rep who got
    its first lead; an account with no open lead is released and its next
    lead routes afresh. ``leads`` picks the open leads that move with the
    accounts: those of the moved accounts (default), ``all`` of the rep's
    open leads, or ``none``. ``protection`` gives each new owner a
    protection period.

    To a rep id, the rep's caps (open, per day, per period) must hold all
    moved leads, else :class:`~leadroute.exceptions.CapacityExceededError`
    names the cap (``force=True`` moves them anyway); nothing is changed on
    an error. Deterministic: accounts in key order, leads in assignment
    order. A moved lead keeps its activity times; an untouched one's SLA
    counts from the transfer. Every moved lead gets an audited decision (reason
    ``transferred``) and every account an :class:`OwnershipChange`
    (cause ``transfer``) in ``account_history``.

    .. versionadded:: 0.2.0
    """
    protect, accounts, moving = prepare_transfer(
        state, from_rep, at=at, by=by, note=note, leads=leads, force=force, protection=protection
    )
    if not isinstance(to, str) and getattr(to, "engine", None) is None:
        msg = f"transfer_accounts: to={short_repr(to)} is neither a rep id nor a Router"
        raise InputError(msg, field="to")
    if isinstance(to, str):
        new_state, changes, facts = transfer_to_rep(
            state, from_rep, to, accounts, moving,
            at=at, by=by, note=note, force=force, protection=protect,
        )  # fmt: skip
        decisions = [
            _decision(state, rec, at, "assigned", to, "transferred", by, facts, "transfer")
            for rec in moving
        ]
        return build(TransferResult, state=new_state, audit=tuple(decisions), changes=changes)
    return _to_router(
        state, from_rep, to, accounts, moving, at=at, by=by, note=note, protection=protect
    )


def _decision(
    state: PoolState,
    rec: OpenLead,
    at: datetime,
    outcome: Literal["assigned", "pool"],
    rep_id: str | None,
    reason: str,
    by: str,
    facts: Mapping[str, dict[str, Any]],
    policy_revision: str,
) -> Decision:
    lead_id = rec.lead.id
    detail = f"transferred by {by} from {rec.rep_id}"
    fact: dict[str, Any] = {"previous_rep": rec.rep_id, "by": by}
    steps: list[Step] = []
    if rec.account_key is not None and rec.account_key in facts:
        fact["ownership"] = facts[rec.account_key]
        steps.append(ownership_step(facts[rec.account_key]))
    return build(
        Decision,
        decision_id=decision_id(
            call_digest("transfer", policy_revision, state.revision, at, (by,)), 0, lead_id
        ),
        lead_id=lead_id,
        at=at,
        policy_revision=policy_revision,
        state_revision=state.revision,
        seed=0,
        rules=(build(RuleTrial, rule_id="transfer", result="routed", detail=detail),),
        rule_id="transfer",
        steps=tuple(steps),
        outcome=outcome,
        rep_id=rep_id,
        reason=reason,
        facts=fact,
    )


def _to_router(
    state: PoolState,
    from_rep: str,
    router: HasEngine,
    accounts: list[str],
    moving: list[OpenLead],
    *,
    at: datetime,
    by: str,
    note: str | None,
    protection: timedelta,
) -> TransferResult:
    engine = router.engine
    check_inputs(engine.policy, state, [], at)
    loads = dict(state.loads)
    open_leads = dict(state.open_leads)
    owners = {k: v for k, v in state.owners.items() if v != from_rep}
    if moving:
        loads[from_rep] = state.loads.get(from_rep, ZERO_LOAD).release(len(moving))
    for rec in moving:
        del open_leads[rec.lead.id]
    freed = state.replace(loads=loads, open_leads=open_leads, owners=owners)
    call = call_digest(
        "transfer", engine.policy.revision, state.revision, at, (r.lead.id for r in moving)
    )
    run = engine.run(freed, call=call, made_by="transfer")
    ledger = run.ledger
    routed: list[tuple[OpenLead, Decision]] = []
    for rec in moving:
        lead_id = rec.lead.id
        d = run.route(rec.lead, at, exclude=(from_rep,))
        previous = (*rec.previous_reps, from_rep)
        if d.outcome == "assigned":
            ledger.open_new[lead_id] = ledger.open_new[lead_id].model_copy(
                update={
                    "first_activity_at": rec.first_activity_at,
                    "last_activity_at": rec.last_activity_at,
                    "times_reassigned": rec.times_reassigned + 1,
                    "previous_reps": previous,
                    "times_recycled": rec.times_recycled,
                    "assigned_by": by,
                    "note": note,
                }
            )
        else:
            ledger.put_pooled(
                PooledLead(
                    lead=rec.lead,
                    since=at,
                    reason="transfer_no_eligible_rep" if d.outcome == "pool" else d.reason,
                    times_recycled=rec.times_recycled,
                    previous_reps=previous,
                )
            )
        routed.append((rec, d))
    # the accounts: to whoever the routing made owner; the rest released
    new_owners = dict(ledger.owners)
    final = dict(state.owners)
    history = dict(state.account_history)
    changes: list[OwnershipChange] = []
    facts: dict[str, dict[str, Any]] = {}
    for account in accounts:
        target = new_owners.get(account)
        change, fact = change_owner(
            final, history, account=account, losing=from_rep,
            action="transfer", to=target, at=at, cause="transfer", by=by, note=note,
            protection=protection, respect_protection=False,
        )  # fmt: skip
        if change is not None:
            changes.append(change)
        facts[account] = fact
    # accounts first owned during this routing (not from_rep's) keep their new owner
    for account, rep_id in new_owners.items():
        if account not in final and account not in facts:
            final[account] = rep_id
    ledger.owners.clear()
    ledger.owners.update(final)
    decisions: list[Decision] = []
    for rec, d in routed:
        extra: dict[str, Any] = {"previous_rep": rec.rep_id, "by": by}
        steps = d.steps
        if rec.account_key is not None and rec.account_key in facts:
            extra["ownership"] = facts[rec.account_key]
            steps = (*steps, ownership_step(facts[rec.account_key]))
        reason = {"assigned": "transferred", "pool": "transfer_no_eligible_rep"}.get(
            d.outcome, d.reason
        )
        decisions.append(
            d.model_copy(update={"reason": reason, "steps": steps, "facts": {**d.facts, **extra}})
        )
    new_state = run.finish(at)
    new_state = new_state.model_copy(update={"account_history": history})
    return build(TransferResult, state=new_state, audit=tuple(decisions), changes=tuple(changes))


#: The facts :func:`transfer_accounts` adds to a routed decision, in the order it adds them.
_TRANSFER_FACTS = ("previous_rep", "by", "ownership")


def transfer_replay_plan(decision: Decision) -> ReplayPlan:
    """How :meth:`leadroute.Router.replay` replays a decision of :func:`transfer_accounts`.

    A lead moved through a router was routed through all the rules with the
    departing rep excluded; the replay routes it the same way from the
    decision's inputs and applies what the transfer adds: the reason, and the
    ``previous_rep``, ``by`` and ``ownership`` facts with the ownership step
    (taken from the record: the account's new owner is whoever got the
    account's first moved lead, which this one decision does not say). A
    transfer to a named rep routed nothing, so it is refused with the reason.

    .. versionadded:: 0.2.0
    """
    if decision.inputs is None:
        if decision.rule_id == "transfer" and "by" in decision.facts:
            why = (
                f"inputs: a transfer to a named rep ({decision.rep_id}) by "
                f"{decision.facts['by']}: no route ran, so there is nothing to replay"
            )
        else:
            why = (
                "inputs: the decision holds no inputs (made with audit='outcome' or by an "
                "older version), so it cannot be replayed alone"
            )
        return ReplayPlan("transfer", refused=why)
    extra = {key: decision.facts[key] for key in _TRANSFER_FACTS if key in decision.facts}
    fact = extra.get("ownership")

    def amend(d: Decision) -> Decision:
        reason = {"assigned": "transferred", "pool": "transfer_no_eligible_rep"}.get(
            d.outcome, d.reason
        )
        steps = d.steps if not isinstance(fact, dict) else (*d.steps, ownership_step(fact))
        return d.model_copy(update={"reason": reason, "steps": steps, "facts": {**d.facts, **extra}})

    return ReplayPlan("transfer", amend=amend)
