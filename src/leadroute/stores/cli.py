"""The ``--store`` side of the command line: route, reclaim, explain and report on a store.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import IO

from leadroute import files
from leadroute.exceptions import LeadrouteError
from leadroute.lab import write_html
from leadroute.lifecycle import ReclaimPolicy
from leadroute.limits import as_duration
from leadroute.models import Lead
from leadroute.router import Router
from leadroute.stores import Store, open_store
from leadroute.stores.report import live_report

__all__ = ["cmd_report", "explain", "reclaim", "route"]

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
    """``leadroute explain --store URL --lead ID``: every decision on the lead, oldest first."""
    if getattr(args, "rep", None):
        msg = "--rep works with --audit and --state files, not with --store"
        raise LeadrouteError(msg)
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
