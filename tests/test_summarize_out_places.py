"""Where ``python -m aegan.summarize --out`` may write: not into another sweep's folder or a
folder of other runs, whose own summary.csv and summary.md it replaced with this sweep's.
Job and run folders: test_summarize_command."""

from __future__ import annotations

import pytest
from test_summarize_hostile import make_sweep

from aegan.summarize import main as summarize_main


@pytest.mark.parametrize(
    "record", ["multirun.yaml", "jobs.json", "optimization_results.yaml", "0/"]
)  # 0/: a folder of single runs, summarised as one
def test_out_at_another_sweeps_folder_is_refused(tmp_path, capsys, record):
    first, other = make_sweep(tmp_path / "first"), make_sweep(tmp_path / "other", jobs=1)
    for sweep in (first, other):
        if record != "0/":
            (sweep / record).write_text("{}\n")
        assert summarize_main([str(sweep)]) == 0
    kept = {name: (other / name).read_bytes() for name in ("summary.csv", "summary.md")}
    capsys.readouterr()
    assert summarize_main([str(first), "--out", str(other)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith(
        f"error: --out={other} holds other runs ({record}), whose own summary.csv and "
        "summary.md this one would replace; leave --out out to write into the folder "
        "summarised, or choose a folder of none"
    ), err
    assert {name: (other / name).read_bytes() for name in kept} == kept


def test_out_at_the_sweeps_own_folder_by_another_name_writes_there(tmp_path, capsys):
    sweep = make_sweep(tmp_path / "sweep")
    (sweep / "multirun.yaml").write_text("{}\n")
    (tmp_path / "link").symlink_to(sweep)
    for out in (tmp_path / "link", sweep / "0" / ".."):
        assert summarize_main([str(sweep), "--out", str(out)]) == 0, capsys.readouterr().err
    assert (sweep / "summary.md").read_text().startswith(f"# Sweep summary: {sweep}")
