#!/usr/bin/env bash
# JupyterLab on the notebooks, for root (as in many containers) and for a normal user alike.
#   scripts/lab.sh                 # opens notebooks/; extra arguments go to `jupyter lab`
#   scripts/lab.sh --port 8890 --no-browser
# The server listens on 127.0.0.1 only and keeps JupyterLab's token authentication: the URL with
# the token is printed below. From another machine, use an SSH tunnel
# (ssh -L 8888:127.0.0.1:8888 host) rather than opening the port. --allow-root is added only when
# the user is root, since Jupyter refuses to start as root without it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jupyter="$here/.venv/bin/jupyter"
[[ -x "$jupyter" ]] || jupyter="$(command -v jupyter || true)"
if [[ -z "$jupyter" ]]; then
  echo "lab.sh: jupyter not found: run scripts/setup.sh first (it makes .venv)" >&2
  exit 1
fi
root_flag=()
[[ "$(id -u)" -eq 0 ]] && root_flag=(--allow-root)
exec "$jupyter" lab --ip=127.0.0.1 "${root_flag[@]}" "$here/notebooks" "$@"
