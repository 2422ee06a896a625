"""Building the audit: decision records, steps, shared trial records, and the lab's tallies.

It also keeps what each decision read: while routing with the full audit the
pipeline notes, per lead, the candidate lists strategies looked at one by one,
the answers of index-answered steps, rotation memory, counters and account
lookups (as references and compact tuples, :class:`LeadReads`);
:func:`inputs_of` turns them into the decision's
:class:`~leadroute.audit.DecisionInputs`, from which :func:`replay_state`
rebuilds the state a decision is replayed on. Decision ids are unique per
decision (:func:`decision_id` over :func:`call_digest` and the place in the call).

The pipeline hands the recorder what happened (candidates in and out, drops,
picks); the recorder turns it into :class:`~leadroute.audit.Step`,
:class:`~leadroute.audit.RuleTrial` and :class:`~leadroute.audit.Decision`
records, sharing the frozen records that are the same for many leads. Without
a recorded audit (``record=False``) it only counts drops for the policy lab.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from leadroute.audit import (
    Decision,
    DecisionInputs,
    Drop,
    RuleTrial,
    Step,
)
from leadroute.context import RotationMemory
from leadroute.engine.ledger import count_open, rotation_memories
from leadroute.fast import assemble, build
from leadroute.hashing import canonical_json
from leadroute.models import Lead, Rep
from leadroute.state import PoolState, RepLoad, Rotation
from leadroute.strategies.base import Pick, Selector, Strategy
from leadroute.strategies.scoring import BestFit
from leadroute.strategies.selectors import (
    AssignTo,
    LeastLoaded,
    ManualReview,
    RandomPick,
    RoundRobin,
    Weighted,
)

__all__ = [
    "CAP_CODES",
    "FILTER_STEP",
    "INDEX",
    "PLACEHOLDER",
    "PLAIN_RATIONALE",
    "ROTATION",
    "SELECTOR_STEP",
    "SERVED",
    "IdSets",
    "LeadReads",
    "Recorder",
    "call_digest",
    "decision_id",
    "differences",
    "inputs_of",
    "jsonable",
    "out_reasons",
    "picked_parts",
    "plain",
    "replay_state",
    "roster_step",
    "settle",
]

#: Drop codes of the capacity caps (counted per rep by the policy lab).
CAP_CODES = frozenset({"capacity", "daily_cap", "period_cap"})


_FILTER_STEP_SET = {
    "path",
    "strategy",
    "kind",
    "candidates_in",
    "candidates_out",
    "dropped",
    "unlisted",
}
_SELECTOR_STEP_SET = {
    "path",
    "strategy",
    "kind",
    "candidates_in",
    "candidates_out",
    "picked",
    "rationale",
}
_DECISION_SET = set(Decision.model_fields)


class Recorder:
    """The audit records of one call (and, without them, the lab's drop tallies)."""

    def __init__(self, record: bool, reprs: Mapping[int, str]) -> None:
        self.record = record
        self.drop_counts: dict[str, int] = {}
        #: capacity drops per rep id (kept without the audit, for the policy lab)
        self.cap_hits_by_rep: dict[str, int] = {}
        #: shared trial records without lead-specific detail, each in a one-trial tuple
        self.trials: dict[tuple[str, str], tuple[RuleTrial]] = {}
        #: the same tuples by number, and the number of each by its record's id (the records
        #: are held here, so no other object has their id)
        self.shared_trials: list[tuple[RuleTrial]] = []
        self.trial_numbers: dict[int, int] = {}
        self.plain_steps: dict[tuple[str, int, int, int, int], Step] = {}
        self.reprs = reprs

    def decision(self, values: dict[str, Any]) -> Decision:
        """A decision record from all of its fields (not validated: the engine built them)."""
        return assemble(Decision, values, _DECISION_SET)

    def tally(self, drops: list[Drop]) -> None:
        """Count ``drops`` by code, and capacity drops by rep (for the policy lab)."""
        for d in drops:
            self.drop_counts[d.code] = self.drop_counts.get(d.code, 0) + 1
            if d.code in CAP_CODES:
                self.cap_hits_by_rep[d.rep_id] = self.cap_hits_by_rep.get(d.rep_id, 0) + 1

    def trials_tuple(self, trials: list[RuleTrial]) -> tuple[RuleTrial, ...]:
        """The decision's trials; the shared one-trial tuple when only a shared record is in it."""
        if len(trials) == 1:
            shared = self.trials.get((trials[0].rule_id, trials[0].result))
            if shared is not None and shared[0] is trials[0]:
                return shared
        return tuple(trials)

    def trials_ref(self, trials: list[RuleTrial]) -> tuple[RuleTrial, ...] | int:
        """:meth:`trials_tuple`, or the number of the shared one-trial tuple (an int keeps
        the record holding it free of references; :meth:`trials_of` reads it back)."""
        if len(trials) == 1:
            number = self.trial_numbers.get(id(trials[0]))
            if number is not None:
                return number
        return tuple(trials)

    def trials_of(self, ref: tuple[RuleTrial, ...] | int) -> tuple[RuleTrial, ...]:
        """The trials a :meth:`trials_ref` stands for."""
        if type(ref) is int:
            return self.shared_trials[ref]
        return ref  # type: ignore[return-value]

    def trial(self, rule_id: str, result: str, detail: str = "") -> RuleTrial:
        """Shared (immutable) trial records for the outcomes without lead-specific detail."""
        key = (rule_id, result)
        shared = self.trials.get(key)
        if shared is None:
            shared = self.trials[key] = (
                build(RuleTrial, rule_id=rule_id, result=result, detail=detail),
            )
            self.trial_numbers[id(shared[0])] = len(self.shared_trials)
            self.shared_trials.append(shared)
        return shared[0]

    def excluded_step(
        self, rule_id: str, cands: list[Rep], kept: list[Rep], excluded: frozenset[str]
    ) -> Step:
        """The step listing the reps excluded for this lead (previous owners, cooldowns)."""
        drops = [
            build(Drop, rep_id=r.id, code="excluded", detail="excluded for this lead", figures={})
            for r in cands
            if r.id in excluded
        ]
        return build(
            Step,
            path=f"{rule_id}:excluded",
            strategy="Excluded",
            kind="filter",
            candidates_in=len(cands),
            candidates_out=len(kept),
            dropped=tuple(drops),
        )

    def filter_step(
        self,
        path: str,
        flt: Strategy,
        n_in: int,
        n_out: int,
        drops: list[Drop],
        unlisted: int,
        note: str | None = None,
    ) -> Step:
        """A filter's step record (``n_in`` candidates in, ``n_out`` kept)."""
        key: tuple[str, int, int, int, int] | None = None
        if not drops and note is None:
            # a step without drops or note is the same record for every lead with the same
            # counts: one shared (frozen) instance instead of one per lead
            key = (path, id(flt), n_in, n_out, unlisted)
            found = self.plain_steps.get(key)
            if found is not None:
                return found
        values = {
            "path": path,
            "strategy": self.reprs.get(id(flt)) or repr(flt),
            "kind": "filter",
            "candidates_in": n_in,
            "candidates_out": n_out,
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

    def steps(self, held: Sequence[Any]) -> tuple[Step, ...]:
        """A decision's steps from the engine's step log: :class:`Step` records, and
        built-ins' steps held as a marker and their arguments (made when the audit is read:
        :data:`SELECTOR_STEP` before :meth:`selector_step`'s, :data:`FILTER_STEP` before
        :meth:`filter_step`'s)."""
        if not held:
            return ()
        out: list[Step] = []
        i, n = 0, len(held)
        while i < n:
            entry = held[i]
            if entry is SELECTOR_STEP:
                path, sel, n_in, picked, note, rationale = held[i + 1 : i + 7]
                out.append(self.picked_step(path, sel, n_in, picked, note, rationale))
                i += 7
            elif entry is FILTER_STEP:
                out.append(self.filter_step(*held[i + 1 : i + 8]))
                i += 8
            else:
                out.append(entry)
                i += 1
        return tuple(out)

    def selector_step(
        self, path: str, sel: Selector, n_in: int, pick: Pick | None, builtin: bool
    ) -> Step:
        """A selector's step record (its rationale copied to JSON data if it is not already)."""
        return self.picked_step(path, sel, n_in, *picked_parts(pick, builtin))

    def picked_step(
        self,
        path: str,
        sel: Selector,
        n_in: int,
        picked: str | None,
        note: str | None,
        rationale: dict[str, Any] | None,
    ) -> Step:
        """A selector's step record from what it picked (``rationale`` already JSON data)."""
        values = {
            "path": path,
            "strategy": self.reprs.get(id(sel)) or repr(sel),
            "kind": "selector",
            "candidates_in": n_in,
            "candidates_out": 0 if picked is None else 1,
            "dropped": (),
            "unlisted": 0,
            "picked": picked,
            "note": note,
            "rationale": rationale,
        }
        return assemble(Step, values, _SELECTOR_STEP_SET)

    def combinator_step(
        self,
        path: str,
        strategy: str,
        kind: str,
        n_in: int,
        n_out: int,
        dropped: tuple[Drop, ...],
        unlisted: int,
        note: str | None,
    ) -> Step:
        """A step a combinator records itself (``Runner.record``): a note, a band, a fallback."""
        return build(
            Step,
            path=path,
            strategy=strategy,
            kind=kind,
            candidates_in=n_in,
            candidates_out=n_out,
            dropped=dropped,
            unlisted=unlisted,
            note=note,
        )


def picked_parts(
    pick: Pick | None, builtin: bool
) -> tuple[str | None, str | None, dict[str, Any] | None]:
    """What a selector step shows of ``pick``: the rep picked, the note, the rationale (copied
    to JSON data unless ``builtin`` says it is already)."""
    if pick is None:
        return None, None, None
    rationale = pick.rationale
    return (
        None if pick.rep is None else pick.rep.id,
        pick.reason if pick.review else None,
        rationale if builtin or plain(rationale) else jsonable(rationale),
    )


#: Built-in selectors whose rationale is JSON data by construction (a test checks it).
PLAIN_RATIONALE: frozenset[type] = frozenset(
    {RoundRobin, Weighted, RandomPick, LeastLoaded, AssignTo, ManualReview, BestFit}
)


def plain(value: Any) -> bool:
    """Whether ``value`` is already JSON data (so it needs no copy)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    return False


def jsonable(value: Any) -> Any:
    """``value`` as JSON data (objects as their canonical JSON, anything else as text)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if dataclasses.is_dataclass(value) or hasattr(value, "model_dump"):
        return canonical_json(value)
    return str(value)


# -- what a decision read, its id, the roster step, replay ------------------------------

#: id prefix of the stand-ins for reps a decision never looked at (replay only)
PLACEHOLDER = "\x00unread-"


def call_digest(
    kind: str,
    policy_revision: str,
    state_revision: int,
    now: datetime | None,
    lead_ids: Iterable[str],
) -> str:
    """A hash naming one routing call: its kind, revisions, ``now`` and leads in processing order."""
    h = hashlib.sha256()
    head = f"{kind}\x1f{policy_revision}\x1f{state_revision}\x1f{'' if now is None else now.isoformat()}"
    h.update(head.encode("utf-8"))
    for lead_id in lead_ids:
        h.update(b"\x1f")
        h.update(lead_id.encode("utf-8"))
    return h.hexdigest()[:16]


def decision_id(call: str, seq: int, lead_id: str) -> str:
    """The id of a decision: a hash of its call, its place in the call, and the lead id.

    Unique per decision: two decisions of one call differ in ``seq``, two
    calls differ in ``call``.
    """
    text = f"{call}\x1f{seq}\x1f{lead_id}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class _Mark:
    """A marker in a :class:`LeadReads` log (compared by identity)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: log markers: an index answer ``(path, reps)``, a rotation read ``(path, candidates)``, a
#: served rep ``(path, rep id, credits)``; a bare list in the log is a candidate list read
INDEX, ROTATION, SERVED = _Mark("INDEX"), _Mark("ROTATION"), _Mark("SERVED")
#: log markers of an account read: ``(account key, owner)`` and ``(account key, name)``
OWNER, NAME = _Mark("OWNER"), _Mark("NAME")
#: log marker of a learned figure read (:meth:`RouteContext.learned
#: <leadroute.context.RouteContext.learned>`): ``(path, name, candidates or None, value)``
#: (a per-rep read keeps the candidate list and the values in its order)
LEARNED = _Mark("LEARNED")
#: entries a marker takes in the log, itself included
_WIDTH = {INDEX: 3, ROTATION: 3, SERVED: 4, OWNER: 3, NAME: 3, LEARNED: 5}
#: step log markers (a decision's steps while routing): a built-in selector's step
#: ``(path, selector, candidates in, picked rep id, note, rationale)`` and a built-in filter's step with drops
#: ``(path, filter, candidates in, kept, drops, unlisted, note)``, built when read
SELECTOR_STEP, FILTER_STEP = _Mark("SELECTOR_STEP"), _Mark("FILTER_STEP")


class LeadReads(list[Any]):
    """What the route of one lead read: a flat log of references (engine only).

    While routing, the pipeline only appends to the log (the list itself: at
    200,000 leads a call keeps one per lead, so it keeps no tuples or dicts
    per read). A bare list in the log is a candidate list a strategy looked at
    one by one (never mutated afterwards); :data:`INDEX`, :data:`ROTATION` and
    :data:`SERVED` mark the entries that follow them. :meth:`rotation` and
    :meth:`snapshot` (or :func:`settle`, later) fill the mappings the
    decision's inputs are made from.
    """

    __slots__ = ("days", "loads", "read", "rotations")

    # No __init__: one is made per lead (or one per call, sliced per lead when the audit is
    # read), and the mappings below are set only when first written (read them with
    # ``getattr(reads, name, None)``).
    #: route path -> (turn, last served, credits) of the candidates, before the pick
    rotations: dict[str, tuple[int, dict[str, int], dict[str, float]]]
    #: rep id -> rep, the union of the candidate lists (set by :meth:`snapshot`)
    read: dict[str, Rep]
    #: rep id -> open leads, and rep id -> leads per day, as read (set by :meth:`snapshot`)
    loads: dict[str, int]
    days: dict[str, dict[str, int]]

    def entries(self) -> Iterator[tuple[_Mark | None, int]]:
        """``(marker, place)`` of each entry of the log, in order: a marked entry's marker and
        the place of the marker (its fields follow it), or None and the place of a bare
        candidate list."""
        log = self
        i, n = 0, len(log)
        while i < n:
            entry = log[i]
            if type(entry) is _Mark:
                yield entry, i
                i += _WIDTH[entry]
            else:
                yield None, i
                i += 1

    def lists(self) -> list[Sequence[Rep]]:
        """The candidate lists read, in order."""
        return [self[i] for mark, i in self.entries() if mark is None]

    def answers(self) -> list[tuple[str, Sequence[Rep]]]:
        """``(route path, the shared answer list)`` of the index-answered steps, in order."""
        return [(self[i + 1], self[i + 2]) for mark, i in self.entries() if mark is INDEX]

    def noted(self) -> tuple[dict[str, str | None], dict[str, str | None]]:
        """The account owners and names read, by account key (the first read of each)."""
        owners: dict[str, str | None] = {}
        names: dict[str, str | None] = {}
        for mark, i in self.entries():
            if mark is OWNER:
                owners.setdefault(self[i + 1], self[i + 2])
            elif mark is NAME:
                names.setdefault(self[i + 1], self[i + 2])
        return owners, names

    def learned(self) -> dict[str, dict[str, Any]]:
        """The learned figures read, by route path and name (the first read of each; a
        per-rep read as a table rep id -> figure)."""
        out: dict[str, dict[str, Any]] = {}
        for mark, i in self.entries():
            if mark is LEARNED:
                path, name, cands, value = self[i + 1 : i + 5]
                figures = out.get(path)
                if figures is None:
                    figures = out[path] = {}
                if name not in figures:  # a figure is the same all call long
                    figures[name] = value if cands is None else _by_rep(cands, value)
        return out

    def note_learned(
        self, path: str, name: str, candidates: Sequence[Rep] | None, value: Any
    ) -> None:
        """The strategy at ``path`` read the learned figure ``name`` (per candidate when
        ``candidates`` is given: ``value`` then lists one figure per candidate, in order)."""
        self.extend((LEARNED, path, name, candidates, value))

    def note_owner(self, account_key: str, owner: str | None) -> None:
        """The route read the owner of ``account_key``."""
        self.extend((OWNER, account_key, owner))

    def note_name(self, account_key: str, name: str | None) -> None:
        """The route read the name of ``account_key``."""
        self.extend((NAME, account_key, name))

    def rotation(
        self, path: str, turn: int, last: Mapping[str, int], credits: Mapping[str, float], cands: Sequence[Rep]
    ) -> None:
        """Note a selector's rotation memory for its candidates before the pick is applied."""
        rotations = getattr(self, "rotations", None)
        if rotations is None:
            rotations = self.rotations = {}
        elif path in rotations:
            return
        seen = {r.id: last[r.id] for r in cands if r.id in last} if last else {}
        owed = {r.id: credits[r.id] for r in cands if r.id in credits} if credits else {}
        rotations[path] = (turn, seen, owed)

    def snapshot(
        self,
        open_counts: Mapping[str, int],
        days: Mapping[str, Mapping[str, int]],
        shared: bool = False,
    ) -> None:
        """Take the reps read and their counters (call before the lead's outcome is applied).

        ``shared``: the ledger replaces a rep's day counts on every write and never
        changes them, so the record may hold them as they are (else they are copied).
        """
        read: dict[str, Rep] = {}
        self.read = read
        done: list[Sequence[Rep]] = []
        for lst in self.lists():
            if any(lst is d for d in done):
                continue
            done.append(lst)
            for rep in lst:
                if rep.id not in read:
                    read[rep.id] = rep
        loads: dict[str, int] = {}
        counts: dict[str, dict[str, int]] = {}
        self.loads = loads
        self.days = counts
        for rep_id in read:
            n = open_counts.get(rep_id)
            if n:
                loads[rep_id] = n
            held = days.get(rep_id)
            if held:
                counts[rep_id] = held if shared and type(held) is dict else dict(held)


def settle(state: PoolState, reads: Iterable[tuple[LeadReads | None, str | None, str | None]]) -> None:
    """Fill in what each decision of a call read, replaying the call's writes forward.

    ``reads`` gives, per decision in the order they were made, its reads
    (None without the full audit), the rep it assigned and the local day it
    was counted on. Starting from ``state`` (the call's input state), each
    decision's rotation memory and counters are taken as
    :meth:`LeadReads.rotation` and :meth:`LeadReads.snapshot` would have
    taken them while routing, then its writes are applied as the
    :class:`~leadroute.engine.ledger.MemoryLedger` applied them: a served rep
    is remembered at the selector's turn (and its credits kept), an assigned
    lead adds one open lead and one lead on its local day.
    """
    opens = {k: v.open for k, v in state.loads.items()}
    days: dict[str, dict[str, int]] = {k: v.days for k, v in state.loads.items()}
    memory = rotation_memories(state)
    for lead_reads, rep_id, day in reads:
        if lead_reads is not None:
            log = lead_reads
            for mark, i in log.entries():
                if mark is ROTATION:
                    path, cands = log[i + 1], log[i + 2]
                    mem = memory.get(path)
                    if mem is None:
                        lead_reads.rotation(path, 0, {}, {}, cands)
                    else:
                        lead_reads.rotation(path, mem.turn, mem.last_served, mem.credits, cands)
                elif mark is SERVED:
                    path = log[i + 1]
                    mem = memory.get(path)
                    if mem is None:
                        mem = memory[path] = RotationMemory(0, {}, {})
                    mem.serve(log[i + 2], log[i + 3])
            lead_reads.snapshot(opens, days, shared=True)
        if rep_id is not None and day is not None:
            count_open(opens, days, rep_id, day)


_INPUT_SET = set(DecisionInputs.model_fields)
#: The rep ids of shared (never mutated) index answers, by list identity (one per call).
IdSets = dict[int, tuple[Sequence[Rep], frozenset[str]]]


def _ids_of(kept: Sequence[Rep], id_sets: IdSets) -> frozenset[str]:
    """The rep ids of a shared index answer (computed once per answer list and call)."""
    found = id_sets.get(id(kept))
    if found is None or found[0] is not kept:
        found = id_sets[id(kept)] = (kept, frozenset(r.id for r in kept))
    return found[1]


def _by_rep(cands: Sequence[Rep], values: Sequence[Any]) -> dict[str, Any]:
    """A per-rep learned read as a table rep id -> figure (checked as JSON data when read:
    :meth:`RouteContext.learned_per_rep <leadroute.context.RouteContext.learned_per_rep>`)."""
    return dict(zip([rep.id for rep in cands], values, strict=True))


def inputs_of(
    reads: LeadReads,
    *,
    call: str,
    seq: int,
    made_by: str,
    lead: Lead,
    excluded: Iterable[str],
    roster_size: int,
    position: Mapping[str, int],
    out: Mapping[str, tuple[str, int]],
    id_sets: IdSets,
) -> DecisionInputs:
    """The :class:`DecisionInputs` of one decision from what its route read."""
    read: dict[str, Rep] = getattr(reads, "read", None) or {}
    # in the order the route first read them (roster order within each candidate list)
    positions = {rep_id: position[rep_id] for rep_id in read}
    ids = list(read)
    reps = list(read.values())
    index: dict[str, int] = {}
    index_reps: dict[str, tuple[str, ...]] = {}
    for path, kept in reads.answers():
        if len(kept) <= len(read):
            held = tuple(r.id for r in kept if r.id in read)
        else:
            members = _ids_of(kept, id_sets)
            held = tuple(rep_id for rep_id in ids if rep_id in members)
        index[path] = len(kept)
        index_reps[path] = held
    turns: dict[str, int] = {}
    last_served: dict[str, dict[str, int]] = {}
    credits: dict[str, dict[str, float]] = {}
    for path, (turn, seen, owed) in (getattr(reads, "rotations", None) or {}).items():
        turns[path] = turn
        if seen:
            last_served[path] = seen
        if owed:
            credits[path] = owed
    owners, names = reads.noted()
    learned = reads.learned()
    values = {
        "call": call,
        "seq": seq,
        "made_by": made_by,
        "lead": lead,
        "excluded": tuple(sorted(excluded)),
        "roster": roster_size,
        "positions": positions,
        "reps": tuple(reps),
        "out": out,
        "loads": getattr(reads, "loads", None) or {},
        "days": getattr(reads, "days", None) or {},
        "turns": turns,
        "last_served": last_served,
        "credits": credits,
        "owners": owners,
        "names": names,
        "index": index,
        "index_reps": index_reps,
        "learned": learned,
    }
    return assemble(DecisionInputs, values, _INPUT_SET)


def out_reasons(reps: Sequence[Rep]) -> dict[str, tuple[str, int]]:
    """Rep id -> (``inactive`` or ``paused``, place in the roster) for the reps kept out of
    the roster, in roster order."""
    return {
        r.id: ("inactive" if not r.active else "paused", i)
        for i, r in enumerate(reps)
        if not r.active or r.paused
    }


def roster_step(path: str, total: int, out: Mapping[str, tuple[str, int]], limit: int) -> Step:
    """The step accounting for the reps kept out of the roster (paused, inactive)."""
    drops: list[Drop] = []
    for rep_id, (code, _place) in out.items():
        if len(drops) >= limit:
            break
        inactive = code == "inactive"
        drops.append(
            build(
                Drop,
                rep_id=rep_id,
                code=code,
                detail="the rep is inactive" if inactive else "the rep is paused",
                figures={"active": False} if inactive else {"paused": True},
            )
        )
    paused = sum(1 for c, _place in out.values() if c == "paused")
    return build(
        Step,
        path=path,
        strategy="Roster",
        kind="filter",
        candidates_in=total,
        candidates_out=total - len(out),
        dropped=tuple(drops),
        unlisted=len(out) - len(drops),
        note=f"{len(out) - paused} inactive, {paused} paused",
    )


def replay_state(decision: Decision, inputs: DecisionInputs) -> PoolState:
    """The state a decision is replayed on, built from its inputs alone.

    Reps the decision never looked at one by one are stand-ins (ids starting
    with :data:`PLACEHOLDER`) at their places, so counts and roster positions
    are as they were; reading one shows as a difference.
    """
    slots: list[Rep | None] = [None] * inputs.roster
    for rep in inputs.reps:
        slots[inputs.positions[rep.id]] = rep
    for rep_id, (code, place) in inputs.out.items():
        data: dict[str, Any] = {"id": rep_id}
        if code == "inactive":
            data["active"] = False
        else:
            data["paused"] = True
        slots[place] = Rep.model_construct(**data)
    reps = tuple(
        rep if rep is not None else Rep.model_construct(id=f"{PLACEHOLDER}{i}")
        for i, rep in enumerate(slots)
    )
    loads = {
        rep_id: build(
            RepLoad, open=inputs.loads.get(rep_id, 0), days=dict(inputs.days.get(rep_id, {}))
        )
        for rep_id in dict.fromkeys([*inputs.loads, *inputs.days])
    }
    rotations = {
        path: build(
            Rotation,
            turn=turn,
            last_served=dict(inputs.last_served.get(path, {})),
            credits=dict(inputs.credits.get(path, {})),
        )
        for path, turn in inputs.turns.items()
    }
    owners = {k: v for k, v in inputs.owners.items() if v is not None}
    return build(
        PoolState,
        as_of=None,
        revision=decision.state_revision,
        reps=reps,
        loads=loads,
        rotations=rotations,
        owners=owners,
    )


def differences(recorded: Any, replayed: Any, path: str = "", limit: int = 20) -> list[str]:
    """``path: recorded X, replayed Y`` for every place two JSON values differ (at most ``limit``)."""
    out: list[str] = []
    _diff(recorded, replayed, path, out, limit)
    return out


def _diff(a: Any, b: Any, path: str, out: list[str], limit: int) -> None:
    if len(out) >= limit:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            where = f"{path}.{key}" if path else str(key)
            if key not in b:
                out.append(f"{where}: recorded {_short(a[key])}, replayed nothing")
            elif key not in a:
                out.append(f"{where}: recorded nothing, replayed {_short(b[key])}")
            else:
                _diff(a[key], b[key], where, out, limit)
            if len(out) >= limit:
                return
        if list(a) != list(b) and not out:
            out.append(f"{path or 'decision'}: keys in another order")
        return
    if isinstance(a, list) and isinstance(b, list):
        for i in range(min(len(a), len(b))):
            _diff(a[i], b[i], f"{path}[{i}]", out, limit)
            if len(out) >= limit:
                return
        if len(a) != len(b):
            out.append(f"{path}: recorded {len(a)} items, replayed {len(b)}")
        return
    if a != b or type(a) is not type(b):
        out.append(f"{path}: recorded {_short(a)}, replayed {_short(b)}")


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
