#!/usr/bin/env bash
# Mutation testing (mutmut 3) of the modules whose bugs would be silent: each module is mutated
# alone and checked by its own fast unit tests only. Slow (minutes per module), so not in CI.
#
#   scripts/mutation.sh                 every module in MODULES below
#   scripts/mutation.sh metrics.prdc    only the named ones
#   scripts/mutation.sh --list          the module table
#   scripts/mutation.sh --again NAME    retest the last run's survivors and timeouts of NAME with
#                                       the current tests (the other verdicts are kept)
#
# Each run rewrites that module's section of docs/mutation-survivors.md: counts,
# score and the diff of every survivor. mutmut's working copy stays in .mutation/NAME/ (ignored by
# git), so `cd .mutation/NAME && ../../.venv/bin/mutmut browse` (or `show MUTANT`) works after.
# Environment: MUTATION_JOBS (parallel mutants, default: the CPU count), VENV (default .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
VENV=${VENV:-.venv}
PY="$REPO/$VENV/bin/python"
JOBS=${MUTATION_JOBS:-$(nproc)}
if ! [[ "$JOBS" =~ ^[1-9][0-9]{0,3}$ ]]; then  # mutmut's own error came after the install
    echo "error: MUTATION_JOBS=${JOBS@Q} is not allowed: it must be a whole number in [1, 9999]" >&2
    exit 2
fi
REPORT=docs/mutation-survivors.md

# The modules: a name | the files to mutate | the tests that check them (shell globs, all
# space-separated). Add a row to add a module; the tests must be fast unit tests (slow-marked
# tests are deselected).
MODULES='
losses.gan             | src/aegan/losses/gan.py               | tests/test_gan_losses.py
metrics.frechet        | src/aegan/metrics/frechet.py          | tests/test_metrics.py tests/test_frechet_*.py
metrics.prdc           | src/aegan/metrics/prdc.py             | tests/test_metrics.py tests/test_prdc_*.py
metrics.classes        | src/aegan/metrics/classes.py          | tests/test_metrics.py tests/test_classes_*.py
metrics.reconstruction | src/aegan/metrics/reconstruction.py   | tests/test_metrics.py tests/test_reconstruction_*.py
data.idx               | src/aegan/data/idx.py                 | tests/test_idx.py tests/test_idx_generated.py tests/test_idx_sizes.py
engine.checkpoint      | src/aegan/engine/checkpoint.py src/aegan/engine/state.py | tests/test_engine_checkpoint.py tests/test_checkpoint_saving.py tests/test_checkpoint_lookup.py tests/test_checkpoint_refusals.py tests/test_checkpoint_files.py tests/test_capture.py tests/test_format_1_choices.py
files                  | src/aegan/io/files.py src/aegan/io/readback.py src/aegan/io/path_kinds.py | tests/test_files.py tests/test_checkpoint_files.py tests/test_checkpoint_refusals.py tests/test_path_kinds.py
engine.distributed     | src/aegan/engine/distributed.py       | tests/test_gradient_average.py
tasks.ema              | src/aegan/tasks/ema.py                | tests/test_ema.py tests/test_capture.py
engine.scalars         | src/aegan/engine/scalars.py           | tests/test_scalars.py tests/test_host_sync.py tests/test_capture.py
engine.loop            | src/aegan/engine/loop.py src/aegan/engine/reporting.py | tests/test_loop.py tests/test_loop_*.py
losses.bernoulli       | src/aegan/losses/bernoulli.py         | tests/test_bernoulli_nll.py
metrics.matching       | src/aegan/metrics/matching.py         | tests/test_matching.py
tasks.code_prior       | src/aegan/tasks/code_prior.py         | tests/test_code_prior.py
tasks.vae              | src/aegan/tasks/vae.py                | tests/test_vae.py tests/test_vae_*.py tests/test_hostile_model_settings.py tests/test_hostile_task_numbers.py tests/test_inert_settings.py
'

rows() { sed -e '/^[[:space:]]*$/d' <<<"$MODULES"; }
field() { awk -F'|' -v n="$2" '{gsub(/^[ \t]+|[ \t]+$/, "", $n); print $n}' <<<"$1"; }

if [[ "${1:-}" == "--list" ]]; then
    rows
    exit 0
fi

if [[ ! -x "$PY" ]]; then
    make "$VENV/.installed-stamp"
fi
# mutmut is not a project dependency (CI never runs it): install it into the venv when missing.
if ! "$PY" -c 'import mutmut, sys; sys.exit(not mutmut.__version__.startswith("3."))' 2>/dev/null; then
    "$PY" -m pip install --quiet --disable-pip-version-check 'mutmut>=3.8,<4'
fi
MUTMUT_VERSION=$("$PY" -c 'import mutmut; print(mutmut.__version__)')

again=""
if [[ "${1:-}" == "--again" ]]; then
    again=1
    shift
fi
wanted=("$@")
if [[ ${#wanted[@]} -eq 0 ]]; then
    mapfile -t wanted < <(rows | while read -r row; do field "$row" 1; done)
fi

for name in "${wanted[@]}"; do
    row=$(rows | awk -F'|' -v n="$name" '{k=$1; gsub(/[ \t]/, "", k)} k == n')
    if [[ -z "$row" ]]; then
        echo "unknown module $name; the table (scripts/mutation.sh --list):" >&2
        rows >&2
        exit 2
    fi
    sources=$(field "$row" 2)
    # shellcheck disable=SC2086  # globs on purpose; a pattern matching nothing is dropped
    tests=$(shopt -s nullglob; echo $(field "$row" 3))
    work=".mutation/$name"
    echo "=== $name: mutating $sources, tests: $tests"

    if [[ -n "$again" && -d "$work/mutants" ]]; then
        # the same mutants and their verdicts; the current tests, statistics collected anew
        # (so new tests are mapped to the functions they call), and every mutant that was not
        # killed back to "not checked" (a timeout on a busy machine may be a survivor)
        for copy in "$work" "$work/mutants"; do
            rm -rf "$copy/tests"
            tar --exclude=__pycache__ -cf - tests | tar -xf - -C "$copy"
        done
        rm -f "$work/mutants/mutmut-stats.json"
        (cd "$work" && "$PY" -c '
from mutmut.__main__ import _reset_mutant_results, status_by_exit_code
_reset_mutant_results(lambda key, code: status_by_exit_code[code] != "killed")
')
    else
        # A fresh copy of the tree per module: mutmut reads its settings from setup.cfg (the
        # repo's pyproject.toml has no [tool.mutmut]) and writes its mutants/ folder next to it.
        rm -rf "$work"
        mkdir -p "$work"
        tar --exclude=__pycache__ -cf - src tests conf pyproject.toml | tar -xf - -C "$work"
    fi
    {
        echo "[mutmut]"
        echo "source_paths = src"
        echo "only_mutate ="
        for s in $sources; do echo "    $s"; done
        echo "also_copy = conf"
        # only the named tests, in a deterministic order, slow ones out
        echo "pytest_add_cli_args_test_selection ="
        for t in $tests; do echo "    $t"; done
        printf '%s\n' "pytest_add_cli_args =" "    -m" "    not slow" "    -p" "    no:cacheprovider"
        # torch is not fork-safe after use: fork each mutant from a server that only imported it
        echo "process_isolation = forkserver"
    } >"$work/setup.cfg"

    started=$(date +%s)
    (cd "$work" && "$REPO/$VENV/bin/mutmut" run --max-children "$JOBS") >"$work/run.log" 2>&1 || {
        tail -40 "$work/run.log" >&2
        echo "mutmut failed for $name; the whole log: $work/run.log" >&2
        exit 1
    }
    seconds=$(($(date +%s) - started))
    (cd "$work" && "$REPO/$VENV/bin/mutmut" results --all true) >"$work/results.txt"
    # every survivor's diff, as `mutmut show` prints it, from one process (one per mutant
    # costs a second or two each, minutes for a module that has hundreds)
    { grep -Ev ': (killed|timeout|segfault)$' "$work/results.txt" || true; } |
        sed -e 's/^ *//' -e 's/: [^:]*$//' |
        (cd "$work" && "$PY" -c '
import sys
from mutmut.__main__ import show
for name in sys.stdin.read().split():
    show.callback(name)
') >"$work/survivors.diff"

    "$PY" - "$REPORT" "$name" "$sources" "$tests" "$work" "$seconds" "$MUTMUT_VERSION" <<'EOF'
import collections, datetime, os, platform, re, sys
from pathlib import Path

report, name, sources, tests, work, seconds, version = sys.argv[1:]
work = Path(work)
status = {}
for line in (work / "results.txt").read_text().splitlines():
    mutant, _, verdict = line.strip().rpartition(": ")
    if mutant:
        status[mutant] = verdict
counts = collections.Counter(status.values())
detected = counts["killed"] + counts["timeout"] + counts["segfault"]
total = len(status)
score = 100.0 * detected / total if total else 0.0
cpu = "unknown CPU"
for line in Path("/proc/cpuinfo").read_text().splitlines():
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
machine = f"{os.cpu_count()}-core {cpu}, {platform.system()} {platform.machine()}"

# the survivors' diffs, without the "# name: status" and file header lines mutmut prints
diffs = {}
current = None
for line in (work / "survivors.diff").read_text().splitlines():
    head = re.match(r"# (\S+): (.+)", line)
    if head:
        current = head.group(1)
        diffs[current] = []
    elif current and status.get(current) not in ("killed", "timeout", "segfault"):
        diffs[current].append(line)

others = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()) if k != "killed")
lines = [
    f"<!-- module:{name} -->",
    f"### {name}",
    "",
    f"{datetime.date.today()}, {machine}; mutmut {version}, {seconds} s.",
    f"Mutated: `{sources}`. Tests: `{tests}`.",
    "",
    f"**{detected}/{total} mutants detected ({score:.1f}%)**: {counts['killed']} killed"
    + (f", {others}" if others else "")
    + ".",
    "",
]
if diffs:
    lines.append("Not detected:")
    lines.append("")
    for mutant, diff in diffs.items():
        lines.append(f"- `{mutant}` ({status.get(mutant, '?')})")
        lines.append("  ```diff")
        lines += [f"  {d}" for d in diff if d[:1] in "+-" and d[:3] not in ("+++", "---")]
        lines.append("  ```")
    lines.append("")
lines.append(f"<!-- /module:{name} -->")
section = "\n".join(lines)

START, END = "<!-- mutation.sh: generated below -->", "<!-- mutation.sh: generated above -->"
path = Path(report)
text = path.read_text() if path.exists() else f"# Mutation testing\n\n{START}\n{END}\n"
if START not in text:
    text = text.rstrip("\n") + f"\n\n{START}\n{END}\n"
head, rest = text.split(START, 1)
block, tail = rest.split(END, 1)
pattern = re.compile(rf"<!-- module:{re.escape(name)} -->.*?<!-- /module:{re.escape(name)} -->", re.S)
if pattern.search(block):
    block = pattern.sub(lambda _: section, block)
else:
    block = block.rstrip("\n") + "\n\n" + section + "\n"
path.write_text(head + START + "\n" + block.strip("\n") + "\n" + END + tail)
print(f"{name}: {detected}/{total} detected ({score:.1f}%); {others or 'no survivors'}")
EOF
done
