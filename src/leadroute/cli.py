"""The ``leadroute`` command: route, explain, demo.

Bad files give one line naming the file, the line and the field, and exit
code 2; never a traceback.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TypeVar

from pydantic import BaseModel, ValidationError

from leadroute.audit import Decision
from leadroute.exceptions import FileFormatError, LeadrouteError, ModelError
from leadroute.models import Lead
from leadroute.result import RoutingResult, explain_rep
from leadroute.router import Router
from leadroute.state import PoolState

__all__ = ["main"]

M = TypeVar("M", bound=BaseModel)


def _field(err: ValidationError | ModelError) -> str:
    first = err.errors()[0]
    return ".".join(str(p) for p in first["loc"]) or "(record)"


def _message(err: ValidationError | ModelError) -> str:
    return str(err.errors()[0]["msg"])


def read_jsonl(path: str, model: type[M]) -> list[M]:
    """Records of ``model``, one JSON object per line (blank lines skipped)."""
    out: list[M] = []
    for lineno, line in enumerate(_open_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            msg = f"not valid JSON: {exc.msg}"
            raise FileFormatError(msg, file=path, line=lineno) from None
        try:
            out.append(model.model_validate(data))
        except (ValidationError, ModelError) as exc:
            raise FileFormatError(
                _message(exc), file=path, line=lineno, field=_field(exc)
            ) from None
    return out


def read_json(path: str, model: type[M]) -> M:
    """One ``model`` from a JSON file."""
    text = _open_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"not valid JSON: {exc.msg}"
        raise FileFormatError(msg, file=path, line=exc.lineno) from None
    try:
        return model.model_validate(data)
    except (ValidationError, ModelError) as exc:
        raise FileFormatError(_message(exc), file=path, field=_field(exc)) from None


def _open_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"cannot read: {exc.strerror}"
        raise FileFormatError(msg, file=path) from None


def _write(path: str | None, lines: Iterable[str], stdout: IO[str]) -> None:
    if path is None:
        return
    if path == "-":
        for line in lines:
            stdout.write(line + "\n")
        return
    with Path(path).open("w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line + "\n")


def _parse_now(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        now = datetime.fromisoformat(text)
    except ValueError:
        msg = f"--now {text!r}: not an ISO 8601 date-time"
        raise LeadrouteError(msg) from None
    if now.tzinfo is None:
        msg = f"--now {text!r}: give a time zone offset (for example +08:00 or Z)"
        raise LeadrouteError(msg)
    return now


# -- commands ------------------------------------------------------------------------


def cmd_route(args: argparse.Namespace, out: IO[str]) -> int:
    router = Router.from_config(args.rules)
    state = read_json(args.state, PoolState)
    leads = read_jsonl(args.leads, Lead)
    result = router.assign(state, leads, now=_parse_now(args.now))
    _write(args.assignments, (a.model_dump_json() for a in result.assignments), out)
    _write(args.next_state, [result.state.model_dump_json(indent=2)], out)
    _write(args.audit, (d.model_dump_json() for d in result.audit), out)
    return 0


def cmd_explain(args: argparse.Namespace, out: IO[str]) -> int:
    decisions = read_jsonl(args.audit, Decision)
    for d in decisions:
        if d.lead_id == args.lead:
            if args.rep is None:
                out.write(d.explain() + "\n")
            else:
                state = read_json(args.state, PoolState) if args.state else None
                router = Router.from_config(args.rules) if args.rules else None
                if state is None:
                    msg = "--rep needs --state (the pool state the audit was made against)"
                    raise LeadrouteError(msg)
                out.write(explain_rep(d, args.rep, state, router, state) + "\n")
            return 0
    msg = f"lead {args.lead!r} is not in the audit"
    raise FileFormatError(msg, file=args.audit)


def cmd_reclaim(args: argparse.Namespace, out: IO[str]) -> int:
    from leadroute.lifecycle import ReclaimPolicy

    router = Router.from_config(args.rules) if args.rules else Router()
    state = read_json(args.state, PoolState)
    now = _parse_now(args.now)
    assert now is not None
    try:
        policy = ReclaimPolicy(
            first_touch=args.first_touch,
            working_time=not args.wall_clock,
            max_reassignments=args.max_reassignments,
            recycle_after=args.recycle_after,
            protection=args.protection,
            cooldown=args.cooldown,
        )
    except ValueError as exc:
        raise LeadrouteError(str(exc)) from None
    if args.warn is not None:
        from leadroute.strategies.availability import as_duration

        horizon = as_duration(args.warn, "warn", "--warn")
        assert horizon is not None
        for w in router.reclaim_warnings(state, now, horizon, policy):
            out.write(w.model_dump_json() + "\n")
        return 0
    result = router.reclaim(state, now, policy)
    _write(args.moves, (a.model_dump_json() for a in result.assignments), out)
    _write(args.next_state, [result.state.model_dump_json(indent=2)], out)
    _write(args.audit, (d.model_dump_json() for d in result.audit), out)
    return 0


def cmd_simulate(args: argparse.Namespace, out: IO[str]) -> int:
    from leadroute.lab import HistoricalOutcome, compare, simulate, write_html
    from leadroute.strategies.availability import as_duration

    if len(args.rules) > 2:
        msg = "give one or two --rules files"
        raise LeadrouteError(msg)
    routers = [Router.from_config(path) for path in args.rules]
    state = read_json(args.state, PoolState)
    leads = read_jsonl(args.leads, Lead)
    outcomes = read_jsonl(args.outcomes, HistoricalOutcome) if args.outcomes else None
    try:
        step = as_duration(args.step, "step", "--step")
    except ValueError as exc:
        raise LeadrouteError(str(exc)) from None
    assert step is not None
    reports = []
    for path, router in zip(args.rules, routers, strict=True):
        report = simulate(router, state, leads, outcomes, step=step, min_history=args.min_history)
        reports.append((Path(path).stem, report))
        out.write(f"== {path}\n{report.summary()}\n\n")
    if len(reports) == 2:
        names = (reports[0][0], reports[1][0])
        if names[0] == names[1]:
            names = ("A", "B")
        out.write(compare(reports[0][1], reports[1][1], names).table() + "\n")
    if args.html:
        try:
            write_html(reports, args.html)
        except ImportError as exc:
            raise LeadrouteError(str(exc)) from None
        out.write(f"\nwrote {args.html}\n")
    return 0


def cmd_demo(args: argparse.Namespace, out: IO[str]) -> int:
    from leadroute import demo

    state = demo.sample_state()
    leads = demo.sample_leads(args.leads)
    router = demo.sample_router()
    result = router.assign(state, leads)
    print_summary(result, out)
    demo.show_lifecycle(router, result, out)
    return 0


def print_summary(result: RoutingResult, out: IO[str]) -> None:
    """Per-rep counts, unassigned leads by reason, and two explained decisions."""
    w = out.write
    total = len(result.assignments)
    assigned = sum(1 for a in result.assignments if a.rep_id is not None)
    w(f"Routed {total} leads: {assigned} assigned, {total - assigned} not assigned\n\n")
    w("Leads per rep:\n")
    counts = result.counts()
    reps = result.state.reps
    for rep in reps:
        n = counts.get(rep.id, 0)
        if n:
            w(f"  {rep.id:<14} {n:>4}  {'#' * min(n, 40)}\n")
    idle = [r.id for r in reps if r.id not in counts]
    if idle:
        w(f"  (no leads: {', '.join(idle)})\n")
    reasons: dict[str, int] = {}
    for a in result.assignments:
        if a.rep_id is None:
            key = f"{a.outcome}: {a.reason}"
            reasons[key] = reasons.get(key, 0) + 1
    w("\nNot assigned, by reason:\n")
    for key, n in sorted(reasons.items()):
        w(f"  {key:<34} {n:>4}\n")
    if not reasons:
        w("  none\n")
    w("\nTwo decisions explained:\n")
    for d in _examples(result.audit):
        w("\n" + d.explain() + "\n")


def _examples(audit: Sequence[Decision]) -> list[Decision]:
    picked: list[Decision] = []
    fitted = [
        d
        for d in audit
        if d.outcome == "assigned"
        and "score" in d.facts
        and any("BestFit" in s.strategy for s in d.steps)
    ]
    tiered = [d for d in audit if d.outcome == "assigned" and "tier" in d.facts]
    if fitted:
        picked.append(fitted[0])
    elif tiered:
        picked.append(tiered[0])
    other = [d for d in audit if d.outcome != "assigned" and d.steps]
    if other:
        picked.append(other[0])
    for d in audit:
        if len(picked) >= 2:
            break
        if d not in picked:
            picked.append(d)
    return picked


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``leadroute`` command."""
    parser = argparse.ArgumentParser(
        prog="leadroute", description="Deterministic, explainable sales-lead routing."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("route", help="route leads with a rule file and a pool state")
    p.add_argument("--rules", required=True, help="rule set (.json or .toml)")
    p.add_argument("--state", required=True, help="pool state (.json)")
    p.add_argument("--leads", required=True, help="leads, one JSON object per line ('-' for stdin)")
    p.add_argument(
        "--now", help="decision time (ISO 8601 with offset); default: each lead's created_at"
    )
    p.add_argument(
        "--assignments", default="-", help="where to write assignments JSONL (default: stdout)"
    )
    p.add_argument("--next-state", help="where to write the next pool state JSON ('-' for stdout)")
    p.add_argument("--audit", help="where to write the audit JSONL ('-' for stdout)")
    p.set_defaults(func=cmd_route)

    p = sub.add_parser("explain", help="explain one lead's decision from an audit file")
    p.add_argument("--audit", required=True, help="audit JSONL written by 'leadroute route'")
    p.add_argument("--lead", required=True, help="the lead id")
    p.add_argument("--rep", help="explain why this rep did not get the lead")
    p.add_argument("--state", help="the input pool state (needed with --rep)")
    p.add_argument("--rules", help="the rule set (lets --rep re-check unlisted reps)")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("reclaim", help="apply SLA reassignment and recycling at a given time")
    p.add_argument("--state", required=True, help="pool state (.json)")
    p.add_argument("--now", required=True, help="the sweep time (ISO 8601 with offset)")
    p.add_argument("--rules", help="rule set used to reassign SLA breaches (.json or .toml)")
    p.add_argument("--first-touch", default="PT2H", help="first-touch SLA, ISO 8601 (default PT2H)")
    p.add_argument(
        "--wall-clock", action="store_true", help="count the SLA in wall-clock, not working, time"
    )
    p.add_argument(
        "--max-reassignments", type=int, default=2, help="SLA reassignments before the pool"
    )
    p.add_argument(
        "--recycle-after", default="P45D", help="idle time before recycling (default P45D)"
    )
    p.add_argument("--protection", default="PT0S", help="no reclaim within this time of assignment")
    p.add_argument(
        "--cooldown", default="P7D", help="time a recycled lead stays away from its last rep"
    )
    p.add_argument(
        "--warn", help="only list leads due within this horizon (ISO 8601), change nothing"
    )
    p.add_argument("--moves", default="-", help="where to write the moves JSONL (default: stdout)")
    p.add_argument("--next-state", help="where to write the next pool state JSON")
    p.add_argument("--audit", help="where to write the audit JSONL")
    p.set_defaults(func=cmd_reclaim)

    p = sub.add_parser("simulate", help="replay historical leads through one or two policies")
    p.add_argument(
        "--rules", action="append", required=True, help="rule set; give twice to compare A and B"
    )
    p.add_argument("--state", required=True, help="pool state (.json) to start from")
    p.add_argument("--leads", required=True, help="historical leads, JSONL")
    p.add_argument(
        "--outcomes", help="historical outcomes, JSONL of {lead_id, rep_id, outcome, closed_at}"
    )
    p.add_argument("--step", default="P1D", help="clock step, ISO 8601 (default P1D)")
    p.add_argument(
        "--min-history", type=int, default=300, help="outcomes needed for expected conversions"
    )
    p.add_argument(
        "--html", help="write a self-contained HTML report with charts (needs leadroute[report])"
    )
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("demo", help="route built-in sample leads and print a summary")
    p.add_argument("--leads", type=int, default=300, help="how many sample leads (default 300)")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None, out: IO[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for bad input)."""
    stream = out if out is not None else sys.stdout
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace, IO[str]], int] = args.func
    try:
        return func(args, stream)
    except LeadrouteError as exc:
        sys.stderr.write(f"leadroute: error: {exc}\n")
        return 2
    except BrokenPipeError:
        # the reader went away (``leadroute demo | head``): stop quietly, like other tools
        if out is None:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
