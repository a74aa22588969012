"""The gallery index and the rating plan of one rater (paper, section 4.2: 48 restorations per
scale and model, 288 per model over the six scales)."""
from __future__ import annotations

import hashlib
import numbers
import os
import warnings
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ..paper import PAPER_N_PER_SCALE, REFERENCES, SCALES, model_key, parse_scale, scale_name, sort_models
from ..reads import note_read
from .storage import validate_rater_id

INDEX_COLUMNS = ["image_id", "scale", "model", "path", "psnr_db", "ssim"]


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from the parts, identical in every Python process (unlike hash())."""
    text = "\x1f".join(str(p) for p in ("sgen-mos",) + parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def scale_key(s: str) -> tuple:
    """Sort key of a scale label: the paper's scales by size, unknown labels last by name."""
    try:
        return (0,) + parse_scale(s)
    except Exception:  # noqa: BLE001 - unknown labels sort last, by name
        return (1, 0, 0, str(s))


def sort_scales(scales: Iterable[str]) -> list[str]:
    return sorted(dict.fromkeys(scales), key=scale_key)


def load_index(gallery_dir: str | os.PathLike) -> pd.DataFrame:
    """Read ``<gallery>/index.csv`` (ids, scales, models and paths as strings); noted as read
    (reads.note_read), so the stages that show a gallery (06, 07) are keyed on it."""
    gallery_dir = Path(gallery_dir)
    f = gallery_dir / "index.csv"
    if not f.exists():
        raise FileNotFoundError(f"no gallery index at {f} (the evaluation code writes it)")
    note_read(f)
    df = pd.read_csv(f, dtype={"image_id": str, "scale": str, "model": str, "path": str})
    missing = [c for c in ("image_id", "scale", "model", "path") if c not in df.columns]
    if missing:
        raise ValueError(f"{f} lacks column(s) {missing}; expected {INDEX_COLUMNS}")
    for c in ("image_id", "scale", "model", "path"):
        if df[c].isna().any():
            raise ValueError(f"{f}: column {c!r} has empty values")
        df[c] = df[c].astype(object)
    return df


def build_rating_plan(
    index: pd.DataFrame,
    rater_id: str,
    models: Sequence[str] | None = None,
    n_per_scale: int = PAPER_N_PER_SCALE,
    seed: int = 0,
) -> pd.DataFrame:
    """The restorations one rater sees, in that rater's order.

    Per scale of the gallery, ``n_per_scale`` images that every rated model restored are chosen
    (the choice depends on ``seed`` only, so all raters rate the same items, which agreement and
    paired analyses need); each is shown once per model. The order is shuffled with a seed made
    from ``seed`` and ``rater_id`` (sha256, stable across processes). The default, on a full
    gallery, is the paper's: 48 per scale x 6 scales = 288 per model.

    Returns columns: order, image_id, scale, model, path, gt_path ('' where the gallery has no
    ground truth for that image and scale).
    """
    rid = validate_rater_id(rater_id)
    if not isinstance(n_per_scale, numbers.Integral) or n_per_scale < 1:
        raise ValueError(f"n_per_scale must be a positive integer, got {n_per_scale!r}")
    idx = index.drop_duplicates(["image_id", "scale", "model"], keep="first")
    if len(idx) < len(index):
        warnings.warn(f"gallery index has {len(index) - len(idx)} duplicate rows; first ones kept")
    available = sort_models(m for m in idx["model"].unique() if m not in REFERENCES)
    if models is None:
        models = available
    else:
        models = list(dict.fromkeys(models))
        bad = [m for m in models if m in REFERENCES]
        if bad:
            raise ValueError(f"{bad} are references, not rated models")
        unknown = [m for m in models if m not in available]
        if unknown:
            raise ValueError(f"model(s) {unknown} are not in the gallery; it has {available}")
    if not models:
        raise ValueError("the gallery has no restorations to rate (only ground_truth / input rows)")

    rated = idx[idx["model"].isin(models)]
    scales = sort_scales(rated["scale"].unique())
    chosen: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    for sc in scales:
        per_image = rated[rated["scale"] == sc].groupby("image_id")["model"].nunique()
        complete = sorted(per_image.index[per_image == len(models)])
        counts[sc] = len(complete)
        if len(complete) >= n_per_scale:
            rng = np.random.default_rng(stable_seed("select", seed, sc))
            pick = rng.choice(len(complete), size=n_per_scale, replace=False)
            chosen[sc] = sorted(complete[i] for i in pick)
    short = {sc: c for sc, c in counts.items() if c < n_per_scale}
    if short:
        raise ValueError(
            f"the gallery has fewer images than asked (n_per_scale={n_per_scale}) at "
            + ", ".join(f"{sc}: {c}" for sc, c in short.items())
            + f" (images restored by all {len(models)} rated models {models}); "
            f"counts at every scale: {counts}. Lower n_per_scale or fill the gallery."
        )
    missing_paper = [scale_name(s) for s in SCALES if scale_name(s) not in scales]
    if missing_paper and len(scales) < len(SCALES):
        warnings.warn(f"the gallery lacks the paper's scale(s) {missing_paper}; plan covers {scales}")

    keys = set((i, sc) for sc, ids in chosen.items() for i in ids)
    sel = rated[[(i, sc) in keys for i, sc in zip(rated["image_id"], rated["scale"])]]
    gt = idx[idx["model"] == "ground_truth"].set_index(["image_id", "scale"])["path"]
    plan = sel[["image_id", "scale", "model", "path"]].copy()
    plan["_s"] = plan["scale"].map(scale_key)
    plan["_m"] = plan["model"].map(model_key)
    plan = plan.sort_values(["_s", "image_id", "_m"]).drop(columns=["_s", "_m"])
    plan = plan.reset_index(drop=True)
    plan["gt_path"] = [gt.get((i, sc), "") for i, sc in zip(plan["image_id"], plan["scale"])]
    if (plan["gt_path"] == "").any():
        warnings.warn("some planned images have no ground truth in the gallery; raters won't see their source")
    rng = np.random.default_rng(stable_seed("order", seed, rid))
    plan = plan.iloc[rng.permutation(len(plan))].reset_index(drop=True)
    plan.insert(0, "order", np.arange(len(plan)))
    plan.attrs.update(rater=rid, seed=seed, n_per_scale=n_per_scale, models=list(models), scales=scales)
    return plan
