"""The scripts' own options and settings (scripts/parity.py, compare_pythae.py, step_floor.py,
and the shell scripts' arguments and environment): a bad value is one ``error:`` line naming
the option, the value and what is allowed, before any run or sweep starts; where it was
argparse's usage and a line, a traceback after the data was read, or a run whose results
could not be written at the end (a folder, a FIFO at --out)."""

from __future__ import annotations

import os
import subprocess

import pytest
import torch

import aegan.signals.child_runs
from conftest import REPO, assert_one_error_line

LONG = "/" + "a" * 300  # a name longer than a file system takes


@pytest.fixture
def hostile(tmp_path):
    """A folder holding a file, a folder named as a file, a FIFO nothing writes to and a
    trained run's folder."""
    (tmp_path / "file").write_text("")
    (tmp_path / "run" / "samples").mkdir(parents=True)
    (tmp_path / "run" / "metrics.json").write_text("{}")
    (tmp_path / "link.jsonl").symlink_to(tmp_path / "run" / "metrics.json")
    (tmp_path / "folder.jsonl").mkdir()
    os.mkfifo(tmp_path / "fifo.jsonl")
    return tmp_path


CASES = [  # (script and its arguments, what the line says); {tmp}: the hostile folder
    ("parity.py nope", "argument model: invalid choice: 'nope' (choose from 'ae', 'gan')"),
    ("parity.py ae --device tpu", "argument --device: invalid choice: 'tpu'"),
    ("parity.py ae --epochs 99999999999999999999", "--epochs: '99999999999999999999' is not allowed"),
    ("parity.py ae --out {tmp}/file", "argument --out: {tmp}/file is not allowed: it is a file"),
    ("parity.py ae --out {tmp}/file/x", "--out: {tmp}/file/x is not allowed: {tmp}/file is a file"),
    ("parity.py ae --out {tmp}/fifo.jsonl", "--out: {tmp}/fifo.jsonl is not allowed: it is a FIFO, not a folder"),
    (f"parity.py ae --out {LONG}", "--out: '/aaaa"),  # an OSError traceback
    ("compare_pythae.py --seeds a,b", "argument --seeds: 'a,b' is not allowed: it must be a comma"),
    ("compare_pythae.py --vae-epochs -5", "argument --vae-epochs: '-5' is not allowed: it must be"),
    ("compare_pythae.py --gan-epochs x", "argument --gan-epochs: 'x' is not allowed"),
    ("compare_pythae.py --pairs vae,nope", "--pairs: 'vae,nope' is not allowed: it must be a comma "
     "list of distinct names from vae, aae, vae_gan, vae_gan_conv"),
    ("compare_pythae.py --out {tmp}/folder.jsonl", "--out: {tmp}/folder.jsonl is not allowed: it "
     "is a folder; name a file"),  # failed after every run
    ("compare_pythae.py --out {tmp}/fifo.jsonl", "--out: {tmp}/fifo.jsonl is not allowed: it is "
     "a FIFO; name a file"),  # waited forever after the first run
    ("compare_pythae.py --out {tmp}/file/x.jsonl", "--out: {tmp}/file/x.jsonl is not allowed: its "
     "folder cannot be {tmp}/file (it is a file, not a folder)"),
    # lines appended to a trained run's own file: its metrics.json was no longer JSON
    ("compare_pythae.py --out {tmp}/run/metrics.json", "--out: {tmp}/run/metrics.json is not "
     "allowed: it is inside the trained run {tmp}/run, which only its own run writes; name a file "
     "outside it"),
    ("step_floor.py --out {tmp}/run/samples/x.jsonl", "--out: {tmp}/run/samples/x.jsonl is not "
     "allowed: it is inside the trained run {tmp}/run"),
    ("compare_pythae.py --out {tmp}/run/../run/x.jsonl", "--out: {tmp}/run/../run/x.jsonl is not "
     "allowed: it is inside the trained run {tmp}/run"),
    ("step_floor.py --out {tmp}/link.jsonl", "--out: {tmp}/link.jsonl is not allowed: it leads "
     "inside the trained run {tmp}/run"),  # lines appended to the run's metrics.json
    ("compare_pythae.py --runs {tmp}/file", "argument --runs: {tmp}/file is not allowed: it is a"),
    ("step_floor.py --rounds 0", "argument --rounds: '0' is not allowed: it must be an integer"),
    ("step_floor.py --rounds x", "argument --rounds: 'x' is not allowed"),  # 3 lines of usage
    ("step_floor.py --pairs vae_gan_conv", "--pairs: 'vae_gan_conv' is not allowed"),
    ("step_floor.py --out {tmp}/fifo.jsonl", "--out: {tmp}/fifo.jsonl is not allowed"),
    (f"step_floor.py --out {LONG}/x.jsonl", "cannot be a folder (File name too long)"),
    ("parity.py", "the following arguments are required: model (see"),  # not the overrides
    ("probe_dcgan_gpu.py --batch 0", "argument --batch: '0' is not allowed: it must be an integer"),
    ("probe_dcgan_gpu.py --iters x", "argument --iters: 'x' is not allowed"),
    ("probe_dcgan_gpu.py --profile-only-on tpu", "argument --profile-only-on: invalid choice"),
    # an option given twice: argparse kept the last without a word
    ("compare.py run --seeds 0 --seeds 1", "argument --seeds: given twice (--seeds 0, then "
     "--seeds 1), and only one is taken; give it once (see compare.py run --help)"),
    ("compare_pythae.py --seeds=0,1 --seeds 2", "argument --seeds: given twice (--seeds 0,1, "
     "then --seeds 2)"),
    ("step_floor.py --rounds 1 --rounds 2", "argument --rounds: given twice"),
    ("parity.py ae --out {tmp}/a --out {tmp}/b", "argument --out: given twice (--out {tmp}/a, "
     "then --out {tmp}/b)"),
]  # fmt: skip


@pytest.mark.parametrize(("command", "says"), CASES, ids=[c for c, _ in CASES])
def test_a_bad_option_is_one_line_before_anything_runs(cli, hostile, monkeypatch, command, says):
    monkeypatch.syspath_prepend(str(REPO / "scripts"))  # as a script's own folder is
    commands = []
    monkeypatch.setattr(
        aegan.signals.child_runs, "run_to_its_end", lambda command, **_: commands.append(command)
    )
    script, *args = command.format(tmp=hostile).split()
    result = cli(f"scripts/{script}", *args)
    assert_one_error_line(result, says.format(tmp=hostile))
    assert not commands


def test_a_probe_device_of_neither_kind_is_one_line(cli, monkeypatch):
    """PROBE_DEVICE=tpu failed each timing in a traceback of its own, on and on."""
    monkeypatch.setenv("PROBE_DEVICE", "tpu")
    result = cli("scripts/probe_dcgan_gpu.py", "--iters", "1")
    assert_one_error_line(result, "PROBE_DEVICE='tpu' is not allowed: it must be cpu or cuda")


@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal of a machine without CUDA")
@pytest.mark.parametrize(
    ("device", "args", "says"),
    [("cuda", [], "PROBE_DEVICE=cuda: CUDA is not available here; a rehearsal runs on cpu"),
     (None, [], "PROBE_DEVICE=cuda: CUDA is not available here"),
     ("cpu", ["--profile-only-on", "cuda"], "--profile-only-on cuda: CUDA is not available here")],
)  # fmt: skip
def test_a_probe_on_cuda_without_cuda_is_one_line(cli, monkeypatch, device, args, says):
    """Each timing failed in torch's own words (Found no NVIDIA driver...), one after another."""
    if device is None:
        monkeypatch.delenv("PROBE_DEVICE", raising=False)
    else:
        monkeypatch.setenv("PROBE_DEVICE", device)
    assert_one_error_line(cli("scripts/probe_dcgan_gpu.py", "--iters", "1", *args), says)


@pytest.mark.parametrize(
    ("args", "says"),
    [(["--profile-only-on", "cpu"], "data.root=.gpu_wheels/fashion-mnist is not there"),
     (["--step", "trainer.nope=1"], "trainer.nope")],
)  # fmt: skip
@pytest.mark.skipif((REPO / ".gpu_wheels").exists(), reason="the probe's data is there")
def test_a_step_profile_that_cannot_start_is_one_line(cli, monkeypatch, args, says):
    """The data not there (the checkout's .gpu_wheels/ on a GPU machine) was a traceback."""
    monkeypatch.setenv("PROBE_DEVICE", "cpu")
    result = cli("scripts/probe_dcgan_gpu.py", "--batch", "8", *args)
    assert_one_error_line(result, says)


@pytest.mark.parametrize("script", ["parity.py ae", "compare_pythae.py", "step_floor.py"])
@pytest.mark.parametrize("value", ["a\nb", "a\x1bb", "\t"])
def test_a_control_character_in_a_path_is_refused(cli, monkeypatch, script, value):
    """A newline pasted into --out split every line that named the path; a tab alone was
    taken for a folder's name."""
    monkeypatch.syspath_prepend(str(REPO / "scripts"))
    name, *args = script.split()
    result = cli(f"scripts/{name}", *args, "--out", value)
    allowed = "without control characters" if value.strip() else "it must be a path"
    assert_one_error_line(result, f"argument --out: {value!r} is not allowed: ")
    assert allowed in result.stderr


SHELL_CASES = [  # (environment, script and arguments, what the line says)
    ({"QUICK": "yes"}, "gpu_check.sh --dry-run", "QUICK='yes' is not allowed: it must be 1"),
    ({"BUDGET_S": "8m"}, "gpu_check.sh --dry-run", "BUDGET_S='8m' is not allowed: it must be"),
    ({"BUDGET_S": "9" * 40}, "gpu_check.sh --dry-run", "it must be whole seconds in [1, 999999]"),
    ({"DEVICE": "tpu"}, "gpu_check.sh --dry-run", "DEVICE='tpu' is not allowed: it must be cpu,"),
    ({"STAGES": "gan nope"}, "gpu_check.sh --dry-run", "'nope' is not a stage; choose from"),
    ({"MUTATION_JOBS": "0"}, "mutation.sh --list", "MUTATION_JOBS='0' is not allowed"),
    ({"MUTATION_JOBS": "a\nb"}, "mutation.sh --list", "MUTATION_JOBS=$'a\\nb' is not allowed"),
    ({}, "tensorboard_screenshot.sh {tmp}/none {tmp}/x.png", "LOGDIR '{tmp}/none' is not a folder"),
    ({}, "tensorboard_screenshot.sh {tmp} {tmp}/x.jpg", "OUT.png '{tmp}/x.jpg' is not allowed"),
    ({}, "tensorboard_screenshot.sh {tmp} {tmp}/no/x.png", "there is no folder {tmp}/no"),
    ({}, "tensorboard_screenshot.sh {tmp} {tmp}/no/x.PNG", "there is no folder {tmp}/no"),
    ({}, "tensorboard_screenshot.sh {tmp} {tmp}/fifo.png", "'{tmp}/fifo.png' is not allowed: it is "
     "a FIFO, not a regular file"),
    ({}, "tensorboard_screenshot.sh {tmp} {tmp}/gone.png", "'{tmp}/gone.png' is not allowed: it is "
     "a link to nothing, not a regular file"),
    ({}, "tensorboard_screenshot.sh {tmp} {tmp}/dir.png", "'{tmp}/dir.png' is not allowed: it is "
     "a folder, not a regular file"),
    ({}, "tensorboard_screenshot.sh {tmp} {tmp}/x.png graphs", "TAB 'graphs' is not allowed"),
    ({}, "tensorboard_screenshot.sh", "tensorboard_screenshot.sh takes LOGDIR OUT.png [TAB], the first two not empty; "
     "given 0 argument(s)"),
    ({}, "tensorboard_screenshot.sh {tmp}", "given 1 argument(s): '{tmp}'"),
    ({}, "tensorboard_screenshot.sh {tmp} {tmp}/x.png scalars x", "given 4 argument(s): '{tmp}' "
     "'{tmp}/x.png' 'scalars' 'x'"),
]  # fmt: skip


@pytest.mark.parametrize(("environment", "command", "says"), SHELL_CASES,
                         ids=[f"{e} {c}" for e, c, _ in SHELL_CASES])  # fmt: skip
def test_a_shell_script_refuses_a_bad_setting_in_one_line(tmp_path, environment, command, says):
    """Each was taken as it came: QUICK=yes ran the full sizes, a budget in minutes failed
    in bash's arithmetic after the install, a screenshot of nothing was said to be written."""
    os.mkfifo(tmp_path / "fifo.png")
    (tmp_path / "dir.png").mkdir()
    (tmp_path / "gone.png").symlink_to(tmp_path / "elsewhere" / "x.png")
    script, *args = command.format(tmp=tmp_path).split()
    result = subprocess.run(["bash", f"scripts/{script}", *args], cwd=REPO, capture_output=True,
                            text=True, timeout=60, env={**os.environ, **environment})  # fmt: skip
    assert_one_error_line(result, says.format(tmp=tmp_path))
    assert result.stdout == ""
