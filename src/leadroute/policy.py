"""The routing policy: rules (a condition on the lead and the route that handles it),
a default route, the seed, and the policy's revision.

:class:`Rule` moved here from :mod:`leadroute.rules` (which re-exports it).
:class:`Policy` is what a :class:`~leadroute.Router` routes by: the ordered
rules and the default route, validated once, with its data form
(:meth:`Policy.from_data` / :meth:`Policy.to_data`) and its revision.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_serializer, model_validator

from leadroute.accounts import AccountMatcher
from leadroute.conditions import Condition, parse_condition
from leadroute.exceptions import ConfigError, InputError, ModelError, StrategyError
from leadroute.files import read_mapping
from leadroute.hashing import stable_digest
from leadroute.limits import MAX_ID_LENGTH, MAX_INT, check_json, short_repr
from leadroute.models import FrozenModel, Lead, error_path
from leadroute.paramcheck import check_params
from leadroute.schema import rules_schema
from leadroute.strategies.base import (
    Combinator,
    Strategy,
    as_strategy,
    canonical,
    is_complete,
    route_identity,
    walk,
)
from leadroute.strategies.codec import (
    MAX_ROUTE_NESTING,
    closest,
    parse_route,
    read_open_ends,
    registry,
    route_to_config,
)

__all__ = ["Policy", "Rule", "check_route"]

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

    if TYPE_CHECKING:
        # What users may pass (the validators below parse it); type checkers see this
        # signature with or without the pydantic mypy plugin, while the attributes keep
        # their parsed types.
        def __init__(
            self,
            *,
            id: str,
            when: Condition | Mapping[str, Any] | Callable[[Lead], bool] | None = None,
            route: Strategy | Callable[..., Any] | str | Sequence[Any] | Mapping[str, Any],
            on_empty: Literal["next", "pool"] = "next",
        ) -> None: ...

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
        return parse_route(v, "route")

    @model_validator(mode="after")
    def _route_complete(self) -> Rule:
        check_route(self.route, f"rule {self.id!r}")
        return self

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The JSON Schema (draft 7) of one rule's data form, from :mod:`leadroute.schema`.

        Pydantic cannot derive it (conditions and strategies are plain classes),
        so the arguments of :meth:`pydantic.BaseModel.model_json_schema` are ignored.

        .. versionadded:: 0.2.0
        """
        full = rules_schema()
        return {
            "$schema": full["$schema"],
            **full["definitions"]["rule"],
            "definitions": full["definitions"],
        }

    @model_serializer(mode="plain")
    def _to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.when is not None:
            out["when"] = self.when.to_config()
        out["route"] = route_to_config(self.route)
        if self.on_empty != "next":
            out["on_empty"] = self.on_empty
        return out


def check_route(route: Strategy, where: str) -> None:
    """Raise :class:`ConfigError` unless every path through ``route`` ends in a selector.

    Also a :class:`StrategyError` for bad parameters, and for a part of a
    sequence (a :class:`Combinator` with ``sequence`` set, such as a chain)
    that picks before the last part, so that the parts after it could never run.
    """
    if not is_complete(route):
        msg = f"{where}: route {route!r} does not end with a selector (add RoundRobin() or similar)"
        raise ConfigError(msg, path="route")
    for node in walk(route):
        found = check_params(node)
        if found is not None:
            msg = f"{where}: {node!r}: {found[1]}"
            raise StrategyError(msg, field=found[0])
        # through the contract only: a combinator whose parts run in sequence says so
        if isinstance(node, Combinator) and node.sequence is not None:
            for i, (_suffix, step) in enumerate(node.parts()[:-1]):
                if step.is_complete():
                    msg = (
                        f"{where}: step {i} of {node!r} already picks a rep, "
                        "so the steps after it could never run"
                    )
                    raise StrategyError(msg, field=f"{node.sequence}[{i}]")


_ROUTER_KEYS = ("rules", "default", "seed", "max_drops", "accounts")
#: Largest ``max_drops`` (dropped reps listed per audit step).
MAX_DROPS = 1_000_000
_RULE_KEYS = ("id", "when", "route", "on_empty")


class Policy:
    """What a router routes by: ordered rules, a default route, a seed, account matching.

    Validated once when built (the same checks and errors as
    :class:`~leadroute.Router`, whose arguments these are); immutable after.
    ``revision`` is a stable hash of everything that decides outcomes
    (``max_drops`` only shapes the audit, so it is not part of it).

    >>> from leadroute.strategies import Geo, RoundRobin
    >>> policy = Policy([Rule(id="all", route=Geo() >> RoundRobin())])
    >>> Policy.from_data(policy.to_data()).revision == policy.revision
    True

    .. versionadded:: 0.2.0
    """

    __slots__ = (
        "__weakref__",  # layers above remember values derived from a policy (the stores' needs)
        "_paths",
        "accounts",
        "default",
        "max_drops",
        "named_reps",
        "revision",
        "rules",
        "seed",
    )

    rules: tuple[Rule, ...]
    default: Strategy | None
    seed: int
    max_drops: int
    accounts: AccountMatcher | None
    #: stable hash of the rules, default route, seed and account matching
    revision: str
    #: ids of the reps the routes name (``AssignTo`` and the like), sorted
    named_reps: tuple[str, ...]
    _paths: dict[str, Strategy]

    def __init__(
        self,
        rules: Iterable[Rule | Mapping[str, Any]] = (),
        default: Strategy | Any | None = None,
        *,
        seed: int = 0,
        max_drops: int = 50,
        accounts: AccountMatcher | Mapping[str, Any] | None = None,
    ) -> None:
        built = _build_rules(rules)
        seen: set[str] = set()
        for i, rule in enumerate(built):
            if rule.id in seen:
                msg = f"rules[{i}].id: rule id {rule.id!r} is used twice"
                raise InputError(msg, field=f"rules[{i}].id")
            seen.add(rule.id)
        if default is not None and not isinstance(default, Strategy):
            default = as_strategy(default) if callable(default) else parse_route(default, "default")
        if default is not None:
            try:
                check_route(default, "default route")
            except StrategyError as exc:
                where = f"default.{exc.field}" if exc.field else "default"
                raise ConfigError(str(exc), path=where) from None
        if isinstance(seed, bool) or not isinstance(seed, int) or not -MAX_INT <= seed <= MAX_INT:
            msg = f"seed={short_repr(seed)}: the seed is an integer within +-{MAX_INT}"
            raise InputError(msg, field="seed")
        if (
            isinstance(max_drops, bool)
            or not isinstance(max_drops, int)
            or not 0 <= max_drops <= 1_000_000
        ):
            msg = f"max_drops={short_repr(max_drops)}: a whole number in 0..1000000"
            raise InputError(msg, field="max_drops")
        if accounts is not None and not isinstance(accounts, AccountMatcher):
            accounts = AccountMatcher.from_config(accounts)
        setattr_ = object.__setattr__
        setattr_(self, "rules", tuple(built))
        setattr_(self, "default", default)
        setattr_(self, "seed", seed)
        setattr_(self, "max_drops", max_drops)
        setattr_(self, "accounts", accounts)
        setattr_(self, "revision", stable_digest(self._revision_data()))
        setattr_(
            self,
            "named_reps",
            tuple(
                sorted(
                    {
                        rep_id
                        for route in self.routes()
                        for node in walk(route[1])
                        for rep_id in node.named_reps()
                    }
                )
            ),
        )
        paths: dict[str, Strategy] = {}
        for rule_id, route in self.routes():
            index_paths(route, f"{rule_id}:route", paths)
        setattr_(self, "_paths", paths)

    def __setattr__(self, name: str, value: Any) -> None:
        msg = f"a Policy is immutable (setting {name!r})"
        raise AttributeError(msg)

    def __setstate__(self, state: tuple[Any, dict[str, Any]]) -> None:
        # pickle and copy restore the slots through here (the policy is immutable otherwise)
        for name, value in state[1].items():
            object.__setattr__(self, name, value)

    # -- data form ---------------------------------------------------------------------
    @classmethod
    def from_data(
        cls, source: Mapping[str, Any] | str | Path, *, strategies: Mapping[str, type] | None = None
    ) -> Policy:
        """A policy from its data form: a dict, or a ``.json`` / ``.toml`` file of that shape.

        See ``docs/config.md``. ``strategies`` registers custom strategy
        classes by name. Errors are :class:`~leadroute.exceptions.ConfigError`
        naming the path (and the file).
        """
        if not isinstance(source, Mapping):
            data = read_mapping(Path(source))
            try:
                return cls.from_data(data, strategies=strategies)
            except ConfigError as exc:
                exc.args = (f"{source}: {exc}",)  # name the file it came from
                raise
        data = dict(source)
        data.pop("$schema", None)
        data = read_open_ends(data)
        try:
            check_json(data, "config", max_depth=MAX_ROUTE_NESTING + 8)
        except ValueError as exc:
            where, text = str(exc).split(": ", 1)
            raise ConfigError(text, path=where.removeprefix("config").lstrip(".")) from None
        for key in data:
            if key not in _ROUTER_KEYS:
                msg = f"unknown key {key!r} (expected {', '.join(_ROUTER_KEYS)})"
                raise ConfigError(msg, path=key, suggestion=closest(key, _ROUTER_KEYS))
        reg = registry(strategies)
        raw_rules = data.get("rules", [])
        if not isinstance(raw_rules, list):
            msg = "rules must be a list"
            raise ConfigError(msg, path="rules")
        rules = [_rule(r, f"rules[{i}]", reg) for i, r in enumerate(raw_rules)]
        default = data.get("default")
        route = None if default is None else parse_route(default, "default", reg)
        seed = data.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or not -MAX_INT <= seed <= MAX_INT:
            msg = f"seed must be an integer within +-{MAX_INT}, got {short_repr(seed)}"
            raise ConfigError(msg, path="seed")
        max_drops = data.get("max_drops", 50)
        if (
            isinstance(max_drops, bool)
            or not isinstance(max_drops, int)
            or not 0 <= max_drops <= MAX_DROPS
        ):
            msg = f"max_drops must be a whole number in 0..{MAX_DROPS}, got {short_repr(max_drops)}"
            raise ConfigError(msg, path="max_drops")
        accounts = data.get("accounts")
        matcher = None if accounts is None else AccountMatcher.from_config(accounts, "accounts")
        ids = [r.id for r in rules]
        for i, rid in enumerate(ids):
            if rid in ids[:i]:
                msg = f"rule id {rid!r} is used twice"
                raise ConfigError(msg, path=f"rules[{i}].id")
        try:
            return cls(rules=rules, default=route, seed=seed, max_drops=max_drops, accounts=matcher)
        except ConfigError:
            raise
        except StrategyError as exc:
            raise ConfigError(str(exc), path="default") from None

    def to_data(self) -> dict[str, Any]:
        """The data form (round-trips through :meth:`from_data`)."""
        rules = []
        for rule in self.rules:
            item: dict[str, Any] = {"id": rule.id}
            if rule.when is not None:
                item["when"] = rule.when.to_config()
            item["route"] = route_to_config(rule.route)
            if rule.on_empty != "next":
                item["on_empty"] = rule.on_empty
            rules.append(item)
        out: dict[str, Any] = {"rules": rules}
        if self.default is not None:
            out["default"] = route_to_config(self.default)
        out["seed"] = self.seed
        if self.max_drops != 50:
            out["max_drops"] = self.max_drops
        if self.accounts is not None:
            out["accounts"] = self.accounts.to_config()
        return out

    def _revision_data(self) -> Any:
        # strategies by their identity (class qualified name + every declared parameter),
        # never by repr or config dump: see docs/extending.md
        data: dict[str, Any] = {
            "rules": [
                {
                    "id": r.id,
                    "when": None if r.when is None else _when_identity(r.when, f"rules[{i}].when"),
                    "route": _route_identity(r.route, f"rules[{i}].route"),
                    "on_empty": r.on_empty,
                }
                for i, r in enumerate(self.rules)
            ],
            "default": None if self.default is None else _route_identity(self.default, "default"),
            "seed": self.seed,
        }
        if self.accounts is not None:
            data["accounts"] = self.accounts.to_config()
        return data

    # -- reading -----------------------------------------------------------------------
    def routes(self) -> Iterator[tuple[str, Strategy]]:
        """``(rule id, route)`` of every rule in order, then ``("default", route)``."""
        for rule in self.rules:
            yield rule.id, rule.route
        if self.default is not None:
            yield "default", self.default

    def strategy_at(self, path: str) -> Strategy:
        """The strategy an audit ``Step.path`` refers to (``KeyError`` if none)."""
        return self._paths[path]

    @property
    def paths(self) -> Mapping[str, Strategy]:
        """Every strategy of the routes by its audit path (``rule:route[1]``)."""
        return self._paths

    def __repr__(self) -> str:
        return (
            f"Policy(rules=[{', '.join(r.id for r in self.rules)}], "
            f"default={self.default!r}, seed={self.seed}, revision={self.revision!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Policy):
            return NotImplemented
        return self.revision == other.revision

    def __hash__(self) -> int:
        return hash(self.revision)


def _build_rules(rules: Any) -> list[Rule]:
    """``rules`` as :class:`Rule` objects; errors are :class:`ConfigError` naming ``rules[i]``."""
    if isinstance(rules, (str, bytes, Mapping)) or not isinstance(rules, Iterable):
        msg = f"rules must be a list of rules, got {short_repr(rules)}"
        raise ConfigError(msg, path="rules")
    built: list[Rule] = []
    for i, r in enumerate(rules):
        if isinstance(r, Rule):
            built.append(r)
            continue
        if not isinstance(r, Mapping):
            msg = f"a rule is a Rule or a table with id, when, route; got {short_repr(r)}"
            raise ConfigError(msg, path=f"rules[{i}]")
        try:
            built.append(Rule.model_validate(r))
        except ModelError as exc:
            text = str(exc).split(": ", 2)[-1] if exc.path else str(exc)
            where = f"rules[{i}].{exc.path}" if exc.path else f"rules[{i}]"
            raise ConfigError(text, path=where) from None
    return built


def _rule(raw: Any, path: str, registry: Mapping[str, type]) -> Rule:
    if not isinstance(raw, Mapping):
        msg = f"a rule is a table with id, when, route; got {short_repr(raw)}"
        raise ConfigError(msg, path=path)
    for key in raw:
        if key not in _RULE_KEYS:
            msg = f"unknown rule key {key!r}"
            raise ConfigError(msg, path=f"{path}.{key}", suggestion=closest(key, _RULE_KEYS))
    if "route" not in raw:
        msg = "a rule needs a route"
        raise ConfigError(msg, path=f"{path}.route")
    if "id" not in raw:
        msg = "a rule needs an id"
        raise ConfigError(msg, path=f"{path}.id")
    when = parse_condition(raw.get("when"), f"{path}.when")
    route = parse_route(raw["route"], f"{path}.route", registry)
    try:
        return Rule(id=raw["id"], when=when, route=route, on_empty=raw.get("on_empty", "next"))
    except ModelError as exc:
        err = exc.errors()[0]
        where = error_path(err["loc"], raw)
        text = str(exc).split(": ", 2)[-1] if exc.path else str(err["msg"])
        if text.startswith("Value error, "):
            text = text[len("Value error, ") :]
        raise ConfigError(text, path=f"{path}.{where}" if where else path) from None
    except (ConfigError, StrategyError) as exc:
        raise ConfigError(str(exc), path=f"{path}.route") from None


def _when_identity(cond: Condition, where: str) -> Any:
    """A rule condition's identity: class and parameters, functions by their stable name.

    A condition holding a function without a stable name (a lambda) keeps its
    config form (the function's bare name), as rule conditions always allowed
    lambdas.
    """
    if dataclasses.is_dataclass(cond):
        try:
            return canonical(cond, where)
        except StrategyError:
            pass
    return cond.to_config()


def index_paths(node: Strategy, path: str, out: dict[str, Strategy]) -> None:
    """Record ``node`` and every strategy inside it in ``out`` by its audit path."""
    out[path] = node
    if isinstance(node, Combinator):
        for suffix, child in node.parts():
            index_paths(child, f"{path}{suffix}", out)


def _route_identity(route: Strategy, where: str) -> Any:
    """The identity of a rule's route; a strategy without one is a :class:`ConfigError` at ``where``."""
    try:
        return route_identity(route, where)
    except StrategyError as exc:
        text = str(exc)
        if exc.field and text.startswith(f"{exc.field}: "):
            text = text[len(exc.field) + 2 :]
        raise ConfigError(text, path=exc.field or where) from None
