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

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from leadroute.exceptions import ConfigError
from leadroute.limits import MAX_DEPTH, check_json, short_repr
from leadroute.models import LEAD_FIELDS, Lead, lead_value
from leadroute.regions import normalize_region, region_covers

__all__ = [
    "OPERATORS",
    "AllOf",
    "AnyOf",
    "Condition",
    "FieldCondition",
    "Not",
    "Predicate",
    "condition_depth",
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
        value = list(self.value) if isinstance(self.value, tuple) else self.value
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
