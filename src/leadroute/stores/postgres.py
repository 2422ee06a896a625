"""The PostgreSQL store for many app servers (psycopg 3, extra ``postgres``).

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from leadroute.stores.base import StoreError
from leadroute.stores.sql import SQLStore

__all__ = ["PostgresStore"]

#: The advisory lock key taken while a schema is created or migrated.
_MIGRATION_LOCK = 7_402_391_118


class PostgresStore(SQLStore):
    """Shared pool state in PostgreSQL: one transaction per call, writers serialised per pool.

    Every write transaction first locks the pool's meta row
    (``SELECT ... FOR UPDATE``), so writers of one pool take turns while
    readers (``snapshot``, ``audit``, reports) never wait. Conflicts that
    PostgreSQL reports anyway (serialization failures, deadlocks) are retried
    a bounded number of times with a jittered back-off. A lost connection
    (server restart, an idle connection killed) is reopened and the call
    retried with the same back-off for up to :attr:`reconnect_for` seconds;
    every call is safe to retry (see ``docs/stores.md``). One database (or one
    ``search_path`` schema) holds one pool. Needs
    ``pip install "leadroute[postgres]"``.

    .. versionadded:: 0.2.0
    """

    dialect = "postgres"

    def __init__(self, dsn: str) -> None:
        try:
            import psycopg
        except ImportError:
            msg = 'PostgresStore needs psycopg: pip install "leadroute[postgres]"'
            raise StoreError(msg) from None
        super().__init__()
        self.dsn = dsn
        self._psycopg = psycopg
        self._errors = (
            psycopg.errors.SerializationFailure,
            psycopg.errors.DeadlockDetected,
            psycopg.errors.LockNotAvailable,
        )
        try:
            self._conn = psycopg.connect(dsn, autocommit=True)
        except psycopg.Error as exc:
            msg = f"cannot connect to PostgreSQL store: {str(exc).strip()}"
            raise StoreError(msg) from None
        try:
            with self._lock, self._transaction(True):
                self._execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
                self._migrate()
        except BaseException:
            self._conn.close()
            raise

    def _sql(self, sql: str) -> str:
        found = self._sql_cache.get(sql)
        if found is None:
            found = self._sql_cache[sql] = sql.replace("%", "%%").replace("?", "%s")
        return found

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self._conn.execute(self._sql(sql) if params else sql, params or None)
        if cur.description is None:
            return []
        return cur.fetchall()

    def _do(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(self._sql(sql) if params else sql, params or None)

    def _pipeline(self) -> Any:
        return self._conn.pipeline()

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(self._sql(sql), rows)

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[None]:
        with self._conn.transaction():
            yield

    def _lock_pool(self) -> tuple[Any, ...]:
        return self._execute(
            "SELECT revision, as_of, roster_version, next_seq, fit_version FROM lr_meta "
            "WHERE id = 1 FOR UPDATE"
        )[0]

    def _transient(self, exc: BaseException) -> bool:
        return isinstance(exc, self._errors)

    def _lost(self, exc: BaseException) -> bool:
        conn = self._conn
        return isinstance(exc, self._psycopg.Error) and bool(conn.closed or conn.broken)

    def _reconnect(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()
        self._conn = self._psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)

    def disconnect(self) -> None:
        self._conn.close()
