"""The JSON Schema of rule files, so editors can complete and check them.

:func:`rules_schema` builds the schema from the code itself: the strategies'
dataclass fields (a table is discriminated by its ``type``), the condition
operators and the lead fields with their types. The package ships a copy as
``leadroute/rules.schema.json`` (see :func:`schema_path`); ``leadroute schema``
prints it. A test checks the shipped copy is current.

Examples:
    >>> schema = rules_schema()
    >>> schema["properties"]["rules"]["items"]
    {'$ref': '#/definitions/rule'}
    >>> "Geo" in schema["definitions"]["strategy_name"]["enum"]
    True

The schema follows JSON Schema draft 7, which VS Code's JSON support and the
Even Better TOML extension (taplo) both understand. Custom strategies are not
in the shipped copy; ``rules_schema(strategies={"InStock": InStock})`` adds them.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable, Mapping
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from leadroute import strategies as strategies_module
from leadroute.conditions import FIELD_KINDS, OPERATORS, field_kind
from leadroute.exceptions import StrategyError
from leadroute.limits import MAX_ID_LENGTH
from leadroute.strategies import BUILTIN
from leadroute.strategies.base import Chain, Fallback, Strategy
from leadroute.strategies.scoring import Factor
from leadroute.strategies.tiers import Band

__all__ = ["SCHEMA_FILE", "rules_schema", "schema_json", "schema_path", "write_schema"]

#: The name of the shipped schema file inside the package.
SCHEMA_FILE = "rules.schema.json"

_ID_PATTERN = r"^(?!default$)[A-Za-z0-9_.\-]+$"
_REF = "#/definitions/"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": _REF + name}


def _summary(obj: Any) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return doc.split("\n\n", 1)[0].replace("\n", " ").replace("``", "`")


def _hints(cls: type) -> dict[str, Any]:
    """``cls``'s field types; names imported only for type checkers resolve too."""
    module = __import__(cls.__module__, fromlist=["_"])
    ns = {
        **vars(typing),
        **vars(strategies_module),
        **vars(module),
        "Callable": Callable,
        "timedelta": timedelta,
    }
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for name, ann in getattr(klass, "__annotations__", {}).items():
            try:
                # what typing.get_type_hints does, one annotation at a time
                out[name] = eval(ann, ns) if isinstance(ann, str) else ann
            except Exception:  # an annotation that cannot resolve: no constraint
                out[name] = Any
    return out


def _type_schema(tp: Any, name: str) -> dict[str, Any] | None:
    """The schema of a field of type ``tp``; ``None`` for a field with no data form."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return _ref("condition") if name == "when" else {}
    if origin is typing.Annotated:
        return _type_schema(args[0], name)
    if origin in (typing.Union, types.UnionType):
        parts = [_type_schema(a, name) for a in args]
        if any(p is None for p in parts):
            return None
        kept = [p for p in parts if p is not None]
        return kept[0] if len(kept) == 1 else {"anyOf": kept}
    if origin is Literal:
        return {"enum": list(args)}
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            inner = _type_schema(args[0], name)
            return {"type": "array", "items": inner if inner is not None else {}}
        items = [_type_schema(a, name) or {} for a in args]
        return {"type": "array", "items": items, "minItems": len(items), "maxItems": len(items)}
    if origin is dict:
        inner = _type_schema(args[1], name) if args else {}
        return {"type": "object", "additionalProperties": inner if inner is not None else {}}
    if origin is not None and origin in (Callable, typing.Callable):
        return None
    if isinstance(tp, type):
        simple = {
            bool: {"type": "boolean"},
            int: {"type": "integer"},
            float: {"type": "number"},
            str: {"type": "string"},
            type(None): {"type": "null"},
        }
        if tp in simple:
            return dict(simple[tp])
        if tp is timedelta:
            return _ref("duration")
        if issubclass(tp, Strategy):
            own = tp.__name__
            if tp.__module__.startswith("leadroute.") and BUILTIN.get(own) is tp:
                return _ref(f"strategy.{own}")  # a particular strategy, as a table
            return _ref("route")
        if tp is Band:
            return _ref("band")
        if tp is Factor:
            return _ref("factor")
    return {}


def _params_schema(cls: type, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An object schema of ``cls``'s init fields (plus ``extra`` properties first)."""
    props: dict[str, Any] = dict(extra or {})
    required: list[str] = list(extra or {})
    hints = _hints(cls) if dataclasses.is_dataclass(cls) else {}
    fields = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ()
    for f in fields:
        if not f.init or f.name.startswith("_"):
            continue
        sub = _type_schema(hints.get(f.name, Any), f.name)
        if sub is None:
            continue
        props[f.name] = sub
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def _strategy_schema(name: str, cls: type) -> dict[str, Any]:
    head = {"type": {"const": name}}
    if cls is Chain or cls is Fallback:
        key = "steps" if cls is Chain else "options"
        out: dict[str, Any] = {
            "type": "object",
            "properties": {**head, key: {"type": "array", "minItems": 1, "items": _ref("route")}},
            "required": ["type", key],
            "additionalProperties": False,
        }
    else:
        out = _params_schema(cls, head)
        needed = _default_error(cls)
        props = out["properties"]
        if needed and needed in props and needed not in out.get("required", []):
            # a parameter with a default the strategy still refuses (an empty list of bands)
            out["required"] = [*out.get("required", []), needed]
            if props[needed].get("type") == "array":
                props[needed] = {**props[needed], "minItems": 1}
    summary = _summary(cls)
    if summary:
        out = {"description": summary, **out}
    return out


def _needs_params(cls: type) -> bool:
    return cls is Chain or cls is Fallback or _default_error(cls) is not None


def _default_error(cls: type) -> str | None:
    """Why ``cls()`` cannot be built with no parameters (the field it names), else ``None``."""
    try:
        cls()
    except StrategyError as exc:
        return exc.field or ""
    except (TypeError, ValueError):
        return ""
    return None


_KIND_VALUE: dict[str, dict[str, Any]] = {
    "text": {"type": "string"},
    "number": {"type": "number"},
    "datetime": {"type": "string", "format": "date-time"},
    "list": {"type": "array", "items": {"type": "string"}},
}


def _field_kind_rules() -> list[dict[str, Any]]:
    """``if field is one of these then the operators take values of this type``."""
    out: list[dict[str, Any]] = []
    for kind in ("text", "number", "datetime", "list"):
        names = sorted(n for n, k in FIELD_KINDS.items() if k == kind)
        if not names:
            continue
        value = _KIND_VALUE[kind]
        props: dict[str, Any] = {}
        for op in OPERATORS:
            if op == "exists":
                continue
            if op in ("in", "not_in"):
                props[op] = {"not": {}} if kind == "list" else {"type": "array", "items": value}
            elif op in ("lt", "lte", "gt", "gte"):
                props[op] = value if kind in ("number", "datetime") else {"not": {}}
            elif op == "contains":
                props[op] = {"type": "string"} if kind in ("text", "list") else {"not": {}}
            elif op == "under":
                props[op] = {"not": {}}
            else:
                props[op] = value
        out.append(
            {
                "if": {"properties": {"field": {"enum": names}}, "required": ["field"]},
                "then": {"properties": props},
            }
        )
    regions = sorted(n for n in FIELD_KINDS if field_kind(n) == "region")
    out.append(
        {
            "if": {"properties": {"field": {"enum": regions}}, "required": ["field"]},
            "then": {
                "properties": {
                    **{op: {"type": "string"} for op in ("eq", "ne", "contains", "under")},
                    **{
                        op: {"type": "array", "items": {"type": "string"}}
                        for op in ("in", "not_in")
                    },
                    **{op: {"not": {}} for op in ("lt", "lte", "gt", "gte")},
                }
            },
        }
    )
    return out


def _condition_defs() -> dict[str, Any]:
    ops: dict[str, Any] = {}
    for op in OPERATORS:
        if op in ("in", "not_in"):
            ops[op] = {"type": "array"}
        elif op == "exists":
            ops[op] = {"type": "boolean"}
        elif op == "under":
            ops[op] = {"type": "string", "description": "region code; CN covers CN-BJ"}
        elif op in ("lt", "lte", "gt", "gte"):
            ops[op] = {"type": ["number", "string"]}
        else:
            ops[op] = {}
    field_names = sorted(FIELD_KINDS)
    field_condition = {
        "description": "A lead field and exactly one operator.",
        "type": "object",
        "properties": {
            "field": {
                "description": "A lead field, or attributes.NAME for a custom attribute.",
                "anyOf": [
                    {"enum": field_names},
                    {"type": "string", "pattern": r"^attributes\..+"},
                ],
            },
            **ops,
        },
        "required": ["field"],
        "minProperties": 2,
        "maxProperties": 2,
        "additionalProperties": False,
        "allOf": _field_kind_rules(),
    }

    def combo(key: str, sub: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {key: sub},
            "required": [key],
            "additionalProperties": False,
        }

    many = {"type": "array", "minItems": 1, "items": _ref("condition")}
    return {
        "condition": {
            "description": "A test on the lead: a field and an operator, or all / any / not.",
            "anyOf": [
                _ref("field_condition"),
                combo("all", many),
                combo("any", many),
                combo("not", _ref("condition")),
            ],
        },
        "field_condition": field_condition,
    }


def rules_schema(strategies: Mapping[str, type] | None = None) -> dict[str, Any]:
    """The JSON Schema (draft 7) of a rules file, with ``strategies`` added by name.

    .. versionadded:: 0.2.0
    """
    registry: dict[str, type] = dict(BUILTIN)
    registry.update(strategies or {})
    names = sorted(registry)
    defs: dict[str, Any] = {
        "rule": {
            "description": "One routing rule: when the lead matches, send it down route.",
            "type": "object",
            "properties": {
                "id": {"type": "string", "pattern": _ID_PATTERN, "maxLength": MAX_ID_LENGTH},
                "when": _ref("condition"),
                "route": _ref("route"),
                "on_empty": {
                    "enum": ["next", "pool"],
                    "description": "next: try the following rule; pool: leave the lead in the pool",
                },
            },
            "required": ["id", "route"],
            "additionalProperties": False,
        },
        "route": {
            "description": "A strategy name, a strategy table with 'type', or a list (a chain).",
            "anyOf": [_ref("strategy_name"), _ref("strategy"), _ref("chain")],
        },
        "strategy_name": {
            "description": "A strategy that needs no parameters, by name.",
            "enum": [n for n in names if not _needs_params(registry[n])],
        },
        "chain": {
            "description": "Steps run in order (a >> b >> ...).",
            "type": "array",
            "minItems": 1,
            "items": _ref("route"),
        },
        "strategy": {"oneOf": [_ref(f"strategy.{n}") for n in names]},
        **{f"strategy.{n}": _strategy_schema(n, registry[n]) for n in names},
        "band": {"description": _summary(Band), **_params_schema(Band)},
        "factor": {"description": _summary(Factor), **_params_schema(Factor)},
        "duration": {
            "description": "Seconds, or ISO 8601 like 'PT2H'.",
            "anyOf": [{"type": "number", "minimum": 0}, {"type": "string"}],
        },
        **_condition_defs(),
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "leadroute rules file",
        "description": "Rules, a default route and a seed for leadroute.Router.from_config.",
        "type": "object",
        "properties": {
            "$schema": {"type": "string", "description": "This schema's location (ignored)."},
            "rules": {"type": "array", "items": _ref("rule")},
            "default": _ref("route"),
            "seed": {"type": "integer"},
            "max_drops": {"type": "integer", "minimum": 0},
            "accounts": {
                "description": "How leads are matched to accounts (leadroute.accounts.AccountMatcher).",
                "type": "object",
                "properties": {
                    "aliases": {"type": "object", "additionalProperties": {"type": "string"}},
                    "romanize": {"type": "boolean"},
                    "web_field": {"type": "string"},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
        "definitions": defs,
    }


def schema_json(strategies: Mapping[str, type] | None = None) -> str:
    """:func:`rules_schema` as indented JSON text with a final newline (as shipped).

    .. versionadded:: 0.2.0
    """
    return json.dumps(rules_schema(strategies), indent=2, ensure_ascii=False) + "\n"


def schema_path() -> Path:
    """The path of the schema file shipped in the package.

    .. versionadded:: 0.2.0
    """
    return Path(str(resources.files("leadroute").joinpath(SCHEMA_FILE)))


def write_schema(path: str | Path | None = None) -> Path:
    """Regenerate the schema file (the shipped copy by default); returns its path.

    .. versionadded:: 0.2.0
    """
    target = Path(path) if path is not None else schema_path()
    target.write_text(schema_json(), encoding="utf-8")
    return target
