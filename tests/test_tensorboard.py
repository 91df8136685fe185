"""TensorBoard itself sees what a run logged: a real server read over HTTP, and its hparams
plugin in this process after an evaluation."""

import io
import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from aegan.logger import TensorBoardLogger, hparams_of
from aegan.train import train
from conftest import TINY_AE


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
    groups = _get(f"{tensorboard_url}/data/plugin/hparams/session_groups", data=SESSIONS)
    assert len(groups["sessionGroups"]) == 1  # the run's one record, whatever rewrote it

    assert _get(f"{tensorboard_url}/data/plugin/projector/runs") == ["."]
    config = _get(f"{tensorboard_url}/data/plugin/projector/info?run=.")
    (codes,) = [e for e in config["embeddings"] if e["tensorName"].startswith("test_codes")]
    assert codes["sprite"]["singleImageDim"] == [28, 28]  # the sprite it serves, 8 x 8 of them
    name = urllib.parse.quote(codes["tensorName"])
    url = f"{tensorboard_url}/data/plugin/projector/sprite_image?run=.&name={name}"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert Image.open(io.BytesIO(response.read())).size == (224, 224)


ALL_STATUSES = ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]
SESSIONS = json.dumps({"experimentName": "", "allowedStatuses": ALL_STATUSES, "colParams": [],
                       "startIndex": 0, "sliceSize": 100}).encode()  # fmt: skip


def hparams_tab(logdir: Path) -> tuple[set[str], list[dict]]:
    """What the HPARAMS tab of ``tensorboard --logdir logdir`` shows, from TensorBoard's own
    hparams plugin in this process: the metrics listed, and each row's metric values."""
    experiment, groups = hparams_plugin_answers(logdir)
    rows = [{m["name"]["tag"]: m["value"] for m in group["metricValues"]} for group in groups]
    return {info["name"]["tag"] for info in experiment["metricInfos"]}, rows


def hparams_plugin_answers(logdir: Path) -> tuple[dict, list[dict]]:
    """TensorBoard's hparams plugin, in this process, on ``logdir``: its experiment (the
    hparams and metrics the tab lists) and its session groups (the rows)."""
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import hparams_plugin
    from werkzeug.test import Client

    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(logdir))
    context = base_plugin.TBContext(logdir=str(logdir), data_provider=provider,
                                    multiplexer=multiplexer)  # fmt: skip
    apps = hparams_plugin.HParamsPlugin(context).get_plugin_apps()

    def post(route: str, data: bytes) -> dict:
        response = Client(apps[route]).post(route, data=data, content_type="application/json")
        return json.loads(response.get_data())

    experiment = post("/experiment", json.dumps({"experimentName": ""}).encode())
    return experiment, post("/session_groups", SESSIONS)["sessionGroups"]


def logged_scalars(logdir: Path) -> dict[str, list[tuple[int, float]]]:
    """The scalar curves of the run in ``logdir`` itself (not its sub-runs), as (step, value)
    in the order they were logged. TensorBoard reads its event files by name, whose counter
    sorts 10 before 9: two written in one second by one process are read out of order."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(logdir)).Reload()
    return {tag: [(e.step, e.value) for e in sorted(events.Scalars(tag), key=lambda e: e.wall_time)]
            for tag in events.Tags()["scalars"]}  # fmt: skip


def test_an_evaluation_of_earlier_weights_adds_its_figures_and_repeats_no_curve(cli, make_cfg):
    """The end of training, then an evaluation of the first epoch's weights: each adds its
    own figures at the step of the weights they measured; training's curves keep one point
    per step logged, never written again (the last epoch's at the first's step, say)."""
    cfg = make_cfg(*TINY_AE, "trainer.epochs=2", "evaluate.at_end=true",
                   "evaluate.metrics=[reconstruction]")  # fmt: skip
    train(cfg)  # 31 steps an epoch
    run_dir = Path(cfg.paths.output_dir)
    first_epoch = run_dir / "checkpoints" / "step-00000031.pt"
    result = cli("aegan.evaluate", f"run={first_epoch}", "device=cpu", "metrics=[reconstruction]")
    assert result.returncode == 0, result.stderr[-3000:]

    curves = logged_scalars(run_dir / "tb")
    assert [step for step, _ in curves["val/mse"]] == [31, 62]
    assert [step for step, _ in curves["test/mse"]] == [62, 31]  # the end's, then step 31's
    recorded = json.loads((run_dir / "metrics.json").read_text())
    assert curves["test/mse"][-1][1] == pytest.approx(recorded["test/mse"], rel=1e-6)
    for tag, points in curves.items():
        steps = [step for step, _ in points]
        if tag.startswith(("train/", "val/")):
            assert steps == sorted(set(steps)), (tag, points)


def test_an_evaluation_made_again_puts_no_second_point_at_its_step(cli, make_cfg):
    """The same evaluation again (``aegan.evaluate``), or a finished run resumed (a sweep
    continued with trainer.resume=auto), logged every figure a second time at its step."""
    common = [*TINY_AE, "evaluate.at_end=true", "evaluate.metrics=[reconstruction]"]
    cfg = make_cfg(*common)
    train(cfg)  # 31 steps
    run_dir = Path(cfg.paths.output_dir)
    result = cli("aegan.evaluate", f"run={run_dir}", "device=cpu", "metrics=[reconstruction]")
    assert result.returncode == 0, result.stderr[-3000:]
    train(make_cfg(*common, "trainer.resume=auto"))  # nothing to train: evaluated again
    curves = logged_scalars(run_dir / "tb")
    assert [step for step, _ in curves["test/mse"]] == [31]
    assert [step for step, _ in curves["eval/step"]] == [31]
    assert [step for step, _ in curves["val/mse"]] == [31]


def test_the_hparams_tab_lists_every_metric_of_the_last_write_in_one_row(cli, make_cfg):
    """TensorBoard keeps the first hparams metadata a run holds: a metric that a later
    evaluation adds must still be listed, with its value, in the run's one row."""
    cfg = make_cfg(*TINY_AE)  # no evaluation at the end: val/*, train/* only
    train(cfg)
    run_dir = Path(cfg.paths.output_dir)
    assert hparams_tab(run_dir / "tb")[0] == {"val/mse", "val/best_objective", "train/epochs",
                                              "train/steps"}  # fmt: skip
    result = cli("aegan.evaluate", f"run={run_dir}", "device=cpu", "metrics=[reconstruction]")
    assert result.returncode == 0, result.stderr[-3000:]

    recorded = json.loads((run_dir / "metrics.json").read_text())
    figures = {k: v for k, v in recorded.items() if isinstance(v, float)}
    assert {"test/mse", "eval/step"} <= figures.keys()
    listed, rows = hparams_tab(run_dir / "tb")
    assert listed == figures.keys()
    (row,) = rows
    assert row == pytest.approx(figures, rel=1e-6)


def test_the_hparams_tab_of_a_sweep_shows_what_its_jobs_vary_and_every_metric(make_cfg, tmp_path):
    """Each job once wrote an experiment record listing its own settings and metrics, and
    TensorBoard shows one such record for the whole logdir: no setting marked as varying,
    so the tab ticked the first five by name (data.*) and hid the swept model.latent_dim,
    and a sweep over models listed one model's metrics only."""
    jobs = [("autoencoder", 8, {"val/mse": 0.02}), ("dcgan", 16, {"val/pixel_fd": 3.0})]
    for job, (model, latent_dim, metrics) in enumerate(jobs):
        cfg = make_cfg(*TINY_AE, f"model={model}", f"model.latent_dim={latent_dim}")
        TensorBoardLogger(tmp_path / "sweep" / str(job) / "tb").hparams(hparams_of(cfg), metrics, 1)

    experiment, groups = hparams_plugin_answers(tmp_path / "sweep")
    varying = [info["name"] for info in experiment["hparamInfos"] if info.get("differs")]
    assert {"model.latent_dim", "model.name"} <= set(varying)
    assert [info["name"] for info in experiment["hparamInfos"][: len(varying)]] == varying
    listed = {info["name"]["tag"] for info in experiment["metricInfos"]}
    assert listed == {"val/mse", "val/pixel_fd"}
    assert len(groups) == 2


def test_record_checksums_come_from_google_crc32c_and_match_tensorboards():
    import os

    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as pure
    from tensorboard.summary.writer import record_writer

    from aegan.tensorboard_writer import masked_crc32c

    assert record_writer.masked_crc32c is masked_crc32c  # patched on its import
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
