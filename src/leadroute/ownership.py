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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from leadroute.audit import Decision, RuleTrial, Step
from leadroute.exceptions import CapacityExceededError, InputError
from leadroute.fast import build
from leadroute.limits import check_datetime, short_repr
from leadroute.models import FrozenModel
from leadroute.state import (
    ZERO_LOAD,
    OpenLead,
    OwnershipCause,
    OwnershipChange,
    PooledLead,
    PoolState,
    RepLoad,
)
from leadroute.strategies.availability import as_duration

if TYPE_CHECKING:
    from leadroute.engine import HasEngine

__all__ = ["OwnershipPolicy", "TransferResult", "change_owner", "transfer_accounts"]

OwnershipAction = Literal["transfer", "keep", "release"]
_ACTIONS = ("transfer", "keep", "release")


@dataclass(frozen=True, slots=True)
class OwnershipPolicy:
    """What happens to an account when its lead moves.

    Args:
        on_sla: on an SLA reassignment (``Router.reclaim``).
        on_recycle: on a recycle to the pool (stale or worked-not-converted);
            ``transfer`` follows a lead rerouted to a nurture route.
        on_manual: on :meth:`PoolState.assign_manually` of an open lead.
        protection: a new owner keeps the account this long against
            automatic moves (a ``timedelta``, seconds or ISO 8601 ``P30D``).

    .. versionadded:: 0.2.0
    """

    on_sla: OwnershipAction = "transfer"
    on_recycle: OwnershipAction = "release"
    on_manual: OwnershipAction = "transfer"
    protection: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        for name in ("on_sla", "on_recycle", "on_manual"):
            value = getattr(self, name)
            if value not in _ACTIONS:
                msg = f"OwnershipPolicy({name}={value!r}): use 'transfer', 'keep' or 'release'"
                raise InputError(msg, field=name)
        protection = as_duration(self.protection, "protection", "OwnershipPolicy")
        object.__setattr__(self, "protection", protection or timedelta(0))

    def action(self, cause: OwnershipCause) -> OwnershipAction:
        """The action for a move of kind ``cause``."""
        if cause == "sla":
            return self.on_sla
        if cause in ("recycle", "unconverted"):
            return self.on_recycle
        return self.on_manual


def protected_until(
    history: Mapping[str, tuple[OwnershipChange, ...]], account: str
) -> datetime | None:
    """When the current owner's protection of ``account`` ends (``None`` if it has none)."""
    changes = history.get(account)
    if not changes:
        return None
    return changes[-1].protected_until


def change_owner(
    owners: dict[str, str],
    history: dict[str, tuple[OwnershipChange, ...]],
    *,
    account: str | None,
    losing: str,
    action: OwnershipAction,
    to: str | None,
    at: datetime,
    cause: OwnershipCause,
    lead_id: str | None = None,
    by: str | None = None,
    note: str | None = None,
    protection: timedelta = timedelta(0),
    respect_protection: bool = True,
) -> tuple[OwnershipChange | None, dict[str, Any]]:
    """Apply ``action`` to ``account`` (in place) when ``losing`` owns it.

    Returns the change made (``None`` if the owner stayed) and the audit
    fact describing what happened and why.

    .. versionadded:: 0.2.0
    """
    fact: dict[str, Any] = {"account": account, "policy": action, "cause": cause}
    if account is None:
        fact["result"] = "unchanged"
        fact["why"] = "the lead has no account key"
        return None, fact
    current = owners.get(account)
    fact["owner"] = current
    if current != losing:
        fact["result"] = "unchanged"
        fact["why"] = (
            f"account {account!r} is not owned by {losing}"
            if current is None
            else f"account {account!r} is owned by {current}, not by {losing}"
        )
        return None, fact
    if action == "keep":
        fact["result"] = "kept"
        fact["why"] = f"{current} keeps account {account!r} (policy: keep)"
        return None, fact
    until = protected_until(history, account)
    if respect_protection and until is not None and at < until:
        fact["result"] = "kept"
        fact["why"] = f"{current} keeps account {account!r}: protected until {until.isoformat()}"
        return None, fact
    new = to if action == "transfer" else None
    if new == current:
        fact["result"] = "unchanged"
        fact["why"] = f"{current} already owns account {account!r}"
        return None, fact
    if new is None:
        del owners[account]
        fact["result"] = "released"
        fact["why"] = f"account {account!r} released by {current} ({cause}, policy {action})"
    else:
        owners[account] = new
        fact["result"] = "transferred"
        fact["why"] = f"account {account!r} moved from {current} to {new} ({cause})"
    fact["to"] = new
    change = OwnershipChange(
        account=account,
        from_rep=current,
        to_rep=new,
        at=at,
        cause=cause,
        lead_id=lead_id,
        by=by,
        note=note,
        protected_until=at + protection if new is not None and protection else None,
    )
    if change.protected_until is not None:
        fact["protected_until"] = change.protected_until.isoformat()
    history[account] = (*history.get(account, ()), change)
    return change, fact


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


#: Longest protection period a transfer accepts (about 100 years).
_LONGEST = timedelta(days=36_600)


def _check(state: PoolState, from_rep: str, at: datetime, by: str, leads: str) -> None:
    if not isinstance(state, PoolState):
        msg = f"state: expected a PoolState, got {type(state).__name__}"
        raise InputError(msg, field="state")
    try:
        check_datetime(at, "at")
    except ValueError as exc:
        raise InputError(str(exc), field="at") from None
    state.rep(from_rep)
    if not by or not isinstance(by, str):
        msg = "transfer_accounts: say who transferred the accounts (by=..., a text)"
        raise InputError(msg, rep_ids=[from_rep], field="by")
    if not isinstance(leads, str) or leads not in ("accounts", "all", "none"):
        msg = f"transfer_accounts(leads={short_repr(leads)}): use 'accounts', 'all' or 'none'"
        raise InputError(msg, field="leads")


def _moving(state: PoolState, from_rep: str, accounts: set[str], leads: str) -> list[OpenLead]:
    out = [
        rec
        for rec in state.open_leads.values()
        if rec.rep_id == from_rep
        and (leads == "all" or (leads == "accounts" and rec.account_key in accounts))
    ]
    out.sort(key=lambda r: (r.assigned_at, r.lead.id))
    return out


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
    _check(state, from_rep, at, by, leads)
    protect = as_duration(protection, "protection", "transfer_accounts") or timedelta(0)
    if protect > _LONGEST:
        msg = f"transfer_accounts(protection={protect!r}): at most {_LONGEST.days} days"
        raise InputError(msg, field="protection")
    if note is not None and not isinstance(note, str):
        msg = f"transfer_accounts: note {short_repr(note)} is not a text"
        raise InputError(msg, field="note")
    if not isinstance(force, bool):
        msg = f"transfer_accounts: force={short_repr(force)} is not true or false"
        raise InputError(msg, field="force")
    accounts = sorted(k for k, v in state.owners.items() if v == from_rep)
    moving = _moving(state, from_rep, set(accounts), leads)
    if not isinstance(to, str) and getattr(to, "engine", None) is None:
        msg = f"transfer_accounts: to={short_repr(to)} is neither a rep id nor a Router"
        raise InputError(msg, field="to")
    if isinstance(to, str):
        return _to_rep(
            state, from_rep, to, accounts, moving,
            at=at, by=by, note=note, force=force, protection=protect,
        )  # fmt: skip
    return _to_router(
        state, from_rep, to, accounts, moving, at=at, by=by, note=note, protection=protect
    )


def _to_rep(
    state: PoolState,
    from_rep: str,
    to: str,
    accounts: list[str],
    moving: list[OpenLead],
    *,
    at: datetime,
    by: str,
    note: str | None,
    force: bool,
    protection: timedelta,
) -> TransferResult:
    rep = state.rep(to)
    if to == from_rep:
        msg = f"transfer_accounts: {from_rep!r} cannot transfer to themself"
        raise InputError(msg, rep_ids=[to], field="to")
    n = len(moving)
    load = state.loads.get(to, ZERO_LOAD)
    today = rep.local_time(at).date()
    cap = rep.capacity
    problems = []
    if n and cap.max_open is not None and load.open + n > cap.max_open:
        problems.append(f"open {load.open} + {n} > {cap.max_open}")
    if n and cap.max_per_day is not None and load.assigned_on(today) + n > cap.max_per_day:
        problems.append(f"assigned today {load.assigned_on(today)} + {n} > {cap.max_per_day}")
    period = load.assigned_in_period(today, cap.period_days)
    if n and cap.max_per_period is not None and period + n > cap.max_per_period:
        problems.append(f"assigned {period} + {n} > {cap.max_per_period} in {cap.period_days} days")
    if problems and not force:
        msg = (
            f"rep {to!r} cannot take {n} leads of {from_rep!r} ({'; '.join(problems)}); "
            "pass force=True to transfer anyway"
        )
        raise CapacityExceededError(msg, lead_ids=[r.lead.id for r in moving], rep_ids=[to])
    owners = dict(state.owners)
    history = dict(state.account_history)
    changes: list[OwnershipChange] = []
    facts: dict[str, dict[str, Any]] = {}
    for account in accounts:
        change, fact = change_owner(
            owners, history, account=account, losing=from_rep, action="transfer", to=to,
            at=at, cause="transfer", by=by, note=note, protection=protection,
            respect_protection=False,
        )  # fmt: skip
        if change is not None:
            changes.append(change)
        facts[account] = fact
    open_leads = dict(state.open_leads)
    loads = dict(state.loads)
    decisions: list[Decision] = []
    if moving:
        loads[from_rep] = state.loads.get(from_rep, ZERO_LOAD).release(n)
        days = dict(load.days)
        days[today.isoformat()] = days.get(today.isoformat(), 0) + n
        loads[to] = RepLoad(open=load.open + n, days=dict(sorted(days.items())))
    for rec in moving:
        open_leads[rec.lead.id] = rec.model_copy(
            update={
                "rep_id": to,
                "assigned_at": at,
                "times_reassigned": rec.times_reassigned + 1,
                "previous_reps": (*rec.previous_reps, from_rep),
                "assigned_by": by,
                "note": note,
            }
        )
        decisions.append(
            _decision(state, rec, at, "assigned", to, "transferred", by, facts, "transfer")
        )
    new_state = state.replace(
        owners=owners,
        account_history=history,
        open_leads=open_leads,
        loads=loads,
        revision=state.revision + 1,
    )
    return TransferResult(state=new_state, audit=tuple(decisions), changes=tuple(changes))


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
    from leadroute.engine import decision_id

    lead_id = rec.lead.id
    detail = f"transferred by {by} from {rec.rep_id}"
    fact: dict[str, Any] = {"previous_rep": rec.rep_id, "by": by}
    steps: list[Step] = []
    if rec.account_key is not None and rec.account_key in facts:
        fact["ownership"] = facts[rec.account_key]
        steps.append(ownership_step(facts[rec.account_key]))
    return build(
        Decision,
        decision_id=decision_id(policy_revision, lead_id, state.revision),
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
    from leadroute.engine import check_inputs

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
    run = engine.run(freed)
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
    return TransferResult(state=new_state, audit=tuple(decisions), changes=tuple(changes))
