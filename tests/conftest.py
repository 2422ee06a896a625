"""Shared fixtures: a fixed clock and small rosters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from leadroute import Capacity, Lead, PoolState, Rep

# Property tests check behaviour, never speed: no per-example deadline and no "too slow" health
# check, so a loaded CI machine cannot fail them (speed lives in benchmarks/).
settings.register_profile("leadroute", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("leadroute")

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def lead(lead_id: str, minutes: int = 0, **fields: Any) -> Lead:
    """A lead created ``minutes`` after T0."""
    return Lead(id=lead_id, created_at=T0 + timedelta(minutes=minutes), **fields)


def rep(rep_id: str, **fields: Any) -> Rep:
    """A rep with sensible defaults."""
    return Rep(id=rep_id, **fields)


@pytest.fixture
def trio() -> PoolState:
    """Three reps covering China, one of them Beijing only, with small caps."""
    return PoolState(
        reps=(
            rep(
                "ann", territories=("CN",), industries=("software",), capacity=Capacity(max_open=2)
            ),
            rep(
                "bo",
                territories=("CN-BJ",),
                industries=("healthcare",),
                capacity=Capacity(max_open=2),
            ),
            rep(
                "cy", territories=("CN-SH", "US"), industries=("*",), capacity=Capacity(max_open=2)
            ),
        )
    )
