"""The public namespace is explicit, sorted and complete."""

from __future__ import annotations

import subprocess
import sys

import leadroute
import leadroute.strategies


def test_all_is_sorted() -> None:
    """``__all__`` lists names in sorted order (dunders first, as ruff sorts)."""
    names = [n for n in leadroute.__all__ if not n.startswith("__")]
    assert names == sorted(names)


def test_all_names_exist() -> None:
    """Every name in ``__all__`` is importable from the package."""
    for name in leadroute.__all__ + leadroute.strategies.__all__:
        module = leadroute if name in leadroute.__all__ else leadroute.strategies
        assert hasattr(module, name), name


def test_all_is_complete() -> None:
    """Every public class defined in leadroute's modules is exported."""
    public = {
        name
        for name, obj in vars(leadroute).items()
        if isinstance(obj, type) and not name.startswith("_")
    }
    assert public <= set(leadroute.__all__)


def test_import_does_not_import_hypothesis() -> None:
    """``import leadroute`` leaves hypothesis unimported."""
    code = "import sys, leadroute, leadroute.strategies; print('hypothesis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
