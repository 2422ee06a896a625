"""A small web service routing one lead per request against a SQLite store.

Run it with ``uvicorn`` (``pip install "leadroute[postgres]" fastapi uvicorn``
for PostgreSQL)::

    LEADROUTE_STORE=sqlite:///pool.db uvicorn store_service:app --workers 4

Every request is one store transaction, so any number of worker processes
(and threads) can serve the same store: a lead posted twice gets the same rep
(``reason: already_open``), caps hold, and a crashed worker loses nothing
that was committed.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from leadroute import Capacity, Lead, Rep, Router, Rule
from leadroute.exceptions import LeadrouteError
from leadroute.stores import Store, open_store
from leadroute.strategies import CapacityCap, Geo, RoundRobin


class Activity(BaseModel):
    """A call or mail on a lead."""

    at: datetime


class Close(BaseModel):
    """The end of a lead."""

    outcome: str
    at: datetime


def default_router() -> Router:
    """Territory, then capacity, then rotation."""
    return Router(
        rules=[Rule(id="territory", route=Geo() >> CapacityCap() >> RoundRobin())],
        default=CapacityCap() >> RoundRobin(),
    )


def create_app(store: Store, router: Router | None = None) -> FastAPI:
    """The service for one store (one connection per process; calls take turns on it)."""
    policy = router or default_router()
    app = FastAPI(title="leadroute service")

    @app.post("/leads")
    def route_lead(lead: Lead) -> dict[str, Any]:
        try:
            result = policy.assign(store, [lead])
        except LeadrouteError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        return result.assignments[0].model_dump(mode="json")

    @app.post("/leads/{lead_id}/activity")
    def activity(lead_id: str, body: Activity) -> dict[str, str]:
        try:
            store.record_activity(lead_id, body.at)
        except LeadrouteError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from None
        return {"lead_id": lead_id, "status": "recorded"}

    @app.post("/leads/{lead_id}/close")
    def close(lead_id: str, body: Close) -> dict[str, str]:
        try:
            store.close(lead_id, body.outcome, body.at)  # type: ignore[arg-type]
        except LeadrouteError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from None
        return {"lead_id": lead_id, "status": "closed"}

    @app.get("/leads/{lead_id}/explain")
    def explain(lead_id: str) -> dict[str, list[str]]:
        rows = store.audit(lead_id=lead_id, kind="decision")
        if not rows:
            raise HTTPException(status_code=404, detail=f"lead {lead_id!r} has no decision")
        return {"decisions": [r.decision.explain() for r in rows]}

    return app


def _app_from_env() -> FastAPI:
    store = open_store(os.environ.get("LEADROUTE_STORE", "sqlite:///leadroute-pool.db"))
    if not store.counters().reps:
        store.set_reps(
            [
                Rep(id="ann", territories=("CN",), capacity=Capacity(max_open=50)),
                Rep(id="bo", territories=("US",), capacity=Capacity(max_open=50)),
                Rep(id="cy", capacity=Capacity(max_open=50)),
            ]
        )
    return create_app(store)


if __name__ != "__main__" and os.environ.get("LEADROUTE_STORE"):
    app = _app_from_env()
