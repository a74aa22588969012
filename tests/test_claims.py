"""Claims: one primary paired test per claim (mean over the six scales, paired over test images,
bootstrap interval and p-value), Holm across claims, verdicts reproduced / not reproduced /
inconclusive; training seeds in the interval when there are several; the notes of every table."""
import json

import numpy as np
import pandas as pd
import pytest

from sgenlib import claims as C
from sgenlib.mos.stats import holm
from sgenlib import study as S
from sgenlib.paper import SCALES, scale_name

SIX = [scale_name(s) for s in SCALES]
PLANTED = {"SGEN-MSE": 1.0, "SGEN": 0.3, "CEN": 0.6, "AEN": 0.4, "MEN": 0.2, "SRCNN": -1.0,
           "SRResNet": 0.1, "SRGAN": 0.0, "RED-Net": 0.1, "URDGN": -0.2,
           "SGEN-MSE-N2": 0.5, "SGEN-MSE-N4": 0.8}        # N=4 below N=3: that claim reverses


def frame(offsets: dict, n=40, seed=0, per_scale=None, seeds=(0,), seed_sd=0.0, noise_sd=0.05):
    """Per-image rows at the six scales: a shared image effect + model offset (+ per-scale offset
    per_scale[model][scale]) + noise; with several seeds each training gets its own offset."""
    rng = np.random.default_rng(seed)
    base = rng.normal(24, 1.5, (n, len(SIX)))
    rows = []
    for s in seeds:
        for model, off in offsets.items():
            shift = rng.normal(0, seed_sd)
            for si, scale in enumerate(SIX):
                extra = (per_scale or {}).get(model, {}).get(scale, 0.0)
                noise = rng.normal(0, noise_sd, n)
                for i in range(n):
                    v = base[i, si] + off + shift + extra + noise[i]
                    rows.append({"model": model, "image_id": f"{i:06d}", "scale": scale, "train_seed": s,
                                 "psnr_db": v, "ssim": 0.7 + (off + shift + extra + noise[i]) / 100})
    return pd.DataFrame(rows)


def test_bootstrap_test_interval_and_p_agree():
    rng = np.random.default_rng(1)
    for shift in (0.0, 0.02, 0.05, 0.1, 0.3):
        d = rng.normal(shift, 0.3, 80)
        r = C.bootstrap_test(d, n_boot=4000)
        assert r["ci_low"] < r["mean_diff"] < r["ci_high"] and r["n_images"] == 80 and r["n_seeds"] == 1
        assert (r["p"] < 0.05) == (r["ci_low"] > 0 or r["ci_high"] < 0)     # p inverts the interval
    # a clear effect: the interval holds the truth and p is tiny; no effect: p large
    r = C.bootstrap_test(rng.normal(0.5, 0.2, 200), n_boot=4000)
    assert r["ci_low"] < 0.5 < r["ci_high"] and r["p"] < 1e-3
    assert C.bootstrap_test(np.r_[rng.normal(0, 0.2, 100), -np.r_[rng.normal(0, 0.2, 100)]], n_boot=4000)["p"] > 0.5
    assert np.isnan(C.bootstrap_test(np.array([1.0]))["p"])


def test_holm_adjustment():
    p = [0.01, 0.04, 0.03, np.nan, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04 with m = 4: 0.02, 0.03, 0.06, 0.06 (monotone)
    assert np.allclose(holm(p), [0.03, 0.06, 0.06, np.nan, 0.02], equal_nan=True)


def test_verdicts_and_statements():
    assert C.verdict(0.3, 0.01) == "reproduced"
    assert C.verdict(-0.3, 0.01) == "not reproduced"
    assert C.verdict(0.3, 0.2) == C.verdict(-0.3, 0.06) == "inconclusive"
    assert C.verdict(0.3, np.nan) == "missing"
    assert C.combine(["reproduced", "reproduced"]) == "reproduced"
    assert C.combine(["reproduced", "inconclusive"]) == "inconclusive"
    assert C.combine(["reproduced", "not reproduced", "missing"]) == "not reproduced"
    assert C.combine(["reproduced", "missing"]) == "missing"


def test_planted_ordering_one_test_per_claim():
    claims, statements, details = C.check_claims(frame(PLANTED), n_boot=2000)
    assert len(claims) == 2 * len(C.claim_pairs()) == 26 and claims["n_images"].eq(40).all()
    got = dict(zip(zip(claims.claim, claims.metric), claims.verdict))
    assert got[("SGEN-MSE > SRCNN", "psnr_db")] == "reproduced"
    assert got[("CEN > AEN", "ssim")] == "reproduced"
    assert got[("SGEN-MSE-N4 > SGEN-MSE", "psnr_db")] == "not reproduced"
    st = dict(zip(zip(statements.statement, statements.metric), statements.verdict))
    assert st[("SGEN-MSE best of Tables 1-4", "psnr_db")] == "reproduced"
    assert st[("every baseline below SGEN-MSE", "ssim")] == "reproduced"
    assert st[("N=4 > N=3 > N=2 (MSE-only)", "psnr_db")] == "not reproduced"
    assert (claims["p_holm"] >= claims["p"]).all()
    r = claims.set_index(["claim", "metric"]).loc[("SGEN-MSE-N4 > SGEN-MSE", "psnr_db")]
    assert r["paper_diff"] == pytest.approx(24.49 - 24.28)                       # Table 5
    assert set(details.columns) >= {"claim", "metric", "scale", "mean_diff", "ci_low", "ci_high"}
    assert len(details) == 26 * 6 and "verdict" not in details                  # per scale: detail only


def test_one_reversed_scale_does_not_decide_a_claim():
    """A claim holds on the mean over the six scales even when one scale reverses (the old rule
    called it contradicted); a model scored at fewer than six scales is missing, not tested."""
    per_scale = {"CEN": {"128x96": -0.3}}                                        # CEN < AEN at one scale
    claims, _, details = C.check_claims(frame(PLANTED, per_scale=per_scale), n_boot=2000)
    row = claims.set_index(["claim", "metric"]).loc[("CEN > AEN", "psnr_db")]
    assert row["verdict"] == "reproduced" and row["mean_diff"] == pytest.approx(0.2 - 0.3 / 6, abs=0.02)
    d = details.set_index(["claim", "metric", "scale"]).loc[("CEN > AEN", "psnr_db", "128x96")]
    assert d["ci_high"] < 0                                                      # shown, not decisive
    df = frame(PLANTED)
    df = df[~((df.model == "URDGN") & (df.scale == "208x176"))]
    claims, statements, _ = C.check_claims(df, n_boot=500, details=False)
    row = claims.set_index(["claim", "metric"]).loc[("SGEN-MSE > URDGN", "psnr_db")]
    assert row["verdict"] == "missing" and np.isnan(row["p_holm"])


def test_small_effects_become_inconclusive_after_holm():
    """Effects near the noise: unadjusted p < 0.05 on some claims, but not after Holm over 26."""
    offsets = {m: 0.0 for m in PLANTED} | {"CEN": 0.06}
    claims, _, _ = C.check_claims(frame(offsets, noise_sd=0.3, n=60, seed=3), n_boot=4000, details=False)
    row = claims.set_index(["claim", "metric"]).loc[("CEN > AEN", "psnr_db")]
    assert row["p"] < 0.05 <= row["p_holm"] and row["verdict"] == "inconclusive"


def test_seeds_widen_the_interval():
    """With several trainings per model whose results vary between seeds, the interval covers
    the seeds (two-way bootstrap) and a difference that one training would call reproduced is
    inconclusive."""
    offsets = {"CEN": 0.3, "AEN": 0.0}
    many = frame(offsets, seeds=(0, 1, 2), seed_sd=0.4, n=60, seed=5)
    one = many[many.train_seed == 0]
    a = C.bootstrap_test(C.paired_matrix(one, "CEN", "AEN", "psnr_db"), 4000)
    b = C.bootstrap_test(C.paired_matrix(many, "CEN", "AEN", "psnr_db"), 4000)
    assert b["n_seeds"] == 3 and b["n_images"] == 60 and a["n_seeds"] == 1
    assert (b["ci_high"] - b["ci_low"]) > 3 * (a["ci_high"] - a["ci_low"])
    assert "seeds" in b["interval"] and "BCa" in a["interval"]


def test_claims_tables_state_training_length_and_coverage(tmp_path):
    st = S.open_study("smoke", results_dir=str(tmp_path / "r"), runs_dir=str(tmp_path / "runs"),
                      cache_dir=str(tmp_path / "c"))
    df = frame(PLANTED, n=12).drop(columns="train_seed")
    for m, g in df.groupby("model"):
        g.to_csv(st.out("eval", f"{m}.csv"), index=False)
        st.out("training", f"{m}_summary.json").write_text(json.dumps({"model": m, "steps": 1000, "batch_size": 64}))
    claims, statements, details = C.claims_tables(st, n_boot=500)
    md = (st.results / "tables" / "claims.md").read_text()
    assert "1,000 steps (batch 64) against the paper's 500,000 steps" in md
    assert "Intervals cover test images only, not training seeds" in md and "Holm" in md
    for stem in ("claims_statements", "claims_details"):
        assert "against the paper's 500,000" in (st.results / "tables" / f"{stem}.md").read_text()
    notes = C.claims_notes({"SGEN": 1000}, {"SGEN": 64}, seeds=3, n_tests=26)
    assert "test images and training seeds: 3 trainings" in notes[1]


def test_seeds_setting_in_profiles():
    assert S.get_profile("smoke")["seeds"] == 1 and S.get_profile("paper", seeds=3)["seeds"] == 3
    with pytest.raises(ValueError, match="seeds"):
        S.get_profile("smoke", seeds=0)


def test_untrained_models_are_missing_not_errors():
    """Only some models scored (notebook 05 alone): their claims are tested, the others missing."""
    df = frame({m: PLANTED[m] for m in ("SGEN-MSE", "SGEN-MSE-N2", "SGEN-MSE-N4")})
    claims, statements, details = C.check_claims(df, n_boot=500)
    by = claims.set_index(["claim", "metric"])["verdict"]
    assert by[("SGEN-MSE > SGEN-MSE-N2", "psnr_db")] == "reproduced"
    assert by[("SGEN-MSE > SRCNN", "psnr_db")] == "missing" and by[("CEN > AEN", "ssim")] == "missing"
    assert (statements.set_index(["statement", "metric"]).loc[("CEN > AEN > MEN", "psnr_db"), "verdict"]
            == "missing")
    assert C.check_claims(df.iloc[:0], n_boot=100)[0]["verdict"].eq("missing").all()


def test_short_runs_decide_no_claim(tmp_path):
    """A smoke run (always) and any run below SHORT_RUN_STEPS: every claim and statement 'not decided',
    no p-value, in the table files too; a long enough run keeps its verdicts."""
    from sgenlib.profiles import SHORT_RUN_STEPS
    assert C.undecided_reason({"name": "smoke", "steps": 10**6}) == "smoke run"
    assert C.undecided_reason({"name": "gpu-quick", "steps": 1000}, {"SGEN": 150, "CEN": 1000}) == "150 steps"
    assert C.undecided_reason({"name": "gpu-quick", "steps": SHORT_RUN_STEPS - 1}) == f"{SHORT_RUN_STEPS - 1} steps"
    assert C.undecided_reason({"name": "paper", "steps": 500_000}, {"SGEN": float("nan")}) == ""
    st = S.open_study("smoke", results_dir=str(tmp_path / "r"), runs_dir=str(tmp_path / "runs"),
                      cache_dir=str(tmp_path / "c"))
    for m, g in frame(PLANTED, n=12).drop(columns="train_seed").groupby("model"):
        g.to_csv(st.out("eval", f"{m}.csv"), index=False)
    claims, statements, _ = C.claims_tables(st, n_boot=300)
    assert claims["verdict"].eq("not decided (smoke run)").all() and claims["p_holm"].isna().all()
    assert claims["p"].isna().all() and claims["mean_diff"].notna().any()
    assert statements["verdict"].eq("not decided (smoke run)").all()
    md = (st.results / "tables" / "claims.md").read_text()
    assert "NOT DECIDED (smoke run)" in md and "| reproduced" not in md and "not reproduced |" not in md
    raw, raw_statements, _ = C.check_claims(frame(PLANTED, n=12), n_boot=300, details=False)
    kept, kept_statements = C.gate(raw, raw_statements, "")           # a run that can decide: untouched
    assert kept is raw and kept_statements is raw_statements
