"""The policy lab's report for people: a verdict in plain words, what was simulated, a table, charts.

:func:`verdict` turns one or two :class:`~leadroute.lab.SimulationReport` s
into a headline a sales-ops manager can act on ("B assigns 4% more leads and
expects 6 more conversions; its busiest rep gets 38% more than its fair
share") and warnings, such as a gain that comes from piling leads on a few
reps. :func:`write_html` writes one self-contained page (plotly's JavaScript
inlined, so it opens offline): the verdict first, then what was simulated, a
results table, a per-rep table (leads, share against the fair share within
the rep's territories, steps at full capacity, expected conversions) and
charts in one unit per axis (% for shares).

>>> from leadroute.lab import Fairness, RepShare, SimulationReport
>>> r = SimulationReport(
...     policy_revision="abc", leads=100, assigned=100,
...     per_rep={"a": RepShare(count=80, share=0.8, target_share=0.5, deviation=0.3),
...              "b": RepShare(count=20, share=0.2, target_share=0.5, deviation=-0.3)},
...     fairness=Fairness(gini=0.3, max_min_ratio=4.0, max_share_deviation=0.3))
>>> print(verdict([("rotation", r)]).text)
rotation assigns all 100 leads; its busiest rep, a, gets 60% more than its fair share.
>>> print(verdict([("rotation", r)]).warnings[0])
Leads are concentrated in rotation: a gets 80 of 100 leads (80%), 1.6 times its fair share (50%).

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import html
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from leadroute.exceptions import InputError

if TYPE_CHECKING:
    from leadroute.lab import SimulationReport

__all__ = [
    "CONCENTRATION",
    "Gap",
    "Verdict",
    "busiest_rep",
    "render_html",
    "require_plotly",
    "summary_text",
    "verdict",
    "write_html",
]

#: a rep with this much more than its fair share (0.5: +50%) triggers a concentration warning
CONCENTRATION = 0.5

_INSTALL = 'HTML reports need plotly: pip install "leadroute[report]"'


@dataclass(frozen=True, slots=True)
class Gap:
    """One rep's leads against its fair share: ``over`` is ``share / target - 1`` (0.38: +38%).

    .. versionadded:: 0.2.0
    """

    rep_id: str
    count: int
    share: float
    target: float

    @property
    def over(self) -> float:
        """How far above its fair share the rep is (negative: below)."""
        return self.share / self.target - 1


@dataclass(frozen=True, slots=True)
class Verdict:
    """The headline of a report in plain words, and the warnings a reader must not miss.

    .. versionadded:: 0.2.0
    """

    text: str
    warnings: tuple[str, ...]


def busiest_rep(report: SimulationReport) -> Gap | None:
    """The rep furthest above its fair share (``None`` when no rep has a fair share and leads).

    Ties go to the rep with more leads, then the smaller id.

    .. versionadded:: 0.2.0
    """
    best: Gap | None = None
    for rep_id in sorted(report.per_rep):
        p = report.per_rep[rep_id]
        if p.target_share <= 0 or p.count == 0:
            continue
        gap = Gap(rep_id, p.count, p.share, p.target_share)
        if best is None or (gap.over, gap.count) > (best.over, best.count):
            best = gap
    return best


def _n(x: int) -> str:
    return f"{x:,}"


def _leads(n: int) -> str:
    return f"{n:,} lead{'' if n == 1 else 's'}"


def _pct(x: float, digits: int = 0) -> str:
    return f"{x:.{digits}%}"


def _num(x: float) -> str:
    """A count-like figure: whole numbers from 10 up, one decimal below."""
    return f"{x:,.0f}" if abs(x) >= 10 else f"{x:,.1f}"


def _fair_phrase(gap: Gap | None) -> str:
    if gap is None:
        return "no rep has leads"
    if gap.over < 0.05:
        return "every rep gets its fair share (within 5%)"
    if gap.over >= 1:
        return (
            f"its busiest rep, {gap.rep_id}, gets {gap.share / gap.target:.1f} times its fair share"
        )
    return f"its busiest rep, {gap.rep_id}, gets {_pct(gap.over)} more than its fair share"


def _concentration(gap: Gap, total: int) -> str:
    return (
        f"{gap.rep_id} gets {_n(gap.count)} of {_leads(total)} ({_pct(gap.share)}), "
        f"{gap.share / gap.target:.1f} times its fair share ({_pct(gap.target)})"
    )


def verdict(
    reports: Sequence[tuple[str, SimulationReport]], *, concentration: float = CONCENTRATION
) -> Verdict:
    """The headline for one report, or for the second of two against the first.

    A warning is added when a rep gets ``concentration`` (0.5: 50%) or more
    above its fair share; when that policy is also the one with more leads
    assigned or more expected conversions, the warning says the gain comes
    with concentration. Reports of more than two policies are each
    described on their own.

    .. versionadded:: 0.2.0
    """
    warnings: list[str] = []
    if len(reports) == 2:
        (na, a), (nb, b) = reports
        text = _versus(na, a, nb, b)
        gains = {nb: _gains(a, b), na: _gains(b, a)}
    else:
        text = " ".join(_alone(name, r) for name, r in reports)
        gains = {name: False for name, _ in reports}
    for name, r in reports:
        gap = busiest_rep(r)
        if gap is not None and gap.over >= concentration:
            if gains.get(name):
                warnings.append(
                    f"{name}'s gain comes with concentration: {_concentration(gap, r.assigned)}."
                )
            else:
                warnings.append(
                    f"Leads are concentrated in {name}: {_concentration(gap, r.assigned)}."
                )
        left = r.leads - r.assigned
        if r.leads and left / r.leads >= 0.05:
            why = ", ".join(
                f"{k} {_n(v)}" for k, v in sorted({**r.unassigned, **r.manual_review}.items())
            )
            warnings.append(
                f"{name} leaves {_n(left)} of {_leads(r.leads)} ({_pct(left / r.leads)}) without a rep"
                + (f" ({why})." if why else ".")
            )
    return Verdict(text, tuple(warnings))


def _gains(a: SimulationReport, b: SimulationReport) -> bool:
    """Whether ``b`` does better than ``a`` on leads assigned or expected conversions."""
    if b.assigned > a.assigned:
        return True
    ea, eb = a.expected_conversions, b.expected_conversions
    return ea is not None and eb is not None and eb - ea >= 0.5


def _alone(name: str, r: SimulationReport) -> str:
    if r.leads == 0:
        return f"{name} had no leads to route."
    if r.assigned == r.leads:
        head = f"{name} assigns all {_leads(r.leads)}"
    else:
        head = (
            f"{name} assigns {_n(r.assigned)} of {_leads(r.leads)} ({_pct(r.assigned / r.leads)})"
        )
    conv = (
        ""
        if r.expected_conversions is None
        else f" and expects {_num(r.expected_conversions)} conversions"
    )
    return f"{head}{conv}; {_fair_phrase(busiest_rep(r))}."


def _versus(na: str, a: SimulationReport, nb: str, b: SimulationReport) -> str:
    if b.assigned == a.assigned:
        head = f"{nb} assigns as many leads as {na} ({_n(b.assigned)})"
    elif a.assigned:
        d = (b.assigned - a.assigned) / a.assigned
        word = "more" if d > 0 else "fewer"
        head = f"{nb} assigns {_pct(abs(d))} {word} leads than {na} ({_n(b.assigned)} against {_n(a.assigned)})"
    else:
        head = f"{nb} assigns {_leads(b.assigned)}, {na} none"
    ea, eb = a.expected_conversions, b.expected_conversions
    conv = ""
    if ea is not None and eb is not None:
        d = eb - ea
        if abs(d) < 0.5:
            conv = " and expects about as many conversions"
        else:
            conv = f" and expects {_num(abs(d))} {'more' if d > 0 else 'fewer'} conversions"
            if ea > 0:
                conv += f" ({d / ea:+.0%})"
    gb, ga = busiest_rep(b), busiest_rep(a)
    fair = _fair_phrase(gb)
    if gb is not None and gb.over >= 0.05 and ga is not None:
        fair += f" (under {na}: {ga.over:+.0%})"
    return f"{head}{conv}; {fair}."


def _period(r: SimulationReport) -> str:
    if r.first_lead_at is None or r.last_lead_at is None:
        return "no leads"
    first, last = r.first_lead_at.date(), r.last_lead_at.date()
    days = (last - first).days + 1
    return f"{first.isoformat()} to {last.isoformat()} ({days} day{'s' if days != 1 else ''})"


def _step(step: timedelta) -> str:
    secs = int(step.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if secs % size == 0:
            k = secs // size
            return f"{k} {unit}{'s' if k != 1 else ''}"
    return f"{secs} seconds"


def _team(r: SimulationReport) -> str:
    total = sum(r.teams.values()) or len(r.per_rep)
    named = [f"{k} {v}" for k, v in r.teams.items() if k]
    rest = r.teams.get("", 0)
    if named and rest:
        named.append(f"no team {rest}")
    return f"{total} active rep{'s' if total != 1 else ''}" + (
        f" ({', '.join(named)})" if named else ""
    )


def summary_text(report: SimulationReport) -> str:
    """The plain-text summary of one report (what :meth:`SimulationReport.summary` prints).

    .. versionadded:: 0.2.0
    """
    r = report
    lines = [
        f"policy {r.policy_revision[:12]}: {_leads(r.leads)}, {_n(r.assigned)} assigned "
        f"({'-' if not r.leads else _pct(r.assigned / r.leads, 1)})",
    ]
    if r.first_lead_at is not None:
        lines.append(f"simulated: leads from {_period(r)}, in steps of {_step(r.step)}")
        lines.append(f"team: {_team(r)}")
    if r.expected_conversions is not None:
        lines.append(f"expected conversions: {_expected(r)}")
    if r.expected_interval is not None and r.expected_method is not None:
        lines.append(r.expected_method)
    gap = busiest_rep(r)
    if gap is not None:
        lines.append(
            f"busiest rep: {gap.rep_id} with {_leads(gap.count)} ({_pct(gap.share, 1)}) "
            f"against a fair share of {_pct(gap.target, 1)} ({gap.over:+.0%})"
        )
    ratio = r.fairness.max_min_ratio
    lines.append(
        f"fairness: gini {r.fairness.gini:.3f} (0 = even), most/fewest leads "
        f"{'-' if ratio is None else f'{ratio:.2f}'}, largest gap to fair share "
        f"{r.fairness.max_share_deviation * 100:.1f} points"
    )
    if r.value_gini is not None:
        lines.append(f"lead value: gini {r.value_gini:.3f} over the reps (0 = even)")
    if r.wait_minutes:
        w = r.wait_minutes
        lines.append(
            f"wait to assignment (min): mean {w['mean']:.1f}, p90 {w['p90']:.1f}, max {w['max']:.1f}"
        )
    if r.unassigned:
        lines.append(
            "left in the pool: " + ", ".join(f"{k} {v}" for k, v in sorted(r.unassigned.items()))
        )
    if r.manual_review:
        lines.append(
            "manual review: " + ", ".join(f"{k} {v}" for k, v in sorted(r.manual_review.items()))
        )
    if r.cap_hits:
        lines.append(
            "cap hits (a full rep skipped for a lead): "
            + ", ".join(f"{k} {v}" for k, v in sorted(r.cap_hits.items()))
        )
    lines.extend(r.notes)
    return "\n".join(lines)


def _expected(r: SimulationReport) -> str:
    """Expected conversions with their 95% interval when the report has one."""
    if r.expected_conversions is None:
        return "-"
    text = f"{r.expected_conversions:,.1f}"
    if r.expected_interval is not None:
        lo, hi = r.expected_interval
        text += f" (95% interval {lo:,.1f} to {hi:,.1f})"
    return text


def require_plotly() -> None:
    """Raise :class:`ImportError` naming the ``report`` extra when plotly is not installed.

    .. versionadded:: 0.2.0
    """
    if importlib.util.find_spec("plotly") is None:
        raise ImportError(_INSTALL)


# -- the page ---------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:1200px;padding:0 1rem;color:#1f2933;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.25rem}h2{font-size:1.15rem;margin-top:2rem}
.verdict{font-size:1.3rem;font-weight:600;margin:1rem 0}
.warning{background:#fff4e5;border-left:4px solid #e67700;padding:.5rem .75rem;margin:.5rem 0}
table{border-collapse:collapse;margin:.5rem 0;font-variant-numeric:tabular-nums}
th,td{padding:.25rem .6rem;border-bottom:1px solid #e4e7eb;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{border-bottom:2px solid #9aa5b1}
tr.over td{background:#fff4e5}.muted{color:#616e7c;font-size:.9rem}
pre{background:#f5f7fa;padding:.75rem;overflow-x:auto;font-size:.85rem}
"""

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
_DASHES = ("solid", "dash", "dot", "dashdot")


def _e(text: object) -> str:
    return html.escape(str(text))


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], classes: Sequence[str] = ()) -> str:
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for i, row in enumerate(rows):
        cls = classes[i] if i < len(classes) and classes[i] else ""
        out.append(f"<tr class='{cls}'>" if cls else "<tr>")
        out.extend(f"<td>{_e(c)}</td>" for c in row)
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _scope(reports: Sequence[tuple[str, SimulationReport]]) -> str:
    first = reports[0][1]
    items = [
        f"<li><b>Leads:</b> {_n(first.leads)} historical leads arriving {_e(_period(first))}, "
        f"replayed in time order in steps of {_e(_step(first.step))}.</li>",
        f"<li><b>Team:</b> {_e(_team(first))}.</li>",
    ]
    for name, r in reports:
        rules = ", ".join(r.rules) if r.rules else "default route only"
        items.append(
            f"<li><b>Policy {_e(name)}:</b> rules {_e(rules)} (revision "
            f"<code>{_e(r.policy_revision[:12])}</code>).</li>"
        )
    if first.expected_conversions is not None and first.expected_method:
        items.append(f"<li><b>Conversions:</b> {_e(first.expected_method)}</li>")
    elif first.expected_conversions is not None:
        items.append(
            f"<li><b>Conversions:</b> expected from each rep's win rate per segment, learned "
            f"from {_n(first.learned_history)} historical outcomes.</li>"
        )
    else:
        items.append(
            "<li><b>Conversions:</b> not estimated (no or too few historical outcomes).</li>"
        )
    return "<ul>" + "".join(items) + "</ul>"


def _results(reports: Sequence[tuple[str, SimulationReport]]) -> str:
    def wait(r: SimulationReport, key: str) -> str:
        v = r.wait_minutes.get(key)
        return "-" if v is None else f"{v:,.1f} min"

    def busiest(r: SimulationReport) -> str:
        g = busiest_rep(r)
        return "-" if g is None else f"{g.rep_id}: {_pct(g.share, 1)} vs {_pct(g.target, 1)} fair"

    measures: list[tuple[str, Any]] = [
        (
            "leads assigned",
            lambda r: f"{_n(r.assigned)} ({_pct(r.assigned / r.leads, 1)})" if r.leads else "0",
        ),
        ("left in the pool", lambda r: _n(sum(r.unassigned.values()))),
        ("sent to manual review", lambda r: _n(sum(r.manual_review.values()))),
        ("expected conversions", _expected),
        ("busiest rep against fair share", busiest),
        ("evenness (Gini, 0 = even)", lambda r: f"{r.fairness.gini:.3f}"),
        (
            "evenness of lead value (Gini)",
            lambda r: "-" if r.value_gini is None else f"{r.value_gini:.3f}",
        ),
        ("mean wait to assignment", lambda r: wait(r, "mean")),
        ("90% assigned within", lambda r: wait(r, "p90")),
        ("times a full rep was skipped", lambda r: _n(sum(r.cap_hits.values()))),
    ]
    head = ["", *(name for name, _ in reports)]
    rows = [[label, *(fn(r) for _, r in reports)] for label, fn in measures]
    return _table(head, rows)


def _per_rep(reports: Sequence[tuple[str, SimulationReport]], concentration: float) -> str:
    reps = sorted({k for _, r in reports for k in r.per_rep})
    first = reports[0][1]
    many = len(reports) > 1
    full = any(any(r.full_steps.values()) for _, r in reports)
    hits = any(r.cap_hits_by_rep for _, r in reports)
    conv = any(r.expected_by_rep for _, r in reports)
    head = ["rep", "can serve", "fair share"]
    for name, _ in reports:
        pre = f"{name}: " if many else ""
        head += [f"{pre}leads", f"{pre}share", f"{pre}vs fair"]
        head += [f"{pre}cap hits"] if hits else []
        head += [f"{pre}steps full"] if full else []
        head += [f"{pre}exp. conversions"] if conv else []
    rows: list[list[str]] = []
    classes: list[str] = []
    for k in reps:
        target = next((r.per_rep[k].target_share for _, r in reports if k in r.per_rep), 0.0)
        row = [k, _n(first.servable[k]) if k in first.servable else "-", _pct(target, 1)]
        flagged = False
        for _, r in reports:
            p = r.per_rep.get(k)
            if p is None:
                row += ["0", "0.0%", "-"]
            else:
                vs = "-" if p.target_share <= 0 else f"{p.share / p.target_share - 1:+.0%}"
                flagged |= p.target_share > 0 and p.share / p.target_share - 1 >= concentration
                row += [_n(p.count), _pct(p.share, 1), vs]
            if hits:
                row.append(_n(r.cap_hits_by_rep.get(k, 0)))
            if full:
                row.append(_n(r.full_steps.get(k, 0)))
            if conv:
                e = r.expected_by_rep.get(k)
                row.append("-" if e is None else f"{e:,.1f}")
        rows.append(row)
        classes.append("over" if flagged else "")
    return "<div style='overflow-x:auto'>" + _table(head, rows, classes) + "</div>"


def _figures(reports: Sequence[tuple[str, SimulationReport]]) -> list[tuple[str, str, Any]]:
    """(id, caption, figure) of each chart."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    reps = sorted({k for _, r in reports for k in r.per_rep})
    first = reports[0][1]
    out: list[tuple[str, str, Any]] = []

    share = go.Figure()
    for j, (name, r) in enumerate(reports):
        share.add_bar(
            name=f"{name}: share of leads",
            x=reps,
            y=[r.per_rep[k].share if k in r.per_rep else 0.0 for k in reps],
            marker_color=_COLOURS[j % len(_COLOURS)],
            hovertemplate="%{x}: %{y:.1%}<extra>" + _e(name) + "</extra>",
        )
    share.add_scatter(
        name="fair share (within territory)",
        x=reps,
        y=[first.per_rep[k].target_share if k in first.per_rep else 0.0 for k in reps],
        mode="markers",
        marker={
            "symbol": "line-ew-open",
            "size": 28,
            "color": "#111",
            "line": {"width": 3, "color": "#111"},
        },
        hovertemplate="%{x}: fair share %{y:.1%}<extra></extra>",
    )
    share.update_layout(barmode="group", yaxis={"title": "share of leads", "tickformat": ".0%"})
    out.append(("share", "Share of leads per rep against its fair share (%)", share))

    ratio = go.Figure()
    for j, (name, r) in enumerate(reports):
        ys = [
            (r.per_rep[k].share / r.per_rep[k].target_share)
            if k in r.per_rep and r.per_rep[k].target_share > 0
            else None
            for k in reps
        ]
        ratio.add_bar(
            name=name,
            x=reps,
            y=ys,
            marker_color=_COLOURS[j % len(_COLOURS)],
            hovertemplate="%{x}: %{y:.0%} of fair share<extra>" + _e(name) + "</extra>",
        )
    ratio.add_hline(y=1.0, line_dash="dash", line_color="#111", annotation_text="fair share")
    ratio.add_hline(
        y=1.0 + CONCENTRATION,
        line_dash="dot",
        line_color="#e67700",
        annotation_text=f"+{CONCENTRATION:.0%}: concentration",
    )
    ratio.update_layout(
        barmode="group", yaxis={"title": "leads as % of fair share", "tickformat": ".0%"}
    )
    out.append(("fairness", "Leads per rep as a percentage of its fair share (100% = fair)", ratio))

    load = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("all reps together", "busiest rep at each step"),
        horizontal_spacing=0.08,
    )
    for j, (name, r) in enumerate(reports):
        steps = range(len(r.load_times))
        totals = [sum(series[i] for series in r.load.values()) for i in steps]
        peak = [max((series[i] for series in r.load.values()), default=0) for i in steps]
        style = {
            "color": _COLOURS[j % len(_COLOURS)],
            "dash": _DASHES[j % len(_DASHES)],
            "width": 2,
        }
        x = [t.isoformat() for t in r.load_times]
        load.add_scatter(
            name=name,
            legendgroup=name,
            x=x,
            y=totals,
            mode="lines",
            line=style,
            opacity=0.85,
            row=1,
            col=1,
        )
        load.add_scatter(
            name=name,
            legendgroup=name,
            showlegend=False,
            x=x,
            y=peak,
            mode="lines",
            line=style,
            opacity=0.85,
            row=1,
            col=2,
        )
    load.update_yaxes(title_text="open leads", row=1, col=1)
    load.update_yaxes(title_text="open leads", row=1, col=2)
    out.append(("load", "Open leads over time (each policy its own line style)", load))
    for _, _, fig in out:
        fig.update_layout(
            template="plotly_white",
            height=420,
            margin={"l": 60, "r": 20, "t": 40, "b": 60},
            legend={"orientation": "h", "y": -0.2},
        )
    return out


def render_html(
    reports: Sequence[tuple[str, SimulationReport]],
    *,
    title: str = "leadroute simulation",
    concentration: float = CONCENTRATION,
) -> str:
    """The report page as a string (needs plotly; see :func:`write_html`).

    .. versionadded:: 0.2.0
    """
    require_plotly()
    from plotly.io import to_html

    if not reports:
        msg = "reports: give at least one (name, report) pair"
        raise InputError(msg, field="reports")
    v = verdict(reports, concentration=concentration)
    charts: list[str] = []
    for j, (key, caption, fig) in enumerate(_figures(reports)):
        div = to_html(
            fig,
            full_html=False,
            include_plotlyjs=j == 0,
            div_id=f"chart-{key}",
            config={"displaylogo": False, "responsive": True},
        )
        charts.append(
            f"<section class='chart' data-chart='{key}'><h3>{_e(caption)}</h3>{div}</section>"
        )
    warn = "".join(f"<p class='warning'>&#9888; {_e(w)}</p>" for w in v.warnings)
    texts = "".join(f"<h3>{_e(name)}</h3><pre>{_e(r.summary())}</pre>" for name, r in reports)
    body = (
        f"<h1>{_e(title)}</h1>"
        f"<p class='verdict'>{_e(v.text)}</p>{warn}"
        f"<h2>What was simulated</h2>{_scope(reports)}"
        f"<h2>Results</h2>{_results(reports)}"
        f"<h2>Per rep</h2>"
        "<p class='muted'>Fair share: each lead is shared among the active reps whose territories "
        "cover its region, by weight (a rep without territories covers every lead), so a rep in a "
        "small region is compared with the leads it could get. Rows in orange get "
        f"{concentration:.0%} or more above their fair share. Steps full: clock steps that ended "
        "with the rep at its open-lead cap.</p>"
        f"{_per_rep(reports, concentration)}"
        f"<h2>Charts</h2>{''.join(charts)}"
        f"<details><summary>Text summaries</summary>{texts}</details>"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>"
    )


def write_html(
    reports: Sequence[tuple[str, SimulationReport]],
    path: str | Path,
    *,
    title: str = "leadroute simulation",
    concentration: float = CONCENTRATION,
) -> Path:
    """Write the report page for ``reports`` (``(name, report)`` pairs) to ``path``.

    One self-contained file (plotly's JavaScript inlined, no network needed).
    Needs plotly: raises :class:`ImportError` naming the ``report`` extra
    before any work when it is missing.

    .. versionadded:: 0.2.0
    """
    require_plotly()
    page = render_html(reports, title=title, concentration=concentration)
    out = Path(path)
    out.write_text(page, encoding="utf-8")
    return out
