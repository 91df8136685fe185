"""A value of the wrong type is named with the article its type's name takes: "an int",
"an ndarray", "a float"; messages built on "a {type}" said "train/loss as a int"."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fit_task import PixelTask

from aegan.contract import images_problem
from aegan.engine.reporting import check_step_scalars
from aegan.errors import ContractError, a_kind


@pytest.mark.parametrize(
    ("name", "said"),
    [("int", "an int"), ("OrderedDict", "an OrderedDict"), ("ndarray", "an ndarray"),
     ("float", "a float"), ("str", "a str"), ("uint8", "a uint8"), ("Tensor", "a Tensor"),
     ("NoneType", "a NoneType"), ("object", "an object")],
)  # fmt: skip
def test_a_type_takes_the_article_its_name_is_read_with(name, said):
    assert a_kind(name) == said


def test_a_step_scalar_of_an_integer_is_named_an_int():
    with pytest.raises(
        ContractError, match=r"PixelTask.train_step returned train/loss as an int; it must"
    ):
        check_step_scalars(PixelTask(), {"train/loss": 3})


def test_images_of_an_array_are_named_an_ndarray():
    assert images_problem(np.zeros((1, 1, 2, 2)), 1, (1, 2, 2)) == "an ndarray, not a tensor"
    assert images_problem(torch.zeros(1, 1, 2, 2), 1, (1, 2, 2)) is None
