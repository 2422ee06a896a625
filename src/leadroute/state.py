"""The pool state: a snapshot of everything routing depends on.

A :class:`PoolState` is immutable; every operation returns a new one. It
round-trips through JSON exactly, so a CRM can store it anywhere.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from leadroute.exceptions import (
    CapacityExceededError,
    InputError,
    LeadAlreadyClosedError,
    UnknownLeadError,
    UnknownRepError,
)
from leadroute.fast import assemble
from leadroute.limits import (
    MAX_INT,
    MAX_ITEMS,
    MAX_YEAR,
    MIN_YEAR,
    Count,
    Id,
    Instant,
    Number,
    Text,
    as_duration,
    check_datetime,
    short_repr,
)
from leadroute.models import FrozenModel, Lead, Rep
from leadroute.normalize import account_key_of

if TYPE_CHECKING:
    from leadroute.accounts import AccountMatcher

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

    open: Count = 0
    days: dict[str, Count] = Field(default_factory=dict)

    @field_validator("days")
    @classmethod
    def _iso_days(cls, v: dict[str, int]) -> dict[str, int]:
        for key in v:
            try:
                day = date.fromisoformat(key)
            except ValueError:
                day = None
            if day is None or len(key) != 10 or not MIN_YEAR <= day.year <= MAX_YEAR:
                msg = f"{short_repr(key)} is not a day like '2026-03-02' in {MIN_YEAR}-{MAX_YEAR}"
                raise ValueError(msg)
        return v

    def release(self, n: int = 1) -> RepLoad:
        """These counters with ``n`` fewer open leads (never below 0); the day counts stay.

        ``n`` is a whole number >= 0, else an :class:`~leadroute.exceptions.InputError`.

        .. versionchanged:: 0.2.0
           ``n`` is checked.
        """
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_INT:
            msg = f"RepLoad.release(n={short_repr(n)}): n is a whole number in 0..{MAX_INT}"
            raise InputError(msg, field="n")
        return assemble(RepLoad, {"open": max(0, self.open - n), "days": self.days}, _LOAD_SET)

    def assigned_on(self, day: date) -> int:
        """Leads assigned on the rep-local ``day``."""
        return self.days.get(day.isoformat(), 0)

    def assigned_in_period(self, today: date, period_days: int) -> int:
        """Leads assigned in the ``period_days`` local days ending with ``today``."""
        return period_count(self.days, today, period_days)


_LOAD_SET = {"open", "days"}


def period_count(days: Mapping[str, int], today: date, period_days: int) -> int:
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

    turn: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    last_served: dict[str, Annotated[int, Field(ge=-1, le=2**63 - 1)]] = Field(
        default_factory=dict
    )
    credits: dict[str, Number] = Field(default_factory=dict)


class OpenLead(FrozenModel):
    """An assigned lead that is still open.

    .. versionadded:: 0.1.0
    """

    lead: Lead
    rep_id: Id
    assigned_at: Instant
    rule_id: Text | None = None
    account_key: Text | None = None
    first_activity_at: Instant | None = None
    last_activity_at: Instant | None = None
    times_reassigned: Count = 0
    times_recycled: Count = 0
    previous_reps: Annotated[tuple[Id, ...], Field(max_length=MAX_ITEMS)] = ()
    assigned_by: Text | None = None
    note: Text | None = None


class PooledLead(FrozenModel):
    """A lead waiting in the pool (not assigned, or returned to the pool).

    .. versionadded:: 0.1.0
    """

    lead: Lead
    since: Instant
    reason: Text
    times_recycled: Count = 0
    previous_reps: Annotated[tuple[Id, ...], Field(max_length=MAX_ITEMS)] = ()
    cooldown: dict[str, Instant] = Field(default_factory=dict)


class ClosedLead(FrozenModel):
    """A closed lead, kept as history for learned strategies.

    .. versionadded:: 0.1.0
    """

    lead: Lead
    rep_id: Id
    assigned_at: Instant
    closed_at: Instant
    outcome: CloseOutcome
    first_activity_at: Instant | None = None


OwnershipCause = Literal["sla", "recycle", "unconverted", "manual", "transfer"]


class OwnershipChange(FrozenModel):
    """One change of an account's owner, kept in the state's ``account_history``.

    ``to_rep`` is ``None`` when the account was released (unowned).
    ``protected_until`` is set when the new owner got a protection period:
    automatic moves (SLA, recycle) leave the account with them until then.

    .. versionadded:: 0.2.0
    """

    account: Text
    from_rep: Id | None = None
    to_rep: Id | None = None
    at: Instant
    cause: OwnershipCause
    lead_id: Id | None = None
    by: Text | None = None
    note: Text | None = None
    protected_until: Instant | None = None


#: What a state derives from its ``reps`` and ``history`` tuples, by the tuple's identity (the
#: tuple is held, so an id is never reused while its entry lives). Successive states share
#: these tuples; a few entries cover the states a process works with at once.
_REP_INDEX: dict[int, tuple[tuple[Rep, ...], dict[str, Rep]]] = {}
_CLOSED_IDS: dict[int, tuple[tuple[ClosedLead, ...], frozenset[str]]] = {}
_REMEMBERED = 8


def _remember(memo: dict[int, tuple[Any, Any]], key: tuple[Any, ...], value: Any) -> None:
    """Keep ``value`` for the tuple ``key`` (the oldest entry goes when the memo is full)."""
    if len(memo) >= _REMEMBERED:
        # (another thread may have removed it first)
        with contextlib.suppress(KeyError, StopIteration, RuntimeError):
            del memo[next(iter(memo))]
    memo[id(key)] = (key, value)


class PoolState(FrozenModel):
    """A snapshot of the pool: reps, counters, rotations, ownership, open leads.

    >>> state = PoolState(reps=(Rep(id="alice"), Rep(id="bob")))
    >>> state.rep("bob").id
    'bob'

    .. versionadded:: 0.1.0
    """

    model_config = ConfigDict(frozen=True, extra="forbid", ignored_types=(cached_property,))

    as_of: Instant | None = None
    revision: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
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
        problem = consistency_problem(self)
        if problem is not None:
            raise ValueError(problem)
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

    @property
    def rep_index(self) -> dict[str, Rep]:
        """Reps by id (do not modify it: states with the same ``reps`` share it)."""
        reps = self.reps
        found = _REP_INDEX.get(id(reps))
        if found is not None and found[0] is reps:
            return found[1]
        index = {r.id: r for r in reps}
        _remember(_REP_INDEX, reps, index)
        return index

    @property
    def closed_ids(self) -> frozenset[str]:
        """Ids of the closed leads in ``history``.

        Computed once per ``history`` tuple and shared by the states holding
        it (each call's next state holds the same tuple), so a call on a
        state with a long history does not pay for it again.

        .. versionadded:: 0.2.0
        """
        history = self.history
        found = _CLOSED_IDS.get(id(history))
        if found is not None and found[0] is history:
            return found[1]
        ids = frozenset(c.lead.id for c in history)
        _remember(_CLOSED_IDS, history, ids)
        return ids

    def rep(self, rep_id: str) -> Rep:
        """The rep with ``rep_id``; :class:`UnknownRepError` if the state has none."""
        try:
            return self.rep_index[rep_id]
        except (KeyError, TypeError):
            msg = f"rep {short_repr(rep_id)} is not in the pool state"
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
        except (KeyError, TypeError):
            msg = f"lead {short_repr(lead_id)} is not open in the pool state"
            raise UnknownLeadError(msg, lead_ids=[lead_id]) from None

    def with_reps(self, reps: tuple[Rep, ...] | list[Rep]) -> PoolState:
        """A copy with the roster replaced (counters of remaining reps kept).

        Removing a rep who still holds open leads is an error naming the leads.
        The day counts of a removed rep are kept (as ``loads`` of a rep not in
        ``reps``) while they can still count against a cap, so a rep removed
        and added back finds the caps where they were.
        """
        if isinstance(reps, (str, bytes)) or not isinstance(reps, Iterable):
            msg = f"with_reps: expected a list of Rep objects, got {type(reps).__name__}"
            raise InputError(msg, field="reps")
        reps = tuple(reps)
        for i, r in enumerate(reps):
            if not isinstance(r, Rep):
                msg = f"with_reps: reps[{i}] is a {type(r).__name__}, not a Rep"
                raise InputError(msg, field=f"reps[{i}]")
        keep = {r.id for r in reps}
        held = sorted(k for k, o in self.open_leads.items() if o.rep_id not in keep)
        if held:
            msg = f"cannot remove reps holding open leads {held}; reassign or close them first"
            raise InputError(msg, lead_ids=held)
        return self.replace(
            reps=reps,
            loads={k: v for k, v in self.loads.items() if k in keep or _still_counts(v, self)},
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
        protect, accounts, moving = prepare_transfer(
            self, from_rep, at=at, by=by, note=note, leads="accounts", force=force,
            protection=protection,
        )  # fmt: skip
        if not isinstance(to, str):
            msg = (
                f"transfer_accounts: to={short_repr(to)} is not a rep id "
                "(Router.transfer_accounts routes the leads through rules)"
            )
            raise InputError(msg, field="to")
        return transfer_to_rep(
            self, from_rep, to, accounts, moving,
            at=at, by=by, note=note, force=force, protection=protect,
        )[0]  # fmt: skip

    def replace(self, **changes: object) -> PoolState:
        """A validated copy with ``changes`` applied (``model_copy`` would skip validation)."""
        data = {name: getattr(self, name) for name in type(self).model_fields}
        data.update(changes)
        return type(self)(**data)


#: The counters of a rep with none yet (shared; models are frozen).
ZERO_LOAD = RepLoad()

UTC_ZONE = UTC
#: Days a removed rep's day counts are kept after the state's ``as_of`` (the longest window).
RETIRED_DAYS_KEPT = 366


def _still_counts(load: RepLoad, state: PoolState) -> bool:
    """Whether a removed rep's counters can still count against a cap (kept until they cannot)."""
    if not load.days:
        return False
    if state.as_of is None:
        return True
    oldest = (state.as_of - timedelta(days=RETIRED_DAYS_KEPT)).date().isoformat()
    return max(load.days) >= oldest


def consistency_problem(state: PoolState) -> str | None:
    """The first broken invariant of ``state`` as a sentence naming it, or ``None``.

    The invariants the engine relies on: rep ids unique; owners, open leads
    and non-zero open counters point at known reps; each rep's open counter
    equals its number of open leads; every record is keyed by its lead's id;
    a lead is in one place only (open, pool or history); history ids unique.

    .. versionadded:: 0.2.0
    """
    seen: set[str] = set()
    for r in state.reps:
        if r.id in seen:
            return f"reps: duplicate rep id {r.id!r}"
        seen.add(r.id)
    for account, owner in state.owners.items():
        if owner not in seen:
            return f"owners.{account}: rep {owner!r} is not in reps"
    held: dict[str, int] = {}
    for key, rec in state.open_leads.items():
        if rec.lead.id != key:
            return f"open_leads.{key}: record holds lead {rec.lead.id!r}"
        if rec.rep_id not in seen:
            return f"open_leads.{key}: rep {rec.rep_id!r} is not in reps"
        held[rec.rep_id] = held.get(rec.rep_id, 0) + 1
    for rep_id, load in state.loads.items():
        if load.open != held.get(rep_id, 0):
            if rep_id not in seen:
                return f"loads.{rep_id}: rep {rep_id!r} is not in reps but has {load.open} open"
            return (
                f"loads.{rep_id}.open: {load.open} but the rep holds "
                f"{held.get(rep_id, 0)} open leads"
            )
    for rep_id, n in held.items():
        if rep_id not in state.loads:
            return f"loads.{rep_id}.open: missing (0) but the rep holds {n} open leads"
    for key, pooled in state.pool.items():
        if pooled.lead.id != key:
            return f"pool.{key}: record holds lead {pooled.lead.id!r}"
        if key in state.open_leads:
            return f"pool.{key}: the lead is open too"
    closed: set[str] = set()
    for i, c in enumerate(state.history):
        lead_id = c.lead.id
        if lead_id in closed:
            return f"history[{i}]: lead {lead_id!r} is closed twice"
        if lead_id in state.open_leads:
            return f"history[{i}]: lead {lead_id!r} is closed and open"
        if lead_id in state.pool:
            return f"history[{i}]: lead {lead_id!r} is closed and in the pool"
        closed.add(lead_id)
    return None


# -- lifecycle operations (methods of PoolState, kept here to read in one place) ----------


def _aware(at: datetime, name: str) -> datetime:
    try:
        return check_datetime(at, name)
    except ValueError as exc:
        raise InputError(str(exc), field=name) from None


def _lead_id(lead_id: object) -> str:
    if not isinstance(lead_id, str):
        msg = f"lead_id: expected a lead id (text), got {short_repr(lead_id)}"
        raise InputError(msg, field="lead_id")
    return lead_id


def record_activity(state: PoolState, lead_id: str, at: datetime) -> PoolState:
    """A new state in which the open lead ``lead_id`` had activity at ``at``."""
    _lead_id(lead_id)
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
    _lead_id(lead_id)
    _aware(at, "at")
    if not isinstance(outcome, str) or outcome not in ("won", "lost", "disqualified"):
        msg = f"lead {lead_id!r}: outcome {short_repr(outcome)} is not won, lost or disqualified"
        raise InputError(msg, lead_ids=[lead_id], field="outcome")
    if lead_id not in state.open_leads and lead_id in state.closed_ids:
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
    if not isinstance(lead, Lead):
        msg = f"assign_manually: expected a Lead, got {type(lead).__name__}"
        raise InputError(msg, field="lead")
    _aware(at, "at")
    rep = state.rep(rep_id)
    if not by or not isinstance(by, str):
        msg = "assign_manually: say who assigned the lead (by=..., a text)"
        raise InputError(msg, lead_ids=[lead.id], field="by")
    if note is not None and not isinstance(note, str):
        msg = f"assign_manually: note {short_repr(note)} is not a text"
        raise InputError(msg, lead_ids=[lead.id], field="note")
    if not isinstance(force, bool):
        msg = f"assign_manually: force={short_repr(force)} is not true or false"
        raise InputError(msg, lead_ids=[lead.id], field="force")
    if lead.id in state.closed_ids:
        msg = f"lead {lead.id!r} is already closed; a closed lead is not reopened"
        raise LeadAlreadyClosedError(msg, lead_ids=[lead.id], rep_ids=[rep_id])
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

# -- account ownership (moved from leadroute.ownership, which re-exports the public names) --


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


def prepare_transfer(
    state: PoolState,
    from_rep: str,
    *,
    at: datetime,
    by: str,
    note: str | None,
    leads: str,
    force: bool,
    protection: timedelta,
) -> tuple[timedelta, list[str], list[OpenLead]]:
    """Check a transfer's arguments; its protection period, ``from_rep``'s accounts and the
    open leads that move (see :func:`leadroute.ownership.transfer_accounts`).

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
    return protect, accounts, _moving(state, from_rep, set(accounts), leads)


def transfer_to_rep(
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
) -> tuple[PoolState, tuple[OwnershipChange, ...], dict[str, dict[str, Any]]]:
    """Move ``accounts`` and the ``moving`` leads (see :func:`prepare_transfer`) to rep ``to``.

    The next state, the ownership changes made, and the audit fact per account.
    Raises :class:`~leadroute.exceptions.CapacityExceededError` when ``to``'s
    caps cannot hold the leads (unless ``force``).

    .. versionadded:: 0.2.0
    """
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
    new_state = state.replace(
        owners=owners,
        account_history=history,
        open_leads=open_leads,
        loads=loads,
        revision=state.revision + 1,
    )
    return new_state, tuple(changes), facts
