"""Every process of a torchrun job trains with the same settings: a value each process reads
for itself (``${oc.env:LOCAL_RANK}``) is one line naming the setting and both values, said once
for the job (every process found it), before a step is taken."""

from __future__ import annotations

import subprocess

import pytest

from aegan.engine.rank_settings import differences
from conftest import REPO, TINY_AE, torchrun_two


@pytest.mark.parametrize(
    ("setting", "message"),
    [("seed", "seed is 0 in process 0 and 1 in process 1"),  # silently other initial weights
     ("model.latent_dim", "model.latent_dim is 30 in process 0 and 31 in process 1")],  # gloo's abort
)  # fmt: skip
def test_a_setting_read_per_process_is_one_line_for_the_job(tmp_path, setting, message):
    run_dir = tmp_path / "ddp"
    value = "${oc.decode:" + ("" if setting == "seed" else "3") + "${oc.env:LOCAL_RANK}}"
    result = subprocess.run(
        [*torchrun_two(tmp_path), "-m", "aegan.train", *TINY_AE,
         "data.subset=256", f"{setting}='{value}'", f"hydra.run.dir={run_dir}",
         f"paths.data_dir={tmp_path / 'data'}"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert result.returncode != 0
    (line,) = errors  # not once per process: the same line said twice
    assert message in line and "must train with the same settings" in line, result.stderr[-3000:]
    assert "[rank0]" not in result.stderr and "[rank1]" not in result.stderr  # no traceback
    assert not list(run_dir.rglob("*.pt"))


def test_differences_name_the_dotted_key_and_both_values():
    a = {"seed": 1, "model": {"latent_dim": 8, "hidden_dims": [4]}, "paths": {"x": "a"}}
    b = {"seed": 1, "model": {"latent_dim": 8, "hidden_dims": [5]}}
    assert list(differences(a, b)) == [("model.hidden_dims", [4], [5]), ("paths", a["paths"], None)]


# ``torchrun ... late_rank_one.py [aegan.train arguments]``: rank 1 starts 2.5 s after rank 0,
# as a busy machine's imports can make it
LATE_RANK_ONE = """\
import os, time
from aegan.train import main

if os.environ["RANK"] == "1":
    time.sleep(2.5)
main()
"""


def test_the_default_run_folder_is_one_and_a_settings_warning_said_once(tmp_path):
    """``logs/train/runs/${now:...}``: each process read its own clock, and a rank that
    started a second later named (and made) a folder of its own. Every process checks the
    same settings: each printed the same warning lines. (One job for both: each takes seconds.)"""
    script = tmp_path / "late_rank_one.py"
    script.write_text(LATE_RANK_ONE)
    result = subprocess.run(
        [*torchrun_two(tmp_path), str(script), *TINY_AE,
         "data.subset=256", "trainer.channels_last=true", f"paths.log_dir={tmp_path / 'logs'}",
         f"paths.data_dir={tmp_path / 'data'}"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    folders = list((tmp_path / "logs" / "train" / "runs").iterdir())
    assert len(folders) == 1 and (folders[0] / "checkpoints" / "last.pt").is_file(), folders
    said = (result.stdout + result.stderr).count("trainer.channels_last=true has no effect")
    assert said == 1, result.stdout[-3000:]
