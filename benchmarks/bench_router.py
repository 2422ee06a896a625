"""Benchmark: leadroute against a plain hand-written loop of the same policy.

Policy: ``Geo() >> Industry() >> CapacityCap() >> RoundRobin()`` with the full
audit. Workload (default): 10,000 reps over 50 regions and 20 industries,
200,000 leads. Prints leads/s for both and the ratio, checks that both gave
the same assignments, then measures per-lead time at 100 and at 100,000
reps.

It also routes the same leads with ``Scorecard >> ValueTier >> BestFit``
after the core filters (learned fit on, from 5,000 closed leads) and prints
its leads/s and its ratio to the hand loop of the core policy.

Run: ``python benchmarks/bench_router.py`` (``--quick`` for a smaller run).
"""

from __future__ import annotations

import argparse
import gc
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from leadroute import Capacity, ClosedLead, Lead, PoolState, Rep, Router, Rule
from leadroute.hashing import unit_draw
from leadroute.strategies import (
    Band,
    BestFit,
    CapacityCap,
    Factor,
    Geo,
    Industry,
    RoundRobin,
    Scorecard,
    ValueTier,
)

START = datetime(2026, 11, 2, tzinfo=UTC)


@dataclass(frozen=True)
class Workload:
    """Reps and leads of one benchmark run."""

    reps: tuple[Rep, ...]
    leads: list[Lead]


def make_workload(
    n_reps: int, n_regions: int, n_industries: int, n_leads: int, max_open: int
) -> Workload:
    """Reps spread over regions and industries; leads drawn from the same grid."""
    regions = [f"R{i:04d}" for i in range(n_regions)]
    industries = [f"ind{i:02d}" for i in range(n_industries)]
    reps = tuple(
        Rep(
            id=f"rep{i:06d}",
            territories=(regions[i % n_regions],),
            industries=(
                industries[(i // n_regions) % n_industries],
                industries[(i // n_regions + 7) % n_industries],
            ),
            capacity=Capacity(max_open=max_open),
        )
        for i in range(n_reps)
    )
    leads = [
        Lead(
            id=f"L{i:07d}",
            created_at=START + timedelta(seconds=i),
            region=regions[int(unit_draw("r", i) * n_regions)],
            industry=industries[int(unit_draw("i", i) * n_industries)],
        )
        for i in range(n_leads)
    ]
    return Workload(reps, leads)


ROUTER = Router(rules=[Rule(id="main", route=Geo() >> Industry() >> CapacityCap() >> RoundRobin())])


def run_leadroute(work: Workload) -> tuple[float, list[str | None]]:
    """Seconds taken by ``Router.assign`` (full audit) and the reps chosen."""
    state = PoolState(reps=work.reps)
    t0 = time.perf_counter()
    result = ROUTER.assign(state, work.leads)
    elapsed = time.perf_counter() - t0
    return elapsed, [a.rep_id for a in result.assignments]


def run_hand_loop(work: Workload) -> tuple[float, list[str | None]]:
    """The same policy as a plain dict-and-list loop, no audit."""
    t0 = time.perf_counter()
    by_region: dict[str, list[tuple[str, frozenset[str], int]]] = {}
    for rep in work.reps:
        row = (rep.id, frozenset(rep.industries), rep.capacity.max_open or 10**9)
        for t in rep.territories:
            by_region.setdefault(t, []).append(row)
    open_count: dict[str, int] = {}
    last: dict[str, int] = {}
    turn = 0
    out: list[str | None] = [None] * len(work.leads)
    order = sorted(
        range(len(work.leads)), key=lambda i: (work.leads[i].created_at, work.leads[i].id)
    )
    for i in order:
        lead = work.leads[i]
        best: str | None = None
        best_v = 0
        for rep_id, inds, cap in by_region.get(lead.region or "", ()):
            if lead.industry not in inds or open_count.get(rep_id, 0) >= cap:
                continue
            v = last.get(rep_id, -1)
            if best is None or v < best_v:
                best, best_v = rep_id, v
        if best is not None:
            open_count[best] = open_count.get(best, 0) + 1
            last[best] = turn
            turn += 1
        out[i] = best
    return time.perf_counter() - t0, out


def compare(label: str, work: Workload) -> tuple[float, float]:
    """Run both, print leads/s and the ratio; return per-lead microseconds (leadroute, hand)."""
    lr_s, lr_out = run_leadroute(work)
    hand_s, hand_out = run_hand_loop(work)
    n = len(work.leads)
    same = sum(a == b for a, b in zip(lr_out, hand_out, strict=True))
    print(
        f"{label}: {len(work.reps):,} reps, {n:,} leads\n"
        f"  leadroute (full audit): {n / lr_s:>10,.0f} leads/s  ({lr_s * 1e6 / n:6.1f} us/lead)\n"
        f"  hand-written loop:      {n / hand_s:>10,.0f} leads/s  ({hand_s * 1e6 / n:6.1f} us/lead)\n"
        f"  ratio leadroute/hand:   {lr_s / hand_s:10.2f}x\n"
        f"  same assignments:       {same / n:10.2%}"
    )
    return lr_s * 1e6 / n, hand_s * 1e6 / n


class _GCTimer:
    """Seconds spent in the garbage collector while active (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started

    def __enter__(self) -> _GCTimer:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


def _timed_call(work: Workload, freeze: bool = False) -> tuple[float, float, float]:
    """A fresh router: (first call indexing the roster, per-lead us of the next call, of which
    in the garbage collector). ``freeze``: ``gc.freeze()`` before the timed call."""
    router = Router(rules=ROUTER.rules)
    state = PoolState(reps=work.reps)
    t0 = time.perf_counter()
    router.assign(state, work.leads[:1])  # first call: indexes the roster
    setup = time.perf_counter() - t0
    if freeze:
        gc.freeze()
    try:
        with _GCTimer() as in_gc:
            t0 = time.perf_counter()
            router.assign(state, work.leads[1:])
            elapsed = time.perf_counter() - t0
    finally:
        if freeze:
            gc.unfreeze()
    n = len(work.leads) - 1
    return setup, elapsed * 1e6 / n, in_gc.seconds * 1e6 / n


def scaling(small: int, large: int, n_leads: int, per_cell: int, repeat: int = 3) -> None:
    """Per-lead time at ``small`` and ``large`` reps, regions growing with the roster.

    The roster is indexed once per roster (the router keeps the index while
    the state's ``reps`` tuple is unchanged, as it is from call to call), so
    the first call's indexing is timed and printed apart from the per-lead time.
    Each size is measured ``repeat`` times, alternating, each time with a fresh
    router, and the best time is kept (as ``timeit`` does): single runs on a
    shared machine vary by a third.

    The time spent in Python's garbage collector is printed too: a full
    collection walks every object in the process (100,000 ``Rep`` models are
    some 450,000 of them), so at 100,000 reps one collection more or less
    inside the timed call moves the figure by a third.
    """
    print(
        f"\nScaling ({per_cell} reps per region, 20 industries, {n_leads:,} leads each, best of {repeat}):"
    )
    works = [
        make_workload(n, max(1, n // per_cell), 20, n_leads + 1, max_open=10**6)
        for n in (small, large)
    ]
    best = [math.inf, math.inf]
    setups = [0.0, 0.0]
    in_gc = [0.0, 0.0]
    for _ in range(repeat):
        for i, work in enumerate(works):
            setup, per_lead, gc_part = _timed_call(work)
            if per_lead < best[i]:
                best[i], setups[i], in_gc[i] = per_lead, setup, gc_part
    hand = [min(run_hand_loop(w)[0] for _ in range(repeat)) * 1e6 / len(w.leads) for w in works]
    for i, n in enumerate((small, large)):
        print(
            f"  {n:>7,} reps: {best[i]:6.1f} us/lead, of which garbage collection "
            f"{in_gc[i]:.1f}  (first call, indexing the roster: {setups[i] * 1e3:,.0f} ms; "
            f"hand loop {hand[i]:.1f} us/lead)"
        )
    rest = [best[i] - in_gc[i] for i in range(2)]
    print(
        f"  ratio {large:,} / {small:,} reps: leadroute {best[1] / best[0]:.2f}x (target <= 1.5x), "
        f"hand loop {hand[1] / hand[0]:.2f}x; leadroute outside the collector "
        f"{rest[1] / rest[0]:.2f}x"
    )
    # what a CRM process holding a large roster can do: move the loaded objects out of the
    # collector's walks (docs/benchmarks.md, "Large rosters")
    frozen = [min(_timed_call(w, freeze=True)[1] for _ in range(repeat)) for w in works]
    print(
        f"  with gc.freeze() after loading: {frozen[0]:.1f} / {frozen[1]:.1f} us/lead, "
        f"ratio {frozen[1] / frozen[0]:.2f}x"
    )


SCORECARD = Scorecard(
    factors=(
        Factor("industry", 50, table={f"ind{i:02d}": 5 * i for i in range(20)}, name="industry"),
        Factor(
            "value",
            50,
            ranges=((None, 10_000, 20), (10_000, 50_000, 60), (50_000, None, 100)),
            name="deal size",
        ),
    )
)
SCORING_ROUTER = Router(
    rules=[
        Rule(
            id="scored",
            route=Geo()
            >> Industry()
            >> CapacityCap()
            >> SCORECARD
            >> ValueTier(
                bands=(
                    Band(name="high", min=60, min_level=2, route=BestFit(min_history=1000)),
                    Band(name="rest", route=BestFit(min_history=1000)),
                ),
                fallthrough=True,
            ),
        )
    ]
)


def scoring_case(work: Workload, hand_us: float) -> None:
    """``Scorecard >> ValueTier >> BestFit`` after the core filters, with learned fit on."""
    reps = tuple(r.model_copy(update={"level": 1 + i % 3}) for i, r in enumerate(work.reps))
    history = tuple(
        ClosedLead(
            # past leads like the routed ones, under their own ids (a closed lead is not routed)
            lead=lead.model_copy(update={"id": f"H{lead.id}"}),
            rep_id=reps[int(unit_draw("h", i) * len(reps))].id,
            assigned_at=lead.created_at - timedelta(days=60),
            closed_at=lead.created_at - timedelta(days=50),
            outcome="won" if unit_draw("w", i) < 0.3 else "lost",
            first_activity_at=lead.created_at - timedelta(days=60, hours=-3),
        )
        for i, lead in enumerate(work.leads[:5_000])
    )
    leads = [
        lead.model_copy(update={"value": round(100_000 * unit_draw("v", lead.id), 2)})
        for lead in work.leads
    ]
    state = PoolState(reps=reps, history=history)
    t0 = time.perf_counter()
    SCORING_ROUTER.assign(state, leads)
    elapsed = time.perf_counter() - t0
    n = len(leads)
    per = elapsed * 1e6 / n
    print(
        f"\nGeo >> Industry >> CapacityCap >> Scorecard >> ValueTier >> BestFit (learned fit on, "
        f"{len(history):,} closed leads): {n / elapsed:,.0f} leads/s ({per:.1f} us/lead); "
        f"ratio to the hand loop of the core policy: {per / hand_us:.2f}x"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--quick", action="store_true", help="a smaller run (1,000 reps, 20,000 leads)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        main_work = make_workload(1_000, 50, 20, 20_000, max_open=30)
        n_scale, large = 5_000, 20_000
    else:
        main_work = make_workload(10_000, 50, 20, 200_000, max_open=30)
        n_scale, large = 20_000, 100_000
    lr, hand = compare("Geo >> Industry >> CapacityCap >> RoundRobin", main_work)
    print(f"  target: within 5x of the hand loop -> {'met' if lr / hand <= 5 else 'NOT met'}")
    scoring_case(main_work, hand)
    scaling(100, large, n_scale, per_cell=20)


if __name__ == "__main__":
    main()
