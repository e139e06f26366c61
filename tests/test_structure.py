"""The import graph of the project: no import cycle between packages or between modules, and no
import of a name starting with ``_`` from another package. Every import counts: at module level,
inside functions, under ``if TYPE_CHECKING`` and ``importlib.import_module("…")`` with a literal
name, so a cycle cannot hide in a function. Tests and benchmarks are held to the second rule too:
what they import from a package is what it offers."""
from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USERS = ("tests", "bench", "scripts")  # they import the packages; nothing imports them


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name → file, for every top-level folder with Python files (not hidden, not
    installed dependencies)."""
    found = {}
    for top in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        if not (top / "__init__.py").exists() and top.name not in USERS:
            continue
        for path in sorted(top.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if any(part.startswith(".") or part == "node_modules" for part in parts):
                continue
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(module: str, path: Path, known: dict[str, Path]):
    """(imported module, imported name or None, line) for every import in the file."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".")
                base = parts[:len(parts) - node.level + (1 if is_package else 0)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                yield (submodule, None, node.lineno) if submodule in known else (source, alias.name, node.lineno)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                yield node.args[0].value, None, node.lineno


def graph(root: Path) -> tuple[dict[str, set[str]], list[str]]:
    """The module graph of the packages (not of their users), and every private import (all)."""
    known = module_files(root)
    tops = {name.split(".")[0] for name in known}
    edges, private = {name: set() for name in known}, []
    for module, path in known.items():
        top = module.split(".")[0]
        for source, name, line in imports(module, path, known):
            if source.split(".")[0] not in tops:
                continue  # the standard library or a dependency
            hidden = [part for part in source.split(".") + [name or ""] if part.startswith("_")
                      and not part.startswith("__")]
            if hidden and source.split(".")[0] != top:
                private.append(f"{path.relative_to(root)}:{line} imports {'.'.join(hidden)} from {source}")
            target = max((m for m in known if source == m or source.startswith(m + ".")), key=len, default=None)
            if target and target != module and top not in USERS:
                edges[module].add(target)
    return edges, private


def cycle_through(edges: dict[str, set[str]], start: str) -> list[str] | None:
    """The shortest cycle from ``start`` back to it (breadth first), or None."""
    back, queue = {}, deque([start])
    while queue:
        node = queue.popleft()
        for target in sorted(edges.get(node, ())):
            if target == start:
                path = [node]
                while path[-1] != start:
                    path.append(back[path[-1]])
                return [*reversed(path), start]
            if target not in back:
                back[target] = node
                queue.append(target)
    return None


def cycles(edges: dict[str, set[str]]) -> list[str]:
    """A cycle through each node on one, as "a → b → a" (a node already shown is not started from)."""
    out, shown = [], set()
    for start in sorted(edges):
        found = None if start in shown else cycle_through(edges, start)
        if found:
            shown.update(found)
            out.append(" → ".join(found))
    return out


def package_edges(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    out = {}
    for module, targets in edges.items():
        top = module.split(".")[0]
        out.setdefault(top, set()).update(t.split(".")[0] for t in targets if t.split(".")[0] != top)
    return out


def test_no_import_cycle_between_packages_or_modules():
    edges, _ = graph(ROOT)
    assert {"repository", "storage", "ingest", "search", "iiif", "oral_history", "media", "web"} <= set(edges)
    assert "repository" in package_edges(edges)["web"]  # the graph has the edges it should
    assert "oral_history" in package_edges(edges)["iiif"]
    assert cycles(package_edges(edges)) == []
    assert cycles(edges) == []


def test_no_private_name_is_imported_from_another_package():
    _, private = graph(ROOT)
    assert private == []


def test_media_imports_no_feature_package():
    """media is the shared lower layer: ingest, oral history and IIIF use it, it uses none of them."""
    edges, _ = graph(ROOT)
    assert package_edges(edges)["media"] == set()


def test_the_checks_see_function_level_imports_and_private_names(tmp_path):
    """The walker itself: a cycle made by an import inside a function, a relative import, a
    literal import_module and a private name from another package are all found."""
    for folder, files in {"a": {"__init__.py": "", "x.py": "def f():\n    from b import y\n"},
                          "b": {"__init__.py": "", "y.py": "from a.x import _hidden\nfrom . import z\n",
                                "z.py": "import importlib\nimportlib.import_module('b.y')\n"},
                          "tests": {"test_a.py": "from a.x import f\nfrom tests.helpers import _ok\n",
                                    "helpers.py": ""}}.items():
        (tmp_path / folder).mkdir()
        for name, text in files.items():
            (tmp_path / folder / name).write_text(text)
    edges, private = graph(tmp_path)
    assert edges["a.x"] == {"b.y"} and edges["b.y"] == {"a.x", "b.z"} and edges["b.z"] == {"b.y"}
    assert cycles(package_edges(edges)) == ["a → b → a"]
    assert cycles(edges) == ["a.x → b.y → a.x", "b.z → b.y → b.z"]
    assert private == ["b/y.py:1 imports _hidden from a.x"]
    assert "tests.test_a" in edges and edges["tests.test_a"] == set()  # users are checked, not graphed


BACKENDS = {"LocalStorage", "S3Storage", "MemoryStorage", "OcflRoot", "Catalog", "AccountStore",
            "TantivyIndex", "ElasticsearchIndex", "JobStore", "PoolRunner", "InlineRunner", "CeleryRunner", "Accounts",
            "Archive", "Search", "ImageServer", "Uploads", "Federation", "ProposalStore", "Corrections",
            "ZeroResults", "Exhibitions", "ExhibitionList", "Authorities", "AuthorityTable",
            "MentionStore", "ListStore", "Members"}


def builders(root: Path) -> dict[str, set[str]]:
    """Backend or service class → the package modules that construct one."""
    found = {}
    for module, path in module_files(root).items():
        if module.split(".")[0] in USERS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Attribute) and func.attr == "from_settings":  # ImageServer.from_settings(…)
                    func = func.value
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if called in BACKENDS:
                    found.setdefault(called, set()).add(module)
    return found


def test_only_the_composition_root_builds_backends_and_services():
    """Every backend and service is built by fangzhi.bootstrap, once per process; no view, helper
    or feature builds one (the ingest pages once rebuilt storage and a search index per request)."""
    built = builders(ROOT)
    assert {"LocalStorage", "Archive", "Search", "JobStore", "PoolRunner", "ImageServer"} <= set(built)
    assert {name: modules for name, modules in built.items() if modules != {"fangzhi.bootstrap"}} == {}


def test_every_package_is_installed():
    """setup.cfg's package list names every top-level package (an installed `fangzhi` command
    without the source folder on the path would fail to import a missing one)."""
    import configparser

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = {line.rstrip("*") for line in config["options.packages.find"]["include"].split()}
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages - listed == set()
