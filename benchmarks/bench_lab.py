"""Benchmark: simulate a year of historical leads through a policy.

Workload (default): 1,000 reps over 50 regions and 20 industries, 1,000,000
leads spread over 365 days, policy ``Geo() >> Industry() >> CapacityCap() >>
RoundRobin()``, leads closing 7 days after assignment, daily clock steps.
Target: under a minute on one core. Prints the time and leads/s.

Run: ``python benchmarks/bench_lab.py`` (``--leads 100000`` for a shorter run).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from leadroute import Capacity, Lead, PoolState, Rep, Router, Rule, simulate
from leadroute.hashing import unit_draw
from leadroute.strategies import CapacityCap, Geo, Industry, RoundRobin

START = datetime(2025, 1, 1, tzinfo=UTC)


def workload(n_reps: int, n_leads: int, days: int) -> tuple[PoolState, list[Lead]]:
    """Reps over 50 regions x 20 industries and leads spread evenly over ``days``."""
    regions = [f"R{i:02d}" for i in range(50)]
    industries = [f"ind{i:02d}" for i in range(20)]
    reps = tuple(
        Rep(
            id=f"rep{i:05d}",
            territories=(regions[i % 50],),
            industries=(industries[(i // 50) % 20], industries[(i // 50 + 7) % 20]),
            capacity=Capacity(max_open=60),
        )
        for i in range(n_reps)
    )
    span = days * 86400
    leads = [
        Lead(
            id=f"L{i:07d}",
            created_at=START + timedelta(seconds=i * span // n_leads),
            region=regions[int(unit_draw("r", i) * 50)],
            industry=industries[int(unit_draw("i", i) * 20)],
        )
        for i in range(n_leads)
    ]
    return PoolState(reps=reps), leads


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="simulate a year of leads")
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=1_000)
    args = parser.parse_args(argv)
    state, leads = workload(args.reps, args.leads, 365)
    router = Router(
        rules=[Rule(id="main", route=Geo() >> Industry() >> CapacityCap() >> RoundRobin())]
    )
    t0 = time.perf_counter()
    report = simulate(router, state, leads, step=timedelta(days=1), close_after=timedelta(days=7))
    elapsed = time.perf_counter() - t0
    print(
        f"simulate: {args.leads:,} leads over {args.reps:,} reps, 365 daily steps: {elapsed:.1f} s "
        f"({args.leads / elapsed:,.0f} leads/s); target < 60 s -> {'met' if elapsed < 60 else 'NOT met'}"
    )
    print(report.summary())


if __name__ == "__main__":
    main()
