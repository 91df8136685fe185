"""The comparison table of ``scripts/compare.py``: each model's recipe on Fashion-MNIST, its
seeds' final metrics as mean and spread, the protocol under it. ``MODELS`` names the recipes
``compare.py run`` trains; ``comparison_table`` reads their runs back through
``aegan.comparison`` (each value checked) and writes ``comparison.md`` and ``comparison.jsonl``."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from aegan.comparison import (
    IWAE,
    SAMPLES,
    mean,
    measured_alike,
    read_runs,
    read_speeds,
    warn,
)
from aegan.io.files import atomic_write_bytes
from aegan.settings.overrides import override_key
from aegan.tables import printable

MODELS = {  # name -> (recipe, extra overrides)
    "autoencoder": ("autoencoder_fashion_mnist", ["data.batch_size=64"]),
    "conv_autoencoder": ("conv_autoencoder_fashion_mnist", []),
    "vae": ("vae_fashion_mnist", ["evaluate.iwae_images=2000"]),
    "conv_vae": ("conv_vae_fashion_mnist", []),  # its recipe's IWAE: k=100 on 1,000 images
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
mean) against the test image, per pixel. Linear probe: logistic regression (L2 penalty 1e-3 on
standardised codes) on the codes (a VAE's posterior means) of 10,000 training images, accuracy
on the test set. Code-prior MMD²
(the AAE): the codes of 2,000 test images (draws of its Gaussian q(z|x)) against 2,000 prior
draws, Gaussian kernel at the prior draws' median distance; its floor: two prior draws. Code ->
class (InfoGAN): the domain classifier's class of 1,000 samples per code value, after the best
one-to-one matching of code values to classes. -ELBO: one z per
test image; IWAE: -log p(x) bounded with k importance samples ({iwae}); on grey pixels both
are Bernoulli cross-entropies, not a density's likelihood: comparable between these models
and with a peer's on the same pixels, not with binarised figures. {sample_metrics}
PCA-32: the training split's 32 principal components. Training images/s:
the fastest seed's epochs by the run's own clock (its log), on the machine that trained them."""
SAMPLE_METRICS = """Sample metrics: {samples} samples (a VAE's decoder means at prior draws, the
DCGAN's EMA generator) against the first {samples} test images in the features of a CNN trained
on the training split minus {samples} held-out images; {floors}."""
PROTOCOL_KEYS = {
    "experiment",
    "seed",
    "trainer.epochs",
    "logger.projector_samples",
    "trainer.resume",
}
FLOORS = ("floor/fd", "floor/precision", "floor/recall")
PCA = {"pca/mse": "test/mse", "pca/probe_accuracy": "probe/accuracy"}  # -> its column
SPEED = (  # the lines may come from another machine: each names its own
    "Images/s: `python -m aegan.bench`, the recipe's settings, from {file} (each line names "
    "its machine and date)."
)


def off_protocol(model: str, overrides: list[str]) -> list[str]:
    """The job's overrides beyond those ``run`` gives every job of ``model``."""
    return [o for o in overrides if override_key(o) not in PROTOCOL_KEYS
            and o not in MODELS[model][1]]  # fmt: skip


def of_its_recipe(runs: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """``runs`` less those trained with another recipe than their model's (``its_recipe``)."""
    return {
        model: [r for r in finished if its_recipe(model, r)] for model, finished in runs.items()
    }


def its_recipe(model: str, run: dict, left_out_of: str = "the table") -> bool:
    """Whether ``run`` (a row of ``read_sweep``) trained ``model``'s recipe; where it trained
    another or none (another model's folder copied or linked to where this one's goes, read
    as its seeds), one warning line says so."""
    recipe = f"experiment={MODELS[model][0]}"
    given = [o for o in run["overrides"] if override_key(o) == "experiment"]
    if given[-1:] == [recipe]:
        return True
    gave = printable(given[-1]) if given else "no experiment"
    warn(f"{run['run_dir']}/.hydra/overrides.yaml: its overrides give {gave}, not {model}'s "
         f"recipe {recipe}; this run is left out of {left_out_of}")  # fmt: skip
    return False


def measurements(runs: dict[str, list[dict]]) -> dict[str, str]:
    """The protocol's words for what the runs were measured with (``measured_alike``):
    ``samples``, the sample metrics' count, and ``iwae``, each model's k and test images."""
    counts = {r[SAMPLES] for finished in runs.values() for r in finished} - {None}
    iwae: dict[tuple, list[str]] = {}
    for model, finished in runs.items():
        measured = next((tuple(r[k] for k in IWAE) for r in finished if r[IWAE[0]]), None)
        if measured is not None and None not in measured:
            iwae.setdefault(measured, []).append(model.replace("_", " "))
    return {
        "samples": f"{int(max(counts)):,}" if counts else "an unrecorded number of",
        "iwae": "; ".join(
            f"k = {int(k):,} on the first {int(n):,} test images: {', '.join(m)}"
            for (k, n), m in iwae.items()
        )
        or "none here",  # fmt: skip
    }


def _cell(values: list[float], digits: int, seeds: int = 0) -> str:
    """Mean and (min-max) of ``values``; ``[n of SEEDS seeds]`` after them where fewer than
    the row's ``seeds`` gave one."""
    if not values:
        return ""
    low, high = min(values), max(values)
    text = f"{mean(values):.{digits}f}"
    text += f" ({low:.{digits}f}-{high:.{digits}f})" if len(values) > 1 else ""
    return text + (f" [{len(values)} of {seeds} seeds]" if len(values) < seeds else "")


def _seeds_without(model: str, finished: list[dict], key: str) -> None:
    """One warning where some, not all, of ``model``'s seeds give no ``key``: its cell holds
    fewer seeds than its row (a value not finite or of no kind is said where it is read)."""
    without = [str(r["seed"]) for r in finished if r[key] is None]
    if without and len(without) < len(finished):
        warn(f"{model}: seed {', '.join(without)} gives no {key} (absent or not a finite "
             f"number); its cell holds {len(finished) - len(without)} of {len(finished)} "
             "seeds")  # fmt: skip


def comparison_table(out: Path, models: list[str], speed: Path | None = None) -> str:
    """The table of ``models``' runs in ``out``, its protocol and notes; written, with each
    seed's JSON line, into ``out``. A value that is not a finite number of its kind is left
    out (``aegan.comparison``). ``ValueError`` (one line) for a bad ``speed`` file, no
    finished run to show, or a table that cannot be written."""
    images_per_sec = read_speeds(speed) if speed else {}
    read = read_runs(out, models, [*COLUMNS, *FLOORS, *PCA])
    read = measured_alike(of_its_recipe(read), off_protocol)
    runs = {model: finished for model, finished in read.items() if finished}
    if not runs:  # an empty table would look like a result
        raise ValueError(
            f"--out {out} holds no finished run of {', '.join(models)}: the table reads "
            "OUT/MODEL/SEED/metrics.json, as compare.py run writes them"
        )
    if speed and all(images_per_sec.get(model) is None for model in runs):  # an empty column
        raise ValueError(
            f"--speed {speed}: no line gives the images/s (project_images_per_sec) of "
            f"{', '.join(runs)}, the models of the table; its lines are of "
            f"{', '.join(sorted(images_per_sec))}"
        )
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
            _seeds_without(model, finished, key)
            values = [r[key] for r in finished if r[key] is not None]
            cells.append(_cell(values, digits, seeds=len(finished)))
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
    floors = (
        "the floors (the held-out images in place of the samples) are FD {floor/fd}, "
        "precision {floor/precision}, recall {floor/recall}".format_map(floor)
        if any(floor.values()) else "their floors were not measured"
    )  # fmt: skip
    measured = measurements(runs)
    sampled = any(r[SAMPLES] is not None for finished in runs.values() for r in finished)
    samples = (  # a table of encoders alone has no sample figures to describe
        SAMPLE_METRICS.format(floors=floors, **measured) if sampled or any(floor.values())
        else "No model here samples: no sample metrics."
    )  # fmt: skip
    protocol = PROTOCOL.format(epochs=budget, seeds=", ".join(map(str, seeds)),
                               sample_metrics=samples, **measured)  # fmt: skip
    changed = sorted({printable(o) for model, finished in runs.items() for r in finished
                      for o in off_protocol(model, r["overrides"])})  # fmt: skip
    if changed:  # its data sizes are the recipes', not these runs'
        protocol = protocol.replace("Protocol:", "Protocol of the recipes, which these runs "
                                    "depart from (the last line says how):", 1)  # fmt: skip
    text += "\n\n" + textwrap.fill(" ".join(protocol.split()), 95, break_on_hyphens=False)
    if absent := [model for model in models if model not in runs]:  # asked for, not shown
        text += f"\n\nNot in the table: no finished run of {', '.join(absent)} in {out}."
    if changed:  # the last line, as the protocol says
        text += "\n\nNot the protocol: these runs also had " + " ".join(changed) + "."
    text += "\n" + SPEED.format(file=printable(str(speed))) if images_per_sec else ""
    jsonl = "".join(json.dumps(line, allow_nan=False) + "\n" for line in lines)
    for name, content in (("comparison.md", text + "\n"), ("comparison.jsonl", jsonl)):
        try:  # atomic: a link there is replaced, not followed, and no file is left half-written
            atomic_write_bytes(out / name, content.encode(errors="backslashreplace"))
        except (OSError, ValueError) as err:
            reason = getattr(err, "strerror", None) or err  # the OS's message names the temp file
            raise ValueError(
                f"{out / name} cannot be written ({reason}): it must be a file or nothing"
            ) from None
    return text
