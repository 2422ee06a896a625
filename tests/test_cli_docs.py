"""Every command line example in docs/cli.md runs and answers as the Python API does."""

from __future__ import annotations

import argparse
import io
import re
import shlex
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from leadroute import PoolState, Router
from leadroute.cli import build_parser, main, read_jsonl
from leadroute.demo import sample_leads, sample_router, sample_state
from leadroute.lifecycle import ReclaimPolicy
from leadroute.models import Lead
from leadroute.strategies.availability import as_duration

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


@dataclass
class Example:
    """One ``$ leadroute ...`` line of the docs, its stdin file and the output shown under it."""

    argv: list[str]
    stdin: str | None
    shown: list[str]


def examples() -> list[Example]:
    """The console examples of docs/cli.md, in order."""
    text = DOC.read_text(encoding="utf-8")
    found: list[Example] = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            if line.startswith("$ "):
                words = shlex.split(line[2:])
                assert words[0] == "leadroute"
                stdin = None
                if "<" in words:
                    i = words.index("<")
                    stdin = words[i + 1]
                    words = words[:i] + words[i + 2 :]
                found.append(Example(words[1:], stdin, []))
            elif line.strip():
                found[-1].shown.append(line)
    return found


def test_docs_document_every_command() -> None:
    """docs/cli.md has a working example of every command."""
    assert len(examples()) >= 10
    commands = {ex.argv[0] for ex in examples()}
    assert commands >= {"route", "explain", "reclaim", "simulate", "demo"}


def api_answer(args: argparse.Namespace, folder: Path) -> dict[str, object]:
    """What the Python API says for the same call, keyed by output."""
    if args.command == "demo":
        return {
            "rules": sample_router(),
            "state": sample_state(),
            "leads": sample_leads(args.leads),
        }
    rules = Router.from_config(folder / "rules.json")
    if args.command == "route":
        state = PoolState.model_validate_json((folder / args.state).read_text(encoding="utf-8"))
        leads = read_jsonl(str(folder / args.leads), Lead)
        r = rules.assign(state, leads)
        return {
            "assignments": [a.model_dump_json() for a in r.assignments],
            "next_state": r.state,
            "audit": [d.model_dump_json() for d in r.audit],
        }
    if args.command == "explain":
        state = PoolState.model_validate_json((folder / "state.json").read_text(encoding="utf-8"))
        leads = read_jsonl(str(folder / "leads.jsonl"), Lead)
        r = rules.assign(state, leads)
        return {"text": r.explain(args.lead, args.rep)}
    if args.command == "replay":
        state = PoolState.model_validate_json((folder / "state.json").read_text(encoding="utf-8"))
        leads = read_jsonl(str(folder / "leads.jsonl"), Lead)
        r = rules.assign(state, leads)
        return {"text": rules.replay(r.decision(args.lead)).explain()}
    if args.command == "reclaim":
        state = PoolState.model_validate_json((folder / args.state).read_text(encoding="utf-8"))
        policy = ReclaimPolicy(
            first_touch=args.first_touch,
            working_time=not args.wall_clock,
            max_reassignments=args.max_reassignments,
            recycle_after=args.recycle_after,
            protection=args.protection,
            cooldown=args.cooldown,
        )
        now = datetime.fromisoformat(args.now)
        router = rules if args.rules else Router()
        if args.warn:
            horizon = as_duration(args.warn, "warn", "--warn")
            assert horizon is not None
            warned = router.reclaim_warnings(state, now, horizon, policy)
            return {"text": "".join(w.model_dump_json() + "\n" for w in warned)}
        r = router.reclaim(state, now, policy)
        return {
            "moves": [a.model_dump_json() for a in r.assignments],
            "next_state": r.state,
            "audit": [d.model_dump_json() for d in r.audit],
        }
    from leadroute.lab import simulate

    state = PoolState.model_validate_json((folder / args.state).read_text(encoding="utf-8"))
    leads = read_jsonl(str(folder / args.leads), Lead)
    return {"summary": simulate(rules, state, leads).summary()}


def lines(path: Path) -> list[str]:
    """The lines of a text file."""
    return path.read_text(encoding="utf-8").splitlines()


def check(args: argparse.Namespace, api: dict[str, object], out: str, folder: Path) -> None:
    """Assert the CLI's files and output say what the API says."""
    if args.command == "demo":
        assert Router.from_config(folder / "rules.json") == api["rules"]
        state = PoolState.model_validate_json((folder / "state.json").read_text(encoding="utf-8"))
        assert state == api["state"]
        assert read_jsonl(str(folder / "leads.jsonl"), Lead) == api["leads"]
    elif args.command in ("route", "reclaim") and "next_state" in api:
        key = "assignments" if args.command == "route" else "moves"
        target = getattr(args, key)
        got = out.splitlines() if target == "-" else lines(folder / target)
        assert got == api[key]
        if args.next_state:
            after = (folder / args.next_state).read_text(encoding="utf-8")
            assert PoolState.model_validate_json(after) == api["next_state"]
        if args.audit:
            assert lines(folder / args.audit) == api["audit"]
    elif args.command in ("explain", "reclaim", "replay"):
        text = str(api["text"])
        assert out == (text.rstrip("\n") + "\n" if text else "")
    else:
        assert str(api["summary"]) in out


def test_every_documented_example_answers_like_the_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each `$ leadroute ...` example of docs/cli.md runs, in order, as the Python API answers."""
    monkeypatch.chdir(tmp_path)
    parser = build_parser()
    for ex in examples():
        label = " ".join(ex.argv)
        if ex.argv[0] == "--version":
            continue
        args = parser.parse_args(ex.argv)
        api = api_answer(args, tmp_path) if tmp_path.joinpath("rules.json").exists() else {}
        if args.command == "demo":
            api = api_answer(args, tmp_path)
        if ex.stdin is not None:
            data = (tmp_path / ex.stdin).read_bytes()
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        out = io.StringIO()
        code = main(ex.argv, out=out)
        err = capsys.readouterr().err
        assert "Traceback" not in err, label
        if code == 2:  # a documented refusal: the message shown is the one printed
            assert ex.shown == err.splitlines(), label
            continue
        assert code == 0, (label, err)
        if ex.shown:
            assert out.getvalue().splitlines() == ex.shown, label
        check(args, api, out.getvalue(), tmp_path)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`leadroute --version` prints the package version and exits 0."""
    from leadroute import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"leadroute {__version__}\n"
