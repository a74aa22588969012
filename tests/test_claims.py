"""Claims decided by paired bootstrap CIs, on synthetic per-image frames."""
import numpy as np
import pandas as pd

from sgenlib.claims import check_claims, combine, paired_difference


def frame(offsets: dict, n=40, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(24, 1.5, (n, 2))
    rows = []
    for model, off in offsets.items():
        for si, scale in enumerate(["128x96", "208x176"]):
            noise = rng.normal(0, 0.05, n)
            for i in range(n):
                rows.append({"model": model, "image_id": f"{i:06d}", "scale": scale,
                             "psnr_db": base[i, si] + off + noise[i], "ssim": 0.7 + off / 100 + noise[i] / 100})
    return pd.DataFrame(rows)


def test_paired_difference_verdicts():
    df = frame({"A": 0.5, "B": 0.0, "C": 0.5})
    assert paired_difference(df, "A", "B", "psnr_db", "128x96")["verdict"] == "holds"
    assert paired_difference(df, "B", "A", "psnr_db", "128x96")["verdict"] == "reversed"
    assert paired_difference(df, "A", "C", "psnr_db", "128x96")["verdict"] == "unresolved"
    assert paired_difference(df, "A", "Z", "psnr_db")["verdict"] == "missing"
    r = paired_difference(df, "A", "B", "psnr_db", "208x176")
    assert abs(r["mean"] - 0.5) < 0.05 and r["ci_low"] < 0.5 < r["ci_high"] and r["n"] == 40


def test_combine():
    assert combine(["holds", "holds"]) == "holds"
    assert combine(["holds", "reversed"]) == "contradicted"
    assert combine(["holds", "unresolved"]) == "unresolved"
    assert combine(["holds", "missing"]) == "missing"


def test_check_claims_on_planted_ordering():
    offsets = {"SGEN-MSE": 1.0, "SGEN": 0.3, "CEN": 0.6, "AEN": 0.4, "MEN": 0.2, "SRCNN": -1.0,
               "SRResNet": 0.1, "SRGAN": 0.0, "RED-Net": 0.1, "URDGN": -0.2,
               "SGEN-MSE-N2": 0.5, "SGEN-MSE-N4": 0.8}       # N=4 below N=3: contradicted
    summary, details = check_claims(frame(offsets))
    got = dict(zip(zip(summary.claim, summary.metric), summary.verdict))
    assert got[("SGEN-MSE best of Tables 1-4", "psnr_db")] == "holds"
    assert got[("CEN > AEN > MEN", "psnr_db")] == "holds"
    assert got[("every baseline below SGEN-MSE", "ssim")] == "holds"
    assert got[("N=4 > N=3 > N=2 (MSE-only)", "psnr_db")] == "contradicted"
    assert set(details.columns) >= {"claim", "a", "b", "scale", "mean", "ci_low", "ci_high", "verdict"}
