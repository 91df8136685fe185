"""Sweeps as a user runs them: `python -m aegan.train -m ...` in a subprocess on tiny data,
through the basic, joblib and submitit launchers and the Optuna sweeper, then
`python -m aegan.summarize`. A job that fails is recorded and the sweep goes on.

The launcher and sweeper plugins come with the `sweeps` extra; without it those tests skip.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from aegan.summarize import main as summarize_main
from aegan.summarize import summarize
from aegan.sweeps.reader import read_sweep
from conftest import CONF_DIR, REPO, TINY_AE

# The tests' tiny CPU jobs, on 500 images and without TensorBoard (not what is tested here).
TINY_SWEEP = [o for o in TINY_AE if not o.startswith(("data.subset", "logger."))]
TINY_SWEEP += ["data.subset=500", "logger=none"]
# Fails at run time for its second value only: a learning rate whose loss is not finite.
ONE_FAILING = "model.optimizer.lr=0.001,1e30"


def run_sweep(tmp_path: Path, *overrides: str, job_1_fails: bool = False) -> Path:
    """Run ``python -m aegan.train -m`` with ``overrides`` on tiny data; return the sweep dir.
    A sweep whose job 1 fails runs both jobs, then says so in one line, with exit code 1."""
    sweep_dir = tmp_path / "sweep"
    given = {override.partition("=")[0] for override in overrides}
    tiny = [o for o in TINY_SWEEP if o.partition("=")[0] not in given]  # a swept key is not fixed
    result = subprocess.run(
        [sys.executable, "-m", "aegan.train", "-m", *tiny, *overrides,
         f"hydra.sweep.dir={sweep_dir}", f"paths.data_dir={tmp_path / 'data'}"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == int(job_1_fails), result.stdout[-2000:] + result.stderr[-3000:]
    if job_1_fails:
        assert result.stderr.splitlines()[-1] == (
            "error: 1 of 2 jobs of the sweep ended without results (job 1 failed); why: "
            f"{sweep_dir}/1/train.log; the others' are kept: python -m aegan.summarize {sweep_dir}"
        )
    return sweep_dir


def assert_one_ok_one_failed(sweep_dir: Path) -> None:
    """Job 0 (lr 0.001) trained and kept its results; job 1 (lr 1e30) is recorded failed."""
    ok, failed = sweep_dir / "0", sweep_dir / "1"
    metrics = json.loads((ok / "metrics.json").read_text())
    assert metrics["val/best_objective"] == metrics["val/mse"] < 0.2  # one epoch of 500 images
    assert (ok / "checkpoints" / "last.pt").is_file()
    assert not (failed / "metrics.json").exists()
    failure = json.loads((failed / "failed.json").read_text())
    assert failure["type"] == "NonFiniteError"
    assert failure["error"].startswith("non-finite loss at step ")
    assert "model.optimizer.lr=1e+30" in failure["overrides"]
    assert "NonFiniteError" in (failed / "train.log").read_text()


def test_grid_sweep_writes_run_dirs_and_a_sorted_summary(tmp_path, capsys):
    sweep_dir = run_sweep(tmp_path, "model.latent_dim=8,16")
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir()) == ["0", "1"]

    assert summarize_main([str(sweep_dir)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"# Sweep summary: {sweep_dir}\n")
    assert "model.latent_dim" in printed and "2 jobs: 2 ok" in printed
    with open(sweep_dir / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(int(r["model.latent_dim"]) for r in rows) == [8, 16]
    objectives = [float(r["val/best_objective"]) for r in rows]
    assert objectives == sorted(objectives)  # lower is better, best first
    assert all(r["status"] == "ok" for r in rows)
    markdown = (sweep_dir / "summary.md").read_text()
    assert markdown.count("\n| 0 ") + markdown.count("\n| 1 ") == 2


def test_failing_job_is_recorded_and_the_sweep_goes_on(tmp_path, capsys):
    sweep_dir = run_sweep(tmp_path, ONE_FAILING, job_1_fails=True)
    assert_one_ok_one_failed(sweep_dir)

    rows = read_sweep(sweep_dir)
    assert [(r["job"], r["status"]) for r in rows] == [("0", "ok"), ("1", "failed")]
    assert rows[1]["model.optimizer.lr"] == 1e30 and rows[1]["error"].startswith("NonFiniteError")
    out = tmp_path / "report"
    assert summarize_main([str(sweep_dir), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1 ok, 1 failed" in printed
    failed_line = next(line for line in printed.splitlines() if line.startswith("| 1 "))
    assert "FAILED" in failed_line and "NonFiniteError" in failed_line
    assert (out / "summary.csv").is_file() and (out / "summary.md").is_file()


def test_joblib_runs_two_jobs_and_survives_a_failing_one(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="needs the sweeps extra")
    sweep_dir = run_sweep(
        tmp_path, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", ONE_FAILING, job_1_fails=True
    )
    assert_one_ok_one_failed(sweep_dir)


def test_submitit_local_runs_one_job(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="needs the sweeps extra")
    pytest.importorskip("submitit", reason="needs the sweeps extra")
    sweep_dir = run_sweep(
        tmp_path, "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5",
        "model.latent_dim=8",
    )  # fmt: skip
    assert json.loads((sweep_dir / "0" / "metrics.json").read_text())["val/mse"] < 0.2
    assert any((sweep_dir / ".submitit").glob("*/*_result.pkl"))  # it went through submitit


def test_optuna_runs_two_trials_reports_the_best_and_survives_a_failing_one(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs the sweeps extra")
    pytest.importorskip("optuna", reason="needs the sweeps extra")
    # seed=0 seeds the TPE sampler too: trial 0 draws lr 0.001, trial 1 lr 1e30 (fails)
    sweep_dir = run_sweep(
        tmp_path, "hparams_search=autoencoder_optuna", "hydra.sweeper.n_trials=2", "seed=0",
        "model.optimizer.lr=choice(0.001,1e30)", job_1_fails=True,
    )  # fmt: skip
    assert_one_ok_one_failed(sweep_dir)
    best = OmegaConf.load(sweep_dir / "optimization_results.yaml")
    objective = json.loads((sweep_dir / "0" / "metrics.json").read_text())["val/best_objective"]
    assert best.best_value == pytest.approx(objective)
    assert set(best.best_params) == {"model.latent_dim", "model.optimizer.lr"}  # batch: fixed
    assert best.best_params["model.optimizer.lr"] == 0.001


def test_optuna_study_in_a_database_goes_on_where_a_sweep_stopped(tmp_path):
    optuna = pytest.importorskip("optuna", reason="needs the sweeps extra")
    # two sweeps on one sqlite study, as after a crash: the second adds its trial to the first's
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    for run, seed in (("first", 0), ("second", 1)):
        run_sweep(
            tmp_path / run, "hparams_search=autoencoder_optuna", "hydra.sweeper.n_trials=1",
            f"hydra.sweeper.storage={storage}", f"hydra.sweeper.sampler.seed={seed}",
        )  # fmt: skip
    study = optuna.load_study(study_name="autoencoder", storage=storage)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    assert study.trials[0].params != study.trials[1].params  # another sampler seed: new draws
    best = OmegaConf.load(tmp_path / "second" / "sweep" / "optimization_results.yaml")
    assert best.best_value == pytest.approx(study.best_value)  # over both sweeps' trials
    # the second folder's job 0 is the study's trial 1: the summary says where its best is
    text = summarize(tmp_path / "second" / "sweep")
    line = next(line for line in text.splitlines() if line.startswith("optuna best: "))
    in_second = study.best_trial.number == 1
    assert ("(job 0)" in line) == in_second and ("no job in this folder" in line) != in_second


@pytest.mark.parametrize(
    ("search", "params"),
    [
        ("autoencoder_optuna", {"model.latent_dim", "model.optimizer.lr", "data.batch_size"}),
        ("dcgan_optuna", {"model.g_optimizer.lr", "model.d_optimizer.lr", "model.loss"}),
    ],
)
def test_optuna_search_configs_compose(search, params):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs the sweeps extra")
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[f"hparams_search={search}"], return_hydra_config=True)
    assert cfg.hydra.sweeper.direction == "minimize"
    assert set(cfg.hydra.sweeper.params) == params
    for key in params:  # each searched setting is one the model has
        assert OmegaConf.select(cfg, key) is not None, key
    assert cfg.model.name == search.removesuffix("_optuna")


def write_job(root: Path, job: str, overrides: list[str], result: dict | None, failed: bool):
    run = root / job
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if result is not None:
        (run / "metrics.json").write_text(json.dumps(result))
    if failed:
        failure = {"error": "boom | bang", "type": "RuntimeError", "overrides": overrides}
        (run / "failed.json").write_text(json.dumps(failure))


def test_summary_orders_by_objective_and_marks_failed_and_unfinished(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    write_job(sweep, "0", ["model.latent_dim=8", "seed=0"], {"val/best_objective": 0.03}, False)
    write_job(sweep, "1", ["model.latent_dim=16", "seed=0"], None, failed=True)
    write_job(sweep, "2", ["model.latent_dim=32", "seed=0"], None, failed=False)  # killed
    write_job(
        sweep, "3", ["model.latent_dim=64", "seed=0"], {"val/best_objective": math.nan}, False
    )
    write_job(sweep, "10", ["model.latent_dim=4", "seed=0"], {"val/best_objective": 0.01}, False)

    rows = read_sweep(sweep)
    assert [r["job"] for r in rows] == ["0", "1", "2", "3", "10"]  # numeric order
    assert [r["status"] for r in rows] == ["ok", "failed", "unfinished", "ok", "ok"]

    assert summarize_main([str(sweep), "--objective", "val/best_objective"]) == 0
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    jobs = [line.split("|")[1].strip() for line in table[1:]]
    assert jobs == ["10", "0", "3", "1", "2"]  # best first; NaN after finite; failures last
    assert "seed" not in table[0]  # the same in every job: listed once above the table
    assert "FAILED" in table[4] and r"RuntimeError: boom \| bang" in table[4]  # escaped
    assert "UNFINISHED" in table[5]

    assert summarize_main([str(tmp_path / "missing")]) == 2
    assert "error:" in capsys.readouterr().err


def test_summary_says_when_jobs_sample_metrics_are_on_different_scales(tmp_path, capsys):
    """A sweep over data.subset: each job's classifier and sample count are its own."""
    sweep = tmp_path / "sweep"
    for job, (subset, samples, accuracy) in enumerate([(5000, 1000, 0.85), (55000, 10000, 0.92)]):
        figures = {"val/best_objective": 0.1, "gen/fd": 9.0 - job, "gen/samples": samples,
                   "classifier/test_accuracy": accuracy}  # fmt: skip
        write_job(sweep, str(job), [f"data.subset={subset}"], figures, False)
    write_job(sweep, "2", ["data.subset=100"], None, failed=True)
    assert summarize_main([str(sweep)]) == 0
    note = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note:")]
    assert note == [
        "note: gen/* differ in scale between jobs (gen/samples 1000 to 10000, "
        "classifier/test_accuracy 0.85 to 0.92): FD and KID move with the sample count, and the "
        "classifier whose features they compare is trained on each job's own training images "
        "(data.subset); compare gen/* between jobs that agree in these"
    ]
    write_job(tmp_path / "same", "0", ["seed=0"], {"gen/fd": 3.0, "gen/samples": 500}, False)
    write_job(tmp_path / "same", "1", ["seed=1"], {"gen/fd": 4.0, "gen/samples": 500}, False)
    assert summarize_main([str(tmp_path / "same")]) == 0
    assert "note:" not in capsys.readouterr().out
