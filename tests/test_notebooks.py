"""The notebooks in notebooks/ run top to bottom in a real Jupyter kernel (this venv's python),
in quick mode, from notebooks/ as a person would open them, with their runs in a tmp folder;
and they are committed without outputs, with one cell tagged ``parameters``."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
from notebook_client import notebook_client

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 300  # quick mode takes seconds per cell; this only stops a hung kernel
# image/png outputs each notebook makes at least (one per figure)
MIN_FIGURES = {"autoencoder": 5, "gan": 4, "sweep": 1}


def _ids(path: Path) -> str:
    return path.stem


def test_the_notebooks_are_there():
    assert {path.stem for path in NOTEBOOKS} >= set(MIN_FIGURES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_committed_notebook_has_no_outputs_and_one_parameters_cell(path):
    notebook = json.loads(path.read_text())
    code_cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    for number, cell in enumerate(code_cells):
        assert cell["outputs"] == [], f"code cell {number} of {path.name} has outputs: clear them"
        assert cell["execution_count"] is None, f"code cell {number} of {path.name} was run"
    tagged = [cell for cell in code_cells if "parameters" in cell["metadata"].get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is code_cells[0]
    assert "os.environ" in "".join(tagged[0]["source"])
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_every_variable_the_parameters_cell_reads_is_in_the_notebooks_table(path):
    """AEGAN_DATA_DIR was read by every notebook and listed in none of their tables."""
    cells = json.loads(path.read_text())["cells"]
    parameters = next(cell for cell in cells if cell["cell_type"] == "code")
    read = set(re.findall(r"AEGAN_[A-Z][A-Z_]*", "".join(parameters["source"])))
    listed = set(re.findall(r"`(AEGAN_[A-Z_]+)`", "".join(cells[0]["source"])))
    assert read - listed == set(), f"{path.name}'s first cell does not list them"


@pytest.fixture(scope="session")
def classifier_cache(tmp_path_factory) -> Path:
    """One domain-classifier cache for the notebooks of this pytest run, its workers too: the
    GAN and hybrids notebooks measure the same quick-mode images, so one trains the classifier
    and the other loads it (the file's name is its recipe's hash; it is written atomically,
    so a worker finds it whole or not at all, and two that race each train their own)."""
    run_folder = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        run_folder = run_folder.parent  # each worker's basetemp lies in the run's own
    return run_folder / "classifier-cache"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_runs_in_quick_mode(path, tmp_path, monkeypatch, classifier_cache):
    nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[notebooks]'")
    pytest.importorskip("nbclient", reason="pip install -e '.[notebooks]'")
    pytest.importorskip("ipykernel", reason="pip install -e '.[notebooks]'")

    # the kernel inherits this environment: quick sizes and runs in tmp_path
    for name in ("RUN_DIR", "SWEEP_DIR", "CODE_SIZE_SWEEP", "OBJECTIVE", "DEVICE"):
        monkeypatch.delenv(f"AEGAN_{name}", raising=False)
    monkeypatch.setenv("AEGAN_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("AEGAN_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("AEGAN_CACHE_DIR", str(classifier_cache))

    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable)"))
    client = notebook_client(notebook, NOTEBOOK_DIR, timeout=CELL_TIMEOUT_S)
    client.execute()  # raises CellExecutionError, with the cell and traceback, if any cell raises

    kernel_python = notebook.cells[-1].outputs[0]["text"].strip()
    assert kernel_python == sys.executable  # the venv's interpreter, not some global kernel

    figures = sum(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        for output in cell.get("outputs", [])
    )
    assert figures >= MIN_FIGURES.get(path.stem, 1)
    printed = [line for cell in notebook.cells for output in cell.get("outputs", [])
               if output.get("name") == "stdout" for line in output["text"].splitlines()]  # fmt: skip
    assert "{}" not in printed  # figures of a run evaluated at no end, printed as nothing
    # the runs the notebook trained went to AEGAN_LOG_DIR
    assert list((tmp_path / "logs").rglob("metrics.json"))
