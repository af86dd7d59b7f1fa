#!/usr/bin/env bash
# gpu_check.sh — everything that needs a GPU, in one call of a few minutes,
# its results under OUTDIR:
#
#   bash bench/gpu_check.sh OUTDIR [BASE_REV]
#
#   build.log          make of the tests and the bench, for the GPUs nvcc targets
#   cuda_tests.txt     the test files with GPU cases (CUDA parity, graphs,
#                      the double backward's parity), which skip without one
#   steps.txt          the InfoGAN step at batch 64, 128, 256, 512: ours eager
#                      and captured, then PyTorch's eager and captured, TF32
#                      off and on (bench/torch_reference.py), on the same GPU
#   compare.txt        with BASE_REV (and a git checkout): our captured step
#                      against BASE_REV's, alternately (compare_infogan_step.sh)
#
# Each part runs even when an earlier one fails; the exit status is the
# first failure's.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bash bench/gpu_check.sh OUTDIR [BASE_REV]}
base=${2:-}
mkdir -p "$out"
status=0
part() {  # part NAME FILE COMMAND...: runs COMMAND into FILE, says how it went
  local name=$1 file=$2
  shift 2
  local start=$SECONDS
  "$@" > "$out/$file" 2>&1
  local rc=$?
  echo "$name: exit $rc in $((SECONDS - start)) s ($out/$file)"
  [ "$status" = 0 ] && status=$rc
  return 0
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$out/gpu.txt" 2>&1 || true
part build build.log make -j"$(nproc)" CUDA=1 build/run_tests build/bench_infogan
part "cuda tests" cuda_tests.txt ./build/run_tests -sf="*test_cuda*,*test_double_backward*" --duration=true

steps() {
  for batch in 64 128 256 512; do
    for graph in off on; do ./build/bench_infogan --device cuda --batch "$batch" --cuda-graph "$graph" --reps 50; done
  done
  python3 bench/torch_reference.py --reps 50
  python3 bench/torch_reference.py --reps 50 --tf32
}
part steps steps.txt steps

if [ -n "$base" ] && git rev-parse --git-dir > /dev/null 2>&1; then
  part compare compare.txt env CUDA=1 bash bench/compare_infogan_step.sh "$base" 9 --device cuda
fi
exit "$status"
