"""Data in a folder this user may not read: one line naming the folder, before the run's
folder is made, not a traceback from pathlib or a download into it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostile_runs import tiny_idx_folder
from omegaconf import OmegaConf
from unprivileged import failure_unprivileged, reachable_folder

from aegan.data import check_data_config, read_ahead
from aegan.runs.data import take_recorded_root

DATA = {"val_size": 64, "split_seed": 0, "subset": None, "batch_size": 32, "binarize": "none",
        "download": False}  # fmt: skip


def data_cfg(**settings):
    return OmegaConf.create({**DATA, **settings})


@pytest.mark.parametrize("mode", [0o000, 0o444], ids=["no-rights", "listed-only"])
def test_an_unsearchable_data_root_is_one_line(mode):
    with reachable_folder() as base:
        root = tiny_idx_folder(base / "idx")
        root.chmod(mode)
        cfg = data_cfg(name="fashion_mnist", root=str(root))
        failure = failure_unprivileged(lambda: check_data_config(cfg))
    assert failure == (
        f"DataNotFoundError: data.root={root}: {root} cannot be searched for IDX files "
        "(Permission denied): make it readable by this user"
    )


def test_an_unsearchable_data_dir_is_named_not_downloaded_into():
    with reachable_folder() as base:
        tiny_idx_folder(base / "MNIST" / "raw")
        (base / "MNIST").chmod(0)
        cfg = data_cfg(name="mnist", root=None, download=True)
        failure = failure_unprivileged(lambda: read_ahead(cfg, base))
    raw = Path(base) / "MNIST" / "raw"
    assert failure == (
        f"DataNotFoundError: {raw} cannot be searched for IDX files (Permission denied): make "
        "it readable by this user"
    )


def test_a_data_root_that_can_be_searched_but_not_listed_is_read():
    """Files are opened by name: a folder with only the search (x) permission holds them."""
    with reachable_folder() as base:
        root = tiny_idx_folder(base / "idx")
        root.chmod(0o111)
        cfg = data_cfg(name="fashion_mnist", root=str(root))
        assert failure_unprivileged(lambda: read_ahead(cfg, base)) is None


@pytest.mark.parametrize("locked", ["", "cifar-10-batches-py"])  # paths.data_dir, its batches
def test_unreadable_cifar10_batches_are_one_line(locked):
    """paths.data_dir without read permission was a PermissionError traceback from pathlib,
    and its batches folder 'not the published batches', to be moved away."""
    with reachable_folder() as base:
        batches = base / "cifar-10-batches-py"
        batches.mkdir()
        (base / locked).chmod(0)
        cfg = data_cfg(name="cifar10", root=None)
        failure = failure_unprivileged(lambda: read_ahead(cfg, base))
    assert failure == (
        f"DataFileError: cifar10 files in {batches} cannot be read: data_batch_1 is not "
        "readable (Permission denied); make them readable by this user"
    )


@pytest.mark.parametrize("locked", ["idx", ""], ids=["the-root", "a-folder-above-it"])
def test_a_recorded_data_root_this_user_may_not_read_is_passed_over_for_theirs(locked):
    """A run another user trained names their data folder: load_run stopped on it ("cannot be
    searched"), where a recorded folder without the data here is passed over for the reader's."""
    with reachable_folder() as base:
        root = tiny_idx_folder(base / "above" / "idx")
        (base / "above" / locked).chmod(0)
        cfg = data_cfg(name="fashion_mnist", root=str(root))

        def take() -> None:
            take_recorded_root(cfg, [], Path("RUN/checkpoints/last.pt"))
            if cfg.root is not None:
                raise AssertionError(f"kept data.root={cfg.root}")

        failure = failure_unprivileged(take)
    assert failure is None
