"""Preview two policies on past leads and write an HTML report (no notebook needed).

Usage::

    pip install "leadroute[report]"
    python examples/policy_lab.py [--csv path/to/x-education-leads.csv] [--out lab.html]

With the X Education leads file (``Converted`` = won), the script replays its
leads through plain rotation and through score-and-fit routing, prints the
comparison and writes ``lab.html``. Without it, it uses generated leads.
"""

from __future__ import annotations

import argparse
import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

from leadroute import (
    Capacity,
    HistoricalOutcome,
    Lead,
    PoolState,
    Rep,
    Router,
    Rule,
    compare,
    simulate,
)
from leadroute.hashing import unit_draw
from leadroute.lab import write_html
from leadroute.strategies import (
    Band,
    BestFit,
    CapacityCap,
    Factor,
    RoundRobin,
    Scorecard,
    ValueTier,
)

START = datetime(2026, 1, 5, tzinfo=UTC)
DEFAULT_CSV = (
    Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "x-education-leads.csv"
)

SCORE = Scorecard(
    factors=(
        Factor(
            "source",
            40,
            table={
                "Reference": 100,
                "Welingak Website": 90,
                "Google": 50,
                "Direct Traffic": 40,
                "Organic Search": 40,
                "Olark Chat": 20,
            },
            default=30,
            name="channel",
        ),
        Factor(
            "attributes.time_on_site",
            40,
            ranges=((None, 100, 5), (100, 600, 40), (600, None, 100)),
            name="time on site",
        ),
        Factor(
            "attributes.occupation",
            20,
            table={"Working Professional": 100, "Unemployed": 40, "Student": 30},
            default=20,
            name="occupation",
        ),
    )
)


def reps() -> tuple[Rep, ...]:
    """Twelve counsellors: three seniors, nine others."""
    return tuple(
        Rep(id=f"c{i:02d}", level=3 if i < 3 else 1, capacity=Capacity(max_open=80))
        for i in range(12)
    )


def from_csv(path: Path, limit: int) -> tuple[list[Lead], dict[str, HistoricalOutcome]]:
    """Leads and outcomes from the X Education file; the real worker is a stable draw."""
    leads: list[Lead] = []
    outcomes: dict[str, HistoricalOutcome] = {}
    with path.open(encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            if i >= limit:
                break
            lead_id = row["Prospect ID"]
            created = START + timedelta(minutes=47 * i)
            time_on_site = float(row["Total Time Spent on Website"] or 0)
            leads.append(
                Lead(
                    id=lead_id,
                    created_at=created,
                    source=row["Lead Source"] or None,
                    industry=row["Specialization"]
                    if row["Specialization"] not in ("", "Select")
                    else None,
                    attributes={
                        "time_on_site": time_on_site,
                        "occupation": row["What is your current occupation"],
                    },
                )
            )
            worker = f"c{int(unit_draw('worker', lead_id) * 12):02d}"
            outcomes[lead_id] = HistoricalOutcome(
                lead_id=lead_id,
                rep_id=worker,
                outcome="won" if row["Converted"] == "1" else "lost",
                closed_at=created + timedelta(days=5),
            )
    return leads, outcomes


def generated(count: int) -> tuple[list[Lead], dict[str, HistoricalOutcome]]:
    """Synthetic leads where seniors convert hot leads better."""
    leads: list[Lead] = []
    outcomes: dict[str, HistoricalOutcome] = {}
    for i in range(count):
        lead_id = f"G{i:05d}"
        t = unit_draw("t", i) * 1500
        leads.append(
            Lead(
                id=lead_id,
                created_at=START + timedelta(minutes=47 * i),
                source="Reference" if unit_draw("s", i) < 0.2 else "Google",
                attributes={
                    "time_on_site": t,
                    "occupation": "Working Professional" if i % 5 == 0 else "Student",
                },
            )
        )
        worker = f"c{int(unit_draw('worker', lead_id) * 12):02d}"
        p = (0.5 if int(worker[1:]) < 3 else 0.25) * (1.5 if t > 600 else 0.7)
        outcomes[lead_id] = HistoricalOutcome(
            lead_id=lead_id,
            rep_id=worker,
            outcome="won" if unit_draw("w", i) < p else "lost",
            closed_at=START + timedelta(minutes=47 * i, days=5),
        )
    return leads, outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--limit", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=Path("lab.html"))
    args = parser.parse_args()
    if args.csv.exists():
        leads, outcomes = from_csv(args.csv, args.limit)
        print(f"{len(leads)} leads from {args.csv}")
    else:
        leads, outcomes = generated(args.limit)
        print(f"{len(leads)} generated leads ({args.csv} not found)")
    state = PoolState(reps=reps())
    rotation = Router(rules=[Rule(id="all", route=CapacityCap() >> RoundRobin())])
    fit = Router(
        rules=[
            Rule(
                id="all",
                route=SCORE
                >> CapacityCap()
                >> ValueTier(
                    bands=(
                        Band(name="hot", min=60, min_level=3, route=BestFit(min_history=200)),
                        Band(name="rest", route=BestFit(min_history=200)),
                    ),
                    fallthrough=True,
                ),
            )
        ]
    )
    a = simulate(rotation, state, leads, outcomes)
    b = simulate(fit, state, leads, outcomes)
    print(compare(a, b, ("rotation", "score+fit")).table())
    try:
        path = write_html(
            [("rotation", a), ("score+fit", b)], args.out, title="Rotation vs score and fit"
        )
    except ImportError as exc:
        print(exc)
        return
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
