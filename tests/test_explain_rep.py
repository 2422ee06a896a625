"""explain with a rep never gives a false explanation: it re-checks or refuses."""

from __future__ import annotations

import pytest

from leadroute import Capacity, PoolState, Router, RoutingResult, Rule
from leadroute.exceptions import InputError
from leadroute.strategies import CapacityCap, Geo, RoundRobin
from tests.conftest import lead, rep


def state() -> PoolState:
    """Two reps in Beijing and one in Berlin."""
    return PoolState(
        reps=(
            rep("ann", territories=("CN-BJ",), capacity=Capacity(max_open=5)),
            rep("bo", territories=("CN-BJ",), capacity=Capacity(max_open=5)),
            rep("dirk", territories=("DE",), capacity=Capacity(max_open=5)),
        )
    )


def router(max_drops: int) -> Router:
    """Geo, caps, rotation; drops listed up to ``max_drops``."""
    rule = Rule(id="all", route=Geo() >> CapacityCap() >> RoundRobin())
    return Router(rules=[rule], max_drops=max_drops)


def test_unlisted_territory_drop_is_rechecked() -> None:
    """A rep a territory index excluded without listing is re-checked and named."""
    result = router(0).assign(state(), [lead("L1", region="CN-BJ", country="CN")])
    assert result.assignment("L1").rep_id == "ann"
    text = result.explain("L1", "dirk")
    assert "dropped by Geo()" in text
    assert "CN-BJ not under DE" in text


def test_rep_that_passed_an_index_filter_is_explained_by_the_selector() -> None:
    """A rep that passed every filter is explained by the selector's choice."""
    result = router(50).assign(state(), [lead("L1", region="CN-BJ", country="CN")])
    assert "passed the filters, but the selector chose ann" in result.explain("L1", "bo")


def test_unlisted_cap_pass_is_not_claimed() -> None:
    """A rep at its cap mid-batch (not at the batch's start) is never said to have passed."""
    one = Capacity(max_open=1)
    reps = tuple(rep(r, territories=("CN-BJ",), capacity=one) for r in ("ann", "bo", "cy"))
    leads = [lead(f"L{i}", minutes=i, region="CN-BJ", country="CN") for i in range(2)]
    result = router(0).assign(PoolState(reps=reps), leads)
    first = result.assignment("L0").rep_id
    assert first is not None
    assert result.assignment("L1").rep_id != first
    with pytest.raises(InputError, match="cannot tell why"):
        result.explain("L1", first)  # it was full at L1, though empty before the batch


def test_result_without_its_router_refuses() -> None:
    """A result read back from JSON (no router, no input state) refuses rather than guess."""
    result = router(0).assign(state(), [lead("L1", region="CN-BJ", country="CN")])
    loaded = RoutingResult.model_validate_json(result.model_dump_json())
    with pytest.raises(InputError, match="re-checking needs the rules, the state"):
        loaded.explain("L1", "dirk")
