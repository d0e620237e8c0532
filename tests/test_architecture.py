"""The one-way ties between the packages (DESIGN.md), checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"api_schema", "mock_api", "demo", "tests", "benchmarks", "app"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize(
    ("package", "allowed"),
    [("api_schema", set()), ("mock_api", {"api_schema"}), ("demo", {"api_schema"})],
)
def test_packages_import_only_what_the_design_allows(package, allowed):
    for path in sorted((ROOT / package).rglob("*.py")):
        extra = imports_of(path) - allowed - {package}
        if package == "demo" and path.name == "backend.py":
            extra -= {"mock_api"}  # the one factory that builds the in-process mock
        assert not extra, f"{path.relative_to(ROOT)} imports {sorted(extra)}"


def _third_party_imports(path: Path) -> set[str]:
    """Top-level names of the absolute imports in a file that are neither ours nor stdlib."""
    import sys

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found - OURS - set(sys.stdlib_module_names)


def _reaches_up(path: Path) -> set[str]:
    """What a file takes from outside its own package with ``from ..x import``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level >= 2
    }


def test_the_client_is_reusable_without_gradio_or_the_mock():
    """demo/client imports api_schema, httpx, Pillow (and pydantic, which api_schema is built on)."""
    allowed = {"httpx", "PIL", "pydantic"}
    for path in sorted((ROOT / "demo" / "client").rglob("*.py")):
        where = path.relative_to(ROOT)
        assert imports_of(path) <= {"api_schema", "demo"}, f"{where} imports {sorted(imports_of(path))}"
        assert _third_party_imports(path) <= allowed, f"{where} imports {sorted(_third_party_imports(path))}"
        # Nothing above it in demo/ either (the UI, the backend factory, settings).
        assert not _reaches_up(path), f"{where} reaches outside demo/client"


def test_the_ui_reaches_the_mock_only_through_the_backend():
    for path in sorted((ROOT / "demo" / "ui").rglob("*.py")):
        assert "mock_api" not in imports_of(path), path.relative_to(ROOT)
        assert _reaches_up(path) <= {"backend", "client", "settings"}, path.relative_to(ROOT)


def test_the_in_process_factory_is_the_only_tie_from_demo_to_mock_api():
    users = [p.name for p in (ROOT / "demo").rglob("*.py") if "mock_api" in imports_of(p)]
    assert users == ["backend.py"]


def test_tests_do_not_import_the_benchmarks():
    # Test support lives in mock_api.testing and tests/support; benchmarks may reuse it, not the reverse.
    offenders = [
        str(p.relative_to(ROOT))
        for p in sorted((ROOT / "tests").rglob("*.py"))
        if "benchmarks" in imports_of(p)
    ]
    assert offenders == []
