"""A run started on a full disk: its first write (the record in .hydra/) is one line naming
the file and what to do, not a traceback, and no logging error after it. The disk is a
small tmpfs of a private mount namespace (``unshare``), skipped where none can be made."""

import shutil
import subprocess
import sys

import pytest

from conftest import REPO, TINY_AE

FULL_DISK_RUN = """
mount -t tmpfs -o size=64k tmpfs "$1" || exit 99
head -c 1000000 /dev/zero > "$1/filler" 2>/dev/null
shift
exec "$@"
"""


def test_a_run_on_a_full_disk_is_one_line_naming_its_first_write(tmp_path):
    if shutil.which("unshare") is None:
        pytest.skip("no unshare to make a small disk")
    disk = tmp_path / "disk"
    disk.mkdir()
    run_dir = disk / "run"
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", FULL_DISK_RUN, "sh", str(disk), sys.executable, "-m",
         "aegan.train", *TINY_AE, f"hydra.run.dir={run_dir}"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if result.returncode == 99 or "unshare:" in result.stderr:
        pytest.skip(f"no private tmpfs here: {result.stderr.strip()[:200]}")
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr == (
        f"error: No space left on device while writing {run_dir}/.hydra/config.yaml; no "
        "checkpoint was written yet. Make room, then run the same command again\n"
    )
