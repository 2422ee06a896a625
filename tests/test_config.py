"""Router.from_config / to_config: shapes, round trips and path-named errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from leadroute import ConfigError, FileFormatError, Router, Rule
from leadroute.demo import sample_router
from leadroute.strategies import (
    Band,
    CapacityCap,
    FunctionFilter,
    Geo,
    RoundRobin,
    ValueTier,
    Weighted,
)

CONFIG: dict[str, Any] = {
    "rules": [
        {
            "id": "vip",
            "when": {
                "all": [{"field": "value", "gte": 10000}, {"not": {"field": "country", "eq": "US"}}]
            },
            "route": [{"type": "Roster", "rep_ids": ["ann", "bo"]}, "RoundRobin"],
        },
        {
            "id": "cn",
            "when": {"field": "region", "under": "CN"},
            "route": [
                "Geo",
                {"type": "CapacityCap", "max_open": 20},
                {
                    "type": "Fallback",
                    "options": [{"type": "Weighted", "weights": {"ann": 2, "bo": 1}}, "RoundRobin"],
                },
            ],
            "on_empty": "pool",
        },
        {
            "id": "tiers",
            "route": {
                "type": "ValueTier",
                "by": "score",
                "bands": [
                    {"min": 80, "min_level": 3, "route": "LeastLoaded"},
                    {"route": "RoundRobin"},
                ],
                "fallthrough": True,
            },
        },
    ],
    "default": {"type": "AssignTo", "rep_id": "cy"},
    "seed": 42,
}


def test_from_dict_builds_objects() -> None:
    """A config dict builds the same objects as Python code."""
    router = Router.from_config(CONFIG)
    assert [r.id for r in router.rules] == ["vip", "cn", "tiers"]
    assert router.seed == 42
    cn = router.rules[1].route
    assert (
        repr(cn)
        == "Geo() >> CapacityCap(max_open=20) >> (Weighted(weights={'ann': 2, 'bo': 1}) | RoundRobin())"
    )
    assert isinstance(router.rules[2].route, ValueTier)


def test_round_trip() -> None:
    """to_config gives data that builds an equal router, and is stable."""
    router = Router.from_config(CONFIG)
    again = Router.from_config(router.to_config())
    assert again == router
    assert again.to_config() == router.to_config()


def test_demo_router_round_trips() -> None:
    """The demo's rule set (every strategy) survives to_config / from_config."""
    router = sample_router()
    data = json.loads(json.dumps(router.to_config()))
    assert Router.from_config(data).policy_revision == router.policy_revision


def test_python_and_config_give_same_revision() -> None:
    """A router written in Python and the same one in config share a policy revision."""
    py = Router(
        rules=[
            Rule(
                id="t",
                route=CapacityCap(max_open=5)
                >> ValueTier(bands=(Band(min=50, min_level=2), Band(max=50)))
                >> Weighted(),
            )
        ],
        default=Geo() >> RoundRobin(),
    )
    assert Router.from_config(py.to_config()).policy_revision == py.policy_revision


def test_json_and_toml_files(tmp_path: Path) -> None:
    """JSON and TOML files of the same shape load to the same router."""
    jpath = tmp_path / "rules.json"
    jpath.write_text(json.dumps(CONFIG), encoding="utf-8")
    tpath = tmp_path / "rules.toml"
    tpath.write_text(
        """
seed = 42
default = { type = "AssignTo", rep_id = "cy" }

[[rules]]
id = "vip"
when = { all = [ { field = "value", gte = 10000 }, { not = { field = "country", eq = "US" } } ] }
route = [ { type = "Roster", rep_ids = ["ann", "bo"] }, "RoundRobin" ]

[[rules]]
id = "cn"
when = { field = "region", under = "CN" }
on_empty = "pool"
route = [
  "Geo",
  { type = "CapacityCap", max_open = 20 },
  { type = "Fallback", options = [ { type = "Weighted", weights = { ann = 2, bo = 1 } }, "RoundRobin" ] },
]

[[rules]]
id = "tiers"
[rules.route]
type = "ValueTier"
by = "score"
fallthrough = true
bands = [ { min = 80, min_level = 3, route = "LeastLoaded" }, { route = "RoundRobin" } ]
""",
        encoding="utf-8",
    )
    assert Router.from_config(jpath) == Router.from_config(tpath) == Router.from_config(CONFIG)


@pytest.mark.parametrize(
    ("mutate", "path", "suggestion"),
    [
        (
            lambda c: c["rules"][1]["route"][2]["options"][0]["weights"].update(bob=-1),
            "rules[1].route[2].options[0].weights.bob",
            None,
        ),
        (lambda c: c["rules"][1]["route"].__setitem__(0, "Goe"), "rules[1].route[0]", "Geo"),
        (
            lambda c: c["rules"][1]["route"][1].update(max_opn=3),
            "rules[1].route[1].max_opn",
            "max_open",
        ),
        (
            lambda c: c["rules"][0]["when"]["all"][0].update(field="valeu"),
            "rules[0].when.all[0].field",
            "value",
        ),
        (lambda c: c["rules"][2].update(rout=1), "rules[2].rout", "route"),
        (lambda c: c.update(sead=1), "sead", "seed"),
        (lambda c: c["rules"][1].update(on_empty="later"), "rules[1].on_empty", None),
        (
            lambda c: c["rules"][2]["route"]["bands"][0].update(min_levl=3),
            "rules[2].route.bands[0].min_levl",
            "min_level",
        ),
        (lambda c: c["rules"][1].update(id="vip"), "rules[1].id", None),
    ],
)
def test_errors_name_the_path(mutate: Any, path: str, suggestion: str | None) -> None:
    """Bad config fails at load, naming the path and the closest valid name."""
    data = json.loads(json.dumps(CONFIG))
    mutate(data)
    with pytest.raises(ConfigError) as info:
        Router.from_config(data)
    assert info.value.path == path, str(info.value)
    assert info.value.suggestion == suggestion
    if suggestion:
        assert f"did you mean {suggestion!r}" in str(info.value)


def test_route_without_selector_is_config_error() -> None:
    """A rule whose route has no selector fails at load."""
    with pytest.raises(ConfigError, match="selector"):
        Router.from_config({"rules": [{"id": "x", "route": ["Geo", "Industry"]}]})


def test_bad_json_file_names_line(tmp_path: Path) -> None:
    """A JSON syntax error names the file and line."""
    p = tmp_path / "bad.json"
    p.write_text('{\n  "rules": [\n  }\n', encoding="utf-8")
    with pytest.raises(FileFormatError) as info:
        Router.from_config(p)
    assert info.value.line == 3
    assert str(p) in str(info.value)


def test_function_has_no_config_form() -> None:
    """A route holding a plain function cannot be written to config."""
    keep = FunctionFilter(lambda lead, rep: True, name="keep")
    router = Router(rules=[Rule(id="f", route=keep >> RoundRobin())])
    with pytest.raises(ConfigError, match="function"):
        router.to_config()


def test_custom_strategy_registered_by_name() -> None:
    """User strategy classes load by name when registered."""
    from dataclasses import dataclass

    from leadroute.strategies import Filter

    @dataclass(frozen=True, slots=True, repr=False)
    class Stock(Filter):
        sku: str = "x"

        def check(self, lead, rep, ctx):  # type: ignore[no-untyped-def]
            return None

    data = {"rules": [{"id": "s", "route": [{"type": "Stock", "sku": "mri"}, "RoundRobin"]}]}
    router = Router.from_config(data, strategies={"Stock": Stock})
    assert repr(router.rules[0].route) == "Stock(sku='mri') >> RoundRobin()"
    with pytest.raises(ConfigError, match="unknown strategy"):
        Router.from_config(data)


def test_rule_json_round_trip() -> None:
    """A Rule dumps to its data form and validates back to an equal rule."""
    rule = Rule(
        id="cn",
        when={"any": [{"field": "country", "eq": "CN"}, {"field": "region", "under": "CN"}]},
        route=Geo() >> CapacityCap(max_open=5) >> (Weighted(weights={"a": 2}) | RoundRobin()),
        on_empty="pool",
    )
    text = rule.model_dump_json()
    again = Rule.model_validate_json(text)
    assert again.model_dump_json() == text
    assert repr(again.route) == repr(rule.route)
