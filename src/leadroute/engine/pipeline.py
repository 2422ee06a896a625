"""The pipeline: the rule loop and the route interpreter of one call.

:class:`Engine` holds what a policy keeps between calls (the roster index);
:class:`Run` is the working state of one call: it tries the rules in order,
runs the chosen route over the candidates (filters narrow, selectors pick,
combinators compose), writes each outcome to the :class:`MemoryLedger` and
has the :class:`Recorder` build the audit.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Literal, Protocol

from leadroute.audit import Decision, Drop, RuleTrial, Step
from leadroute.context import RouteContext
from leadroute.engine.index import (
    COMBINATOR,
    FILTER,
    KIND,
    MEMO_LIMIT,
    SELECTOR,
    SERIALS,
    Index,
    Indexed,
    RosterCache,
    kind_of,
    merge,
)
from leadroute.engine.ledger import ChangeSet, Ledger, MemoryLedger
from leadroute.engine.recorder import PLAIN_RATIONALE, Recorder, decision_id
from leadroute.exceptions import (
    DuplicateLeadError,
    FutureLeadError,
    InputError,
    LeadAlreadyClosedError,
    LeadAlreadyOpenError,
    StrategyError,
    UnknownRepError,
)
from leadroute.fast import build
from leadroute.hashing import canonical_json
from leadroute.limits import FUTURE_TOLERANCE, MAX_CLOCK_JUMP, check_datetime, short_repr
from leadroute.models import Lead, Rep
from leadroute.policy import Policy, Rule
from leadroute.result import RoutingResult, assignments_of
from leadroute.state import PoolState
from leadroute.strategies.base import (
    Combinator,
    Filter,
    FilterOutcome,
    Pick,
    Selector,
    Strategy,
)

__all__ = [
    "PROGRESS_EVERY",
    "Engine",
    "HasEngine",
    "Replayed",
    "Run",
    "check_inputs",
    "order_key",
    "pick_outcome",
]

# the log records keep the name they had before the engine split (users filter on it)
logger = logging.getLogger("leadroute.router")

#: leads between two calls of a ``progress`` callback in :meth:`Router.assign`
PROGRESS_EVERY = 1000

#: What the lab's bulk routing returns: the next state, ``(lead id, rep id, outcome, reason,
#: decision time)`` per lead in processing order, drop counts by code, cap hits by rep id.
Replayed = tuple[
    PoolState,
    list[tuple[str, str | None, str, str, datetime]],
    dict[str, int],
    dict[str, int],
]


class Engine:
    """Routes batches by one :class:`~leadroute.policy.Policy`; keeps the roster index between calls.

    The index is derived from the roster alone and kept while the state's
    ``reps`` tuple is the same object (``assign`` hands it on to the next
    state), so a CRM routing batch after batch indexes its roster once.
    """

    __slots__ = ("_roster_cache", "policy", "reprs")

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        #: the display text of every strategy of the policy, by object id
        self.reprs: dict[int, str] = {id(node): repr(node) for node in policy.paths.values()}
        self._roster_cache: RosterCache | None = None

    @property
    def engine(self) -> Engine:
        """Itself (so an engine is a :class:`HasEngine` like a router)."""
        return self

    def roster(self, state: PoolState) -> RosterCache:
        """The roster index of ``state``'s reps (built on first use, then kept)."""
        cache = self._roster_cache
        if cache is None or cache.reps is not state.reps:
            cache = RosterCache(state.reps)
            self._roster_cache = cache
        return cache

    def run(self, state: PoolState, *, record: bool = True, ledger: Ledger | None = None) -> Run:
        """A working copy of ``state`` to route leads one by one (see :class:`Run`).

        ``ledger`` is where the pool data is read and written (default: a
        :class:`~leadroute.engine.ledger.MemoryLedger` over ``state``).
        """
        return Run(self, state, record=record, ledger=ledger)

    def assign(
        self,
        state: PoolState,
        batch: Sequence[Lead],
        now: datetime | None,
        *,
        record: bool = True,
        progress: Callable[[int, int], None] | None = None,
    ) -> RoutingResult:
        """Route ``batch`` (checked already) in processing order; the result in input order."""
        policy = self.policy
        run = Run(self, state, record=record)
        order = sorted(range(len(batch)), key=lambda i: order_key(batch[i]))
        run.ctx.batch = tuple(batch[i] for i in order)
        decisions: list[Decision | None] = [None] * len(batch)
        total = len(batch)
        logger.debug(
            "assign: %d leads, policy %s, state revision %d",
            total,
            policy.revision,
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
        result._bind(policy, state, run.recorder.drop_counts)
        return result

    def replay(
        self, state: PoolState, leads: Sequence[Lead], now: datetime | None = None
    ) -> Replayed:
        """Bulk routing for the policy lab, without audit records (see :data:`Replayed`).

        The same routing as :meth:`assign` (same order, same state). The
        inputs are checked as by ``assign``, except that leads closed in the
        state may be routed again (the lab's states hold the historical closes
        of the leads it routes, for learned strategies).
        """
        check_inputs(self.policy, state, leads, now, closed=False)
        run = Run(self, state, record=False)
        ordered = sorted(leads, key=order_key)
        run.ctx.batch = tuple(ordered)
        out: list[tuple[str, str | None, str, str, datetime]] = []
        latest = now
        for lead in ordered:
            at = now or lead.created_at
            if latest is None or at > latest:
                latest = at
            _t, _s, outcome, rep_id, _r, reason = run.decide(lead, at)
            out.append((lead.id, rep_id, outcome, reason, at))
        return (
            run.finish(latest),
            out,
            run.recorder.drop_counts,
            run.recorder.cap_hits_by_rep,
        )


class HasEngine(Protocol):
    """Anything routing through an :class:`Engine`: a :class:`~leadroute.Router`, an engine."""

    @property
    def engine(self) -> Engine:
        """The engine that routes."""
        ...


def check_inputs(
    policy: Policy,
    state: PoolState,
    batch: Sequence[Lead],
    now: datetime | None,
    closed: bool = True,
) -> None:
    """Refuse a call before anything is routed: bad ``now``, duplicate, open or closed leads,
    leads from the future, reps the policy names but the state lacks.

    ``closed=False`` lets closed leads be routed again (the lab's learned history).
    """
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
    named = policy.named_reps
    unknown = [r for r in named if r not in state.rep_index] if named else []
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


def order_key(lead: Lead) -> tuple[int, datetime, str]:
    """The processing order of a batch: highest priority, then oldest, then lead id."""
    return (-lead.priority, lead.created_at, lead.id)


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


#: What a route part produced: the candidates left, and a pick if it made one.
_Found = tuple[list[Rep], Pick | None]


class Run:
    """The working state of one call (never escapes it): the ledger, the recorder, the context."""

    def __init__(
        self,
        engine: Engine,
        state: PoolState,
        record: bool = True,
        ledger: Ledger | None = None,
    ) -> None:
        policy = engine.policy
        self.record = record
        self.policy = policy
        self.max_drops = policy.max_drops
        self.state = state
        cache = engine.roster(state)
        self.roster = cache.roster
        self.position = cache.position
        self.by_id = cache.by_id
        if ledger is None:
            ledger = MemoryLedger(state, cache.by_id)
        self.ledger: Ledger = ledger
        #: what the call wrote (set by :meth:`finish`)
        self.changes: ChangeSet | None = None
        self.recorder = Recorder(record, engine.reprs)
        self.indexes = cache.indexes
        self.index_of = cache.index_of
        if len(cache.memo) > MEMO_LIMIT:
            cache.memo.clear()
            cache.shared.clear()
        self.memo = cache.memo
        self.pairs = cache.pairs
        #: the engine side of each combinator at each path (made on first use)
        self.runners: dict[tuple[int, str], CombinatorRun] = {}
        self.ctx = ctx = RouteContext(
            state=state,
            seed=policy.seed,
            open_counts=ledger.open_counts,
            days=ledger.days,
            rotations=ledger.rotations,
            owners=ledger.owners,
            order=self.position,
            accounts=policy.accounts,
        )
        ctx.roster_memo = cache.shared
        ctx.explain = record
        self.inactive = len(state.reps) - len(self.roster)
        self._reprs = engine.reprs

    # -- one lead --------------------------------------------------------------------
    def route(self, lead: Lead, at: datetime, exclude: Iterable[str] = ()) -> Decision:
        """Route one lead through the rules, apply the outcome; its audit record."""
        trials, steps, outcome, rep_id, rule_id, reason = self.decide(lead, at, exclude)
        policy = self.policy
        values = {
            "decision_id": decision_id(policy.revision, lead.id, self.state.revision),
            "lead_id": lead.id,
            "at": at,
            "policy_revision": policy.revision,
            "state_revision": self.state.revision,
            "seed": policy.seed,
            "rules": self.recorder.trials_tuple(trials),
            "rule_id": rule_id,
            "steps": tuple(steps),
            "outcome": outcome,
            "rep_id": rep_id,
            "reason": reason,
            "facts": self.ctx.lead_facts,
        }
        return self.recorder.decision(values)

    def route_rule(
        self, rule: Rule, lead: Lead, at: datetime, exclude: Iterable[str] = ()
    ) -> Decision:
        """Route ``lead`` through ``rule``'s route alone (its ``when`` not checked), apply it."""
        ctx = self.ctx
        ctx._begin(lead, at, frozenset(exclude))
        steps: list[Step] = []
        pick = self._try(rule.id, rule.route, lead, steps)[1]
        outcome, reason, rep_id = pick_outcome(pick, "no_eligible_rep")
        self._apply(lead, at, outcome, rep_id, rule.id, reason)
        result = (
            "routed"
            if outcome == "assigned"
            else outcome
            if outcome == "manual_review"
            else "empty"
        )
        policy = self.policy
        return build(
            Decision,
            decision_id=decision_id(policy.revision, lead.id, self.state.revision),
            lead_id=lead.id,
            at=at,
            policy_revision=policy.revision,
            state_revision=self.state.revision,
            seed=policy.seed,
            rules=(build(RuleTrial, rule_id=rule.id, result=result, detail=""),),
            rule_id=rule.id,
            steps=tuple(steps),
            outcome=outcome,
            rep_id=rep_id,
            reason=reason,
            facts=dict(ctx.lead_facts),
        )

    def decide(
        self, lead: Lead, at: datetime, exclude: Iterable[str] = ()
    ) -> tuple[list[RuleTrial], list[Step], str, str | None, str | None, str]:
        """Route one lead and apply the outcome; the parts of its decision."""
        policy = self.policy
        ctx = self.ctx
        recorder = self.recorder
        pooled = self.ledger.pool.get(lead.id)
        excluded: frozenset[str] = frozenset(exclude)
        if pooled is not None and pooled.cooldown:
            excluded |= frozenset(r for r, until in pooled.cooldown.items() if until > at)
        ctx._begin(lead, at, excluded)
        trials: list[RuleTrial] = []
        steps: list[Step] = []
        reason = "no_rule_matched"
        rule_id: str | None = None
        pick: Pick | None = None
        for rule in policy.rules:
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
                trials.append(recorder.trial(rule.id, "manual_review" if pick.review else "routed"))
                break
            trials.append(recorder.trial(rule.id, "empty", "no eligible rep"))
            if rule.on_empty == "pool":
                rule_id = rule.id
                reason = "no_eligible_rep"
                break
        else:
            if policy.default is not None:
                found = self._try("default", policy.default, lead, steps)
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

    def finish(self, latest: datetime | None) -> PoolState:
        """The next state (see :meth:`Ledger.finish`); the change set is kept in :attr:`changes`."""
        done = self.ledger.finish(latest)
        self.changes = done.changes
        return done.state

    def _apply(
        self,
        lead: Lead,
        at: datetime,
        outcome: str,
        rep_id: str | None,
        rule_id: str | None,
        reason: str,
    ) -> None:
        if rep_id is not None:
            rep = self.by_id[rep_id]
            day = self.ctx.local_day(rep)[1]
            match = self.ctx.account_of(lead)
            account = None if match is None else match.key
            if self.ledger.open(lead, rep_id, day, at, rule_id, account):
                assert match is not None
                self.ctx._note_account(match)
            return
        self.ledger.leave_in_pool(lead, at, reason)

    def _try(self, rule_id: str, route: Strategy, lead: Lead, steps: list[Step]) -> _Found:
        ctx = self.ctx
        ctx.rule_id = rule_id
        cands = self.roster
        if ctx.excluded:
            kept = [r for r in cands if r.id not in ctx.excluded]
            steps.append(self.recorder.excluded_step(rule_id, cands, kept, ctx.excluded))
            cands = kept
        return self._run(route, f"{rule_id}:route", lead, cands, steps)

    def _run(
        self, node: Strategy, path: str, lead: Lead, cands: list[Rep], steps: list[Step]
    ) -> _Found:
        kind = KIND.get(type(node))
        if kind is None:
            kind = kind_of(node)
            KIND[type(node)] = kind
        if kind == COMBINATOR:
            key = (id(node), path)
            runner = self.runners.get(key)
            if runner is None:
                runner = self.runners[key] = CombinatorRun(self, node, path)  # type: ignore[arg-type]
            runner.lead = lead
            runner.steps = steps
            found: _Found = node.route(lead, cands, self.ctx, runner)  # type: ignore[attr-defined]
            if not runner.builtin:
                _check_routed(node, path, found)
            return found
        if kind == FILTER:
            return (self._filter(node, path, lead, cands, steps), None)  # type: ignore[arg-type]
        if kind == SELECTOR:
            return self._select(node, path, lead, cands, steps)  # type: ignore[arg-type]
        msg = f"{node!r} at {path} is neither a filter, a selector nor a combinator"
        raise TypeError(msg)

    def _index(self, flt: Filter) -> Index:
        idx = self.index_of.get(id(flt))
        if idx is None:
            # by identity, not repr: a repr may hide parameters
            key = (type(flt), canonical_json(flt.identity()))
            idx = self.indexes.get(key)
            if idx is None:
                idx = Index(flt, self.roster, self.position)
                self.indexes[key] = idx
            self.index_of[id(flt)] = idx
        return idx

    def _filter(
        self, flt: Filter, path: str, lead: Lead, cands: list[Rep], steps: list[Step]
    ) -> list[Rep]:
        ctx = self.ctx
        ctx.path = path
        limit = self.max_drops
        if flt.indexable:
            keys = flt.lead_keys(lead)
            memo: tuple[int, int, tuple[str, ...]] | None = None
            if keys is None:
                kept = cands
                drops: list[Drop] = []
                unlisted = 0
            elif cands is self.roster or isinstance(cands, Indexed):
                memo = (cands.memo if isinstance(cands, Indexed) else 0, id(flt), keys)
                cached = self.memo.get(memo)
                if cached is None:
                    cached = self._narrow(flt, keys, cands)
                    if not cached.memo:
                        cached.memo = next(SERIALS)
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
                steps.append(self.recorder.filter_step(path, flt, cands, kept, drops, unlisted))
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
            self.recorder.tally(drops)
            return out.kept
        unlisted = out.unlisted
        if len(drops) > limit:
            unlisted += len(drops) - limit
            drops = drops[:limit]
        steps.append(
            self.recorder.filter_step(path, flt, cands, out.kept, drops, unlisted, out.note)
        )
        return out.kept

    def _narrow(self, flt: Filter, keys: tuple[str, ...], cands: list[Rep]) -> Indexed:
        """Index answer for ``flt`` over the roster or an index-narrowed list of it."""
        idx = self._index(flt)
        if cands is self.roster:
            found = idx.lookup(keys)
            if found.origin is None:
                found.origin = (flt, keys)
            return found
        origin = cands.origin if isinstance(cands, Indexed) else None
        if origin is not None and not idx.match_all and not self._index(origin[0]).match_all:
            # the candidates are one index answer over the roster: answer both filters at once
            # from a (first key, second key) index, so no rep is looked at one by one
            return self._pair(origin[0], origin[1], flt, keys)
        keyset = frozenset(keys)
        keys_of = idx.keys_by_obj
        if idx.match_all:
            return Indexed([r for r in cands if keyset.issubset(keys_of[id(r)])])
        return Indexed([r for r in cands if not keyset.isdisjoint(keys_of[id(r)])])

    def _pair(
        self, first: Filter, first_keys: tuple[str, ...], second: Filter, keys: tuple[str, ...]
    ) -> Indexed:
        pair = self.pairs.get((id(first), id(second)))
        if pair is None:
            a, b = self._index(first), self._index(second)
            pair = {}
            for rep in self.roster:
                for k1 in a.keys_by_obj[id(rep)]:
                    for k2 in b.keys_by_obj[id(rep)]:
                        cell = pair.get((k1, k2))
                        if cell is None:
                            cell = pair[(k1, k2)] = Indexed(memo=next(SERIALS))
                        cell.append(rep)
            self.pairs[(id(first), id(second))] = pair
        cells = [pair.get((k1, k2)) for k1 in first_keys for k2 in keys]
        return merge([c for c in cells if c is not None], self.position)

    def _select(
        self, sel: Selector, path: str, lead: Lead, cands: list[Rep], steps: list[Step]
    ) -> _Found:
        ctx = self.ctx
        ctx.path = path
        pick = sel.select(lead, cands, ctx) if cands else None
        builtin = type(sel) in PLAIN_RATIONALE
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
            self.ledger.rotate(path, pick.rep.id, pick.credits)
        if self.record:
            steps.append(self.recorder.selector_step(path, sel, cands, pick, builtin))
        return ([] if pick is None else cands, pick)


_STEP_KINDS = frozenset({"filter", "selector", "fallback", "tier", "note"})


class CombinatorRun:
    """The engine side of the :class:`~leadroute.strategies.Combinator` contract (its ``run``).

    One per combinator and path in a call: :meth:`child` routes part ``i``
    (filters and selectors dispatched directly), :meth:`record` adds a step to
    the current lead's audit. Implements :class:`~leadroute.strategies.Runner`.
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

    def __init__(self, run: Run, node: Combinator, path: str) -> None:
        self.run = run
        self.node = node
        self.path = path
        self.builtin = node._builtin
        self.plan = [(kind_of(child), child, f"{path}{suffix}") for suffix, child in node.parts()]
        self.max_drops = run.max_drops
        self.recording = run.record
        self.lead: Lead | None = None
        self.steps: list[Step] = []

    def child(self, index: int, candidates: list[Rep]) -> _Found:
        """Route ``candidates`` through part ``index``."""
        try:
            kind, child, path = self.plan[index]
        except (IndexError, TypeError):
            msg = (
                f"{self.node!r} at {self.path}: run.child({short_repr(index)}): "
                f"it has {len(self.plan)} parts"
            )
            raise StrategyError(msg, field="route") from None
        run = self.run
        lead: Lead = self.lead  # type: ignore[assignment]
        if kind == FILTER:
            return (run._filter(child, path, lead, candidates, self.steps), None)  # type: ignore[arg-type]
        if kind == SELECTOR:
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
        """Add a step at ``path + suffix`` to the lead's audit."""
        if not self.builtin:
            _check_record(
                self, suffix, note, kind, strategy, candidates_in, candidates_out, unlisted, dropped
            )
        node = self.node
        self.steps.append(
            self.run.recorder.combinator_step(
                self.path + suffix,
                strategy if strategy is not None else (self.run._reprs.get(id(node)) or repr(node)),
                kind,
                candidates_in,
                candidates_in if candidates_out is None else candidates_out,
                tuple(dropped),
                unlisted,
                note,
            )
        )


def _check_record(
    runner: CombinatorRun,
    suffix: object,
    note: object,
    kind: object,
    strategy: object,
    n_in: object,
    n_out: object,
    unlisted: object,
    dropped: Sequence[object],
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


def _check_routed(node: Strategy, path: str, found: object) -> None:
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
