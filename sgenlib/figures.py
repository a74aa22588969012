"""Figures: clean vs degraded faces, PSNR/SSIM against scale, training curves, restoration grids.
Each function returns a matplotlib Figure and saves it as PNG when given a path; ``note`` (e.g.
:func:`sgenlib.profiles.short_run_note`) is printed in red under the figure.
:func:`table_figures` draws the set that notebooks 02-05 show for their table."""
from __future__ import annotations

import io
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .archs import model_label
from .metrics import quantize
from .paper import SCALES, scale_name
from .profiles import short_run_note
from .progress import progress
from .fileio import atomic_write


def _save(fig, path, note: str = ""):
    if note:
        fig.text(0.5, -0.02, note, ha="center", va="top", fontsize=9, color="#b00000", wrap=True)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        fig.savefig(buf, format=Path(path).suffix.lstrip(".") or "png", dpi=110, bbox_inches="tight")
        atomic_write(path, buf.getvalue())                # a full disk names the file, leaves no half figure
    return fig


def _show(ax, img_u8):
    arr = np.asarray(img_u8)
    if arr.ndim == 3 and arr.shape[0] in (1, 3):
        arr = arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)
    ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=255)
    ax.set_xticks([]), ax.set_yticks([])


def _label(model: str, summary_path: Path) -> str:
    """archs.model_label of `model`, from the content loss its run summary records (if there is one)."""
    summary_path = Path(summary_path)
    if not summary_path.is_file():
        return model
    return model_label(model, json.loads(summary_path.read_text()).get("content_loss"))


def degradation_grid(test, n_faces: int = 3, path=None, title_suffix: str = ""):
    """Rows: faces; columns: clean and degraded at each of the six scales (true relative sizes)."""
    # rows as tall as the faces they show (about 4:3), laid out by matplotlib: no empty band under the title
    fig, axes = plt.subplots(2 * n_faces, len(test.scales), figsize=(2.0 * len(test.scales), 2.45 * 2 * n_faces),
                             squeeze=False, layout="constrained")
    for j, scale in enumerate(test.scales):
        inp, ref = test.at_scale(scale)
        for i in range(n_faces):
            _show(axes[2 * i, j], ref[i].cpu())
            _show(axes[2 * i + 1, j], quantize(inp[i]).cpu())
            if i == 0:
                axes[0, j].set_title(scale_name(scale))
        for i in range(n_faces):
            axes[2 * i, 0].set_ylabel(f"{test.ids[i]}\nclean")
            axes[2 * i + 1, 0].set_ylabel("degraded")
    fig.suptitle("Clean vs degraded (bicubic x1/4, AWGN sigma 30, nearest x4)" + title_suffix)
    return _save(fig, path)


def metric_vs_scale(table: pd.DataFrame, metric: str = "psnr_db", path=None, title: str = "",
                    with_paper: bool = True, note: str = ""):
    """Mean metric (95% CI band) against scale for every model; the paper's values dashed."""
    order = [scale_name(s) for s in SCALES]
    lo, hi = ("psnr_ci_low", "psnr_ci_high") if metric == "psnr_db" else ("ssim_ci_low", "ssim_ci_high")
    fig, ax = plt.subplots(figsize=(7, 4.2))
    palette = sns.color_palette("tab10", n_colors=max(3, table["model"].nunique()))
    for color, (model, g) in zip(palette, table.groupby("model", sort=False)):
        g = g.set_index("scale").reindex(order)
        x = np.arange(len(order))
        ax.plot(x, g[metric], "o-", color=color, label=model)
        if lo in g:
            ax.fill_between(x, g[lo], g[hi], color=color, alpha=0.15)
        paper_col = "paper_" + metric
        if with_paper and paper_col in g and g[paper_col].notna().any():
            ax.plot(x, g[paper_col], "x--", color=color, alpha=0.6)
    ax.set_xticks(range(len(order)), order)
    ax.set_xlabel("scale (H x W)")
    ax.set_ylabel("PSNR (dB)" if metric == "psnr_db" else "SSIM")
    ax.set_title(title + ("\nsolid: ours (95% CI band), dashed x: paper" if with_paper else ""))
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    return _save(fig, path, note)


def training_curves(loss_csvs: dict[str, Path], path=None, title: str = "", smooth: int = 1, note: str = ""):
    """Content (pixel) loss per step for each model, and the adversarial terms when present."""
    frames = {m: pd.read_csv(p) for m, p in loss_csvs.items() if Path(p).is_file()}
    adversarial = {m: f for m, f in frames.items() if (f["loss_d"] != 0).any()}
    n = 2 if adversarial else 1
    fig, axes = plt.subplots(1, n, figsize=(6.5 * n, 4), squeeze=False)
    # results/<profile>/training/<m>_losses.csv sits beside <m>_summary.json
    labels = {m: _label(m, Path(p).with_name(f"{m}_summary.json")) for m, p in loss_csvs.items()}
    for m, f in frames.items():
        axes[0, 0].plot(f["step"], f["content"].rolling(smooth, min_periods=1).mean(), label=labels[m])
    axes[0, 0].set(xlabel="step", ylabel="content loss (MSE on [-1, 1] unless noted)", yscale="log",
                   title=title or "training curves")
    axes[0, 0].legend(fontsize=8)
    for m, f in adversarial.items():
        axes[0, 1].plot(f["step"], f["loss_d"].rolling(smooth, min_periods=1).mean(), label=f"{labels[m]} D")
        axes[0, 1].plot(f["step"], f["adversarial"].rolling(smooth, min_periods=1).mean(), "--",
                        label=f"{labels[m]} G adv")
    if adversarial:
        axes[0, 1].set(xlabel="step", ylabel="BCE", title="adversarial terms")
        axes[0, 1].legend(fontsize=7, ncol=2)
    for ax in axes[0]:
        ax.grid(alpha=0.3)
    return _save(fig, path, note)


def restoration_grid(gallery_dir, index: pd.DataFrame, models: list[str], scale: str | None = None,
                     image_ids: list[str] | None = None, path=None, title: str = "", note: str = ""):
    """The paper's Figs. 4-7: rows are faces (one scale) or scales (one face); columns are ground
    truth, degraded input and each model's restoration."""
    from PIL import Image
    cols = ["ground_truth", "input", *models]
    if scale is not None:
        ids = image_ids or sorted(index.loc[index.scale == scale, "image_id"].unique())[:4]
        rows = [(i, scale) for i in ids]
    else:
        image_id = (image_ids or sorted(index["image_id"].unique()))[0]
        rows = [(image_id, scale_name(s)) for s in SCALES]
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(1.6 * len(cols), 1.9 * len(rows)), squeeze=False)
    lookup = index.set_index(["image_id", "scale", "model"])
    for r, (image_id, sc) in enumerate(rows):
        for c, model in enumerate(cols):
            ax = axes[r, c]
            key = (str(image_id), sc, model)
            if key in lookup.index:
                rec = lookup.loc[key]
                _show(ax, np.asarray(Image.open(Path(gallery_dir) / rec["path"])))
                if model not in ("ground_truth",) and np.isfinite(rec["psnr_db"]):
                    ax.set_xlabel(f"{rec['psnr_db']:.2f} dB / {rec['ssim']:.3f}", fontsize=7)
            else:
                ax.axis("off")
            if r == 0:   # gallery_dir = results/<profile>/gallery, run summaries in results/<profile>/training
                label = _label(model, Path(gallery_dir).parent / "training" / f"{model}_summary.json")
                ax.set_title(label.replace("_", " "), fontsize=8)
        axes[r, 0].set_ylabel(f"{image_id}\n{sc}", fontsize=7)
    fig.suptitle(title)
    return _save(fig, path, note)


def table_figures(study, table: pd.DataFrame, models: list[str], gallery: pd.DataFrame, stem: str,
                  label: str) -> list[Path]:
    """The figures of one notebook's table, saved under results/<profile>/figures/<stem>_*.png:
    PSNR and SSIM against scale (ours with CI bands, the paper dashed), the training curves, and
    restorations as in the paper's figures (one scale with several faces; one face at the six
    scales) for the `models` present in `gallery`. A smoke or very short run carries its warning
    (:func:`sgenlib.profiles.short_run_note`) under every figure. `study`: a sgenlib.study.Study."""
    note = short_run_note(study.profile)
    tag = f"[{study.name}]"
    shown = [m for m in models if m in set(gallery["model"])]
    paths = [study.out("figures", f"{stem}_{name}.png") for name in
             ("psnr_vs_scale", "ssim_vs_scale", "training_curves", "restorations_208x176",
              "restorations_six_scales")]
    losses = {m: study.results / "training" / f"{m}_losses.csv" for m in models}
    draw = [lambda: metric_vs_scale(table, "psnr_db", path=paths[0], title=f"{label}: PSNR {tag}", note=note),
            lambda: metric_vs_scale(table, "ssim", path=paths[1], title=f"{label}: SSIM {tag}", note=note),
            lambda: training_curves(losses, path=paths[2], title=f"{label}: training {tag}", note=note),
            lambda: restoration_grid(study.results / "gallery", gallery, shown, scale="208x176", path=paths[3],
                                     title=f"{label}, 208x176 {tag}", note=note),
            lambda: restoration_grid(study.results / "gallery", gallery, shown, path=paths[4],
                                     title=f"{label}, six scales {tag}", note=note)]
    for make in progress(draw, f"figures {stem}", unit="figures"):
        make()
    return paths
