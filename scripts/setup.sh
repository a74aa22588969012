#!/usr/bin/env bash
# Set up .venv for the kit: the pinned CPU PyTorch wheel, the kit (editable) with its test tools,
# and PIQE (the no-reference proxy score of the MOS notebook).
#   scripts/setup.sh            # CPU (this pin takes PyTorch's CPU wheel)
#   TORCH_SPEC="torch==2.11.*" scripts/setup.sh    # e.g. a CUDA build you already host
#   scripts/setup.sh --with-browser                  # also Debian's chromium (as root), for the
#                                                    # headless screenshots the tests take
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ "${1:-}" == "--with-browser" ]] && ! command -v chromium >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
PY="${PYTHON:-python3}"
[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "${TORCH_SPEC:-torch==2.13.0}"
.venv/bin/python -m pip install -q -e ".[test]"
# pypiqe declares opencv-python (GUI build); the headless OpenCV above provides the same cv2 module.
.venv/bin/python -m pip install -q --no-deps "pypiqe==1.2"
.venv/bin/python -c "import torch, sgenlib; print('sgenlib ready: torch', torch.__version__)"
