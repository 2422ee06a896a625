"""Shared pool state in a real store: in memory, SQLite (the default) or PostgreSQL.

``router.assign(store, leads, now=...)`` and ``router.reclaim(store, now=...)``
run one atomic transaction against the store; see ``docs/stores.md``.

>>> store = open_store("memory://")
>>> type(store).__name__
'MemoryStore'

.. versionadded:: 0.2.0
"""

from __future__ import annotations

from leadroute.stores.base import (
    AuditRow,
    SchemaVersionError,
    Store,
    StoreError,
)
from leadroute.stores.memory import MemoryStore
from leadroute.stores.postgres import PostgresStore
from leadroute.stores.sql import SCHEMA_VERSION, SQLiteStore, SQLStore

__all__ = [
    "SCHEMA_VERSION",
    "AuditRow",
    "MemoryStore",
    "PostgresStore",
    "SQLStore",
    "SQLiteStore",
    "SchemaVersionError",
    "Store",
    "StoreError",
    "open_store",
]


def open_store(url: str) -> Store:
    """The store at ``url``: ``sqlite:///path.db``, ``postgresql://...`` or ``memory://``.

    .. versionadded:: 0.2.0
    """
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if not path:
            msg = f"store URL {url!r}: give a file path (sqlite:///pool.db)"
            raise StoreError(msg)
        return SQLiteStore(path)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url)
    if url == "memory://":
        return MemoryStore()
    msg = f"store URL {url!r}: use sqlite:///path.db, postgresql://... or memory://"
    raise StoreError(msg)
