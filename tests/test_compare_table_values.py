"""``scripts/compare.py table`` on damaged values in run folders and ``--speed`` lines: a
value that is not a finite number of its kind is left out with one warning line naming its
file (a bad ``--speed`` line, one ``error:`` line), never a traceback."""

from __future__ import annotations

import json
import shutil
import statistics

import pytest
from table_runs import DROP, OVERRIDES, WITHOUT_SEED, job, seeds, table


@pytest.mark.parametrize(
    ("damage", "file", "says"),
    [  # each was a traceback or a wrong figure
        ({"overrides": [*WITHOUT_SEED, "seed=abc"]}, ".hydra/overrides.yaml",
         "seed='abc' is not allowed, it must be an integer >= 0"),  # int("abc")
        ({"overrides": [*OVERRIDES, "trainer.epochs=inf"]}, ".hydra/overrides.yaml",
         "trainer.epochs=inf is not allowed, it must be an integer >= 1"),  # OverflowError
        ({"overrides": [*OVERRIDES, "data.batch_size=abc"]}, ".hydra/overrides.yaml",
         "data.batch_size='abc' is not allowed, it must be an integer >= 1"),  # float("abc")
        ({"log": "epoch 1 time: training 1.2.3 s\n"}, "train.log",
         "epoch 1 training seconds='1.2.3' is not allowed, it must be a finite number >= 0"),
        ({"log": "epoch 1 time: training . s\n"}, "train.log",
         "epoch 1 training seconds='.' is not allowed"),  # float(".")
        ({"log": "epoch 1 time: training 1e999 s\n"}, "train.log",
         "epoch 1 training seconds=inf is not allowed"),
        ({"log": "epoch 1 time: training 0.0 s\n"}, "train.log",
         "training time in all=0.0 is not allowed, it must be a finite number > 0"),  # 1/0
        ({"metrics": {"train/steps": 1e308}}, "train.log",
         "steps x batch / time=inf is not allowed"),  # printed as inf
    ],
)  # fmt: skip
def test_a_bad_value_is_left_out_with_one_warning_naming_its_file(
    cli, tmp_path, damage, file, says
):
    out = tmp_path / "compare"
    run_dir = job(out, **damage)
    shown, rows = table(cli, out)
    assert shown.returncode == 0, shown.stderr
    (line,) = shown.stderr.splitlines()
    assert line.startswith(f"warning: {run_dir / file}: {says}") and "left out" in line, line
    assert rows["autoencoder"][:3] == ["autoencoder", "1", "0.0200"], rows  # the rest stays
    assert not any(c in ("inf", "nan") for row in rows.values() for c in row), rows
    (seed,) = seeds(out)
    assert seed["seed"] == (None if says.startswith("seed=") else 0)
    no_speed = file == "train.log" or says.startswith(("data.batch_size=", "train/steps="))
    assert seed["training_images_per_s"] == (None if no_speed else 3200.0)


@pytest.mark.parametrize("value", ["x", True, None])
@pytest.mark.parametrize("key", ["floor/fd", "train/steps", "seed"])
def test_a_metric_that_is_no_figure_leaves_its_run_out_in_one_line(cli, tmp_path, key, value):
    out = tmp_path / "compare"
    damaged = job(out, overrides=WITHOUT_SEED if key == "seed" else None, metrics={key: value})
    job(out, seed=1)
    shown, rows = table(cli, out)
    assert shown.returncode == 0, shown.stderr
    (line,) = shown.stderr.splitlines()
    assert line == (
        f"warning: {damaged}: metrics.json: {key} is {json.dumps(value)}, not a figure; this "
        "run is left out of the table"
    )
    assert rows["autoencoder"][:3] == ["autoencoder", "1", "0.0200"], rows  # the other seed


def test_a_value_of_another_kind_gives_no_speed_and_a_good_one_does(cli, tmp_path):
    out = tmp_path / "compare"
    job(out, log="epoch 1 time: training 1.5 s\nepoch 2 time: training 1.234e+01 s\n")
    shown, rows = table(cli, out)
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr  # %.4g writes 1.234e+01
    (seed,) = seeds(out)
    assert seed["training_images_per_s"] == pytest.approx(100 * 64 / (1.5 + 12.34))


def test_a_resumed_runs_speed_counts_the_steps_its_clock_timed(cli, tmp_path):
    """Stopped after 40 of an epoch's 50 steps and resumed, the epoch's clock timed 10 steps,
    and the table divided all 100 steps' images by its seconds: twice as fast as it was."""
    out = tmp_path / "compare"
    job(out, log="epoch 1 time: training 2 s for 10 steps; logging\n"
                 "epoch 2 time: training 10 s for 50 steps; logging\n")  # fmt: skip
    assert table(cli, out)[0].returncode == 0
    (seed,) = seeds(out)
    assert seed["training_images_per_s"] == pytest.approx(60 * 64 / 12)


def test_a_metric_left_out_leaves_its_cell_empty(cli, tmp_path):
    out = tmp_path / "compare"
    job(out, metrics={"pca/probe_accuracy": DROP, "floor/recall": DROP})  # KeyErrors
    shown, rows = table(cli, out)
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr
    assert rows["PCA-32"][:7] == ["PCA-32", "-", "0.0300", "", "", "", ""], rows["PCA-32"]
    assert rows["model"][6] == "linear probe"
    assert "are FD 1.50, precision 0.75, recall ." in " ".join(shown.stdout.split())


def test_a_table_of_models_that_do_not_sample_says_it_has_no_sample_metrics(cli, tmp_path):
    """The protocol read "the floors (...) are FD , precision , recall .", then "against the
    first an unrecorded number of test images"."""
    out = tmp_path / "compare"
    job(out, metrics={key: DROP for key in ("floor/fd", "floor/precision", "floor/recall")})
    shown, _ = table(cli, out)
    assert shown.returncode == 0, shown.stderr
    printed = " ".join(shown.stdout.split())
    assert "binarised figures. No model here samples: no sample metrics. PCA-32:" in printed
    assert "are FD" not in printed and "unrecorded" not in printed


def test_a_mean_beyond_a_float_sum_is_finite_and_the_same_as_fmean_otherwise(cli, tmp_path):
    from aegan.comparison import mean

    out = tmp_path / "compare"
    for seed in (0, 1):  # an OverflowError in fsum: intermediate overflow
        job(out, seed, metrics={"gen/fd": 1e308})
    shown, rows = table(cli, out)
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr
    assert f"{1e308:.2f} ({1e308:.2f}-{1e308:.2f})" in rows["autoencoder"]
    assert mean([1e308, 1.7e308, -1e308]) == pytest.approx(0.5666e308, rel=1e-3)
    for values in ([0.1, 0.2, 0.7], [1e-3, 3e-3], [-2.5, 7.0, 1e-9], [0.0, 0.0]):
        assert mean(values) == statistics.fmean(values)


def test_a_metric_that_is_nan_or_damaged_json_is_named_not_shown(cli, tmp_path):
    out = tmp_path / "compare"
    job(out, 0, metrics={"test/mse": None, "_nonfinite": {"test/mse": "nan"}})
    broken = job(out, 1)
    (broken / "metrics.json").write_text("{bad")  # was left out without a word
    shown, rows = table(cli, out)
    assert shown.returncode == 0, shown.stderr
    nan, damaged = shown.stderr.splitlines()
    assert nan.startswith(f"warning: {out}/autoencoder/0/metrics.json: test/mse=nan is not")
    assert damaged.startswith(f"warning: {broken}: metrics.json: not readable as JSON")
    assert "this run is left out of the table" in damaged
    assert rows["autoencoder"][:7] == ["autoencoder", "1", "", "", "", "", "0.800"], rows


def test_a_run_measured_on_other_weights_than_it_ended_with_is_named_and_left_out(cli, tmp_path):
    """Figures of best.pt (``aegan.evaluate checkpoint=best``) beside the others' of last.pt
    would compare two epoch budgets."""
    out = tmp_path / "compare"
    job(out, 0, metrics={"eval/step": 100})
    job(out, 1, metrics={"eval/step": 40})
    shown, rows = table(cli, out)
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr.strip() == (
        f"warning: {out}/autoencoder/1/metrics.json: its figures are of step 40, not of step 100 "
        "where training ended (evaluated again with checkpoint=best?); this run is left out of "
        "the table"
    )
    assert rows["autoencoder"][1] == "1", rows["autoencoder"]  # one seed


def test_a_run_measured_with_other_samples_or_iwae_settings_is_named_and_left_out(cli, tmp_path):
    """A seed re-evaluated with ``aegan.evaluate samples=500`` (FD's bias depends on the
    count) or another IWAE k was averaged with the others under the protocol's numbers."""
    out = tmp_path / "compare"
    iwae = {"eval/samples": 2000.0, "test/iwae_k": 64.0, "test/iwae_images": 100.0}
    job(out, 0, metrics=iwae)
    job(out, 1, metrics={**iwae, "eval/samples": 500.0, "floor/fd": 9.0})
    job(out, 2, metrics={**iwae, "test/iwae_k": 8.0})
    job(out, 3, metrics=iwae)
    shown, rows = table(cli, out)
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr.splitlines() == [
        f"warning: {out}/autoencoder/1/metrics.json: its sample metrics are of 500 samples "
        "(eval/samples), the table's of 2000; this run is left out of the table",
        f"warning: {out}/autoencoder/2/metrics.json: its IWAE bound is of k=8 on 100 test "
        "images, its model's other seeds' of k=64 on 100; this run is left out of the table",
    ]
    assert rows["autoencoder"][1] == "2", rows["autoencoder"]  # seeds 0 and 3
    printed = " ".join(shown.stdout.split())
    assert "k importance samples (k = 64 on the first 100 test images: autoencoder)" in printed
    assert "Sample metrics: 2,000 samples" in printed and "minus 2,000 held-out" in printed
    assert "are FD 1.50 (1.50-1.50)," in printed  # seed 1's floor left out with it


def test_a_run_trained_otherwise_than_the_tables_is_named_and_left_out(cli, tmp_path):
    """Seeds of 1 and 2 epochs, on 512 and 1024 images, were averaged as one model's three
    seeds: the spread read as the seeds' was the settings'."""
    out = tmp_path / "compare"
    job(out, 0, overrides=[*OVERRIDES, "data.subset=512"])
    job(out, 1, overrides=[*OVERRIDES, "data.subset=512"], metrics={"test/mse": 0.03})
    epochs = [o.replace("epochs=1", "epochs=2") for o in OVERRIDES]
    job(out, 2, overrides=[*epochs, "data.subset=512"], metrics={"test/mse": 0.5})
    job(out, 3, overrides=[*OVERRIDES, "data.subset=1024"], metrics={"test/mse": 0.5})
    shown, rows = table(cli, out)
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr.splitlines() == [
        f"warning: {out}/autoencoder/2/metrics.json: it trained 2 epochs with data.subset=512, "
        "the table's runs 1 with data.subset=512; this run is left out of the table",
        f"warning: {out}/autoencoder/3/metrics.json: it trained 1 epochs with data.subset=1024, "
        "the table's runs 1 with data.subset=512; this run is left out of the table",
    ]
    assert rows["autoencoder"][1:3] == ["2", "0.0250 (0.0200-0.0300)"]


def test_the_protocol_says_when_the_runs_depart_from_it(cli, tmp_path):
    """Runs on data.subset=2000 sat under "55,000 training images" with the difference
    in the table's last line only."""
    out = tmp_path / "compare"
    job(out, 0)
    printed = " ".join(table(cli, out)[0].stdout.split())
    assert "Protocol: Fashion-MNIST" in printed and "Not the protocol" not in printed
    shutil.rmtree(out / "autoencoder" / "0")
    for seed in (0, 1):
        job(out, seed, overrides=[*OVERRIDES, "data.subset=2000"])
    printed = " ".join(table(cli, out)[0].stdout.split())
    departs = "Protocol of the recipes, which these runs depart from (the last line says how):"
    assert f"{departs} Fashion-MNIST" in printed
    assert printed.endswith("Not the protocol: these runs also had data.subset=2000.")


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('{"model": "autoencoder", "project_images_per_sec": "fast"}',  # ValueError in format
         "line 1: project_images_per_sec='fast' is not allowed, it must be a finite number >= 0"),
        ('{"model": "autoencoder", "project_images_per_sec": 1e400}',  # printed as inf
         "line 1: project_images_per_sec=inf is not allowed"),
        ('{"model": "autoencoder", "project_images_per_sec": 1' + "0" * 400 + "}",
         "line 1: project_images_per_sec=1000"),  # an int beyond a float: OverflowError
        ('{"model": "autoencoder", "project_images_per_sec": -3}',
         "line 1: project_images_per_sec=-3 is not allowed"),
        ("[" * 100_000, "line 1 is nested too deep"),  # a RecursionError
        # an empty column, or none, where the speeds were asked for
        ("", "it holds no line of aegan.bench"),
        ('{"model": "dcgan", "project_images_per_sec": 5}', "no line gives the images/s "
         "(project_images_per_sec) of autoencoder, the models of the table; its lines are of "
         "dcgan"),
        ('{"model": "autoencoder", "error": "x"}', "no line gives the images/s"),
    ],
)  # fmt: skip
def test_a_bad_speed_line_is_one_error_line(cli, tmp_path, line, says):
    out, speed = tmp_path / "compare", tmp_path / "speed.jsonl"
    job(out)
    speed.write_text(line + "\n")
    refused, _ = table(cli, out, "--speed", str(speed))
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith(f"error: --speed {speed}: {says}"), refused.stderr
    assert len(refused.stderr.splitlines()) == 1
