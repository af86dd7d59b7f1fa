#!/usr/bin/env bash
# infogan_campaign.sh — train and evaluate a list of InfoGAN configurations
# over several seeds, several runs at a time, and print the rows for the
# table in docs/experiments.md.
#
#   scripts/infogan_campaign.sh [--configs FILE] [--seeds "1 2"] [--epochs 10]
#                               [--parallel 4] [--device cuda] [--out runs/campaign]
#
# FILE (default scripts/infogan_campaign.txt) has one configuration per
# line: a name, then the flags it adds to `--preset lab` ('#' starts a
# comment). Each (configuration, seed) trains into OUT/NAME-sSEED and is
# evaluated there (eval/eval.json); a run whose eval.json exists is skipped
# and one with a checkpoint is resumed, so the script can be run again after
# an interruption. Needs the built
# apps (make) and the judge (./apps/mnist_classifier train). On one H100,
# 4 to 6 runs at once take about 2 to 3 minutes per batch of runs.
set -euo pipefail

configs=scripts/infogan_campaign.txt
seeds="1 2"
epochs=10
parallel=4
device=cuda
out=runs/campaign

die() { echo "infogan_campaign.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || die "$1 needs a value"
  case "$1" in
    --configs) configs=$2 ;;
    --seeds) seeds=$2 ;;
    --epochs) epochs=$2 ;;
    --parallel) parallel=$2 ;;
    --device) device=$2 ;;
    --out) out=$2 ;;
    *) die "unknown flag $1 (expected --configs, --seeds, --epochs, --parallel, --device, --out)" ;;
  esac
  shift 2
done
[ -f "$configs" ] || die "--configs: no file $configs"
[ -x apps/infogan ] || die "apps/infogan is not built (run make)"
[[ "$epochs" =~ ^[1-9][0-9]*$ ]] || die "--epochs: expected a positive integer, got $epochs"
[[ "$parallel" =~ ^[1-9][0-9]*$ ]] || die "--parallel: expected a positive integer, got $parallel"
for seed in $seeds; do [[ "$seed" =~ ^[0-9]+$ ]] || die "--seeds: expected integers, got '$seed'"; done
mkdir -p "$out"

# One job per line: NAME SEED FLAGS...
jobs_file=$(mktemp)
trap 'rm -f "$jobs_file"' EXIT
while read -r name flags; do
  case "$name" in '' | '#'*) continue ;; esac
  for seed in $seeds; do echo "$name $seed $flags"; done
done < "$configs" > "$jobs_file"

# Trains and evaluates one job; its log is OUT/NAME-sSEED.log.
run_one() {
  local name=$1 seed=$2
  shift 2
  local dir="$out/$name-s$seed"
  [ -f "$dir/eval/eval.json" ] && return 0
  local start=$SECONDS
  # A run interrupted earlier continues from its checkpoint.
  local train=(--preset lab --epochs "$epochs" --seed "$seed" "$@")
  [ -f "$dir/checkpoints/latest.safetensors" ] && train=(--resume)
  {
    ./apps/infogan train "${train[@]}" --device "$device" --run "$dir" --log-every 1000 &&
      ./apps/infogan eval --checkpoint "$dir/checkpoints/latest.safetensors" --device "$device"
  } >> "$out/$name-s$seed.log" 2>&1 || { echo "$name seed $seed failed: see $out/$name-s$seed.log" >&2; return 0; }
  echo $((SECONDS - start)) > "$dir/wall_seconds"
}
export -f run_one
export out epochs device
xargs -P "$parallel" -L 1 bash -c 'run_one "$@"' _ < "$jobs_file"

# The rows: config, seed, Q-accuracy, columns, purity, wall time.
field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" "$2"; }
echo "| config | seed | Q-accuracy | columns | purity mean / min | wall |"
echo "|---|---|---|---|---|---|"
while read -r name seed flags; do
  json="$out/$name-s$seed/eval/eval.json"
  if [ ! -f "$json" ]; then
    echo "| \`${flags:-none}\` | $seed | failed | | | |"
    continue
  fi
  printf '| `%s` | %s | %.3f | %s | %.3f / %.3f | %s s |\n' "${flags:-none}" "$seed" "$(field q_accuracy "$json")" \
    "$(field columns "$json")" "$(field purity_mean "$json")" "$(field purity_min "$json")" \
    "$(cat "$out/$name-s$seed/wall_seconds" 2>/dev/null || echo '?')"
done < "$jobs_file"
