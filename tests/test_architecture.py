"""Layer boundaries, checked with import-linter against pyproject.toml's contracts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert command, "lint-imports is missing; install the test extra"

    result = subprocess.run(
        [command], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr


def _imported_modules(path: Path) -> set[str]:
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_models_services_controllers_never_import_qtwidgets():
    # import-linter cannot forbid a submodule of an external package, so the
    # Qt widgets boundary is checked from the syntax tree.
    offenders = []
    for package in ("app/models", "app/services", "app/controllers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if any(name.startswith("PySide6.QtWidgets") for name in _imported_modules(path)):
                offenders.append(str(path.relative_to(ROOT)))

    assert offenders == []
