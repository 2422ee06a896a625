"""examples/store_service.py serves concurrent clients in-process against one SQLite store."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from leadroute import Capacity, Rep
from leadroute.stores import SQLiteStore

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "store_service.py"


def _module() -> ModuleType:
    if not EXAMPLE.exists():
        pytest.skip("needs the source tree")
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    spec = importlib.util.spec_from_file_location("store_service", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["store_service"] = module
    spec.loader.exec_module(module)
    return module


async def _clients(app: Any, bodies: list[dict[str, Any]], clients: int) -> list[dict[str, Any]]:
    import httpx

    transport = httpx.ASGITransport(app=app)
    queue = list(enumerate(bodies))
    out: list[dict[str, Any]] = [{} for _ in bodies]

    async def client() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as c:
            while queue:
                i, body = queue.pop()
                resp = await c.post("/leads", json=body)
                assert resp.status_code == 200, resp.text
                out[i] = resp.json()

    await asyncio.gather(*(client() for _ in range(clients)))
    return out


def test_concurrent_clients_respect_caps(tmp_path: Path) -> None:
    """8 concurrent clients posting 60 leads (some twice): caps hold, repeats get the same rep."""
    module = _module()
    store = SQLiteStore(tmp_path / "svc.db")
    store.set_reps([Rep(id=r, capacity=Capacity(max_open=10)) for r in ("ann", "bo", "cy")])
    app = module.create_app(store)
    bodies = [
        {"id": f"L{i % 50}", "created_at": "2026-03-02T09:00:00Z", "country": "CN"}
        for i in range(60)
    ]
    results = asyncio.run(_clients(app, bodies, 8))
    state = store.snapshot()
    assert len(state.open_leads) + len(state.pool) == 50
    held = Counter(o.rep_id for o in state.open_leads.values())
    assert max(held.values()) <= 10
    assert len(state.open_leads) == 30
    by_lead: dict[str, set[Any]] = {}
    for r in results:
        by_lead.setdefault(r["lead_id"], set()).add(r["rep_id"])
    for lead_id, reps in by_lead.items():
        if lead_id in state.open_leads:
            assert reps == {state.open_leads[lead_id].rep_id}
    store.disconnect()


def test_explain_endpoint(tmp_path: Path) -> None:
    """GET /leads/{id}/explain returns the stored decision."""
    module = _module()
    import httpx

    store = SQLiteStore(tmp_path / "svc.db")
    store.set_reps([Rep(id="ann")])
    app = module.create_app(store)

    async def calls() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as c:
            await c.post("/leads", json={"id": "X1", "created_at": "2026-03-02T09:00:00Z"})
            return await c.get("/leads/X1/explain"), await c.get("/leads/nope/explain")

    found, missing = asyncio.run(calls())
    assert found.status_code == 200
    assert "ann" in found.json()["decisions"][0]
    assert missing.status_code == 404
    store.disconnect()
