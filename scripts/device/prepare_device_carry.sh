#!/usr/bin/env bash
# Build what the device run carries (64 MiB travel in all). Needs the kit's .venv: run
# scripts/setup.sh first (or give PYTHON=/path/to/a/python that imports sgenlib).
#   .celeba_carry/  (scripts/device/carry.py) a seeded sample of the official split (default 3,800 train / 200 val / 600 test
#                   faces, ~39 MB) in CelebA's layout, with the partition and identity files for them;
#   .whl/           papermill, ipykernel, ipywidgets, jupytext and their dependencies, pypiqe and
#                   krippendorff, as CPython 3.12 manylinux wheels (~17 MB), less what the device
#                   image already has (/work/.library/device/KINDS.md lists it);
#   .device_commit  this checkout's commit ("commit <sha>", "dirty <true|false>"): the device copy
#                   has no .git, and sgenlib.provenance and gpu_run.sh read the commit from here.
#   scripts/prepare_device_carry.sh [CELEBA_ROOT] [TRAIN VAL TEST]      (runs this file)
#   scripts/prepare_device_carry.sh --commit     # only rewrite .device_commit (after each commit)
# Then: device run(command="bash scripts/gpu_run.sh gpu-quick .celeba_carry",
#                  carry=[".celeba_carry", ".whl", ".device_commit"], timeout_s=600)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
write_commit() {
  local sha dirty
  sha=$(git rev-parse HEAD) || { echo "prepare_device_carry.sh: not a git checkout (git rev-parse HEAD failed)" >&2; exit 2; }
  dirty=$([[ -n "$(git status --porcelain --untracked-files=no)" ]] && echo true || echo false)
  printf 'commit %s\ndirty %s\n' "$sha" "$dirty" > .device_commit
  echo ".device_commit: $sha (dirty $dirty)"
  [[ "$dirty" == false ]] || echo "prepare_device_carry.sh: warning: tracked files differ from $sha; commit first" >&2
}
if [[ "${1:-}" == "--commit" ]]; then write_commit; exit 0; fi
if [[ -n "${PYTHON:-}" ]]; then PY="$PYTHON"
elif [[ -x .venv/bin/python ]]; then PY=.venv/bin/python
else
  echo "prepare_device_carry.sh: no .venv here: run scripts/setup.sh first (it builds .venv with the kit)," \
       "or set PYTHON to a python that imports sgenlib" >&2
  exit 2
fi
if ! "$PY" -c "import sgenlib.data" 2>/dev/null; then
  echo "prepare_device_carry.sh: $PY cannot import sgenlib: run scripts/setup.sh first" >&2
  exit 2
fi
root="${1:-${CELEBA_ROOT:-../shared/celeba}}"
[[ -e "$root" ]] || { echo "prepare_device_carry.sh: no CelebA at '$root' (give CELEBA_ROOT or a path)" >&2; exit 2; }
write_commit
"$PY" scripts/device/carry.py "$root" "${2:-3800}" "${3:-200}" "${4:-600}"
rm -rf .whl && mkdir .whl
plat=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
      --platform manylinux2014_x86_64 --platform manylinux1_x86_64)
"$PY" -m pip download -q --only-binary=:all: --python-version 3.12 --implementation cp "${plat[@]}" -d .whl \
  papermill ipykernel ipywidgets nbclient nbformat jupytext
# pure-Python, and their only dependency (numpy) is the device's own: without it, so it stays the device's
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 -d .whl pypiqe==1.2 krippendorff
# already on the device image (KINDS.md): keep one version of each
(cd .whl && rm -f pygments-* pyyaml-* packaging-* urllib3-* certifi-* click-* python_dateutil-* requests-* \
  idna-* attrs-* typing_extensions-* tqdm-* psutil-* charset_normalizer-* tzdata-* six-*)
du -sh .celeba_carry .whl .device_commit
