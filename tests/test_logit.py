"""The pooled logistic fit model (LogitFit) and its use by BestFit and BatchFit."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from leadroute import MissingExtraError, Router, Rule
from leadroute.config import router_from_config, router_to_config
from leadroute.exceptions import InputError
from leadroute.logit import LogitFit
from leadroute.stores.base import store_needs
from leadroute.strategies import BatchFit, BestFit
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
    """LogitFit.of returns the cached model for the same history and a fresh equal one otherwise."""
    h = history(300)
    first = LogitFit.of(h[:200])
    assert LogitFit.of(h[:200]) is first
    longer = LogitFit.of(h)
    assert longer is not first
    assert longer.closed == 300
    fresh = LogitFit(h)
    x = batch()[2]
    assert longer.estimate("ann", x) == fresh.estimate("ann", x)


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
    outs = []
    for seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            cwd=os.path.dirname(os.path.dirname(__file__)),
        )
        outs.append(out.stdout)
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
