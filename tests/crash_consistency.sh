#!/usr/bin/env bash
# crash_consistency.sh — the run directory survives any crash (see "What
# survives a crash" in docs/apps.md).
#
# For infogan and dcgan: a short CPU run is trained once without
# interruption, then again while being killed KILLS times and resumed after
# each kill. Whenever the killed run completes, it must be byte-identical to
# the uninterrupted one (the checkpoint, losses.csv and every other file of
# the run directory, and no temporary left); it then starts over, until it
# has been killed KILLS times, and is finished one last time.
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
#   tests/crash_consistency.sh [KILLS]     (default 20; needs the built apps)
set -euo pipefail
cd "$(dirname "$0")/.."

kills_wanted=${1:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(--train-limit 512 --batch 64 --epochs 3 --threads 1 --log-every 1000 --device cpu)
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
  # The delays are fractions of a run's length, the same share of a run on
  # a fast machine as on a slow one: a random SIGKILL comes within a third
  # of it (about an epoch), a double SIGINT within a twelfth.
  length=$(($(now_ms) - begin))

  # The killed run equals the reference, and left no temporary behind.
  check_same() {
    for file in checkpoints/latest.safetensors losses.csv; do
      cmp "$ref/$file" "$run/$file" || die "$app: $file differs from the uninterrupted run's"
    done
    diff -r "$ref" "$run" > /dev/null || die "$app: the run directories differ: $(diff -rq "$ref" "$run" | head -3)"
    local leftovers
    leftovers=$(find "$run" -name '*.tmp.*')
    [ -z "$leftovers" ] || die "$app: temporaries left behind: $leftovers"
  }

  # The command that goes on with the killed run: a resume, or a new start
  # when it died before its first checkpoint.
  set_command() {
    if [ -f "$run/checkpoints/latest.safetensors" ]; then
      command=("./apps/$app" train --resume --run "$run" --threads 1 --log-every 1000 --device cpu)
    else
      command=("./apps/$app" train "${flags[@]}" --run "$run" --overwrite)
    fi
  }

  kills=0 completed=0 attempt=0
  while ((kills < kills_wanted)); do
    attempt=$((attempt + 1))
    ((attempt <= 3 * kills_wanted)) || die "$app: only $kills kills in $((attempt - 1)) attempts"
    set_command
    point=""
    if [ $((attempt % 4)) = 1 ]; then point=${crash_points[$((attempt / 4 % ${#crash_points[@]}))]}; fi
    began=$(now_ms)
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
      0)
        # The run completed before the kill: compare, then start over. A
        # whole run that took less than the reference (which may have shared
        # the machine with other work) gives the delays their scale.
        if [ "${command[2]}" != --resume ] && (($(now_ms) - began < length)); then length=$(($(now_ms) - began)); fi
        check_same
        completed=$((completed + 1))
        rm -rf "$run"
        ;;
      130 | 137) kills=$((kills + 1)) ;;
      *) die "$app attempt $attempt ($how): exit status $status"$'\n'"$(tail -5 "$work/$app-killed.log")" ;;
    esac
  done

  set_command
  "${command[@]}" >> "$work/$app-killed.log" 2>&1 ||
    die "$app: the final resume failed"$'\n'"$(tail -5 "$work/$app-killed.log")"
  check_same
  echo "crash_consistency: $app: killed $kills times in $attempt attempts and resumed each time;" \
    "$((completed + 1)) completed runs, each byte-identical to the uninterrupted run ($((SECONDS - start)) s)"
done
