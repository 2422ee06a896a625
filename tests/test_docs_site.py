"""The documentation site (MkDocs + mkdocstrings) builds without a warning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built with ``mkdocs build --strict`` into a temporary directory."""
    if not (ROOT / "mkdocs.yml").exists():
        pytest.skip("needs the source tree")
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--quiet",
            "-f",
            str(ROOT / "mkdocs.yml"),
            "-d",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_site_builds_strict(site: Path) -> None:
    """``mkdocs build --strict`` succeeds and writes the home page."""
    assert (site / "index.html").is_file()


def test_api_reference_generated_from_docstrings(site: Path) -> None:
    """The API reference page holds the public names with their docstrings."""
    page = (site / "api" / "index.html").read_text(encoding="utf-8")
    for text in ("Router", "rules_schema", "Ordered rules, a default route, and a seed"):
        assert text in page
