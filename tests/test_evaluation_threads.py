"""Validation and evaluation run on the cores this process may use: all of them alone, its
share under torchrun, where each rank validating on every core ran 4 threads on 2."""

from __future__ import annotations

import pytest
import torch
from worker_process import EVERY_CORE

from aegan.engine.device import evaluation_threads

CPU = torch.device("cpu")


@pytest.mark.skipif(len(EVERY_CORE) < 2, reason="needs 2 cores to share")
@pytest.mark.parametrize(("processes", "share"), [(None, 1), ("2", 2), ("x", 1), ("\u00b2", 1)])
def test_evaluation_runs_on_this_process_share_of_the_cores(
    monkeypatch, every_core, one_thread, processes, share
):
    if processes is None:
        monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    else:
        monkeypatch.setenv("LOCAL_WORLD_SIZE", processes)
    with evaluation_threads(CPU):
        assert torch.get_num_threads() == max(1, every_core // share)
    assert torch.get_num_threads() == 1  # the training's again
