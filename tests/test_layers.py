"""The engine's layers hold, read from the source: render/ draws from plain values and imports
nothing above it (not even for type hints); the predictor needs no learner; events know no
learner; tasks know no learner, magics or panel."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ktnb"


def _without_type_checking(tree: ast.AST) -> ast.AST:
    """`tree` with its ``if TYPE_CHECKING:`` blocks (imports for type hints, never run) taken out."""
    for node in ast.walk(tree):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list):
                setattr(node, field, [child for child in block if not (
                    isinstance(child, ast.If) and isinstance(child.test, ast.Name) and child.test.id == "TYPE_CHECKING")])
    return tree


def ktnb_imports(path: Path, runtime_only: bool = False) -> set[str]:
    """The ktnb modules a file imports anywhere (top level, in functions, under TYPE_CHECKING unless
    `runtime_only`), as dotted names."""
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    found = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(_without_type_checking(tree) if runtime_only else tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                found.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module and node.module.startswith("ktnb"):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("ktnb"))
    return found


@pytest.mark.parametrize("path", sorted((PACKAGE / "render").glob("*.py")), ids=lambda p: p.name)
def test_render_imports_nothing_above_it(path):
    above = {name for name in ktnb_imports(path) if not name.startswith("ktnb.render")}
    assert not above, f"{path.name} imports {above}"


@pytest.mark.parametrize("module, forbidden", [
    ("predictor.py", "ktnb.learner"), ("events.py", "ktnb.learner"), ("inference.py", "ktnb.learner"),
    ("tasks/base.py", "ktnb.learner"), ("tasks/classification.py", "ktnb.learner"),
    ("tasks/regression.py", "ktnb.learner"),
])
def test_lower_layers_do_not_import_the_learner(module, forbidden):
    assert forbidden not in ktnb_imports(PACKAGE / module)


# ktnb/__init__.py is the extension's entry point: %load_ext calls into the notebook layer from there
@pytest.mark.parametrize("path", [p for p in sorted(PACKAGE.rglob("*.py"))
                                  if "jupyter" not in p.parts and p != PACKAGE / "__init__.py"],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_engine_imports_no_notebook_layer(path):
    source = path.read_text()
    assert "IPython" not in ktnb_imports(path) and "import ipywidgets" not in source and \
        "from IPython" not in source and not any(n.startswith("ktnb.jupyter") for n in ktnb_imports(path))



def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_the_engine_has_no_import_circles():
    """Every module's imports (at the top or in a function, not those for type hints) point one way:
    following them never comes back to where it started. A task module is found by the registry
    by name (`importlib`), so readers may ask the registry for a task that reads with them."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    imports = {name: {m for m in ktnb_imports(path, runtime_only=True) if m in modules and m != name}
               for name, path in modules.items() if name != "ktnb"}  # the package's lazy names are no layer
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            raise AssertionError("import circle: " + " -> ".join(trail[trail.index(name):] + [name]))
        if name in done:
            return
        for other in sorted(imports.get(name, ())):
            visit(other, trail + [name])
        done.add(name)

    for name in sorted(imports):
        visit(name, [])
