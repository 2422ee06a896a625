"""The database stores: the shared transaction logic and :class:`SQLiteStore`.

A call opens one write transaction, reads the *part* of the pool the call can
touch (the roster, counters and rotation memory, the owners of the batch's
accounts, the records of the batch's lead ids), runs the ordinary engine on
that partial :class:`~leadroute.PoolState`, writes back only the difference
and commits. Its cost follows the roster and the batch, not the pool size.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import PrivateAttr, model_validator

from leadroute.fast import assemble, build
from leadroute.fit import FitCounts, FitStatistics, fields_key
from leadroute.lifecycle import reclaim as reclaim_state
from leadroute.lifecycle import warnings
from leadroute.models import Lead, Rep
from leadroute.normalize import account_key_of
from leadroute.ownership import transfer_accounts
from leadroute.result import RoutingResult
from leadroute.state import (
    ClosedLead,
    CloseOutcome,
    OpenLead,
    OwnershipChange,
    PooledLead,
    PoolState,
    RepLoad,
    Rotation,
)
from leadroute.stores.base import (
    AuditRow,
    FitView,
    Needs,
    SchemaVersionError,
    Store,
    StoreError,
    aware,
    check_batch,
    closed_error,
    from_utc_text,
    merge_result,
    store_needs,
    utc_text,
)

if TYPE_CHECKING:
    from leadroute.accounts import AccountMatcher
    from leadroute.audit import Decision
    from leadroute.lifecycle import ReclaimPolicy, ReclaimWarning
    from leadroute.ownership import OwnershipPolicy, TransferResult
    from leadroute.router import Router

__all__ = ["SCHEMA_VERSION", "PartialPoolState", "SQLStore", "SQLiteStore"]

T = TypeVar("T")

#: The schema version this leadroute writes; older databases are migrated on open.
SCHEMA_VERSION = 4

_LOAD_FIELDS = {"open", "days"}
#: batches up to this many leads (and accounts) are read in one statement
_ONE_READ = 500

# -- schema ------------------------------------------------------------------------------

_V1 = [
    """CREATE TABLE lr_meta (
        id INTEGER PRIMARY KEY,
        revision BIGINT NOT NULL,
        as_of TEXT,
        roster_version BIGINT NOT NULL,
        next_seq BIGINT NOT NULL)""",
    "CREATE TABLE lr_reps (pos INTEGER PRIMARY KEY, rep_id TEXT NOT NULL UNIQUE, data TEXT NOT NULL)",
    """CREATE TABLE lr_loads (
        rep_id TEXT PRIMARY KEY, seq BIGINT NOT NULL, open_count INTEGER NOT NULL,
        days TEXT NOT NULL)""",
    "CREATE TABLE lr_rotations (path TEXT PRIMARY KEY, seq BIGINT NOT NULL, data TEXT NOT NULL)",
    """CREATE TABLE lr_owners (
        account_key TEXT PRIMARY KEY, seq BIGINT NOT NULL, rep_id TEXT NOT NULL)""",
    """CREATE TABLE lr_leads (
        lead_id TEXT PRIMARY KEY, status TEXT NOT NULL, seq BIGINT NOT NULL, rep_id TEXT,
        assigned_utc TEXT, untouched INTEGER, last_touch_utc TEXT, data TEXT NOT NULL)""",
    "CREATE INDEX lr_leads_rep ON lr_leads (rep_id) WHERE status = 'open'",
    "CREATE INDEX lr_leads_sla ON lr_leads (assigned_utc) WHERE status = 'open' AND untouched = 1",
    "CREATE INDEX lr_leads_stale ON lr_leads (last_touch_utc) WHERE status = 'open'",
    """CREATE TABLE lr_history (
        seq BIGINT PRIMARY KEY, lead_id TEXT NOT NULL, rep_id TEXT NOT NULL,
        outcome TEXT NOT NULL, closed_utc TEXT NOT NULL, data TEXT NOT NULL)""",
    "CREATE INDEX lr_history_lead ON lr_history (lead_id)",
    "CREATE INDEX lr_history_closed ON lr_history (closed_utc)",
    """CREATE TABLE lr_audit (
        seq BIGINT PRIMARY KEY, kind TEXT NOT NULL, lead_id TEXT, at_utc TEXT NOT NULL,
        created_utc TEXT, rep_id TEXT, outcome TEXT, data TEXT NOT NULL)""",
    "CREATE INDEX lr_audit_lead ON lr_audit (lead_id)",
]

_V2_SQLITE = [
    "CREATE INDEX lr_audit_at ON lr_audit (at_utc)",
    """CREATE TRIGGER lr_audit_no_update BEFORE UPDATE ON lr_audit
        BEGIN SELECT RAISE(ABORT, 'leadroute audit rows are append-only'); END""",
    """CREATE TRIGGER lr_audit_no_delete BEFORE DELETE ON lr_audit
        BEGIN SELECT RAISE(ABORT, 'leadroute audit rows are append-only'); END""",
]

_V2_POSTGRES = [
    "CREATE INDEX lr_audit_at ON lr_audit (at_utc)",
    """CREATE FUNCTION lr_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'leadroute audit rows are append-only'; END $$""",
    """CREATE TRIGGER lr_audit_no_change BEFORE UPDATE OR DELETE ON lr_audit
        FOR EACH ROW EXECUTE FUNCTION lr_audit_append_only()""",
]


_V3 = [
    # account ownership history (PoolState.account_history) and the worked-lead index
    """CREATE TABLE lr_account_history (
        account_key TEXT PRIMARY KEY, seq BIGINT NOT NULL, data TEXT NOT NULL)""",
    "CREATE INDEX lr_leads_worked ON lr_leads (assigned_utc) WHERE status = 'open' AND untouched = 0",
]


_V4 = [
    # fit aggregates: per view (segment_by, lead_by) the rep x segment x lead-cell outcome
    # counts; per rep the first-touch hours and the two middle ones (the median)
    "ALTER TABLE lr_meta ADD COLUMN fit_version BIGINT NOT NULL DEFAULT 0",
    """CREATE TABLE lr_fit_views (
        view_id INTEGER PRIMARY KEY, segment_by TEXT NOT NULL, lead_by TEXT NOT NULL,
        UNIQUE (segment_by, lead_by))""",
    """CREATE TABLE lr_fit_cells (
        view_id INTEGER NOT NULL, rep_id TEXT NOT NULL, seg TEXT NOT NULL, cell TEXT NOT NULL,
        seq BIGINT NOT NULL, wins BIGINT NOT NULL, closed BIGINT NOT NULL,
        PRIMARY KEY (view_id, rep_id, seg, cell))""",
    # a view's rows in first-appearance order, read without touching the table
    """CREATE INDEX lr_fit_cells_order ON lr_fit_cells
        (view_id, seq, rep_id, seg, cell, wins, closed)""",
    """CREATE TABLE lr_fit_touch (
        seq BIGINT PRIMARY KEY, rep_id TEXT NOT NULL, hours DOUBLE PRECISION NOT NULL)""",
    "CREATE INDEX lr_fit_touch_rep ON lr_fit_touch (rep_id, hours, seq)",
    """CREATE TABLE lr_fit_reps (
        rep_id TEXT PRIMARY KEY, n BIGINT NOT NULL, lo DOUBLE PRECISION NOT NULL,
        lo_seq BIGINT NOT NULL, hi DOUBLE PRECISION NOT NULL, hi_seq BIGINT NOT NULL)""",
    # lead creation times: Surge reads the leads created within its window
    "ALTER TABLE lr_leads ADD COLUMN created_utc TEXT",
    "CREATE INDEX lr_leads_created ON lr_leads (created_utc)",
]

#: The fit view built when a store is created or migrated (BestFit's defaults).
DEFAULT_FIT_VIEW: FitView = (("industry",), ("source",))


def migrations(dialect: str) -> dict[int, list[str]]:
    """The statements that bring a schema from version ``n - 1`` to ``n``, by ``n``."""
    return {1: _V1, 2: _V2_SQLITE if dialect == "sqlite" else _V2_POSTGRES, 3: _V3, 4: _V4}


def _changes(data: str) -> tuple[OwnershipChange, ...]:
    return tuple(OwnershipChange.model_validate(x) for x in json.loads(data))


# -- the shared transaction logic -------------------------------------------------------


class PartialPoolState(PoolState):
    """The part of a stored pool one call works on (router-internal to the stores).

    Its counters cover the whole roster while its open leads are only the
    batch's, so the whole-pool consistency checks of :class:`PoolState`
    (each rep's open counter equals its open leads) do not apply to it; the
    store keeps those invariants across the whole pool instead (the tests
    recount them).

    .. versionadded:: 0.2.0
    """

    _fit: FitStatistics | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _consistent(self) -> PartialPoolState:
        return self

    @property
    def fit_statistics(self) -> FitStatistics | None:
        """The store's fit aggregates, which learned fit reads instead of ``history``."""
        private = self.__pydantic_private__
        return None if private is None else private.get("_fit")

    def with_fit(self, stats: FitStatistics) -> None:
        """Attach the fit aggregates (this state is built by the store, seen only by its call)."""
        object.__setattr__(self, "__pydantic_private__", {"_fit": stats})


class _Tx:
    """What one write transaction read: seq counter, the meta row, lead seqs."""

    __slots__ = (
        "as_of",
        "bulk",
        "closed",
        "fit_version",
        "lead_rows",
        "new_history",
        "next_seq",
        "retry",
        "revision",
        "roster_version",
    )

    def __init__(self, row: Sequence[Any]) -> None:
        self.revision = int(row[0])
        self.as_of: str | None = row[1]
        self.roster_version = int(row[2])
        self.next_seq = int(row[3])
        self.fit_version = int(row[4])
        self.lead_rows: dict[str, tuple[str, int]] = {}
        #: the batch's lead ids with closed history (when the one-statement read found them)
        self.closed: set[str] | None = None
        #: closed leads this call wrote, with their history seq
        self.new_history: list[tuple[int, ClosedLead]] = []
        #: whether the fit aggregates are rebuilt at the end (load) rather than updated per lead
        self.bulk = False
        #: whether an earlier attempt of this call lost its connection (it may have committed)
        self.retry = False

    def seq(self) -> int:
        self.next_seq += 1
        return self.next_seq


class SQLStore(Store):
    """The logic shared by :class:`SQLiteStore` and :class:`~leadroute.stores.PostgresStore`.

    Subclasses provide the connection, the write-transaction start (which
    serialises writers of one pool) and the placeholder style.

    .. versionadded:: 0.2.0
    """

    dialect = "sqlite"
    #: attempts of a call that hit a transient conflict (lock timeout, serialization failure)
    retries = 8
    #: seconds a call keeps reconnecting after its connection was lost (server restart)
    reconnect_for = 30.0

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._roster: tuple[int, tuple[Rep, ...]] | None = None
        self._load_cache: dict[str, tuple[int, str, RepLoad]] = {}
        self._rot_cache: dict[str, tuple[str, Rotation]] = {}
        self._sql_cache: dict[str, str] = {}
        #: the fit aggregates read at a fit version: (version, view ids, statistics)
        self._fit_cache: tuple[int, dict[FitView, int], FitStatistics] | None = None
        #: test hook: called inside the write transaction just before it commits
        self._before_commit: Callable[[], None] | None = None
        #: test hook: called after a write transaction committed, before the call returns
        self._after_commit: Callable[[], None] | None = None

    # -- backend hooks ----------------------------------------------------------------
    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``?`` placeholders) and return its rows."""

    @abstractmethod
    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for many parameter rows."""

    def _do(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement whose result nobody reads (may be sent without waiting)."""
        self._execute(sql, params)

    def _pipeline(self) -> Any:
        """A context in which :meth:`_do` statements may be sent together (one round trip)."""
        return nullcontext()

    @abstractmethod
    def _transaction(self, write: bool) -> Any:
        """A context manager around one transaction (commit on success, else roll back)."""

    @abstractmethod
    def _transient(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a conflict worth retrying."""

    def _lock_pool(self) -> tuple[Any, ...]:
        """Inside a write transaction: serialise with every other writer of this pool; the
        meta row."""
        return self._meta()

    def _lost(self, exc: BaseException) -> bool:
        """Whether ``exc`` means the connection is gone (the call reconnects and retries)."""
        return False

    def _reconnect(self) -> None:
        """Open a new connection in place of a lost one."""

    # -- transactions -----------------------------------------------------------------
    def _write(self, fn: Callable[[_Tx], T]) -> T:
        return self._retrying(fn, write=True)

    def _reading(self, fn: Callable[[_Tx], T]) -> T:
        """Run ``fn`` in a read transaction (retried on a new connection if it was lost)."""
        return self._retrying(fn, write=False)

    def _retrying(self, fn: Callable[[_Tx], T], *, write: bool) -> T:
        """Run ``fn`` in one transaction, retrying transient conflicts (at most ``retries``
        attempts) and lost connections (reconnecting for up to ``reconnect_for`` seconds).

        After a lost connection the next attempt's ``tx.retry`` is set: the commit of the
        attempt that lost it may have gone through, and each call checks for that.
        """
        attempt = 0
        deadline: float | None = None
        while True:
            attempt += 1
            try:
                with self._lock, self._transaction(write):
                    tx = _Tx(self._lock_pool() if write else self._meta())
                    tx.retry = deadline is not None
                    out = fn(tx)
                    if write and self._before_commit is not None:
                        self._before_commit()
                if write and self._after_commit is not None:
                    self._after_commit()
                return out
            except Exception as exc:
                if self._lost(exc):
                    now = time.monotonic()
                    deadline = now + self.reconnect_for if deadline is None else deadline
                    if now > deadline:
                        msg = (
                            f"lost the connection to the store and could not reconnect within "
                            f"{self.reconnect_for:g} s: {str(exc).strip()}"
                        )
                        raise StoreError(msg) from exc
                    _backoff(min(attempt, 7))
                    with contextlib.suppress(Exception):  # the next attempt fails and waits
                        self._reconnect()
                    continue
                if attempt >= self.retries or not self._transient(exc):
                    raise
                _backoff(attempt)

    def _meta(self) -> tuple[Any, ...]:
        rows = self._execute(
            "SELECT revision, as_of, roster_version, next_seq, fit_version FROM lr_meta WHERE id = 1"
        )
        return rows[0]

    # -- schema -----------------------------------------------------------------------
    def _migrate(self) -> None:
        self._execute("CREATE TABLE IF NOT EXISTS lr_schema (version INTEGER NOT NULL)")
        rows = self._execute("SELECT version FROM lr_schema")
        version = int(rows[0][0]) if rows else 0
        if version > SCHEMA_VERSION:
            msg = (
                f"the store's schema is version {version}, newer than this leadroute understands "
                f"({SCHEMA_VERSION}); upgrade leadroute to open it"
            )
            raise SchemaVersionError(msg)
        steps = migrations(self.dialect)
        for v in range(version + 1, SCHEMA_VERSION + 1):
            for stmt in steps[v]:
                self._execute(stmt)
            if v == 1:
                self._execute(
                    "INSERT INTO lr_meta (id, revision, as_of, roster_version, next_seq) "
                    "VALUES (1, 0, NULL, 0, 0)"
                )
            if v == 4:
                self._migrate_v4()
        if not rows:
            self._execute("INSERT INTO lr_schema (version) VALUES (?)", (SCHEMA_VERSION,))
        elif version < SCHEMA_VERSION:
            self._execute("UPDATE lr_schema SET version = ?", (SCHEMA_VERSION,))

    def schema_version(self) -> int:
        """The schema version of the open database."""
        return self._reading(lambda tx: int(self._execute("SELECT version FROM lr_schema")[0][0]))

    def _migrate_v4(self) -> None:
        """Version 4: lead creation times filled in, fit aggregates built from the history."""
        rows = self._execute("SELECT lead_id, data FROM lr_leads")
        if rows:
            self._executemany(
                "UPDATE lr_leads SET created_utc = ? WHERE lead_id = ?",
                [
                    (utc_text(datetime.fromisoformat(json.loads(d)["lead"]["created_at"])), i)
                    for i, d in rows
                ],
            )
        self._register_view(DEFAULT_FIT_VIEW, 1)
        self._fit_rebuild(self._history_rows())

    # -- fit aggregates ---------------------------------------------------------------
    def _history_rows(self) -> list[tuple[int, ClosedLead]]:
        """The whole closed history with its seqs (a one-time read: migration, a new view)."""
        return [
            (int(seq), ClosedLead.model_validate_json(data))
            for seq, data in self._execute("SELECT seq, data FROM lr_history ORDER BY seq")
        ]

    def _views(self) -> dict[FitView, int]:
        out: dict[FitView, int] = {}
        for view_id, seg, cell in self._execute(
            "SELECT view_id, segment_by, lead_by FROM lr_fit_views ORDER BY view_id"
        ):
            out[(tuple(json.loads(seg)), tuple(json.loads(cell)))] = int(view_id)
        return out

    def _register_view(self, view: FitView, view_id: int) -> None:
        self._execute(
            "INSERT INTO lr_fit_views (view_id, segment_by, lead_by) VALUES (?, ?, ?)",
            (view_id, json.dumps(list(view[0])), json.dumps(list(view[1]))),
        )

    def _cell_rows(
        self, views: dict[FitView, int], history: Sequence[tuple[int, ClosedLead]]
    ) -> list[tuple[int, str, str, str, int, int, int]]:
        """Aggregate rows of ``history`` for ``views``: (view, rep, seg, cell, seq, wins, closed)."""
        out: list[tuple[int, str, str, str, int, int, int]] = []
        for (seg_by, cell_by), view_id in views.items():
            rows: dict[tuple[str, str, str], list[int]] = {}
            for seq, c in history:
                key = (c.rep_id, fields_key(c.lead, seg_by), fields_key(c.lead, cell_by))
                rec = rows.get(key)
                if rec is None:
                    rec = rows[key] = [seq, 0, 0]
                rec[1] += 1 if c.outcome == "won" else 0
                rec[2] += 1
            out.extend((view_id, *k, seq, w, n) for k, (seq, w, n) in rows.items())
        return out

    _INSERT_CELL = (
        "INSERT INTO lr_fit_cells (view_id, rep_id, seg, cell, seq, wins, closed) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)"
    )

    def _fit_rebuild(self, history: Sequence[tuple[int, ClosedLead]]) -> None:
        """Rebuild every view's counts and the first-touch medians from ``history`` (all of it)."""
        self._execute("DELETE FROM lr_fit_cells")
        self._execute("DELETE FROM lr_fit_touch")
        self._execute("DELETE FROM lr_fit_reps")
        cells = self._cell_rows(self._views(), history)
        if cells:
            self._executemany(self._INSERT_CELL, cells)
        touch: list[tuple[int, str, float]] = []
        per_rep: dict[str, list[tuple[float, int]]] = {}
        for seq, c in history:
            hours = _touch_hours(c)
            if hours is not None:
                touch.append((seq, c.rep_id, hours))
                per_rep.setdefault(c.rep_id, []).append((hours, seq))
        if touch:
            self._executemany(
                "INSERT INTO lr_fit_touch (seq, rep_id, hours) VALUES (?, ?, ?)", touch
            )
        reps = []
        for rep_id, keys in per_rep.items():
            keys.sort()
            n = len(keys)
            lo, hi = keys[(n - 1) // 2], keys[n // 2]
            reps.append((rep_id, n, lo[0], lo[1], hi[0], hi[1]))
        if reps:
            self._executemany(
                "INSERT INTO lr_fit_reps (rep_id, n, lo, lo_seq, hi, hi_seq) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                reps,
            )

    def _fit_add(self, items: Sequence[tuple[int, ClosedLead]]) -> None:
        """Add newly closed leads to every view's counts and to their reps' medians."""
        views = self._views()
        for seq, c in items:
            won = 1 if c.outcome == "won" else 0
            for (seg_by, cell_by), view_id in views.items():
                self._do(
                    "INSERT INTO lr_fit_cells (view_id, rep_id, seg, cell, seq, wins, closed) "
                    "VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (view_id, rep_id, seg, cell) "
                    "DO UPDATE SET wins = lr_fit_cells.wins + excluded.wins, "
                    "closed = lr_fit_cells.closed + 1",
                    (
                        view_id,
                        c.rep_id,
                        fields_key(c.lead, seg_by),
                        fields_key(c.lead, cell_by),
                        seq,
                        won,
                    ),
                )
            hours = _touch_hours(c)
            if hours is not None:
                self._touch_add(c.rep_id, hours, seq)

    def _touch_add(self, rep_id: str, hours: float, seq: int) -> None:
        """Insert one first-touch time and move the rep's two middle pointers (an index probe).

        Keys are ``(hours, seq)``; with ``n`` values the pointers are the values at
        ``(n - 1) // 2`` and ``n // 2`` in key order, so the median is their mean.
        """
        found = self._execute(
            "SELECT n, lo, lo_seq, hi, hi_seq FROM lr_fit_reps WHERE rep_id = ?", (rep_id,)
        )
        x = (hours, seq)
        if not found:
            lo = hi = x
            n = 0
        else:
            n = int(found[0][0])
            lo = (float(found[0][1]), int(found[0][2]))
            hi = (float(found[0][3]), int(found[0][4]))
            if n % 2 == 0:  # two middles become one: the middle of lo, x, hi
                lo = hi = lo if x < lo else hi if x > hi else x
            elif x < lo:  # one middle becomes two: it and the next key below it
                below = self._execute(
                    "SELECT hours, seq FROM lr_fit_touch WHERE rep_id = ? AND hours <= ? "
                    "AND (hours < ? OR seq < ?) ORDER BY hours DESC, seq DESC LIMIT 1",
                    (rep_id, lo[0], lo[0], lo[1]),
                )
                prev = (float(below[0][0]), int(below[0][1])) if below else None
                lo, hi = (x if prev is None or x > prev else prev), lo
            else:  # ... or it and the next key above it
                above = self._execute(
                    "SELECT hours, seq FROM lr_fit_touch WHERE rep_id = ? AND hours >= ? "
                    "AND (hours > ? OR seq > ?) ORDER BY hours, seq LIMIT 1",
                    (rep_id, hi[0], hi[0], hi[1]),
                )
                nxt = (float(above[0][0]), int(above[0][1])) if above else None
                hi = x if nxt is None or x < nxt else nxt
        self._do(
            "INSERT INTO lr_fit_touch (seq, rep_id, hours) VALUES (?, ?, ?)", (seq, rep_id, hours)
        )
        if n == 0:
            self._do(
                "INSERT INTO lr_fit_reps (rep_id, n, lo, lo_seq, hi, hi_seq) "
                "VALUES (?, 1, ?, ?, ?, ?)",
                (rep_id, lo[0], lo[1], hi[0], hi[1]),
            )
        else:
            self._do(
                "UPDATE lr_fit_reps SET n = ?, lo = ?, lo_seq = ?, hi = ?, hi_seq = ? "
                "WHERE rep_id = ?",
                (n + 1, lo[0], lo[1], hi[0], hi[1], rep_id),
            )

    def _fit_statistics(self, tx: _Tx, wanted: Sequence[FitView]) -> FitStatistics:
        """The fit aggregates of ``wanted`` views: cached while no lead closes; a view not
        kept yet is registered and built from the history once."""
        cached = self._fit_cache
        if (
            cached is not None
            and cached[0] == tx.fit_version
            and all(v in cached[2].counts for v in wanted)
        ):
            return cached[2]
        views = self._views()
        missing = [v for v in wanted if v not in views]
        if missing:
            next_id = max(views.values(), default=0) + 1
            for k, view in enumerate(missing):
                self._register_view(view, next_id + k)
            history = self._history_rows()
            views = self._views()
            cells = self._cell_rows({v: views[v] for v in missing}, history)
            if cells:
                self._executemany(self._INSERT_CELL, cells)
        ids = {views[v]: v for v in wanted}
        rows: dict[FitView, list[tuple[str, str, str, int, int]]] = {v: [] for v in wanted}
        if ids:
            marks = ",".join("?" * len(ids))
            for view_id, rep_id, seg, cell, wins, closed in self._execute(
                "SELECT view_id, rep_id, seg, cell, wins, closed FROM lr_fit_cells "
                f"WHERE view_id IN ({marks}) ORDER BY view_id, seq",
                sorted(ids),
            ):
                rows[ids[int(view_id)]].append((rep_id, seg, cell, int(wins), int(closed)))
        touch = {
            rep_id: (float(lo), float(hi))
            for rep_id, lo, hi in self._execute("SELECT rep_id, lo, hi FROM lr_fit_reps")
        }
        stats = FitStatistics({v: FitCounts(v[0], v[1], tuple(rows[v]), touch) for v in wanted})
        self._fit_cache = (tx.fit_version, views, stats)
        return stats

    # -- reading the partial state ----------------------------------------------------
    def _reps(self, tx: _Tx) -> tuple[Rep, ...]:
        cached = self._roster
        if cached is not None and cached[0] == tx.roster_version:
            return cached[1]
        rows = self._execute("SELECT data FROM lr_reps ORDER BY pos")
        reps = tuple(Rep.model_validate_json(r[0]) for r in rows)
        self._roster = (tx.roster_version, reps)
        return reps

    def _loads(self) -> dict[str, RepLoad]:
        cache = self._load_cache
        out: dict[str, RepLoad] = {}
        for rep_id, n, days in self._execute(
            "SELECT rep_id, open_count, days FROM lr_loads ORDER BY seq"
        ):
            hit = cache.get(rep_id)
            if hit is not None and hit[0] == n and hit[1] == days:
                out[rep_id] = hit[2]
                continue
            load = assemble(RepLoad, {"open": int(n), "days": json.loads(days)}, _LOAD_FIELDS)
            cache[rep_id] = (int(n), days, load)
            out[rep_id] = load
        return out

    def _rotations(self) -> dict[str, Rotation]:
        cache = self._rot_cache
        out: dict[str, Rotation] = {}
        for path, data in self._execute("SELECT path, data FROM lr_rotations ORDER BY seq"):
            hit = cache.get(path)
            if hit is not None and hit[0] == data:
                out[path] = hit[1]
                continue
            rot = Rotation.model_validate_json(data)
            cache[path] = (data, rot)
            out[path] = rot
        return out

    def _in(self, sql: str, keys: Sequence[str]) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` (ending in ``IN``) for ``keys``, in chunks."""
        out: list[tuple[Any, ...]] = []
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            out.extend(self._execute(f"{sql} ({','.join('?' * len(chunk))})", chunk))
        return out

    def _partial(
        self,
        tx: _Tx,
        lead_ids: Sequence[str],
        accounts: Sequence[str],
        *,
        full: bool = False,
        open_rows: Sequence[tuple[Any, ...]] = (),
        history: bool = False,
        all_history: bool = False,
    ) -> PoolState:
        """The part of the pool a call can touch (everything when ``full``; the whole
        closed history when ``all_history``, else the batch's closed records if ``history``)."""
        reps = self._reps(tx)
        if full:
            owner_rows = self._execute("SELECT account_key, rep_id FROM lr_owners ORDER BY seq")
            lead_rows = self._execute(
                "SELECT lead_id, status, seq, data FROM lr_leads ORDER BY seq"
            )
            hist_rows = self._execute("SELECT data FROM lr_history ORDER BY seq")
            acc_rows = self._execute(
                "SELECT account_key, data FROM lr_account_history ORDER BY seq"
            )
        elif len(lead_ids) <= _ONE_READ and len(accounts) <= _ONE_READ:
            return self._partial_one_read(
                tx, reps, lead_ids, accounts, open_rows, history, all_history
            )
        else:
            keys = sorted(set(accounts))
            owner_rows = (
                self._in(
                    "SELECT account_key, rep_id, seq FROM lr_owners WHERE account_key IN", keys
                )
                if keys
                else []
            )
            owner_rows.sort(key=lambda r: r[2])
            ids = sorted(set(lead_ids))
            lead_rows = (
                self._in("SELECT lead_id, status, seq, data FROM lr_leads WHERE lead_id IN", ids)
                if ids
                else []
            )
            lead_rows = sorted([*lead_rows, *open_rows], key=lambda r: r[2])
            if all_history:
                hist_rows = self._execute("SELECT data, seq FROM lr_history ORDER BY seq")
            else:
                hist_rows = (
                    self._in("SELECT data, seq FROM lr_history WHERE lead_id IN", ids)
                    if history and ids
                    else []
                )
            hist_rows.sort(key=lambda r: r[1])
            acc_rows = (
                self._in(
                    "SELECT account_key, data, seq FROM lr_account_history WHERE account_key IN",
                    keys,
                )
                if keys
                else []
            )
            acc_rows.sort(key=lambda r: r[2])
        return _assemble_partial(
            tx,
            reps,
            lead_rows,
            loads=self._loads(),
            rotations=self._rotations(),
            owners={k: r for k, r, *_ in owner_rows},
            history=tuple(ClosedLead.model_validate_json(r[0]) for r in hist_rows),
            account_history={r[0]: _changes(r[1]) for r in acc_rows},
        )

    def _route_state(
        self,
        tx: _Tx,
        need: Needs,
        lead_ids: Sequence[str],
        accounts: Sequence[str],
        *,
        open_rows: Sequence[tuple[Any, ...]] = (),
        surge_from: datetime | None = None,
    ) -> PoolState:
        """The partial state a router with these needs routes on: the batch's part, plus the
        leads created since ``surge_from`` (Surge), the fit aggregates (BestFit), the whole
        closed history or the whole pool only when a strategy reads them."""
        if need.pool:
            return self._partial(tx, lead_ids, accounts, full=True)
        rows = list(open_rows)
        if surge_from is not None:
            rows.extend(
                self._execute(
                    "SELECT lead_id, status, seq, data FROM lr_leads WHERE created_utc >= ?",
                    (utc_text(surge_from),),
                )
            )
        state = self._partial(tx, lead_ids, accounts, open_rows=rows, all_history=need.history)
        if need.fit and not need.history and isinstance(state, PartialPoolState):
            state.with_fit(self._fit_statistics(tx, need.fit))
        return state

    def _partial_one_read(
        self,
        tx: _Tx,
        reps: tuple[Rep, ...],
        lead_ids: Sequence[str],
        accounts: Sequence[str],
        open_rows: Sequence[tuple[Any, ...]],
        history: bool,
        all_history: bool = False,
    ) -> PoolState:
        """:meth:`_partial` for a small batch in one statement (one round trip to a server).

        Also notes the batch's lead ids that have closed history in ``tx.closed``.
        """
        ids = sorted(set(lead_ids))
        keys = sorted(set(accounts))
        parts = [
            "SELECT 'L', rep_id, CAST(open_count AS TEXT), days, seq FROM lr_loads",
            "SELECT 'R', path, NULL, data, seq FROM lr_rotations",
        ]
        params: list[Any] = []
        if keys:
            marks = ",".join("?" * len(keys))
            parts.append(
                f"SELECT 'O', account_key, rep_id, NULL, seq FROM lr_owners "
                f"WHERE account_key IN ({marks})"
            )
            params.extend(keys)
            parts.append(
                f"SELECT 'A', account_key, NULL, data, seq FROM lr_account_history "
                f"WHERE account_key IN ({marks})"
            )
            params.extend(keys)
        if ids:
            marks = ",".join("?" * len(ids))
            parts.append(
                f"SELECT 'D', lead_id, status, data, seq FROM lr_leads WHERE lead_id IN ({marks})"
            )
            params.extend(ids)
            parts.append(
                f"SELECT 'C', lead_id, NULL, NULL, MIN(seq) FROM lr_history "
                f"WHERE lead_id IN ({marks}) GROUP BY lead_id"
            )
            params.extend(ids)
            if history and not all_history:
                parts.append(
                    f"SELECT 'H', lead_id, NULL, data, seq FROM lr_history "
                    f"WHERE lead_id IN ({marks})"
                )
                params.extend(ids)
        if all_history:
            parts.append("SELECT 'H', lead_id, NULL, data, seq FROM lr_history")
        rows = self._execute(" UNION ALL ".join(parts) + " ORDER BY 1, 5", params)
        cache = self._load_cache
        rot_cache = self._rot_cache
        loads: dict[str, RepLoad] = {}
        rotations: dict[str, Rotation] = {}
        owners: dict[str, str] = {}
        lead_rows: list[tuple[Any, ...]] = list(open_rows)
        closed: list[ClosedLead] = []
        accounts_seen: dict[str, tuple[OwnershipChange, ...]] = {}
        tx.closed = set()
        for kind, key, b, c, seq in rows:
            if kind == "L":
                n = int(b)
                hit = cache.get(key)
                if hit is not None and hit[0] == n and hit[1] == c:
                    loads[key] = hit[2]
                else:
                    load = assemble(RepLoad, {"open": n, "days": json.loads(c)}, _LOAD_FIELDS)
                    cache[key] = (n, c, load)
                    loads[key] = load
            elif kind == "R":
                found = rot_cache.get(key)
                if found is not None and found[0] == c:
                    rotations[key] = found[1]
                else:
                    rot = Rotation.model_validate_json(c)
                    rot_cache[key] = (c, rot)
                    rotations[key] = rot
            elif kind == "O":
                owners[key] = b
            elif kind == "D":
                lead_rows.append((key, b, seq, c))
            elif kind == "C":
                tx.closed.add(key)
            elif kind == "A":
                accounts_seen[key] = _changes(c)
            else:
                closed.append(ClosedLead.model_validate_json(c))
        lead_rows.sort(key=lambda r: int(r[2]))
        return _assemble_partial(
            tx,
            reps,
            lead_rows,
            loads=loads,
            rotations=rotations,
            owners=owners,
            history=tuple(closed),
            account_history=accounts_seen,
        )

    def _closed_ids(self, ids: Sequence[str]) -> list[str]:
        if not ids:
            return []
        rows = self._in("SELECT DISTINCT lead_id FROM lr_history WHERE lead_id IN", list(ids))
        return sorted(r[0] for r in rows)

    # -- writing the difference -------------------------------------------------------
    def _save(
        self,
        tx: _Tx,
        before: PoolState,
        after: PoolState,
        audit: Iterable[
            tuple[str, str | None, datetime, datetime | None, str | None, str | None, str]
        ],
        *,
        moved: frozenset[str] = frozenset(),
    ) -> None:
        """Write what changed from ``before`` to ``after`` and the audit rows; update meta."""
        done = len(tx.new_history)
        with self._pipeline():
            self._save_rows(tx, before, after, audit, moved)
        if not tx.bulk and len(tx.new_history) > done:
            # after the pipeline: these statements read what they update
            self._fit_add(tx.new_history[done:])

    def _save_rows(
        self,
        tx: _Tx,
        before: PoolState,
        after: PoolState,
        audit: Iterable[
            tuple[str, str | None, datetime, datetime | None, str | None, str | None, str]
        ],
        moved: frozenset[str],
    ) -> None:
        ex = self._do
        # (a validated copy of the state has an equal roster in a new tuple: not a change)
        if after.reps is not before.reps and after.reps != before.reps:
            ex("DELETE FROM lr_reps")
            self._executemany(
                "INSERT INTO lr_reps (pos, rep_id, data) VALUES (?, ?, ?)",
                [(i, r.id, r.model_dump_json()) for i, r in enumerate(after.reps)],
            )
            tx.roster_version += 1
        # counters
        for rep_id, load in after.loads.items():
            old = before.loads.get(rep_id)
            if old is load:
                continue
            days = json.dumps(load.days, separators=(",", ":"))
            if old is None:
                ex(
                    "INSERT INTO lr_loads (rep_id, seq, open_count, days) VALUES (?, ?, ?, ?)",
                    (rep_id, tx.seq(), load.open, days),
                )
            elif old.open != load.open or old.days != load.days:
                ex(
                    "UPDATE lr_loads SET open_count = ?, days = ? WHERE rep_id = ?",
                    (load.open, days, rep_id),
                )
        for rep_id in before.loads.keys() - after.loads.keys():
            ex("DELETE FROM lr_loads WHERE rep_id = ?", (rep_id,))
        # rotation memory
        for path, rot in after.rotations.items():
            old_rot = before.rotations.get(path)
            if old_rot is rot or old_rot == rot:
                continue
            data = rot.model_dump_json()
            if old_rot is None:
                ex(
                    "INSERT INTO lr_rotations (path, seq, data) VALUES (?, ?, ?)",
                    (path, tx.seq(), data),
                )
            else:
                ex("UPDATE lr_rotations SET data = ? WHERE path = ?", (data, path))
        # owners
        for key in [k for k in before.owners if k not in after.owners]:
            ex("DELETE FROM lr_owners WHERE account_key = ?", (key,))
        for key, rep_id in after.owners.items():
            old_owner = before.owners.get(key)
            if old_owner == rep_id:
                continue
            if old_owner is None:
                ex(
                    "INSERT INTO lr_owners (account_key, seq, rep_id) VALUES (?, ?, ?)",
                    (key, tx.seq(), rep_id),
                )
            else:
                ex("UPDATE lr_owners SET rep_id = ? WHERE account_key = ?", (rep_id, key))
        # account ownership history
        for key, changes in after.account_history.items():
            old_changes = before.account_history.get(key)
            if old_changes is changes or old_changes == changes:
                continue
            data = json.dumps([c.model_dump(mode="json") for c in changes], separators=(",", ":"))
            if old_changes is None:
                ex(
                    "INSERT INTO lr_account_history (account_key, seq, data) VALUES (?, ?, ?)",
                    (key, tx.seq(), data),
                )
            else:
                ex("UPDATE lr_account_history SET data = ? WHERE account_key = ?", (data, key))
        for key in before.account_history.keys() - after.account_history.keys():
            ex("DELETE FROM lr_account_history WHERE account_key = ?", (key,))
        # leads: open and pooled records
        gone = (before.open_leads.keys() | before.pool.keys()) - (
            after.open_leads.keys() | after.pool.keys()
        )
        for lead_id in sorted(gone):
            ex("DELETE FROM lr_leads WHERE lead_id = ?", (lead_id,))
            tx.lead_rows.pop(lead_id, None)
        for status, records in (("open", after.open_leads), ("pool", after.pool)):
            olds: dict[str, Any] = before.open_leads if status == "open" else before.pool
            for lead_id, rec in records.items():
                if olds.get(lead_id) is rec:
                    continue
                self._put_lead(tx, status, lead_id, rec, lead_id in moved)
        # history
        new_closed = [(tx.seq(), c) for c in after.history[len(before.history) :]]
        if new_closed:
            self._executemany(
                "INSERT INTO lr_history (seq, lead_id, rep_id, outcome, closed_utc, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        seq,
                        c.lead.id,
                        c.rep_id,
                        c.outcome,
                        utc_text(c.closed_at),
                        c.model_dump_json(),
                    )
                    for seq, c in new_closed
                ],
            )
            # the fit aggregates change in the same transaction as the history
            tx.new_history.extend(new_closed)
            tx.fit_version += 1
        rows = [
            (
                tx.seq(),
                kind,
                lead_id,
                utc_text(at),
                None if c is None else utc_text(c),
                rep,
                out,
                data,
            )
            for kind, lead_id, at, c, rep, out, data in audit
        ]
        if rows:
            self._executemany(
                "INSERT INTO lr_audit (seq, kind, lead_id, at_utc, created_utc, rep_id, outcome, "
                "data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        ex(
            "UPDATE lr_meta SET revision = ?, as_of = ?, roster_version = ?, next_seq = ?, "
            "fit_version = ? WHERE id = 1",
            (
                after.revision,
                None if after.as_of is None else after.as_of.isoformat(),
                tx.roster_version,
                tx.next_seq,
                tx.fit_version,
            ),
        )

    def _put_lead(self, tx: _Tx, status: str, lead_id: str, rec: Any, moved: bool) -> None:
        if status == "open":
            assert isinstance(rec, OpenLead)
            last = rec.last_activity_at or rec.first_activity_at or rec.assigned_at
            cols: tuple[Any, ...] = (
                rec.rep_id,
                utc_text(rec.assigned_at),
                1 if rec.first_activity_at is None else 0,
                utc_text(last),
                utc_text(rec.lead.created_at),
            )
        else:
            cols = (None, None, None, None, utc_text(rec.lead.created_at))
        data = rec.model_dump_json()
        known = tx.lead_rows.get(lead_id)
        if known is None:
            seq = tx.seq()
            self._do(
                "INSERT INTO lr_leads (lead_id, status, seq, rep_id, assigned_utc, untouched, "
                "last_touch_utc, created_utc, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (lead_id, status, seq, *cols, data),
            )
        else:
            # a record that stays open (or pooled) keeps its place; one that moves gets a new one
            seq = known[1] if known[0] == status and not moved else tx.seq()
            self._do(
                "UPDATE lr_leads SET status = ?, seq = ?, rep_id = ?, assigned_utc = ?, "
                "untouched = ?, last_touch_utc = ?, created_utc = ?, data = ? WHERE lead_id = ?",
                (status, seq, *cols, data, lead_id),
            )
        tx.lead_rows[lead_id] = (status, seq)

    # -- the calls --------------------------------------------------------------------
    def assign(
        self,
        router: Router,
        leads: Iterable[Lead],
        now: datetime | None = None,
        *,
        audit: Literal["full", "outcome"] = "full",
    ) -> RoutingResult:
        batch = list(leads)
        check_batch(batch)
        aware(now, "now")
        need = store_needs(router)
        ids = [lead.id for lead in batch]
        # Surge counts the leads created within its window before each decision time
        times = [lead.created_at for lead in batch] + ([now] if now is not None else [])
        surge_from = None if need.surge is None or not times else min(times) - need.surge
        # the owners this batch can touch, under the keys the router will use
        key_of = account_key_of if router.accounts is None else router.accounts.key_of
        accounts = [k for k in (key_of(lead) for lead in batch) if k]

        def run(tx: _Tx) -> RoutingResult:
            before = self._route_state(tx, need, ids, accounts, surge_from=surge_from)
            existing = {i: before.open_leads[i] for i in ids if i in before.open_leads}
            fresh = [lead for lead in batch if lead.id not in existing]
            maybe = [lead.id for lead in fresh if lead.id not in before.pool]
            known = tx.closed
            closed = (
                self._closed_ids(maybe) if known is None else sorted(i for i in maybe if i in known)
            )
            if closed:
                raise closed_error(closed)
            if not fresh:
                return merge_result(batch, existing, None, before)
            routed = router.assign(before, fresh, now, audit=audit)
            created = {lead.id: lead.created_at for lead in fresh}
            self._save(
                tx,
                before,
                routed.state,
                _decision_rows(routed.audit, created.__getitem__),
            )
            return merge_result(batch, existing, routed, routed.state)

        return self._write(run)

    def reclaim(self, router: Router, now: datetime, policy: ReclaimPolicy) -> RoutingResult:
        aware(now, "now")
        need = store_needs(router)
        full = need.pool

        if not full:
            # a sweep with nothing due reads two index ranges and takes no write lock
            def idle_state(tx: _Tx) -> PoolState | None:
                if self._due_rows(now, policy):
                    return None
                as_of = None if tx.as_of is None else datetime.fromisoformat(tx.as_of)
                return build(
                    PartialPoolState,
                    **{**_EMPTY, "reps": self._reps(tx), "revision": tx.revision, "as_of": as_of},
                )

            idle = self._reading(idle_state)
            if idle is not None:
                return reclaim_state(router, idle, now, policy)

        def run(tx: _Tx) -> RoutingResult:
            rows = {} if full else self._due_rows(now, policy)
            accounts = [
                k
                for k in (OpenLead.model_validate_json(r[3]).account_key for r in rows.values())
                if k
            ]
            surge_from = None if need.surge is None else now - need.surge
            before = self._route_state(
                tx, need, [], accounts, open_rows=list(rows.values()), surge_from=surge_from
            )
            result = reclaim_state(router, before, now, policy)
            if not result.audit:
                return result
            self._save(
                tx,
                before,
                result.state,
                _decision_rows(result.audit, lambda lead_id: _created(before, lead_id)),
                moved=frozenset(d.lead_id for d in result.audit),
            )
            return result

        return self._write(run)

    def _due_rows(self, now: datetime, policy: ReclaimPolicy) -> dict[str, tuple[Any, ...]]:
        """Open lead rows that may be due at ``now`` (a superset: working time and protection
        only delay a lead; the engine decides), in one statement over two indexes."""
        parts: list[str] = []
        params: list[str] = []
        head = "SELECT lead_id, status, seq, data FROM lr_leads WHERE status = 'open' AND "
        if policy.first_touch is not None:
            parts.append(head + "untouched = 1 AND assigned_utc <= ?")
            params.append(utc_text(now - policy.first_touch))
        if policy.recycle_after is not None:
            parts.append(head + "last_touch_utc <= ?")
            params.append(utc_text(now - policy.recycle_after))
        worked: timedelta | None = getattr(policy, "unconverted_after", None)
        if worked is not None:
            parts.append(head + "untouched = 0 AND assigned_utc <= ?")
            params.append(utc_text(now - worked))
        if not parts:
            return {}
        return {r[0]: r for r in self._execute(" UNION ".join(parts), params)}

    def reclaim_warnings(
        self, now: datetime, horizon: timedelta, policy: ReclaimPolicy
    ) -> list[ReclaimWarning]:
        aware(now, "now")

        def part(tx: _Tx) -> PoolState:
            rows = self._due_rows(now + horizon, policy)
            return self._partial(tx, [], [], open_rows=list(rows.values()))

        return warnings(self._reading(part), now, horizon, policy)

    def record_activity(self, lead_id: str, at: datetime) -> None:
        def run(tx: _Tx) -> None:
            before = self._partial(tx, [lead_id], [])
            rec = before.open_leads.get(lead_id)
            if tx.retry and rec is not None and rec.last_activity_at == at:
                return  # the attempt that lost its connection committed this already
            after = before.record_activity(lead_id, at)
            row = ("activity", lead_id, at, None, None, None, json.dumps({"at": at.isoformat()}))
            self._save(tx, before, after, [row])

        self._write(run)

    def close(self, lead_id: str, outcome: CloseOutcome, at: datetime) -> None:
        def run(tx: _Tx) -> None:
            before = self._partial(tx, [lead_id], [], history=True)
            if tx.retry and lead_id not in before.open_leads:
                done = [c for c in before.history if c.lead.id == lead_id]
                if done and (done[-1].outcome, done[-1].closed_at) == (outcome, at):
                    return  # the attempt that lost its connection committed this already
            after = before.close(lead_id, outcome, at)
            rec = before.open_leads[lead_id]
            row = (
                "close",
                lead_id,
                at,
                None,
                rec.rep_id,
                outcome,
                json.dumps({"outcome": outcome}),
            )
            self._save(tx, before, after, [row])

        self._write(run)

    def assign_manually(
        self,
        lead: Lead,
        rep_id: str,
        *,
        at: datetime,
        by: str,
        note: str | None = None,
        force: bool = False,
        ownership: OwnershipPolicy | None = None,
        accounts: AccountMatcher | None = None,
    ) -> None:
        check_batch([lead])
        account = account_key_of(lead) if accounts is None else accounts.key_of(lead)

        def run(tx: _Tx) -> None:
            before = self._partial(tx, [lead.id], [account] if account else [], history=True)
            rec = before.open_leads.get(lead.id)
            if tx.retry and rec is not None and (rec.rep_id, rec.assigned_at) == (rep_id, at):
                return  # the attempt that lost its connection committed this already
            after = before.assign_manually(
                lead,
                rep_id,
                at=at,
                by=by,
                note=note,
                force=force,
                ownership=ownership,
                accounts=accounts,
            )
            data = json.dumps({"rep_id": rep_id, "by": by, "note": note, "force": force})
            row = ("assign_manually", lead.id, at, lead.created_at, rep_id, "assigned", data)
            self._save(tx, before, after, [row])

        self._write(run)

    def transfer_accounts(
        self,
        from_rep: str,
        to: str | Router,
        *,
        at: datetime,
        by: str,
        note: str | None = None,
        leads: Literal["accounts", "all", "none"] = "accounts",
        force: bool = False,
        protection: timedelta = timedelta(0),
    ) -> TransferResult:
        aware(at, "at")
        router = None if isinstance(to, str) else to
        need = Needs() if router is None else store_needs(router)

        def run(tx: _Tx) -> TransferResult:
            held = self._execute(
                "SELECT lead_id, status, seq, data FROM lr_leads WHERE status = 'open' "
                "AND rep_id = ?",
                (from_rep,),
            )
            owned = [
                r[0]
                for r in self._execute(
                    "SELECT account_key FROM lr_owners WHERE rep_id = ?", (from_rep,)
                )
            ]
            keys = {k for k in (OpenLead.model_validate_json(r[3]).account_key for r in held) if k}
            accounts = sorted({*owned, *keys})
            surge_from = None if need.surge is None else at - need.surge
            before = self._route_state(
                tx, need, [], accounts, open_rows=held, surge_from=surge_from
            )
            result = transfer_accounts(
                before, from_rep, to, at=at, by=by, note=note, leads=leads, force=force,
                protection=protection,
            )  # fmt: skip
            if not result.audit and not result.changes:
                return result
            # routed leads leave their place (as in the engine); leads given to a rep keep it
            moved = frozenset() if router is None else frozenset(d.lead_id for d in result.audit)
            self._save(
                tx,
                before,
                result.state,
                _decision_rows(result.audit, lambda lead_id: _created(before, lead_id)),
                moved=moved,
            )
            return result

        return self._write(run)

    def set_reps(self, reps: Sequence[Rep]) -> None:
        roster = tuple(reps)

        def run(tx: _Tx) -> None:
            current = self._reps(tx)
            if tx.retry and current == roster:
                return  # the attempt that lost its connection committed this already
            keep = {r.id for r in roster}
            gone = [r.id for r in current if r.id not in keep]
            held = (
                self._in(
                    "SELECT lead_id, status, seq, data FROM lr_leads WHERE status = 'open' "
                    "AND rep_id IN",
                    gone,
                )
                if gone
                else []
            )
            owned = (
                [r[0] for r in self._in("SELECT account_key FROM lr_owners WHERE rep_id IN", gone)]
                if gone
                else []
            )
            before = self._partial(tx, [], owned, open_rows=held)
            after = before.with_reps(roster)
            data = json.dumps({"reps": [r.id for r in roster]})
            when = datetime.fromisoformat("1970-01-01T00:00:00+00:00")
            row = ("set_reps", None, after.as_of or when, None, None, None, data)
            self._save(tx, before, after, [row])

        self._write(run)

    def snapshot(self) -> PoolState:
        part = self._reading(lambda tx: self._partial(tx, [], [], full=True))
        return PoolState.model_validate_json(part.model_dump_json())

    def load(self, state: PoolState) -> None:
        def run(tx: _Tx) -> None:
            for table in (
                "lr_reps",
                "lr_loads",
                "lr_rotations",
                "lr_owners",
                "lr_leads",
                "lr_history",
                "lr_account_history",
            ):
                self._execute(f"DELETE FROM {table}")
            tx.lead_rows.clear()
            tx.bulk = True
            empty = build(PoolState, **_EMPTY)
            when = state.as_of or datetime.fromisoformat("1970-01-01T00:00:00+00:00")
            data = json.dumps({"revision": state.revision, "open": len(state.open_leads)})
            self._save(tx, empty, state, [("load", None, when, None, None, None, data)])
            self._fit_rebuild(tx.new_history)
            if not tx.new_history:  # the aggregates of the old history are gone too
                tx.fit_version += 1
                self._do("UPDATE lr_meta SET fit_version = ? WHERE id = 1", (tx.fit_version,))

        self._write(run)
        self._roster = None

    def audit(
        self,
        *,
        lead_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        kind: str | None = None,
    ) -> list[AuditRow]:
        where: list[str] = []
        params: list[Any] = []
        if lead_id is not None:
            where.append("lead_id = ?")
            params.append(lead_id)
        if since is not None:
            where.append("at_utc >= ?")
            params.append(utc_text(since))
        if until is not None:
            where.append("at_utc < ?")
            params.append(utc_text(until))
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        sql = "SELECT seq, kind, lead_id, at_utc, data, created_utc FROM lr_audit"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._reading(lambda tx: self._execute(sql + " ORDER BY seq", params))
        return [
            AuditRow(
                int(seq),
                k,
                lid,
                from_utc_text(at),
                json.loads(data),
                None if c is None else from_utc_text(c),
            )
            for seq, k, lid, at, data, c in rows
        ]

    def closed_leads(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[tuple[str, str, str, datetime]]:
        sql = "SELECT lead_id, rep_id, outcome, closed_utc FROM lr_history WHERE closed_utc >= ?"
        params = [utc_text(since) if since is not None else ""]
        if until is not None:
            sql += " AND closed_utc < ?"
            params.append(utc_text(until))
        rows = self._reading(lambda tx: self._execute(sql + " ORDER BY seq", params))
        return [(a, b, c, from_utc_text(d)) for a, b, c, d in rows]

    def lead(self, lead_id: str) -> Lead | None:
        def read(tx: _Tx) -> list[tuple[Any, ...]]:
            rows = self._execute("SELECT data FROM lr_leads WHERE lead_id = ?", (lead_id,))
            if rows:
                return rows
            return self._execute(
                "SELECT data FROM lr_history WHERE lead_id = ? ORDER BY seq DESC", (lead_id,)
            )

        rows = self._reading(read)
        return None if not rows else Lead.model_validate(json.loads(rows[0][0])["lead"])

    def counters(self) -> PoolState:
        return self._reading(lambda tx: self._partial(tx, [], []))

    def counts(self) -> dict[str, int]:
        """Rows per status (``open``, ``pool``), closed history rows and audit rows."""

        def count(tx: _Tx) -> dict[str, int]:
            out = {
                str(s): int(n)
                for s, n in self._execute("SELECT status, COUNT(*) FROM lr_leads GROUP BY status")
            }
            out["closed"] = int(self._execute("SELECT COUNT(*) FROM lr_history")[0][0])
            out["audit"] = int(self._execute("SELECT COUNT(*) FROM lr_audit")[0][0])
            return out

        return self._reading(count)


_EMPTY: dict[str, Any] = {
    "as_of": None,
    "revision": 0,
    "reps": (),
    "loads": {},
    "rotations": {},
    "owners": {},
    "open_leads": {},
    "pool": {},
    "history": (),
    "account_history": {},
}


def _created(state: PoolState, lead_id: str) -> datetime | None:
    rec = state.open_leads.get(lead_id) or state.pool.get(lead_id)
    return None if rec is None else rec.lead.created_at


def _decision_rows(
    decisions: Iterable[Decision], created: Callable[[str], datetime | None]
) -> list[tuple[str, str | None, datetime, datetime | None, str | None, str | None, str]]:
    """The audit rows of a call's decisions (``created``: a lead's creation time by id)."""
    return [
        ("decision", d.lead_id, d.at, created(d.lead_id), d.rep_id, d.outcome, d.model_dump_json())
        for d in decisions
    ]


class SQLiteStore(SQLStore):
    """The embedded store: one SQLite file, WAL mode, one ``BEGIN IMMEDIATE`` transaction per call.

    Safe for several threads and several processes on one machine (writers
    take turns; readers never block). ``synchronous="NORMAL"`` (the default)
    survives a killed process; ``"FULL"`` also survives a power cut, at an
    fsync per call.

    >>> import tempfile, os
    >>> from leadroute import Rep
    >>> path = os.path.join(tempfile.mkdtemp(), "pool.db")
    >>> with SQLiteStore(path) as store:
    ...     store.set_reps([Rep(id="ann")])
    ...     [r.id for r in store.snapshot().reps]
    ['ann']

    .. versionadded:: 0.2.0
    """

    dialect = "sqlite"

    def __init__(
        self,
        path: str | Path,
        *,
        timeout: float = 30.0,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
    ) -> None:
        super().__init__()
        if synchronous not in ("NORMAL", "FULL"):
            msg = f"SQLiteStore(synchronous={synchronous!r}): use 'NORMAL' or 'FULL'"
            raise StoreError(msg)
        self.path = Path(path)
        try:
            self._conn = sqlite3.connect(
                str(self.path), timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute(f"PRAGMA synchronous = {synchronous}")
        except sqlite3.Error as exc:
            msg = f"cannot open SQLite store {str(self.path)!r}: {exc}"
            raise StoreError(msg) from None
        try:
            with self._lock, self._transaction(True):
                self._migrate()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            msg = f"{str(self.path)!r} is not a leadroute SQLite store: {exc}"
            raise StoreError(msg) from None
        except BaseException:
            self._conn.close()
            raise

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, params).fetchall()

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[None]:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _transient(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)

    def disconnect(self) -> None:
        self._conn.close()


def _assemble_partial(
    tx: _Tx,
    reps: tuple[Rep, ...],
    lead_rows: Sequence[tuple[Any, ...]],
    *,
    loads: dict[str, RepLoad],
    rotations: dict[str, Rotation],
    owners: dict[str, str],
    history: tuple[ClosedLead, ...],
    account_history: dict[str, tuple[OwnershipChange, ...]],
) -> PoolState:
    """The partial state of a call from its rows; notes each lead row's status and seq in ``tx``."""
    open_leads: dict[str, OpenLead] = {}
    pool: dict[str, PooledLead] = {}
    for lead_id, status, seq, data in lead_rows:
        tx.lead_rows[lead_id] = (status, int(seq))
        if status == "open":
            open_leads[lead_id] = OpenLead.model_validate_json(data)
        else:
            pool[lead_id] = PooledLead.model_validate_json(data)
    return build(
        PartialPoolState,
        as_of=None if tx.as_of is None else datetime.fromisoformat(tx.as_of),
        revision=tx.revision,
        reps=reps,
        loads=loads,
        rotations=rotations,
        owners=owners,
        open_leads=open_leads,
        pool=pool,
        history=history,
        account_history=account_history,
    )


def _touch_hours(c: ClosedLead) -> float | None:
    """Hours from assignment to first activity of a closed lead (None without activity)."""
    if c.first_activity_at is None:
        return None
    return (c.first_activity_at - c.assigned_at).total_seconds() / 3600


def _backoff(attempt: int) -> None:
    """Sleep a bounded, jittered time before attempt ``attempt + 1`` (no random source)."""
    jitter = (time.monotonic_ns() // 1000 + os.getpid()) % 1000 / 1000
    time.sleep(min(1.0, 0.01 * 2**attempt) * (0.5 + jitter))
