"""The screenshot itself, for scripts/screenshot_viewer.sh: headless Chromium driven over the
DevTools protocol (python websocket-client) opens the viewer notebook in JupyterLab, waits until the
widget's images are drawn, scrolls the viewer into view, makes the page as tall as the viewer
(every ticked model's panel in the picture) and saves a PNG. Exit 0, or 3 when the widgets did not
render within TIMEOUT seconds (the PNG shows the page as it was).

    python scripts/screenshot_viewer_capture.py CDP_PORT NOTEBOOK_URL OUT.png TIMEOUT
"""
from __future__ import annotations

import base64
import json
import sys
import time
import urllib.request

import websocket

# the viewer's panels are <img> widgets inside the output; how many are decoded (0 until all are)
PANELS_READY = """(() => { const imgs = [...document.querySelectorAll('.jp-OutputArea-output img.widget-image')];
  return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0) ? imgs.length : 0; })()"""
SIDEBARS_CLOSED = """(() => { const app = window.jupyterapp;
  if (app && !app.shell.leftCollapsed) app.commands.execute('application:toggle-left-area');
  if (app && !app.shell.rightCollapsed) app.commands.execute('application:toggle-right-area'); })()"""
NO_DISCONNECTED_BADGE = """document.head.insertAdjacentHTML('beforeend',
  '<style>.jupyter-widgets-disconnected::before { display: none !important; }</style>')"""
TOP_OF_VIEWER = """(() => { const w = document.querySelector('.jp-OutputArea-output .widget-vbox');
  if (!w) return 0; w.scrollIntoView({block: 'start'}); return Math.ceil(w.getBoundingClientRect().height); })()"""


def devtools_page(port: str, wait_s: float = 30.0) -> dict:
    """Chromium's first page target, waiting up to `wait_s` for its DevTools endpoint."""
    deadline = time.time() + wait_s
    while True:
        try:
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2))
            return next(t for t in targets if t.get("type") == "page")
        except Exception:  # noqa: BLE001 - Chromium still starting
            if time.time() > deadline:
                sys.exit("Chromium's DevTools endpoint did not come up")
            time.sleep(0.3)


class DevTools:
    """One page's DevTools connection: commands by name, JavaScript evaluated to a value."""

    def __init__(self, ws_url: str):
        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.ids = iter(range(1, 10**9))

    def call(self, method: str, **params) -> dict:
        i = next(self.ids)
        self.ws.send(json.dumps({"id": i, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == i:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def js(self, expr: str):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        return r.get("result", {}).get("value")


def wait_for_panels(page: DevTools, timeout: float) -> int:
    """The number of panel images drawn, once all are (0 when none were within `timeout` s)."""
    t0, n = time.time(), 0
    while time.time() - t0 < timeout:
        n = page.js(PANELS_READY) or 0
        if n:
            break
        time.sleep(0.5)
    return n


def fit_viewer(page: DevTools) -> None:
    """The viewer at the top of the window, the page as tall as it below JupyterLab's menu,
    toolbar and status bar (its panels wrap to more rows than the window holds)."""
    needed = page.js(TOP_OF_VIEWER) or 0
    size = page.js("[window.innerWidth, window.innerHeight]") or [0, 0]
    if needed + 200 > size[1]:
        page.call("Emulation.setDeviceMetricsOverride", width=size[0], height=needed + 200, deviceScaleFactor=1,
                  mobile=False)
        time.sleep(1.0)
        page.js(TOP_OF_VIEWER)


def capture(port: str, url: str, out: str, timeout: float) -> int:
    page = DevTools(devtools_page(port)["webSocketDebuggerUrl"])
    page.call("Page.enable")
    page.call("Page.navigate", url=url)
    t0 = time.time()
    n = wait_for_panels(page, timeout)
    page.js(SIDEBARS_CLOSED)
    page.js(NO_DISCONNECTED_BADGE)
    time.sleep(0.8)
    fit_viewer(page)
    time.sleep(1.0)
    png = base64.b64decode(page.call("Page.captureScreenshot", format="png")["data"])
    open(out, "wb").write(png)
    print(f"   {n} panel image(s) rendered after {time.time() - t0:.1f} s" if n else
          f"   the widgets did not render within {timeout:.0f} s; the screenshot shows the page as it was")
    return 0 if n else 3


if __name__ == "__main__":
    sys.exit(capture(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
