"""``scripts/compare.py``: the README's model table, from real tiny sweeps of two recipes."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = [sys.executable, str(ROOT / "scripts" / "compare.py")]
TINY = ["trainer.device=cpu", "trainer.cpu_threads=1", "data.subset=1000", "data.val_size=200",
        "evaluate.metrics=[reconstruction,probe,pca]"]  # fmt: skip


def compare(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SCRIPT, *args], capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_the_table_is_the_mean_and_range_of_each_seeds_metrics(tmp_path):
    out, models = tmp_path / "compare", "autoencoder,vae"
    trained = compare("run", "--models", models, "--epochs", "1", "--seeds", "0,1",
                      "--out", str(out), *TINY)  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-2000:]
    again = compare("run", "--models", models, "--epochs", "1", "--seeds", "0,1", "--out", str(out))
    assert again.returncode == 0 and "not trained again" in again.stdout, again.stderr[-2000:]

    table = compare("table", "--out", str(out))
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


def test_a_mistake_is_one_line():
    unknown = compare("table", "--models", "autoencoder,dcgn")
    misplaced = compare("table", "data.subset=1000")
    for refused, says in ((unknown, "--models dcgn: no such model"), (misplaced, "for run only")):
        assert refused.returncode == 2 and says in refused.stderr
        assert len(refused.stderr.splitlines()) == 1, refused.stderr
