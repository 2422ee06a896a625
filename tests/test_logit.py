"""The pooled logistic fit model (LogitFit) and its use by BestFit and BatchFit."""

from __future__ import annotations

import importlib.util
import itertools
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadroute import ClosedLead, Lead, MissingExtraError, PoolState, Router, Rule
from leadroute.config import router_from_config, router_to_config
from leadroute.exceptions import InputError
from leadroute.logit import LogitFit, refit_point
from leadroute.stores.base import store_needs
from leadroute.strategies import BatchFit, BestFit
from tests.processes import outputs_under_hash_seeds
from tests.test_batch import batch, history, state

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("numpy") is None, reason="needs numpy (extra solver)"
)


def test_logit_python_and_numpy_agree() -> None:
    """The pure-Python and the numpy fits give the same estimates (to 1e-9)."""
    h = history(200)
    a = LogitFit(h, method="python")
    b = LogitFit(h, method="numpy")
    for x in batch():
        for r in ("ann", "bo"):
            assert a.estimate(r, x).rate == pytest.approx(b.estimate(r, x).rate, abs=1e-9)


def test_logit_ranks_the_skilled_rep_per_segment() -> None:
    """ann is the stronger closer in retail; in tech the two are close."""
    model = LogitFit(history(400))
    retail, tech = batch()[2], batch()[0]
    assert model.estimate("ann", retail).rate > model.estimate("bo", retail).rate + 0.2
    assert abs(model.estimate("ann", tech).rate - model.estimate("bo", tech).rate) < 0.15


def test_logit_evidence_grows_with_outcomes() -> None:
    """A rep x segment with more outcomes leans more on its own record, with less uncertainty."""
    few = LogitFit(history(40)).estimate("ann", batch()[2])
    many = LogitFit(history(400)).estimate("ann", batch()[2])
    assert many.evidence > few.evidence
    assert many.logit_sd < few.logit_sd


def test_logit_unknown_rep_gets_the_team_rate_with_wide_uncertainty() -> None:
    """A rep without history is estimated at the base rate with the prior's uncertainty."""
    model = LogitFit(history(400))
    new = model.estimate("cy", batch()[2])
    assert new.rate == pytest.approx(new.base)
    assert new.evidence == 0.0
    assert new.logit_sd > model.estimate("ann", batch()[2]).logit_sd


def test_logit_cache_learns_once_per_history() -> None:
    """LogitFit.of returns the cached model for the same history and extends it for a longer one."""
    h = history(300)
    first = LogitFit.of(h[:200])
    assert LogitFit.of(h[:200]) is first
    longer = LogitFit.of(h)
    assert (longer.closed, longer.fitted_at) == (300, refit_point(300))
    fresh = LogitFit(h, scheduled=True)
    x = batch()[2]
    assert longer.estimate("ann", x) == fresh.estimate("ann", x)


def test_logit_of_never_changes_a_model_it_returned() -> None:
    """Extending the cached model makes a new one: the earlier model keeps its history's estimates."""
    h = history(300)
    first = LogitFit.of(h[:200])
    before = repr(first.estimate("ann", batch()[2]))
    longer = LogitFit.of(h)
    assert longer is not first
    assert first.closed == 200
    assert repr(first.estimate("ann", batch()[2])) == before


def test_logit_of_a_different_history_is_built_cold() -> None:
    """A history that does not extend the cached one gets a model of its own."""
    h = history(120)
    first = LogitFit.of(h)
    other = LogitFit.of((*h[:60], *history(121)[61:]))
    assert other is not first
    assert other.fits == 1


def test_refit_point_schedule() -> None:
    """The schedule refits on every close up to 40, then about every 5% more closes."""
    points = sorted({refit_point(n) for n in range(2_000)})
    assert points[:41] == list(range(41))
    assert points[41:45] == [42, 44, 46, 48]
    assert all(b - a == max(1, a // 20) for a, b in itertools.pairwise(points))


def _closes(spec: list[tuple[int, int, int, bool, int | None]]) -> tuple[ClosedLead, ...]:
    t = datetime(2026, 1, 5, 9, tzinfo=UTC)
    out = []
    for i, (r, seg, src, won, hours) in enumerate(spec):
        x = Lead(id=f"p{i}", created_at=t, industry=("retail", "tech")[seg], source=f"s{src}")
        out.append(
            ClosedLead(
                lead=x,
                rep_id=("ann", "bo", "cy")[r],
                assigned_at=t,
                closed_at=t + timedelta(days=1),
                outcome="won" if won else "lost",
                first_activity_at=None if hours is None else t + timedelta(hours=hours),
            )
        )
    return tuple(out)


def _snapshot(model: LogitFit) -> str:
    leads = [
        Lead(id=f"q{i}", created_at=datetime(2026, 2, 1, tzinfo=UTC), industry=seg, source=src)
        for i, (seg, src) in enumerate(itertools.product(("retail", "tech"), ("s0", "s1", "s9")))
    ]
    reps = ("ann", "bo", "cy", "dee")
    return repr(
        (
            model.closed,
            model.wins,
            model.fitted_at,
            sorted(model.seg_counts.items()),
            model.prior_var,
            [model.estimate(r, x) for r in reps for x in leads],
            [model.median_first_touch_hours(r) for r in reps],
        )
    )


CLOSE = st.tuples(
    st.integers(0, 2),
    st.integers(0, 1),
    st.integers(0, 1),
    st.booleans(),
    st.none() | st.integers(0, 48),
)


@settings(max_examples=25, deadline=None)
@given(spec=st.lists(CLOSE, max_size=80), cuts=st.lists(st.integers(0, 80), max_size=4))
def test_logit_extended_model_equals_the_cold_one(
    spec: list[tuple[int, int, int, bool, int | None]], cuts: list[int]
) -> None:
    """A model extended by any chunks (in place or anew) is byte-identical to the one built cold."""
    h = _closes(spec)
    model = LogitFit(h[: min(cuts, default=len(h))], scheduled=True)
    for k, end in enumerate([*sorted(cuts), len(h)]):
        if end > model.closed and k % 2:
            model.extend(h[model.closed : end])  # in place
        elif end > model.closed:
            model = model.extended(h[model.closed : end])  # a new model
    assert _snapshot(model) == _snapshot(LogitFit(h, scheduled=True))


def test_logit_of_extended_equals_cold_in_another_process() -> None:
    """The cache's extended model gives the estimates a fresh process builds from the history."""
    h = history(400)
    for n in (250, 252, 300, 400):
        model = LogitFit.of(h[:n])
    assert model.fits == 3  # cold at 250 (fit on 242), none at 252, refits on 292 and 388
    code = (
        "from tests.test_batch import history, batch\n"
        "from leadroute.logit import LogitFit\n"
        "m = LogitFit.of(history(400))\n"
        "print(repr([m.estimate(r, x) for r in ('ann', 'bo') for x in batch()]))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "7"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert out.strip() == repr([model.estimate(r, x) for r in ("ann", "bo") for x in batch()])


def _count_fits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Patch LogitFit to record the size of every history it fits; the list of sizes."""
    fitted: list[int] = []
    real = LogitFit._refit

    def spy(self: LogitFit) -> None:
        fitted.append(self.closed)
        real(self)

    monkeypatch.setattr(LogitFit, "_refit", spy)
    return fitted


def test_one_lead_assign_after_a_close_does_not_refit(monkeypatch: pytest.MonkeyPatch) -> None:
    """BestFit(model_kind='logit') reuses the cached fit when the history grew by one close."""
    fitted = _count_fits(monkeypatch)
    route = BestFit(weights={"conversion": 1.0}, model_kind="logit")
    router = Router(rules=[Rule(id="all", route=route)])
    h = history(301)
    before = state(300)
    router.assign(before, [batch()[2]])
    assert fitted == [292]  # built once, fitted on the schedule's point 292
    after = PoolState(reps=before.reps, history=(*before.history, h[300]))
    router.assign(after, [batch()[0]])
    assert fitted == [292]  # the one new close was counted, nothing refitted
    model = LogitFit.of(after.history)
    assert (model.fits, model.closed, model.fitted_at) == (1, 301, 292)


def test_logit_refits_when_the_history_reaches_the_next_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Crossing a schedule point (306 closes after 300) refits once, on the first 306."""
    fitted = _count_fits(monkeypatch)
    h = history(310)
    LogitFit.of(h[:300])
    model = LogitFit.of(h)
    assert fitted == [292, 306]
    assert (model.fits, model.fitted_at, model.closed) == (2, 306, 310)


def test_logit_draws_are_reproducible_and_spread() -> None:
    """Thompson draws repeat for the same parts and differ across parts."""
    model = LogitFit(history(60))
    x = batch()[2]
    assert model.draw("ann", x, 1) == model.draw("ann", x, 1)
    assert len({model.draw("ann", x, k) for k in range(5)}) == 5


def test_logit_bad_method_is_refused() -> None:
    """An unknown fitting method raises InputError naming the field."""
    with pytest.raises(InputError) as exc:
        LogitFit(history(10), method="lbfgs")  # type: ignore[arg-type]
    assert exc.value.field == "method"


def test_logit_needs_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without numpy, model_kind='logit' names the extra to install before any work."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "numpy" else real(name, *a)
    )
    with pytest.raises(MissingExtraError) as exc:
        BatchFit(model_kind="logit")
    assert exc.value.extra == "solver"
    assert LogitFit(history(10), method="python").closed == 10


def test_bestfit_logit_prefers_the_skilled_rep() -> None:
    """BestFit(model_kind='logit') sends a retail lead to the strong retail rep."""
    route = BestFit(weights={"conversion": 1.0}, model_kind="logit")
    result = Router(rules=[Rule(id="all", route=route)]).assign(state(), [batch()[2]])
    assert result.assignments[0].rep_id == "ann"
    rationale = result.audit[0].steps[-1].rationale
    assert rationale is not None
    assert "logit fit on 400 closed leads" in str(rationale["why"])


def test_batchfit_logit_plans_like_the_pooled_model_here() -> None:
    """BatchFit(model_kind='logit') gives the retail leads to ann and the tech leads to bo."""
    route = BatchFit(max_share=1.0, model_kind="logit")
    got = {
        a.lead_id: a.rep_id
        for a in Router(rules=[Rule(id="a", route=route)]).assign(state(), batch()).assignments
    }
    assert got == {"L1": "bo", "L2": "bo", "L3": "ann", "L4": "ann"}


SCRIPT = """
from tests.test_batch import batch, state
from leadroute import Router, Rule
from leadroute.strategies import BatchFit
route = BatchFit(max_share=1.0, model_kind="logit", explore=True)
print(Router(rules=[Rule(id="all", route=route)]).assign(state(), batch()).model_dump_json())
"""


def test_logit_batch_same_output_in_another_process() -> None:
    """Two processes with different hash seeds give byte-identical results (with exploration)."""
    outs = outputs_under_hash_seeds(SCRIPT, ("0", "4242"), cwd=os.path.dirname(os.path.dirname(__file__)))
    assert outs[0] == outs[1]


def test_logit_strategies_round_trip_through_config() -> None:
    """BatchFit and BestFit with model_kind='logit' load from and write back to a rule file."""
    raw = {
        "rules": [
            {"id": "a", "route": {"type": "BatchFit", "model_kind": "logit", "rep_by": ["source"]}},
            {"id": "b", "route": {"type": "BestFit", "model_kind": "logit", "explore": True}},
        ]
    }
    router = router_from_config(raw)
    again = router_from_config(router_to_config(router))
    assert again.policy_revision == router.policy_revision


def test_logit_bestfit_makes_a_store_load_the_history() -> None:
    """A store routing BestFit(model_kind='logit') reads the whole history, not the aggregates."""
    logit = Router(rules=[Rule(id="a", route=BestFit(model_kind="logit"))])
    pooled = Router(rules=[Rule(id="a", route=BestFit(model_kind="pooled"))])
    assert store_needs(logit).history
    assert not store_needs(pooled).history
