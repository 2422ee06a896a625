"""The audit trail: one :class:`Decision` per routed lead.

Modelled on a policy engine's decision log: a stable id, the policy revision,
the decision time from the injected clock, every rule tried, every step of
the chosen route with candidate counts in and out, each dropped rep with a
reason code and the figures behind it, the selector's rationale, and the
outcome.

Reason codes for dropped reps: ``territory``, ``distance``, ``industry``,
``skill``, ``language``, ``capacity``, ``daily_cap``, ``period_cap``,
``tier``, ``roster``, ``team``, ``inactive``, ``paused``, ``away``,
``off_hours``, ``excluded``, ``cooldown``, ``zero_weight``, ``custom``.

Reasons for a lead left unassigned: ``no_rule_matched``, ``no_eligible_rep``,
``manual_review``, plus any reason a strategy gives.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field, JsonValue

from leadroute.models import FrozenModel, Lead, Rep

__all__ = [
    "Decision",
    "DecisionInputs",
    "Drop",
    "ReplayResult",
    "RuleTrial",
    "Step",
]

Outcome = Literal["assigned", "pool", "manual_review"]


class Drop(FrozenModel):
    """A rep removed by a filter, why, and the figures behind it.

    .. versionadded:: 0.1.0
    """

    rep_id: str
    code: str
    detail: str
    figures: dict[str, JsonValue] = Field(default_factory=dict)


class Step(FrozenModel):
    """One strategy consulted while routing a lead.

    ``dropped`` lists the reps removed by this step. Steps answered from an
    index over the whole roster (territory, industry, skill, language) do not
    list the reps they excluded; ``unlisted`` counts them and
    :meth:`leadroute.RoutingResult.explain` re-checks a named rep on demand.

    .. versionadded:: 0.1.0
    """

    path: str
    strategy: str
    kind: Literal["filter", "selector", "fallback", "tier", "note"]
    candidates_in: int
    candidates_out: int
    dropped: tuple[Drop, ...] = ()
    unlisted: int = 0
    picked: str | None = None
    note: str | None = None
    rationale: dict[str, JsonValue] | None = None


class RuleTrial(FrozenModel):
    """A rule the router tried for a lead and what came of it.

    ``result`` is ``not_matched`` (with ``detail`` saying why), ``routed``, or
    ``empty`` (matched but its route found nobody).

    .. versionadded:: 0.1.0
    """

    rule_id: str
    result: Literal["not_matched", "routed", "empty", "manual_review"]
    detail: str = ""


def _empty(value: object) -> bool:
    return not value


class DecisionInputs(FrozenModel):
    """What one decision read: enough to replay it alone (:meth:`leadroute.Router.replay`).

    ``call`` identifies the routing call (a hash of its kind, the policy and
    state revisions, ``now`` and the leads in processing order) and ``seq``
    the decision's place in it; together with the lead id they make the
    decision id. ``roster`` counts the reps of the state; ``positions`` gives
    the place in it of every rep in ``reps``, the reps the route looked at
    one by one; ``out`` gives the reason (``paused``, ``inactive``) and place
    of each rep the roster step took out; ``loads`` (open leads) and ``days`` (leads per local day)
    the counters of the reps read, as they stood before this lead;
    ``turns``, ``last_served`` and ``credits`` the rotation memory read, by
    selector path (for its candidates); ``owners`` and ``names`` the account
    lookups; ``index`` how many reps each index-answered step kept, by route
    path, and ``index_reps`` which of them are in ``reps`` (the others were
    never looked at one by one). ``learned`` holds the figures strategies
    learned from more than the counters hold (a fit of the closed-lead
    history: :meth:`RouteContext.learned <leadroute.context.RouteContext.learned>`),
    by route path and name; it is left out of the JSON when empty. The fields
    are plain numbers, texts and tables of them, so a decision costs few
    objects.

    .. versionadded:: 0.2.0
    .. versionchanged:: 0.2.0 ``learned``.
    """

    call: str
    seq: int
    made_by: Literal["assign", "reclaim", "transfer"] = "assign"
    lead: Lead
    excluded: tuple[str, ...] = ()
    roster: int = 0
    positions: dict[str, int] = Field(default_factory=dict)
    reps: tuple[Rep, ...] = ()
    out: dict[str, tuple[Literal["paused", "inactive"], int]] = Field(default_factory=dict)
    loads: dict[str, int] = Field(default_factory=dict)
    days: dict[str, dict[str, int]] = Field(default_factory=dict)
    turns: dict[str, int] = Field(default_factory=dict)
    last_served: dict[str, dict[str, int]] = Field(default_factory=dict)
    credits: dict[str, dict[str, float]] = Field(default_factory=dict)
    owners: dict[str, str | None] = Field(default_factory=dict)
    names: dict[str, str | None] = Field(default_factory=dict)
    index: dict[str, int] = Field(default_factory=dict)
    index_reps: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    #: left out of the JSON when empty, so records of routes that learned nothing are as before
    learned: dict[str, dict[str, JsonValue]] = Field(default_factory=dict, exclude_if=_empty)


class Decision(FrozenModel):
    """The audit record of one lead's routing.

    ``inputs`` holds what the route read (``audit="full"`` only), so the
    decision can be replayed from this record alone.

    .. versionchanged:: 0.2.0
       ``decision_id`` is unique per decision (it includes the call and the
       decision's place in it); the ``inputs`` field.

    .. versionadded:: 0.1.0
    """

    decision_id: str
    lead_id: str
    at: AwareDatetime
    policy_revision: str
    state_revision: int
    seed: int
    rules: tuple[RuleTrial, ...] = ()
    rule_id: str | None = None
    steps: tuple[Step, ...] = ()
    outcome: Outcome
    rep_id: str | None = None
    reason: str
    facts: dict[str, JsonValue] = Field(default_factory=dict)
    inputs: DecisionInputs | None = None

    def explain(self) -> str:
        """A short human text of why the lead went where it went."""
        if self.outcome == "assigned":
            head = f"Lead {self.lead_id} -> {self.rep_id}"
        elif self.outcome == "manual_review":
            head = f"Lead {self.lead_id} -> manual review ({self.reason})"
        else:
            head = f"Lead {self.lead_id} stays in the pool ({self.reason})"
        lines = [f"{head} [decision {self.decision_id}, policy {self.policy_revision}]"]
        for trial in self.rules:
            if trial.result == "not_matched":
                lines.append(f"  rule {trial.rule_id!r} did not match: {trial.detail}")
            elif trial.result == "empty":
                lines.append(f"  rule {trial.rule_id!r} matched but found nobody: {trial.detail}")
            else:
                lines.append(f"  rule {trial.rule_id!r} matched")
        for key, value in self.facts.items():
            if key.endswith("_factors") and isinstance(value, dict):
                parts = [
                    f"{name} {v.get('contribution', 0):g} ({v.get('value')!s} -> {v.get('points', 0):g} pts"
                    f" x {v.get('weight', 0):g})"
                    for name, v in value.items()
                    if isinstance(v, dict)
                ]
                lines.append(f"  {key[: -len('_factors')]} = " + " + ".join(parts))
            else:
                lines.append(f"  {key}: {_short(value)}")
        for step in self.steps:
            lines.append("  " + _step_line(step))
        return "\n".join(lines)


class ReplayResult(FrozenModel):
    """What :meth:`leadroute.Router.replay` found: the same decision, or what differs.

    ``identical`` is true when the replayed decision's JSON is byte-identical
    to the recorded one; ``differences`` then is empty, else it names each
    place (``steps[2].candidates_out: recorded 3, replayed 2``) or why the
    decision cannot be replayed (no inputs recorded, another policy).

    .. versionadded:: 0.2.0
    """

    decision_id: str
    lead_id: str
    identical: bool
    differences: tuple[str, ...] = ()
    replayed: Decision | None = None

    def explain(self) -> str:
        """A short text: ``identical`` or the differences, one per line."""
        head = f"decision {self.decision_id} (lead {self.lead_id})"
        if self.identical:
            return f"{head} replays identically from its record"
        return f"{head} differs on replay:\n  " + "\n  ".join(self.differences)


def _short(value: JsonValue, limit: int = 160) -> str:
    text = _readable(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _readable(value: JsonValue) -> str:
    """A fact as text: a table as ``key value, ...``, a list joined by commas, numbers with ``:g``."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {_readable(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_readable(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _step_line(step: Step) -> str:
    if step.kind == "selector":
        why = _short(step.rationale.get("why", "")) if step.rationale else ""
        who = step.picked if step.picked is not None else "nobody"
        text = f"{step.strategy}: {_plural(step.candidates_in, 'candidate')} -> {who}" + (
            f" ({why})" if why else ""
        )
        table = step.rationale.get("candidates") if step.rationale else None
        if isinstance(table, dict):
            for rep_id, comp in list(table.items())[:3]:
                if isinstance(comp, dict):
                    figures = ", ".join(
                        f"{k} {v:.3f}" for k, v in comp.items() if isinstance(v, (int, float))
                    )
                    text += f"\n      {rep_id}: {figures}"
        return text
    if step.kind == "note":
        return f"{step.strategy}: {step.note}"
    text = f"{step.strategy}: {step.candidates_in} -> {step.candidates_out}"
    parts = [f"{d.rep_id}: {d.detail}" for d in step.dropped[:3]]
    more = max(len(step.dropped) - 3, 0) + step.unlisted
    if more > 0:
        parts.append(f"{more} more dropped")
    if parts:
        text += " (" + "; ".join(parts) + ")"
    if step.note:
        text += f" [{step.note}]"
    return text
