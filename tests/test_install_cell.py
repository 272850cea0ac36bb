"""The notebooks' first cell, which installs ktnb on a fresh Colab or Binder runtime: the same in
every notebook, and where it cannot install, one line saying what to set, never pip's traceback.
It runs here in a plain Python process in which ktnb is hidden (so nothing is installed over the
checkout)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
HIDE_KTNB = ("import importlib.util as _u\n_find = _u.find_spec\n"
             "_u.find_spec = lambda name, *a, **k: None if name == 'ktnb' else _find(name, *a, **k)\n")
# the cell run as a notebook runs it: in an IPython shell, which shows an error as the notebook would
IN_IPYTHON = ("import sys\nfrom IPython.core.interactiveshell import InteractiveShell\n"
              "shell = InteractiveShell.instance()\nshell.run_cell(open(sys.argv[1]).read())\n")


def install_cell(path: Path) -> str:
    return next(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")


def run_cell(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    (tmp_path / "cell.py").write_text(HIDE_KTNB + install_cell(NOTEBOOKS[0]))
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env}
    return subprocess.run([sys.executable, "-c", IN_IPYTHON, str(tmp_path / "cell.py")], cwd=tmp_path,
                          env=environment, capture_output=True, text=True, timeout=120)


def test_every_notebook_starts_with_the_same_install_cell():
    cells = {path.name: install_cell(path) for path in NOTEBOOKS}
    assert len(set(cells.values())) == 1, "the notebooks' install cells differ"
    assert "KTNB_SOURCE" in cells[NOTEBOOKS[0].name] and "torch" in cells[NOTEBOOKS[0].name]


def test_with_nowhere_to_install_from_it_says_what_to_set(tmp_path):
    shown = run_cell(tmp_path).stdout.strip()
    assert shown == (f"ktnb is not installed here: upload a ktnb wheel to {tmp_path}, or run "
                     "%env KTNB_SOURCE=<a folder, wheel or git URL of ktnb>, then run this cell again")


def test_a_wrong_source_is_pips_one_error_line_without_a_traceback(tmp_path):
    shown = run_cell(tmp_path, KTNB_SOURCE=str(tmp_path / "no-such-ktnb"), PIP_NO_INDEX="1").stdout.strip()
    assert len(shown.splitlines()) == 1, shown
    assert shown.startswith("pip could not install ktnb @ file://") and "no-such-ktnb" in shown and "ERROR:" in shown


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_teacher_sees_how_to_make_each_notebook_short(path):
    sources = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    assert any(line.strip() == "SMALL = False" for source in sources for line in source.splitlines()), path.name
