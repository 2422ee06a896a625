"""The assignments and next states of a fixed workload, pinned by hash.

A refactor must leave these byte-identical; a change that an issue names updates the hashes
in the same commit and says so in the CHANGELOG.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from leadroute import Capacity, Lead, PoolState, ReclaimPolicy, Rep, Router, Rule
from leadroute.demo import sample_leads, sample_router, sample_state
from leadroute.hashing import unit_draw
from leadroute.strategies import CapacityCap, Geo, Industry, RoundRobin

ZONES = ("Asia/Shanghai", "America/Los_Angeles", "Europe/Berlin", "Australia/Lord_Howe", "UTC")


def _digest(*texts: str) -> str:
    h = hashlib.sha256()
    for text in texts:
        h.update(text.encode("utf-8"))
        h.update(b"\x1e")
    return h.hexdigest()[:32]


def demo_digest() -> str:
    """The demo policy over 300 sample leads, then a reclaim sweep two days later."""
    router = sample_router()
    result = router.assign(sample_state(), sample_leads(300))
    sweep = router.reclaim(
        result.state,
        datetime(2026, 11, 25, 1, tzinfo=UTC),
        ReclaimPolicy(first_touch=timedelta(hours=2), working_time=False, max_reassignments=1),
    )
    return _digest(
        *(a.model_dump_json() for a in result.assignments),
        result.state.model_dump_json(),
        *(a.model_dump_json() for a in sweep.assignments),
        sweep.state.model_dump_json(),
    )


def chained_digest() -> str:
    """Ten chained calls over 400 reps in five time zones with daily and period caps across DST."""
    regions = [f"R{i:02d}" for i in range(10)]
    industries = [f"ind{i}" for i in range(5)]
    reps = tuple(
        Rep(
            id=f"rep{i:04d}",
            territories=(regions[i % 10],),
            industries=(industries[(i // 10) % 5], industries[(i // 10 + 2) % 5]),
            capacity=Capacity(max_open=12, max_per_day=5, max_per_period=40),
            timezone=ZONES[i % 5],
        )
        for i in range(400)
    )
    router = Router(
        rules=[Rule(id="main", route=Geo() >> Industry() >> CapacityCap() >> RoundRobin())]
    )
    state = PoolState(reps=reps)
    start = datetime(2026, 3, 25, tzinfo=UTC)
    parts: list[str] = []
    for call in range(10):
        batch = [
            Lead(
                id=f"B{call}-{i:04d}",
                created_at=start + timedelta(hours=call * 20, seconds=i * 7),
                region=regions[int(unit_draw("r", call, i) * 10)],
                industry=industries[int(unit_draw("i", call, i) * 5)],
            )
            for i in range(300)
        ]
        result = router.assign(state, batch)
        parts.extend(a.model_dump_json() for a in result.assignments)
        state = result.state
        for lead_id in sorted(state.open_leads)[:40]:
            closed_at = state.open_leads[lead_id].assigned_at + timedelta(hours=2)
            state = state.close(lead_id, "won", closed_at)
    parts.append(state.model_dump_json())
    return _digest(*parts)


def test_demo_workload_is_pinned() -> None:
    """The demo workload's assignments and next states have not changed."""
    assert demo_digest() == DEMO


def test_chained_workload_is_pinned() -> None:
    """Ten chained calls give the same assignments and final state."""
    assert chained_digest() == CHAINED


DEMO = "a368cea0e12b4db3c006b56daa16aaaf"
CHAINED = "e1bf89cf07b8fc08803232cb48bcaf00"
