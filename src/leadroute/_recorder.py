"""The recorder: what a decision read, its unique id, the roster step, and replay support.

While routing with the full audit the engine notes, per lead, what the route
read: the candidate lists strategies looked at one by one, the answers of
index-answered steps, rotation memory, counters and account lookups. These
are kept as references and compact tuples; :func:`inputs_of` turns them into
the :class:`~leadroute.audit.DecisionInputs` of the decision.

:func:`replay_state` builds, from a decision's inputs alone, the state the
engine replays it on; :func:`differences` names what differs between the
recorded and the replayed decision.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from leadroute.audit import (
    Decision,
    DecisionInputs,
    Drop,
    IndexRead,
    LoadRead,
    RotationRead,
    Step,
)
from leadroute.fast import assemble, build
from leadroute.models import Lead, Rep
from leadroute.state import PoolState, RepLoad, Rotation

__all__ = [
    "PLACEHOLDER",
    "LeadReads",
    "call_digest",
    "decision_id",
    "differences",
    "inputs_of",
    "out_reasons",
    "replay_state",
    "roster_step",
]

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


class LeadReads:
    """What the route of one lead read, as references and compact tuples (engine only)."""

    __slots__ = ("index", "lists", "loads", "names", "owners", "read", "rotations")

    def __init__(self) -> None:
        #: candidate lists a strategy looked at one by one (never mutated afterwards)
        self.lists: list[Sequence[Rep]] = []
        #: (route path, the shared answer list) of index-answered steps
        self.index: list[tuple[str, Sequence[Rep]]] = []
        #: route path -> (turn, last served, credits) of the candidates, before the pick
        self.rotations: dict[str, tuple[int, dict[str, int], dict[str, float]]] = {}
        self.owners: dict[str, str | None] = {}
        self.names: dict[str, str | None] = {}
        #: rep id -> rep, the union of ``lists`` (filled by :meth:`snapshot`)
        self.read: dict[str, Rep] = {}
        #: rep id -> (open, days) as read (filled by :meth:`snapshot`)
        self.loads: dict[str, tuple[int, dict[str, int] | None]] = {}

    def rotation(
        self, path: str, turn: int, last: Mapping[str, int], credits: Mapping[str, float], cands: Sequence[Rep]
    ) -> None:
        """Note a selector's rotation memory for its candidates before the pick is applied."""
        if path in self.rotations:
            return
        seen = {r.id: last[r.id] for r in cands if r.id in last} if last else {}
        owed = {r.id: credits[r.id] for r in cands if r.id in credits} if credits else {}
        self.rotations[path] = (turn, seen, owed)

    def snapshot(
        self, open_counts: Mapping[str, int], days: Mapping[str, dict[str, int]]
    ) -> None:
        """Take the reps read and their counters (call before the lead's outcome is applied)."""
        read = self.read
        for lst in self.lists:
            for rep in lst:
                if rep.id not in read:
                    read[rep.id] = rep
        loads = self.loads
        for rep_id in read:
            held = days.get(rep_id)
            n = open_counts.get(rep_id)
            if n is not None or held:
                loads[rep_id] = (n or 0, dict(held) if held else None)


_INPUT_SET = set(DecisionInputs.model_fields)


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
    out: Mapping[str, str],
) -> DecisionInputs:
    """The :class:`DecisionInputs` of one decision from what its route read."""
    read = reads.read
    reps = sorted(read.values(), key=lambda r: position[r.id])
    positions = {r.id: position[r.id] for r in reps}
    for rep_id in out:
        positions[rep_id] = position[rep_id]
    index = {
        path: build(IndexRead, count=len(kept), reps=tuple(r.id for r in kept if r.id in read))
        for path, kept in reads.index
    }
    loads = {
        rep_id: build(LoadRead, open=n, days=d or {}) for rep_id, (n, d) in reads.loads.items()
    }
    rotations = {
        path: build(RotationRead, turn=t, last_served=seen, credits=owed)
        for path, (t, seen, owed) in reads.rotations.items()
    }
    values = {
        "call": call,
        "seq": seq,
        "made_by": made_by,
        "lead": lead,
        "excluded": tuple(sorted(excluded)),
        "roster": roster_size,
        "positions": positions,
        "reps": tuple(reps),
        "out": dict(out),
        "loads": loads,
        "rotations": rotations,
        "owners": dict(reads.owners),
        "names": dict(reads.names),
        "index": index,
    }
    return assemble(DecisionInputs, values, _INPUT_SET)


def out_reasons(reps: Sequence[Rep]) -> dict[str, str]:
    """Rep id -> ``inactive`` or ``paused`` for the reps kept out of the roster, in roster order."""
    return {
        r.id: ("inactive" if not r.active else "paused")
        for r in reps
        if not r.active or r.paused
    }


def roster_step(path: str, total: int, out: Mapping[str, str], limit: int) -> Step:
    """The step accounting for the reps kept out of the roster (paused, inactive)."""
    drops: list[Drop] = []
    for rep_id, code in out.items():
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
    paused = sum(1 for c in out.values() if c == "paused")
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
    for rep_id, code in inputs.out.items():
        data: dict[str, Any] = {"id": rep_id}
        if code == "inactive":
            data["active"] = False
        else:
            data["paused"] = True
        slots[inputs.positions[rep_id]] = Rep.model_construct(**data)
    reps = tuple(
        rep if rep is not None else Rep.model_construct(id=f"{PLACEHOLDER}{i}")
        for i, rep in enumerate(slots)
    )
    loads = {
        rep_id: build(RepLoad, open=load.open, days=dict(load.days))
        for rep_id, load in inputs.loads.items()
    }
    rotations = {
        path: build(
            Rotation, turn=rot.turn, last_served=dict(rot.last_served), credits=dict(rot.credits)
        )
        for path, rot in inputs.rotations.items()
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
