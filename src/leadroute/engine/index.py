"""The roster index: which reps hold each key of an indexable filter, shared candidate lists.

Built once per roster (kept between calls while the state's ``reps`` tuple is
the same object) and never mutated once built; the memo only grows.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from leadroute.models import Rep
from leadroute.services import CellList
from leadroute.strategies.base import Combinator, Filter, Selector, Strategy

__all__ = [
    "COMBINATOR",
    "FILTER",
    "KIND",
    "MEMO_LIMIT",
    "OTHER",
    "SELECTOR",
    "SERIALS",
    "Index",
    "Indexed",
    "RosterCache",
    "kind_of",
    "merge",
]


class Index:
    """Which reps of the active roster hold each key of one indexable filter."""

    __slots__ = ("by_key", "keys_by_obj", "keys_of", "match_all", "position")

    def __init__(self, flt: Filter, roster: Sequence[Rep], position: Mapping[str, int]) -> None:
        self.match_all = flt.index_all
        self.by_key: dict[str, Indexed] = {}
        # keys as tuples: the cyclic GC stops tracking tuples of strings, frozensets it never does
        self.keys_of: dict[str, tuple[str, ...]] = {}
        # by object identity too: the hot path then never touches the rep object itself
        self.keys_by_obj: dict[int, tuple[str, ...]] = {}
        self.position = position
        for rep in roster:
            keys = tuple(dict.fromkeys(flt.rep_keys(rep)))
            self.keys_of[rep.id] = keys
            self.keys_by_obj[id(rep)] = keys
            for k in keys:
                found = self.by_key.get(k)
                if found is None:
                    found = self.by_key[k] = Indexed(memo=next(SERIALS))
                found.add(rep, position[rep.id])
        for cell in self.by_key.values():
            cell.freeze()

    def lookup(self, keys: tuple[str, ...]) -> Indexed:
        """Reps of the roster admitted by ``keys``, in roster order."""
        if not keys:
            return Indexed()
        if self.match_all:
            lists: list[list[Rep]] = [self.by_key.get(k) or [] for k in keys]
            lists.sort(key=len)
            need = frozenset(keys)
            keys_of = self.keys_of
            return Indexed(r for r in lists[0] if need.issubset(keys_of[r.id]))
        return merge([self.by_key[k] for k in keys if k in self.by_key], self.position)

    def admits(self, rep: Rep, keys: frozenset[str]) -> bool:
        held = self.keys_of.get(rep.id)
        if held is None:
            return False
        return keys.issubset(held) if self.match_all else not keys.isdisjoint(held)


def merge(found: list[Indexed], position: Mapping[str, int]) -> Indexed:
    """The union of roster-ordered rep lists, in roster order (one list: itself, shared)."""
    if not found:
        return Indexed()
    if len(found) == 1:
        return found[0]
    merged: dict[int, Rep] = {}
    for lst in found:
        for r in lst:
            merged[id(r)] = r
    return Indexed(sorted(merged.values(), key=lambda r: position[r.id]))


class Indexed(CellList):
    """Candidates narrowed from the whole roster by index-answered filters only.

    ``memo`` is a serial number standing for the filters and lead keys that
    produced the list, so the router (and strategies, in ``ctx.memo``) can
    reuse work for every later lead with the same keys (the lists are shared
    and never mutated). 0 is the whole roster.
    """

    __slots__ = ("origin",)

    def __init__(self, reps: Iterable[Rep] = (), memo: int = 0) -> None:
        super().__init__(reps, memo)
        #: ``(filter, lead keys)`` when the list is that filter's answer over the whole roster
        self.origin: tuple[Filter, tuple[str, ...]] | None = None


MEMO_LIMIT = 200_000
#: Serial numbers of shared candidate lists (unique in the process, so memo keys never collide).
SERIALS = itertools.count(1)
#: How the pipeline runs a strategy: through the combinator contract, as a selector, as a filter.
COMBINATOR, SELECTOR, FILTER, OTHER = range(4)
KIND: dict[type, int] = {}


def kind_of(node: Strategy) -> int:
    """The role of ``node`` (the public contract classes only, never a built-in's class)."""
    if isinstance(node, Combinator):
        return COMBINATOR
    if isinstance(node, Selector):
        return SELECTOR
    if isinstance(node, Filter):
        return FILTER
    return OTHER


class RosterCache:
    """Per-roster work kept between calls while the state's ``reps`` tuple is the same object.

    ``assign`` hands the same tuple on to the next state, so a CRM routing
    batch after batch indexes its roster once. Everything here is derived
    from the roster alone and never mutated once built (the memo only grows).
    """

    __slots__ = (
        "by_id",
        "index_of",
        "indexes",
        "memo",
        "pairs",
        "position",
        "reps",
        "roster",
        "shared",
    )

    def __init__(self, reps: tuple[Rep, ...]) -> None:
        self.reps = reps
        self.roster = [r for r in reps if r.active and not r.paused]
        self.position = {r.id: i for i, r in enumerate(reps)}
        self.by_id = {r.id: r for r in reps}
        self.indexes: dict[tuple[type, str], Index] = {}
        self.index_of: dict[int, Index] = {}
        self.memo: dict[tuple[int, int, tuple[str, ...]], Indexed] = {}
        self.shared: dict[Any, Any] = {}
        self.pairs: dict[tuple[int, int], dict[tuple[str, str], Indexed]] = {}
