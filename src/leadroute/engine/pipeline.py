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
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from leadroute.audit import Decision, DecisionInputs, Drop, ReplayResult, RuleTrial, Step
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
from leadroute.engine.recorder import (
    FILTER_STEP,
    INDEX,
    PLACEHOLDER,
    PLAIN_RATIONALE,
    ROTATION,
    SELECTOR_STEP,
    SERVED,
    IdSets,
    LeadReads,
    Recorder,
    call_digest,
    decision_id,
    differences,
    inputs_of,
    out_reasons,
    picked_parts,
    replay_state,
    roster_step,
    settle,
)
from leadroute.engine.replay import ReplayPlan
from leadroute.exceptions import (
    DuplicateLeadError,
    FutureLeadError,
    InputError,
    LeadAlreadyClosedError,
    LeadAlreadyOpenError,
    LeadrouteError,
    StrategyError,
    UnknownRepError,
)
from leadroute.fast import build
from leadroute.hashing import canonical_json
from leadroute.limits import FUTURE_TOLERANCE, MAX_CLOCK_JUMP, check_datetime, short_repr
from leadroute.models import Lead, Rep
from leadroute.policy import Policy, Rule
from leadroute.result import Assignment, RoutingResult, assignment_of, assignments_of
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
    "Made",
    "Pending",
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

#: One lead's decision as the run made it, before any audit record is built (a plain tuple:
#: at 200,000 leads a call keeps one per lead). Fields by position, see the ``M_*`` names.
Made = tuple[Any, ...]
M_SEQ, M_LEAD, M_AT, M_RULES, M_RULE, M_STEPS = 0, 1, 2, 3, 4, 5
M_OUTCOME, M_REP, M_REASON, M_FACTS, M_READS, M_EXCLUDED, M_DAY = 6, 7, 8, 9, 10, 11, 12
#: In a lazy run (see :attr:`Run.lazy`) the steps and reads of every lead go to one log per
#: call (no list kept per lead: fewer objects for the garbage collector to walk); the record
#: then holds where its part of each log starts (``M_STEPS``, ``M_READS``) and ends.
M_STEPS_END, M_READS_END = 13, 14
#: In a batch run (see :attr:`Run.slim`) a record holds no reference to another object as
#: long as the lead read no facts, so the collector stops tracking it: the lead is
#: ``ctx.batch[seq]`` (``M_LEAD`` is None), a shared rule trial is its number and an empty
#: exclusion None. :meth:`Run.unpack` gives the record with its objects.


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

    def run(
        self,
        state: PoolState,
        *,
        record: bool = True,
        ledger: Ledger | None = None,
        call: str = "",
        made_by: str = "assign",
    ) -> Run:
        """A working copy of ``state`` to route leads one by one (see :class:`Run`).

        ``ledger`` is where the pool data is read and written (default: a
        :class:`~leadroute.engine.ledger.MemoryLedger` over ``state``).
        ``call`` names the call in decision ids (see :func:`call_digest`) and
        ``made_by`` is what the decisions' inputs say made them.
        """
        return Run(self, state, record=record, ledger=ledger, call=call, made_by=made_by)

    def assign(
        self,
        state: PoolState,
        batch: Sequence[Lead],
        now: datetime | None,
        *,
        record: bool = True,
        progress: Callable[[int, int], None] | None = None,
    ) -> RoutingResult:
        """Route ``batch`` (checked already) in processing order; the result in input order.

        The result's assignments and audit records are built from the run's
        compact per-lead records when first read (see :class:`Pending`).
        """
        policy = self.policy
        run, made, order = self._route_batch(state, batch, now, record, progress)
        total = len(batch)
        if logger.isEnabledFor(logging.INFO):
            placed = sum(1 for m in made if m[M_REP] is not None)
            logger.info("assign: %d leads, %d assigned, %d not", total, placed, total - placed)
        latest: datetime | None = now
        if latest is None:
            for lead in batch:
                if latest is None or lead.created_at > latest:
                    latest = lead.created_at
        new_state = run.finish(latest)
        pending = Pending(run, made, order)
        result = RoutingResult._pending(new_state)
        result._bind(policy, state, run.recorder.drop_counts, pending)
        return result

    def _route_batch(
        self,
        state: PoolState,
        batch: Sequence[Lead],
        now: datetime | None,
        record: bool,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[Run, list[Made], list[int]]:
        """Route ``batch`` in processing order: the run, each lead's record (processing
        order), the processing order (indexes into ``batch``).

        The one routing loop of :meth:`assign` (either audit) and the lab's :meth:`replay`.
        """
        policy = self.policy
        order = sorted(range(len(batch)), key=lambda i: order_key(batch[i]))
        call = call_digest(
            "assign", policy.revision, state.revision, now, (batch[i].id for i in order)
        )
        run = Run(self, state, record=record, call=call)
        # what each decision read is settled when its record is first read (the memory
        # ledger's writes are replayed forward from the input state then)
        run.lazy = record and type(run.ledger) is MemoryLedger
        run.ctx.batch = tuple(batch[i] for i in order)
        run.slim = True
        made: list[Made] = []
        total = len(batch)
        logger.debug(
            "assign: %d leads, policy %s, state revision %d",
            total,
            policy.revision,
            state.revision,
        )
        route = run.made
        for done, i in enumerate(order, 1):
            lead = batch[i]
            made.append(route(lead, now or lead.created_at))
            if progress is not None and done % PROGRESS_EVERY == 0 and done != total:
                progress(done, total)
        if progress is not None:
            progress(total, total)
        return run, made, order

    def replay(
        self, state: PoolState, leads: Sequence[Lead], now: datetime | None = None
    ) -> Replayed:
        """Bulk routing for the policy lab, without audit records (see :data:`Replayed`).

        The same engine path as :meth:`assign` with ``record=False``; the rows
        come in processing order. The inputs are checked as by ``assign``,
        except that leads closed in the state may be routed again (the lab's
        states hold the historical closes of the leads it routes, for learned
        strategies).
        """
        check_inputs(self.policy, state, leads, now, closed=False)
        run, made, _order = self._route_batch(state, leads, now, record=False)
        out: list[tuple[str, str | None, str, str, datetime]] = [
            (run.lead_of(m).id, m[M_REP], m[M_OUTCOME], m[M_REASON], m[M_AT]) for m in made
        ]
        latest = now
        if latest is None:
            for lead in leads:
                if latest is None or lead.created_at > latest:
                    latest = lead.created_at
        return (
            run.finish(latest),
            out,
            run.recorder.drop_counts,
            run.recorder.cap_hits_by_rep,
        )

    def replay_decision(self, decision: Decision, plan: ReplayPlan | None = None) -> ReplayResult:
        """Re-derive ``decision`` from its inputs alone (see :meth:`leadroute.Router.replay`).

        ``plan`` says how a decision made and amended by ``reclaim`` or
        ``transfer_accounts`` is replayed (see :class:`ReplayPlan`); without
        one only decisions of ``assign`` replay.
        """
        inputs = decision.inputs

        def fail(*why: str) -> ReplayResult:
            return build(
                ReplayResult,
                decision_id=decision.decision_id,
                lead_id=decision.lead_id,
                identical=False,
                differences=why,
            )

        if plan is not None and plan.refused:
            return fail(plan.refused)
        if inputs is None:
            return fail(
                "inputs: the decision holds no inputs (made with audit='outcome' or by an "
                "older version), so it cannot be replayed alone"
            )
        expected = "assign" if plan is None else plan.made_by
        if inputs.made_by != expected:
            return fail(
                f"inputs.made_by: made by {inputs.made_by}; replayed here as a decision "
                f"of {expected} (Router.replay replays decisions of assign, reclaim and "
                "transfer_accounts)"
            )
        revision = self.policy.revision
        if decision.policy_revision != revision:
            return fail(
                f"policy_revision: recorded {decision.policy_revision}, this policy is "
                f"{revision}; give the rules that made the decision"
            )
        if inputs.lead.id != decision.lead_id:
            return fail(
                f"inputs.lead.id: {inputs.lead.id!r} is not the decision's lead "
                f"{decision.lead_id!r}"
            )
        try:
            state = replay_state(decision, inputs)
            run = Run(self, state, call=inputs.call, made_by=inputs.made_by, replay=inputs)
            run.seq = inputs.seq
            if plan is not None and plan.rule_id is not None:
                rule = next((r for r in self.policy.rules if r.id == plan.rule_id), None)
                if rule is None:
                    return fail(f"rule_id: this policy has no rule {plan.rule_id!r}")
                replayed = run.route_rule(rule, inputs.lead, decision.at, inputs.excluded)
            else:
                replayed = run.route(inputs.lead, decision.at, inputs.excluded)
            if plan is not None and plan.amend is not None:
                replayed = plan.amend(replayed)
        except (LeadrouteError, KeyError, IndexError) as exc:
            if isinstance(exc, InputError) and (exc.field or "").startswith("inputs."):
                return fail(str(exc))  # the record lacks what the route read (it says what)
            return fail(f"replay failed: {type(exc).__name__}: {exc}")
        if replayed.model_dump_json() == decision.model_dump_json():
            return build(
                ReplayResult,
                decision_id=decision.decision_id,
                lead_id=decision.lead_id,
                identical=True,
                replayed=replayed,
            )
        found = differences(decision.model_dump(mode="json"), replayed.model_dump(mode="json"))
        assert replayed.inputs is not None
        unread = [r.id for r in replayed.inputs.reps if r.id.startswith(PLACEHOLDER)]
        if unread:
            found.insert(0, f"the replay read {len(unread)} reps the record does not hold")
        return build(
            ReplayResult,
            decision_id=decision.decision_id,
            lead_id=decision.lead_id,
            identical=False,
            differences=tuple(found) or ("the JSON differs",),
            replayed=replayed,
        )


class Pending:
    """A call's assignments and audit records, built from its compact records when first read.

    Holds the run (its input state, call hash and recorder) until both are built.
    """

    __slots__ = ("_assignments", "_audit", "_lock", "made", "order", "run")

    def __init__(self, run: Run, made: list[Made], order: list[int]) -> None:
        #: two threads reading one result build its records once
        self._lock = threading.Lock()
        self.run: Run | None = run
        #: the records in processing order, and the input position of each
        self.made = made
        self.order = order
        self._assignments: tuple[Assignment, ...] | None = None
        self._audit: tuple[Decision, ...] | None = None

    def _in_input_order(self) -> list[Made]:
        out: list[Made] = [()] * len(self.made)
        for m, i in zip(self.made, self.order, strict=True):
            out[i] = m
        return out

    def assignments(self) -> tuple[Assignment, ...]:
        """The assignments, in input order."""
        found = self._assignments
        if found is not None:
            return found
        with self._lock:
            return self._make_assignments()

    def _make_assignments(self) -> tuple[Assignment, ...]:
        if self._assignments is None:
            if self._audit is not None:
                self._assignments = assignments_of(self._audit)
            else:
                run = self.run
                assert run is not None
                lead_of = run.lead_of
                self._assignments = tuple(
                    assignment_of(lead_of(m).id, m[M_REP], m[M_RULE], m[M_OUTCOME], m[M_REASON])
                    for m in self._in_input_order()
                )
        return self._assignments

    def audit(self) -> tuple[Decision, ...]:
        """The decision records, in input order (what each read settled first)."""
        found = self._audit
        if found is not None:
            return found
        with self._lock:
            return self._make_audit()

    def _make_audit(self) -> tuple[Decision, ...]:
        if self._audit is None:
            run = self.run
            assert run is not None
            self.made = [run.unpack(m) for m in self.made]
            if run.lazy:
                settle(run.state, ((m[M_READS], m[M_REP], m[M_DAY]) for m in self.made))
            decide = run.decision
            self._audit = tuple(decide(m) for m in self._in_input_order())
            if self._assignments is None:
                self._assignments = assignments_of(self._audit)
            self.run = None
            self.made = []
        return self._audit


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


#: no rep excluded (one shared set: most leads exclude nobody)
_NOBODY: frozenset[str] = frozenset()

#: What a route part produced: the candidates left, and a pick if it made one.
_Found = tuple[list[Rep], Pick | None]

#: the key of the out-of-roster reasons in a roster's shared scratch dict
_OUT = ("leadroute.engine", "out")


class Run:
    """The working state of one call (never escapes it): the ledger, the recorder, the context."""

    def __init__(
        self,
        engine: Engine,
        state: PoolState,
        record: bool = True,
        ledger: Ledger | None = None,
        *,
        call: str = "",
        made_by: str = "assign",
        replay: DecisionInputs | None = None,
    ) -> None:
        policy = engine.policy
        self.record = record
        #: whether what each decision read is settled later from the input state (set by the
        #: engine for a memory ledger's full-audit batch): reads keep references and events only
        self.lazy = False
        self.policy = policy
        self.max_drops = policy.max_drops
        self.state = state
        #: the call's hash and the next decision's place in it (the decision ids)
        self.call = call or call_digest(made_by, policy.revision, state.revision, None, ())
        self.made_by = made_by
        self.seq = 0
        #: what the current lead's route read (full audit only)
        self.reads: LeadReads | None = None
        #: whether records leave out what a batch run can find again (see :data:`Made`)
        self.slim = False
        #: a lazy run's logs of what every lead read and of their steps (see :data:`Made`)
        self.read_log = LeadReads()
        self.step_log: list[Any] = []
        #: the inputs of the decision being replayed (index answers come from them)
        self.replay = replay
        # a replay's made-up roster is never kept as the engine's roster index
        cache = RosterCache(state.reps) if replay is not None else engine.roster(state)
        self.roster = cache.roster
        out = cache.shared.get(_OUT)
        if out is None:
            out = cache.shared[_OUT] = out_reasons(state.reps)
        #: rep id -> (``inactive`` / ``paused``, place) for the reps kept out of the roster
        self.out: dict[str, tuple[str, int]] = out
        self.id_sets: IdSets = {}
        self.roster_steps: dict[str, Step] = {}
        #: rule id -> the audit path of its route
        self.route_paths: dict[str, str] = {}
        #: (path, index memo key) -> (the index answer, its shared step)
        self.index_steps: dict[tuple[str, tuple[int, int, tuple[str, ...]]], tuple[Indexed, Step]] = {}
        #: replay: the stand-ins for reps the decision never looked at
        self.stand_ins = (
            [r for r in cache.roster if r.id.startswith(PLACEHOLDER)] if replay is not None else []
        )
        self.position = cache.position
        self.by_id = cache.by_id
        if ledger is None:
            ledger = MemoryLedger(state, cache.by_id)
        self.ledger: Ledger = ledger
        #: whether the ledger never changes a day-count mapping it handed out (records share them)
        self.shared_days = type(ledger) is MemoryLedger
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
        if replay is not None:
            # learned figures come from the record (RouteContext.learned), not the history
            ctx._recorded = replay.learned
        self.inactive = len(state.reps) - len(self.roster)
        self._reprs = engine.reprs

    # -- one lead --------------------------------------------------------------------
    def next_id(self, lead_id: str) -> str:
        """A decision id for a decision of this call made without routing (a recycle move)."""
        seq = self.seq
        self.seq += 1
        return decision_id(self.call, seq, lead_id)

    def begin(self, lead: Lead, at: datetime, excluded: frozenset[str]) -> int:
        """Start one lead's decision: the context, the reads, the decision's place in the call."""
        self.ctx._begin(lead, at, excluded)
        if self.record:
            self.reads = self.ctx._reads = LeadReads()
            if self.replay is not None:
                self.ctx._names = {k: v for k, v in self.replay.names.items() if v is not None}
        seq = self.seq
        self.seq += 1
        return seq

    def inputs(
        self,
        lead: Lead,
        seq: int,
        reads: LeadReads | None = None,
        excluded: frozenset[str] | None = None,
    ) -> DecisionInputs | None:
        """What a lead's route read (None without the full audit); the current lead's by default."""
        if reads is None:
            reads = self.reads
            excluded = self.ctx.excluded
        if reads is None:
            return None
        return inputs_of(
            reads,
            call=self.call,
            seq=seq,
            made_by=self.made_by,
            lead=lead,
            excluded=excluded or (),
            roster_size=len(self.state.reps),
            position=self.position,
            out=self.out,
            id_sets=self.id_sets,
        )

    def made(self, lead: Lead, at: datetime, exclude: Iterable[str] = ()) -> Made:
        """Route one lead through the rules and apply the outcome; its compact record."""
        seq = self.seq
        lazy = self.lazy
        if lazy:
            read_at, step_at = len(self.read_log), len(self.step_log)
        trials, steps, outcome, rep_id, rule_id, reason, day = self.decide(lead, at, exclude)
        ctx = self.ctx
        slim = self.slim
        excluded = ctx.excluded
        return (
            seq,
            None if slim else lead,
            at,
            self.recorder.trials_ref(trials) if slim else self.recorder.trials_tuple(trials),
            rule_id,
            step_at if lazy else steps if steps else (),
            outcome,
            rep_id,
            reason,
            ctx.lead_facts or None,
            read_at if lazy else self.reads,
            None if slim and excluded is _NOBODY else excluded,
            day,
            len(self.step_log) if lazy else None,
            len(self.read_log) if lazy else None,
        )

    def lead_of(self, made: Made) -> Lead:
        """The lead of a record (a batch run's is found by its place in the batch)."""
        lead: Lead | None = made[M_LEAD]
        return self.ctx.batch[made[M_SEQ]] if lead is None else lead

    def unpack(self, made: Made) -> Made:
        """A record with its objects: a batch run's lead, trials and exclusion, a lazy run's
        steps and reads taken out of the call's logs."""
        if not self.slim:
            return made
        steps, reads = made[M_STEPS], made[M_READS]
        if made[M_READS_END] is not None:
            reads = LeadReads(self.read_log[reads : made[M_READS_END]])
            steps = self.step_log[steps : made[M_STEPS_END]]
        excluded = made[M_EXCLUDED]
        return (
            made[M_SEQ],
            self.lead_of(made),
            made[M_AT],
            self.recorder.trials_of(made[M_RULES]),
            made[M_RULE],
            steps,
            *made[M_OUTCOME:M_READS],
            reads,
            _NOBODY if excluded is None else excluded,
            made[M_DAY],
            None,
            None,
        )

    def route(self, lead: Lead, at: datetime, exclude: Iterable[str] = ()) -> Decision:
        """Route one lead through the rules, apply the outcome; its audit record."""
        lazy = self.lazy
        self.lazy = False
        try:
            made = self.made(lead, at, exclude)
        finally:
            self.lazy = lazy
        return self.decision(made)

    def decision(self, made: Made) -> Decision:
        """The audit record of a lead's compact record (its reads settled already)."""
        policy = self.policy
        lead: Lead = made[M_LEAD]
        seq: int = made[M_SEQ]
        reads: LeadReads | None = made[M_READS]
        values = {
            "decision_id": decision_id(self.call, seq, lead.id),
            "lead_id": lead.id,
            "at": made[M_AT],
            "policy_revision": policy.revision,
            "state_revision": self.state.revision,
            "seed": policy.seed,
            "rules": made[M_RULES],
            "rule_id": made[M_RULE],
            "steps": self.recorder.steps(made[M_STEPS]),
            "outcome": made[M_OUTCOME],
            "rep_id": made[M_REP],
            "reason": made[M_REASON],
            "facts": made[M_FACTS] or {},
            "inputs": None if reads is None else self.inputs(lead, seq, reads, made[M_EXCLUDED]),
        }
        return self.recorder.decision(values)

    def route_rule(
        self, rule: Rule, lead: Lead, at: datetime, exclude: Iterable[str] = ()
    ) -> Decision:
        """Route ``lead`` through ``rule``'s route alone (its ``when`` not checked), apply it."""
        ctx = self.ctx
        seq = self.begin(lead, at, frozenset(exclude))
        steps: list[Step] = []
        pick = self._try(rule.id, rule.route, lead, steps)[1]
        outcome, reason, rep_id = pick_outcome(pick, "no_eligible_rep")
        if self.reads is not None:
            self.reads.snapshot(self.ledger.open_counts, self.ledger.days, self.shared_days)
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
            decision_id=decision_id(self.call, seq, lead.id),
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
            inputs=self.inputs(lead, seq),
        )

    def decide(
        self, lead: Lead, at: datetime, exclude: Iterable[str] = ()
    ) -> tuple[list[RuleTrial], list[Step], str, str | None, str | None, str, str | None]:
        """Route one lead and apply the outcome; the parts of its decision and the local day
        it was counted on (None if it was not assigned)."""
        policy = self.policy
        recorder = self.recorder
        pooled = self.ledger.pool.get(lead.id)
        excluded: frozenset[str] = frozenset(exclude) if exclude else _NOBODY
        if pooled is not None and pooled.cooldown:
            excluded |= frozenset(r for r, until in pooled.cooldown.items() if until > at)
        # (begin, inlined: it runs once per lead)
        ctx = self.ctx
        ctx._begin(lead, at, excluded)
        lazy = self.lazy
        if self.record:
            self.reads = ctx._reads = self.read_log if lazy else LeadReads()
            if self.replay is not None:
                ctx._names = {k: v for k, v in self.replay.names.items() if v is not None}
        self.seq += 1
        trials: list[RuleTrial] = []
        steps: list[Step] = self.step_log if lazy else []
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
        if self.reads is not None and not self.lazy:
            self.reads.snapshot(self.ledger.open_counts, self.ledger.days, self.shared_days)
        day = self._apply(lead, at, outcome, rep_id, rule_id, reason)
        return trials, steps, outcome, rep_id, rule_id, reason, day

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
    ) -> str | None:
        if rep_id is not None:
            rep = self.by_id[rep_id]
            day = self.ctx.local_day(rep)[1]
            match = self.ctx.account_of(lead)
            account = None if match is None else match.key
            owned = self.ledger.open(lead, rep_id, day, at, rule_id, account)
            self.ctx._load_changed(rep_id)
            if owned:
                assert match is not None
                self.ctx._note_account(match)
            return day
        self.ledger.leave_in_pool(lead, at, reason)
        return None

    def _try(self, rule_id: str, route: Strategy, lead: Lead, steps: list[Step]) -> _Found:
        ctx = self.ctx
        ctx.rule_id = rule_id
        cands = self.roster
        if self.out and self.record:
            step = self.roster_steps.get(rule_id)
            if step is None:
                step = self.roster_steps[rule_id] = roster_step(
                    f"{rule_id}:roster", len(self.state.reps), self.out, self.max_drops
                )
            steps.append(step)
        if ctx.excluded:
            if self.reads is not None:
                self.reads.append(cands)
            kept = [r for r in cands if r.id not in ctx.excluded]
            if self.record:
                steps.append(self.recorder.excluded_step(rule_id, cands, kept, ctx.excluded))
            cands = kept
        path = self.route_paths.get(rule_id)
        if path is None:
            path = self.route_paths[rule_id] = f"{rule_id}:route"
        return self._run(route, path, lead, cands, steps)

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
                if self.replay is not None:
                    cached = self._recorded(path)
                else:
                    memo = (cands.memo if isinstance(cands, Indexed) else 0, id(flt), keys)
                    found = self.memo.get(memo)
                    if found is None:
                        found = self._narrow(flt, keys, cands)
                        if not found.memo:
                            found.memo = next(SERIALS)
                        self.memo[memo] = found
                    if not self.record:
                        return found  # (nothing to record: the answer is all there is)
                    cached = found
                    # the same answer at the same path: the same shared step
                    shared = self.index_steps.get((path, memo))
                    if shared is not None and shared[0] is found:
                        if self.reads is not None:
                            self.reads.extend((INDEX, path, found))
                        steps.append(shared[1])
                        return found
                if self.reads is not None:
                    self.reads.extend((INDEX, path, cached))
                kept = cached
                drops = []
                unlisted = len(cands) - len(kept)
                if self.record and memo is not None:
                    step = self.recorder.filter_step(path, flt, len(cands), len(kept), drops, unlisted)
                    self.index_steps[(path, memo)] = (cached, step)
                    steps.append(step)
                    return kept
            else:
                if self.reads is not None:
                    self.reads.append(cands)
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
                steps.append(
                    self.recorder.filter_step(path, flt, len(cands), len(kept), drops, unlisted)
                )
            return kept
        if self.reads is not None:
            self.reads.append(cands)
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
            if drops:
                self.recorder.tally(drops)
            return out.kept
        unlisted = out.unlisted
        if len(drops) > limit:
            unlisted += len(drops) - limit
            drops = drops[:limit]
        if drops and self.lazy and flt._builtin:
            # built when the audit is read (a built-in never changes its drop lists)
            held: Any = (FILTER_STEP, path, flt, len(cands), len(out.kept), drops, unlisted, out.note)
            steps.extend(held)
        else:
            steps.append(
                self.recorder.filter_step(
                    path, flt, len(cands), len(out.kept), drops, unlisted, out.note
                )
            )
        return out.kept

    def _recorded(self, path: str) -> Indexed:
        """Replay: the answer an index-answered step gave, as the decision recorded it."""
        assert self.replay is not None
        count = self.replay.index.get(path)
        if count is None:
            return Indexed(memo=next(SERIALS))
        by_id = self.by_id
        found = [by_id[r] for r in self.replay.index_reps.get(path, ()) if r in by_id]
        found.extend(self.stand_ins[: max(count - len(found), 0)])
        return Indexed(found, memo=next(SERIALS))

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
            position = self.position
            for rep in self.roster:
                for k1 in a.keys_by_obj[id(rep)]:
                    for k2 in b.keys_by_obj[id(rep)]:
                        cell = pair.get((k1, k2))
                        if cell is None:
                            cell = pair[(k1, k2)] = Indexed(memo=next(SERIALS))
                        cell.add(rep, position[rep.id])
            for cell in pair.values():
                cell.freeze()
            self.pairs[(id(first), id(second))] = pair
        cells = [pair.get((k1, k2)) for k1 in first_keys for k2 in keys]
        return merge([c for c in cells if c is not None], self.position)

    def _select(
        self, sel: Selector, path: str, lead: Lead, cands: list[Rep], steps: list[Step]
    ) -> _Found:
        ctx = self.ctx
        ctx.path = path
        reads = self.reads
        if reads is not None and cands:
            reads.append(cands)
            if self.lazy:
                reads.extend((ROTATION, path, cands))
            else:
                mem = self.ledger.rotations.get(path)
                if mem is None:
                    reads.rotation(path, 0, {}, {}, cands)
                else:
                    reads.rotation(path, mem.turn, mem.last_served, mem.credits, cands)
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
            if reads is not None and self.lazy:
                reads.extend((SERVED, path, pick.rep.id, pick.credits))
        if self.record:
            if self.lazy and builtin:
                # built when the audit is read (a built-in's pick and rationale never change)
                # (not the pick itself: one object less kept per lead)
                held: Any = (SELECTOR_STEP, path, sel, len(cands), *picked_parts(pick, True))
                steps.extend(held)
            else:
                steps.append(self.recorder.selector_step(path, sel, len(cands), pick, builtin))
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

    def chain(self, candidates: list[Rep]) -> _Found:
        """Route ``candidates`` through every part in order (see ``Runner.chain``)."""
        run = self.run
        lead: Lead = self.lead  # type: ignore[assignment]
        steps = self.steps
        for kind, child, path in self.plan:
            if kind == FILTER:
                candidates = run._filter(child, path, lead, candidates, steps)  # type: ignore[arg-type]
                if not candidates:
                    return (candidates, None)
                continue
            if kind == SELECTOR:
                found = run._select(child, path, lead, candidates, steps)  # type: ignore[arg-type]
            else:
                found = run._run(child, path, lead, candidates, steps)
            if found[1] is not None or not found[0]:
                return found
            candidates = found[0]
        return (candidates, None)

    def read(self, candidates: list[Rep]) -> None:
        """The combinator looked at ``candidates`` (their records join a replayable decision)."""
        reads = self.run.reads
        if reads is not None:
            reads.append(candidates)

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
        if not self.recording:
            return  # audit="outcome": decisions hold no steps
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
