"""A no-reference image quality score (PIQE, from the ``pypiqe`` package) as a clearly labelled
PROXY for MOS. It is computed, not rated by people, and is never mixed with the ratings."""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..degrade import rgb_to_gray
from ..paper import model_key
from .plan import load_index, scale_key

NR_METRIC = {
    "metric": "PIQE",
    "package": "pypiqe",
    "direction": "lower is better (0 best, 100 worst)",
    "note": "no-reference PROXY for perceived quality, NOT a MOS: computed, not rated by people. "
            "PIQE (Venkatanath et al. 2015) needs no trained model and no weights.",
}


def _require_pypiqe():
    try:
        from pypiqe import piqe
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the MOS proxy needs the 'pypiqe' package (pure numpy + OpenCV, no downloads): "
            "pip install --no-deps pypiqe==1.2 (its opencv-python requirement is met by "
            "opencv-python-headless)") from e
    return piqe


def piqe_score(image: np.ndarray) -> float:
    """PIQE of one 8-bit gray (H, W) or RGB (H, W, 3) image. RGB is first converted to gray with
    the standard luma (degrade.rgb_to_gray 'standard', 0.299 R + 0.587 G + 0.114 B, as OpenCV's
    RGB2GRAY): pypiqe would apply OpenCV's BGR formula to RGB data. A uniform image scores 100
    (PIQE's definition; pypiqe divides by zero on black)."""
    piqe = _require_pypiqe()
    a = np.asarray(image)
    if a.ndim == 3:
        a = rgb_to_gray(np.clip(np.round(a[..., :3]), 0, 255).astype(np.uint8), "standard")
    if a.ndim != 2:
        raise ValueError(f"expected a gray (H, W) or RGB (H, W, 3) image, got shape {a.shape}")
    if a.max() == a.min():
        return 100.0
    return float(piqe(a)[0])


def nr_quality_scores(gallery_dir: str | os.PathLike, models: Sequence[str] | None = None) -> pd.DataFrame:
    """PIQE of every image of the gallery (all models, ground_truth and input included):
    image_id, scale, model, path, score."""
    from PIL import Image

    g = Path(gallery_dir)
    idx = load_index(g)
    if models is not None:
        idx = idx[idx["model"].isin(list(models))]
    scores = []
    for p in idx["path"]:
        with Image.open(g / p) as im:
            arr = np.asarray(im.convert("RGB") if im.mode not in ("L", "RGB") else im)
        scores.append(piqe_score(arr))
    out = idx[["image_id", "scale", "model", "path"]].copy().reset_index(drop=True)
    out["score"] = np.asarray(scores, dtype=float)
    return out


def nr_quality_table(gallery_dir: str | os.PathLike, models: Sequence[str] | None = None) -> pd.DataFrame:
    """The no-reference PROXY per (model, scale): metric, direction, model, scale, mean, ci_low,
    ci_high (95% t-interval over images), n. Not a MOS (see :data:`NR_METRIC`)."""
    from scipy import stats

    per = nr_quality_scores(gallery_dir, models)
    rows = []
    for (m, sc), grp in per.groupby(["model", "scale"], sort=False):
        x = grp["score"].to_numpy(float)
        mean = float(x.mean())
        if len(x) >= 2:
            half = float(stats.t.ppf(0.975, len(x) - 1)) * float(x.std(ddof=1)) / math.sqrt(len(x))
            lo, hi = mean - half, mean + half
        else:
            lo = hi = math.nan
        rows.append((NR_METRIC["metric"], NR_METRIC["direction"], m, sc, mean, lo, hi, len(x)))
    out = pd.DataFrame(rows, columns=["metric", "direction", "model", "scale", "mean", "ci_low", "ci_high", "n"])
    if len(out):
        out = out.assign(_m=out["model"].map(model_key), _s=out["scale"].map(scale_key))
        out = out.sort_values(["_m", "_s"]).drop(columns=["_m", "_s"]).reset_index(drop=True)
    out.attrs.update(NR_METRIC, ci_method="95% t-interval over images")
    return out


def proxy_table(*galleries: str | os.PathLike) -> pd.DataFrame:
    """:func:`nr_quality_table` of the first of `galleries` that holds an ``index.csv`` (notebook
    06 passes the gallery panel, the same faces for every model, then the rating set). When
    pypiqe is missing or no gallery exists: an empty frame whose ``attrs["message"]`` says why."""
    found = [Path(g) for g in galleries if g and (Path(g) / "index.csv").is_file()]
    try:
        if not found:
            raise FileNotFoundError("no gallery to score: none of " + ", ".join(str(g) for g in galleries)
                                    + " holds an index.csv")
        out = nr_quality_table(found[0])
        out.attrs["gallery"] = str(found[0])
        return out
    except (ImportError, FileNotFoundError) as e:
        out = pd.DataFrame(columns=["metric", "direction", "model", "scale", "mean", "ci_low", "ci_high", "n"])
        out.attrs.update(NR_METRIC, message=f"no-reference proxy not computed: {e}")
        return out
