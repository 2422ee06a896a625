"""The exact batch solver: optimal against brute force, deterministic, scipy agrees."""

from __future__ import annotations

import importlib.util
import itertools
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadroute import InputError
from leadroute.optimize import solve
from tests.processes import outputs_under_hash_seeds

HAS_SCIPY = importlib.util.find_spec("scipy") is not None
ROOT = Path(__file__).resolve().parent.parent


def brute(costs: list[list[int | None]], caps: list[int]) -> tuple[int, int]:
    """(-leads assigned, total cost) of the best assignment, by enumeration."""
    m = len(caps)
    best: tuple[int, int] | None = None
    for choice in itertools.product(range(-1, m), repeat=len(costs)):
        count = [0] * m
        total = 0
        ok = True
        for i, j in enumerate(choice):
            if j < 0:
                continue
            c = costs[i][j]
            if c is None:
                ok = False
                break
            count[j] += 1
            total += c
        if ok and all(count[j] <= caps[j] for j in range(m)):
            key = (-sum(1 for j in choice if j >= 0), total)
            if best is None or key < best:
                best = key
    assert best is not None
    return best


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[list[int | None]], list[int]]:
    m = draw(st.integers(1, 3))
    n = draw(st.integers(0, 6))
    cell = st.one_of(st.none(), st.integers(-9, 9))
    costs = [[draw(cell) for _ in range(m)] for _ in range(n)]
    caps = [draw(st.integers(0, 3)) for _ in range(m)]
    return costs, caps


def _key(costs: list[list[int | None]], assignment: tuple[int, ...]) -> tuple[int, int]:
    total = 0
    for i, j in enumerate(assignment):
        if j >= 0:
            c = costs[i][j]
            assert c is not None
            total += c
    return (-sum(1 for j in assignment if j >= 0), total)


@settings(max_examples=300, deadline=None)
@given(instances())
def test_solver_matches_brute_force(inst: tuple[list[list[int | None]], list[int]]) -> None:
    """The pure-Python solver assigns the most leads at the least cost, as enumeration finds."""
    costs, caps = inst
    plan = solve(costs, caps)
    assert _key(costs, plan.assignment) == brute(costs, caps)
    for j in range(len(caps)):
        assert sum(1 for a in plan.assignment if a == j) <= caps[j]


@settings(max_examples=200, deadline=None)
@given(instances())
def test_prices_certify_optimality(inst: tuple[list[list[int | None]], list[int]]) -> None:
    """Every assigned lead sits on its cheapest rep at cost + price (complementary slackness)."""
    costs, caps = inst
    plan = solve(costs, caps)
    for i, j in enumerate(plan.assignment):
        if j < 0:
            continue
        mine = (costs[i][j] or 0) + plan.prices[j]
        for k, c in enumerate(costs[i]):
            if c is not None:
                assert mine <= c + plan.prices[k] + 1e-9


@pytest.mark.skipif(not HAS_SCIPY, reason='needs scipy (pip install "leadroute[solver]")')
@settings(max_examples=150, deadline=None)
@given(instances())
def test_scipy_path_same_objective(inst: tuple[list[list[int | None]], list[int]]) -> None:
    """The scipy path reaches the same number of leads and the same total cost."""
    costs, caps = inst
    a = solve(costs, caps)
    b = solve(costs, caps, method="scipy")
    assert _key(costs, b.assignment) == _key(costs, a.assignment)


def test_unassigned_when_no_room() -> None:
    """Beyond the capacity the costliest lead is left unassigned (-1)."""
    plan = solve([[1.0], [2.0], [0.5]], [2])
    assert plan.assignment == (0, -1, 0)
    assert plan.objective == 1.5


def test_bad_input_names_the_entry() -> None:
    """A ragged row, a non-finite cost or a negative capacity raise InputError naming it."""
    with pytest.raises(InputError) as exc:
        solve([[1.0, 2.0], [1.0]], [1, 1])
    assert exc.value.field == "costs[1]"
    with pytest.raises(InputError) as exc:
        solve([[float("nan")]], [1])
    assert exc.value.field == "costs[0][0]"
    with pytest.raises(InputError) as exc:
        solve([[1.0]], [-1])
    assert exc.value.field == "capacities[0]"


SCRIPT = """
import json
from leadroute.hashing import unit_draw
from leadroute.optimize import solve
costs = [[round(unit_draw(3, i, j), 3) for j in range(7)] for i in range(60)]
plan = solve(costs, [9] * 7)
print(json.dumps([plan.assignment, plan.objective, plan.prices]))
"""


def test_same_plan_in_another_process() -> None:
    """Two processes with different hash seeds produce the identical plan."""
    outs = outputs_under_hash_seeds(SCRIPT, ("1", "987"))
    assert outs[0] == outs[1]
    assert len(json.loads(outs[0])[0]) == 60
