"""A checkpoint's check against its run's record (``check_in_its_run``): a record that is no
regular file (a FIFO, a folder, a link to a device) or is damaged (not YAML, or YAML that is
no composed config: a list, an empty file, a model that is no mapping) leaves the
checkpoint's own record to rebuild the run, said in one warning line naming it, and is never
opened to wait on."""

from __future__ import annotations

import logging
import os
import signal

import pytest

from aegan.engine.run_record import check_in_its_run
from aegan.errors import CheckpointError

STATE = {"choices": {"model": "autoencoder"}}


def _fifo(path):
    os.mkfifo(path)


def _folder(path):
    path.mkdir()


def _device(path):
    path.symlink_to(os.devnull)


def _damaged(path):
    path.write_text("model: [\n")


def _not_a_mapping(path):
    path.write_text("- model\n- name\n")


def _empty(path):
    path.write_text("")


def _model_a_list(path):
    path.write_text("model: [vae]\n")


def _name_a_number(path):
    path.write_text("model:\n  name: 5\n")


@pytest.mark.parametrize(
    "make",
    [_fifo, _folder, _device, _damaged, _not_a_mapping, _empty, _model_a_list, _name_a_number],
)
def test_a_record_that_cannot_be_read_is_one_warning(tmp_path, caplog, make):
    (tmp_path / ".hydra").mkdir()
    record = tmp_path / ".hydra" / "config.yaml"
    make(record)
    signal.alarm(20)  # a FIFO opened to read would wait for a writer forever
    try:
        with caplog.at_level(logging.WARNING):
            check_in_its_run(tmp_path / "checkpoints" / "last.pt", STATE)
            check_in_its_run(tmp_path / "checkpoints" / "best.pt", STATE)  # said once
    finally:
        signal.alarm(0)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{record}: ") and "not compared with" in lines[0]


def test_a_folder_without_a_record_is_not_warned_of(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        check_in_its_run(tmp_path / "checkpoints" / "last.pt", STATE)
    assert not caplog.records


@pytest.mark.parametrize("data", ["mnist", None])
def test_a_checkpoint_of_other_data_is_not_taken_for_the_runs(tmp_path, data):
    """Only the model was compared: another run's checkpoint of the same model trained on
    other images was evaluated and loaded as this run's."""
    (tmp_path / ".hydra").mkdir()
    record = tmp_path / ".hydra" / "config.yaml"
    record.write_text("model:\n  name: autoencoder\ndata:\n  name: fashion_mnist\n")
    path = tmp_path / "checkpoints" / "last.pt"
    with pytest.raises(CheckpointError) as caught:
        check_in_its_run(path, {"choices": {"model": "autoencoder", "data": data}})
    of = f"of data={data}" if data else "that names no data"
    verdict = "not" if data else "not known to be"
    assert str(caught.value) == (
        f"{path}: a checkpoint {of}, in the folder of a run of data=fashion_mnist ({record}); "
        f"it is {verdict} this run's: move it away, or name the run it came from"
    )
    check_in_its_run(path, {"choices": {"model": "autoencoder", "data": "fashion_mnist"}})
