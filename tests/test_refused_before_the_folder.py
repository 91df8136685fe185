"""A run that cannot work is refused before Hydra makes its folder: no folder, no
``failed.json`` listing it as failed, no train.log; and no run goes inside a trained run's
folder, where its files would mix with that run's."""

from __future__ import annotations

from pathlib import Path

import pytest

from aegan.train import train
from conftest import TINY_AE, TINY_GAN, assert_one_error_line, compose_config


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("refused-before") / "base"
    train(compose_config(TINY_AE, run))
    return run


@pytest.mark.parametrize(
    ("overrides", "message"),
    [(["data.name=mnist"], "data.name='mnist' is not allowed: it must be 'fashion_mnist'"),
     (["model.name=vae"], "model.name='vae' is not allowed: it must be 'autoencoder'"),
     (["data.root={empty}"], "lacks fashion_mnist IDX files"),
     (["trainer.resume={junk}"], "junk.pt: not a readable checkpoint"),
     (["trainer.resume={base}", "model=vae"], "a checkpoint of model=autoencoder, not model=vae"),
     (["trainer.resume={base}", "model.latent_dim=16"], "weights do not fit the configured model"),
     # data found nowhere, known missing before the run: refused once its folder was made
     (["data=cifar10", "data.download=false", "paths.data_dir={empty}"],
      "cifar10 data not found in {empty}"),
     (["data=mnist", "data.download=false", "paths.data_dir={empty}"],
      "mnist data not found: looked in {empty}/MNIST/raw")],
)  # fmt: skip
def test_a_run_that_cannot_work_leaves_no_folder(cli, trained, tmp_path, overrides, message):
    """Each was refused in one line, after its folder was made: a folder holding a
    failed.json that listed a run that never started as failed."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint" * 64)
    paths = {"empty": tmp_path / "empty", "junk": tmp_path / "junk.pt", "base": trained}
    given = [o.format(**paths) for o in overrides]
    result = cli("aegan.train", *TINY_AE, *given, f"hydra.run.dir={tmp_path / 'new'}")
    assert_one_error_line(result, message.format(**paths))
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("model", ["dcgan", "infogan"])
def test_a_gan_whose_generator_would_never_step_is_refused(cli, tmp_path, model):
    """G steps every n_critic-th batch: with fewer batches in the whole run, the run trained
    D alone and measured an untrained G's samples, without a word."""
    tiny = [o for o in TINY_GAN if not o.startswith("model.")]  # the DCGAN's own sizes
    result = cli("aegan.train", *tiny, f"model={model}", "data.subset=256", "model.n_critic=5",
                 f"hydra.run.dir={tmp_path / 'new'}")  # fmt: skip
    assert_one_error_line(
        result, "model.n_critic=5 is not allowed with 4 training steps (trainer.epochs x the "
        "data's batches): G steps once every n_critic batches, so it would never train; use "
        "model.n_critic <= 4, or more epochs"
    )  # fmt: skip
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("below", [".hydra", "checkpoints", "tb", "sub/deeper"])
def test_no_run_trains_inside_a_trained_runs_folder(cli, trained, below):
    """Only the run's folder itself was refused: a run in its .hydra/ or checkpoints/
    trained there, its files among the trained run's."""
    before = sorted(p.relative_to(trained) for p in trained.rglob("*"))
    result = cli("aegan.train", *TINY_AE, f"hydra.run.dir={trained / below}")
    assert_one_error_line(
        result, f"hydra.run.dir={trained / below} is inside the trained run {trained}; choose"
    )
    assert sorted(p.relative_to(trained) for p in trained.rglob("*")) == before


def test_no_sweep_goes_into_a_trained_runs_folder(cli, trained):
    before = sorted(p.relative_to(trained) for p in trained.rglob("*"))
    result = cli("aegan.train", "-m", *TINY_AE, "seed=0,1", f"hydra.sweep.dir={trained}")
    assert_one_error_line(result, f"hydra.sweep.dir={trained} holds a trained run; choose")
    assert sorted(p.relative_to(trained) for p in trained.rglob("*")) == before


@pytest.mark.parametrize(
    ("module", "args", "message"),
    [("aegan.train", ["hydra.run.dir={run}"], "already holds a trained run"),
     ("aegan.train", ["hydra.run.dir={run}", "trainer.resume=auto", "seed=3"],
      "was trained with other settings (seed=0 there, 3 here)"),
     ("aegan.train", ["hydra.run.dir={run}", "trainer.resume=auto", "model.latent_dim=8"],
      "was trained with other settings (model.latent_dim=32 there, 8 here"),
     ("aegan.train", ["hydra.run.dir={run}", "trainer.resume=auto", "data.subset=null"],
      "other settings (data.subset=2000 there, null here)"),  # as typed, not Python's None
     ("aegan.evaluate", ["run={run}", "samples=0"], "samples=0 is not allowed"),
     ("aegan.evaluate", ["run={run}", "checkpoint=middle"], "checkpoint='middle' is not allowed"),
     ("aegan.evaluate", ["run={run}", "metrics=[fd]"], "'fd' needs a model that can sample")],
)  # fmt: skip
def test_a_refused_command_writes_nothing_in_the_trained_run(cli, trained, module, args, message):
    """Each was refused after Hydra had opened its log in the run's folder: a line in the
    trained run's train.log (trainer.resume=auto too, checked in the job), or an
    evaluate.log for an evaluation that never ran."""
    before = {p.relative_to(trained): p.read_bytes() for p in trained.rglob("*") if p.is_file()}
    extra = TINY_AE if module == "aegan.train" else []
    result = cli(module, *extra, *(a.format(run=trained) for a in args))
    assert_one_error_line(result, message)
    after = {p.relative_to(trained): p.read_bytes() for p in trained.rglob("*") if p.is_file()}
    assert after == before


def test_a_sweep_continued_with_other_settings_starts_no_job(cli, tmp_path):
    """``trainer.resume=auto`` held each job to its folder's run in the job: job 0 was
    refused with a line in its trained run's train.log, and every other job likewise."""
    sweep = tmp_path / "sweep"
    command = ["aegan.train", "-m", *TINY_AE, "data.subset=640", "seed=0,1",
               f"hydra.sweep.dir={sweep}"]  # fmt: skip
    first = cli(*command)
    assert first.returncode == 0, first.stderr[-2000:]
    before = {p.relative_to(sweep): p.read_bytes() for p in sweep.rglob("*") if p.is_file()}
    result = cli(*command[:-3], "data.subset=700", *command[-2:], "trainer.resume=auto")
    assert_one_error_line(
        result, f"job 0 of 2 (seed=0): trainer.resume=auto: {sweep}/0/checkpoints/last.pt was "
        "trained with other settings (data.subset=640 there, 700 here); choose another "
        "hydra.sweep.dir, or trainer.resume="
    )  # fmt: skip
    assert "no job was started" in result.stderr
    after = {p.relative_to(sweep): p.read_bytes() for p in sweep.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.parametrize(
    ("classes", "message"),
    [(0, "(60 images): it holds one class, so every label is the same"),
     (12, "with 12 classes: the mixture has 10 components")],
)  # fmt: skip
def test_a_label_prior_on_data_it_cannot_label_is_refused_before_the_folder(
    cli, tmp_path, classes, message
):
    """An image folder's classes are listed before it is read: a flat folder (one class, no
    labels) trained with every code matched to one component, without a word; twelve
    classes were refused once the folder was made and the images read."""
    from PIL import Image

    root = tmp_path / "images"
    for index in range(60):
        folder = root / (f"c{index % classes}" if classes else "")
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("L", (8, 8), index).save(folder / f"{index}.png")
    data = ["data=image_folder", f"data.root={root}", "data.image_size=8", "data.channels=1",
            "data.val_size=12", "data.test_size=12", "data.batch_size=8", "data.subset=null"]  # fmt: skip
    tiny = [o for o in TINY_AE if not o.startswith("data.")]
    result = cli("aegan.train", *tiny, *data, "model=aae", "model.prior=mixture",
                 "model.label_prior=true", f"hydra.run.dir={tmp_path / 'new'}")  # fmt: skip
    assert_one_error_line(result, message)
    assert not (tmp_path / "new").exists()


def test_a_run_folder_with_a_line_break_is_refused_before_it_is_made(cli, tmp_path):
    """Hydra made it, and the job then refused paths.output_dir, a setting never given."""
    result = cli("aegan.train", *TINY_AE, f"hydra.run.dir='{tmp_path}/a\nb'")
    assert_one_error_line(result, f"hydra.run.dir='{tmp_path}/a\\nb' is not allowed: it must be")
    assert list(tmp_path.iterdir()) == []


NOT_UTF8 = "/tmp/fashion-\udcff"  # the byte 0xff of a folder's name, as Python reads it


@pytest.mark.parametrize(
    ("command", "key"),
    [(["aegan.train", *TINY_AE, f"data.root='{NOT_UTF8}'", "hydra.run.dir={new}"], "data.root"),
     (["aegan.train", "-m", *TINY_AE, f"data.root='{NOT_UTF8}'", "seed=0,1",
       "hydra.sweep.dir={new}"], "data.root"),
     (["aegan.evaluate", f"run='{NOT_UTF8}'"], "run"),
     (["aegan.train", *TINY_AE, f"hydra.run.dir='{NOT_UTF8}'"], "hydra.run.dir"),
     (["aegan.train", "-m", *TINY_AE, "seed=0,1", f"hydra.sweep.dir='{NOT_UTF8}'"],
      "hydra.sweep.dir")],
)  # fmt: skip
def test_a_setting_of_bytes_that_are_not_utf8_is_refused_before_the_folder(
    cli, tmp_path, command, key
):
    """Its run trained, but its record (.hydra/overrides.yaml) could not be read back: its
    sweep listed every job BROKEN. An evaluation failed in TensorBoard's writer, after the
    whole evaluation, in a traceback."""
    result = cli(*(part.format(new=tmp_path / "new") for part in command))
    assert_one_error_line(
        result, f"{key}='/tmp/fashion-\\xff' is not allowed: it holds bytes that are not UTF-8"
    )
    assert not (tmp_path / "new").exists() and not Path(NOT_UTF8).exists()


@pytest.mark.parametrize(
    ("model", "layer"),
    [("dcgan", "generator.project.1"), ("conv_autoencoder", "autoencoder.decoder.project.1"),
     ("vae_gan", "decoder.project.1")],
)  # fmt: skip
def test_batches_of_one_image_for_batch_norm_are_refused_before_the_folder(
    cli, tmp_path, model, layer
):
    """The DCGAN generator's first step failed in torch's traceback ("Expected more than 1
    value per channel when training"), after the run's folder was made."""
    result = cli("aegan.train", *TINY_AE, f"model={model}", "data.batch_size=1",
                 f"hydra.run.dir={tmp_path / 'new'}")  # fmt: skip
    assert_one_error_line(
        result, f"data.batch_size=1 is not allowed for {model}: its {layer} is a BatchNorm layer"
    )
    assert not (tmp_path / "new").exists()
