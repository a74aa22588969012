#!/usr/bin/env bash
# Headless reproduction: runs the notebooks in order with papermill.
#
#   ./run_all.sh --profile smoke|gpu-quick|paper [--data PATH] [--force] [--only "02_sgen 03_ablations"]
#                [--results DIR] [--runs DIR] [--cache DIR] [--set key=value ...] [--keep-going]
#
# Writes results/<profile>/: tables/, figures/, notebooks/ (executed copies), provenance/<stage>.json.
# A stage whose provenance records a successful run with the same parameters and notebook source is
# skipped; --force reruns it. Exits non-zero naming the notebook that failed (with --keep-going the
# later notebooks still run, and the failures are listed at the end).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
caller="$PWD"
cd "$here"
# a path given on the command line is taken from where run_all.sh was called
from_caller() { [[ "$1" = /* ]] && echo "$1" || echo "$caller/$1"; }
# the kit's .venv when it exists (scripts/setup.sh), else the python on PATH; PYTHON=... overrides
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -z "${VIRTUAL_ENV:-}" && -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python; fi
fi
profile="smoke"
if [[ -n "${CELEBA_ROOT:-}" ]]; then data="$(from_caller "$CELEBA_ROOT")"; else data="data/celeba"; fi
results="results"
runs="runs"
cache="cache"
force=0
keep_going=0
failed=()
only=""
sets=()

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --profile) profile="${2:?--profile needs a value}"; shift 2 ;;
    --data) data="$(from_caller "${2:?--data needs a path}")"; shift 2 ;;
    --results) results="$(from_caller "${2:?--results needs a folder}")"; shift 2 ;;
    --runs) runs="$(from_caller "${2:?--runs needs a folder}")"; shift 2 ;;
    --cache) cache="$(from_caller "${2:?--cache needs a folder}")"; shift 2 ;;
    --force) force=1; shift ;;
    --keep-going) keep_going=1; shift ;;
    --only) only="${2:?--only needs notebook names}"; shift 2 ;;
    --set) sets+=("${2:?--set needs key=value}"); shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "run_all.sh: unknown argument '$1'" >&2; usage 2 ;;
  esac
done
case "$profile" in smoke|gpu-quick|paper) ;; *) echo "run_all.sh: unknown profile '$profile' (smoke, gpu-quick, paper)" >&2; exit 2 ;; esac
if [[ ! -e "$data" ]]; then
  echo "run_all.sh: CelebA not found at '$data' (give --data PATH or set CELEBA_ROOT)" >&2; exit 2
fi

out="$results/$profile"
mkdir -p "$out/notebooks"
# overrides: --set steps=100 --set eval_batch=32 -> {"steps": 100, "eval_batch": 32}
overrides_json="$("$PYTHON" - "${sets[@]+"${sets[@]}"}" <<'PY'
import json, sys
out = {}
for kv in sys.argv[1:]:
    if "=" not in kv:
        sys.exit(f"run_all.sh: --set expects key=value, got {kv!r}")
    k, v = kv.split("=", 1)
    try:
        out[k] = json.loads(v)
    except json.JSONDecodeError:
        out[k] = v
print(json.dumps(out))
PY
)"

notebooks=(01_data_prep 02_sgen 03_ablations 04_sota 05_n_study 06_mos 07_viewer)
echo "run_all.sh: profile=$profile data=$data results=$out"
total_start=$(date +%s)
for nb in "${notebooks[@]}"; do
  src="notebooks/$nb.ipynb"
  [[ -f "$src" ]] || continue
  if [[ -n "$only" && " $only " != *" $nb "* ]]; then continue; fi
  params="$("$PYTHON" -c 'import json,sys; a=sys.argv; print(json.dumps({"profile": a[1], "data_root": a[2], "results_dir": a[3], "runs_dir": a[4], "cache_dir": a[5], "overrides": json.loads(a[6])}))' "$profile" "$data" "$results" "$runs" "$cache" "$overrides_json")"
  if [[ $force -eq 0 && -f "$out/notebooks/$nb.ipynb" ]] && \
     "$PYTHON" -m sgenlib.provenance check --results "$out" --stage "$nb" --params "$params" --notebook "$src"; then
    echo "== $nb: up to date, skipped (--force to rerun)"
    continue
  fi
  echo "== $nb"
  start=$(date +%s.%N)
  if ! "$PYTHON" -m papermill "$src" "$out/notebooks/$nb.ipynb" -k python3 --cwd "$here" \
        -p profile "$profile" -p data_root "$data" -p results_dir "$results" -p runs_dir "$runs" -p cache_dir "$cache" \
        -y "overrides: $overrides_json" --progress-bar --stderr-file >(cat >&2); then
    end=$(date +%s.%N)
    "$PYTHON" -m sgenlib.provenance record --results "$out" --stage "$nb" --params "$params" --notebook "$src" \
      --seconds "$(awk "BEGIN{print $end - $start}")" --started "$start" --status failed || true
    echo "run_all.sh: notebook $nb failed; the executed copy with the error is $out/notebooks/$nb.ipynb" >&2
    failed+=("$nb")
    [[ $keep_going -eq 1 ]] && continue
    exit 1
  fi
  end=$(date +%s.%N)
  "$PYTHON" -m sgenlib.provenance record --results "$out" --stage "$nb" --params "$params" --notebook "$src" \
    --seconds "$(awk "BEGIN{print $end - $start}")" --started "$start" --status ok
  printf '   %s finished in %.1f s\n' "$nb" "$(awk "BEGIN{print $end - $start}")"
done
echo "run_all.sh: done in $(( $(date +%s) - total_start )) s; results in $out"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "run_all.sh: failed notebooks: ${failed[*]}" >&2
  exit 1
fi
