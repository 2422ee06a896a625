"""Availability (working hours, away, paused) and account ownership.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from leadroute.audit import Drop
from leadroute.exceptions import StrategyError
from leadroute.limits import as_duration as as_duration
from leadroute.strategies.base import Filter, Pick, Selector
from leadroute.worktime import next_work_start

if TYPE_CHECKING:
    from leadroute.context import RouteContext
    from leadroute.models import Lead, Rep

__all__ = ["Availability", "Ownership"]

@dataclass(frozen=True, slots=True, repr=False)
class Availability(Filter):
    """Keep reps who can work the lead now, in their own time zone.

    Drops reps who are inactive, paused, away (an ``away`` window covers the
    decision time) or outside their ``working_hours``; codes ``inactive``,
    ``paused``, ``away``, ``off_hours``. With ``within``, a rep whose next
    working period starts within that time (and not while away) is kept:
    a 07:00 lead goes to someone starting at 09:00 rather than waiting.

    >>> Availability()
    Availability()
    >>> Availability(within=timedelta(hours=2))
    Availability(within=datetime.timedelta(seconds=7200))

    .. versionadded:: 0.1.0
    """

    within: timedelta | None = None

    code: ClassVar[str] = "off_hours"

    def __post_init__(self) -> None:
        object.__setattr__(self, "within", as_duration(self.within, "within", "Availability"))

    def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
        if not rep.active:
            return self.drop(rep, "inactive", "inactive")
        if rep.paused:
            return self.drop(rep, "paused", "paused")
        now = ctx.now
        window = rep.away_at(now)
        if window is not None:
            until = window.end.astimezone(rep.zone).isoformat()
            reason = f" ({window.reason})" if window.reason else ""
            return self.drop(rep, f"away until {until}{reason}", "away", until=until)
        if rep.is_working(now):
            return None
        local = rep.local_time(now)
        start = next_work_start(rep, now)
        if self.within is not None and start is not None and start - now <= self.within:
            return None
        figures: dict[str, Any] = {
            "local_time": local.strftime("%a %H:%M"),
            "timezone": rep.timezone,
        }
        text = f"off hours ({local.strftime('%a %H:%M')} {rep.timezone})"
        if start is not None:
            figures["next_start"] = start.astimezone(rep.zone).isoformat()
            text += f"; next start {start.astimezone(rep.zone).strftime('%a %H:%M')}"
        return self.drop(rep, text, "off_hours", **figures)


@dataclass(frozen=True, slots=True, repr=False)
class Ownership(Selector):
    """The account's owner, if they are among the candidates.

    The lead's account is what the router's
    :class:`~leadroute.accounts.AccountMatcher` finds (``Router(accounts=...)``;
    by default its ``account_key``, else the folded company name, else its
    company e-mail domain, see :mod:`leadroute.normalize`); the rationale and
    the decision's ``facts["account"]`` say how it was matched
    (``account: matched "Beijing Moumou Technology Co., Ltd." to
    北京某某科技有限公司 by romanised key``).
    Without an owner this selector finds nobody, so put it first in a
    fallback: ``Geo() >> CapacityCap() >> (Ownership() | RoundRobin())``.
    When the owner exists but did not pass the route's filters,
    ``if_unavailable="route_on"`` finds nobody (the next option routes the
    lead) and ``"review"`` holds the lead for manual review. The router
    records the owner of every new account it assigns, so two leads of one
    new account in a batch go to the same rep.

    >>> Ownership(if_unavailable="review")
    Ownership(if_unavailable='review')

    .. versionadded:: 0.1.0
    """

    if_unavailable: Literal["route_on", "review"] = "route_on"

    def __post_init__(self) -> None:
        if self.if_unavailable not in ("route_on", "review"):
            msg = f"Ownership(if_unavailable={self.if_unavailable!r}): use 'route_on' or 'review'"
            raise StrategyError(msg, field="if_unavailable")

    def select(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> Pick | None:
        match = ctx.account_of(lead)
        if match is None:
            return None
        key = match.key
        owner = ctx.owner_of(key)
        if owner is None:
            return None
        matched = ctx.describe_account(match) if ctx.explain else ""
        if matched:
            ctx.lead_facts["account"] = matched
        for rep in candidates:
            if rep.id == owner:
                why = f"{owner} owns account {key!r}"
                facts = {"why": why, "account": key, "owner": owner}
                if matched:
                    facts["why"] = why = f"{why} ({matched})"
                    facts["matched"] = matched
                return Pick(rep, why, facts)
        why = f"account {key!r} is owned by {owner}, who did not pass this route's filters"
        facts = {"why": why, "account": key, "owner": owner}
        if matched:
            facts["why"] = why = f"{why} ({matched})"
            facts["matched"] = matched
        if self.if_unavailable == "review":
            return Pick(None, why, facts, review=True, reason="owner_unavailable")
        return None

    def named_reps(self) -> Iterable[str]:
        return ()
