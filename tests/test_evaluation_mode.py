"""A task is measured as training's end and ``load_run`` leave it, in eval mode, whatever
mode a notebook or a custom loop holds it in; and left in that mode afterwards."""

from __future__ import annotations

from test_every_model import MODELS, TINY

from aegan.metrics.evaluation import Evaluation
from aegan.metrics.scope import Settings
from conftest import built, synthetic_data


def test_a_task_between_training_steps_is_measured_in_eval_mode(tmp_path, one_thread):
    data = synthetic_data()
    _, task, _, step = built([*TINY, *MODELS["conv_autoencoder"]], tmp_path, data=data)
    step(data.train_images[:64])  # the decoder's BatchNorm statistics leave their start
    modes = {name: [m.training for m in net.modules()] for name, net in task.networks.items()}
    in_training = Evaluation(task, data, Settings()).compute(["reconstruction"])
    assert {
        name: [m.training for m in net.modules()] for name, net in task.networks.items()
    } == modes
    task.train(False)
    assert in_training == Evaluation(task, data, Settings()).compute(["reconstruction"])
