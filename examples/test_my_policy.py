"""Property-test your own routing policy with leadroute.testing (copy this file).

Run with ``pytest examples/test_my_policy.py`` after ``pip install "leadroute[testing]" pytest``.
Replace ``MY_ROUTER`` with your policy; hypothesis generates rosters, states
and lead batches, and ``check_invariants`` asserts leadroute's promises:
every lead exactly once, caps held, filters honoured per the audit, the same
input giving the same output, the input state left alone.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from leadroute import Lead, PoolState, Router, Rule
from leadroute.strategies import CapacityCap, Geo, Industry, LeastLoaded, RoundRobin
from leadroute.testing import check_invariants, lead_batches, pool_states, reps

MY_ROUTER = Router(
    rules=[
        Rule(
            id="china",
            when={"field": "country", "eq": "CN"},
            route=Geo() >> Industry() >> CapacityCap() >> RoundRobin(),
        ),
        Rule(id="rest", route=CapacityCap() >> LeastLoaded()),
    ]
)


@settings(max_examples=50, deadline=None)
@given(pool_states(), lead_batches(max_size=25))
def test_my_policy_keeps_its_promises(state: PoolState, leads: list[Lead]) -> None:
    """Whatever the roster and the leads, the policy keeps leadroute's promises."""
    result = MY_ROUTER.assign(state, leads)
    check_invariants(MY_ROUTER, state, leads, result)


SHANGHAI_ROSTERS = st.lists(
    reps(timezone="Asia/Shanghai"), min_size=1, max_size=6, unique_by=lambda r: r.id
)


@settings(max_examples=30, deadline=None)
@given(pool_states(reps=SHANGHAI_ROSTERS), lead_batches())
def test_with_a_fixed_time_zone(state: PoolState, leads: list[Lead]) -> None:
    """Any field can be fixed by keyword: here every rep works from Shanghai."""
    assert all(r.timezone == "Asia/Shanghai" for r in state.reps)
    check_invariants(MY_ROUTER, state, leads, MY_ROUTER.assign(state, leads))
