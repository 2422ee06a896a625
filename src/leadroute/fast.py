"""Construction of trusted model instances without re-validation.

The router builds many small audit records per lead from values it has just
computed itself; validating them again would dominate the hot path. ``build``
fills defaults and sets the instance dictionary directly, which is what
pydantic's ``model_construct`` does, minus its per-call bookkeeping.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

__all__ = ["build"]

M = TypeVar("M", bound=BaseModel)

_DEFAULTS: dict[type[BaseModel], tuple[dict[str, Any], tuple[str, ...]]] = {}


def _defaults(cls: type[BaseModel]) -> tuple[dict[str, Any], tuple[str, ...]]:
    cached = _DEFAULTS.get(cls)
    if cached is None:
        static: dict[str, Any] = {}
        factories: list[str] = []
        for name, info in cls.model_fields.items():
            if info.default_factory is not None:
                factories.append(name)
            elif info.default is not PydanticUndefined:
                static[name] = info.default
        cached = (static, tuple(factories))
        _DEFAULTS[cls] = cached
    return cached


def build(cls: type[M], **data: Any) -> M:
    """An instance of ``cls`` from already-valid ``data`` (missing fields take defaults)."""
    static, factories = _defaults(cls)
    values = {**static, **data}
    for name in factories:
        if name not in values:
            values[name] = cls.model_fields[name].default_factory()  # type: ignore[call-arg,misc]
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", {name: values[name] for name in cls.model_fields})
    object.__setattr__(obj, "__pydantic_fields_set__", set(data))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj
