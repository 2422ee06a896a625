"""The live report gives the lab's figures for the decisions in a store."""

from __future__ import annotations

from datetime import timedelta

from leadroute import Capacity, Rep, Router, Rule
from leadroute.stores import MemoryStore
from leadroute.stores.report import live_report
from leadroute.strategies import CapacityCap, RoundRobin
from tests.conftest import T0, lead
from tests.stores.conftest import Factory


def _filled(make_store: Factory) -> MemoryStore | object:
    store = make_store()
    store.set_reps([Rep(id="ann", capacity=Capacity(max_open=2)), Rep(id="bo")])
    router = Router(rules=[Rule(id="all", route=CapacityCap() >> RoundRobin())])
    for k in range(3):
        leads = [lead(f"d{k}-{i}", 60 * k) for i in range(2)]
        router.assign(store, leads, now=T0 + timedelta(hours=k, minutes=30))
    store.close("d0-0", "won", T0 + timedelta(hours=5))
    store.close("d0-1", "lost", T0 + timedelta(hours=5))
    return store


def test_counts_shares_and_waits(make_store: Factory) -> None:
    """Counts per rep, shares, cap hits and time to assignment come from the audit."""
    store = _filled(make_store)
    report = live_report(store, T0)  # type: ignore[arg-type]
    assert report.leads == 6
    assert report.assigned == 6
    assert report.per_rep["ann"].count == 2
    assert report.per_rep["bo"].count == 4
    assert report.cap_hits == {"capacity": 3}
    assert report.wait_minutes["median"] == 30.0


def test_conversions_in_the_notes(make_store: Factory) -> None:
    """Leads closed in the period show as conversions."""
    report = live_report(_filled(make_store), T0)  # type: ignore[arg-type]
    assert "conversions: 1 won of 2 closed (50.0%)" in report.notes


def test_period_filters_decisions(make_store: Factory) -> None:
    """Only decisions inside ``since <= at < until`` count."""
    store = _filled(make_store)
    report = live_report(store, T0 + timedelta(hours=1), T0 + timedelta(hours=2))  # type: ignore[arg-type]
    assert report.leads == 2
