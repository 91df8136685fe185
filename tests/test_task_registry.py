"""A task in a file of ``aegan/tasks`` that the package does not import yet: its config names
it by its module (``aegan.tasks.<file>.<Class>``), and ``aegan.tasks.<Class>`` is refused in
one line that says where the class is and the two ways to name it."""

from __future__ import annotations

import sys

import pytest
import torch

import aegan.tasks
from aegan.config import compose_config
from aegan.errors import ConfigError
from aegan.tasks import build_task

NEW_FILE = """\
from aegan.tasks.autoencoder import AutoencoderTask


class WassersteinTask(AutoencoderTask):
    pass
"""


@pytest.fixture
def new_task_file(tmp_path, monkeypatch):
    """A file of the package's that ``aegan/tasks/__init__.py`` does not import."""
    (tmp_path / "wasserstein.py").write_text(NEW_FILE)
    monkeypatch.setattr(aegan.tasks, "__path__", [*aegan.tasks.__path__, str(tmp_path)])
    yield
    sys.modules.pop("aegan.tasks.wasserstein", None)
    vars(aegan.tasks).pop("wasserstein", None)


def build(target: str):
    cfg = compose_config([f"model._target_={target}", "trainer.device=cpu"])
    return build_task(cfg.model, (1, 28, 28), torch.device("meta"))


def test_a_task_named_by_its_module_is_built(new_task_file):
    task = build("aegan.tasks.wasserstein.WassersteinTask")
    assert type(task).__module__ == "aegan.tasks.wasserstein"


def test_a_task_the_package_does_not_import_is_refused_naming_its_file(new_task_file):
    """It was "aegan.tasks has no WassersteinTask", with nothing to say where to look."""
    with pytest.raises(ConfigError) as refused:
        build("aegan.tasks.WassersteinTask")
    line = str(refused.value)
    assert "\n" not in line
    assert (
        "aegan.tasks has no WassersteinTask: it is defined in aegan.tasks.wasserstein: name it "
        "aegan.tasks.wasserstein.WassersteinTask, or import it in aegan/tasks/__init__.py"
    ) in line


def test_a_class_imported_into_a_file_is_named_where_it_is_defined():
    with pytest.raises(ConfigError, match=r"defined in aegan\.tasks\.latents: name it"):
        build("aegan.tasks.PriorEncoderDecoder")
