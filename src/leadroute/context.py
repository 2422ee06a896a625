"""The read-only context a strategy sees for one decision.

Like tenacity's ``RetryCallState``, one :class:`RouteContext` travels with a
routing call; the router alone advances it (the lead's decision time, the
route path of the strategy being consulted, the counters as they stand after
the leads routed before this one). Strategies read it, never write it.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from itertools import chain
from typing import TYPE_CHECKING, Any, TypeVar

from leadroute.accounts import default_match
from leadroute.exceptions import InputError, StrategyError
from leadroute.jsondata import json_problem
from leadroute.services import CappedCell, Services, scan_longest_waiting
from leadroute.state import period_count
from leadroute.worktime import available_days

if TYPE_CHECKING:
    from collections.abc import Callable

    from leadroute.accounts import AccountMatch, AccountMatcher
    from leadroute.models import Lead, Rep
    from leadroute.state import PoolState

__all__ = ["RouteContext"]

J = TypeVar("J")


class RotationMemory:
    """Mutable rotation memory of one selector path (router-internal)."""

    __slots__ = ("credits", "last_served", "turn")

    def __init__(self, turn: int, last_served: dict[str, int], credits: dict[str, float]) -> None:
        self.turn = turn
        self.last_served = last_served
        self.credits = credits

    def serve(self, rep_id: str, credits: Mapping[str, float] | None) -> None:
        """The selector served ``rep_id`` (with its new weighted credits, if any)."""
        self.last_served[rep_id] = self.turn
        self.turn += 1
        if credits:
            self.credits.update(credits)


class RouteContext:
    """What a strategy may read while routing one lead.

    Attributes:
        now: the decision time (the call's ``now``, else the lead's ``created_at``).
        seed: the router's seed, for strategies that draw.
        state: the input :class:`~leadroute.PoolState` (as it was before the call).
        rule_id: the rule being tried (``"default"`` for the default route).
        path: where in the policy the strategy being consulted sits
            (``rules[1].route[2]``); selectors keep their rotation under it.
        excluded: rep ids that must not get this lead (previous owners on reclaim).
        lead_facts: figures computed for this lead by earlier steps (a score).
        memo: a per-call scratch dict where strategies may keep what they
            compute once per call (a learned model, a score per lead).
        roster_memo: a scratch dict kept while the roster is unchanged (across
            calls), for what depends on the reps alone.
        batch: the leads of this call, in processing order.
        explain: whether the call keeps the audit (``assign(audit="full")``).
            When it is False (``audit="outcome"``, the policy lab) nobody reads
            a pick's ``why`` and ``rationale``, so a selector may leave them
            empty instead of building them; the pick must be the same.

    .. versionadded:: 0.1.0
    """

    __slots__ = (
        "_account",
        "_accounts",
        "_days",
        "_names",
        "_new_names",
        "_open",
        "_order",
        "_owners",
        "_reads",
        "_recorded",
        "_rotations",
        "_services",
        "_spans",
        "_ts",
        "batch",
        "excluded",
        "explain",
        "lead",
        "lead_facts",
        "memo",
        "now",
        "path",
        "roster_memo",
        "rule_id",
        "seed",
        "state",
    )

    def __init__(
        self,
        *,
        state: PoolState,
        seed: int,
        open_counts: Mapping[str, int],
        days: Mapping[str, Mapping[str, int]],
        rotations: Mapping[str, RotationMemory],
        owners: Mapping[str, str],
        order: Mapping[str, int],
        accounts: AccountMatcher | None = None,
    ) -> None:
        self.state = state
        self._accounts = accounts
        #: the last lead whose account was looked up, and its match
        self._account: tuple[Lead | None, AccountMatch | None] = (None, None)
        #: account key -> the name it was first seen under (filled lazily from the state,
        #: and by the router as it records new owners)
        self._names: dict[str, str] | None = None
        self._new_names: dict[str, str] = {}
        self.seed = seed
        self._open = open_counts
        self._days = days
        self._rotations = rotations
        self._owners = owners
        self._order = order
        #: the engine's record of what the current lead's route read (full audit only)
        self._reads: Any = None
        #: replay only: the learned figures of the decision's record, by route path and name
        self._recorded: Mapping[str, Mapping[str, Any]] | None = None
        #: per time zone: the local day (start and end as POSIX seconds, date, ISO text)
        #: of the latest decision time looked up, kept while decision times stay inside it
        self._spans: dict[str, tuple[float, float, date, str]] = {}
        self._ts: float | None = None
        self.now: datetime = state.as_of or _EPOCH
        self.lead: Lead | None = None
        self.rule_id: str | None = None
        self.path = ""
        self.excluded: frozenset[str] = frozenset()
        self.lead_facts: dict[str, Any] = {}
        self.memo: dict[Any, Any] = {}
        self.roster_memo: dict[Any, Any] = {}
        self.batch: tuple[Lead, ...] = ()
        self.explain = True
        self._services: Services | None = None

    # -- the router advances these -------------------------------------------------
    def _begin(self, lead: Lead, now: datetime, excluded: frozenset[str]) -> None:
        self.lead = lead
        self.now = now
        self.excluded = excluded
        self.lead_facts = {}
        self._ts = None

    # -- counters --------------------------------------------------------------------
    @property
    def open_counts(self) -> Mapping[str, int]:
        """Open leads per rep id now (read-only view for fast loops)."""
        return self._open

    def open_count(self, rep_id: str) -> int:
        """Open leads the rep holds now (including this batch's earlier assignments)."""
        return self._open.get(rep_id, 0)

    def local_date(self, rep: Rep) -> date:
        """Today's date in the rep's own time zone at the decision time."""
        return self.local_day(rep)[0]

    def local_day(self, rep: Rep) -> tuple[date, str]:
        """:meth:`local_date` and its ISO text (the key of the day counters)."""
        ts = self._ts
        if ts is None:
            ts = self._ts = self.now.timestamp()
        span = self._spans.get(rep.timezone)
        if span is not None and span[0] <= ts < span[1]:
            return span[2], span[3]
        zone = rep.zone
        day = self.now.astimezone(zone).date()
        text = day.isoformat()
        start = datetime.combine(day, time(), tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
        if start.utcoffset() == end.utcoffset():
            # no clock change that day: every instant from start to end is on ``day`` locally
            self._spans[rep.timezone] = (start.timestamp(), end.timestamp(), day, text)
        return day, text

    def assigned_today(self, rep: Rep) -> int:
        """Leads assigned to the rep on its own local day."""
        days = self._days.get(rep.id)
        if not days:
            return 0
        return days.get(self.local_date(rep).isoformat(), 0)

    def assigned_in_period(self, rep: Rep, period_days: int | None = None) -> int:
        """Leads assigned to the rep in its rolling period (``capacity.period_days``)."""
        days = self._days.get(rep.id)
        if not days:
            return 0
        span = period_days or rep.capacity.period_days
        return period_count(days, self.local_date(rep), span)

    def available_days(self, rep: Rep, period_days: int | None = None) -> int:
        """Days of the rep's rolling period (ending today, local) on which the rep could work."""
        span = period_days or rep.capacity.period_days
        today = self.local_date(rep)
        key = ("available_days", rep.id, today, span)
        found = self.memo.get(key)
        if found is None:
            found = available_days(rep, today, span)
            self.memo[key] = found
        return int(found)

    def owner_of(self, account_key: str) -> str | None:
        """The rep owning ``account_key`` now, if any."""
        found = self._owners.get(account_key)
        if self._reads is not None:
            self._reads.note_owner(account_key, found)
        return found

    def account_of(self, lead: Lead) -> AccountMatch | None:
        """The lead's account as the router matches it (its :class:`~leadroute.AccountMatcher`).

        Without a matcher: ``account_key``, else the company key, else the
        company mail domain (:func:`leadroute.normalize.account_key_of`).

        .. versionadded:: 0.2.0
        """
        held, found = self._account
        if held is lead:
            return found
        matcher = self._accounts
        found = default_match(lead) if matcher is None else matcher.match(lead)
        self._account = (lead, found)
        return found

    def account_name(self, account_key: str) -> str | None:
        """The name (company, else e-mail) ``account_key`` was first seen under, if known.

        Read from the open leads of the input state (the earliest assigned)
        and from the leads this call assigned to a new account.

        .. versionadded:: 0.2.0
        """
        names = self._names
        if names is None:
            names = self._names = {}
            first: dict[str, tuple[datetime, str]] = {}
            for rec in self.state.open_leads.values():
                key = rec.account_key
                text = rec.lead.company or rec.lead.email
                if key is None or not text:
                    continue
                mark = (rec.assigned_at, rec.lead.id)
                if key not in first or mark < first[key]:
                    first[key] = mark
                    names[key] = text
        found = names.get(account_key)
        if found is None:
            found = self._new_names.get(account_key)
        if self._reads is not None:
            self._reads.note_name(account_key, found)
        return found

    def describe_account(self, match: AccountMatch) -> str:
        """The audit line of ``match``: ``account: matched "X" to Y by romanised key``.

        .. versionadded:: 0.2.0
        """
        return match.describe(self.account_name(match.key))

    def _note_account(self, match: AccountMatch) -> None:
        """Remember the name a new account was first seen under (router only)."""
        self._new_names.setdefault(match.key, match.text)

    # -- rotation --------------------------------------------------------------------
    @property
    def turn(self) -> int:
        """Picks made so far by the selector at :attr:`path`."""
        mem = self._rotations.get(self.path)
        return 0 if mem is None else mem.turn

    @property
    def last_served(self) -> Mapping[str, int]:
        """Turn at which each rep was last picked by the selector at :attr:`path`."""
        mem = self._rotations.get(self.path)
        return _EMPTY if mem is None else mem.last_served

    @property
    def credits(self) -> Mapping[str, float]:
        """Smooth weighted rotation credits of the selector at :attr:`path`."""
        mem = self._rotations.get(self.path)
        return _EMPTY_F if mem is None else mem.credits

    def order(self, rep_id: str) -> int:
        """The rep's position in the state's roster (the stable order)."""
        return self._order[rep_id]

    # -- learned figures -------------------------------------------------------------
    def learned(self, name: str, compute: Callable[[], J]) -> J:
        """A figure the strategy at :attr:`path` learns from more than the counters hold.

        ``compute()`` gives it from the input :attr:`state` (a fit of its
        closed-lead ``history``, say) as JSON data: a number, a text, a
        bool, ``None``, or lists and text-keyed dicts of them (lists, not
        tuples). With the full audit the figure is kept in the decision's
        ``inputs.learned[path][name]``; when the decision is replayed
        (:meth:`leadroute.Router.replay`) the recorded figure is returned and
        ``compute`` is not called, so the replay needs no history. Without
        the audit this is ``compute()`` and nothing is kept. Read everything
        that comes from beyond the counters this way, or the decision does
        not replay from its record alone.

        .. versionadded:: 0.2.0
        """
        recorded = self._recorded
        value: J = compute() if recorded is None else self._recorded_figure(recorded, name)
        reads = self._reads
        if reads is not None:
            if recorded is None:
                found = json_problem(value)
                if found is not None:
                    self._not_json(name, found)
            reads.note_learned(self.path, name, None, value)
        return value

    def learned_per_rep(
        self, name: str, candidates: Sequence[Rep], compute: Callable[[Sequence[Rep]], list[J]]
    ) -> list[J]:
        """:meth:`learned` figures of each candidate: ``compute(candidates)`` lists one per rep.

        Kept in the decision's ``inputs.learned[path][name]`` as a table
        rep id -> figure; a replay answers from it (a candidate it does not
        hold is named as an error).

        .. versionadded:: 0.2.0
        """
        recorded = self._recorded
        if recorded is None:
            values = compute(candidates)
            if len(values) != len(candidates):
                msg = (
                    f"{self.path}: the learned figures {name!r} list {len(values)} values for "
                    f"{len(candidates)} candidates"
                )
                raise StrategyError(msg, field=name)
        else:
            table = self._recorded_figure(recorded, name)
            where = f"inputs.learned.{self.path}.{name}"
            if not isinstance(table, Mapping):
                msg = f"{where}: a table of figures by rep id was expected, got {table!r}"
                raise InputError(msg, field=where)
            values = []
            for rep in candidates:
                if rep.id not in table:
                    msg = (
                        f"{where}: the record holds no figure of candidate {rep.id!r} "
                        f"(it holds {', '.join(map(repr, table)) or 'none'}), so the decision "
                        "cannot be replayed alone"
                    )
                    raise InputError(msg, field=where, rep_ids=[rep.id])
                values.append(table[rep.id])
        reads = self._reads
        if reads is not None:
            if recorded is None:
                _check_figures(self, name, candidates, values)
            reads.note_learned(self.path, name, candidates, values)
        return values

    def _not_json(self, name: str, found: tuple[str, str]) -> None:
        where = f"{name}{'.' if found[0] and not found[0].startswith('[') else ''}{found[0]}"
        msg = (
            f"{self.path}: learned figure {where!r} holds {found[1]}; learned figures are "
            "texts, finite numbers, booleans, None, or lists and str-keyed dicts of them"
        )
        raise StrategyError(msg, field=where)

    def _recorded_figure(self, recorded: Mapping[str, Mapping[str, Any]], name: str) -> Any:
        """The figure ``name`` of the strategy at :attr:`path` in the replayed record."""
        held = recorded.get(self.path)
        if held is None or name not in held:
            where = f"inputs.learned.{self.path}.{name}"
            msg = (
                f"{where}: the record holds no learned figure {name!r} of the strategy at "
                f"{self.path} (a decision recorded before learned figures were kept, or a "
                "changed record), so the decision cannot be replayed alone"
            )
            raise InputError(msg, field=where)
        return held[name]

    # -- engine services -------------------------------------------------------------
    def _svc(self) -> Services:
        svc = self._services
        if svc is None:
            svc = self._services = Services(self.state.reps, self._order, self.roster_memo)
        return svc

    def _load_changed(self, rep_id: str) -> None:
        """The engine changed the rep's open count (keeps the capacity services current)."""
        svc = self._services
        if svc is not None:
            svc.changes.append(rep_id)

    def longest_waiting(
        self, candidates: list[Rep], *, with_next: bool = True
    ) -> tuple[Rep, int, Rep | None]:
        """The candidate the selector at :attr:`path` served longest ago, its last turn, and the next.

        Reps never served come first (turn ``-1``); ties go by candidate
        order. The same answer as
        :func:`~leadroute.services.scan_longest_waiting` over
        :attr:`last_served`, but for the lists the engine shares between
        leads (index cells, and cells less the reps at a cap) it comes from a
        heap kept per cell for the call, so its cost does not grow with the
        number of candidates (short lists are scanned: that is cheaper).
        ``candidates`` must not be empty.
        ``with_next=False`` leaves the next in line out (``None``; cheaper).

        .. versionadded:: 0.2.0
        """
        mem = self._rotations.get(self.path)
        last = _EMPTY if mem is None else mem.last_served
        if type(candidates) is not list and len(candidates) > Services.scan_up_to:
            found = (self._services or self._svc()).longest_waiting(
                self.path, candidates, last, 0 if mem is None else mem.turn, with_next
            )
            if found is not None:
                return found
        best, turn, second = scan_longest_waiting(candidates, last)
        return best, turn, second if with_next else None

    def open_cap_split(
        self, key: object, candidates: list[Rep], limit_of: Callable[[Rep], int | None]
    ) -> CappedCell | None:
        """The candidates split by an open-lead cap, kept current by the engine; or None.

        ``limit_of(rep)`` is the rep's open-lead limit (``None``: no limit;
        a negative number: the rep needs a check this service cannot make,
        so the cell is left to the caller). ``key`` identifies the cap for
        the call (its object). For the lists the engine shares between leads
        the split (:meth:`CappedCell.split`) is maintained as leads are
        assigned, so its cost does not grow with the number of candidates;
        for any other list the answer is None and the caller checks each
        candidate.

        .. versionadded:: 0.2.0
        """
        if type(candidates) is list or len(candidates) <= Services.scan_up_to:
            return None
        return (self._services or self._svc()).open_cap_split(key, candidates, limit_of, self._open)


#: the types of JSON scalars
_SCALARS = frozenset({float, int, str, bool, type(None)})
_NUMBERS = frozenset({float, int})


def _check_figures(
    ctx: RouteContext, name: str, candidates: Sequence[Rep], values: Sequence[Any]
) -> None:
    """Raise a :class:`StrategyError` unless every per-rep learned figure is JSON data.

    The usual figures (numbers, or lists of numbers) are checked in C-level passes.
    """
    kinds = set(map(type, values))
    if kinds <= _NUMBERS:
        if all(map(math.isfinite, values)):
            return
    elif kinds == {list}:
        inner = set(map(type, chain.from_iterable(values)))
        if inner <= _NUMBERS and all(map(math.isfinite, chain.from_iterable(values))):
            return
    elif kinds <= _SCALARS and float not in kinds:
        return
    for rep, value in zip(candidates, values, strict=True):
        found = json_problem(value)
        if found is not None:
            ctx._not_json(f"{name}.{rep.id}", found)


_EMPTY: Mapping[str, int] = {}
_EMPTY_F: Mapping[str, float] = {}
_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")
