"""The package's layers (docs/architecture.md): every import in ``triage/`` and ``cli.py``, at
the top of a module, inside a function or for type checkers only, goes to the importer's own
layer or a lower one, and no module reaches itself through its imports (issue 22)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.support.helpers import ROOT

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "base",
        (
            "triage._version",
            "triage.errors",
            "triage.extras",
            "triage.logic",
            "triage.outcomes",
            "triage.wording",
            "triage.yamlio",
        ),
    ),
    ("contract", ("triage.contract",)),
    ("rules", ("triage.pack", "triage.engines")),
    ("evaluation", ("triage.evaluation",)),
    ("log", ("triage.log",)),
    ("checking", ("triage.checking",)),
    ("views", ("triage.views",)),
    ("edges", ("triage.fhir", "triage.web", "triage.alerts")),
    ("interfaces", ("triage", "triage_cli")),  # the public API (triage/__init__.py) and the CLI
)
"""Bottom first. A module belongs to the layer of the longest name above that it starts with."""

Graph = Mapping[str, set[str]]


def layer_of(module: str) -> int:
    found = [
        (len(prefix), rank)
        for rank, (_, prefixes) in enumerate(LAYERS)
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    if not found:
        raise LookupError(f"{module} is in no layer: add it to LAYERS and docs/architecture.md")
    return max(found)[1]


def modules() -> dict[str, Path]:
    found = {"triage_cli.cli": ROOT / "cli.py"}
    for path in sorted((ROOT / "triage").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = module.split(".")
        if path.name != "__init__.py":
            package.pop()
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, *([node.module] if node.module else [])])
    for alias in node.names:
        yield f"{base}.{alias.name}"  # a submodule, or a name in ``base``: resolved below


def import_graph() -> dict[str, set[str]]:
    """Each module's imports of other modules of the project, wherever they are written."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        edges = graph.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for name in _imported(module, path, node):
                    while name not in known and "." in name:
                        name = name.rsplit(".", 1)[0]
                    if name in known and name != module:
                        edges.add(name)
    return graph


def upward_imports(graph: Graph) -> list[str]:
    return sorted(
        f"{importer} ({LAYERS[layer_of(importer)][0]}) imports {imported} "
        f"({LAYERS[layer_of(imported)][0]}, a higher layer)"
        for importer, imports in graph.items()
        for imported in imports
        if layer_of(imported) > layer_of(importer)
    )


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


GRAPH = import_graph()


def test_every_module_is_in_a_layer() -> None:
    for module in GRAPH:
        layer_of(module)


def test_no_module_imports_a_higher_layer() -> None:
    assert upward_imports(GRAPH) == []


def test_no_import_cycle() -> None:
    assert cycles(GRAPH) == []


def test_the_graph_holds_the_imports_inside_functions_and_for_type_checkers() -> None:
    assert "triage.log" in GRAPH["triage.checking.replay"]  # inside a function
    assert "triage.pack.explain" in GRAPH["triage.checking.replay"]  # for type checkers only
    assert "triage.engines" in GRAPH["triage.pack.loading"]  # the compile check, in a function


@pytest.mark.parametrize(
    ("graph", "upward", "cycle"),
    [
        ({"triage.contract.report": {"triage.log.records"}}, 1, []),
        ({"triage.log.facade": {"triage.contract.report"}}, 0, []),
        (
            {"triage.pack.loading": {"triage.engines"}, "triage.engines": {"triage.pack.loading"}},
            0,
            [["triage.engines", "triage.pack.loading"]],
        ),
        ({"triage.wording": {"triage.views.render"}}, 1, []),
    ],
)
def test_the_checks_find_an_upward_import_and_a_cycle(
    graph: dict[str, set[str]], upward: int, cycle: list[list[str]]
) -> None:
    assert len(upward_imports(graph)) == upward
    assert cycles(graph) == cycle


def test_a_module_outside_every_layer_is_named() -> None:
    with pytest.raises(LookupError, match=r"triage_extra\.tool is in no layer"):
        layer_of("triage_extra.tool")


# -- docs/architecture.md draws these layers ---------------------------------------------------

ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def test_the_page_draws_the_layers_in_their_order() -> None:
    table = re.findall(r"^\| (\w+) \| `", ARCHITECTURE, re.MULTILINE)
    drawing = re.findall(r"^ {2}(\w+) {2,}", ARCHITECTURE.split("```")[1], re.MULTILINE)
    top_first = [name for name, _ in reversed(LAYERS)]
    assert table == top_first
    assert drawing == top_first


def _file_named(name: str) -> Path | None:
    for base in (ROOT, ROOT / "triage", *(p for p in (ROOT / "triage").iterdir() if p.is_dir())):
        if (base / name).is_file():
            return base / name
    return None


def test_every_module_and_name_the_page_gives_exists() -> None:
    missing = []
    for path, _, name in set(re.findall(r"`([\w/]+\.py)(\.(\w+))?", ARCHITECTURE)):
        found = _file_named(path)
        if found is None:
            missing.append(path)
        elif name and not re.search(
            rf"^\s*(def|class) {name}\b|^{name}\b.*=", found.read_text(), re.MULTILINE
        ):
            missing.append(f"{path}.{name}")
    for module, name in set(re.findall(r"`((?:[a-z]+/)+[a-z_]+)\.([A-Za-z_]+)`", ARCHITECTURE)):
        if name == "py":
            continue
        found = _file_named(module + ".py")
        if found is None or not re.search(
            rf"^\s*(def|class) {name}\b|^{name}\b.*=", found.read_text(), re.MULTILINE
        ):
            missing.append(f"{module}.{name}")
    assert sorted(missing) == []
