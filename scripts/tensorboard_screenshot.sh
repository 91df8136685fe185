#!/usr/bin/env bash
# Render a TensorBoard tab of a run (or sweep) folder to a PNG with headless Chromium.
#   scripts/tensorboard_screenshot.sh LOGDIR OUT.png [TAB]     TAB: scalars (default) | images | hparams | projector
# Needs Debian's chromium (apt-get install chromium). Serves on a free loopback port and stops it after.
set -euo pipefail
# each argument checked before the server starts: one line naming it, its value and what it may be
refuse() { echo "error: $1" >&2; exit 2; }
# bash's own ${1:?} said "line 6: 1: usage..." with exit code 1, and a 4th argument was dropped
[ $# -ge 2 ] && [ $# -le 3 ] && [ -n "$1" ] && [ -n "$2" ] ||
  refuse "$(basename -- "$0") takes LOGDIR OUT.png [TAB], the first two not empty; given $# argument(s)${*:+: ${*@Q}}"
logdir=$1
out=$2
tab=${3:-scalars}
[ -d "$logdir" ] || refuse "LOGDIR ${logdir@Q} is not a folder: give a run's or a sweep's folder"
case "$out" in *.png | *.PNG) ;; *) refuse "OUT.png ${out@Q} is not allowed: it must name a .png file" ;; esac
[ -d "$(dirname -- "$out")" ] || refuse "OUT.png ${out@Q}: there is no folder $(dirname -- "$out")"
kind() {  # what stands at $1 where no regular file does, in the words aegan.io.readback uses
  [ -e "$1" ] || { echo "a link to nothing"; return; }
  case "$(stat -L -c %F -- "$1")" in
  directory) echo "a folder" ;; fifo) echo "a FIFO" ;; socket) echo "a socket" ;;
  *special*) echo "a device" ;; *) echo "something" ;;
  esac
}
if [ -L "$out" ] || { [ -e "$out" ] && [ ! -f "$out" ]; }; then
  [ -f "$out" ] || refuse "OUT.png ${out@Q} is not allowed: it is $(kind "$out"), not a regular file"
fi
case "$tab" in scalars | images | hparams | projector) ;;
*) refuse "TAB ${tab@Q} is not allowed: choose scalars, images, hparams or projector" ;;
esac
command -v chromium >/dev/null || refuse "chromium is not installed: apt-get install chromium"
py=${PYTHON:-$(dirname "$0")/../.venv/bin/python}
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$py" -m tensorboard.main --logdir "$logdir" --host 127.0.0.1 --port "$port" --load_fast false >/dev/null 2>&1 &
tb_pid=$!
trap 'kill $tb_pid 2>/dev/null || true' EXIT
for _ in $(seq 60); do
  curl -sf "http://127.0.0.1:$port/data/plugin/scalars/tags" >/dev/null && break
  sleep 0.5
done
sleep 2  # let the first reload finish reading the event files
profile=$(mktemp -d)
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size=1600,1100 --virtual-time-budget=8000 \
  --screenshot="$out" "http://127.0.0.1:$port/#$tab" 2>/dev/null
rm -rf "$profile"
[ -s "$out" ] || { echo "error: chromium wrote no $out" >&2; exit 1; }
echo "wrote $out ($tab tab of $logdir)"
