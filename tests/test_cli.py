"""The leadroute command: route, explain, demo, and one-line errors with exit code 2."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from leadroute import PoolState
from leadroute.cli import main
from leadroute.demo import sample_leads, sample_router, sample_state


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A rule file, a state file and a leads file from the demo data."""
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(sample_router().to_config()), encoding="utf-8")
    state = tmp_path / "state.json"
    state.write_text(sample_state().model_dump_json(), encoding="utf-8")
    leads = tmp_path / "leads.jsonl"
    leads.write_text(
        "\n".join(x.model_dump_json() for x in sample_leads(40)) + "\n", encoding="utf-8"
    )
    return {"rules": rules, "state": state, "leads": leads, "dir": tmp_path}


def route_argv(
    files: dict[str, Path], *extra: str, leads: Path | None = None, rules: str | Path | None = None
) -> list[str]:
    """``leadroute route`` arguments for the fixture files (``leads``/``rules`` override them)."""
    return [
        "route",
        "--rules",
        str(rules or files["rules"]),
        "--state",
        str(files["state"]),
        "--leads",
        str(leads or files["leads"]),
        *extra,
    ]


def route(
    files: dict[str, Path], *extra: str, leads: Path | None = None, rules: str | Path | None = None
) -> tuple[int, str]:
    """Run ``leadroute route`` on the fixture files."""
    return run(*route_argv(files, *extra, leads=leads, rules=rules))


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_route_writes_assignments_state_and_audit(files: dict[str, Path]) -> None:
    """route writes JSONL assignments to stdout and state/audit to files."""
    nxt, audit = files["dir"] / "next.json", files["dir"] / "audit.jsonl"
    code, out = route(files, "--next-state", str(nxt), "--audit", str(audit))
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 40
    assert rows[0]["lead_id"] == "D0001"
    state = PoolState.model_validate_json(nxt.read_text(encoding="utf-8"))
    assert state.revision == 1
    assert len(audit.read_text(encoding="utf-8").splitlines()) == 40
    expected = sample_router().assign(sample_state(), sample_leads(40))
    assert [r["rep_id"] for r in rows] == [a.rep_id for a in expected.assignments]


def test_explain_from_audit(files: dict[str, Path]) -> None:
    """explain prints the decision of one lead, and why a rep did not get it."""
    audit = files["dir"] / "audit.jsonl"
    route(files, "--audit", str(audit), "--assignments", str(files["dir"] / "a.jsonl"))
    code, out = run("explain", "--audit", str(audit), "--lead", "D0003")
    assert code == 0
    assert out.startswith("Lead D0003 ->")
    code, out = run(
        "explain",
        "--audit",
        str(audit),
        "--lead",
        "D0003",
        "--rep",
        "dach-1",
        "--state",
        str(files["state"]),
        "--rules",
        str(files["rules"]),
        "--leads",
        str(files["leads"]),
    )
    assert code == 0
    assert "dach-1 did not get lead D0003" in out
    assert "dropped by Geo()" in out


def test_explain_rep_takes_the_lead_from_the_record(files: dict[str, Path]) -> None:
    """explain --rep re-checks unlisted reps with the lead the decision's record holds."""
    audit = files["dir"] / "audit.jsonl"
    route(files, "--audit", str(audit), "--assignments", str(files["dir"] / "a.jsonl"))
    argv = ["explain", "--audit", str(audit), "--lead", "D0003", "--rep", "dach-1"]
    code, out = run(*argv, "--state", str(files["state"]), "--rules", str(files["rules"]))
    assert code == 0
    assert "dropped by Geo() at china:route[0] [territory]" in out
    assert "passed the filters" not in out


def test_explain_rep_refuses_a_later_state(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """explain --rep refuses a state other than the one the decision was made on."""
    audit, nxt = files["dir"] / "audit.jsonl", files["dir"] / "next.json"
    route(files, "--audit", str(audit), "--next-state", str(nxt), "--assignments", os.devnull)
    argv = ["explain", "--audit", str(audit), "--lead", "D0003", "--rep", "dach-1"]
    code, _ = run(*argv, "--state", str(nxt), "--leads", str(files["leads"]))
    assert code == 2
    assert "routed against state revision 0, but this state is revision 1" in (
        capsys.readouterr().err
    )


def test_explain_rep_refuses_other_rules(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """explain --rep refuses a rule file other than the policy that made the decision."""
    audit, other = files["dir"] / "audit.jsonl", files["dir"] / "other.json"
    route(files, "--audit", str(audit), "--assignments", os.devnull)
    other.write_text(json.dumps({"rules": [{"id": "all", "route": "RoundRobin"}]}))
    argv = ["explain", "--audit", str(audit), "--lead", "D0003", "--rep", "dach-1"]
    code, _ = run(*argv, "--state", str(files["state"]), "--rules", str(other))
    assert code == 2
    assert "give the rule file used then" in capsys.readouterr().err


def test_explain_rep_matches_the_api_for_every_rep(files: dict[str, Path]) -> None:
    """For every rep and a few leads, explain --rep prints what RoutingResult.explain says."""
    audit = files["dir"] / "audit.jsonl"
    route(files, "--audit", str(audit), "--assignments", os.devnull)
    result = sample_router().assign(sample_state(), sample_leads(40))
    base = ["explain", "--audit", str(audit), "--state", str(files["state"])]
    base += ["--rules", str(files["rules"]), "--leads", str(files["leads"])]
    for lead_id in ("D0001", "D0003", "D0006", "D0015"):
        for rep in sample_state().reps:
            code, out = run(*base, "--lead", lead_id, "--rep", rep.id)
            assert (code, out) == (0, result.explain(lead_id, rep.id) + "\n")


def test_demo_prints_summary() -> None:
    """demo prints per-rep counts, unassigned reasons and two explanations."""
    code, out = run("demo")
    assert code == 0
    assert "Leads per rep:" in out
    assert "Not assigned, by reason:" in out
    assert out.count("[decision ") == 3  # two routing decisions and one reclaim move
    assert "reclaim sweep" in out


def test_bad_lead_line_is_one_line_error(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad field in the leads file names file, line and field; exit code 2."""
    bad = files["dir"] / "bad.jsonl"
    bad.write_text(
        '{"id": "a", "created_at": "2026-01-01T00:00:00Z"}\n{"id": "b", "created_at": "2026-01-01T00:00:00"}\n'
    )
    code, _ = route(files, leads=bad)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert f"{bad}:2: created_at:" in err
    assert "Traceback" not in err


def test_bad_json_and_missing_file(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Broken JSON and missing files are one-line errors with exit code 2."""
    bad = files["dir"] / "bad.jsonl"
    bad.write_text('{"id": "a"\n')
    code, _ = route(files, leads=bad)
    assert code == 2
    assert f"{bad}:1:" in capsys.readouterr().err
    code, _ = route(files, leads=bad, rules="nope.json")
    assert code == 2
    assert "nope.json" in capsys.readouterr().err


def test_bad_rules_name_path(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelled strategy in the rule file is named with its path and a suggestion."""
    rules = files["dir"] / "r.json"
    rules.write_text(json.dumps({"rules": [{"id": "x", "route": ["Goe", "RoundRobin"]}]}))
    code, _ = route(files, rules=rules)
    err = capsys.readouterr().err
    assert code == 2
    assert "rules[0].route[0]" in err
    assert "did you mean 'Geo'" in err


def test_duplicate_leads_exit_2(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """Routing errors (duplicate ids) exit 2 with the ids named."""
    dup = files["dir"] / "dup.jsonl"
    line = sample_leads(1)[0].model_dump_json()
    dup.write_text(line + "\n" + line + "\n")
    code, _ = route(files, leads=dup)
    assert code == 2
    assert "D0001" in capsys.readouterr().err


def test_reclaim_moves_and_warnings(files: dict[str, Path]) -> None:
    """reclaim writes the SLA moves; --warn lists leads due soon without moving them."""
    nxt = files["dir"] / "next.json"
    route(files, "--next-state", str(nxt), "--assignments", str(files["dir"] / "a.jsonl"))
    code, out = run(
        "reclaim",
        "--state",
        str(nxt),
        "--now",
        "2026-11-23T01:00:00Z",
        "--warn",
        "P1D",
        "--wall-clock",
        "--rules",
        str(files["rules"]),
    )
    assert code == 0
    warned = [json.loads(x) for x in out.splitlines()]
    assert warned
    assert {w["kind"] for w in warned} == {"sla"}
    code, out = run(
        "reclaim",
        "--state",
        str(nxt),
        "--now",
        "2026-11-25T00:00:00Z",
        "--wall-clock",
        "--rules",
        str(files["rules"]),
        "--next-state",
        str(files["dir"] / "after.json"),
    )
    assert code == 0
    moves = [json.loads(x) for x in out.splitlines()]
    assert moves
    assert {m["reason"] for m in moves} <= {"sla_reassigned", "sla_no_eligible_rep"}


def test_reclaim_bad_now(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    """A naive --now is a one-line error with exit code 2."""
    code, _ = run("reclaim", "--state", str(files["state"]), "--now", "2026-11-25T00:00:00")
    assert code == 2
    assert "--now" in capsys.readouterr().err


def test_simulate_two_policies(files: dict[str, Path], tmp_path: Path) -> None:
    """simulate prints a summary per policy and a comparison table; --html writes charts."""
    other = tmp_path / "rotation.json"
    other.write_text(json.dumps({"rules": [{"id": "all", "route": ["CapacityCap", "RoundRobin"]}]}))
    args = [
        "simulate",
        "--rules",
        str(files["rules"]),
        "--rules",
        str(other),
        "--state",
        str(files["state"]),
        "--leads",
        str(files["leads"]),
    ]
    pytest.importorskip("plotly")
    code, out = run(*args, "--html", str(tmp_path / "r.html"))
    assert code == 0
    assert out.count("== ") == 2
    assert "measure" in out
    assert "expected conversions" in out
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_closed_pipe_is_quiet(files: dict[str, Path]) -> None:
    """`leadroute route ... | head -1` ends without a traceback."""
    import subprocess
    import sys

    many = files["dir"] / "many.jsonl"
    many.write_text(
        "\n".join(x.model_dump_json() for x in sample_leads(3000)) + "\n", encoding="utf-8"
    )
    argv = route_argv(files, leads=many)
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadroute", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    assert proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err
