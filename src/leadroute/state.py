"""The pool state: a snapshot of everything routing depends on.

A :class:`PoolState` is immutable; every operation returns a new one. It
round-trips through JSON exactly, so a CRM can store it anywhere.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Literal

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from leadroute.exceptions import InputError, UnknownLeadError, UnknownRepError
from leadroute.models import FrozenModel, Lead, Rep

__all__ = [
    "ClosedLead",
    "OpenLead",
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

    def assigned_on(self, day: date) -> int:
        """Leads assigned on the rep-local ``day``."""
        return self.days.get(day.isoformat(), 0)

    def assigned_in_period(self, today: date, period_days: int) -> int:
        """Leads assigned in the ``period_days`` local days ending with ``today``."""
        return period_count(self.days, today, period_days)


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
        return self.loads.get(rep_id, _ZERO_LOAD)

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

    def replace(self, **changes: object) -> PoolState:
        """A validated copy with ``changes`` applied (``model_copy`` would skip validation)."""
        data = {name: getattr(self, name) for name in type(self).model_fields}
        data.update(changes)
        return type(self)(**data)


_ZERO_LOAD = RepLoad()
