"""Benchmark: one-lead store calls at 1,000 and at 1,000,000 open leads, per backend.

For each backend (SQLite file; PostgreSQL when ``--postgres DSN`` or
``LEADROUTE_TEST_POSTGRES`` is given) and each pool size, the store is filled
with that many open leads (bulk SQL), then the script times one-lead calls:
``router.assign`` with the full audit, ``record_activity``, ``close`` and a
``reclaim`` sweep with nothing due. It prints the median per call, the ratio
of the largest pool to the smallest (the cost must not grow with the pool:
target <= 1.5) and, for ``assign``, the ratio to a plain hand-written
baseline: the same rows inserted and updated with the bare driver in one
transaction (a new lead row, the rep's counter, the rotation memory, the
audit row, the meta row).

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

from leadroute import Lead, OpenLead, Rep, Router, Rule
from leadroute.lifecycle import ReclaimPolicy
from leadroute.stores import PostgresStore, SQLiteStore, SQLStore
from leadroute.stores.base import utc_text
from leadroute.strategies import CapacityCap, RoundRobin

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
REPS = [Rep(id=f"rep{i:02d}") for i in range(20)]


def router() -> Router:
    """The benchmark policy: capacity-capped round robin over 20 reps."""
    return Router(rules=[Rule(id="all", route=CapacityCap() >> RoundRobin())])


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
                rows.append((f"bulk{i}", "open", base + i + 1, rep, at, 0, at, data))
            store._executemany(
                "INSERT INTO lr_leads (lead_id, status, seq, rep_id, assigned_utc, untouched, "
                "last_touch_utc, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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


def interleaved_ms(fns: list[Callable[[int], object]], calls: int) -> list[float]:
    """Median milliseconds of each of ``fns``, calls interleaved (so machine load hits all)."""
    times: list[list[float]] = [[] for _ in fns]
    for i in range(calls):
        for k, fn in enumerate(fns):
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
                (lead_id, "open", seq, "rep00", at, 1, at, data),
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


def operations(store: SQLStore, r: Router, tag: str) -> dict[str, Callable[[int], object]]:
    """One-lead calls of each operation (call ``i`` touches lead ``new{i}``)."""
    now = T0 + timedelta(hours=1)
    return {
        "assign": lambda i: r.assign(store, [Lead(id=f"new{i}", created_at=T0)], now=now),
        "record_activity": lambda i: store.record_activity(f"new{i}", now + timedelta(minutes=1)),
        "close": lambda i: store.close(f"new{i}", "won", now),
        "reclaim (nothing due)": lambda i: r.reclaim(store, now, ReclaimPolicy(working_time=False)),
        "baseline insert+update": baseline_call(store, tag),
    }


def run_backend(
    name: str, open_store: Callable[[], SQLStore], sizes: list[int], calls: int
) -> dict[str, list[float]]:
    """Fill one store per size, time the operations interleaved across sizes, print figures."""
    stores = []
    for n in sizes:
        store = open_store()
        store.set_reps(REPS)
        r = router()
        r.assign(store, [Lead(id="warm", created_at=T0)], now=T0)
        t = time.perf_counter()
        fill(store, n)
        print(f"{name}: filled {n:,} open leads in {time.perf_counter() - t:.1f} s")
        stores.append((store, operations(store, r, str(n))))
    out: dict[str, list[float]] = {}
    for op in stores[0][1]:
        out[op] = interleaved_ms([ops[op] for _s, ops in stores], calls)
    header = " ".join(f"{n:>12,}" for n in sizes)
    print(f"{name}: median ms per one-lead call at {header} open leads   ratio")
    for op, figures in out.items():
        cells = " ".join(f"{f:12.3f}" for f in figures)
        print(f"    {op:<24} {cells}   {figures[-1] / figures[0]:.2f}")
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
    parser.add_argument("--postgres", default=os.environ.get("LEADROUTE_TEST_POSTGRES"))
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--sizes", help="pool sizes, comma-separated (default 1000,1000000)")
    args = parser.parse_args()
    sizes = [1_000, 20_000] if args.quick else [1_000, 1_000_000]
    if args.sizes:
        sizes = [int(x) for x in args.sizes.split(",")]
    if not args.skip_sqlite:
        folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
        counter = iter(range(1000))

        def sqlite() -> SQLStore:
            return SQLiteStore(folder / f"pool{next(counter)}.db")

        run_backend("sqlite", sqlite, sizes, args.calls)
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

        run_backend("postgres", postgres, sizes, args.calls)
    else:
        print("postgres: skipped (give --postgres DSN or LEADROUTE_TEST_POSTGRES)")


if __name__ == "__main__":
    main()
