"""The documented bounds of every input, and the checks that enforce them.

Everything leadroute reads is bounded, so that a bad value fails at once
with a clear error naming the place instead of crashing later (``NaN``
credits, ``OverflowError`` on dates near year 1, ``RecursionError`` on deep
conditions, a state that cannot be reloaded). ``docs/errors.md`` lists
them all.

>>> MAX_WEIGHT
1000000.0
>>> short_repr(10**5000)
'<an integer of 16610 bits>'

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, Field, TypeAdapter, ValidationError

from leadroute.exceptions import StrategyError

__all__ = [
    "FUTURE_TOLERANCE",
    "MAX_CLOCK_JUMP",
    "MAX_COUNT",
    "MAX_DEPTH",
    "MAX_ID_LENGTH",
    "MAX_INT",
    "MAX_ITEMS",
    "MAX_NUMBER",
    "MAX_TEXT_LENGTH",
    "MAX_WEIGHT",
    "MAX_YEAR",
    "MIN_YEAR",
    "check_datetime",
    "check_json",
    "short_repr",
]

#: Longest id (lead, rep, rule) in characters.
MAX_ID_LENGTH = 256
#: Longest text field (name, company, e-mail, industry, region, reason, attribute strings).
MAX_TEXT_LENGTH = 10_000
#: Most items in one list or mapping of a model (tags, territories, attributes...).
MAX_ITEMS = 10_000
#: Deepest nesting of conditions and of JSON values in ``attributes`` / ``stats``.
MAX_DEPTH = 64
#: Largest magnitude of a number (lead value and score, attribute numbers, band limits).
MAX_NUMBER = 1e15
#: Largest magnitude of an integer (priority, level, seed, attribute integers).
MAX_INT = 2**63 - 1
#: Largest rep weight (``Rep.weight``, ``Weighted(weights=...)``): credits stay finite.
MAX_WEIGHT = 1e6
#: Largest cap or counter (``max_open``, ``max_per_day``, day counts, turns).
MAX_COUNT = 10**9
#: Earliest and latest year of any date leadroute accepts.
MIN_YEAR = 1900
MAX_YEAR = 2200
#: How far after ``now`` a lead's ``created_at`` may lie (clock skew between systems).
FUTURE_TOLERANCE = timedelta(days=1)
#: Without ``now``: how far after the state's ``as_of`` a lead's ``created_at`` may lie.
MAX_CLOCK_JUMP = timedelta(days=366)

_REPR = reprlib.Repr()
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlong = 40
_REPR.maxlist = 6
_REPR.maxdict = 6
_REPR.maxtuple = 6
_REPR.maxlevel = 3


def short_repr(value: object) -> str:
    """A bounded ``repr`` for error messages (safe for huge integers and deep values)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"<an integer of {value.bit_length()} bits>"
    try:
        return _REPR.repr(value)
    except (ValueError, RecursionError):  # pragma: no cover - reprlib guards most cases
        return f"<a {type(value).__name__}>"


def check_datetime(value: datetime, name: str = "") -> datetime:
    """``value`` if it is time-zone aware and its UTC year is in ``MIN_YEAR..MAX_YEAR``.

    Raises ``ValueError`` naming ``name`` otherwise (callers wrap it in their
    error type).
    """
    where = f"{name}: " if name else ""
    if not isinstance(value, datetime):
        msg = f"{where}expected a datetime, got {short_repr(value)}"
        raise ValueError(msg)
    if value.tzinfo is None or value.utcoffset() is None:
        msg = f"{where}a naive datetime; give a time-zone aware one"
        raise ValueError(msg)
    try:
        year = value.astimezone(UTC).year
    except OverflowError:
        year = value.year
    if not MIN_YEAR <= year <= MAX_YEAR or not MIN_YEAR <= value.year <= MAX_YEAR:
        msg = f"{where}{value.isoformat()} is outside the years {MIN_YEAR}-{MAX_YEAR}"
        raise ValueError(msg)
    return value


def _sane(value: datetime) -> datetime:
    if MIN_YEAR < value.year < MAX_YEAR:  # a day's offset cannot leave the window: no conversion
        return value
    return check_datetime(value)


#: An aware datetime within the accepted years (for model fields).
Instant = Annotated[AwareDatetime, AfterValidator(_sane)]
#: A finite number within ``MAX_NUMBER``.
Number = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_NUMBER, le=MAX_NUMBER)]
#: A whole number within ``MAX_INT``.
Integer = Annotated[int, Field(ge=-MAX_INT, le=MAX_INT)]
#: A count or cap: a whole number in ``0..MAX_COUNT``.
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
#: A weight: a finite number in ``0..MAX_WEIGHT``.
Weight = Annotated[float, Field(allow_inf_nan=False, ge=0, le=MAX_WEIGHT)]
#: An id: 1..MAX_ID_LENGTH characters.
Id = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]
#: A text field: at most MAX_TEXT_LENGTH characters.
Text = Annotated[str, Field(max_length=MAX_TEXT_LENGTH)]


def check_json(value: Any, name: str, max_depth: int = MAX_DEPTH) -> None:
    """Raise ``ValueError`` naming the place unless ``value`` is bounded JSON-like data.

    Bounded: nesting within ``max_depth``, strings within ``MAX_TEXT_LENGTH``,
    lists and mappings within ``MAX_ITEMS``, numbers finite and within
    ``MAX_NUMBER`` (integers within ``MAX_INT``), so the value saves to JSON
    and reloads equal.
    """
    if _fits(value, max_depth):
        return
    _locate(value, name, max_depth)


def _fits(node: Any, room: int) -> bool:
    """Whether ``node`` is bounded (the fast check; recursion at most ``room`` deep)."""
    kind = type(node)
    if kind is str:
        return len(node) <= MAX_TEXT_LENGTH
    if kind is dict:
        if room <= 0 or len(node) > MAX_ITEMS:
            return False
        for k, v in node.items():
            if type(k) is str and len(k) > MAX_ID_LENGTH:
                return False
            if type(v) is str:
                if len(v) > MAX_TEXT_LENGTH:
                    return False
            elif not _fits(v, room - 1):
                return False
        return True
    if kind is list or kind is tuple:
        if room <= 0 or len(node) > MAX_ITEMS:
            return False
        for v in node:
            if type(v) is str:
                if len(v) > MAX_TEXT_LENGTH:
                    return False
            elif not _fits(v, room - 1):
                return False
        return True
    if node is None or kind is bool:
        return True
    if kind is int:
        return bool(-MAX_INT <= node <= MAX_INT)
    if kind is float:
        return math.isfinite(node) and abs(node) <= MAX_NUMBER
    # a subclass of a JSON type: the slow check decides (and names the place)
    return not isinstance(node, (str, int, float, Mapping, list, tuple))


def _locate(value: Any, name: str, max_depth: int) -> None:
    """Raise the ``ValueError`` naming the first place where ``value`` is not bounded."""
    stack: list[tuple[Any, str, int]] = [(value, name, 0)]
    while stack:
        node, where, depth = stack.pop()
        if depth > max_depth:
            msg = f"{where}: nested deeper than {max_depth} levels"
            raise ValueError(msg)
        if node is None or isinstance(node, bool):
            continue
        if isinstance(node, str):
            if len(node) > MAX_TEXT_LENGTH:
                msg = f"{where}: text longer than {MAX_TEXT_LENGTH} characters"
                raise ValueError(msg)
        elif isinstance(node, int):
            if not -MAX_INT <= node <= MAX_INT:
                msg = f"{where}: integer {short_repr(node)} is outside +-{MAX_INT}"
                raise ValueError(msg)
        elif isinstance(node, float):
            if not math.isfinite(node) or abs(node) > MAX_NUMBER:
                msg = f"{where}: {node!r} is not a finite number within +-{MAX_NUMBER:g}"
                raise ValueError(msg)
        elif isinstance(node, Mapping):
            if len(node) > MAX_ITEMS:
                msg = f"{where}: more than {MAX_ITEMS} keys"
                raise ValueError(msg)
            for k, v in node.items():
                if isinstance(k, str) and len(k) > MAX_ID_LENGTH:
                    msg = f"{where}: a key longer than {MAX_ID_LENGTH} characters"
                    raise ValueError(msg)
                stack.append(
                    (v, f"{where}.{short_repr(k) if not isinstance(k, str) else k}", depth + 1)
                )
        elif isinstance(node, (list, tuple)):
            if len(node) > MAX_ITEMS:
                msg = f"{where}: more than {MAX_ITEMS} items"
                raise ValueError(msg)
            stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(node))


#: Reads a duration: a timedelta, seconds, or ISO 8601 (``PT2H``).
DURATION: TypeAdapter[timedelta] = TypeAdapter(timedelta)


def as_duration(value: Any, name: str, owner: str) -> timedelta | None:
    """``value`` as a non-negative timedelta (a timedelta, seconds, or ISO 8601 ``PT2H``).

    Moved here from :mod:`leadroute.strategies.availability` (which re-exports it).
    """
    if value is None or isinstance(value, timedelta):
        out = value
    else:
        try:
            out = DURATION.validate_python(value)
        except ValidationError:
            msg = f"{owner}({name}={short_repr(value)}): a duration (timedelta, seconds or ISO 8601 like 'PT2H')"
            raise StrategyError(msg, field=name) from None
    if out is not None and out < timedelta(0):
        msg = f"{owner}({name}={value!r}): must not be negative"
        raise StrategyError(msg, field=name)
    return out
