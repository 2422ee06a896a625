"""Learned fit: per rep x segment conversion estimates from closed-lead history.

A rep with 3 wins out of 3 is not a 100% closer. Each rep's win rate in a
segment is smoothed towards the team's rate in that segment with a Beta
prior of strength ``k``::

    estimate = (wins + k * p0) / (closed + k)

where ``p0`` is the team's win rate in the segment (the overall rate when
the segment has no history). Below ``min_history`` closed leads in the pool
the model is off (``enabled`` is false) and learned components are not used.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from leadroute.models import Lead, lead_value
from leadroute.state import ClosedLead

__all__ = ["FitEstimate", "FitModel"]


@dataclass(frozen=True, slots=True)
class FitEstimate:
    """One rep's smoothed win rate in one segment, with the counts behind it.

    .. versionadded:: 0.1.0
    """

    rep_id: str
    segment: str
    wins: int
    closed: int
    prior: float
    rate: float


class FitModel:
    """Smoothed conversion estimates learned from closed leads.

    >>> from datetime import datetime, timezone
    >>> t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    >>> def closed(i, rep, outcome):
    ...     lead = Lead(id=f"c{i}", created_at=t, industry="retail")
    ...     return ClosedLead(lead=lead, rep_id=rep, assigned_at=t, closed_at=t, outcome=outcome)
    >>> history = [closed(i, "ann", "won") for i in range(3)] + [
    ...     closed(10 + i, "bo", "won" if i < 2 else "lost") for i in range(10)]
    >>> model = FitModel(history, prior_strength=10, min_history=0)
    >>> round(model.estimate("ann", history[0].lead).rate, 4)   # (3 + 10 * 5/13) / (3 + 10)
    0.5266

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        history: Iterable[ClosedLead],
        *,
        segment_by: Sequence[str] = ("industry",),
        prior_strength: float = 10.0,
        min_history: int = 300,
    ) -> None:
        self.segment_by = tuple(segment_by)
        self.prior_strength = float(prior_strength)
        self.min_history = min_history
        self.counts: dict[tuple[str, str], list[int]] = {}
        self.team: dict[str, list[int]] = {}
        touch: dict[str, list[float]] = {}
        wins = closed = 0
        for c in history:
            seg = self.segment_of(c.lead)
            won = 1 if c.outcome == "won" else 0
            rec = self.counts.setdefault((c.rep_id, seg), [0, 0])
            rec[0] += won
            rec[1] += 1
            team = self.team.setdefault(seg, [0, 0])
            team[0] += won
            team[1] += 1
            wins += won
            closed += 1
            if c.first_activity_at is not None:
                hours = (c.first_activity_at - c.assigned_at).total_seconds() / 3600
                touch.setdefault(c.rep_id, []).append(max(0.0, hours))
        self.closed = closed
        self.overall = wins / closed if closed else 0.0
        self._touch = {rep: statistics.median(v) for rep, v in touch.items()}

    @property
    def enabled(self) -> bool:
        """Whether there is enough history (``min_history`` closed leads) to use the model."""
        return self.closed >= self.min_history

    def segment_of(self, lead: Lead) -> str:
        """The lead's segment: the ``segment_by`` field values joined with ``|``."""
        return "|".join(str(lead_value(lead, f)) for f in self.segment_by)

    def prior(self, segment: str) -> float:
        """The team's win rate in ``segment`` (the overall rate without history there)."""
        team = self.team.get(segment)
        if not team or team[1] == 0:
            return self.overall
        return team[0] / team[1]

    def estimate(self, rep_id: str, lead: Lead) -> FitEstimate:
        """``rep_id``'s smoothed win rate for leads like ``lead``."""
        seg = self.segment_of(lead)
        wins, closed = self.counts.get((rep_id, seg), (0, 0))
        p0 = self.prior(seg)
        k = self.prior_strength
        rate = (wins + k * p0) / (closed + k)
        return FitEstimate(rep_id, seg, wins, closed, p0, rate)

    def median_first_touch_hours(self, rep_id: str) -> float | None:
        """Median hours from assignment to first activity over the rep's closed leads."""
        return self._touch.get(rep_id)
