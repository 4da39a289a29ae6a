"""Imports go only downward: testing front -> bindings -> transport/engine -> clock -> errors."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "qless_sim"

# Lower numbers are lower layers; a module may import its own layer or lower ones.
LAYERS = {
    "errors": 0,
    "clock": 1,
    "core": 2,
    "bindings": 3,
    "worker": 4,
    "faults": 4,
    "hypothesis": 5,
    "pytest_plugin": 5,
    "_plugin_options": 5,
    "_plugin_backend": 5,
}


def layer_of(module: str) -> str:
    """Return the layer name of a dotted module path inside qless_sim."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imported_modules(path: Path, text: str | None = None) -> list[tuple[int, str]]:
    """Return (line, absolute module) for every qless_sim import in `path` (or in `text`)."""
    package_parts = list(path.relative_to(PACKAGE.parent).parts[:-1])
    source = path.read_text() if text is None else text
    found = []
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
                names = [module] if node.module else [f"{module}.{a.name}" for a in node.names]
            else:
                names = [node.module or ""]
            found.extend((node.lineno, name) for name in names if name.startswith("qless_sim"))
        elif isinstance(node, ast.Import):
            found.extend(
                (node.lineno, alias.name)
                for alias in node.names
                if alias.name.startswith("qless_sim")
            )
    return found


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_go_down(path: Path) -> None:
    own_layer = layer_of(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
    assert own_layer in LAYERS, f"{path} is in no known layer; add it to LAYERS"
    for line, module in imported_modules(path):
        target = layer_of(module)
        assert target in LAYERS, f"{path}:{line} imports {module}, which is in no known layer"
        assert LAYERS[target] <= LAYERS[own_layer], (
            f"{path.relative_to(PACKAGE)}:{line} imports {module}: layer {target!r} sits above "
            f"{own_layer!r}"
        )


def test_layer_check_sees_upward_import() -> None:
    # The checker itself must resolve a relative import from the engine upward.
    path = PACKAGE / "core" / "_server.py"
    found = imported_modules(path, "from ..bindings import Client\n")
    assert found == [(1, "qless_sim.bindings")]
