"""Building the audit: decision records, steps, shared trial records, and the lab's tallies.

The pipeline hands the recorder what happened (candidates in and out, drops,
picks); the recorder turns it into :class:`~leadroute.audit.Step`,
:class:`~leadroute.audit.RuleTrial` and :class:`~leadroute.audit.Decision`
records, sharing the frozen records that are the same for many leads. Without
a recorded audit (``record=False``) it only counts drops for the policy lab.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any

from leadroute.audit import Decision, Drop, RuleTrial, Step
from leadroute.fast import assemble, build
from leadroute.hashing import canonical_json
from leadroute.models import Rep
from leadroute.strategies.base import Pick, Selector, Strategy
from leadroute.strategies.selectors import (
    AssignTo,
    LeastLoaded,
    ManualReview,
    RandomPick,
    RoundRobin,
    Weighted,
)

__all__ = [
    "CAP_CODES",
    "PLAIN_RATIONALE",
    "Recorder",
    "decision_id",
    "jsonable",
    "plain",
]

#: Drop codes of the capacity caps (counted per rep by the policy lab).
CAP_CODES = frozenset({"capacity", "daily_cap", "period_cap"})


def decision_id(policy_revision: str, lead_id: str, state_revision: int) -> str:
    """The stable id of a decision: a hash of policy revision, lead id and state revision."""
    text = f"{policy_revision}\x1f{lead_id}\x1f{state_revision}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


_FILTER_STEP_SET = {
    "path",
    "strategy",
    "kind",
    "candidates_in",
    "candidates_out",
    "dropped",
    "unlisted",
}
_SELECTOR_STEP_SET = {
    "path",
    "strategy",
    "kind",
    "candidates_in",
    "candidates_out",
    "picked",
    "rationale",
}
_DECISION_SET = set(Decision.model_fields)


class Recorder:
    """The audit records of one call (and, without them, the lab's drop tallies)."""

    def __init__(self, record: bool, reprs: Mapping[int, str]) -> None:
        self.record = record
        self.drop_counts: dict[str, int] = {}
        #: capacity drops per rep id (kept without the audit, for the policy lab)
        self.cap_hits_by_rep: dict[str, int] = {}
        #: shared trial records without lead-specific detail, each in a one-trial tuple
        self.trials: dict[tuple[str, str], tuple[RuleTrial]] = {}
        self.plain_steps: dict[tuple[str, int, int, int, int], Step] = {}
        self.reprs = reprs

    def decision(self, values: dict[str, Any]) -> Decision:
        """A decision record from all of its fields (not validated: the engine built them)."""
        return assemble(Decision, values, _DECISION_SET)

    def tally(self, drops: list[Drop]) -> None:
        """Count ``drops`` by code, and capacity drops by rep (for the policy lab)."""
        for d in drops:
            self.drop_counts[d.code] = self.drop_counts.get(d.code, 0) + 1
            if d.code in CAP_CODES:
                self.cap_hits_by_rep[d.rep_id] = self.cap_hits_by_rep.get(d.rep_id, 0) + 1

    def trials_tuple(self, trials: list[RuleTrial]) -> tuple[RuleTrial, ...]:
        """The decision's trials; the shared one-trial tuple when only a shared record is in it."""
        if len(trials) == 1:
            shared = self.trials.get((trials[0].rule_id, trials[0].result))
            if shared is not None and shared[0] is trials[0]:
                return shared
        return tuple(trials)

    def trial(self, rule_id: str, result: str, detail: str = "") -> RuleTrial:
        """Shared (immutable) trial records for the outcomes without lead-specific detail."""
        key = (rule_id, result)
        shared = self.trials.get(key)
        if shared is None:
            shared = self.trials[key] = (
                build(RuleTrial, rule_id=rule_id, result=result, detail=detail),
            )
        return shared[0]

    def excluded_step(
        self, rule_id: str, cands: list[Rep], kept: list[Rep], excluded: frozenset[str]
    ) -> Step:
        """The step listing the reps excluded for this lead (previous owners, cooldowns)."""
        drops = [
            build(Drop, rep_id=r.id, code="excluded", detail="excluded for this lead", figures={})
            for r in cands
            if r.id in excluded
        ]
        return build(
            Step,
            path=f"{rule_id}:excluded",
            strategy="Excluded",
            kind="filter",
            candidates_in=len(cands),
            candidates_out=len(kept),
            dropped=tuple(drops),
        )

    def filter_step(
        self,
        path: str,
        flt: Strategy,
        cands: list[Rep],
        kept: list[Rep],
        drops: list[Drop],
        unlisted: int,
        note: str | None = None,
    ) -> Step:
        """A filter's step record."""
        key: tuple[str, int, int, int, int] | None = None
        if not drops and note is None:
            # a step without drops or note is the same record for every lead with the same
            # counts: one shared (frozen) instance instead of one per lead
            key = (path, id(flt), len(cands), len(kept), unlisted)
            found = self.plain_steps.get(key)
            if found is not None:
                return found
        values = {
            "path": path,
            "strategy": self.reprs.get(id(flt)) or repr(flt),
            "kind": "filter",
            "candidates_in": len(cands),
            "candidates_out": len(kept),
            "dropped": tuple(drops) if drops else (),
            "unlisted": unlisted,
            "picked": None,
            "note": note,
            "rationale": None,
        }
        step = assemble(Step, values, _FILTER_STEP_SET)
        if key is not None:
            self.plain_steps[key] = step
        return step

    def selector_step(
        self, path: str, sel: Selector, cands: list[Rep], pick: Pick | None, builtin: bool
    ) -> Step:
        """A selector's step record (its rationale copied to JSON data if it is not already)."""
        picked = None if pick is None or pick.rep is None else pick.rep.id
        values = {
            "path": path,
            "strategy": self.reprs.get(id(sel)) or repr(sel),
            "kind": "selector",
            "candidates_in": len(cands),
            "candidates_out": 0 if picked is None else 1,
            "dropped": (),
            "unlisted": 0,
            "picked": picked,
            "note": None if pick is None else (pick.reason if pick.review else None),
            "rationale": None
            if pick is None
            else (pick.rationale if builtin or plain(pick.rationale) else jsonable(pick.rationale)),
        }
        return assemble(Step, values, _SELECTOR_STEP_SET)

    def combinator_step(
        self,
        path: str,
        strategy: str,
        kind: str,
        n_in: int,
        n_out: int,
        dropped: tuple[Drop, ...],
        unlisted: int,
        note: str | None,
    ) -> Step:
        """A step a combinator records itself (``Runner.record``): a note, a band, a fallback."""
        return build(
            Step,
            path=path,
            strategy=strategy,
            kind=kind,
            candidates_in=n_in,
            candidates_out=n_out,
            dropped=dropped,
            unlisted=unlisted,
            note=note,
        )


#: Built-in selectors whose rationale is JSON data by construction.
PLAIN_RATIONALE: frozenset[type] = frozenset(
    {RoundRobin, Weighted, RandomPick, LeastLoaded, AssignTo, ManualReview}
)


def plain(value: Any) -> bool:
    """Whether ``value`` is already JSON data (so it needs no copy)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    return False


def jsonable(value: Any) -> Any:
    """``value`` as JSON data (objects as their canonical JSON, anything else as text)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if dataclasses.is_dataclass(value) or hasattr(value, "model_dump"):
        return canonical_json(value)
    return str(value)
