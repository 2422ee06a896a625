"""Capacity caps.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from leadroute.audit import Drop
from leadroute.exceptions import StrategyError
from leadroute.strategies.base import Filter, FilterOutcome

if TYPE_CHECKING:
    from leadroute.context import RouteContext
    from leadroute.models import Lead, Rep

__all__ = ["CapacityCap"]


#: Candidate lists up to this long get their rows computed directly, without the memo.
_DIRECT = 8


@dataclass(frozen=True, slots=True, repr=False)
class CapacityCap(Filter):
    """Drop reps at a cap: open leads, leads today, leads in the rolling period.

    Caps come from each rep's ``capacity``; a value given here overrides it
    for every rep. ``None`` means no cap. "Today" is the rep's own local day;
    the period is a rolling window of ``period_days`` local days (default: the
    rep's ``capacity.period_days``, 30). Counters include the leads assigned
    earlier in the same call. ``prorate=True`` scales the period cap to the
    days the rep could work in the period (days fully away do not count), so
    a rep back from leave is not handed a full period's quota at once.

    >>> CapacityCap()
    CapacityCap()
    >>> CapacityCap(max_open=50, max_per_day=10)
    CapacityCap(max_open=50, max_per_day=10)

    .. versionadded:: 0.1.0
    """

    max_open: int | None = None
    max_per_day: int | None = None
    max_per_period: int | None = None
    period_days: int | None = None
    prorate: bool = False

    code: ClassVar[str] = "capacity"

    def __post_init__(self) -> None:
        for name in ("max_open", "max_per_day", "max_per_period"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                msg = f"CapacityCap({name}={value!r}): caps are whole numbers >= 0"
                raise StrategyError(msg, field=name)
        if self.period_days is not None and self.period_days < 1:
            msg = f"CapacityCap(period_days={self.period_days!r}): must be >= 1"
            raise StrategyError(msg, field="period_days")

    def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
        cap = rep.capacity
        max_open = self.max_open if self.max_open is not None else cap.max_open
        if max_open is not None:
            n = ctx.open_count(rep.id)
            if n >= max_open:
                return self.drop(
                    rep, f"open {n} of {max_open}", "capacity", open=n, max_open=max_open
                )
        per_day = self.max_per_day if self.max_per_day is not None else cap.max_per_day
        surge = ctx.lead_facts.get("surge")
        if per_day is not None and surge:
            per_day += int(surge.get("extra_per_day", 0))
        if per_day is not None:
            n = ctx.assigned_today(rep)
            if n >= per_day:
                return self.drop(
                    rep,
                    f"assigned today {n} of {per_day}",
                    "daily_cap",
                    today=n,
                    max_per_day=per_day,
                    local_date=ctx.local_date(rep).isoformat(),
                )
        per_period = self.max_per_period if self.max_per_period is not None else cap.max_per_period
        if per_period is not None:
            days = self.period_days or cap.period_days
            if self.prorate:
                available = ctx.available_days(rep, days)
                per_period = math.ceil(per_period * available / days)
            n = ctx.assigned_in_period(rep, days)
            if n >= per_period:
                return self.drop(
                    rep,
                    f"assigned {n} of {per_period} in {days} days",
                    "period_cap",
                    period=n,
                    max_per_period=per_period,
                    period_days=days,
                )
        return None

    def _rows(self, candidates: list[Rep], ctx: RouteContext) -> list[tuple[Rep, str, int | None]]:
        """``(rep, id, open limit)`` per candidate; ``-1`` marks reps needing the full check.

        Candidate lists the router shares between leads (index answers carry a
        ``memo`` serial) get their rows computed once per roster.
        """
        memo = getattr(candidates, "memo", None)
        if len(candidates) <= _DIRECT:
            # a few reps: reading them is cheaper than a memo entry (and the reps are read
            # again by the selector and the router, so their records are then in cache)
            return [self._row(rep) for rep in candidates]
        key = (id(self), memo) if memo is not None else None
        if key is not None:
            found = ctx.roster_memo.get(key)
            if found is not None:
                return found  # type: ignore[no-any-return]
            # a new shared list: its rows come from a table of the whole roster, made once
            # (reading each rep's record anew per list is slow at 100,000 reps: cache misses)
            table = ctx.roster_memo.get((id(self), "rows"))
            if table is None:
                table = ctx.roster_memo[(id(self), "rows")] = {
                    id(rep): self._row(rep) for rep in ctx.state.reps
                }
            rows = [table.get(id(rep)) or self._row(rep) for rep in candidates]
            ctx.roster_memo[key] = rows
            return rows
        return [self._row(rep) for rep in candidates]

    def _row(self, rep: Rep) -> tuple[Rep, str, int | None]:
        cap = rep.capacity
        if cap.max_per_day is not None or cap.max_per_period is not None:
            return (rep, rep.id, -1)
        return (rep, rep.id, self.max_open if self.max_open is not None else cap.max_open)

    def _open_limit(self, rep: Rep) -> int | None:
        """The rep's open-lead limit; -1 when it has day or period caps (the full check)."""
        cap = rep.capacity
        if cap.max_per_day is not None or cap.max_per_period is not None:
            return -1
        return self.max_open if self.max_open is not None else cap.max_open

    def apply(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> FilterOutcome:
        # Fast path: only open-lead caps in play (the common case) needs one lookup per rep.
        if (
            self.max_per_day is None
            and self.max_per_period is None
            and "surge" not in ctx.lead_facts
        ):
            split = ctx.open_cap_split(self, candidates, self._open_limit)
            if split is not None:
                # a shared cell: its split is kept current by the engine (no scan per lead)
                under, capped = split.split()
                if not capped:
                    return FilterOutcome(under, [])
                derived = split.derived
                if derived is None or derived[0] != split.version:
                    gone = [self.check(lead, rep, ctx) for rep in capped]
                    derived = split.derived = (split.version, [d for d in gone if d is not None])
                return FilterOutcome(under, derived[1])
            rows = self._rows(candidates, ctx)
            opens = ctx.open_counts
            kept: list[Rep] = []
            dropped: list[Drop] = []
            for rep, rep_id, limit in rows:
                if limit is not None and (limit < 0 or opens.get(rep_id, 0) >= limit):
                    why = self.check(lead, rep, ctx)
                    if why is not None:
                        dropped.append(why)
                        continue
                kept.append(rep)
            return FilterOutcome(kept, dropped)
        return Filter.apply(self, lead, candidates, ctx)
