#!/usr/bin/env bash
# Rehearse the device call on this machine's CPU, as the GPU machine will see it:
#   1. a Python 3.12 environment with torch 2.11.0 and numpy 2.5.2 (the device image's versions; the
#      torch wheel from the package index is a CUDA build that also runs on a CPU) and the kit's
#      other dependencies, but WITHOUT papermill, ipykernel and ipywidgets (the device lacks them),
#   2. a copy of what the device tool sends (tracked and untracked-not-ignored files, no .git) plus
#      the carried .celeba_carry, .whl and .device_commit,
#   3. scripts/gpu_run.sh with the smoke profile there (so the notebook tools come from .whl, the
#      wheel path), then checks (scripts/device/rehearse_check.py): exit 0, every stage and notebook
#      in status.txt, the packed results and MOS set, figures inline in the executed notebooks, the
#      commit in provenance.
#   scripts/rehearse_device.sh                 # builds what is missing, then runs (about 3 min on 2 cores once built)
# Settings (environment): PYTHON (default python3.12; python3.11 with a warning when 3.12 is
# missing), REHEARSAL_VENV (default /tmp/sgen_rehearsal_py312), REHEARSAL_DIR (default
# /tmp/sgen_rehearsal), DEADLINE_S (default 900 here: 2 CPU cores are slower than the device).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo="$PWD"
venv="${REHEARSAL_VENV:-/tmp/sgen_rehearsal_py312}"
work="${REHEARSAL_DIR:-/tmp/sgen_rehearsal}"
TORCH_VERSION=2.11.0
NUMPY_VERSION=2.5.2

# ---- 1. the environment -------------------------------------------------------------------------
is312() { "$1" -c "import sys; assert sys.version_info[:2] == (3, 12)" 2>/dev/null; }
py="${PYTHON:-python3.12}"
if [[ -z "${PYTHON:-}" ]] && ! is312 "$py"; then      # pyenv keeps versions it has not put on PATH
  for cand in "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/3.12*/bin/python3.12; do
    if is312 "$cand"; then py="$cand"; break; fi
  done
fi
if ! is312 "$py"; then
  if [[ -z "${PYTHON:-}" ]] && command -v python3.11 >/dev/null; then
    echo "rehearse_device.sh: WARNING: no python3.12 here; using python3.11 (the device has 3.12, and" \
         "the .whl wheels are cp312: pure-Python ones install, compiled ones may not)" >&2
    py=python3.11
  elif [[ -z "${PYTHON:-}" ]]; then
    echo "rehearse_device.sh: no python3.12 (nor python3.11) on PATH; set PYTHON=/path/to/python3.12" >&2; exit 2
  fi
fi
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import torch, numpy; assert torch.__version__.split('+')[0] == '$TORCH_VERSION' and numpy.__version__ == '$NUMPY_VERSION'" 2>/dev/null; then
  echo "== building $venv with $("$py" --version), torch $TORCH_VERSION, numpy $NUMPY_VERSION"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q "torch==$TORCH_VERSION" "numpy==$NUMPY_VERSION" scipy pandas pillow \
      scikit-image matplotlib seaborn tqdm opencv-python-headless pytest
fi
# what the device image holds and prepare_device_carry.sh therefore leaves out of .whl
"$venv/bin/python" -m pip install -q pyyaml requests click pygments psutil attrs typing_extensions \
    python-dateutil six tzdata packaging urllib3 certifi idna charset_normalizer
if "$venv/bin/python" -c "import papermill" 2>/dev/null || "$venv/bin/python" -c "import ipykernel" 2>/dev/null \
   || "$venv/bin/python" -c "import ipywidgets" 2>/dev/null; then
  echo "rehearse_device.sh: $venv has papermill/ipykernel/ipywidgets; the rehearsal needs an environment without them" >&2
  exit 2
fi
"$venv/bin/python" -c "import sys, torch, numpy; print('rehearsal env: python', sys.version.split()[0], 'torch', torch.__version__, 'numpy', numpy.__version__)"

# ---- 2. the carried folders and the copy --------------------------------------------------------
if [[ ! -d .celeba_carry || ! -d .whl ]]; then
  echo "== building .celeba_carry and .whl (scripts/prepare_device_carry.sh)"
  scripts/device/prepare_device_carry.sh
else
  scripts/device/prepare_device_carry.sh --commit
fi
commit=$(sed -n 's/^commit //p' .device_commit)
rm -rf "$work" && mkdir -p "$work/tree" "$work/out"
git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} cp --parents -P {} "$work/tree/" 2>/dev/null || true
cp -r .celeba_carry .whl .device_commit "$work/tree/"
[[ ! -e "$work/tree/.git" ]] || { echo "rehearse_device.sh: the copy has .git" >&2; exit 1; }
echo "== copy without .git in $work/tree ($(du -sh "$work/tree" | cut -f1))"

# ---- 3. the device command ----------------------------------------------------------------------
set +e
(cd "$work/tree" && env -u MPLBACKEND -u PYTHONPATH -u SGEN_GIT_COMMIT OUT="$work/out" PYTHON="$venv/bin/python" \
   SITE_DIR="$work/site" DEADLINE_S="${DEADLINE_S:-900}" SIZE_LIMIT_S="${SIZE_LIMIT_S:-120}" \
   BENCH_SECONDS="${BENCH_SECONDS:-60}" BENCH_ARGS="${BENCH_ARGS:---quick --models SGEN-MSE,SRCNN}" \
   bash scripts/gpu_run.sh smoke .celeba_carry)
rc=$?
set -e
echo "== gpu_run.sh exit $rc; checking"
"$venv/bin/python" scripts/device/rehearse_check.py "$work" "$rc" "$commit"
