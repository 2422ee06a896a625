"""Fast construction of already-valid pydantic models (router-internal).

The router builds several audit records per lead from values it computed
itself, so pydantic's validation would only re-check what is known to be
right. :func:`build` fills the instance directly, in field order, with the
same defaults pydantic would use.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

__all__ = ["assemble", "build"]

M = TypeVar("M", bound=BaseModel)

_MISSING = object()
_SPECS: dict[type[BaseModel], tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...]]] = {}
_set = object.__setattr__
_new = object.__new__


def _spec(cls: type[BaseModel]) -> tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...]]:
    template: dict[str, Any] = {}
    factories: list[tuple[str, Callable[[], Any]]] = []
    for name, info in cls.model_fields.items():
        if info.default_factory is not None:
            template[name] = _MISSING
            factories.append((name, info.default_factory))  # type: ignore[arg-type]
        elif info.default is not PydanticUndefined:
            template[name] = info.default
        else:
            template[name] = _MISSING
    spec = (template, tuple(factories))
    _SPECS[cls] = spec
    return spec


def build(cls: type[M], **data: Any) -> M:
    """An instance of ``cls`` from already-valid ``data`` (missing fields take defaults)."""
    spec = _SPECS.get(cls) or _spec(cls)
    values = spec[0].copy()
    values.update(data)
    for name, factory in spec[1]:
        if values[name] is _MISSING:
            values[name] = factory()
    obj = _new(cls)
    _set(obj, "__dict__", values)
    _set(obj, "__pydantic_fields_set__", set(data))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


def assemble(cls: type[M], values: dict[str, Any], given: set[str]) -> M:
    """An instance of ``cls`` whose ``__dict__`` is ``values`` (every field, in field order).

    ``given`` is the set of explicitly set field names; it may be shared
    between instances (pydantic copies it before changing it, and frozen
    models never change it in place).
    """
    obj = _new(cls)
    _set(obj, "__dict__", values)
    _set(obj, "__pydantic_fields_set__", given)
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj
