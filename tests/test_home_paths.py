"""A path given with ``~`` to the commands that read results (``aegan.summarize``,
``read_sweep``, ``compare.py``): the home folder's, as the shell would have expanded it. No
shell expands ``--out=~/x``: it was checked as the home folder's x and then read or written
as ./~/x, or said not to exist."""

from __future__ import annotations

import pytest
from table_runs import job
from test_summarize_hostile import make_sweep

from aegan.errors import ConfigError
from aegan.summarize import main as summarize_main
from aegan.sweeps.reader import read_sweep


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A home folder of its own, and a current folder where ./~ would show."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path / "home"


def test_a_sweep_and_out_under_home_are_the_home_folders(home, capsys):
    make_sweep(home / "sweep")
    assert [row["job"] for row in read_sweep("~/sweep")] == ["0", "1", "2"]
    assert summarize_main(["~/sweep", "--out", "~/summaries"]) == 0, capsys.readouterr().err
    written = (home / "summaries" / "summary.md").read_text()
    assert written.startswith(f"# Summary of runs: {home / 'sweep'}")
    assert not (home.parent / "work" / "~").exists()


def test_compare_reads_and_writes_the_home_folders_runs(home, cli):
    job(home / "compare")
    shown = cli("scripts/compare.py", "table", "--models", "autoencoder", "--out=~/compare")
    assert shown.returncode == 0, shown.stderr
    assert (home / "compare" / "comparison.md").is_file()


def test_a_home_of_no_user_is_one_line():
    with pytest.raises(ConfigError) as refused:
        read_sweep("~no-such-user-aegan/sweep")
    assert str(refused.value) == (
        "path='~no-such-user-aegan/sweep' is not allowed: ~no-such-user-aegan names no home "
        "folder here"
    )
