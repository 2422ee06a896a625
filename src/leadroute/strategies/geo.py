"""Territory and distance filters.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from leadroute.audit import Drop
from leadroute.exceptions import StrategyError
from leadroute.regions import WILDCARD, haversine_km, region_covers, region_prefixes
from leadroute.strategies.base import Filter, FilterOutcome

if TYPE_CHECKING:
    from leadroute.context import RouteContext
    from leadroute.models import Lead, Rep

__all__ = ["Geo"]


@dataclass(frozen=True, slots=True, repr=False)
class Geo(Filter):
    """Keep reps whose territory covers the lead's region, optionally within ``max_km``.

    Territories are hierarchical: a rep with ``CN`` covers leads in ``CN-BJ``
    and ``CN-BJ-CY``; ``*`` covers everything. The lead's ``region`` is used,
    else its ``country``; a lead with neither matches nobody.

    With ``max_km``, reps must also be within that great-circle distance of
    the lead (both need ``lat``/``lon``); ``nearest=True`` keeps only the
    closest of them. ``territory=False`` skips the territory test.

    >>> Geo()
    Geo()
    >>> Geo(max_km=50, nearest=True)
    Geo(max_km=50, nearest=True)

    .. versionadded:: 0.1.0
    """

    territory: bool = True
    max_km: float | None = None
    nearest: bool = False

    code: ClassVar[str] = "territory"

    def __post_init__(self) -> None:
        if self.max_km is not None and not self.max_km > 0:
            msg = f"Geo(max_km={self.max_km!r}): max_km must be positive"
            raise StrategyError(msg, field="max_km")
        if not self.territory and self.max_km is None:
            msg = "Geo(territory=False) needs max_km: it would keep everyone"
            raise StrategyError(msg, field="territory")
        if self.nearest and self.max_km is None:
            msg = "Geo(nearest=True) needs max_km"
            raise StrategyError(msg, field="nearest")

    @property
    def indexable(self) -> bool:  # type: ignore[override]
        return self.territory and self.max_km is None

    def rep_keys(self, rep: Rep) -> Iterable[str]:
        return rep.territories

    def lead_keys(self, lead: Lead) -> tuple[str, ...] | None:
        geo = lead.geo
        if geo is None:
            return ()
        return _geo_keys(geo)

    def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
        if self.territory:
            why = self._territory(lead, rep)
            if why is not None:
                return why
        if self.max_km is not None:
            return self._distance(lead, rep)[1]
        return None

    def _territory(self, lead: Lead, rep: Rep) -> Drop | None:
        geo = lead.geo
        if geo is None:
            return self.drop(rep, "lead has no region or country", region=None)
        for t in rep.territories:
            if region_covers(t, geo):
                return None
        shown = ", ".join(rep.territories) or "no territory"
        return self.drop(
            rep, f"{geo} not under {shown}", region=geo, territories=list(rep.territories)
        )

    def _distance(self, lead: Lead, rep: Rep) -> tuple[float | None, Drop | None]:
        if lead.lat is None or lead.lon is None:
            return None, self.drop(rep, "lead has no lat/lon", "distance")
        if rep.lat is None or rep.lon is None:
            return None, self.drop(rep, "rep has no lat/lon", "distance")
        km = round(haversine_km(lead.lat, lead.lon, rep.lat, rep.lon), 3)
        if self.max_km is not None and km > self.max_km:
            return km, self.drop(
                rep,
                f"{km:g} km away, over {self.max_km:g} km",
                "distance",
                km=km,
                max_km=self.max_km,
            )
        return km, None

    def apply(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> FilterOutcome:
        if not self.nearest:
            return Filter.apply(self, lead, candidates, ctx)
        kept: list[tuple[float, Rep]] = []
        dropped: list[Drop] = []
        for rep in candidates:
            why = self._territory(lead, rep) if self.territory else None
            km: float | None = None
            if why is None:
                km, why = self._distance(lead, rep)
            if why is None and km is not None:
                kept.append((km, rep))
            elif why is not None:
                dropped.append(why)
        if not kept:
            return FilterOutcome([], dropped)
        best = min(km for km, _ in kept)
        out = [rep for km, rep in kept if km == best]
        dropped.extend(
            self.drop(
                rep, f"{km:g} km away; nearest is {best:g} km", "distance", km=km, nearest_km=best
            )
            for km, rep in kept
            if km != best
        )
        return FilterOutcome(out, dropped)


@functools.lru_cache(maxsize=65536)
def _geo_keys(geo: str) -> tuple[str, ...]:
    return (WILDCARD, *region_prefixes(geo))
