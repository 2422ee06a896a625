"""Real processes against one SQLite file and one PostgreSQL database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from leadroute import Capacity, Rep
from leadroute.stores import SQLStore, open_store

WORKER = Path(__file__).with_name("worker.py")
ROOT = Path(__file__).resolve().parents[2]
REPS = [Rep(id=f"r{i}", capacity=Capacity(max_open=25)) for i in range(8)]  # capacity 200


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    return env


def _spawn(url: str, prefix: str, count: int, batch: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), url, prefix, str(count), str(batch), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )


def _finish(procs: list[subprocess.Popen[str]]) -> list[list[dict[str, object]]]:
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=600)
        assert p.returncode == 0, stderr
        out.append([json.loads(line) for line in stdout.splitlines()])
    return out


@pytest.mark.slow
def test_eight_writers_never_overrun_a_cap(db_url: str) -> None:
    """8 processes x 200 leads, capacity 200: each lead in one place, counters exact, no overrun."""
    with open_store(db_url) as store:
        store.set_reps(REPS)
    procs = [_spawn(db_url, f"w{k}-", 200, 1) for k in range(8)]
    results = _finish(procs)
    with open_store(db_url) as store:
        state = store.snapshot()
        assert isinstance(store, SQLStore)
        rows = store.audit(kind="decision")
    ids = [f"w{k}-{i}" for k in range(8) for i in range(200)]
    for i in ids:
        assert (i in state.open_leads) + (i in state.pool) == 1, i
    assert len(state.open_leads) + len(state.pool) == 1600
    recount = Counter(o.rep_id for o in state.open_leads.values())
    for r in REPS:
        assert state.loads[r.id].open == recount[r.id]
        assert recount[r.id] <= 25
    assert len(state.open_leads) == 200
    assigned = [a for res in results for a in res if a["outcome"] == "assigned"]
    assert len(assigned) == 200
    assert len(rows) == 1600


@pytest.mark.slow
def test_same_lead_from_two_writers_is_assigned_once(db_url: str) -> None:
    """Two processes submitting the same 100 lead ids at once: one decision per lead."""
    with open_store(db_url) as store:
        store.set_reps([Rep(id=f"r{i}") for i in range(4)])
    a, b = _finish([_spawn(db_url, "s", 100, 1), _spawn(db_url, "s", 100, 1, "--reverse")])
    with open_store(db_url) as store:
        rows = store.audit(kind="decision")
        state = store.snapshot()
    per_lead = Counter(r.lead_id for r in rows)
    assert set(per_lead.values()) == {1}
    assert len(per_lead) == 100
    seen_a = {x["lead_id"]: x["rep_id"] for x in a}
    seen_b = {x["lead_id"]: x["rep_id"] for x in b}
    assert seen_a == seen_b == {k: v.rep_id for k, v in state.open_leads.items()}
    reasons = Counter(str(x["reason"]) for x in a + b)
    assert reasons == {"routed": 100, "already_open": 100}


@pytest.mark.slow
def test_killed_worker_leaves_the_last_commit(db_url: str) -> None:
    """A worker killed with SIGKILL inside a transaction leaves the store at the last commit."""
    with open_store(db_url) as store:
        store.set_reps(REPS)
    _finish([_spawn(db_url, "ok", 20, 5)])
    with open_store(db_url) as store:
        before = store.snapshot().model_dump_json()
        audit_before = len(store.audit())
    proc = _spawn(db_url, "doomed", 150, 150, "--stall")
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "stalled"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    with open_store(db_url) as store:
        assert store.snapshot().model_dump_json() == before
        assert len(store.audit()) == audit_before
    # the lock died with the worker: another writer goes on at once
    results = _finish([_spawn(db_url, "after", 5, 5)])
    assert len(results[0]) == 5
