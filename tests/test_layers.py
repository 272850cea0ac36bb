"""The engine's layers hold, read from the source: render/ draws from plain values and imports
nothing above it (not even for type hints); the predictor needs no learner; events know no
learner; tasks know no learner, magics or panel."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ktnb"


def ktnb_imports(path: Path) -> set[str]:
    """The ktnb modules a file imports anywhere (top level, in functions, under TYPE_CHECKING), as dotted names."""
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
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
