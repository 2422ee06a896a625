"""A worker process for the store concurrency tests (run as a script).

Usage: ``worker.py URL PREFIX COUNT BATCH [--stall]``: routes COUNT leads with
ids ``PREFIX0..`` in batches of BATCH and prints one JSON line per
assignment. ``--stall`` prints ``stalled`` inside the first transaction just
before its commit and sleeps (so the test can kill it there).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta

from leadroute import Lead, Router, Rule
from leadroute.stores import SQLStore, open_store
from leadroute.strategies import CapacityCap, RoundRobin

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def router() -> Router:
    """The policy every worker uses: capacity-capped round robin."""
    return Router(rules=[Rule(id="all", route=CapacityCap() >> RoundRobin())])


def main(argv: list[str]) -> int:
    """Route the leads; print the assignments."""
    url, prefix, count, batch = argv[0], argv[1], int(argv[2]), int(argv[3])
    store = open_store(url)
    if "--stall" in argv:
        assert isinstance(store, SQLStore)

        def stall() -> None:
            print("stalled", flush=True)
            time.sleep(120)

        store._before_commit = stall
    ids = [f"{prefix}{i}" for i in range(count)]
    if "--reverse" in argv:
        ids.reverse()
    r = router()
    for start in range(0, count, batch):
        leads = [
            Lead(id=i, created_at=T0 + timedelta(seconds=n))
            for n, i in enumerate(ids[start : start + batch])
        ]
        result = r.assign(store, leads, now=T0 + timedelta(hours=1))
        for a in result.assignments:
            print(json.dumps(a.model_dump(mode="json")), flush=True)
    store.disconnect()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
