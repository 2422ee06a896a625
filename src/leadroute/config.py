"""Load routers from data (dict, JSON, TOML) and write them back.

The data has the shape of the Python objects:

* a strategy is its class name (``"RoundRobin"``) or a table with ``type``
  and its parameters (``{"type": "Weighted", "weights": {"alice": 3}}``);
* a list of strategies is a chain (``Geo >> CapacityCap >> RoundRobin``);
* ``{"type": "Fallback", "options": [...]}`` is ``a | b | ...``;
* a rule is ``{"id", "when", "route", "on_empty"}``; a router is
  ``{"rules": [...], "default": route, "seed": 0}``, with an optional
  ``"accounts": {"aliases": {...}, "romanize": false}`` table
  (:class:`~leadroute.accounts.AccountMatcher`).

A top-level ``"$schema"`` key (which editors use to find the JSON Schema,
see :mod:`leadroute.schema`) is ignored. :func:`dump_toml` writes the data
form as TOML (extra ``toml``).

Errors name the path (``rules[2].route[1].weights.bob``) and, for a
misspelled name, the closest valid one.

The work is done by :class:`~leadroute.policy.Policy` (the rules' data form)
and :mod:`leadroute.strategies.codec` (a route's data form); this module keeps
the functions under their 0.1 names.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leadroute.files import read_mapping
from leadroute.policy import MAX_DROPS, Policy
from leadroute.router import Router
from leadroute.strategies.codec import MAX_ROUTE_NESTING, dump_toml, parse_route, route_to_config

__all__ = [
    "MAX_DROPS",
    "MAX_ROUTE_NESTING",
    "dump_toml",
    "load_data",
    "parse_route",
    "route_to_config",
    "router_from_config",
    "router_to_config",
]


def load_data(source: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    """A config mapping from a mapping, or from a ``.json`` / ``.toml`` file path.

    File errors (missing, not UTF-8, broken JSON or TOML, YAML) name the file;
    see :func:`leadroute.files.read_mapping`.
    """
    if isinstance(source, Mapping):
        return dict(source)
    return read_mapping(Path(source))


def router_from_config(
    source: Mapping[str, Any] | str | Path, *, strategies: Mapping[str, type] | None = None
) -> Router:
    """Build a :class:`~leadroute.Router` from its data form (see :meth:`Policy.from_data`)."""
    return Router.from_policy(Policy.from_data(source, strategies=strategies))


def router_to_config(router: Router) -> dict[str, Any]:
    """The data form of ``router`` (round-trips through :func:`router_from_config`)."""
    return router.policy.to_data()
