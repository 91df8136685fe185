"""A real TensorBoard server, read over HTTP, sees what a training run logged."""

import io
import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from PIL import Image


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, data: bytes | None = None):
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture
def tensorboard_url(trained_ae_run):
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(trained_ae_run / "tb"),
         "--host", "127.0.0.1", "--port", str(port), "--load_fast", "false", "--reload_interval", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"{url}/data/plugin/scalars/tags"):
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tensorboard did not serve: {server.stderr.read()[-2000:]!r}")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_tensorboard_serves_scalars_images_hparams_and_projector(tensorboard_url):
    scalar_tags = _get(f"{tensorboard_url}/data/plugin/scalars/tags")["."]
    for tag in ("train/loss", "val/mse", "perf/images_per_sec", "lr/optimizer", "test/mse"):
        assert tag in scalar_tags, tag

    image_tags = _get(f"{tensorboard_url}/data/plugin/images/tags")["."]
    assert "val/reconstructions" in image_tags
    last_grid = _get(
        f"{tensorboard_url}/data/plugin/images/images?run=.&tag=val/reconstructions&sample=0"
    )[-1]
    url = f"{tensorboard_url}/data/plugin/images/individualImage?{last_grid['query']}"
    with urllib.request.urlopen(url, timeout=5) as response:
        grid = Image.open(io.BytesIO(response.read()))
    # 16 validation images over their reconstructions, 8 a row, 28 px with 2 px of padding
    assert (grid.format, grid.mode, grid.size) == ("PNG", "L", (8 * 30 + 2, 4 * 30 + 2))
    assert grid.getpixel((0, 0)) == 255  # the white padding

    experiment = _get(
        f"{tensorboard_url}/data/plugin/hparams/experiment",
        data=json.dumps({"experimentName": ""}).encode(),
    )
    hparams = {info["name"] for info in experiment["hparamInfos"]}
    metrics = {info["name"]["tag"] for info in experiment["metricInfos"]}
    assert {
        "model.latent_dim",
        "data.batch_size",
        "trainer.precision",
        "data.binarize",
        "evaluate.samples",
    } <= hparams  # a binarize or sample-count sweep told apart
    assert {"test/mse", "val/best_objective"} <= metrics

    assert _get(f"{tensorboard_url}/data/plugin/projector/runs") == ["."]
    config = _get(f"{tensorboard_url}/data/plugin/projector/info?run=.")
    assert any(e["tensorName"].startswith("test_codes") for e in config["embeddings"])


def test_record_checksums_come_from_google_crc32c_and_match_tensorboards():
    import os

    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as pure
    from tensorboard.summary.writer import record_writer

    from aegan.logger import masked_crc32c

    assert record_writer.masked_crc32c is masked_crc32c  # patched on import of aegan.logger
    for size in (0, 1, 7, 12, 100, 4099):
        data = os.urandom(size)
        assert masked_crc32c(data) == pure(data), size


@pytest.mark.parametrize("channels", [1, 3])
def test_png_grids_hold_the_pixels_rounded_to_8_bits(channels):
    import numpy as np
    import torch

    from aegan.logger import encode_png

    grid = torch.rand(channels, 30, 62, generator=torch.Generator().manual_seed(0))
    decoded = np.asarray(Image.open(io.BytesIO(encode_png(grid))))
    expected = (grid * 255).round().to(torch.uint8).permute(1, 2, 0).squeeze(-1).numpy()
    assert decoded.shape == expected.shape
    assert np.array_equal(decoded, expected)
