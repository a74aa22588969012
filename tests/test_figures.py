"""Figures of notebooks 02-05 (sgenlib.figures.table_figures) and the short-run warning they carry."""
from __future__ import annotations

from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
from PIL import Image

from sgenlib import figures
from sgenlib.paper import SCALES, scale_name
from sgenlib.profiles import get_profile, short_run_note

matplotlib.use("Agg")


def test_short_run_note_only_for_smoke_or_few_steps():
    assert "flat gray" in short_run_note(get_profile("smoke")) and "4 training steps" in short_run_note(get_profile("smoke"))
    assert short_run_note(get_profile("gpu-quick")) == "" and short_run_note(get_profile("paper")) == ""
    assert "flat gray" in short_run_note(get_profile("gpu-quick", steps=10))


def _study(tmp_path, profile):
    results = tmp_path / "results"

    def out(*parts):
        p = results.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p
    return SimpleNamespace(profile=profile, name=profile["name"], results=results, out=out)


def _gallery(results, models):
    rows = []
    for s in SCALES:
        sc = scale_name(s)
        for m in ["ground_truth", "input", *models]:
            rel = f"{sc}/000001/{m}.png"
            (results / "gallery" / rel).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full(s, 128, np.uint8)).save(results / "gallery" / rel)
            rows.append(dict(image_id="000001", scale=sc, model=m, path=rel,
                             psnr_db=np.nan if m == "ground_truth" else 20.0,
                             ssim=np.nan if m == "ground_truth" else 0.5))
    return pd.DataFrame(rows)


def _table(models):
    rows = [dict(model=m, scale=scale_name(s), psnr_db=20.0 + k, psnr_ci_low=19.5 + k, psnr_ci_high=20.5 + k,
                 ssim=0.5, ssim_ci_low=0.45, ssim_ci_high=0.55, paper_psnr_db=25.0, paper_ssim=0.8)
            for m in models for k, s in enumerate(SCALES)]
    return pd.DataFrame(rows)


def test_table_figures_written_and_smoke_warned(tmp_path):
    models = ["SGEN", "MEN"]
    st = _study(tmp_path, get_profile("smoke"))
    gallery = _gallery(st.results, ["SGEN"])  # MEN not trained: left out of the restoration grids
    figures.plt.close("all")
    paths = figures.table_figures(st, _table(models), models, gallery, stem="ablations", label="Tables 1-2")
    assert [p.name for p in paths] == [f"ablations_{n}.png" for n in (
        "psnr_vs_scale", "ssim_vs_scale", "training_curves", "restorations_208x176", "restorations_six_scales")]
    assert all(p.is_file() and p.stat().st_size > 1000 for p in paths)
    texts = [t.get_text() for n in figures.plt.get_fignums() for t in figures.plt.figure(n).texts]
    assert sum("flat gray" in t for t in texts) == 5, texts
    grid = figures.plt.figure(figures.plt.get_fignums()[-1])
    assert [ax.get_title() for ax in grid.axes[:3]] == ["ground truth", "input", "SGEN"]

    figures.plt.close("all")
    st = _study(tmp_path / "long", get_profile("gpu-quick"))
    figures.table_figures(st, _table(models), models, _gallery(st.results, models), stem="s", label="x")
    texts = [t.get_text() for n in figures.plt.get_fignums() for t in figures.plt.figure(n).texts]
    assert not any("flat gray" in t for t in texts)
    figures.plt.close("all")


def test_viewer_says_smoke_restorations_are_flat_gray(tmp_path):
    from sgenlib import viewer
    smoke = viewer.open_viewer("smoke", tmp_path / "r", tmp_path / "runs", tmp_path / "c", str(tmp_path / "none"))
    assert "flat gray" in smoke.status.value and "Nothing to show" in smoke.status.value
    real = viewer.open_viewer("gpu-quick", tmp_path / "r", tmp_path / "runs", tmp_path / "c", str(tmp_path / "none"))
    assert "flat gray" not in real.status.value


def test_degradation_grid_has_no_empty_band_under_its_title(tmp_path):
    """The faces start right under the title: no run of blank rows longer than 3% of the height."""
    from sgenlib.evaluate import TestSet
    images = np.random.default_rng(0).integers(0, 256, (2, 1, 218, 178), dtype=np.uint8)
    path = tmp_path / "grid.png"
    figures.degradation_grid(TestSet(images, ["000001", "000002"]), n_faces=2, path=path)
    gray = np.asarray(Image.open(path).convert("L"))
    blank = (gray > 245).all(axis=1)
    longest = run = 0
    for b in blank[: len(blank) // 3]:
        run = run + 1 if b else 0
        longest = max(longest, run)
    assert longest < 0.03 * len(blank), f"{longest} blank rows of {len(blank)} under the title"
