"""A job's overrides read back from its record: each item shaped like an override Hydra
writes, or the job is BROKEN naming the file and the item (a grid's plan: not listed)."""

from __future__ import annotations

import json
import logging

import pytest

from aegan.sweeps.job_overrides import read_overrides
from aegan.sweeps.reader import read_sweep


def job(folder, overrides: str):
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text(overrides)
    (folder / "metrics.json").write_text(json.dumps({"val/best_objective": 0.5}))
    return folder


def test_every_shape_of_override_hydra_writes_is_read(tmp_path):
    given = ["~trainer.compile", "+db@pkg=x", "++a.b-c=", "hydra/launcher=basic", "x=a=b"]
    record = job(tmp_path, "".join(f"- {o}\n" for o in given)) / ".hydra" / "overrides.yaml"
    assert read_overrides(record) == given


@pytest.mark.parametrize("item", ["noequals", "=x", "++=1", "a b=1", "~", "~a b"])
def test_an_item_that_is_no_override_is_refused_by_name(tmp_path, item):
    record = job(tmp_path, f"- a=1\n- {json.dumps(item)}\n") / ".hydra" / "overrides.yaml"
    with pytest.raises(ValueError) as caught:
        read_overrides(record)
    assert str(caught.value) == f"{record}: {item!r} is no key=value override"


def test_a_job_whose_overrides_are_no_overrides_is_broken(tmp_path):
    """``['noequals', '=x']`` were read as columns named ``noequals`` and ``""``."""
    job(tmp_path / "0", "- seed=1\n")
    job(tmp_path / "1", "- noequals\n- =x\n")
    rows = read_sweep(tmp_path)
    assert [(row["status"], row["error"]) for row in rows] == [
        ("ok", ""), ("broken", ".hydra/overrides.yaml: 'noequals' is no key=value override")
    ]  # fmt: skip
    assert "noequals" not in rows[1] and "" not in rows[1]


def test_a_planned_job_whose_overrides_are_no_overrides_is_not_listed(tmp_path, caplog):
    job(tmp_path / "0", "- seed=1\n")
    (tmp_path / "jobs.json").write_text(json.dumps({"jobs": [{"job": "1", "overrides": ["=x"]}]}))
    with caplog.at_level(logging.WARNING):
        rows = read_sweep(tmp_path)
    assert [row["job"] for row in rows] == ["0"]
    assert "a job that is not a folder and its overrides; the jobs that never" in caplog.text
