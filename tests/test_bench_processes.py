"""``aegan.bench`` times one process: under torchrun each process timed its own rows on the
same cores and appended them to one bench.jsonl, as if each had run alone."""

from __future__ import annotations

LAUNCHED = {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": "1"}  # fmt: skip  # rank 0 of 2, as torchrun starts it


def test_bench_under_torchrun_is_one_line_before_its_folder(cli, tmp_path, monkeypatch):
    for name, value in LAUNCHED.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "out"
    result = cli("aegan.bench", "steps=2", f"hydra.run.dir={out}")
    assert result.returncode == 2, (result.stdout + result.stderr)[-2000:]
    assert result.stderr == (
        "error: WORLD_SIZE=2 is not allowed: aegan.bench times one process's step against the "
        "plain loop in that process; run python -m aegan.bench without torchrun\n"
    )
    assert not out.exists()
