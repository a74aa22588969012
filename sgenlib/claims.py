"""The paper's claims about PSNR / SSIM, each decided by confidence intervals on our own run.

Every model is scored on the same test images, so two models are compared by the per-image
difference (paired), and the claim "A > B" at a scale is
  * "holds"      when the 95% bootstrap CI of mean(A - B) lies above 0,
  * "reversed"   when it lies below 0,
  * "unresolved" when it contains 0.
A claim over several scales (or pairs) holds when every part holds, is contradicted when any part
is reversed, and is unresolved otherwise.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .metrics import bootstrap_ci

ABLATIONS = ["SGEN", "MEN", "AEN", "CEN"]
BASELINES = ["SRCNN", "SRResNet", "SRGAN", "RED-Net", "URDGN"]


def paired_difference(per_image: pd.DataFrame, a: str, b: str, metric: str, scale: str | None = None) -> dict:
    """Mean of metric(A) - metric(B) over the images both were scored on (one scale, or the
    per-image mean over all scales), with its 95% bootstrap CI."""
    df = per_image if scale is None else per_image[per_image.scale == scale]
    wide = df.pivot_table(index=["image_id"] + ([] if scale is None else ["scale"]), columns="model",
                          values=metric, aggfunc="mean")
    if a not in wide or b not in wide:
        return {"a": a, "b": b, "metric": metric, "scale": scale or "all", "mean": np.nan,
                "ci_low": np.nan, "ci_high": np.nan, "n": 0, "verdict": "missing"}
    d = (wide[a] - wide[b]).dropna().to_numpy()
    lo, hi = bootstrap_ci(d)
    verdict = "holds" if lo > 0 else "reversed" if hi < 0 else "unresolved"
    return {"a": a, "b": b, "metric": metric, "scale": scale or "all", "mean": float(d.mean()) if len(d) else np.nan,
            "ci_low": lo, "ci_high": hi, "n": len(d), "verdict": verdict if len(d) > 1 else "missing"}


def combine(verdicts: list[str]) -> str:
    if not verdicts or "missing" in verdicts:
        return "missing"
    if all(v == "holds" for v in verdicts):
        return "holds"
    if any(v == "reversed" for v in verdicts):
        return "contradicted"
    return "unresolved"


def check_claims(per_image: pd.DataFrame, metrics=("psnr_db", "ssim")) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary: one row per claim and metric, details: every paired comparison behind it)."""
    scales = sorted(per_image["scale"].unique(), key=lambda s: int(s.split("x")[0]))
    claims = {
        "SGEN-MSE best of Tables 1-4": [("SGEN-MSE", m) for m in ABLATIONS + BASELINES],
        "CEN > AEN > MEN": [("CEN", "AEN"), ("AEN", "MEN")],
        "every baseline below SGEN-MSE": [("SGEN-MSE", m) for m in BASELINES],
        "N=4 > N=3 > N=2 (MSE-only)": [("SGEN-MSE-N4", "SGEN-MSE"), ("SGEN-MSE", "SGEN-MSE-N2")],
    }
    summary, details = [], []
    for claim, pairs in claims.items():
        for metric in metrics:
            parts = []
            for a, b in pairs:
                per_scale = [paired_difference(per_image, a, b, metric, s) for s in scales]
                for r in per_scale:
                    details.append({"claim": claim, **r})
                parts += [r["verdict"] for r in per_scale]
            summary.append({"claim": claim, "metric": metric, "verdict": combine(parts),
                            "comparisons": len(parts), "holds": parts.count("holds"),
                            "reversed": parts.count("reversed"), "unresolved": parts.count("unresolved"),
                            "missing": parts.count("missing")})
    return pd.DataFrame(summary), pd.DataFrame(details)
