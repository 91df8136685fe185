"""``python -m aegan.bench``: one row per configuration, the failing one reported, the
compile modes crossed with scopes once, bad settings in one line; the GPU check's plan."""

from __future__ import annotations

import re
import subprocess

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

import aegan.bench as bench
import aegan.bench_plan as bench_plan
from aegan.errors import ConfigError
from conftest import CONF_DIR, REPO, assert_one_error_line


def bench_config(tmp_path, *overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="bench", overrides=list(overrides))
    with open_dict(cfg):
        cfg.paths.data_dir = str(tmp_path / "data")
    return cfg


def test_bench_prints_one_row_per_configuration(tmp_path):
    cfg = bench_config(
        tmp_path, "trainer.device=cpu", "data.subset=512", "steps=2", "warmup=1", "repeats=1",
        "threads=[1]", "channels_last=[false,true]",
        "variants={foreach:['model.optimizer.fused=false','model.optimizer.foreach=true']}",
    )  # fmt: skip
    rows = bench.benchmark(cfg)
    assert [(r["variant"], r["channels_last"]) for r in rows] == [
        ("base", False), ("base", True), ("foreach", False), ("foreach", True),
    ]  # fmt: skip
    for row in rows:
        assert row["compile"] == "none" and row["threads"] == 1 and row["device"] == "cpu"
        assert row["model"] == "autoencoder" and row["device_name"]
        ratio = row["plain_ms_per_step"] / row["project_ms_per_step"]
        assert row["ratio"] == pytest.approx(ratio, abs=0.01)
        assert row["project_images_per_sec"] == pytest.approx(
            row["batch_size"] * 1000 / row["project_ms_per_step"], rel=0.01
        )  # the batch over the step time
    assert [r["optimizer"] for r in rows] == ["fused", "fused", "foreach", "foreach"]


def test_bench_reports_a_configuration_that_fails_and_times_the_rest(tmp_path, monkeypatch):
    """A compile error in one configuration (no C++ compiler, an older torch) costs that row
    only: it carries the error, the others their figures."""
    built_step = bench.project_step

    def step_failing_with_channels_last(cfg, data, device):
        step = built_step(cfg, data, device)
        if not cfg.trainer.channels_last:
            return step

        def failing() -> None:
            raise RuntimeError("backend compiler failed\nlong traceback")

        return failing

    monkeypatch.setattr(bench, "project_step", step_failing_with_channels_last)
    cfg = bench_config(
        tmp_path, "trainer.device=cpu", "data.subset=256", "steps=3", "plain_steps=1",
        "warmup=1", "repeats=1", "threads=[1]", "channels_last=[true,false]",
    )  # fmt: skip
    failed, timed = bench.benchmark(cfg)
    assert failed["channels_last"] and failed["error"] == "RuntimeError: backend compiler failed"
    assert "ratio" not in failed
    assert "error" not in timed and timed["project_ms_per_step"] > 0
    assert (timed["steps"], timed["plain_steps"]) == (3, 1)


def test_bench_crosses_compile_modes_with_scopes_once_each(tmp_path):
    cfg = bench_config(tmp_path, "threads=[1]", "compile_modes=[none,default]",
                       "compile_scopes=[network,step]", "variants={mine:['+mine.size=3']}")  # fmt: skip
    configs = bench_plan.configurations(cfg)
    labels = [(labels["compile"], labels["compile_scope"]) for labels, _ in configs[:3]]
    assert labels == [("none", None), ("default", "network"), ("default", "step")]
    assert (
        configs[3][1].mine.size == 3 and "mine" not in configs[0][1]
    )  # +key adds, as on a command line


@pytest.mark.parametrize(
    ("lists", "said"),
    [(["compile_scopes=[step]"], ["compile_scopes=[step] has no effect: compile_modes=[null] "
                                  "compiles nothing"]),
     (["compile_scopes=[step]", "compile_modes=[none]"], ["compile_scopes=[step] has no effect: "
                                                          "compile_modes=[none] compiles nothing"]),
     (["compile_scopes=[step]", "compile_modes=[none,default]"], []), ([], [])],
)  # fmt: skip
def test_compile_scopes_without_a_compile_is_said(tmp_path, caplog, lists, said):
    """They were timed as without them, their rows' compile_scope null, without a word."""
    cfg = bench_config(tmp_path, "threads=[1]", *lists)
    with caplog.at_level("WARNING", logger="aegan.bench"):
        bench.warn_inert_scopes(cfg, bench_plan.configurations(cfg))
    assert [r.getMessage() for r in caplog.records] == said


def test_a_variant_reads_its_values_as_the_command_line_does(tmp_path):
    """``model.optimizer.lr=1e-3`` was YAML's text '1e-3' in a variant, a number on the
    command line; a sweep's a,b was the text 'a,b'."""
    cfg = bench_config(tmp_path, "threads=[1]", "variants={a:['model.optimizer.lr=1e-3',"
                       "'model.hidden_dims=[128,64]','model.optimizer.fused=false']}")  # fmt: skip
    variant = bench_plan.configurations(cfg)[1][1]
    assert variant.model.optimizer.lr == 1e-3 and variant.model.optimizer.fused is False
    assert list(variant.model.hidden_dims) == [128, 64]
    for given, says in [
        ("model.latent_dim=4,8", "a variant sets one value, not a sweep"),
        ("model.latent_dim=[1", "its value cannot be read as the command line reads it"),
    ]:
        cfg = bench_config(tmp_path, "threads=[1]", f"variants={{a:['{given}']}}")
        with pytest.raises(
            ConfigError, match=re.escape(f"variants.a: '{given}' is not allowed: {says}")
        ):
            bench_plan.configurations(cfg)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("precisions=[fp8]", "precisions[0]='fp8' is not allowed; choose one of: auto, bf16"),
        ("channels_last=[maybe]", "channels_last[0]='maybe' is not allowed"),  # a traceback
        ("variants=[1,2]", "variants=[1,2] is not allowed: it must be a mapping"),  # a traceback
        ("variants={a:'x'}", "variants.a='x' is not allowed: it must be a non-empty list"),
        ("variants={a:['nokey=1']}", "variants.a: 'nokey=1' is not allowed: the config has no"),
        (  # a typo was added as a key of its own and the variant timed as the base
            "variants={a:['trainer.precison=bf16']}",
            "variants.a: 'trainer.precison=bf16' is not allowed: the config has no setting",
        ),
        ("variants={a:['trainer.precision=fp8']}", "variants.a: trainer.precision='fp8' is not"),
        # the task's own check, met as the variant's optimizer is read: not named as the variant's
        ("variants={a:['model.latent_dim=-1']}", "variants.a: model.latent_dim=-1 is not allowed"),
        ("batch_size=0", "error: batch_size=0 is not allowed"),  # once ignored as "unset"
        ("steps=-1", "steps=-1 is not allowed"),  # once timed, and reported as a row
        ("plain_steps=0", "plain_steps=0 is not allowed"),
        # a group's option read as the text of its section: "model='vae' ... with a _target_"
        ("variants={a:['model=vae']}",
         "variants.a: 'model=vae' is not allowed: model is a section of settings, not one"),
        ("variants={a:['trainer=5']}", "trainer is a section of settings"),  # a traceback
        ("variants={a:['model.hidden_dims={c:1}']}",  # OmegaConf's "Cannot merge DictConfig"
         "variants.a: 'model.hidden_dims={c:1}' is not allowed: model.hidden_dims must be a list"),
        # each configuration timed twice, as if two
        ("threads=[1,1]", "threads=[1,1] is not allowed: it must list each value to time once"),
        ("compile_modes=[none,none]", "compile_modes=[none,none] is not allowed"),
        ("threads=[null,1]", "threads=[null,1] is not allowed: it times [1,1] threads"),
        # a list sets it in each configuration: the rows were timed as without it
        ("trainer.precision=bf16", "trainer.precision=bf16 is not allowed: aegan.bench times "
         "each value of precisions, which sets it in every configuration; use precisions=[bf16]"),
        ("trainer.compile=default", "use compile_modes=[default]"),
        # auto is bf16 or fp32 by the machine: one of them timed twice, labelled alike
        ("precisions=[auto,fp32,bf16]", "precisions=[auto,fp32,bf16] is not allowed: it times"),
        # a list of bench.yaml deleted: OmegaConf's traceback, "Key 'precisions' is not in struct"
        ("~precisions", "error: precisions is not set (deleted with ~precisions?)"),
        ("~warmup", "error: warmup is not set (deleted with ~warmup?)"),  # as warmup=null
    ],
)  # fmt: skip
def test_benchmark_cli_refuses_a_bad_setting_in_one_line(cli, tmp_path, override, message):
    """Refused before Hydra makes the folder: each once left it behind, with a bench.log."""
    out = tmp_path / "out"
    result = cli("aegan.bench", "model=autoencoder", override, f"hydra.run.dir={out}")
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-2000:]
    assert message in output and "Traceback" not in output
    assert not out.exists()


def test_gpu_check_script_plans_every_stage(tmp_path):
    result = subprocess.run(
        ["bash", "scripts/gpu_check.sh", "--dry-run"], cwd=REPO, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "OUT": str(tmp_path)}, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    plan = result.stdout
    assert "pip install" in plan and "--no-index" in plan and "-m gpu tests/" in plan
    for stage in ("model=autoencoder", "model=dcgan", "compile_modes=[reduce-overhead]",
                  "capture_step=[false,true]", "tests/test_capture.py"):  # fmt: skip
        assert stage in plan, stage
    assert "parity.py" not in plan  # on request only: STAGES=parity
    result = subprocess.run(
        ["bash", "scripts/gpu_check.sh", "--dry-run"], cwd=REPO, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "OUT": str(tmp_path), "STAGES": "parity"}, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "scripts/parity.py gan --device cuda" in result.stdout
    assert "aegan.bench" not in result.stdout


@pytest.mark.parametrize("model", ["aae", "infogan"])  # InfoGAN's DCGAN body lacks its Q
def test_a_model_without_a_tutorial_loop_is_timed_alone(tmp_path, model):
    cfg = bench_config(tmp_path, f"model={model}", "trainer.device=cpu", "data.subset=256",
                       "steps=2", "warmup=1", "repeats=1", "threads=[1]")  # fmt: skip
    (row,) = bench.benchmark(cfg)
    assert row["model"] == model and row["project_ms_per_step"] > 0
    assert "ratio" not in row and "plain_ms_per_step" not in row


def test_a_tutorial_loop_stands_only_for_the_step_its_class_writes():
    """A subclass with a step of its own inherits its parent's plain loop, which trains
    another model: timed against it, a denoising autoencoder's noisy step got a ratio."""
    from aegan.tasks import AutoencoderTask, GanTask, InfoGanTask, VaeTask

    class NoisyAutoencoder(AutoencoderTask):
        def train_step(self, batch, amp):
            return super().train_step(batch, amp)

    class QuieterGan(GanTask):  # a change elsewhere keeps its parent's step and loop
        def log_epoch(self, logger, data, step):
            return None

    assert bench.writes_its_tutorial(AutoencoderTask) and bench.writes_its_tutorial(VaeTask)
    assert bench.writes_its_tutorial(QuieterGan)
    assert not bench.writes_its_tutorial(NoisyAutoencoder)
    assert not bench.writes_its_tutorial(InfoGanTask)


QUICK = ["model=autoencoder", "trainer.device=cpu", "data.subset=256", "steps=1", "warmup=0",
         "repeats=1", "threads=[1]"]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "says"),
    [  # each wrote bench.log and bench.jsonl among the run's files
        (["hydra.run.dir={run}/checkpoints"], "{run}/checkpoints is inside the trained run {run}"),
        (["hydra.run.dir={run}"], "hydra.run.dir={run} holds a trained run"),
        (["-m", "hydra.sweep.dir={run}"], "hydra.sweep.dir={run} holds a trained run"),
    ],
)  # fmt: skip
def test_bench_refuses_a_folder_of_a_trained_run_before_writing_there(cli, tmp_path, args, says):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.pt").write_bytes(b"weights")
    (run / "metrics.json").write_text("{}")
    before = sorted(run.rglob("*"))
    refused = cli("aegan.bench", *(arg.format(run=run) for arg in args), *QUICK)
    assert_one_error_line(refused, says.format(run=run))
    assert sorted(run.rglob("*")) == before


def test_bench_does_not_append_through_a_link(cli, tmp_path):
    """``out.open("a")`` followed it: the lines went into the file it points at."""
    (tmp_path / "target").write_text("kept\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "bench.jsonl").symlink_to(tmp_path / "target")
    refused = cli("aegan.bench", *QUICK, f"hydra.run.dir={tmp_path / 'out'}")
    link = tmp_path / "out" / "bench.jsonl"
    assert_one_error_line(refused, f"{link} cannot be appended to: it is a link")
    assert (tmp_path / "target").read_text() == "kept\n"


@pytest.mark.parametrize(
    ("override", "says"),
    [  # each was accepted, and the row timed as without it
        ("variants={a:['trainer.resume=/x']}",
         "variants.a: 'trainer.resume=/x' is not allowed: aegan.bench ignores trainer.resume"),
        ("variants={a:['+evaluate.samples2=1']}", "aegan.bench ignores evaluate (it evaluates"),
        ("trainer.resume=/x", "trainer.resume=/x is not allowed: aegan.bench ignores trainer."),
        ("trainer.epochs=3", "aegan.bench ignores trainer.epochs (it times steps=N)"),
        ("logger=none", "logger=none is not allowed: aegan.bench ignores logger"),
    ],
)  # fmt: skip
def test_bench_refuses_a_setting_it_ignores(cli, tmp_path, override, says):
    refused = cli("aegan.bench", *QUICK, override, f"hydra.run.dir={tmp_path / 'out'}")
    assert_one_error_line(refused, says)
    assert not (tmp_path / "out").exists()  # not even a bench.log


def test_a_bench_sweep_checks_every_job_before_its_folder(cli, tmp_path):
    """Job 1's mistake was met as job 1 started: job 0 timed, the sweep's folder made."""
    sweep = tmp_path / "sweep"
    refused = cli("aegan.bench", "-m", *QUICK, "steps=1,0", f"hydra.sweep.dir={sweep}")
    assert_one_error_line(
        refused, "job 1 of 2 (steps=0): steps=0 is not allowed: it must be a positive integer; "
        "no job was started"
    )  # fmt: skip
    assert not sweep.exists()


@pytest.mark.parametrize(
    "compiled", [["compile_modes=[none,default]"], ["variants={c:['trainer.compile=default']}"]]
)
def test_a_compiled_configuration_without_warm_up_is_refused(cli, tmp_path, compiled):
    """Its compile fell in the first timed repeat (a row of compile time) or failed there,
    ending the whole benchmark; warm-up keeps it out, as for capture_step."""
    out = tmp_path / "out"
    result = cli("aegan.bench", *QUICK, *compiled, f"hydra.run.dir={out}")
    assert_one_error_line(result, "warmup=0 is too short for trainer.compile=default")
    assert not out.exists()


def test_thread_counts_without_null_refuse_trainer_cpu_threads(cli, tmp_path):
    """threads=[1] times 1 thread; trainer.cpu_threads=2 beside it was taken without a word
    (only a null count takes it)."""
    out = tmp_path / "out"
    result = cli("aegan.bench", *QUICK, "trainer.cpu_threads=2", f"hydra.run.dir={out}")
    assert_one_error_line(result, "trainer.cpu_threads=2 is not allowed: aegan.bench times each "
                          "value of threads, which sets it in every configuration; use threads=[2]")  # fmt: skip
    assert not out.exists()


@pytest.mark.parametrize("gzipped", [False, True])
def test_the_plain_loop_gets_the_files_aegan_read(tmp_path, gzipped):
    """IDX files named .gz whose bytes are not gzip (a download a browser unpacked) are read
    by aegan, and its plain loop's copy stopped on them in gzip's traceback."""
    import gzip

    from hostile_runs import tiny_idx_folder

    from aegan.data import load_data
    from aegan.data.idx import read_idx

    folder = tiny_idx_folder(tmp_path / "idx")
    for path in list(folder.iterdir()):  # named .gz, gzipped or not
        data = path.read_bytes()
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(data) if gzipped else data)
        path.unlink()
    cfg = bench_config(tmp_path, f"data.root={folder}", "data.val_size=64")
    data = load_data(cfg.data, data_dir=cfg.paths.data_dir)
    raw = bench.torchvision_root(data, tmp_path / "plain") / "FashionMNIST" / "raw"
    for name in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert torch.equal(read_idx(raw / name), read_idx(folder / f"{name}.gz"))
