"""leadroute.files: streamed readers and atomic writers."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadroute.exceptions import FileFormatError
from leadroute.files import atomic_write, iter_jsonl, read_json, read_mapping, read_text


def test_atomic_write_creates_and_replaces(tmp_path: Path) -> None:
    """atomic_write creates a file, then replaces it whole."""
    target = tmp_path / "out.json"
    atomic_write(str(target), ["one\n"])
    atomic_write(str(target), ["two\n", "three\n"])
    assert target.read_text() == "two\nthree\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_atomic_write_failure_keeps_the_old_file(tmp_path: Path) -> None:
    """An error while producing the text leaves the old file and no temporary file."""
    target = tmp_path / "state.json"
    target.write_text("old")

    def chunks() -> Iterator[str]:
        yield "new, half"
        raise RuntimeError("the producer failed")

    with pytest.raises(RuntimeError):
        atomic_write(str(target), chunks())
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_atomic_write_keeps_permissions(tmp_path: Path) -> None:
    """Replacing a file keeps its permission bits."""
    target = tmp_path / "state.json"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write(str(target), ["new"])
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_atomic_write_new_file_follows_umask(tmp_path: Path) -> None:
    """A new file gets the usual permissions (0666 less the umask), not 0600."""
    mask = os.umask(0o022)
    try:
        atomic_write(str(tmp_path / "new.txt"), ["x"])
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o644


def test_atomic_write_missing_folder(tmp_path: Path) -> None:
    """A missing folder is a FileFormatError naming the folder."""
    target = tmp_path / "nope" / "out.json"
    with pytest.raises(FileFormatError, match=r"the folder .*nope' does not exist"):
        atomic_write(str(target), ["x"])


def test_atomic_write_folder_in_the_way(tmp_path: Path) -> None:
    """A folder at the target path is a FileFormatError, and the folder stays."""
    with pytest.raises(FileFormatError, match="is a folder"):
        atomic_write(str(tmp_path), ["x"])
    assert tmp_path.is_dir()


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges")
def test_atomic_write_follows_a_symlink(tmp_path: Path) -> None:
    """Writing through a symbolic link replaces the file it points to, and keeps the link."""
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    atomic_write(str(link), ["new"])
    assert link.is_symlink()
    assert real.read_text() == "new"


def test_atomic_write_dash_is_stdout() -> None:
    """'-' writes to the given stream."""
    out = io.StringIO()
    atomic_write("-", ["a", "b"], stdout=out)
    assert out.getvalue() == "ab"


@settings(max_examples=50, deadline=None)
@given(text=st.text())
def test_atomic_write_round_trips_any_text(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    """Whatever text is written is read back unchanged (as UTF-8, no newline translation)."""
    target = tmp_path_factory.mktemp("rt") / "t.txt"
    atomic_write(str(target), [text])
    assert target.read_bytes().decode("utf-8") == text


def test_iter_jsonl_streams(tmp_path: Path) -> None:
    """Records before a broken line are produced before the error (the file is not read whole)."""
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": \n')
    records = iter_jsonl(str(path), dict)
    assert next(records) == {"a": 1}
    assert next(records) == {"a": 2}
    with pytest.raises(FileFormatError, match=r"x.jsonl:3: not valid JSON"):
        next(records)


def test_iter_jsonl_names_the_field(tmp_path: Path) -> None:
    """A record the parser refuses names line and field (from a pydantic error)."""
    from leadroute import Lead

    path = tmp_path / "x.jsonl"
    path.write_text('{"id": "a", "created_at": "2026-01-01T00:00:00Z", "score": "high"}\n')
    with pytest.raises(FileFormatError, match=r"x.jsonl:1: score: "):
        list(iter_jsonl(str(path), Lead.model_validate))


def test_read_text_drops_bom_and_names_bad_bytes(tmp_path: Path) -> None:
    """A byte-order mark is dropped; a bad byte is named by line and column."""
    path = tmp_path / "t.json"
    path.write_bytes(b"\xef\xbb\xbf{}")
    assert read_text(str(path)) == "{}"
    path.write_bytes(b'{\n  "a": "\xff"}')
    with pytest.raises(
        FileFormatError, match=r"t.json:2: not UTF-8 text \(byte 0xff at column 9\)"
    ):
        read_text(str(path))


def test_read_json_top_level_must_be_object(tmp_path: Path) -> None:
    """A JSON document that is not an object is refused."""
    path = tmp_path / "s.json"
    path.write_text("[1]")
    with pytest.raises(FileFormatError, match="must be a JSON object, got an array"):
        read_json(str(path), dict)


def test_read_mapping_refuses_yaml(tmp_path: Path) -> None:
    """A .yaml or .yml file is refused by name, before reading it."""
    for name in ("r.yaml", "r.YML"):
        with pytest.raises(FileFormatError, match="YAML is not supported; use TOML or JSON"):
            read_mapping(tmp_path / name)


def test_read_mapping_stdin_sniffs_json_or_toml() -> None:
    """'-' is JSON when it starts with '{', TOML otherwise."""
    assert read_mapping("-", stdin=io.BytesIO(b' {"seed": 1}')) == {"seed": 1}
    assert read_mapping("-", stdin=io.BytesIO(b"seed = 2\n")) == {"seed": 2}


def test_router_from_config_names_the_file(tmp_path: Path) -> None:
    """A config error from a file names the file before the path inside it."""
    from leadroute import Router
    from leadroute.exceptions import ConfigError

    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": [{"id": "x", "route": "Goe"}]}))
    with pytest.raises(ConfigError, match=r"rules.json: rules\[0\].route: unknown strategy") as e:
        Router.from_config(path)
    assert e.value.path == "rules[0].route"


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    import leadroute.cli as cli

    real = cli.state_chunks

    def slow(state):
        for i, chunk in enumerate(real(state)):
            yield chunk
            if i == 1:
                print("writing", flush=True)
                time.sleep(60)

    cli.state_chunks = slow
    sys.exit(cli.main(sys.argv[1:]))
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killed_while_writing_the_state_keeps_the_old_state(tmp_path: Path) -> None:
    """SIGKILL while `route` writes --next-state over --state leaves the old state intact."""
    from leadroute import PoolState
    from leadroute.demo import sample_leads, sample_router, sample_state

    (tmp_path / "rules.json").write_text(json.dumps(sample_router().to_config()))
    (tmp_path / "state.json").write_text(sample_state().model_dump_json())
    (tmp_path / "leads.jsonl").write_text(
        "".join(x.model_dump_json() + "\n" for x in sample_leads(20))
    )
    before = (tmp_path / "state.json").read_bytes()
    argv = ["route", "--rules", "rules.json", "--state", "state.json", "--leads", "leads.jsonl"]
    argv += ["--next-state", "state.json"]
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, *argv],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline() == b"writing\n"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        proc.stdout.close()
        if proc.stderr is not None:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert (tmp_path / "state.json").read_bytes() == before
    assert PoolState.model_validate_json(before).revision == 0
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1  # the half-written temporary file, beside and not over it
