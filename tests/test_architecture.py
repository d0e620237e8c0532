"""The one-way ties between the packages (DESIGN.md), checked on the source."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"api_schema", "mock_api", "demo", "tests", "benchmarks", "app"}
PACKAGES = ("api_schema", "mock_api", "demo")
# The only modules that may import mock_api's app factory: the package's face and its entry
# points, the CLI and the test support (mock_api.testing and anything below it).
APP_FACTORY_USERS = {"mock_api", "mock_api.__main__", "mock_api.testing"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


# --------------------------------------------------------------------------- the import graph


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_modules(module: str, is_package: bool, node: ast.AST, known: set[str]) -> set[str]:
    """The modules in ``known`` an import statement loads, relative imports resolved."""
    if isinstance(node, ast.Import):
        found = set()
        for alias in node.names:
            name = alias.name
            while name and name not in known:  # "import a.b.c" loads the deepest module of ours
                name = name.rpartition(".")[0]
            found.add(name)
        return found - {""}
    if not isinstance(node, ast.ImportFrom):
        return set()
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join([*base, node.module] if node.module else base)
    else:
        source = node.module or ""
    # "from pkg import name" loads pkg.name when that is a module, else pkg itself.
    found = {f"{source}.{a.name}" if f"{source}.{a.name}" in known else source for a in node.names}
    return found & known


def import_graph(root: Path, packages: Iterable[str]) -> dict[str, set[str]]:
    """module -> the modules of ``packages`` it imports, anywhere in its body (functions too)."""
    paths = {module_name(root, p): p for pkg in packages for p in sorted((root / pkg).rglob("*.py"))}
    known = set(paths)
    graph: dict[str, set[str]] = {m: set() for m in paths}
    for module, path in paths.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            graph[module] |= _imported_modules(module, is_package, node, known) - {module}
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return circles


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_circle_check_finds_module_and_function_level_circles(tmp_path):
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from .app import make\n",
            "pkg/app.py": "from .sub import deep\n\ndef make():\n    return deep\n",
            "pkg/sub/__init__.py": "",
            # Function level, and two levels up: pkg.sub.deep -> pkg.app -> pkg.sub.deep.
            "pkg/sub/deep.py": "def f():\n    from ..app import make\n    return make\n",
            "pkg/leaf.py": "import pkg.sub\n",
            "other/__init__.py": "",
            "other/a.py": "from other import b\n",
            "other/b.py": "import other.a\n",
            "clean/__init__.py": "from .x import X\n",
            "clean/x.py": "from clean.y import Y\nX = Y\n",
            "clean/y.py": "Y = 1\n",
        },
    )
    circles = import_circles(import_graph(tmp_path, ["pkg", "other", "clean"]))
    assert circles == [["other.a", "other.b"], ["pkg.app", "pkg.sub.deep"]]


def test_the_circle_check_resolves_a_name_imported_from_a_package_to_the_package(tmp_path):
    # "from . import NAME" where NAME is defined in __init__ ties the module to the package.
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from .mod import f\nLIMIT = 3\n",
            "pkg/mod.py": "from . import LIMIT\n\ndef f():\n    return LIMIT\n",
        },
    )
    assert import_circles(import_graph(tmp_path, ["pkg"])) == [["pkg", "pkg.mod"]]


def test_no_import_circles_in_our_packages():
    circles = import_circles(import_graph(ROOT, PACKAGES))
    assert circles == [], "import circles: " + "; ".join(" <-> ".join(c) for c in circles)


# --------------------------------------------------------------------------- the rules


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
        # The text check's engine (demo/textcheck) is a sibling below the UI, like the client.
        assert _reaches_up(path) <= {"backend", "client", "settings", "textcheck"}, path.relative_to(ROOT)


def test_the_in_process_factory_is_the_only_tie_from_demo_to_mock_api():
    users = [p.name for p in (ROOT / "demo").rglob("*.py") if "mock_api" in imports_of(p)]
    assert users == ["backend.py"]


def test_nothing_inside_mock_api_imports_the_app_factory():
    graph = import_graph(ROOT, ["mock_api"])
    users = sorted(m for m, imported in graph.items() if "mock_api.app" in imported)
    others = [m for m in users if m not in APP_FACTORY_USERS and not m.startswith("mock_api.testing.")]
    assert others == []


def _benchmark_importers(root: Path) -> list[str]:
    return [
        str(p.relative_to(root))
        for p in sorted((root / "tests").rglob("*.py"))
        if "benchmarks" in imports_of(p)
    ]


def test_the_benchmarks_check_sees_an_import_inside_a_function(tmp_path):
    _write(tmp_path, {"tests/test_x.py": "def test_x():\n    from benchmarks.common import run\n"})
    assert _benchmark_importers(tmp_path) == ["tests/test_x.py"]


def test_tests_do_not_import_the_benchmarks():
    # Test support lives in mock_api.testing and tests/support; benchmarks may reuse it, not the reverse.
    assert _benchmark_importers(ROOT) == []
