"""run_all.sh as a careful user drives it (issue 10): --set values checked before any notebook,
stages rerun when the data changes, images skipped as unreadable named on the terminal every run,
one run_all.sh per results folder, and no notebook left running after run_all.sh is killed.

Each test runs only 01_data_prep, the smoke profile, on a 12-image copy of CelebA in tmp_path."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO
from sgenlib import data

pytestmark = pytest.mark.slow


def mini_celeba(tmp_path, celeba_dir, n=12, corrupt=None):
    root = tmp_path / "celeba"
    (root / "img_align_celeba").mkdir(parents=True)
    names = data.open_celeba(celeba_dir).names[:n]
    for nm in names:
        shutil.copyfile(celeba_dir / "img_align_celeba" / nm, root / "img_align_celeba" / nm)
    (root / "list_eval_partition.txt").write_text("".join(f"{nm} {i % 3}\n" for i, nm in enumerate(names)))
    if corrupt is not None:
        (root / "img_align_celeba" / names[corrupt]).write_bytes(b"this is not a jpeg")
    return root, names


def cmd(tmp_path, root, *args):
    return ["bash", str(REPO / "run_all.sh"), "--profile", "smoke", "--data", str(root),
            "--results", str(tmp_path / "results"), "--runs", str(tmp_path / "runs"),
            "--cache", str(tmp_path / "cache"), "--only", "01_data_prep", *args]


def env():
    return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}


def run_all(tmp_path, root, *args):
    return subprocess.run(cmd(tmp_path, root, *args), cwd=REPO, env=env(), capture_output=True, text=True,
                          timeout=600)


@pytest.mark.parametrize("setting, message", [
    ("steps=abc", "--set steps=abc: steps must be an integer >= 1, got 'abc'"),
    ("steps=-5", "--set steps=-5: steps must be an integer >= 1, got -5"),
    ("stpes=3", "--set stpes=3: unknown setting 'stpes'; known:"),
    ("width=0", "--set width=0: width must be a number in (0, 16], got 0"),
    ("metric_backend=gpu", "--set metric_backend=gpu: metric_backend must be one of torch, skimage, got 'gpu'"),
    ("limit={\"train\": 0}", "limit must be null, an integer >= 1, or"),
])
def test_bad_set_values_stop_before_the_first_notebook(tmp_path, celeba_dir, setting, message):
    proc = run_all(tmp_path, celeba_dir, "--set", setting)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr and "== 01_data_prep" not in proc.stdout


def test_skipped_images_on_the_terminal_and_changed_data_reruns(tmp_path, celeba_dir):
    root, names = mini_celeba(tmp_path, celeba_dir, corrupt=0)        # 000001.jpg: train split
    line = f"run_all.sh: 1 image(s) skipped as unreadable (corrupt or not 218x178): {names[0]}: corrupt or unreadable"
    first = run_all(tmp_path, root)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    assert line in first.stdout
    left = tmp_path / "results" / "smoke" / "tables" / ".t.csv.tmp99999"  # a killed writer's temporary
    left.parent.mkdir(exist_ok=True)
    left.write_bytes(b"")
    again = run_all(tmp_path, root)                                   # warm: stage skipped, still said
    assert again.returncode == 0 and "01_data_prep: up to date, skipped" in again.stdout
    assert line in again.stdout
    assert not left.exists() and f"removed the temporary {left}" in again.stderr
    (root / "img_align_celeba" / names[3]).unlink()                   # data changed: the stage reruns
    changed = run_all(tmp_path, root)
    assert changed.returncode == 0, changed.stdout[-2000:] + changed.stderr[-2000:]
    assert "up to date" not in changed.stdout and "(01_data_prep runs: changed: parameters or data)" in changed.stdout
    import json
    manifest = json.loads((tmp_path / "results" / "smoke" / "data_manifest.json").read_text())
    assert manifest["n_images_found"] == 11


def _tree(pid):
    from sgenlib.procgroup import _descendants
    return _descendants(pid)


def _cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _kill_tree(pid):
    """SIGKILL `pid` and every descendant still there (a test's clean-up)."""
    for p in [pid, *_tree(pid)]:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_second_run_all_stops_and_kill_9_ends_the_notebook(tmp_path, celeba_dir):
    root, _ = mini_celeba(tmp_path, celeba_dir)
    first = subprocess.Popen(cmd(tmp_path, root), cwd=REPO, env=env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:                             # wait for the notebook's kernel
            tree = _tree(first.pid)
            if any("ipykernel" in _cmdline(p) for p in tree):
                break
            assert first.poll() is None, "run_all.sh ended before its kernel was seen"
            time.sleep(0.2)
        else:
            pytest.fail("no kernel started within 180 s")
        # a second run_all.sh on the same results folder stops at once, naming the first
        t0 = time.monotonic()
        second = run_all(tmp_path, root)
        assert second.returncode == 3 and time.monotonic() - t0 < 60
        assert (f"results folder {tmp_path / 'results' / 'smoke'} is in use by another run (pid {first.pid} on "
                in second.stderr), second.stderr
        assert "run_all.sh --profile smoke" in second.stderr
        # kill -9 of run_all.sh: its notebook (papermill and the kernel) ends too
        tree = _tree(first.pid)
        assert any("papermill" in _cmdline(p) for p in tree)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(p) for p in tree):
            time.sleep(0.2)
        assert not [(p, _cmdline(p)) for p in tree if _alive(p)]
    finally:
        _kill_tree(first.pid)


def test_ctrl_c_under_timeout_says_interrupted(tmp_path, celeba_dir):
    """Ctrl-C reaches the whole foreground group: `timeout`, run_all.sh and its runner, and `timeout`
    passes it on to run_all.sh again. run_all.sh still stops the notebook and says so, and no
    runner dies in interpreter shutdown ("Exception ignored ... SystemExit")."""
    root, _ = mini_celeba(tmp_path, celeba_dir)
    first = subprocess.Popen(["timeout", "900", *cmd(tmp_path, root)], cwd=REPO, env=env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while not any("ipykernel" in _cmdline(p) for p in _tree(first.pid)):
            assert first.poll() is None and time.monotonic() < deadline, "no kernel started"
            time.sleep(0.2)
        tree = _tree(first.pid)
        os.killpg(first.pid, signal.SIGINT)                            # the terminal's Ctrl-C
        out, err = first.communicate(timeout=60)
    finally:
        _kill_tree(first.pid)
    assert "run_all.sh: interrupted (INT) during 01_data_prep; its notebook was stopped." in err, err[-3000:]
    assert "Exception ignored" not in err and "SystemExit" not in err, err[-3000:]
    assert first.returncode == 130
    assert not [(p, _cmdline(p)) for p in tree if _alive(p)]
