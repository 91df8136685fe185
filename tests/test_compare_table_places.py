"""``scripts/compare.py table`` on what lies in a run's or the table's place: a folder or a link
where the table goes, runs without final metrics or outside their seeds folder, runs of another
recipe or evaluated otherwise, links to nothing. Each is named in one line; a link is replaced,
not followed."""

from __future__ import annotations

import math
import os
import sys

import pytest
from table_runs import OVERRIDES, job, seeds, table


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


def test_the_models_asked_for_without_a_finished_run_are_named_under_the_table(cli, tmp_path):
    """All ten models by default: a table of the two that had runs looked like the whole
    comparison."""
    out = tmp_path / "compare"
    job(out)
    shown, rows = table(cli, out)
    assert shown.returncode == 0 and "PCA-32" in rows and "autoencoder" in rows
    (line,) = [line for line in shown.stdout.splitlines() if line.startswith("Not in the table")]
    assert (
        line == f"Not in the table: no finished run of conv_autoencoder, vae, conv_vae, "
        f"beta_vae, dcgan, aae, bigan, vae_gan, infogan in {out}."
    )
    shown, _ = table(cli, out, "--models", "autoencoder")
    assert shown.returncode == 0 and "Not in the table" not in shown.stdout


def test_the_speed_note_names_the_file_its_figures_come_from(cli, tmp_path):
    """It said "on this 2-core CPU" of lines from any machine's file."""
    out, speed = tmp_path / "compare", tmp_path / "speed.jsonl"
    job(out)
    speed.write_text('{"model": "autoencoder", "project_images_per_sec": 12345.6}\n')
    shown, _ = table(cli, out, "--speed", str(speed))
    assert shown.returncode == 0, shown.stderr
    assert f"from {speed} (each line names its machine and date)" in shown.stdout
    assert "this 2-core CPU" not in shown.stdout
