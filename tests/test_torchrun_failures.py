"""A process of a torchrun job that fails ends the others: the job says why in one line,
the failed process's, and the run's failed.json holds it, not what the others died of."""

import json
import subprocess

from conftest import REPO, TINY_AE, torchrun_two

# ``torchrun ... fail_on_rank_one.py [aegan.train arguments]``: aegan.train, where rank 1
# alone finds its data file damaged (a node's own copy, say)
FAIL_ON_RANK_ONE = """\
import os
import aegan.train
from aegan.errors import DataFileError

load_data = aegan.train.load_data

def damaged_on_rank_one(*args, **kwargs):
    if os.environ["RANK"] == "1":
        raise DataFileError("/data/train-images.gz: damaged on this node")
    return load_data(*args, **kwargs)

aegan.train.load_data = damaged_on_rank_one
aegan.train.main()
"""


def test_one_process_failing_is_one_line_and_the_runs_record(tmp_path):
    """Rank 0 went on to its first gradient all-reduce and died there with gloo's
    "Connection closed by peer": a traceback of 100 lines, and failed.json named that."""
    script = tmp_path / "fail_on_rank_one.py"
    script.write_text(FAIL_ON_RANK_ONE)
    run_dir = tmp_path / "ddp"
    result = subprocess.run(
        [*torchrun_two(tmp_path), str(script), *TINY_AE,
         "data.subset=256", f"hydra.run.dir={run_dir}", f"paths.data_dir={tmp_path / 'data'}"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = result.stdout + result.stderr
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert errors == ["error: /data/train-images.gz: damaged on this node"], output[-3000:]
    assert "[rank0]" not in output and "Connection closed" not in output, output[-3000:]
    failed = json.loads((run_dir / "failed.json").read_text())
    assert failed["error"] == "/data/train-images.gz: damaged on this node"


# ``torchrun ... fail_on_rank_one_at_start.py [aegan.train arguments]``: the ``aegan-train``
# command, whose rank 1 alone refuses a setting while rank 0 takes 20 s to check them
FAIL_ON_RANK_ONE_AT_START = """\
import os, runpy, sys, time
sys.argv[0] = "aegan-train"  # the command: its stop signals are its own
import aegan.config
from aegan.errors import ConfigError

check = aegan.config.validate_config

def refused_on_rank_one(cfg, **kwargs):
    if os.environ["RANK"] == "1":
        raise ConfigError("data.root=/node/data is not allowed: it is not on this node")
    time.sleep(20)  # torchrun's agent stops this process when rank 1 has failed
    return check(cfg, **kwargs)

aegan.config.validate_config = refused_on_rank_one
runpy.run_module("aegan.train", run_name="__main__", alter_sys=True)
"""


def test_a_process_the_agent_stops_after_anothers_failure_says_nothing(tmp_path):
    """Rank 0, stopped by torchrun's SIGTERM as it started, said that it was stopped
    ("stopped by SIGTERM before the first step, ..."), under rank 1's line of why."""
    script = tmp_path / "fail_on_rank_one_at_start.py"
    script.write_text(FAIL_ON_RANK_ONE_AT_START)
    result = subprocess.run(
        [*torchrun_two(tmp_path), str(script), "trainer.device=cpu",
         f"hydra.run.dir={tmp_path / 'ddp'}", f"paths.data_dir={tmp_path / 'data'}"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == ["error: data.root=/node/data is not allowed: it is not on this node"], (
        result.stderr[-3000:]
    )
