"""A run continued in its folder, read back while it trains or after it was killed: its
metrics.json holds the figures of an earlier step, which the sweep's summary and the
comparison table showed as the finished job's, under its new settings; and its final
evaluation's points, which a resume from an earlier step removed from TensorBoard."""

from __future__ import annotations

import json
from pathlib import Path

from table_runs import OVERRIDES, job, table
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from aegan.engine.run_metrics import TRAINING
from aegan.summarize import main as summarize_main
from aegan.sweeps.reader import read_sweep
from aegan.train import train
from conftest import TINY_AE, compose_config


def finished_job(root: Path, job_name: str, overrides: list[str], objective: float) -> Path:
    folder = root / job_name
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    (folder / "metrics.json").write_text(json.dumps({"val/best_objective": objective}))
    return folder


def test_a_job_continued_in_its_folder_reads_unfinished_until_its_figures_are_written(tmp_path):
    """Killed (or still training) while it continued: it read ``ok``, with the figures of
    the epochs it had before."""
    root = tmp_path / "sweep"
    finished_job(root, "0", ["trainer.epochs=2"], 0.5)
    continued = finished_job(root, "1", ["trainer.epochs=4"], 0.25)
    (continued / TRAINING).write_text(json.dumps({"step": 32.0}))
    rows = {row["job"]: row for row in read_sweep(root)}
    assert rows["0"]["status"] == "ok"
    assert rows["1"]["status"] == "unfinished"
    assert rows["1"]["error"].startswith("continued from step 32 and still training, or killed")
    (continued / TRAINING).write_text('{"step": "x"}')  # damage: said, not read as a step
    (row,) = [r for r in read_sweep(root) if r["job"] == "1"]
    assert (row["status"], row["error"]) == ("broken", 'training.json: step is "x", not a number')


def test_a_planned_job_whose_folder_holds_an_earlier_sweeps_job_has_not_started(tmp_path, capsys):
    """A grid continued with more epochs and stopped after its first job: the jobs it never
    reached read ``ok`` with the earlier sweep's figures, under its settings."""
    root = tmp_path / "sweep"
    for n in range(3):
        finished_job(root, str(n), [f"seed={n}", "trainer.epochs=2"], 0.5 + n)
    (root / "0" / ".hydra" / "overrides.yaml").write_text("- seed=0\n- trainer.epochs=4\n")
    plan = [{"job": str(n), "overrides": [f"seed={n}", "trainer.epochs=4"]} for n in range(3)]
    (root / "jobs.json").write_text(json.dumps({"jobs": plan}))
    rows = {row["job"]: row for row in read_sweep(root)}
    assert [rows[j]["status"] for j in "012"] == ["ok", "not started", "not started"]
    assert rows["1"]["trainer.epochs"] == 4 and "val/best_objective" not in rows["1"]
    assert rows["1"]["error"].endswith(
        "; its folder holds an earlier sweep's job (seed=1 trainer.epochs=2)"
    )
    assert summarize_main([str(root)]) == 0
    assert "3 jobs: 1 ok, 2 not started" in capsys.readouterr().out


def test_a_sweep_over_models_is_said_to_rank_objectives_of_different_units(tmp_path, capsys):
    root = tmp_path / "sweep"
    finished_job(root, "0", ["model=autoencoder"], 0.16)
    finished_job(root, "1", ["model=vae"], 534.6)
    assert summarize_main([str(root)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "note: the jobs train different models (model: autoencoder, vae)" in printed
    assert "so the order between models says nothing" in printed
    finished_job(root, "2", ["model=vae", "seed=1"], 530.0)
    (root / "0" / ".hydra" / "overrides.yaml").write_text("- model=vae\n")
    assert summarize_main([str(root)]) == 0
    assert "different models" not in capsys.readouterr().out


def test_the_table_leaves_out_a_run_short_of_its_epochs_and_marks_cells_of_fewer_seeds(
    cli, tmp_path
):
    out = tmp_path / "compare"
    job(out, 0, metrics={"train/epochs": 1.0})
    job(out, 1, metrics={"train/epochs": 1.0, "test/mse": float("nan")})
    four = [o.replace("epochs=1", "epochs=4") for o in OVERRIDES]  # continued, then killed
    job(out, 2, overrides=four, metrics={"train/epochs": 1.0})
    shown, rows = table(cli, out)
    assert shown.returncode == 0, shown.stderr
    said = shown.stderr.splitlines()
    assert f"warning: {out}/autoencoder/2/metrics.json: its figures are of epoch 1, not of " \
        "the 4 its trainer.epochs names (continued, and not to its end?); this run is left " \
        "out of the table" in said  # fmt: skip
    assert said[-1] == (
        "warning: autoencoder: seed 1 gives no test/mse (absent or not a finite number); its "
        "cell holds 1 of 2 seeds"
    )
    assert rows["autoencoder"][1:3] == ["2", "0.0200 [1 of 2 seeds]"]


def test_the_table_leaves_out_samples_scored_by_another_domain_classifier(cli, tmp_path):
    out = tmp_path / "compare"
    measured = {"eval/samples": 2000.0, "classifier/test_accuracy": 0.9187}
    job(out, 0, metrics=measured)
    job(out, 1, metrics={**measured, "classifier/test_accuracy": 0.9102})
    job(out, 2, metrics=measured)
    shown, rows = table(cli, out)
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr.splitlines() == [
        f"warning: {out}/autoencoder/1/metrics.json: its sample metrics are in the features of "
        "a domain classifier of test accuracy 0.9102 (classifier/test_accuracy), the table's of "
        "0.9187: another machine's or data's classifier; this run is left out of the table"
    ]
    assert rows["autoencoder"][1] == "2"


def test_a_resume_in_place_marks_its_folder_and_logs_its_final_figures_again(make_cfg):
    """A run resumed in its own folder from an earlier step's checkpoint: TensorBoard's
    writer removes what was logged after that step, the final test figures too, and they
    were not written again where they equalled metrics.json's."""
    common = [*TINY_AE, "data.subset=640", "trainer.epochs=2", "evaluate.at_end=true",
              "evaluate.metrics=[reconstruction]"]  # fmt: skip
    first = make_cfg(*common)
    train(first)
    run_dir = Path(first.paths.output_dir)
    earlier = sorted((run_dir / "checkpoints").glob("step-*.pt"))[0]  # epoch 1's
    seen = []
    again = make_cfg(*common, f"trainer.resume={earlier}")  # its own folder
    train(again, on_resume=lambda: seen.append((run_dir / TRAINING).is_file()))
    assert seen == [True] and not (run_dir / TRAINING).exists()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    events = EventAccumulator(str(run_dir / "tb"), size_guidance={"scalars": 0})
    events.Reload()
    points = [(e.step, e.value) for e in events.Scalars("test/mse")]
    assert points[-1][0] == metrics["eval/step"] == metrics["train/steps"]
    assert abs(points[-1][1] - metrics["test/mse"]) < 1e-6


def test_an_evaluation_with_its_own_settings_shows_them_beside_its_figures(cli, tmp_path):
    """``aegan.evaluate seed=3`` wrote its figures into the HPARAMS row of the training
    settings (evaluate.seed 0): a row whose settings were not those of its figures."""
    from test_tensorboard import hparams_plugin_answers

    common = [*TINY_AE, "data.subset=640", "evaluate.at_end=true",
              "evaluate.metrics=[reconstruction]"]  # fmt: skip
    run_dir = tmp_path / "run"
    train(compose_config(common, run_dir))
    shown = cli("aegan.evaluate", f"run={run_dir}", "seed=3", "metrics=[reconstruction]")
    assert shown.returncode == 0, shown.stderr
    _, groups = hparams_plugin_answers(run_dir / "tb")
    hparams = groups[0]["hparams"]  # the run's one row
    assert hparams["evaluate.seed"] == 3 and hparams["evaluate.samples"] == 10000, hparams
