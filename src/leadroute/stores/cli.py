"""The ``--store`` side of the command line: route, reclaim, explain and report on a store.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import IO

from leadroute import files
from leadroute.exceptions import InputError, LeadrouteError
from leadroute.lab import write_html
from leadroute.lifecycle import ReclaimPolicy
from leadroute.limits import as_duration
from leadroute.models import Lead
from leadroute.result import explain_rep
from leadroute.router import Router
from leadroute.state import PoolState
from leadroute.stores import Store, open_store
from leadroute.stores.report import live_report

__all__ = ["cmd_report", "explain", "explain_rep_in_store", "reclaim", "route"]

STORE_HELP = "a store URL (sqlite:///pool.db or postgresql://...) instead of a state file"


def _when(text: str | None, flag: str) -> datetime | None:
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        msg = f"{flag} {text!r}: not an ISO 8601 date-time"
        raise LeadrouteError(msg) from None
    if at.tzinfo is None:
        msg = f"{flag} {text!r}: give a time zone offset (for example +08:00 or Z)"
        raise LeadrouteError(msg)
    return at


def _lines(path: str | None, lines: list[str], out: IO[str]) -> None:
    if path is None:
        return
    files.atomic_write(path, (line + "\n" for line in lines), stdout=out)


def route(
    args: argparse.Namespace,
    router: Router,
    leads: list[Lead],
    now: datetime | None,
    out: IO[str],
) -> int:
    """``leadroute route --store URL``: one transaction; assignments and audit as JSONL."""
    with open_store(args.store) as store:
        result = router.assign(store, leads, now=now)
    _lines(args.assignments, [a.model_dump_json() for a in result.assignments], out)
    _lines(args.audit, [d.model_dump_json() for d in result.audit], out)
    return 0


def reclaim(args: argparse.Namespace, router: Router, policy: object, out: IO[str]) -> int:
    """``leadroute reclaim --store URL``: one sweep transaction; the moves as JSONL."""
    assert isinstance(policy, ReclaimPolicy)
    now = _when(args.now, "--now")
    assert now is not None
    if args.warn is not None:
        horizon = as_duration(args.warn, "warn", "--warn")
        assert horizon is not None
        with open_store(args.store) as store:
            for w in router.reclaim_warnings(store, now, horizon, policy):
                out.write(w.model_dump_json() + "\n")
        return 0
    with open_store(args.store) as store:
        result = router.reclaim(store, now, policy)
    _lines(args.moves, [a.model_dump_json() for a in result.assignments], out)
    _lines(args.audit, [d.model_dump_json() for d in result.audit], out)
    return 0


def explain(args: argparse.Namespace, out: IO[str]) -> int:
    """``leadroute explain --store URL --lead ID [--rep REP --rules FILE]``: every decision on
    the lead, oldest first; with ``--rep``, why that rep did not get it in the latest one."""
    if getattr(args, "rep", None):
        with open_store(args.store) as store:
            out.write(explain_rep_in_store(store, args.lead, args.rep, args.rules) + "\n")
        return 0
    with open_store(args.store) as store:
        rows = store.audit(lead_id=args.lead)
    if not rows:
        msg = f"lead {args.lead!r} has no audit rows in the store"
        raise LeadrouteError(msg)
    for row in rows:
        if row.kind == "decision":
            out.write(row.decision.explain() + "\n")
        else:
            details = ", ".join(f"{k}={v}" for k, v in sorted(row.data.items()))
            out.write(f"{row.at.isoformat()} {row.kind}: {details}\n")
    return 0


def explain_rep_in_store(store: Store, lead_id: str, rep_id: str, rules: str | None) -> str:
    """Why ``rep_id`` did not get ``lead_id`` in the lead's latest decision in ``store``.

    Reads the decision row, the lead's record and the roster, nothing else.
    Drops the decision lists are read from it; a rep a step excluded without
    listing (an indexed filter) is re-checked with the rules file against
    the rep as the store holds it now. Counter filters (caps) cannot be
    re-checked: the counters of that moment are not kept, so that case is an
    error rather than a guess.

    .. versionadded:: 0.2.0
    """

    rows = store.audit(lead_id=lead_id, kind="decision")
    if not rows:
        msg = f"lead {lead_id!r} has no decision in the store"
        raise LeadrouteError(msg)
    decision = rows[-1].decision
    roster = PoolState(reps=store.counters().reps)
    router = None
    if rules is not None:
        router = Router.from_config(files.read_mapping(rules))
        if router.policy_revision != decision.policy_revision:
            msg = (
                f"these rules are policy {router.policy_revision}, but lead {lead_id} was "
                f"routed by policy {decision.policy_revision}; give the rule file used then"
            )
            raise LeadrouteError(msg)
    dropped = any(d.rep_id == rep_id for step in decision.steps for d in step.dropped)
    hidden = [step for step in decision.steps if step.unlisted]
    if router is None and decision.rep_id != rep_id and not dropped and hidden:
        step = hidden[0]
        msg = (
            f"{step.strategy} at {step.path} excluded {step.unlisted} reps without listing "
            f"them; give --rules (the rule file of that call) to re-check {rep_id}"
        )
        raise InputError(msg, rep_ids=[rep_id])
    policy = None if router is None else router.policy
    return explain_rep(decision, rep_id, roster, policy, roster, lead=store.lead(lead_id))


def cmd_report(args: argparse.Namespace, out: IO[str]) -> int:
    """``leadroute report --store URL --since T [--until T] [--html out.html]``."""
    since = _when(args.since, "--since")
    assert since is not None
    until = _when(args.until, "--until")
    store: Store
    with open_store(args.store) as store:
        report = live_report(store, since, until)
    period = f"{since.isoformat()} .. {until.isoformat() if until else 'now'}"
    out.write(f"== {args.store} {period}\n{report.summary()}\n")
    if args.html:
        try:
            write_html([("live", report)], args.html, title=f"leadroute live report {period}")
        except ImportError as exc:
            raise LeadrouteError(str(exc)) from None
        out.write(f"\nwrote {args.html}\n")
    return 0


def add_report_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``report`` sub-command."""
    p = sub.add_parser("report", help="the lab's figures for real assignments in a store")
    p.add_argument("--store", required=True, help="store URL (sqlite:///pool.db, postgresql://...)")
    p.add_argument("--since", required=True, help="start of the period (ISO 8601 with offset)")
    p.add_argument("--until", help="end of the period (default: now)")
    p.add_argument("--html", help="also write an HTML report with charts (extra 'report')")
    p.set_defaults(func=cmd_report)
