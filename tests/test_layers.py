"""The house rules, read from the code's imports: layers import only downwards, and nothing imports in a circle.

The layer order is the one docs/architecture.md draws. Every import counts, also those inside
functions (a lazy import still ties the two modules) and those for type checking only.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "fate_flow"

# top to bottom; a module may import modules of its own layer and of the layers below
LAYERS = [
    ("entry points", ["server.py", "wsgi.py", "fate_flow_client.py", "demo.py"]),
    ("flask app", ["app.py"]),
    ("routes", ["apps/", "dashboard/"]),
    ("composition root", ["root.py"]),
    ("use-cases", ["services/", "serving/"]),
    ("driver", ["driver/"]),
    ("stores", ["stores/"]),
    ("party plumbing", ["party/"]),
    ("components", ["components/"]),
    ("engines", ["computing/", "federation/", "storage/", "model_storage/", "secureprotol/"]),
    ("foundations", ["db/", "utils/", "errors.py", "settings.py", "__init__.py"]),
]

# module -> modules it may import in a circle, with the reason (none today)
ALLOWED_CYCLES: dict[frozenset, str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def layer_of(module: str) -> int:
    relative = MODULES[module].relative_to(PACKAGE).as_posix()
    for index, (_, places) in enumerate(LAYERS):
        if any(relative == place or (place.endswith("/") and relative.startswith(place)) for place in places):
            return index
    raise AssertionError(f"{relative} is in no layer: add it to LAYERS (and to docs/architecture.md)")


def imported_modules(module: str) -> set[str]:
    """The fate_flow modules ``module`` imports, anywhere in its body."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module and name.startswith("fate_flow"):
                found.add(name)
    return found


GRAPH = {module: imported_modules(module) for module in MODULES}


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_down_the_layers(module):
    upward = [f"{target} ({LAYERS[layer_of(target)][0]})" for target in sorted(GRAPH[module])
              if layer_of(target) < layer_of(module)]
    assert not upward, f"{module} ({LAYERS[layer_of(module)][0]}) imports a higher layer: {', '.join(upward)}"


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's components of the import graph, iteratively (no recursion limit)."""
    index, low, on_stack, stack, result, counter = {}, {}, set(), [], [], [0]
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    result.append(component)
            elif child not in index:
                index[child] = low[child] = counter[0]
                counter[0] += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return result


def test_no_import_circles():
    circles = [sorted(c) for c in strongly_connected(GRAPH) if len(c) > 1 and frozenset(c) not in ALLOWED_CYCLES]
    assert not circles, f"modules that import each other in a circle: {circles}"


def test_the_checker_sees_lazy_and_relative_imports(tmp_path):
    """The checker itself: an import inside a function counts as much as one at the top."""
    assert "fate_flow.root" in GRAPH["fate_flow.server"]  # imported inside functions only
    assert layer_of("fate_flow.apps._services") < layer_of("fate_flow.root") < layer_of("fate_flow.driver.scheduler")
