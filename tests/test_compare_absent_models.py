"""``scripts/compare.py pictures`` says which of the models asked for (all ten by default) have
no seed-0 run in ``--out``: a picture of fewer models than asked for looked like the whole
comparison, and its default file is the README's docs/images/models.png."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aegan.comparison_table import MODELS

ROOT = Path(__file__).resolve().parents[1]
TINY = ["trainer.device=cpu", "trainer.cpu_threads=1", "data.subset=500", "data.val_size=100",
        "evaluate.metrics=[reconstruction]", "logger.enabled=false"]  # fmt: skip


def compare(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "scripts" / "compare.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)


@pytest.fixture(scope="module")
def one_model(tmp_path_factory, fashion) -> Path:
    out = tmp_path_factory.mktemp("compare") / "out"
    trained = compare("run", "--models", "autoencoder", "--epochs", "1", "--seeds", "0",
                      "--out", str(out), *TINY)  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-2000:]
    return out


def test_the_picture_names_the_models_it_has_no_run_of(one_model, tmp_path):
    image = tmp_path / "models.png"
    drawn = compare("pictures", "--out", str(one_model), "--image", str(image))
    assert drawn.returncode == 0 and image.is_file(), drawn.stderr[-2000:]
    others = ", ".join(model for model in MODELS if model != "autoencoder")
    assert drawn.stderr == (
        f"warning: --out {one_model} holds no seed-0 run of {others} "
        "(MODEL/0/checkpoints/last.pt): not in the picture\n"
    )


def test_a_run_of_another_recipe_is_left_out_of_the_picture(cli, one_model, tmp_path):
    """The autoencoder's run in vae's place was drawn as "vae: 8 test images, their
    reconstructions" without a word, where the table leaves it out."""
    out, image = tmp_path / "out", tmp_path / "models.png"
    for model in ("autoencoder", "vae"):
        shutil.copytree(one_model / "autoencoder", out / model, symlinks=True)
    drawn = cli("scripts/compare.py", "pictures", "--models", "autoencoder,vae", "--out",
                str(out), "--image", str(image))  # fmt: skip
    assert drawn.returncode == 0 and image.is_file(), drawn.stderr[-2000:]
    assert drawn.stderr == (
        f"warning: {out}/vae/0/.hydra/overrides.yaml: its overrides give "
        "experiment=autoencoder_fashion_mnist, not vae's recipe experiment=vae_fashion_mnist; "
        "this run is left out of the picture\n"
    )
    image.unlink()
    refused = cli("scripts/compare.py", "pictures", "--models", "vae", "--out", str(out),
                  "--image", str(image))  # fmt: skip
    assert refused.returncode == 2 and not image.exists(), refused.stderr[-2000:]


def test_a_run_that_failed_is_left_out_of_the_picture(cli, one_model, tmp_path):
    """A seed-0 run that failed (its last weights those of the step before a NaN, say) was
    drawn as the model's, where the table leaves it out."""
    out, image = tmp_path / "out", tmp_path / "models.png"
    shutil.copytree(one_model / "autoencoder", out / "autoencoder", symlinks=True)
    job = out / "autoencoder" / "0"
    (job / "metrics.json").unlink()
    (job / "failed.json").write_text(json.dumps({"type": "NonFiniteError", "error": "loss nan"}))
    refused = cli("scripts/compare.py", "pictures", "--models", "autoencoder", "--out", str(out),
                  "--image", str(image))  # fmt: skip
    assert refused.returncode == 2 and not image.exists(), refused.stderr[-2000:]
    assert refused.stderr.startswith(
        f"warning: {job}: it failed (NonFiniteError: loss nan); this run is left out of the "
        "picture\nerror: "
    ), refused.stderr
