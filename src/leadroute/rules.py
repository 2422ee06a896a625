"""Rules: a condition on the lead and the route that handles it.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_serializer, model_validator

from leadroute.conditions import Condition, parse_condition
from leadroute.exceptions import ConfigError, StrategyError
from leadroute.limits import MAX_ID_LENGTH
from leadroute.models import FrozenModel
from leadroute.paramcheck import check_params
from leadroute.strategies.base import Chain, Selector, Strategy, as_strategy, is_complete, walk

__all__ = ["Rule"]

_ID = re.compile(r"^[A-Za-z0-9_.\-]+$")


class Rule(FrozenModel):
    """One routing rule: ``when`` the lead matches, send it down ``route``.

    ``when`` is a :class:`~leadroute.conditions.Condition`, its data form
    (``{"field": "country", "eq": "CN"}``, combined with ``all`` / ``any`` /
    ``not``), a plain predicate ``fn(lead) -> bool``, or ``None`` (always).
    ``route`` is a strategy ending in a selector, or its config form.
    ``on_empty`` says what happens when the route finds nobody: ``"next"``
    tries the following rule, ``"pool"`` leaves the lead in the pool.

    >>> from leadroute.strategies import Geo, RoundRobin
    >>> Rule(id="cn", when={"field": "country", "eq": "CN"}, route=Geo() >> RoundRobin()).id
    'cn'

    .. versionadded:: 0.1.0
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    id: Annotated[str, Field(max_length=MAX_ID_LENGTH)]
    when: Condition | None = None
    route: Strategy
    on_empty: Literal["next", "pool"] = "next"

    @field_validator("id")
    @classmethod
    def _id_ok(cls, v: str) -> str:
        if not _ID.match(v) or v == "default":
            msg = f"rule id {v!r}: use letters, digits, '.', '_' or '-' (and not 'default')"
            raise ValueError(msg)
        return v

    @field_validator("when", mode="before")
    @classmethod
    def _parse_when(cls, v: Any) -> Condition | None:
        return parse_condition(v)

    @field_validator("route", mode="before")
    @classmethod
    def _parse_route(cls, v: Any) -> Strategy:
        if isinstance(v, Strategy):
            return v
        if callable(v):
            return as_strategy(v)
        from leadroute.config import parse_route

        return parse_route(v, "route")

    @model_validator(mode="after")
    def _route_complete(self) -> Rule:
        check_route(self.route, f"rule {self.id!r}")
        return self

    @model_serializer(mode="plain")
    def _to_data(self) -> dict[str, Any]:
        from leadroute.config import route_to_config

        out: dict[str, Any] = {"id": self.id}
        if self.when is not None:
            out["when"] = self.when.to_config()
        out["route"] = route_to_config(self.route)
        if self.on_empty != "next":
            out["on_empty"] = self.on_empty
        return out


def check_route(route: Strategy, where: str) -> None:
    """Raise :class:`ConfigError` unless every path through ``route`` ends in a selector."""
    if not is_complete(route):
        msg = f"{where}: route {route!r} does not end with a selector (add RoundRobin() or similar)"
        raise ConfigError(msg, path="route")
    for node in walk(route):
        found = check_params(node)
        if found is not None:
            msg = f"{where}: {node!r}: {found[1]}"
            raise StrategyError(msg, field=found[0])
        if isinstance(node, Chain):
            for i, step in enumerate(node.steps[:-1]):
                if is_complete(step) or isinstance(step, Selector):
                    msg = (
                        f"{where}: step {i} of {node!r} already picks a rep, "
                        "so the steps after it could never run"
                    )
                    raise StrategyError(msg, field=f"steps[{i}]")
