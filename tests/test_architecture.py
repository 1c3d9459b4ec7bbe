"""The layout keeps its shape, read from the code's own imports (ast; nothing is imported).

- no import circles between storywatch modules (imports inside functions and type-only ones
  count too: a circle broken by a late import is still a circle);
- no module imports another module's private (``_x``) names, or reads them off a module;
- the pure stages (parse, dedupe, storyline, digest rendering) never import the store, fetch
  or send at run time (naming the store's records for the type checker is allowed), nor a
  library that does network or database I/O;
- the library never imports Prefect (tests/test_cli.py also imports every module to check).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "storywatch"

PURE_STAGES = (
    "storywatch.parse",
    "storywatch.dedupe",
    "storywatch.storyline",
    "storywatch.digest.compose",
    "storywatch.digest.render",
)
IMPURE = ("storywatch.store", "storywatch.fetch", "storywatch.digest.send")
IO_LIBRARIES = ("httpx", "httpcore", "sqlalchemy", "alembic", "psycopg", "smtplib", "socket")


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # a storywatch module, or the top-level name of another library
    names: tuple[str, ...]  # names taken from ``target`` ("" for the module itself)
    type_only: bool  # under ``if TYPE_CHECKING:``
    line: int

    def where(self) -> str:
        return f"{self.importer}:{self.line}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(LIBRARY.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _type_only_nodes(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                found.update(id(n) for n in ast.walk(child))
    return found


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = importer if MODULES[importer].name == "__init__.py" else importer.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imports_of(name: str) -> list[Import]:
    tree = ast.parse(MODULES[name].read_text(), filename=str(MODULES[name]))
    type_only = _type_only_nodes(tree)
    found = []
    for node in ast.walk(tree):
        typed = id(node) in type_only
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = alias.name if alias.name in MODULES else alias.name.split(".")[0]
                found.append(Import(name, target, ("",), typed, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(name, node)
            if base not in MODULES:
                found.append(Import(name, base.split(".")[0], (), typed, node.lineno))
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in MODULES:  # `from storywatch.store import backfill`
                    found.append(Import(name, submodule, ("",), typed, node.lineno))
                else:
                    found.append(Import(name, base, (alias.name,), typed, node.lineno))
    return found


IMPORTS = {name: imports_of(name) for name in MODULES}


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _circles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    graph = {
        m: sorted({i.target for i in IMPORTS[m] if i.target in MODULES} - {m}) for m in MODULES
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in graph[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in graph:
        if module not in index:
            visit(module)
    return groups


def test_the_modules_are_found() -> None:
    assert {"storywatch.store.repository", "storywatch.parse.feedparser"} <= set(MODULES)
    assert any(
        i.target == "storywatch.store.repository" for i in IMPORTS["storywatch.cli.commands"]
    )


def test_no_import_circles_between_modules() -> None:
    assert _circles() == []


def test_no_module_imports_another_modules_private_names() -> None:
    taken = [
        f"{i.where()}: {name} from {i.target}"
        for imports in IMPORTS.values()
        for i in imports
        if i.target in MODULES and i.target != i.importer
        for name in i.names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert taken == []


def test_no_module_reads_private_names_off_another_module() -> None:
    read = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        bound = {}  # local name -> the storywatch module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in MODULES and alias.asname:
                        bound[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom) and not node.level:
                for alias in node.names:
                    if f"{node.module}.{alias.name}" in MODULES:
                        bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in bound
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                read.append(f"{name}:{node.lineno}: {bound[node.value.id]}.{node.attr}")
    assert read == []


@pytest.mark.parametrize("stage", PURE_STAGES)
def test_pure_stages_import_no_store_fetch_or_send(stage: str) -> None:
    modules = [m for m in MODULES if _within(m, (stage,))]
    assert modules, stage
    found = [
        f"{i.where()}: {i.target}"
        for m in modules
        for i in IMPORTS[m]
        if not i.type_only and (_within(i.target, IMPURE) or i.target in IO_LIBRARIES)
    ]
    assert found == []


def test_the_library_imports_no_prefect() -> None:
    found = [i.where() for imports in IMPORTS.values() for i in imports if i.target == "prefect"]
    assert found == []
