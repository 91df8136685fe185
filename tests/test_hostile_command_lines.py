"""Hostile command lines to aegan.train, aegan.bench and aegan.evaluate: code payloads, values
of the wrong kind and output folders that cannot be made end in one line on stderr and exit code
2, before any folder or run is read."""

from __future__ import annotations

import os

import pytest

from conftest import REPO, SENTINEL_DIR, TINY_AE

SENTINEL = SENTINEL_DIR / "command-line-written"


def output(result) -> tuple[int, str]:
    """A ``cli`` result as (exit code, stderr then stdout)."""
    return result.returncode, result.stderr + result.stdout


COMMAND_LINES = [
    (["model.net._target_=os.system"], "model.net._target_=os.system"),
    (["model.net._target_=nope.Nope"], "model.net._target_=nope.Nope: no module nope can be"),
    (["model._target_=builtins.open"], "model._target_=builtins.open takes no argument name"),
    ([f"model.latent_dim={{_target_:builtins.open,file:'{SENTINEL}',mode:w}}"], "model.latent_dim"),
    (
        ["trainer.epochs=${oc.env:HOME}"],
        f"trainer.epochs='{os.environ['HOME']}' is not allowed: it must be an integer",
    ),  # as seed=${oc.env:HOME} is: text where an integer belongs
    (["evaluate.metrics=reconstruction"], "evaluate.metrics='reconstruction' is not allowed"),
    (["evaluate.metrics=[reconstruction,nope]"], "'nope' is not a metric"),
    (
        ["evaluate.metrics=[probe,reconstruction,probe]"],
        "probe is named twice; name each metric once",
    ),
    (["evaluate.metrics=[fd]"], "'fd' needs a model that can sample"),
    (["data.val_size=60000"], "data.val_size=60000 is not allowed: data=fashion_mnist has 60000"),
    (["data.batch_size=59999", "data.val_size=5000", "data.subset=null"], "data.batch_size=59999"),
    (["data.subset=100000"], "data.subset=100000 is more than the 59500 training images"),
    (["seed=18446744073709551616"], "seed=18446744073709551616 is not allowed"),
    (["model.optimizer.lr=nan"], "model.optimizer.lr=nan"),
    (["model.optimizer.lr=fast"], "model.optimizer.lr='fast'"),
    (["+model.optimizer.amsgrad=3"], "model.optimizer.amsgrad=3 is not allowed: it must be true"),
    (["+model.optimizer.capturable=yes"], "model.optimizer.capturable='yes' is not allowed"),
    (
        ["model.hidden_dims=[100000000]"],
        "choose smaller model sizes (the largest: model.hidden_dims[0]=100000000)",
    ),
    # within the range of a width, but more than torch can lay out: it named the code
    (
        ["model.hidden_dims=[2147483647,2147483647]"],
        "model.net.hidden_dims[0]=2147483647 is not allowed: a layer of model.net would be larger than torch can hold",
    ),
    (["model.net.latent_dim=3"], "conf/ sets it from model.latent_dim (32)"),
    (["trainer.cpu_threads=100000"], "trainer.cpu_threads=100000 is not allowed"),
    (["trainer.epochs=100000000"], "trainer.epochs=100000000 is not allowed"),
    (["debug=abc"], "debug='abc' is not allowed: it must be true or false"),
    (["+trainer.epoch=2"], "trainer.epoch is not a setting; did you mean trainer.epochs?"),
    (
        ["hparams_search=autoencoder_optuna"],
        "hparams_search=autoencoder_optuna is a sweep: run it with -m",
    ),
    (["+logger.foo=1"], "logger.foo is not a setting; the settings of logger are: enabled"),
    (
        ["data=image_folder", f"data.root={REPO}", "data.image_size=8", "evaluate.at_end=true"],
        "data.image_size=8 is too small for the reconstruction metric (SSIM's 11x11 window)",
    ),
    (["+evaluate.iwae=1"], "evaluate.iwae is not a setting; the settings of evaluate are: at_end"),
]


@pytest.mark.parametrize(("overrides", "message"), COMMAND_LINES)
def test_command_line_mistakes_are_one_line(cli, tmp_path, overrides, message):
    out = tmp_path / "run"
    code, err = output(cli("aegan.train", *TINY_AE, *overrides, f"hydra.run.dir={out}"))
    assert code == 2
    assert message in err and err.strip().count("\n") == 0, err
    assert "Traceback" not in err and not SENTINEL.exists()
    assert not (out / "checkpoints").exists()  # refused before any work


@pytest.mark.parametrize("multirun", [False, True])
@pytest.mark.parametrize(
    ("where", "message"),
    [("a-file", "it is a file, not a folder"),
     ("a-file/run", "{tmp}/a-file is a file, not a folder"),
     ("fifo", "it is a FIFO, not a folder"),
     ("gone", "it is a link to nothing, not a folder"),
     # a sweep ran every job, each failing in its folder, and ended "cannot be counted"
     ("a\nb", "it must be a folder path without control characters")],
)  # fmt: skip
def test_an_output_folder_that_cannot_be_made_is_one_line(cli, tmp_path, where, message, multirun):
    """A file, FIFO or link to nothing at the run's or sweep's folder was "the output folder
    cannot be created (File exists: ...)"; a line break in it was no error before the jobs."""
    (tmp_path / "a-file").write_text("")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "gone").symlink_to(tmp_path / "nothing")
    folder = f"{tmp_path}/{where}"
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    flags = ["-m", "seed=0,1"] if multirun else []
    code, err = output(cli("aegan.train", *flags, *TINY_AE, f"{key}='{folder}'"))
    assert code == 2 and err.startswith(f"error: {key}="), err
    assert message.format(tmp=tmp_path) in err and err.strip().count("\n") == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "fifo", "gone"]


@pytest.mark.parametrize(
    ("override", "message"),
    [("threads=100000", "threads=100000 is not allowed: it must be a non-empty list"),
     ("threads=[100000]", "threads[0]=100000 is not allowed"),
     ("threads=[two]", "threads[0]='two' is not allowed")],
)  # fmt: skip
def test_bench_thread_counts_are_bounded(cli, tmp_path, override, message):
    code, err = output(
        cli("aegan.bench", override, "trainer.device=cpu", f"hydra.run.dir={tmp_path}")
    )
    assert code == 2 and message in err and "Traceback" not in err, err


@pytest.mark.parametrize(
    ("override", "message"),
    [("debug=abc", "debug='abc' is not allowed"), ("cache_dir=5", "cache_dir=5 is not allowed"),
     ("overrides=[{_target_:builtins.open}]", "overrides[0]={_target_:builtins.open} is not"),
     ("metrics=reconstruction", "metrics='reconstruction' is not allowed"),
     ("samples=ten", "samples='ten' is not allowed"),
     ("overrides=['data.binarize=fixed']", "'data.binarize=fixed' is not allowed: it changes the test"),
     ("overrides=['data=mnist']", "overrides: 'data=mnist' is not allowed")],
)  # fmt: skip
def test_evaluate_settings_are_checked_before_the_run_is_read(cli, tmp_path, override, message):
    code, err = output(cli("aegan.evaluate", f"run={tmp_path / 'none'}", override))
    assert code == 2 and message in err and err.strip().count("\n") == 0, err
