"""Broken files through the command line: exit code 2, one line naming file, line and field."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadroute import files as lfiles
from leadroute.cli import main
from leadroute.demo import sample_leads, sample_router, sample_state

GOOD = {"id": "X1", "created_at": "2026-11-23T01:00:00Z", "country": "DE", "region": "DE"}
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def jl(*records: object) -> bytes:
    """JSON Lines bytes of ``records``."""
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A folder with good rules.json, rules.toml, state.json and leads.jsonl."""
    (tmp_path / "rules.json").write_text(json.dumps(sample_router().to_config()))
    (tmp_path / "state.json").write_text(sample_state().model_dump_json())
    leads = "".join(x.model_dump_json() + "\n" for x in sample_leads(5))
    (tmp_path / "leads.jsonl").write_text(leads)
    (tmp_path / "rules.toml").write_text('[[rules]]\nid = "all"\nroute = "RoundRobin"\n')
    return tmp_path


def run(folder: Path, *argv: str) -> tuple[int, str]:
    """Run the CLI in ``folder``; (exit code, stdout)."""
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        out = io.StringIO()
        return main(list(argv), out=out), out.getvalue()
    finally:
        os.chdir(cwd)


ROUTE = ["route", "--rules", "rules.json", "--state", "state.json", "--leads", "leads.jsonl"]


def with_file(name: str, data: bytes, *argv: str) -> Callable[[Path], list[str]]:
    """A case: write ``data`` to ``name``, then run ``argv`` (default: route)."""

    def setup(folder: Path) -> list[str]:
        (folder / name).write_bytes(data)
        return list(argv) or ROUTE

    return setup


def leads_file(data: bytes) -> Callable[[Path], list[str]]:
    """A case: route with this leads file."""
    return with_file("leads.jsonl", data)


def state_file(data: bytes) -> Callable[[Path], list[str]]:
    """A case: route with this state file."""
    return with_file("state.json", data)


def rules_file(name: str, data: bytes) -> Callable[[Path], list[str]]:
    """A case: route with this rules file."""
    argv = ["route", "--rules", name, "--state", "state.json", "--leads", "leads.jsonl"]
    return with_file(name, data, *argv)


def args(*argv: str) -> Callable[[Path], list[str]]:
    """A case: just these arguments on the good files."""
    return lambda folder: list(argv)


def folder_at(name: str, *argv: str) -> Callable[[Path], list[str]]:
    """A case: a folder where a file is expected."""

    def setup(folder: Path) -> list[str]:
        target = folder / name
        if target.exists():
            target.unlink()
        target.mkdir()
        return list(argv) or ROUTE

    return setup


CASES: list[tuple[str, Callable[[Path], list[str]], str]] = [
    # leads: encoding and bytes
    ("leads-latin1", leads_file(jl(GOOD) + b'{"id": "M\xfcller"}\n'), "leads.jsonl:2: not UTF-8"),
    ("leads-gbk", leads_file('{"id": "北京"}\n'.encode("gbk")), "leads.jsonl:1: not UTF-8"),
    ("leads-utf16", leads_file(json.dumps(GOOD).encode("utf-16")), "leads.jsonl:1: not UTF-8"),
    ("leads-nul", leads_file(jl(GOOD) + b"\x00\x00\n"), "leads.jsonl:2: not valid JSON"),
    ("leads-ctrl-z", leads_file(jl(GOOD) + b"\x1a\n"), "leads.jsonl:2: not valid JSON"),
    # leads: broken JSON
    ("leads-truncated", leads_file(jl(GOOD) + b'{"id": "X2", "created_at": "20'), "leads.jsonl:2:"),
    ("leads-truncated-object", leads_file(b'{"id": "X2"'), "leads.jsonl:1: not valid JSON"),
    ("leads-trailing-garbage", leads_file(b'{"id": "X2"} x\n'), "leads.jsonl:1: not valid JSON"),
    ("leads-single-quotes", leads_file(b"{'id': 'X2'}\n"), "leads.jsonl:1: not valid JSON"),
    ("leads-whole-array", leads_file(b'[{"id": "X2"}]\n'), "leads.jsonl:1: each line must be"),
    ("leads-number-line", leads_file(jl(GOOD, 42)), "leads.jsonl:2: each line must be"),
    ("leads-string-line", leads_file(jl("X2")), "leads.jsonl:1: each line must be"),
    ("leads-null-line", leads_file(b"null\n"), "leads.jsonl:1: each line must be"),
    (
        "leads-nan",
        leads_file(b'{"id": "X2", "score": NaN}\n'),
        "leads.jsonl:1: not valid JSON: NaN",
    ),
    ("leads-infinity", leads_file(b'{"id": "X", "value": Infinity}\n'), "leads.jsonl:1: not valid"),
    ("leads-deep", leads_file(b'{"a": ' + b"[" * 100_000 + b"\n"), "leads.jsonl:1:"),
    (
        "leads-huge-int",
        leads_file(b'{"id": "X", "value": ' + b"9" * 5000 + b"}\n"),
        "leads.jsonl:1:",
    ),
    (
        "leads-lone-surrogate",
        leads_file(jl({**GOOD, "company": "\ud83d"})),
        "leads.jsonl:1: company: a \\u escape makes a lone surrogate",
    ),
    (
        "leads-nested-surrogate",
        leads_file(jl({**GOOD, "attributes": {"x": ["ok", "\udc00"]}})),
        "leads.jsonl:1: attributes.x.1:",
    ),
    (
        "leads-duplicate-key",
        leads_file(b'{"id": "X1", "created_at": "2026-11-23T01:00:00Z", "id": "X2"}\n'),
        "leads.jsonl:1: not valid JSON: the key 'id' appears twice in one object",
    ),
    (
        "state-duplicate-key",
        state_file(b'{"revision": 1,\n "revision": 2}'),
        "state.json: not valid JSON: the key 'revision' appears twice",
    ),
    # leads: fields
    ("leads-no-id", leads_file(jl({"created_at": GOOD["created_at"]})), "leads.jsonl:1: id:"),
    (
        "leads-naive-date",
        leads_file(jl(GOOD, {**GOOD, "id": "X2", "created_at": "2026-11-23T01:00:00"})),
        "leads.jsonl:2: created_at:",
    ),
    ("leads-bad-date", leads_file(jl({**GOOD, "created_at": "yesterday"})), ":1: created_at:"),
    ("leads-value-text", leads_file(jl({**GOOD, "value": "a lot"})), "leads.jsonl:1: value:"),
    ("leads-unknown-field", leads_file(jl({**GOOD, "colour": "red"})), "leads.jsonl:1: colour:"),
    ("leads-tags-number", leads_file(jl({**GOOD, "tags": 5})), "leads.jsonl:1: tags:"),
    ("leads-duplicate-id", leads_file(jl(GOOD, GOOD)), "X1"),
    # leads: the file itself
    ("leads-missing", args(*ROUTE[:-1], "nope.jsonl"), "nope.jsonl: cannot read: no such file"),
    ("leads-folder", folder_at("leads.jsonl"), "leads.jsonl: cannot read: is a folder"),
    ("leads-in-missing-folder", args(*ROUTE[:-1], "no/leads.jsonl"), "no/leads.jsonl: cannot read"),
    # state
    ("state-missing", args(*ROUTE[:4], "gone.json", *ROUTE[5:]), "gone.json: cannot read"),
    ("state-folder", folder_at("state.json"), "state.json: cannot read: is a folder"),
    ("state-empty", state_file(b""), "state.json:1: not valid JSON"),
    ("state-truncated", state_file(b'{"reps": [{"id": "a"}'), "state.json:1: not valid JSON"),
    ("state-array", state_file(b"[]"), "state.json:1: the top level must be a JSON object"),
    ("state-latin1", state_file(b'{\n"reps": [{"id": "J\xf6rg"}]}'), "state.json:2: not UTF-8"),
    ("state-bad-revision", state_file(b'{"revision": -1}'), "state.json: revision:"),
    ("state-bad-rep", state_file(b'{"reps": [{"id": "a", "weight": "x"}]}'), "state.json: reps.0"),
    ("state-nan", state_file(b'{"reps": [], "revision": NaN}'), "state.json: not valid JSON: NaN"),
    # rules
    ("rules-yaml", rules_file("rules.yaml", b"rules: []\n"), "rules.yaml: YAML is not supported"),
    ("rules-yml", rules_file("r.yml", b"rules: []\n"), "r.yml: YAML is not supported; use TOML"),
    ("rules-truncated", rules_file("r.json", b'{"rules": ['), "r.json:1: not valid JSON"),
    ("rules-bad-toml", rules_file("r.toml", b"[[rules]\nid = 1\n"), "r.toml: not valid TOML"),
    ("rules-list", rules_file("r.json", b"[]"), "r.json:1: the top level must be an object"),
    ("rules-latin1", rules_file("r.json", b'{"rules": [], "x": "\xe9"}'), "r.json:1: not UTF-8"),
    (
        "rules-misspelled",
        rules_file("r.json", json.dumps({"rules": [{"id": "x", "route": ["Goe"]}]}).encode()),
        "r.json: rules[0].route[0]: unknown strategy 'Goe' (did you mean 'Geo'?)",
    ),
    (
        "rules-toml-misspelled",
        rules_file("r.toml", b'[[rules]]\nid = "x"\nroute = "RoundRobn"\n'),
        "r.toml: rules[0].route: unknown strategy",
    ),
    ("rules-folder", folder_at("rules.json"), "rules.json: cannot read: is a folder"),
    ("rules-missing", args("route", "--rules", "x.toml", *ROUTE[3:]), "x.toml: cannot read"),
    # outputs
    (
        "out-missing-folder",
        args(*ROUTE, "--next-state", "out/next.json"),
        "out/next.json: cannot write: the folder 'out' does not exist",
    ),
    (
        "out-assignments-missing-folder",
        args(*ROUTE, "--assignments", "out/a.jsonl"),
        "out/a.jsonl: cannot write",
    ),
    ("out-is-folder", folder_at("next.json", *ROUTE, "--next-state", "next.json"), "is a folder"),
    (
        "out-under-a-file",
        args(*ROUTE, "--audit", "leads.jsonl/audit.jsonl"),
        "leads.jsonl/audit.jsonl: cannot write",
    ),
    (
        "out-same-file-twice",
        args(*ROUTE, "--audit", "x.jsonl", "--assignments", "x.jsonl"),
        "--audit and --assignments name the same file",
    ),
    (
        "out-over-input",
        args(*ROUTE, "--assignments", "leads.jsonl"),
        "--assignments 'leads.jsonl' would overwrite an input file",
    ),
    ("out-two-stdouts", args(*ROUTE, "--next-state", "-"), "only one output can be '-'"),
    ("in-two-stdins", args("route", "--rules", "-", "--state", "-", "--leads", "x"), "only one"),
    # arguments
    ("now-naive", args(*ROUTE, "--now", "2026-11-23T09:00:00"), "--now '2026-11-23T09:00:00'"),
    ("now-garbage", args(*ROUTE, "--now", "soon"), "--now 'soon': not an ISO 8601"),
    (
        "explain-unknown-lead",
        with_file("audit.jsonl", b"", "explain", "--audit", "audit.jsonl", "--lead", "L9"),
        "audit.jsonl: lead 'L9' is not in the audit",
    ),
    (
        "explain-broken-audit",
        with_file(
            "audit.jsonl",
            b'{"decision_id": 1}\n',
            "explain",
            "--audit",
            "audit.jsonl",
            "--lead",
            "L9",
        ),
        "audit.jsonl:1:",
    ),
    (
        "reclaim-bad-duration",
        args(
            "reclaim", "--state", "state.json", "--now", "2026-11-25T00:00:00Z", "--cooldown", "1w"
        ),
        "cooldown",
    ),
]


@pytest.mark.parametrize(("setup", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_input_is_one_line_exit_2(
    base: Path,
    setup: Callable[[Path], list[str]],
    expected: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A broken file or argument exits 2 with one line naming it, and writes nothing."""
    argv = setup(base)
    before = {p.name: p.read_bytes() for p in base.iterdir() if p.is_file()}
    code, out = run(base, *argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("leadroute: error: ")
    assert err.count("\n") == 1, err
    assert expected in err
    assert "Traceback" not in err
    assert out == ""
    after = {p.name: p.read_bytes() for p in base.iterdir() if p.is_file()}
    assert after == before  # nothing written, nothing left behind


def test_table_is_large_enough() -> None:
    """The table covers at least 40 broken inputs."""
    assert len(CASES) >= 40


def test_huge_line_is_refused(
    base: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A line longer than MAX_LINE_BYTES is a one-line error naming the line."""
    monkeypatch.setattr(lfiles, "MAX_LINE_BYTES", 1000)
    (base / "leads.jsonl").write_bytes(jl(GOOD) + b'{"id": "' + b"x" * 5000 + b'"}\n')
    code, _ = run(base, *ROUTE)
    assert code == 2
    assert "leads.jsonl:2: line longer than 1,000 bytes" in capsys.readouterr().err


@pytest.mark.skipif(AS_ROOT or sys.platform == "win32", reason="root ignores permissions")
def test_unreadable_and_unwritable(base: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file without read permission, or a folder without write permission, is exit 2."""
    (base / "leads.jsonl").chmod(0)
    assert run(base, *ROUTE)[0] == 2
    assert "leads.jsonl: cannot read: permission denied" in capsys.readouterr().err
    (base / "leads.jsonl").chmod(0o644)
    ro = base / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    assert run(base, *ROUTE, "--next-state", "ro/next.json")[0] == 2
    assert "ro/next.json: cannot write: permission denied" in capsys.readouterr().err


def test_bom_and_crlf_are_accepted(base: Path) -> None:
    """Files with a UTF-8 byte-order mark and Windows line ends route like clean ones."""
    clean = run(base, *ROUTE)
    for name in ("leads.jsonl", "state.json", "rules.json"):
        text = (base / name).read_bytes().replace(b"\n", b"\r\n")
        (base / name).write_bytes(b"\xef\xbb\xbf" + text)
    assert run(base, *ROUTE) == clean


def test_concatenated_files_with_byte_order_marks(base: Path) -> None:
    """A byte-order mark at the start of any line (files joined with cat) is accepted."""
    clean = run(base, *ROUTE)
    rows = (base / "leads.jsonl").read_bytes().splitlines(keepends=True)
    (base / "leads.jsonl").write_bytes(b"".join(b"\xef\xbb\xbf" + r for r in rows))
    assert run(base, *ROUTE) == clean


def test_blank_lines_are_skipped(base: Path) -> None:
    """Blank and white-space lines in a JSONL file are skipped."""
    clean = run(base, *ROUTE)
    text = (base / "leads.jsonl").read_text().replace("\n", "\n  \n\n")
    (base / "leads.jsonl").write_text(text)
    assert run(base, *ROUTE) == clean


def test_every_file_argument_takes_stdin(base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`-` reads standard input for --rules (JSON or TOML), --state and --leads."""
    clean = run(base, *ROUTE)
    for flag, name in (
        ("--rules", "rules.json"),
        ("--state", "state.json"),
        ("--leads", "leads.jsonl"),
    ):
        data = (base / name).read_bytes()
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        argv = [*ROUTE]
        argv[argv.index(flag) + 1] = "-"
        assert run(base, *argv) == clean, flag


def test_rules_toml_from_stdin(base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--rules -` reads TOML when the text does not start with `{`."""
    toml = (base / "rules.toml").read_bytes()
    expected = run(base, "route", "--rules", "rules.toml", *ROUTE[3:])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(toml)))
    assert run(base, "route", "--rules", "-", *ROUTE[3:]) == expected


def test_bad_stdin_is_named(
    base: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken file on standard input is named <stdin>."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"id": ')))
    assert run(base, *ROUTE[:-1], "-")[0] == 2
    assert "<stdin>:1: not valid JSON" in capsys.readouterr().err


def test_next_state_may_replace_the_state(base: Path) -> None:
    """--next-state equal to --state replaces it with the next state."""
    code, _ = run(base, *ROUTE, "--next-state", "state.json")
    assert code == 0
    assert json.loads((base / "state.json").read_text())["revision"] == 1
    assert [p.name for p in base.iterdir() if p.name.startswith(".")] == []


def test_outputs_to_dev_null(base: Path) -> None:
    """A device such as /dev/null is written directly (no temporary file beside it)."""
    if not Path(os.devnull).exists() or sys.platform == "win32":
        pytest.skip("no /dev/null")
    assert run(base, *ROUTE, "--assignments", os.devnull, "--next-state", os.devnull) == (0, "")


def test_state_saved_before_assignments_are_printed(
    base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the next state cannot be saved, no assignment is printed."""
    calls: list[str] = []
    real = lfiles.atomic_write

    def spy(path: str, chunks: object, **kw: object) -> None:
        calls.append(path)
        real(path, chunks, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(lfiles, "atomic_write", spy)
    code, out = run(base, *ROUTE, "--next-state", "next.json", "--audit", "audit.jsonl")
    assert code == 0
    assert calls == ["next.json", "audit.jsonl", "-"]
    assert len(out.splitlines()) == 5


def test_missing_extra_is_found_before_any_work(
    base: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """simulate --html without plotly fails at once, naming the extra to install."""
    import importlib.util

    import leadroute.lab

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "plotly" else real(name, *a)
    )

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("simulated before checking the extra")

    monkeypatch.setattr(leadroute.lab, "simulate", boom)
    argv = ["simulate", "--rules", "rules.json", "--state", "state.json", "--leads", "leads.jsonl"]
    assert run(base, *argv, "--html", "r.html")[0] == 2
    assert 'pip install "leadroute[report]"' in capsys.readouterr().err


def test_broken_file_in_a_real_process(base: Path) -> None:
    """The installed command exits 2 with one line on stderr and no traceback."""
    (base / "leads.jsonl").write_bytes(b'{"id": "X", "created_at": "2026-11-23T01:00:00Z"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "leadroute", *ROUTE], cwd=base, capture_output=True, check=False
    )
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines() == [
        "leadroute: error: leads.jsonl:1: not valid JSON: Expecting ',' delimiter (column 49)"
    ]


def test_state_chunks_round_trip() -> None:
    """The streamed state text reads back as the same state, open and pooled leads included."""
    from leadroute import PoolState
    from leadroute.cli import state_chunks

    result = sample_router().assign(sample_state(), sample_leads(60))
    assert result.state.open_leads
    assert result.state.pool
    text = "".join(state_chunks(result.state))
    assert PoolState.model_validate_json(text) == result.state
    assert "".join(state_chunks(sample_state())) == sample_state().model_dump_json(indent=2)


def test_simulate_html_to_stdout(base: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """simulate --html - prints the page and sends the summary to stderr."""
    pytest.importorskip("plotly")
    argv = ["simulate", "--rules", "rules.json", "--state", "state.json", "--leads", "leads.jsonl"]
    code, out = run(base, *argv, "--html", "-")
    assert code == 0
    assert out.startswith("<!DOCTYPE html>")
    assert capsys.readouterr().err.startswith("== rules.json\n")


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cut=st.integers(min_value=0, max_value=400),
    junk=st.binary(max_size=12),
    keep=st.booleans(),
)
def test_mangled_leads_file_never_crashes(
    base: Path, capsys: pytest.CaptureFixture[str], cut: int, junk: bytes, keep: bool
) -> None:
    """A leads file with bytes cut out or spliced in routes (exit 0) or is one error (exit 2)."""
    good = "".join(x.model_dump_json() + "\n" for x in sample_leads(3)).encode()
    data = good[:cut] + junk + (good[cut + len(junk) :] if keep else good[cut:])
    (base / "leads.jsonl").write_bytes(data)
    code, _ = run(base, *ROUTE, "--assignments", os.devnull)
    err = capsys.readouterr().err
    assert code in (0, 2)
    if code == 2:
        assert err.startswith("leadroute: error: ")
        assert err.count("\n") == 1


@pytest.mark.parametrize("name", ["rules.json", "state.json"])
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(min_value=0, max_value=2000), junk=st.binary(max_size=8))
def test_mangled_rules_or_state_never_crash(
    base: Path, capsys: pytest.CaptureFixture[str], name: str, cut: int, junk: bytes
) -> None:
    """A rules or state file with bytes spliced in routes (exit 0) or is one error (exit 2)."""
    path = base / name
    good = path.read_bytes()
    try:
        path.write_bytes(good[:cut] + junk + good[cut + len(junk) :])
        code, _ = run(base, *ROUTE, "--assignments", os.devnull)
    finally:
        path.write_bytes(good)
    err = capsys.readouterr().err
    assert code in (0, 2)
    if code == 2:
        assert err.startswith("leadroute: error: ")
        assert err.count("\n") == 1
