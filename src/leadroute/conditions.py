"""Rule conditions: declarative data (so rules can live in config files) or a function.

The data form is a mapping with a ``field`` and exactly one operator, or a
combination::

    {"field": "score", "gte": 80}
    {"field": "industry", "in": ["Healthcare", "Pharma"]}
    {"field": "region", "under": "CN"}            # hierarchical region match
    {"field": "tags", "contains": "vip"}
    {"field": "attributes.partner", "exists": True}
    {"all": [...]}, {"any": [...]}, {"not": {...}}

Operators: ``eq``, ``ne``, ``in``, ``not_in``, ``lt``, ``lte``, ``gt``,
``gte``, ``contains``, ``exists``, ``under``. A missing field (``None``) matches
only ``ne``, ``not_in`` and ``exists: false``. Any Python function
``f(lead) -> bool`` works as a condition too.

Values are checked against the lead field's type when the condition is
built: ordering operators need a number (or a date-time for ``created_at``),
``under`` needs a region field, ``contains`` a text or list field. Custom
``attributes.*`` fields are free-form. A mismatch is a :class:`ConfigError`:

>>> parse_condition({"field": "score", "gte": "9000"}, "rules[0].when")
Traceback (most recent call last):
...
leadroute.exceptions.ConfigError: rules[0].when.gte: score is a number, so 'gte' needs a number, got '9000'

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, TypeAdapter, ValidationError

from leadroute.exceptions import ConfigError
from leadroute.limits import MAX_DEPTH, check_json, short_repr
from leadroute.models import LEAD_FIELDS, Lead, lead_value
from leadroute.regions import normalize_region, region_covers

__all__ = [
    "FIELD_KINDS",
    "OPERATORS",
    "AllOf",
    "AnyOf",
    "Condition",
    "FieldCondition",
    "FieldKind",
    "Not",
    "Predicate",
    "condition_depth",
    "field_kind",
    "parse_condition",
]

OPERATORS = (
    "eq",
    "ne",
    "in",
    "not_in",
    "lt",
    "lte",
    "gt",
    "gte",
    "contains",
    "exists",
    "under",
)
_ORDERING = ("lt", "lte", "gt", "gte")
_AWARE: TypeAdapter[datetime] = TypeAdapter(AwareDatetime)

#: The value kinds of lead fields (see :data:`FIELD_KINDS`).
FieldKind = Literal["text", "region", "number", "datetime", "list", "any"]


def _kind_of(annotation: Any) -> FieldKind:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if typing.get_origin(annotation) is typing.Annotated:  # constraints do not change the kind
        annotation = typing.get_args(annotation)[0]
    if annotation is str:
        return "text"
    if annotation in (int, float):
        return "number"
    if annotation is AwareDatetime or (
        isinstance(annotation, type) and issubclass(annotation, datetime)
    ):
        return "datetime"
    if typing.get_origin(annotation) is tuple:
        return "list"
    return "any"


#: The value kind of every lead field: ``text``, ``region`` (``region`` and
#: ``country``, which ``under`` works on), ``number``, ``datetime``, ``list``
#: or ``any`` (free-form, like ``attributes``).
#:
#: .. versionadded:: 0.2.0
FIELD_KINDS: dict[str, FieldKind] = {
    name: "region" if name in ("region", "country") else _kind_of(info.annotation)
    for name, info in Lead.model_fields.items()
}


def field_kind(name: str) -> FieldKind:
    """The value kind of a condition's ``field``; custom attributes are ``any``.

    >>> field_kind("score"), field_kind("region"), field_kind("attributes.tier")
    ('number', 'region', 'any')

    .. versionadded:: 0.2.0
    """
    return FIELD_KINDS.get(name, "any")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _typed_value(name: str, op: str, value: Any) -> Any:
    """``value`` checked (and for dates, parsed) against the kind of field ``name``."""
    kind = field_kind(name)
    if kind == "any" or op == "exists":
        return value
    many = op in ("in", "not_in")
    items = tuple(value) if many else (value,)
    if kind == "list":
        if op in ("eq", "ne"):
            if isinstance(value, str) or not isinstance(value, Sequence):
                _mismatch(name, op, "a list of strings", value, "a list")
            if not all(isinstance(v, str) for v in value):
                _mismatch(name, op, "a list of strings", value, "a list")
            return tuple(value)
        if op == "contains":
            if not isinstance(value, str):
                _mismatch(name, op, "a string", value, "a list")
            return value
        _refuse(name, op, "a list", "use 'contains'")
    if op == "under" and kind != "region":
        _refuse(name, op, _KIND_NAME[kind], "'under' works on region and country")
    if op == "contains" and kind not in ("text", "region"):
        _refuse(name, op, _KIND_NAME[kind], "'contains' works on text and list fields")
    if op in _ORDERING and kind not in ("number", "datetime"):
        _refuse(name, op, _KIND_NAME[kind], "ordering needs a number or date-time field")
    if kind in ("text", "region"):
        for v in items:
            if not isinstance(v, str):
                _mismatch(name, op, "a string", value, _KIND_NAME[kind])
        return value
    if kind == "number":
        for v in items:
            if not _is_number(v):
                _mismatch(name, op, "a number", value, "a number")
        return value
    parsed = []
    for v in items:
        try:
            parsed.append(_AWARE.validate_python(v))
        except ValidationError:
            _mismatch(name, op, "a date-time with a time zone", value, "a date-time")
    return tuple(parsed) if many else parsed[0]


_KIND_NAME = {
    "text": "text",
    "region": "a region",
    "number": "a number",
    "datetime": "a date-time",
    "list": "a list",
}


def _mismatch(name: str, op: str, want: str, value: Any, kind: str) -> typing.NoReturn:
    what = f"a list whose items are {want}" if op in ("in", "not_in") else want
    msg = f"{name} is {kind}, so {op!r} needs {what}, got {value!r}"
    raise ConfigError(msg)


def _refuse(name: str, op: str, kind: str, hint: str) -> typing.NoReturn:
    msg = f"{name} is {kind}: {op!r} does not apply ({hint})"
    raise ConfigError(msg)


_SYMBOL = {"eq": "==", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


class Condition:
    """A test on a lead. ``explain(lead)`` says why it did not match."""

    __slots__ = ()

    def matches(self, lead: Lead) -> bool:
        """Whether the lead satisfies the condition."""
        raise NotImplementedError

    def explain(self, lead: Lead) -> str:
        """Why the lead does not satisfy the condition (only meaningful when it does not)."""
        return f"{self!r} is false"

    def to_config(self) -> Any:
        """The data form of the condition."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class FieldCondition(Condition):
    """``<lead field> <op> <value>``.

    >>> FieldCondition("score", "gte", 80).to_config()
    {'field': 'score', 'gte': 80}

    .. versionadded:: 0.1.0
    """

    field: str
    op: str
    value: Any

    def __post_init__(self) -> None:
        if self.op not in OPERATORS:
            msg = f"unknown operator {self.op!r}"
            raise ConfigError(msg, suggestion=_closest(self.op, OPERATORS))
        if self.op in ("in", "not_in"):
            if isinstance(self.value, (str, bytes)) or not isinstance(self.value, Sequence):
                msg = f"{self.op!r} needs a list, got {self.value!r}"
                raise ConfigError(msg)
            object.__setattr__(self, "value", tuple(self.value))
        if self.op == "exists" and not isinstance(self.value, bool):
            msg = f"'exists' needs true or false, got {self.value!r}"
            raise ConfigError(msg)
        if self.op == "under":
            if not isinstance(self.value, str):
                msg = f"'under' needs a region code, got {self.value!r}"
                raise ConfigError(msg)
            object.__setattr__(self, "value", normalize_region(self.value))
        object.__setattr__(self, "value", _typed_value(self.field, self.op, self.value))

    def matches(self, lead: Lead) -> bool:
        actual = lead_value(lead, self.field)
        op, want = self.op, self.value
        if op == "exists":
            present = actual is not None and actual != "" and actual != ()
            return present is bool(want)
        if actual is None:
            return op in ("ne", "not_in")
        if op == "eq":
            return bool(actual == want)
        if op == "ne":
            return bool(actual != want)
        if op == "in":
            return actual in want
        if op == "not_in":
            return actual not in want
        if op == "contains":
            try:
                return want in actual
            except TypeError:
                return False
        if op == "under":
            return isinstance(actual, str) and region_covers(want, normalize_region(actual))
        try:
            if op == "lt":
                return bool(actual < want)
            if op == "lte":
                return bool(actual <= want)
            if op == "gt":
                return bool(actual > want)
            return bool(actual >= want)
        except TypeError:
            return False

    def explain(self, lead: Lead) -> str:
        actual = lead_value(lead, self.field)
        if self.op == "exists":
            return f"{self.field} is {'missing' if self.value else f'present ({actual!r})'}"
        if actual is None:
            return f"{self.field} is missing"
        if self.op in _SYMBOL:
            return f"{self.field} {actual!r} is not {_SYMBOL[self.op]} {self.value!r}"
        if self.op == "in":
            return f"{self.field} {actual!r} is not in {list(self.value)!r}"
        if self.op == "not_in":
            return f"{self.field} {actual!r} is in {list(self.value)!r}"
        if self.op == "contains":
            return f"{self.field} {actual!r} does not contain {self.value!r}"
        return f"{self.field} {actual!r} is not under {self.value}"

    def to_config(self) -> Any:
        value = self.value
        if isinstance(value, tuple):
            value = [v.isoformat() if isinstance(v, datetime) else v for v in value]
        elif isinstance(value, datetime):
            value = value.isoformat()
        return {"field": self.field, self.op: value}


@dataclass(frozen=True, slots=True)
class AllOf(Condition):
    """Every condition holds.

    .. versionadded:: 0.1.0
    """

    conditions: tuple[Condition, ...]

    def matches(self, lead: Lead) -> bool:
        return all(c.matches(lead) for c in self.conditions)

    def explain(self, lead: Lead) -> str:
        for c in self.conditions:
            if not c.matches(lead):
                return c.explain(lead)
        return "all conditions hold"

    def to_config(self) -> Any:
        return {"all": [c.to_config() for c in self.conditions]}


@dataclass(frozen=True, slots=True)
class AnyOf(Condition):
    """At least one condition holds.

    .. versionadded:: 0.1.0
    """

    conditions: tuple[Condition, ...]

    def matches(self, lead: Lead) -> bool:
        return any(c.matches(lead) for c in self.conditions)

    def explain(self, lead: Lead) -> str:
        return "none of: " + "; ".join(c.explain(lead) for c in self.conditions)

    def to_config(self) -> Any:
        return {"any": [c.to_config() for c in self.conditions]}


@dataclass(frozen=True, slots=True)
class Not(Condition):
    """The condition does not hold.

    .. versionadded:: 0.1.0
    """

    condition: Condition

    def matches(self, lead: Lead) -> bool:
        return not self.condition.matches(lead)

    def explain(self, lead: Lead) -> str:
        return f"not expected, but {self.condition.to_config()!r} holds"

    def to_config(self) -> Any:
        return {"not": self.condition.to_config()}


@dataclass(frozen=True, slots=True)
class Predicate(Condition):
    """A Python function ``f(lead) -> bool`` used as a condition.

    .. versionadded:: 0.1.0
    """

    fn: Callable[[Lead], bool]

    @property
    def name(self) -> str:
        """The function's qualified name (shown in the audit and config)."""
        return str(getattr(self.fn, "__qualname__", repr(self.fn)))

    def matches(self, lead: Lead) -> bool:
        return bool(self.fn(lead))

    def explain(self, lead: Lead) -> str:
        return f"{self.name}(lead) is false"

    def to_config(self) -> Any:
        return {"python": self.name}


def _closest(name: str, options: Sequence[str]) -> str | None:
    found = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return found[0] if found else None


def parse_condition(obj: Any, path: str = "when") -> Condition | None:
    """Build a :class:`Condition` from its data form, a function, or ``None`` (always).

    Errors name the path (``rules[0].when.all[1]``) and suggest the closest
    operator or field name for a misspelling. Conditions nest at most
    :data:`~leadroute.limits.MAX_DEPTH` levels deep.
    """
    if obj is None:
        return None
    if isinstance(obj, Condition):
        if condition_depth(obj) > MAX_DEPTH:
            msg = f"conditions nest deeper than {MAX_DEPTH} levels"
            raise ConfigError(msg, path=path)
        return obj
    try:
        check_json(obj, path, max_depth=MAX_DEPTH * 2 + 2)
    except ValueError as exc:
        text = str(exc).split(": ", 1)[-1]
        raise ConfigError(text, path=str(exc).split(": ", 1)[0]) from None
    if callable(obj):
        return Predicate(obj)
    if not isinstance(obj, Mapping):
        msg = f"a condition is a mapping or a function, got {short_repr(obj)}"
        raise ConfigError(msg, path=path)
    keys = set(obj)
    for combo in ("all", "any"):
        if keys == {combo}:
            items = obj[combo]
            if not isinstance(items, Sequence) or isinstance(items, str) or not items:
                msg = f"{combo!r} needs a non-empty list of conditions"
                raise ConfigError(msg, path=f"{path}.{combo}")
            parsed = tuple(
                _required(parse_condition(c, f"{path}.{combo}[{i}]"), f"{path}.{combo}[{i}]")
                for i, c in enumerate(items)
            )
            return AllOf(parsed) if combo == "all" else AnyOf(parsed)
    if keys == {"not"}:
        return Not(_required(parse_condition(obj["not"], f"{path}.not"), f"{path}.not"))
    if "field" not in obj:
        msg = "a condition needs 'field' and one operator, or 'all' / 'any' / 'not'"
        raise ConfigError(
            msg,
            path=path,
            suggestion=_closest(next(iter(keys), ""), ["field", "all", "any", "not"]),
        )
    name = obj["field"]
    if not isinstance(name, str) or not name:
        msg = f"field must be a name, got {short_repr(name)}"
        raise ConfigError(msg, path=f"{path}.field")
    if name not in LEAD_FIELDS and not name.startswith("attributes."):
        guess = _closest(name, sorted(LEAD_FIELDS))
        if guess is not None and guess != name:
            msg = f"{name!r} is not a lead field (use 'attributes.{name}' for a custom attribute)"
            raise ConfigError(msg, path=f"{path}.field", suggestion=guess)
    ops = [k for k in keys if k != "field"]
    if len(ops) != 1:
        msg = f"a field condition needs exactly one operator, got {sorted(ops)!r}"
        raise ConfigError(msg, path=path)
    op = ops[0]
    if op not in OPERATORS:
        msg = f"unknown operator {op!r}"
        raise ConfigError(msg, path=f"{path}.{op}", suggestion=_closest(op, OPERATORS))
    try:
        check_json(obj[op], "value")
        return FieldCondition(name, op, obj[op])
    except ValueError as exc:
        raise ConfigError(str(exc), path=f"{path}.{op}") from None


def condition_depth(cond: Condition) -> int:
    """How deep ``all`` / ``any`` / ``not`` nest in ``cond`` (1 for a single test).

    .. versionadded:: 0.2.0
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(cond, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > MAX_DEPTH + 1:
                break
        if isinstance(node, (AllOf, AnyOf)):
            stack.extend((c, depth + 1) for c in node.conditions)
        elif isinstance(node, Not):
            stack.append((node.condition, depth + 1))
    return deepest


def _required(cond: Condition | None, path: str) -> Condition:
    if cond is None:
        msg = "a condition is required here"
        raise ConfigError(msg, path=path)
    return cond
