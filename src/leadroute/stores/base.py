"""The store interface shared by every backend, its errors and audit rows.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import json
import weakref
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

from leadroute.audit import Decision
from leadroute.exceptions import InputError, LeadAlreadyClosedError, LeadrouteError
from leadroute.fast import build
from leadroute.lifecycle import warnings
from leadroute.models import Lead, Rep
from leadroute.policy import Policy
from leadroute.result import Assignment, RoutingResult
from leadroute.state import CloseOutcome, OpenLead, PoolState
from leadroute.strategies.base import walk
from leadroute.strategies.scoring import BestFit, Surge

if TYPE_CHECKING:
    from leadroute.accounts import AccountMatcher
    from leadroute.lifecycle import ReclaimPolicy, ReclaimWarning
    from leadroute.ownership import OwnershipPolicy, TransferResult
    from leadroute.router import Router

__all__ = [
    "AuditRow",
    "SchemaVersionError",
    "Store",
    "StoreError",
]


class StoreError(LeadrouteError):
    """A store could not be opened or used (bad URL, unreachable server, wrong schema).

    .. versionadded:: 0.2.0
    """


class SchemaVersionError(StoreError):
    """The database holds a newer schema than this version of leadroute understands.

    .. versionadded:: 0.2.0
    """


AuditKind = Literal["decision", "assign_manually", "activity", "close", "set_reps", "load"]


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One append-only audit row of a store.

    ``kind`` is ``decision`` (a routing or reclaim decision; ``data`` is the
    :class:`~leadroute.audit.Decision` as JSON) or the name of the manual
    operation that wrote it (``assign_manually``, ``activity``, ``close``,
    ``set_reps``, ``load``) with its arguments in ``data``.

    .. versionadded:: 0.2.0
    """

    seq: int
    kind: str
    lead_id: str | None
    at: datetime
    data: dict[str, Any]
    #: when the lead was created (decision and manual-assignment rows)
    created_at: datetime | None = None

    @property
    def decision(self) -> Decision:
        """The routing decision of a ``decision`` row."""
        if self.kind != "decision":
            msg = f"audit row {self.seq} is a {self.kind!r} row, not a decision"
            raise InputError(msg, field="kind")
        return Decision.model_validate(self.data)


def utc_text(at: datetime) -> str:
    """``at`` as fixed-width UTC text that sorts like the instant (the stores' time columns)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_utc_text(text: str) -> datetime:
    """The instant written by :func:`utc_text`."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def aware(at: datetime | None, name: str) -> None:
    """Refuse a naive datetime, naming the argument."""
    if at is not None and (at.tzinfo is None or at.utcoffset() is None):
        msg = f"{name}: a naive datetime; give a time-zone aware one"
        raise InputError(msg, field=name)


def existing_assignment(rec: OpenLead) -> Assignment:
    """The assignment returned for a lead submitted again while open (no second decision)."""
    return build(
        Assignment,
        lead_id=rec.lead.id,
        rep_id=rec.rep_id,
        rule_id=rec.rule_id,
        outcome="assigned",
        reason="already_open",
    )


def check_batch(leads: Sequence[Lead]) -> None:
    """Refuse non-leads in a batch before a store opens a transaction."""
    for lead in leads:
        if not isinstance(lead, Lead):
            msg = f"leads: expected Lead objects, got {type(lead).__name__}"
            raise InputError(msg, field="leads")


def closed_error(ids: Sequence[str]) -> LeadAlreadyClosedError:
    """The error for closed leads submitted again (the same as routing a PoolState gives)."""
    found = sorted(ids)
    msg = (
        f"leads already closed in the store: {found[:10]}; a closed lead is not reopened: "
        "route a new inquiry under a new lead id"
    )
    return LeadAlreadyClosedError(msg, lead_ids=found)


#: Strategy classes that read every open and pooled lead from ``ctx.state``.
FULL_STATE_STRATEGIES = frozenset({"ManualReview"})
#: Strategy classes that read the whole closed-lead history from ``ctx.state``.
HISTORY_STRATEGIES = frozenset({"BatchFit"})
#: Rep-side scorecard values computed from the closed-lead history.
HISTORY_REP_VALUES = frozenset({"won_this_month", "attainment", "response_hours"})

FitView = tuple[tuple[str, ...], tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Needs:
    """What a router's routes read from the pool beyond the batch's own records.

    ``pool``: every open and pooled lead (``ManualReview``, or a strategy with
    ``reads_pool_state = True``); ``history``: the whole closed history
    (``BatchFit``, rep-side history factors, or ``reads_history = True``);
    ``fit``: the fit aggregates of these ``(segment_by, lead_by)`` views
    (``BestFit``, built from the store's per rep x segment counts);
    ``surge``: the longest ``Surge`` window (the open and pooled leads created
    within it before the decision times are read).
    """

    pool: bool = False
    history: bool = False
    fit: tuple[FitView, ...] = ()
    surge: timedelta | None = None


def _history_factor(node: object) -> bool:
    for f in getattr(node, "factors", None) or ():
        if getattr(f, "source", "lead") != "lead" and (
            getattr(f, "field", None) in HISTORY_REP_VALUES
            or getattr(f, "rep_field", None) in HISTORY_REP_VALUES
        ):
            return True
    return False


def store_needs(source: Policy | Router) -> Needs:
    """What whole-pool state the routes of ``source`` (a policy, or a router's policy) read.

    A pure function of the policy's routes, remembered per policy while the
    policy lives (policies are immutable, so the answer never goes stale).
    """
    policy = source if isinstance(source, Policy) else source.policy
    found = _NEEDS.get(policy)
    if found is None:
        found = _NEEDS[policy] = _needs_of(policy)
    return found


#: :func:`store_needs` answers by policy (equal policies have the same routes, so the same needs)
_NEEDS: weakref.WeakKeyDictionary[Policy, Needs] = weakref.WeakKeyDictionary()


def _needs_of(policy: Policy) -> Needs:
    nodes = [node for _rid, route in policy.routes() for node in walk(route)]
    pool = history = False
    fit: set[FitView] = set()
    surge: timedelta | None = None
    for n in nodes:
        name = type(n).__name__
        if name in FULL_STATE_STRATEGIES or n.reads_pool_state:
            pool = True
        if name in HISTORY_STRATEGIES or n.reads_history or _history_factor(n):
            history = True
        if isinstance(n, BestFit):
            fit.add((n.segment_by, n.lead_by))
        if isinstance(n, Surge):
            surge = n.window if surge is None else max(surge, n.window)
        scorecard = getattr(n, "scorecard", None)
        if scorecard is not None and _history_factor(scorecard):
            history = True
    return Needs(pool, history, tuple(sorted(fit)), surge)


def merge_result(
    batch: Sequence[Lead],
    existing: dict[str, OpenLead],
    routed: RoutingResult | None,
    state: PoolState,
) -> RoutingResult:
    """The result of a store call: new decisions plus the existing assignments of open leads."""
    by_id = {} if routed is None else {a.lead_id: a for a in routed.assignments}
    out: list[Assignment] = []
    for lead in batch:
        rec = existing.get(lead.id)
        out.append(existing_assignment(rec) if rec is not None else by_id[lead.id])
    if routed is None:
        return build(RoutingResult, assignments=tuple(out), state=state, audit=())
    if not existing:
        return routed
    result = build(RoutingResult, assignments=tuple(out), state=routed.state, audit=routed.audit)
    result._bind(routed._policy, routed._before, routed._drop_counts)  # type: ignore[arg-type]
    return result


class Store(ABC):
    """Shared pool state in a database: one atomic transaction per call.

    ``router.assign(store, leads, now=...)`` and ``router.reclaim(store, now=...)``
    delegate to :meth:`assign` and :meth:`reclaim`. Every call commits
    everything it changed (open leads, pool, counters, rotation memory,
    owners, audit rows) or nothing. See ``docs/stores.md``.

    .. versionadded:: 0.2.0
    """

    #: marks a store for :meth:`Router.assign` and friends (they delegate to it)
    leadroute_store: ClassVar[bool] = True

    # -- routing -------------------------------------------------------------------
    @abstractmethod
    def assign(
        self,
        router: Router,
        leads: Iterable[Lead],
        now: datetime | None = None,
        *,
        audit: Literal["full", "outcome"] = "full",
    ) -> RoutingResult:
        """Route ``leads`` in one transaction.

        A lead already open is not routed again: its existing assignment comes
        back with reason ``already_open`` and no new decision. A closed lead
        raises :class:`~leadroute.exceptions.LeadAlreadyClosedError` before
        anything is written.
        ``result.state`` is the part of the pool the call worked on, not the
        whole pool (use :meth:`snapshot`).
        """

    @abstractmethod
    def reclaim(self, router: Router, now: datetime, policy: ReclaimPolicy) -> RoutingResult:
        """Apply ``policy`` at ``now`` in one transaction (only the due leads are read)."""

    def reclaim_warnings(
        self, now: datetime, horizon: timedelta, policy: ReclaimPolicy
    ) -> list[ReclaimWarning]:
        """Open leads that :meth:`reclaim` would move by ``now + horizon`` (nothing changes)."""
        return warnings(self.snapshot(), now, horizon, policy)

    # -- lifecycle -------------------------------------------------------------------
    @abstractmethod
    def record_activity(self, lead_id: str, at: datetime) -> None:
        """Record activity on the open lead ``lead_id`` (see :meth:`PoolState.record_activity`)."""

    @abstractmethod
    def close(self, lead_id: str, outcome: CloseOutcome, at: datetime) -> None:
        """Close the open lead ``lead_id`` (see :meth:`PoolState.close`)."""

    @abstractmethod
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
    ) -> None:
        """Assign ``lead`` to ``rep_id`` by hand (see :meth:`PoolState.assign_manually`).

        Pass the router's ``accounts`` matcher to record the owner under its key.
        """

    @abstractmethod
    def transfer_accounts(
        self,
        from_rep: str,
        to: str | Router,
        *,
        at: datetime,
        by: str,
        note: str | None = None,
        leads: Literal["accounts", "all", "none"] = "accounts",
        force: bool = False,
        protection: timedelta = timedelta(0),
    ) -> TransferResult:
        """Move ``from_rep``'s accounts and open leads to ``to`` in one transaction (see
        :func:`leadroute.ownership.transfer_accounts`); reads only ``from_rep``'s accounts and
        open leads. ``result.state`` is the part of the pool the call worked on.

        .. versionadded:: 0.2.0
        """

    @abstractmethod
    def set_reps(self, reps: Sequence[Rep]) -> None:
        """Replace the roster; counters of remaining reps are kept (see :meth:`PoolState.with_reps`)."""

    # -- exchange --------------------------------------------------------------------
    @abstractmethod
    def snapshot(self) -> PoolState:
        """The whole pool as a :class:`~leadroute.PoolState` (reads everything)."""

    @abstractmethod
    def load(self, state: PoolState) -> None:
        """Replace the pool with ``state`` (``load(s)`` then ``snapshot()`` gives ``s`` back exactly).

        The audit rows are kept (they are append-only).
        """

    @abstractmethod
    def audit(
        self,
        *,
        lead_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        kind: str | None = None,
    ) -> list[AuditRow]:
        """Audit rows, oldest first, by lead id and/or time range ``since <= at < until``."""

    def lead(self, lead_id: str) -> Lead | None:
        """The lead ``lead_id`` as the store holds it (open, pooled or closed), else ``None``.

        .. versionadded:: 0.2.0
        """
        state = self.snapshot()
        rec = state.open_leads.get(lead_id) or state.pool.get(lead_id)
        if rec is not None:
            return rec.lead
        found = [c.lead for c in state.history if c.lead.id == lead_id]
        return found[-1] if found else None

    def counters(self) -> PoolState:
        """The roster, counters and rotation memory only (no lead records): cheap to read."""
        state = self.snapshot()
        return state.model_copy(update={"open_leads": {}, "pool": {}, "owners": {}, "history": ()})

    def closed_leads(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[tuple[str, str, str, datetime]]:
        """``(lead id, rep id, outcome, closed at)`` of leads closed in ``since <= at < until``."""
        out: list[tuple[str, str, str, datetime]] = []
        for c in self.snapshot().history:
            if (since is None or c.closed_at >= since) and (until is None or c.closed_at < until):
                out.append((c.lead.id, c.rep_id, c.outcome, c.closed_at))
        return out

    def disconnect(self) -> None:
        """Release the connection (the store object is unusable afterwards)."""
        return

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.disconnect()


def decode(text: str) -> Any:
    """JSON text from a store column."""
    return json.loads(text)


def encode(value: Any) -> str:
    """Compact, key-sorted JSON for a store column."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
