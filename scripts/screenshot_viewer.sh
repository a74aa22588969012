#!/usr/bin/env bash
# Screenshot of the restoration viewer (notebooks/07_viewer.ipynb) as JupyterLab shows it, headless.
#
#   scripts/screenshot_viewer.sh [--profile smoke] [--results results] [--runs runs] [--data PATH]
#                                [--live true|false] [--notebook EXECUTED.ipynb] [--out PNG]
#                                [--window 1800x1500] [--timeout 90] [--install] [--keep]
#
# 1. executes the viewer notebook with papermill (skipped with --notebook: an already executed copy,
#    e.g. results/<profile>/notebooks/07_viewer.ipynb from run_all.sh); the widget state is saved in
#    the notebook, code cells are collapsed in a temporary copy;
# 2. starts JupyterLab on a free localhost port with a random token, in a temporary folder;
# 3. opens the notebook in headless Chromium, driven over the DevTools protocol (python
#    websocket-client, a dependency of jupyter_server), waits until the widget's images are drawn,
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

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
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
"$PYTHON" - "$notebook" "$tmp/lab/viewer.ipynb" "$tmp/data" <<'PY'
import sys
import nbformat
from nbformat.sign import NotebookNotary
nb = nbformat.read(sys.argv[1], as_version=4)
if "application/vnd.jupyter.widget-state+json" not in nb.metadata.get("widgets", {}):
    sys.exit(f"{sys.argv[1]} holds no widget state: execute it with papermill / nbclient first")
for cell in nb.cells:
    if cell.cell_type == "code" or "LIVE** when" in cell.source:
        cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
NotebookNotary(data_dir=sys.argv[3]).sign(nb)
nbformat.write(nb, sys.argv[2])
PY

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
"$PYTHON" - "$cdp_port" "http://127.0.0.1:$port/lab/tree/viewer.ipynb?token=$token" "$out" "$timeout" <<'PY' || rc=$?
import base64, json, sys, time, urllib.request
import websocket

port, url, out, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
deadline = time.time() + 30
while True:
    try:
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2))
        page = next(t for t in targets if t.get("type") == "page")
        break
    except Exception:  # noqa: BLE001 - Chromium still starting
        if time.time() > deadline:
            sys.exit("Chromium's DevTools endpoint did not come up")
        time.sleep(0.3)
ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
ids = iter(range(1, 10**9))


def call(method, **params):
    i = next(ids)
    ws.send(json.dumps({"id": i, "method": method, "params": params}))
    while True:
        msg = json.loads(ws.recv())
        if msg.get("id") == i:
            if "error" in msg:
                raise RuntimeError(f"{method}: {msg['error']}")
            return msg.get("result", {})


def js(expr):
    r = call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
    return r.get("result", {}).get("value")


call("Page.enable")
call("Page.navigate", url=url)
# the viewer's panels are <img> widgets inside the output; wait until they are decoded
ready = """(() => { const imgs = [...document.querySelectorAll('.jp-OutputArea-output img.widget-image')];
  return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0) ? imgs.length : 0; })()"""
t0, n = time.time(), 0
while time.time() - t0 < timeout:
    n = js(ready) or 0
    if n:
        break
    time.sleep(0.5)
js("""(() => { const app = window.jupyterapp;
  if (app && !app.shell.leftCollapsed) app.commands.execute('application:toggle-left-area');
  if (app && !app.shell.rightCollapsed) app.commands.execute('application:toggle-right-area'); })()""")
js("""document.head.insertAdjacentHTML('beforeend',
  '<style>.jupyter-widgets-disconnected::before { display: none !important; }</style>')""")
time.sleep(0.8)
top_of_viewer = """(() => { const w = document.querySelector('.jp-OutputArea-output .widget-vbox');
  if (!w) return 0; w.scrollIntoView({block: 'start'}); return Math.ceil(w.getBoundingClientRect().height); })()"""
needed = js(top_of_viewer) or 0
size = js("[window.innerWidth, window.innerHeight]") or [0, 0]
# every panel of every ticked model in the picture (they wrap to more rows than the window holds):
# a page tall enough for the whole viewer below JupyterLab's menu, toolbar and status bar
if needed + 200 > size[1]:
    call("Emulation.setDeviceMetricsOverride", width=size[0], height=needed + 200, deviceScaleFactor=1, mobile=False)
    time.sleep(1.0)
    js(top_of_viewer)
time.sleep(1.0)
png = base64.b64decode(call("Page.captureScreenshot", format="png")["data"])
open(out, "wb").write(png)
print(f"   {n} panel image(s) rendered after {time.time() - t0:.1f} s" if n else
      f"   the widgets did not render within {timeout:.0f} s; the screenshot shows the page as it was")
sys.exit(0 if n else 3)
PY
end=$(date +%s.%N)
awk -v o="$out" -v a="$start" -v b="$end" 'BEGIN { printf "== wrote %s in %.1f s\n", o, b - a }'
exit $rc
