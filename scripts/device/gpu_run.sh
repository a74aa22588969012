#!/usr/bin/env bash
# The whole study in one device call, ending inside DEADLINE_S seconds (540 by default, so that a
# machine start and a second try fit in 15 minutes of device time); scripts/device/README.md says
# what each file does. Its stages, one shell function each, in this order:
#   preflight (seconds): the faces, the wheels, python/torch, CUDA (unless the profile is smoke or
#      REQUIRE_CUDA=0; scripts/device/preflight.py); stops at once with exit 2 naming what is missing,
#   sizing (scripts/device/size_gpu_quick.py, at most SIZE_LIMIT_S s): one training step of every
#      model timed and every other stage's fixed cost bounded (evaluation, timing tables, gallery,
#      MOS set, figures, kernel starts), then the common step count that lets the study end in time;
#      if sizing fails or overruns, FALLBACK_STEPS (default: 200 for gpu-quick, else the profile's),
#   study: ./run_all.sh --profile P --set steps=N --set ckpt_every=N --keep-going (no mid-run
#      checkpoint: only the final one is written), then one status line per notebook,
#   bench: benchmarks/bench.py in the time left (at most BENCH_SECONDS); cuda_tests: the CUDA tests
#      of the speed options,
#   pack, into $OUT (at most 8 files come back, 16 MiB each, 64 MiB in all):
#      results.tgz (results/<profile>/ with the gallery, logs/ and status, and results/benchmarks/),
#      the MOS rating set as mos_set.tgz or mos_set.tgz.NN parts of at most 15 MiB (at most 4),
#      status.txt (one line per stage: stage, outcome, seconds, detail) and gpu_run.log.
#   scripts/gpu_run.sh [profile] [data]       (defaults: gpu-quick .celeba_carry; runs this file)
# Exit 0 when the results were packed, even if a stage failed or was cut (status.txt says which);
# 2 when the preflight failed; 1 when packing failed.
# The commit: git where the tree has .git, else $SGEN_GIT_COMMIT, else .device_commit (written by
# scripts/prepare_device_carry.sh; carry it). Wheels in .whl/ are installed into $SITE_DIR (default
# /tmp/site) when papermill or ipykernel is missing. MPLBACKEND is unset for the notebooks, so that
# ipykernel's inline backend keeps every figure in the executed notebooks.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
t_start=$(date +%s)
profile="${1:-gpu-quick}"
data="${2:-.celeba_carry}"
out="${OUT:-/tmp/gpu_run_out}"
res="results/$profile"
deadline=$(( t_start + ${DEADLINE_S:-540} ))     # everything, packing included, ends before this
left() { echo $(( deadline - $(date +%s) )); }
logs="$res/logs"                                 # packed into results.tgz: $OUT holds at most 8 files
mkdir -p "$out" "$res" "$logs" results/benchmarks
: > "$out/status.txt"
exec > >(tee -a "$out/gpu_run.log") 2>&1
export PYTHON="${PYTHON:-python3}" PYTHONUNBUFFERED=1
unset MPLBACKEND                                  # the notebooks' kernels choose the inline backend
t_stage=$(date +%s)
stage() {   # stage NAME OUTCOME DETAIL: one line of status.txt (seconds since the previous stage)
  local now; now=$(date +%s)
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$(( now - t_stage ))" "${3:-}" | tee -a "$out/status.txt"
  t_stage=$now
}
fail_preflight() { stage preflight failed "$1"; echo "gpu_run.sh: preflight: $1" >&2; exit 2; }

# ---- preflight ----------------------------------------------------------------------------------
install_wheels() {   # papermill & co. from .whl/ into $SITE_DIR, on PYTHONPATH and PATH
  ls .whl/*.whl >/dev/null 2>&1 || fail_preflight "wheels: papermill/ipykernel not importable and no .whl/*.whl (run scripts/prepare_device_carry.sh and carry .whl)"
  local site="${SITE_DIR:-/tmp/site}"
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .whl/*.whl \
    || fail_preflight "wheels: installing .whl/*.whl into $site failed (wheels for another Python? they are cp312)"
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" PATH="$site/bin:$PATH"
}

preflight() {   # sets need_cuda, notebooks, commit; writes $res/device.txt
  case "$profile" in smoke|gpu-quick|paper) ;; *) fail_preflight "unknown profile '$profile' (smoke, gpu-quick, paper)" ;; esac
  command -v "$PYTHON" >/dev/null || fail_preflight "no python at '$PYTHON' (set PYTHON=...)"
  [[ -d "$data" ]] || fail_preflight "faces: no folder '$data' (run scripts/prepare_device_carry.sh here and carry .celeba_carry)"
  local n_faces pre nb_list
  n_faces=$(find "$data" -maxdepth 2 -name '*.jpg' | head -50 | wc -l)
  (( n_faces > 0 )) || fail_preflight "faces: no JPEGs under '$data'/img_align_celeba (run scripts/prepare_device_carry.sh)"
  "$PYTHON" -c "import papermill, ipykernel" 2>/dev/null || install_wheels
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"      # sgenlib without pip install -e
  need_cuda=$([[ "$profile" == smoke || "${REQUIRE_CUDA:-1}" == 0 ]] && echo 0 || echo 1)
  pre=$("$PYTHON" scripts/device/preflight.py "$need_cuda" 2>&1) || fail_preflight "$(echo "$pre" | tail -1)"
  nb_list=$("$PYTHON" -m sgenlib.runall notebooks 2>&1) || fail_preflight "sgenlib.runall: $(echo "$nb_list" | tail -1)"
  mapfile -t notebooks <<< "$nb_list"                     # the stages run_all.sh runs, in its order
  # the commit, as sgenlib.provenance reads it: git, else $SGEN_GIT_COMMIT, else .device_commit
  commit=$(git rev-parse HEAD 2>/dev/null || echo "${SGEN_GIT_COMMIT:-$(sed -n 's/^commit //p' .device_commit 2>/dev/null)}")
  commit="${commit:-unknown (no .git, no SGEN_GIT_COMMIT, no .device_commit)}"
  { nvidia-smi -L 2>/dev/null; echo "$pre"; echo "commit $commit"; } > "$res/device.txt"
  stage preflight ok "$pre; $n_faces+ faces in $data; commit $commit"
}

# ---- sizing -------------------------------------------------------------------------------------
sizing() {   # sets steps: the sized count, else the fallback
  local fallback size_limit rc s
  fallback="${FALLBACK_STEPS:-$([[ "$profile" == gpu-quick ]] && echo 200 || "$PYTHON" -c "from sgenlib.profiles import get_profile as g; print(g('$profile')['steps'])")}"
  size_limit=$(( ${SIZE_LIMIT_S:-90} < $(left) - reserve - 60 ? ${SIZE_LIMIT_S:-90} : $(left) - reserve - 60 ))
  steps="$fallback"
  if (( size_limit < 10 )); then stage sizing skipped "no time left for it; fallback steps=$steps"; return; fi
  timeout -k 5 "$size_limit" "$PYTHON" scripts/device/size_gpu_quick.py --profile "$profile" --data "$data" \
      --until $(( deadline - reserve )) ${SIZE_ARGS:-} --out "$res/sizing.json" > "$logs/sizing.log" 2>&1
  rc=$?
  if (( rc == 0 )) && s=$("$PYTHON" -c "import json; print(int(json.load(open('$res/sizing.json'))['steps']))"); then
    steps="$s"; stage sizing ok "$("$PYTHON" scripts/device/size_plan.py summary "$res/sizing.json")"
  elif (( rc == 124 || rc == 137 )); then
    stage sizing cut "over ${size_limit} s; fallback steps=$steps"
  else
    stage sizing failed "exit $rc ($(tail -1 "$logs/sizing.log")); fallback steps=$steps"
  fi
}

# ---- the study ----------------------------------------------------------------------------------
study() {
  local study_limit rc
  study_limit=$(( $(left) - reserve ))
  echo "run_all.sh gets ${study_limit} s for steps=$steps"
  if (( study_limit <= 30 )); then stage study skipped "only ${study_limit} s left"; return; fi
  timeout -k 10 "$study_limit" ./run_all.sh --profile "$profile" --data "$data" --keep-going \
      --set "steps=$steps" --set "ckpt_every=$steps" ${RUN_ALL_ARGS:-} > "$logs/run_all.log" 2>&1
  rc=$?
  case $rc in
    0) stage study ok "steps=$steps" ;;
    124|137) stage study cut "stopped at ${study_limit} s (steps=$steps)" ;;
    *) stage study failed "run_all.sh exit $rc (steps=$steps)" ;;
  esac
  notebook_status "$rc"
}

notebook_status() {   # notebook_status RC: one status line per notebook, read from run_all.sh's log
  local nb
  awk -v cut="$1" '
    /^== [0-9][0-9]_[a-z_]*: up to date/ { sub(":", "", $2); o[$2] = "up-to-date"; next }
    /^== [0-9][0-9]_/ { cur = $2; o[cur] = "started"; order[++n] = cur; next }
    /finished in/ { o[$1] = "ok" }
    /run_all.sh: notebook .* failed/ { o[$3] = "failed" }
    END { for (i = 1; i <= n; i++) { s = o[order[i]]; if (s == "started") s = (cut == 124 || cut == 137) ? "cut" : "failed";
          printf "study/%s\t%s\t0\t\n", order[i], s } }' "$logs/run_all.log" | tee -a "$out/status.txt"
  for nb in "${notebooks[@]}"; do
    grep -q "^== $nb" "$logs/run_all.log" || printf 'study/%s\tnot-reached\t0\t\n' "$nb" | tee -a "$out/status.txt"
  done
}

# ---- benchmark and CUDA tests -------------------------------------------------------------------
bench() {
  local bench_s dev rc
  bench_s=$(( $(left) - ${CUDA_TESTS_S:-25} - ${PACK_S:-30} ))
  bench_s=$(( bench_s < ${BENCH_SECONDS:-45} ? bench_s : ${BENCH_SECONDS:-45} ))
  if (( bench_s < 15 )); then stage bench skipped "only $(left) s left"; return; fi
  dev=$([[ "$need_cuda" == 1 ]] && echo cuda || echo auto)
  timeout -k 5 "$bench_s" "$PYTHON" benchmarks/bench.py --data "$data" --max-seconds $(( bench_s * 7 / 10 )) \
      ${BENCH_ARGS:---device $dev --cuda-graphs --cudnn-benchmark} > "$logs/bench.log" 2>&1
  rc=$?
  case $rc in 0) stage bench ok ;; 124|137) stage bench cut "over ${bench_s} s" ;; *) stage bench failed "exit $rc" ;; esac
  cp "$logs/bench.log" results/benchmarks/ 2>/dev/null
}

cuda_tests() {
  local tests_s rc
  tests_s=$(( $(left) - ${PACK_S:-30} ))
  if [[ "$need_cuda" != 1 ]] || (( tests_s < 10 )); then
    stage cuda_tests skipped "$([[ "$need_cuda" == 1 ]] && echo "only $tests_s s left" || echo "no CUDA asked for")"
    return
  fi
  timeout -k 5 "$tests_s" "$PYTHON" -m pytest -q -p no:cacheprovider tests/test_speed_options.py tests/test_ddp.py -m cuda \
      > results/benchmarks/cuda_speed_tests.log 2>&1
  rc=$?
  case $rc in 0) stage cuda_tests ok ;; 124|137) stage cuda_tests cut ;; *) stage cuda_tests failed "pytest exit $rc" ;; esac
}

# ---- packing ------------------------------------------------------------------------------------
pack_mos() {
  # the rating set (regenerable only from checkpoints that stay on the device); its ground truth
  # and inputs are left out when the whole set would exceed MOS_MAX_MB (they depend only on the
  # faces and the seed, so the kit regenerates them)
  local mos_note=""
  if [[ ! -d "$res/mos_set" ]]; then stage pack_mos skipped "no $res/mos_set"; return; fi
  rm -f "$out"/mos_set.tgz*
  tar czf "$out/mos_set.tgz" -C "$res" mos_set
  if (( $(stat -c %s "$out/mos_set.tgz") > ${MOS_MAX_MB:-40} * 1048576 )); then
    tar czf "$out/mos_set.tgz" -C "$res" --exclude='*/ground_truth.png' --exclude='*/input.png' mos_set
    mos_note="without ground_truth/input panels"
  fi
  if (( $(stat -c %s "$out/mos_set.tgz") > 15 * 1048576 )); then
    split -b 15M -d "$out/mos_set.tgz" "$out/mos_set.tgz." && rm "$out/mos_set.tgz"
  fi
  stage pack_mos ok "$(ls "$out" | grep -c '^mos_set') file(s), $(du -ch "$out"/mos_set.tgz* | tail -1 | cut -f1) $mos_note"
}

pack() {   # sets pack_ok
  echo "$commit" > "$res/DEVICE_RUN_COMMIT"
  pack_ok=1
  pack_mos
  cp "$out/status.txt" "$res/device_status.txt"
  cp "$out/gpu_run.log" "$res/gpu_run.log" 2>/dev/null
  tar czf "$out/results.tgz" --exclude="$res/mos_set" "$res" results/benchmarks || pack_ok=0
  if (( pack_ok )); then stage pack ok "$(du -h "$out/results.tgz" | cut -f1) results.tgz"; else stage pack failed; fi
}

# ---- the device call ----------------------------------------------------------------------------
preflight
reserve=$(( ${BENCH_SECONDS:-45} + ${CUDA_TESTS_S:-25} + ${PACK_S:-30} ))   # after the study
sizing
study
bench
cuda_tests
pack
ls -la "$out"
echo "gpu_run.sh: total $(( $(date +%s) - t_start )) s of ${DEADLINE_S:-540}; status:"
cat "$out/status.txt"
(( pack_ok )) && exit 0 || exit 1
