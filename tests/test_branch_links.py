"""A run resumed from an earlier step in its own folder keeps what it trained past it in
``checkpoints/past-step-N/``: the links and FIFOs a run folder may hold there are kept as
links or left out, never followed (a link to /dev/zero was copied until the disk filled)."""

from __future__ import annotations

import os
import resource
from pathlib import Path

from checkpoint_task import a_state

from aegan.engine.branch import keep_later_checkpoints
from aegan.engine.checkpoint import save_checkpoint


def test_links_and_fifos_in_the_record_are_kept_as_links_or_left_out(tmp_path):
    folder = tmp_path / "checkpoints"
    for step in (2, 4):
        save_checkpoint(a_state(step=step), folder, step=step, keep=5, is_best=False)
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "config.yaml").write_text("model: {}\n")
    os.symlink("/dev/zero", tmp_path / ".hydra" / "overrides.yaml")
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "epoch-2.png").write_bytes(b"png")
    hparams = tmp_path / "tb" / "hparams"
    hparams.mkdir(parents=True)
    (hparams / "events").write_bytes(b"e")
    os.symlink("/dev/zero", hparams / "zeros")
    os.mkfifo(hparams / "fifo")
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2**23, limit[1]))  # /dev/zero copied: EFBIG
    try:
        kept = keep_later_checkpoints(tmp_path, folder / "step-00000002.pt", step=2, epoch=1)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
    assert kept == folder / "past-step-2"
    assert (kept / ".hydra" / "config.yaml").read_text() == "model: {}\n"
    assert os.readlink(kept / ".hydra" / "overrides.yaml") == "/dev/zero"
    assert (kept / "samples" / "epoch-2.png").read_bytes() == b"png"
    assert sorted(p.name for p in (kept / "tb" / "hparams").iterdir()) == ["events", "zeros"]
    assert os.readlink(kept / "tb" / "hparams" / "zeros") == "/dev/zero"
    assert Path(folder / "last.pt").is_file()  # the folder's own until the branch saves
