"""``trainer.compile`` where it cannot work: a step that torch.compile cannot take whole is
refused by its task's ``limits`` before any data, and a compile that fails anyway (a task
outside the package, a machine without a C++ compiler) is one line naming the switch."""

from __future__ import annotations

import pytest

from aegan.errors import ConfigError
from aegan.train import train
from conftest import TINY_AE, built, synthetic_data

AAE_STEP = ["model=aae", "trainer.compile=default", "trainer.compile_scope=step"]
# the AAE at its fewest layers (one linear map each way, a linear discriminator): what Dynamo
# traces and Inductor compiles before the step fails, most of the test's time, grows with it
SMALLEST_AAE = ["model.hidden_dims=[]", "model.discriminator.hidden_dims=[]", "model.latent_dim=2"]


def test_the_aae_step_is_refused_whole_before_any_data(make_cfg, monkeypatch):
    """Its encoder's codes feed the reconstruction and the encoder's adversarial loss: the
    compiled step back-propagated through the graph a second time, a traceback at step 1."""
    monkeypatch.setattr("aegan.train.load_data", lambda *a, **k: pytest.fail("data was read"))
    with pytest.raises(ConfigError, match=r"trainer.compile_scope=step cannot be used with Aae"):
        train(make_cfg(*TINY_AE, *AAE_STEP))


def test_a_step_that_does_not_compile_is_one_line_naming_the_switch(tmp_path, one_thread):
    """The AAE's step compiled whole all the same (its limit left aside, as a task outside
    the package would have none): torch's error becomes one line, at the first step."""
    _, _, _, step = built([*TINY_AE, *AAE_STEP, *SMALLEST_AAE], tmp_path)
    with pytest.raises(ConfigError) as refused:
        step(synthetic_data().train_images[:64])
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(
        "trainer.compile=default trainer.compile_scope=step could not run aae's first step ("
    )
    assert message.endswith("use trainer.compile_scope=network or trainer.compile=none")
