"""Hostile run folders and data paths: any one broken file of a sweep's job is marked and
the summary goes on; result files are strict JSON; a data path the user named holds the
data or the run stops in one line saying what is missing there."""

from __future__ import annotations

import csv
import json
import math
import os
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aegan.data.idx import write_idx
from aegan.errors import USER_ERRORS, ConfigError, DataFileError, DataNotFoundError
from aegan.io.files import write_json
from aegan.io.readback import read_json
from aegan.summarize import main as summarize_main
from aegan.sweeps.reader import read_sweep
from aegan.train import train
from conftest import TINY_AE

SENTINEL = Path(tempfile.gettempdir()) / f"aegan-hostile-runs-{os.getpid()}" / "written"
BROKEN = [
    b"", b"{", b'{"val/best_objective": 0.', b"NaN", b"[1, 2]", b'"text"', b"\xff\xfe\x00",
    b'{"val/best_objective": NaN}', b'{"val/best_objective": {"nested": [1]}}',
    b'{"_nonfinite": "nan", "val/best_objective": null}', b"null",
    b"- model.latent_dim=${oc.env:HOME}\n- model._target_=os.system\n",
    f"!!python/object/apply:os.system ['touch {SENTINEL}']\n".encode(),
    b"model.latent_dim: [unclosed\n", b"- [1, 2]\n- {a: b}\n",
    b"[" * 100_000, b"- &a [x, x, x]\n- [*a, *a, *a]\n", b'{"val/best_objective": 1e400}',
]  # fmt: skip
FILES = ["metrics.json", "failed.json", "stopped.json", ".hydra/overrides.yaml"]


def refuse_constant(name: str):
    raise AssertionError(f"a bare {name} in a result file")


def make_sweep(root: Path) -> Path:
    """Three finished jobs, one failed and one stopped, as a sweep leaves them."""
    for job, (status, objective) in enumerate(
        [("ok", 0.5), ("ok", 0.25), ("ok", 0.75), ("failed", None), ("stopped", None)]
    ):
        folder = root / str(job)
        (folder / ".hydra").mkdir(parents=True)
        (folder / ".hydra" / "overrides.yaml").write_text(f"- model.latent_dim={job + 2}\n")
        if status == "ok":
            write_json(folder / "metrics.json", {"val/best_objective": objective})
        elif status == "failed":
            write_json(folder / "failed.json", {"type": "ConfigError", "error": "bad"})
        else:
            write_json(folder / "stopped.json", {"signal": "SIGTERM", "phase": "evaluation",
                                                 "step": 3, "message": "stopped"})  # fmt: skip
    return root


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(job=st.integers(0, 4), name=st.sampled_from(FILES + ["a folder"]),
       content=st.one_of(st.sampled_from(BROKEN), st.binary(max_size=40)))  # fmt: skip
def test_summarize_marks_one_broken_job_and_goes_on(tmp_path_factory, capsys, job, name, content):
    root = make_sweep(tmp_path_factory.mktemp("sweep"))
    if name == "a folder":  # a folder where metrics.json belongs
        (root / str(job) / "metrics.json").unlink(missing_ok=True)
        (root / str(job) / "metrics.json").mkdir()
    else:
        (root / str(job) / name).write_bytes(content)
    assert summarize_main([str(root)]) == 0
    rows = list(csv.DictReader((root / "summary.csv").open()))
    assert len(rows) == 5 and (root / "summary.md").is_file()
    assert {r["job"] for r in rows} == {str(j) for j in range(5)}
    assert not SENTINEL.exists()
    capsys.readouterr()


def test_a_sweep_shows_a_stop_in_the_evaluation(tmp_path):
    rows = {row["job"]: row for row in read_sweep(make_sweep(tmp_path))}
    assert rows["4"]["status"] == "stopped" and rows["4"]["error"].startswith("evaluation:")
    assert rows["3"]["status"] == "failed"


@pytest.mark.parametrize(("phase", "shown"), [("evaluation", 0.125), ("training", None)])
def test_a_stop_in_the_evaluation_shows_trainings_figures(tmp_path, phase, shown):
    """Training writes its figures before the final evaluation, as for a job killed there
    (UNFINISHED, its figures shown); a stop in training leaves an earlier attempt's file."""
    root = make_sweep(tmp_path)
    write_json(root / "4" / "stopped.json", {"signal": "SIGTERM", "phase": phase, "step": 3,
                                             "message": "stopped"})  # fmt: skip
    write_json(root / "4" / "metrics.json", {"val/best_objective": 0.125})
    row = {row["job"]: row for row in read_sweep(root)}["4"]
    assert row["status"] == "stopped" and row.get("val/best_objective") == shown


def test_a_job_that_failed_after_its_results_were_written_failed(tmp_path):
    """A sweep continued with settings its jobs refuse: failed.json lands beside a trained
    job's metrics.json, and the job failed this time."""
    root = make_sweep(tmp_path)
    write_json(root / "0" / "failed.json", {"type": "CheckpointError", "error": "refused"})
    metrics = root / "0" / "metrics.json"
    os.utime(metrics, ns=(metrics.stat().st_mtime_ns - 10**9,) * 2)
    rows = {row["job"]: row for row in read_sweep(root)}
    assert rows["0"]["status"] == "failed" and rows["0"]["error"] == "CheckpointError: refused"
    assert rows["1"]["status"] == "ok"


def test_a_summary_of_nothing_is_one_line(tmp_path, capsys):
    assert summarize_main([str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


FINITE_OR_NOT = st.one_of(st.floats(), st.integers(-(2**60), 2**60), st.text(max_size=5))


@settings(max_examples=80, deadline=None)
@given(values=st.dictionaries(st.text(min_size=1, max_size=8), FINITE_OR_NOT, max_size=6))
def test_result_files_are_strict_json_with_nonfinite_values_flagged(tmp_path_factory, values):
    values = {k: v for k, v in values.items() if k != "_nonfinite"}
    path = tmp_path_factory.mktemp("json") / "metrics.json"
    write_json(path, values)

    strict = json.loads(path.read_text(), parse_constant=refuse_constant)
    back = read_json(path)
    for key, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            assert strict[key] is None and strict["_nonfinite"][key] in ("nan", "inf", "-inf")
            assert math.isnan(back[key]) if math.isnan(value) else back[key] == value
        else:
            assert back[key] == value
    assert not list(path.parent.glob(".*.tmp"))  # the atomic write left no temp file


# ---- data paths: the folder the user named, or one line -----------------------------------


TRAIN_IMAGES = "train-images-idx3-ubyte"


def idx_folder(folder: Path, skip: str | None = None) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 200), ("t10k", 40)):
        for kind, shape in (("images-idx3", (n, 28, 28)), ("labels-idx1", (n,))):
            name = f"{split}-{kind}-ubyte"
            if name != skip:
                write_idx(folder / name, rng.integers(0, 10, shape))
    return folder


@pytest.mark.parametrize(
    ("make", "message"),
    [(lambda p: (p.write_text(""), p)[1], "is a file, not a folder"),
     (lambda p: (p.mkdir(), p)[1], "lacks fashion_mnist IDX files: train-images-idx3-ubyte"),
     (lambda p: idx_folder(p, skip="t10k-labels-idx1-ubyte"),
      "lacks fashion_mnist IDX files: t10k-labels-idx1-ubyte (.gz or not)"),
     # there, but no file: it was "not there"
     (lambda p: (os.mkfifo(idx_folder(p, skip=TRAIN_IMAGES) / TRAIN_IMAGES), p)[1],
      f"{TRAIN_IMAGES} is a FIFO, not a regular file; the fashion_mnist IDX files must be"),
     (lambda p: ((idx_folder(p, skip=TRAIN_IMAGES) / f"{TRAIN_IMAGES}.gz").mkdir(), p)[1],
      f"{TRAIN_IMAGES}.gz is a folder, not a regular file"),
     # images of no pixel were named as model.net.image_shape=[1, 0, 0], a size nobody set
     (lambda p: (write_idx(idx_folder(p, skip=TRAIN_IMAGES) / TRAIN_IMAGES,
                           np.zeros((200, 0, 0))), p)[1],
      "train images are 0x0 pixels; an image has at least one row and one column")],
)  # fmt: skip
def test_a_named_data_root_is_never_replaced(make_cfg, tmp_path, make, message):
    root = make(tmp_path / "root")  # not tmp_path / "data": make_cfg's paths.data_dir
    cfg = make_cfg(*TINY_AE, f"data.root={root}", "data.subset=null", "data.val_size=10")
    with pytest.raises((ConfigError, DataNotFoundError, DataFileError)) as info:
        train(cfg)
    assert message in str(info.value) and "\n" not in str(info.value)


def png(path: Path, width: int, height: int) -> Path:
    """A grey PNG whose header claims ``width`` x ``height`` (the pixels are not there)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (1 + min(width, 64)))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
                     + chunk(b"IEND", b""))  # fmt: skip
    return path


def image_folder(root: Path, n: int) -> Path:
    root.mkdir(parents=True)
    for i in range(n):
        png(root / f"{i}.png", 8, 8)
    return root


FOLDER = ["data=image_folder", "data.subset=null", "data.channels=1", "data.image_size=28",
          "data.batch_size=2"]  # fmt: skip


@pytest.mark.parametrize(
    ("sizes", "message"),
    [(["data.val_size=5", "data.test_size=5"], "data.test_size=5 and data.val_size=5 leave no"),
     (["data.val_size=1", "data.test_size=1", "data.batch_size=64"], "data.batch_size=64")],
)  # fmt: skip
def test_an_image_folder_smaller_than_its_splits_names_the_setting(
    make_cfg, tmp_path, sizes, message
):
    root = image_folder(tmp_path / "images", 6)
    with pytest.raises(USER_ERRORS) as info:
        train(make_cfg(*TINY_AE, *FOLDER, f"data.root={root}", *sizes))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_decompression_bomb_is_refused_by_its_header(make_cfg, tmp_path):
    root = image_folder(tmp_path / "images", 6)
    png(root / "bomb.png", 60000, 60000)  # 3.6 gigapixels claimed in 100 bytes
    with pytest.raises(DataFileError, match=r"bomb.png: unreadable image"):
        train(make_cfg(*TINY_AE, *FOLDER, f"data.root={root}", "data.val_size=1",
                       "data.test_size=1"))  # fmt: skip


def test_a_data_root_of_the_wrong_kind_is_one_line(make_cfg):
    with pytest.raises(ConfigError, match=r"data.root=\[1,2\] is not allowed: it must be"):
        train(make_cfg(*TINY_AE, "data.root=[1,2]"))


@pytest.mark.parametrize(("download", "advice"), [
    (True, "; the download was tried and failed (check the network)"),
    (False, ", or allow the download with data.download=true"),
])  # fmt: skip
def test_missing_cifar10_advises_what_was_not_tried(tmp_path, monkeypatch, download, advice):
    from aegan.data.cifar import load_cifar10

    def unreachable(*args, **kwargs):
        raise RuntimeError("<urlopen error [Errno -2] Name or service not known>")

    monkeypatch.setattr("torchvision.datasets.utils.download_and_extract_archive", unreachable)
    with pytest.raises(DataNotFoundError) as error:
        load_cifar10(root=str(tmp_path), data_dir=tmp_path, download=download, val_size=10,
                     split_seed=0)  # fmt: skip
    assert str(error.value).endswith(f"pass data.root=FOLDER{advice}")
