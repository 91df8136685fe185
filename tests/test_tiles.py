"""The image grids of TensorBoard and the notebooks, laid out as torchvision's make_grid,
and commands that never load torchvision (it imports Dynamo: seconds per process)."""

import subprocess
import sys

import pytest
import torch
from torchvision.utils import make_grid

from aegan.tiles import tile_images
from conftest import REPO


@pytest.mark.parametrize("count", [1, 2, 7, 8, 9, 16, 17])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize(("nrow", "padding"), [(8, 2), (3, 2), (16, 1), (1, 0)])
def test_the_grid_is_torchvisions(count, channels, nrow, padding):
    images = torch.rand(count, channels, 5, 4)
    ours = tile_images(images, nrow, padding=padding, pad_value=1.0)
    theirs = make_grid(images, nrow=nrow, padding=padding, pad_value=1.0)
    assert ours.shape[0] == channels  # make_grid repeats one channel three times
    assert torch.equal(ours, theirs[:channels])


def test_a_training_run_never_imports_torchvision(tmp_path):
    code = (
        "import atexit, runpy, sys\n"
        "atexit.register(lambda: print('torchvision' in sys.modules))\n"
        "sys.argv = ['aegan.train', *sys.argv[1:]]\n"
        "runpy.run_module('aegan.train', run_name='__main__')\n"
    )
    args = ["data.subset=256", "trainer.epochs=1", f"hydra.run.dir={tmp_path}/run"]
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "final metrics" in done.stdout + done.stderr  # it trained and evaluated
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_the_commands_and_notebooks_import_no_dynamo_before_their_work():
    """A mistake refused before a model is built ends without Dynamo's seconds of import
    (torch's optimizers import it: a run that trains or loads a model pays them)."""
    code = (
        "import sys\n"
        "import aegan, aegan.train, aegan.evaluate, aegan.notebook, aegan.logger\n"
        "print(sorted({'torchvision', 'torch._dynamo'} & set(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
