"""PostgreSQL: a lost connection is reopened and the call retried, with the store left exact.

Real drops: the backend is terminated (``pg_terminate_backend``) between calls
and in the middle of a call, and a throwaway cluster is restarted under a
connected store. A lost acknowledgement of a commit (the commit went through,
the client never heard) is simulated after a real commit.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from leadroute import Lead, Rep, Router, Rule
from leadroute.stores import MemoryStore, PostgresStore, StoreError
from leadroute.strategies import RoundRobin
from tests.conftest import T0
from tests.stores.conftest import Cluster, start_cluster

psycopg = pytest.importorskip("psycopg")

REPS = [Rep(id="ann"), Rep(id="bo"), Rep(id="cy")]
ROUTER = Router(rules=[Rule(id="all", route=RoundRobin())])


def _lead(i: int) -> Lead:
    return Lead(id=f"L{i}", created_at=T0)


def _kill(admin_dsn: str, store: PostgresStore) -> None:
    """Terminate the server process serving ``store``'s connection."""
    pid = store._conn.info.backend_pid
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    for _ in range(100):  # until the server has dropped it
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            if not admin.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)
            ).fetchall():
                return
        time.sleep(0.02)


def _script(
    store: PostgresStore | MemoryStore, between: Callable[[], None] | None = None
) -> list[str]:
    """A few calls of each kind; ``between`` (a callable) runs before each call."""
    out: list[str] = []
    calls: list[Callable[[], object]] = [
        lambda: store.set_reps(REPS),
        lambda: out.extend(
            a.model_dump_json()
            for a in ROUTER.assign(store, [_lead(1), _lead(2)], now=T0).assignments
        ),
        lambda: store.record_activity("L1", T0 + timedelta(hours=1)),
        lambda: store.close("L1", "won", T0 + timedelta(hours=2)),
        lambda: store.assign_manually(_lead(3), "cy", at=T0 + timedelta(hours=3), by="ops"),
        lambda: out.extend(
            a.model_dump_json()
            for a in ROUTER.assign(store, [_lead(4)], now=T0 + timedelta(hours=4)).assignments
        ),
    ]
    for call in calls:
        if between is not None:
            between()
        call()
    return out


def test_connection_killed_between_calls_is_reopened(pg_url: str, postgres_server: str) -> None:
    """Every call after its backend was terminated reconnects and does its work once."""
    ref = MemoryStore()
    want = _script(ref)
    with PostgresStore(pg_url) as store:
        got = _script(store, lambda: _kill(postgres_server, store))
        assert got == want
        assert store.snapshot().model_dump_json() == ref.snapshot().model_dump_json()
        assert [(r.kind, r.lead_id) for r in store.audit()] == [
            (r.kind, r.lead_id) for r in ref.audit()
        ]


def test_reads_reconnect_too(pg_url: str, postgres_server: str) -> None:
    """Snapshot, audit and counters reconnect after their connection was terminated."""
    with PostgresStore(pg_url) as store:
        store.set_reps(REPS)
        _kill(postgres_server, store)
        assert [r.id for r in store.snapshot().reps] == ["ann", "bo", "cy"]
        _kill(postgres_server, store)
        assert [r.kind for r in store.audit()] == ["set_reps"]


def test_connection_killed_inside_a_call_retries_it(pg_url: str, postgres_server: str) -> None:
    """A backend terminated mid-transaction rolls the attempt back; the retry commits once."""
    with PostgresStore(pg_url) as store:
        store.set_reps(REPS)
        kills = iter([True])

        def kill_once() -> None:
            if next(kills, False):
                _kill(postgres_server, store)

        store._before_commit = kill_once
        res = ROUTER.assign(store, [_lead(1)], now=T0)
        store._before_commit = None
        assert res.assignments[0].reason != "already_open"
        assert len(res.audit) == 1
        assert len(store.audit(lead_id="L1", kind="decision")) == 1
        assert store.counts()["open"] == 1


def _lost_ack(store: PostgresStore, postgres_server: str) -> Iterator[None]:
    """After the next commit: terminate the backend and raise as a lost acknowledgement would."""
    fired: list[int] = []

    def after() -> None:
        if not fired:
            fired.append(1)
            _kill(postgres_server, store)
            store._conn.execute("SELECT 1")  # raises: the connection is gone

    store._after_commit = after
    yield
    store._after_commit = None
    assert fired


@pytest.mark.parametrize("call", ["assign", "activity", "close", "manual", "set_reps"])
def test_commit_with_lost_acknowledgement_is_not_applied_twice(
    pg_url: str, postgres_server: str, call: str
) -> None:
    """A call whose commit went through before the connection dropped is not applied again."""
    with PostgresStore(pg_url) as store:
        store.set_reps(REPS)
        ROUTER.assign(store, [_lead(1)], now=T0)
        rows = len(store.audit())
        for _ in _lost_ack(store, postgres_server):
            if call == "assign":
                again = ROUTER.assign(store, [_lead(2)], now=T0)
                assert again.assignments[0].reason == "already_open"
            elif call == "activity":
                store.record_activity("L1", T0 + timedelta(hours=1))
            elif call == "close":
                store.close("L1", "lost", T0 + timedelta(hours=1))
            elif call == "manual":
                store.assign_manually(_lead(9), "bo", at=T0 + timedelta(hours=1), by="ops")
            else:
                store.set_reps([*REPS, Rep(id="dee")])
        assert len(store.audit()) == rows + 1


def test_gives_up_after_reconnect_for(pg_url: str) -> None:
    """A server that stays away fails the call with StoreError after ``reconnect_for``."""
    with PostgresStore(pg_url) as store:
        store.set_reps(REPS)
        store.dsn = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"
        store.reconnect_for = 0.5
        store._conn.close()
        with pytest.raises(StoreError, match="could not reconnect"):
            store.snapshot()


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    """A throwaway cluster of this test's own (it is restarted)."""
    if os.environ.get("LEADROUTE_TEST_POSTGRES") and os.environ.get("CI") != "true":
        pytest.skip("restarting needs a throwaway cluster")
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.remove()


def test_server_restart_under_a_connected_store(own_cluster: Cluster) -> None:
    """Calls made while the server restarts wait for it and then succeed, each once."""
    with PostgresStore(own_cluster.dsn) as store:
        store.load(MemoryStore().snapshot())
        store.set_reps(REPS)
        ROUTER.assign(store, [_lead(1)], now=T0)
        # a fast shutdown ends every client's session (the throwaway cluster runs with
        # synchronous_commit=off, so a crash stop could lose the last commits)
        own_cluster.stop("fast")
        starter = threading.Timer(1.0, own_cluster.start)
        starter.start()
        try:
            res = ROUTER.assign(store, [_lead(2)], now=T0 + timedelta(minutes=1))
        finally:
            starter.join()
        assert res.assignments[0].rep_id == "bo"
        assert store.counts()["open"] == 2
        assert len(store.audit(kind="decision")) == 2
