#!/usr/bin/env bash
# Set up .venv for the kit: the pinned CPU PyTorch wheel, the kit (editable) with its test tools,
# and PIQE (the no-reference proxy score of the MOS notebook). Each step says what it installs;
# pip shows its own progress. About 1.5 to 2 minutes: 87 s on a fresh clone (issue #20), 126 s in CI
# with the browser (README, Quick start).
#   scripts/setup.sh            # CPU (this pin takes PyTorch's CPU wheel)
#   TORCH_SPEC="torch==2.11.*" scripts/setup.sh    # e.g. a CUDA build you already host
#   scripts/setup.sh --with-browser                  # also Debian's chromium (as root), for the
#                                                    # headless screenshots the tests take
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
step() { echo "== setup [$1/5] $2 ($(date +%H:%M:%S))"; }
if [[ "${1:-}" == "--with-browser" ]] && ! command -v chromium >/dev/null; then
  step 0 "chromium from Debian (apt-get) for the headless screenshots"
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
PY="${PYTHON:-python3}"
step 1 "virtual environment .venv ($("$PY" --version 2>&1))"
[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
.venv/bin/python -m pip install --upgrade pip
step 2 "PyTorch: ${TORCH_SPEC:-torch==2.13.0} (the largest download)"
.venv/bin/python -m pip install "${TORCH_SPEC:-torch==2.13.0}"
step 3 "the kit (pip install -e .[test]): numpy, scipy, pandas, scikit-image, JupyterLab, papermill, ..."
.venv/bin/python -m pip install -e ".[test]"
step 4 "pypiqe (the MOS notebook's no-reference proxy)"
# pypiqe declares opencv-python (GUI build); the headless OpenCV above provides the same cv2 module.
.venv/bin/python -m pip install --no-deps "pypiqe==1.2"
step 5 "check"
.venv/bin/python -c "import torch, sgenlib; print('sgenlib ready: torch', torch.__version__)"
