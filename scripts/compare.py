#!/usr/bin/env python
"""The comparison table: every model's recipe on Fashion-MNIST, 3 seeds, one epoch budget.

    python scripts/compare.py run [--epochs 5] [--seeds 0,1,2] [--models vae,dcgan,...] [--out DIR] [OVERRIDE ...]
    python scripts/compare.py table [--out DIR] [--speed FILE.jsonl]
    python scripts/compare.py pictures [--out DIR] [--image FILE.png]

``run`` trains each model's recipe (``conf/experiment/<model>_fashion_mnist.yaml``) as one
Hydra sweep over the seeds, with the same data and epoch budget, and the final evaluation of
``aegan.metrics.registry`` (10,000 samples against the test set, floors from held-out training
images); each job's folder is its seed (``OUT/MODEL/SEED``), and a seed whose job finished is
not trained again, so seeds can be added one at a time; OVERRIDEs go to every job (a quick
look: ``data.subset=5000``), and the table names any that the protocol does not. ``table``
reads the sweeps (``aegan.comparison``: each value checked, a bad one left out with a warning)
and prints one markdown table, mean and spread (min-max) over seeds per column, with the
protocol under it, and writes it with the per-seed JSON lines into ``--out``. Images/s come
from ``--speed``: the lines of ``python -m aegan.bench`` for each model, timed on a quiet
machine. ``pictures`` draws each model's seed-0 run as one row: test images over their
reconstructions where the model encodes, samples where it generates.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

from aegan.comparison import mean, read_runs, read_speeds
from aegan.files import atomic_write_bytes
from aegan.sweep_reader import read_sweep
from aegan.tables import printable

MODELS = {  # name -> (recipe, extra overrides)
    "autoencoder": ("autoencoder_fashion_mnist", ["data.batch_size=64"]),
    "conv_autoencoder": ("conv_autoencoder_fashion_mnist", []),
    "vae": ("vae_fashion_mnist", ["evaluate.iwae_images=2000"]),
    "conv_vae": (
        "conv_vae_fashion_mnist",
        ["evaluate.iwae_images=1000", "evaluate.iwae_samples=100"],
    ),
    "beta_vae": ("beta_vae_fashion_mnist", ["evaluate.iwae_images=2000"]),
    "dcgan": ("dcgan_fashion_mnist", []),
    "aae": ("aae_fashion_mnist", []),
    "bigan": ("bigan_fashion_mnist", []),
    "vae_gan": ("vae_gan_fashion_mnist", []),
    "infogan": ("infogan_fashion_mnist", []),
}
COLUMNS = {  # metric key -> (column title, digits)
    "test/mse": ("test MSE", 4),
    "codes/mmd": ("code-prior MMD²", 4),
    "codes/mmd_floor": ("its floor", 4),
    "info/matched_accuracy": ("code -> class", 3),
    "probe/accuracy": ("linear probe", 3),
    "test/neg_elbo": ("-ELBO (nats)", 1),
    "test/iwae_nll": ("IWAE bound (nats)", 1),
    "gen/fd": ("FD", 2),
    "gen/kid": ("KID", 3),
    "gen/precision": ("precision", 2),
    "gen/recall": ("recall", 2),
}
PROTOCOL = """Protocol: Fashion-MNIST, 55,000 training and 5,000 validation images (split seed 0), 10,000
test images, grey pixels in [0, 1] (no binarisation), each model's recipe for {epochs}
at batch 64 (the dense autoencoder's recipe at batch 64 too), seeds {seeds}; cells are the mean
over seeds and (min-max). Test MSE: the reconstruction (a VAE's decoder mean at the posterior
mean) against the test image, per pixel. Linear probe: logistic regression on the codes (a
VAE's posterior means) of 10,000 training images, accuracy on the test set. Code-prior MMD²
(the AAE): the codes of 2,000 test images (draws of its Gaussian q(z|x)) against 2,000 prior
draws, Gaussian kernel at the prior draws' median distance; its floor: two prior draws. Code ->
class (InfoGAN): the domain classifier's class of 1,000 samples per code value, after the best
one-to-one matching of code values to classes. -ELBO: one z per
test image; IWAE: -log p(x) bounded with k importance samples (k = 1000 on the first 2,000 test
images; the conv VAE: k = 100 on the first 1,000). Sample metrics: 10,000 samples (a VAE's
decoder means at prior draws, the DCGAN's EMA generator) against the first 10,000 test images
in the features of a CNN trained on the training split minus 10,000 held-out images; the floors
(the held-out images in place of the samples) are FD {floor_fd}, precision {floor_precision},
recall {floor_recall}. PCA-32: the training split's 32 principal components. Training images/s:
the fastest seed's epochs by the run's own clock (its log), on the machine that trained them."""
PROTOCOL_KEYS = {
    "experiment",
    "seed",
    "trainer.epochs",
    "logger.projector_samples",
    "trainer.resume",
}
FLOORS = ("floor/fd", "floor/precision", "floor/recall")
PCA = {"pca/mse": "test/mse", "pca/probe_accuracy": "probe/accuracy"}  # -> its column
SPEED = "Images/s: `python -m aegan.bench` on this 2-core CPU, the recipe's settings."


def run(models: list[str], epochs: int, seeds: str, out: Path, overrides: list[str]) -> int:
    """Train the seeds of each model not yet finished; 0, or 1 after one line per model
    whose sweep has a job that did not finish (its failed.json)."""
    failures = []
    for model in models:
        recipe, extra = MODELS[model]
        sweep = out / model
        finished = read_sweep(sweep) if sweep.is_dir() else []
        done = {str(row.get("seed")) for row in finished if row["status"] == "ok"}
        todo = [seed for seed in seeds.split(",") if seed not in done]
        if not todo:
            print(f"{model}: seeds {seeds} finished in {sweep}, not trained again")
            continue
        command = [
            sys.executable, "-m", "aegan.train", "-m", f"experiment={recipe}",
            f"seed={','.join(todo)}", f"trainer.epochs={epochs}", "logger.projector_samples=0",
            f"hydra.sweep.dir={sweep}", "hydra.sweep.subdir=${seed}", "trainer.resume=auto", *extra, *overrides,
        ]  # fmt: skip
        print(" ".join(command), flush=True)
        code = subprocess.run(command).returncode
        jobs = (
            [r for r in read_sweep(sweep) if str(r.get("seed")) in todo] if sweep.is_dir() else []
        )
        if failed := [r for r in jobs if r["status"] != "ok"]:
            first = failed[0]
            where = Path(first["run_dir"]) / "failed.json"
            failures.append(
                f"error: {model}: {len(failed)} of {len(todo)} jobs not ok; seed "
                f"{first.get('seed')} {first['status']}"
                + (f" ({first['error'][:200]})" if first["error"] else "")
                + (f", see {where}" if where.is_file() else f", see {first['run_dir']}")
            )
        elif code != 0 or len(jobs) < len(todo):
            failures.append(f"error: {model}: training exited with code {code}, {sweep}")
    for line in failures:
        print(" ".join(line.split()), file=sys.stderr)
    return 1 if failures else 0


def off_protocol(model: str, overrides: list[str]) -> list[str]:
    """The job's overrides beyond those ``run`` gives every job of ``model``."""
    return [o for o in overrides if o.partition("=")[0] not in PROTOCOL_KEYS
            and o not in MODELS[model][1]]  # fmt: skip


def _cell(values: list[float], digits: int) -> str:
    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    low, high = min(values), max(values)
    return f"{mean(values):.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


def table(out: Path, speed: Path | None) -> str:
    """The table, its protocol and notes; written, with each seed's JSON line, into ``out``.
    A value that is not a finite number of its kind is left out (``aegan.comparison``)."""
    try:
        images_per_sec = read_speeds(speed) if speed else {}
    except ValueError as err:
        refuse(str(err))
    runs = {model: finished for model, finished in
            read_runs(out, MODELS, [*COLUMNS, *FLOORS, *PCA]).items() if finished}  # fmt: skip
    speeds = ["images/s"] if images_per_sec else []  # only from --speed: a quiet machine
    rows, lines = [], []
    # PCA at the code size: the same every seed
    pca = next((r for r in runs.get("autoencoder", []) if r["pca/mse"] is not None), None)
    if pca:
        values = {column: pca[key] for key, column in PCA.items() if pca[key] is not None}
        cells = [_cell([values[k]] if k in values else [], d) for k, (_, d) in COLUMNS.items()]
        rows.append(["PCA-32", "-", *cells, "", *[""] * len(speeds)])
    for model, finished in runs.items():
        cells = [model.replace("_", " "), str(len(finished))]
        for key, (_, digits) in COLUMNS.items():
            cells.append(_cell([r[key] for r in finished if r[key] is not None], digits))
        known = [r["training_images_per_s"] for r in finished if r["training_images_per_s"]]
        cells.append(f"{max(known):,.0f}" if known else "")
        if speeds:
            cells.append(
                "" if images_per_sec.get(model) is None else f"{images_per_sec[model]:,.0f}"
            )
        rows.append(cells)
        for r in finished:  # each seed's figures, speed too
            lines.append({"model": model, "seed": r["seed"], **{k: r[k] for k in COLUMNS},
                          "training_images_per_s": r["training_images_per_s"]})  # fmt: skip
    header = ["model", "seeds", *(title for title, _ in COLUMNS.values()), "training images/s"]
    header += speeds
    text = "\n".join(["| " + " | ".join(header) + " |", "|" + " --- |" * len(header),
                      *("| " + " | ".join(r) + " |" for r in rows)])  # fmt: skip
    floor = {k: _cell([r[k] for f in runs.values() for r in f if r[k] is not None], 2)
             for k in FLOORS}  # fmt: skip
    epochs = sorted({r["trainer.epochs"] for f in runs.values() for r in f} - {None})
    seeds = sorted({r["seed"] for f in runs.values() for r in f} - {None})
    budget = " or ".join(map(str, epochs)) or "an unrecorded number of"
    budget += " epoch" if epochs == [1] else " epochs"
    text += "\n\n" + PROTOCOL.format(
        epochs=budget, seeds=", ".join(map(str, seeds)),
        floor_fd=floor["floor/fd"], floor_precision=floor["floor/precision"],
        floor_recall=floor["floor/recall"],
    )  # fmt: skip
    changed = sorted({printable(o) for model, finished in runs.items() for r in finished
                      for o in off_protocol(model, r["overrides"])})  # fmt: skip
    if changed:
        text += "\n\nNot the protocol: these runs also had " + " ".join(changed) + "."
    text += "\n" + SPEED if images_per_sec else ""
    jsonl = "".join(json.dumps(line, allow_nan=False) + "\n" for line in lines)
    for name, content in (("comparison.md", text + "\n"), ("comparison.jsonl", jsonl)):
        try:  # atomic: a link there is replaced, not followed, and no file is left half-written
            atomic_write_bytes(out / name, content.encode(errors="backslashreplace"))
        except (OSError, ValueError) as err:
            reason = getattr(err, "strerror", None) or err  # the OS's message names the temp file
            refuse(f"{out / name} cannot be written ({reason}): it must be a file or nothing")
    return text


def pictures(out: Path, image: Path) -> None:
    """One labelled row of 16 images per model (``aegan.load_run``, seed 0)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch
    from torchvision.utils import make_grid

    import aegan

    rows = []
    for model in MODELS:
        job = out / model / "0"
        if not (job / "checkpoints" / "last.pt").is_file():
            continue
        run = aegan.load_run(job, checkpoint="last")
        if hasattr(run.task, "sample"):
            rows.append((f"{model}: samples", run.sample(16, seed=0).cpu()))
        if hasattr(run.task, "reconstruct"):
            x = run.data.test_images[:8]
            pair = torch.cat([x.float() / 255, run.reconstruct(x).cpu()])
            rows.append((f"{model}: 8 test images, their reconstructions", pair))
    if not rows:
        refuse(f"--out {out}: no finished runs were found (MODEL/0/checkpoints/last.pt)")
    figure, axes = plt.subplots(len(rows), 1, figsize=(10, 0.9 * len(rows) + 0.3), squeeze=False)
    for ax, (title, images) in zip(axes[:, 0], rows, strict=True):
        grid = make_grid(images, nrow=16, padding=1, pad_value=1.0)
        ax.imshow(grid.permute(1, 2, 0).numpy())
        ax.set_title(title, fontsize=8, loc="left")
        ax.set_axis_off()
    figure.tight_layout()
    figure.savefig(image, dpi=110)
    print(f"wrote {image}")


def refuse(message: str) -> NoReturn:
    """A mistake on the command line: ``error: message`` as one line on stderr, exit code 2."""
    print(" ".join(f"error: {message}".split()), file=sys.stderr)
    raise SystemExit(2)


class Parser(argparse.ArgumentParser):
    """argparse whose mistakes are one line (``refuse``) instead of the usage and a line."""

    def error(self, message: str) -> NoReturn:
        if "required" in message:  # argparse names the optional overrides too
            message = "a command is required: run, table or pictures"
        refuse(f"{message} (see compare.py --help)")


def check_options(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Refuse an unknown option before argparse parses: intermixed parsing reports
    ``--bogus`` alone as a missing command."""
    known = parser._option_string_actions
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--":
            return
        if arg.startswith("-") and len(arg) > 1 and not arg[1].isdigit():
            name = arg.partition("=")[0]
            if name not in known:
                refuse(f"unrecognized option {name} (see compare.py --help)")
            skip = "=" not in arg and known[name].nargs != 0


def check_folder(out: Path, *, may_create: bool) -> None:
    """``--out`` is a folder (``run``: or can become one)."""
    if out.is_dir():
        return
    if out.exists():
        refuse(f"--out {out} is not a folder")
    if not may_create:
        refuse(f"--out {out}: no such folder; give the folder that run wrote")
    parent = next(p for p in out.parents if p.exists() or p == Path(p.anchor))
    if not parent.is_dir():
        refuse(f"--out {out} cannot be created: {parent} is not a folder")


def main() -> None:
    parser = Parser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("command", choices=["run", "table", "pictures"])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--out", type=Path, default=Path("logs/compare"))
    parser.add_argument("--speed", type=Path, help="aegan.bench lines, one per model")
    parser.add_argument("--image", type=Path, default=Path("docs/images/models.png"))
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every job of run")
    check_options(parser, sys.argv[1:])
    args = parser.parse_intermixed_args()
    if args.overrides and args.command != "run":
        refuse(f"overrides {' '.join(args.overrides)} are for run only")
    models = args.models.split(",")
    if "" in models or len(set(models)) < len(models):
        refuse(
            f"--models {args.models!r} is not allowed: it must name each model once, e.g. vae,dcgan"
        )
    if unknown := [m for m in models if m not in MODELS]:
        refuse(f"--models {','.join(unknown)}: no such model; choose from {', '.join(MODELS)}")
    check_folder(args.out, may_create=args.command == "run")
    if args.command == "run":
        if not 1 <= args.epochs <= 10**6:
            refuse(f"--epochs {args.epochs} is not allowed: it must be an integer in [1, 1000000]")
        seeds = args.seeds.split(",")  # each once, as its job's folder is named: 0, not 00
        if not all(re.fullmatch(r"0|[1-9]\d*", x) for x in seeds) or len(set(seeds)) < len(seeds):
            refuse(
                f"--seeds {args.seeds!r} is not allowed: it must be a comma list of distinct "
                "non-negative integers, e.g. 0,1,2"
            )
        for model in models:
            if (args.out / model).exists() and not (args.out / model).is_dir():
                refuse(f"--out {args.out}: {args.out / model} is not a folder")
        sys.exit(run(models, args.epochs, args.seeds, args.out, args.overrides))
    elif args.command == "pictures":
        pictures(args.out, args.image)
    else:
        if args.speed is not None and not args.speed.exists():
            refuse(f"--speed {args.speed}: no such file")
        print(table(args.out, args.speed))


if __name__ == "__main__":
    main()
