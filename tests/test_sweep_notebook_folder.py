"""notebooks/sweep.ipynb runs its sweep in the folder it names, whatever the name holds: a
comma in AEGAN_LOG_DIR made Hydra read hydra.sweep.dir as a sweep over two folders, and the
notebook stopped with "Sweeping over Hydra's configuration is not supported"."""

from __future__ import annotations

from pathlib import Path

import pytest
from notebook_client import notebook_client

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "sweep.ipynb"


@pytest.mark.slow
def test_a_log_folder_with_a_comma_holds_the_sweep(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[notebooks]'")
    pytest.importorskip("nbclient", reason="pip install -e '.[notebooks]'")
    pytest.importorskip("ipykernel", reason="pip install -e '.[notebooks]'")
    for name in ("SWEEP_DIR", "OBJECTIVE", "DEVICE"):
        monkeypatch.delenv(f"AEGAN_{name}", raising=False)
    logs = tmp_path / "logs a,b"
    monkeypatch.setenv("AEGAN_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("AEGAN_LOG_DIR", str(logs))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # parameters, set-up, the sweep and its table
    notebook.cells = [cell for cell in notebook.cells if cell.cell_type == "code"][:4]
    client = notebook_client(notebook, NOTEBOOK.parent, timeout=600)
    client.execute()  # raises CellExecutionError, with the cell and traceback, if any cell raises
    (sweep,) = (logs / "notebooks").iterdir()
    assert len(list(sweep.glob("*/.hydra/overrides.yaml"))) == 4
