"""The router: a thin façade over a :class:`~leadroute.policy.Policy` and the engine.

``Router.assign(state, leads)`` is pure: it reads the input state, routes the
leads one by one in a documented order, and returns the assignments, the next
state and one audit :class:`~leadroute.audit.Decision` per lead.

Processing order: highest ``priority`` first, then oldest ``created_at``,
then lead id. ``assignments`` and ``audit`` come back in input order.

The rules and their validation live in :mod:`leadroute.policy`, the routing
itself in :mod:`leadroute.engine`; the router checks the inputs and delegates.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeGuard

from leadroute.accounts import AccountMatcher
from leadroute.audit import Decision, ReplayResult
from leadroute.engine import PROGRESS_EVERY as PROGRESS_EVERY
from leadroute.engine import Engine, Replayed, ReplayPlan, check_inputs
from leadroute.engine import decision_id as decision_id
from leadroute.engine import pick_outcome as pick_outcome
from leadroute.engine.ledger import DAYS_KEPT as DAYS_KEPT
from leadroute.engine.recorder import CAP_CODES as CAP_CODES
from leadroute.exceptions import InputError
from leadroute.lifecycle import (
    ReclaimPolicy,
    ReclaimWarning,
    reclaim,
    reclaim_replay_plan,
    warnings,
)
from leadroute.models import Lead
from leadroute.ownership import TransferResult, transfer_accounts, transfer_replay_plan
from leadroute.policy import Policy, Rule
from leadroute.result import RoutingResult
from leadroute.state import PoolState
from leadroute.strategies.base import Strategy
from leadroute.strategies.codec import dump_toml

if TYPE_CHECKING:
    from leadroute.stores import Store

__all__ = ["Router"]


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

    A router is immutable: its policy and engine are set when it is built,
    and assigning any attribute afterwards raises :class:`AttributeError`
    (build another router for other rules). Equality, hash and ``repr`` are
    those of its :class:`~leadroute.policy.Policy`.

    .. versionchanged:: 0.2.0
       The ``accounts`` keyword; immutable after construction.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("engine", "policy")

    policy: Policy
    #: the engine routing by ``policy`` (it keeps the roster index between calls)
    engine: Engine

    def __init__(
        self,
        rules: Iterable[Rule | Mapping[str, Any]] = (),
        default: Strategy | Any | None = None,
        *,
        seed: int = 0,
        max_drops: int = 50,
        accounts: AccountMatcher | Mapping[str, Any] | None = None,
    ) -> None:
        self._use(Policy(rules, default, seed=seed, max_drops=max_drops, accounts=accounts))

    def _use(self, policy: Policy) -> None:
        # the only writes: __setattr__ refuses every other one
        object.__setattr__(self, "policy", policy)
        object.__setattr__(self, "engine", Engine(policy))

    def __setattr__(self, name: str, value: Any) -> None:
        msg = f"a Router is immutable (setting {name!r}); build a new Router for other rules"
        raise AttributeError(msg)

    def __delattr__(self, name: str) -> None:
        msg = f"a Router is immutable (deleting {name!r})"
        raise AttributeError(msg)

    def __reduce__(self) -> tuple[Callable[[Policy], Router], tuple[Policy]]:
        # pickle and copy rebuild the router from its policy (the engine's index is a cache)
        return (type(self).from_policy, (self.policy,))

    @classmethod
    def from_policy(cls, policy: Policy) -> Router:
        """A router routing by ``policy`` (validated already, so nothing is checked again).

        .. versionadded:: 0.2.0
        """
        if not isinstance(policy, Policy):
            msg = f"policy: expected a Policy, got {type(policy).__name__}"
            raise InputError(msg, field="policy")
        router = cls.__new__(cls)
        router._use(policy)
        return router

    # -- the policy's parts ------------------------------------------------------------
    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules, tried in order."""
        return self.policy.rules

    @property
    def default(self) -> Strategy | None:
        """The route for leads no rule matched."""
        return self.policy.default

    @property
    def seed(self) -> int:
        """The seed of every hash draw."""
        return self.policy.seed

    @property
    def max_drops(self) -> int:
        """Dropped reps listed in full per audit step."""
        return self.policy.max_drops

    @property
    def accounts(self) -> AccountMatcher | None:
        """How a lead's account is found (``None``: the default matching)."""
        return self.policy.accounts

    @property
    def policy_revision(self) -> str:
        """A stable hash of the policy (see :attr:`Policy.revision`)."""
        return self.policy.revision

    # -- construction ------------------------------------------------------------------
    @classmethod
    def from_config(
        cls, source: Mapping[str, Any] | str | Path, *, strategies: Mapping[str, type] | None = None
    ) -> Router:
        """A router from a dict, or a ``.json`` / ``.toml`` file of the same shape.

        See ``docs/config.md``. ``strategies`` registers custom strategy classes
        by name.
        """
        return cls.from_policy(Policy.from_data(source, strategies=strategies))

    def to_config(self) -> dict[str, Any]:
        """The config form of this router; ``Router.from_config(r.to_config())`` equals ``r``."""
        return self.policy.to_data()

    def to_toml(self, *, schema: str | None = None) -> str:
        """:meth:`to_config` as TOML text (needs the ``toml`` extra); loads back equal.

        ``schema`` adds a ``#:schema`` line for editors (see ``docs/config.md``).

        .. versionadded:: 0.2.0
        """
        return dump_toml(self.to_config(), schema=schema)

    def _routes(self) -> Iterable[tuple[str, Strategy]]:
        return self.policy.routes()

    def __repr__(self) -> str:
        # the policy's text under this class's name: Router(rules=[...], ..., revision='...')
        return type(self).__name__ + repr(self.policy).removeprefix("Policy")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Router):
            return NotImplemented
        return self.policy == other.policy

    def __hash__(self) -> int:
        return hash(self.policy)

    def strategy_at(self, path: str) -> Strategy:
        """The strategy an audit ``Step.path`` refers to."""
        return self.policy.strategy_at(path)

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
        check_inputs(self.policy, state, batch, now)
        if audit not in ("full", "outcome"):
            msg = f"audit={audit!r}: use 'full' or 'outcome'"
            raise InputError(msg, field="audit")
        return self.engine.assign(state, batch, now, record=audit == "full", progress=progress)

    def _replay(
        self, state: PoolState, leads: Sequence[Lead], now: datetime | None = None
    ) -> Replayed:
        """Bulk routing for the policy lab: the next state and ``(lead id, rep id, outcome,
        reason, decision time)`` per lead in processing order, with drop counts by code and
        cap hits (capacity drops) by rep id.

        The same routing as :meth:`assign` (same order, same state), without
        building the audit records.
        """
        return self.engine.replay(state, _as_batch(leads), now)

    def replay(self, decision: Decision) -> ReplayResult:
        """Re-derive ``decision`` from its record alone and compare, byte for byte.

        The decision's ``inputs`` (written with ``audit="full"``) hold the
        lead and the excerpt of pool data its route read; this router must be
        the policy that made it. Reps the route never looked at one by one
        are stand-ins, so a route that reads more than was recorded shows as
        a difference. Decisions of ``reclaim`` and ``transfer_accounts`` that
        ran a route (SLA reassignments, nurture reroutes, transfers through
        the rules) replay with the call's additions re-applied (see
        ``docs/audit.md``); moves that ran no route (recycling, a transfer to
        a named rep) are reported as having nothing to replay. Strategies that
        read the whole state or batch (a fit learned from the history, batch
        plans) show as differing.

        >>> from leadroute import Lead, PoolState, Rep
        >>> from leadroute.strategies import RoundRobin
        >>> router = Router(rules=[Rule(id="all", route=RoundRobin())])
        >>> state = PoolState(reps=(Rep(id="ann"), Rep(id="bo")))
        >>> lead = Lead(id="L1", created_at="2026-01-05T09:00:00+00:00")
        >>> router.replay(router.assign(state, [lead]).audit[0]).identical
        True

        .. versionchanged:: 0.2.0
           Decisions of ``reclaim`` and ``transfer_accounts`` that ran a route replay.

        .. versionadded:: 0.2.0
        """
        if not isinstance(decision, Decision):
            msg = f"decision: expected a Decision, got {type(decision).__name__}"
            raise InputError(msg, field="decision")
        return self.engine.replay_decision(decision, _replay_plan(decision))

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
        if not isinstance(state, PoolState):
            if _is_store(state):
                return state.reclaim_warnings(
                    now, horizon, ReclaimPolicy() if policy is None else policy
                )
            _not_a_state(state)
        return warnings(state, now, horizon, ReclaimPolicy() if policy is None else policy)

    def transfer_accounts(
        self,
        state: PoolState | Store,
        from_rep: str,
        *,
        at: datetime,
        by: str,
        note: str | None = None,
        leads: Literal["accounts", "all", "none"] = "accounts",
        protection: timedelta = timedelta(0),
    ) -> TransferResult:
        """Route ``from_rep``'s accounts and their open leads through these rules (caps apply).

        See :func:`leadroute.ownership.transfer_accounts`. On a store it is one
        transaction (see :meth:`leadroute.stores.Store.transfer_accounts`).

        .. versionadded:: 0.2.0
        """
        if not isinstance(state, PoolState):
            if _is_store(state):  # one transaction on the store
                return state.transfer_accounts(
                    from_rep, self, at=at, by=by, note=note, leads=leads, protection=protection
                )
            _not_a_state(state)
        return transfer_accounts(
            state, from_rep, self, at=at, by=by, note=note, leads=leads, protection=protection
        )


def _replay_plan(decision: Decision) -> ReplayPlan | None:
    """How a decision of ``reclaim`` or ``transfer_accounts`` replays (``None``: of ``assign``)."""
    made_by = None if decision.inputs is None else decision.inputs.made_by
    if made_by is None:  # a move that routed nothing says who made it by its first record
        first = decision.steps[0] if decision.steps else None
        if first is not None and first.strategy == "Reclaim":
            made_by = "reclaim"
        elif decision.rule_id == "transfer" and "by" in decision.facts:
            made_by = "transfer"
    if made_by == "reclaim":
        return reclaim_replay_plan(decision)
    if made_by == "transfer":
        return transfer_replay_plan(decision)
    return None


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
