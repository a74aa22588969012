#!/usr/bin/env bash
# The whole study in one device call: run_all.sh (gpu-quick) then benchmarks/bench.py, with the
# results packed into $OUT/results.tgz and the logs beside it.
#   scripts/gpu_run.sh [profile] [data]       (defaults: gpu-quick .celeba_carry)
# On a machine without papermill, wheels in .whl/ are installed into /tmp/site first.
# Time limits (seconds): STUDY_LIMIT for run_all.sh, BENCH_SECONDS for bench.py.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
profile="${1:-gpu-quick}"
data="${2:-.celeba_carry}"
out="${OUT:-/tmp/gpu_run_out}"
mkdir -p "$out"
export PYTHON="${PYTHON:-python3}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
if [[ -d .whl ]] && ! "$PYTHON" -c "import papermill, ipykernel" 2>/dev/null; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}" PATH="/tmp/site/bin:$PATH"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"      # sgenlib without pip install -e
nvidia-smi -L 2>/dev/null | tee "$out/device.txt"
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" | tee -a "$out/device.txt"
start=$(date +%s)
timeout "${STUDY_LIMIT:-480}" ./run_all.sh --profile "$profile" --data "$data" 2>&1 | tee "$out/run_all.log"
study_rc=${PIPESTATUS[0]}
echo "run_all.sh exit $study_rc after $(( $(date +%s) - start )) s" | tee -a "$out/run_all.log"
if [[ -f benchmarks/bench.py ]]; then
  timeout $(( ${BENCH_SECONDS:-100} + 60 )) "$PYTHON" benchmarks/bench.py --data "$data" --max-seconds "${BENCH_SECONDS:-100}" \
    2>&1 | tee "$out/bench.log"
fi
git rev-parse HEAD > "results/$profile/DEVICE_RUN_COMMIT" 2>/dev/null || true
tar czf "$out/results.tgz" "results/$profile" results/benchmarks 2>/dev/null || tar czf "$out/results.tgz" "results/$profile"
ls -la "$out"
echo "gpu_run.sh: total $(( $(date +%s) - start )) s, study exit $study_rc"
exit "$study_rc"
