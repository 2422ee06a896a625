"""Base classes for strategies, and the two combinators.

One small base class per role, one method to override:

* :class:`Filter` -- ``check(lead, rep, ctx)`` returns ``None`` to keep the rep
  or a :class:`~leadroute.audit.Drop` (build it with :meth:`Filter.drop`).
* :class:`Selector` -- ``select(lead, candidates, ctx)`` returns a :class:`Pick`
  or ``None``.

Strategies are frozen dataclasses; ``a >> b`` chains them and ``a | b`` falls
back from ``a`` to ``b``; both return new, flat combinators. A plain function
``f(lead, rep) -> bool`` is accepted wherever a filter goes.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from leadroute.audit import Drop
from leadroute.exceptions import LeadrouteError, StrategyError
from leadroute.fast import build
from leadroute.paramcheck import check_params, param_problem

if TYPE_CHECKING:
    from leadroute.context import RouteContext
    from leadroute.models import Lead, Rep

__all__ = [
    "Chain",
    "Fallback",
    "Filter",
    "FilterOutcome",
    "FunctionFilter",
    "Pick",
    "Selector",
    "Strategy",
    "as_strategy",
]

StrategyLike = "Strategy | Callable[..., Any]"


class _Checked(type):
    """Metaclass of strategies: every parameter's type is checked once the object is built.

    ``__post_init__`` checks ranges; this checks types against the annotations
    (:mod:`leadroute.paramcheck`), so ``Team(teams=True)`` is a
    :class:`StrategyError` naming ``teams`` when it is built, and a wrong type
    that a ``__post_init__`` trips over is reported the same way.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        try:
            obj = super().__call__(*args, **kwargs)
        except StrategyError:
            raise
        except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError) as exc:
            if isinstance(exc, LeadrouteError):
                raise
            names = [f.name for f in dataclasses.fields(cls) if f.init]  # type: ignore[arg-type]
            given = dict(zip(names, args, strict=False)) | kwargs
            for key, value in given.items():
                found = param_problem(cls, key, value)
                if found is not None:
                    msg = f"{cls.__name__}({found[0]}): {found[1]}"
                    raise StrategyError(msg, field=found[0]) from None
            raise
        found = check_params(obj)
        if found is not None:
            msg = f"{cls.__name__}({found[0]}): {found[1]}"
            raise StrategyError(msg, field=found[0])
        return obj


@dataclass(frozen=True, slots=True, repr=False, eq=True)
class Strategy(metaclass=_Checked):
    """Root of every strategy: a small frozen object with one job.

    .. versionadded:: 0.1.0
    """

    kind: ClassVar[str] = "strategy"

    # -- composition -------------------------------------------------------------
    def __rshift__(self, other: Strategy | Callable[..., Any]) -> Chain:
        return Chain(self, as_strategy(other))

    def __rrshift__(self, other: Strategy | Callable[..., Any]) -> Chain:
        return Chain(as_strategy(other), self)

    def __or__(self, other: Strategy | Callable[..., Any]) -> Fallback:
        return Fallback(self, as_strategy(other))

    def __ror__(self, other: Strategy | Callable[..., Any]) -> Fallback:
        return Fallback(as_strategy(other), self)

    # -- description -------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        """Parameters that differ from their defaults, in declaration order."""
        out: dict[str, Any] = {}
        if not dataclasses.is_dataclass(self):
            return out
        for f in dataclasses.fields(self):
            if not f.init or f.name.startswith("_"):
                continue
            value = getattr(self, f.name)
            if f.default is not dataclasses.MISSING and value == f.default:
                continue
            if f.default_factory is not dataclasses.MISSING and value == f.default_factory():
                continue
            out[f.name] = value
        return out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={_repr_value(v)}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    def named_reps(self) -> Iterable[str]:
        """Rep ids this strategy names; the router checks them against the state."""
        return ()

    def children(self) -> tuple[Strategy, ...]:
        """Strategies nested inside this one."""
        return ()


def _repr_value(value: Any) -> str:
    if isinstance(value, tuple) and value and isinstance(value[0], Strategy):
        return "(" + ", ".join(repr(v) for v in value) + ")"
    if callable(value) and not isinstance(value, Strategy):
        return getattr(value, "__qualname__", repr(value))
    if isinstance(value, float) and value.is_integer():
        return repr(int(value)) if abs(value) < 1e15 else repr(value)
    return repr(value)


@dataclass(slots=True)
class FilterOutcome:
    """What a filter did to a candidate list (router-internal currency).

    Made once per filter and lead, so it is a plain slotted dataclass (a
    frozen one costs a ``setattr`` call per field); nothing changes it.
    """

    kept: list[Rep]
    dropped: list[Drop]
    unlisted: int = 0
    note: str | None = None


@dataclass(frozen=True, slots=True, repr=False)
class Filter(Strategy):
    """A strategy that narrows the candidate reps.

    Override :meth:`check`. Filters whose verdict depends only on the lead and
    the rep (not on counters) may also set ``indexable = True`` and implement
    :meth:`rep_keys` / :meth:`lead_keys`; the router then answers them from an
    index built once per call, so their cost does not grow with the roster.

    .. versionadded:: 0.1.0
    """

    kind: ClassVar[str] = "filter"
    indexable: ClassVar[bool] = False
    #: Reason code used by :meth:`drop` when none is given.
    code: ClassVar[str] = "custom"

    def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
        """``None`` to keep ``rep`` for ``lead``; a :class:`Drop` saying why not."""
        raise NotImplementedError

    def apply(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> FilterOutcome:
        """Run :meth:`check` over ``candidates`` (built-ins may do it faster).

        ``candidates`` may be shared with other leads: return new lists, never
        modify it.
        """
        kept: list[Rep] = []
        dropped: list[Drop] = []
        check = self.check
        for rep in candidates:
            why = check(lead, rep, ctx)
            if why is None:
                kept.append(rep)
            else:
                dropped.append(why)
        return FilterOutcome(kept, dropped)

    def drop(self, rep: Rep, detail: str, code: str | None = None, **figures: Any) -> Drop:
        """Build the :class:`Drop` for ``rep``."""
        return build(Drop, rep_id=rep.id, code=code or self.code, detail=detail, figures=figures)

    # -- optional index support ----------------------------------------------------
    def rep_keys(self, rep: Rep) -> Iterable[str]:
        """Index keys a rep holds (indexable filters only)."""
        return ()

    def lead_keys(self, lead: Lead) -> tuple[str, ...] | None:
        """Index keys that admit ``lead``; ``None`` when the lead sets no constraint."""
        return None


@dataclass(slots=True)
class Pick:
    """A selector's choice and the reasons for it.

    ``why`` is one human sentence; ``rationale`` holds the figures (cursor,
    credits, draw, loads) that make the choice replayable. ``credits`` carries
    updated weighted-rotation credits for the router to store.

    Made once per lead, so it is a plain slotted dataclass rather than a
    frozen one (which costs a ``setattr`` call per field); the router reads
    it and never changes it.

    .. versionadded:: 0.1.0
    """

    rep: Rep | None
    why: str
    rationale: dict[str, Any] = field(default_factory=dict)
    credits: dict[str, float] | None = None
    review: bool = False
    reason: str | None = None


@dataclass(frozen=True, slots=True, repr=False)
class Selector(Strategy):
    """A strategy that picks one rep from the candidates.

    Override :meth:`select`. After a pick the router advances the rotation
    memory at ``ctx.path`` (turn and last-served), so every selector's ties can
    be broken by rotation.

    .. versionadded:: 0.1.0
    """

    kind: ClassVar[str] = "selector"

    def select(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> Pick | None:
        """The chosen rep, or ``None`` if none of ``candidates`` may be chosen.

        ``candidates`` may be shared with other leads: never modify it.
        """
        raise NotImplementedError


@dataclass(frozen=True, slots=True, repr=False)
class FunctionFilter(Filter):
    """A filter from a plain function ``fn(lead, rep) -> bool``.

    The function may also return a string: a non-empty string drops the rep
    with that text as the detail. The function's name appears in the audit.

    >>> def no_interns(lead, rep):
    ...     return rep.level > 0
    >>> FunctionFilter(no_interns)
    FunctionFilter(no_interns)

    .. versionadded:: 0.1.0
    """

    fn: Callable[[Lead, Rep], bool | str | None]
    name: str | None = None

    def __post_init__(self) -> None:
        if not callable(self.fn):
            msg = f"FunctionFilter needs a callable, got {self.fn!r}"
            raise StrategyError(msg, field="fn")

    @property
    def label(self) -> str:
        """The name shown in the audit."""
        return self.name or getattr(self.fn, "__qualname__", None) or repr(self.fn)

    def __repr__(self) -> str:
        return f"FunctionFilter({self.label})"

    def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
        verdict = self.fn(lead, rep)
        if verdict is True or verdict is None or verdict == "":
            return None
        detail = verdict if isinstance(verdict, str) else f"{self.label} returned {verdict!r}"
        return self.drop(rep, detail, "custom", function=self.label)


def as_strategy(obj: Strategy | Callable[..., Any]) -> Strategy:
    """``obj`` itself if it is a strategy; a :class:`FunctionFilter` if it is a function."""
    if isinstance(obj, Strategy):
        return obj
    if callable(obj):
        return FunctionFilter(obj)
    msg = f"expected a strategy or a function, got {obj!r}"
    raise StrategyError(msg)


def _flatten(
    cls: type[Any], parts: Iterable[Strategy | Callable[..., Any]]
) -> tuple[Strategy, ...]:
    out: list[Strategy] = []
    for part in parts:
        s = as_strategy(part)
        if type(s) is cls:
            out.extend(s.children())
        else:
            out.append(s)
    return tuple(out)


@dataclass(frozen=True, slots=True, repr=False, init=False)
class Chain(Strategy):
    """Apply strategies one after the other: ``Geo() >> CapacityCap() >> RoundRobin()``.

    Filters narrow the candidates in turn; a selector, last, picks one. Nested
    chains are flattened.

    >>> from leadroute.strategies import Geo, RoundRobin
    >>> Chain(Geo(), RoundRobin()) == (Geo() >> RoundRobin())
    True

    .. versionadded:: 0.1.0
    """

    kind: ClassVar[str] = "chain"
    steps: tuple[Strategy, ...]

    def __init__(self, *steps: Strategy | Callable[..., Any]) -> None:
        flat = _flatten(Chain, steps)
        if not flat:
            msg = "Chain needs at least one step"
            raise StrategyError(msg, field="steps")
        for i, step in enumerate(flat[:-1]):
            if isinstance(step, Selector):
                msg = f"Chain step {i} ({step!r}) is a selector; a selector must come last"
                raise StrategyError(msg, field="steps")
        object.__setattr__(self, "steps", flat)

    def __repr__(self) -> str:
        return " >> ".join(_wrap(s, Fallback) for s in self.steps)

    def children(self) -> tuple[Strategy, ...]:
        return self.steps


@dataclass(frozen=True, slots=True, repr=False, init=False)
class Fallback(Strategy):
    """Try options in order; the first that yields a rep (or candidates) wins: ``a | b``.

    Nested fallbacks are flattened.

    .. versionadded:: 0.1.0
    """

    kind: ClassVar[str] = "fallback"
    options: tuple[Strategy, ...]

    def __init__(self, *options: Strategy | Callable[..., Any]) -> None:
        flat = _flatten(Fallback, options)
        if len(flat) < 2:
            msg = "Fallback needs at least two options"
            raise StrategyError(msg, field="options")
        object.__setattr__(self, "options", flat)

    def __repr__(self) -> str:
        return " | ".join(_wrap(s, Chain) for s in self.options)

    def children(self) -> tuple[Strategy, ...]:
        return self.options


def _wrap(s: Strategy, cls: type[Strategy]) -> str:
    return f"({s!r})" if isinstance(s, cls) else repr(s)


def is_complete(route: Strategy) -> bool:
    """Whether every path through ``route`` ends with a selector."""
    if isinstance(route, Selector):
        return True
    if isinstance(route, Chain):
        return is_complete(route.steps[-1])
    if isinstance(route, Fallback):
        return all(is_complete(o) for o in route.options)
    complete = getattr(route, "is_complete", None)
    return bool(complete()) if callable(complete) else False


def walk(route: Strategy) -> Iterable[Strategy]:
    """``route`` and every strategy nested in it, depth first."""
    yield route
    for child in route.children():
        yield from walk(child)
