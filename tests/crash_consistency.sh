#!/usr/bin/env bash
# crash_consistency.sh — the run directory survives any crash (see "What
# survives a crash" in docs/apps.md).
#
# For infogan and dcgan: a short CPU run is trained once without
# interruption, then again while being killed ATTEMPTS times and resumed after
# each kill. The killed run must end byte-identical to the uninterrupted one:
# the checkpoint, losses.csv and every other file of the run directory.
#
# The kills, in a fixed pseudo-random order (RANDOM is seeded):
#   - SIGKILL after a random delay (anywhere: loading data, mid-epoch,
#     while an image or the checkpoint is written);
#   - SIGKILL at named moments (DL_CRASH_POINT, src/data/crash_point.h):
#     inside the checkpoint's write, inside the log's, inside a chart's,
#     between the log and the checkpoint, right after the checkpoint;
#   - SIGINT twice in a row (a double Ctrl-C: the second one kills).
# After a kill the run is resumed with --resume when it has a checkpoint,
# and started again with --overwrite when it died before its first one.
#
#   tests/crash_consistency.sh [ATTEMPTS]     (default 20; needs the built apps)
set -euo pipefail
cd "$(dirname "$0")/.."

attempts=${1:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(--train-limit 1024 --batch 64 --epochs 3 --threads 1 --log-every 1000 --device cpu)
crash_points=(write:latest.safetensors log-written write:losses.csv checkpoint-written write:probs.svg
              write:config.json)
RANDOM=2026

die() {
  echo "crash_consistency: $*" >&2
  exit 1
}

# Milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# Sleeps a pseudo-random time in [0, $1) milliseconds.
sleep_below() {
  local ms=$((RANDOM * $1 / 32768))
  sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
}

for app in infogan dcgan; do
  [ -x "apps/$app" ] || die "apps/$app is not built (run make)"
  start=$SECONDS
  ref="$work/$app-reference" run="$work/$app-killed"
  begin=$(now_ms)
  "./apps/$app" train "${flags[@]}" --run "$ref" > "$work/$app-reference.log" 2>&1 ||
    die "$app: the uninterrupted run failed (see below)"$'\n'"$(cat "$work/$app-reference.log")"
  # The delays are fractions of this run's length, so that the killed run
  # needs all its attempts on a fast machine as on a slow one: a random
  # SIGKILL comes within a third of it (about an epoch), a double SIGINT
  # within a twelfth, so that the kills do not finish the run early.
  length=$(($(now_ms) - begin))

  kills=0
  for ((attempt = 1; attempt <= attempts; ++attempt)); do
    if [ -f "$run/checkpoints/latest.safetensors" ]; then
      command=("./apps/$app" train --resume --run "$run" --threads 1 --log-every 1000 --device cpu)
    else
      command=("./apps/$app" train "${flags[@]}" --run "$run" --overwrite)
    fi
    point=""
    if [ $((attempt % 4)) = 1 ]; then point=${crash_points[$((attempt / 4 % ${#crash_points[@]}))]}; fi
    DL_CRASH_POINT=$point "${command[@]}" >> "$work/$app-killed.log" 2>&1 &
    pid=$!
    case $((attempt % 4)) in
      1) how="crash point $point" ;;
      3)
        how="SIGINT twice"
        sleep_below $((length / 12))
        kill -INT "$pid" 2> /dev/null || true
        sleep 0.05
        kill -INT "$pid" 2> /dev/null || true
        ;;
      *)
        how="SIGKILL after a random delay"
        sleep_below $((length / 3))
        kill -KILL "$pid" 2> /dev/null || true
        ;;
    esac
    status=0
    { wait "$pid"; } 2> /dev/null || status=$?
    case "$status" in
      0) echo "  $app attempt $attempt ($how): the run had finished" ;;
      130 | 137) kills=$((kills + 1)) ;;
      *) die "$app attempt $attempt ($how): exit status $status"$'\n'"$(tail -5 "$work/$app-killed.log")" ;;
    esac
  done

  # Finish the run.
  "./apps/$app" train --resume --run "$run" --threads 1 --log-every 1000 --device cpu >> "$work/$app-killed.log" 2>&1 ||
    die "$app: the final resume failed"$'\n'"$(tail -5 "$work/$app-killed.log")"
  for file in checkpoints/latest.safetensors losses.csv; do
    cmp "$ref/$file" "$run/$file" || die "$app: $file differs from the uninterrupted run's"
  done
  diff -r "$ref" "$run" > /dev/null || die "$app: the run directories differ: $(diff -rq "$ref" "$run" | head -3)"
  leftovers=$(find "$run" -name '*.tmp.*')
  [ -z "$leftovers" ] || die "$app: temporaries left behind: $leftovers"
  echo "crash_consistency: $app: $kills of $attempts attempts killed the run; resumed each time, it ends" \
    "byte-identical to the uninterrupted run ($((SECONDS - start)) s)"
done
