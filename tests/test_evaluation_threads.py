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


@pytest.mark.skipif(len(EVERY_CORE) < 2, reason="needs 2 cores to share")
def test_a_thread_count_the_user_chose_is_kept_in_evaluation(every_core, one_thread):
    """trainer.cpu_threads=1 (the README's advice on a shared machine): validation and the
    final evaluation still took every core, 3-8 times slower under other jobs' load."""
    from aegan.engine.device import threads_chosen

    with threads_chosen(True), evaluation_threads(CPU):
        assert torch.get_num_threads() == 1
    with threads_chosen(False), evaluation_threads(CPU):
        assert torch.get_num_threads() == every_core


@pytest.mark.skipif(len(EVERY_CORE) < 2, reason="needs 2 cores to share")
@pytest.mark.parametrize(
    ("chosen", "widest"), [("trainer.cpu_threads=1", 1), ("trainer.cpu_threads=null", 2)]
)
def test_a_run_validates_and_evaluates_on_the_threads_its_settings_give(
    monkeypatch, make_cfg, every_core, chosen, widest
):
    from aegan.train import train
    from conftest import TINY_AE

    counts = []
    set_threads = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (counts.append(n), set_threads(n)))
    cfg = make_cfg(*TINY_AE, "data.subset=256", "evaluate.at_end=true",
                   "evaluate.metrics=[reconstruction]", chosen)  # fmt: skip
    train(cfg)
    assert max(counts, default=torch.get_num_threads()) == min(widest, every_core), counts
