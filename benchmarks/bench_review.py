"""Benchmark: review by importance (``ManualReview(top=...)``) against a sampled review.

Workload (default): 20 reps, 50,000 leads two minutes apart, each with a value;
``ManualReview(top=0.05, window=30 days) | RoundRobin()`` (the top 5% by value
in a rolling window, ranked on a sorted window slid from lead to lead) against
the baseline ``ManualReview(sample=0.05) | RoundRobin()`` (a hash draw per
lead). Prints both times, the ratio and how many leads went to review.

Run: ``python benchmarks/bench_review.py`` (``--leads 10000`` for a shorter run).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from leadroute import Lead, PoolState, Rep, Router, Rule
from leadroute.strategies import ManualReview, RoundRobin

START = datetime(2026, 1, 1, tzinfo=UTC)


def run(route: object, state: PoolState, leads: list[Lead]) -> tuple[float, int]:
    """Seconds to route ``leads`` (outcome audit) and the number sent to review."""
    router = Router(rules=[Rule(id="r", route=route)])
    t0 = time.perf_counter()
    result = router.assign(state, leads, audit="outcome")
    spent = time.perf_counter() - t0
    return spent, sum(a.outcome == "manual_review" for a in result.assignments)


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=50_000)
    parser.add_argument("--window-days", type=int, default=30)
    args = parser.parse_args()
    state = PoolState(reps=tuple(Rep(id=f"rep{i:02d}") for i in range(20)))
    leads = [
        Lead(
            id=f"L{i:07d}",
            created_at=START + timedelta(minutes=2 * i),
            value=float((i * 7919) % 10_000),
        )
        for i in range(args.leads)
    ]
    window = timedelta(days=args.window_days)
    base, n_base = run(ManualReview(sample=0.05) | RoundRobin(), state, leads)
    top, n_top = run(ManualReview(top=0.05, window=window) | RoundRobin(), state, leads)
    print(f"{args.leads:,} leads, window {args.window_days} days")
    print(f"  sampled 5% (baseline): {base:.2f} s, {n_base:,} reviewed")
    print(f"  top 5% by value:       {top:.2f} s, {n_top:,} reviewed")
    print(f"  ratio top / sampled:   {top / base:.2f}")


if __name__ == "__main__":
    main()
