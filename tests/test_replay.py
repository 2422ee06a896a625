"""Replayable decisions: unique ids, the record of what a route read, Router.replay."""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadroute import Capacity, Lead, PoolState, Rep, Router, Rule
from leadroute.cli import main
from leadroute.strategies import BestFit, CapacityCap, Geo, RoundRobin
from leadroute.testing import lead_batches, pool_states, routers

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
    from leadroute import ReclaimPolicy
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


def test_cli_replay_exit_codes(tmp_path: Path) -> None:
    """leadroute replay: 0 when the decision replays identically, 1 when a record was changed."""
    router = _trio_router()
    result = router.assign(_trio_state(), _leads(2))
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(router.to_config()), encoding="utf-8")
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


def test_reclaim_decision_is_not_replayed() -> None:
    """A reclaim decision says that only assign decisions replay."""
    from leadroute import ReclaimPolicy

    router = _trio_router()
    first = router.assign(_trio_state(), _leads(1))
    sweep = router.reclaim(
        first.state, T0 + timedelta(days=2), ReclaimPolicy(first_touch=timedelta(hours=1))
    )
    found = router.replay(sweep.audit[0])
    assert "made by reclaim" in found.differences[0]
