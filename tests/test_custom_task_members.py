"""A model of the user's own whose members or figures break the task contract in ways a
newcomer writes them: one line naming the task and what is allowed, or a run that works."""

from __future__ import annotations

import itertools

import pytest
import torch
from custom_task import LinearAutoencoder, toy_config, write_user_configs
from omegaconf import OmegaConf

from aegan.contract import CALLS, LIMITABLE
from aegan.errors import ConfigError, ContractError
from aegan.metrics.registry import METRICS
from aegan.speed import _active_switches
from aegan.tasks.latents import PriorEncoderDecoder
from aegan.train import train

HERE = __name__  # the module that holds the tasks the configs name


@pytest.fixture
def user_configs(tmp_path) -> str:
    return write_user_configs(tmp_path)


class MisspellsALimit(LinearAutoencoder):
    limits = {"capture-step": "its step reads the host"}


class LimitsTorchrunWithASpace(LinearAutoencoder):
    limits = {"torchrun ": "one process only"}


class GivesNoReasonForALimit(LinearAutoencoder):
    limits = {"capture_step": None}


class ObjectiveOfTheEngines(LinearAutoencoder):
    objective = "val/best_objective"


class BuildsNoOptimizer(LinearAutoencoder):
    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.optimizers = {}


class SetsALearningRateAsText(LinearAutoencoder):
    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.optimizers["adam"].param_groups[0]["lr"] = "0.01"


class SetsAmsgradAsANumber(LinearAutoencoder):
    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        self.optimizers["adam"].add_param_group({"params": [], "amsgrad": 1})


def assert_refused_as_built(task: type, line: str, user_configs, tmp_path) -> None:
    """Training ``task`` is refused with ``line`` as it is built, before its run's folder."""
    target = f"model._target_={HERE}.{task.__name__}"
    with pytest.raises(ConfigError) as refused:
        train(toy_config(user_configs, tmp_path / "run", target))
    prefix = f"model._target_={HERE}.{task.__name__} is not a task (aegan.contract.Task): "
    assert str(refused.value).startswith(prefix + line)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("task", "line"),
    [(SetsALearningRateAsText, "its optimizers['adam'] param group 0 has lr='0.01', not a "
      "number as its default 0.01"),
     (SetsAmsgradAsANumber, "its optimizers['adam'] param group 1 has amsgrad=1, not true or "
      "false as its default False"),
     (MisspellsALimit, "its limits name 'capture-step', not a switch; choose from: "
      f"{', '.join(LIMITABLE)}"),
     (LimitsTorchrunWithASpace, "its limits name 'torchrun ', not a switch; choose from: "),
     (GivesNoReasonForALimit, "its limits['capture_step'] is None, not a reason in words"),
     (BuildsNoOptimizer, "its optimizers are empty: nothing would train"),
     (ObjectiveOfTheEngines, "its objective is 'val/best_objective'; it must be a key of what "
      "its validate returns, starting with 'val/', other than 'val/best_objective'")],
)  # fmt: skip
def test_a_limit_or_an_optimizer_set_wrong_is_refused_before_its_folder(
    user_configs, tmp_path, task, line
):
    """A misspelt switch in limits matched none, so the run it was to refuse went on; a
    task with no optimizer failed in its own step with a KeyError traceback, its folder
    made; an objective named as the engine's best was refused only an epoch in."""
    assert_refused_as_built(task, line, user_configs, tmp_path)


class LogsEpochsWithoutTheData(LinearAutoencoder):
    def log_epoch(self, logger, step) -> None:
        pass


class SamplesWithoutAGenerator(LinearAutoencoder):
    def sample(self, n):
        return self.decode(torch.randn(n, self.latent_dim))


class KeepsNoCodeWidth(PriorEncoderDecoder, LinearAutoencoder):
    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        del self.latent_dim  # kept by its network alone


@pytest.mark.parametrize(
    ("task", "line"),
    [(LogsEpochsWithoutTheData, "its log_epoch(logger, step) cannot be called as "
      "log_epoch(logger, data, step) (too many positional arguments)"),
     (SamplesWithoutAGenerator, "its sample(n) cannot be called as sample(n, generator)"),
     (KeepsNoCodeWidth, "its latent_dim is None, not the width of the codes its sample draws")],
)  # fmt: skip
def test_a_method_that_cannot_take_its_call_is_refused_before_its_folder(
    user_configs, tmp_path, task, line
):
    """A log_epoch written as (logger, step) failed an epoch in, a sample without the
    generator after training: a TypeError in Python's words, the call it must take unsaid;
    a sample of PriorEncoderDecoder's without latent_dim, an AttributeError."""
    assert_refused_as_built(task, line, user_configs, tmp_path)


def test_every_method_a_metric_needs_is_one_whose_call_is_checked():
    """A metric's need missing from aegan.contract.CALLS is a method whose arguments no
    one checks, and that a new model learns only after training."""
    needs = {need for metric in METRICS.values() for need in metric.needs}
    assert needs <= set(CALLS)


def test_every_switch_the_speed_code_checks_is_one_limits_may_name():
    """The names a task's limits are held to are those that the speed code compares them
    with: a switch missing here could not be limited at all."""
    produced = set()
    for capture, compile_mode, scope, channels_last, world_size in itertools.product(
        (False, True), ("none", "default"), ("network", "step"), (False, True), (1, 2)
    ):
        trainer = OmegaConf.create(
            {"capture_step": capture, "compile": compile_mode, "compile_scope": scope,
             "channels_last": channels_last}
        )  # fmt: skip
        produced.update(_active_switches(trainer, world_size))
    assert produced == set(LIMITABLE)


class NamesAFigureOutsideValidation(LinearAutoencoder):
    def validate(self, batches, amp) -> dict[str, float]:
        return {**super().validate(batches, amp), "mse_per_pixel": 0.1}


def test_a_validation_figure_not_named_val_is_refused_at_the_first_epoch(user_configs, tmp_path):
    """A figure of validate's without val/ was logged and then left out of metrics.json,
    which keeps training's figures by that prefix: a run that lost it, said nowhere."""
    target = f"model._target_={HERE}.NamesAFigureOutsideValidation"
    with pytest.raises(ContractError) as refused:
        train(toy_config(user_configs, tmp_path / "run", target))
    assert str(refused.value).startswith(
        "NamesAFigureOutsideValidation.validate returned the name 'mse_per_pixel'; its figures "
        "are named val/..."
    )


class ZeroesItsBatches(LinearAutoencoder):
    seen: list[int] = []

    @torch.no_grad()
    def validate(self, batches, amp) -> dict[str, float]:
        batches = list(batches)
        figures = super().validate(batches, amp)
        ZeroesItsBatches.seen.append(sum(int(batch.sum()) for batch in batches))
        for batch in batches:
            batch.zero_()  # a forward that works in place on what it is given
        return figures


def test_a_validate_that_changes_its_batches_leaves_the_next_epochs_images_alone(
    user_configs, tmp_path
):
    """Validation's batches were views of the run's images: a task that changed one in
    place changed what every later epoch validated on, its objective and best.pt with it."""
    ZeroesItsBatches.seen.clear()
    target = f"model._target_={HERE}.ZeroesItsBatches"
    train(toy_config(user_configs, tmp_path / "run", target, "trainer.epochs=2",
                     "evaluate.at_end=false"))  # fmt: skip
    assert len(ZeroesItsBatches.seen) == 2 and ZeroesItsBatches.seen[0] > 0
    assert ZeroesItsBatches.seen[1] == ZeroesItsBatches.seen[0]


class LogsItsLossAsValidation(LinearAutoencoder):
    def train_step(self, batch, amp) -> dict[str, torch.Tensor]:
        return {"val/mse": super().train_step(batch, amp)["train/loss"]}


class LogsTheLoopsThroughput(LinearAutoencoder):
    def train_step(self, batch, amp) -> dict[str, torch.Tensor]:
        loss = super().train_step(batch, amp)["train/loss"]
        return {"train/loss": loss, "perf/images_per_sec": loss}


class CountsItsOwnSkippedSteps(LinearAutoencoder):
    def train_step(self, batch, amp) -> dict[str, torch.Tensor]:
        loss = super().train_step(batch, amp)["train/loss"]
        return {"train/loss": loss, "train/skipped_steps": torch.zeros(())}


@pytest.mark.parametrize(
    ("task", "name"),
    [(LogsItsLossAsValidation, "val/mse"), (LogsTheLoopsThroughput, "perf/images_per_sec"),
     (CountsItsOwnSkippedSteps, "train/skipped_steps")],
)  # fmt: skip
def test_a_step_scalar_named_as_another_curve_is_refused_at_the_first_step(
    user_configs, tmp_path, task, name
):
    """A step scalar named val/... drew training's values into validation's curve; one named
    as the loop's own (perf/, lr/, train/skipped_steps) was overwritten by it, unsaid."""
    target = f"model._target_={HERE}.{task.__name__}"
    with pytest.raises(ContractError) as refused:
        train(toy_config(user_configs, tmp_path / "run", target))
    assert str(refused.value).startswith(
        f"{task.__name__}.train_step returned the name {name!r}; its scalars are named train/..."
    )


class ReportsItsOwnBest(LinearAutoencoder):
    def validate(self, batches, amp) -> dict[str, float]:
        figures = super().validate(batches, amp)
        return {**figures, "val/best_objective": figures["val/mse"] / 2}


def test_a_validation_figure_named_as_the_engines_best_objective_is_refused(user_configs, tmp_path):
    """validate's val/best_objective was overwritten in metrics.json by the engine's own,
    the figure a sweep optimises: the task's value lost, unsaid."""
    target = f"model._target_={HERE}.ReportsItsOwnBest"
    with pytest.raises(ContractError) as refused:
        train(toy_config(user_configs, tmp_path / "run", target))
    assert str(refused.value).startswith(
        "ReportsItsOwnBest.validate returned the name 'val/best_objective'; its figures are "
        "named val/..."
    )
