"""Exact batch assignment: leads to reps at least total cost under per-rep capacities.

:func:`solve` answers the transportation problem behind batch routing: give
each lead at most one allowed rep, no rep more than its capacity, assigning
as many leads as possible and, among those assignments, the one of least
total cost. It is exact (an optimum of the stated objective, not a heuristic)
and deterministic (the same input gives the same answer in any process: no
hashing, sets or randomness inside; ties go to the lower rep index at each
step, so callers break ties by ordering or perturbing costs with a stable
hash, as :class:`~leadroute.strategies.BatchFit` does).

Two methods:

* ``"python"`` (default, no dependency) -- successive shortest paths over the
  *reps*: leads join one at a time; a lead takes its cheapest rep at the
  current rep prices, and only when that rep is full does a Dijkstra search
  over the (few) reps find the cheapest chain of moves ending at a rep with
  room. Rep prices are the dual variables, so the answer is optimal
  (complementary slackness) and each lead's *runner-up* and price-adjusted
  cost gap come for free. Cost grows with leads x reps when caps bind
  rarely; see ``benchmarks/bench_quality.py`` for timings.
* ``"scipy"`` (``pip install "leadroute[solver]"``) --
  :func:`scipy.optimize.linear_sum_assignment` on the capacity-expanded
  matrix (one column per capacity slot). Same objective; among equal-cost
  optima it may choose differently, so keep one method per deployment.

>>> plan = solve([[1.0, 3.0], [2.0, 2.5], [4.0, 1.0]], [1, 2])
>>> plan.assignment, plan.objective
((0, 1, 1), 4.5)

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from leadroute.exceptions import InputError

__all__ = ["Plan", "solve"]

#: A cost matrix: ``costs[i][j]`` is the cost of giving lead i to rep j; ``None`` forbids it.
Costs = Sequence[Sequence[float | None]]


@dataclass(frozen=True, slots=True)
class Plan:
    """The solver's answer.

    Attributes:
        assignment: the rep index per lead, ``-1`` for a lead left unassigned
            (no allowed rep had room).
        objective: the total cost of the assigned leads.
        prices: one dual price per rep (0 for reps with room left); a lead
            is on its cheapest rep at ``cost + price``, which is what makes
            the plan optimal.
        method: ``"python"`` or ``"scipy"``.

    .. versionadded:: 0.2.0
    """

    assignment: tuple[int, ...]
    objective: float
    prices: tuple[float, ...]
    method: str = "python"

    def runner_up(self, costs: Costs, lead: int) -> tuple[int, float] | None:
        """The lead's best other rep at the plan's prices and the cost gap to it.

        The gap (``cost + price`` of the runner-up minus that of the planned
        rep, >= 0) is what moving this one lead would cost at the plan's
        prices: a lower bound on the loss of forcing it there.
        """
        row = costs[lead]
        at = self.assignment[lead]
        base = (row[at] or 0.0) + self.prices[at] if at >= 0 else None
        best: tuple[int, float] | None = None
        for j, c in enumerate(row):
            if c is None or j == at:
                continue
            v = c + self.prices[j]
            if best is None or v < best[1]:
                best = (j, v)
        if best is None:
            return None
        return best[0], (0.0 if base is None else max(0.0, best[1] - base))


def _check(costs: Costs, capacities: Sequence[int]) -> int:
    m = len(capacities)
    for j, cap in enumerate(capacities):
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
            msg = f"capacities[{j}] = {cap!r}: capacities are integers >= 0"
            raise InputError(msg, field=f"capacities[{j}]")
    for i, row in enumerate(costs):
        if len(row) != m:
            msg = f"costs[{i}] has {len(row)} entries for {m} reps"
            raise InputError(msg, field=f"costs[{i}]")
        for j, c in enumerate(row):
            if c is not None and (
                isinstance(c, bool) or not isinstance(c, (int, float)) or not abs(c) < 1e300
            ):
                msg = f"costs[{i}][{j}] = {c!r}: costs are finite numbers or None"
                raise InputError(msg, field=f"costs[{i}][{j}]")
    return m


def solve(
    costs: Costs,
    capacities: Sequence[int],
    *,
    method: Literal["python", "scipy"] = "python",
) -> Plan:
    """Assign leads (rows) to reps (columns): most leads first, then least total cost.

    Raises :class:`~leadroute.exceptions.InputError` naming the entry for a
    ragged matrix, a non-finite cost or a negative capacity.

    .. versionadded:: 0.2.0
    """
    m = _check(costs, capacities)
    if method == "scipy":
        return _solve_scipy(costs, capacities, m)
    if method != "python":
        msg = f"method={method!r}: use 'python' or 'scipy'"
        raise InputError(msg, field="method")
    return _solve_python(costs, capacities, m)


def _unassigned_cost(costs: Costs, m: int) -> float:
    """A cost for 'no rep' above any saving a chain of moves could make (most leads first)."""
    lo = hi = 0.0
    for row in costs:
        for c in row:
            if c is not None:
                lo = min(lo, c)
                hi = max(hi, c)
    return hi + (hi - lo + 1.0) * (m + 2)


def _solve_python(costs: Costs, capacities: Sequence[int], m: int) -> Plan:
    n = len(costs)
    dummy = m  # the 'unassigned' column: room for everyone, cost U
    big = _unassigned_cost(costs, m)
    cap = [*capacities, n]
    count = [0] * (m + 1)
    price = [0.0] * (m + 1)
    where = [-1] * n
    # heaps[j][k]: (cost_k - cost_j, lead) for the leads at full rep j allowed at k (lazy: a
    # lead that left j is skipped when it surfaces); built the first time j is searched from
    heaps: list[list[list[tuple[float, int]]] | None] = [None] * (m + 1)
    inf = float("inf")

    def cost(i: int, j: int) -> float | None:
        return big if j == dummy else costs[i][j]

    def build(j: int) -> list[list[tuple[float, int]]]:
        rows: list[list[tuple[float, int]]] = [[] for _ in range(m)]
        for lead in members[j]:
            cj = costs[lead][j]
            assert cj is not None
            row = costs[lead]
            for k in range(m):
                ck = row[k]
                if ck is not None and k != j:
                    rows[k].append((ck - cj, lead))
        for h in rows:
            heapq.heapify(h)
        heaps[j] = rows
        return rows

    def enter(lead: int, j: int) -> None:
        where[lead] = j
        count[j] += 1
        if j == dummy:
            return
        members[j].append(lead)
        rows = heaps[j]
        if rows is not None:
            cj = costs[lead][j]
            assert cj is not None
            row = costs[lead]
            for k in range(m):
                ck = row[k]
                if ck is not None and k != j:
                    heapq.heappush(rows[k], (ck - cj, lead))

    members: list[list[int]] = [[] for _ in range(m + 1)]
    for i in range(n):
        row = costs[i]
        best = dummy
        best_v = big + price[dummy]
        for j in range(m):
            c = row[j]
            if c is not None:
                v = c + price[j]
                if v < best_v:
                    best, best_v = j, v
        if count[best] < cap[best]:
            enter(i, best)
            continue
        # Dijkstra over reps from lead i; stop at the first rep with room
        dist = [inf] * (m + 1)
        pred: list[tuple[int, int]] = [(-1, -1)] * (m + 1)  # (from rep, lead moved); -1: lead i
        for j in range(m):
            c = row[j]
            if c is not None:
                dist[j] = max(0.0, c + price[j] - best_v)
        dist[dummy] = max(0.0, big + price[dummy] - best_v)
        done = [False] * (m + 1)
        queue = [(d, j) for j, d in enumerate(dist) if d < inf]
        heapq.heapify(queue)
        target = -1
        while queue:
            d, j = heapq.heappop(queue)
            if done[j] or d > dist[j]:
                continue
            done[j] = True
            if count[j] < cap[j]:
                target = j
                break
            rows = heaps[j] or build(j)
            pj = price[j]
            for k in range(m):
                if done[k]:
                    continue
                h = rows[k]
                while h and where[h[0][1]] != j:
                    heapq.heappop(h)
                if not h:
                    continue
                nd = d + max(0.0, h[0][0] + price[k] - pj)
                if nd < dist[k]:
                    dist[k] = nd
                    pred[k] = (j, h[0][1])
                    heapq.heappush(queue, (nd, k))
            # every lead may also leave for 'unassigned' (dummy), never cheaper in practice
            if not done[dummy] and members[j]:
                lead = min(members[j], key=lambda x: (big - (costs[x][j] or 0.0), x))
                nd = d + max(0.0, big - (costs[lead][j] or 0.0) + price[dummy] - pj)
                if nd < dist[dummy]:
                    dist[dummy] = nd
                    pred[dummy] = (j, lead)
                    heapq.heappush(queue, (nd, dummy))
        assert target >= 0  # the dummy always has room
        top = dist[target]
        for j in range(m + 1):
            if done[j] and dist[j] < top:
                price[j] += top - dist[j]
        # walk the chain back from the target, moving one lead per hop
        k = target
        while True:
            j, lead = pred[k]
            if j == -1:
                enter(i, k)
                break
            members[j].remove(lead)
            count[j] -= 1
            enter(lead, k)
            k = j
    assignment = tuple(-1 if j == dummy else j for j in where)
    total = 0.0
    for i, j in enumerate(assignment):
        if j >= 0:
            c = cost(i, j)
            assert c is not None
            total += c
    return Plan(assignment, total, tuple(price[:m]), "python")


def _solve_scipy(costs: Costs, capacities: Sequence[int], m: int) -> Plan:
    try:
        import numpy as np
        from scipy.optimize import linear_sum_assignment
    except ImportError:
        msg = 'method="scipy" needs scipy: pip install "leadroute[solver]"'
        raise ImportError(msg) from None
    n = len(costs)
    big = _unassigned_cost(costs, m)
    forbidden = big * 2 + 1.0
    slots: list[int] = []
    for j, cap in enumerate(capacities):
        slots.extend([j] * min(cap, n))
    slots.extend([m] * n)
    matrix = np.full((n, len(slots)), forbidden)
    if n:
        base = np.array(
            [[forbidden if c is None else c for c in row] for row in costs], dtype=float
        ).reshape(n, m)
        cols = np.array(slots)
        real = cols < m
        matrix[:, real] = base[:, cols[real]]
        matrix[:, ~real] = big
    rows, chosen = linear_sum_assignment(matrix)
    where = [-1] * n
    for i, s in zip(rows.tolist(), chosen.tolist(), strict=True):
        j = slots[s]
        if j < m and costs[i][j] is not None:
            where[i] = j
    total = 0.0
    for i, j in enumerate(where):
        if j >= 0:
            c = costs[i][j]
            assert c is not None
            total += c
    return Plan(tuple(where), total, _prices(costs, capacities, where, m, big), "scipy")


def _prices(
    costs: Costs, capacities: Sequence[int], where: Sequence[int], m: int, big: float
) -> tuple[float, ...]:
    """Dual prices of an optimal assignment: shortest distances into the reps with room."""
    # edge j -> k (moving one of j's leads to k) costs min over its leads of cost_k - cost_j;
    # a rep's price is the cheapest chain of moves from it to a rep with room (0 if it has room)
    count = [0] * m
    for j in where:
        if j >= 0:
            count[j] += 1
    edge = [[float("inf")] * (m + 1) for _ in range(m)]
    for i, j in enumerate(where):
        if j < 0:
            continue
        row = costs[i]
        cj = row[j]
        assert cj is not None
        for k in range(m):
            ck = row[k]
            if ck is not None and k != j and ck - cj < edge[j][k]:
                edge[j][k] = ck - cj
        if big - cj < edge[j][m]:
            edge[j][m] = big - cj
    dist = [0.0 if count[j] < capacities[j] else float("inf") for j in range(m)]
    for _ in range(
        m + 1
    ):  # Bellman-Ford towards the reps with room (no negative cycles at an optimum)
        changed = False
        for j in range(m):
            best = dist[j]
            for k in range(m + 1):
                e = edge[j][k]
                if e < float("inf"):
                    d = e + (0.0 if k == m else dist[k])
                    if d < best:
                        best = d
            if best < dist[j]:
                dist[j] = best
                changed = True
        if not changed:
            break
    return tuple(max(0.0, d) for d in dist)
