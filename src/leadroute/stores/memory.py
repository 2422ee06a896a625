"""The in-process store: one :class:`~leadroute.PoolState` behind a lock (the reference).

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from leadroute.fast import build
from leadroute.lifecycle import reclaim as reclaim_state
from leadroute.models import Lead, Rep
from leadroute.ownership import transfer_accounts
from leadroute.result import RoutingResult
from leadroute.state import CloseOutcome, OpenLead, PoolState
from leadroute.stores.base import (
    AuditRow,
    Store,
    aware,
    check_batch,
    closed_error,
    merge_result,
)

if TYPE_CHECKING:
    from leadroute.accounts import AccountMatcher
    from leadroute.lifecycle import ReclaimPolicy
    from leadroute.ownership import OwnershipPolicy, TransferResult
    from leadroute.router import Router

__all__ = ["MemoryStore"]

_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


class MemoryStore(Store):
    """A thread-safe in-process store; the reference the database stores are tested against.

    >>> from datetime import datetime, timezone
    >>> from leadroute import Lead, Rep, Router, Rule
    >>> from leadroute.strategies import RoundRobin
    >>> store = MemoryStore(PoolState(reps=(Rep(id="ann"), Rep(id="bo"))))
    >>> router = Router(rules=[Rule(id="all", route=RoundRobin())])
    >>> t = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
    >>> router.assign(store, [Lead(id="L1", created_at=t)]).assignments[0].rep_id
    'ann'
    >>> router.assign(store, [Lead(id="L1", created_at=t)]).assignments[0].reason
    'already_open'

    .. versionadded:: 0.2.0
    """

    def __init__(self, state: PoolState | None = None) -> None:
        self._lock = threading.RLock()
        self._state = state if state is not None else PoolState()
        self._rows: list[AuditRow] = []

    def _closed_ids(self, ids: Iterable[str]) -> list[str]:
        state = self._state
        wanted = {i for i in ids if i not in state.open_leads and i not in state.pool}
        return sorted({c.lead.id for c in state.history if c.lead.id in wanted})

    def _log(
        self,
        kind: str,
        lead_id: str | None,
        at: datetime,
        data: dict[str, Any],
        created: datetime | None = None,
    ) -> None:
        self._rows.append(AuditRow(len(self._rows) + 1, kind, lead_id, at, data, created))

    def assign(
        self,
        router: Router,
        leads: Iterable[Lead],
        now: datetime | None = None,
        *,
        audit: Literal["full", "outcome"] = "full",
    ) -> RoutingResult:
        batch = list(leads)
        check_batch(batch)
        aware(now, "now")
        with self._lock:
            state = self._state
            existing: dict[str, OpenLead] = {}
            fresh: list[Lead] = []
            for lead in batch:
                rec = state.open_leads.get(lead.id)
                if rec is not None:
                    existing[lead.id] = rec
                else:
                    fresh.append(lead)
            closed = self._closed_ids(lead.id for lead in fresh)
            if closed:
                raise closed_error(closed)
            if not fresh:
                return merge_result(batch, existing, None, state)
            routed = router.assign(state, fresh, now, audit=audit)
            self._state = routed.state
            created = {lead.id: lead.created_at for lead in fresh}
            for d in routed.audit:
                self._log(
                    "decision", d.lead_id, d.at, d.model_dump(mode="json"), created[d.lead_id]
                )
            return merge_result(batch, existing, routed, routed.state)

    def reclaim(self, router: Router, now: datetime, policy: ReclaimPolicy) -> RoutingResult:
        with self._lock:
            before = self._state
            result = reclaim_state(router, before, now, policy)
            self._state = result.state
            for d in result.audit:
                rec = before.open_leads[d.lead_id]
                data = d.model_dump(mode="json")
                self._log("decision", d.lead_id, d.at, data, rec.lead.created_at)
            return result

    def record_activity(self, lead_id: str, at: datetime) -> None:
        with self._lock:
            self._state = self._state.record_activity(lead_id, at)
            self._log("activity", lead_id, at, {"at": at.isoformat()})

    def close(self, lead_id: str, outcome: CloseOutcome, at: datetime) -> None:
        with self._lock:
            self._state = self._state.close(lead_id, outcome, at)
            self._log("close", lead_id, at, {"outcome": outcome})

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
        with self._lock:
            self._state = self._state.assign_manually(
                lead,
                rep_id,
                at=at,
                by=by,
                note=note,
                force=force,
                ownership=ownership,
                accounts=accounts,
            )
            self._log(
                "assign_manually",
                lead.id,
                at,
                {"rep_id": rep_id, "by": by, "note": note, "force": force},
                lead.created_at,
            )

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
        with self._lock:
            before = self._state
            result = transfer_accounts(
                before, from_rep, to, at=at, by=by, note=note, leads=leads, force=force,
                protection=protection,
            )  # fmt: skip
            self._state = result.state
            for d in result.audit:
                created = before.open_leads[d.lead_id].lead.created_at
                self._log("decision", d.lead_id, d.at, d.model_dump(mode="json"), created)
            return result

    def set_reps(self, reps: Sequence[Rep]) -> None:
        with self._lock:
            self._state = self._state.with_reps(tuple(reps))
            at = self._state.as_of or _EPOCH
            self._log("set_reps", None, at, {"reps": [r.id for r in self._state.reps]})

    def snapshot(self) -> PoolState:
        with self._lock:
            return self._state

    def load(self, state: PoolState) -> None:
        with self._lock:
            self._state = build(PoolState, **{k: getattr(state, k) for k in PoolState.model_fields})
            data = {"revision": state.revision, "open": len(state.open_leads)}
            self._log("load", None, state.as_of or _EPOCH, data)

    def audit(
        self,
        *,
        lead_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        kind: str | None = None,
    ) -> list[AuditRow]:
        with self._lock:
            return [
                r
                for r in self._rows
                if (lead_id is None or r.lead_id == lead_id)
                and (since is None or r.at >= since)
                and (until is None or r.at < until)
                and (kind is None or r.kind == kind)
            ]
