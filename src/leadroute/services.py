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
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

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

    __slots__ = ("memo", "positions")

    def __init__(self, reps: Iterable[Rep] = (), memo: int = 0) -> None:
        super().__init__(reps)
        self.memo = memo
        #: the reps' roster positions, when the maker recorded them (see :meth:`add`)
        self.positions: list[int] | tuple[int, ...] | None = None

    def add(self, rep: Rep, position: int) -> None:
        """Append ``rep``, recording its roster position (the index does, as it builds cells)."""
        positions = self.positions
        if type(positions) is not list:
            if positions is not None or self:
                # earlier reps came without positions, or the list is frozen: the positions
                # held no longer cover every rep, so readers look them up (see ``_cell``)
                self.append(rep)
                return
            positions = self.positions = []
        self.append(rep)
        positions.append(position)

    def freeze(self) -> None:
        """The maker is done adding: positions become a tuple (of numbers only: the garbage
        collector stops tracking it, one object less per cell)."""
        if type(self.positions) is list:
            self.positions = tuple(self.positions)


class _Capped(list["Rep"]):
    """A cell less the reps at one cap's limit (shared; never mutated).

    It names its split by numbers (the cap's key, the cell, the version), not
    by reference: no reference cycle, so it is freed as soon as it is dropped.
    """

    __slots__ = ("memo", "owner", "version")

    def __init__(self, reps: Iterable[Rep], owner: int, memo: int, version: int) -> None:
        super().__init__(reps)
        self.owner = owner
        self.memo = memo
        self.version = version


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
        "_at_cap",
        "_built",
        "_kept",
        "_owner",
        "capped",
        "derived",
        "info",
        "n_capped",
        "version",
    )

    def __init__(self, info: _CellInfo, owner: int, at_cap: set[int]) -> None:
        self._owner = owner
        self._at_cap = at_cap
        self.info = info
        self.n_capped = sum(1 for p in info.positions if p in at_cap) if at_cap else 0
        self.version = 0
        self._built = -1
        self._kept: list[Rep] = info.base
        self.capped: tuple[Rep, ...] = ()
        #: ``(version, value)`` kept by the cap for this cell
        self.derived: tuple[int, Any] | None = None

    def split(self) -> tuple[list[Rep], tuple[Rep, ...]]:
        """``(kept, capped)`` now, in the cell's order (rebuilt only after a change)."""
        if self.n_capped == 0:
            return self.info.base, ()
        if self._built != self.version:
            at_cap = self._at_cap
            kept: list[Rep] = []
            capped: list[Rep] = []
            for pos, rep in zip(self.info.positions, self.info.base, strict=True):
                (capped if pos in at_cap else kept).append(rep)
            self._kept = _Capped(kept, self._owner, self.info.base.memo, self.version)
            self.capped = tuple(capped)
            self._built = self.version
        return self._kept, self.capped


class _CellInfo:
    """What the services know of one shared cell while the roster is unchanged."""

    __slots__ = ("base", "positions")

    def __init__(self, base: CellList, positions: tuple[int, ...]) -> None:
        self.base = base
        #: roster positions of the cell's reps, strictly increasing
        self.positions = positions


class _CapRoster:
    """One cap's limits and cell membership, kept while the roster is unchanged."""

    __slots__ = ("cells", "cells_of", "limit", "owner", "zero")

    def __init__(self, owner: object, limit: dict[int, int | None]) -> None:
        #: the cap these are for (held, so its id is not reused while this is kept)
        self.owner = owner
        #: roster position -> open-lead limit (None: none; negative: needs the full check)
        self.limit = limit
        #: positions of the reps whose limit is 0 (at it without any open lead)
        self.zero = tuple(pos for pos, lim in limit.items() if lim == 0)
        #: cell memo -> its info, or None when a rep of it needs the full check
        self.cells: dict[int, _CellInfo | None] = {}
        #: roster position -> memos of the cells seen that hold the rep (tuples of numbers:
        #: the collector stops tracking them)
        self.cells_of: dict[int, tuple[int, ...]] = {}


class _CapTracker:
    """One cap in one call: the reps at their open-lead limit, current from the change log."""

    __slots__ = ("at_cap", "cells", "cursor", "epoch", "known", "roster")

    def __init__(self, roster: _CapRoster, cursor: int) -> None:
        self.roster = roster
        self.at_cap: set[int] = set()
        #: positions whose open count was read this call; None: all (the counts are a dict)
        self.known: set[int] | None = None
        #: cell memo -> its split in this call
        self.cells: dict[int, CappedCell] = {}
        self.cursor = cursor
        #: counts the reps that left the cap (open counts fell): rotations re-read then
        self.epoch = 0


class _Rotation:
    """Longest-waiting order of one cell for one selector path.

    Reps from ``cursor`` on are unseen: never served when the cell was
    first asked, taken in roster order until one turns out served (it then
    joins the heap). The heap holds ``(last served, position)`` entries,
    refreshed when they reach the top; reps at a cap wait in ``parked``.
    """

    __slots__ = ("cursor", "epoch", "heap", "parked", "positions")

    def __init__(self, positions: tuple[int, ...]) -> None:
        self.positions = positions
        self.cursor = 0
        self.heap: list[tuple[int, int]] = []
        self.parked: list[int] = []
        self.epoch = 0


class Services:
    """The per-call structures behind the context's services (engine-owned, one per call).

    ``changes`` is the log of rep ids whose open count changed, appended to
    by the engine on every assignment. What depends on the roster alone
    (cell positions, cap limits) is kept in ``shared`` (the context's
    ``roster_memo``) across calls.
    """

    __slots__ = ("caps", "cells", "changes", "monotone", "position", "reps", "rotations", "shared")

    #: Lists up to this long are scanned: cheaper than a structure per cell (and its objects).
    scan_up_to: ClassVar[int] = 8

    def __init__(
        self, reps: Sequence[Rep], position: Mapping[str, int], shared: dict[Any, Any]
    ) -> None:
        self.reps = reps
        self.position = position
        self.shared = shared
        cells = shared.get(_CELLS)
        if cells is None:
            cells = shared[_CELLS] = {}
        #: cell memo -> its info, or None when it is not in roster order
        self.cells: dict[int, _CellInfo | None] = cells
        self.changes: list[str] = []
        self.caps: dict[int, _CapTracker] = {}
        self.rotations: dict[tuple[str, int, _CapTracker | None], _Rotation | None] = {}
        #: per selector path: whether its turns only grow (then the heap order holds)
        self.monotone: dict[str, bool] = {}

    def _cell(self, base: CellList) -> _CellInfo | None:
        info = self.cells.get(base.memo, False)
        if info is False:
            held = base.positions
            if held is not None and len(held) == len(base):
                positions = tuple(held)
            else:
                position = self.position
                try:
                    positions = tuple([position[rep.id] for rep in base])
                except KeyError:
                    positions = ()
            ordered = len(positions) == len(base) and all(
                a < b for a, b in itertools.pairwise(positions)
            )
            # not in roster order: a heap's tie-break would differ from the scan's
            info = self.cells[base.memo] = _CellInfo(base, positions) if ordered else None
        return info  # type: ignore[return-value]

    # -- capacity ---------------------------------------------------------------------
    def _tracker(
        self, key: object, limit_of: Callable[[Rep], int | None], opens: Mapping[str, int]
    ) -> _CapTracker:
        roster = self.shared.get((_CAPS, id(key)))
        if roster is None or roster.owner is not key:
            limits = {i: limit_of(rep) for i, rep in enumerate(self.reps)}
            roster = self.shared[(_CAPS, id(key))] = _CapRoster(key, limits)
        tracker = self.caps[id(key)] = _CapTracker(roster, len(self.changes))
        if type(opens) is not dict:
            # counts behind a mapping (a store's ledger): read by key, as cells are first seen
            tracker.known = set()
            return tracker
        limits = roster.limit
        position = self.position
        at_cap = tracker.at_cap
        at_cap.update(roster.zero)
        for rep_id, n in opens.items():
            pos = position.get(rep_id)
            if pos is None:
                continue
            lim = limits[pos]
            if lim is not None and lim >= 0 and n >= lim:
                at_cap.add(pos)
        return tracker

    def _sync(self, tracker: _CapTracker, opens: Mapping[str, int]) -> None:
        changes = self.changes
        if tracker.cursor == len(changes):
            return
        position = self.position
        roster = tracker.roster
        limits = roster.limit
        at_cap = tracker.at_cap
        cells = tracker.cells
        known = tracker.known
        for rep_id in changes[tracker.cursor :]:
            pos = position[rep_id]
            if known is not None and pos not in known:
                continue  # read when its cell is first seen
            lim = limits[pos]
            now = lim is not None and lim >= 0 and opens.get(rep_id, 0) >= lim
            was = pos in at_cap
            if now and not was:
                at_cap.add(pos)
                step = 1
            elif was and not now:
                at_cap.discard(pos)
                tracker.epoch += 1
                step = -1
            elif now:
                step = 0  # a capped rep's count moved: its drop figures change
            else:
                continue
            for memo in roster.cells_of.get(pos, ()):
                cell = cells.get(memo)
                if cell is not None:
                    cell.n_capped += step
                    cell.version += 1
        tracker.cursor = len(changes)

    def open_cap_split(
        self,
        key: object,
        candidates: list[Rep],
        limit_of: Callable[[Rep], int | None],
        opens: Mapping[str, int],
    ) -> CappedCell | None:
        """The split of a shared cell by an open-lead cap, or None (then scan)."""
        if type(candidates) is _Capped or not isinstance(candidates, CellList):
            return None
        memo = candidates.memo
        if not memo:
            return None
        tracker = self.caps.get(id(key))
        if tracker is None or tracker.roster.owner is not key:
            tracker = self._tracker(key, limit_of, opens)
        elif tracker.cursor != len(self.changes):
            self._sync(tracker, opens)
        cell = tracker.cells.get(memo)
        if cell is not None:
            return cell
        roster = tracker.roster
        info = roster.cells.get(memo, False)
        if info is False:
            info = self._register(tracker, candidates)
            roster.cells[memo] = info
        if info is None:
            return None
        assert isinstance(info, _CellInfo)
        known = tracker.known
        if known is not None:
            limits = roster.limit
            for pos, rep in zip(info.positions, info.base, strict=True):
                if pos not in known:
                    known.add(pos)
                    lim = limits[pos]
                    if lim is not None and opens.get(rep.id, 0) >= lim:
                        tracker.at_cap.add(pos)
        cell = tracker.cells[memo] = CappedCell(info, id(key), tracker.at_cap)
        return cell

    def _register(self, tracker: _CapTracker, base: CellList) -> _CellInfo | None:
        """A cell first seen by a cap (once per roster): its membership, or None (full check)."""
        info = self._cell(base)
        if info is None:
            return None
        limits = tracker.roster.limit
        for pos in info.positions:
            lim = limits[pos]
            if lim is not None and lim < 0:
                return None  # a rep with day or period caps: the full check, per lead
        cells_of = tracker.roster.cells_of
        memo = (base.memo,)
        for pos in info.positions:
            cells_of[pos] = cells_of.get(pos, ()) + memo
        return info

    # -- rotation ---------------------------------------------------------------------
    def longest_waiting(
        self,
        path: str,
        candidates: list[Rep],
        last: Mapping[str, int],
        turn: int,
        with_next: bool = True,
    ) -> tuple[Rep, int, Rep | None] | None:
        """The longest-waiting candidate and the next from the cell's heap, or None (then scan)."""
        tracker: _CapTracker | None = None
        capped: set[int] | None = None
        if type(candidates) is _Capped:
            tracker = self.caps.get(candidates.owner)
            split = None if tracker is None else tracker.cells.get(candidates.memo)
            if split is None or split._built != candidates.version or candidates is not split._kept:
                return None  # a split from before the last change: scan it
            assert tracker is not None
            base = split.info.base
            capped = tracker.at_cap
        elif isinstance(candidates, CellList) and candidates.memo:
            base = candidates
        else:
            return None
        mono = self.monotone.get(path)
        if mono is None:
            # (read whole only when it is a plain dict: a lazy mapping gets the scan)
            mono = self.monotone[path] = (
                type(last) is dict and max(last.values(), default=NEVER) < turn
            )
        if not mono:
            return None
        key = (path, base.memo, tracker)
        rot = self.rotations.get(key, False)
        if rot is False:
            info = self._cell(base)
            rot = self.rotations[key] = None if info is None else _Rotation(info.positions)
        if rot is None:
            return None
        assert isinstance(rot, _Rotation)
        if tracker is not None and rot.epoch != tracker.epoch:
            # reps left the cap since they were set aside: put them back
            back = [p for p in rot.parked if p not in tracker.at_cap]
            rot.parked = [p for p in rot.parked if p in tracker.at_cap]
            for pos in back:
                heapq.heappush(rot.heap, (NEVER - 1, pos))  # refreshed at the top
            rot.epoch = tracker.epoch
        first = self._top(rot, last, capped)
        if first is None:  # pragma: no cover - the engine calls selectors with candidates only
            return None
        reps = self.reps
        if not with_next:
            return reps[first[1]], first[0], None
        entry = heapq.heappop(rot.heap)
        nxt = self._top(rot, last, capped)
        heapq.heappush(rot.heap, entry)
        return reps[first[1]], first[0], None if nxt is None else reps[nxt[1]]

    def _top(
        self, rot: _Rotation, last: Mapping[str, int], capped: set[int] | None
    ) -> tuple[int, int] | None:
        """The valid smallest entry, left at the top of the heap; None when all are capped."""
        heap = rot.heap
        reps = self.reps
        positions = rot.positions
        n = len(positions)
        while True:
            i = rot.cursor
            while i < n:
                pos = positions[i]
                v = last.get(reps[pos].id, NEVER)
                if v != NEVER:
                    heapq.heappush(heap, (v, pos))  # served since: an ordinary entry now
                elif capped is not None and pos in capped:
                    rot.parked.append(pos)
                else:
                    break
                i += 1
            rot.cursor = i
            if heap:
                top = heap[0]
                pos = top[1]
                v = last.get(reps[pos].id, NEVER)
                if v != top[0]:
                    heapq.heapreplace(heap, (v, pos))
                    continue
                if capped is not None and pos in capped:
                    heapq.heappop(heap)
                    rot.parked.append(pos)
                    continue
                if i < n and (NEVER, positions[i]) < top:
                    top = (NEVER, positions[i])
                    heapq.heappush(heap, top)
                    rot.cursor = i + 1
                return top
            if i < n:
                top = (NEVER, positions[i])
                heap.append(top)
                rot.cursor = i + 1
                return top
            return None


_CELLS = "leadroute.services.cells"
_CAPS = "leadroute.services.cap"
