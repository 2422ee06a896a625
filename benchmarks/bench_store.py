"""Benchmark: one-lead store calls at 1,000 and at 1,000,000 open leads, per backend.

For each backend (SQLite file; PostgreSQL when ``--postgres DSN`` or
``LEADROUTE_TEST_POSTGRES`` is given) and each pool size, the store is filled
with that many open leads and a closed history (bulk SQL; 1,000 closed leads
with the smallest pool, 50,000 with the others, ``--closed``), then the script
times one-lead calls: ``router.assign`` with the full audit, the same with a
learned-fit policy (``BestFit``: its model comes from the store's per rep x
segment aggregates, not the history), that again right after another lead
closed (the model is rebuilt from the aggregates), ``record_activity``,
``close`` (which updates the aggregates), a ``reclaim`` sweep with nothing
due and one that moves exactly one lead. It prints the median per call, the
ratio of the largest pool (and history) to the smallest (the cost must not
grow with either: target <= 1.5) and, for ``assign``, the ratio to a plain
hand-written baseline: the same rows inserted and updated with the bare
driver in one transaction (a new lead row, the rep's counter, the rotation
memory, the audit row, the meta row).

Run: ``python benchmarks/bench_store.py`` (``--quick`` for 1,000 and 20,000).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from leadroute import ClosedLead, Lead, OpenLead, Rep, Router, Rule
from leadroute.lifecycle import ReclaimPolicy
from leadroute.stores import PostgresStore, SQLiteStore, SQLStore
from leadroute.stores.base import utc_text
from leadroute.strategies import BestFit, CapacityCap, RoundRobin

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
REPS = [Rep(id=f"rep{i:02d}") for i in range(20)]


INDUSTRIES = [f"industry{i}" for i in range(10)]
SOURCES = ["web", "event", "referral", "partner", "ads"]
#: the one-lead reclaim: each call's lead is due (untouched for a day), one second apart
DUE = ReclaimPolicy(working_time=False, first_touch=timedelta(days=1))


def router() -> Router:
    """The benchmark policy: capacity-capped round robin over 20 reps."""
    return Router(rules=[Rule(id="all", route=CapacityCap() >> RoundRobin())])


def fit_router() -> Router:
    """The learned-fit policy: BestFit (segment model, learned part on) over the same reps."""
    return Router(rules=[Rule(id="fit", route=CapacityCap() >> BestFit(min_history=0))])


def fit_lead(lead_id: str, i: int) -> Lead:
    """A lead of one of the history's segments."""
    return Lead(
        id=lead_id, created_at=T0, industry=INDUSTRIES[i % 10], source=SOURCES[(i // 10) % 5]
    )


def fill_history(store: SQLStore, n: int) -> None:
    """Put ``n`` closed leads into the history (bulk) and build the fit aggregates once."""
    at = T0 - timedelta(days=30)
    rows = []
    with store._lock, store._transaction(True):
        base = int(store._meta()[3])
        for i in range(n):
            c = ClosedLead(
                lead=fit_lead(f"old{i}", i * 7),
                rep_id=f"rep{i % len(REPS):02d}",
                assigned_at=at,
                closed_at=at + timedelta(days=3),
                outcome="won" if (i * 7919) % 10 < 3 + i % 4 else "lost",
                first_activity_at=at + timedelta(minutes=(i * 37) % 2000),
            )
            rows.append(
                (
                    base + i + 1,
                    c.lead.id,
                    c.rep_id,
                    c.outcome,
                    utc_text(c.closed_at),
                    c.model_dump_json(),
                )
            )
        store._executemany(
            "INSERT INTO lr_history (seq, lead_id, rep_id, outcome, closed_utc, data) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        store._execute(
            "UPDATE lr_meta SET next_seq = ?, fit_version = fit_version + 1 WHERE id = 1",
            (base + n + 1,),
        )
        store._fit_rebuild(store._history_rows())


def fill_due(store: SQLStore, n: int) -> None:
    """``n`` untouched open leads assigned one second apart (lead ``due{k}`` due at call ``k``)."""
    rows = []
    per = {r.id: 0 for r in REPS}
    with store._lock, store._transaction(True):
        base = int(store._meta()[3])
        for k in range(n):
            rep = f"rep{k % len(REPS):02d}"
            per[rep] += 1
            at = T0 + timedelta(seconds=k)
            rec = OpenLead(lead=Lead(id=f"due{k}", created_at=T0), rep_id=rep, assigned_at=at)
            rows.append(
                (f"due{k}", "open", base + k + 1, rep, utc_text(at), 1, utc_text(at), utc_text(T0),
                 rec.model_dump_json())
            )  # fmt: skip
        store._executemany(
            "INSERT INTO lr_leads (lead_id, status, seq, rep_id, assigned_utc, untouched, "
            "last_touch_utc, created_utc, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        for rep_id, count in per.items():
            store._execute(
                "UPDATE lr_loads SET open_count = open_count + ? WHERE rep_id = ?", (count, rep_id)
            )
        store._execute("UPDATE lr_meta SET next_seq = ? WHERE id = 1", (base + n + 1,))


def fill(store: SQLStore, n: int) -> None:
    """Put ``n`` open leads straight into the store's tables (bulk, with matching counters)."""
    rec = OpenLead(
        lead=Lead(id="TEMPLATE", created_at=T0, country="CN", industry="software"),
        rep_id="rep00",
        assigned_at=T0,
        first_activity_at=T0,
        last_activity_at=T0,
    )
    template = rec.model_dump_json()
    at = utc_text(T0)
    chunk = 20_000
    with store._lock, store._transaction(True):
        base = int(store._meta()[3])
        for start in range(0, n, chunk):
            rows = []
            for i in range(start, min(n, start + chunk)):
                rep = f"rep{i % len(REPS):02d}"
                data = template.replace('"TEMPLATE"', f'"bulk{i}"').replace('"rep00"', f'"{rep}"')
                rows.append((f"bulk{i}", "open", base + i + 1, rep, at, 0, at, at, data))
            store._executemany(
                "INSERT INTO lr_leads (lead_id, status, seq, rep_id, assigned_utc, untouched, "
                "last_touch_utc, created_utc, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        per = {r.id: 0 for r in REPS}
        for i in range(n):
            per[f"rep{i % len(REPS):02d}"] += 1
        for rep_id, count in per.items():
            store._execute(
                "UPDATE lr_loads SET open_count = open_count + ? WHERE rep_id = ?", (count, rep_id)
            )
        store._execute("UPDATE lr_meta SET next_seq = ? WHERE id = 1", (base + n + 1,))
    if isinstance(store, SQLiteStore):
        store._execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store._execute("ANALYZE")
    else:
        store._execute("ANALYZE")


Call = Callable[[int], object]
#: a timed call, or (an untimed setup, the timed call)
Op = Call | tuple[Call, Call]


def interleaved_ms(fns: list[Op], calls: int, start: int = 0) -> list[float]:
    """Median milliseconds of each of ``fns``, calls interleaved (so machine load hits all)."""
    times: list[list[float]] = [[] for _ in fns]
    for i in range(start, start + calls):
        for k, op in enumerate(fns):
            if isinstance(op, tuple):
                op[0](i)
                fn = op[1]
            else:
                fn = op
            t = time.perf_counter()
            fn(i)
            times[k].append(time.perf_counter() - t)
    return [statistics.median(x) * 1000 for x in times]


def baseline_call(store: SQLStore, tag: str) -> Callable[[int], None]:
    """One lead written with the bare driver: the same rows, one insert+update transaction."""
    rec = OpenLead(lead=Lead(id="B", created_at=T0), rep_id="rep00", assigned_at=T0)
    data = rec.model_dump_json()
    decision = json.dumps({"lead_id": "B", "outcome": "assigned", "steps": ["x" * 400]})
    rot = json.dumps({"turn": 1, "last_served": {r.id: 1 for r in REPS}, "credits": {}})
    at = utc_text(T0)

    def one(i: int) -> None:
        with store._transaction(True):
            seq = int(store._lock_pool()[3]) + 1
            lead_id = f"base-{tag}-{i}"
            store._execute(
                "INSERT INTO lr_leads (lead_id, status, seq, rep_id, assigned_utc, untouched, "
                "last_touch_utc, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (lead_id, "open", seq, "rep00", at, 0, at, data),
            )
            store._execute(
                "UPDATE lr_loads SET open_count = open_count + 1, days = ? WHERE rep_id = ?",
                ('{"2026-03-02":1}', "rep00"),
            )
            store._execute("UPDATE lr_rotations SET data = ? WHERE path = ?", (rot, "all:route"))
            store._execute(
                "INSERT INTO lr_audit (seq, kind, lead_id, at_utc, created_utc, rep_id, outcome, "
                "data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (seq + 1, "decision", lead_id, at, at, "rep00", "assigned", decision),
            )
            store._execute(
                "UPDATE lr_meta SET revision = revision + 1, next_seq = ? WHERE id = 1", (seq + 1,)
            )

    return one


def operations(store: SQLStore, r: Router, tag: str) -> dict[str, Op]:
    """One-lead calls of each operation (call ``i`` touches lead ``new{i}``)."""
    now = T0 + timedelta(hours=1)
    fit = fit_router()

    def reclaim_one(i: int) -> None:
        res = r.reclaim(store, T0 + timedelta(days=1, seconds=i, milliseconds=500), DUE)
        assert len(res.audit) == 1, len(res.audit)

    return {
        "assign": lambda i: r.assign(store, [Lead(id=f"new{i}", created_at=T0)], now=now),
        "assign BestFit": lambda i: fit.assign(store, [fit_lead(f"fit{i}", i)], now=now),
        "assign BestFit after a close": (
            lambda i: store.close(f"fit{i}", "won", now),
            lambda i: fit.assign(store, [fit_lead(f"fit2-{i}", i + 3)], now=now),
        ),
        "record_activity": lambda i: store.record_activity(f"new{i}", now + timedelta(minutes=1)),
        "close (+ aggregates)": lambda i: store.close(f"new{i}", "won", now),
        "reclaim (nothing due)": lambda i: r.reclaim(store, now, ReclaimPolicy(working_time=False)),
        "reclaim (one lead due)": reclaim_one,
        "baseline insert+update": baseline_call(store, tag),
    }


def run_backend(
    name: str,
    open_store: Callable[[], SQLStore],
    sizes: list[int],
    calls: int,
    closed: list[int] | None = None,
    repeat: int = 1,
) -> dict[str, list[float]]:
    """Fill one store per size, time the operations interleaved across sizes, print figures."""
    stores = []
    histories = closed or [0] * len(sizes)
    for n, h in zip(sizes, histories, strict=True):
        store = open_store()
        store.set_reps(REPS)
        r = router()
        r.assign(store, [Lead(id="warm", created_at=T0)], now=T0)
        store.record_activity("warm", T0)
        t = time.perf_counter()
        fill(store, n)
        fill_history(store, h)
        fill_due(store, calls * repeat)
        if isinstance(store, SQLiteStore):
            store._execute("ANALYZE")
        print(
            f"{name}: filled {n:,} open leads and {h:,} closed in {time.perf_counter() - t:.1f} s"
        )
        stores.append((store, operations(store, r, str(n))))
    # best of ``repeat`` rounds (each round runs every operation in turn on fresh lead ids)
    out: dict[str, list[float]] = {}
    for k in range(repeat):
        for op in stores[0][1]:
            got = interleaved_ms([ops[op] for _s, ops in stores], calls, start=k * calls)
            out[op] = (
                got if op not in out else [min(a, b) for a, b in zip(out[op], got, strict=True)]
            )
    header = " ".join(f"{n:>12,}" for n in sizes)
    best = f", best of {repeat}" if repeat > 1 else ""
    print(f"{name}: median ms per one-lead call{best} at {header} open leads   ratio")
    print(f"    {'(closed leads)':<30} " + " ".join(f"{h:>12,}" for h in histories))
    for op, figures in out.items():
        cells = " ".join(f"{f:12.3f}" for f in figures)
        print(f"    {op:<30} {cells}   {figures[-1] / figures[0]:.2f}")
    for k, n in enumerate(sizes):
        ratio = out["assign"][k] / out["baseline insert+update"][k]
        print(f"    assign / hand-written baseline at {n:,}: {ratio:.2f}")
    for store, _ops in stores:
        store.disconnect()
    return out


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="pools of 1,000 and 20,000 leads")
    parser.add_argument("--calls", type=int, default=300, help="timed calls per figure")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best median is shown")
    parser.add_argument("--postgres", default=os.environ.get("LEADROUTE_TEST_POSTGRES"))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--sizes", help="pool sizes, comma-separated (default 1000,1000000)")
    parser.add_argument(
        "--closed", help="closed history per pool size, comma-separated (default 1000,50000)"
    )
    args = parser.parse_args()
    sizes = [1_000, 20_000] if args.quick else [1_000, 1_000_000]
    if args.sizes:
        sizes = [int(x) for x in args.sizes.split(",")]
    closed = [1_000] + [50_000] * (len(sizes) - 1)
    if args.closed:
        closed = [int(x) for x in args.closed.split(",")]
    if not args.skip_sqlite:
        folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
        counter = iter(range(1000))

        def sqlite() -> SQLStore:
            return SQLiteStore(folder / f"pool{next(counter)}.db")

        run_backend("sqlite", sqlite, sizes, args.calls, closed, args.repeat)
    if args.postgres:
        dsn: str = args.postgres
        import psycopg

        pg_counter = iter(range(1000))

        def postgres() -> SQLStore:
            name = f"leadroute_bench{next(pg_counter)}"
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name}")
                conn.execute(f"CREATE DATABASE {name}")
            head, _sep, tail = dsn.rpartition("/")
            query = tail.partition("?")[2]
            return PostgresStore(f"{head}/{name}" + (f"?{query}" if query else ""))

        run_backend("postgres", postgres, sizes, args.calls, closed, args.repeat)
    else:
        print("postgres: skipped (give --postgres DSN or LEADROUTE_TEST_POSTGRES)")


if __name__ == "__main__":
    main()
