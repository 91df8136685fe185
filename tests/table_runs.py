"""Run folders as ``scripts/compare.py run`` leaves them, written by hand with damage where a
test wants it, and the table ``compare.py table`` makes of them."""

from __future__ import annotations

import json
from pathlib import Path

OVERRIDES = ["experiment=autoencoder_fashion_mnist", "seed={seed}", "trainer.epochs=1",
             "logger.projector_samples=0", "trainer.resume=auto", "data.batch_size=64"]  # fmt: skip
METRICS = {"test/mse": 0.02, "probe/accuracy": 0.8, "train/steps": 100.0, "pca/mse": 0.03,
           "pca/probe_accuracy": 0.7, "floor/fd": 1.5, "floor/precision": 0.75,
           "floor/recall": 0.65}  # fmt: skip
LOG = "epoch 1 time: training 2 s; logging and validation 0.1 s = 5.00% of it\n"
DROP = object()  # a metric left out of metrics.json


def job(out: Path, seed: int = 0, *, overrides=None, metrics=None, log: str = LOG) -> Path:
    """An autoencoder run as ``compare.py run`` leaves it, with ``overrides`` (the whole list)
    and ``metrics`` (changes to ``METRICS``) in place of a good run's."""
    run_dir = out / "autoencoder" / str(seed)
    (run_dir / ".hydra").mkdir(parents=True)
    given = [o.format(seed=seed) for o in (OVERRIDES if overrides is None else overrides)]
    (run_dir / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in given))
    values = {k: v for k, v in {**METRICS, **(metrics or {})}.items() if v is not DROP}
    (run_dir / "metrics.json").write_text(json.dumps(values))
    (run_dir / "train.log").write_text(log)
    return run_dir


def table(cli, out: Path, *args: str):
    """The run of ``compare.py table``, and its table: the first cell -> the row's cells."""
    shown = cli("scripts/compare.py", "table", "--out", str(out), *args)
    cells = [[c.strip() for c in r.strip("|").split("|")] for r in shown.stdout.splitlines()]
    return shown, {row[0]: row for row in cells if len(row) > 2}


def seeds(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "comparison.jsonl").read_text().splitlines()]


WITHOUT_SEED = [o for o in OVERRIDES if not o.startswith("seed=")]
