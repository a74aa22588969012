"""End to end: ./run_all.sh --profile smoke on real CelebA images, as a user runs it.

Writes results/smoke/ in the checkout (ignored by git), with runs/ and cache/ under a tmp folder
so that nothing from an earlier run is reused."""
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from conftest import REPO, celeba_root
from sgenlib.paper import SCALES, scale_name

pytestmark = pytest.mark.slow


def run_all(*args, tmp):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHON": sys.executable}
    cmd = ["bash", str(REPO / "run_all.sh"), "--profile", "smoke", "--data", str(celeba_root()),
           "--runs", str(tmp / "runs"), "--cache", str(tmp / "cache"), *args]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("smoke")
    proc = run_all("--force", tmp=tmp)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return REPO / "results" / "smoke", tmp, proc


def test_tables_for_sgen_and_sgen_mse(smoke):
    out, _, _ = smoke
    table = pd.read_csv(out / "tables" / "sgen_per_scale.csv")
    for model in ("SGEN", "SGEN-MSE", "input"):
        rows = table[table.model == model]
        assert sorted(rows.scale) == sorted(scale_name(s) for s in SCALES)
        assert rows.psnr_db.notna().all() and rows.ssim.notna().all()
    assert table.loc[table.model == "SGEN", "paper_psnr_db"].notna().all()
    md = (out / "tables" / "sgen_per_scale.md").read_text()
    assert "SMOKE" in md and "no border crop" in md


def test_training_progress_reaches_the_terminal(smoke):
    """The trainer's progress lines (stderr of the notebook's kernel) come out on run_all.sh's own
    stderr while 02 runs, not only inside the executed notebook."""
    _, _, proc = smoke
    assert "[train SGEN] step" in proc.stderr and "[train SGEN-MSE] step" in proc.stderr


def test_per_image_metrics(smoke):
    out, _, _ = smoke
    manifest = json.loads((out / "data_manifest.json").read_text())
    n_test = manifest["counts"]["test"]
    for model in ("SGEN", "SGEN-MSE", "input"):
        df = pd.read_csv(out / "eval" / f"{model}.csv", dtype={"image_id": str})
        assert len(df) == n_test * 6
        assert set(df.image_id) == set(manifest["ids"]["test"])


def test_provenance_and_executed_notebooks(smoke):
    out, _, _ = smoke
    for stage in ("01_data_prep", "02_sgen"):
        assert (out / "notebooks" / f"{stage}.ipynb").is_file()
        rec = json.loads((out / "provenance" / f"{stage}.json").read_text())
        assert rec["status"] == "ok" and rec["profile"] == "smoke"
        assert rec["git"]["commit"] and rec["torch"] and rec["device"]
        assert len(rec["data"]["file_list_sha256"]) == 64 and rec["wall_seconds"] > 0
    assert (out / "figures" / "degradation_grid.png").is_file()
    assert (out / "gallery" / "index.csv").is_file()


def test_rerun_skips_finished_stages(smoke):
    _, tmp, _ = smoke
    proc = run_all("--only", "01_data_prep 02_sgen", tmp=tmp)
    assert proc.returncode == 0
    assert "01_data_prep: up to date, skipped" in proc.stdout and "02_sgen: up to date, skipped" in proc.stdout


def test_failing_notebook_is_named(smoke, tmp_path):
    # a bad setting is refused before any notebook runs
    proc = run_all("--only", "02_sgen", "--set", "steps=0", "--results", str(tmp_path), tmp=tmp_path)
    assert proc.returncode == 2 and "--set steps=0: steps must be an integer >= 1, got 0" in proc.stderr
    # data without the partition file: 02 fails, named, with its error as the last line
    import shutil
    data = tmp_path / "nopartition" / "img_align_celeba"
    data.mkdir(parents=True)
    for src in sorted((celeba_root() / "img_align_celeba").iterdir())[:6]:
        shutil.copyfile(src, data / src.name)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHON": sys.executable}
    proc = subprocess.run(["bash", str(REPO / "run_all.sh"), "--profile", "smoke", "--data", str(data.parent),
                           "--only", "02_sgen", "--results", str(tmp_path), "--runs", str(tmp_path / "runs"),
                           "--cache", str(tmp_path / "cache")], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode != 0
    assert "notebook 02_sgen failed" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("run_all.sh: 02_sgen: CelebAError: split mode 'official' needs")


def test_bad_arguments(tmp_path):
    proc = run_all("--profile", "huge", tmp=tmp_path)
    assert proc.returncode == 2 and "unknown profile" in proc.stderr
    proc = subprocess.run(["bash", str(REPO / "run_all.sh"), "--data", str(tmp_path / "missing")],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 2 and "CelebA not found" in proc.stderr


def _not_blank(png):
    from PIL import Image
    import numpy as np
    arr = np.asarray(Image.open(png).convert("L"), dtype=float)
    return arr.shape[0] > 400 and arr.std() > 20


def test_viewer_and_rating_app_render_in_jupyterlab(smoke, tmp_path):
    """Headless Chromium opens the executed viewer notebook and the rating app in JupyterLab and the
    widgets' images are drawn (the scripts exit 3 when they are not)."""
    out, _, _ = smoke
    env = {**os.environ, "PYTHON": sys.executable}
    viewer = subprocess.run(["bash", str(REPO / "scripts" / "screenshot_viewer.sh"), "--notebook",
                             str(out / "notebooks" / "07_viewer.ipynb"), "--out", str(tmp_path / "viewer.png")],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert viewer.returncode == 0, viewer.stdout[-2000:] + viewer.stderr[-2000:]
    assert _not_blank(tmp_path / "viewer.png")
    mos_app = subprocess.run(["bash", str(REPO / "scripts" / "screenshot_mos.sh"), "--out-dir", str(tmp_path)],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert mos_app.returncode == 0, mos_app.stdout[-2000:] + mos_app.stderr[-2000:]
    for screen in ("source", "rating"):
        assert _not_blank(tmp_path / f"mos_app_{screen}_screenshot.png")
