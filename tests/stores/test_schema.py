"""Schema versions: a version table, older schemas migrated on open, newer ones refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from leadroute import Rep
from leadroute.stores import SCHEMA_VERSION, SchemaVersionError, SQLStore, StoreError, open_store
from leadroute.stores.sql import migrations


def _raw(url: str) -> Any:
    if url.startswith("sqlite:///"):
        return sqlite3.connect(url[len("sqlite:///") :], isolation_level=None)
    import psycopg

    return psycopg.connect(url, autocommit=True)


def _make_v1(url: str) -> None:
    """A database as leadroute's schema version 1 left it, with one rep in it."""
    dialect = "sqlite" if url.startswith("sqlite") else "postgres"
    conn = _raw(url)
    conn.execute("CREATE TABLE lr_schema (version INTEGER NOT NULL)")
    for stmt in migrations(dialect)[1]:
        conn.execute(stmt)
    conn.execute("INSERT INTO lr_schema (version) VALUES (1)")
    conn.execute(
        "INSERT INTO lr_meta (id, revision, as_of, roster_version, next_seq) VALUES (1, 1, NULL, 1, 0)"
    )
    conn.execute(
        f"INSERT INTO lr_reps (pos, rep_id, data) VALUES (0, 'ann', '{Rep(id='ann').model_dump_json()}')"
    )
    conn.close()


def test_new_store_has_the_current_version(db_url: str) -> None:
    """A new store records the current schema version."""
    with open_store(db_url) as store:
        assert isinstance(store, SQLStore)
        assert store.schema_version() == SCHEMA_VERSION


def test_older_schema_is_migrated_on_open(db_url: str) -> None:
    """A version-1 database is migrated on open and keeps its data."""
    _make_v1(db_url)
    with open_store(db_url) as store:
        assert isinstance(store, SQLStore)
        assert store.schema_version() == SCHEMA_VERSION
        assert [r.id for r in store.snapshot().reps] == ["ann"]


def test_newer_schema_is_refused(db_url: str) -> None:
    """A database of a newer schema raises SchemaVersionError naming both versions."""
    open_store(db_url).disconnect()
    conn = _raw(db_url)
    conn.execute("UPDATE lr_schema SET version = 99")
    conn.close()
    with pytest.raises(SchemaVersionError, match=rf"version 99.*\({SCHEMA_VERSION}\)"):
        open_store(db_url)


def test_audit_rows_are_append_only(db_url: str) -> None:
    """The database refuses to change or delete an audit row."""
    with open_store(db_url) as store:
        store.set_reps([Rep(id="ann")])
    conn = _raw(db_url)
    with pytest.raises(Exception, match="append-only"):
        conn.execute("UPDATE lr_audit SET kind = 'x'")
    with pytest.raises(Exception, match="append-only"):
        conn.execute("DELETE FROM lr_audit")
    conn.close()


def test_not_a_store_file(tmp_path: Path) -> None:
    """A file that is not SQLite raises StoreError naming it."""
    bad = tmp_path / "bad.db"
    bad.write_text("not a database " * 200)
    with pytest.raises(StoreError, match=r"bad\.db"):
        open_store(f"sqlite:///{bad}")


@pytest.mark.parametrize("url", ["mysql://x", "sqlite:///", "pool.db"])
def test_bad_url(url: str) -> None:
    """An unknown or empty store URL raises StoreError."""
    with pytest.raises(StoreError, match="store URL"):
        open_store(url)


def test_unreachable_postgres() -> None:
    """A PostgreSQL server that is not there raises StoreError, not a driver traceback."""
    pytest.importorskip("psycopg")
    with pytest.raises(StoreError, match="cannot connect"):
        open_store("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")


def _downgrade_to_v3(url: str) -> None:
    """Turn a current store back into what schema version 3 looked like (no fit aggregates)."""
    conn = _raw(url)
    for table in ("lr_fit_views", "lr_fit_cells", "lr_fit_touch", "lr_fit_reps"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("DROP INDEX lr_leads_created")
    conn.execute("ALTER TABLE lr_leads DROP COLUMN created_utc")
    conn.execute("ALTER TABLE lr_meta DROP COLUMN fit_version")
    conn.execute("UPDATE lr_schema SET version = 3")
    conn.close()


def test_version_3_gets_fit_aggregates_from_its_history(db_url: str) -> None:
    """Opening a version-3 store builds the fit aggregates and creation times from its rows."""
    from datetime import timedelta

    from leadroute import Router, Rule
    from leadroute.fit import FitCounts
    from leadroute.strategies import BestFit, RoundRobin, Surge
    from tests.conftest import T0
    from tests.stores.test_fit_aggregates import _history_state, _lead, kept

    state = _history_state()
    with open_store(db_url) as store:
        store.load(state)
        Router(rules=[Rule(id="all", route=RoundRobin())]).assign(
            store, [_lead(i) for i in range(4)], now=T0
        )
        want = store.snapshot()
    _downgrade_to_v3(db_url)
    with open_store(db_url) as store:
        assert isinstance(store, SQLStore)
        assert store.schema_version() == SCHEMA_VERSION
        assert store.snapshot().model_dump_json() == want.model_dump_json()
        assert kept(store) == FitCounts.of(want.history)
        fit = Router(rules=[Rule(id="f", route=BestFit(min_history=0))])
        surge = Router(rules=[Rule(id="s", route=Surge(threshold=2) >> RoundRobin())])
        for router in (fit, surge):
            batch = [_lead(50), _lead(51, 1)]
            now = T0 + timedelta(minutes=30)
            direct = router.assign(store.snapshot(), batch, now=now)
            stored = router.assign(store, batch, now=now)
            assert stored.audit == direct.audit
            store.load(want)
