"""The app-to-app import graph of hubbub, read with `ast`; fails on a cycle between apps.

Every module under `src/hubbub/` is parsed (nothing is imported or run). Each `import x` and
`from x import y` that names a hubbub module becomes an edge between two nodes:

- an **app**: the first package under `hubbub` (`hubbub.inbox.services` -> `inbox`);
- **core**: the shared top-level helpers (`db`, `live`, `textfiles`, `importreport`, `sqlite_wal`,
  `hubbub/__init__.py`). They are the bottom layer: any app may import them, they import no app;
- **project**: the top-level modules that assemble the apps (`api_site`, `cli`, `demo`, `demo_data`,
  `demo_history`, `demo_sandbox`, `demo_workspace`, `urls`, `settings`, `asgi`, `wsgi`, `runtime`, `__main__`).
  They are the top layer: they may import any app, nothing but another project module imports them.

Imports inside functions are edges too (they run, and they hide cycles), and are listed on their own.
Imports under `if TYPE_CHECKING:` never run, so they are counted apart and are not edges. A call
`import_module("hubbub.x")` with a literal name counts like an import.

Exit status 1 when apps form a cycle (a strongly connected component of more than one app) or a layer
rule above is broken; `--allow-cycles` reports and exits 0. `--json` prints a machine-readable dump.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

CORE = "core"
PROJECT = "project"
PROJECT_MODULES = frozenset(
    {
        "__main__", "api_site", "asgi", "cli", "demo", "demo_data", "demo_history", "demo_sandbox", "demo_workspace",
        "runtime", "settings", "urls", "wsgi",
    }
)
DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "src" / "hubbub"


@dataclass(frozen=True)
class Site:
    """One import statement that names a hubbub module."""

    file: str
    line: int
    source: str  # the importing module
    target: str  # the imported module (or package)
    src_node: str
    dst_node: str
    level: str  # "module", "function" or "type_checking"
    function: str = ""  # the enclosing function, for function-level imports
    names: str = ""  # what `from target import ...` takes


def module_name(path: Path, root: Path) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def node_of(module: str, root: Path) -> str | None:
    """The app, `core` or `project` a hubbub module belongs to; None outside hubbub."""
    parts = module.split(".")
    if parts[0] != root.name:
        return None
    if len(parts) == 1:
        return CORE
    if parts[1] in PROJECT_MODULES:
        return PROJECT
    return parts[1] if (root / parts[1]).is_dir() else CORE


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_modules(node: ast.AST, module: str, is_package: bool) -> list[tuple[str, str]]:
    """The absolute modules an import statement (or a literal import_module call) names, with the names taken."""
    if isinstance(node, ast.Import):
        return [(alias.name, "") for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            anchor = package[: len(package) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        # `from hubbub import inbox` names the package hubbub.inbox; deeper bases are themselves enough.
        if "." not in base:
            return [(f"{base}.{alias.name}", "") for alias in node.names if alias.name != "*"] or [(base, "*")]
        return [(base, ", ".join(alias.name for alias in node.names))]
    if isinstance(node, ast.Call) and node.args:
        func, arg = node.func, node.args[0]
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in {"import_module", "__import__"} and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return [(arg.value, "")]
    return []


def scan_file(path: Path, root: Path, display: str) -> list[Site]:
    module = module_name(path, root)
    src_node = node_of(module, root) or CORE
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    sites: list[Site] = []

    def visit(node: ast.AST, function: str, type_checking: bool) -> None:
        for target, names in imported_modules(node, module, path.name == "__init__.py"):
            dst_node = node_of(target, root)
            if dst_node is not None:
                level = "type_checking" if type_checking else "function" if function else "module"
                line = getattr(node, "lineno", 0)
                sites.append(Site(display, line, module, target, src_node, dst_node, level, function, names))
        if isinstance(node, ast.If) and is_type_checking(node.test):
            for stmt in node.body:
                visit(stmt, function, True)
            for stmt in node.orelse:
                visit(stmt, function, type_checking)
            return
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            name = getattr(node, "name", "<lambda>")
            function = f"{function}.{name}" if function else name
        for child in ast.iter_child_nodes(node):
            visit(child, function, type_checking)

    visit(tree, "", False)
    return sites


def scan(root: Path) -> list[Site]:
    sites: list[Site] = []
    for path in sorted(root.rglob("*.py")):
        try:
            display = str(path.relative_to(Path.cwd()))
        except ValueError:
            display = str(path)
        sites.extend(scan_file(path, root, display))
    return sites


def build_graph(sites: list[Site]) -> dict[tuple[str, str], list[Site]]:
    """Edges between different nodes, each with its import sites (TYPE_CHECKING-only ones left out)."""
    edges: dict[tuple[str, str], list[Site]] = defaultdict(list)
    for site in sites:
        if site.level != "type_checking" and site.src_node != site.dst_node:
            edges[(site.src_node, site.dst_node)].append(site)
    return dict(sorted(edges.items()))


def strongly_connected(nodes: set[str], edges: set[tuple[str, str]]) -> list[list[str]]:
    """Tarjan's algorithm; returns components of more than one node, each sorted."""
    successors: dict[str, list[str]] = defaultdict(list)
    for src, dst in sorted(edges):
        successors[src].append(dst)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in successors[node]:
            if succ not in index:
                connect(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(nodes):
        if node not in index:
            connect(node)
    return sorted(components)


def app_cycles(graph: dict[tuple[str, str], list[Site]]) -> list[list[str]]:
    """Cycles among apps only (core and project are checked by the layer rules instead)."""
    app_edges = {edge for edge in graph if CORE not in edge and PROJECT not in edge}
    return strongly_connected({node for edge in app_edges for node in edge}, app_edges)


def layer_violations(graph: dict[tuple[str, str], list[Site]]) -> list[Site]:
    """Core importing an app or a project module, or anything but project importing a project module."""
    bad = [
        site
        for (src, dst), edge_sites in graph.items()
        for site in edge_sites
        if (src == CORE and dst != CORE) or (dst == PROJECT and src != PROJECT)
    ]
    return sorted(bad, key=lambda site: (site.file, site.line))


def hidden_imports(sites: list[Site]) -> list[Site]:
    """Function-level imports of another app by an app (project modules may import lazily): they hide cycles."""
    return [
        s for s in sites if s.level == "function" and s.src_node not in {s.dst_node, PROJECT} and s.dst_node != CORE
    ]


def where(site: Site) -> str:
    return f"{site.file}:{site.line}"


def what(site: Site) -> str:
    return f"{site.target} ({site.names})" if site.names else site.target


def report(sites: list[Site], allow_cycles: bool, as_json: bool) -> int:
    graph = build_graph(sites)
    cycles = app_cycles(graph)
    violations = layer_violations(graph)
    hidden = hidden_imports(sites)
    type_only = [s for s in sites if s.level == "type_checking" and s.dst_node != s.src_node]
    function_level = [s for s in sites if s.level == "function"]
    failed = bool(cycles or violations)
    if as_json:
        dump = {
            "edges": [
                {"from": src, "to": dst, "count": len(s), "sites": [asdict(x) for x in s]}
                for (src, dst), s in graph.items()
            ],
            "cycles": [
                {
                    "apps": c,
                    "edges": [
                        {"from": a, "to": b, "sites": [where(x) for x in s]}
                        for (a, b), s in graph.items()
                        if a in c and b in c
                    ],
                }
                for c in cycles
            ],
            "function_level_imports": len(function_level),
            "function_level_cross_app": [asdict(s) for s in hidden],
            "type_checking_only": [asdict(s) for s in type_only],
            "layer_violations": [asdict(s) for s in violations],
            "ok": not failed,
        }
        print(json.dumps(dump, indent=2))
        return 1 if failed and not allow_cycles else 0

    modules = {s.source for s in sites}
    print(f"app_imports: {len(sites)} hubbub imports in {len(modules)} modules that import hubbub\n")
    print("Graph (edge, imports, one example; module-level + function-level, TYPE_CHECKING left out):")
    for (src, dst), edge_sites in graph.items():
        inner = sum(s.level == "function" for s in edge_sites)
        note = f" ({inner} in functions)" if inner else ""
        print(f"  {src:>11} -> {dst:<11} {len(edge_sites):4}{note:18} {where(edge_sites[0])}")
    print(f"\nCycles between apps: {len(cycles)}")
    for component in cycles:
        print(f"  {{{', '.join(component)}}}")
        pairs = [(x, y) for (x, y) in graph if x < y and (y, x) in graph and {x, y} <= set(component)]
        for x, y in pairs:
            print(f"    two-way: {x} <-> {y} ({len(graph[(x, y)])} / {len(graph[(y, x)])} imports)")
        for (src, dst), edge_sites in graph.items():
            if src in component and dst in component:
                print(f"    {src} -> {dst} ({len(edge_sites)}):")
                for s in edge_sites:
                    extra = f" in {s.function}()" if s.function else ""
                    print(f"      {where(s)}  {s.level}{extra}: {s.source} -> {what(s)}")
    print(f"\nLayer violations: {len(violations)}")
    for s in violations:
        print(f"  {where(s)}  {s.source} ({s.src_node}) imports {what(s)} ({s.dst_node})")
    print(f"\nFunction-level imports: {len(function_level)} of hubbub modules, {len(hidden)} of another app:")
    for s in hidden:
        print(f"  {where(s)}  in {s.function}(): {s.src_node} -> {s.dst_node}: {what(s)}")
    print(f"\nTYPE_CHECKING-only imports of another app or layer (not edges): {len(type_only)}")
    for s in type_only:
        print(f"  {where(s)}  {s.src_node} -> {s.dst_node}: {what(s)}")
    verdict = "FAIL" if failed else "OK"
    print(f"\n{verdict}: {len(cycles)} cycle(s) between apps, {len(violations)} layer violation(s)")
    return 1 if failed and not allow_cycles else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("root", nargs="?", type=Path, default=DEFAULT_ROOT, help="the hubbub package directory")
    parser.add_argument("--json", action="store_true", help="print a machine-readable dump")
    parser.add_argument("--allow-cycles", action="store_true", help="report only; exit 0 even with cycles")
    args = parser.parse_args(argv)
    return report(scan(args.root.resolve()), args.allow_cycles, args.json)


if __name__ == "__main__":
    sys.exit(main())
