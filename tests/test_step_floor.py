"""The VAE steps of ``scripts/step_floor.py``: the written-out one's hand-made gradients
are autograd's (the script checks them on its first batch and stops if they differ), and
both it and the plain autograd loop train."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch

from conftest import REPO, assert_one_error_line


def load_step_floor():
    spec = importlib.util.spec_from_file_location("step_floor", REPO / "scripts/step_floor.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_vae_steps_train_past_an_epoch():
    step_floor = load_step_floor()
    images = torch.randint(0, 256, (256, 1, 28, 28), generator=torch.Generator().manual_seed(0))
    data = SimpleNamespace(train_images=images.to(torch.uint8))
    for make in (step_floor.written_out_vae, step_floor.plain_autograd_vae):
        step = make(data)
        for _ in range(6):  # past the end of the first epoch of 4 batches
            step()


def test_a_wrong_gradient_is_caught(monkeypatch):
    step_floor = load_step_floor()
    images = torch.randint(0, 256, (128, 1, 28, 28), dtype=torch.uint8)
    real_addcmul = torch.addcmul
    monkeypatch.setattr(  # the log-variance's gradient without its path through z
        torch, "addcmul", lambda base, *args, value=1: base if value == 0.5 else real_addcmul(
            base, *args, value=value))  # fmt: skip
    with pytest.raises(AssertionError):
        step_floor.written_out_vae(SimpleNamespace(train_images=images))


def run_refused_script(script: str, tmp_path, setup: str, expected: str) -> None:
    """``scripts/SCRIPT --pairs vae`` after ``setup`` (Python run first): one error line
    holding ``expected`` and the install command, nothing trained, nothing written."""
    args = [f"scripts/{script}", "--pairs", "vae", "--out", str(tmp_path / "out.jsonl")]
    code = (f"import runpy, sys; {setup}; sys.path.insert(0, 'scripts'); "
            f"sys.argv = {args!r}; runpy.run_path(sys.argv[0], run_name='__main__')")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert_one_error_line(result, expected)
    assert ".venv/bin/pip install pythae==0.1.2" in result.stderr and result.stdout == ""
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("script", ["step_floor.py", "compare_pythae.py"])
def test_without_pythae_the_scripts_say_so_in_one_line_before_any_run(tmp_path, script):
    """Its import came when pythae's first run began: a ModuleNotFoundError traceback after
    the data was read. pythae is hidden here (an import of it fails), installed or not."""
    run_refused_script(script, tmp_path, "sys.modules['pythae'] = None",
                       "needs pythae 0.1.2, which is not installed")  # fmt: skip


@pytest.mark.parametrize("script", ["step_floor.py", "compare_pythae.py"])
def test_another_pythae_version_is_refused_in_one_line_before_any_run(tmp_path, script):
    """The figures are pythae 0.1.2's: another version's trainer and defaults differ. A
    pythae 9.9 found first on the path (a package and its pip metadata) stands in for one."""
    site = tmp_path / "site"
    (site / "pythae").mkdir(parents=True)
    (site / "pythae" / "__init__.py").write_text("")
    (site / "pythae-9.9.dist-info").mkdir()
    (site / "pythae-9.9.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: pythae\nVersion: 9.9\n"
    )
    run_refused_script(script, tmp_path, f"sys.path.insert(0, {str(site)!r})",
                       "needs pythae 0.1.2, and pythae 9.9 is installed")  # fmt: skip
