"""The package layout is the architecture: each layer imports only the layers below it.

    models          contract names, request, Azure refs, status (imports nothing of ours)
    payload_codec   the payload codec and its server
    config          settings, Temporal profile, logging and redaction
    activities      Azure calls      workflows   deterministic orchestration
    client          the Temporal client library (start, update, query, list, connect)
    customer_page   the customer's self-service page, a client of Temporal like the CLI
    harness         local stack and fleet, for the demo, tests and bench
    cli             the starter's commands
    entry points    worker.py, starter.py, bench/

The emulator stands apart: it imports nothing of the service, and the service's code imports it
only from the harness and the demo (`cli/demo.py` seeds it), never from the product layers.

Inside workflows/, activities are scheduled in one place, `workflows/steps.py`, through typed
method references and the named call profiles of `workflows/options.py`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What each top-level package (or entry-point script) may import from this repository.
ALLOWED: dict[str, set[str]] = {
    "models": set(),
    "payload_codec": set(),
    "config": {"models", "payload_codec"},
    "activities": {"models", "config"},
    "workflows": {"models", "activities"},
    "client": {"models", "config", "payload_codec"},
    "harness": {
        "models",
        "config",
        "payload_codec",
        "client",
        "emulator",
        "activities",
        "workflows",
        "customer_page",
    },
    # activities: `doctor` runs activities/preflight.py with the worker's Azure clients.
    "cli": {
        "models",
        "config",
        "payload_codec",
        "client",
        "harness",
        "emulator",
        "activities",
        "customer_page",
    },
    "customer_page": {"models", "config", "payload_codec", "client"},
    "emulator": set(),
    # The worker signs the customer page links its notifications carry.
    "worker": {
        "models",
        "config",
        "payload_codec",
        "client",
        "activities",
        "workflows",
        "customer_page",
    },
    "starter": {"cli"},
    "bench": {
        "models",
        "config",
        "payload_codec",
        "client",
        "harness",
        "emulator",
        "activities",
        "workflows",
    },
}
OURS = set(ALLOWED) | {"tests"}
# Modules that are processes of their own sit above their package's layer: the codec server reads
# its settings (config) like the worker does, while config needs the codec itself.
ENTRY_POINT_MODULES: dict[str, set[str]] = {
    "payload_codec/server.py": {"models", "config"},
}


def _layer_of(path: Path) -> str:
    relative = path.relative_to(ROOT)
    return relative.parts[0].removesuffix(".py")


def _imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


def _sources() -> list[Path]:
    files = [ROOT / f"{name}.py" for name in ALLOWED if (ROOT / f"{name}.py").exists()]
    for name in ALLOWED:
        if (ROOT / name).is_dir():
            files += sorted((ROOT / name).rglob("*.py"))
    return files


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_only_lower_layers(path: Path) -> None:
    """A module imports only its own package and the layers its package may depend on."""
    layer = _layer_of(path)
    allowed = ALLOWED[layer] | ENTRY_POINT_MODULES.get(str(path.relative_to(ROOT)), set())
    upward = _imported_top_levels(path) - allowed - {layer}
    assert not upward, f"{path.relative_to(ROOT)} imports {sorted(upward)} (layer '{layer}')"


def test_the_layer_graph_has_no_cycles() -> None:
    """The allowed dependencies themselves form no cycle, so no import cycle between layers."""
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(layer: str, trail: tuple[str, ...]) -> None:
        assert layer not in visiting, f"cycle: {' -> '.join((*trail, layer))}"
        if layer in done:
            return
        visiting.add(layer)
        for lower in ALLOWED.get(layer, set()):
            visit(lower, (*trail, layer))
        visiting.discard(layer)
        done.add(layer)

    for layer in ALLOWED:
        visit(layer, ())


def test_the_root_holds_only_entry_points() -> None:
    """Loose modules at the root are entry points only; everything else lives in a package."""
    loose = {p.name for p in ROOT.glob("*.py")}
    assert loose == {"worker.py", "starter.py"}, loose


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_imports(path: Path, known: set[str]) -> set[str]:
    """Modules of ours imported at module level (not inside functions or TYPE_CHECKING)."""
    found: set[str] = set()
    body = list(ast.parse(path.read_text()).body)
    while body:
        node = body.pop()
        if isinstance(node, ast.With):  # e.g. workflow.unsafe.imports_passed_through()
            body += node.body
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from pkg import submodule` needs the submodule, not the rest of pkg/__init__.
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & known
            found |= submodules or ({node.module} & known)
    return found


def test_no_import_cycles_between_modules() -> None:
    """No module imports, directly or through others, a module that imports it back."""
    paths = {_module_name(p): p for p in _sources()}
    graph = {name: _module_imports(path, set(paths)) - {name} for name, path in paths.items()}
    state: dict[str, str] = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        assert state.get(name) != "open", f"import cycle: {' -> '.join((*trail, name))}"
        if name in state:
            return
        state[name] = "open"
        for imported in graph[name]:
            visit(imported, (*trail, name))
        state[name] = "done"

    for name in graph:
        visit(name, ())


def test_activities_are_scheduled_only_through_the_steps_runner() -> None:
    """One runner applies a call profile's timeouts, retries, heartbeat, cancellation and queue;
    a call scheduled elsewhere would pick its own, or name its activity by a string."""
    scheduling = {
        "execute_activity",
        "execute_activity_method",
        "start_activity",
        "start_activity_method",
        "execute_local_activity",
        "execute_local_activity_method",
        "start_local_activity",
        "start_local_activity_method",
    }
    offenders = []
    for path in sorted((ROOT / "workflows").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in scheduling:
                offenders.append(f"{path.name}:{node.lineno} {node.attr}")
    assert [o for o in offenders if not o.startswith("steps.py:")] == []
    assert {o.split()[1] for o in offenders} == {"execute_activity_method"}
