"""House rules that CI enforces: ruff and mypy --strict are clean, doctests pass."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import leadroute

ROOT = Path(__file__).resolve().parent.parent
HAS_SOURCE = (ROOT / "pyproject.toml").exists() and (ROOT / "src" / "leadroute").exists()


def _modules() -> list[str]:
    names = ["leadroute"]
    for info in pkgutil.walk_packages(leadroute.__path__, "leadroute."):
        if not info.name.endswith("__main__") and not info.name.startswith("leadroute.testing"):
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_doctests(name: str) -> None:
    """The examples in every module's docstrings run as written."""
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.skipif(
    not HAS_SOURCE or shutil.which("ruff") is None, reason="needs the source tree and ruff"
)
def test_ruff_clean() -> None:
    """ruff finds nothing in src/ and tests/."""
    out = subprocess.run(
        ["ruff", "check", "--no-cache", "src", "tests", "benchmarks", "examples"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.skipif(not HAS_SOURCE, reason="needs the source tree")
def test_mypy_strict_clean() -> None:
    """mypy --strict (configured in pyproject.toml) finds nothing."""
    pytest.importorskip("mypy")
    out = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.skipif(not HAS_SOURCE, reason="needs the source tree")
def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run runs exactly the test command the README shows."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0].strip() for b in readme.split("```bash\n")[1:3]]
    assert blocks[0] == "pip install . && leadroute demo"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert blocks[1] in ci
