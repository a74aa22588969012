"""run_all.sh's checks and messages (issue 21), as the functions that decide them (sgenlib.runall),
and the argument checks of run_all.sh itself that stop before any notebook (a few seconds each)."""
import json
import os
import shutil
import subprocess
import sys
import time

import jupytext
import pytest

from conftest import REPO
from sgenlib import runall as R

STAGES = ["01_data_prep", "02_sgen", "03_ablations", "04_sota", "05_n_study", "06_mos", "07_viewer"]


# ---- the one list of stages ---------------------------------------------------------------------
def test_one_notebook_list_for_run_all_and_the_device_run():
    """sgenlib.runall.NOTEBOOKS is every notebook pair in notebooks/, in run order; run_all.sh reads it
    (python -m sgenlib.runall notebooks) and keeps no list of its own, nor does the device run."""
    assert list(R.NOTEBOOKS) == STAGES == sorted(p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    proc = subprocess.run([sys.executable, "-m", "sgenlib.runall", "notebooks"], cwd=REPO, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, check=True)
    assert proc.stdout.splitlines() == STAGES
    for script in ("run_all.sh", "scripts/device/gpu_run.sh"):
        text = (REPO / script).read_text()
        assert "sgenlib.runall notebooks" in text and "01_data_prep" not in text and "*.ipynb" not in text, script


# ---- 4. --only takes known stage names only -------------------------------------------------------
@pytest.mark.parametrize("given, message", [
    ("99_nope", "--only: unknown stage '99_nope'; known: 01_data_prep 02_sgen"),
    ("02_SGEN", "--only: unknown stage '02_SGEN' (did you mean 02_sgen?)"),
    ("02_sgen.ipynb", "--only: unknown stage '02_sgen.ipynb' (did you mean 02_sgen?)"),
    ("01_data_prep 05_nstudy", "--only: unknown stage '05_nstudy' (did you mean 05_n_study?)"),
])
def test_only_refuses_unknown_stage_names(given, message):
    with pytest.raises(R.RunAllError) as e:
        R.check_stage_names(given, STAGES)
    assert message in str(e.value)
    assert R.check_stage_names("02_sgen 07_viewer", STAGES) == ["02_sgen", "07_viewer"]


def _run_all(tmp_path, *args):
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(REPO)}
    return subprocess.run(["bash", str(REPO / "run_all.sh"), "--profile", "smoke", "--data", str(tmp_path),
                           "--results", str(tmp_path / "results"), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_run_all_stops_on_an_unknown_stage_before_anything_runs(tmp_path):
    proc = _run_all(tmp_path, "--only", "02_SGEN")
    assert proc.returncode == 2 and "done in" not in proc.stdout
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "run_all.sh: --only: unknown stage '02_SGEN' (did you mean 02_sgen?); known: 01_data_prep")
    assert not (tmp_path / "results").exists()


# ---- 8. every --set value by the notebooks' own rules ------------------------------------------------
@pytest.mark.parametrize("pairs, message", [
    (["seeds=0"], "--set seeds=0: seeds must be an integer >= 1, got 0"),
    (["seeds=1.5"], "--set seeds=1.5: seeds must be an integer >= 1, got 1.5"),
    (["steps"], "--set expects key=value, got 'steps'"),
])
def test_set_values_are_checked_by_the_notebooks_rules(pairs, message):
    with pytest.raises(R.RunAllError) as e:
        R.parse_sets("smoke", pairs)
    assert str(e.value) == message
    ok = {"seeds": 2, "limit": None, "device": "cpu"}
    assert R.parse_sets("smoke", ["seeds=2", "limit=null", "device=cpu"]) == ok


def test_run_all_stops_on_seeds_0_before_anything_runs(tmp_path):
    proc = _run_all(tmp_path, "--set", "seeds=0")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == "run_all.sh: --set seeds=0: seeds must be an integer >= 1, got 0"


# ---- 1. the edited .py is what runs ---------------------------------------------------------------
def _pair(tmp_path, stem="07_viewer"):
    for ext in (".py", ".ipynb"):
        shutil.copyfile(REPO / "notebooks" / f"{stem}{ext}", tmp_path / f"{stem}{ext}")
    return tmp_path / f"{stem}.ipynb", tmp_path / f"{stem}.py"


def test_edited_py_is_synced_into_the_notebook_that_runs(tmp_path):
    ipynb, py = _pair(tmp_path)
    assert R.sync_notebook(ipynb) == ""                                  # in sync: untouched
    with open(py, "a") as f:
        f.write('\n# %%\nprint("MARK")\n')
    line = R.sync_notebook(ipynb)
    assert line == f"run_all.sh: {py} was edited: synced {ipynb} from it (jupytext --sync), so the edit is what runs"
    before = json.loads((REPO / "notebooks" / "07_viewer.ipynb").read_text())["cells"]
    cells = json.loads(ipynb.read_text())["cells"]
    assert "".join(cells[-1]["source"]) == 'print("MARK")'
    assert [c["id"] for c in cells] == [c["id"] for c in before] + [f"cell-{len(before):02d}"]  # a small diff
    assert [c.source for c in jupytext.read(py).cells] == ["".join(c["source"]) for c in cells]
    assert R.sync_notebook(ipynb) == ""


def test_notebook_edited_without_its_source_stops_naming_both(tmp_path):
    ipynb, py = _pair(tmp_path)
    nb = json.loads(ipynb.read_text())
    nb["cells"][-1]["source"] = ["print('edited in the ipynb only')"]
    ipynb.write_text(json.dumps(nb))
    t = time.time()
    os.utime(py, (t - 60, t - 60))
    with pytest.raises(R.RunAllError) as e:
        R.sync_notebook(ipynb)
    assert str(e.value) == (f"{ipynb} and {py} disagree and the .ipynb is newer (edited without jupytext?); carry "
                            f"its edits into the source with `jupytext --sync {ipynb}`, or drop them with "
                            f"`git checkout -- {ipynb}`, then run again")
    assert "edited in the ipynb only" in ipynb.read_text()               # nothing overwritten


# ---- 7. the manifest: damaged, or older than the failed stage -------------------------------------------
def test_skipped_images_line_never_stale_and_damaged_manifest_named(tmp_path):
    m = tmp_path / "data_manifest.json"
    m.write_text(json.dumps({"skipped_unreadable": ["000001.jpg: corrupt", "000002.jpg: corrupt"]}))
    line = ("run_all.sh: 2 image(s) skipped as unreadable (corrupt or not 218x178): 000001.jpg: corrupt; "
            "000002.jpg: corrupt")
    assert R.skipped_line(m) == line
    assert R.skipped_line(m, since=time.time() + 5) == ""                # written before the failed stage began
    m.write_text('{"skipped_unreadable": ["000')                           # truncated
    with pytest.raises(R.RunAllError, match=rf"{m} is damaged \(JSONDecodeError: .*\); rerun the data stage to "
                                            r"rewrite it: ./run_all.sh ... --force --only 01_data_prep"):
        R.skipped_line(m)


# ---- 6. a failed stage's last line ------------------------------------------------------------------------
def test_failure_line_of_a_cut_short_notebook_and_of_a_full_disk(tmp_path, monkeypatch):
    executed = tmp_path / "smoke" / "notebooks" / "02_sgen.ipynb"
    executed.parent.mkdir(parents=True)
    error = {"output_type": "error", "ename": "OSError", "evalue": "[Errno 28] No space left on device",
             "traceback": []}
    executed.write_text(json.dumps({"cells": [{"outputs": [error]}]}))
    assert R.failure_line(executed) == (
        f"OSError: [Errno 28] No space left on device: the disk of {tmp_path / 'smoke'} is full; free space there "
        "(or give --results on another disk), then run again (finished stages are skipped)")
    executed.write_text('{"cells": [{"outp')                              # papermill cut short
    assert R.failure_line(executed).startswith(f"its executed copy {executed} is unreadable (JSONDecodeError")
    monkeypatch.setattr(R.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10, 10, 0))
    assert R.failure_line(executed) == (
        f"no space left on device writing {executed}: the disk of {tmp_path / 'smoke'} is full; free space there "
        "(or give --results on another disk), then run again (finished stages are skipped)")


def test_cleanup_removes_temporaries_left_anywhere_in_results(tmp_path):
    (tmp_path / "eval").mkdir()
    left = [tmp_path / ".02_sgen.json.tmp123", tmp_path / "eval" / ".SGEN.csv.tmp9"]
    for p in left:
        p.write_bytes(b"")
    keep = tmp_path / "eval" / "SGEN.csv"
    keep.write_text("x\n")
    assert sorted(R.remove_temporaries(tmp_path, recursive=True)) == sorted(left)
    assert keep.is_file() and not any(p.exists() for p in left)
