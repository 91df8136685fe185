#!/usr/bin/env python
"""Quality parity: does the fast path train as well as fp32 eager with stock PyTorch?

    python scripts/parity.py ae  [--seeds 0,1,2] [--epochs 30] [--out DIR] [--device cuda]
    python scripts/parity.py gan [--seeds 0,1,2] [--epochs 2] [--out DIR] [--device cuda]
        [OVERRIDE ...]   # more Hydra overrides for every run, e.g. data.root=DIR; not of a
                         # key parity.py or a path sets, nor a sweep, nor one leaving out the
                         # final evaluation's figure it compares

Runs one Hydra sweep per path (a job per seed) through ``python -m aegan.train -m``, reads
the jobs' ``metrics.json`` with ``aegan.sweeps.reader.read_sweep`` and prints one JSON line per
path (each seed's value, mean, min, max) and a verdict line:

- ae: ``test/mse``; fast = the whole step compiled (``trainer.compile_scope=step``) with
  fused Adam, reference = eager with torch's per-tensor Adam. Parity: means within 5%.
- gan: ``gen/fd`` (Frechet distance in the domain classifier's features, 10k samples);
  fast = the DCGAN recipe (bf16 where native, channels_last, fast dropout, fused Adam), reference =
  fp32, NCHW, torch's dropout, torch's per-tensor Adam. Parity: the means differ by at
  most the reference's spread over seeds (max - min).

With ``--device cuda`` every run trains on CUDA and the fast path is the whole step as one
CUDA graph (``trainer.capture_step=true``; for the GAN with the recipe's bf16 and
``channels_last``): the GPU's fastest path against the same fp32 eager reference.
"""

from __future__ import annotations

# first, before the seconds torch and Hydra take: a stop signal while they import is one line
from aegan.signals.starting_signals import work_began

# isort: split

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from omegaconf import DictConfig

from aegan.cli.script_args import (
    ArgumentParser,
    check_set_keys,
    epochs_argument,
    folder_argument,
    seeds_argument,
)
from aegan.errors import USER_ERRORS, ConfigError
from aegan.settings.overrides import hydra_quoted, override_key
from aegan.signals.child_runs import run_to_its_end
from aegan.sweep_checks.folders import check_out_folder
from aegan.sweep_checks.jobs import check_overrides
from aegan.sweeps.reader import read_sweep

PATHS = {
    "ae": {
        "metric": "test/mse",
        "measured_by": "reconstruction",  # the metric of aegan.metrics.registry giving it
        "common": [],
        "fast": ["trainer.compile=default", "trainer.compile_scope=step"],
        "reference": ["trainer.compile=none", "model.optimizer.fused=false"],
    },
    "gan": {
        "metric": "gen/fd",
        "measured_by": "fd",
        "common": ["experiment=dcgan_fashion_mnist"],
        "fast": [],  # the recipe: bf16, channels_last, fast dropout, fused Adam
        "reference": [
            "trainer.precision=fp32",
            "trainer.channels_last=false",
            "trainer.fast_dropout=false",
            "model.g_optimizer.fused=false",
            "model.d_optimizer.fused=false",
        ],
    },
}
# the keys parity sets for every job -> the option that sets them (and the keys its paths
# set, ``keys_set``): given as an override too, one of the two values was silently dropped,
# and a sweeper of its own drew other jobs than the seeds
SET_BY_PARITY = {
    "seed": "--seeds", "hydra.mode": "--seeds", "hydra/sweeper": "--seeds",
    "hydra.sweeper.params": "--seeds", "hparams_search": "--seeds", "trainer.epochs": "--epochs",
    "trainer.device": "--device", "hydra.sweep.dir": "--out",
}  # fmt: skip
DEFAULT_EPOCHS = {"ae": 30, "gan": 2}
CUDA_FAST = {  # the fast path on CUDA (compile_scope=step does not compose with a captured step)
    "ae": ["trainer.capture_step=true"],
    "gan": ["trainer.capture_step=true"],
}


def run_sweep(overrides: list[str], sweep_dir: Path) -> float:
    """Run ``aegan.train -m`` with ``overrides`` into ``sweep_dir``; return its wall seconds.
    A sweep that fails ends the script: its own ``error:`` line is above, this one names
    the command, with the sweep's exit code (1 where a signal ended it)."""
    command = [
        sys.executable,
        "-m",
        "aegan.train",
        "-m",
        *overrides,
        f"hydra.sweep.dir={hydra_quoted(str(sweep_dir))}",  # a comma in it would sweep
    ]
    print("+", " ".join(command), flush=True)
    start = time.perf_counter()
    code = run_to_its_end(command, stdout=subprocess.DEVNULL)
    if code != 0:
        print(f"error: this sweep exited with code {code}: {' '.join(command)}", file=sys.stderr)
        raise SystemExit(code if code > 0 else 1)
    return time.perf_counter() - start


def keys_set(model: str, fast: list[str]) -> dict[str, str]:
    """``SET_BY_PARITY`` and the keys ``model``'s paths set: every job's (the GAN's recipe),
    and the fast path's (``fast``) or the reference's, each saying how."""
    keys = dict(SET_BY_PARITY)
    for override in PATHS[model]["common"]:
        key, _, value = override.partition("=")
        keys[key] = f"={value}"
    paths = {"fast": fast, "reference": PATHS[model]["reference"]}
    for key in {override_key(o) for overrides in paths.values() for o in overrides}:
        set_as = ", ".join(f"{path}: {o}" for path, overrides in paths.items()
                           for o in overrides if override_key(o) == key)  # fmt: skip
        keys[key] = f"for the paths it compares ({set_as})"
    return keys


def check_measured(config: DictConfig, model: str) -> None:
    """Each run's final evaluation gives the figure parity compares: without it, both
    sweeps trained and the script ended in a KeyError."""
    metric, source = PATHS[model]["metric"], PATHS[model]["measured_by"]
    evaluate = config.evaluate
    if not evaluate.at_end:
        raise ConfigError(f"evaluate.at_end={evaluate.at_end} is not allowed: parity.py "
                          f"compares each run's {metric}, from its final evaluation")  # fmt: skip
    if evaluate.metrics is not None and source not in evaluate.metrics:
        given = "[" + ",".join(map(str, evaluate.metrics)) + "]"
        raise ConfigError(f"evaluate.metrics={given} is not allowed: parity.py compares each "
                          f"run's {metric}, which the metric {source} gives; list it too")  # fmt: skip


def main() -> None:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", choices=sorted(PATHS))
    parser.add_argument("--seeds", type=seeds_argument, default="0,1,2",
                        help="comma-separated distinct seeds (default 0,1,2)")  # fmt: skip
    parser.add_argument("--epochs", type=epochs_argument, help="epochs per run (ae 30, gan 2)")
    parser.add_argument("--out", type=folder_argument, default=Path("logs/parity"),
                        help="where the sweeps go")  # fmt: skip
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    # a default: without one argparse names the overrides as required when the model is missing
    parser.add_argument(
        "overrides", nargs="*", default=[], help="more Hydra overrides for every run"
    )
    args = parser.parse_intermixed_args()
    spec = dict(PATHS[args.model])
    spec["common"] = [*spec["common"], f"trainer.device={args.device}", *args.overrides]
    if args.device == "cuda":
        spec["fast"] = CUDA_FAST[args.model]
    epochs = args.epochs or DEFAULT_EPOCHS[args.model]  # None: not given (0 is refused)
    out = Path(args.out) / args.model
    seeds = ",".join(map(str, args.seeds))
    try:  # before the first sweep trains: the second would be refused only after it
        check_set_keys(args.overrides, keys_set(args.model, spec["fast"]), "parity.py")
        check_out_folder(args.out, "--out")
        # not the data's files: the first sweep's own check reads them for its jobs, and a
        # refusal there ends this script before any job
        for path in ("fast", "reference"):
            config = check_overrides([*spec["common"], *spec[path], f"trainer.epochs={epochs}",
                                      f"seed={args.seeds[0]}"], read_data=False)  # fmt: skip
            check_measured(config, args.model)
    except USER_ERRORS as err:
        parser.error(str(err))
    work_began()  # from here on its Ctrl-C is Python's, but while a training it started runs
    results = {}
    for path in ("fast", "reference"):
        sweep_dir = out / path
        overrides = [*spec["common"], *spec[path], f"trainer.epochs={epochs}", f"seed={seeds}"]
        wall = run_sweep(overrides, sweep_dir)
        rows = read_sweep(sweep_dir)
        failed = [row["job"] for row in rows if row["status"] != "ok"]
        if failed:
            sys.exit(f"{path}: jobs {failed} did not finish; see their train.log in {sweep_dir}")
        values = {int(row["seed"]): row[spec["metric"]] for row in rows}
        results[path] = values
        print(json.dumps({
            "model": args.model, "device": args.device, "path": path, "metric": spec["metric"],
            "epochs": epochs,
            "overrides": spec[path], "per_seed": values,
            "mean": statistics.mean(values.values()), "min": min(values.values()),
            "max": max(values.values()), "sweep_wall_s": round(wall, 1), "sweep_dir": str(sweep_dir),
        }), flush=True)  # fmt: skip
    fast, reference = (statistics.mean(results[p].values()) for p in ("fast", "reference"))
    spread = max(results["reference"].values()) - min(results["reference"].values())
    relative = fast / reference - 1
    if args.model == "ae":
        parity, rule = abs(relative) <= 0.05, "means within 5%"
    else:
        parity, rule = (
            abs(fast - reference) <= spread,
            "means differ by at most the reference spread",
        )
    print(json.dumps({
        "model": args.model, "device": args.device, "metric": spec["metric"], "fast_mean": fast,
        "reference_mean": reference, "relative_difference": round(relative, 4),
        "reference_spread": spread, "rule": rule, "parity": parity,
    }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
