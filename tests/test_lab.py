"""scripts/lab.sh, the README's way to open the notebooks: JupyterLab starts as root and as a normal
user, listens on 127.0.0.1 only, and keeps token authentication."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import REPO


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_and_check(prefix: list[str], home) -> str:
    port = _free_port()
    env = dict(os.environ, HOME=str(home), JUPYTER_RUNTIME_DIR=str(home / "rt"), JUPYTER_CONFIG_DIR=str(home / "cfg"),
               JUPYTER_DATA_DIR=str(home / "data"), IPYTHONDIR=str(home / "ipy"))
    proc = subprocess.Popen(prefix + ["bash", str(REPO / "scripts" / "lab.sh"), "--no-browser", f"--port={port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True, cwd=home)
    log, url = [], None
    try:
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            log.append(line)
            m = re.search(r"(http://[^/\s]+:%d/lab/tree/notebooks\?token=\w+)" % port, line)
            url = m.group(1) if m else None
        assert url, "JupyterLab did not start:\n" + "".join(log)
        assert url.startswith(f"http://127.0.0.1:{port}/"), url
        api = f"http://127.0.0.1:{port}/api/contents"
        code = None
        while code is None and time.monotonic() < deadline:  # the URL is printed just before it listens
            try:
                urllib.request.urlopen(api, timeout=30)
                code = 200
            except urllib.error.HTTPError as e:
                code = e.code
            except urllib.error.URLError:
                time.sleep(0.5)
        assert code == 403, f"without the token the server must refuse, got {code}"
        token = url.split("token=")[1]
        with urllib.request.urlopen(f"{api}?token={token}", timeout=30) as r:
            names = {c["name"] for c in __import__("json").load(r)["content"]}
        assert {"notebooks", "results", "run_all.sh"} <= names, names  # the server's root is the checkout's
        if shutil.which("ss"):
            listening = subprocess.run(["ss", "-ltn", f"sport = :{port}"], capture_output=True, text=True).stdout
            assert "127.0.0.1:%d" % port in listening and "0.0.0.0:%d" % port not in listening, listening
        return "".join(log)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.mark.slow  # starts a JupyterLab server
def test_lab_starts_for_the_current_user_localhost_with_token(tmp_path):
    _start_and_check([], tmp_path)


def test_lab_as_a_normal_user_omits_allow_root(tmp_path):
    """As a normal user the script must not pass --allow-root. Run by a normal user, the server
    simply starts. Run by root, `id -u` is made to answer 1000: the flag is then left out, which
    Jupyter (really running as root) answers by refusing to start and naming --allow-root."""
    if os.geteuid() != 0:
        _start_and_check([], tmp_path)
        return
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "id").write_text("#!/bin/sh\necho 1000\n")
    (shim / "id").chmod(0o755)
    env = dict(os.environ, PATH=f"{shim}:{os.environ['PATH']}", HOME=str(tmp_path),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    proc = subprocess.run(["bash", str(REPO / "scripts" / "lab.sh"), "--no-browser", f"--port={_free_port()}"],
                          capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert proc.returncode != 0 and "Running as root is not recommended. Use --allow-root" in proc.stderr + proc.stdout


def test_screenshot_viewer_finds_the_venv_and_says_how_to_activate_it(tmp_path):
    """scripts/screenshot_viewer.sh picks .venv/bin/python as run_all.sh and lab.sh do; a Python
    without the tools gets a message that says to run setup.sh and activate .venv."""
    text = (REPO / "scripts" / "screenshot_viewer.sh").read_text()
    assert '-x .venv/bin/python ]]; then PYTHON=.venv/bin/python' in text
    proc = subprocess.run(["bash", str(REPO / "scripts" / "screenshot_viewer.sh")], capture_output=True, text=True,
                          env=dict(os.environ, PYTHON="/bin/false"), timeout=60)
    assert proc.returncode == 2 and "source .venv/bin/activate" in proc.stderr, proc.stderr
