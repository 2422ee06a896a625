"""The Python examples in README.md and docs/ type-check for users.

Users run ``mypy --strict`` and ``pyright`` on their own code without the
pydantic mypy plugin, so the examples are checked that way: each page's
blocks, in order, after a prelude that imports leadroute and stands in for
the names a fragment takes from its surroundings (``state``, ``router``...).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

PRELUDE = """\
# ruff: noqa
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st

{imports}
from leadroute.normalize import romanised_key

# names the fragments take from their surroundings
state = cast(PoolState, object())
router = cast(Router, object())
rotation_router = fit_router = MY_ROUTER = router
lead = cast(Lead, object())
leads = past_leads = [lead]
outcomes = cast(list[HistoricalOutcome], object())
now = at = start = end = cast(datetime, object())


def load_state() -> PoolState:
    return state


"""

MYPY_INI = """\
[mypy]
strict = True
python_version = 3.11
warn_unused_ignores = True
"""


def _prelude() -> str:
    import leadroute
    import leadroute.strategies

    lines = []
    for module in (leadroute, leadroute.strategies):
        names = ", ".join(n for n in module.__all__ if not n.startswith("_"))
        lines.append(f"from {module.__name__} import {names}")
    return PRELUDE.replace("{imports}", "\n".join(lines))


def _blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)


def _write_examples(where: Path) -> list[Path]:
    files = []
    for page in PAGES:
        blocks = _blocks(page)
        if not blocks:
            continue
        body = "\n\n".join(
            f"# --- {page.name} block {i}\n{textwrap.dedent(b)}" for i, b in enumerate(blocks)
        )
        path = where / f"example_{page.stem.replace('-', '_').lower()}.py"
        path.write_text(_prelude() + body, encoding="utf-8")
        files.append(path)
    return files


pytestmark = pytest.mark.skipif(not (ROOT / "docs").exists(), reason="needs the source tree")


def test_examples_found() -> None:
    """The README and several docs pages have Python examples to check."""
    assert sum(1 for page in PAGES if _blocks(page)) >= 5


def test_examples_pass_mypy_strict_without_plugin(tmp_path: Path) -> None:
    """The examples pass ``mypy --strict`` without the pydantic mypy plugin."""
    pytest.importorskip("mypy")
    files = _write_examples(tmp_path)
    (tmp_path / "mypy.ini").write_text(MYPY_INI, encoding="utf-8")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(tmp_path / "mypy.ini"),
            "--cache-dir",
            str(ROOT / ".mypy_cache" / "examples"),
            *map(str, files),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_examples_pass_pyright(tmp_path: Path) -> None:
    """The examples pass ``pyright`` (when pyright is installed: ``npm install -g pyright``)."""
    pyright = shutil.which("pyright")
    if pyright is None:
        pytest.skip("pyright is not on PATH (npm install -g pyright)")
    files = _write_examples(tmp_path)
    config = f'{{"pythonVersion": "3.11", "venvPath": "{Path(sys.prefix).parent}", '
    config += f'"venv": "{Path(sys.prefix).name}"}}'
    (tmp_path / "pyrightconfig.json").write_text(config, encoding="utf-8")
    out = subprocess.run(
        [pyright, "--pythonpath", sys.executable, *map(str, files)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
