"""Replayable decisions: unique ids, the record of what a route read, Router.replay."""

from __future__ import annotations

import io
import json
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadroute import (
    Capacity,
    ClosedLead,
    Decision,
    Lead,
    PoolState,
    ReclaimPolicy,
    Rep,
    Router,
    Rule,
)
from leadroute.cli import main
from leadroute.engine import ReplayPlan
from leadroute.ownership import OwnershipPolicy, transfer_accounts
from leadroute.strategies import BestFit, CapacityCap, Geo, RoundRobin
from leadroute.testing import EPOCH, lead_batches, pool_states, routers, routes

SETTINGS = settings(
    max_examples=int(os.environ.get("LEADROUTE_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@SETTINGS
@given(
    routers(max_drops=st.integers(0, 3) | st.just(50)),
    pool_states(),
    lead_batches(max_size=15),
    lead_batches(max_size=15),
)
def test_every_decision_replays_from_its_record(
    router: Router, state: PoolState, first: list[Lead], second: list[Lead]
) -> None:
    """Over two chained calls, every decision replays byte-identically from its record alone."""
    one = router.assign(state, first)
    later = [b.model_copy(update={"id": f"{b.id}b"}) for b in second]
    two = router.assign(one.state, later, now=max((b.created_at for b in later), default=None))
    for decision in (*one.audit, *two.audit):
        found = router.replay(decision)
        assert found.identical, found.explain()


LEARNED_SETTINGS = settings(
    max_examples=int(os.environ.get("LEADROUTE_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@LEARNED_SETTINGS
@given(
    routers(route=routes(scoring=True), count=st.integers(1, 2)),
    pool_states(min_history=5, max_history=30),
    lead_batches(max_size=8),
    lead_batches(max_size=8),
)
def test_every_learned_decision_replays_from_its_record(
    router: Router, state: PoolState, first: list[Lead], second: list[Lead]
) -> None:
    """With BestFit learning from the history and scorecards, every decision of two chained
    calls replays byte-identically from its record alone, also after a JSON round trip."""
    one = router.assign(state, first)
    later = [b.model_copy(update={"id": f"{b.id}b"}) for b in second]
    two = router.assign(one.state, later, now=max((b.created_at for b in later), default=None))
    for decision in (*one.audit, *two.audit):
        found = router.replay(Decision.model_validate_json(decision.model_dump_json()))
        assert found.identical, found.explain()


@LEARNED_SETTINGS
@given(
    routers(route=routes(scoring=True), count=st.integers(1, 2)),
    pool_states(min_history=5, max_history=30),
    lead_batches(max_size=8),
    st.sampled_from((timedelta(hours=3), timedelta(days=2))),
)
def test_every_learned_reclaim_decision_replays_from_its_record(
    router: Router, state: PoolState, batch: list[Lead], later: timedelta
) -> None:
    """SLA reassignments through routes that learn and score replay identically from their record."""
    first = router.assign(state, batch)
    now = max((d.at for d in first.audit), default=EPOCH) + later
    sweep = router.reclaim(first.state, now, ReclaimPolicy(first_touch=timedelta(hours=1)))
    for decision in sweep.audit:
        if decision.inputs is not None:
            found = router.replay(decision)
            assert found.identical, found.explain()


@SETTINGS
@given(routers(), pool_states(), lead_batches(max_size=15))
def test_decision_ids_are_unique(router: Router, state: PoolState, batch: list[Lead]) -> None:
    """No two decisions of a call, or of two calls on the same state, share an id."""
    one = router.assign(state, batch)
    two = router.assign(state, [b.model_copy(update={"id": f"{b.id}x"}) for b in batch])
    ids = [d.decision_id for d in (*one.audit, *two.audit)]
    assert len(ids) == len(set(ids))


@SETTINGS
@given(routers(), pool_states(), lead_batches(max_size=10))
def test_outcome_audit_keeps_the_same_decision_ids(
    router: Router, state: PoolState, batch: list[Lead]
) -> None:
    """audit='outcome' gives each decision the id the full audit gives it."""
    full = router.assign(state, batch)
    bare = router.assign(state, batch, audit="outcome")
    assert [d.decision_id for d in bare.audit] == [d.decision_id for d in full.audit]
    assert all(d.inputs is None for d in bare.audit)


def test_reclaim_ids_differ_from_assign_ids() -> None:
    """A reclaim reroute of a lead and its first assignment have different ids."""
    from leadroute.demo import sample_leads, sample_router, sample_state

    router = sample_router()
    first = router.assign(sample_state(), sample_leads(40))
    later = max(d.at for d in first.audit) + timedelta(days=3)
    sweep = router.reclaim(first.state, later, ReclaimPolicy(first_touch=timedelta(hours=1)))
    assert sweep.audit
    ids = [d.decision_id for d in (*first.audit, *sweep.audit)]
    assert len(ids) == len(set(ids))


T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _trio_router() -> Router:
    return Router(rules=[Rule(id="all", route=Geo() >> CapacityCap() >> RoundRobin())])


def _trio_state() -> PoolState:
    return PoolState(
        reps=(
            Rep(id="ann", territories=("CN",), capacity=Capacity(max_open=5)),
            Rep(id="bo", territories=("CN",), capacity=Capacity(max_open=5)),
            Rep(id="cy", territories=("CN",), paused=True),
            Rep(id="di", territories=("CN",), active=False),
            Rep(id="ed", territories=("US",)),
        )
    )


def _leads(n: int) -> list[Lead]:
    return [
        Lead(id=f"L{i}", created_at=T0 + timedelta(minutes=i), region="CN-BJ") for i in range(n)
    ]


def test_replay_names_the_field_that_differs() -> None:
    """A record whose counters were changed replays to another rep, and the replay says where."""
    router = _trio_router()
    d = router.assign(_trio_state(), _leads(1)).audit[0]
    assert d.inputs is not None
    assert d.rep_id == "ann"
    forged = d.model_copy(update={"inputs": d.inputs.model_copy(update={"loads": {"ann": 5}})})
    found = router.replay(forged)
    assert not found.identical
    assert "rep_id: recorded 'ann', replayed 'bo'" in found.differences


def test_replay_refuses_another_policy() -> None:
    """Replaying with rules other than those that made the decision names the revision."""
    d = _trio_router().assign(_trio_state(), _leads(1)).audit[0]
    other = Router(rules=[Rule(id="all", route=RoundRobin())])
    found = other.replay(d)
    assert not found.identical
    assert found.differences[0].startswith("policy_revision: recorded")


def test_outcome_audit_decision_cannot_replay() -> None:
    """A decision without inputs (audit='outcome') says it cannot be replayed alone."""
    router = _trio_router()
    d = router.assign(_trio_state(), _leads(1), audit="outcome").audit[0]
    found = router.replay(d)
    assert not found.identical
    assert "holds no inputs" in found.differences[0]


def test_replay_reads_only_the_record() -> None:
    """A decision of a 2,000-rep roster replays from a record holding only the reps it read."""
    reps = tuple(
        Rep(id=f"r{i:04d}", territories=("CN" if i % 100 == 0 else "US",)) for i in range(2000)
    )
    router = _trio_router()
    d = router.assign(PoolState(reps=reps), _leads(3)).audit[2]
    assert d.inputs is not None
    assert len(d.inputs.reps) == 20
    assert router.replay(d).identical


def test_roster_step_accounts_for_paused_and_inactive_reps() -> None:
    """The first step lists paused and inactive reps with reason codes; counts cover everyone."""
    d = _trio_router().assign(_trio_state(), _leads(1)).audit[0]
    step = d.steps[0]
    assert (step.strategy, step.candidates_in, step.candidates_out) == ("Roster", 5, 3)
    assert {(x.rep_id, x.code) for x in step.dropped} == {("cy", "paused"), ("di", "inactive")}


def test_roster_step_counts_beyond_max_drops() -> None:
    """With more reps out than max_drops, the rest are counted in unlisted."""
    router = Router(rules=[Rule(id="all", route=RoundRobin())], max_drops=1)
    step = router.assign(_trio_state(), _leads(1)).audit[0].steps[0]
    assert (len(step.dropped), step.unlisted) == (1, 1)


def test_explain_gives_figures_for_a_rep_not_chosen() -> None:
    """explain(lead, rep) for a candidate the selector passed over shows its figures."""
    router = _trio_router()
    result = router.assign(_trio_state(), _leads(2))
    text = result.explain("L1", "ann")
    assert "passed the filters, but the selector chose bo" in text
    assert "ann: open 1; last served at turn 0 (turn 1)" in text


def test_explain_a_paused_rep_names_the_roster_step() -> None:
    """explain(lead, rep) for a paused rep points at the roster step."""
    result = _trio_router().assign(_trio_state(), _leads(1))
    assert "dropped by Roster at all:roster [paused]" in result.explain("L0", "cy")


def test_bestfit_lists_every_candidate() -> None:
    """BestFit gives the components of all candidates, the ones beyond ten as a table."""
    reps = tuple(Rep(id=f"r{i:02d}", level=i % 4) for i in range(15))
    router = Router(rules=[Rule(id="all", route=BestFit())])
    d = router.assign(PoolState(reps=reps), _leads(1)).audit[0]
    rationale = d.steps[-1].rationale
    assert rationale is not None
    more = rationale["more"]
    assert isinstance(more, dict)
    assert isinstance(more["rows"], dict)
    assert len(rationale["candidates"]) + len(more["rows"]) == 15  # type: ignore[arg-type]
    assert more["columns"] == ["fit", "conversion", "response", "headroom", "level"]


def _history(n: int) -> tuple[ClosedLead, ...]:
    """``n`` closed leads of ann (mostly won) and bo (mostly lost), in one industry."""
    at = T0 - timedelta(days=30)
    return tuple(
        ClosedLead(
            lead=Lead(id=f"H{i}", created_at=at, region="CN-BJ", industry="retail"),
            rep_id="ann" if i % 2 else "bo",
            assigned_at=at,
            closed_at=at + timedelta(days=2),
            outcome="won" if (i % 2) == (i % 5 != 0) else "lost",
            first_activity_at=at + timedelta(hours=1 + i % 7),
        )
        for i in range(n)
    )


def _learned(
    model_kind: Literal["segment", "pooled", "logit"] = "segment", explore: bool = False
) -> tuple[Router, Decision]:
    """A BestFit decision whose pick the learned conversion made (ann, the better closer)."""
    fit = BestFit(
        weights={"conversion": 1.0}, min_history=10, model_kind=model_kind, explore=explore
    )
    router = Router(rules=[Rule(id="all", route=fit)])
    state = _trio_state().replace(history=_history(40))
    lead = _leads(1)[0].model_copy(update={"industry": "retail"})
    return router, router.assign(state, [lead]).audit[0]


def test_learned_bestfit_replays_without_the_history() -> None:
    """A pick made by the learned fit replays identically: the figures come from the record."""
    kinds: tuple[tuple[Literal["segment", "pooled", "logit"], bool], ...] = (
        ("segment", False),
        ("pooled", False),
        ("pooled", True),
        ("logit", True),
    )
    for kind, explore in kinds:
        router, d = _learned(kind, explore)
        assert d.inputs is not None
        assert d.inputs.learned["all:route"]["closed_history"] == 40
        learned = d.inputs.learned["all:route"]
        table = learned["conversion" if kind == "segment" else "estimates"]
        assert set(table) == {"ann", "bo", "ed"}  # type: ignore[arg-type]
        found = router.replay(d)
        assert found.identical, found.explain()


def test_learned_figures_are_recorded_only_with_the_full_audit() -> None:
    """Routes that learn nothing keep no learned figures; audit='outcome' keeps no inputs."""
    d = _trio_router().assign(_trio_state(), _leads(1)).audit[0]
    assert d.inputs is not None
    assert d.inputs.learned == {}
    assert '"learned"' not in d.model_dump_json()


def test_changed_learned_figure_shows_the_difference() -> None:
    """A record whose learned conversion was changed replays to another rep, and says where."""
    router, d = _learned()
    assert d.inputs is not None
    assert d.rep_id == "ann"
    learned = d.inputs.learned["all:route"]
    conversion = dict(learned["conversion"])  # type: ignore[arg-type]
    conversion["bo"] = 0.99
    changed = {"all:route": {**learned, "conversion": conversion}}
    forged = d.model_copy(update={"inputs": d.inputs.model_copy(update={"learned": changed})})
    found = router.replay(forged)
    assert not found.identical
    assert "rep_id: recorded 'ann', replayed 'bo'" in found.differences


def test_record_without_learned_figures_says_so() -> None:
    """A learned decision recorded without its figures (an older audit) names what is missing."""
    router, d = _learned("pooled")
    assert d.inputs is not None
    older = d.model_copy(update={"inputs": d.inputs.model_copy(update={"learned": {}})})
    found = router.replay(older)
    assert not found.identical
    assert found.differences[0].startswith(
        "inputs.learned.all:route.closed_history: the record holds no learned figure"
    )
    assert "cannot be replayed alone" in found.differences[0]


def test_record_missing_a_candidate_figure_names_the_rep() -> None:
    """A learned table lacking a candidate's figures names the rep instead of guessing."""
    router, d = _learned()
    assert d.inputs is not None
    learned = d.inputs.learned["all:route"]
    conversion = {k: v for k, v in learned["conversion"].items() if k != "bo"}  # type: ignore[union-attr]
    changed = {"all:route": {**learned, "conversion": conversion}}
    forged = d.model_copy(update={"inputs": d.inputs.model_copy(update={"learned": changed})})
    found = router.replay(forged)
    assert found.differences[0].startswith(
        "inputs.learned.all:route.conversion: the record holds no figure of candidate 'bo'"
    )


def test_cli_replays_a_learned_audit(tmp_path: Path) -> None:
    """leadroute replay on a file audit of a learned BestFit: every decision replays."""
    fit = BestFit(min_history=10)
    router = Router(rules=[Rule(id="all", route=fit)])
    state = _trio_state().replace(history=_history(40))
    result = router.assign(state, _leads(3))
    rules = _rules_file(router, tmp_path)
    audit = tmp_path / "audit.jsonl"
    audit.write_text("".join(d.model_dump_json() + "\n" for d in result.audit), encoding="utf-8")
    out = io.StringIO()
    assert main(["replay", str(audit), "--policy", str(rules)], out=out) == 0
    assert "3 of 3 decisions replay identically" in out.getvalue()


def _rules_file(router: Router, folder: Path) -> Path:
    """The router's rules written to ``folder/rules.json``."""
    rules = folder / "rules.json"
    rules.write_text(json.dumps(router.to_config()), encoding="utf-8")
    return rules


def test_cli_replay_exit_codes(tmp_path: Path) -> None:
    """leadroute replay: 0 when the decision replays identically, 1 when a record was changed."""
    router = _trio_router()
    result = router.assign(_trio_state(), _leads(2))
    rules = _rules_file(router, tmp_path)
    audit = tmp_path / "audit.jsonl"
    audit.write_text("".join(d.model_dump_json() + "\n" for d in result.audit), encoding="utf-8")
    out = io.StringIO()
    assert main(["replay", str(audit), "--policy", str(rules), "--lead", "L1"], out=out) == 0
    assert "replays identically" in out.getvalue()
    first, second = audit.read_text(encoding="utf-8").splitlines()
    data = json.loads(first)
    data["inputs"]["loads"] = {"ann": 5}
    audit.write_text(json.dumps(data) + "\n" + second + "\n", encoding="utf-8")
    out = io.StringIO()
    assert main(["replay", str(audit), "--policy", str(rules)], out=out) == 1
    assert "1 of 2 decisions replay identically" in out.getvalue()


def _swept(router: Router, policy: ReclaimPolicy, n: int = 2) -> tuple[PoolState, list[Decision]]:
    first = router.assign(_trio_state(), _leads(n))
    sweep = router.reclaim(first.state, T0 + timedelta(days=60), policy)
    return first.state, list(sweep.audit)


def test_sla_reassignment_replays() -> None:
    """An SLA reassignment (routed through the rules, previous owner excluded) replays."""
    router = _trio_router()
    _state, audit = _swept(router, ReclaimPolicy(first_touch=timedelta(hours=1)))
    assert [d.reason for d in audit] == ["sla_reassigned", "sla_reassigned"]
    for d in audit:
        found = router.replay(d)
        assert found.identical, found.explain()


def test_sla_reassignment_with_ownership_replays() -> None:
    """An SLA reassignment that moved the account replays, its new owner re-derived."""
    router = _trio_router()
    first = router.assign(_trio_state(), [_leads(1)[0].model_copy(update={"account_key": "acme"})])
    sweep = router.reclaim(
        first.state,
        T0 + timedelta(days=60),
        ReclaimPolicy(first_touch=timedelta(hours=1), ownership=OwnershipPolicy()),
    )
    d = sweep.audit[0]
    fact = d.facts["ownership"]
    assert isinstance(fact, dict)
    assert fact["result"] == "transferred"
    assert router.replay(d).identical
    forged = d.model_copy(update={"facts": {**d.facts, "ownership": {**fact, "to": "ann"}}})
    assert "facts.ownership.to: recorded 'ann', replayed 'bo'" in router.replay(forged).differences


def test_nurture_reroute_replays_through_its_rule() -> None:
    """A worked-not-converted lead rerouted through the nurture rule replays through that rule."""
    router = Router(
        rules=[
            Rule(id="all", route=Geo() >> CapacityCap() >> RoundRobin()),
            Rule(id="nurture", when={"field": "country", "eq": "XX"}, route=RoundRobin()),
        ]
    )
    first = router.assign(_trio_state(), _leads(1))
    worked = first.state.record_activity("L0", T0 + timedelta(hours=1))
    sweep = router.reclaim(
        worked,
        T0 + timedelta(days=3),
        ReclaimPolicy(recycle_after=None, unconverted_after=timedelta(days=1), unconverted_to="nurture"),
    )
    d = sweep.audit[0]
    assert (d.reason, d.rule_id) == ("unconverted_rerouted", "nurture")
    found = router.replay(d)
    assert found.identical, found.explain()


def test_recycle_move_is_refused_precisely() -> None:
    """A reclaim move straight to the pool routed nothing, and the replay says so."""
    router = _trio_router()
    _state, audit = _swept(router, ReclaimPolicy(first_touch=None, recycle_after=timedelta(days=1)))
    found = router.replay(audit[0])
    assert not found.identical
    assert found.differences == (
        "steps[0]: a reclaim move (recycle, reason 'recycled') straight to pool: no route ran, "
        "so there is nothing to replay (the move follows from the ReclaimPolicy and the open "
        "lead's record)",
    )


def test_forged_reclaim_decision_shows_the_difference() -> None:
    """A reclaim decision whose counters were changed replays to nobody, and says so."""
    router = _trio_router()
    _state, audit = _swept(router, ReclaimPolicy(first_touch=timedelta(hours=1)), n=1)
    d = audit[0]
    assert d.inputs is not None
    assert d.rep_id == "bo"
    forged = d.model_copy(update={"inputs": d.inputs.model_copy(update={"loads": {"bo": 5}})})
    found = router.replay(forged).differences
    assert "rep_id: recorded 'bo', replayed None" in found
    assert "reason: recorded 'sla_reassigned', replayed 'sla_no_eligible_rep'" in found


def test_transfer_through_the_rules_replays() -> None:
    """A lead moved by transfer_accounts through the rules replays from its record."""
    router = _trio_router()
    first = router.assign(_trio_state(), _leads(3))
    moved = router.transfer_accounts(
        first.state, "ann", at=T0 + timedelta(days=1), by="lead", leads="all"
    )
    assert moved.audit
    for d in moved.audit:
        found = router.replay(d)
        assert found.identical, found.explain()


def test_transfer_to_a_named_rep_is_refused_precisely() -> None:
    """A transfer to a named rep routed nothing, and the replay says so."""
    router = _trio_router()
    first = router.assign(_trio_state(), _leads(1))
    moved = transfer_accounts(first.state, "ann", "bo", at=T0 + timedelta(days=1), by="lead", leads="all")
    found = router.replay(moved.audit[0])
    assert found.differences == (
        "inputs: a transfer to a named rep (bo) by lead: no route ran, so there is nothing to replay",
    )


def test_assign_decision_replayed_as_reclaim_is_refused() -> None:
    """An engine asked to replay an assign decision as a reclaim one names both."""
    router = _trio_router()
    d = router.assign(_trio_state(), _leads(1)).audit[0]
    found = router.engine.replay_decision(d, ReplayPlan("reclaim"))
    assert found.differences[0].startswith("inputs.made_by: made by assign; replayed here as")


_RECLAIMS = st.builds(
    ReclaimPolicy,
    first_touch=st.sampled_from((None, timedelta(hours=1), timedelta(days=2))),
    working_time=st.booleans(),
    max_reassignments=st.integers(0, 2),
    recycle_after=st.sampled_from((None, timedelta(days=1), timedelta(days=20))),
    unconverted_after=st.sampled_from((None, timedelta(hours=2))),
    ownership=st.sampled_from((None, OwnershipPolicy(), OwnershipPolicy(on_recycle="transfer"))),
)


@SETTINGS
@given(
    routers(),
    pool_states(),
    lead_batches(max_size=12),
    _RECLAIMS,
    st.booleans(),
    st.integers(0, 2),
    st.sampled_from((timedelta(hours=3), timedelta(days=2), timedelta(days=30))),
)
def test_every_reclaim_decision_replays_from_its_record(
    router: Router,
    state: PoolState,
    batch: list[Lead],
    policy: ReclaimPolicy,
    nurture: bool,
    worked: int,
    later: timedelta,
) -> None:
    """Every routed reclaim decision replays identically; every other move is refused as such."""
    if nurture and policy.unconverted_after is not None:
        policy = replace(policy, unconverted_to=router.rules[-1].id)
    first = router.assign(state, batch)
    after = first.state
    for lead_id in sorted(after.open_leads)[:worked]:
        after = after.record_activity(lead_id, after.open_leads[lead_id].assigned_at)
    now = max((d.at for d in first.audit), default=EPOCH) + later
    sweep = router.reclaim(after, now, policy)
    for decision in sweep.audit:
        found = router.replay(decision)
        if decision.inputs is None:
            assert "no route ran, so there is nothing to replay" in found.differences[0]
        else:
            assert found.identical, found.explain()


@SETTINGS
@given(routers(), pool_states(), lead_batches(min_size=1, max_size=12), st.data())
def test_every_transfer_decision_replays_from_its_record(
    router: Router, state: PoolState, batch: list[Lead], data: st.DataObject
) -> None:
    """Every decision of a transfer through the rules replays identically from its record."""
    first = router.assign(state, batch)
    holders = sorted({rec.rep_id for rec in first.state.open_leads.values()})
    if not holders:
        return
    leaving = data.draw(st.sampled_from(holders))
    at = max(d.at for d in first.audit) + timedelta(hours=1)
    moved = router.transfer_accounts(first.state, leaving, at=at, by="ops", leads="all")
    for decision in moved.audit:
        found = router.replay(decision)
        assert found.identical, found.explain()


def test_cli_replays_a_reclaim_audit(tmp_path: Path) -> None:
    """leadroute replay on the audit `leadroute reclaim` wrote: the SLA reassignments replay."""
    router = _trio_router()
    first = router.assign(_trio_state(), _leads(2))
    rules = _rules_file(router, tmp_path)
    state = tmp_path / "state.json"
    state.write_text(first.state.model_dump_json(), encoding="utf-8")
    audit = tmp_path / "audit.jsonl"
    now = (T0 + timedelta(days=3)).isoformat()
    argv = ["reclaim", "--state", str(state), "--now", now, "--rules", str(rules)]
    assert main([*argv, "--first-touch", "PT1H", "--audit", str(audit)], out=io.StringIO()) == 0
    out = io.StringIO()
    assert main(["replay", str(audit), "--policy", str(rules)], out=out) == 0
    assert "2 of 2 decisions replay identically" in out.getvalue()
