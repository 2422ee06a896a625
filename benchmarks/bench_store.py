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


def median_ms(fn: Callable[[int], object], calls: int) -> float:
    """The median wall time of ``fn(i)`` over ``calls`` calls, in milliseconds."""
    times = []
    for i in range(calls):
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def baseline(store: SQLStore, calls: int, tag: str) -> float:
    """The same rows written with the bare driver: one insert+update transaction per lead."""
    rec = OpenLead(lead=Lead(id="B", created_at=T0), rep_id="rep00", assigned_at=T0)
    data = rec.model_dump_json()
    decision = json.dumps({"lead_id": "B", "outcome": "assigned", "steps": ["x" * 400]})
    rot = json.dumps({"turn": 1, "last_served": {r.id: 1 for r in REPS}, "credits": {}})
    at = utc_text(T0)

    def one(i: int) -> None:
        with store._transaction(True):
            store._lock_pool()
            meta = store._meta()
            seq = int(meta[3]) + 1
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

    return median_ms(one, calls)


def measure(store: SQLStore, r: Router, calls: int, tag: str) -> dict[str, float]:
    """The median milliseconds per one-lead call of each operation."""
    now = T0 + timedelta(hours=1)
    return {
        "assign": median_ms(
            lambda i: r.assign(store, [Lead(id=f"new{i}", created_at=T0)], now=now), calls
        ),
        "record_activity": median_ms(
            lambda i: store.record_activity(f"new{i}", now + timedelta(minutes=1)), calls
        ),
        "close": median_ms(lambda i: store.close(f"new{i}", "won", now), calls),
        "reclaim (nothing due)": median_ms(
            lambda i: r.reclaim(store, now, ReclaimPolicy(working_time=False)), calls
        ),
        "baseline insert+update": baseline(store, calls, tag),
    }


def run_backend(
    name: str, open_store: Callable[[], SQLStore], sizes: list[int], calls: int
) -> None:
    """Print the figures of one backend."""
    results: dict[int, dict[str, float]] = {}
    for n in sizes:
        store = open_store()
        store.set_reps(REPS)
        r = router()
        r.assign(store, [Lead(id="warm", created_at=T0)], now=T0)
        t = time.perf_counter()
        fill(store, n)
        filled = time.perf_counter() - t
        figures = measure(store, r, calls, str(n))
        results[n] = figures
        print(f"{name}: {n:>9,} open leads (filled in {filled:.1f} s)")
        for k, v in figures.items():
            print(f"    {k:<24} median {v:7.3f} ms per call")
        print(
            f"    assign / baseline        {figures['assign'] / figures['baseline insert+update']:.2f}"
        )
        store.disconnect()
    small, large = results[sizes[0]], results[sizes[-1]]
    for k in small:
        print(f"{name}: {k:<24} {sizes[-1]:,} / {sizes[0]:,} open leads: {large[k] / small[k]:.2f}")


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

        def postgres() -> SQLStore:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS leadroute_bench")
                conn.execute("CREATE DATABASE leadroute_bench")
            head, _sep, tail = dsn.rpartition("/")
            query = tail.partition("?")[2]
            return PostgresStore(f"{head}/leadroute_bench" + (f"?{query}" if query else ""))

        run_backend("postgres", postgres, sizes, args.calls)
    else:
        print("postgres: skipped (give --postgres DSN or LEADROUTE_TEST_POSTGRES)")


if __name__ == "__main__":
    main()
