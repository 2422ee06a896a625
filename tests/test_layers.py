"""The module layers of issue 8: imports go down only, no cycle, no import inside a function."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import grimp
from importlinter.application.use_cases import lint_imports
from importlinter.configuration import configure

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "leadroute"

#: Optional extras: the one kind of import allowed inside a function (see CONVENTIONS).
OPTIONAL = {
    "fastapi",
    "hypothesis",
    "numpy",
    "plotly",
    "psycopg",
    "publicsuffixlist",
    "pypinyin",
    "scipy",
    "tomli_w",
    "tqdm",
}


def test_layers_contract_is_kept() -> None:
    """The import-linter layers contract in pyproject.toml holds."""
    configure()  # what the lint-imports command does first
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), cache_dir=None, no_logo=True)


def test_layers_contract_lists_no_exceptions() -> None:
    """The contract ignores no import: every layer rule holds without exceptions."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    assert contracts
    assert all(not c.get("ignore_imports") for c in contracts)


def test_package_has_no_import_cycle() -> None:
    """No module of leadroute imports, directly or not, a module that imports it."""
    graph = grimp.build_graph("leadroute", exclude_type_checking_imports=True, cache_dir=None)
    cycles = sorted(
        (module, imported)
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(importer=imported, imported=module)
    )
    assert cycles == []


def test_no_import_inside_a_function_but_optional_extras() -> None:
    """Imports inside functions are only of optional extras (everything else at the top)."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom):
                    names = [node.module or ""]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                else:
                    continue
                for name in names:
                    if name.split(".")[0] not in OPTIONAL:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}")
    assert found == []
