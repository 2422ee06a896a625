"""What ``Router.assign`` returns: assignments, the next state, the audit.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import PrivateAttr

from leadroute.audit import Decision, Drop, Outcome, Step
from leadroute.context import RouteContext
from leadroute.exceptions import InputError, UnknownLeadError
from leadroute.fast import assemble
from leadroute.models import FrozenModel, Lead
from leadroute.state import PoolState
from leadroute.strategies.base import Combinator, Filter

if TYPE_CHECKING:
    from leadroute.policy import Policy

__all__ = ["Assignment", "RoutingResult"]



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


def assignment_of(
    lead_id: str, rep_id: str | None, rule_id: str | None, outcome: str, reason: str
) -> Assignment:
    """An assignment from values the engine computed (not validated again)."""
    values = {
        "lead_id": lead_id,
        "rep_id": rep_id,
        "rule_id": rule_id,
        "outcome": outcome,
        "reason": reason,
    }
    return assemble(Assignment, values, _ASSIGNMENT_SET)


def assignments_of(decisions: Iterable[Decision]) -> tuple[Assignment, ...]:
    """The assignment each decision made, in the same order."""
    return tuple(
        assignment_of(d.lead_id, d.rep_id, d.rule_id, d.outcome, d.reason) for d in decisions
    )


class Records(Protocol):
    """What builds a routing result's records when they are first read (the engine's).

    .. versionadded:: 0.2.0
    """

    def assignments(self) -> tuple[Assignment, ...]:
        """The assignments, in input order."""
        ...

    def audit(self) -> tuple[Decision, ...]:
        """The decision records, in input order."""
        ...


class RoutingResult(FrozenModel):
    """Assignments (input order), the next :class:`~leadroute.PoolState`, the audit.

    .. versionadded:: 0.1.0
    """

    assignments: tuple[Assignment, ...] = ()
    state: PoolState
    audit: tuple[Decision, ...] = ()

    _policy: Policy | None = PrivateAttr(default=None)
    _before: PoolState | None = PrivateAttr(default=None)

    _drop_counts: dict[str, int] = PrivateAttr(default_factory=dict)
    #: builds the assignments and the audit on first read (see :meth:`_pending`)
    _make: Records | None = PrivateAttr(default=None)

    def _bind(
        self,
        policy: Policy,
        before: PoolState,
        drop_counts: dict[str, int] | None = None,
        make: Records | None = None,
    ) -> None:
        object.__setattr__(
            self,
            "__pydantic_private__",
            {
                "_policy": policy,
                "_before": before,
                "_drop_counts": drop_counts or {},
                "_make": make,
            },
        )

    @classmethod
    def _pending(cls, state: PoolState) -> RoutingResult:
        """A result whose assignments and audit records are built when first read.

        The engine keeps compact per-lead records while routing; the pydantic
        records (and each decision's inputs) are made from them (the
        :class:`Records` given to :meth:`_bind`) only when the caller reads
        them. Every way of reading the result (attributes, dumps, equality,
        copies, pickling) builds them first.
        """
        obj = cls.__new__(cls)
        object.__setattr__(obj, "__dict__", {"state": state})
        object.__setattr__(obj, "__pydantic_fields_set__", {"assignments", "state", "audit"})
        object.__setattr__(obj, "__pydantic_extra__", None)
        object.__setattr__(obj, "__pydantic_private__", None)
        return obj

    def _records(self) -> Records:
        private = self.__pydantic_private__ or {}
        make = private.get("_make")
        if make is None:  # pragma: no cover - a pending result is always bound
            msg = "a pending RoutingResult was never bound"
            raise RuntimeError(msg)
        return make  # type: ignore[no-any-return]

    def _settle(self) -> None:
        """Build the pending records (once), the fields in their declared order."""
        values = self.__dict__
        if "audit" in values:
            return
        make = self._records()
        assignments = values.get("assignments") or make.assignments()
        audit = make.audit()
        object.__setattr__(
            self,
            "__dict__",
            {"assignments": assignments, "state": values["state"], "audit": audit},
        )
        assert self.__pydantic_private__ is not None
        self.__pydantic_private__["_make"] = None

    def __getattr__(self, item: str) -> Any:
        values = self.__dict__
        if item == "assignments" and "state" in values:
            found = values["assignments"] = self._records().assignments()
            return found
        if item == "audit" and "state" in values:
            self._settle()
            return self.__dict__["audit"]
        return super().__getattr__(item)  # type: ignore[misc]

    def __eq__(self, other: object) -> bool:
        self._settle()
        if isinstance(other, RoutingResult):
            other._settle()
        return super().__eq__(other)

    def __hash__(self) -> int:
        self._settle()
        return super().__hash__()

    def __repr_args__(self) -> Any:
        self._settle()
        return super().__repr_args__()

    def __iter__(self) -> Any:
        self._settle()
        return super().__iter__()

    def __getstate__(self) -> dict[Any, Any]:
        self._settle()
        return super().__getstate__()

    def __copy__(self) -> RoutingResult:
        self._settle()
        return super().__copy__()

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> RoutingResult:
        self._settle()
        return super().__deepcopy__(memo)

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        """As :meth:`pydantic.BaseModel.model_dump` (the records are built first)."""
        self._settle()
        return super().model_dump(**kwargs)

    def model_dump_json(self, **kwargs: Any) -> str:
        """As :meth:`pydantic.BaseModel.model_dump_json` (the records are built first)."""
        self._settle()
        return super().model_dump_json(**kwargs)

    def model_copy(self, **kwargs: Any) -> RoutingResult:
        """As :meth:`pydantic.BaseModel.model_copy` (the records are built first)."""
        self._settle()
        return super().model_copy(**kwargs)

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
        beyond ``Router.max_drops``) are re-checked against the policy; when
        that cannot establish the answer this raises
        :class:`~leadroute.exceptions.InputError` rather than guess.
        """
        decision = self.decision(lead_id)
        if rep_id is None:
            return decision.explain()
        return explain_rep(decision, rep_id, self.state, self._policy, self._before)


def explain_rep(
    decision: Decision,
    rep_id: str,
    after: PoolState,
    router: Policy | None,
    before: PoolState | None,
    *,
    lead: Lead | None = None,
) -> str:
    """Why ``rep_id`` did not get the lead of ``decision`` (or why it did).

    ``before`` is the state the decision was made on and ``lead`` the lead
    (looked up in ``after`` when not given). A rep that a step excluded
    without listing it is re-checked against them; when that is not possible
    (no lead, no router, no state, or a step that cannot be re-checked) this
    raises :class:`~leadroute.exceptions.InputError` rather than guess.
    """
    lead_id = decision.lead_id
    if decision.rep_id == rep_id:
        return f"{rep_id} got lead {lead_id}: " + _selector_why(decision.steps)
    rep = after.rep(rep_id)
    head = f"{rep_id} did not get lead {lead_id}"
    if not rep.active or rep.paused:
        code = "inactive" if not rep.active else "paused"
        where = next((s for s in decision.steps if s.strategy == "Roster"), None)
        at = f" (dropped by Roster at {where.path} [{code}])" if where is not None else ""
        return f"{head}: the rep is {code}, so never a candidate{at}"
    if not decision.steps:
        return f"{head}: no route ran ({decision.reason})"
    lines: list[str] = []
    for step in decision.steps:
        for drop in step.dropped:
            if drop.rep_id == rep_id:
                lines.append(_drop_line(step, drop))
    if not lines:
        if lead is None and decision.inputs is not None:
            lead = decision.inputs.lead
        if lead is None:
            lead = _find_lead(after, lead_id)
        unknown: list[Step] = []
        for step in decision.steps:
            if not step.unlisted:
                continue
            if lead is None or router is None or before is None:
                unknown.append(step)
                continue
            checked, found = _recheck(step, rep, lead, decision, router, before)
            if found is not None:
                lines.append(_drop_line(step, found) + " (re-checked)")
            elif not checked:
                unknown.append(step)
        if unknown and not lines:
            step = unknown[0]
            need = [
                name
                for name, value in (
                    ("the lead", lead),
                    ("the rules", router),
                    ("the state", before),
                )
                if value is None
            ]
            why = (
                f"re-checking needs {', '.join(need)}" if need else "that step cannot be re-checked"
            )
            msg = (
                f"cannot tell why {rep_id} did not get lead {lead_id}: {step.strategy} at "
                f"{step.path} excluded {step.unlisted} reps without listing them, and {why}"
            )
            raise InputError(msg, lead_ids=[lead_id], rep_ids=[rep_id])
    if lines:
        return f"{head}:\n  " + "\n  ".join(lines)
    figures = rep_figures(decision, rep_id)
    tail = f"\n  {rep_id}: {figures}" if figures else ""
    if decision.outcome == "assigned":
        return (
            f"{head}: {rep_id} passed the filters, but the selector chose "
            f"{decision.rep_id}: {_selector_why(decision.steps)}{tail}"
        )
    return (
        f"{head}: {rep_id} was not excluded by a listed step; outcome {decision.outcome} "
        f"({decision.reason}){tail}"
    )


def _drop_line(step: Step, drop: Drop) -> str:
    text = f"dropped by {step.strategy} at {step.path} [{drop.code}]: {drop.detail}"
    if drop.figures:
        text += f" ({_figures(drop.figures)})"
    return text


def _figures(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {_figure(v)}" for k, v in values.items())


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ", ".join(_figure(v) for v in value) + "]"
    return str(value)


def rep_figures(decision: Decision, rep_id: str) -> str:
    """The figures a decision holds for ``rep_id`` at its selector: the selector's table
    (scores, fit components, loads, credits) and, from the decision's inputs, the rep's
    counters and rotation memory as the route read them. Empty when it holds none.

    .. versionadded:: 0.2.0
    """
    parts: list[str] = []
    selector: Step | None = None
    for step in reversed(decision.steps):
        if step.kind == "selector":
            selector = step
            break
    rationale = selector.rationale if selector is not None else None
    if rationale:
        table = rationale.get("candidates")
        if isinstance(table, dict) and isinstance(table.get(rep_id), dict):
            parts.append(_figures(table[rep_id]))  # type: ignore[arg-type]
        more = rationale.get("more")
        if isinstance(more, dict):
            rows, columns = more.get("rows"), more.get("columns")
            if isinstance(rows, dict) and isinstance(columns, list):
                row = rows.get(rep_id)
                if isinstance(row, list):
                    parts.append(_figures(dict(zip((str(c) for c in columns), row, strict=False))))
        for key, label in (("loads", "load"), ("credits_after", "credit after")):
            values = rationale.get(key)
            if isinstance(values, dict) and rep_id in values:
                parts.append(f"{label} {values[rep_id]}")
    inputs = decision.inputs
    if inputs is not None:
        if rep_id in inputs.loads or rep_id in inputs.days:
            parts.append(f"open {inputs.loads.get(rep_id, 0)}")
        path = selector.path if selector is not None else None
        turn = inputs.turns.get(path) if path is not None else None
        if path is not None and turn is not None:
            served = inputs.last_served.get(path, {}).get(rep_id)
            parts.append(
                f"last served at turn {served} (turn {turn})"
                if served is not None
                else f"never served at this selector (turn {turn})"
            )
            owed = inputs.credits.get(path, {})
            if rep_id in owed:
                parts.append(f"credit {owed[rep_id]:g}")
    return "; ".join(parts)


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
    step: Step, rep: Any, lead: Lead, decision: Decision, router: Policy, before: PoolState
) -> tuple[bool, Drop | None]:
    """(whether ``step`` could be re-checked for ``rep``, the drop it finds or None)."""
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
    owner = _combinator_of(router, step.path)
    if owner is not None:
        return owner[0].recheck(owner[1], lead, rep, ctx)
    try:
        strategy = router.strategy_at(step.path)
    except KeyError:
        return False, None
    if isinstance(strategy, Filter) and not isinstance(strategy, Combinator):
        drop = strategy.check(lead, rep, ctx)
        # a filter on counters (caps) is re-checked against the state before the batch;
        # counters only grow within a batch, so a drop then is a drop at the decision,
        # but a pass then may not be one
        return strategy.indexable or drop is not None, drop
    return False, None


def _combinator_of(router: Policy, path: str) -> tuple[Combinator, str] | None:
    """The combinator that recorded the step at ``path`` itself, and the path's suffix below it.

    ``None`` when the step is a strategy's own (a filter at its path).
    """
    try:
        found = router.strategy_at(path)
    except KeyError:
        found = None
    if found is not None and not isinstance(found, Combinator):
        return None
    cut = len(path)
    while cut > 0:
        head = path[:cut]
        try:
            node = router.strategy_at(head)
        except KeyError:
            node = None
        if isinstance(node, Combinator):
            return node, path[cut:]
        cut = max(path.rfind(".", 0, cut), path.rfind("[", 0, cut))
    return None
