"""Stores read and record owners under the router's account-matcher keys."""

from __future__ import annotations

from datetime import timedelta

from leadroute import AccountMatcher, Rep, Router, Rule
from leadroute.strategies import Ownership, RoundRobin
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
