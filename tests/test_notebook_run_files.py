"""What the notebooks read back from a run's or a sweep's folder beyond its checkpoint (the
GAN notebook's TensorBoard events, the autoencoder and sweep notebooks' sweep tables) may
be damaged or strange: the cell that reads it says so in a line and goes on, or stops with
one line, never waiting on a FIFO or ending in the frames of an ``int()``.

Only the cells that read it run, after the parameters and imports, in a real kernel."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from notebook_client import notebook_client

from aegan.io.files import write_json
from aegan.logger import TensorBoardLogger

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
CELL_TIMEOUT_S = 120  # the imports take seconds; this stops a cell waiting on a FIFO


def run_cells(name: str, picks, monkeypatch, environment: dict[str, str]) -> list:
    """Run notebooks/NAME.ipynb's parameters and imports cells, then the code of each of
    ``picks`` (a predicate choosing a notebook cell, or source text to run as a cell) in
    order, on past one that raises; the cells, their outputs (errors too) on them."""
    nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[notebooks]'")
    nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[notebooks]'")
    pytest.importorskip("ipykernel", reason="pip install -e '.[notebooks]'")
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    notebook = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    cells = code[:2] + [
        nbformat.v4.new_code_cell(pick) if isinstance(pick, str)
        else next(cell for cell in code if pick(cell.source))
        for pick in picks
    ]  # fmt: skip
    notebook.cells = cells
    client = notebook_client(notebook, NOTEBOOK_DIR, timeout=CELL_TIMEOUT_S)
    with client.setup_kernel():
        for index, cell in enumerate(cells):
            # an error stays on the cell's outputs, and the cells after it run
            with contextlib.suppress(nbclient.exceptions.CellExecutionError):
                client.execute_cell(cell, index)
    return cells


def text_of(cell) -> str:
    return "".join(output.get("text", "") for output in cell.outputs)


def errors_of(cells) -> list[dict]:
    return [o for cell in cells for o in cell.outputs if o["output_type"] == "error"]


def test_the_gan_notebook_leaves_out_a_fifo_in_an_event_files_place(tmp_path, monkeypatch):
    """A FIFO named as an event file in the run's tb/: opened, it waits forever for a
    writer. The curves of the real event file beside it are drawn."""
    run_dir = tmp_path / "run"
    logger = TensorBoardLogger(run_dir / "tb")
    for step in range(1, 4):
        logger.scalars({"train/d_loss": 1.0 / step, "train/g_loss": float(step)}, step)
    logger.close()
    fifo = run_dir / "tb" / "events.out.tfevents.9999999999.host.1.0"  # read after the real one
    os.mkfifo(fifo)
    stub = (  # its own imports: the notebook's setup cell need not import pathlib
        "from pathlib import Path\nfrom types import SimpleNamespace\n"
        f"run = SimpleNamespace(path=Path({str(run_dir)!r}))"
    )
    try:
        cells = run_cells("gan", [stub, lambda source: 'run.path / "tb"' in source],
                          monkeypatch, {})  # fmt: skip
    finally:  # a writer at last, where a hung kernel still waits on it
        with contextlib.suppress(OSError):  # no reader waits: nothing to release
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert errors_of(cells) == []
    curves = cells[-1]
    assert f"{fifo}: a FIFO, not a regular file; left out of the run's TensorBoard" in text_of(
        curves
    )
    assert "train/d_loss" in text_of(curves)
    assert any("image/png" in output.get("data", {}) for output in curves.outputs)


def sweep_of(folder: Path, jobs: dict[str, list[str]]) -> Path:
    """A sweep's folder whose jobs finished with these overrides, each measured."""
    for job, overrides in jobs.items():
        (folder / job / ".hydra").mkdir(parents=True)
        (folder / job / ".hydra" / "overrides.yaml").write_text(
            "".join(f"- {override}\n" for override in overrides)
        )
        write_json(folder / job / "metrics.json", {"test/mse": 0.02 + int(job) / 1000})
    return folder


BAD_CODE_SIZES = {"1": ["model.latent_dim=eight"], "2": ["model.latent_dim=8.5"],
                  "3": ["model.optimizer.lr=0.001"], "4": ["model.latent_dim=0"]}  # fmt: skip
LEFT_OUT = [
    "left out {}: it has model.latent_dim='eight'; a code size is a positive integer",
    "left out {}: it has model.latent_dim=8.5; a code size is a positive integer",
    "left out {}: it sets no model.latent_dim; a code size is a positive integer",
    "left out {}: it has model.latent_dim=0; a code size is a positive integer",
]


def is_the_curve_cell(source: str) -> bool:
    return "CODE_SIZE_SWEEP" in source and "read_sweep(" in source


def test_a_sweep_job_of_no_code_size_is_left_out_in_a_line(tmp_path, monkeypatch):
    """Text, a fraction, no such override, zero: each job is named, the others' curve drawn
    (here up to the first job's checkpoint, which this sweep's folders lack)."""
    sweep = sweep_of(tmp_path / "sweep", {"0": ["model.latent_dim=8"], **BAD_CODE_SIZES})
    cells = run_cells("autoencoder", [is_the_curve_cell, "print(sorted(curve.items()))"],
                      monkeypatch, {"AEGAN_CODE_SIZE_SWEEP": str(sweep)})  # fmt: skip
    curve_cell, shown = cells[2:]
    lines = text_of(curve_cell).splitlines()
    assert lines == [line.format(sweep / job) for line, job in zip(LEFT_OUT, "1234", strict=True)]
    (error,) = errors_of(cells)
    assert error["ename"] == "CheckpointError" and str(sweep / "0") in error["evalue"]
    assert text_of(shown).strip() == "[(8, 0.02)]"


def test_a_sweep_of_no_code_size_is_one_line(tmp_path, monkeypatch):
    sweep = sweep_of(tmp_path / "sweep", BAD_CODE_SIZES)
    cells = run_cells("autoencoder", [is_the_curve_cell], monkeypatch,
                      {"AEGAN_CODE_SIZE_SWEEP": str(sweep)})  # fmt: skip
    (error,) = errors_of(cells)
    assert error["traceback"] == [
        f"ConfigError: AEGAN_CODE_SIZE_SWEEP={sweep} holds no finished job that sets "
        "model.latent_dim to a code size (a positive integer)"
    ]
    assert len(text_of(cells[-1]).splitlines()) == len(BAD_CODE_SIZES)


def test_the_sweep_notebook_names_an_objective_no_finished_job_has(tmp_path, monkeypatch):
    """A mistyped ``AEGAN_OBJECTIVE`` was a column of NaN: the table unsorted and "nothing to
    plot", as if no job had finished."""
    sweep = sweep_of(
        tmp_path / "sweep", {"0": ["model.latent_dim=8"], "1": ["model.latent_dim=16"]}
    )
    cells = run_cells("sweep", [lambda source: "read_sweep(SWEEP_DIR)" in source], monkeypatch,
                      {"AEGAN_SWEEP_DIR": str(sweep), "AEGAN_OBJECTIVE": "test/mes"})  # fmt: skip
    (error,) = errors_of(cells)
    assert error["traceback"] == [
        "ConfigError: AEGAN_OBJECTIVE='test/mes' is not allowed: no finished job has it; they "
        "have test/mse"
    ]


def test_the_sweep_notebook_ranks_a_higher_is_better_objective_highest_first(tmp_path, monkeypatch):
    """``AEGAN_OBJECTIVE=test/psnr`` was sorted lowest first and starred the worst job as the
    best; the notebook now ranks as ``aegan.summarize`` does."""
    sweep = sweep_of(
        tmp_path / "sweep", {str(n): [f"model.latent_dim={4 * 2**n}"] for n in range(3)}
    )
    for job, psnr in (("0", 18.0), ("1", 21.0), ("2", 19.5)):
        write_json(sweep / job / "metrics.json", {"test/mse": 0.02, "test/psnr": psnr})
    cells = run_cells(
        "sweep",
        [
            lambda source: "read_sweep(SWEEP_DIR)" in source,
            "print(list(_.job))",  # the table as shown, best first
            lambda source: "best = done_jobs.loc" in source,
            "print(best['job'])",
        ],
        monkeypatch,
        {"AEGAN_SWEEP_DIR": str(sweep), "AEGAN_OBJECTIVE": "test/psnr"},
    )
    assert errors_of(cells) == []
    assert text_of(cells[3]).strip() == "['1', '2', '0']"
    assert text_of(cells[5]).strip() == "1"
