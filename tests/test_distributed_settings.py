"""Settings and launch environments that only matter with several processes, refused in
one line before training: a batch that fits no process's shard, a process started without
the others, a port another program holds."""

from __future__ import annotations

import logging
import socket

import pytest

import aegan.engine.distributed
from aegan.engine.distributed import check_shards
from aegan.errors import ConfigError
from conftest import TINY_AE, assert_one_error_line

LAUNCHED = {"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1", "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": "1"}  # fmt: skip  # rank 1 of 2, as torchrun starts it


@pytest.mark.parametrize(
    ("settings", "message"),
    [(["data.subset=1", "data.batch_size=1"],
      "data.batch_size=1 x 2 processes is more than the training set (1 image in data.subset=1): "
      "each process draws whole batches of its 0-image shard; use at least 2 training images, "
      "or fewer processes"),
     (["data.subset=100", "data.batch_size=64"],
      "use data.batch_size <= 50, at least 128 training images, or fewer processes")],
)  # fmt: skip
def test_a_batch_that_fits_no_shard_is_one_line_before_joining(
    cli, tmp_path, monkeypatch, settings, message
):
    """Rank 1 of 2 with no rank 0 to join: refused before it waits for one."""
    for name, value in LAUNCHED.items():
        monkeypatch.setenv(name, value)
    run_dir = tmp_path / "run"
    refused = cli("aegan.train", *TINY_AE, *settings, f"hydra.run.dir={run_dir}")
    assert_one_error_line(refused, message)
    assert not (run_dir / "checkpoints").exists()


def test_the_shards_of_the_data_as_read_are_checked_the_same_way():
    """A folder's training split is known only once read: the same line."""
    check_shards(30, 2, 60, "")
    with pytest.raises(ConfigError, match=r"^data.batch_size=31 x 2 processes .* \(60 images\)"):
        check_shards(31, 2, 60, "")
    with pytest.raises(ConfigError, match="larger than the training set .60 images.; use a batch"):
        check_shards(61, 1, 60, "")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("rank", ["0", "1"])
def test_a_process_started_alone_stops_waiting_for_the_others(cli, tmp_path, monkeypatch, rank):
    """WORLD_SIZE, RANK and MASTER_* set by hand (or left from another job) without the
    other processes: rank 1 waited for a rank 0 that never came, rank 0 for a rank 1, each
    for torch's 30 minutes. Rank 1 logs errors only while it trains; the process's level is
    back after (it hid every later warning of a process that went on: a notebook's)."""
    level = logging.getLogger("aegan").level
    monkeypatch.setattr(aegan.engine.distributed, "JOIN_TIMEOUT_S", 2.0)
    port = free_port()
    for name, value in {
        **LAUNCHED,
        "RANK": rank,
        "LOCAL_RANK": rank,
        "MASTER_PORT": str(port),
    }.items():
        monkeypatch.setenv(name, value)
    run_dir = tmp_path / "run"
    refused = cli("aegan.train", *TINY_AE, f"hydra.run.dir={run_dir}")
    assert_one_error_line(
        refused,
        f"WORLD_SIZE=2: RANK={rank} waited 2 s at MASTER_ADDR=127.0.0.1 MASTER_PORT={port} for "
        "the other processes",
    )
    assert "torchrun --nproc_per_node=2 -m aegan.train" in refused.stderr
    assert not list(run_dir.rglob("*.pt"))
    assert logging.getLogger("aegan").level == level


def test_a_master_port_taken_or_not_a_port_is_one_line(cli, tmp_path, monkeypatch):
    for name, value in {**LAUNCHED, "RANK": "0", "LOCAL_RANK": "0"}.items():
        monkeypatch.setenv(name, value)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("MASTER_PORT", str(port))
        refused = cli("aegan.train", *TINY_AE, f"hydra.run.dir={tmp_path / 'run'}")
    assert_one_error_line(
        refused, f"MASTER_PORT={port} is not allowed: another program listens there"
    )
    monkeypatch.setenv("MASTER_PORT", "http")
    refused = cli("aegan.train", *TINY_AE, f"hydra.run.dir={tmp_path / 'run'}")
    assert_one_error_line(
        refused, "MASTER_PORT='http' is not allowed: it must be an integer from 1 to 65535"
    )
