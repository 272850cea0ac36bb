"""Every notebook runs top to bottom (small-data switch on) with no error output, and the
committed notebooks carry no outputs. Those that read the named sets run a second time as on a
fresh Colab runtime: in a new virtual environment where ktnb is not installed (the first cell
installs it from a wheel beside the notebook), with no local data, and the hub answering from
local `datasets.Dataset` objects in its own formats (tests/scripts/fake_hub.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
#: between them they read every named set from the hub: sst2; stsb, conll2003, go_emotions; squad
FROM_THE_HUB = ["01_quickstart", "05_tasks", "06_question_answering"]
pytestmark = pytest.mark.slow


def test_there_are_nine_notebooks():
    assert [nb.name for nb in NOTEBOOKS] == ["00_your_data.ipynb", "01_quickstart.ipynb", "02_panel.ipynb", "03_python_api.ipynb",
                                             "04_inside_the_transformer.ipynb", "05_tasks.ipynb",
                                             "06_question_answering.ipynb", "07_generation.ipynb",
                                             "08_translation.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebooks_have_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip outputs"


def execute(path: Path, folder: Path, kernel_name: str = "python3") -> nbformat.NotebookNode:
    """The notebook run top to bottom in `folder`, checked for errors; the run copy is left there."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name=kernel_name, resources={"metadata": {"path": str(folder)}})
    client.execute()  # raises CellExecutionError on the first failing cell
    problems = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "error" or (out.output_type == "stream" and "Traceback" in out.get("text", "")):
                problems.append(out)
    assert not problems
    nbformat.write(nb, folder / path.name)  # the executed copy, for a look when something is off
    return nb


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_without_errors(path, sst2_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("KTNB_SMALL", "1")
    monkeypatch.setenv("KTNB_DATA_DIR", str(sst2_dir.parent))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    nb = execute(path, tmp_path)
    kinds = [kind for cell in nb.cells for out in cell.get("outputs", []) for kind in out.get("data", {})]
    # the panel notebook shows a widget; the others show figures
    expected = "application/vnd.jupyter.widget-view+json" if "panel" in path.name else "image/png"
    assert expected in kinds


@pytest.fixture(scope="module")
def fresh_runtime(tmp_path_factory, sst2_dir):
    """A kernel in a new virtual environment without ktnb (as on a fresh Colab runtime), a
    ktnb wheel in the notebooks' working folder, and the fake hub. The packages ktnb needs are
    links to this checkout's .venv (an offline machine cannot download torch), all
    but ktnb itself, so that what the notebook imports is what its first cell installs."""
    root = tmp_path_factory.mktemp("fresh-runtime")
    work = root / "work"
    work.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(work),
                    str(REPO)], check=True, capture_output=True)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    ours = Path(next(p for p in sys.path if p.endswith("site-packages") and Path(p, "torch").is_dir()))
    # linked into site-packages itself, not added by a .pth line: `datasets` hashes with dill, which
    # pickles by value (and fails on pyarrow's types) a module it finds outside the site folders
    for entry in ours.iterdir():
        if not (entry.name.startswith(("ktnb", "__editable__", "_ktnb")) or entry.suffix == ".pth"):
            (site / entry.name).symlink_to(entry)
    (site / "fake_hub.py").write_text((REPO / "tests" / "scripts" / "fake_hub.py").read_text())
    (site / "zz_fake_hub.pth").write_text("import fake_hub\n")
    python = venv / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import importlib.util as u; print(u.find_spec('ktnb') is None)"],
                           capture_output=True, text=True, cwd=root)
    assert probe.stdout.strip() == "True", probe.stderr  # ktnb is not there until a notebook installs it
    kernels = root / "jupyter" / "kernels" / "fresh"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fresh runtime", "language": "python"}))
    return {"work": work, "jupyter": root / "jupyter", "python": python, "data": sst2_dir.parent}


@pytest.mark.parametrize("name", FROM_THE_HUB)
def test_notebook_runs_on_a_fresh_runtime_from_a_wheel_and_the_hub(name, fresh_runtime, monkeypatch):
    for key in ("KTNB_DATA_DIR", "KTNB_SOURCE", "PYTHONPATH"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("KTNB_SMALL", "1")
    monkeypatch.setenv("HOME", str(fresh_runtime["work"]))  # no ~/.cache/ktnb copy of the data either
    monkeypatch.setenv("JUPYTER_PATH", str(fresh_runtime["jupyter"]))
    monkeypatch.setenv("KTNB_FAKE_HUB_DATA", str(fresh_runtime["data"]))
    log = fresh_runtime["work"] / f"{name}-hub.log"
    monkeypatch.setenv("KTNB_FAKE_HUB_LOG", str(log))
    nb = execute(REPO / "notebooks" / f"{name}.ipynb", fresh_runtime["work"], kernel_name="fresh")
    assert "image/png" in [kind for cell in nb.cells for out in cell.get("outputs", []) for kind in out.get("data", {})]
    where = subprocess.run([str(fresh_runtime["python"]), "-c", "import ktnb; print(ktnb.__file__)"],
                           capture_output=True, text=True, cwd=fresh_runtime["work"], env={**os.environ})
    assert where.stdout.startswith(str(fresh_runtime["python"].parents[1])), where.stdout + where.stderr
    asked = set(log.read_text().splitlines())
    assert asked == HUB_SETS[name]


HUB_SETS = {"01_quickstart": {"SetFit/sst2 None"},
            "05_tasks": {"nyu-mll/glue stsb", "eriktks/conll2003 None", "google-research-datasets/go_emotions simplified"},
            "06_question_answering": {"rajpurkar/squad None"}}
