"""A run whose folder loses a part while it trains (a user tidying up tb/ by hand) stops
with one line naming the file as text, keeps its checkpoints, and continues as that line
says."""

import subprocess
import sys

from aegan.engine import load_checkpoint
from conftest import REPO, TINY_AE

# the training command with one change: after its first checkpoint, tb/ is removed
REMOVE_TB_AFTER_FIRST_CHECKPOINT = """
import shutil
import aegan.engine.loop as loop
from aegan.train import main

save = loop.save_checkpoint

def save_then_remove_tb(state, folder, **kwargs):
    path = save(state, folder, **kwargs)
    shutil.rmtree(folder.parent / "tb", ignore_errors=True)
    return path

loop.save_checkpoint = save_then_remove_tb
main()
"""


def test_a_removed_tb_folder_stops_in_one_line_and_the_run_continues(tmp_path):
    run = tmp_path / "run"
    driver = tmp_path / "train_then_remove_tb.py"
    driver.write_text(REMOVE_TB_AFTER_FIRST_CHECKPOINT)
    overrides = [*(o for o in TINY_AE if not o.startswith("trainer.epochs=")),
                 "trainer.epochs=2", "trainer.checkpoint_every_steps=10", f"hydra.run.dir={run}"]  # fmt: skip
    stopped = subprocess.run([sys.executable, str(driver), *overrides], cwd=REPO,
                             capture_output=True, text=True, timeout=300)  # fmt: skip
    output = stopped.stdout + stopped.stderr
    # TensorBoard's writer thread fails first, then the training thread: one line, no
    # traceback from either, the file named as a path (not b'...')
    assert stopped.returncode == 2, output[-3000:]
    assert "Traceback" not in output and stopped.stderr.count("\n") == 1, output[-3000:]
    last = run / "checkpoints" / "last.pt"
    assert stopped.stderr.startswith(f"error: No such file or directory while writing {run}/tb/")
    assert "b'" not in stopped.stderr
    assert stopped.stderr.endswith(
        f"; the last good checkpoint is {last}. Part of the run's folder was removed while it "
        f"trained; continue in its folder with trainer.resume={run} hydra.run.dir={run}\n"
    )
    step = load_checkpoint(last)["step"]

    resumed = subprocess.run(  # as the line says
        [sys.executable, "-m", "aegan.train", *overrides, f"trainer.resume={run}"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, (resumed.stdout + resumed.stderr)[-3000:]
    assert load_checkpoint(last)["step"] > step
    assert any((run / "tb").glob("events.out.tfevents.*"))
