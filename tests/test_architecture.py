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
