"""JSON data checks and frozen containers (base layer: no leadroute imports beyond errors).

* :class:`FrozenDict` -- a ``dict`` that refuses changes; strategies copy their
  mapping parameters into it, so a caller's dict changed later changes
  neither the strategy's behaviour nor its identity. It is still a ``dict``
  (``json.dumps`` and pydantic write it as one).
* :func:`json_problem` -- where a value stops being JSON data (scalars, lists
  and str-keyed dicts of them, finite numbers); the public entry points that
  take figures from users (:meth:`leadroute.strategies.Filter.drop`) use it.

>>> weights = FrozenDict({"ann": 2})
>>> weights["ann"]
2
>>> weights["bo"] = 1
Traceback (most recent call last):
  ...
TypeError: FrozenDict is read-only (tried __setitem__)
>>> json_problem({"open": 3, "when": {1, 2}})
('when', 'a set is not JSON data')
>>> json_problem({"ratio": float("nan")})
('ratio', 'nan is not a finite number')

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

__all__ = ["FrozenDict", "freeze", "json_problem"]


class FrozenDict(dict[str, Any]):
    """A read-only ``dict`` (a strategy's mapping parameter after construction).

    Equal to a plain dict with the same items, hashable when its values are,
    JSON-dumpable as a plain object, and pickled as itself.

    .. versionadded:: 0.2.0
    """

    __slots__ = ()

    def _refuse(self, name: str) -> NoReturn:
        msg = f"FrozenDict is read-only (tried {name})"
        raise TypeError(msg)

    def __setitem__(self, key: str, value: Any) -> None:
        self._refuse("__setitem__")

    def __delitem__(self, key: str) -> None:
        self._refuse("__delitem__")

    def __ior__(self, other: Any) -> FrozenDict:  # type: ignore[override,misc]
        self._refuse("|=")

    def clear(self) -> None:
        self._refuse("clear")

    def pop(self, *args: Any) -> Any:
        self._refuse("pop")

    def popitem(self) -> tuple[str, Any]:
        self._refuse("popitem")

    def setdefault(self, *args: Any) -> Any:
        self._refuse("setdefault")

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._refuse("update")

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=lambda kv: str(kv[0]))))

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self

    def __repr__(self) -> str:
        return dict.__repr__(self)


def freeze(value: Any) -> Any:
    """``value`` with dicts as :class:`FrozenDict`, lists as tuples and sets as frozensets
    (recursively); anything else unchanged, the same object when nothing needed freezing.

    >>> freeze({"a": [1, {"b": 2}]})
    {'a': (1, {'b': 2})}
    """
    if isinstance(value, FrozenDict):
        return value
    if isinstance(value, dict):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    if isinstance(value, tuple) and type(value) is tuple:
        items = tuple(freeze(v) for v in value)
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if isinstance(value, set):
        return frozenset(value)
    return value


def json_problem(value: Any, path: str = "") -> tuple[str, str] | None:
    """``(path, message)`` of the first place ``value`` is not JSON data; ``None`` if it is.

    JSON data: ``None``, ``bool``, ``int``, finite ``float``, ``str``, and
    lists / tuples / str-keyed dicts of them.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, f"{value!r} is not a finite number")
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                return (path, f"key {k!r} is not a text")
            found = json_problem(v, f"{path}.{k}" if path else k)
            if found is not None:
                return found
        return None
    if isinstance(value, (list, tuple)):
        return _first(value, path)
    kind = "a set" if isinstance(value, (set, frozenset)) else f"a {type(value).__name__}"
    return (path, f"{kind} is not JSON data")


def _first(items: Iterable[Any], path: str) -> tuple[str, str] | None:
    for i, v in enumerate(items):
        found = json_problem(v, f"{path}[{i}]")
        if found is not None:
            return found
    return None
