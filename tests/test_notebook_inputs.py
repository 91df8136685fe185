"""A notebook given a run it cannot read (``AEGAN_RUN_DIR`` at nothing, at a sweep's
folder, at a run with no checkpoint yet) stops in the first cell that reads it with the
library's one line saying what the folder is, not the frames inside aegan that raised it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from notebook_client import notebook_client

import aegan
from aegan.errors import CheckpointError
from aegan.train import train
from conftest import TINY_AE, TINY_GAN, compose_config

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
    client = notebook_client(notebook, NOTEBOOK_DIR, timeout=120)
    with pytest.raises(nbclient.exceptions.CellExecutionError):
        client.execute()
    return [output for cell in notebook.cells for output in cell.get("outputs", [])
            if output["output_type"] == "error"]  # fmt: skip


def cells_until(nbformat, name: str, text: str):
    """Run notebooks/NAME.ipynb up to its first cell holding ``text``, which must not raise:
    (the notebook with its outputs, that cell's index)."""
    notebook = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    last = next(i for i, cell in enumerate(notebook.cells) if text in cell.source)
    client = notebook_client(notebook, NOTEBOOK_DIR, timeout=120)
    with client.setup_kernel():
        for index in range(last + 1):
            client.execute_cell(notebook.cells[index], index)
    return notebook, last


@pytest.mark.parametrize("name", sorted(RUN_VARIABLES))
def test_a_run_dir_at_nothing_is_one_line(name, tmp_path, monkeypatch):
    missing = tmp_path / "no-such-run"
    (error,) = errors_of(name, {RUN_VARIABLES[name]: str(missing)}, monkeypatch)
    assert error["ename"] == "CheckpointError"
    assert error["traceback"] == [
        f"CheckpointError: no checkpoint at {missing}: expected a .pt file, or a run dir "
        "holding checkpoints/last.pt; it does not exist"
    ]


@pytest.mark.parametrize("name", sorted(RUN_VARIABLES))
def test_a_relative_run_dir_is_taken_from_the_checkout(name, monkeypatch):
    """The README's ``AEGAN_RUN_DIR=logs/train/runs/DATE_TIME jupyter-lab notebooks/``: the
    kernel starts in notebooks/, where logs/... is not."""
    relative = "logs/no-such-run-for-the-test"
    (error,) = errors_of(name, {RUN_VARIABLES[name]: relative}, monkeypatch)
    assert error["traceback"][0].startswith(
        f"CheckpointError: no checkpoint at {NOTEBOOK_DIR.parent / relative}: "
    )


def test_a_sweep_folder_names_its_jobs(tmp_path, monkeypatch):
    """A sweep's folder given for a run: the line names the runs it holds."""
    sweep = tmp_path / "multirun"
    for job in ("0", "1", "2"):
        (sweep / job / "checkpoints").mkdir(parents=True)
        (sweep / job / "checkpoints" / "last.pt").write_bytes(b"")
    (sweep / "multirun.yaml").write_text("{}\n")
    (error,) = errors_of("autoencoder", {"AEGAN_RUN_DIR": str(sweep)}, monkeypatch)
    assert error["traceback"] == [
        f"CheckpointError: no checkpoint at {sweep}: expected a .pt file, or a run dir holding "
        f"checkpoints/last.pt; it is a sweep's folder: name one of its runs ({sweep / '0'}, "
        f"{sweep / '1'} and 1 more)"
    ]


def test_a_run_with_no_checkpoint_yet_says_so(tmp_path):
    """A run in its first epoch (or stopped before one ended) holds its record only."""
    run = tmp_path / "run"
    (run / ".hydra").mkdir(parents=True)
    with pytest.raises(CheckpointError, match="its run has saved no checkpoint yet"):
        aegan.load_run(run)


def test_the_vae_notebook_reads_a_run_still_in_its_first_epoch(tmp_path, monkeypatch):
    """A run training (or stopped) before its first validation: the notebook shows what it
    has, where reading its last validation raised IndexError."""
    nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[notebooks]'")
    pytest.importorskip("nbclient", reason="pip install -e '.[notebooks]'")
    pytest.importorskip("ipykernel", reason="pip install -e '.[notebooks]'")
    run = tmp_path / "run"
    train(compose_config([*TINY_AE, "model=vae", "data.subset=256", "data.val_size=100",
                          "trainer.checkpoint_every_steps=2"], run))  # fmt: skip
    shutil.copyfile(run / "checkpoints" / "step-00000002.pt", run / "checkpoints" / "last.pt")
    monkeypatch.setenv("AEGAN_RUN_DIR", str(run))
    monkeypatch.setenv("AEGAN_NOTEBOOK_QUICK", "1")
    notebook, reading = cells_until(nbformat, "vae", "load_run(")
    shown = "".join(o.get("text", "") for o in notebook.cells[reading].outputs)
    assert "epoch 0, step 2" in shown and "{}" in shown


@pytest.mark.parametrize("variable", ["AEGAN_AAE_RUN", "AEGAN_INFOGAN_RUN"])
def test_a_hybrid_run_of_another_model_is_one_line_before_any_training(
    variable, trained_ae_run, tmp_path, monkeypatch
):
    """An autoencoder's run given for the AAE: the BiGAN and InfoGAN were trained first, then
    AttributeError: 'AutoencoderTask' object has no attribute 'posterior_codes'."""
    given = {variable: str(trained_ae_run), "AEGAN_LOG_DIR": str(tmp_path / "logs")}
    (error,) = errors_of("hybrids", {**given, "AEGAN_NOTEBOOK_QUICK": "1"}, monkeypatch)
    model = variable.split("_")[1].lower()
    assert error["traceback"] == [
        f"ConfigError: {variable}={trained_ae_run} is not allowed: it is a run of autoencoder; "
        f"it must be a run of {model}"
    ]
    assert not (tmp_path / "logs").exists()  # nothing trained


@pytest.mark.parametrize("kind", ["nothing", "a file"])
def test_the_sweep_notebook_at_no_sweep_is_one_line(tmp_path, monkeypatch, kind):
    given = tmp_path / "sweep"
    if kind == "a file":
        given.write_text("")
    monkeypatch.setenv("AEGAN_SWEEP_DIR", str(given))
    (error,) = errors_of("sweep", {}, monkeypatch)
    what = "does not exist" if kind == "nothing" else "is a file, not a folder"
    assert error["traceback"] == [
        f"FolderNotFoundError: {given} {what}: a sweep's folder holds one folder per job"
    ]


def test_the_gan_notebook_refuses_a_vae_and_draws_an_infogans_codes(tmp_path, monkeypatch):
    """A VAE run passed its check (it can generate), then failed on model.loss, a key only a
    GAN has; an InfoGAN run failed on N(0, I) draws its one-hot code cannot take, and its
    line between two categories named a row of the line, not the user's."""
    nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[notebooks]'")
    vae = tmp_path / "vae"
    train(compose_config([*TINY_AE, "model=vae", "data.subset=256", "data.val_size=100"], vae))
    (error,) = errors_of("gan", {"AEGAN_RUN_DIR": str(vae)}, monkeypatch)
    assert error["traceback"] == [
        f"ConfigError: {vae} is a run of vae; this notebook reads GANs (dcgan, infogan)"
    ]
    infogan = tmp_path / "infogan"
    train(compose_config([*TINY_GAN, "model=infogan", "data.subset=256"], infogan))
    run = aegan.load_run(infogan)
    a, b = (run.task.draw_codes(1, category=c)[0][0] for c in (1, 2))  # two categories
    with pytest.raises(ValueError, match=r"^a and b: the points between them are no latent"):
        run.interpolate(a, b)
    monkeypatch.setenv("AEGAN_RUN_DIR", str(infogan))
    cells_until(nbformat, "gan", "run.interpolate(")
