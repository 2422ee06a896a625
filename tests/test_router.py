"""Router.assign: rules, ordering, validation, state handling and the audit."""

from __future__ import annotations

import copy
import pickle
from datetime import timedelta

import pytest

from leadroute import (
    Capacity,
    DuplicateLeadError,
    InputError,
    LeadAlreadyOpenError,
    PoolState,
    Router,
    Rule,
    UnknownRepError,
)
from leadroute.demo import sample_router
from leadroute.strategies import (
    AssignTo,
    CapacityCap,
    Geo,
    Industry,
    ManualReview,
    Roster,
    RoundRobin,
)
from tests.conftest import T0, lead, rep


def test_first_matching_rule_wins(trio: PoolState) -> None:
    """The first rule whose condition matches routes the lead."""
    router = Router(
        rules=[
            Rule(id="us", when={"field": "country", "eq": "US"}, route=Geo() >> RoundRobin()),
            Rule(id="cn", when={"field": "country", "eq": "CN"}, route=Geo() >> RoundRobin()),
        ]
    )
    result = router.assign(trio, [lead("L1", country="CN", region="CN-BJ")])
    a = result.assignments[0]
    assert (a.rule_id, a.rep_id, a.outcome) == ("cn", "ann", "assigned")
    trials = result.audit[0].rules
    assert [(t.rule_id, t.result) for t in trials] == [("us", "not_matched"), ("cn", "routed")]
    assert "CN" in trials[0].detail


def test_no_rule_matched_stays_in_pool(trio: PoolState) -> None:
    """Without a default, an unmatched lead stays in the pool with reason no_rule_matched."""
    router = Router(
        rules=[Rule(id="us", when={"field": "country", "eq": "US"}, route=RoundRobin())]
    )
    result = router.assign(trio, [lead("L1", country="CN")])
    a = result.assignments[0]
    assert (a.rep_id, a.outcome, a.reason) == (None, "pool", "no_rule_matched")
    assert "L1" in result.state.pool
    assert result.state.pool["L1"].reason == "no_rule_matched"


def test_default_route_catches_unmatched(trio: PoolState) -> None:
    """The default route handles leads no rule matched."""
    router = Router(rules=[], default=AssignTo("cy"))
    result = router.assign(trio, [lead("L1")])
    assert result.assignments[0].rep_id == "cy"
    assert result.assignments[0].rule_id == "default"


def test_on_empty_next_tries_following_rule(trio: PoolState) -> None:
    """A matched rule that finds nobody passes the lead on when on_empty='next'."""
    router = Router(
        rules=[
            Rule(id="de", route=Geo() >> RoundRobin()),
            Rule(id="any", route=AssignTo("bo")),
        ]
    )
    result = router.assign(trio, [lead("L1", country="DE")])
    assert result.assignments[0].rep_id == "bo"
    assert [t.result for t in result.audit[0].rules] == ["empty", "routed"]


def test_on_empty_pool_stops(trio: PoolState) -> None:
    """A matched rule with on_empty='pool' leaves the lead in the pool."""
    router = Router(
        rules=[
            Rule(id="de", route=Geo() >> RoundRobin(), on_empty="pool"),
            Rule(id="any", route=AssignTo("bo")),
        ]
    )
    a = router.assign(trio, [lead("L1", country="DE")]).assignments[0]
    assert (a.rep_id, a.reason, a.rule_id) == (None, "no_eligible_rep", "de")


def test_processing_order_priority_then_time_then_id(trio: PoolState) -> None:
    """Leads are routed by priority, then created_at, then id; results keep input order."""
    state = PoolState(reps=(rep("ann"), rep("bo"), rep("cy")))
    router = Router(rules=[Rule(id="rr", route=RoundRobin())])
    leads = [lead("c", 5), lead("b", 1), lead("a", 1), lead("z", 9, priority=2)]
    result = router.assign(state, leads)
    assert [a.lead_id for a in result.assignments] == ["c", "b", "a", "z"]
    by_lead = {a.lead_id: a.rep_id for a in result.assignments}
    # z first (priority), then a, b (same time, by id), then c
    assert by_lead == {"z": "ann", "a": "bo", "b": "cy", "c": "ann"}


def test_input_state_not_mutated(trio: PoolState) -> None:
    """assign never changes the state it was given."""
    before = trio.model_dump_json()
    router = Router(rules=[Rule(id="rr", route=Geo() >> CapacityCap() >> RoundRobin())])
    router.assign(trio, [lead(f"L{i}", i, region="CN-BJ") for i in range(5)])
    assert trio.model_dump_json() == before


def test_duplicate_lead_ids_rejected(trio: PoolState) -> None:
    """Two leads with one id in a batch are an error naming the id."""
    router = Router(rules=[Rule(id="rr", route=RoundRobin())])
    with pytest.raises(DuplicateLeadError) as info:
        router.assign(trio, [lead("L1"), lead("L2"), lead("L1", 3)])
    assert info.value.lead_ids == ("L1",)


def test_already_open_lead_rejected(trio: PoolState) -> None:
    """A lead already open in the state cannot be routed again."""
    router = Router(rules=[Rule(id="rr", route=RoundRobin())])
    state = router.assign(trio, [lead("L1")]).state
    with pytest.raises(LeadAlreadyOpenError) as info:
        router.assign(state, [lead("L2"), lead("L1")])
    assert info.value.lead_ids == ("L1",)


def test_unknown_named_rep_rejected(trio: PoolState) -> None:
    """A rule naming a rep the state does not know fails before routing."""
    router = Router(rules=[Rule(id="x", route=Roster(("ann", "zed")) >> AssignTo("zed"))])
    with pytest.raises(UnknownRepError) as info:
        router.assign(trio, [lead("L1")])
    assert info.value.rep_ids == ("zed",)


def test_naive_now_rejected(trio: PoolState) -> None:
    """A naive ``now`` is an error naming the field."""
    router = Router(rules=[Rule(id="rr", route=RoundRobin())])
    with pytest.raises(InputError, match="now"):
        router.assign(trio, [lead("L1")], now=T0.replace(tzinfo=None))


def test_state_counters_and_open_records(trio: PoolState) -> None:
    """Assigning increments open and today's count and records the open lead."""
    router = Router(rules=[Rule(id="rr", route=AssignTo("bo"))])
    result = router.assign(trio, [lead("L1"), lead("L2", 1)])
    load = result.state.load("bo")
    assert load.open == 2
    assert load.days == {"2026-03-02": 2}
    rec = result.state.open_leads["L1"]
    assert (rec.rep_id, rec.rule_id, rec.assigned_at) == ("bo", "rr", T0)
    assert result.state.revision == trio.revision + 1
    assert result.state.as_of == T0 + timedelta(minutes=1)


def test_capacity_counts_within_batch(trio: PoolState) -> None:
    """Caps apply to leads assigned earlier in the same call."""
    router = Router(rules=[Rule(id="cn", route=Geo() >> CapacityCap() >> RoundRobin())])
    result = router.assign(trio, [lead(f"L{i}", i, region="CN-BJ") for i in range(6)])
    counts = result.counts()
    assert counts == {"ann": 2, "bo": 2}
    unassigned = [a for a in result.assignments if a.rep_id is None]
    assert len(unassigned) == 2
    assert all(a.reason == "no_eligible_rep" for a in unassigned)


def test_account_owner_recorded(trio: PoolState) -> None:
    """A lead with an account key makes its rep the account owner."""
    router = Router(rules=[Rule(id="rr", route=AssignTo("cy"))])
    result = router.assign(trio, [lead("L1", account_key="acme")])
    assert result.state.owners == {"acme": "cy"}


def test_manual_review_outcome(trio: PoolState) -> None:
    """ManualReview leaves the lead out of any rep's hands with its reason."""
    router = Router(
        rules=[
            Rule(
                id="vip",
                when={"field": "value", "gte": 1e6},
                route=ManualReview(reason="key_account"),
            )
        ],
        default=RoundRobin(),
    )
    result = router.assign(trio, [lead("L1", value=2e6), lead("L2", 1, value=10)])
    a1, a2 = result.assignments
    assert (a1.outcome, a1.reason, a1.rep_id) == ("manual_review", "key_account", None)
    assert a2.outcome == "assigned"
    assert result.state.pool["L1"].reason == "key_account"


def test_pooled_lead_can_be_routed_later(trio: PoolState) -> None:
    """A lead left in the pool is assigned by a later call and leaves the pool."""
    router = Router(rules=[Rule(id="cn", route=Geo() >> CapacityCap() >> RoundRobin())])
    first = router.assign(trio, [lead("L1", region="DE")])
    assert "L1" in first.state.pool
    wider = first.state.with_reps((*first.state.reps, rep("dee", territories=("DE",))))
    second = router.assign(wider, [lead("L1", region="DE")])
    assert second.assignments[0].rep_id == "dee"
    assert "L1" not in second.state.pool
    assert "L1" in second.state.open_leads


def test_inactive_and_paused_reps_never_candidates() -> None:
    """Inactive and paused reps are left out before any strategy runs."""
    state = PoolState(reps=(rep("a", active=False), rep("b", paused=True), rep("c")))
    router = Router(rules=[Rule(id="rr", route=RoundRobin())])
    result = router.assign(state, [lead(f"L{i}", i) for i in range(3)])
    assert {a.rep_id for a in result.assignments} == {"c"}
    assert "inactive" in result.explain("L0", "a")
    assert "paused" in result.explain("L0", "b")


def test_decision_ids_stable_and_distinct(trio: PoolState) -> None:
    """decision_id is a stable hash of policy revision, lead id and state revision."""
    router = Router(rules=[Rule(id="rr", route=RoundRobin())])
    r1 = router.assign(trio, [lead("L1"), lead("L2")])
    r2 = router.assign(trio, [lead("L1"), lead("L2")])
    assert [d.decision_id for d in r1.audit] == [d.decision_id for d in r2.audit]
    assert r1.audit[0].decision_id != r1.audit[1].decision_id
    r3 = router.assign(r1.state, [lead("L3")])
    assert r3.audit[0].state_revision == 1


def test_policy_revision_tracks_rules() -> None:
    """Changing a rule changes the policy revision; rebuilding the same rules does not."""
    a = Router(rules=[Rule(id="r", route=Geo() >> RoundRobin())])
    b = Router(rules=[Rule(id="r", route=Geo() >> RoundRobin())])
    c = Router(rules=[Rule(id="r", route=Industry() >> RoundRobin())])
    assert a.policy_revision == b.policy_revision != c.policy_revision


def test_rule_ids_unique() -> None:
    """Two rules with one id are rejected."""
    with pytest.raises(InputError, match="twice"):
        Router(rules=[Rule(id="r", route=RoundRobin()), Rule(id="r", route=RoundRobin())])


def test_incomplete_route_rejected() -> None:
    """A route that does not end in a selector fails when the rule is built."""
    with pytest.raises(ValueError, match="selector"):
        Rule(id="r", route=Geo() >> Industry())


def test_predicate_rule(trio: PoolState) -> None:
    """A plain function works as a rule condition."""
    router = Router(
        rules=[Rule(id="big", when=lambda ld: (ld.value or 0) > 100, route=AssignTo("bo"))],
        default=AssignTo("ann"),
    )
    result = router.assign(trio, [lead("L1", value=500), lead("L2", 1, value=5)])
    assert [a.rep_id for a in result.assignments] == ["bo", "ann"]


def test_capacity_from_rep_respected_over_calls() -> None:
    """Open caps carry over between calls through the state."""
    state = PoolState(
        reps=(rep("a", capacity=Capacity(max_open=1)), rep("b", capacity=Capacity(max_open=1)))
    )
    router = Router(rules=[Rule(id="r", route=CapacityCap() >> RoundRobin())])
    s1 = router.assign(state, [lead("L1")]).state
    s2 = router.assign(s1, [lead("L2", 1)]).state
    r3 = router.assign(s2, [lead("L3", 2)])
    assert r3.assignments[0].rep_id is None
    assert {s2.open_leads["L1"].rep_id, s2.open_leads["L2"].rep_id} == {"a", "b"}


def test_router_pickles_and_copies_equal() -> None:
    """A router (its policy and engine) survives pickle and deepcopy unchanged."""
    router = sample_router()
    assert pickle.loads(pickle.dumps(router)) == router
    assert copy.deepcopy(router).policy.revision == router.policy.revision


def test_router_refuses_attribute_assignment() -> None:
    """Setting any attribute of a built router raises AttributeError naming it."""
    router = sample_router()
    for name in ("policy", "engine", "_store_needs", "anything"):
        with pytest.raises(AttributeError, match=f"a Router is immutable \\(setting '{name}'\\)"):
            setattr(router, name, None)


def test_router_refuses_attribute_deletion() -> None:
    """Deleting an attribute of a router raises AttributeError and keeps the router whole."""
    router = sample_router()
    with pytest.raises(AttributeError, match="immutable"):
        del router.policy
    assert router.policy.revision == sample_router().policy_revision


def test_router_equality_hash_and_repr_are_the_policys() -> None:
    """Router equality, hash and repr follow its Policy."""
    router = sample_router()
    assert router == Router.from_policy(router.policy)
    assert hash(router) == hash(router.policy)
    assert repr(router) == "Router" + repr(router.policy).removeprefix("Policy")
    assert repr(router).startswith("Router(rules=[key-accounts, china, usa, europe], default=")
