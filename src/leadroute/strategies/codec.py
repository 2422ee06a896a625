"""The data form of routes: parse a strategy from data, dump it back.

The data has the shape of the Python objects:

* a strategy is its class name (``"RoundRobin"``) or a table with ``type``
  and its parameters (``{"type": "Weighted", "weights": {"alice": 3}}``);
* a list of strategies is a chain (``Geo >> CapacityCap >> RoundRobin``);
* ``{"type": "Fallback", "options": [...]}`` is ``a | b | ...``.

:func:`dump_toml` writes a data form as TOML (extra ``toml``). Errors name
the path (``rules[2].route[1].weights.bob``) and, for a misspelled name, the
closest valid one. Moved here from :mod:`leadroute.config`, which re-exports
these names.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from leadroute.conditions import Condition
from leadroute.exceptions import ConfigError, StrategyError
from leadroute.limits import DURATION, MAX_DEPTH, check_json, short_repr
from leadroute.paramcheck import check_params, param_problem
from leadroute.strategies import BUILTIN
from leadroute.strategies.base import Chain, Fallback, FunctionFilter, Strategy
from leadroute.strategies.scoring import Factor
from leadroute.strategies.tiers import Band

__all__ = ["dump_toml", "parse_route", "route_to_config"]

#: Deepest nesting of lists and tables in one route's data form.
MAX_ROUTE_NESTING = 2 * MAX_DEPTH + 2


def closest(name: str, options: Sequence[str]) -> str | None:
    found = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return found[0] if found else None


def registry(extra: Mapping[str, type] | None) -> dict[str, type]:
    reg: dict[str, type] = dict(BUILTIN)
    if extra:
        for name, cls in extra.items():
            if not (isinstance(cls, type) and issubclass(cls, Strategy)):
                msg = f"strategies[{name!r}] is not a Strategy subclass"
                raise ConfigError(msg, path=f"strategies.{name}")
            reg[name] = cls
    return reg


def parse_route(
    obj: Any, path: str = "route", registry: Mapping[str, type] | None = None
) -> Strategy:
    """A strategy from its data form; errors name ``path``."""
    reg = registry if registry is not None else BUILTIN
    if isinstance(obj, Strategy):
        return obj
    if isinstance(obj, (list, Mapping)):
        try:
            check_json(obj, path, max_depth=MAX_ROUTE_NESTING)
        except ValueError as exc:
            where, text = str(exc).split(": ", 1)
            raise ConfigError(text, path=where) from None
    if isinstance(obj, str):
        return _make(obj, {}, path, reg)
    if isinstance(obj, list):
        if not obj:
            msg = "an empty route"
            raise ConfigError(msg, path=path)
        steps = [parse_route(o, f"{path}[{i}]", reg) for i, o in enumerate(obj)]
        if len(steps) == 1:
            return steps[0]
        try:
            return Chain(*steps)
        except StrategyError as exc:
            raise ConfigError(str(exc), path=path) from None
    if isinstance(obj, Mapping):
        if "type" not in obj:
            msg = "a strategy table needs 'type'"
            raise ConfigError(msg, path=path, suggestion=closest(next(iter(obj), ""), ["type"]))
        name = obj["type"]
        params = {k: v for k, v in obj.items() if k != "type"}
        return _make(name, params, path, reg)
    msg = f"a strategy is a name, a table or a list, got {short_repr(obj)}"
    raise ConfigError(msg, path=path)


def _make(name: Any, params: dict[str, Any], path: str, reg: Mapping[str, type]) -> Strategy:
    if not isinstance(name, str) or name not in reg:
        msg = f"unknown strategy {short_repr(name)}"
        raise ConfigError(
            msg,
            path=f"{path}.type" if params else path,
            suggestion=closest(name, sorted(reg)) if isinstance(name, str) else None,
        )
    cls = reg[name]
    if cls is Chain or cls is Fallback:
        key = "steps" if cls is Chain else "options"
        extra = [k for k in params if k != key]
        if extra or not isinstance(params.get(key), list):
            msg = f"{name} takes one list, {key!r}"
            raise ConfigError(msg, path=path)
        parts = [parse_route(o, f"{path}.{key}[{i}]", reg) for i, o in enumerate(params[key])]
        try:
            return cls(*parts)
        except StrategyError as exc:
            raise ConfigError(str(exc), path=f"{path}.{key}") from None
    fields = (
        {f.name: f for f in dataclasses.fields(cls) if f.init}
        if dataclasses.is_dataclass(cls)
        else {}
    )
    kwargs: dict[str, Any] = {}
    for key, value in params.items():
        if fields and key not in fields:
            msg = f"{name} has no parameter {short_repr(key)}"
            raise ConfigError(msg, path=f"{path}.{key}", suggestion=closest(str(key), list(fields)))
        ftype = str(fields[key].type) if key in fields else ""
        kwargs[key] = _convert(value, ftype, f"{path}.{key}", reg)
    made: Strategy = _construct(cls, name, kwargs, path)
    return made


def _construct(cls: type, name: str, kwargs: dict[str, Any], path: str) -> Any:
    """``cls(**kwargs)``; every parameter's type checked, every failure a :class:`ConfigError`."""
    try:
        obj = cls(**kwargs)
    except StrategyError as exc:
        where = f"{path}.{exc.field}" if exc.field else path
        raise ConfigError(str(exc), path=where) from None
    except ConfigError as exc:
        raise ConfigError(str(exc), path=path) from None
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError) as exc:
        # a parameter of the wrong type that the strategy tripped over: name it if we can
        for key, value in kwargs.items():
            found = param_problem(cls, key, value)
            if found is not None:
                msg = f"{name}: {found[1]}"
                raise ConfigError(msg, path=f"{path}.{found[0]}") from None
        msg = f"{name}: {short_repr(str(exc))}"
        raise ConfigError(msg, path=path) from None
    found = check_params(obj)
    if found is not None:
        msg = f"{name}: {found[1]}"
        raise ConfigError(msg, path=f"{path}.{found[0]}")
    return obj


def _convert(value: Any, ftype: str, path: str, reg: Mapping[str, type]) -> Any:
    if "Factor" in ftype and isinstance(value, list):
        return tuple(_factor(v, f"{path}[{i}]") for i, v in enumerate(value))
    if "Band" in ftype and isinstance(value, list):
        return tuple(_band(v, f"{path}[{i}]", reg) for i, v in enumerate(value))
    if ("Strategy" in ftype or "Scorecard" in ftype) and value is not None:
        return parse_route(value, path, reg)
    if "tuple" in ftype and isinstance(value, list):
        return tuple(value)
    return value


def _factor(raw: Any, path: str) -> Factor:
    if isinstance(raw, Factor):
        return raw
    if not isinstance(raw, Mapping):
        msg = f"a factor is a table, got {raw!r}"
        raise ConfigError(msg, path=path)
    names = [f.name for f in dataclasses.fields(Factor) if f.init]
    for key in raw:
        if key not in names:
            msg = f"Factor has no parameter {key!r}"
            raise ConfigError(msg, path=f"{path}.{key}", suggestion=closest(key, names))
    data = dict(raw)
    if isinstance(data.get("ranges"), list):
        data["ranges"] = tuple(_open_ends(r) for r in data["ranges"])
    factor: Factor = _construct(Factor, "Factor", data, path)
    return factor


def read_open_ends(value: Any, key: str = "", room: int = MAX_ROUTE_NESTING + 8) -> Any:
    """``value`` with TOML's open range sides (``-inf`` / ``inf`` in ``ranges`` rows) as ``None``.

    Data nested deeper than ``room`` is left as it is (the size check rejects it next).
    """
    if room <= 0:
        return value
    if isinstance(value, Mapping):
        return {k: read_open_ends(v, str(k), room - 1) for k, v in value.items()}
    if isinstance(value, list):
        if key == "ranges":
            return [_open_ends(r) if isinstance(r, (list, tuple)) else r for r in value]
        return [read_open_ends(v, "", room - 1) for v in value]
    return value


def _open_ends(row: Any) -> Any:
    """A ranges row with ``-inf`` / ``inf`` bounds (TOML's open sides) read as ``None``."""
    if not isinstance(row, (list, tuple)):
        return row
    out = list(row)
    for i, inf in ((0, -math.inf), (1, math.inf)):
        if len(out) > i and isinstance(out[i], float) and out[i] == inf:
            out[i] = None
    return tuple(out)


def _band(raw: Any, path: str, reg: Mapping[str, type]) -> Band:
    if isinstance(raw, Band):
        return raw
    if not isinstance(raw, Mapping):
        msg = f"a band is a table, got {raw!r}"
        raise ConfigError(msg, path=path)
    names = [f.name for f in dataclasses.fields(Band)]
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in names:
            msg = f"Band has no parameter {key!r}"
            raise ConfigError(msg, path=f"{path}.{key}", suggestion=closest(key, names))
        if key == "route":
            kwargs[key] = parse_route(value, f"{path}.route", reg)
        elif key == "levels" and isinstance(value, list):
            kwargs[key] = tuple(value)
        else:
            kwargs[key] = value
    band: Band = _construct(Band, "Band", kwargs, path)
    return band


# -- writing ---------------------------------------------------------------------------


def route_to_config(route: Strategy, *, strict: bool = True) -> Any:
    """The data form of ``route``.

    With ``strict`` a strategy holding a plain function (which has no data
    form) is a :class:`ConfigError`; otherwise its name stands in.
    """
    if isinstance(route, Chain):
        return [route_to_config(s, strict=strict) for s in route.steps]
    if isinstance(route, Fallback):
        return {
            "type": "Fallback",
            "options": [route_to_config(o, strict=strict) for o in route.options],
        }
    if isinstance(route, FunctionFilter):
        if strict:
            msg = f"{route!r} wraps a Python function, which has no config form"
            raise ConfigError(msg)
        return {"type": "function", "name": route.label}
    params = route.params()
    if not params:
        return type(route).__name__
    out: dict[str, Any] = {"type": type(route).__name__}
    for key, value in params.items():
        out[key] = _value_to_config(value, strict, key)
    return out


def _value_to_config(value: Any, strict: bool, where: str) -> Any:
    if isinstance(value, Strategy):
        return route_to_config(value, strict=strict)
    if isinstance(value, (Band, Factor)):
        return {k: _value_to_config(v, strict, k) for k, v in value.params().items()}
    if isinstance(value, Condition):
        return value.to_config()
    if isinstance(value, (list, tuple)):
        return [_value_to_config(v, strict, where) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _value_to_config(v, strict, where) for k, v in value.items()}
    if isinstance(value, timedelta):
        return DURATION.dump_python(value, mode="json")
    if isinstance(value, Callable):  # type: ignore[arg-type]
        if strict:
            msg = f"{where}={value!r} is a Python function, which has no config form"
            raise ConfigError(msg, path=where)
        return getattr(value, "__qualname__", repr(value))
    return value


def dump_toml(data: Mapping[str, Any], *, schema: str | None = None) -> str:
    """``data`` (such as :meth:`Router.to_config`'s output) as TOML text.

    Needs the ``toml`` extra (``pip install "leadroute[toml]"``, which brings
    ``tomli-w``). ``schema`` adds a ``#:schema`` line that editors with the
    Even Better TOML extension use to check the file. TOML has no null: an
    open side of a scorecard factor's ``ranges`` row is written ``-inf`` /
    ``inf`` (read back as open), any other ``None`` is a :class:`ConfigError`
    naming its path.

    >>> print(dump_toml({"rules": [{"id": "all", "route": "RoundRobin"}], "seed": 0}), end="")
    rules = [
        { id = "all", route = "RoundRobin" },
    ]
    seed = 0

    .. versionadded:: 0.2.0
    """
    try:
        import tomli_w
    except ImportError:
        msg = 'writing TOML needs tomli-w: pip install "leadroute[toml]"'
        raise ImportError(msg) from None
    plain = _toml_ready(data, "")
    text = tomli_w.dumps(plain)
    return f"#:schema {schema}\n{text}" if schema else text


def _toml_ready(value: Any, path: str, key: str = "") -> Any:
    """``value`` with open range sides as infinities; ``None`` elsewhere is an error."""
    if value is None:
        msg = "TOML has no null; leave the key out instead"
        raise ConfigError(msg, path=path or "(top)")
    if isinstance(value, Mapping):
        return {
            str(k): _toml_ready(v, f"{path}.{k}" if path else str(k), str(k))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        if key == "ranges":
            value = [
                [(-math.inf, math.inf)[j] if x is None and j < 2 else x for j, x in enumerate(r)]
                if isinstance(r, (list, tuple))
                else r
                for r in value
            ]
        return [_toml_ready(v, f"{path}[{i}]") for i, v in enumerate(value)]
    return value
