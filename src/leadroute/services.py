"""Engine services behind :class:`~leadroute.context.RouteContext`: answers that stay cheap
however many candidates a lead has.

A built-in strategy asks the context (``ctx.longest_waiting(candidates)``,
``ctx.open_cap_split(...)``) instead of scanning its candidates. When the
candidates are a list the engine shares between leads (an index cell, or a
cell less the reps at a cap), the answer comes from a structure kept per
cell for the whole call and updated as leads are assigned, in amortised
time independent of the number of candidates:

- a rotation heap per (selector path, cell) keyed ``(last served turn,
  roster position)``; an entry whose rep was served since it was pushed is
  refreshed when it reaches the top (turns only grow), an entry whose rep
  reached a cap is set aside;
- per capacity cap, the set of reps at their open-lead cap and, per cell,
  how many of its reps are in it, maintained from the log of reps whose
  open count changed (the engine appends to it on every assignment).

Any other list (a custom filter's output) gets the plain scan, which stays
the reference: both give the same answer (a property test compares them).

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leadroute.models import Rep

__all__ = ["NEVER", "CappedCell", "CellList", "scan_longest_waiting"]

#: The "last served" turn of a rep never served.
NEVER = -1


class CellList(list["Rep"]):
    """Candidates the engine shares between leads and never mutates (an index cell).

    ``memo`` is a serial number unique in the process standing for how the
    list was made (0: not numbered yet). Strategies may key per-call work on
    it (``ctx.memo``); the context's services keep their structures per cell.

    .. versionadded:: 0.2.0
    """

    __slots__ = ("memo",)

    def __init__(self, reps: Iterable[Rep] = (), memo: int = 0) -> None:
        super().__init__(reps)
        self.memo = memo


class _Capped(list["Rep"]):
    """A cell less the reps at one cap's limit (shared; never mutated)."""

    __slots__ = ("cell",)

    def __init__(self, reps: Iterable[Rep], cell: CappedCell) -> None:
        super().__init__(reps)
        self.cell = cell


def scan_longest_waiting(
    candidates: Sequence[Rep], last: Mapping[str, int]
) -> tuple[Rep, int, Rep | None]:
    """The candidate served longest ago (never-served first; ties by list order) and the next.

    The plain scan over every candidate: the reference for
    :meth:`RouteContext.longest_waiting`.

    >>> from leadroute import Rep
    >>> a, b, c = Rep(id="a"), Rep(id="b"), Rep(id="c")
    >>> best, turn, second = scan_longest_waiting([a, b, c], {"a": 4, "b": 2})
    >>> best.id, turn, second.id
    ('c', -1, 'b')

    .. versionadded:: 0.2.0
    """
    best = candidates[0]
    best_v = last.get(best.id, NEVER)
    second: Rep | None = None
    second_v: float = math.inf
    for rep in candidates[1:]:
        v = last.get(rep.id, NEVER)
        if v < best_v:
            second, second_v = best, best_v
            best, best_v = rep, v
        elif v < second_v:
            second, second_v = rep, v
    return best, best_v, second


class CappedCell:
    """One cell's split by one cap: the reps under it (``kept``) and those at it (``capped``).

    ``version`` changes whenever ``kept``, ``capped`` or the count of a
    capped rep changes, so the cap may keep what it derives from the split
    (its drop records) in ``derived`` with the version it was made for.

    .. versionadded:: 0.2.0
    """

    __slots__ = (
        "_built",
        "_kept",
        "_tracker",
        "base",
        "capped",
        "derived",
        "n_capped",
        "positions",
        "version",
    )

    def __init__(self, base: CellList, positions: tuple[int, ...], tracker: _CapTracker) -> None:
        self._tracker = tracker
        self.base = base
        self.positions = positions
        self.n_capped = 0
        self.version = 0
        self._built = -1
        self._kept: list[Rep] = base
        self.capped: tuple[Rep, ...] = ()
        #: ``(version, value)`` kept by the cap for this cell
        self.derived: tuple[int, Any] | None = None

    def split(self) -> tuple[list[Rep], tuple[Rep, ...]]:
        """``(kept, capped)`` now, in the cell's order (rebuilt only after a change)."""
        at_cap = self._tracker.at_cap
        if self.n_capped == 0:
            return self.base, ()
        if self._built != self.version:
            kept: list[Rep] = []
            capped: list[Rep] = []
            for pos, rep in zip(self.positions, self.base, strict=True):
                (capped if pos in at_cap else kept).append(rep)
            self._kept = _Capped(kept, self)
            self.capped = tuple(capped)
            self._built = self.version
        return self._kept, self.capped


class _CapTracker:
    """The reps at one cap's open-lead limit, kept current from the change log."""

    __slots__ = ("at_cap", "cells", "cells_of", "cursor", "epoch", "limit")

    def __init__(self, cursor: int) -> None:
        self.limit: dict[int, int | None] = {}
        self.at_cap: set[int] = set()
        self.cells_of: dict[int, list[CappedCell]] = {}
        #: cell memo -> its split, or None when a rep of it needs the full check
        self.cells: dict[int, CappedCell | None] = {}
        self.cursor = cursor
        #: counts the reps that left the cap (open counts fell): rotation heaps re-read then
        self.epoch = 0


class _Rotation:
    """Longest-waiting order of one cell for one selector path."""

    __slots__ = ("epoch", "heap", "parked")

    def __init__(self, heap: list[tuple[int, int]]) -> None:
        self.heap = heap
        self.parked: list[int] = []
        self.epoch = 0


class Services:
    """The per-call structures behind the context's services (engine-owned, one per call).

    ``changes`` is the log of rep ids whose open count changed, appended to
    by the engine on every assignment.
    """

    __slots__ = ("caps", "changes", "monotone", "position", "reps", "rotations")

    def __init__(self, reps: Sequence[Rep], position: Mapping[str, int]) -> None:
        self.reps = reps
        self.position = position
        self.changes: list[str] = []
        self.caps: dict[Any, _CapTracker] = {}
        self.rotations: dict[tuple[str, int, int], _Rotation | None] = {}
        #: per selector path: whether its turns only grow (then the heap order holds)
        self.monotone: dict[str, bool] = {}

    # -- capacity ---------------------------------------------------------------------
    def _sync(self, tracker: _CapTracker, opens: Mapping[str, int]) -> None:
        changes = self.changes
        if tracker.cursor == len(changes):
            return
        position = self.position
        limits = tracker.limit
        at_cap = tracker.at_cap
        for rep_id in changes[tracker.cursor :]:
            pos = position[rep_id]
            if pos not in limits:
                continue  # in no cell seen yet: read fresh when its cell is first seen
            lim = limits[pos]
            now = lim is not None and opens.get(rep_id, 0) >= lim
            was = pos in at_cap
            if now and not was:
                at_cap.add(pos)
                for cell in tracker.cells_of[pos]:
                    cell.n_capped += 1
                    cell.version += 1
            elif was and not now:
                at_cap.discard(pos)
                tracker.epoch += 1
                for cell in tracker.cells_of[pos]:
                    cell.n_capped -= 1
                    cell.version += 1
            elif now:
                for cell in tracker.cells_of[pos]:
                    cell.version += 1  # a capped rep's count moved: its drop figures change
        tracker.cursor = len(changes)

    def open_cap_split(
        self,
        key: Any,
        candidates: list[Rep],
        limit_of: Callable[[Rep], int | None],
        opens: Mapping[str, int],
    ) -> CappedCell | None:
        """The split of a shared cell by an open-lead cap, or None (then scan)."""
        if type(candidates) is _Capped:
            return None
        memo = getattr(candidates, "memo", 0) if isinstance(candidates, CellList) else 0
        if not memo:
            return None
        assert isinstance(candidates, CellList)
        tracker = self.caps.get(key)
        if tracker is None:
            tracker = self.caps[key] = _CapTracker(len(self.changes))
        else:
            self._sync(tracker, opens)
        cell = tracker.cells.get(memo, False)
        if cell is False:
            cell = self._register(tracker, candidates, limit_of, opens)
            tracker.cells[memo] = cell
        return cell  # type: ignore[return-value]

    def _register(
        self,
        tracker: _CapTracker,
        base: CellList,
        limit_of: Callable[[Rep], int | None],
        opens: Mapping[str, int],
    ) -> CappedCell | None:
        position = self.position
        rows: list[tuple[int, int | None]] = []
        for rep in base:
            lim = limit_of(rep)
            if lim is not None and lim < 0:
                return None  # a rep with day or period caps: the full check, per lead
            rows.append((position[rep.id], lim))
        cell = CappedCell(base, tuple(p for p, _ in rows), tracker)
        limits = tracker.limit
        at_cap = tracker.at_cap
        for (pos, lim), rep in zip(rows, base, strict=True):
            if pos not in limits:
                limits[pos] = lim
                tracker.cells_of[pos] = []
                if lim is not None and opens.get(rep.id, 0) >= lim:
                    at_cap.add(pos)
            tracker.cells_of[pos].append(cell)
            if pos in at_cap:
                cell.n_capped += 1
        return cell

    # -- rotation ---------------------------------------------------------------------
    def longest_waiting(
        self, path: str, candidates: list[Rep], last: Mapping[str, int], turn: int
    ) -> tuple[Rep, int, Rep | None] | None:
        """The longest-waiting candidate and the next from the cell's heap, or None (then scan)."""
        tracker: _CapTracker | None = None
        capped: set[int] | None = None
        if type(candidates) is _Capped:
            cell = candidates.cell
            base = cell.base
            if cell._built != cell.version or candidates is not cell._kept:
                return None  # a split from before the last change: scan it
            tracker = cell._tracker
            capped = tracker.at_cap
        elif isinstance(candidates, CellList) and candidates.memo:
            base = candidates
        else:
            return None
        mono = self.monotone.get(path)
        if mono is None:
            mono = self.monotone[path] = max(last.values(), default=NEVER) < turn
        if not mono:
            return None
        key = (path, base.memo, 0 if tracker is None else id(tracker))
        rot = self.rotations.get(key, False)
        if rot is False:
            rot = self.rotations[key] = self._heap(base, last)
        if rot is None:
            return None
        assert isinstance(rot, _Rotation)
        if tracker is not None and rot.epoch != tracker.epoch:
            # reps left the cap since entries were set aside: put them back
            back = [p for p in rot.parked if p not in tracker.at_cap]
            rot.parked = [p for p in rot.parked if p in tracker.at_cap]
            for pos in back:
                heapq.heappush(rot.heap, (NEVER - 1, pos))  # refreshed at the top
            rot.epoch = tracker.epoch
        first = self._top(rot, last, capped)
        if first is None:  # pragma: no cover - the engine calls selectors with candidates only
            return None
        reps = self.reps
        best = reps[first[1]]
        entry = heapq.heappop(rot.heap)
        nxt = self._top(rot, last, capped)
        heapq.heappush(rot.heap, entry)
        return best, first[0], None if nxt is None else reps[nxt[1]]

    def _heap(self, base: CellList, last: Mapping[str, int]) -> _Rotation | None:
        position = self.position
        heap: list[tuple[int, int]] = []
        prev = -1
        for rep in base:
            pos = position.get(rep.id)
            if pos is None or pos <= prev:
                return None  # not in roster order: the heap's tie-break would differ
            prev = pos
            heap.append((last.get(rep.id, NEVER), pos))
        heapq.heapify(heap)
        return _Rotation(heap)

    def _top(
        self, rot: _Rotation, last: Mapping[str, int], capped: set[int] | None
    ) -> tuple[int, int] | None:
        heap = rot.heap
        reps = self.reps
        while heap:
            top = heap[0]
            pos = top[1]
            v = last.get(reps[pos].id, NEVER)
            if v != top[0]:
                heapq.heapreplace(heap, (v, pos))
            elif capped is not None and pos in capped:
                heapq.heappop(heap)
                rot.parked.append(pos)
            else:
                return top
        return None
