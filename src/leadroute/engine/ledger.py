"""The ledger: the pool data one call reads and writes, and the change it makes.

The pipeline never touches a :class:`~leadroute.PoolState` directly: it reads
counters, rotation memory, owners and pooled leads through a :class:`Ledger`,
and tells it what was decided (a lead opened with a rep, a lead left in the
pool, a selector's turn). :meth:`Ledger.finish` yields the next state *and*
the :class:`ChangeSet`: exactly what was written, so that a store can apply
the change instead of saving a whole state.

:class:`MemoryLedger` is the ledger over an in-memory state (copy on first
write: the input state is never changed). A store-backed ledger reads the reps
and counters the call's leads touch and commits the change set (see
``docs/architecture.md``).

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from leadroute.context import RotationMemory
from leadroute.fast import assemble, build
from leadroute.models import Lead, Rep
from leadroute.state import OpenLead, PooledLead, PoolState, RepLoad, Rotation

__all__ = [
    "DAYS_KEPT",
    "ChangeSet",
    "Finished",
    "Ledger",
    "MemoryLedger",
    "OwnerMap",
    "count_open",
    "rotation_memories",
]

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


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What one call wrote to the pool: apply it to the input state to get the next one.

    ``loads`` holds the new counters of every rep that got a lead (old days
    pruned), ``open_deltas`` and ``day_deltas`` the increments behind them
    (for a store that adds rather than overwrites). ``owners`` maps each
    account whose owner changed to its new owner (``None``: released).
    ``rotations`` holds the memory of every selector that picked someone.

    .. versionadded:: 0.2.0
    """

    #: the state revision the change applies to, and the one it makes
    base_revision: int
    revision: int
    as_of: datetime | None
    opened: Mapping[str, OpenLead] = field(default_factory=dict)
    pooled: Mapping[str, PooledLead] = field(default_factory=dict)
    unpooled: tuple[str, ...] = ()
    loads: Mapping[str, RepLoad] = field(default_factory=dict)
    open_deltas: Mapping[str, int] = field(default_factory=dict)
    day_deltas: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    rotations: Mapping[str, Rotation] = field(default_factory=dict)
    owners: Mapping[str, str | None] = field(default_factory=dict)

    def apply(self, state: PoolState) -> PoolState:
        """``state`` (the call's input state) with this change applied.

        >>> from leadroute import PoolState
        >>> empty = PoolState()
        >>> ChangeSet(base_revision=0, revision=1, as_of=None).apply(empty).revision
        1
        """
        loads = dict(state.loads)
        loads.update(self.loads)
        rotations = dict(state.rotations)
        rotations.update(self.rotations)
        owners = dict(state.owners)
        for account, rep_id in self.owners.items():
            if rep_id is None:
                owners.pop(account, None)
            else:
                owners[account] = rep_id
        open_leads = dict(state.open_leads)
        open_leads.update(self.opened)
        pool = dict(state.pool)
        for lead_id in self.unpooled:
            pool.pop(lead_id, None)
        pool.update(self.pooled)
        return build(
            PoolState,
            as_of=self.as_of,
            revision=self.revision,
            reps=state.reps,
            loads=loads,
            rotations=rotations,
            owners=owners,
            open_leads=open_leads,
            pool=pool,
            history=state.history,
            account_history=state.account_history,
        )


class Finished(NamedTuple):
    """What :meth:`Ledger.finish` returns: the next state and the change that made it."""

    state: PoolState
    changes: ChangeSet


class Ledger(Protocol):
    """The pool data the engine reads and writes while routing one call.

    Reads are plain mappings (the :class:`~leadroute.context.RouteContext`
    hands them to strategies for their fast loops); every write goes through
    a method, so the ledger knows exactly what changed.

    .. versionadded:: 0.2.0
    """

    @property
    def state(self) -> PoolState:
        """The state the call started from (a store: the part of it the call reads)."""
        ...

    @property
    def open_counts(self) -> Mapping[str, int]:
        """Open leads per rep id."""
        ...

    @property
    def days(self) -> Mapping[str, Mapping[str, int]]:
        """Leads assigned per rep id and local day (ISO date)."""
        ...

    @property
    def rotations(self) -> Mapping[str, RotationMemory]:
        """Rotation memory per selector path."""
        ...

    @property
    def owners(self) -> OwnerMap:
        """Account key -> owning rep id (the lifecycle's ownership moves edit it in place)."""
        ...

    @property
    def pool(self) -> Mapping[str, PooledLead]:
        """Leads waiting in the pool, by lead id."""
        ...

    @property
    def open_new(self) -> dict[str, OpenLead]:
        """Leads opened in this call, by lead id (the lifecycle amends their records)."""
        ...

    def rotate(self, path: str, rep_id: str, credits: Mapping[str, float] | None) -> None:
        """The selector at ``path`` served ``rep_id``."""
        ...

    def open(
        self,
        lead: Lead,
        rep_id: str,
        day: str,
        at: datetime,
        rule_id: str | None,
        account: str | None,
    ) -> bool:
        """Open ``lead`` with ``rep_id``; whether ``account`` became the rep's."""
        ...

    def leave_in_pool(self, lead: Lead, at: datetime, reason: str) -> None:
        """Keep ``lead`` in the pool with ``reason``."""
        ...

    def put_pooled(self, rec: PooledLead) -> None:
        """Put (or replace) a lead's pool record."""
        ...

    def finish(self, latest: datetime | None) -> Finished:
        """The next state and the change set."""
        ...


class OwnerMap(dict[str, str]):
    """Account owners that remember which accounts were written (for the change set).

    A plain ``dict`` for every read; the writes used on owners (set, delete,
    ``pop``, ``clear``, ``update``) also note the account.

    .. versionadded:: 0.2.0
    """

    __slots__ = ("written",)

    def __init__(self, data: Mapping[str, str] = MappingProxyType({})) -> None:
        super().__init__(data)
        #: accounts written, in the order first written
        self.written: dict[str, None] = {}

    def __setitem__(self, key: str, value: str) -> None:
        self.written[key] = None
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.written[key] = None
        super().__delitem__(key)

    def pop(self, key: str, *default: Any) -> Any:
        """Remove ``key`` (noted as written)."""
        self.written[key] = None
        return super().pop(key, *default)

    def clear(self) -> None:
        """Remove every account (each noted as written)."""
        self.written.update(dict.fromkeys(self))
        super().clear()

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Set several accounts (each noted as written)."""
        new = dict(*args, **kwargs)
        self.written.update(dict.fromkeys(new))
        super().update(new)

    def setdefault(self, key: str, default: str) -> str:
        """Set ``key`` unless present (noted as written when set)."""
        if key not in self:
            self[key] = default
        return self[key]

    def popitem(self) -> tuple[str, str]:
        """Remove the last account (noted as written)."""
        key, value = super().popitem()
        self.written[key] = None
        return key, value

    def __ior__(self, other: Any) -> OwnerMap:  # type: ignore[override,misc]
        self.update(other)
        return self



def rotation_memories(state: PoolState) -> dict[str, RotationMemory]:
    """A working copy of ``state``'s rotation memory, by selector path."""
    return {
        k: RotationMemory(v.turn, dict(v.last_served), dict(v.credits))
        for k, v in state.rotations.items()
    }


def count_open(
    open_counts: dict[str, int], days: dict[str, dict[str, int]], rep_id: str, day: str
) -> None:
    """Count one more open lead for ``rep_id``, assigned on its local ``day``.

    The rep's day counts become a new dict on every write: the input state's
    counters are never changed, and a decision's record may hold the dict it read.
    """
    open_counts[rep_id] = open_counts.get(rep_id, 0) + 1
    held = days.get(rep_id)
    counts = dict(held) if held else {}
    counts[day] = counts.get(day, 0) + 1
    days[rep_id] = counts


class MemoryLedger:
    """The :class:`Ledger` over an in-memory :class:`~leadroute.PoolState`.

    The dicts below are shared with the :class:`~leadroute.context.RouteContext`
    (strategies read counters through it); the ledger's methods are the only
    writers, except ``owners`` (an :class:`OwnerMap`, which notes its writes)
    and ``open_new``, which the lifecycle's moves amend.

    >>> from leadroute import PoolState
    >>> ledger = MemoryLedger(PoolState(), {})
    >>> ledger.finish(None).changes.opened
    {}

    .. versionadded:: 0.2.0
    """

    def __init__(self, state: PoolState, by_id: dict[str, Rep]) -> None:
        self.state = state
        self.by_id = by_id
        self.open_counts = {k: v.open for k, v in state.loads.items()}
        self.days: dict[str, dict[str, int]] = {k: v.days for k, v in state.loads.items()}
        self.touched: set[str] = set()
        self.rotations = rotation_memories(state)
        self.owners = OwnerMap(state.owners)
        self.open_new: dict[str, OpenLead] = {}
        self.pool = dict(state.pool)
        #: (rep id, local day) of every lead opened, in order (the change set's increments)
        self.counted: list[tuple[str, str]] = []
        #: selector paths that picked someone, and pool records written or removed
        self.rotated: dict[str, None] = {}
        self.pooled_ids: dict[str, None] = {}
        self.unpooled_ids: dict[str, None] = {}

    # -- writes ------------------------------------------------------------------------
    def rotate(self, path: str, rep_id: str, credits: Mapping[str, float] | None) -> None:
        """Remember that the selector at ``path`` served ``rep_id`` (and its new credits)."""
        mem = self.rotations.get(path)
        if mem is None:
            mem = RotationMemory(0, {}, {})
            self.rotations[path] = mem
        self.rotated[path] = None
        mem.serve(rep_id, credits)

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
        count_open(self.open_counts, self.days, rep_id, day)
        self.touched.add(rep_id)
        self.counted.append((rep_id, day))
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
            self.unpooled_ids[lead.id] = None
            self.pooled_ids.pop(lead.id, None)
        return owned

    def leave_in_pool(self, lead: Lead, at: datetime, reason: str) -> None:
        """Keep ``lead`` in the pool (since ``at``, or since it was pooled) with ``reason``."""
        pooled = self.pool.get(lead.id)
        if pooled is None:
            self.pool[lead.id] = build(PooledLead, lead=lead, since=at, reason=reason)
            self.pooled_ids[lead.id] = None
        elif pooled.reason != reason:
            self.pool[lead.id] = pooled.model_copy(update={"reason": reason})
            self.pooled_ids[lead.id] = None

    def put_pooled(self, rec: PooledLead) -> None:
        """Put (or replace) the pooled record of a lead."""
        self.pool[rec.lead.id] = rec
        self.pooled_ids[rec.lead.id] = None

    # -- the end -----------------------------------------------------------------------
    def finish(self, latest: datetime | None) -> Finished:
        """The next state (the input state with every write applied, revision + 1) and the
        change set (which, applied to the input state, gives the same next state)."""
        state = self.state
        loads = dict(state.loads)
        written: dict[str, RepLoad] = {}
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
            loads[rep_id] = written[rep_id] = assemble(
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
        new_state = build(
            PoolState,
            as_of=as_of,
            revision=state.revision + 1,
            reps=state.reps,
            # insertion order: the input state's keys first, then new ones (reps in id
            # order, selectors and accounts in routing order) -- deterministic, no sort
            loads=loads,
            rotations=rotations,
            owners=dict(self.owners),
            open_leads=open_leads,
            pool=self.pool,
            history=state.history,
            account_history=state.account_history,
        )
        return Finished(new_state, self._changes(new_state, written))

    def _changes(self, new: PoolState, loads: dict[str, RepLoad]) -> ChangeSet:
        """What was written (read off the ledger's notes, not by comparing states)."""
        open_deltas: dict[str, int] = {}
        day_deltas: dict[str, dict[str, int]] = {}
        # counted in C, then one step per (rep, day) rather than per lead
        for (rep_id, day), n in Counter(self.counted).items():
            open_deltas[rep_id] = open_deltas.get(rep_id, 0) + n
            per_day = day_deltas.get(rep_id)
            if per_day is None:
                per_day = day_deltas[rep_id] = {}
            per_day[day] = n
        owners = self.owners
        return ChangeSet(
            base_revision=self.state.revision,
            revision=new.revision,
            as_of=new.as_of,
            opened=dict(self.open_new),
            pooled={k: self.pool[k] for k in self.pooled_ids if k in self.pool},
            unpooled=tuple(self.unpooled_ids),
            loads=loads,
            open_deltas=open_deltas,
            day_deltas=day_deltas,
            rotations={k: new.rotations[k] for k in self.rotated},
            owners={k: owners.get(k) for k in owners.written},
        )
