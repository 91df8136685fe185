"""A stop while a command writes its results names what it wrote: each row aegan.bench
printed is in bench.jsonl, aegan.summarize's files are each whole."""

from __future__ import annotations

import json
import signal

from command_signals import handled_as, signal_at_call
from test_summarize_hostile import make_sweep

from aegan.summarize import main as summarize_main

BENCH_STOPPED = (
    "error: stopped by SIGTERM while writing its rows; each row printed above is in "
    "bench.jsonl: run the same command again for all of them\n"
)


def test_a_stop_as_bench_writes_its_rows_names_those_in_bench_jsonl(cli, tmp_path):
    """Each row was printed, then appended: one stopped between the two was printed and
    not kept, as the line would have said."""
    out = tmp_path / "out"
    settings = ["model=autoencoder", "trainer.device=cpu", "data.subset=256", "steps=1",
                "warmup=0", "repeats=1", "threads=[1]", "channels_last=[false,true]",
                f"paths.data_dir={tmp_path / 'data'}", f"hydra.run.dir={out}"]  # fmt: skip
    # the third call: the folder's check, the first row, then the second (stopped)
    with handled_as("aegan.bench"), signal_at_call(signal.SIGTERM, "append_line", call=3):
        result = cli("aegan.bench", *settings)
    assert result.returncode == -signal.SIGTERM and result.stderr == BENCH_STOPPED
    printed = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(printed) == 1 and json.loads(printed[0])["channels_last"] is False
    assert (out / "bench.jsonl").read_text().splitlines() == printed


def test_a_stop_as_summarize_writes_says_each_file_is_whole(tmp_path, capsys):
    sweep = make_sweep(tmp_path / "sweep")
    (sweep / "summary.csv").write_text("an earlier summary\n")
    # the second write, of summary.csv: summary.md is this summary's, summary.csv as it was
    with handled_as("aegan.summarize"), signal_at_call(signal.SIGINT, "atomic_write_bytes",
                                                       call=2):  # fmt: skip
        try:
            summarize_main([str(sweep)])
        except SystemExit as stop:
            assert stop.code == 128 + signal.SIGINT
        else:
            raise AssertionError("summarize was not stopped")
    assert capsys.readouterr().err == (
        "error: stopped by SIGINT while writing summary.md and summary.csv; each is whole, as "
        "it was or as written: run the same command again\n"
    )
    assert (sweep / "summary.md").read_text().startswith("# Summary of runs")
    assert (sweep / "summary.csv").read_text() == "an earlier summary\n"
    assert sorted(p.name for p in sweep.iterdir() if p.is_file()) == ["summary.csv", "summary.md"]
