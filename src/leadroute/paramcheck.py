"""Type checks of strategy parameters against their annotations.

Strategies are frozen dataclasses; their ``__post_init__`` checks ranges but
trusts types. :func:`param_problem` checks one value against a parameter's
annotation (``tuple[str, ...]``, ``dict[str, float]``, ``Literal[...]``,
unions, nested strategies...), so ``{"type": "Team", "teams": true}`` fails
when the config is loaded, naming ``teams``, instead of crashing in
``assign``. Numbers must be finite and within
:data:`~leadroute.limits.MAX_NUMBER`; texts within
:data:`~leadroute.limits.MAX_TEXT_LENGTH`.

>>> from leadroute.strategies import Team
>>> param_problem(Team, "teams", True)
('teams', 'expected a list of texts, got True')
>>> param_problem(Team, "teams", ("a",)) is None
True

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import builtins
import dataclasses
import math
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Literal, Union

from leadroute.limits import MAX_INT, MAX_ITEMS, MAX_NUMBER, MAX_TEXT_LENGTH, short_repr

__all__ = ["check_params", "param_problem"]


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    found = _HINTS.get(cls)
    if found is None:
        found = _HINTS[cls] = _resolve(cls)
    return found


def _resolve(cls: type) -> dict[str, Any]:
    """Resolved annotations of ``cls``'s init fields (unresolvable ones left out)."""
    if not dataclasses.is_dataclass(cls):
        return {}
    # the globals of the modules of cls and its bases: a name a strategy module imports only
    # for type checkers (``Lead``, ``Strategy``) is found where a base class imports it,
    # and one found nowhere stands for Any (no check), so nothing here imports upwards
    names = _Names()
    for klass in reversed(cls.__mro__):
        module = sys.modules.get(klass.__module__)
        if module is not None:
            names.update(vars(module))
    own = sys.modules.get(cls.__module__)
    if own is not None:
        names.update(vars(own))
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        tp: Any = f.type
        if isinstance(tp, str):
            try:
                tp = eval(tp, {"__builtins__": builtins}, names)
            except Exception:  # an annotation we cannot resolve is not checked
                continue
        out[f.name] = tp
    return out


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp is str:
        return "a text"
    if tp is bool:
        return "true or false"
    if tp is int:
        return "a whole number"
    if tp is float:
        return "a number"
    if tp is type(None) or tp is None:
        return "null"
    if tp is timedelta:
        return "a duration"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            inner = _describe(args[0])
            plural = {"a text": "texts", "a number": "numbers", "a whole number": "whole numbers"}
            return f"a list of {plural.get(inner, inner)}"
        return f"a list of {len(args)} items"
    if origin in (dict, Mapping) or tp is dict:
        return "a table"
    if origin is not None and origin in (Callable, typing.get_origin(Callable[..., Any])):
        return "a function"
    return f"a {getattr(tp, '__name__', str(tp))}"


def _problem(value: Any, tp: Any, path: str) -> tuple[str, str] | None:
    """``(path, message)`` of the first place ``value`` does not fit ``tp``; ``None`` if it fits."""
    if tp is Any or tp is object:
        return None
    origin = typing.get_origin(tp)
    bad = (path, "")  # the message is made once, by _message, only for the problem reported
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        options = [_problem(value, a, path) for a in args]
        if any(p is None for p in options):
            return None
        # the nearest complaint: one below this level if any option went deeper
        deeper = [p for p in options if p is not None and p[0] != path]
        return deeper[0] if deeper else bad
    if tp is type(None) or tp is None:
        return None if value is None else bad
    if origin is Literal:
        args = typing.get_args(tp)
        ok = any(type(value) is type(a) and value == a for a in args)
        return None if ok else bad
    if tp is bool:
        return None if isinstance(value, bool) else bad
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return bad
        if not -MAX_INT <= value <= MAX_INT:
            return (path, f"{short_repr(value)} is outside +-{MAX_INT}")
        return None
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return bad
        if isinstance(value, int) and not -MAX_INT <= value <= MAX_INT:
            return (path, f"{short_repr(value)} is outside +-{MAX_INT}")
        if not math.isfinite(value) or abs(value) > MAX_NUMBER:
            return (path, f"{short_repr(value)} is not a finite number within +-{MAX_NUMBER:g}")
        return None
    if tp is str:
        if not isinstance(value, str):
            return bad
        if len(value) > MAX_TEXT_LENGTH:
            return (path, f"a text longer than {MAX_TEXT_LENGTH} characters")
        return None
    if origin is tuple or tp is tuple:
        if not isinstance(value, (tuple, list)):
            return bad
        if len(value) > MAX_ITEMS:
            return (path, f"more than {MAX_ITEMS} items")
        args = typing.get_args(tp)
        if not args:
            return None
        if len(args) == 2 and args[1] is Ellipsis:
            for i, v in enumerate(value):
                found = _problem(v, args[0], f"{path}[{i}]")
                if found is not None:
                    return found
            return None
        if len(value) != len(args):
            return bad
        for i, (v, a) in enumerate(zip(value, args, strict=True)):
            found = _problem(v, a, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    if origin in (dict, Mapping) or tp is dict:
        if not isinstance(value, Mapping):
            return bad
        if len(value) > MAX_ITEMS:
            return (path, f"more than {MAX_ITEMS} keys")
        args = typing.get_args(tp)
        if len(args) != 2:
            return None
        for k, v in value.items():
            found = _problem(k, args[0], f"{path}.{short_repr(k)}")
            if found is not None:
                return found
            found = _problem(v, args[1], f"{path}.{k}")
            if found is not None:
                return found
        return None
    if origin is not None and "Callable" in str(origin):
        return None if callable(value) else bad
    if isinstance(tp, type):
        return None if isinstance(value, tp) else bad
    return None


def _explained(
    found: tuple[str, str] | None, value: Any, tp: Any, name: str
) -> tuple[str, str] | None:
    if found is None or found[1]:
        return found
    inner: Any = value
    inner_tp: Any = tp
    # walk to the reported place to describe what it holds and what it needed
    for part in _steps(found[0], name):
        inner, inner_tp = _descend(inner, inner_tp, part)
    return (found[0], f"expected {_describe(inner_tp)}, got {short_repr(inner)}")


def _steps(path: str, name: str) -> list[str | int]:
    rest = path[len(name) :]
    out: list[str | int] = []
    for m in re.finditer(r"\[(\d+)\]|\.([^.\[]+)", rest):
        out.append(int(m.group(1)) if m.group(1) is not None else m.group(2))
    return out


def _descend(value: Any, tp: Any, part: str | int) -> tuple[Any, Any]:
    """The item ``part`` of ``value`` and its annotation (through unions that fit the shape)."""
    options = typing.get_args(tp) if typing.get_origin(tp) in (Union, types.UnionType) else (tp,)
    for option in options:
        origin = typing.get_origin(option)
        args = typing.get_args(option)
        if (
            isinstance(part, int)
            and origin is tuple
            and isinstance(value, (list, tuple))
            and part < len(value)
        ):
            item_tp = args[0] if len(args) == 2 and args[1] is Ellipsis else args[part]
            return value[part], item_tp
        if isinstance(part, str) and origin in (dict, Mapping) and isinstance(value, Mapping):
            return value.get(part), args[1] if len(args) == 2 else Any
    return value, tp


def param_problem(cls: type, name: str, value: Any) -> tuple[str, str] | None:
    """``(path, message)`` if ``value`` does not fit ``cls``'s parameter ``name``, else ``None``.

    The path starts with ``name`` (``weights.bob``). Parameters whose
    annotation cannot be resolved are not checked.
    """
    tp = _hints(cls).get(name)
    if tp is None:
        return None
    return _explained(_problem(value, tp, name), value, tp, name)


def check_params(obj: Any) -> tuple[str, str] | None:
    """The first parameter of strategy (or ``Band`` / ``Factor``) ``obj`` that does not fit.

    ``None`` when all fit (or ``obj`` is not a dataclass).
    """
    cls = type(obj)
    for name in _hints(cls):
        value = getattr(obj, name, None)
        found = param_problem(cls, name, value)
        if found is not None:
            return found
        # bands of a ValueTier, factors of a Scorecard: check their own parameters
        for i, item in enumerate(value if isinstance(value, tuple) else ()):
            if dataclasses.is_dataclass(item) and not _is_strategy(item):
                inner = check_params(item)
                if inner is not None:
                    return (f"{name}[{i}].{inner[0]}", inner[1])
    return None


def _is_strategy(obj: Any) -> bool:
    """Whether ``obj`` is a strategy (known by its base class: strategies sit above this module)."""
    return any(
        c.__name__ == "Strategy" and c.__module__ == "leadroute.strategies.base"
        for c in type(obj).__mro__
    )


class _Names(dict[str, Any]):
    """The names an annotation is evaluated with: a name found nowhere is ``Any``."""

    def __missing__(self, key: str) -> Any:
        return getattr(builtins, key, Any)
