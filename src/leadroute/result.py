"""What ``Router.assign`` returns: assignments, the next state, the audit.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import PrivateAttr

from leadroute.audit import Decision, Drop, Outcome, Step
from leadroute.context import RouteContext
from leadroute.exceptions import UnknownLeadError
from leadroute.fast import assemble
from leadroute.models import FrozenModel, Lead
from leadroute.state import PoolState
from leadroute.strategies.base import Filter
from leadroute.strategies.tiers import ValueTier

if TYPE_CHECKING:
    from leadroute.router import Router

__all__ = ["Assignment", "RoutingResult"]

_BAND = re.compile(r"^(.*)\.bands\[(\d+)\]$")


class Assignment(FrozenModel):
    """Where one lead went.

    ``outcome`` is ``assigned`` (``rep_id`` set), ``pool`` or
    ``manual_review``; ``reason`` is machine-readable (``routed``,
    ``no_rule_matched``, ``no_eligible_rep``, ``manual_review``, or a
    strategy's own reason).

    .. versionadded:: 0.1.0
    """

    lead_id: str
    rep_id: str | None = None
    rule_id: str | None = None
    outcome: Outcome
    reason: str


_ASSIGNMENT_SET = set(Assignment.model_fields)


def assignments_of(decisions: Iterable[Decision]) -> tuple[Assignment, ...]:
    """The assignment each decision made, in the same order."""
    return tuple(
        assemble(
            Assignment,
            {
                "lead_id": d.lead_id,
                "rep_id": d.rep_id,
                "rule_id": d.rule_id,
                "outcome": d.outcome,
                "reason": d.reason,
            },
            _ASSIGNMENT_SET,
        )
        for d in decisions
    )


class RoutingResult(FrozenModel):
    """Assignments (input order), the next :class:`~leadroute.PoolState`, the audit.

    .. versionadded:: 0.1.0
    """

    assignments: tuple[Assignment, ...] = ()
    state: PoolState
    audit: tuple[Decision, ...] = ()

    _router: Router | None = PrivateAttr(default=None)
    _before: PoolState | None = PrivateAttr(default=None)

    _drop_counts: dict[str, int] = PrivateAttr(default_factory=dict)

    def _bind(
        self, router: Router, before: PoolState, drop_counts: dict[str, int] | None = None
    ) -> None:
        object.__setattr__(
            self,
            "__pydantic_private__",
            {"_router": router, "_before": before, "_drop_counts": drop_counts or {}},
        )

    def decision(self, lead_id: str) -> Decision:
        """The audit record of ``lead_id``."""
        for d in self.audit:
            if d.lead_id == lead_id:
                return d
        msg = f"lead {lead_id!r} is not in this result"
        raise UnknownLeadError(msg, lead_ids=[lead_id])

    def assignment(self, lead_id: str) -> Assignment:
        """The assignment of ``lead_id``."""
        for a in self.assignments:
            if a.lead_id == lead_id:
                return a
        msg = f"lead {lead_id!r} is not in this result"
        raise UnknownLeadError(msg, lead_ids=[lead_id])

    def counts(self) -> dict[str, int]:
        """Leads assigned per rep in this result, by rep id."""
        out: dict[str, int] = {}
        for a in self.assignments:
            if a.rep_id is not None:
                out[a.rep_id] = out.get(a.rep_id, 0) + 1
        return dict(sorted(out.items()))

    def explain(self, lead_id: str, rep_id: str | None = None) -> str:
        """Why ``lead_id`` went where it went, or why ``rep_id`` did not get it.

        Reps a step excluded without listing them (index-answered filters, or
        beyond ``Router.max_drops``) are re-checked against the policy.
        """
        decision = self.decision(lead_id)
        if rep_id is None:
            return decision.explain()
        return explain_rep(decision, rep_id, self.state, self._router, self._before)


def explain_rep(
    decision: Decision,
    rep_id: str,
    after: PoolState,
    router: Router | None,
    before: PoolState | None,
) -> str:
    """Why ``rep_id`` did not get the lead of ``decision`` (or why it did)."""
    lead_id = decision.lead_id
    if decision.rep_id == rep_id:
        return f"{rep_id} got lead {lead_id}: " + _selector_why(decision.steps)
    rep = after.rep(rep_id)
    head = f"{rep_id} did not get lead {lead_id}"
    if not rep.active:
        return f"{head}: the rep is inactive, so never a candidate"
    if rep.paused:
        return f"{head}: the rep is paused, so never a candidate"
    if not decision.steps:
        return f"{head}: no route ran ({decision.reason})"
    lines: list[str] = []
    for step in decision.steps:
        for drop in step.dropped:
            if drop.rep_id == rep_id:
                lines.append(_drop_line(step, drop))
    if not lines:
        lead = _find_lead(after, lead_id)
        for step in decision.steps:
            if step.unlisted and lead is not None and router is not None and before is not None:
                found = _recheck(step, rep, lead, decision, router, before)
                if found is not None:
                    lines.append(_drop_line(step, found) + " (re-checked)")
    if lines:
        return f"{head}:\n  " + "\n  ".join(lines)
    if decision.outcome == "assigned":
        return (
            f"{head}: {rep_id} passed the filters, but the selector chose "
            f"{decision.rep_id}: {_selector_why(decision.steps)}"
        )
    return f"{head}: {rep_id} was not excluded by a listed step; outcome {decision.outcome} ({decision.reason})"


def _drop_line(step: Step, drop: Drop) -> str:
    return f"dropped by {step.strategy} at {step.path} [{drop.code}]: {drop.detail}"


def _selector_why(steps: tuple[Step, ...]) -> str:
    for step in reversed(steps):
        if step.kind == "selector" and step.picked is not None and step.rationale:
            return str(step.rationale.get("why", ""))
    return ""


def _find_lead(state: PoolState, lead_id: str) -> Lead | None:
    rec = state.open_leads.get(lead_id)
    if rec is not None:
        return rec.lead
    pooled = state.pool.get(lead_id)
    return None if pooled is None else pooled.lead


def _recheck(
    step: Step, rep: Any, lead: Lead, decision: Decision, router: Router, before: PoolState
) -> Drop | None:
    ctx = RouteContext(
        state=before,
        seed=router.seed,
        open_counts={k: v.open for k, v in before.loads.items()},
        days={k: v.days for k, v in before.loads.items()},
        rotations={},
        owners=dict(before.owners),
        order={r.id: i for i, r in enumerate(before.reps)},
        accounts=router.accounts,
    )
    ctx._begin(lead, decision.at, frozenset())
    ctx.lead_facts = dict(decision.facts)
    band = _BAND.match(step.path)
    if band is not None:
        tier = router.strategy_at(band.group(1))
        if isinstance(tier, ValueTier):
            b = tier.bands[int(band.group(2))]
            value = tier.value_of(lead, ctx)
            if not b.admits(rep) and value is not None:
                return tier.band_drop(rep, b, value)
        return None
    try:
        strategy = router.strategy_at(step.path)
    except KeyError:
        return None
    if isinstance(strategy, Filter) and not isinstance(strategy, ValueTier):
        return strategy.check(lead, rep, ctx)
    return None
