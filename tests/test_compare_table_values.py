"""``scripts/compare.py table`` on damaged or hostile run folders and ``--speed`` lines: a
value that is not a finite number of its kind is left out with one warning line naming its
file (a bad ``--speed`` line, one ``error:`` line), never a traceback; the files it writes
replace what is in their place, a link included, atomically."""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import sys
from pathlib import Path

import pytest

OVERRIDES = ["experiment=autoencoder_fashion_mnist", "seed={seed}", "trainer.epochs=1",
             "logger.projector_samples=0", "trainer.resume=auto", "data.batch_size=64"]  # fmt: skip
METRICS = {"test/mse": 0.02, "probe/accuracy": 0.8, "train/steps": 100.0, "pca/mse": 0.03,
           "pca/probe_accuracy": 0.7, "floor/fd": 1.5, "floor/precision": 0.75,
           "floor/recall": 0.65}  # fmt: skip
LOG = "epoch 1 time: training 2 s; logging and validation 0.1 s = 5.00% of it\n"
DROP = object()  # a metric left out of metrics.json


def job(out: Path, seed: int = 0, *, overrides=None, metrics=None, log: str = LOG) -> Path:
    """An autoencoder run as ``compare.py run`` leaves it, with ``overrides`` (the whole list)
    and ``metrics`` (changes to ``METRICS``) in place of a good run's."""
    run_dir = out / "autoencoder" / str(seed)
    (run_dir / ".hydra").mkdir(parents=True)
    given = [o.format(seed=seed) for o in (OVERRIDES if overrides is None else overrides)]
    (run_dir / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in given))
    values = {k: v for k, v in {**METRICS, **(metrics or {})}.items() if v is not DROP}
    (run_dir / "metrics.json").write_text(json.dumps(values))
    (run_dir / "train.log").write_text(log)
    return run_dir


def table(cli, out: Path, *args: str):
    """The run of ``compare.py table``, and its table: the first cell -> the row's cells."""
    shown = cli("scripts/compare.py", "table", "--out", str(out), *args)
    cells = [[c.strip() for c in r.strip("|").split("|")] for r in shown.stdout.splitlines()]
    return shown, {row[0]: row for row in cells if len(row) > 2}


def seeds(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "comparison.jsonl").read_text().splitlines()]


WITHOUT_SEED = [o for o in OVERRIDES if not o.startswith("seed=")]


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


def test_a_folder_where_the_table_goes_is_one_error_line(cli, tmp_path):
    out = tmp_path / "compare"
    job(out)
    (out / "comparison.md").mkdir()  # an IsADirectoryError
    refused, _ = table(cli, out)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith(f"error: {out / 'comparison.md'} cannot be written (")
    assert "it must be a file or nothing" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # no temp file left


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links")
def test_a_link_where_the_table_goes_is_replaced_not_followed(cli, tmp_path):
    out, precious, speed = tmp_path / "compare", tmp_path / "precious", tmp_path / "speed.jsonl"
    job(out)
    precious.write_text("keep me\n")
    for name in ("comparison.md", "comparison.jsonl"):
        os.symlink(precious, out / name)
    speed.write_text('{"model": "autoencoder", "project_images_per_sec": 12345.6}\n')
    shown, rows = table(cli, out, "--speed", str(speed))
    assert shown.returncode == 0 and rows["autoencoder"][-1] == "12,346", shown.stderr
    assert precious.read_text() == "keep me\n"  # was overwritten through the link
    for name in ("comparison.md", "comparison.jsonl"):
        assert not (out / name).is_symlink() and (out / name).is_file()
    (seed,) = seeds(out)
    assert seed["test/mse"] == 0.02 and math.isclose(seed["training_images_per_s"], 3200)


def test_a_run_without_final_metrics_or_outside_its_seeds_folder_is_named(cli, tmp_path):
    """Failed, unfinished and copied runs were left out, or counted twice, without a word."""
    import shutil

    out = tmp_path / "compare"
    job(out, 0)
    failed, unfinished = job(out, 1), job(out, 2)
    for run_dir in (failed, unfinished):
        (run_dir / "metrics.json").unlink()
    (failed / "failed.json").write_text('{"type": "ConfigError", "error": "bad"}')
    copy = shutil.copytree(out / "autoencoder" / "0", out / "autoencoder" / "0 copy")
    shown, rows = table(cli, out)
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr.splitlines() == [
        f"warning: {copy}: a run of seed 0 outside {out}/autoencoder/0, where compare.py run "
        "puts it (a copy?); this run is left out of the table",
        f"warning: {failed}: it failed (ConfigError: bad); this run is left out of the table",
        f"warning: {unfinished}: no final metrics: still training, or killed; this run is left "
        "out of the table",
    ]
    assert rows["autoencoder"][1] == "1", rows["autoencoder"]  # was 2: seed 0 twice


def test_no_finished_run_is_one_error_line_after_the_warnings(cli, tmp_path):
    out = tmp_path / "compare"
    (job(out) / "metrics.json").unlink()  # was an empty table and exit code 0
    shown, _ = table(cli, out, "--models", "autoencoder,vae")
    assert shown.returncode == 2 and shown.stdout == "", shown.stdout
    warning, error = shown.stderr.splitlines()
    assert warning.startswith(f"warning: {out}/autoencoder/0: no final metrics")
    assert error == (
        f"error: --out {out} holds no finished run of autoencoder, vae: the table reads "
        "OUT/MODEL/SEED/metrics.json, as compare.py run writes them"
    )
    assert not (out / "comparison.md").exists()


def test_a_run_evaluated_with_model_overrides_or_a_file_for_a_model_is_named(cli, tmp_path):
    """Figures of ``aegan.evaluate overrides=[...]`` passed for the recipe's, and a file in
    a model's place was skipped without a word."""
    out = tmp_path / "compare"
    job(out, 0)
    job(out, 1, metrics={"eval/overrides": "model.beta=2"})
    job(out, 2, metrics={"eval/overrides": "'data.root=/mnt/fmnist' data.download=false"})
    (out / "vae").write_text("")
    shown, rows = table(cli, out)
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr.splitlines() == [
        f"warning: {out}/autoencoder/1/metrics.json: its figures are of the model with overrides "
        "model.beta=2 (eval/overrides), not as it trained; this run is left out of the table",
        f"warning: {out}/vae: not a folder; vae is left out of the table",
    ]
    assert rows["autoencoder"][1] == "2", rows["autoencoder"]  # where the images are: kept


def test_a_link_to_nothing_in_a_models_place_is_named(cli, tmp_path):
    """A moved folder's link was skipped without a word, as if the model was never run."""
    out = tmp_path / "compare"
    job(out, 0)
    (out / "vae").symlink_to(tmp_path / "moved")
    shown, _ = table(cli, out)
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr.splitlines() == [
        f"warning: {out}/vae: not a folder; vae is left out of the table"
    ]


def test_a_run_of_another_recipe_in_a_models_place_is_named_and_left_out(cli, tmp_path):
    """The autoencoder's folder linked, or a seed copied, where the VAE's runs go: the table
    showed the autoencoder's figures in a row for the VAE; a run of no recipe passed too."""
    out = tmp_path / "compare"
    job(out, 0)
    job(out, 1, overrides=[o for o in OVERRIDES if not o.startswith("experiment=")])
    (out / "vae").symlink_to(out / "autoencoder")
    shown, rows = table(cli, out)
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr.splitlines() == [
        f"warning: {out}/autoencoder/1/.hydra/overrides.yaml: its overrides give no experiment, "
        "not autoencoder's recipe experiment=autoencoder_fashion_mnist; this run is left out "
        "of the table",
        *(f"warning: {out}/vae/{seed}/.hydra/overrides.yaml: its overrides give "
          f"{'experiment=autoencoder_fashion_mnist' if seed == 0 else 'no experiment'}, not "
          "vae's recipe experiment=vae_fashion_mnist; this run is left out of the table"
          for seed in (0, 1)),
    ]  # fmt: skip
    assert rows["autoencoder"][1] == "1" and "vae" not in rows
