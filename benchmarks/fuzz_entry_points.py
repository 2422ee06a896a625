# mypy: disable-error-code="misc"
# (the many small lambdas that bind loop values as defaults are not worth annotating one by one)
"""Fuzz count: malformed values through every public entry point.

Drives deterministic random malformed values (wrong types, NaN / inf,
huge integers, far dates, long and deep values, broken configs) through the
models, ``Rule``, ``Router``, ``Router.from_config``, ``assign``,
``reclaim``, the lifecycle calls, ``simulate`` and the testing kit, and
counts what escapes: leadroute errors (expected), successes, and any other
exception (a bug). Also checks that a config that loads routes a batch,
and that every state produced reloads from its JSON and is equal.

Prints the counts and, as the plain baseline, how many inputs were tried.

Run: ``python benchmarks/fuzz_entry_points.py [--n 3000] [--seed 1]``.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from leadroute import (
    Capacity,
    Lead,
    LeadrouteError,
    PoolState,
    ReclaimPolicy,
    Rep,
    Router,
    Rule,
    TimeWindow,
    simulate,
)

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)

WEIRD: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    7,
    10**30,
    -(10**30),
    1.5,
    -0.0,
    1e308,
    -1e308,
    math.nan,
    math.inf,
    -math.inf,
    "",
    " ",
    "x",
    "alice",
    "CN",
    "09:00-18:00",
    "25:00-26:00",
    "18:00-09:00",
    "PT2H",
    "Mars/Olympus",
    "2026-13-45",
    "x" * 5000,
    "\x00\ud800" if False else "\x00\x01",
    [],
    [1, 2],
    ["a", None],
    {},
    {"a": 1},
    {"type": "RoundRobin"},
    {"field": "country", "eq": "CN"},
    (),
    datetime(2026, 1, 1),
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
    datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
    datetime(2026, 1, 1, tzinfo=UTC),
    timedelta(days=-1),
    timedelta(days=10**6),
    object(),
    b"bytes",
]

BIG_INT_TEXT = "9" * 5000


def weird(rng: random.Random) -> Any:
    """One malformed (or merely odd) value."""
    r = rng.random()
    if r < 0.04:
        return 10 ** rng.randint(4000, 6000)
    if r < 0.07:
        depth = rng.choice((80, 600, 3000))
        value: Any = {"field": "country", "eq": "CN"}
        for _ in range(depth):
            value = {"not": value}
        return value
    if r < 0.09:
        return rng.uniform(-1e6, 1e6)
    return copy.copy(rng.choice(WEIRD))


def lead_data(i: int = 0) -> dict[str, Any]:
    return {
        "id": f"L{i}",
        "created_at": T0 + timedelta(minutes=i),
        "country": "CN",
        "region": "CN-BJ",
        "industry": "software",
        "company": "Acme",
        "value": 1000.0,
        "score": 50.0,
        "attributes": {"needs": ["mri"]},
    }


def rep_data(rep_id: str) -> dict[str, Any]:
    return {
        "id": rep_id,
        "territories": ["CN"],
        "industries": ["software"],
        "skills": ["mri"],
        "weight": 2.0,
        "capacity": {"max_open": 5, "max_per_day": 3},
        "timezone": "Asia/Shanghai",
        "working_hours": {"mon": ["09:00-18:00"]},
    }


CONFIG: dict[str, Any] = {
    "rules": [
        {
            "id": "cn",
            "when": {"all": [{"field": "country", "eq": "CN"}, {"field": "score", "gte": 10}]},
            "route": [
                "Geo",
                {"type": "Industry", "if_missing": "keep"},
                {"type": "Team", "teams": ["a"]},
                {"type": "CapacityCap", "max_open": 3},
                {
                    "type": "Fallback",
                    "options": [
                        {"type": "Ownership"},
                        {"type": "Weighted", "weights": {"alice": 2, "bob": 1}},
                    ],
                },
            ],
        },
        {
            "id": "tier",
            "route": [
                {
                    "type": "Scorecard",
                    "factors": [{"field": "source", "weight": 1, "table": {"web": 30}}],
                },
                {
                    "type": "ValueTier",
                    "bands": [{"min": 50, "min_level": 1}, {"max": 50}],
                },
                {"type": "ManualReview", "reason": "check", "sample": 0.5},
            ],
            "on_empty": "next",
        },
    ],
    "default": [{"type": "LeastLoaded", "default_max_open": 10}],
    "seed": 3,
}


def mutate(rng: random.Random, data: Any) -> Any:
    """``data`` with one random node replaced by a weird value."""
    data = copy.deepcopy(data)
    paths: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k in list(node):
                paths.append((node, k))
                walk(node[k])
        elif isinstance(node, list):
            for i in range(len(node)):
                paths.append((node, i))
                walk(node[i])

    walk(data)
    if not paths:
        return weird(rng)
    parent, key = rng.choice(paths)
    if rng.random() < 0.15 and isinstance(parent, dict):
        parent[f"extra{rng.randint(0, 9)}"] = weird(rng)
    else:
        parent[key] = weird(rng)
    return data


def jsonish(value: Any) -> str:
    def default(o: Any) -> Any:
        if isinstance(o, datetime):
            return o.isoformat()
        if isinstance(o, timedelta):
            return o.total_seconds()
        return repr(o)

    try:
        return json.dumps(value, default=default)
    except (ValueError, RecursionError):
        return "{"


def base_state() -> PoolState:
    return PoolState(reps=tuple(Rep.model_validate(rep_data(r)) for r in ("alice", "bob", "cy")))


class Tally:
    def __init__(self) -> None:
        self.tried = 0
        self.ok = 0
        self.leadroute = 0
        self.other: Counter[str] = Counter()
        self.ok_by: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def run(self, where: str, fn: Callable[[], Any]) -> Any:
        self.tried += 1
        try:
            out = fn()
        except LeadrouteError:
            self.leadroute += 1
            return None
        except Exception as exc:
            key = f"{where}: {type(exc).__name__}"
            self.other[key] += 1
            self.examples.setdefault(key, str(exc)[:160])
            return None
        self.ok += 1
        self.ok_by[where] += 1
        return out


def check_state(t: Tally, where: str, state: PoolState) -> None:
    def reload() -> None:
        again = PoolState.model_validate_json(state.model_dump_json())
        if again != state:
            msg = "state does not round-trip"
            raise AssertionError(msg)

    t.run(f"{where} round-trip", reload)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="inputs per entry point")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sys.setrecursionlimit(3000)
    rng = random.Random(args.seed)
    t = Tally()
    state0 = base_state()
    state0_json = state0.model_dump_json()
    router0 = Router.from_config(CONFIG)
    started = time.perf_counter()
    models: list[tuple[str, type[Any], Callable[[], dict[str, Any]]]] = [
        ("Lead", Lead, lambda: lead_data(1)),
        ("Rep", Rep, lambda: rep_data("alice")),
        ("Capacity", Capacity, lambda: {"max_open": 3, "period_days": 7}),
        (
            "TimeWindow",
            TimeWindow,
            lambda: {"start": T0, "end": T0 + timedelta(days=1), "reason": "x"},
        ),
        (
            "PoolState",
            PoolState,
            lambda: json.loads(state0.model_dump_json()),
        ),
        ("Rule", Rule, lambda: {"id": "r", "when": None, "route": ["Geo", "RoundRobin"]}),
    ]
    for _ in range(args.n):
        for name, cls, make in models:
            data = mutate(rng, make())
            t.run(
                f"{name}()",
                lambda cls=cls, data=data: cls(**data) if isinstance(data, dict) else cls(data),
            )
            t.run(f"{name}.model_validate", lambda cls=cls, data=data: cls.model_validate(data))
            text = jsonish(data)
            t.run(
                f"{name}.model_validate_json",
                lambda cls=cls, text=text: cls.model_validate_json(text),
            )
        # configs
        cfg = mutate(rng, CONFIG)
        router = t.run("Router.from_config", lambda cfg=cfg: Router.from_config(cfg))
        if router is not None:
            res = t.run(
                "assign (loaded config)",
                lambda router=router: router.assign(
                    state0, [Lead.model_validate(lead_data(i)) for i in range(5)]
                ),
            )
            if res is not None:
                check_state(t, "assign", res.state)
        rules = mutate(rng, CONFIG["rules"])
        t.run(
            "Router(rules=[dict])",
            lambda rules=rules: Router(rules=rules if isinstance(rules, list) else [rules]),
        )
        t.run(
            "Router(...)",
            lambda: Router(rules=[], default=weird(rng), seed=weird(rng), max_drops=weird(rng)),
        )
        # assign with odd arguments
        now = weird(rng)
        t.run(
            "assign(now=...)",
            lambda now=now: router0.assign(state0, [Lead.model_validate(lead_data(1))], now=now),
        )
        t.run("assign(leads=...)", lambda: router0.assign(state0, weird(rng)))
        t.run("assign(state=...)", lambda: router0.assign(weird(rng), []))
        far = rng.choice((timedelta(days=3000), timedelta(days=-3000), timedelta(0)))
        res = t.run(
            "assign(far lead)",
            lambda far=far: router0.assign(
                state0, [Lead.model_validate({**lead_data(2), "created_at": T0 + far})]
            ),
        )
        if res is not None:
            check_state(t, "assign", res.state)
            st = res.state
            ids = sorted(st.open_leads)
            lid = ids[0] if ids else "L2"
            t.run(
                "close",
                lambda st=st, lid=lid: st.close(
                    rng.choice((lid, weird(rng))), weird(rng), weird(rng)
                ),
            )
            t.run(
                "record_activity",
                lambda st=st, lid=lid: st.record_activity(
                    rng.choice((lid, weird(rng))), weird(rng)
                ),
            )
            t.run(
                "assign_manually",
                lambda st=st: st.assign_manually(
                    rng.choice((Lead.model_validate(lead_data(9)), weird(rng))),
                    rng.choice(("alice", weird(rng))),
                    at=rng.choice((T0, weird(rng))),
                    by=rng.choice(("me", weird(rng))),
                    note=weird(rng),
                    force=weird(rng),
                ),
            )
            t.run("with_reps", lambda st=st: st.with_reps(weird(rng)))
            t.run(
                "transfer_accounts",
                lambda st=st: st.transfer_accounts(
                    rng.choice(("alice", weird(rng))),
                    rng.choice(("bob", weird(rng))),
                    at=rng.choice((T0 + timedelta(days=1), weird(rng))),
                    by=rng.choice(("me", weird(rng))),
                    protection=rng.choice((timedelta(0), weird(rng))),
                ),
            )
            t.run("reclaim", lambda st=st: router0.reclaim(st, weird(rng), weird(rng)))
            t.run(
                "ReclaimPolicy",
                lambda: ReclaimPolicy(
                    **{
                        rng.choice(
                            (
                                "first_touch",
                                "max_reassignments",
                                "after_max",
                                "cooldown",
                                "working_time",
                            )
                        ): weird(rng)
                    }
                ),
            )
            t.run(
                "reclaim(policy)",
                lambda st=st: router0.reclaim(
                    st, T0 + timedelta(days=rng.choice((1, 50))), ReclaimPolicy()
                ),
            )
            t.run(
                "simulate",
                lambda st=st: simulate(
                    router0,
                    st,
                    rng.choice(([Lead.model_validate(lead_data(20))], weird(rng))),
                    step=rng.choice((timedelta(days=1), weird(rng))),
                    close_after=rng.choice((timedelta(days=1), weird(rng))),
                ),
            )
        try:
            from leadroute import testing

            gen = rng.choice((testing.leads, testing.reps, testing.capacities, testing.pool_states))
            key = rng.choice(("id", "weight", "levle", "priority", "max_open", "region"))
            t.run("testing overrides", lambda gen=gen, key=key: gen(**{key: weird(rng)}).example())
        except ImportError:
            pass
        if state0.model_dump_json() != state0_json:
            t.other["input state changed"] += 1
    elapsed = time.perf_counter() - started
    print(f"inputs tried: {t.tried} in {elapsed:.1f} s")
    print(f"  ok: {t.ok}   leadroute errors: {t.leadroute}")
    loaded = t.ok_by["Router.from_config"]
    crashed = sum(n for k, n in t.other.items() if k.startswith("assign (loaded config)"))
    print(f"  configs that loaded: {loaded}; of them crashed in assign: {crashed}")
    print(f"  other exceptions: {sum(t.other.values())}")
    for key, n in t.other.most_common():
        print(f"    {n:6d}  {key}  e.g. {t.examples.get(key, '')!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
