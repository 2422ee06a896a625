"""Built-in strategies: filters, selectors and combinators.

* filters: :class:`Availability`, :class:`Geo`, :class:`Industry`, :class:`Skill`, :class:`Language`,
  :class:`Team`, :class:`Roster`, :class:`CapacityCap`, :class:`ValueTier`,
  :class:`FunctionFilter` (any plain function);
* selectors: :class:`RoundRobin`, :class:`Weighted`, :class:`RandomPick`,
  :class:`LeastLoaded`, :class:`AssignTo`, :class:`ManualReview`, :class:`Ownership`;
* scoring: :class:`Scorecard` (with :class:`Factor`), :class:`BestFit`, :class:`Surge`,
  :class:`CardFit`;
* combinators: :class:`Chain` (``a >> b``), :class:`Fallback` (``a | b``) and
  :class:`ValueTier`.

Subclass :class:`Filter` (define ``check``), :class:`Selector` (define
``select``) or :class:`Combinator` (define ``parts`` and ``route``) for your
own; see ``docs/extending.md``.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from leadroute.strategies.attributes import Industry, Language, Roster, Skill, Team
from leadroute.strategies.availability import Availability, Ownership
from leadroute.strategies.base import (
    Chain,
    Combinator,
    Fallback,
    Filter,
    FilterOutcome,
    FrozenDict,
    FunctionFilter,
    Pick,
    Routed,
    Runner,
    Selector,
    Strategy,
    as_strategy,
)
from leadroute.strategies.batch import BatchFit
from leadroute.strategies.capacity import CapacityCap
from leadroute.strategies.geo import Geo
from leadroute.strategies.scoring import BestFit, CardFit, Factor, Scorecard, Surge
from leadroute.strategies.selectors import (
    AssignTo,
    LeastLoaded,
    ManualReview,
    RandomPick,
    RoundRobin,
    Weighted,
)
from leadroute.strategies.tiers import Band, ValueTier

__all__ = [
    "BUILTIN",
    "AssignTo",
    "Availability",
    "Band",
    "BatchFit",
    "BestFit",
    "CapacityCap",
    "CardFit",
    "Chain",
    "Combinator",
    "Factor",
    "Fallback",
    "Filter",
    "FilterOutcome",
    "FrozenDict",
    "FunctionFilter",
    "Geo",
    "Industry",
    "Language",
    "LeastLoaded",
    "ManualReview",
    "Ownership",
    "Pick",
    "RandomPick",
    "Roster",
    "RoundRobin",
    "Routed",
    "Runner",
    "Scorecard",
    "Selector",
    "Skill",
    "Strategy",
    "Surge",
    "Team",
    "ValueTier",
    "Weighted",
    "as_strategy",
]

#: Strategy classes by the name used in config files.
BUILTIN: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        AssignTo,
        Availability,
        BatchFit,
        BestFit,
        CapacityCap,
        CardFit,
        Chain,
        Fallback,
        Geo,
        Industry,
        Language,
        LeastLoaded,
        ManualReview,
        Ownership,
        RandomPick,
        Roster,
        RoundRobin,
        Scorecard,
        Skill,
        Surge,
        Team,
        ValueTier,
        Weighted,
    )
}
