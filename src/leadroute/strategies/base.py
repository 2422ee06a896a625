"""The strategy contract: :class:`Filter`, :class:`Selector`, :class:`Combinator`.

One small base class per role, one method to define:

* :class:`Filter` -- ``check(lead, rep, ctx)`` returns ``None`` to keep the rep
  or a :class:`~leadroute.audit.Drop` (build it with :meth:`Filter.drop`).
  ``apply`` (the whole candidate list at once) and the index hooks
  (``indexable``, ``rep_keys``, ``lead_keys``) have working defaults.
* :class:`Selector` -- ``select(lead, candidates, ctx)`` returns a :class:`Pick`
  or ``None``.
* :class:`Combinator` -- a strategy made of strategies: ``parts()`` names its
  children (with their audit path suffixes) and ``route(lead, candidates,
  ctx, run)`` routes through them with the engine's :class:`Runner`.
  :class:`Chain` (``a >> b``), :class:`Fallback` (``a | b``) and
  :class:`~leadroute.strategies.ValueTier` are combinators like any a user
  writes; the engine knows no other kind.

A class that leaves its role's required method undefined cannot be built: it
fails with a :class:`~leadroute.exceptions.StrategyError` naming the class and
the method, not when the first lead is routed.

Strategies are frozen: mapping parameters are copied into a read-only
:class:`~leadroute.jsondata.FrozenDict`, lists into tuples. A strategy's
:meth:`~Strategy.identity` -- its class's qualified name and every declared
parameter, canonicalised -- makes the policy revision and the decision ids;
``repr`` is display only. A plain function ``f(lead, rep) -> bool`` is
accepted wherever a filter goes; it needs a stable name (a ``def`` at module
or class level, or ``FunctionFilter(fn, name=...)``) for the policy revision.

.. versionadded:: 0.1.0
.. versionchanged:: 0.2.0
   Abstract required methods, :class:`Combinator`, :meth:`Strategy.identity`,
   frozen parameters, checked drop figures.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import math
from abc import ABCMeta, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from leadroute.audit import Drop
from leadroute.exceptions import LeadrouteError, StrategyError
from leadroute.fast import build
from leadroute.hashing import canonical_json
from leadroute.jsondata import FrozenDict, freeze, json_problem
from leadroute.limits import short_repr
from leadroute.paramcheck import check_params, param_problem

if TYPE_CHECKING:
    from leadroute.context import RouteContext
    from leadroute.models import Lead, Rep

__all__ = [
    "Chain",
    "Combinator",
    "Fallback",
    "Filter",
    "FilterOutcome",
    "FrozenDict",
    "FunctionFilter",
    "Pick",
    "Routed",
    "Runner",
    "Selector",
    "Strategy",
    "as_strategy",
    "canonical",
    "function_name",
    "qualified_name",
]

StrategyLike = "Strategy | Callable[..., Any]"

#: Kinds of audit step a combinator may record through :meth:`Runner.record`.
StepKind = Literal["filter", "selector", "fallback", "tier", "note"]


class _Checked(ABCMeta):
    """Metaclass of strategies: the contract and every parameter are checked once the object is built.

    A class missing its role's required method is refused before ``__init__``
    runs. ``__post_init__`` checks ranges; this checks types against the
    annotations (:mod:`leadroute.paramcheck`), so ``Team(teams=True)`` is a
    :class:`StrategyError` naming ``teams`` when it is built, and a wrong type
    that a ``__post_init__`` trips over is reported the same way. Finally the
    declared parameters are frozen (dicts into :class:`FrozenDict`, lists
    into tuples).
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        missing = getattr(cls, "__abstractmethods__", None)
        if missing:
            names = sorted(missing)
            role = _role_of(cls)
            msg = (
                f"{cls.__qualname__} cannot be built: it does not define "
                f"{', '.join(n + '()' for n in names)}, which every {role} must define"
            )
            raise StrategyError(msg, field=names[0])
        plain = _plain_init(cls) is not None
        if plain and "__setattr__" not in vars(cls):
            # a plain subclass of the frozen dataclasses: its __init__ sets its own attributes
            # (the inherited frozen __setattr__ cannot: it refers to the pre-slots class)
            type.__setattr__(cls, "__setattr__", _plain_setattr)
            type.__setattr__(cls, "__delattr__", _plain_delattr)
            if "__eq__" not in vars(cls):
                # the inherited dataclass __eq__ sees no fields: compare the declared parameters
                type.__setattr__(cls, "__eq__", _plain_eq)
                type.__setattr__(cls, "__hash__", _plain_hash)
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
        for attr, value in _param_slots(obj):
            frozen = freeze(value)
            if frozen is not value:
                object.__setattr__(obj, attr, frozen)
        if plain and hasattr(obj, "__dict__"):
            obj.__dict__[_SEALED] = True
        return obj


#: Marks a built plain-class strategy: its attributes are read-only from then on.
_SEALED = "_leadroute_sealed_"


def _plain_setattr(self: Any, name: str, value: Any) -> None:
    if name in getattr(self, "__dataclass_fields__", {}) or self.__dict__.get(_SEALED):
        msg = f"cannot assign to {name!r}: {type(self).__qualname__} is frozen once built"
        raise dataclasses.FrozenInstanceError(msg)
    object.__setattr__(self, name, value)


def _plain_eq(self: Any, other: Any) -> bool:
    if type(other) is not type(self):
        return NotImplemented  # type: ignore[no-any-return]
    return bool(self.declared_params() == other.declared_params())


def _plain_hash(self: Any) -> int:
    return hash((type(self), tuple(self.declared_params())))


def _plain_delattr(self: Any, name: str) -> None:
    msg = f"cannot delete {name!r}: {type(self).__qualname__} is frozen"
    raise dataclasses.FrozenInstanceError(msg)


def _role_of(cls: type) -> str:
    for base in (Combinator, Filter, Selector):
        if issubclass(cls, base):
            return base.__name__
    return "Strategy"


def qualified_name(cls: type) -> str:
    """``module.QualName`` of a class: the type part of a strategy's identity.

    >>> qualified_name(Chain)
    'leadroute.strategies.base.Chain'

    .. versionadded:: 0.2.0
    """
    return f"{cls.__module__}.{cls.__qualname__}"


def function_name(fn: Any) -> str | None:
    """The stable name of a function (``module.qualname``), or ``None`` if it has none.

    A lambda, a closure (a nested function that captures variables), a bound
    method of an object, a :func:`functools.partial` or a callable object have
    no stable name: two of them can share a name and still differ.

    >>> import math
    >>> function_name(math.floor)
    'math.floor'
    >>> function_name(lambda lead, rep: True) is None
    True

    .. versionadded:: 0.2.0
    """
    qual = getattr(fn, "__qualname__", None)
    module = getattr(fn, "__module__", None)
    if not isinstance(qual, str) or "<lambda>" in qual or isinstance(fn, type):
        return None
    owner = getattr(fn, "__self__", None)
    if owner is not None and not isinstance(owner, type) and not inspect.ismodule(owner):
        return None
    code = getattr(fn, "__code__", None)
    if "<locals>" in qual and (code is None or code.co_freevars):
        return None
    return f"{module}.{qual}" if isinstance(module, str) else qual


def _nameless(fn: Any) -> str:
    qual = getattr(fn, "__qualname__", None)
    if isinstance(qual, str) and "<lambda>" in qual:
        return "a lambda"
    if isinstance(qual, str) and "<locals>" in qual:
        return f"the closure {qual}"
    if getattr(fn, "__self__", None) is not None:
        return f"the bound method {qual}"
    return f"{short_repr(fn)} (no __qualname__)"


def _plain_init(cls: type) -> Callable[..., Any] | None:
    """The ``__init__`` of a plain (non-dataclass) strategy class; ``None`` for dataclasses."""
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            if "__dataclass_params__" in vars(klass):
                return None
            init: Callable[..., Any] = vars(klass)["__init__"]
            return init
    return None  # pragma: no cover - object defines __init__


def _param_slots(obj: Any) -> list[tuple[str, Any]]:
    """``(attribute, value)`` of every declared parameter of a strategy, in declaration order.

    Dataclass strategies: their init fields not starting with ``_``. Plain
    classes: the parameters of their ``__init__``, each kept as the attribute
    of the same name or that name with a leading ``_``.
    """
    cls = type(obj)
    out: list[tuple[str, Any]] = [
        (f.name, getattr(obj, f.name))
        for f in dataclasses.fields(obj)
        if f.init and not f.name.startswith("_")
    ]
    init = _plain_init(cls)
    if init is None:
        return out
    for name, param in list(inspect.signature(init).parameters.items())[1:]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            msg = (
                f"{cls.__qualname__}.__init__ takes {param}: a strategy's parameters are "
                "named, so that they make its identity; list them"
            )
            raise StrategyError(msg, field=name)
        for attr in (name, f"_{name}"):
            try:
                out.append((attr, object.__getattribute__(obj, attr)))
                break
            except AttributeError:
                continue
        else:
            msg = (
                f"{cls.__qualname__}: the __init__ parameter {name!r} is not kept as attribute "
                f"{name!r} or '_{name}', so it cannot be part of the strategy's identity; keep it"
            )
            raise StrategyError(msg, field=name)
    return out


def _canon(value: Any, where: str, label: str | None = None) -> Any:
    """The canonical data form of a parameter value (for identities); errors name ``where``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, Strategy):
        return value._identity(where)
    if isinstance(value, enum.Enum):
        return _canon(value.value, where, label)
    if isinstance(value, Mapping):
        return {str(k): _canon(v, f"{where}.{k}", label) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canon(v, f"{where}[{i}]", label) for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        return sorted((_canon(v, where, label) for v in value), key=canonical_json)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return {"timedelta": _canon(value.total_seconds(), where)}
    if isinstance(value, type):
        return qualified_name(value)
    if dataclasses.is_dataclass(value):
        name = getattr(value, "name", None)
        own = name if isinstance(name, str) else label
        return {
            "type": qualified_name(type(value)),
            "params": {
                f.name: _canon(getattr(value, f.name), f"{where}.{f.name}", own)
                for f in dataclasses.fields(value)
                if f.init and not f.name.startswith("_")
            },
        }
    if hasattr(value, "model_dump") and not callable(value):
        return value.model_dump(mode="json")
    if callable(value):
        name = function_name(value)
        if name is not None:
            return {"function": name}
        if label is not None:
            return {"function": None, "name": label}
        msg = (
            f"{where}: {_nameless(value)} has no stable name, so the policy revision cannot be "
            "computed; use a def function at module level or give its strategy a name= "
            "(FunctionFilter(fn, name='...'))"
        )
        raise StrategyError(msg, field=where)
    msg = (
        f"{where}: {short_repr(value)} (a {type(value).__name__}) has no canonical form; "
        "strategy parameters are JSON data, strategies, dataclasses or named functions"
    )
    raise StrategyError(msg, field=where)


@dataclass(frozen=True, slots=True, repr=False, eq=True)
class Strategy(metaclass=_Checked):
    """Root of every strategy: a small frozen object with one job.

    Subclass :class:`Filter`, :class:`Selector` or :class:`Combinator`, not
    this class.

    .. versionadded:: 0.1.0
    """

    kind: ClassVar[str] = "strategy"
    #: Whether the strategy reads every open and pooled lead from ``ctx.state``
    #: (a store then loads the whole pool for it).
    reads_pool_state: ClassVar[bool] = False
    #: Whether the class is one of leadroute's own (their drop figures are trusted).
    _builtin: ClassVar[bool] = True

    @property
    def reads_history(self) -> bool:
        """Whether the strategy reads the closed-lead history from ``ctx.state``.

        A store then loads the whole closed history for it. Override with a class attribute
        (``reads_history = True``) or a property that depends on the parameters.

        .. versionadded:: 0.2.0
        """
        return False

    def __init_subclass__(cls) -> None:
        # no super() here: slotted dataclasses are re-created, which breaks its cell
        cls._builtin = cls.__module__.startswith("leadroute.")

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
        """Parameters that differ from their defaults, in declaration order (for display)."""
        out: dict[str, Any] = {}
        if _plain_init(type(self)) is not None:
            defaults = {
                k: p.default
                for k, p in inspect.signature(type(self).__init__).parameters.items()
                if p.default is not p.empty
            }
            for attr, value in _param_slots(self):
                name = attr.lstrip("_")
                if name in defaults and value == defaults[name]:
                    continue
                out[name] = value
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

    def declared_params(self) -> dict[str, Any]:
        """Every declared parameter, defaults included, in declaration order.

        Dataclass strategies declare their init fields (those not starting
        with ``_``); plain classes declare the parameters of their
        ``__init__``, each kept as the attribute of that name (or with a
        leading ``_``).

        .. versionadded:: 0.2.0
        """
        return {attr.lstrip("_"): value for attr, value in _param_slots(self)}

    def identity(self) -> dict[str, Any]:
        """The strategy's identity: ``{"type": module.QualName, "params": {...}}``, canonical.

        Every declared parameter is in it (defaults too); nested strategies
        appear by their identity, functions by their stable name. The policy
        revision and the decision ids are digests of identities, never of
        ``repr``. A function without a stable name (a lambda, a closure) is a
        :class:`StrategyError`, unless the strategy has a ``name``.

        >>> from leadroute.strategies import RoundRobin
        >>> RoundRobin().identity()["type"]
        'leadroute.strategies.selectors.RoundRobin'

        .. versionadded:: 0.2.0
        """
        return self._identity(type(self).__name__)

    def _identity(self, where: str) -> dict[str, Any]:
        declared = self.declared_params()
        label = declared.get("name") if isinstance(declared.get("name"), str) else None
        return {
            "type": qualified_name(type(self)),
            "params": {k: _canon(v, f"{where}.{k}", label) for k, v in declared.items()},
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={_repr_value(v)}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    def named_reps(self) -> Iterable[str]:
        """Rep ids this strategy names; the router checks them against the state."""
        return ()

    def children(self) -> tuple[Strategy, ...]:
        """Strategies nested inside this one (a combinator's parts)."""
        return ()

    def is_complete(self) -> bool:
        """Whether every path through this strategy ends by picking (a selector)."""
        return False


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

    Define :meth:`check` (required). Optional, with working defaults:
    :meth:`apply` (the whole candidate list at once, for speed), and for
    filters whose verdict depends only on the lead and the rep (not on
    counters) ``indexable = True`` with :meth:`rep_keys` / :meth:`lead_keys`
    (``index_all = True`` when a rep must hold every key of the lead rather
    than one); the engine then answers them from an index built once per
    call, so their cost does not grow with the roster.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       :meth:`check` is abstract: a subclass without it cannot be built.
    """

    kind: ClassVar[str] = "filter"
    indexable: ClassVar[bool] = False
    #: With ``indexable``: a rep must hold every key of the lead (else: any one).
    index_all: ClassVar[bool] = False
    #: Reason code used by :meth:`drop` when none is given.
    code: ClassVar[str] = "custom"

    @abstractmethod
    def check(self, lead: Lead, rep: Rep, ctx: RouteContext) -> Drop | None:
        """``None`` to keep ``rep`` for ``lead``; a :class:`Drop` saying why not."""

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
        """Build the :class:`Drop` for ``rep``.

        ``figures`` must be JSON data (texts, finite numbers, booleans,
        ``None``, and lists / str-keyed dicts of them), so that the audit
        round-trips; anything else is a :class:`StrategyError` naming the
        strategy and the figure.

        .. versionchanged:: 0.2.0
           Figures of user-defined filters are checked.
        """
        if not self._builtin:
            _check_drop(self, rep, detail, code, figures)
        return build(Drop, rep_id=rep.id, code=code or self.code, detail=detail, figures=figures)

    # -- optional index support ----------------------------------------------------
    def rep_keys(self, rep: Rep) -> Iterable[str]:
        """Index keys a rep holds (indexable filters only)."""
        return ()

    def lead_keys(self, lead: Lead) -> tuple[str, ...] | None:
        """Index keys that admit ``lead``; ``None`` when the lead sets no constraint."""
        return None


def _check_drop(flt: Filter, rep: Any, detail: Any, code: Any, figures: dict[str, Any]) -> None:
    rep_id = getattr(rep, "id", None)
    where = f"{type(flt).__qualname__}.drop(rep {short_repr(rep_id)})"
    if not isinstance(rep_id, str):
        msg = f"{where}: expected a Rep, got {short_repr(rep)}"
        raise StrategyError(msg, field="rep")
    if not isinstance(detail, str):
        msg = f"{where}: the detail is a text, got {short_repr(detail)}"
        raise StrategyError(msg, field="detail")
    if code is not None and (not isinstance(code, str) or not code):
        msg = f"{where}: the code is a non-empty text, got {short_repr(code)}"
        raise StrategyError(msg, field="code")
    found = json_problem(figures)
    if found is not None:
        msg = (
            f"{where}: figure {found[0]!r} holds {found[1]}; figures are texts, finite "
            "numbers, booleans, None, or lists and str-keyed dicts of them"
        )
        raise StrategyError(msg, field=f"figures.{found[0]}")


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

    Define :meth:`select` (required). After a pick the engine advances the
    rotation memory at ``ctx.path`` (turn and last-served), so every
    selector's ties can be broken by rotation.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0
       :meth:`select` is abstract: a subclass without it cannot be built.
    """

    kind: ClassVar[str] = "selector"

    @abstractmethod
    def select(self, lead: Lead, candidates: list[Rep], ctx: RouteContext) -> Pick | None:
        """The chosen rep, or ``None`` if none of ``candidates`` may be chosen.

        ``candidates`` may be shared with other leads: never modify it.
        """

    def is_complete(self) -> bool:
        """A selector always ends its path."""
        return True


#: What routing a strategy produced: the candidates left, and the pick if one was made
#: (``(candidates, None)`` from a filter; ``([], None)`` when nobody is left).
#:
#: .. versionadded:: 0.2.0
Routed = tuple[list["Rep"], Pick | None]


class Runner(Protocol):
    """What the engine hands a :class:`Combinator`'s ``route``: routing of its parts, and the audit.

    One runner stands for one combinator at one place in the policy; paths
    (``suffix``) are relative to that place.

    .. versionadded:: 0.2.0
    """

    @property
    def path(self) -> str:
        """The combinator's audit path (``rule:route[2]``)."""

    @property
    def max_drops(self) -> int:
        """Dropped reps listed per step; a combinator counts the rest as ``unlisted``."""

    @property
    def recording(self) -> bool:
        """Whether the full audit is being recorded (else figures need not be built)."""

    def child(self, index: int, candidates: list[Rep]) -> Routed:
        """Route ``candidates`` through part ``index`` of :meth:`Combinator.parts`."""

    def chain(self, candidates: list[Rep]) -> Routed:
        """Route ``candidates`` through every part in order, each narrowing the next.

        Stops at the first pick or when nobody is left, and returns what the
        last part routed: the same as calling :meth:`child` for each part in
        turn, in one call (what :class:`Chain` does).

        .. versionadded:: 0.2.0
        """

    def read(self, candidates: list[Rep]) -> None:
        """Tell the engine the combinator looked at ``candidates`` (for replayable decisions)."""

    def record(
        self,
        suffix: str = "",
        *,
        note: str | None = None,
        kind: StepKind = "note",
        strategy: str | None = None,
        candidates_in: int = 0,
        candidates_out: int | None = None,
        dropped: Sequence[Drop] = (),
        unlisted: int = 0,
    ) -> None:
        """Add a step at ``path + suffix`` to the lead's audit.

        ``strategy`` defaults to the combinator's ``repr``; ``candidates_out``
        to ``candidates_in``.
        """


@dataclass(frozen=True, slots=True, repr=False)
class Combinator(Strategy):
    """A strategy made of strategies; the engine runs it through this contract only.

    Define :meth:`parts` (the children, each with the audit path suffix under
    which it runs) and :meth:`route` (route a lead through them, using the
    engine's :class:`Runner`). :class:`Chain`, :class:`Fallback` and
    :class:`~leadroute.strategies.ValueTier` are combinators.

    >>> from dataclasses import dataclass
    >>> from leadroute.strategies import RoundRobin, LeastLoaded
    >>> @dataclass(frozen=True, slots=True, repr=False)
    ... class FirstNonEmpty(Combinator):
    ...     options: tuple[Strategy, ...]
    ...     def parts(self):
    ...         return tuple((f".options[{i}]", o) for i, o in enumerate(self.options))
    ...     def route(self, lead, candidates, ctx, run):
    ...         for i in range(len(self.options)):
    ...             left, pick = run.child(i, candidates)
    ...             if pick is not None:
    ...                 return left, pick
    ...         return [], None
    >>> FirstNonEmpty(options=(RoundRobin(), LeastLoaded())).is_complete()
    True

    .. versionadded:: 0.2.0
    """

    kind: ClassVar[str] = "combinator"
    #: The name of the parameter holding parts that run one after another, each on the
    #: candidates the previous one left, a pick ending the route (``"steps"`` for
    #: :class:`Chain`); ``None`` (the default) when the parts are alternatives. For a
    #: sequence the policy refuses a part before the last that always picks
    #: (:meth:`~Strategy.is_complete`), naming ``<sequence>[i]``: the parts after it could
    #: never run.
    #:
    #: .. versionadded:: 0.2.0
    sequence: ClassVar[str | None] = None

    @abstractmethod
    def parts(self) -> tuple[tuple[str, Strategy], ...]:
        """``(path suffix, child)`` per child, in order (``(".options[0]", a)``).

        The suffix is appended to the combinator's path to make the child's
        audit path and the key of its rotation memory, so it must be stable.
        """

    @abstractmethod
    def route(self, lead: Lead, candidates: list[Rep], ctx: RouteContext, run: Runner) -> Routed:
        """Route ``lead`` from ``candidates`` through the parts (``run.child(i, reps)``).

        Return ``(candidates left, pick)``: a pick ends the route, candidates
        without a pick go on to the next step of an enclosing chain.
        ``candidates`` may be shared with other leads: never modify it.
        """

    def children(self) -> tuple[Strategy, ...]:
        return tuple(child for _suffix, child in self.parts())

    def is_complete(self) -> bool:
        """Whether every part ends by picking (override when the route may pass reps on)."""
        kids = self.children()
        return bool(kids) and all(k.is_complete() for k in kids)

    def recheck(
        self, suffix: str, lead: Lead, rep: Rep, ctx: RouteContext
    ) -> tuple[bool, Drop | None]:
        """For ``explain``: re-check ``rep`` at a step this combinator recorded at ``suffix``.

        ``(whether it could be re-checked, the drop found or None)``; the
        default cannot re-check anything.
        """
        return False, None


@dataclass(frozen=True, slots=True, repr=False)
class FunctionFilter(Filter):
    """A filter from a plain function ``fn(lead, rep) -> bool``.

    The function may also return a string: a non-empty string drops the rep
    with that text as the detail. The function's name appears in the audit.
    A lambda or a closure has no stable name: give ``name`` for the policy
    revision (two such functions would otherwise be indistinguishable).

    >>> def no_interns(lead, rep):
    ...     return rep.level > 0
    >>> FunctionFilter(no_interns)
    FunctionFilter(no_interns)
    >>> FunctionFilter(lambda lead, rep: rep.level > 0, name="no_interns")
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
        return build(
            Drop, rep_id=rep.id, code="custom", detail=detail, figures={"function": self.label}
        )


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
class Chain(Combinator):
    """Apply strategies one after the other: ``Geo() >> CapacityCap() >> RoundRobin()``.

    Filters narrow the candidates in turn; a selector, last, picks one. Nested
    chains are flattened.

    >>> from leadroute.strategies import Geo, RoundRobin
    >>> Chain(Geo(), RoundRobin()) == (Geo() >> RoundRobin())
    True

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 A :class:`Combinator`.
    """

    kind: ClassVar[str] = "chain"
    sequence: ClassVar[str | None] = "steps"
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

    def parts(self) -> tuple[tuple[str, Strategy], ...]:
        return tuple((f"[{i}]", step) for i, step in enumerate(self.steps))

    def children(self) -> tuple[Strategy, ...]:
        return self.steps

    def is_complete(self) -> bool:
        """Whether the last step ends by picking."""
        return self.steps[-1].is_complete()

    def route(self, lead: Lead, candidates: list[Rep], ctx: RouteContext, run: Runner) -> Routed:
        """Each step narrows the candidates of the next; a pick or nobody left ends the chain."""
        return run.chain(candidates)


@dataclass(frozen=True, slots=True, repr=False, init=False)
class Fallback(Combinator):
    """Try options in order; the first that yields a rep (or candidates) wins: ``a | b``.

    Nested fallbacks are flattened.

    .. versionadded:: 0.1.0
    .. versionchanged:: 0.2.0 A :class:`Combinator`.
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

    def parts(self) -> tuple[tuple[str, Strategy], ...]:
        return tuple((f".options[{i}]", opt) for i, opt in enumerate(self.options))

    def children(self) -> tuple[Strategy, ...]:
        return self.options

    def route(self, lead: Lead, candidates: list[Rep], ctx: RouteContext, run: Runner) -> Routed:
        """The first option that picks (or, if it does not end by picking, keeps someone) wins."""
        found: Routed = ([], None)
        last = len(self.options) - 1
        for i, option in enumerate(self.options):
            found = run.child(i, candidates)
            if found[1] is not None or (found[0] and not option.is_complete()):
                return found
            if i < last:
                run.record(
                    f".options[{i}]",
                    strategy="Fallback",
                    kind="fallback",
                    candidates_in=len(candidates),
                    note=f"option {i} found nobody; trying option {i + 1}",
                )
        return found


def _wrap(s: Strategy, cls: type[Strategy]) -> str:
    return f"({s!r})" if isinstance(s, cls) else repr(s)


def is_complete(route: Strategy) -> bool:
    """Whether every path through ``route`` ends with a selector."""
    return route.is_complete()


def walk(route: Strategy) -> Iterable[Strategy]:
    """``route`` and every strategy nested in it, depth first."""
    yield route
    for child in route.children():
        yield from walk(child)


def canonical(value: Any, where: str) -> Any:
    """The canonical data form of any parameter value (a condition, a band, a function...).

    Errors are :class:`StrategyError` naming ``where``.

    .. versionadded:: 0.2.0
    """
    return _canon(value, where)


def route_identity(route: Strategy, where: str) -> dict[str, Any]:
    """:meth:`Strategy.identity` of ``route``, errors naming ``where`` (``rules[0].route``).

    .. versionadded:: 0.2.0
    """
    return route._identity(where)
