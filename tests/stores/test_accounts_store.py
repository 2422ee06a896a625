"""Stores read and record owners under the router's account-matcher keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import pytest

from leadroute import AccountMatcher, Capacity, Rep, Router, Rule
from leadroute.exceptions import CapacityExceededError
from leadroute.stores import MemoryStore, SQLStore, Store
from leadroute.strategies import CapacityCap, Ownership, RoundRobin
from tests.conftest import T0, lead
from tests.stores.conftest import Factory

MATCHER = AccountMatcher(aliases={"字节跳动": "ByteDance"}, romanize=True)


def _router() -> Router:
    return Router(rules=[Rule(id="r", route=Ownership() | RoundRobin())], accounts=MATCHER)


def test_store_routes_two_spellings_to_one_owner(make_store: Factory) -> None:
    """Across calls on a store, 北京某某科技 and Beijing Moumou Technology meet their owner."""
    store = make_store()
    store.set_reps((Rep(id="ann"), Rep(id="bo"), Rep(id="cy")))
    first = _router().assign(store, [lead("L1", company="北京某某科技有限公司")], now=T0)
    owner = first.assignments[0].rep_id
    later = _router().assign(
        store,
        [
            lead("L2", 5, company="Apex"),
            lead("L3", 6, company="Beijing Moumou Technology Co., Ltd."),
        ],
        now=T0 + timedelta(hours=1),
    )
    assert later.assignments[1].rep_id == owner
    assert store.snapshot().owners["moumou tech"] == owner


def test_store_manual_assignment_uses_the_matcher(make_store: Factory) -> None:
    """``assign_manually(accounts=...)`` records the owner under the matcher's key."""
    store = make_store()
    store.set_reps((Rep(id="ann"), Rep(id="bo")))
    store.assign_manually(lead("M1", company="字节跳动"), "bo", at=T0, by="ops", accounts=MATCHER)
    assert store.snapshot().owners == {"bytedance": "bo"}
    res = _router().assign(store, [lead("M2", 1, company="ByteDance Ltd.")], now=T0)
    assert res.assignments[0].rep_id == "bo"


def _owned_pool(store: Store) -> None:
    """ann owns three accounts with open leads; bo and cy hold other accounts."""
    store.set_reps((Rep(id="ann"), Rep(id="bo"), Rep(id="cy"), Rep(id="dee")))
    owner = Router(rules=[Rule(id="r", route=Ownership() | RoundRobin())])
    batch = [lead(f"L{i}", i, company=f"Co{i % 5}") for i in range(12)]
    owner.assign(store, batch, now=T0)
    store.record_activity("L0", T0 + timedelta(hours=1))


@pytest.mark.parametrize("to", ["dee", "router"])
@pytest.mark.parametrize("leads", ["accounts", "all", "none"])
def test_transfer_accounts_on_a_store_equals_the_state(
    make_store: Factory, to: str, leads: Literal["accounts", "all", "none"]
) -> None:
    """transfer_accounts on a store gives the reference's result, state and audit rows."""
    store = make_store()
    ref = MemoryStore()
    target: str | Router = (
        Router(rules=[Rule(id="r", route=CapacityCap() >> RoundRobin())]) if to == "router" else to
    )
    results = []
    for s in (store, ref):
        _owned_pool(s)
        at = T0 + timedelta(days=1)
        if isinstance(target, Router):
            results.append(target.transfer_accounts(s, "ann", at=at, by="ops", leads=leads))
        else:
            results.append(s.transfer_accounts("ann", target, at=at, by="ops", leads=leads))
    got, want = results
    assert got.audit == want.audit
    assert got.changes == want.changes
    assert store.snapshot().model_dump_json() == ref.snapshot().model_dump_json()
    assert [(r.kind, r.lead_id, r.data) for r in store.audit()] == [
        (r.kind, r.lead_id, r.data) for r in ref.audit()
    ]


def test_transfer_on_a_store_reads_only_the_reps_leads(make_store: Factory) -> None:
    """A store's transfer works on the departing rep's open leads, not the whole pool."""
    store = make_store()
    _owned_pool(store)
    held = {k for k, v in store.snapshot().open_leads.items() if v.rep_id == "ann"}
    res = store.transfer_accounts("ann", "dee", at=T0 + timedelta(days=1), by="ops", leads="all")
    if isinstance(store, SQLStore):
        assert set(res.state.open_leads) == held
    assert {v.rep_id for k, v in store.snapshot().open_leads.items() if k in held} == {"dee"}


def test_transfer_over_a_cap_changes_nothing_in_the_store(make_store: Factory) -> None:
    """A transfer the target's cap refuses raises and leaves the store as it was."""
    store = make_store()
    _owned_pool(store)
    store.set_reps(
        (Rep(id="ann"), Rep(id="bo"), Rep(id="cy"), Rep(id="dee", capacity=Capacity(max_open=1)))
    )
    before = store.snapshot().model_dump_json()
    with pytest.raises(CapacityExceededError, match="dee"):
        store.transfer_accounts("ann", "dee", at=T0 + timedelta(days=1), by="ops", leads="all")
    assert store.snapshot().model_dump_json() == before
