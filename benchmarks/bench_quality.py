"""Routing quality on real leads: expected conversions against the exact optimum, and fairness.

The experiment of issue 12, reproducible from the X Education data set
(``../shared/data/x-education-leads.csv``; skipped with a message when absent):

* the 9,237 leads in time order (``Lead Number``), 40 a day; Specialization is
  the segment (``industry``), Lead Source the ``source``, and Lead Origin,
  Last Activity and occupation lead attributes;
* a simulated team of 20 reps whose true conversion probability for lead i is
  ``sigmoid(logit(b_i) + u_rep + v_rep,segment)``: ``b_i`` the lead's base
  propensity (the smoothed real conversion rate of its attribute cell, from
  the whole file), ``u ~ N(0, 0.3 s)``, ``v ~ N(0, 0.5 s)`` drawn from a
  stable hash of the seed -- hidden from the policies, known to the
  measurement. The spread ``s`` (``--spread``) defaults to 0.5: the spread at
  which rotation reaches 83.5% of the optimum over 5 seeds, as in the issue's
  own measurement (83.6%); the issue does not state its spread, and rotation is
  the one policy-free figure that pins it down. ``--spread 1`` is the wider
  team of the first version of this benchmark (rotation at 73%);
* the first 60% is history, worked by rotation, outcomes drawn from the truth;
  the rest is the test stream, routed one day's batch at a time (the "whole
  stream" rows route it in one call: a plan over the whole stream, which knows
  the future arrivals but not their outcomes);
* caps: 1.2x an even share of the test stream per rep (a period cap for the
  greedy policies, ``max_share=1.2`` for BatchFit);
* expected conversions are the sum of the true probabilities of the chosen
  reps; the optimum is the exact solver on the true probabilities with the
  same caps over the whole stream (it knows the future; no policy can).

Run: ``python benchmarks/bench_quality.py [--seeds 5] [--spread 0.5] [--timings]``;
``--incremental`` prints only the per-call cost of a one-lead assign with 50,000 closed leads.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from leadroute import Capacity, ClosedLead, Lead, PoolState, Rep, Router, Rule
from leadroute.hashing import unit_draw
from leadroute.lab import gini
from leadroute.logit import _CACHE as logit_cache
from leadroute.optimize import solve
from leadroute.strategies import BatchFit, BestFit, CapacityCap, RoundRobin, Strategy

_ROOT = Path(__file__).resolve().parents[1]
#: where the data set is looked for: ../shared/data next to the checkout (or a worktree's parent)
DATA_PLACES = [
    p / "shared" / "data" / "x-education-leads.csv" for p in (_ROOT.parent, _ROOT.parent.parent)
]
REPS = 20
PER_DAY = 40
START = datetime(2025, 1, 1, tzinfo=UTC)
_N = statistics.NormalDist()


def _clean(v: str) -> str:
    v = (v or "").strip()
    return "unknown" if v in ("", "Select") else v


def load(path: Path) -> tuple[list[Lead], list[float]]:
    """The leads in time order and each lead's base propensity."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: int(r["Lead Number"]))
    cell_of = [
        (
            _clean(r["Lead Origin"]),
            _clean(r["Lead Source"]),
            _clean(r["Last Activity"]),
            _clean(r["What is your current occupation"]),
        )
        for r in rows
    ]
    y = [int(r["Converted"]) for r in rows]
    overall = sum(y) / len(y)
    wins: Counter[tuple[str, ...]] = Counter()
    seen: Counter[tuple[str, ...]] = Counter()
    for c, v in zip(cell_of, y, strict=True):
        wins[c] += v
        seen[c] += 1
    base = [min(0.97, max(0.03, (wins[c] + 20 * overall) / (seen[c] + 20))) for c in cell_of]
    leads = [
        Lead(
            id=r["Prospect ID"],
            created_at=START + timedelta(minutes=i * 24 * 60 / PER_DAY),
            industry=_clean(r["Specialization"]),
            source=c[1],
            attributes={"origin": c[0], "activity": c[2], "occupation": c[3]},
        )
        for i, (r, c) in enumerate(zip(rows, cell_of, strict=True))
    ]
    return leads, base


class Truth:
    """The hidden skills of a simulated team."""

    def __init__(
        self, seed: int, reps: list[str], segments: list[str], spread: float = 0.5
    ) -> None:
        def normal(*parts: object) -> float:
            return _N.inv_cdf(min(1 - 1e-12, max(1e-12, unit_draw(seed, *parts))))

        self.rep = {r: spread * 0.3 * normal("rep", r) for r in reps}
        self.cell = {(r, g): spread * 0.5 * normal("cell", r, g) for r in reps for g in segments}

    def p(self, lead: Lead, base: float, rep: str) -> float:
        z = math.log(base / (1 - base)) + self.rep[rep] + self.cell[(rep, str(lead.industry))]
        return 1 / (1 + math.exp(-z))


def run(route: Strategy, state: PoolState, stream: list[Lead]) -> dict[str, str | None]:
    """Route ``stream`` one day at a time; the rep per lead id."""
    router = Router(rules=[Rule(id="all", route=route)])
    out: dict[str, str | None] = {}
    day: list[Lead] = []
    for lead in [*stream, None]:
        if lead is not None and (not day or lead.created_at.date() == day[0].created_at.date()):
            day.append(lead)
            continue
        result = router.assign(state, day, audit="outcome")
        for a in result.assignments:
            out[a.lead_id] = a.rep_id
        state = result.state
        day = [] if lead is None else [lead]
    return out


def run_whole(route: Strategy, state: PoolState, stream: list[Lead]) -> dict[str, str | None]:
    """Route the whole ``stream`` in one call (a plan over the whole stream); the rep per lead id."""
    result = Router(rules=[Rule(id="all", route=route)]).assign(state, stream, audit="outcome")
    return {a.lead_id: a.rep_id for a in result.assignments}


def experiment(
    seed: int, leads: list[Lead], base: list[float], spread: float = 0.5
) -> list[tuple[str, float, float, float]]:
    reps = [f"rep{k:02d}" for k in range(REPS)]
    segments = sorted({str(x.industry) for x in leads})
    truth = Truth(seed, reps, segments, spread)
    cut = int(len(leads) * 0.6)
    hist, test = leads[:cut], leads[cut:]
    base_of = {x.id: b for x, b in zip(leads, base, strict=True)}
    history = tuple(
        ClosedLead(
            lead=x,
            rep_id=reps[i % REPS],
            assigned_at=x.created_at,
            closed_at=x.created_at + timedelta(days=7),
            outcome="won"
            if unit_draw(seed, "outcome", x.id) < truth.p(x, base_of[x.id], reps[i % REPS])
            else "lost",
        )
        for i, x in enumerate(hist)
    )
    cap = math.ceil(1.2 * len(test) / REPS)
    team = tuple(Rep(id=r, capacity=Capacity(max_per_period=cap, period_days=366)) for r in reps)
    state = PoolState(reps=team, history=history, as_of=test[0].created_at)
    probs = [[truth.p(x, base_of[x.id], r) for r in reps] for x in test]
    best = solve([[-p for p in row] for row in probs], [cap] * REPS)
    optimum = -best.objective
    policies: list[tuple[str, Strategy] | tuple[str, Strategy, bool]] = [
        ("RoundRobin", CapacityCap() >> RoundRobin()),
        ("BestFit, default weights", CapacityCap() >> BestFit()),
        ("BestFit, conversion weight only", CapacityCap() >> BestFit(weights={"conversion": 1.0})),
        (
            "pooled model, batch (BatchFit horizon=400)",
            CapacityCap() >> BatchFit(lead_by=LEAD_BY, horizon=400),
        ),
        (
            "logit model, greedy (BestFit model_kind='logit')",
            CapacityCap()
            >> BestFit(weights={"conversion": 1.0}, model_kind="logit", lead_by=LOGIT_BY),
        ),
        (
            "logit model, batch, 1.2x caps (horizon=400)",
            CapacityCap() >> BatchFit(model_kind="logit", lead_by=LOGIT_BY, horizon=400),
        ),
        (
            "logit model, batch, even caps (max_share=1)",
            CapacityCap()
            >> BatchFit(model_kind="logit", lead_by=LOGIT_BY, horizon=400, max_share=1.0),
        ),
        (
            "logit model, batch, no rep x source (rep_by=())",
            CapacityCap() >> BatchFit(model_kind="logit", lead_by=LOGIT_BY, horizon=400, rep_by=()),
        ),
        (
            "logit, whole stream, one call, even caps",
            CapacityCap() >> BatchFit(model_kind="logit", lead_by=LOGIT_BY, max_share=1.0),
            True,
        ),
        (
            "logit, whole stream, one call, even caps, rep_by=()",
            CapacityCap()
            >> BatchFit(model_kind="logit", lead_by=LOGIT_BY, max_share=1.0, rep_by=()),
            True,
        ),
    ]
    rows = []
    index = {r: k for k, r in enumerate(reps)}
    for name, route, *whole in policies:
        got = run_whole(route, state, test) if whole else run(route, state, test)
        exp = sum(
            probs[i][index[rep]] for i, x in enumerate(test) if (rep := got.get(x.id)) is not None
        )
        counts = Counter(r for r in got.values() if r is not None)
        rows.append((name, exp, exp / optimum, gini([counts.get(r, 0) for r in reps])))
    rows.append(("optimum (exact solver, knows the truth)", optimum, 1.0, 0.0))
    return rows


LEAD_BY = ("source", "attributes.activity")
#: the logistic model's lead attributes: every attribute the data set has (the segment is in too)
LOGIT_BY = ("attributes.origin", "source", "attributes.activity", "attributes.occupation")


def timings() -> None:
    """Solver timings on random instances (caps 1.2x an even share)."""
    print("\nsolver timings (random costs, caps 1.2x even share)")
    print(
        f"{'leads':>6} {'reps':>5} {'python s':>9} {'scipy s':>9} {'greedy s':>9} {'same objective':>15}"
    )
    for n, m in ((1000, 20), (1000, 200), (10000, 20), (10000, 200)):
        costs = [[-unit_draw(7, i, j) for j in range(m)] for i in range(n)]
        caps = [math.ceil(1.2 * n / m)] * m
        t = time.perf_counter()
        py = solve(costs, caps)
        t_py = time.perf_counter() - t
        t = time.perf_counter()
        _greedy(costs, caps)
        t_g = time.perf_counter() - t
        slots = n * min(n, sum(caps))
        if slots <= 20_000_000:
            t = time.perf_counter()
            sp = solve(costs, caps, method="scipy")
            t_sp = f"{time.perf_counter() - t:9.2f}"
            same = str(abs(sp.objective - py.objective) < 1e-6)
        else:
            t_sp, same = f"{'(skipped)':>9}", f"matrix {n}x{sum(caps) + n}"
        print(f"{n:>6} {m:>5} {t_py:9.2f} {t_sp} {t_g:9.2f} {same:>15}")


def incremental(printer: Callable[[str], None] = print, closed: int = 50_000) -> None:
    """One-lead assigns with ``closed`` closed leads and one new close between calls.

    Per call: the segment model (relearned every call), the pooled model
    (extended), the logistic model before (relearned every call: its cache is
    cleared before each call, as a grown history did before the incremental
    cache) and after (extended, refitted on the schedule only), beside a plain
    baseline measured in the same run: a hand-written loop picking the rep with
    the highest rate from a precomputed table, and RoundRobin through the same
    router (what a call costs without any model).
    """
    reps = tuple(Rep(id=f"r{k}") for k in range(20))
    history = []
    for i in range(closed):
        x = Lead(
            id=f"h{i}",
            created_at=START + timedelta(minutes=i),
            industry=f"s{i % 19}",
            source=f"src{i % 7}",
        )
        history.append(
            ClosedLead(
                lead=x,
                rep_id=f"r{(i * 7 + i // 20) % 20}",
                assigned_at=x.created_at,
                closed_at=x.created_at + timedelta(minutes=1),
                outcome="won" if unit_draw(i) < 0.3 else "lost",
            )
        )
    later = START + timedelta(days=60)
    calls = 12
    # the plain baseline: a precomputed (rep, segment) -> rate table and an argmax per lead
    table = {(r.id, f"s{g}"): unit_draw("rate", r.id, g) for r in reps for g in range(19)}
    t = time.perf_counter()
    for j in range(1000):
        seg = f"s{j % 19}"
        max(reps, key=lambda r: table[(r.id, seg)])
    plain = (time.perf_counter() - t) / 1000 * 1000
    printer(
        f"\none-lead assign, {closed:,} closed leads, one new close between calls "
        f"(ms per call, median of {calls - 1} after the first)"
    )
    printer(f"  plain baseline (argmax over a rate table, no router): {plain:.4f}")
    cases: list[tuple[str, Strategy, bool]] = [
        ("RoundRobin (no model)", RoundRobin(), False),
        ("BestFit(model_kind='segment'), relearned", BestFit(), False),
        ("BestFit(model_kind='pooled'), extended", BestFit(model_kind="pooled"), False),
        ("BestFit(model_kind='logit'), before: relearned", BestFit(model_kind="logit"), True),
        ("BestFit(model_kind='logit'), after: extended", BestFit(model_kind="logit"), False),
    ]
    base_med = 0.0
    for name, route, cold in cases:
        state = PoolState(reps=reps, history=tuple(history[:-calls]))
        router = Router(rules=[Rule(id="a", route=route)])
        times = []
        for j in range(calls):
            x = Lead(id=f"n{j}", created_at=later, industry="s1", source="src1")
            if cold:
                logit_cache.clear()
            t = time.perf_counter()
            result = router.assign(state, [x])
            times.append((time.perf_counter() - t) * 1000)
            state = result.state.model_copy(
                update={"history": (*state.history, history[-calls + j])}
            )
        med = statistics.median(times[1:])
        base_med = base_med or med
        printer(
            f"  {name:<48} first {times[0]:7.1f}, then {med:7.2f} "
            f"({med / base_med:5.2f}x RoundRobin, {med / plain:6,.0f}x the plain baseline)"
        )


def _greedy(costs: list[list[float]], caps: list[int]) -> list[int]:
    """The plain baseline: each lead its cheapest rep with room, in order."""
    left = list(caps)
    out = []
    for row in costs:
        j = min((c, j) for j, c in enumerate(row) if left[j] > 0)[1]
        left[j] -= 1
        out.append(j)
    return out


def main(argv: list[str] | None = None, printer: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--spread", type=float, default=0.5, help="scale of the hidden skill spread (see above)"
    )
    parser.add_argument("--first-seed", type=int, default=1, help="run seeds from this one")
    parser.add_argument("--timings", action="store_true")
    parser.add_argument(
        "--incremental",
        action="store_true",
        help="only the per-call cost of a one-lead assign with 50,000 closed leads",
    )
    parser.add_argument("--csv", type=Path, default=None, help="the X Education CSV")
    args = parser.parse_args(argv)
    if args.incremental:
        incremental(printer)
        return 0
    found = [args.csv] if args.csv else [p for p in DATA_PLACES if p.exists()]
    if not found or not found[0].exists():
        where = args.csv or DATA_PLACES[0]
        printer(f"skipped: {where} not found (the X Education data set is not shipped)")
        if args.timings:
            timings()
        return 0
    leads, base = load(found[0])
    results: dict[str, list[tuple[float, float, float]]] = {}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        t = time.perf_counter()
        for name, conv_, share_, g in experiment(seed, leads, base, args.spread):
            results.setdefault(name, []).append((conv_, share_, g))
        print(f"seed {seed} done in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    printer(
        f"{len(leads)} leads, {REPS} reps, {args.seeds} seeds, skill spread {args.spread:g}; "
        "mean (sd) over seeds"
    )
    printer(f"{'policy':<52} {'expected conv.':>14} {'% of optimum':>14} {'gini':>6}")
    for name, xs in results.items():
        conv = statistics.fmean(x[0] for x in xs)
        pct = [x[1] * 100 for x in xs]
        sd = statistics.stdev(pct) if len(pct) > 1 else 0.0
        g = statistics.fmean(x[2] for x in xs)
        printer(f"{name:<52} {conv:14.1f} {statistics.fmean(pct):8.1f} ({sd:3.1f}) {g:6.3f}")
    if args.timings:
        timings()
        incremental(printer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
