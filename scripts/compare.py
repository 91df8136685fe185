#!/usr/bin/env python
"""The comparison table: every model's recipe on Fashion-MNIST, 3 seeds, one epoch budget.

    python scripts/compare.py run [--epochs 5] [--seeds 0,1,2] [--models vae,dcgan,...] [--out DIR] [OVERRIDE ...]
    python scripts/compare.py table [--models ...] [--out DIR] [--speed FILE.jsonl]
    python scripts/compare.py pictures [--models ...] [--out DIR] [--image FILE.png]

``run`` trains each model's recipe (``conf/experiment/<model>_fashion_mnist.yaml``) as one
Hydra sweep over the seeds, with the same data and epoch budget, and the final evaluation of
``aegan.metrics.registry`` (10,000 samples against the test set, floors from held-out training
images); each job's folder is its seed (``OUT/MODEL/SEED``), and a seed whose job finished is
not trained again, so seeds can be added one at a time; OVERRIDEs go to every job (a quick
look: ``data.subset=5000``), and the table names any that the protocol does not; one of a
key run sets (``seed``, ``trainer.epochs``, the folders, the recipe) or a sweep is refused. ``table``
reads the sweeps (``aegan.comparison``: each value checked, a bad one left out with a warning,
as is a run of another recipe than its model's, a copied or linked folder)
and prints one markdown table, mean and spread (min-max) over seeds per column, with the
protocol under it, and writes it with the per-seed JSON lines into ``--out``. Training
images/s come from each run's own log (its fastest seed); ``--speed`` adds a column of images/s
from the lines of ``python -m aegan.bench`` for each model, timed on a quiet machine. ``pictures`` draws each model's seed-0 run as one row: test images over their
reconstructions where the model encodes, samples where it generates (a run without final metrics, or of
another recipe than its model's, left out, as from the table). Each command takes
only its own options (``--models`` and ``--out`` are everyone's); ``table`` with no finished
run to show is refused, as every mistake is: one ``error:`` line, exit code 2.
"""

from __future__ import annotations

# first, before the seconds torch and Hydra take: a stop signal while they import is one line
from aegan.signals.starting_signals import work_began

# isort: split

import argparse
import sys
from pathlib import Path

from aegan.cli.script_args import print_out
from aegan.comparison import finished, warn
from aegan.comparison_table import MODELS, comparison_table, its_recipe
from aegan.errors import USER_ERRORS
from aegan.settings.overrides import hydra_quoted
from aegan.signals.child_runs import run_to_its_end
from aegan.sweep_checks.folders import check_out_folder
from aegan.sweep_checks.jobs import check_overrides as check_job
from aegan.sweeps.reader import read_sweep

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_cli import check_folder, check_overrides, parse, refuse  # noqa: E402


def job_settings(model: str, epochs: int, overrides: list[str]) -> list[str]:
    """The overrides every job of ``model`` trains with, but its seed."""
    recipe, extra = MODELS[model]
    return [f"experiment={recipe}", f"trainer.epochs={epochs}", "logger.projector_samples=0",
            "trainer.resume=auto", *extra, *overrides]  # fmt: skip


def run(models: list[str], epochs: int, seeds: str, out: Path, overrides: list[str]) -> int:
    """Train the seeds of each model not yet finished; 0, or 1 after one line per model
    whose sweep has a job that did not finish (its failed.json)."""
    failures = []
    for model in models:
        sweep = out / model
        finished = read_sweep(sweep) if sweep.is_dir() else []
        settings = job_settings(model, epochs, overrides)
        # finished with these settings: a seed of another budget or overrides is trained
        # again, its run continued to this budget (trainer.resume=auto) or refused, so that
        # no cell of the table mixes runs of other settings
        done = {str(row.get("seed")) for row in finished if row["status"] == "ok"
                and sorted(o for o in row["overrides"] if not o.startswith("seed=")) == sorted(settings)}  # fmt: skip
        todo = [seed for seed in seeds.split(",") if seed not in done]
        if not todo:
            print(f"{model}: seeds {seeds} finished in {sweep}, not trained again")
            continue
        command = [
            sys.executable, "-m", "aegan.train", "-m", f"seed={','.join(todo)}",
            f"hydra.sweep.dir={hydra_quoted(str(sweep))}", "hydra.sweep.subdir=${seed}", *settings,
        ]  # fmt: skip
        print(" ".join(command), flush=True)
        code = run_to_its_end(command)
        if code == 2 or not sweep.is_dir():  # refused before any job: its line is above
            failures.append(f"error: {model}: its sweep was refused before any job (exit {code})")
            try:  # the data's files (dispatch left them to the sweep): every model's too
                check_job([*settings, f"seed={todo[0]}"])
            except USER_ERRORS:
                failures[-1] += "; the models after it were not trained"
                break
            continue
        jobs = (
            [r for r in read_sweep(sweep) if str(r.get("seed")) in todo] if sweep.is_dir() else []
        )
        if failed := [r for r in jobs if r["status"] != "ok"]:
            first = failed[0]
            where = Path(first["run_dir"]) / "failed.json"
            jobs_word = "job" if len(todo) == 1 else "jobs"
            failures.append(
                f"error: {model}: {len(failed)} of {len(todo)} {jobs_word} not ok; seed "
                f"{first.get('seed')} {first['status']}"
                + (f" ({first['error'][:200]})" if first["error"] else "")
                + (f", see {where}" if where.is_file() else f", see {first['run_dir']}")
            )
        elif code != 0 or len(jobs) < len(todo):
            failures.append(f"error: {model}: training exited with code {code}, {sweep}")
    for line in failures:
        print(" ".join(line.split()), file=sys.stderr)
    return 1 if failures else 0


def pictures(models: list[str], out: Path, image: Path) -> None:
    """One labelled row of 16 images per model (``aegan.load_run``, seed 0); a run without
    final metrics, or of another recipe than its model's, is left out with a warning, as
    the table leaves it out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    import aegan
    from aegan.tiles import tile_images

    formats = plt.figure().canvas.get_supported_filetypes()  # savefig would add .png, or raise
    if image.suffix[1:].lower() not in formats:
        refuse(f"--image {image}: its name must end in the picture's format: "
               f".{', .'.join(sorted(formats))}")  # fmt: skip
    if image.is_dir() or not image.parent.is_dir():
        where = "is a folder" if image.is_dir() else f"cannot be written: no folder {image.parent}"
        refuse(f"--image {image} {where}; give a file in a folder that exists")
    rows, absent = [], []
    for model in models:
        job = out / model / "0"
        if not (job / "checkpoints" / "last.pt").is_file():
            absent.append(model)
            continue
        row = next((r for r in read_sweep(out / model) if r["job"] == "0"), None)
        # as the table: not a run that failed (its last weights may be NaN's), nor one of
        # another recipe, drawn under this model's name
        if row and not (finished(row, "the picture") and its_recipe(model, row, "the picture")):
            continue
        try:  # a damaged checkpoint, its data gone: the run's line, not a traceback
            run = aegan.load_run(job, checkpoint="last")
            if hasattr(run.task, "sample"):
                rows.append((f"{model}: samples", run.sample(16, seed=0).cpu()))
            if hasattr(run.task, "reconstruct"):
                x = run.data.test_images[:8]
                pair = torch.cat([x.float() / 255, run.reconstruct(x).cpu()])
                rows.append((f"{model}: 8 test images, their reconstructions", pair))
        except USER_ERRORS as err:
            refuse(f"{err}; {model} cannot be drawn (--models without it draws the others)")
    if not rows:
        refuse(f"--out {out}: no finished runs were found (MODEL/0/checkpoints/last.pt)")
    if absent:  # a picture of fewer rows than asked for is said
        warn(f"--out {out} holds no seed-0 run of {', '.join(absent)} (MODEL/0/checkpoints/"
             "last.pt): not in the picture")  # fmt: skip
    figure, axes = plt.subplots(len(rows), 1, figsize=(10, 0.9 * len(rows) + 0.3), squeeze=False)
    for ax, (title, images) in zip(axes[:, 0], rows, strict=True):
        grid = tile_images(images, 16, padding=1).expand(3, -1, -1)  # grey as RGB
        ax.imshow(grid.permute(1, 2, 0).numpy())
        ax.set_title(title, fontsize=8, loc="left")
        ax.set_axis_off()
    figure.tight_layout()
    try:
        figure.savefig(image, dpi=110)
    except OSError as err:  # no permission, a full disk: after the runs were read
        refuse(f"--image {image} cannot be written ({err.strerror or err})")
    print_out(f"wrote {image}")


def main() -> None:
    args = parse(sys.argv[1:], __doc__)
    models = args.models.split(",")
    if "" in models or len(set(models)) < len(models):
        refuse(
            f"--models {args.models!r} is not allowed: it must name each model once, e.g. vae,dcgan"
        )
    if unknown := [m for m in models if m not in MODELS]:
        refuse(f"--models {','.join(unknown)}: no such model; choose from {', '.join(MODELS)}")
    check_folder(args.out, may_create=args.command == "run")
    work_began()  # from here on its Ctrl-C is Python's, but while a training it started runs
    try:  # aegan's errors (a damaged run, a sweep's folder gone) are one line, as the rest
        dispatch(args, models)
    except USER_ERRORS as err:
        refuse(str(err))


def dispatch(args: argparse.Namespace, models: list[str]) -> None:
    """The command of ``args`` on ``models``, its options checked."""
    if args.command == "run":
        check_overrides(args.overrides)
        check_out_folder(args.out, "--out")
        for model in models:
            if (args.out / model).exists() and not (args.out / model).is_dir():
                refuse(f"--out {args.out}: {args.out / model} is not a folder")
        seeds = ",".join(map(str, args.seeds))
        for model in models:  # each job's own check, once here: not once per model's sweep
            try:  # not the data's files: the first sweep's own check reads them for its jobs
                check_job([*job_settings(model, args.epochs, args.overrides),
                           f"seed={args.seeds[0]}"], read_data=False)  # fmt: skip
            except USER_ERRORS as err:
                refuse(f"{model}: {err}; no model was trained")
        sys.exit(run(models, args.epochs, seeds, args.out, args.overrides))
    elif args.command == "pictures":
        pictures(models, args.out, args.image)
    else:
        if args.speed is not None and not args.speed.exists():
            refuse(f"--speed {args.speed}: no such file")
        try:
            print_out(comparison_table(args.out, models, args.speed))
        except ValueError as err:
            refuse(str(err))


if __name__ == "__main__":
    main()
