"""The context's engine services (rotation heaps, capacity splits) against the plain scans."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import timedelta
from types import MappingProxyType
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadroute import Capacity, Lead, PoolState, Rep, Router, Rule
from leadroute.context import RotationMemory, RouteContext
from leadroute.services import CellList, Services, scan_longest_waiting
from leadroute.state import Rotation
from leadroute.strategies import (
    Band,
    CapacityCap,
    Fallback,
    Geo,
    Industry,
    RoundRobin,
    ValueTier,
)
from leadroute.testing import EPOCH, lead_batches, pool_states, routers

SETTINGS = settings(
    max_examples=int(os.environ.get("LEADROUTE_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

REGIONS = ("north", "south", "east")
INDUSTRIES = ("saas", "retail", "health")


@contextlib.contextmanager
def services_always() -> Iterator[None]:
    """Use the services on every shared list, however short (they scan short ones by default)."""
    with mock.patch.object(Services, "scan_up_to", 0):
        yield


@contextlib.contextmanager
def plain_scans() -> Iterator[None]:
    """Turn the services off: every strategy scans its candidates (the reference)."""
    with (
        mock.patch.object(Services, "longest_waiting", return_value=None),
        mock.patch.object(Services, "open_cap_split", return_value=None),
    ):
        yield


def _context(reps: tuple[Rep, ...], last: dict[str, int], turn: int) -> RouteContext:
    state = PoolState(reps=reps)
    ctx = RouteContext(
        state=state,
        seed=0,
        open_counts={},
        days={},
        rotations={"p": RotationMemory(turn, dict(last), {})},
        owners={},
        order={r.id: i for i, r in enumerate(reps)},
    )
    ctx.path = "p"
    return ctx


@st.composite
def rosters(draw: st.DrawFn) -> tuple[Rep, ...]:
    """Reps over three regions and three industries, some capped low, some with day caps."""
    n = draw(st.integers(1, 14))
    reps = []
    for i in range(n):
        daily = draw(st.sampled_from([None, None, None, 1, 2]))
        reps.append(
            Rep(
                id=f"r{i:02d}",
                territories=tuple(draw(st.sets(st.sampled_from(REGIONS), min_size=1))),
                industries=tuple(draw(st.sets(st.sampled_from(INDUSTRIES), min_size=1))),
                capacity=Capacity(
                    max_open=draw(st.sampled_from([None, 0, 1, 2, 3, 5])), max_per_day=daily
                ),
                active=draw(st.sampled_from([True, True, True, False])),
            )
        )
    return tuple(reps)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Router, PoolState, list[Lead]]:
    """A core-like policy, a state with loads and rotation memory, and a batch."""
    reps = draw(rosters())
    route = Geo() >> Industry() >> CapacityCap() >> RoundRobin()
    policy = draw(st.sampled_from(["one", "two", "fallback", "override"]))
    if policy == "one":
        rules = [Rule(id="main", route=route)]
    elif policy == "two":
        # a second rule with the same filters and its own rotation
        rules = [
            Rule(id="main", route=Geo() >> CapacityCap() >> RoundRobin()),
            Rule(id="next", route=route),
        ]
    elif policy == "fallback":
        rules = [
            Rule(
                id="main",
                route=Geo()
                >> Fallback(Industry() >> CapacityCap(max_open=1) >> RoundRobin(), RoundRobin()),
            )
        ]
    else:
        rules = [
            Rule(id="main", route=Geo() >> Industry() >> CapacityCap(max_open=2) >> RoundRobin())
        ]
    last = {r.id: draw(st.integers(-1, 8)) for r in reps if draw(st.booleans())}
    turn = draw(st.integers(0, 12))
    paths = ["main:route[3]", "next:route[3]", "main:route[1].options[0][2]"]
    rotations = {p: Rotation(turn=turn, last_served=last) for p in paths} if last or turn else {}
    state = PoolState(reps=reps, rotations=rotations)
    # open leads from an earlier call, so some reps start at or near their cap
    warm = [
        Lead(id=f"W{i:02d}", created_at=EPOCH, region=draw(st.sampled_from(REGIONS)))
        for i in range(draw(st.integers(0, 8)))
    ]
    if warm:
        state = (
            Router(rules=[Rule(id="warm", route=Geo() >> RoundRobin())]).assign(state, warm).state
        )
    n = draw(st.integers(1, 30))
    batch = [
        Lead(
            id=f"L{i:03d}",
            created_at=EPOCH + timedelta(minutes=draw(st.integers(1, 600))),
            region=draw(st.sampled_from(REGIONS)),
            industry=draw(st.sampled_from(INDUSTRIES)),
        )
        for i in range(n)
    ]
    return Router(rules=rules), state, batch


def _dump(result: Any) -> tuple[str, str, list[str]]:
    return (
        str([(a.lead_id, a.rep_id, a.reason) for a in result.assignments]),
        result.state.model_dump_json(),
        [d.model_dump_json() for d in result.audit],
    )


def test_heap_answer_equals_the_scan() -> None:
    """On an index cell the context's longest-waiting answer is the scan's, next in line too."""
    reps = tuple(Rep(id=f"r{i}") for i in range(6))
    ctx = _context(reps, {"r0": 3, "r2": 1, "r4": 0}, 5)
    cell = CellList(reps[1:], memo=10**9)
    with services_always():
        assert ctx.longest_waiting(cell) == scan_longest_waiting(cell, ctx.last_served)
    assert ctx._services is not None


def test_plain_lists_get_the_scan() -> None:
    """A list the engine does not share is scanned (no heap is kept for it)."""
    reps = tuple(Rep(id=f"r{i}") for i in range(3))
    ctx = _context(reps, {"r0": 1}, 2)
    assert ctx.longest_waiting(list(reps))[0].id == "r1"
    assert ctx._services is None


def test_out_of_order_cell_gets_the_scan() -> None:
    """A shared list not in roster order is scanned (the heap's tie-break would differ)."""
    reps = tuple(Rep(id=f"r{i}") for i in range(3))
    ctx = _context(reps, {}, 0)
    cell = CellList(reversed(reps), memo=10**9 + 1)
    with services_always():
        assert ctx.longest_waiting(cell)[0].id == "r2"


@SETTINGS
@given(cases(), st.sampled_from(["full", "outcome"]))
def test_services_route_like_the_plain_scans(
    case: tuple[Router, PoolState, list[Lead]], audit: str
) -> None:
    """Same assignments, next state and audit JSON with the services as with the plain scans."""
    router, state, batch = case
    with services_always():
        fast = router.assign(state, batch, audit=audit)  # type: ignore[arg-type]
    with plain_scans():
        plain = Router(rules=router.rules).assign(state, batch, audit=audit)  # type: ignore[arg-type]
    assert _dump(fast) == _dump(plain)


@SETTINGS
@given(routers(), pool_states(), lead_batches())
def test_services_route_like_the_plain_scans_on_random_policies(
    router: Router, state: PoolState, batch: list[Lead]
) -> None:
    """Random policies and states: the services change nothing in the result."""
    with services_always():
        fast = router.assign(state, batch)
    with plain_scans():
        plain = Router(rules=router.rules, default=router.default, seed=router.seed).assign(
            state, batch
        )
    assert _dump(fast) == _dump(plain)


@SETTINGS
@given(cases(), st.integers(1, 5))
def test_services_route_like_the_plain_scans_over_calls(
    case: tuple[Router, PoolState, list[Lead]], cut: int
) -> None:
    """Split into two calls (the second from the first's state), the results are the same."""
    router, state, batch = case
    first, second = batch[:cut], batch[cut:]
    with services_always():
        one = router.assign(state, first)
        two = router.assign(one.state, second)
    with plain_scans():
        again = Router(rules=router.rules)
        one_p = again.assign(state, first)
        two_p = again.assign(one_p.state, second)
    assert _dump(one) == _dump(one_p)
    assert _dump(two) == _dump(two_p)


def test_value_tier_leaves_no_steps_without_the_audit() -> None:
    """With audit="outcome" a ValueTier adds no step (nor drop records) to the decision."""
    reps = (Rep(id="junior", level=1), Rep(id="senior", level=3))
    tier = ValueTier(
        by="value",
        bands=(
            Band(name="high", min=50_000, min_level=3, route=RoundRobin()),
            Band(name="rest", route=RoundRobin()),
        ),
        fallthrough=True,
    )
    router = Router(rules=[Rule(id="t", route=tier)])
    lead = Lead(id="L1", created_at=EPOCH, value=90_000)
    full = router.assign(PoolState(reps=reps), [lead])
    bare = router.assign(PoolState(reps=reps), [lead], audit="outcome")
    assert any(s.kind == "tier" and s.dropped for s in full.audit[0].steps)
    assert bare.audit[0].steps == ()
    assert bare.assignments == full.assignments


def test_open_cap_split_reads_lazy_counts_by_key() -> None:
    """Counts behind a read-only mapping (a store's ledger) give the same split, kept current."""
    reps = tuple(Rep(id=f"r{i}", capacity=Capacity(max_open=2)) for i in range(12))
    counts = {"r1": 2, "r4": 1}
    state = PoolState(reps=reps)
    ctx = RouteContext(
        state=state,
        seed=0,
        open_counts=MappingProxyType(counts),
        days={},
        rotations={},
        owners={},
        order={r.id: i for i, r in enumerate(reps)},
    )
    cell = CellList(reps, memo=10**9 + 2)
    split = ctx.open_cap_split("cap", cell, lambda rep: rep.capacity.max_open)
    assert split is not None
    assert [r.id for r in split.split()[1]] == ["r1"]
    counts["r4"] = 2
    ctx._load_changed("r4")
    split = ctx.open_cap_split("cap", cell, lambda rep: rep.capacity.max_open)
    assert split is not None
    assert [r.id for r in split.split()[1]] == ["r1", "r4"]
    assert len(split.split()[0]) == 10
