"""The report for people: verdict wording, fair share within territory, the HTML page in a browser."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings

from leadroute import (
    Capacity,
    Lead,
    PoolState,
    Rep,
    Router,
    Rule,
    SimulationReport,
    compare,
    simulate,
)
from leadroute.lab import Fairness, RepShare, _fair_shares
from leadroute.regions import region_covers
from leadroute.report import busiest_rep, render_html, summary_text, verdict
from leadroute.strategies import CapacityCap, Geo, RoundRobin, Weighted
from leadroute.testing import lead_batches, pool_states
from tests.conftest import lead, rep

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def made(
    counts: dict[str, int],
    targets: dict[str, float],
    *,
    leads: int | None = None,
    expected: float | None = None,
) -> SimulationReport:
    """A report with the given per-rep counts and fair shares."""
    total = sum(counts.values())
    per = {
        k: RepShare(
            count=n,
            share=n / total,
            target_share=targets[k],
            deviation=n / total - targets[k],
        )
        for k, n in counts.items()
    }
    return SimulationReport(
        policy_revision="0123456789abcdef",
        leads=total if leads is None else leads,
        assigned=total,
        per_rep=per,
        fairness=Fairness(gini=0.1, max_min_ratio=2.0, max_share_deviation=0.1),
        expected_conversions=expected,
    )


EVEN = {"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25}


def test_headline_compares_leads_conversions_and_busiest_rep() -> None:
    """Two reports give one sentence: % more leads, more conversions, the busiest rep's excess."""
    a = made({"a": 25, "b": 25, "c": 25, "d": 25}, EVEN, leads=104, expected=30.0)
    b = made({"a": 30, "b": 24, "c": 25, "d": 25}, EVEN, leads=104, expected=36.0)
    v = verdict([("A", a), ("B", b)])
    assert v.text == (
        "B assigns 4% more leads than A (104 against 100) and expects 6.0 more conversions (+20%); "
        "its busiest rep, a, gets 15% more than its fair share (under A: +0%)."
    )
    assert v.warnings == ()


def test_concentration_warning_names_the_gain() -> None:
    """A gain that comes from one rep far above its fair share is called out as such."""
    a = made({"a": 250, "b": 250, "c": 250, "d": 250}, EVEN, expected=100.0)
    b = made({"a": 932, "b": 30, "c": 20, "d": 18}, EVEN, expected=154.0)
    v = verdict([("rotation", a), ("fit", b)])
    assert "expects 54 more conversions (+54%)" in v.text
    assert "its busiest rep, a, gets 3.7 times its fair share" in v.text
    assert v.warnings == (
        "fit's gain comes with concentration: a gets 932 of 1,000 leads (93%), "
        "3.7 times its fair share (25%).",
    )


def test_no_warning_below_the_concentration_threshold() -> None:
    """A rep 40% above its fair share is named in the headline but not warned about."""
    r = made({"a": 35, "b": 25, "c": 20, "d": 20}, EVEN)
    v = verdict([("P", r)])
    assert (
        v.text == "P assigns all 100 leads; its busiest rep, a, gets 40% more than its fair share."
    )
    assert v.warnings == ()
    assert (
        verdict([("P", r)], concentration=0.3).warnings[0].startswith("Leads are concentrated in P")
    )


def test_busiest_rep_is_measured_against_fair_share_not_count() -> None:
    """The busiest rep is the one furthest above its own fair share, not the one with most leads."""
    r = made({"big": 60, "small": 40}, {"big": 0.8, "small": 0.2})
    gap = busiest_rep(r)
    assert gap is not None
    assert gap.rep_id == "small"
    assert gap.over == pytest.approx(1.0)


def test_unserved_leads_are_warned_about() -> None:
    """Leaving 5% or more of the leads without a rep is a warning with the reasons."""
    r = made({"a": 50, "b": 50}, {"a": 0.5, "b": 0.5}, leads=120).model_copy(
        update={"unassigned": {"no_eligible_rep": 20}}
    )
    (warning,) = verdict([("P", r)]).warnings
    assert warning == "P leaves 20 of 120 leads (17%) without a rep (no_eligible_rep 20)."


def test_fair_share_counts_only_the_leads_a_rep_can_serve() -> None:
    """A rep alone in a small region has a small fair share, not an even split of the roster."""
    state = PoolState(
        reps=(
            rep("cn1", territories=("CN",)),
            rep("cn2", territories=("CN",)),
            rep("de", territories=("DE",)),
        )
    )
    leads = [lead(f"C{i}", i, country="CN") for i in range(80)]
    leads += [lead(f"D{i}", 100 + i, country="DE") for i in range(20)]
    report = simulate(Router(rules=[Rule(id="geo", route=Geo() >> RoundRobin())]), state, leads)
    assert report.per_rep["de"].target_share == pytest.approx(0.2)
    assert report.per_rep["cn1"].target_share == pytest.approx(0.4)
    assert report.per_rep["de"].deviation == pytest.approx(0.0)
    assert report.servable == {"cn1": 80, "cn2": 80, "de": 20}


def test_fair_share_without_territories_follows_weights() -> None:
    """Reps without territories cover every lead, so the fair share is the weight share."""
    state = PoolState(reps=(rep("a", weight=3), rep("b", weight=1)))
    report = simulate(
        Router(rules=[Rule(id="r", route=Weighted())]), state, [lead(f"L{i}", i) for i in range(8)]
    )
    assert report.per_rep["a"].target_share == 0.75
    assert report.per_rep["a"].count == 6


def test_report_describes_what_was_simulated() -> None:
    """The report keeps the period, team, rules and step; the summary says them in words."""
    state = PoolState(reps=(rep("a", team="east"), rep("b", team="east"), rep("c")))
    leads = [lead(f"L{i}", i * 60 * 24) for i in range(3)]
    report = simulate(Router(rules=[Rule(id="all", route=RoundRobin())]), state, leads)
    assert report.teams == {"": 1, "east": 2}
    assert report.rules == ("all",)
    assert report.first_lead_at == leads[0].created_at
    text = summary_text(report)
    assert "simulated: leads from 2026-03-02 to 2026-03-04 (3 days), in steps of 1 day" in text
    assert "team: 3 active reps (east 2, no team 1)" in text


def test_old_report_json_still_loads() -> None:
    """A report saved before the new fields existed loads with their defaults."""
    old = made({"a": 1}, {"a": 1.0}).model_dump(
        mode="json",
        exclude={
            "first_lead_at",
            "last_lead_at",
            "step",
            "teams",
            "rules",
            "servable",
            "expected_by_rep",
            "full_steps",
        },
    )
    loaded = SimulationReport.model_validate(old)
    assert loaded.servable == {}
    assert loaded.first_lead_at is None


def concentrated_pair() -> list[tuple[str, SimulationReport]]:
    """Two simulated policies, the second piling leads on one rep."""
    state = PoolState(
        reps=(
            rep("cn1", territories=("CN",)),
            rep("cn2", territories=("CN",)),
            rep("de", territories=("DE",), team="dach"),
        )
    )
    leads = [lead(f"C{i:03d}", i * 30, country="CN") for i in range(90)]
    leads += [lead(f"D{i:03d}", i * 45, country="DE") for i in range(30)]
    even = Router(rules=[Rule(id="geo", route=Geo() >> RoundRobin())])
    skewed = Router(rules=[Rule(id="heavy", route=Weighted(weights={"cn1": 9, "cn2": 1, "de": 1}))])
    return [
        ("territory", simulate(even, state, leads)),
        ("weighted", simulate(skewed, state, leads)),
    ]


def test_html_page_leads_with_the_verdict() -> None:
    """The page opens with the verdict and warning, before the tables and charts."""
    pytest.importorskip("plotly")
    reports = concentrated_pair()
    page = render_html(reports, title="Lab")
    v = verdict(reports)
    assert v.warnings
    verdict_at = page.index(html.escape(v.text))
    assert (
        verdict_at
        < page.index("What was simulated")
        < page.index("Per rep")
        < page.index("chart-share")
    )
    assert html.escape(v.warnings[0]) in page
    assert page.count("class='chart'") == 3


def test_html_page_is_deterministic(tmp_path: Path) -> None:
    """The same reports give the same bytes (fixed chart ids)."""
    pytest.importorskip("plotly")
    reports = concentrated_pair()
    assert render_html(reports) == render_html(reports)


# -- in a real browser --------------------------------------------------------------------

_BEFORE = """<script>
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push('error: ' + e.message); });
window.addEventListener('unhandledrejection', function (e) { window.__errors.push('rejection: ' + e.reason); });
(function () {
  var original = console.error;
  console.error = function () {
    window.__errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
    return original.apply(console, arguments);
  };
})();
</script>"""

_AFTER = """<script>
window.addEventListener('load', function () {
  setTimeout(function () {
    var sections = document.querySelectorAll('section.chart');
    var rendered = [];
    sections.forEach(function (s) {
      var plot = s.querySelector('.js-plotly-plot');
      var drawn = plot && plot.querySelector('svg.main-svg') && plot.querySelectorAll('g.trace').length > 0;
      if (drawn) { rendered.push(s.getAttribute('data-chart')); }
    });
    var out = document.createElement('pre');
    out.id = 'browser-check';
    out.textContent = JSON.stringify({charts: sections.length, rendered: rendered, errors: window.__errors});
    document.body.appendChild(out);
  }, 1000);
});
</script>"""

_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "Chromium is not installed; CI must install it (.ci/run: apt-get install chromium)"
            )
        pytest.skip("Chromium is not installed (apt-get install chromium); CI runs this test")
    return found


def _run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [browser, *_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.slow
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    """Headless Chromium draws every chart without a console error; a screenshot is kept."""
    pytest.importorskip("plotly")
    browser = _chromium()
    page = tmp_path / "report.html"
    render = render_html(concentrated_pair(), title="Territory against weighted")
    page.write_text(render, encoding="utf-8")
    checked = tmp_path / "checked.html"
    checked.write_text(
        render.replace("<head>", "<head>" + _BEFORE, 1).replace("</body>", _AFTER + "</body>", 1),
        encoding="utf-8",
    )
    run = _run(
        browser,
        tmp_path / "profile-dom",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=15000",
        "--dump-dom",
        checked.as_uri(),
    )
    found = re.search(r"<pre id=\"browser-check\">(.*?)</pre>", run.stdout, re.S)
    assert found is not None, f"the page's check did not run; chromium said:\n{run.stderr[-3000:]}"
    result = json.loads(html.unescape(found.group(1)))
    assert result["errors"] == []
    assert result["charts"] == 3
    assert result["rendered"] == ["share", "fairness", "load"]
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line and "Uncaught" in line]
    assert console == []

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    run = _run(
        browser,
        tmp_path / "profile-shot",
        "--window-size=1280,2400",
        "--virtual-time-budget=15000",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    assert shot.exists(), run.stderr[-3000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot of the report: {shot}")


@settings(max_examples=60, deadline=None)
@given(state=pool_states(), batch=lead_batches())
def test_fair_shares_sum_to_one_and_stay_within_reach(state: PoolState, batch: list[Lead]) -> None:
    """Fair shares of an active roster sum to 1; no rep's exceeds the share of leads it can serve."""
    targets, servable = _fair_shares(state.reps, batch)
    if not batch or not targets:
        return
    assert sum(targets.values()) == pytest.approx(1.0)
    uncovered = any(
        not any(servable_by(r, x) for r in state.reps if r.id in targets) for x in batch
    )
    if not uncovered:
        for rep_id, share in targets.items():
            assert share <= servable[rep_id] / len(batch) + 1e-9


def servable_by(r: Rep, x: Lead) -> bool:
    """Whether rep ``r`` covers lead ``x`` by territory (no territories: every lead)."""
    geo = x.region or x.country
    return not r.territories or (
        geo is not None and any(region_covers(t, geo) for t in r.territories)
    )


def test_compare_carries_the_concentration_warning() -> None:
    """The text comparison (and so the CLI) warns about a gain that comes with concentration."""
    a = made({"a": 250, "b": 250, "c": 250, "d": 250}, EVEN, expected=100.0)
    b = made({"a": 932, "b": 30, "c": 20, "d": 18}, EVEN, expected=154.0)
    differences = compare(a, b, ("rotation", "fit")).differences
    assert differences[-1].startswith("Warning: fit's gain comes with concentration: a gets 932")


def test_cap_hits_are_counted_per_rep_and_shown() -> None:
    """Per-rep cap hits add up to the report's cap hits and appear in the per-rep table."""
    reps = (Rep(id="busy", capacity=Capacity(max_open=1)), Rep(id="free"))
    router = Router(rules=[Rule(id="cap", route=CapacityCap() >> RoundRobin())])
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    stream = [Lead(id=f"L{i}", created_at=at + timedelta(minutes=i)) for i in range(6)]
    report = simulate(router, PoolState(reps=reps), stream, close_after=None)
    assert report.cap_hits_by_rep == {"busy": 5}  # the first lead fills its one slot
    assert sum(report.cap_hits_by_rep.values()) == sum(report.cap_hits.values())
    page = render_html([("policy", report)])
    assert "cap hits" in page
