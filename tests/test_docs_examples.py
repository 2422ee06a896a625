"""The worked examples in docs/ run as written."""

from __future__ import annotations

from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _block(page: str, after: str) -> str:
    text = (DOCS / page).read_text(encoding="utf-8")
    return text.split(after, 1)[1].split("```python", 1)[1].split("```", 1)[0]


@pytest.mark.skipif(not DOCS.exists(), reason="needs the source tree")
@pytest.mark.parametrize(
    ("page", "after"),
    [
        ("getting-started.md", "## The one call"),
        ("lifecycle.md", "## A week in the life of a pool"),
        ("../README.md", "## Use it"),
    ],
)
def test_worked_example_runs(page: str, after: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The example executes without error."""
    namespace: dict[str, object] = {}
    exec(compile(_block(page, after), f"{page}:{after}", "exec"), namespace)
    assert "state" in namespace
