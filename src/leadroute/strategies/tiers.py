"""Value tiers: bands of lead score or value mapped to rep levels and routes.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from leadroute.audit import Drop
from leadroute.exceptions import StrategyError
from leadroute.models import lead_value
from leadroute.strategies.base import (
    Combinator,
    Filter,
    Routed,
    Runner,
    Strategy,
    as_strategy,
    is_complete,
)

if TYPE_CHECKING:
    from leadroute.context import RouteContext
    from leadroute.models import Lead, Rep

__all__ = ["Band", "ValueTier"]


@dataclass(frozen=True, slots=True, repr=False)
class Band:
    """One band of a :class:`ValueTier`: a value range, allowed rep levels, an optional route.

    The range is ``[min, max)``; ``None`` leaves a side open. Levels are
    ``min_level``..``max_level`` inclusive, or the explicit ``levels``.

    >>> Band(min=80, min_level=3, name="top")
    Band(name='top', min=80, min_level=3)

    .. versionadded:: 0.1.0
    """

    min: float | None = None
    max: float | None = None
    min_level: int | None = None
    max_level: int | None = None
    levels: tuple[int, ...] | None = None
    route: Strategy | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if self.min is not None and self.max is not None and not self.min < self.max:
            msg = f"Band(min={self.min!r}, max={self.max!r}): min must be below max"
            raise StrategyError(msg, field="max")
        if (
            self.min_level is not None
            and self.max_level is not None
            and self.min_level > self.max_level
        ):
            msg = f"Band(min_level={self.min_level}, max_level={self.max_level}): empty level range"
            raise StrategyError(msg, field="max_level")
        if self.levels is not None and (self.min_level is not None or self.max_level is not None):
            msg = "Band: give levels or min_level/max_level, not both"
            raise StrategyError(msg, field="levels")
        if self.levels is not None:
            object.__setattr__(self, "levels", tuple(self.levels))
        if self.route is not None and not isinstance(self.route, Strategy):
            object.__setattr__(self, "route", as_strategy(self.route))

    def params(self) -> dict[str, Any]:
        """Parameters that differ from their defaults (name first)."""
        out: dict[str, Any] = {}
        for key in ("name", "min", "max", "min_level", "max_level", "levels", "route"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={_num(v)}" for k, v in self.params().items())
        return f"Band({body})"

    @property
    def label(self) -> str:
        """The band's name, or its range."""
        if self.name:
            return self.name
        lo = "-inf" if self.min is None else f"{self.min:g}"
        hi = "inf" if self.max is None else f"{self.max:g}"
        return f"[{lo}, {hi})"

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the band's range."""
        lo = -math.inf if self.min is None else self.min
        hi = math.inf if self.max is None else self.max
        return lo <= value < hi

    def admits(self, rep: Rep) -> bool:
        """Whether ``rep``'s level is allowed in the band."""
        if self.levels is not None:
            return rep.level in self.levels
        if self.min_level is not None and rep.level < self.min_level:
            return False
        return not (self.max_level is not None and rep.level > self.max_level)

    def level_text(self) -> str:
        """The allowed levels as text."""
        if self.levels is not None:
            return "levels " + ", ".join(str(x) for x in self.levels)
        if self.min_level is not None and self.max_level is not None:
            return f"levels {self.min_level}-{self.max_level}"
        if self.min_level is not None:
            return f"level >= {self.min_level}"
        if self.max_level is not None:
            return f"level <= {self.max_level}"
        return "any level"


def _num(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return repr(v)


@dataclass(frozen=True, slots=True, repr=False)
class ValueTier(Filter, Combinator):
    """Pick a band by the lead's score (or value) and keep reps of its levels.

    Bands are tried in order; the first whose range holds the lead's value
    applies. A band with a ``route`` hands its reps to that route (its own
    selector); a band without one acts as a filter. ``fallthrough=True``
    tries the following bands when a band finds nobody. ``by`` names a lead
    field (``score``, ``value``, or an attribute); a score computed earlier
    in the route (a scorecard) is used first.

    >>> ValueTier(bands=(Band(min=80, min_level=3), Band(max=80)))
    ValueTier(bands=(Band(min=80, min_level=3), Band(max=80)))

    A :class:`~leadroute.strategies.Combinator` (its band routes are its
    parts) and, for bands without a route, a filter.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 A :class:`~leadroute.strategies.Combinator`.
    """

    bands: tuple[Band, ...] = ()
    by: str = "score"
    if_missing: Literal["keep", "drop"] = "keep"
    fallthrough: bool = False

    code: ClassVar[str] = "tier"
    kind: ClassVar[str] = "tier"

    def __post_init__(self) -> None:
        object.__setattr__(self, "bands", tuple(self.bands))
        if not self.bands:
            msg = "ValueTier(bands=()): give at least one Band"
            raise StrategyError(msg, field="bands")
        for i, band in enumerate(self.bands):
            if not isinstance(band, Band):
                msg = f"ValueTier bands[{i}] is {band!r}, not a Band"
                raise StrategyError(msg, field=f"bands[{i}]")
        if self.if_missing not in ("keep", "drop"):
            msg = f"ValueTier(if_missing={self.if_missing!r}): use 'keep' or 'drop'"
            raise StrategyError(msg, field="if_missing")

    def __hash__(self) -> int:
        return id(self)

    def children(self) -> tuple[Strategy, ...]:
        return tuple(b.route for b in self.bands if b.route is not None)

    def parts(self) -> tuple[tuple[str, Strategy], ...]:
        return tuple((f".bands[{i}].route", route) for i, route in self.walk_routes())

    def is_complete(self) -> bool:
        """Whether every band ends in a selector of its own."""
        return all(b.route is not None and is_complete(b.route) for b in self.bands)

    def value_of(self, lead: Lead, ctx: RouteContext | None = None) -> float | None:
        """The number that picks the band."""
        if ctx is not None and self.by in ctx.lead_facts:
            raw: Any = ctx.lead_facts[self.by]
        else:
            raw = lead_value(lead, self.by)
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            return None
        return float(raw)

    def band_index(self, value: float) -> int | None:
        """Index of the first band holding ``value``."""
        for i, band in enumerate(self.bands):
            if band.contains(value):
                return i
        return None

    def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
        value = self.value_of(lead, ctx)
        if value is None:
            if self.if_missing == "keep":
                return None
            return self.drop(rep, f"lead has no {self.by}")
        i = self.band_index(value)
        if i is None:
            return self.drop(rep, f"{self.by} {value:g} is in no band", value=value)
        band = self.bands[i]
        if band.admits(rep):
            return None
        return self.band_drop(rep, band, value)

    def band_drop(self, rep: Rep, band: Band, value: float) -> Drop:
        """The drop of a rep whose level ``band`` does not allow."""
        return self.drop(
            rep,
            f"level {rep.level} not allowed in band {band.label} ({band.level_text()})",
            level=rep.level,
            band=band.label,
            value=value,
        )

    def walk_routes(self) -> Iterable[tuple[int, Strategy]]:
        """``(band index, route)`` for each band that has a route."""
        for i, b in enumerate(self.bands):
            if b.route is not None:
                yield i, b.route

    def route(self, lead: Lead, candidates: list[Rep], ctx: RouteContext, run: Runner) -> Routed:
        """Keep the reps of the lead's band; a band with a route routes them on."""
        value = self.value_of(lead, ctx)
        n = len(candidates)
        # audit="outcome": no drop records and no steps (nobody reads them)
        recording = run.recording
        if value is None:
            if self.if_missing == "keep":
                if recording:
                    note = f"lead has no {self.by}; all kept"
                    run.record(strategy="ValueTier", candidates_in=n, note=note)
                return (candidates, None)
            if recording:
                run.read(candidates)  # the drops name them: the record holds them for replay
                gone = [self.drop(r, f"lead has no {self.by}") for r in candidates[: run.max_drops]]
                run.record(
                    kind="filter",
                    candidates_in=n,
                    candidates_out=0,
                    dropped=gone,
                    unlisted=n - len(gone),
                )
            return ([], None)
        start = self.band_index(value)
        if start is None:
            if recording:
                note = f"{self.by} {value:g} is in no band"
                run.record(strategy="ValueTier", candidates_in=n, note=note)
            return ([], None)
        last = len(self.bands) if self.fallthrough else start + 1
        found: Routed = ([], None)
        run.read(candidates)
        limit = run.max_drops if recording else 0
        for i in range(start, last):
            band = self.bands[i]
            kept: list[Rep] = []
            drops: list[Drop] = []
            unlisted = 0
            for rep in candidates:
                if band.admits(rep):
                    kept.append(rep)
                elif len(drops) < limit:
                    drops.append(self.band_drop(rep, band, value))
                else:
                    unlisted += 1
            ctx.lead_facts["tier"] = {"by": self.by, "value": value, "band": band.label}
            if recording:
                run.record(
                    f".bands[{i}]",
                    strategy=f"ValueTier band {band.label}",
                    kind="tier",
                    candidates_in=n,
                    candidates_out=len(kept),
                    dropped=drops,
                    unlisted=unlisted,
                    note=f"{self.by} {value:g} -> band {band.label} ({band.level_text()})",
                )
            if band.route is None:
                found = (kept, None)
                if kept:
                    return found
            elif kept:
                part = sum(1 for b in self.bands[:i] if b.route is not None)
                found = run.child(part, kept)
                if found[1] is not None:
                    return found
            if recording and i + 1 < last:
                run.record(
                    f".bands[{i}]",
                    strategy="ValueTier",
                    candidates_in=n,
                    note=f"band {band.label} found nobody; next band",
                )
        return ([], None) if found[1] is None else found

    def recheck(
        self, suffix: str, lead: Lead, rep: Rep, ctx: RouteContext
    ) -> tuple[bool, Drop | None]:
        """Re-check ``rep`` against the band step recorded at ``.bands[i]``."""
        if not (suffix.startswith(".bands[") and suffix.endswith("]")):
            return False, None
        try:
            band = self.bands[int(suffix[len(".bands[") : -1])]
        except (ValueError, IndexError):
            return False, None
        value = self.value_of(lead, ctx)
        if value is None:
            return False, None
        return True, (None if band.admits(rep) else self.band_drop(rep, band, value))
