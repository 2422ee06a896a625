"""The command line on a store: route, reclaim, explain, report with ``--store URL``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from leadroute import Capacity, PoolState, Rep, Router, Rule
from leadroute.cli import main
from leadroute.demo import sample_leads, sample_router, sample_state
from leadroute.result import RoutingResult, explain_rep
from leadroute.stores import open_store
from leadroute.strategies import CapacityCap, Geo, RoundRobin
from tests.conftest import T0, lead


@pytest.fixture
def setup(tmp_path: Path, db_url: str) -> dict[str, str]:
    """A store loaded with the demo state, a rule file and a leads file."""
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(sample_router().to_config()), encoding="utf-8")
    leads = tmp_path / "leads.jsonl"
    leads.write_text("\n".join(x.model_dump_json() for x in sample_leads(30)) + "\n")
    with open_store(db_url) as store:
        store.load(sample_state())
    return {"rules": str(rules), "leads": str(leads), "url": db_url, "dir": str(tmp_path)}


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def _route(setup: dict[str, str]) -> tuple[int, str]:
    return run(
        "route", "--rules", setup["rules"], "--store", setup["url"], "--leads", setup["leads"]
    )


def test_route_on_a_store_prints_assignments(setup: dict[str, str]) -> None:
    """``route --store`` prints one assignment per lead and commits them."""
    code, text = _route(setup)
    assert code == 0
    rows = [json.loads(line) for line in text.splitlines()]
    assert len(rows) == 30
    with open_store(setup["url"]) as store:
        assert len(store.audit(kind="decision")) == 30


def test_route_twice_is_idempotent(setup: dict[str, str]) -> None:
    """Routing the same file twice gives the same reps, the second time as already_open."""
    _c, first = _route(setup)
    _c, second = _route(setup)
    a = [json.loads(x) for x in first.splitlines()]
    b = [json.loads(x) for x in second.splitlines()]
    assert [x["rep_id"] for x in a if x["outcome"] == "assigned"] == [
        x["rep_id"] for x in b if x["reason"] == "already_open"
    ]


def test_explain_from_the_store(setup: dict[str, str]) -> None:
    """``explain --store --lead`` prints the lead's decision."""
    _route(setup)
    lead_id = sample_leads(30)[0].id
    code, text = run("explain", "--store", setup["url"], "--lead", lead_id)
    assert code == 0
    assert lead_id in text


def test_explain_unknown_lead(setup: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown lead id gives a one-line error and exit code 2."""
    code, _ = run("explain", "--store", setup["url"], "--lead", "nope")
    assert code == 2
    assert "nope" in capsys.readouterr().err


def test_reclaim_on_a_store(setup: dict[str, str]) -> None:
    """``reclaim --store`` moves untouched leads and prints the moves."""
    _route(setup)
    code, text = run(
        "reclaim",
        "--store",
        setup["url"],
        "--now",
        "2030-01-01T00:00:00Z",
        "--rules",
        setup["rules"],
    )
    assert code == 0
    assert text.strip()


def test_report_on_a_store(setup: dict[str, str]) -> None:
    """``report --store --since`` prints the lab summary and writes the HTML page."""
    pytest.importorskip("plotly")
    _route(setup)
    html = Path(setup["dir"]) / "live.html"
    code, text = run(
        "report", "--store", setup["url"], "--since", "2000-01-01T00:00:00Z", "--html", str(html)
    )
    assert code == 0
    assert "gini" in text.lower()
    assert html.exists()


def test_store_and_state_together_refused(
    setup: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``--store`` with ``--state`` is a one-line error."""
    code, _ = run(
        "route",
        "--rules",
        setup["rules"],
        "--store",
        setup["url"],
        "--state",
        "x.json",
        "--leads",
        setup["leads"],
    )
    assert code == 2
    assert "--store" in capsys.readouterr().err


def test_reclaim_warn_on_a_store(setup: dict[str, str]) -> None:
    """``reclaim --store --warn`` lists the leads falling due, changing nothing."""
    _route(setup)
    code, text = run(
        "reclaim", "--store", setup["url"], "--now", "2026-01-01T00:00:00Z", "--warn", "P3650D"
    )
    assert code == 0
    assert '"kind"' in text


def _rep_case(tmp_path: Path, url: str) -> tuple[str, PoolState, RoutingResult]:
    """ann (CN) is at her cap, bo (CN) free, cy (US): a CN lead goes to bo."""
    router = Router(rules=[Rule(id="geo", route=Geo() >> CapacityCap() >> RoundRobin())])
    rules = tmp_path / "geo.json"
    rules.write_text(json.dumps(router.to_config()), encoding="utf-8")
    reps = (
        Rep(id="ann", territories=("CN",), capacity=Capacity(max_open=1)),
        Rep(id="bo", territories=("CN",)),
        Rep(id="cy", territories=("US",)),
    )
    with open_store(url) as store:
        store.set_reps(reps)
        router.assign(store, [lead("first", country="CN")], now=T0)
        before = store.snapshot()
        result = router.assign(store, [lead("L1", 5, country="CN")], now=T0)
    assert result.assignments[0].rep_id == "bo"
    return str(rules), before, result


@pytest.mark.parametrize("rep_id", ["ann", "bo", "cy"])
def test_explain_rep_from_the_store(tmp_path: Path, db_url: str, rep_id: str) -> None:
    """``explain --store --lead --rep`` says what the JSON-state path says."""
    rules, before, result = _rep_case(tmp_path, db_url)
    code, text = run(
        "explain", "--store", db_url, "--lead", "L1", "--rep", rep_id, "--rules", rules
    )
    router = Router.from_config(json.loads(Path(rules).read_text()))
    want = explain_rep(
        result.audit[0], rep_id, before, router.policy, before, lead=lead("L1", 5, country="CN")
    )
    assert code == 0
    assert text == want + "\n"


def test_explain_rep_needs_rules_for_an_unlisted_rep(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rep an indexed filter excluded without listing needs --rules to be re-checked."""
    _rep_case(tmp_path, db_url)
    code, _ = run("explain", "--store", db_url, "--lead", "L1", "--rep", "cy")
    assert code == 2
    assert "--rules" in capsys.readouterr().err


def test_explain_rep_refuses_other_rules(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rules file of another policy revision is refused, naming both revisions."""
    _rep_case(tmp_path, db_url)
    other = tmp_path / "other.json"
    other.write_text(json.dumps(Router(rules=[Rule(id="x", route=RoundRobin())]).to_config()))
    code, _ = run(
        "explain", "--store", db_url, "--lead", "L1", "--rep", "cy", "--rules", str(other)
    )
    assert code == 2
    assert "policy" in capsys.readouterr().err
