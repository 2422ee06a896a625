"""The data leadroute routes: leads and reps.

Every model is a frozen pydantic v2 model whose JSON round-trips exactly.
Datetimes must carry a time zone; a naive datetime is rejected with an error
that names the field.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from datetime import datetime
from functools import cached_property
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    field_validator,
    model_validator,
)

from leadroute.regions import WILDCARD, normalize_region

__all__ = [
    "WEEKDAYS",
    "Capacity",
    "Lead",
    "Rep",
    "TimeWindow",
    "lead_value",
]

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")

NonEmptyStr = Annotated[str, Field(min_length=1)]


class FrozenModel(BaseModel):
    """Base for leadroute's models: frozen, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _norm_regions(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(WILDCARD if v.strip() == WILDCARD else normalize_region(v) for v in values)


class Lead(FrozenModel):
    """An incoming prospect to be routed.

    >>> from datetime import datetime, timezone
    >>> Lead(id="L1", created_at=datetime(2026, 1, 5, 9, tzinfo=timezone.utc), region="cn-bj").region
    'CN-BJ'

    .. versionadded:: 0.1.0
    """

    id: NonEmptyStr
    created_at: AwareDatetime
    country: str | None = None
    region: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    timezone: str | None = None
    industry: str | None = None
    company: str | None = None
    email: str | None = None
    account_key: str | None = None
    source: str | None = None
    language: str | None = None
    product: str | None = None
    value: float | None = None
    score: float | None = None
    priority: int = 0
    tags: tuple[str, ...] = ()
    attributes: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("region", "country")
    @classmethod
    def _region_upper(cls, v: str | None) -> str | None:
        return None if v is None else (normalize_region(v) or None)

    @field_validator("timezone")
    @classmethod
    def _tz_known(cls, v: str | None) -> str | None:
        if v is not None:
            _check_timezone(v)
        return v

    @property
    def geo(self) -> str | None:
        """The most specific region code known for the lead (``region`` else ``country``)."""
        return self.region or self.country


LEAD_FIELDS = frozenset(Lead.model_fields)


def lead_value(lead: Lead, name: str) -> Any:
    """Read a lead field by name: a model field, ``attributes.x`` or a key of ``attributes``.

    Missing values read as ``None``.
    """
    if name in LEAD_FIELDS:
        return getattr(lead, name)
    if name.startswith("attributes."):
        name = name[len("attributes.") :]
    return lead.attributes.get(name)


def _check_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        msg = f"unknown time zone {name!r} (use an IANA name such as 'Asia/Shanghai')"
        raise ValueError(msg) from exc


class Capacity(FrozenModel):
    """A rep's caps. ``None`` means no cap.

    ``max_per_day`` counts assignments in the rep's own local day;
    ``max_per_period`` counts a rolling window of ``period_days`` local days.

    .. versionadded:: 0.1.0
    """

    max_open: int | None = Field(default=None, ge=0)
    max_per_day: int | None = Field(default=None, ge=0)
    max_per_period: int | None = Field(default=None, ge=0)
    period_days: int = Field(default=30, ge=1, le=366)


class TimeWindow(FrozenModel):
    """A time span, used for away windows (holidays, out of office).

    .. versionadded:: 0.1.0
    """

    start: AwareDatetime
    end: AwareDatetime
    reason: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.end <= self.start:
            msg = f"end {self.end.isoformat()} is not after start {self.start.isoformat()}"
            raise ValueError(msg)
        return self

    def contains(self, at: datetime) -> bool:
        """Whether ``at`` falls in ``[start, end)``."""
        return self.start <= at < self.end


def _parse_interval(text: str, where: str) -> tuple[int, int]:
    m = _INTERVAL.match(text)
    if m is None:
        msg = f"{where}: {text!r} is not an interval like '09:00-18:00'"
        raise ValueError(msg)
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59 or (h1 == 24 and m1) or (h2 == 24 and m2):
        msg = f"{where}: {text!r} has an impossible time"
        raise ValueError(msg)
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        msg = f"{where}: interval {text!r} ends before it starts"
        raise ValueError(msg)
    return start, end


class Rep(FrozenModel):
    """A sales rep who can receive leads.

    ``territories`` are region codes (``CN`` covers ``CN-BJ``; ``*`` covers
    everything). ``working_hours`` maps weekday names (``mon`` … ``sun``) to
    intervals in the rep's own ``timezone``; ``None`` means always working.

    >>> Rep(id="alice", territories=("cn-bj",)).territories
    ('CN-BJ',)

    .. versionadded:: 0.1.0
    """

    model_config = ConfigDict(frozen=True, extra="forbid", ignored_types=(cached_property,))

    id: NonEmptyStr
    name: str | None = None
    team: str | None = None
    active: bool = True
    paused: bool = False
    territories: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    level: int = 1
    weight: float = Field(default=1.0, ge=0)
    capacity: Capacity = Capacity()
    timezone: str = "UTC"
    # a Mapping (not dict) so ``{"mon": ("09:00-18:00",)}`` type-checks for users
    working_hours: Mapping[str, tuple[str, ...]] | None = None
    away: tuple[TimeWindow, ...] = ()
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    stats: dict[str, JsonValue] = Field(default_factory=dict)
    attributes: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("territories")
    @classmethod
    def _norm_territories(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _norm_regions(v)

    @field_validator("timezone")
    @classmethod
    def _tz_known(cls, v: str) -> str:
        _check_timezone(v)
        return v

    @field_validator("working_hours")
    @classmethod
    def _hours_valid(
        cls, v: Mapping[str, tuple[str, ...]] | None
    ) -> dict[str, tuple[str, ...]] | None:
        if v is None:
            return None
        out: dict[str, tuple[str, ...]] = {}
        for day, intervals in v.items():
            key = day.strip().lower()[:3]
            if key not in WEEKDAYS:
                msg = f"working_hours: {day!r} is not a weekday (use {', '.join(WEEKDAYS)})"
                raise ValueError(msg)
            parsed = sorted(_parse_interval(t, f"working_hours.{key}") for t in intervals)
            for (_s1, e1), (s2, _e2) in itertools.pairwise(parsed):
                if s2 < e1:
                    msg = f"working_hours.{key}: intervals {list(intervals)!r} overlap"
                    raise ValueError(msg)
            out[key] = tuple(
                f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in parsed
            )
        return {d: out[d] for d in WEEKDAYS if d in out}

    @cached_property
    def zone(self) -> ZoneInfo:
        """The rep's time zone as a :class:`zoneinfo.ZoneInfo`."""
        return ZoneInfo(self.timezone)

    @cached_property
    def hours_minutes(self) -> tuple[tuple[tuple[int, int], ...], ...] | None:
        """Working intervals per weekday (Monday first) in minutes after local midnight."""
        if self.working_hours is None:
            return None
        return tuple(
            tuple(_parse_interval(t, d) for t in self.working_hours.get(d, ())) for d in WEEKDAYS
        )

    def local_time(self, at: datetime) -> datetime:
        """``at`` in the rep's own time zone."""
        return at.astimezone(self.zone)

    def is_working(self, at: datetime) -> bool:
        """Whether ``at`` falls inside the rep's working hours (always, without hours)."""
        hours = self.hours_minutes
        if hours is None:
            return True
        local = at.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return any(s <= minute < e for s, e in hours[local.weekday()])

    def away_at(self, at: datetime) -> TimeWindow | None:
        """The away window covering ``at``, if any."""
        for window in self.away:
            if window.contains(at):
                return window
        return None


Outcome = Literal["assigned", "pool", "manual_review"]
