"""A notebook given a wrong parameter (``AEGAN_NOTEBOOK_QUICK=maybe``, ``AEGAN_DEVICE=tpu``,
a folder in the home of no user, a file where a folder goes) stops in its setup cell with one
line naming the variable, where it trained at full size, failed later naming trainer.device,
or ended in pathlib's frames. Only the parameters and setup cells run, in a real kernel."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from notebook_client import notebook_client

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = ("autoencoder", "gan", "hybrids", "sweep", "vae")


def setup_cells(name: str, environment: dict[str, str], monkeypatch) -> list:
    """Run notebooks/NAME.ipynb's first two code cells (parameters, setup) with only
    ``environment`` of aegan's variables set; the two cells, their outputs on them."""
    nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[notebooks]'")
    nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[notebooks]'")
    pytest.importorskip("ipykernel", reason="pip install -e '.[notebooks]'")
    for variable in [v for v in os.environ if v.startswith("AEGAN_")]:
        monkeypatch.delenv(variable)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    notebook = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    notebook.cells = [cell for cell in notebook.cells if cell.cell_type == "code"][:2]
    client = notebook_client(notebook, NOTEBOOK_DIR, timeout=120)
    with contextlib.suppress(nbclient.exceptions.CellExecutionError):
        client.execute()  # an error stays on its cell's outputs
    return notebook.cells


def the_error(cells) -> list[str]:
    """The traceback of the one error, raised in the setup cell."""
    assert not [o for o in cells[0].outputs if o["output_type"] == "error"]
    (error,) = [o for o in cells[1].outputs if o["output_type"] == "error"]
    assert error["ename"] == "ConfigError"
    return error["traceback"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_a_quick_switch_of_no_known_word_is_one_line(name, monkeypatch):
    cells = setup_cells(name, {"AEGAN_NOTEBOOK_QUICK": "maybe"}, monkeypatch)
    assert the_error(cells) == [
        "ConfigError: AEGAN_NOTEBOOK_QUICK='maybe' is not allowed: it must be 1 or 0, true or "
        "false, yes or no"
    ]


def test_yes_is_quick(tmp_path, monkeypatch):
    """``true`` and ``yes`` silently meant a full-size run; only ``1`` was on."""
    environment = {"AEGAN_NOTEBOOK_QUICK": "Yes", "AEGAN_LOG_DIR": str(tmp_path)}
    cells = setup_cells("autoencoder", environment, monkeypatch)
    shown = "".join(output.get("text", "") for output in cells[1].outputs)
    assert shown.endswith("quick: True\n")


def test_a_device_the_trainer_refuses_is_one_line(monkeypatch):
    cells = setup_cells("gan", {"AEGAN_DEVICE": "tpu"}, monkeypatch)
    assert the_error(cells) == [
        "ConfigError: AEGAN_DEVICE='tpu' is not allowed; choose one of: auto, cpu, cuda, cuda:N"
    ]


def test_a_log_dir_in_no_users_home_is_one_line(monkeypatch):
    cells = setup_cells("vae", {"AEGAN_LOG_DIR": "~no-such-user-aegan/x"}, monkeypatch)
    assert the_error(cells) == [
        "ConfigError: AEGAN_LOG_DIR='~no-such-user-aegan/x' is not allowed: ~no-such-user-aegan "
        "names no home folder here"
    ]


@pytest.mark.parametrize(("name", "variable"), [("sweep", "AEGAN_DATA_DIR"),
                                                ("hybrids", "AEGAN_CACHE_DIR")])  # fmt: skip
def test_a_file_where_a_folder_goes_is_one_line(name, variable, tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    cells = setup_cells(name, {variable: str(tmp_path / "file")}, monkeypatch)
    assert the_error(cells) == [
        f"ConfigError: {variable}={tmp_path / 'file'} is not allowed: it is a file, not a folder"
    ]


@pytest.mark.parametrize("value", ["", "mse", "test/mse\n", "val/" + "x" * 5000])
def test_an_objective_of_no_figure_shape_is_one_line_before_the_sweep(value, monkeypatch):
    """It was read only once the sweep had trained: minutes later, or (empty, a newline)
    a column of NaN with nothing to plot."""
    cells = setup_cells("sweep", {"AEGAN_OBJECTIVE": value}, monkeypatch)
    assert the_error(cells) == [
        f"ConfigError: AEGAN_OBJECTIVE={value!r:.80} is not allowed: it must be a figure's "
        "name in metrics.json, such as val/best_objective or test/mse"
    ]
