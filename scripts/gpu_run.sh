#!/usr/bin/env bash
# The whole study in one device call, bounded in time:
#   1. time one training step of every model and choose the common step count that fits
#      TRAIN_BUDGET seconds of training (scripts/size_gpu_quick.py; all models get the same steps),
#   2. ./run_all.sh --profile gpu-quick --set steps=N --keep-going,
#   3. benchmarks/bench.py (at most BENCH_SECONDS s) and the CUDA tests of the speed options,
#   all inside DEADLINE_S seconds (560 by default: a device command may run 600 s),
#   4. pack results/<profile>/ (without the regenerable MOS rating set) and results/benchmarks/
#      into $OUT/results.tgz and the gallery into $OUT/gallery.tgz, logs beside them.
#   scripts/gpu_run.sh [profile] [data]       (defaults: gpu-quick .celeba_carry)
# Where papermill is missing, wheels in .whl/ are installed into /tmp/site first.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
profile="${1:-gpu-quick}"
data="${2:-.celeba_carry}"
out="${OUT:-/tmp/gpu_run_out}"
mkdir -p "$out" "results/$profile" results/benchmarks
export PYTHON="${PYTHON:-python3}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
if [[ -d .whl ]] && ! "$PYTHON" -c "import papermill, ipykernel" 2>/dev/null; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}" PATH="/tmp/site/bin:$PATH"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"      # sgenlib without pip install -e
start=$(date +%s)
deadline=$(( start + ${DEADLINE_S:-560} ))     # everything, packing included, ends before this
left() { echo $(( deadline - $(date +%s) )); }
{ nvidia-smi -L 2>/dev/null; "$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } | tee "$out/device.txt"

sizing=()
if "$PYTHON" scripts/size_gpu_quick.py --data "$data" --budget-s "${TRAIN_BUDGET:-200}" ${SIZE_ARGS:-} \
     --out "results/$profile/sizing.json" 2>&1 | tee "$out/sizing.log"; then
  steps=$("$PYTHON" -c "import json; print(json.load(open('results/$profile/sizing.json'))['steps'])")
  sizing=(--set "steps=$steps")
fi
echo "sizing done after $(( $(date +%s) - start )) s: ${sizing[*]:-profile default steps}"

study_limit=$(( $(left) - ${RESERVE_S:-110} ))      # leave time for the benchmark and packing
echo "run_all.sh gets ${study_limit} s"
timeout "$study_limit" ./run_all.sh --profile "$profile" --data "$data" --keep-going "${sizing[@]}" ${RUN_ALL_ARGS:-} \
  2>&1 | tee "$out/run_all.log"
study_rc=${PIPESTATUS[0]}
echo "run_all.sh exit $study_rc after $(( $(date +%s) - start )) s" | tee -a "$out/run_all.log"

bench_s=$(( $(left) - 75 ))
if (( bench_s > 20 )); then
  timeout $(( bench_s + 25 )) "$PYTHON" benchmarks/bench.py --data "$data" --max-seconds "$(( bench_s < ${BENCH_SECONDS:-60} ? bench_s : ${BENCH_SECONDS:-60} ))" \
    ${BENCH_ARGS:---device cuda --cuda-graphs --cudnn-benchmark} 2>&1 | tee "$out/bench.log"
fi
echo "bench done after $(( $(date +%s) - start )) s"
if (( $(left) > 45 )); then
  timeout $(( $(left) - 15 )) "$PYTHON" -m pytest -q -p no:cacheprovider tests/test_speed_options.py -m cuda 2>&1 \
    | tail -15 | tee "results/benchmarks/cuda_speed_tests.log"
fi

{ git rev-parse HEAD 2>/dev/null || echo "${SGEN_GIT_COMMIT:-unknown}"; } > "results/$profile/DEVICE_RUN_COMMIT"
cp "$out/sizing.log" "$out/run_all.log" "results/$profile/" 2>/dev/null
tar czf "$out/results.tgz" --exclude="results/$profile/mos_set" --exclude="results/$profile/gallery" \
  "results/$profile" results/benchmarks
tar czf "$out/gallery.tgz" "results/$profile/gallery"
ls -la "$out"
echo "gpu_run.sh: total $(( $(date +%s) - start )) s, study exit $study_rc"
exit "$study_rc"
