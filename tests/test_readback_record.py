"""What training records, reading the run back takes: a key of the user's own is left out
with one line, text is the text the run used (``${`` in a folder's name included), and code
comes from ``conf/`` or the user, never from the record."""

from __future__ import annotations

import copy
import logging
import shutil
from pathlib import Path

import pytest
import torch
from test_split_limits import image_folder

from aegan import load_run
from aegan.errors import CheckpointError, ConfigError
from aegan.io.files import atomic_save
from aegan.io.readback import read_json
from aegan.train import train
from conftest import TINY_AE, compose_config

RUN = [*TINY_AE, "data.subset=640", "logger=none"]


def test_a_run_with_keys_of_its_own_evaluates_and_loads(cli, tmp_path):
    """Training takes keys conf/ lacks, code keys in them included (nothing builds them):
    its run is evaluated and loaded without them, said in one line, and none runs."""
    run, touched = tmp_path / "run", tmp_path / "touched"
    own = ["+notes={_convert_:all,text:hello}", "+mine={a:{_partial_:true}}",
           f"+junk={{_target_:pathlib.Path.touch,self:{touched}}}", r"+note=\${literal}"]  # fmt: skip
    trained = cli("aegan.train", *RUN, f"hydra.run.dir={run}", *own)
    assert trained.returncode == 0, (trained.stdout + trained.stderr)[-2000:]
    evaluated = cli("aegan.evaluate", f"run={run}", "metrics=[reconstruction]")
    output = evaluated.stdout + evaluated.stderr
    assert evaluated.returncode == 0, output[-2000:]
    said = [line for line in output.splitlines() if "not in conf/ here" in line]
    assert len(said) == 1 and all(f" {key}" in said[0] for key in ("notes", "mine", "junk", "note"))
    assert "test/mse" in read_json(run / "metrics.json")
    assert "notes" not in load_run(run).config
    assert not touched.exists()


@pytest.fixture(scope="module")
def odd_folder_run(tmp_path_factory) -> tuple[Path, Path]:
    """(images, run): a run trained on an image folder whose real name holds ``${``."""
    root = tmp_path_factory.mktemp("odd")
    images = image_folder(root / "we${ird}", classes=2, per_class=20)
    data = ["data=image_folder", f"data.root={escaped(images)}", "data.image_size=16",
            "data.val_size=5", "data.test_size=5", "data.batch_size=8", "data.subset=null"]  # fmt: skip
    train(compose_config([*RUN, *data], root / "run"))
    return images, root / "run"


def escaped(path: Path) -> str:
    """``path`` as a command line names it: ``\\${`` for a ``${`` that is no interpolation."""
    return str(path).replace("${", r"\${")


def test_a_data_folder_named_with_an_interpolation_is_read_back_as_named(
    cli, odd_folder_run, tmp_path
):
    """A ``${`` in the record is the folder's real name, which the run resolved."""
    images, run = odd_folder_run[0], shutil.copytree(odd_folder_run[1], tmp_path / "run")
    evaluated = cli("aegan.evaluate", f"run={run}", "metrics=[reconstruction]")
    assert evaluated.returncode == 0, (evaluated.stdout + evaluated.stderr)[-2000:]
    assert load_run(run).config.data.root == str(images)


def test_an_override_naming_that_folder_reaches_the_run_as_typed(cli, odd_folder_run, tmp_path):
    """``overrides`` are a command line of their own: escaped there as on training's, the
    folder's name reaches the run's config as typed, and is recorded so."""
    images, run = odd_folder_run[0], shutil.copytree(odd_folder_run[1], tmp_path / "run")
    given = f"data.root={escaped(images)}"
    evaluated = cli("aegan.evaluate", f"run={run}", "metrics=[reconstruction]",
                    f'overrides=["{given}"]')  # fmt: skip
    assert evaluated.returncode == 0, (evaluated.stdout + evaluated.stderr)[-2000:]
    assert read_json(run / "metrics.json")["eval/overrides"] == f"'{given}'"
    assert load_run(run, overrides=[given]).config.data.root == str(images)


def test_code_the_model_was_built_with_is_still_refused(cli, tmp_path):
    """A model key conf/ lacks holding code built the model the run trained: rebuilt
    without it, the run would be another model; it is passed again by the user."""
    run = tmp_path / "run"
    assert cli("aegan.train", *RUN, f"hydra.run.dir={run}").returncode == 0
    path = run / "checkpoints" / "last.pt"
    state = copy.deepcopy(torch.load(path, weights_only=True))
    state["config"]["model"]["extra"] = {"_target_": "pathlib.Path.touch", "self": str(run)}
    atomic_save(state, path)
    with pytest.raises(CheckpointError, match=r"model.extra._target_ names code, which a run"):
        load_run(run)


def test_a_model_setting_holding_an_interpolation_is_refused_as_it_is(ae, tmp_path):
    """Escaped as text, it was resolved still by Hydra's instantiate of the model: the
    record's model.loss='${oc.env:HOME}' was refused as model.loss='/root', and an
    ``${oc.create:...}`` there became a config node of the record's making."""
    state = copy.deepcopy(ae[1])
    state["config"]["model"]["loss"] = "${oc.env:HOME}"
    atomic_save(state, tmp_path / "last.pt")
    with pytest.raises(CheckpointError) as refused:
        load_run(tmp_path / "last.pt")
    line = str(refused.value)
    assert "model.loss='${oc.env:HOME}' holds '${'" in line and "\n" not in line


def test_a_model_too_large_for_the_device_names_the_run_and_a_device(tmp_path, monkeypatch):
    """Sizes in a run's record are not the reader's to choose: the line names the file and
    a device with more memory; a model whose weights fit (not its training state) loads."""
    run = tmp_path / "run"
    train(compose_config(RUN, run))
    path = run / "checkpoints" / "last.pt"
    weights = sum(t.numel() * t.element_size() for t in
                  torch.load(path, weights_only=True)["networks"]["autoencoder"].values())  # fmt: skip
    monkeypatch.setattr("aegan.memory.device_memory", lambda device: 2 * weights)
    assert load_run(run).step > 0  # 4x its weights, for training, would be refused
    state = torch.load(path, weights_only=True)
    state["config"]["model"]["hidden_dims"] = [10**5]
    atomic_save(state, path)
    with pytest.raises(ConfigError) as caught:
        load_run(run)
    assert str(caught.value).startswith(f"{path}: its model's weights need ")
    assert str(caught.value).endswith("read it on a device with more memory (device=cuda:N)")


def test_a_long_key_left_out_of_a_record_is_named_in_a_short_line(ae, tmp_path, caplog):
    """A key of 100,000 characters in the record was written whole into the warning."""
    state = copy.deepcopy(ae[1])
    state["config"]["data"]["x" * 100_000] = 1
    atomic_save(state, tmp_path / "run" / "checkpoints" / "last.pt")
    with caplog.at_level(logging.WARNING, logger="aegan.runs.record"):
        load_run(tmp_path / "run")
    (line,) = [r.getMessage() for r in caplog.records if "not in conf/ here" in r.getMessage()]
    assert f"its record's data.{'x' * 95}...(100005 characters) is not in conf/" in line
    assert len(line) < 300
