"""Account ownership over its life: policy on SLA / recycle / manual moves, protection, transfers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadroute import (
    Capacity,
    CapacityExceededError,
    InputError,
    OwnershipPolicy,
    PoolState,
    ReclaimPolicy,
    Router,
    Rule,
    UnknownRepError,
    transfer_accounts,
)
from leadroute.ownership import OwnershipAction
from leadroute.strategies import CapacityCap, Ownership, RoundRobin
from tests.conftest import T0, lead, rep

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
ROUTER = Router(rules=[Rule(id="all", route=CapacityCap() >> (Ownership() | RoundRobin()))])
SLA = ReclaimPolicy(first_touch=2 * HOUR, working_time=False, recycle_after=None)


@pytest.fixture
def pool() -> PoolState:
    """Reps a, b, c; lead L1 of account acme assigned to a at T0."""
    state = PoolState(reps=(rep("a"), rep("b"), rep("c")))
    return ROUTER.assign(state, [lead("L1", company="ACME Inc.")]).state


def test_without_policy_sla_move_keeps_account_and_state_json(pool: PoolState) -> None:
    """Without an ownership policy the account stays with the old rep, as in 0.1."""
    r = ROUTER.reclaim(pool, T0 + 3 * HOUR, SLA)
    assert r.assignments[0].rep_id == "b"
    assert r.state.owners["acme"] == "a"
    assert "account_history" not in r.state.model_dump_json()
    assert "ownership" not in r.audit[0].facts


def test_sla_transfer_moves_account_and_is_audited(pool: PoolState) -> None:
    """on_sla='transfer': the account follows the lead; the change is in audit and history."""
    policy = ReclaimPolicy(
        first_touch=2 * HOUR, working_time=False, recycle_after=None, ownership=OwnershipPolicy()
    )
    r = ROUTER.reclaim(pool, T0 + 3 * HOUR, policy)
    assert r.state.owners["acme"] == "b"
    fact = r.audit[0].facts["ownership"]
    assert isinstance(fact, dict)
    assert fact["result"] == "transferred"
    assert r.audit[0].steps[-1].path == "ownership"
    (change,) = r.state.ownership_changes()
    assert (change.from_rep, change.to_rep, change.cause, change.lead_id) == ("a", "b", "sla", "L1")
    assert r.state.previous_owners("acme") == ("a",)


def test_next_lead_of_account_follows_the_transfer(pool: PoolState) -> None:
    """After an SLA transfer the account's next lead goes to the new owner, not the old one."""
    policy = ReclaimPolicy(
        first_touch=2 * HOUR, working_time=False, recycle_after=None, ownership=OwnershipPolicy()
    )
    state = ROUTER.reclaim(pool, T0 + 3 * HOUR, policy).state
    r = ROUTER.assign(state, [lead("L2", 240, company="ACME Inc.")])
    assert r.assignments[0].rep_id == "b"


def test_sla_release_and_keep(pool: PoolState) -> None:
    """on_sla='release' unowns the account; 'keep' leaves it with the old rep."""
    for action, owner in (("release", None), ("keep", "a")):
        policy = ReclaimPolicy(
            first_touch=2 * HOUR,
            working_time=False,
            recycle_after=None,
            ownership=OwnershipPolicy(on_sla=action),  # type: ignore[arg-type]
        )
        r = ROUTER.reclaim(pool, T0 + 3 * HOUR, policy)
        assert r.state.owners.get("acme") == owner


def test_policy_per_rule() -> None:
    """A mapping gives each assigning rule its own policy, '*' the others, none the rest."""
    router = Router(
        rules=[
            Rule(id="key", when={"field": "tags", "contains": "key"}, route=RoundRobin()),
            Rule(id="all", route=RoundRobin()),
        ]
    )
    state = PoolState(reps=(rep("a"), rep("b"), rep("c")))
    leads = [lead("K", 0, company="Kay", tags=("key",)), lead("N", 1, company="Enn")]
    state = router.assign(state, leads).state
    owners = dict(state.owners)
    policy = ReclaimPolicy(
        first_touch=HOUR,
        working_time=False,
        recycle_after=None,
        ownership={"key": OwnershipPolicy(on_sla="keep"), "*": OwnershipPolicy()},
    )
    r = router.reclaim(state, T0 + 3 * HOUR, policy)
    assert r.state.owners["kay"] == owners["kay"]
    assert r.state.owners["enn"] == r.state.open_leads["N"].rep_id != owners["enn"]
    with pytest.raises(InputError, match="ownership"):
        ReclaimPolicy(ownership={"key": "keep"})  # type: ignore[dict-item]


def test_recycle_keep_overrides_the_old_release(pool: PoolState) -> None:
    """on_recycle='keep' keeps the account with the rep who lost the stale lead."""
    policy = ReclaimPolicy(
        first_touch=None, recycle_after=DAY, ownership=OwnershipPolicy(on_recycle="keep")
    )
    r = ROUTER.reclaim(pool, T0 + 2 * DAY, policy)
    assert r.assignments[0].reason == "recycled"
    assert r.state.owners["acme"] == "a"
    fact = r.audit[0].facts["ownership"]
    assert isinstance(fact, dict)
    assert fact["result"] == "kept"


def test_protection_holds_account_against_automatic_moves(pool: PoolState) -> None:
    """A new owner inside its protection period keeps the account on a further SLA move."""
    own = OwnershipPolicy(protection=timedelta(days=30))
    policy = ReclaimPolicy(
        first_touch=2 * HOUR, working_time=False, recycle_after=None, ownership=own
    )
    s1 = ROUTER.reclaim(pool, T0 + 3 * HOUR, policy).state
    assert s1.owners["acme"] == "b"
    assert s1.account_history["acme"][-1].protected_until == T0 + 3 * HOUR + timedelta(days=30)
    r = ROUTER.reclaim(s1, T0 + 6 * HOUR, policy)
    assert r.assignments[0].rep_id == "c"
    assert r.state.owners["acme"] == "b"
    fact = r.audit[0].facts["ownership"]
    assert isinstance(fact, dict)
    assert "protected until" in str(fact["why"])


def test_manual_move_transfers_with_policy(pool: PoolState) -> None:
    """assign_manually(ownership=...) moves the account and records who did it."""
    s = pool.assign_manually(
        lead("L1", company="ACME Inc."), "c", at=T0 + HOUR, by="boss", ownership=OwnershipPolicy()
    )
    assert s.owners["acme"] == "c"
    change = s.account_history["acme"][-1]
    assert (change.cause, change.by, change.from_rep) == ("manual", "boss", "a")


def test_manual_move_release_leaves_account_unowned(pool: PoolState) -> None:
    """on_manual='release' unowns the account instead of giving it to the new rep."""
    s = pool.assign_manually(
        lead("L1", company="ACME Inc."),
        "c",
        at=T0 + HOUR,
        by="boss",
        ownership=OwnershipPolicy(on_manual="release"),
    )
    assert "acme" not in s.owners


def test_manual_move_without_policy_unchanged(pool: PoolState) -> None:
    """Without a policy a manual move keeps the account with its owner, as in 0.1."""
    s = pool.assign_manually(lead("L1", company="ACME Inc."), "c", at=T0 + HOUR, by="boss")
    assert s.owners["acme"] == "a"
    assert s.account_history == {}


def test_state_with_history_round_trips(pool: PoolState) -> None:
    """A state with account history round-trips through JSON exactly."""
    s = pool.assign_manually(
        lead("L1", company="ACME Inc."),
        "c",
        at=T0 + HOUR,
        by="boss",
        ownership=OwnershipPolicy(protection=DAY),
    )
    text = s.model_dump_json()
    again = PoolState.model_validate_json(text)
    assert again == s
    assert again.model_dump_json() == text


def _three_accounts() -> PoolState:
    state = PoolState(reps=(rep("a"), rep("b", capacity=Capacity(max_open=3)), rep("c")))
    leads = [lead(f"L{i}", i, company=f"Co{i % 3}") for i in range(6)]
    return Router(rules=[Rule(id="a", route=Ownership() | RoundRobin())]).assign(state, leads).state


def test_transfer_to_rep_moves_accounts_and_leads() -> None:
    """transfer_accounts to a rep moves every account and its open leads, audited."""
    state = _three_accounts()
    owned = sorted(k for k, v in state.owners.items() if v == "a")
    held = sorted(k for k, o in state.open_leads.items() if o.rep_id == "a")
    r = transfer_accounts(state, "a", "c", at=T0 + DAY, by="ops")
    assert all(r.state.owners[k] == "c" for k in owned)
    assert sorted(d.lead_id for d in r.audit) == held
    assert all(d.reason == "transferred" and d.rep_id == "c" for d in r.audit)
    assert [c.account for c in r.changes] == owned
    assert r.state.open_count("a") == 0
    assert r.state.open_count("c") == state.open_count("c") + len(held)


def test_transfer_to_rep_respects_caps() -> None:
    """A transfer that would break the target's cap raises and changes nothing."""
    state = _three_accounts()
    small = state.with_reps(
        (rep("a"), rep("b", capacity=Capacity(max_open=state.open_count("b"))), rep("c"))
    )
    with pytest.raises(CapacityExceededError, match="'b'"):
        transfer_accounts(small, "a", "b", at=T0 + DAY, by="ops")
    forced = transfer_accounts(small, "a", "b", at=T0 + DAY, by="ops", force=True)
    assert forced.state.open_count("a") == 0


def test_transfer_through_router_spreads_by_route() -> None:
    """Router.transfer_accounts routes the leads (departing rep excluded); owners follow."""
    state = _three_accounts()
    router = Router(rules=[Rule(id="rr", route=Ownership() | RoundRobin())])
    r = router.transfer_accounts(state, "a", at=T0 + DAY, by="ops")
    assert "a" not in r.state.owners.values()
    assert all(d.rep_id in ("b", "c") for d in r.audit)
    for d in r.audit:
        key = r.state.open_leads[d.lead_id].account_key
        assert key is not None
        assert r.state.owners[key] == d.rep_id
    assert r.state.with_reps((rep("b"), rep("c"))).reps


def test_transfer_protection_holds_against_sla_sweep() -> None:
    """A transfer with protection keeps the new owner through a later SLA move of the lead."""
    state = PoolState(reps=(rep("a"), rep("b"), rep("c")))
    state = ROUTER.assign(state, [lead("L1", company="ACME Inc.")]).state
    moved = transfer_accounts(state, "a", "b", at=T0 + HOUR, by="ops", protection=DAY)
    assert moved.changes[0].protected_until == T0 + HOUR + DAY
    policy = ReclaimPolicy(
        first_touch=HOUR, working_time=False, recycle_after=None, ownership=OwnershipPolicy()
    )
    r = ROUTER.reclaim(moved.state, T0 + 3 * HOUR, policy)
    assert r.assignments[0].rep_id in ("a", "c")
    assert r.state.owners["acme"] == "b"


def test_transfer_through_router_pools_when_nobody_fits() -> None:
    """Leads the rules cannot place go to the pool; their accounts are released."""
    state = PoolState(reps=(rep("a"), rep("b", capacity=Capacity(max_open=0))))
    state = ROUTER.assign(state, [lead("L1", company="ACME Inc.")]).state
    r = ROUTER.transfer_accounts(state, "a", at=T0 + HOUR, by="ops")
    assert [(d.outcome, d.reason) for d in r.audit] == [("pool", "transfer_no_eligible_rep")]
    assert r.state.pool["L1"].previous_reps == ("a",)
    assert "acme" not in r.state.owners
    assert r.changes[0].to_rep is None


def test_transfer_is_deterministic() -> None:
    """The same transfer gives byte-identical results."""
    state = _three_accounts()
    router = Router(rules=[Rule(id="rr", route=RoundRobin())])
    one = router.transfer_accounts(state, "a", at=T0 + DAY, by="ops")
    two = router.transfer_accounts(state, "a", at=T0 + DAY, by="ops")
    assert one.model_dump_json() == two.model_dump_json()


def test_transfer_bad_input_names_the_place() -> None:
    """Unknown reps, self-transfers and missing 'by' are errors naming the field or rep."""
    state = _three_accounts()
    with pytest.raises(UnknownRepError, match="zz"):
        transfer_accounts(state, "zz", "b", at=T0, by="ops")
    with pytest.raises(InputError, match="themself"):
        transfer_accounts(state, "a", "a", at=T0, by="ops")
    with pytest.raises(InputError, match="by="):
        transfer_accounts(state, "a", "b", at=T0, by="")


def test_history_of_another_account_is_rejected(pool: PoolState) -> None:
    """A state whose account_history files a change under the wrong account does not load."""
    s = pool.assign_manually(
        lead("L1", company="ACME Inc."), "c", at=T0 + HOUR, by="boss", ownership=OwnershipPolicy()
    )
    data = s.model_dump(mode="json")
    data["account_history"]["other"] = data["account_history"].pop("acme")
    with pytest.raises(ValueError, match=r"account_history\.other"):
        PoolState.model_validate(data)


def test_docs_scenarios_run() -> None:
    """The end-to-end ownership example in docs/lifecycle.md runs as written."""
    docs = Path(__file__).resolve().parent.parent / "docs" / "lifecycle.md"
    if not docs.exists():
        pytest.skip("needs the source tree")
    text = docs.read_text(encoding="utf-8")
    code = text.split("### The scenarios, end to end", 1)[1].split("```python", 1)[1]
    namespace: dict[str, object] = {}
    exec(compile(code.split("```", 1)[0], "lifecycle.md", "exec"), namespace)
    assert isinstance(namespace["state"], PoolState)


def test_policy_rejects_unknown_action() -> None:
    """An unknown action is an InputError naming the field."""
    with pytest.raises(InputError, match="on_sla"):
        OwnershipPolicy(on_sla="give")  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["assign", "activity", "reclaim", "manual", "transfer", "close"]),
            st.integers(0, 5),
            st.sampled_from(["transfer", "keep", "release"]),
        ),
        min_size=1,
        max_size=14,
    )
)
def test_ownership_in_roster_and_every_change_audited(
    ops: list[tuple[str, int, str]],
) -> None:
    """Owners are always reps of the roster, and every ownership change shows in an audit."""
    reps = ("a", "b", "c", "d")
    state = PoolState(reps=tuple(rep(r, capacity=Capacity(max_open=4)) for r in reps))
    router = Router(rules=[Rule(id="r", route=CapacityCap() >> (Ownership() | RoundRobin()))])
    state = router.assign(state, [lead(f"S{i}", i, company=f"Co{i % 4}") for i in range(6)]).state
    audited: list[tuple[str, str | None, str | None]] = []
    now = T0
    n = 0
    for op, k, action in ops:
        now += HOUR
        act = cast("OwnershipAction", action)
        own = OwnershipPolicy(on_sla=act, on_recycle=act, on_manual=act, protection=k * HOUR)
        before = len(state.ownership_changes())
        open_ids = sorted(state.open_leads)
        if op == "assign":
            batch = [
                lead(f"N{n + i}", 0, company=f"Co{(n + i) % 3}").model_copy(
                    update={"created_at": now}
                )
                for i in range(k % 3 + 1)
            ]
            n += len(batch)
            state = router.assign(state, batch).state
        elif op == "activity" and open_ids:
            state = state.record_activity(open_ids[k % len(open_ids)], now)
        elif op == "close" and open_ids:
            state = state.close(open_ids[k % len(open_ids)], "won", now)
        elif op == "reclaim":
            policy = ReclaimPolicy(
                first_touch=HOUR, working_time=False, recycle_after=3 * HOUR,
                unconverted_after=2 * HOUR, ownership=own,
            )  # fmt: skip
            r = router.reclaim(state, now, policy)
            for d in r.audit:
                fact = d.facts.get("ownership")
                if isinstance(fact, dict) and fact.get("result") in ("transferred", "released"):
                    audited.append((str(fact["account"]), str(fact["owner"]), fact.get("to")))  # type: ignore[arg-type]
            state = r.state
        elif op == "manual" and open_ids:
            rec = state.open_leads[open_ids[k % len(open_ids)]]
            to = reps[(reps.index(rec.rep_id) + 1) % 4]
            state = state.assign_manually(
                rec.lead, to, at=now, by="boss", ownership=own, force=True
            )
            for c in state.ownership_changes()[before:]:
                audited.append((c.account, c.from_rep, c.to_rep))
        elif op == "transfer":
            r2 = router.transfer_accounts(state, reps[k % 4], at=now, by="ops")
            for c in r2.changes:
                audited.append((c.account, c.from_rep, c.to_rep))
            state = r2.state
        assert set(state.owners.values()) <= set(reps)
        known = set(state.open_leads) | set(state.pool) | {c.lead.id for c in state.history}
        assert len(known) == len(state.open_leads) + len(state.pool) + len(state.history)
        assert known == {f"S{i}" for i in range(6)} | {f"N{i}" for i in range(n)}
    recorded = [(c.account, c.from_rep, c.to_rep) for c in state.ownership_changes()]
    assert sorted(recorded, key=str) == sorted(audited, key=str)
