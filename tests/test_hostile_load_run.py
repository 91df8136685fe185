"""aegan.load_run given what it does not take (paths, overrides, search paths, inputs to
the loaded run's methods): one line each, the user's own values never blamed on the file."""

from __future__ import annotations

import math
import re

import pytest
import torch
from hostile_state import changed, saved

from aegan import load_run
from aegan.errors import CheckpointError, ConfigError


@pytest.mark.parametrize(
    ("call", "message"),
    [(lambda run: load_run(5), "path=5 is not allowed"),
     (lambda run: load_run(run, checkpoint="step-00000003"), "checkpoint='step-00000003' is not allowed; choose best or last, or give another checkpoint's .pt file as the path"),
     (lambda run: load_run(run, overrides="model.latent_dim=8"), "overrides='model.latent_dim=8'"),
     (lambda run: load_run(run, overrides=["hydra.run.dir=x"]), "'hydra.run.dir=x' is not allowed"),
     (lambda run: load_run(run, overrides=["hydra/launcher=joblib"]), "hydra settings change"),
     (lambda run: load_run(run, overrides=["trainer.epochs=-5"]), "'trainer.epochs=-5' is not allowed: a run read back trains and logs nothing"),
     (lambda run: load_run(run, overrides=["+logger.x=1"]), "so trainer and logger settings change nothing"),
     (lambda run: load_run(run, overrides=[""]), "overrides: '' is not allowed: it names no setting"),
     (lambda run: load_run(run, searchpath=[3]), "searchpath=[3] is not allowed"),
     (lambda run: load_run(run, searchpath=["nope"]), "searchpath: nope does not exist; each entry"),
     (lambda run: load_run(run, data_dir=3), "data_dir=3 is not allowed"),
     (lambda run: load_run(run, data_dir=""), "data_dir='' is not allowed"),
     (lambda run: load_run(run, figures="no"), "figures='no' is not allowed: it must be true or false"),
     (lambda run: load_run(run, figures=None), "figures=null is not allowed"),
     (lambda run: load_run(run, overrides=["=="]), "overrides: '==' is not allowed: it names no setting; write KEY=VALUE"),
     (lambda run: load_run(run, overrides=["=8"]), "overrides: '=8' is not allowed: it names no setting")],
)  # fmt: skip
def test_load_run_given_the_wrong_kind_is_one_line(ae, call, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        call(ae[0])


@pytest.mark.parametrize(
    ("use", "message"),
    [(lambda run: run.sample(-1), "n=-1"), (lambda run: run.sample(2.5), "n=2.5"),
     (lambda run: run.reconstruct(torch.zeros(2, 3, 5, 5)), "images of shape (2, 3, 5, 5)"),
     (lambda run: run.encode([1, 2]), "images of type list"),
     (lambda run: run.decode(torch.zeros(2, 7)), "codes of shape (2, 7)"),
     (lambda run: run.interpolate(torch.zeros(1, 28, 28), torch.zeros(1, 28, 28), steps=1), "steps=1"),
     (lambda run: run.interpolate(torch.zeros(1, 28, 28), torch.zeros(1, 28, 28), steps=10**12),
      "steps=1000000000000: 1000000000000 images of (1, 28, 28) take"),
     (lambda run: run.interpolate(torch.zeros(1, 28, 28), torch.zeros(2, 1, 28, 28)),
      "b of shape (2, 1, 28, 28): this run's model takes an image (1, 28, 28)"),
     # pixels the model would read at the wrong scale, silently: 0-255 as floats, int64
     (lambda run: run.encode(torch.full((2, 1, 28, 28), 255.0)), "values in [255, 255]"),
     (lambda run: run.encode(torch.full((2, 1, 28, 28), -1.0)), "values in [-1, -1]"),
     (lambda run: run.reconstruct(torch.full((2, 1, 28, 28), math.nan)), "images holding NaN or infinity: this run"),
     (lambda run: run.encode(torch.zeros(2, 1, 28, 28, dtype=torch.long)), "dtype torch.int64"),
     (lambda run: run.decode(torch.zeros(2, 32, dtype=torch.complex64)), "dtype torch.complex64"),
     (lambda run: run.decode(torch.full((2, 32), math.inf)), "codes holding NaN or infinity")],
)  # fmt: skip
def test_a_loaded_run_given_the_wrong_input_says_what_it_takes(ae, use, message):
    run = load_run(ae[0], checkpoint="last", device="cpu")
    with pytest.raises(ValueError, match=re.escape(message)):
        use(run)


def test_an_override_of_load_run_is_blamed_as_the_users(ae):
    with pytest.raises(ConfigError) as refused:
        load_run(ae[0], overrides=["model.nope=3"])
    assert "model.nope" in str(refused.value) and "searchpath" not in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    ("override", "message"),
    [("data.batch_size=1e3", "data.batch_size=1e3 is not allowed: it must be an integer"),
     ("model.hidden_dims=[64,1e3]", "model.hidden_dims[1]=1e3 is not allowed")],
)  # fmt: skip
def test_a_number_of_the_users_overrides_is_shown_as_typed(ae, override, message):
    """``data.batch_size=1000.0 is not allowed``: a number the user never wrote, where the
    command line shows its own numbers as typed."""
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_run(ae[0], overrides=[override])


@pytest.mark.parametrize(
    ("override", "message"),
    [("model.latent_dim=8", "autoencoder weights do not fit the configured model (shape differs"),
     ("model=dcgan", "a checkpoint of model=autoencoder (networks autoencoder); this model has")],
)  # fmt: skip
def test_an_override_the_weights_do_not_fit_is_blamed_as_the_users_before_the_data(
    ae, monkeypatch, override, message
):
    """It was a ``CheckpointError`` (the file named as the fault) once the data was read."""
    monkeypatch.setattr(
        "aegan.runs.data.load_data", lambda *a, **k: pytest.fail("the data was read")
    )
    with pytest.raises(ConfigError) as refused:
        load_run(ae[0], overrides=[override])
    line = str(refused.value)
    assert type(refused.value) is ConfigError and "\n" not in line
    assert line.startswith(f"overrides=['{override}'] build networks the run's weights do not fit")
    assert message in line


def test_weights_that_are_no_networks_are_the_files_fault_whatever_the_overrides(ae, tmp_path):
    nan = changed(ae[1], "networks.autoencoder", lambda s: {k: v * math.nan for k, v in s.items()})
    path = saved(nan, tmp_path)
    with pytest.raises(CheckpointError, match="weights are not finite"):
        load_run(path, overrides=["model.latent_dim=8"])


@pytest.mark.parametrize("overrides", [[], ["model.loss=bce"]])
def test_weights_their_own_record_does_not_build_are_the_files_fault(ae, tmp_path, overrides):
    """Told to "use the checkpoint's own config (aegan.load_run)", which load_run had done."""
    half = changed(ae[1], "networks.autoencoder", lambda s: {k: v.half() for k, v in s.items()})
    with pytest.raises(CheckpointError) as refused:
        load_run(saved(half, tmp_path), overrides=overrides)
    assert "dtype differs" in str(refused.value) and "aegan.load_run" not in str(refused.value)
    assert "its own record builds that model, so the file was changed" in str(refused.value)


@pytest.mark.parametrize(
    ("override", "message"),
    [("model.latent_dim=abc", "model.latent_dim='abc' is not allowed: it must be an integer"),
     ("model.hidden_dims=[64,x]", "model.hidden_dims[1]='x' is not allowed"),
     ("model.optimizer={lr: abc}", "model.optimizer.lr='abc' is not allowed"),
     ("model.net.latent_dim=8", "conf/ sets it from model.latent_dim (32)")],
)  # fmt: skip
def test_a_value_of_the_users_overrides_is_not_blamed_on_the_checkpoint(
    ae, tmp_path, override, message
):
    """``CheckpointError: .../last.pt: model.latent_dim='abc' is not allowed``: the user's
    own override was named as the file's damage. A value from the record still names it."""
    with pytest.raises(ConfigError, match=re.escape(message)) as refused:
        load_run(ae[0], overrides=[override])
    assert type(refused.value) is ConfigError and "last.pt" not in str(refused.value)
    path = saved(changed(ae[1], "config.model.latent_dim", "abc"), tmp_path)
    with pytest.raises(CheckpointError, match=re.escape(f"{path}: model.latent_dim='abc'")):
        load_run(path, overrides=["model.loss=bce"])  # another key's override: still the file's


@pytest.mark.parametrize(
    ("override", "message"),
    [("evaluate.samples=-1", "so evaluate.samples would change nothing; aegan.evaluate takes "
                             "the evaluation's settings at the top level"),
     ("seed=3", "so seed would change nothing; Run.sample takes its own seed=..."),
     ("+notes=first try", "so notes would change nothing")],
)  # fmt: skip
def test_an_override_nothing_reads_back_is_one_line(ae, override, message):
    """Accepted and unread, as trainer.* was: evaluate.samples=-1 passed without a word."""
    with pytest.raises(ConfigError) as caught:
        load_run(ae[0], overrides=[override])
    assert str(caught.value) == (
        f"overrides: {override!r} is not allowed: a run read back is built from its model, "
        f"data and paths settings alone, {message}"
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [("~model", "overrides: ~model is not allowed: every run reads model; choose one of its "
                "options with model=NAME"),
     ("~data=fashion_mnist", "overrides: ~data=fashion_mnist is not allowed: every run reads data"),
     ("~paths", "overrides: ~paths is not allowed: every run reads paths"),
     ("~paths.data_dir", "paths.data_dir is not set (deleted with ~paths.data_dir?)"),
     ("~data.val_size", "data.val_size is not set (deleted with ~data.val_size?)")],
)  # fmt: skip
def test_an_override_deleting_what_a_run_is_rebuilt_from_is_one_line(ae, override, message):
    """``~model`` or ``~paths.data_dir`` among the overrides ended in OmegaConf's traceback
    ("Key 'model' is not in struct"), from load_run and from aegan.evaluate alike."""
    with pytest.raises(ConfigError) as caught:
        load_run(ae[0], overrides=[override])
    assert str(caught.value).startswith(message)
