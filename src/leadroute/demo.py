"""Built-in sample data for ``leadroute demo``: a small sales org and a day of leads.

Everything is generated from fixed tables and stable hashes, so the demo
prints the same thing on every machine.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import IO, Any

from leadroute.hashing import unit_draw
from leadroute.lifecycle import ReclaimPolicy
from leadroute.models import Capacity, Lead, Rep
from leadroute.result import RoutingResult
from leadroute.router import Router
from leadroute.rules import Rule
from leadroute.state import ClosedLead, PoolState
from leadroute.strategies import (
    AssignTo,
    Band,
    BestFit,
    CapacityCap,
    Factor,
    Geo,
    Industry,
    Language,
    LeastLoaded,
    ManualReview,
    Ownership,
    RandomPick,
    Roster,
    RoundRobin,
    Scorecard,
    Skill,
    ValueTier,
    Weighted,
)

__all__ = [
    "DEMO_SCORECARD",
    "sample_history",
    "sample_leads",
    "sample_router",
    "sample_state",
    "show_lifecycle",
]

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)

_OFFICES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    # team, territory, time zone, languages
    ("beijing", "CN-BJ", "Asia/Shanghai", ("zh",)),
    ("shanghai", "CN-SH", "Asia/Shanghai", ("zh", "en")),
    ("guangzhou", "CN-GD", "Asia/Shanghai", ("zh",)),
    ("west", "US-CA", "America/Los_Angeles", ("en", "es")),
    ("east", "US-NY", "America/New_York", ("en",)),
    ("dach", "DE", "Europe/Berlin", ("de", "en")),
)
_INDUSTRIES = ("healthcare", "manufacturing", "software", "retail")
_SKILLS = ("mri", "ct", "ultrasound", "lab")
_SOURCES = ("web", "trade_show", "referral", "partner")


def _draw(*parts: object) -> float:
    return unit_draw("leadroute-demo", *parts)


def sample_state() -> PoolState:
    """36 reps over six offices, four industries and four product skills."""
    reps: list[Rep] = []
    for team, territory, tz, langs in _OFFICES:
        for n in range(6):
            rep_id = f"{team}-{n + 1}"
            industries = (_INDUSTRIES[n % 4], _INDUSTRIES[(n + 1) % 4])
            skills = tuple(s for j, s in enumerate(_SKILLS) if (n + j) % 3 != 0)
            reps.append(
                Rep(
                    id=rep_id,
                    name=rep_id.replace("-", " ").title(),
                    team=team,
                    territories=(territory.split("-")[0],) if n == 0 else (territory,),
                    industries=("*",) if n == 0 else industries,
                    skills=skills,
                    languages=langs,
                    level=3 if n < 2 else (2 if n < 4 else 1),
                    weight=3.0 if n < 2 else 1.0,
                    capacity=Capacity(max_open=12 if n < 2 else 8, max_per_day=6),
                    timezone=tz,
                )
            )
    reps.append(Rep(id="ops-desk", name="Ops Desk", team="ops", territories=("*",), level=0))
    state = PoolState(as_of=START, reps=tuple(reps))
    return state.replace(history=sample_history(state))


def sample_leads(count: int = 300) -> list[Lead]:
    """``count`` leads arriving over one day, mostly in the offices' regions."""
    leads: list[Lead] = []
    regions = [o[1] for o in _OFFICES] + ["CN-BJ-CY", "US-TX", "FR"]
    languages = {"CN": "zh-CN", "US": "en-US", "DE": "de-DE", "FR": "fr-FR"}
    for i in range(count):
        key = f"D{i + 1:04d}"
        region = regions[int(_draw(key, "region") * len(regions))]
        country = region.split("-")[0]
        industry = _INDUSTRIES[int(_draw(key, "industry") * 4)]
        needs = [s for s in _SKILLS if _draw(key, s) < 0.2]
        value = round(1000 * (1 + 99 * _draw(key, "value") ** 3), 2)
        score = round(100 * _draw(key, "score"), 1)
        attrs: dict[str, Any] = {"needs": needs}
        leads.append(
            Lead(
                id=key,
                created_at=START + timedelta(minutes=int(i * 1440 / count)),
                country=country,
                region=region,
                industry=industry,
                company=f"Company {int(_draw(key, 'co') * 120)}",
                language=languages[country],
                source=_SOURCES[int(_draw(key, "source") * 4)],
                value=value,
                score=score,
                priority=1 if value > 50_000 else 0,
                attributes=attrs,
            )
        )
    return leads


#: The demo's lead score: channel, deal size, industry and language (rep-independent factors).
DEMO_SCORECARD = Scorecard(
    factors=(
        Factor(
            "source",
            30,
            table={"referral": 100, "trade_show": 80, "partner": 60, "web": 30},
            name="channel",
        ),
        Factor(
            "value",
            40,
            ranges=(
                (None, 5_000, 10),
                (5_000, 20_000, 40),
                (20_000, 50_000, 70),
                (50_000, None, 100),
            ),
            name="deal size",
        ),
        Factor(
            "industry",
            20,
            table={"healthcare": 100, "manufacturing": 70, "software": 50},
            default=20,
        ),
        Factor("language", 10, table={"de-DE": 100, "en-US": 80}, default=40, name="language"),
    )
)


def sample_history(state: PoolState, count: int = 400) -> tuple[ClosedLead, ...]:
    """Closed leads of the last quarter for the DACH team (so learned fit is on)."""
    out: list[ClosedLead] = []
    dach = [r for r in state.reps if r.team == "dach"]
    for i in range(count):
        rep = dach[i % len(dach)]
        key = f"H{i:04d}"
        industry = _INDUSTRIES[int(_draw(key, "industry") * 4)]
        skill = 0.55 if rep.id.endswith(("-1", "-3")) else 0.2
        won = _draw(key, "won") < skill
        at = START - timedelta(days=90) + timedelta(hours=5 * i)
        out.append(
            ClosedLead(
                lead=Lead(id=key, created_at=at, country="DE", region="DE", industry=industry),
                rep_id=rep.id,
                assigned_at=at,
                closed_at=at + timedelta(days=6),
                outcome="won" if won else "lost",
                first_activity_at=at + timedelta(hours=1 + 6 * _draw(key, "touch") * (i % 3)),
            )
        )
    return tuple(out)


def sample_router(seed: int = 7) -> Router:
    """A rule set that uses every built-in strategy."""
    key_accounts = Rule(
        id="key-accounts",
        when={"field": "value", "gte": 90_000},
        route=ManualReview(reason="key_account"),
    )
    china = Rule(
        id="china",
        when={"field": "country", "eq": "CN"},
        route=(
            Geo()
            >> Language()
            >> Industry()
            >> CapacityCap()
            >> (
                Ownership()
                | ValueTier(
                    bands=(
                        Band(name="high", min=70, min_level=3, route=Weighted()),
                        Band(name="mid", min=30, max=70, min_level=2, route=RoundRobin()),
                        Band(name="low", max=30, route=LeastLoaded()),
                    ),
                    fallthrough=True,
                )
            )
        ),
    )
    usa = Rule(
        id="usa",
        when={"field": "country", "eq": "US"},
        route=Geo()
        >> Skill(field="attributes.needs")
        >> CapacityCap()
        >> (RoundRobin() | RandomPick()),
    )
    europe = Rule(
        id="europe",
        when={"field": "country", "in": ["DE", "FR"]},
        route=(
            DEMO_SCORECARD
            >> Geo()
            >> CapacityCap()
            >> ValueTier(
                bands=(
                    Band(name="hot", min=60, min_level=2, route=BestFit(min_history=100)),
                    Band(name="rest", route=Weighted()),
                ),
                fallthrough=True,
            )
        ),
        on_empty="next",
    )
    return Router(
        rules=[key_accounts, china, usa, europe],
        default=Roster(("ops-desk",)) >> AssignTo("ops-desk"),
        seed=seed,
    )


def show_lifecycle(router: Router, result: RoutingResult, out: IO[str]) -> None:
    """Two days later: reps worked most leads, closed some; one reclaim sweep runs."""
    state = result.state
    for i, lead_id in enumerate(sorted(state.open_leads)):
        rec = state.open_leads[lead_id]
        if i % 3 == 0:
            continue  # never touched: the SLA will catch it
        state = state.record_activity(lead_id, rec.assigned_at + timedelta(minutes=30))
        if i % 3 == 1:
            state = state.close(
                lead_id, "won" if i % 2 else "lost", rec.assigned_at + timedelta(hours=5)
            )
    owned = len(state.owners)
    policy = ReclaimPolicy(first_touch=timedelta(hours=2), working_time=False, max_reassignments=1)
    sweep = router.reclaim(state, START + timedelta(days=2), policy)
    moved: dict[str, int] = {}
    for a in sweep.assignments:
        moved[a.reason] = moved.get(a.reason, 0) + 1
    w = out.write
    w(
        f"\nTwo days later: {len(state.history) - len(result.state.history)} leads closed, "
        f"{owned} accounts owned; reclaim sweep:\n"
    )
    for reason, n in sorted(moved.items()):
        w(f"  {reason:<34} {n:>4}\n")
    if sweep.audit:
        w("\n" + sweep.audit[0].explain() + "\n")
