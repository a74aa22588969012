#!/usr/bin/env bash
# Screenshot of the restoration viewer (notebooks/07_viewer.ipynb) as JupyterLab shows it, headless.
#
#   scripts/screenshot_viewer.sh [--profile smoke] [--results results] [--runs runs] [--data PATH]
#                                [--live true|false] [--notebook EXECUTED.ipynb] [--out PNG]
#                                [--window 1800x1500] [--timeout 90] [--install] [--keep]
#
# 1. executes the viewer notebook with papermill (skipped with --notebook: an already executed copy,
#    e.g. results/<profile>/notebooks/07_viewer.ipynb from run_all.sh); the widget state is saved in
#    the notebook, code cells are collapsed in a temporary copy (scripts/screenshot_viewer_notebook.py);
# 2. starts JupyterLab on a free localhost port with a random token, in a temporary folder;
# 3. opens the notebook in headless Chromium, driven over the DevTools protocol (python
#    websocket-client, a dependency of jupyter_server; scripts/screenshot_viewer_capture.py),
#    waits until the widget's images are drawn,
#    scrolls the viewer into view, makes the page as tall as the viewer (every ticked model's panel
#    in the picture) and saves a PNG (default results/<profile>/viewer_screenshot.png);
# 4. stops Chromium and JupyterLab (the processes it started, by pid) and removes the temporary folder.
#
# Needs Chromium and installs nothing unless --install is given (then: apt-get install -y chromium,
# Debian/Ubuntu, as root). Widgets render only once the notebook's kernel is up, which chromium's own
# --screenshot / --virtual-time-budget route does not wait for; hence the DevTools route.
# Exit codes: 0 ok, 2 usage / missing tool, 3 the widgets did not render in time (a PNG is still written).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
# the kit's .venv when it exists (scripts/setup.sh), else the python on PATH; PYTHON=... overrides
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -z "${VIRTUAL_ENV:-}" && -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python; fi
fi
profile="smoke"
results="results"
runs="runs"
data="${CELEBA_ROOT:-data/celeba}"
live="true"
notebook=""
out=""
window="1800x1500"
timeout=90
install=0
keep=0

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --profile) profile="${2:?--profile needs a value}"; shift 2 ;;
    --results) results="${2:?--results needs a folder}"; shift 2 ;;
    --runs) runs="${2:?--runs needs a folder}"; shift 2 ;;
    --data) data="${2:?--data needs a path}"; shift 2 ;;
    --live) live="${2:?--live needs true or false}"; shift 2 ;;
    --notebook) notebook="${2:?--notebook needs a file}"; shift 2 ;;
    --out) out="${2:?--out needs a file}"; shift 2 ;;
    --window) window="${2:?--window needs WxH}"; shift 2 ;;
    --timeout) timeout="${2:?--timeout needs seconds}"; shift 2 ;;
    --install) install=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "screenshot_viewer.sh: unknown argument '$1'" >&2; usage 2 ;;
  esac
done
case "$live" in true|True) live=True ;; false|False) live=False ;;
  *) echo "screenshot_viewer.sh: --live takes true or false, got '$live'" >&2; exit 2 ;; esac
[[ "$window" =~ ^[0-9]+x[0-9]+$ ]] || { echo "screenshot_viewer.sh: --window takes WxH, e.g. 1800x1500" >&2; exit 2; }
out="${out:-$results/$profile/viewer_screenshot.png}"
start=$(date +%s.%N)

"$PYTHON" -c "import jupyterlab, papermill, websocket" 2>/dev/null || {
  echo "screenshot_viewer.sh: $PYTHON lacks jupyterlab, papermill or websocket-client: run scripts/setup.sh" \
       "(it makes .venv), then 'source .venv/bin/activate' (or PYTHON=.venv/bin/python $0 ...)" >&2; exit 2; }
chrome=""
for c in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$c" >/dev/null 2>&1; then chrome="$(command -v "$c")"; break; fi
done
if [[ -z "$chrome" && $install -eq 1 ]]; then
  echo "== installing chromium (apt-get)"
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  chrome="$(command -v chromium || true)"
fi
if [[ -z "$chrome" ]]; then
  echo "screenshot_viewer.sh: no Chromium found; install it (Debian/Ubuntu: apt-get install -y chromium) or pass --install" >&2
  exit 2
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/sgen_viewer_shot.XXXXXX")"
lab_pid=""; chrome_pid=""
cleanup() {
  [[ -n "$chrome_pid" ]] && kill "$chrome_pid" 2>/dev/null && wait "$chrome_pid" 2>/dev/null || true
  [[ -n "$lab_pid" ]] && kill "$lab_pid" 2>/dev/null && wait "$lab_pid" 2>/dev/null || true
  if [[ $keep -eq 1 ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# 1. the executed notebook (widget state saved by nbclient), code cells collapsed
if [[ -z "$notebook" ]]; then
  echo "== executing notebooks/07_viewer.ipynb (profile $profile, live $live)"
  "$PYTHON" -m papermill notebooks/07_viewer.ipynb "$tmp/executed.ipynb" -k python3 --cwd "$here" \
    -p profile "$profile" -p results_dir "$results" -p runs_dir "$runs" -p data_root "$data" \
    -p live "$live" -p save_example False --log-level WARNING >"$tmp/papermill.log" 2>&1 || {
      tail -30 "$tmp/papermill.log" >&2; echo "screenshot_viewer.sh: the viewer notebook failed" >&2; exit 1; }
  notebook="$tmp/executed.ipynb"
fi
# trusted (signed in a notary database of our own), or JupyterLab shows only the text of the widget
mkdir -p "$tmp/lab" "$tmp/data"
"$PYTHON" scripts/screenshot_viewer_notebook.py "$notebook" "$tmp/lab/viewer.ipynb" "$tmp/data"

# 2. JupyterLab in the temporary folder, its own config / runtime / settings (news pop-up off)
port="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
token="$("$PYTHON" -c 'import secrets; print(secrets.token_hex(16))')"
mkdir -p "$tmp/config/labconfig" "$tmp/runtime" "$tmp/settings" "$tmp/workspaces"
echo '{"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": true}}' \
  >"$tmp/config/labconfig/page_config.json"
root_flag=(); [[ "$(id -u)" == 0 ]] && root_flag=(--allow-root)
JUPYTER_CONFIG_DIR="$tmp/config" JUPYTER_DATA_DIR="$tmp/data" JUPYTER_RUNTIME_DIR="$tmp/runtime" \
JUPYTERLAB_SETTINGS_DIR="$tmp/settings" \
JUPYTERLAB_WORKSPACES_DIR="$tmp/workspaces" \
  "$PYTHON" -m jupyterlab --no-browser "${root_flag[@]}" --ip=127.0.0.1 --port="$port" \
    --ServerApp.port_retries=0 --IdentityProvider.token="$token" --ServerApp.root_dir="$tmp/lab" \
    --LabApp.expose_app_in_browser=True >"$tmp/jupyterlab.log" 2>&1 &
lab_pid=$!
for _ in $(seq 120); do
  curl -sf "http://127.0.0.1:$port/api/status?token=$token" >/dev/null 2>&1 && break
  kill -0 "$lab_pid" 2>/dev/null || { tail -20 "$tmp/jupyterlab.log" >&2; echo "screenshot_viewer.sh: JupyterLab did not start" >&2; exit 1; }
  sleep 0.5
done
echo "== JupyterLab on 127.0.0.1:$port"

# 3. headless Chromium, driven over the DevTools protocol
cdp_port="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$chrome" --headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run \
  --disable-extensions --user-data-dir="$tmp/chrome" --window-size="${window/x/,}" --hide-scrollbars \
  --remote-debugging-address=127.0.0.1 --remote-debugging-port="$cdp_port" about:blank >"$tmp/chromium.log" 2>&1 &
chrome_pid=$!
mkdir -p "$(dirname "$out")"
rc=0
"$PYTHON" scripts/screenshot_viewer_capture.py "$cdp_port" "http://127.0.0.1:$port/lab/tree/viewer.ipynb?token=$token" \
  "$out" "$timeout" || rc=$?
end=$(date +%s.%N)
awk -v o="$out" -v a="$start" -v b="$end" 'BEGIN { printf "== wrote %s in %.1f s\n", o, b - a }'
exit $rc
