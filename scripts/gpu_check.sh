#!/usr/bin/env bash
# The GPU checks of the speed work, as one command for a machine with CUDA and no network.
#
#   scripts/gpu_check.sh --prepare    # here, with PyPI: wheels + Fashion-MNIST into .gpu_wheels/
#   AB_REF=1ee8dcc scripts/gpu_check.sh --prepare   # also that commit's src/ and conf/, for "ab"
#   scripts/gpu_check.sh              # there: install, GPU tests, benchmarks; results in $OUT
#   scripts/gpu_check.sh --dry-run    # print the commands, run nothing
#   DEVICE=cpu QUICK=1 PYTHON=.venv/bin/python scripts/gpu_check.sh   # rehearse every stage on the CPU
#
# The GPU machine has torch, torchvision, tensorboard, tqdm, numpy, pytest and PyYAML but not
# hydra-core, omegaconf or antlr4: those travel as wheels in the git-ignored .gpu_wheels/, with
# the Fashion-MNIST files for the benchmark's plain loop (about 31 MB; name .gpu_wheels in the
# device tool's carry). Stages, each under its own time limit so the whole ends within
# BUDGET_S (default 480 s), in this order (what a short budget cuts comes last), each
# benchmark in its own process so that a slow or failing compile costs only its own rows;
# STAGES picks some:
#   gan-compiled-captured  DCGAN bf16 channels_last, networks compiled (default), step
#             captured, with and without pad_thin_convs: the fastest DCGAN measured
#   tests     the GPU-marked tests
#   ab        (when prepared with AB_REF) the gan-compiled-captured configuration on AB_REF's
#             tree and on this one, alternately, twice: a speed change's before and after on
#             one card in one run (rows in bench_dcgan.jsonl with "tree": "ref ..." / "this")
#   gan       DCGAN, batch 256, fp32/bf16, channels_last or not, eager and captured
#   ae        autoencoder, batch 4096, fp32/bf16, eager and its step captured (capture_step)
#   ae-compiled   the autoencoder's whole step compiled with CUDA graphs (reduce-overhead)
#   gan-compiled  DCGAN bf16 channels_last, networks compiled with CUDA graphs
#   recipes   (not in the default STAGES: ~6 min) every Fashion-MNIST recipe, one epoch on
#             5000 images in bf16, eager and with its step captured: each must train to the end;
#             one line of its test figures per run in status.txt (RECIPES picks some)
#   family    (not in the default STAGES: ~2 min) the VAE family and the hybrids, batch 256,
#             bf16, eager and captured (bench_family.jsonl)
#   parity    (not in the default STAGES: 3-5 min more) DCGAN quality, captured bf16 against
#             fp32 eager, 3 seeds each (scripts/parity.py gan --device cuda)
#   probe     (not in the default STAGES: ~60 s) where the DCGAN step's kernel time goes
#             (scripts/probe_dcgan_gpu.py)
# (install always runs first). On the CPU (DEVICE=cpu) nothing is captured.
# Output in $OUT (at most 8 files come back): env.txt, bench_autoencoder.jsonl,
# bench_dcgan.jsonl, bench_family.jsonl, bench.log, gpu_tests.log, recipes.log, parity.log,
# probe.txt, status.txt. Exit status 1 when a stage failed.
set -uo pipefail
cd "$(dirname "$0")/.."

WHEELS=.gpu_wheels
PYTHON=${PYTHON:-python3}
OUT=${OUT:-/tmp/aegan-gpu-check}
DEVICE=${DEVICE:-cuda}
QUICK=${QUICK:-0}
BUDGET_S=${BUDGET_S:-480}
STAGES=${STAGES:-gan-compiled-captured tests ab gan ae ae-compiled gan-compiled}
PINS=(hydra-core==1.3.8 omegaconf==2.3.1 antlr4-python3-runtime==4.9.3)  # as in .venv
START=$(date +%s)
DRY=0
FAILED=0  # stages that failed, timed out or were skipped: the exit status is 1 when any did

case "${1:-}" in
--prepare)
    rm -f "$WHEELS"/*.whl  # one version of each
    rm -rf "$WHEELS/ab"
    if [ -n "${AB_REF:-}" ]; then  # the tree to compare against, beside the wheels
        mkdir -p "$WHEELS/ab" && git archive "$AB_REF" src conf | tar -x -C "$WHEELS/ab" || exit 1
        git rev-parse --short "$AB_REF" >"$WHEELS/ab/REF" || exit 1
    fi
    mkdir -p "$WHEELS/fashion-mnist"
    # pure-Python packages: one py3-none-any wheel each (antlr4 4.9.3 is built from its sdist)
    "$PYTHON" -m pip wheel --quiet --no-deps -w "$WHEELS" "${PINS[@]}" || exit 1
    for name in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        for src in "/usr/share/datasets/fashion-mnist/$name.gz" "data/FashionMNIST/raw/$name.gz" "data/FashionMNIST/$name.gz"; do
            if [ -f "$src" ]; then cp "$src" "$WHEELS/fashion-mnist/"; break; fi
        done
        [ -f "$WHEELS/fashion-mnist/$name.gz" ] || { echo "no $name.gz here: run 'make train' once" >&2; exit 1; }
    done
    du -sh "$WHEELS"
    exit 0
    ;;
--dry-run) DRY=1 ;;
"") ;;
*) echo "usage: $0 [--prepare | --dry-run]" >&2; exit 2 ;;
esac

# each setting checked before anything runs: one line naming it, its value and what it may be
refuse() { echo "error: $1" >&2; exit 2; }
[[ "$QUICK" =~ ^[01]$ ]] || refuse "QUICK=${QUICK@Q} is not allowed: it must be 1 (tiny sizes) or 0"
[[ "$BUDGET_S" =~ ^[1-9][0-9]{0,5}$ ]] ||
    refuse "BUDGET_S=${BUDGET_S@Q} is not allowed: it must be whole seconds in [1, 999999]"
[[ "$DEVICE" =~ ^(cpu|cuda|cuda:[0-9]{1,3})$ ]] ||
    refuse "DEVICE=${DEVICE@Q} is not allowed: it must be cpu, cuda or cuda:N"
ALL_STAGES="gan-compiled-captured tests ab gan ae ae-compiled gan-compiled recipes family parity probe"
for stage in $STAGES; do
    case " $ALL_STAGES " in *" $stage "*) ;;
    *) refuse "STAGES=${STAGES@Q} is not allowed: ${stage@Q} is not a stage; choose from $ALL_STAGES" ;;
    esac
done

if [ "$QUICK" = 1 ]; then  # a rehearsal: every stage, tiny sizes
    AE_ARGS=(batch_size=256 steps=2 warmup=2 repeats=1)
    GAN_ARGS=(batch_size=16 steps=1 warmup=1 repeats=1
        model.generator.channels=[32,16,16] model.discriminator.channels=[16,32])
    COMPILED=default
    PARITY_ARGS=(--seeds 0,1 --epochs 1 data.subset=2000 evaluate.samples=500
        model.generator.channels=[32,16,16] model.discriminator.channels=[16,32])
    PROBE_ARGS=(--batch 8 --iters 1)
    FAMILY_ARGS=(batch_size=32 steps=2 warmup=1 repeats=1 plain_steps=1)
    RECIPE_ARGS=(data.subset=200 evaluate.samples=200 evaluate.iwae_samples=2)
else
    AE_ARGS=(batch_size=4096 steps=200 plain_steps=20 warmup=5 repeats=3)  # plain: ~0.2 s a step
    GAN_ARGS=(batch_size=256 steps=100 plain_steps=25 warmup=10 repeats=3)
    COMPILED=reduce-overhead
    PARITY_ARGS=()
    PROBE_ARGS=()
    FAMILY_ARGS=(batch_size=256 steps=30 plain_steps=10 warmup=10 repeats=3)
    RECIPE_ARGS=(data.subset=5000)
fi
# every Fashion-MNIST recipe in conf/experiment/, by its model's name: a new one is checked too
RECIPES=${RECIPES:-$(cd conf/experiment && ls -- *_fashion_mnist.yaml | sed 's/_fashion_mnist\.yaml$//')}
COMMON=(trainer.device="$DEVICE" "data.root=$PWD/$WHEELS/fashion-mnist" paths.data_dir=/tmp/aegan-data
    trainer.cudnn_benchmark=true 'threads=[null]')

run() {  # run LIMIT_S LOGFILE CMD...: one stage, cut at its share of the budget
    local limit=$1 log=$2; shift 2
    local left=$((BUDGET_S - ($(date +%s) - START) - 10))
    [ "$left" -lt "$limit" ] && limit=$left
    echo "+ (limit ${limit}s) $*" | tee -a "$OUT/status.txt"
    [ "$DRY" = 1 ] && return 0
    if [ "$limit" -le 5 ]; then
        echo "skipped: out of time" | tee -a "$OUT/status.txt"; FAILED=$((FAILED + 1)); return 1
    fi
    timeout --kill-after=10 "$limit" "$@" >>"$log" 2>&1
    local rc=$?
    echo "  exit $rc after $(($(date +%s) - START)) s" | tee -a "$OUT/status.txt"
    [ "$rc" = 0 ] || FAILED=$((FAILED + 1))
    return $rc
}

mkdir -p "$OUT"
: >"$OUT/status.txt"
if [ "$DRY" = 0 ]; then
    rm -rf /tmp/aegan-bench /tmp/aegan-parity  # no rows of an earlier run in this one's files
    mkdir -p /tmp/aegan-bench
    ls "$WHEELS"/*.whl "$WHEELS"/fashion-mnist/*.gz >/dev/null || { echo "run $0 --prepare first (here, with PyPI)" >&2; exit 1; }
    {
        date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | head -3
        "$PYTHON" -c 'import torch, sys; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name() if torch.cuda.is_available() else "no CUDA")'
    } >"$OUT/env.txt" 2>&1
fi

# hydra-core, omegaconf, antlr4 beside the machine's own packages; aegan from src/
run 60 "$OUT/bench.log" "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --upgrade --target /tmp/aegan-site "$WHEELS"/*.whl || true
export PYTHONPATH="/tmp/aegan-site:$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

CAPTURE='[false,true]' AB_CAPTURE='[true]'
[ "$DEVICE" = cpu ] && CAPTURE='[false]' AB_CAPTURE='[false]'  # a CUDA graph needs CUDA
# one process per group: each row's ratio is to the plain loop timed in the same process
wanted() { case " $STAGES " in *" $1 "*) return 0 ;; esac; return 1; }  # wanted STAGE
bench() {  # bench LIMIT_S NAME ARGS...: one benchmark process, its lines in /tmp/aegan-bench/NAME
    local limit=$1 name=$2; shift 2
    wanted "$name" || return 0
    run "$limit" "$OUT/bench.log" "$PYTHON" -m aegan.bench "${COMMON[@]}" "$@" \
        hydra.run.dir="/tmp/aegan-bench/$name"
}
[ "$DEVICE" = cpu ] || bench 150 gan-compiled-captured model=dcgan 'precisions=[bf16]' \
    'compile_modes=[default]' 'capture_step=[true]' 'channels_last=[true]' "${GAN_ARGS[@]}" \
    "variants={pad:['trainer.pad_thin_convs=true']}"
# the files with GPU tests, not the whole suite: some need packages that machine lacks
wanted tests && run 150 "$OUT/gpu_tests.log" "$PYTHON" -m pytest -q -p no:cacheprovider -m gpu \
    $(grep -l "cuda.is_available()" tests/test_*.py)
if wanted ab && [ -f "$WHEELS/ab/REF" ]; then
    ref=$(cat "$WHEELS/ab/REF")
    for round in 1 2; do
        for tree in "ref $ref" this; do
            src=$PWD/src
            [ "$tree" = this ] || src=$PWD/$WHEELS/ab/src
            name="ab-$round-${tree%% *}"
            run 60 "$OUT/bench.log" env PYTHONPATH="/tmp/aegan-site:$src" "$PYTHON" -m aegan.bench \
                "${COMMON[@]}" model=dcgan 'precisions=[bf16]' 'compile_modes=[default]' \
                "capture_step=$AB_CAPTURE" 'channels_last=[true]' trainer.pad_thin_convs=true \
                "${GAN_ARGS[@]}" hydra.run.dir="/tmp/aegan-bench/$name" &&
                sed "s/^{/{\"tree\": \"$tree\", /" "/tmp/aegan-bench/$name/bench.jsonl" >>/tmp/aegan-bench/ab.jsonl
        done
    done
fi
bench 120 gan model=dcgan 'precisions=[fp32,bf16]' 'channels_last=[false,true]' \
    "capture_step=$CAPTURE" "${GAN_ARGS[@]}"
bench 75 ae model=autoencoder 'precisions=[fp32,bf16]' "capture_step=$CAPTURE" "${AE_ARGS[@]}"
bench 120 ae-compiled model=autoencoder 'precisions=[fp32]' "compile_modes=[$COMPILED]" \
    'compile_scopes=[step]' "${AE_ARGS[@]}"
bench 180 gan-compiled model=dcgan 'precisions=[bf16]' "compile_modes=[$COMPILED]" \
    'channels_last=[true]' "${GAN_ARGS[@]}"
for model in vae conv_vae aae vae_gan bigan infogan; do
    wanted family && run 60 "$OUT/bench.log" "$PYTHON" -m aegan.bench "${COMMON[@]}" model=$model \
        'precisions=[bf16]' "capture_step=$CAPTURE" "${FAMILY_ARGS[@]}" \
        hydra.run.dir="/tmp/aegan-bench/family-$model"
done
FIGURES='import json, sys
m = json.load(open(sys.argv[1] + "/metrics.json"))
keys = ("test/mse", "test/neg_elbo", "test/iwae_nll", "gen/fd", "gen/precision", "train/steps")
print("  " + sys.argv[2] + ": " + " ".join(f"{k}={m[k]:.5g}" for k in keys if k in m))'
for recipe in $RECIPES; do
    for capture in ${CAPTURE//[\[\],]/ }; do
        wanted recipes || break 2
        dir=/tmp/aegan-recipes/$recipe-$capture
        run 60 "$OUT/recipes.log" "$PYTHON" -m aegan.train "experiment=${recipe}_fashion_mnist" \
            trainer.device="$DEVICE" trainer.precision=bf16 trainer.capture_step=$capture \
            trainer.epochs=1 "${RECIPE_ARGS[@]}" "data.root=$PWD/$WHEELS/fashion-mnist" \
            paths.data_dir=/tmp/aegan-data hydra.run.dir="$dir" &&
            "$PYTHON" -c "$FIGURES" "$dir" "$recipe capture_step=$capture" | tee -a "$OUT/status.txt"
    done
done
wanted probe && PROBE_DEVICE=$DEVICE run 120 "$OUT/probe.txt" "$PYTHON" scripts/probe_dcgan_gpu.py \
    "${PROBE_ARGS[@]}"
wanted parity && run 300 "$OUT/parity.log" "$PYTHON" scripts/parity.py gan --device "$DEVICE" \
    --out /tmp/aegan-parity "${PARITY_ARGS[@]}" "data.root=$PWD/$WHEELS/fashion-mnist" \
    paths.data_dir=/tmp/aegan-data paths.log_dir=/tmp/aegan-logs

if [ "$DRY" = 0 ]; then
    cat /tmp/aegan-bench/ae{,-compiled}/bench.jsonl >"$OUT/bench_autoencoder.jsonl" 2>/dev/null
    cat /tmp/aegan-bench/gan{,-compiled,-compiled-captured}/bench.jsonl /tmp/aegan-bench/ab.jsonl \
        >"$OUT/bench_dcgan.jsonl" 2>/dev/null
    if wanted family; then cat /tmp/aegan-bench/family-*/bench.jsonl >"$OUT/bench_family.jsonl"; fi
    echo "done in $(($(date +%s) - START)) s, $FAILED stage(s) failed" | tee -a "$OUT/status.txt"
    cat "$OUT"/bench_*.jsonl 2>/dev/null
    if [ -f "$OUT/gpu_tests.log" ]; then tail -3 "$OUT/gpu_tests.log"; fi
fi
[ "$FAILED" = 0 ]
