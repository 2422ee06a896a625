"""Every policy in docs/cookbook.md loads and routes sample leads."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from leadroute import Capacity, Lead, PoolState, Rep, Router

PAGE = Path(__file__).resolve().parent.parent / "docs" / "cookbook.md"
WEEKDAY = ("09:00-18:00",)
HOURS = dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), WEEKDAY)


def _blocks() -> list[tuple[str, str]]:
    text = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
    out = []
    for section in re.split(r"\n## ", text)[1:]:
        title = section.splitlines()[0]
        for block in re.findall(r"```toml\n(.*?)```", section, re.S):
            out.append((title, block))
    return out


def _state() -> PoolState:
    def rep(rid: str, **kw: object) -> Rep:
        return Rep.model_validate({"id": rid, "working_hours": HOURS, **kw})

    return PoolState(
        reps=(
            rep(
                "li",
                territories=("CN",),
                industries=("software",),
                languages=("zh",),
                level=3,
                weight=3,
                timezone="Asia/Shanghai",
            ),
            rep(
                "wang",
                territories=("CN",),
                industries=("healthcare",),
                languages=("zh",),
                level=1,
                timezone="Asia/Shanghai",
            ),
            rep(
                "anna",
                territories=("DE",),
                languages=("de", "en"),
                level=2,
                timezone="Europe/Berlin",
                capacity=Capacity(max_per_day=5),
            ),
            rep(
                "sam",
                territories=("US",),
                industries=("software",),
                languages=("en",),
                level=3,
                timezone="America/Los_Angeles",
            ),
            rep("ops-desk", territories=("*",), level=1),
        ),
        owners={"acme": "sam"},
    )


def _leads() -> list[Lead]:
    at = datetime(2026, 3, 4, 2, 30, tzinfo=UTC)  # Wednesday: Shanghai 10:30, Berlin 03:30
    rows: list[dict[str, Any]] = [
        {
            "country": "CN",
            "region": "CN-BJ",
            "industry": "software",
            "language": "zh-CN",
            "value": 80000,
            "score": 90,
        },
        {"country": "CN", "industry": "healthcare", "language": "zh", "value": 5000, "score": 40},
        {"country": "DE", "language": "de", "value": 20000, "score": 85},
        {"country": "US", "industry": "software", "account_key": "acme", "value": 150000},
        {"country": "BR", "language": "pt", "tags": ("key-account",)},
        {"country": "CN", "language": "zh"},
    ]
    return [
        Lead.model_validate({"id": f"L{i}", "created_at": at, **row})
        for i, row in enumerate(rows, start=1)
    ]


def test_cookbook_has_ten_recipes() -> None:
    """The cookbook holds ten numbered recipes, each with a TOML rules file."""
    titles = {title for title, _ in _blocks()}
    assert len(titles) == 10


@pytest.mark.skipif(not PAGE.exists(), reason="needs the source tree")
@pytest.mark.parametrize(("title", "block"), _blocks(), ids=[t for t, _ in _blocks()])
def test_recipe_routes_leads(title: str, block: str) -> None:
    """The recipe loads, routes every sample lead once and assigns some of them."""
    router = Router.from_config(tomllib.loads(block))
    leads = _leads()
    result = router.assign(_state(), leads)
    assert [a.lead_id for a in result.assignments] == [lead.id for lead in leads]
    outcomes = Counter(a.outcome for a in result.assignments)
    assert outcomes["assigned"] + outcomes["manual_review"] > 0, title


def _outcome(title_start: str, lead_id: str) -> tuple[str | None, str]:
    block = next(b for t, b in _blocks() if t.startswith(title_start))
    result = Router.from_config(tomllib.loads(block)).assign(_state(), _leads())
    a = next(a for a in result.assignments if a.lead_id == lead_id)
    return a.rep_id, a.outcome


def test_key_account_recipe_holds_big_deals() -> None:
    """Recipe 4 sends the 150,000 deal to manual review."""
    assert _outcome("4.", "L4") == (None, "manual_review")


def test_owner_recipe_routes_to_owner() -> None:
    """Recipe 9 gives the acme lead to its owner."""
    assert _outcome("9.", "L4") == ("sam", "assigned")


def test_value_tier_recipe_picks_senior() -> None:
    """Recipe 5 gives the 80,000 Chinese deal to the level-3 rep."""
    assert _outcome("5.", "L1") == ("li", "assigned")


def test_sla_pool_recipe_pools_off_shift_hot_lead() -> None:
    """Recipe 10 leaves the hot German lead in the pool at 03:30 Berlin time."""
    assert _outcome("10.", "L3") == (None, "pool")
