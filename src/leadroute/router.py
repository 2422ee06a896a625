"""The router: ordered rules, a default route, and the one call ``assign``.

``Router.assign(state, leads)`` is pure: it reads the input state, routes the
leads one by one in a documented order, and returns the assignments, the next
state and one audit :class:`~leadroute.audit.Decision` per lead.

Processing order: highest ``priority`` first, then oldest ``created_at``,
then lead id. ``assignments`` and ``audit`` come back in input order.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeGuard

from leadroute.accounts import AccountMatcher
from leadroute.audit import Decision, Drop, RuleTrial, Step
from leadroute.context import RotationMemory, RouteContext
from leadroute.exceptions import (
    ConfigError,
    DuplicateLeadError,
    FutureLeadError,
    InputError,
    LeadAlreadyClosedError,
    LeadAlreadyOpenError,
    ModelError,
    StrategyError,
    UnknownRepError,
)
from leadroute.fast import assemble, build
from leadroute.hashing import canonical_json, stable_digest
from leadroute.limits import FUTURE_TOLERANCE, MAX_CLOCK_JUMP, MAX_INT, check_datetime, short_repr
from leadroute.models import Lead, Rep
from leadroute.result import RoutingResult, assignments_of
from leadroute.rules import Rule, check_route
from leadroute.state import OpenLead, PooledLead, PoolState, RepLoad, Rotation
from leadroute.strategies.base import (
    Combinator,
    Filter,
    FilterOutcome,
    Pick,
    Selector,
    Strategy,
    as_strategy,
    route_identity,
    walk,
)
from leadroute.strategies.selectors import (
    AssignTo,
    LeastLoaded,
    ManualReview,
    RandomPick,
    RoundRobin,
    Weighted,
)

if TYPE_CHECKING:
    from leadroute.conditions import Condition
    from leadroute.lifecycle import ReclaimPolicy, ReclaimWarning
    from leadroute.ownership import TransferResult
    from leadroute.stores import Store

__all__ = ["Router"]

#: Drop codes of the capacity caps (counted per rep by the policy lab).
CAP_CODES = frozenset({"capacity", "daily_cap", "period_cap"})

#: Days of per-day counts kept in :class:`~leadroute.state.RepLoad` beyond the rep's period.
DAYS_KEPT = 92


logger = logging.getLogger(__name__)

#: leads between two calls of a ``progress`` callback in :meth:`Router.assign`
PROGRESS_EVERY = 1000


class Router:
    """Ordered rules, a default route, and a seed.

    >>> from leadroute.strategies import Geo, RoundRobin
    >>> router = Router(rules=[Rule(id="all", route=Geo() >> RoundRobin())])
    >>> router.policy_revision == Router(rules=[Rule(id="all", route=Geo() >> RoundRobin())]).policy_revision
    True

    Args:
        rules: tried in order; the first whose ``when`` matches routes the lead.
        default: the route for leads no rule matched (else they stay in the
            pool with reason ``no_rule_matched``).
        seed: the seed of every hash draw (``RandomPick``, sampled review).
        max_drops: dropped reps listed in full per step; the rest are counted
            in ``Step.unlisted`` and re-checked on demand by
            :meth:`RoutingResult.explain`.
        accounts: how a lead's account is found (aliases, romanised names,
            domains; see :class:`~leadroute.accounts.AccountMatcher`), used
            where the router records owners and by ``Ownership``. ``None``
            keeps :func:`~leadroute.normalize.account_key_of`.

    .. versionchanged:: 0.2.0
       The ``accounts`` keyword.

    .. versionadded:: 0.1.0
    """

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
            if callable(default):
                default = as_strategy(default)
            else:
                from leadroute.config import parse_route

                default = parse_route(default, "default")
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
        self.rules: tuple[Rule, ...] = tuple(built)
        self.default: Strategy | None = default
        self.seed = seed
        self.max_drops = max_drops
        if accounts is not None and not isinstance(accounts, AccountMatcher):
            accounts = AccountMatcher.from_config(accounts)
        self.accounts: AccountMatcher | None = accounts
        self.policy_revision = stable_digest(self._revision_data())
        self._named = sorted(
            {
                rep_id
                for route in self._routes()
                for node in walk(route[1])
                for rep_id in node.named_reps()
            }
        )
        self._paths: dict[str, Strategy] = {}
        for rule_id, route in self._routes():
            _index_paths(route, f"{rule_id}:route", self._paths)
        self._reprs: dict[int, str] = {id(node): repr(node) for node in self._paths.values()}
        self._roster_cache: _RosterCache | None = None

    # -- construction ------------------------------------------------------------------
    @classmethod
    def from_config(
        cls, source: Mapping[str, Any] | str | Path, *, strategies: Mapping[str, type] | None = None
    ) -> Router:
        """A router from a dict, or a ``.json`` / ``.toml`` file of the same shape.

        See ``docs/config.md``. ``strategies`` registers custom strategy classes
        by name.
        """
        from leadroute.config import router_from_config

        return router_from_config(source, strategies=strategies)

    def to_config(self) -> dict[str, Any]:
        """The config form of this router; ``Router.from_config(r.to_config())`` equals ``r``."""
        from leadroute.config import router_to_config

        return router_to_config(self)

    def to_toml(self, *, schema: str | None = None) -> str:
        """:meth:`to_config` as TOML text (needs the ``toml`` extra); loads back equal.

        ``schema`` adds a ``#:schema`` line for editors (see ``docs/config.md``).

        .. versionadded:: 0.2.0
        """
        from leadroute.config import dump_toml

        return dump_toml(self.to_config(), schema=schema)

    def _revision_data(self) -> Any:
        data: dict[str, Any] = {
            "rules": [
                {
                    "id": r.id,
                    "when": None if r.when is None else _loose(r.when),
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

    def _routes(self) -> Iterable[tuple[str, Strategy]]:
        for rule in self.rules:
            yield rule.id, rule.route
        if self.default is not None:
            yield "default", self.default

    def __repr__(self) -> str:
        return (
            f"Router(rules=[{', '.join(r.id for r in self.rules)}], "
            f"default={self.default!r}, seed={self.seed}, revision={self.policy_revision!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Router):
            return NotImplemented
        return self.policy_revision == other.policy_revision

    def __hash__(self) -> int:
        return hash(self.policy_revision)

    def strategy_at(self, path: str) -> Strategy:
        """The strategy an audit ``Step.path`` refers to."""
        return self._paths[path]

    # -- the one call ------------------------------------------------------------------
    def assign(
        self,
        state: PoolState | Store,
        leads: Iterable[Lead],
        now: datetime | None = None,
        *,
        audit: Literal["full", "outcome"] = "full",
        progress: Callable[[int, int], None] | None = None,
    ) -> RoutingResult:
        """Route ``leads`` against ``state``; the input state is not changed.

        Every lead appears exactly once in ``assignments`` (input order).
        ``audit="outcome"`` keeps one decision per lead but leaves out its
        steps (for bulk replays such as :func:`leadroute.simulate`); the
        assignments and the next state are the same as with ``"full"``.
        Raises :class:`~leadroute.exceptions.DuplicateLeadError`,
        :class:`~leadroute.exceptions.LeadAlreadyOpenError` or
        :class:`~leadroute.exceptions.UnknownRepError`, naming the ids,
        before anything is routed.

        ``state`` may be a :class:`leadroute.stores.Store`: the call then runs
        as one transaction against the store (see :meth:`Store.assign`).

        ``progress``, if given, is called as ``progress(done, total)`` every
        :data:`PROGRESS_EVERY` leads and once at the end (``done == total``;
        not with a store).

        .. versionchanged:: 0.2.0
           ``progress``.
        """
        if not isinstance(state, PoolState):
            if _is_store(state):
                return state.assign(self, _as_batch(leads), now, audit=audit)
            _not_a_state(state)
        batch = _as_batch(leads)
        self._validate(state, batch, now)
        if audit not in ("full", "outcome"):
            msg = f"audit={audit!r}: use 'full' or 'outcome'"
            raise InputError(msg, field="audit")
        run = _Run(self, state, record=audit == "full")
        order = sorted(range(len(batch)), key=lambda i: _order_key(batch[i]))
        run.ctx.batch = tuple(batch[i] for i in order)
        decisions: list[Decision | None] = [None] * len(batch)
        total = len(batch)
        logger.debug(
            "assign: %d leads, policy %s, state revision %d",
            total,
            self.policy_revision,
            state.revision,
        )
        for done, i in enumerate(order, 1):
            lead = batch[i]
            at = now or lead.created_at
            decisions[i] = run.route(lead, at)
            if progress is not None and done % PROGRESS_EVERY == 0 and done != total:
                progress(done, total)
        if progress is not None:
            progress(total, total)
        decided = tuple(d for d in decisions if d is not None)
        assignments = assignments_of(decided)
        if logger.isEnabledFor(logging.INFO):
            placed = sum(1 for a in assignments if a.rep_id is not None)
            logger.info("assign: %d leads, %d assigned, %d not", total, placed, total - placed)
        latest: datetime | None = now
        if latest is None:
            for lead in batch:
                if latest is None or lead.created_at > latest:
                    latest = lead.created_at
        new_state = run.finish(latest)
        result = build(RoutingResult, assignments=assignments, state=new_state, audit=decided)
        result._bind(self, state, run.drop_counts)
        return result

    def _replay(
        self, state: PoolState, leads: Sequence[Lead], now: datetime | None = None
    ) -> tuple[
        PoolState,
        list[tuple[str, str | None, str, str, datetime]],
        dict[str, int],
        dict[str, int],
    ]:
        """Bulk routing for the policy lab: the next state and ``(lead id, rep id, outcome,
        reason, decision time)`` per lead in processing order, with drop counts by code and
        cap hits (capacity drops) by rep id.

        The same routing as :meth:`assign` (same order, same state), without
        building the audit records.
        """
        leads = _as_batch(leads)
        # the lab's states hold historical closes of leads it still routes (learned history)
        self._validate(state, leads, now, closed=False)
        run = _Run(self, state, record=False)
        ordered = sorted(leads, key=_order_key)
        run.ctx.batch = tuple(ordered)
        out: list[tuple[str, str | None, str, str, datetime]] = []
        latest = now
        for lead in ordered:
            at = now or lead.created_at
            if latest is None or at > latest:
                latest = at
            _t, _s, outcome, rep_id, _r, reason = run.decide(lead, at)
            out.append((lead.id, rep_id, outcome, reason, at))
        return run.finish(latest), out, run.drop_counts, run.cap_hits_by_rep

    def reclaim(
        self,
        state: PoolState | Store,
        now: datetime,
        policy: ReclaimPolicy | None = None,
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> RoutingResult:
        """Apply the pool's recycle policies at ``now``; one audited move per reclaimed lead.

        See :class:`~leadroute.lifecycle.ReclaimPolicy`: leads with no first
        activity within the SLA are reassigned through these rules (previous
        owners excluded), leads idle for ``recycle_after`` go back to the pool.
        ``assignments`` lists the moved leads only; every other open lead stays
        as it was. ``state`` may be a :class:`leadroute.stores.Store` (one
        transaction that reads only the leads falling due). ``progress``, if
        given, is called as ``progress(done, total)`` over the leads to move
        (every :data:`PROGRESS_EVERY` and at the end; not with a store).

        .. versionchanged:: 0.2.0
           ``progress``.
        """
        from leadroute.lifecycle import ReclaimPolicy, reclaim

        if not isinstance(state, PoolState):
            if _is_store(state):
                return state.reclaim(self, now, ReclaimPolicy() if policy is None else policy)
            _not_a_state(state)
        return reclaim(
            self, state, now, ReclaimPolicy() if policy is None else policy, progress=progress
        )

    def reclaim_warnings(
        self,
        state: PoolState | Store,
        now: datetime,
        horizon: timedelta,
        policy: ReclaimPolicy | None = None,
    ) -> list[ReclaimWarning]:
        """Open leads that ``reclaim`` would move by ``now + horizon``, without changing anything."""
        from leadroute.lifecycle import ReclaimPolicy, warnings

        if not isinstance(state, PoolState):
            if _is_store(state):
                return state.reclaim_warnings(
                    now, horizon, ReclaimPolicy() if policy is None else policy
                )
            _not_a_state(state)
        return warnings(state, now, horizon, ReclaimPolicy() if policy is None else policy)

    def transfer_accounts(
        self,
        state: PoolState,
        from_rep: str,
        *,
        at: datetime,
        by: str,
        note: str | None = None,
        leads: Literal["accounts", "all", "none"] = "accounts",
        protection: timedelta = timedelta(0),
    ) -> TransferResult:
        """Route ``from_rep``'s accounts and their open leads through these rules (caps apply).

        See :func:`leadroute.ownership.transfer_accounts`.

        .. versionadded:: 0.2.0
        """
        from leadroute.ownership import transfer_accounts

        return transfer_accounts(
            state, from_rep, self, at=at, by=by, note=note, leads=leads, protection=protection
        )

    def _validate(
        self, state: PoolState, batch: Sequence[Lead], now: datetime | None, closed: bool = True
    ) -> None:
        if not isinstance(state, PoolState):
            msg = f"state: expected a PoolState, got {type(state).__name__}"
            raise InputError(msg, field="state")
        if now is not None:
            try:
                check_datetime(now, "now")
            except ValueError as exc:
                raise InputError(str(exc), field="now") from None
        seen: set[str] = set()
        dupes: set[str] = set()
        latest: datetime | None = None
        for lead in batch:
            if not isinstance(lead, Lead):
                msg = f"leads: expected Lead objects, got {type(lead).__name__}"
                raise InputError(msg, field="leads")
            if lead.id in seen:
                dupes.add(lead.id)
            seen.add(lead.id)
            if latest is None or lead.created_at > latest:
                latest = lead.created_at
        if dupes:
            ids = sorted(dupes)
            msg = f"duplicate lead ids in the batch: {ids}"
            raise DuplicateLeadError(msg, lead_ids=ids)
        already = sorted(seen & state.open_leads.keys())
        if already:
            msg = f"leads already open in the state: {already}"
            raise LeadAlreadyOpenError(msg, lead_ids=already)
        if closed and state.history and seen:
            again = sorted(seen & state.closed_ids)
            if again:
                msg = (
                    f"leads already closed in the state: {again[:10]}; a closed lead is not "
                    "reopened: route a new inquiry under a new lead id"
                )
                raise LeadAlreadyClosedError(msg, lead_ids=again)
        if latest is not None:
            _check_future(batch, latest, now, state.as_of)
        unknown = [r for r in self._named if r not in state.rep_index] if self._named else []
        if unknown:
            msg = f"the rules name reps unknown to the state: {unknown}"
            raise UnknownRepError(msg, rep_ids=unknown)


def _check_future(
    batch: Sequence[Lead], latest: datetime, now: datetime | None, as_of: datetime | None
) -> None:
    """Reject leads dated too far after the decision clock (``now``, else the state's ``as_of``)."""
    if now is not None:
        limit, against, room = now + FUTURE_TOLERANCE, "now", FUTURE_TOLERANCE
    elif as_of is not None:
        limit, against, room = as_of + MAX_CLOCK_JUMP, "the state's as_of", MAX_CLOCK_JUMP
    else:
        return
    if latest <= limit:
        return
    ids = sorted(lead.id for lead in batch if lead.created_at > limit)
    msg = (
        f"leads {ids[:10]} are created more than {room} after {against} "
        f"({(now or as_of).isoformat()}); check their created_at"  # type: ignore[union-attr]
    )
    raise FutureLeadError(msg, lead_ids=ids, field="created_at")


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


def pick_outcome(
    pick: Pick | None, reason: str
) -> tuple[Literal["assigned", "pool", "manual_review"], str, str | None]:
    """``(outcome, reason, rep id)`` of a route's pick; ``reason`` stands when nothing was picked."""
    if pick is None:
        return "pool", reason, None
    if pick.review:
        return "manual_review", pick.reason or "manual_review", None
    if pick.rep is not None:
        return "assigned", "routed", pick.rep.id
    return "pool", pick.reason or "no_eligible_rep", None


def decision_id(policy_revision: str, lead_id: str, state_revision: int) -> str:
    """The stable id of a decision: a hash of policy revision, lead id and state revision."""
    text = f"{policy_revision}\x1f{lead_id}\x1f{state_revision}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _check_pick(sel: Selector, path: str, pick: Pick) -> None:
    """A custom selector's pick must hold only what the state can save and reload."""
    problem = None
    if pick.reason is not None and not isinstance(pick.reason, str):
        problem = f"reason {short_repr(pick.reason)} is not a text"
    elif pick.credits:
        for rep_id, credit in pick.credits.items():
            if (
                not isinstance(rep_id, str)
                or isinstance(credit, bool)
                or not isinstance(credit, (int, float))
                or not math.isfinite(credit)
            ):
                problem = (
                    f"credit {short_repr(rep_id)}: {short_repr(credit)} is not a finite number"
                )
                break
    if problem is not None:
        msg = f"{sel!r} at {path}: {problem}"
        raise StrategyError(msg, field="select")


def _not_a_state(state: object) -> NoReturn:
    msg = f"state: expected a PoolState or a leadroute.stores.Store, got {type(state).__name__}"
    raise InputError(msg, field="state")


def _is_store(state: object) -> TypeGuard[Store]:
    """Whether ``state`` is a :class:`leadroute.stores.Store` (the call then delegates to it)."""
    return bool(getattr(type(state), "leadroute_store", False))


def _as_batch(leads: Any) -> list[Lead]:
    if isinstance(leads, (str, bytes, Mapping, Lead)) or not isinstance(leads, Iterable):
        msg = f"leads: expected a list of Lead objects, got {type(leads).__name__}"
        raise InputError(msg, field="leads")
    return list(leads)


def _order_key(lead: Lead) -> tuple[int, datetime, str]:
    return (-lead.priority, lead.created_at, lead.id)


def _route_identity(route: Strategy, where: str) -> Any:
    """The identity of a rule's route; a strategy without one is a :class:`ConfigError` at ``where``."""
    try:
        return route_identity(route, where)
    except StrategyError as exc:
        text = str(exc)
        if exc.field and text.startswith(f"{exc.field}: "):
            text = text[len(exc.field) + 2 :]
        raise ConfigError(text, path=exc.field or where) from None


def _loose(cond: Condition) -> Any:
    try:
        return cond.to_config()
    except Exception:
        return repr(cond)


def _index_paths(node: Strategy, path: str, out: dict[str, Strategy]) -> None:
    out[path] = node
    if isinstance(node, Combinator):
        for suffix, child in node.parts():
            _index_paths(child, f"{path}{suffix}", out)


# -- the engine ------------------------------------------------------------------------


class _Index:
    """Which reps of the active roster hold each key of one indexable filter."""

    __slots__ = ("by_key", "keys_by_obj", "keys_of", "match_all", "position")

    def __init__(self, flt: Filter, roster: Sequence[Rep], position: Mapping[str, int]) -> None:
        self.match_all = bool(getattr(flt, "index_all", False))
        self.by_key: dict[str, _Indexed] = {}
        # keys as tuples: the cyclic GC stops tracking tuples of strings, frozensets it never does
        self.keys_of: dict[str, tuple[str, ...]] = {}
        # by object identity too: the hot path then never touches the rep object itself
        self.keys_by_obj: dict[int, tuple[str, ...]] = {}
        self.position = position
        for rep in roster:
            keys = tuple(dict.fromkeys(flt.rep_keys(rep)))
            self.keys_of[rep.id] = keys
            self.keys_by_obj[id(rep)] = keys
            for k in keys:
                found = self.by_key.get(k)
                if found is None:
                    found = self.by_key[k] = _Indexed(memo=next(_SERIALS))
                found.append(rep)

    def lookup(self, keys: tuple[str, ...]) -> _Indexed:
        """Reps of the roster admitted by ``keys``, in roster order."""
        if not keys:
            return _Indexed()
        if self.match_all:
            lists: list[list[Rep]] = [self.by_key.get(k) or [] for k in keys]
            lists.sort(key=len)
            need = frozenset(keys)
            keys_of = self.keys_of
            return _Indexed(r for r in lists[0] if need.issubset(keys_of[r.id]))
        return _merge([self.by_key[k] for k in keys if k in self.by_key], self.position)

    def admits(self, rep: Rep, keys: frozenset[str]) -> bool:
        held = self.keys_of.get(rep.id)
        if held is None:
            return False
        return keys.issubset(held) if self.match_all else not keys.isdisjoint(held)


def _merge(found: list[_Indexed], position: Mapping[str, int]) -> _Indexed:
    """The union of roster-ordered rep lists, in roster order (one list: itself, shared)."""
    if not found:
        return _Indexed()
    if len(found) == 1:
        return found[0]
    merged: dict[int, Rep] = {}
    for lst in found:
        for r in lst:
            merged[id(r)] = r
    return _Indexed(sorted(merged.values(), key=lambda r: position[r.id]))


class _Indexed(list[Rep]):
    """Candidates narrowed from the whole roster by index-answered filters only.

    ``memo`` is a serial number standing for the filters and lead keys that
    produced the list, so the router (and strategies, in ``ctx.memo``) can
    reuse work for every later lead with the same keys (the lists are shared
    and never mutated). 0 is the whole roster.
    """

    __slots__ = ("memo", "origin")

    def __init__(self, reps: Iterable[Rep] = (), memo: int = 0) -> None:
        super().__init__(reps)
        self.memo = memo
        #: ``(filter, lead keys)`` when the list is that filter's answer over the whole roster
        self.origin: tuple[Filter, tuple[str, ...]] | None = None


_MEMO_LIMIT = 200_000
#: Serial numbers of shared candidate lists (unique in the process, so memo keys never collide).
_SERIALS = itertools.count(1)
_COMBINATOR, _SELECTOR, _FILTER, _OTHER = range(4)
_KIND: dict[type, int] = {}


def _kind_of(node: Strategy) -> int:
    if isinstance(node, Combinator):
        return _COMBINATOR
    if isinstance(node, Selector):
        return _SELECTOR
    if isinstance(node, Filter):
        return _FILTER
    return _OTHER


_FILTER_STEP_SET = {
    "path",
    "strategy",
    "kind",
    "candidates_in",
    "candidates_out",
    "dropped",
    "unlisted",
    "note",
}
_SELECTOR_STEP_SET = {
    "path",
    "strategy",
    "kind",
    "candidates_in",
    "candidates_out",
    "picked",
    "note",
    "rationale",
}
_DECISION_SET = set(Decision.model_fields)
_LOAD_SET = {"open", "days"}
_OPEN_SET = {
    "lead",
    "rep_id",
    "assigned_at",
    "rule_id",
    "account_key",
    "times_recycled",
    "previous_reps",
    "assigned_by",
}


_STEP_KINDS = frozenset({"filter", "selector", "fallback", "tier", "note"})


class _Runner:
    """The engine side of the :class:`~leadroute.strategies.Combinator` contract.

    One per combinator and path in a call: ``child(i, reps)`` routes part
    ``i`` (filters and selectors dispatched directly), ``record`` adds a step
    to the current lead's audit.
    """

    __slots__ = (
        "builtin",
        "lead",
        "max_drops",
        "node",
        "path",
        "plan",
        "recording",
        "run",
        "steps",
    )

    def __init__(self, run: _Run, node: Combinator, path: str) -> None:
        self.run = run
        self.node = node
        self.path = path
        self.builtin = node._builtin
        self.plan = [(_kind_of(child), child, f"{path}{suffix}") for suffix, child in node.parts()]
        self.max_drops = run.router.max_drops
        self.recording = run.record
        self.lead: Lead | None = None
        self.steps: list[Step] = []

    def child(self, index: int, candidates: list[Rep]) -> _Found:
        try:
            kind, child, path = self.plan[index]
        except (IndexError, TypeError):
            msg = (
                f"{self.node!r} at {self.path}: run.child({index!r}): it has {len(self.plan)} parts"
            )
            raise StrategyError(msg, field="route") from None
        run = self.run
        lead: Lead = self.lead  # type: ignore[assignment]
        if kind == _FILTER:
            return (run._filter(child, path, lead, candidates, self.steps), None)  # type: ignore[arg-type]
        if kind == _SELECTOR:
            return run._select(child, path, lead, candidates, self.steps)  # type: ignore[arg-type]
        return run._run(child, path, lead, candidates, self.steps)

    def record(
        self,
        suffix: str = "",
        *,
        note: str | None = None,
        kind: str = "note",
        strategy: str | None = None,
        candidates_in: int = 0,
        candidates_out: int | None = None,
        dropped: Sequence[Drop] = (),
        unlisted: int = 0,
    ) -> None:
        if not self.builtin:
            _check_record(
                self, suffix, note, kind, strategy, candidates_in, candidates_out, unlisted, dropped
            )
        node = self.node
        self.steps.append(
            build(
                Step,
                path=self.path + suffix,
                strategy=strategy
                if strategy is not None
                else (self.run._reprs.get(id(node)) or repr(node)),
                kind=kind,
                candidates_in=candidates_in,
                candidates_out=candidates_in if candidates_out is None else candidates_out,
                dropped=tuple(dropped),
                unlisted=unlisted,
                note=note,
            )
        )


def _check_record(
    runner: _Runner,
    suffix: Any,
    note: Any,
    kind: Any,
    strategy: Any,
    n_in: Any,
    n_out: Any,
    unlisted: Any,
    dropped: Any,
) -> None:
    """A user combinator's audit step must be a valid step (else the audit would not load back)."""
    problem = None
    if not isinstance(suffix, str):
        problem = f"suffix {short_repr(suffix)} is not a text"
    elif note is not None and not isinstance(note, str):
        problem = f"note {short_repr(note)} is not a text"
    elif strategy is not None and not isinstance(strategy, str):
        problem = f"strategy {short_repr(strategy)} is not a text"
    elif kind not in _STEP_KINDS:
        problem = f"kind {short_repr(kind)} is not one of {sorted(_STEP_KINDS)}"
    elif any(
        isinstance(v, bool) or not isinstance(v, int) or v < 0
        for v in (n_in, unlisted, 0 if n_out is None else n_out)
    ):
        problem = "candidate counts are whole numbers >= 0"
    elif not all(isinstance(d, Drop) for d in dropped):
        problem = "dropped holds Drop records only (build them with Filter.drop)"
    if problem is not None:
        msg = f"{runner.node!r} at {runner.path}: run.record: {problem}"
        raise StrategyError(msg, field="route")


def _check_routed(node: Strategy, path: str, found: Any) -> None:
    """A user combinator's route returns ``(candidates, pick or None)``."""
    if (
        isinstance(found, tuple)
        and len(found) == 2
        and isinstance(found[0], list)
        and (found[1] is None or isinstance(found[1], Pick))
    ):
        return
    msg = f"{node!r} at {path}: route returned {short_repr(found)}, not (candidates, pick or None)"
    raise StrategyError(msg, field="route")


class _RosterCache:
    """Per-roster work kept between calls while the state's ``reps`` tuple is the same object.

    ``assign`` hands the same tuple on to the next state, so a CRM routing
    batch after batch indexes its roster once. Everything here is derived
    from the roster alone and never mutated once built (the memo only grows).
    """

    __slots__ = (
        "by_id",
        "index_of",
        "indexes",
        "memo",
        "pairs",
        "position",
        "reps",
        "roster",
        "shared",
    )

    def __init__(self, reps: tuple[Rep, ...]) -> None:
        self.reps = reps
        self.roster = [r for r in reps if r.active and not r.paused]
        self.position = {r.id: i for i, r in enumerate(reps)}
        self.by_id = {r.id: r for r in reps}
        self.indexes: dict[tuple[type, str], _Index] = {}
        self.index_of: dict[int, _Index] = {}
        self.memo: dict[tuple[int, int, tuple[str, ...]], _Indexed] = {}
        self.shared: dict[Any, Any] = {}
        self.pairs: dict[tuple[int, int], dict[tuple[str, str], _Indexed]] = {}


#: What a route part produced: the candidates left, and a pick if it made one.
_Found = tuple[list[Rep], Pick | None]


class _Run:
    """The mutable working copy of one ``assign`` call (never escapes it)."""

    def __init__(self, router: Router, state: PoolState, record: bool = True) -> None:
        self.record = record
        self.drop_counts: dict[str, int] = {}
        #: capacity drops per rep id (kept without the audit, for the policy lab)
        self.cap_hits_by_rep: dict[str, int] = {}
        self.router = router
        self.state = state
        cache = router._roster_cache
        if cache is None or cache.reps is not state.reps:
            cache = _RosterCache(state.reps)
            router._roster_cache = cache
        self.roster = cache.roster
        self.position = cache.position
        self.by_id = cache.by_id
        self.open_counts = {k: v.open for k, v in state.loads.items()}
        self.days: dict[str, dict[str, int]] = {k: v.days for k, v in state.loads.items()}
        self.touched: set[str] = set()
        self.rotations = {
            k: RotationMemory(v.turn, dict(v.last_served), dict(v.credits))
            for k, v in state.rotations.items()
        }
        self.owners = dict(state.owners)
        self.open_new: dict[str, OpenLead] = {}
        self.pool = dict(state.pool)
        self.indexes = cache.indexes
        self.index_of = cache.index_of
        if len(cache.memo) > _MEMO_LIMIT:
            cache.memo.clear()
            cache.shared.clear()
        self.memo = cache.memo
        self.pairs = cache.pairs
        #: shared trial records without lead-specific detail, each in a one-trial tuple
        self.trials: dict[tuple[str, str], tuple[RuleTrial]] = {}
        self.plain_steps: dict[tuple[str, int, int, int, int], Step] = {}
        #: the engine side of each combinator at each path, made on first use
        self.runners: dict[tuple[int, str], _Runner] = {}
        self.ctx = ctx = RouteContext(
            state=state,
            seed=router.seed,
            open_counts=self.open_counts,
            days=self.days,
            rotations=self.rotations,
            owners=self.owners,
            order=self.position,
            accounts=router.accounts,
        )
        ctx.roster_memo = cache.shared
        ctx.explain = record
        self.inactive = len(state.reps) - len(self.roster)
        self._reprs = router._reprs

    # -- one lead --------------------------------------------------------------------
    def route(self, lead: Lead, at: datetime, exclude: Iterable[str] = ()) -> Decision:
        trials, steps, outcome, rep_id, rule_id, reason = self.decide(lead, at, exclude)
        router = self.router
        values = {
            "decision_id": decision_id(router.policy_revision, lead.id, self.state.revision),
            "lead_id": lead.id,
            "at": at,
            "policy_revision": router.policy_revision,
            "state_revision": self.state.revision,
            "seed": router.seed,
            "rules": self._trials_tuple(trials),
            "rule_id": rule_id,
            "steps": tuple(steps),
            "outcome": outcome,
            "rep_id": rep_id,
            "reason": reason,
            "facts": self.ctx.lead_facts,
        }
        return assemble(Decision, values, _DECISION_SET)

    def decide(
        self, lead: Lead, at: datetime, exclude: Iterable[str] = ()
    ) -> tuple[list[RuleTrial], list[Step], str, str | None, str | None, str]:
        """Route one lead and apply the outcome; the parts of its decision."""
        router = self.router
        ctx = self.ctx
        pooled = self.pool.get(lead.id)
        excluded: frozenset[str] = frozenset(exclude)
        if pooled is not None and pooled.cooldown:
            excluded |= frozenset(r for r, until in pooled.cooldown.items() if until > at)
        ctx._begin(lead, at, excluded)
        trials: list[RuleTrial] = []
        steps: list[Step] = []
        reason = "no_rule_matched"
        rule_id: str | None = None
        pick: Pick | None = None
        for rule in router.rules:
            cond = rule.when
            if cond is not None and not cond.matches(lead):
                trials.append(
                    build(
                        RuleTrial, rule_id=rule.id, result="not_matched", detail=cond.explain(lead)
                    )
                )
                continue
            found = self._try(rule.id, rule.route, lead, steps)
            if found[1] is not None:
                pick = found[1]
                rule_id = rule.id
                trials.append(self._trial(rule.id, "manual_review" if pick.review else "routed"))
                break
            trials.append(self._trial(rule.id, "empty", "no eligible rep"))
            if rule.on_empty == "pool":
                rule_id = rule.id
                reason = "no_eligible_rep"
                break
        else:
            if router.default is not None:
                found = self._try("default", router.default, lead, steps)
                rule_id = "default"
                if found[1] is not None:
                    pick = found[1]
                else:
                    reason = "no_eligible_rep"
            elif any(t.result == "empty" for t in trials):
                reason = "no_eligible_rep"
        outcome, reason, rep_id = pick_outcome(pick, reason)
        self._apply(lead, at, outcome, rep_id, rule_id, reason)
        return trials, steps, outcome, rep_id, rule_id, reason

    def _trials_tuple(self, trials: list[RuleTrial]) -> tuple[RuleTrial, ...]:
        """The decision's trials; the shared one-trial tuple when only a shared record is in it."""
        if len(trials) == 1:
            shared = self.trials.get((trials[0].rule_id, trials[0].result))
            if shared is not None and shared[0] is trials[0]:
                return shared
        return tuple(trials)

    def _trial(self, rule_id: str, result: str, detail: str = "") -> RuleTrial:
        """Shared (immutable) trial records for the outcomes without lead-specific detail."""
        key = (rule_id, result)
        shared = self.trials.get(key)
        if shared is None:
            shared = self.trials[key] = (
                build(RuleTrial, rule_id=rule_id, result=result, detail=detail),
            )
        return shared[0]

    def _try(self, rule_id: str, route: Strategy, lead: Lead, steps: list[Step]) -> _Found:
        ctx = self.ctx
        ctx.rule_id = rule_id
        cands = self.roster
        if ctx.excluded:
            kept = [r for r in cands if r.id not in ctx.excluded]
            drops = [
                build(
                    Drop, rep_id=r.id, code="excluded", detail="excluded for this lead", figures={}
                )
                for r in cands
                if r.id in ctx.excluded
            ]
            steps.append(
                build(
                    Step,
                    path=f"{rule_id}:excluded",
                    strategy="Excluded",
                    kind="filter",
                    candidates_in=len(cands),
                    candidates_out=len(kept),
                    dropped=tuple(drops),
                )
            )
            cands = kept
        return self._run(route, f"{rule_id}:route", lead, cands, steps)

    def _run(
        self, node: Strategy, path: str, lead: Lead, cands: list[Rep], steps: list[Step]
    ) -> _Found:
        kind = _KIND.get(type(node))
        if kind is None:
            kind = _kind_of(node)
            _KIND[type(node)] = kind
        if kind == _COMBINATOR:
            key = (id(node), path)
            runner = self.runners.get(key)
            if runner is None:
                runner = self.runners[key] = _Runner(self, node, path)  # type: ignore[arg-type]
            runner.lead = lead
            runner.steps = steps
            found: _Found = node.route(lead, cands, self.ctx, runner)  # type: ignore[attr-defined]
            if not runner.builtin:
                _check_routed(node, path, found)
            return found
        if kind == _FILTER:
            return (self._filter(node, path, lead, cands, steps), None)  # type: ignore[arg-type]
        if kind == _SELECTOR:
            return self._select(node, path, lead, cands, steps)  # type: ignore[arg-type]
        msg = f"{node!r} at {path} is neither a filter, a selector nor a combinator"
        raise TypeError(msg)

    def _index(self, flt: Filter) -> _Index:
        idx = self.index_of.get(id(flt))
        if idx is None:
            # by identity, not repr: a plain-class filter's repr may hide its parameters
            key = (type(flt), canonical_json(flt.identity()))
            idx = self.indexes.get(key)
            if idx is None:
                idx = _Index(flt, self.roster, self.position)
                self.indexes[key] = idx
            self.index_of[id(flt)] = idx
        return idx

    def _filter(
        self, flt: Filter, path: str, lead: Lead, cands: list[Rep], steps: list[Step]
    ) -> list[Rep]:
        ctx = self.ctx
        ctx.path = path
        limit = self.router.max_drops
        if flt.indexable:
            keys = flt.lead_keys(lead)
            memo: tuple[int, int, tuple[str, ...]] | None = None
            if keys is None:
                kept = cands
                drops: list[Drop] = []
                unlisted = 0
            elif cands is self.roster or isinstance(cands, _Indexed):
                memo = (cands.memo if isinstance(cands, _Indexed) else 0, id(flt), keys)
                cached = self.memo.get(memo)
                if cached is None:
                    cached = self._narrow(flt, keys, cands)
                    if not cached.memo:
                        cached.memo = next(_SERIALS)
                    self.memo[memo] = cached
                kept = cached
                drops = []
                unlisted = len(cands) - len(kept)
            else:
                idx = self._index(flt)
                keyset = frozenset(keys)
                kept = []
                drops = []
                unlisted = 0
                for rep in cands:
                    if idx.admits(rep, keyset):
                        kept.append(rep)
                    elif len(drops) < limit:
                        why = flt.check(lead, rep, ctx)
                        if why is None:  # pragma: no cover - index and check disagree
                            kept.append(rep)
                        else:
                            drops.append(why)
                    else:
                        unlisted += 1
            if self.record:
                steps.append(self._filter_step(path, flt, cands, kept, drops, unlisted))
            return kept
        if flt._builtin:
            out: FilterOutcome = flt.apply(lead, cands, ctx)
        else:
            try:
                out = flt.apply(lead, cands, ctx)
            except StrategyError as exc:
                msg = f"{flt!r} at {path}: {exc}"
                raise StrategyError(msg, field=exc.field) from None
        drops = out.dropped
        if not self.record:
            for d in drops:
                self.drop_counts[d.code] = self.drop_counts.get(d.code, 0) + 1
                if d.code in CAP_CODES:
                    self.cap_hits_by_rep[d.rep_id] = self.cap_hits_by_rep.get(d.rep_id, 0) + 1
            return out.kept
        unlisted = out.unlisted
        if len(drops) > limit:
            unlisted += len(drops) - limit
            drops = drops[:limit]
        steps.append(self._filter_step(path, flt, cands, out.kept, drops, unlisted, out.note))
        return out.kept

    def _narrow(self, flt: Filter, keys: tuple[str, ...], cands: list[Rep]) -> _Indexed:
        """Index answer for ``flt`` over the roster or an index-narrowed list of it."""
        idx = self._index(flt)
        if cands is self.roster:
            found = idx.lookup(keys)
            if found.origin is None:
                found.origin = (flt, keys)
            return found
        origin = cands.origin if isinstance(cands, _Indexed) else None
        if origin is not None and not idx.match_all and not self._index(origin[0]).match_all:
            # the candidates are one index answer over the roster: answer both filters at once
            # from a (first key, second key) index, so no rep is looked at one by one
            return self._pair(origin[0], origin[1], flt, keys)
        keyset = frozenset(keys)
        keys_of = idx.keys_by_obj
        if idx.match_all:
            return _Indexed([r for r in cands if keyset.issubset(keys_of[id(r)])])
        return _Indexed([r for r in cands if not keyset.isdisjoint(keys_of[id(r)])])

    def _pair(
        self, first: Filter, first_keys: tuple[str, ...], second: Filter, keys: tuple[str, ...]
    ) -> _Indexed:
        pair = self.pairs.get((id(first), id(second)))
        if pair is None:
            a, b = self._index(first), self._index(second)
            pair = {}
            for rep in self.roster:
                for k1 in a.keys_by_obj[id(rep)]:
                    for k2 in b.keys_by_obj[id(rep)]:
                        cell = pair.get((k1, k2))
                        if cell is None:
                            cell = pair[(k1, k2)] = _Indexed(memo=next(_SERIALS))
                        cell.append(rep)
            self.pairs[(id(first), id(second))] = pair
        cells = [pair.get((k1, k2)) for k1 in first_keys for k2 in keys]
        return _merge([c for c in cells if c is not None], self.position)

    def _filter_step(
        self,
        path: str,
        flt: Strategy,
        cands: list[Rep],
        kept: list[Rep],
        drops: list[Drop],
        unlisted: int,
        note: str | None = None,
    ) -> Step:
        key: tuple[str, int, int, int, int] | None = None
        if not drops and note is None:
            # a step without drops or note is the same record for every lead with the same
            # counts: one shared (frozen) instance instead of one per lead
            key = (path, id(flt), len(cands), len(kept), unlisted)
            found = self.plain_steps.get(key)
            if found is not None:
                return found
        values = {
            "path": path,
            "strategy": self._reprs.get(id(flt)) or repr(flt),
            "kind": "filter",
            "candidates_in": len(cands),
            "candidates_out": len(kept),
            "dropped": tuple(drops) if drops else (),
            "unlisted": unlisted,
            "picked": None,
            "note": note,
            "rationale": None,
        }
        step = assemble(Step, values, _FILTER_STEP_SET)
        if key is not None:
            self.plain_steps[key] = step
        return step

    def _select(
        self, sel: Selector, path: str, lead: Lead, cands: list[Rep], steps: list[Step]
    ) -> _Found:
        ctx = self.ctx
        ctx.path = path
        pick = sel.select(lead, cands, ctx) if cands else None
        builtin = type(sel) in _PLAIN_RATIONALE
        if (
            pick is not None
            and pick.rep is not None
            and not builtin
            and not any(r is pick.rep for r in cands)
        ):
            msg = f"{sel!r} at {path} picked {pick.rep.id!r}, who was not a candidate"
            raise InputError(msg, rep_ids=[pick.rep.id])
        if pick is not None and not builtin:
            _check_pick(sel, path, pick)
        if pick is not None and pick.rep is not None:
            mem = self.rotations.get(path)
            if mem is None:
                mem = RotationMemory(0, {}, {})
                self.rotations[path] = mem
            mem.last_served[pick.rep.id] = mem.turn
            mem.turn += 1
            if pick.credits:
                mem.credits.update(pick.credits)
        if not self.record:
            return ([] if pick is None else cands, pick)
        picked = None if pick is None or pick.rep is None else pick.rep.id
        values = {
            "path": path,
            "strategy": self._reprs.get(id(sel)) or repr(sel),
            "kind": "selector",
            "candidates_in": len(cands),
            "candidates_out": 0 if picked is None else 1,
            "dropped": (),
            "unlisted": 0,
            "picked": picked,
            "note": None if pick is None else (pick.reason if pick.review else None),
            "rationale": None
            if pick is None
            else (
                pick.rationale if builtin or _plain(pick.rationale) else _jsonable(pick.rationale)
            ),
        }
        steps.append(assemble(Step, values, _SELECTOR_STEP_SET))
        return ([] if pick is None else cands, pick)

    # -- applying outcomes -------------------------------------------------------------
    def _apply(
        self,
        lead: Lead,
        at: datetime,
        outcome: str,
        rep_id: str | None,
        rule_id: str | None,
        reason: str,
    ) -> None:
        pooled = self.pool.get(lead.id)
        if rep_id is not None:
            rep = self.by_id[rep_id]
            self.open_counts[rep_id] = self.open_counts.get(rep_id, 0) + 1
            day = self.ctx.local_day(rep)[1]
            if rep_id in self.touched:
                days = self.days[rep_id]
            else:
                # copy on first write: the input state's counters are never changed
                held = self.days.get(rep_id)
                days = dict(held) if held else {}
                self.days[rep_id] = days
                self.touched.add(rep_id)
            days[day] = days.get(day, 0) + 1
            match = self.ctx.account_of(lead)
            account = None if match is None else match.key
            if match is not None and account and account not in self.owners:
                self.owners[account] = rep_id
                self.ctx._note_account(match)
            values = {
                "lead": lead,
                "rep_id": rep_id,
                "assigned_at": at,
                "rule_id": rule_id,
                "account_key": account,
                "first_activity_at": None,
                "last_activity_at": None,
                "times_reassigned": 0,
                "times_recycled": 0 if pooled is None else pooled.times_recycled,
                "previous_reps": () if pooled is None else pooled.previous_reps,
                "assigned_by": "router",
                "note": None,
            }
            self.open_new[lead.id] = assemble(OpenLead, values, _OPEN_SET)
            if pooled is not None:
                del self.pool[lead.id]
            return
        if pooled is None:
            self.pool[lead.id] = build(PooledLead, lead=lead, since=at, reason=reason)
        elif pooled.reason != reason:
            self.pool[lead.id] = pooled.model_copy(update={"reason": reason})

    def finish(self, latest: datetime | None) -> PoolState:
        state = self.state
        loads = dict(state.loads)
        for rep_id in sorted(self.touched):
            days = self.days[rep_id]
            if not days:
                continue
            # prune only when there can be days outside the window (the rep is looked at
            # only then: at 100,000 reps its record is seldom in the CPU cache)
            if len(days) > DAYS_KEPT and len(days) > (
                span := max(DAYS_KEPT, self.by_id[rep_id].capacity.period_days)
            ):
                # the decision clock decides what is old, never one lead's (later) day
                rep = self.by_id[rep_id]
                clock = (
                    rep.local_time(latest).date()
                    if latest is not None
                    else datetime.fromisoformat(max(days)).date()
                )
                keep_from = (clock - timedelta(days=span)).isoformat()
                days = {d: n for d, n in sorted(days.items()) if d > keep_from}
            loads[rep_id] = assemble(
                RepLoad, {"open": self.open_counts[rep_id], "days": days}, _LOAD_SET
            )
        rotations = dict(state.rotations)
        for key, mem in self.rotations.items():
            rotations[key] = build(
                Rotation,
                turn=mem.turn,
                last_served=dict(mem.last_served),
                credits=dict(mem.credits),
            )
        open_leads = dict(state.open_leads)
        open_leads.update(self.open_new)
        as_of = state.as_of
        if latest is not None and (as_of is None or latest > as_of):
            as_of = latest
        return build(
            PoolState,
            as_of=as_of,
            revision=state.revision + 1,
            reps=state.reps,
            # insertion order: the input state's keys first, then new ones (reps in id
            # order, selectors and accounts in routing order) -- deterministic, no sort
            loads=loads,
            rotations=rotations,
            owners=self.owners,
            open_leads=open_leads,
            pool=self.pool,
            history=state.history,
            account_history=state.account_history,
        )


#: Built-in selectors whose rationale is JSON data by construction.
_PLAIN_RATIONALE: frozenset[type] = frozenset(
    {RoundRobin, Weighted, RandomPick, LeastLoaded, AssignTo, ManualReview}
)


def _plain(value: Any) -> bool:
    """Whether ``value`` is already JSON data (so it needs no copy)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return False


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if dataclasses.is_dataclass(value) or hasattr(value, "model_dump"):
        return canonical_json(value)
    return str(value)
