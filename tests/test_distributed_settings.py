"""Settings that only matter with several processes, refused in one line before any
process group is joined or data read: a batch that fits no process's shard."""

from __future__ import annotations

import pytest

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
