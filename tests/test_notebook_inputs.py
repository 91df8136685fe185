"""A notebook given a run it cannot read (``AEGAN_RUN_DIR`` at nothing, at a sweep's
folder) stops in the first cell that reads it with the library's one line, not the frames
inside aegan that raised it."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
# each notebook's variable for the run it reads
RUN_VARIABLES = {"autoencoder": "AEGAN_RUN_DIR", "vae": "AEGAN_RUN_DIR", "gan": "AEGAN_RUN_DIR",
                 "hybrids": "AEGAN_AAE_RUN"}  # fmt: skip


def errors_of(name: str, environment: dict[str, str], monkeypatch) -> list[dict]:
    """Run notebooks/NAME.ipynb until a cell raises; the error outputs it left."""
    nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[notebooks]'")
    nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[notebooks]'")
    pytest.importorskip("ipykernel", reason="pip install -e '.[notebooks]'")
    for variable in ("AEGAN_RUN_DIR", "AEGAN_AAE_RUN", "AEGAN_BIGAN_RUN", "AEGAN_INFOGAN_RUN"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    notebook = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=120,
                                     resources={"metadata": {"path": str(NOTEBOOK_DIR)}})  # fmt: skip
    with pytest.raises(nbclient.exceptions.CellExecutionError):
        client.execute()
    return [output for cell in notebook.cells for output in cell.get("outputs", [])
            if output["output_type"] == "error"]  # fmt: skip


@pytest.mark.parametrize("name", sorted(RUN_VARIABLES))
def test_a_run_dir_at_nothing_is_one_line(name, tmp_path, monkeypatch):
    missing = tmp_path / "no-such-run"
    (error,) = errors_of(name, {RUN_VARIABLES[name]: str(missing)}, monkeypatch)
    assert error["ename"] == "CheckpointError"
    assert error["traceback"] == [
        f"CheckpointError: no checkpoint at {missing}: expected a .pt file, or a run dir "
        "holding checkpoints/last.pt"
    ]
