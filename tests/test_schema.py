"""The rules-file JSON Schema, typed condition checks and TOML writing."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadroute import Lead, Router
from leadroute.cli import main
from leadroute.conditions import FIELD_KINDS, OPERATORS, parse_condition
from leadroute.config import dump_toml
from leadroute.demo import sample_router
from leadroute.exceptions import ConfigError
from leadroute.schema import rules_schema, schema_json, schema_path
from leadroute.testing import routers

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
VALIDATOR = jsonschema.Draft7Validator(rules_schema())


def _errors(data: Any) -> list[str]:
    return [e.message for e in VALIDATOR.iter_errors(data)]


def _toml_blocks(page: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(r"```toml\n(.*?)```", text, re.S)


def test_schema_is_valid_draft7() -> None:
    """The generated schema is itself a valid draft-7 schema."""
    jsonschema.Draft7Validator.check_schema(rules_schema())


def test_shipped_schema_is_current() -> None:
    """The copy shipped in the package equals a freshly generated schema."""
    assert schema_path().read_text(encoding="utf-8") == schema_json()


def test_cli_prints_the_schema() -> None:
    """``leadroute schema`` prints the shipped schema."""
    out = io.StringIO()
    assert main(["schema"], out) == 0
    assert json.loads(out.getvalue()) == rules_schema()


def test_cli_prints_the_schema_path() -> None:
    """``leadroute schema --path`` prints where the shipped copy is."""
    out = io.StringIO()
    assert main(["schema", "--path"], out) == 0
    assert Path(out.getvalue().strip()) == schema_path()


_TOML_PAGES = sorted(p.name for p in DOCS.glob("*.md") if "```toml" in p.read_text("utf-8"))


@pytest.mark.skipif(not DOCS.exists(), reason="needs the source tree")
def test_doc_config_pages_found() -> None:
    """The config and cookbook pages hold TOML rule files to check."""
    assert {"config.md", "cookbook.md"} <= set(_TOML_PAGES)


@pytest.mark.parametrize("page", _TOML_PAGES)
def test_doc_configs_validate(page: str) -> None:
    """Every TOML rules example in the docs validates against the schema."""
    for block in _toml_blocks(page):
        assert _errors(tomllib.loads(block)) == []


def test_demo_router_config_validates() -> None:
    """The demo router's config validates against the schema."""
    assert _errors(sample_router().to_config()) == []


@settings(max_examples=40, deadline=None)
@given(routers())
def test_generated_router_configs_validate(router: Router) -> None:
    """Any generated router's config validates against the schema."""
    assert _errors(router.to_config()) == []


def _rule(**fields: Any) -> dict[str, Any]:
    return {"rules": [{"id": "r", "route": "RoundRobin", **fields}]}


@pytest.mark.parametrize(
    "bad",
    [
        {"rulez": []},
        {"rules": [{"id": "r"}]},
        {"rules": [{"id": "default", "route": "RoundRobin"}]},
        _rule(route="Goe"),
        _rule(route="AssignTo"),
        _rule(route={"type": "CapacityCap", "max_opn": 3}),
        _rule(route={"type": "Weighted", "weights": {"li": "three"}}),
        _rule(route=[]),
        _rule(on_empty="drop"),
        _rule(when={"field": "score", "gte": "9000"}),
        _rule(when={"field": "industry", "under": "CN"}),
        _rule(when={"field": "industry", "gt": "a"}),
        _rule(when={"field": "score", "eq": 1, "ne": 2}),
        _rule(when={"field": "country"}),
        _rule(when={"all": []}),
        {"seed": "7"},
    ],
)
def test_wrong_configs_fail_the_schema(bad: dict[str, Any]) -> None:
    """Wrong configs do not validate against the schema."""
    assert _errors(bad)


def test_custom_strategies_join_the_schema() -> None:
    """``rules_schema(strategies=...)`` accepts a registered custom strategy by name."""
    from leadroute.strategies import Geo

    class Nearby(Geo):
        pass

    validator = jsonschema.Draft7Validator(rules_schema({"Nearby": Nearby}))
    assert not list(validator.iter_errors(_rule(route=["Nearby", "RoundRobin"])))


def test_schema_key_is_ignored_on_load() -> None:
    """A top-level ``$schema`` key (for editors) does not stop the file loading."""
    data = {"$schema": "rules.schema.json", **_rule()}
    assert Router.from_config(data).to_config() == Router.from_config(_rule()).to_config()


# -- typed conditions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "path"),
    [
        ({"field": "score", "gte": "9000"}, "rules[0].when.gte"),
        ({"field": "value", "in": [1, "2"]}, "rules[0].when.in"),
        ({"field": "industry", "lt": "m"}, "rules[0].when.lt"),
        ({"field": "industry", "under": "CN"}, "rules[0].when.under"),
        ({"field": "score", "contains": 9}, "rules[0].when.contains"),
        ({"field": "tags", "in": ["vip"]}, "rules[0].when.in"),
        ({"field": "created_at", "gte": "yesterday"}, "rules[0].when.gte"),
        ({"field": "priority", "eq": True}, "rules[0].when.eq"),
        ({"all": [{"field": "country", "eq": 86}]}, "rules[0].when.all[0].eq"),
    ],
)
def test_type_mismatch_is_a_load_error(when: dict[str, Any], path: str) -> None:
    """A value of the wrong type for its lead field is a ConfigError naming the path."""
    with pytest.raises(ConfigError) as info:
        Router.from_config(_rule(when=when))
    assert info.value.path == path


@pytest.mark.parametrize(
    "when",
    [
        {"field": "attributes.tier", "gte": "gold"},
        {"field": "attributes.x", "under": "CN"},
        {"field": "score", "gte": 90},
        {"field": "value", "in": [1, 2.5]},
        {"field": "region", "under": "CN"},
        {"field": "company", "contains": "GmbH"},
        {"field": "tags", "contains": "vip"},
        {"field": "industry", "exists": False},
    ],
)
def test_well_typed_conditions_load(when: dict[str, Any]) -> None:
    """Well-typed conditions, and any value on a custom attribute, load."""
    assert Router.from_config(_rule(when=when)).rules[0].when is not None


def test_every_lead_field_has_a_kind() -> None:
    """Every lead field has a value kind (so a new field is checked too)."""
    assert set(FIELD_KINDS) == set(Lead.model_fields)


def test_date_condition_matches_and_round_trips() -> None:
    """An ISO date-time on created_at is parsed, matches, and writes back as text."""
    cond = parse_condition({"field": "created_at", "gte": "2026-03-01T00:00:00+08:00"})
    assert cond is not None
    late = Lead(id="L1", created_at=datetime(2026, 3, 1, tzinfo=UTC))
    early = Lead(id="L2", created_at=datetime(2026, 2, 28, 15, tzinfo=UTC))
    assert (cond.matches(late), cond.matches(early)) == (True, False)
    assert cond.to_config() == {"field": "created_at", "gte": "2026-03-01T00:00:00+08:00"}


# -- TOML writing -----------------------------------------------------------------------


def test_demo_router_round_trips_through_toml() -> None:
    """The demo router written as TOML loads back with the same policy revision."""
    router = sample_router()
    back = Router.from_config(tomllib.loads(router.to_toml()))
    assert back.to_config() == router.to_config()
    assert back.policy_revision == router.policy_revision


@settings(max_examples=40, deadline=None)
@given(routers())
def test_generated_routers_round_trip_through_toml(router: Router) -> None:
    """Any generated router written as TOML loads back with the same config."""
    back = Router.from_config(tomllib.loads(router.to_toml()))
    assert back.to_config() == router.to_config()


def test_toml_schema_directive() -> None:
    """``schema=`` puts a ``#:schema`` line first, which TOML reads as a comment."""
    text = Router.from_config(_rule()).to_toml(schema="./rules.schema.json")
    assert text.splitlines()[0] == "#:schema ./rules.schema.json"
    assert tomllib.loads(text) == Router.from_config(_rule()).to_config()


def test_toml_null_names_its_path() -> None:
    """A None that TOML cannot hold is a ConfigError naming its path."""
    with pytest.raises(ConfigError) as info:
        dump_toml({"rules": [{"id": "r", "route": {"type": "X", "a": None}}]})
    assert info.value.path == "rules[0].route.a"


def test_toml_without_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without tomli-w, writing TOML fails naming the extra to install."""
    monkeypatch.setitem(sys.modules, "tomli_w", None)
    with pytest.raises(ImportError, match=r"leadroute\[toml\]"):
        dump_toml({"seed": 0})


def test_rule_model_json_schema() -> None:
    """``Rule.model_json_schema()`` gives the rule schema (it used to raise)."""
    from leadroute import Rule

    validator = jsonschema.Draft7Validator(Rule.model_json_schema())
    assert not list(validator.iter_errors({"id": "r", "route": ["Geo", "RoundRobin"]}))
    assert list(validator.iter_errors({"id": "r", "route": "Goe"}))


@pytest.mark.skipif(not DOCS.exists(), reason="needs the source tree")
def test_config_example_routes_unscored_leads() -> None:
    """The docs/config.md example assigns a lead without a score (to the default route)."""
    from leadroute import PoolState, Rep

    router = Router.from_config(tomllib.loads(_toml_blocks("config.md")[0]))
    state = PoolState(reps=(Rep(id="ops-desk"), Rep(id="li"), Rep(id="wang")))
    lead = Lead(id="L1", created_at=datetime(2026, 3, 2, tzinfo=UTC), country="US")
    assert router.assign(state, [lead]).assignments[0].rep_id == "ops-desk"


@pytest.mark.skipif(not DOCS.exists(), reason="needs the source tree")
def test_config_toml_writing_example_runs() -> None:
    """The TOML-writing example in docs/config.md runs as written."""
    text = (DOCS / "config.md").read_text(encoding="utf-8")
    block = text.split("## Writing TOML", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {}
    exec(compile(block, "config.md:Writing TOML", "exec"), namespace)
    assert isinstance(namespace["text"], str)


def test_every_schema_strategy_name_loads() -> None:
    """Each strategy the schema allows as a bare name loads as a bare name."""
    from leadroute.config import parse_route

    for name in rules_schema()["definitions"]["strategy_name"]["enum"]:
        parse_route(name)


def test_schema_requires_refused_empty_defaults() -> None:
    """A strategy refusing its empty default (ValueTier without bands) needs it in the schema."""
    assert _errors(_rule(route={"type": "ValueTier"}))
    assert _errors(_rule(route={"type": "ValueTier", "bands": []}))


_VALUES = st.one_of(
    st.integers(-5, 5),
    st.floats(-10, 10, allow_nan=False),
    st.booleans(),
    st.none(),
    st.sampled_from(("CN", "9000", "vip", "")),
    st.lists(st.one_of(st.integers(0, 3), st.sampled_from(("CN", "vip"))), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(
    field=st.sampled_from(
        sorted(n for n, k in FIELD_KINDS.items() if k not in ("any", "datetime"))
    ),
    op=st.sampled_from(OPERATORS),
    value=_VALUES,
)
def test_schema_and_loader_agree_on_field_conditions(field: str, op: str, value: Any) -> None:
    """For a typed lead field, the schema accepts a condition exactly when loading accepts it."""
    when = {"field": field, op: value}
    try:
        parse_condition(when)
        loads = True
    except ConfigError:
        loads = False
    assert (not _errors(_rule(when=when))) == loads


@pytest.mark.skipif(not DOCS.exists(), reason="needs the source tree")
def test_taplo_checks_rule_files_with_the_directive(tmp_path: Path) -> None:
    """taplo (Even Better TOML's engine) follows ``#:schema`` and flags a misspelled parameter."""
    taplo = shutil.which("taplo")
    if taplo is None:
        pytest.skip("taplo is not on PATH (npm install -g @taplo/cli)")
    (tmp_path / "leadroute-rules.schema.json").write_text(schema_json(), encoding="utf-8")
    head = "#:schema ./leadroute-rules.schema.json\n"
    good = tmp_path / "good.toml"
    good.write_text(head + _toml_blocks("cookbook.md")[0], encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(head + '[[rules]]\nid = "r"\nroute = { type = "Geo", max_kn = 5 }\n', "utf-8")

    def check(path: Path) -> int:
        return subprocess.run(
            [taplo, "check", str(path)], cwd=tmp_path, capture_output=True
        ).returncode

    assert (check(good), check(bad) != 0) == (0, True)
