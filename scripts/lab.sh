#!/usr/bin/env bash
# JupyterLab on the kit, for root (as in many containers) and for a normal user alike.
#   scripts/lab.sh                        # opens at the repository's root, notebooks/ shown first
#   scripts/lab.sh --data /path/to/celeba # remembers the CelebA root for every notebook (as run_all.sh --data)
#   scripts/lab.sh --port 8890 --no-browser   # other arguments go to `jupyter lab`
# The notebooks find CelebA by their data_root parameter, else $CELEBA_ROOT, else the root saved by
# run_all.sh / lab.sh --data (.sgen_settings.json), else data/celeba; each prints which it uses.
# The server listens on 127.0.0.1 only and keeps JupyterLab's token authentication: the URL with
# the token is printed below. From another machine, use an SSH tunnel
# (ssh -L 8888:127.0.0.1:8888 host) rather than opening the port. --allow-root is added only when
# the user is root, since Jupyter refuses to start as root without it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
caller="$PWD"
jupyter="$here/.venv/bin/jupyter"
python="$here/.venv/bin/python"
[[ -x "$jupyter" ]] || jupyter="$(command -v jupyter || true)"
[[ -x "$python" ]] || python="$(command -v python || command -v python3 || true)"
if [[ -z "$jupyter" ]]; then
  echo "lab.sh: jupyter not found: run scripts/setup.sh first (it makes .venv)" >&2
  exit 1
fi
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data)
      data="${2:?--data needs a path}"; [[ "$data" = /* ]] || data="$caller/$data"
      (cd "$here" && "$python" -m sgenlib.data_root set "$data") | sed 's/^/lab.sh: /'
      shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
(cd "$here" && "$python" -m sgenlib.data_root show) | sed 's/^/lab.sh: notebooks will read the /' || true
root_flag=()
[[ "$(id -u)" -eq 0 ]] && root_flag=(--allow-root)
exec "$jupyter" lab --ip=127.0.0.1 "${root_flag[@]}" --ServerApp.root_dir="$here" \
  --LabApp.default_url=/lab/tree/notebooks "${args[@]+"${args[@]}"}"
