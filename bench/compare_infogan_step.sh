#!/usr/bin/env bash
# compare_infogan_step.sh — the InfoGAN training step of this checkout against
# the same step built at another commit, timed alternately in one run, so
# that the machine's drift (frequency, other load) falls on both equally.
#
#   bench/compare_infogan_step.sh BASE_REV [ROUNDS] [bench_infogan flags...]
#   CUDA=1 bench/compare_infogan_step.sh BASE_REV 9 --device cuda   # the captured step on a GPU
#
# Builds build/bench_infogan here and at BASE_REV (in a temporary worktree,
# CUDA=0 unless CUDA is set), then runs them in turn ROUNDS times (default
# 9), each run printing its median step time over --reps steps. Prints every
# run's median, the median over the rounds for each side, and the ratio
# this / base. The flags after ROUNDS override the default --device cpu.
set -euo pipefail
cd "$(dirname "$0")/.."

base=${1:?usage: bench/compare_infogan_step.sh BASE_REV [ROUNDS] [bench_infogan flags...]}
rounds=${2:-9}
shift $(( $# >= 2 ? 2 : 1 ))
flags=("--device" "cpu" "--reps" "5" "--warmup" "2" "$@")

worktree=$(mktemp -d)
trap 'git worktree remove --force "$worktree" > /dev/null 2>&1 || rm -rf "$worktree"' EXIT
git worktree add --detach "$worktree" "$base" > /dev/null
cuda=${CUDA:-0}
make -s -j"$(nproc)" CUDA="$cuda" build/bench_infogan
make -s -C "$worktree" -j"$(nproc)" CUDA="$cuda" build/bench_infogan

# The median step time, in ms, that one bench_infogan run prints (the
# ms/iter column of its one result row).
median_of_run() { "$1" "${flags[@]}" | awk 'NR == 2 {print $(NF - 2)}'; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

this_runs=() base_runs=()
for round in $(seq 1 "$rounds"); do
  base_runs+=("$(median_of_run "$worktree/build/bench_infogan")")
  this_runs+=("$(median_of_run build/bench_infogan)")
  echo "round $round: base ${base_runs[-1]} ms, this ${this_runs[-1]} ms"
done
base_median=$(printf '%s\n' "${base_runs[@]}" | median)
this_median=$(printf '%s\n' "${this_runs[@]}" | median)
echo "median over $rounds rounds: base ($base) $base_median ms, this $this_median ms," \
  "ratio this / base $(awk -v a="$this_median" -v b="$base_median" 'BEGIN {printf "%.3f", a / b}')"
