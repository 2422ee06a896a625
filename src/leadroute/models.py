"""The data leadroute routes: leads and reps.

Every model is a frozen pydantic v2 model whose JSON round-trips exactly.
Datetimes must carry a time zone; a naive datetime is rejected with an error
that names the field. Every field is bounded (see :mod:`leadroute.limits`);
a model that does not validate raises
:class:`~leadroute.exceptions.ModelError` (a ``ValueError``), never
pydantic's own error.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from datetime import datetime
from functools import cached_property
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    field_validator,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from leadroute.exceptions import ModelError
from leadroute.limits import (
    MAX_ITEMS,
    Count,
    Id,
    Instant,
    Integer,
    Number,
    Text,
    Weight,
    check_json,
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

NonEmptyStr = Id
Names = Annotated[tuple[Text, ...], Field(max_length=MAX_ITEMS)]
Latitude = Annotated[float, Field(allow_inf_nan=False, ge=-90, le=90)]
Longitude = Annotated[float, Field(allow_inf_nan=False, ge=-180, le=180)]


class FrozenModel(BaseModel):
    """Base for leadroute's models: frozen, no unknown fields.

    Construction (``Model(...)``, ``model_validate``, ``model_validate_json``)
    raises :class:`~leadroute.exceptions.ModelError` for data that does not
    validate, naming the first bad place.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except PydanticValidationError as exc:
            raise model_error(type(self).__name__, exc, data) from None
        except RecursionError:
            raise model_error(type(self).__name__, None, data) from None

    # pydantic then validates nested models without calling this __init__ (as for its own)
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:
        """Validate ``obj`` (a mapping or an instance); :class:`ModelError` if it is not valid."""
        try:
            return super().model_validate(obj, **kwargs)
        except PydanticValidationError as exc:
            raise model_error(cls.__name__, exc, obj) from None
        except RecursionError:
            raise model_error(cls.__name__, None, obj) from None

    @classmethod
    def model_validate_json(cls, json_data: Any, **kwargs: Any) -> Self:
        """Validate a JSON document; :class:`ModelError` if it is not valid."""
        try:
            return super().model_validate_json(json_data, **kwargs)
        except PydanticValidationError as exc:
            raise model_error(cls.__name__, exc, _parsed(json_data)) from None
        except RecursionError:
            raise model_error(cls.__name__, None, None) from None


def _parsed(text: Any) -> Any:
    try:
        return json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return None


def _child(node: Any, key: Any) -> Any:
    if isinstance(key, int):
        if isinstance(node, (list, tuple)) and -len(node) <= key < len(node):
            return node[key]
        return None
    if isinstance(node, Mapping):
        return node.get(key)
    if isinstance(node, BaseModel):
        return getattr(node, str(key), None)
    return None


def _ident(node: Any) -> str | None:
    ident = node.get("id") if isinstance(node, Mapping) else getattr(node, "id", None)
    if isinstance(ident, str) and 0 < len(ident) <= 64 and "]" not in ident:
        return ident
    return None


def error_path(loc: tuple[Any, ...] | list[Any], data: Any) -> str:
    """``loc`` of a validation error as a path; list items with an ``id`` are named by it.

    >>> error_path(("reps", 0, "working_hours"), {"reps": [{"id": "wang"}]})
    'reps[wang].working_hours'

    .. versionadded:: 0.2.0
    """
    parts: list[str] = []
    node = data
    for item in loc:
        child = _child(node, item)
        if isinstance(item, int):
            ident = _ident(child)
            parts.append(f"[{ident}]" if ident is not None else f"[{item}]")
        else:
            parts.append(f".{item}" if parts else str(item))
        node = child
    return "".join(parts)


def _clean(msg: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg


def model_error(name: str, exc: PydanticValidationError | None, data: Any) -> ModelError:
    """A :class:`ModelError` for model ``name`` from pydantic's error (``None``: too deep).

    .. versionadded:: 0.2.0
    """
    ident = _ident(data) if name in ("Lead", "Rep", "Rule") else None
    who = f"{name} {ident!r}" if ident is not None else name
    if exc is None:
        msg = f"{who}: the data is nested too deeply"
        return ModelError(msg, model=name)
    errors = exc.errors(include_url=False)
    first = errors[0]
    path = error_path(first["loc"], data)
    text = _clean(str(first["msg"]))
    last = str(first["loc"][-1]) if first["loc"] else ""
    if last and text.startswith(f"{last}.") and ": " in text:
        # a validator that names the place inside its field (working_hours.mon: ...)
        inner, text = text.split(": ", 1)
        path = path[: len(path) - len(last)] + inner
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    msg = f"{who}: {path}: {text}{more}" if path else f"{who}: {text}{more}"
    return ModelError(msg, model=name, path=path, errors=errors)


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
    created_at: Instant
    country: Text | None = None
    region: Text | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    timezone: Text | None = None
    industry: Text | None = None
    company: Text | None = None
    email: Text | None = None
    account_key: Text | None = None
    source: Text | None = None
    language: Text | None = None
    product: Text | None = None
    value: Number | None = None
    score: Number | None = None
    priority: Integer = 0
    tags: Names = ()
    attributes: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("attributes")
    @classmethod
    def _bounded(cls, v: dict[str, JsonValue]) -> dict[str, JsonValue]:
        check_json(v, "attributes")
        return v

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
        if available_timezones():
            msg = f"unknown time zone {name!r} (use an IANA name such as 'Europe/Berlin')"
        else:  # no system zone files and no tzdata package
            msg = f"cannot load time zone {name!r}: no time-zone database found; pip install tzdata"
        raise ValueError(msg) from exc


class Capacity(FrozenModel):
    """A rep's caps. ``None`` means no cap.

    ``max_per_day`` counts assignments in the rep's own local day;
    ``max_per_period`` counts a rolling window of ``period_days`` local days.

    .. versionadded:: 0.1.0
    """

    max_open: Count | None = None
    max_per_day: Count | None = None
    max_per_period: Count | None = None
    period_days: int = Field(default=30, ge=1, le=366)


class TimeWindow(FrozenModel):
    """A time span, used for away windows (holidays, out of office).

    .. versionadded:: 0.1.0
    """

    start: Instant
    end: Instant
    reason: Text | None = None

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
    name: Text | None = None
    team: Text | None = None
    active: bool = True
    paused: bool = False
    territories: Names = ()
    industries: Names = ()
    skills: Names = ()
    languages: Names = ()
    level: Integer = 1
    weight: Weight = 1.0
    capacity: Capacity = Capacity()
    timezone: Text = "UTC"
    # a Mapping (not dict) so ``{"mon": ("09:00-18:00",)}`` type-checks for users
    working_hours: Mapping[str, tuple[Text, ...]] | None = None
    away: Annotated[tuple[TimeWindow, ...], Field(max_length=MAX_ITEMS)] = ()
    lat: Latitude | None = None
    lon: Longitude | None = None
    stats: dict[str, JsonValue] = Field(default_factory=dict)
    attributes: dict[str, JsonValue] = Field(default_factory=dict)

    @field_validator("stats", "attributes")
    @classmethod
    def _bounded(cls, v: dict[str, JsonValue], info: Any) -> dict[str, JsonValue]:
        check_json(v, str(info.field_name))
        return v

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

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Rep:
        """As :meth:`pydantic.BaseModel.model_copy`; values derived from the fields (the time
        zone, the parsed working hours) are derived again from the copy's fields."""
        copied = super().model_copy(update=update, deep=deep)
        for name in ("zone", "hours_minutes"):
            copied.__dict__.pop(name, None)
        return copied

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
