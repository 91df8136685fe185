"""`python -m aegan.train -m` writes one run dir per job, each with its metrics."""

import json
import subprocess
import sys

import torch

from conftest import REPO, TINY_AE


def test_two_value_sweep_writes_two_run_dirs(tmp_path):
    sweep_dir = tmp_path / "sweep"
    overrides = [o for o in TINY_AE if not o.startswith("data.subset")] + ["data.subset=500"]
    result = subprocess.run(
        [sys.executable, "-m", "aegan.train", "-m", "model.latent_dim=8,16", *overrides,
         f"hydra.sweep.dir={sweep_dir}", f"paths.data_dir={tmp_path / 'data'}"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    runs = sorted(p for p in sweep_dir.iterdir() if p.is_dir())
    assert [p.name for p in runs] == ["0", "1"]
    for run, latent in zip(runs, (8, 16), strict=True):
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["val/best_objective"] == metrics["val/mse"] < 0.2
        assert f"model.latent_dim={latent}" in (run / ".hydra" / "overrides.yaml").read_text()
        state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
        assert state["networks"]["autoencoder"]["encoder.3.weight"].shape == (latent, 64)
        assert state["choices"] == {"model": "autoencoder", "data": "fashion_mnist"}
