#!/usr/bin/env bash
# Headless reproduction: runs the notebooks in order with papermill.
#
#   ./run_all.sh --profile smoke|cpu|gpu-quick|paper [--data PATH] [--force] [--only "02_sgen 03_ablations"]
#                [--results DIR] [--runs DIR] [--cache DIR] [--set key=value ...] [--keep-going]
#
# Writes results/<profile>/: tables/, figures/, notebooks/ (executed copies), provenance/<stage>.json.
# A stage is skipped when its provenance records a successful run with the same parameters, data
# content (sha256 of every image), notebook source and sgenlib source, and every file it read
# (generators, checkpoints) and wrote is still there unchanged; --force reruns it. Every --set is
# checked (known key, type, range) before the first notebook. Exits non-zero naming the notebook that
# failed and its error (with --keep-going the later notebooks still run, and the failures are listed
# at the end). One run_all.sh per results/<profile> at a time (a lock; a second one stops at once,
# naming the first); each notebook runs in its own process group and ends with run_all.sh.
# --data PATH is remembered (.sgen_settings.json): later runs and JupyterLab use it; CELEBA_ROOT overrides.
set -euo pipefail

total_start=$(date +%s.%N)          # "done in" measures the whole command, data hashing included
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
caller="$PWD"
invocation="run_all.sh $*"
cd "$here"
# a path given on the command line is taken from where run_all.sh was called
from_caller() { [[ "$1" = /* ]] && echo "$1" || echo "$caller/$1"; }
# the kit's .venv when it exists (scripts/setup.sh), else the python on PATH; PYTHON=... overrides
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -z "${VIRTUAL_ENV:-}" && -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python; fi
fi
profile="smoke"
data=""                        # --data, else $CELEBA_ROOT, else the saved root, else data/celeba
results="results"
runs="runs"
cache="cache"
data_from=""
force=0
keep_going=0
failed=()
only=""
sets=()

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --profile) profile="${2:?--profile needs a value}"; shift 2 ;;
    --data) data="$(from_caller "${2:?--data needs a path}")"; data_from="--data"; shift 2 ;;
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
case "$profile" in smoke|cpu|gpu-quick|paper) ;; *) echo "run_all.sh: unknown profile '$profile' (smoke, cpu, gpu-quick, paper)" >&2; exit 2 ;; esac
if [[ -z "$data" && -n "${CELEBA_ROOT:-}" ]]; then data="$(from_caller "$CELEBA_ROOT")"; data_from="\$CELEBA_ROOT"; fi
if [[ -z "$data" ]]; then   # the root saved by an earlier --data (sgenlib.data_root), else data/celeba
  where="$("$PYTHON" -m sgenlib.data_root where)" || exit 2
  data="${where%%$'\n'*}"; data_from="${where#*$'\n'}"
fi
if [[ ! -e "$data" ]]; then
  echo "run_all.sh: CelebA not found at '$data' (from $data_from): give --data PATH (it is remembered for later runs and JupyterLab), set CELEBA_ROOT, or get it with: python -m sgenlib.data fetch data/celeba" >&2; exit 2
fi
# --data is remembered: later runs and notebooks opened in JupyterLab (scripts/lab.sh) read the same data
if [[ "$data_from" == "--data" ]]; then "$PYTHON" -m sgenlib.data_root set "$data" | sed 's/^/run_all.sh: /' || exit 2; fi

out="$results/$profile"
# overrides: --set steps=100 --set eval_batch=32 -> {"steps": 100, "eval_batch": 32}, each checked now
overrides_json="$("$PYTHON" -m sgenlib.runall sets "$profile" "${sets[@]+"${sets[@]}"}")" || exit 2
# the stages in run order: one list, sgenlib.runall.NOTEBOOKS (the device run reads it too)
notebook_list="$("$PYTHON" -m sgenlib.runall notebooks)" || exit 2
mapfile -t notebooks <<< "$notebook_list"
if [[ -n "$only" ]]; then "$PYTHON" -m sgenlib.runall only "$only" "${notebooks[@]}" || exit 2; fi
mkdir -p "$out/notebooks" "$out/provenance"
case "$out" in /*) out_abs="$out" ;; *) out_abs="$here/$out" ;; esac

# one run_all.sh per results/<profile>: a lock held (fd 9) until this script and its notebooks end
exec 9>>"$results/.$profile.lock"
"$PYTHON" -m sgenlib.provenance lock --fd 9 --path "$results/.$profile.lock" --what "results folder $out" \
  --pid $$ --command "$invocation" || exit 3
# holding the lock, no live writer owns a temporary under $out: remove any a killed one left
"$PYTHON" -m sgenlib.runall cleanup "$out" || true

child=""
stage=""
on_signal() {
  # ignored from now on, not reset: a second signal (Ctrl-C under `timeout` reaches run_all.sh twice)
  # must not kill this shell before it has stopped the notebook and said so
  trap '' INT TERM HUP
  if [[ -n "$child" ]]; then kill -TERM "$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true; fi
  echo "run_all.sh: interrupted ($1)${stage:+ during $stage}; its notebook was stopped. Run again to resume (finished stages are skipped, training resumes from its checkpoint)." >&2
  exit 130
}
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

# images skipped as unreadable (recorded in the manifest, warm cache included), shown every run
# (after a failed stage: only a manifest that stage wrote, never a stale one)
report_skipped() { "$PYTHON" -m sgenlib.runall skipped "$out/data_manifest.json" "$@" || true; }
# the error a failed notebook ended with (its first line), from the executed copy
notebook_error() { "$PYTHON" -m sgenlib.runall failure "$1" 2>/dev/null || true; }

echo "run_all.sh: profile=$profile data=$data (from $data_from) results=$out"
echo "== data: sha256 of every image (what a stage is keyed on)"
hash_start=$(date +%s.%N)
data_sha="$("$PYTHON" -m sgenlib.data content-sha256 "$data")" || exit 2
printf '   data hashed in %.1f s\n' "$(awk "BEGIN{print $(date +%s.%N) - $hash_start}")"
# the kit's loops print plain progress lines on stderr (sgenlib.progress), which papermill forwards
export SGEN_PROGRESS=lines
# ipykernel warns at every kernel start that it talks over local TCP: shown for the first notebook only
warn_once="$out_abs/provenance/.kernel_warning_shown"
rm -f "$warn_once"
for nb in "${notebooks[@]}"; do
  src="notebooks/$nb.ipynb"
  [[ -f "$src" ]] || continue
  if [[ -n "$only" && " $only " != *" $nb "* ]]; then continue; fi
  # the jupytext pair: an edited .py is what runs (the .ipynb is rewritten from it)
  "$PYTHON" -m sgenlib.runall notebook "$src" || exit 2
  params="$("$PYTHON" -c 'import json,sys; a=sys.argv; print(json.dumps({"profile": a[1], "data_root": a[2], "results_dir": a[3], "runs_dir": a[4], "cache_dir": a[5], "overrides": json.loads(a[6]), "data_sha256": a[7]}))' "$profile" "$data" "$results" "$runs" "$cache" "$overrides_json" "$data_sha")"
  if [[ $force -eq 0 && -f "$out/notebooks/$nb.ipynb" ]] && \
     "$PYTHON" -m sgenlib.provenance check --results "$out" --stage "$nb" --params "$params" --notebook "$src"; then
    echo "== $nb: up to date, skipped (--force to rerun)"
    continue
  fi
  echo "== $nb"
  stage="$nb"
  reads="$out_abs/provenance/.reads-$nb"
  : > "$reads"
  start=$(date +%s.%N)
  SGEN_STAGE_READS="$reads" "$PYTHON" -m sgenlib.provenance run --warn-once "$warn_once" -- \
    "$PYTHON" -m papermill "$src" "$out/notebooks/$nb.ipynb" -k python3 --cwd "$here" \
        -p profile "$profile" -p data_root "$data" -p results_dir "$results" -p runs_dir "$runs" -p cache_dir "$cache" \
        -y "overrides: $overrides_json" --progress-bar --stderr-file >(cat >&2) &
  child=$!
  status=0
  wait "$child" || status=$?
  child=""
  end=$(date +%s.%N)
  if [[ $status -ne 0 ]]; then
    "$PYTHON" -m sgenlib.provenance record --results "$out" --stage "$nb" --params "$params" --notebook "$src" \
      --seconds "$(awk "BEGIN{print $end - $start}")" --started "$start" --status failed --reads "$reads" || true
    err="$(notebook_error "$out/notebooks/$nb.ipynb")"
    failed+=("$nb")
    report_skipped "$start"
    "$PYTHON" -m sgenlib.runall cleanup "$out" || true
    echo "run_all.sh: notebook $nb failed; the executed copy with the error is $out/notebooks/$nb.ipynb${err:+
run_all.sh: $nb: $err}" >&2
    [[ $keep_going -eq 1 ]] && continue
    exit 1
  fi
  "$PYTHON" -m sgenlib.provenance record --results "$out" --stage "$nb" --params "$params" --notebook "$src" \
    --seconds "$(awk "BEGIN{print $end - $start}")" --started "$start" --status ok --reads "$reads"
  printf '   %s finished in %.1f s\n' "$nb" "$(awk "BEGIN{print $end - $start}")"
done
stage=""
if [[ ${#failed[@]} -eq 0 ]]; then report_skipped; fi
printf 'run_all.sh: done in %.1f s; results in %s\n' "$(awk "BEGIN{print $(date +%s.%N) - $total_start}")" "$out"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "run_all.sh: failed notebooks: ${failed[*]}" >&2
  exit 1
fi
