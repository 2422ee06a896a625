"""The ``leadroute`` command: route, explain, replay, reclaim, simulate, demo.

Bad input gives one line naming the file, the line and the field, and exit
code 2; never a traceback. Every file argument accepts ``-`` (standard input
or output). Outputs are written atomically (see :mod:`leadroute.files`), and
the next state is saved before the assignments are printed.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import re
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TypeVar

from pydantic import BaseModel

from leadroute import __version__, demo, files
from leadroute.audit import Decision
from leadroute.exceptions import ConfigError, FileFormatError, InputError, LeadrouteError
from leadroute.lab import HistoricalOutcome, compare, simulate, write_html
from leadroute.lifecycle import ReclaimPolicy
from leadroute.limits import as_duration
from leadroute.models import Lead
from leadroute.progress import terminal_progress
from leadroute.result import RoutingResult, explain_rep
from leadroute.router import Router
from leadroute.schema import schema_json, schema_path
from leadroute.state import PoolState
from leadroute.stores import cli as store_cli

__all__ = ["main"]

M = TypeVar("M", bound=BaseModel)

#: Longest line the demo prints.
WIDTH = 100


def iter_jsonl(path: str, model: type[M]) -> Iterator[M]:
    """Records of ``model`` from a JSON Lines file, one line at a time."""
    return files.iter_jsonl(path, model.model_validate)


def read_jsonl(path: str, model: type[M]) -> list[M]:
    """Records of ``model``, one JSON object per line (blank lines skipped)."""
    return list(iter_jsonl(path, model))


def read_json(path: str, model: type[M]) -> M:
    """One ``model`` from a JSON file."""
    return files.read_json(path, model.model_validate)


def load_router(path: str) -> Router:
    """A router from a rule file (``.json``, ``.toml``, or ``-``); errors name the file."""
    data = files.read_mapping(path)
    try:
        return Router.from_config(data)
    except ConfigError as exc:
        exc.args = (f"{'<stdin>' if path == '-' else path}: {exc}",)
        raise


def _write(path: str | None, lines: Iterable[str], stdout: IO[str]) -> None:
    if path is None:
        return
    files.atomic_write(path, (line + "\n" for line in lines), stdout=stdout)


def state_chunks(state: PoolState) -> Iterator[str]:
    """The JSON text of ``state`` in pieces, one open or pooled lead at a time.

    The same document as ``state.model_dump_json(indent=2)`` up to white space
    (each lead record on one line), without ever holding the whole text: a
    state with a million open leads would otherwise be one string of hundreds
    of megabytes. Deterministic, and read back by ``PoolState.model_validate_json``.
    """
    empty: dict[str, object] = {"open_leads": {}, "pool": {}}
    rest = state.model_copy(update=empty).model_dump_json(indent=2)
    if any(rest.count(f'\n  "{key}": {{}}') != 1 for key in empty):
        yield state.model_dump_json(indent=2)  # a layout this splicing does not know
        return
    for key, records in (("open_leads", state.open_leads), ("pool", state.pool)):
        marker = f'\n  "{key}": {{}}'
        before, _, rest = rest.partition(marker)
        yield before
        if not records:
            yield marker
            continue
        yield f'\n  "{key}": {{'
        sep = "\n"
        for lead_id, rec in records.items():
            yield f"{sep}    {json.dumps(lead_id, ensure_ascii=False)}: {rec.model_dump_json()}"
            sep = ",\n"
        yield "\n  }"
    yield rest


def _ended(chunks: Iterable[str]) -> Iterator[str]:
    yield from chunks
    yield "\n"


def _check_paths(
    inputs: Sequence[str | None], outputs: dict[str, str | None], state: str | None = None
) -> None:
    """Refuse two readers of stdin, two writers of stdout, or an output over another file.

    Only ``--next-state`` may name the ``--state`` file (it is read whole first
    and replaced atomically).
    """
    if sum(1 for p in inputs if p == "-") > 1:
        msg = "only one input can be '-' (standard input)"
        raise InputError(msg)
    to_stdout = [flag for flag, p in outputs.items() if p == "-"]
    if len(to_stdout) > 1:
        msg = f"only one output can be '-' (standard output); got {', '.join(to_stdout)}"
        raise InputError(msg)
    seen: dict[str, str] = {}
    for flag, p in outputs.items():
        if p is None or p == "-" or _is_device(p):
            continue
        key = os.path.realpath(p)
        if key in seen:
            msg = f"{seen[key]} and {flag} name the same file {p!r}"
            raise InputError(msg)
        seen[key] = flag
    for flag, p in outputs.items():
        if p is None or p == "-" or _is_device(p):
            continue
        for q in inputs:
            if q is None or q == "-" or os.path.realpath(q) != os.path.realpath(p):
                continue
            if flag == "--next-state" and q == state:
                continue
            msg = f"{flag} {p!r} would overwrite an input file"
            raise InputError(msg)


def _is_device(path: str) -> bool:
    try:
        return not Path(path).is_file() and Path(path).exists() and not Path(path).is_dir()
    except OSError:
        return False


def _require(module: str, extra: str, what: str) -> None:
    """Fail before any work when an optional library is missing."""
    if importlib.util.find_spec(module) is None:
        msg = f'{what} needs {module}: pip install "leadroute[{extra}]"'
        raise LeadrouteError(msg)


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


def _state_or_store(args: argparse.Namespace) -> bool:
    """Whether the command runs against ``--store`` (else it needs ``--state``)."""
    if getattr(args, "store", None):
        if getattr(args, "state", None) or getattr(args, "next_state", None):
            msg = "give either --store or --state/--next-state, not both"
            raise LeadrouteError(msg)
        return True
    if not getattr(args, "state", None):
        msg = "give --state FILE (a pool state) or --store URL"
        raise LeadrouteError(msg)
    return False


def cmd_route(args: argparse.Namespace, out: IO[str]) -> int:
    if _state_or_store(args):
        now = _parse_now(args.now)
        return store_cli.route(args, load_router(args.rules), read_jsonl(args.leads, Lead), now, out)
    _check_paths(
        [args.state, args.rules, args.leads],
        {"--next-state": args.next_state, "--audit": args.audit, "--assignments": args.assignments},
        state=args.state,
    )
    now = _parse_now(args.now)
    router = load_router(args.rules)
    state = read_json(args.state, PoolState)
    leads = read_jsonl(args.leads, Lead)
    with terminal_progress("route") as tick:
        result = router.assign(
            state, leads, now=now, audit="full" if args.audit else "outcome", progress=tick
        )
    del leads
    # the next state first: assignments printed for a state that was never saved would be lost
    if args.next_state is not None:
        files.atomic_write(args.next_state, _ended(state_chunks(result.state)), stdout=out)
    _write(args.audit, (d.model_dump_json() for d in result.audit), out)
    _write(args.assignments, (a.model_dump_json() for a in result.assignments), out)
    return 0


def _find_decision(path: str, lead_id: str) -> Decision:
    for d in iter_jsonl(path, Decision):
        if d.lead_id == lead_id:
            return d
    msg = f"lead {lead_id!r} is not in the audit"
    raise FileFormatError(msg, file=path)


def _find_lead(args: argparse.Namespace, lead_id: str) -> Lead | None:
    """The lead from ``--leads``, or from the state saved after the decision (``--next-state``)."""
    if args.leads:

        def pick(data: dict[str, object]) -> Lead | None:  # validate that lead only
            return Lead.model_validate(data) if data.get("id") == lead_id else None

        for lead in files.iter_jsonl(args.leads, pick):
            if lead is not None:
                return lead
        msg = f"lead {lead_id!r} is not in this file"
        raise FileFormatError(msg, file=args.leads)
    if args.next_state:
        after = read_json(args.next_state, PoolState)
        if lead_id in after.open_leads:
            return after.open_leads[lead_id].lead
        if lead_id in after.pool:
            return after.pool[lead_id].lead
        for closed in after.history:
            if closed.lead.id == lead_id:
                return closed.lead
        msg = f"lead {lead_id!r} is not in this state (open, pooled or closed)"
        raise FileFormatError(msg, file=args.next_state)
    return None


def cmd_explain(args: argparse.Namespace, out: IO[str]) -> int:
    if args.store:
        return store_cli.explain(args, out)
    if not args.audit:
        msg = "give --audit FILE or --store URL"
        raise LeadrouteError(msg)
    _check_paths([args.audit, args.state, args.rules, args.leads, args.next_state], {})
    decision = _find_decision(args.audit, args.lead)
    if args.rep is None:
        out.write(decision.explain() + "\n")
        return 0
    if args.state is None:
        msg = "--rep needs --state: the input state of the 'route' call that made the decision"
        raise InputError(msg, rep_ids=[args.rep])
    state = read_json(args.state, PoolState)
    if state.revision != decision.state_revision:
        msg = (
            f"lead {args.lead} was routed against state revision {decision.state_revision}, "
            f"but this state is revision {state.revision}; give the input state of that "
            "'route' call"
        )
        raise FileFormatError(msg, file=args.state)
    router = load_router(args.rules) if args.rules else None
    if router is not None and router.policy_revision != decision.policy_revision:
        msg = (
            f"these rules are policy {router.policy_revision}, but lead {args.lead} was routed "
            f"by policy {decision.policy_revision}; give the rule file used then"
        )
        raise FileFormatError(msg, file=args.rules)
    dropped = any(d.rep_id == args.rep for step in decision.steps for d in step.dropped)
    hidden = [step for step in decision.steps if step.unlisted]
    rep = state.rep(args.rep)  # an unknown rep is an error, not an explanation
    if decision.rep_id != args.rep and not dropped and hidden and rep.active and not rep.paused:
        step = hidden[0]
        why = f"{step.strategy} at {step.path} excluded {step.unlisted} reps without listing them"
        if router is None:
            msg = f"{why}; give --rules to re-check {args.rep}"
            raise InputError(msg, rep_ids=[args.rep])
        lead = decision.inputs.lead if decision.inputs is not None else None
        if lead is None:
            lead = _find_lead(args, args.lead)
        if lead is None:
            msg = f"{why}; give --leads (the routed leads) or --next-state to re-check {args.rep}"
            raise InputError(msg, rep_ids=[args.rep])
    else:
        lead = None
    policy = None if router is None else router.policy
    out.write(explain_rep(decision, args.rep, state, policy, state, lead=lead) + "\n")
    return 0


def cmd_replay(args: argparse.Namespace, out: IO[str]) -> int:
    """``leadroute replay``: re-derive decisions from their audit records; exit 1 if any differs."""
    _check_paths([args.audit, args.policy], {})
    router = load_router(args.policy)
    if args.lead is not None:
        decisions = [_find_decision(args.audit, args.lead)]
    else:
        decisions = list(iter_jsonl(args.audit, Decision))
    same = 0
    for decision in decisions:
        found = router.replay(decision)
        if found.identical:
            same += 1
            if args.lead is not None:
                out.write(found.explain() + "\n")
        else:
            out.write(found.explain() + "\n")
    if args.lead is None:
        out.write(
            f"{same} of {len(decisions)} decisions replay identically "
            f"(policy {router.policy_revision})\n"
        )
    return 0 if same == len(decisions) else 1


def cmd_reclaim(args: argparse.Namespace, out: IO[str]) -> int:
    on_store = _state_or_store(args)
    if not on_store:
        _check_paths(
            [args.state, args.rules],
            {"--next-state": args.next_state, "--audit": args.audit, "--moves": args.moves},
            state=args.state,
        )
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
        raise LeadrouteError(str(exc).splitlines()[0]) from None
    router = load_router(args.rules) if args.rules else Router()
    if on_store:
        return store_cli.reclaim(args, router, policy, out)
    state = read_json(args.state, PoolState)
    if args.warn is not None:
        try:
            horizon = as_duration(args.warn, "warn", "--warn")
        except ValueError as exc:
            raise LeadrouteError(str(exc).splitlines()[0]) from None
        assert horizon is not None
        for w in router.reclaim_warnings(state, now, horizon, policy):
            out.write(w.model_dump_json() + "\n")
        return 0
    with terminal_progress("reclaim") as tick:
        result = router.reclaim(state, now, policy, progress=tick)
    if args.next_state is not None:
        files.atomic_write(args.next_state, _ended(state_chunks(result.state)), stdout=out)
    _write(args.audit, (d.model_dump_json() for d in result.audit), out)
    _write(args.moves, (a.model_dump_json() for a in result.assignments), out)
    return 0


def cmd_simulate(args: argparse.Namespace, out: IO[str]) -> int:
    if len(args.rules) > 2:
        msg = "give one or two --rules files"
        raise LeadrouteError(msg)
    if args.html:
        _require("plotly", "report", "--html")
    _check_paths([*args.rules, args.state, args.leads, args.outcomes], {"--html": args.html})
    try:
        step = as_duration(args.step, "step", "--step")
    except ValueError as exc:
        raise LeadrouteError(str(exc).splitlines()[0]) from None
    assert step is not None
    routers = [load_router(path) for path in args.rules]
    state = read_json(args.state, PoolState)
    leads = read_jsonl(args.leads, Lead)
    outcomes = read_jsonl(args.outcomes, HistoricalOutcome) if args.outcomes else None
    reports = []
    text: list[str] = []
    for path, router in zip(args.rules, routers, strict=True):
        with terminal_progress(f"simulate {Path(path).name}") as tick:
            report = simulate(
                router,
                state,
                leads,
                outcomes,
                step=step,
                min_history=args.min_history,
                progress=tick,
            )
        name = "stdin" if path == "-" else Path(path).stem
        reports.append((name, report))
        text.append(f"== {path}\n{report.summary()}\n\n")
    if len(reports) == 2:
        names = (reports[0][0], reports[1][0])
        if names[0] == names[1]:
            names = ("A", "B")
        text.append(compare(reports[0][1], reports[1][1], names).table() + "\n")
    if args.html:
        with tempfile.TemporaryDirectory() as tmp:
            page = Path(tmp) / "report.html"
            try:
                write_html(reports, page)
            except ImportError as exc:  # pragma: no cover - checked before the work
                raise LeadrouteError(str(exc)) from None
            html = page.read_text(encoding="utf-8")
        files.atomic_write(args.html, [html], stdout=out)
        if args.html != "-":
            text.append(f"\nwrote {args.html}\n")
    # with --html - the page goes to stdout, the summary to stderr
    summary = sys.stderr if args.html == "-" else out
    summary.write("".join(text))
    return 0


def cmd_demo(args: argparse.Namespace, out: IO[str]) -> int:
    if args.files is not None:
        return _save_demo(args.files, args.leads, out)
    state = demo.sample_state()
    leads = demo.sample_leads(args.leads)
    router = demo.sample_router()
    result = router.assign(state, leads)
    buf = io.StringIO()
    print_summary(result, buf)
    demo.show_lifecycle(router, result, buf)
    for line in buf.getvalue().splitlines():
        out.write(_wrap(line) + "\n")
    return 0


def _save_demo(folder: str, count: int, out: IO[str]) -> int:

    where = Path(folder)
    if not where.is_dir():
        msg = "cannot write: no such folder"
        raise FileFormatError(msg, file=folder)
    rules = json.dumps(demo.sample_router().to_config(), indent=2, ensure_ascii=False)
    files.atomic_write(str(where / "rules.json"), [rules + "\n"])
    files.atomic_write(
        str(where / "state.json"), [demo.sample_state().model_dump_json(indent=2) + "\n"]
    )
    files.atomic_write(
        str(where / "leads.jsonl"), (x.model_dump_json() + "\n" for x in demo.sample_leads(count))
    )
    out.write(f"wrote rules.json, state.json and leads.jsonl ({count} leads) to {folder}\n")
    return 0


def _wrap(line: str) -> str:
    """``line`` in lines of at most :data:`WIDTH`, broken after ``; `` or before `` + `` first."""
    if len(line) <= WIDTH:
        return line
    indent = " " * (len(line) - len(line.lstrip(" "))) + "    "
    parts = re.split(r"(?<=; )|(?= \+ )|(?<=\) \()", line)
    rows: list[str] = []
    row = ""
    for part in parts:
        if row and len(row) + len(part.rstrip()) > WIDTH:
            rows.append(row.rstrip())
            row = indent + part.lstrip()
        else:
            row += part
    rows.append(row.rstrip())
    out: list[str] = []
    for r in rows:
        if len(r) <= WIDTH:
            out.append(r)
        else:
            out.extend(
                textwrap.wrap(r, width=WIDTH, subsequent_indent=indent, break_on_hyphens=False)
            )
    return "\n".join(out)


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
        prog="leadroute",
        description="Deterministic, explainable sales-lead routing. "
        "Every file argument accepts '-' for standard input or output.",
    )
    parser.add_argument(
        "--version", action="version", version=f"leadroute {__version__}", help="print the version"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("route", help="route leads with a rule file and a pool state")
    p.add_argument("--rules", required=True, help="rule set (.json or .toml; '-' for stdin)")
    p.add_argument("--state", help="pool state (.json; '-' for stdin)")
    p.add_argument(
        "--store", help="store URL (sqlite:///pool.db, postgresql://...) instead of --state"
    )
    p.add_argument("--leads", required=True, help="leads, one JSON object per line ('-' for stdin)")
    p.add_argument(
        "--now", help="decision time (ISO 8601 with offset); default: each lead's created_at"
    )
    p.add_argument(
        "--assignments", default="-", help="where to write assignments JSONL (default: stdout)"
    )
    p.add_argument(
        "--next-state", help="where to write the next pool state JSON (may be the --state file)"
    )
    p.add_argument("--audit", help="where to write the audit JSONL ('-' for stdout)")
    p.set_defaults(func=cmd_route)

    p = sub.add_parser("explain", help="explain one lead's decision from an audit file")
    p.add_argument("--audit", help="audit JSONL written by 'leadroute route'")
    p.add_argument("--store", help="store URL: explain from the store's audit rows instead")
    p.add_argument("--lead", required=True, help="the lead id")
    p.add_argument("--rep", help="explain why this rep did not get the lead")
    p.add_argument("--state", help="the input state of that 'route' call (needed with --rep)")
    p.add_argument("--rules", help="the rule set of that call (lets --rep re-check unlisted reps)")
    p.add_argument("--leads", help="the routed leads, JSONL (the lead, for re-checks)")
    p.add_argument(
        "--next-state", help="the state written by that call (the lead, when --leads is not given)"
    )
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser(
        "replay",
        help="re-derive decisions from their audit records alone and say what differs",
        description="Replay one decision (--lead) or every decision of an audit file from "
        "its record alone. Exit code 0: identical; 1: a decision differs (listed); 2: bad input.",
    )
    p.add_argument("audit", help="audit JSONL written by 'leadroute route' (full audit)")
    p.add_argument("--lead", help="the lead id (default: every decision in the file)")
    p.add_argument(
        "--policy", "--rules", dest="policy", required=True, help="the rule file that made it"
    )
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("reclaim", help="apply SLA reassignment and recycling at a given time")
    p.add_argument("--state", help="pool state (.json)")
    p.add_argument(
        "--store", help="store URL (sqlite:///pool.db, postgresql://...) instead of --state"
    )
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
    p.add_argument(
        "--next-state", help="where to write the next pool state JSON (may be the --state file)"
    )
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
        "--html",
        help="write a self-contained HTML report with charts (needs leadroute[report]); "
        "'-' prints the page and sends the summary to stderr",
    )
    p.set_defaults(func=cmd_simulate)

    store_cli.add_report_parser(sub)

    p = sub.add_parser("demo", help="route built-in sample leads and print a summary")
    p.add_argument("--leads", type=int, default=300, help="how many sample leads (default 300)")
    p.add_argument(
        "--files",
        metavar="FOLDER",
        help="write the sample rules.json, state.json and leads.jsonl to FOLDER instead",
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("schema", help="print the JSON Schema of rule files")
    p.add_argument("--path", action="store_true", help="print the shipped schema file's path")
    p.set_defaults(func=cmd_schema)
    return parser


def cmd_schema(args: argparse.Namespace, out: IO[str]) -> int:
    """``leadroute schema``: the rules-file JSON Schema (or ``--path`` of the shipped copy)."""
    out.write(f"{schema_path()}\n" if args.path else schema_json())
    return 0


def main(argv: Sequence[str] | None = None, out: IO[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for bad input)."""
    stream = out if out is not None else sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    func: Callable[[argparse.Namespace, IO[str]], int] = args.func
    try:
        return func(args, stream)
    except LeadrouteError as exc:
        sys.stderr.write(f"leadroute: error: {_one_line(exc)}\n")
        return 2
    except BrokenPipeError:
        # the reader went away (``leadroute demo | head``): stop quietly, like other tools
        if out is None:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0
    except MemoryError:
        sys.stderr.write("leadroute: error: out of memory\n")
        return 2


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split("\n")[0].split()) if str(exc) else type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
