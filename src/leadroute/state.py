"""The pool state: a snapshot of everything routing depends on.

A :class:`PoolState` is immutable; every operation returns a new one. It
round-trips through JSON exactly, so a CRM can store it anywhere.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Literal

from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from leadroute.exceptions import (
    CapacityExceededError,
    InputError,
    UnknownLeadError,
    UnknownRepError,
)
from leadroute.fast import assemble
from leadroute.models import FrozenModel, Lead, Rep

if TYPE_CHECKING:
    from leadroute.accounts import AccountMatcher
    from leadroute.ownership import OwnershipPolicy

__all__ = [
    "ClosedLead",
    "OpenLead",
    "OwnershipChange",
    "PoolState",
    "PooledLead",
    "RepLoad",
    "Rotation",
]

CloseOutcome = Literal["won", "lost", "disqualified"]


class RepLoad(FrozenModel):
    """One rep's counters.

    ``days`` maps a date in the rep's own time zone (ISO ``YYYY-MM-DD``) to the
    number of leads assigned that day; it holds only the days still inside the
    longest counting window, so today's and the rolling period's counts are
    derived from it and never need a reset by the caller.

    .. versionadded:: 0.1.0
    """

    open: int = Field(default=0, ge=0)
    days: dict[str, int] = Field(default_factory=dict)

    def release(self, n: int = 1) -> RepLoad:
        """These counters with ``n`` fewer open leads (never below 0); the day counts stay."""
        return assemble(RepLoad, {"open": max(0, self.open - n), "days": self.days}, _LOAD_SET)

    def assigned_on(self, day: date) -> int:
        """Leads assigned on the rep-local ``day``."""
        return self.days.get(day.isoformat(), 0)

    def assigned_in_period(self, today: date, period_days: int) -> int:
        """Leads assigned in the ``period_days`` local days ending with ``today``."""
        return period_count(self.days, today, period_days)


_LOAD_SET = {"open", "days"}


def period_count(days: dict[str, int], today: date, period_days: int) -> int:
    """Sum of the day counts in the ``period_days`` local days ending with ``today``."""
    first = (today - timedelta(days=period_days - 1)).isoformat()
    last = today.isoformat()
    return sum(n for d, n in days.items() if first <= d <= last)


class Rotation(FrozenModel):
    """Rotation memory of one selector in one route.

    ``turn`` counts picks; ``last_served`` holds the turn at which each rep was
    last picked (the rotation order); ``credits`` holds the smooth weighted
    rotation's running credits.

    .. versionadded:: 0.1.0
    """

    turn: int = Field(default=0, ge=0)
    last_served: dict[str, int] = Field(default_factory=dict)
    credits: dict[str, float] = Field(default_factory=dict)


class OpenLead(FrozenModel):
    """An assigned lead that is still open.

    .. versionadded:: 0.1.0
    """

    lead: Lead
    rep_id: str
    assigned_at: AwareDatetime
    rule_id: str | None = None
    account_key: str | None = None
    first_activity_at: AwareDatetime | None = None
    last_activity_at: AwareDatetime | None = None
    times_reassigned: int = Field(default=0, ge=0)
    times_recycled: int = Field(default=0, ge=0)
    previous_reps: tuple[str, ...] = ()
    assigned_by: str | None = None
    note: str | None = None


class PooledLead(FrozenModel):
    """A lead waiting in the pool (not assigned, or returned to the pool).

    .. versionadded:: 0.1.0
    """

    lead: Lead
    since: AwareDatetime
    reason: str
    times_recycled: int = Field(default=0, ge=0)
    previous_reps: tuple[str, ...] = ()
    cooldown: dict[str, AwareDatetime] = Field(default_factory=dict)


class ClosedLead(FrozenModel):
    """A closed lead, kept as history for learned strategies.

    .. versionadded:: 0.1.0
    """

    lead: Lead
    rep_id: str
    assigned_at: AwareDatetime
    closed_at: AwareDatetime
    outcome: CloseOutcome
    first_activity_at: AwareDatetime | None = None


OwnershipCause = Literal["sla", "recycle", "unconverted", "manual", "transfer"]


class OwnershipChange(FrozenModel):
    """One change of an account's owner, kept in the state's ``account_history``.

    ``to_rep`` is ``None`` when the account was released (unowned).
    ``protected_until`` is set when the new owner got a protection period:
    automatic moves (SLA, recycle) leave the account with them until then.

    .. versionadded:: 0.2.0
    """

    account: str
    from_rep: str | None = None
    to_rep: str | None = None
    at: AwareDatetime
    cause: OwnershipCause
    lead_id: str | None = None
    by: str | None = None
    note: str | None = None
    protected_until: AwareDatetime | None = None


class PoolState(FrozenModel):
    """A snapshot of the pool: reps, counters, rotations, ownership, open leads.

    >>> state = PoolState(reps=(Rep(id="alice"), Rep(id="bob")))
    >>> state.rep("bob").id
    'bob'

    .. versionadded:: 0.1.0
    """

    model_config = ConfigDict(frozen=True, extra="forbid", ignored_types=(cached_property,))

    as_of: AwareDatetime | None = None
    revision: int = Field(default=0, ge=0)
    reps: tuple[Rep, ...] = ()
    loads: dict[str, RepLoad] = Field(default_factory=dict)
    rotations: dict[str, Rotation] = Field(default_factory=dict)
    owners: dict[str, str] = Field(default_factory=dict)
    open_leads: dict[str, OpenLead] = Field(default_factory=dict)
    pool: dict[str, PooledLead] = Field(default_factory=dict)
    history: tuple[ClosedLead, ...] = ()
    #: every ownership change per account key, oldest first (left out of the JSON when empty)
    account_history: dict[str, tuple[OwnershipChange, ...]] = Field(default_factory=dict)

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data: dict[str, object] = handler(self)
        if not self.account_history:
            data.pop("account_history", None)
        return data

    @model_validator(mode="after")
    def _consistent(self) -> PoolState:
        seen: set[str] = set()
        dupes_found: set[str] = set()
        for r in self.reps:
            if r.id in seen:
                dupes_found.add(r.id)
            seen.add(r.id)
        dupes = sorted(dupes_found)
        if dupes:
            msg = f"reps: duplicate rep ids {dupes}"
            raise ValueError(msg)
        for where, ids in (
            ("loads", list(self.loads)),
            ("owners", list(self.owners.values())),
            ("open_leads", [o.rep_id for o in self.open_leads.values()]),
        ):
            unknown = sorted({i for i in ids if i not in seen})
            if unknown:
                msg = f"{where}: rep ids {unknown} are not in reps"
                raise ValueError(msg)
        for key, rec in self.open_leads.items():
            if rec.lead.id != key:
                msg = f"open_leads.{key}: record holds lead {rec.lead.id!r}"
                raise ValueError(msg)
        both = sorted(set(self.open_leads) & set(self.pool))
        if both:
            msg = f"leads {both} are both open and in the pool"
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _history_consistent(self) -> PoolState:
        for key, changes in self.account_history.items():
            for i, change in enumerate(changes):
                if change.account != key:
                    msg = f"account_history.{key}[{i}]: the change is of account {change.account!r}"
                    raise ValueError(msg)
                if i and change.at < changes[i - 1].at:
                    msg = f"account_history.{key}[{i}]: changes are not in time order"
                    raise ValueError(msg)
        return self

    @cached_property
    def rep_index(self) -> dict[str, Rep]:
        """Reps by id."""
        return {r.id: r for r in self.reps}

    def rep(self, rep_id: str) -> Rep:
        """The rep with ``rep_id``; :class:`UnknownRepError` if the state has none."""
        try:
            return self.rep_index[rep_id]
        except KeyError:
            msg = f"rep {rep_id!r} is not in the pool state"
            raise UnknownRepError(msg, rep_ids=[rep_id]) from None

    def load(self, rep_id: str) -> RepLoad:
        """The counters of ``rep_id`` (zeros if it has none yet)."""
        self.rep(rep_id)
        return self.loads.get(rep_id, ZERO_LOAD)

    def open_count(self, rep_id: str) -> int:
        """Open leads held by ``rep_id``."""
        return self.load(rep_id).open

    def assigned_today(self, rep_id: str, at: datetime) -> int:
        """Leads assigned to ``rep_id`` on the rep-local day containing ``at``."""
        rep = self.rep(rep_id)
        return self.load(rep_id).assigned_on(rep.local_time(at).date())

    def assigned_in_period(self, rep_id: str, at: datetime) -> int:
        """Leads assigned to ``rep_id`` in its rolling capacity period ending at ``at``."""
        rep = self.rep(rep_id)
        today = rep.local_time(at).date()
        return self.load(rep_id).assigned_in_period(today, rep.capacity.period_days)

    def open_lead(self, lead_id: str) -> OpenLead:
        """The open record of ``lead_id``; :class:`UnknownLeadError` if it is not open."""
        try:
            return self.open_leads[lead_id]
        except KeyError:
            msg = f"lead {lead_id!r} is not open in the pool state"
            raise UnknownLeadError(msg, lead_ids=[lead_id]) from None

    def with_reps(self, reps: tuple[Rep, ...] | list[Rep]) -> PoolState:
        """A copy with the roster replaced (counters of remaining reps kept).

        Removing a rep who still holds open leads is an error naming the leads.
        """
        keep = {r.id for r in reps}
        held = sorted(k for k, o in self.open_leads.items() if o.rep_id not in keep)
        if held:
            msg = f"cannot remove reps holding open leads {held}; reassign or close them first"
            raise InputError(msg, lead_ids=held)
        return self.replace(
            reps=tuple(reps),
            loads={k: v for k, v in self.loads.items() if k in keep},
            owners={k: v for k, v in self.owners.items() if v in keep},
            revision=self.revision + 1,
        )

    def record_activity(self, lead_id: str, at: datetime) -> PoolState:
        """A new state in which open lead ``lead_id`` had activity (a call, a mail) at ``at``.

        The first activity stops the first-touch SLA; the last one restarts the
        recycle clock. A lead that is not open raises
        :class:`~leadroute.exceptions.UnknownLeadError`.
        """
        return record_activity(self, lead_id, at)

    def close(self, lead_id: str, outcome: CloseOutcome, at: datetime) -> PoolState:
        """A new state with ``lead_id`` closed as ``won``, ``lost`` or ``disqualified``.

        Frees the rep's open capacity and keeps the lead in ``history`` for
        learned strategies. Closing a lead twice raises
        :class:`~leadroute.exceptions.UnknownLeadError`.
        """
        return close_lead(self, lead_id, outcome, at)

    def assign_manually(
        self,
        lead: Lead,
        rep_id: str,
        *,
        at: datetime,
        by: str,
        note: str | None = None,
        force: bool = False,
        ownership: OwnershipPolicy | None = None,
        accounts: AccountMatcher | None = None,
    ) -> PoolState:
        """A new state with ``lead`` assigned to ``rep_id`` by a person (``by``, ``note``).

        Respects the rep's caps unless ``force``; see :func:`assign_manually`.
        With ``ownership`` (an :class:`~leadroute.ownership.OwnershipPolicy`),
        moving an open lead applies its ``on_manual`` action to the account.
        Pass the router's ``accounts`` matcher to record the owner under its key.

        .. versionchanged:: 0.2.0
           The ``ownership`` and ``accounts`` keywords.
        """
        return assign_manually(
            self,
            lead,
            rep_id,
            at=at,
            by=by,
            note=note,
            force=force,
            ownership=ownership,
            accounts=accounts,
        )

    def ownership_changes(self) -> list[OwnershipChange]:
        """Every recorded ownership change, in time order (ties by account key).

        .. versionadded:: 0.2.0
        """
        out = [c for key in sorted(self.account_history) for c in self.account_history[key]]
        out.sort(key=lambda c: (c.at, c.account))
        return out

    def previous_owners(self, account: str) -> tuple[str, ...]:
        """The reps who owned ``account`` before its current owner, oldest first.

        .. versionadded:: 0.2.0
        """
        out: list[str] = []
        for change in self.account_history.get(account, ()):
            if change.from_rep is not None and change.from_rep not in out:
                out.append(change.from_rep)
        current = self.owners.get(account)
        return tuple(r for r in out if r != current)

    def transfer_accounts(
        self,
        from_rep: str,
        to: str,
        *,
        at: datetime,
        by: str,
        note: str | None = None,
        force: bool = False,
        protection: timedelta = timedelta(0),
    ) -> PoolState:
        """A new state with ``from_rep``'s accounts (and their open leads) moved to rep ``to``.

        See :func:`leadroute.ownership.transfer_accounts` (which also routes
        them through a :class:`~leadroute.Router` and returns the audit).

        .. versionadded:: 0.2.0
        """
        from leadroute.ownership import transfer_accounts

        return transfer_accounts(
            self, from_rep, to, at=at, by=by, note=note, force=force, protection=protection
        ).state

    def replace(self, **changes: object) -> PoolState:
        """A validated copy with ``changes`` applied (``model_copy`` would skip validation)."""
        data = {name: getattr(self, name) for name in type(self).model_fields}
        data.update(changes)
        return type(self)(**data)


#: The counters of a rep with none yet (shared; models are frozen).
ZERO_LOAD = RepLoad()


# -- lifecycle operations (methods of PoolState, kept here to read in one place) ----------


def _aware(at: datetime, name: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        msg = f"{name}: a naive datetime; give a time-zone aware one"
        raise InputError(msg, field=name)
    return at


def record_activity(state: PoolState, lead_id: str, at: datetime) -> PoolState:
    """A new state in which the open lead ``lead_id`` had activity at ``at``."""
    _aware(at, "at")
    rec = state.open_lead(lead_id)
    if at < rec.assigned_at:
        msg = f"lead {lead_id!r}: activity at {at.isoformat()} is before its assignment"
        raise InputError(msg, lead_ids=[lead_id], field="at")
    first = rec.first_activity_at if rec.first_activity_at is not None else at
    last = at if rec.last_activity_at is None or at > rec.last_activity_at else rec.last_activity_at
    open_leads = dict(state.open_leads)
    open_leads[lead_id] = rec.model_copy(
        update={"first_activity_at": first, "last_activity_at": last}
    )
    return state.replace(open_leads=open_leads, revision=state.revision + 1)


def close_lead(state: PoolState, lead_id: str, outcome: CloseOutcome, at: datetime) -> PoolState:
    """A new state with ``lead_id`` closed: the rep's open count freed, the lead kept in history."""
    _aware(at, "at")
    if outcome not in ("won", "lost", "disqualified"):
        msg = f"lead {lead_id!r}: outcome {outcome!r} is not won, lost or disqualified"
        raise InputError(msg, lead_ids=[lead_id], field="outcome")
    if lead_id not in state.open_leads and any(c.lead.id == lead_id for c in state.history):
        msg = f"lead {lead_id!r} is already closed"
        raise UnknownLeadError(msg, lead_ids=[lead_id])
    rec = state.open_lead(lead_id)
    open_leads = {k: v for k, v in state.open_leads.items() if k != lead_id}
    loads = dict(state.loads)
    loads[rec.rep_id] = state.loads.get(rec.rep_id, ZERO_LOAD).release()
    closed = ClosedLead(
        lead=rec.lead,
        rep_id=rec.rep_id,
        assigned_at=rec.assigned_at,
        closed_at=at,
        outcome=outcome,
        first_activity_at=rec.first_activity_at,
    )
    return state.replace(
        open_leads=open_leads,
        loads=loads,
        history=(*state.history, closed),
        revision=state.revision + 1,
    )


def assign_manually(
    state: PoolState,
    lead: Lead,
    rep_id: str,
    *,
    at: datetime,
    by: str,
    note: str | None = None,
    force: bool = False,
    ownership: OwnershipPolicy | None = None,
    accounts: AccountMatcher | None = None,
) -> PoolState:
    """A new state with ``lead`` assigned to ``rep_id`` by a person.

    The lead may be new, in the pool, or open with another rep (a manual
    reassignment). The rep's caps (open, per local day, per period) are
    respected unless ``force``; breaking one raises
    :class:`~leadroute.exceptions.CapacityExceededError`. ``accounts`` is
    the router's :class:`~leadroute.accounts.AccountMatcher` (pass
    ``router.accounts``) so the owner is recorded under the same key.
    """
    from leadroute.normalize import account_key_of

    _aware(at, "at")
    rep = state.rep(rep_id)
    if not by:
        msg = "assign_manually: say who assigned the lead (by=...)"
        raise InputError(msg, lead_ids=[lead.id], field="by")
    current = state.open_leads.get(lead.id)
    if current is not None and current.rep_id == rep_id:
        msg = f"lead {lead.id!r} is already open with {rep_id!r}"
        raise InputError(msg, lead_ids=[lead.id], rep_ids=[rep_id])
    load = state.loads.get(rep_id, ZERO_LOAD)
    today = rep.local_time(at).date()
    cap = rep.capacity
    problems = []
    if cap.max_open is not None and load.open >= cap.max_open:
        problems.append(f"open {load.open} of {cap.max_open}")
    if cap.max_per_day is not None and load.assigned_on(today) >= cap.max_per_day:
        problems.append(f"assigned today {load.assigned_on(today)} of {cap.max_per_day}")
    period = load.assigned_in_period(today, cap.period_days)
    if cap.max_per_period is not None and period >= cap.max_per_period:
        problems.append(f"assigned {period} of {cap.max_per_period} in {cap.period_days} days")
    if problems and not force:
        msg = f"rep {rep_id!r} is at capacity ({'; '.join(problems)}); pass force=True to assign anyway"
        raise CapacityExceededError(msg, lead_ids=[lead.id], rep_ids=[rep_id])
    loads = dict(state.loads)
    days = dict(load.days)
    days[today.isoformat()] = days.get(today.isoformat(), 0) + 1
    loads[rep_id] = RepLoad(open=load.open + 1, days=dict(sorted(days.items())))
    pooled = state.pool.get(lead.id)
    previous: tuple[str, ...] = () if pooled is None else pooled.previous_reps
    recycled = 0 if pooled is None else pooled.times_recycled
    reassigned = 0
    if current is not None:
        loads[current.rep_id] = state.loads.get(current.rep_id, ZERO_LOAD).release()
        previous = (*current.previous_reps, current.rep_id)
        recycled = current.times_recycled
        reassigned = current.times_reassigned + 1
    account = account_key_of(lead) if accounts is None else accounts.key_of(lead)
    owners = dict(state.owners)
    history = state.account_history
    if ownership is not None and current is not None:
        from leadroute.ownership import change_owner

        history = dict(history)
        change, _fact = change_owner(
            owners, history, account=account, losing=current.rep_id,
            action=ownership.on_manual, to=rep_id, at=at, cause="manual", lead_id=lead.id,
            by=by, note=note, protection=ownership.protection, respect_protection=False,
        )  # fmt: skip
        released = change is not None and change.to_rep is None
    else:
        released = False
    if account is not None and account not in owners and not released:
        owners[account] = rep_id
    open_leads = dict(state.open_leads)
    open_leads[lead.id] = OpenLead(
        lead=lead,
        rep_id=rep_id,
        assigned_at=at,
        rule_id=None,
        account_key=account,
        times_reassigned=reassigned,
        times_recycled=recycled,
        previous_reps=previous,
        assigned_by=by,
        note=note,
    )
    pool = {k: v for k, v in state.pool.items() if k != lead.id}
    extra: dict[str, object] = (
        {} if history is state.account_history else {"account_history": history}
    )
    return state.replace(
        loads=loads,
        owners=owners,
        open_leads=open_leads,
        pool=pool,
        revision=state.revision + 1,
        **extra,
    )
