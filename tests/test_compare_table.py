"""``scripts/compare.py``: the README's model table, from real tiny sweeps of two recipes."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import aegan.signals.child_runs

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = [sys.executable, str(ROOT / "scripts" / "compare.py")]
# the PCA row needs pca; the probe's column is drawn from written runs (test_compare_table_values)
TINY = ["trainer.device=cpu", "trainer.cpu_threads=1", "data.subset=1000", "data.val_size=200",
        "evaluate.metrics=[reconstruction,pca]"]  # fmt: skip


def compare(*args: str) -> subprocess.CompletedProcess:
    """``compare.py`` as a process of its own: the jobs it starts write to its stdout/stderr."""
    return subprocess.run([*SCRIPT, *args], capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_the_table_is_the_mean_and_range_of_each_seeds_metrics(cli, tmp_path):
    out, models = tmp_path / "compare", "autoencoder,vae"
    trained = compare("run", "--models", models, "--epochs", "1", "--seeds", "0,1",
                      "--out", str(out), *TINY)  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-2000:]
    again = cli("scripts/compare.py", "run", "--models", models, "--epochs", "1", "--seeds", "0,1", "--out", str(out),
                    *TINY)  # fmt: skip
    assert again.returncode == 0 and "not trained again" in again.stdout, again.stderr[-2000:]
    # other settings for the seeds: refused, not counted as done (a cell of mixed runs)
    other = compare("run", "--models", "autoencoder", "--epochs", "1", "--seeds", "0,1",
                    "--out", str(out))  # fmt: skip
    assert other.returncode == 1, other.stderr[-2000:]
    assert "data.subset=1000 there, null here" in other.stderr + other.stdout

    table = cli("scripts/compare.py", "table", "--out", str(out))
    assert table.returncode == 0, table.stderr[-2000:]
    lines = [json.loads(line) for line in (out / "comparison.jsonl").read_text().splitlines()]
    assert [(line["model"], line["seed"]) for line in lines] == [
        ("autoencoder", 0), ("autoencoder", 1), ("vae", 0), ("vae", 1)
    ]  # fmt: skip
    rows = {row.split(" | ")[0].strip("| "): row for row in table.stdout.splitlines()}
    for model in ("autoencoder", "vae"):
        runs = [json.loads((out / model / str(s) / "metrics.json").read_text()) for s in (0, 1)]
        mse = [r["test/mse"] for r in runs]
        cell = f"{statistics.fmean(mse):.4f} ({min(mse):.4f}-{max(mse):.4f})"
        assert rows[model].startswith(f"| {model} | 2 | {cell} |"), rows[model]
        seeds = [line for line in lines if line["model"] == model]
        assert [line["test/mse"] for line in seeds] == mse
        assert all(line["training_images_per_s"] > 0 for line in seeds)
    pca = json.loads((out / "autoencoder" / "0" / "metrics.json").read_text())["pca/mse"]
    assert rows["PCA-32"].startswith(f"| PCA-32 | - | {pca:.4f} |"), rows["PCA-32"]
    assert "Not the protocol: these runs also had" in table.stdout
    assert "data.subset=1000" in table.stdout and (out / "comparison.md").is_file()

    log = out / "vae" / "1" / "train.log"  # a FIFO, that nothing writes to, where its log was
    log.unlink()
    os.mkfifo(log)
    table = cli("scripts/compare.py", "table", "--out", str(out))
    assert table.returncode == 0 and f"warning: {log}: a FIFO, not a regular file" in table.stderr
    speeds = {(row["model"], row["seed"]): row["training_images_per_s"]
              for row in map(json.loads, (out / "comparison.jsonl").read_text().splitlines())}  # fmt: skip
    assert speeds[("vae", 1)] is None and speeds[("vae", 0)] > 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["table", "--models", "autoencoder,dcgn"], "--models dcgn: no such model"),
        (["table", "data.subset=1000"], "for run only"),
        ([], "a command is required: run, table or pictures"),  # was the usage and a line
        (["nope"], "invalid choice: 'nope'"),
        (["run", "--epochs", "abc"], "--epochs: 'abc' is not allowed"),
        # each command takes its own options only: these were accepted and ignored
        (["table", "--epochs", "3"], "unrecognized option --epochs for table"),
        (["table", "--image=x.png"], "unrecognized option --image for table"),
        (["run", "--speed", "x.jsonl"], "unrecognized option --speed for run"),
        (["pictures", "--seeds", "1"], "unrecognized option --seeds for pictures"),
        (["pictures", "data.subset=1000"], "overrides are for run only"),
        # no finished run: was an empty table, exit code 0
        (["table", "--out", "{tmp}"], "--out {tmp} holds no finished run of autoencoder,"),
        (["table", "--out", "{tmp}", "--models", "vae"],
         "--out {tmp} holds no finished run of vae: the table reads OUT/MODEL/SEED/metrics.json"),
        (["--bogus"], "unrecognized option --bogus"),  # was "required: command, overrides"
        (["table", "--out", "{tmp}/nothere"], "--out {tmp}/nothere: no such folder"),
        (["table", "--out", "{tmp}/file"], "--out: {tmp}/file is not allowed: it is a file"),
        (["pictures", "--out", "{tmp}/file"], "--out: {tmp}/file is not allowed: it is a file"),
        (["run", "--out", "{tmp}/file"], "--out: {tmp}/file is not allowed: it is a file, not"),
        (["run", "--out", "{tmp}/fifo"], "--out: {tmp}/fifo is not allowed: it is a FIFO, not a folder"),
        # an OSError traceback; a folder named with a newline, made in the checkout
        (["run", "--out", "/" + "a" * 300], "it cannot be a folder (File name too long)"),
        (["run", "--out", "a\nb"], "--out: 'a\\nb' is not allowed: it must be a path without"),
        (["table", "--models", "x" * 5000], "xxxxxxxxxx...(5001 characters) no such model"),
        (["table", "--out", "{tmp}", "--speed", "{tmp}/bad.jsonl"],
         "--speed {tmp}/bad.jsonl: line 2 is not JSON"),  # a JSONDecodeError traceback
        (["table", "--out", "{tmp}", "--speed", "{tmp}/fifo"],
         "--speed {tmp}/fifo cannot be read: a FIFO, not a regular file"),  # it waited forever
        (["pictures", "--out", "{tmp}"], "no finished runs were found"),  # a ValueError
        # before any run is read: savefig wrote folder.png.png, or raised after the work
        (["pictures", "--out", "{tmp}", "--image", "{tmp}/x.xyz"],
         "--image {tmp}/x.xyz: its name must end in the picture's format: .avif, .eps"),
        (["pictures", "--out", "{tmp}", "--image", "{tmp}/no/x.png"],
         "--image {tmp}/no/x.png cannot be written: no folder {tmp}/no"),
        (["pictures", "--out", "{tmp}", "--image", "{tmp}/folder.png"],
         "--image: {tmp}/folder.png is not allowed: it is a folder; name a file"),
        (["pictures", "--out", "{tmp}", "--image", "{tmp}/fifo"],  # savefig waited forever
         "--image: {tmp}/fifo is not allowed: it is a FIFO; name a file"),
        # a GAN's sample grid replaced by the picture
        (["pictures", "--out", "{tmp}", "--image", "{tmp}/run/samples/epoch-0001.png"],
         "--image: {tmp}/run/samples/epoch-0001.png is not allowed: it is inside the trained "
         "run {tmp}/run, which only its own run writes; name a file outside it"),
        (["pictures", "--out", "{tmp}", "--image", "{tmp}/link.png"],  # followed by savefig
         "--image: {tmp}/link.png is not allowed: it leads inside the trained run {tmp}/run"),
        (["run", "--epochs", "0"], "--epochs: '0' is not allowed"),  # every job failed
        (["run", "--epochs", "-1"], "--epochs: '-1' is not allowed"),
        (["run", "--seeds", "a,b"], "--seeds: 'a,b' is not allowed"),
        (["run", "--seeds", ""], "--seeds: '' is not allowed"),
        (["run", "--seeds", "0,0"], "--seeds: '0,0' is not allowed"),  # "1 of 2 jobs" of one
        (["run", "--seeds", "00"], "--seeds: '00' is not allowed"),  # never found finished
        (["run", "--seeds", str(2**63)], f"--seeds: '{2**63}' is not allowed"),  # every job failed
        # each model's sweep refused in turn, in ~20 lines over a minute, exit code 1
        (["run", "--out", "{tmp}/run"], "--out={tmp}/run holds a trained run; choose a folder"),
        (["run", "--out", "{tmp}/run/x"], "--out={tmp}/run/x is inside the trained run"),
        (["run", "--out", "{tmp}/sweep"], "--out={tmp}/sweep is not allowed: it holds a sweep"),
        (["run", "--out", "{tmp}/sweep/x"],
         "--out={tmp}/sweep/x is not allowed: it is inside the sweep {tmp}/sweep; choose"),
        (["run", "--models", "autoencoder,vae,dcgan", "--out", "{tmp}/new", "data.subset=-1"],
         "autoencoder: data.subset=-1 is not allowed: it must be an integer >= 1 or null; no"),
        (["run", "--models", "vae,,"], "--models 'vae,,' is not allowed"),  # "--models ,"
    ],
)  # fmt: skip
def test_a_mistake_is_one_line(cli, tmp_path, args, says):
    (tmp_path / "file").write_text("")
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "bad.jsonl").write_text('{"model": "vae"}\n{bad\n')
    os.mkfifo(tmp_path / "fifo")  # nothing writes to it: reading it must not wait
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text("{}")  # a trained run's folder
    (tmp_path / "run" / "grid.png").write_bytes(b"")  # a picture of a trained run's
    (tmp_path / "link.png").symlink_to(tmp_path / "run" / "grid.png")
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "multirun.yaml").write_text("")
    refused = cli("scripts/compare.py", *(arg.format(tmp=tmp_path) for arg in args))
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith("error: ") and says.format(tmp=tmp_path) in refused.stderr
    assert len(refused.stderr.splitlines()) == 1, refused.stderr


def test_run_exits_1_naming_the_failed_json_of_a_model_whose_job_failed(cli, tmp_path):
    out = tmp_path / "compare"
    failed = compare("run", "--models", "autoencoder", "--epochs", "1", "--seeds", "0",
                     "--out", str(out), *TINY, "model.optimizer.lr=1e30")  # fmt: skip
    assert failed.returncode == 1, failed.stderr[-2000:]
    sweep, line = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert sweep.startswith("error: 1 of 1 job of the sweep ended without results (job 0 failed)")
    assert "autoencoder: 1 of 1 job not ok" in line and "NonFiniteError" in line
    assert str(out / "autoencoder" / "0" / "failed.json") in line

    # a setting no job can take: refused before the first sweep, once for every model
    refused = cli("scripts/compare.py", "run", "--models", "autoencoder,vae", "--epochs", "1", "--seeds", "0",
                      "--out", str(out / "again"), *TINY, "model.latent_dim=-1")  # fmt: skip
    assert refused.returncode == 2, refused.stderr[-2000:]
    assert refused.stderr.startswith("error: autoencoder: model.latent_dim=-1 is not allowed")
    assert len(refused.stderr.splitlines()) == 1 and not (out / "again").exists()


@pytest.mark.parametrize("name", ["a b,c", "it's", "a${oc.env:HOME}", "back\\slash", "ü"])
def test_run_gives_hydra_the_out_folder_as_it_is_named(cli, monkeypatch, tmp_path, name):
    """A comma made Hydra sweep over the folder's name (every job refused), a quote or
    ``${...}`` changed it."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    commands = []
    monkeypatch.setattr(aegan.signals.child_runs, "run_to_its_end",
                        lambda command, **_: commands.append(command) or 0)  # fmt: skip
    cli(
        "scripts/compare.py",
        "run",
        "--models",
        "vae",
        "--seeds",
        "0",
        "--out",
        str(tmp_path / name),
    )
    (given,) = [arg for arg in commands[0] if arg.startswith("hydra.sweep.dir=")]
    (override,) = OverridesParser.create().parse_overrides([given])
    assert not override.is_sweep_override()
    assert OmegaConf.create({"dir": override.value()}).dir == str(tmp_path / name / "vae")


@pytest.mark.parametrize(
    ("override", "says"),
    [  # each replaced run's own setting: seed 0's folder got seed 5, then "exited with code 0"
        ("seed=5", "seed=5 is not allowed: compare.py run sets seed from --seeds; give --seeds"),
        ("++seed=5", "sets seed from --seeds"),
        ("trainer.epochs=3", "sets trainer.epochs from --epochs; give --epochs instead"),
        ("hydra.sweep.dir=/tmp/x", "sets hydra.sweep.dir from --out; give --out instead"),
        ("hydra.sweep={subdir:x}", "{subdir:x} is not allowed: compare.py run sets hydra.sweep"),
        ("hydra.run.dir=/tmp/x", "sets hydra.run.dir from --out"),
        ("experiment=vae_fashion_mnist", "sets experiment from --models"),
        ("model=dcgan", "sets model from --models"),
        ("hydra.mode=RUN", "sets hydra.mode from --seeds"),
        ("hparams_search=autoencoder_optuna", "sets hparams_search from --seeds"),
        ("hydra.sweeper.params.seed=1", "sets hydra.sweeper.params from --seeds"),
        ("trainer.resume=/tmp/x", "sets trainer.resume=auto for every job"),
        ("logger.projector_samples=9", "sets logger.projector_samples=0 for every job"),
        ("data.subset=100,200", "data.subset=100,200 is not allowed: compare.py run sweeps"),
        ("-m", "unrecognized option -m for run"),  # was "overrides are for run only"
    ],
)  # fmt: skip
def test_run_refuses_an_override_of_what_it_sets_before_training(
    cli, monkeypatch, tmp_path, override, says
):
    commands = []
    monkeypatch.setattr(aegan.signals.child_runs, "run_to_its_end",
                        lambda command, **_: commands.append(command) or 0)  # fmt: skip
    refused = cli("scripts/compare.py", "run", "--models", "vae", "--seeds", "0",
                  "--out", str(tmp_path / "out"), "data.subset=1000", override)  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith("error: ") and says in refused.stderr, refused.stderr
    assert len(refused.stderr.splitlines()) == 1 and not commands
    assert not (tmp_path / "out").exists()


def test_pictures_of_a_damaged_run_is_one_line_naming_its_checkpoint(cli, tmp_path):
    """It was the CheckpointError's traceback and exit code 1."""
    last = tmp_path / "autoencoder" / "0" / "checkpoints" / "last.pt"
    last.parent.mkdir(parents=True)
    last.write_bytes(b"PK\x03\x04" + bytes(996))  # the first 1000 bytes of a zip archive
    image = tmp_path / "x.png"
    refused = cli("scripts/compare.py", "pictures", "--models", "autoencoder",
                  "--out", str(tmp_path), "--image", str(image))  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith(f"error: {last}: not a readable checkpoint")
    assert "autoencoder cannot be drawn" in refused.stderr and not image.exists()
    assert len(refused.stderr.splitlines()) == 1, refused.stderr
