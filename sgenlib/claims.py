"""The paper's claims about PSNR / SSIM, each decided by one primary paired test on our own run.

A claim is one ordering the paper states, "A > B" (a higher PSNR, or SSIM). The paper's
statements (STATEMENTS) are conjunctions of such claims; 13 distinct claims, each tested on PSNR
and on SSIM: a family of up to 26 tests.

Primary test of a claim (one per claim and metric). Every model is scored on the same test images
with the same deterministic noise at every scale (sgenlib.evaluate), so for each test image i
    d_i = mean over the six scales of metric(A) - mean over the six scales of metric(B)
(images scored at all six scales by both models only), and the claim is tested on mean(d):
  * interval: 95% BCa bootstrap interval of mean(d) over test images (B = 10,000 resamples;
    acceleration from the jackknife). With k > 1 trainings per model (profile setting `seeds`)
    d_{s,i} is kept per training seed s (seed s of A paired with seed s of B: both saw the same
    batches and noise) and the bootstrap resamples seeds and images (two-way, crossed: the same
    test images serve every seed), bias-corrected percentile (BC) interval. With k = 1 the
    interval covers test images only, not the variation between trainings.
  * p-value: two-sided, by inverting the same bootstrap interval: the smallest level at which the
    interval excludes 0 (so p < 0.05 exactly when the 95% interval excludes 0); its resolution is
    about 2 / (B + 1).
  * Holm's step-down correction over every claim and metric tested (the family of the table).
  * verdict:
      reproduced      Holm-adjusted p < 0.05 and mean(d) > 0 (the paper's order, significant);
      not reproduced  Holm-adjusted p < 0.05 and mean(d) < 0 (the opposite order, significant);
      inconclusive    Holm-adjusted p >= 0.05 (this run cannot tell the two apart);
      missing         a model was not trained or scored at all six scales (not tested);
      not decided     a smoke run, or a run trained for fewer than SHORT_RUN_STEPS steps
                      (sgenlib.profiles): its models have not learned faces yet, so no claim is
                      decided and no p-value is shown (the mean difference and its interval stay,
                      as description).
    The paper's own effect (its mean-over-scales difference) is shown beside ours, as detail.
A statement is reproduced when all its claims are, not reproduced when any is, else inconclusive
(missing when any claim is missing and none is not reproduced). Per-scale comparisons (95% BCa
CIs, unadjusted) are detail only; they decide nothing.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .archs import MODELS
from .mos.stats import holm
from .paper import (ABLATION_MODELS, BASELINE_MODELS, N_STUDY_MODELS, PAPER_STEPS, SCALES, paper_n_study,
                    paper_results, scale_name)
from .profiles import SHORT_RUN_STEPS
from .study import load_eval_seeds, run_summary, write_table

ALPHA = 0.05
N_BOOT = 10_000
STATEMENTS: dict[str, list[tuple[str, str]]] = {
    "SGEN-MSE best of Tables 1-4": [("SGEN-MSE", m) for m in ABLATION_MODELS + BASELINE_MODELS
                                    if m != "SGEN-MSE"],
    "CEN > AEN > MEN": [("CEN", "AEN"), ("AEN", "MEN")],
    "every baseline below SGEN-MSE": [("SGEN-MSE", m) for m in BASELINE_MODELS],
    "N=4 > N=3 > N=2 (MSE-only)": [("SGEN-MSE-N4", "SGEN-MSE"), ("SGEN-MSE", "SGEN-MSE-N2")],
}
"""The paper's statements, each the conjunction of the claims 'A > B' it lists."""
CLAIM_COLUMNS = ["claim", "a", "b", "metric", "statements", "verdict", "mean_diff", "ci_low", "ci_high",
                 "p", "p_holm", "paper_diff", "ci_covers_paper_diff", "n_images", "n_seeds", "interval"]


def claim_pairs() -> list[tuple[str, str]]:
    """The distinct claims (A, B) of STATEMENTS, in order of first mention."""
    return list(dict.fromkeys(p for pairs in STATEMENTS.values() for p in pairs))


def _full_scales(per_image: pd.DataFrame) -> list[str]:
    present = set(per_image["scale"])
    return [scale_name(s) for s in SCALES if scale_name(s) in present]


def image_means(per_image: pd.DataFrame, model: str, metric: str) -> pd.Series:
    """Each (train_seed, image_id)'s mean of `metric` over the six scales, for images scored at
    every scale (train_seed 0 when the frame has no train_seed column)."""
    df = per_image[per_image["model"] == model]
    if "train_seed" not in df:
        df = df.assign(train_seed=0)
    if not len(df):
        return pd.Series(dtype=float, index=pd.MultiIndex.from_tuples([], names=["train_seed", "image_id"]))
    wide = df.pivot_table(index=["train_seed", "image_id"], columns="scale", values=metric, aggfunc="mean")
    wide = wide.reindex(columns=[scale_name(s) for s in SCALES]).dropna()
    return wide.mean(axis=1)


def paired_matrix(per_image: pd.DataFrame, a: str, b: str, metric: str) -> np.ndarray:
    """(seeds, images) matrix of d = mean-over-scales(A) - mean-over-scales(B), over the seeds
    both models have and the images every one of those trainings scored at every scale."""
    d = (image_means(per_image, a, metric) - image_means(per_image, b, metric)).dropna()
    if not len(d):
        return np.empty((0, 0))
    grid = d.unstack("image_id").dropna(axis=1)
    return grid.to_numpy(dtype=float)


def _jackknife_acceleration(v: np.ndarray) -> float:
    n = len(v)
    loo = (v.sum() - v) / (n - 1)
    u = loo.mean() - loo
    den = 6.0 * (u ** 2).sum() ** 1.5
    return float((u ** 3).sum() / den) if den > 0 else 0.0


def bootstrap_test(d: np.ndarray, n_boot: int = N_BOOT, alpha: float = ALPHA, seed: int = 0) -> dict:
    """Mean of the (seeds, images) matrix `d`, its (1 - alpha) bootstrap interval and the
    two-sided p-value of mean = 0 by inverting that interval (see the module docstring): BCa over
    images for one seed, bias-corrected two-way (seeds x images) bootstrap for several."""
    d = np.atleast_2d(np.asarray(d, dtype=float))
    k, n = d.shape
    out = {"mean_diff": float(d.mean()) if d.size else np.nan, "ci_low": np.nan, "ci_high": np.nan,
           "p": np.nan, "n_images": n, "n_seeds": k,
           "interval": "BCa, images" if k == 1 else "BC, two-way bootstrap (seeds x images)"}
    if n < 2:
        out["interval"] = "not tested"
        return out
    theta = out["mean_diff"]
    if np.all(d == d.flat[0]):
        out.update(ci_low=theta, ci_high=theta, p=1.0 if theta == 0 else 0.0)
        return out
    rng = np.random.default_rng(seed)
    boot = np.empty(n_boot)
    chunk = max(1, 4_000_000 // n)
    for start in range(0, n_boot, chunk):
        m = min(chunk, n_boot - start)
        idx = rng.integers(0, n, (m, n))
        if k == 1:
            boot[start:start + m] = d[0][idx].mean(axis=1)
        else:
            draws = rng.integers(0, k, (m, k))
            w = (draws[:, :, None] == np.arange(k)).sum(axis=1) / k     # (m, k) seed weights
            rows = w @ d                                               # (m, n): seed-resampled
            boot[start:start + m] = np.take_along_axis(rows, idx, axis=1).mean(axis=1)
    a = _jackknife_acceleration(d[0]) if k == 1 else 0.0
    frac = ((boot < theta).sum() + 0.5 * (boot == theta).sum()) / n_boot
    z0 = stats.norm.ppf(np.clip(frac, 1 / (n_boot + 1), n_boot / (n_boot + 1)))

    def level(z):                               # BCa: nominal normal quantile -> bootstrap quantile level
        return stats.norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))

    z = stats.norm.ppf(1 - alpha / 2)
    out["ci_low"] = float(np.quantile(boot, level(-z)))
    out["ci_high"] = float(np.quantile(boot, level(z)))
    # p: the level beta at which a one-sided interval's end reaches 0, i.e. level(z_beta) = q0
    q0 = ((boot < 0).sum() + 0.5 * (boot == 0).sum()) / n_boot
    w = stats.norm.ppf(np.clip(q0, 1 / (n_boot + 1), n_boot / (n_boot + 1))) - z0
    v = w / (1 + a * w) if 1 + a * w > 0 else w
    beta = stats.norm.cdf(v - z0)
    out["p"] = float(min(1.0, 2 * min(beta, 1 - beta)))
    return out


def verdict(mean_diff: float, p_holm: float, alpha: float = ALPHA) -> str:
    if not np.isfinite(p_holm):
        return "missing"
    if p_holm < alpha:
        return "reproduced" if mean_diff > 0 else "not reproduced"
    return "inconclusive"


def undecided_reason(profile: dict, steps: dict[str, int | float] | None = None) -> str:
    """Why a run cannot decide the claims ('smoke run', '150 steps'), or '' when it can: the smoke
    profile always, any run whose models trained fewer than SHORT_RUN_STEPS steps (the fewest
    steps of `steps`, the trained models' summaries, else the profile's setting)."""
    if profile.get("name") == "smoke":
        return "smoke run"
    trained = [s for s in (steps or {}).values() if s is not None and s == s]
    fewest = int(min(trained)) if trained else int(profile["steps"])
    return f"{fewest:,} steps" if fewest < SHORT_RUN_STEPS else ""


def gate(claims: pd.DataFrame, statements: pd.DataFrame, reason: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every claim and statement 'not decided (<reason>)', p and p_holm left empty, when `reason`
    (undecided_reason) is not ''; the tables unchanged otherwise."""
    if not reason:
        return claims, statements
    label = f"not decided ({reason})"
    claims = claims.assign(verdict=label, p=np.nan, p_holm=np.nan)
    counts = ["reproduced", "not reproduced", "inconclusive", "missing"]
    statements = statements.assign(verdict=label, **{k: 0 for k in counts if k in statements})
    return claims, statements


def combine(verdicts: list[str]) -> str:
    """A statement's verdict from its claims' verdicts."""
    if "not reproduced" in verdicts:
        return "not reproduced"
    if not verdicts or "missing" in verdicts:
        return "missing"
    if all(v == "reproduced" for v in verdicts):
        return "reproduced"
    return "inconclusive"


def paper_difference(a: str, b: str, metric: str) -> float:
    """The paper's mean-over-six-scales difference A - B (Tables 1-4; Table 5 for the N study)."""
    n_of = {m: n for n, m in N_STUDY_MODELS.items()}
    if a in n_of and b in n_of:
        t5 = paper_n_study().set_index("n_levels")
        if metric in t5:
            return float(t5[metric][n_of[a]] - t5[metric][n_of[b]])
    p = paper_results().drop_duplicates(["model", "scale"])
    if metric not in p:
        return np.nan
    ma, mb = (p[p["model"] == m].set_index("scale")[metric] for m in (a, b))
    both = ma.index.intersection(mb.index)
    return float((ma[both] - mb[both]).mean()) if len(both) == len(SCALES) else np.nan


def check_claims(per_image: pd.DataFrame, metrics=("psnr_db", "ssim"), n_boot: int = N_BOOT,
                 alpha: float = ALPHA, details: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(claims: one row per claim and metric, CLAIM_COLUMNS; statements: one row per statement and
    metric; details: per-scale paired differences with unadjusted 95% BCa CIs, detail only).
    `per_image` may carry a train_seed column (several trainings per model)."""
    rows = []
    for a, b in claim_pairs():
        for metric in metrics:
            r = bootstrap_test(paired_matrix(per_image, a, b, metric), n_boot, alpha)
            pd_ = paper_difference(a, b, metric)
            rows.append({"claim": f"{a} > {b}", "a": a, "b": b, "metric": metric,
                         "statements": "; ".join(s for s, pairs in STATEMENTS.items() if (a, b) in pairs),
                         **r, "paper_diff": pd_,
                         "ci_covers_paper_diff": bool(r["ci_low"] <= pd_ <= r["ci_high"])
                         if np.isfinite(pd_) and np.isfinite(r["ci_low"]) else None})
    claims = pd.DataFrame(rows)
    claims["p_holm"] = holm(claims["p"])
    claims["verdict"] = [verdict(m, p, alpha) for m, p in zip(claims["mean_diff"], claims["p_holm"])]
    claims = claims[CLAIM_COLUMNS]
    summary = []
    for statement, pairs in STATEMENTS.items():
        for metric in metrics:
            sel = claims[(claims["metric"] == metric) & claims[["a", "b"]].apply(tuple, axis=1).isin(pairs)]
            v = sel["verdict"].tolist()
            summary.append({"statement": statement, "metric": metric, "verdict": combine(v), "claims": len(v),
                            **{k: v.count(k) for k in ("reproduced", "not reproduced", "inconclusive", "missing")}})
    detail = pd.DataFrame(per_scale_details(per_image, metrics) if details else [])
    return claims, pd.DataFrame(summary), detail


def per_scale_details(per_image: pd.DataFrame, metrics=("psnr_db", "ssim")) -> list[dict]:
    """Every claim at every scale: mean paired difference over test images (seed-averaged) with its
    unadjusted 95% BCa CI (bootstrap_test, 2,000 resamples). Detail only: no verdict is taken from these."""
    out = []
    df = per_image if "train_seed" in per_image else per_image.assign(train_seed=0)
    for a, b in claim_pairs():
        for metric in metrics:
            for scale in _full_scales(df):
                at = df[df["scale"] == scale]
                wide = at.pivot_table(index="image_id", columns="model", values=metric, aggfunc="mean")
                if a not in wide or b not in wide:
                    out.append({"claim": f"{a} > {b}", "metric": metric, "scale": scale, "mean_diff": np.nan,
                                "ci_low": np.nan, "ci_high": np.nan, "n_images": 0})
                    continue
                r = bootstrap_test((wide[a] - wide[b]).dropna().to_numpy(), n_boot=2000)
                out.append({"claim": f"{a} > {b}", "metric": metric, "scale": scale, "mean_diff": r["mean_diff"],
                            "ci_low": r["ci_low"], "ci_high": r["ci_high"], "n_images": r["n_images"]})
    return out


def claims_notes(steps: dict[str, int | float], batch: dict[str, int | float], seeds: int,
                 n_tests: int, alpha: float = ALPHA) -> list[str]:
    """The notes every claims table carries: training length against the paper's, what the
    intervals cover, and how a verdict is reached. `steps` / `batch`: per model, from the run
    summaries (NaN or absent when not trained)."""
    trained = {m: s for m, s in steps.items() if s == s and s is not None}
    if trained:
        lo, hi = min(trained.values()), max(trained.values())
        span = f"{int(lo):,}" if lo == hi else f"{int(lo):,} to {int(hi):,}"
        batches = sorted({int(b) for m, b in batch.items() if m in trained and b == b and b is not None})
        length = (f"Training length: {span} steps (batch {', '.join(map(str, batches))}) against the paper's "
                  f"{PAPER_STEPS:,} steps at batch 64 ({100 * hi / PAPER_STEPS:.3g}% of them at most): a verdict is about "
                  "these models, not about fully trained ones.")
    else:
        length = f"Training length: no model of these claims was trained here (the paper: {PAPER_STEPS:,} steps)."
    cover = ("Intervals cover test images only, not training seeds: each model was trained once (profile setting "
             "seeds = 1), so the variation between trainings is not in them."
             if seeds <= 1 else
             f"Intervals cover test images and training seeds: {seeds} trainings per model (profile setting seeds), "
             "resampled with the images by a two-way bootstrap.")
    rule = (f"Each claim 'A > B' is decided by one paired test: per test image, the mean over the six scales of A "
            f"minus that of B; 95% bootstrap interval (BCa over images; BC two-way with several seeds) and a "
            f"two-sided p-value from the same bootstrap; Holm-corrected over the {n_tests} claim x metric tests of "
            f"this table. reproduced: adjusted p < {alpha} in the paper's order; not reproduced: adjusted p < "
            f"{alpha} in the opposite order; inconclusive: adjusted p >= {alpha}. Per-scale comparisons are detail "
            "only. paper_diff: the paper's own mean-over-scales difference (not part of the verdict).")
    return [length, cover, rule]


def claims_tables(study, models=None, n_boot: int = N_BOOT) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Decide the claims on a study's scores (every training of every model) and write
    tables/claims.*, claims_statements.* and claims_details.* with their notes."""
    models = list(models or MODELS)
    per_image = load_eval_seeds(study, models)
    claims, statements, details = check_claims(per_image, n_boot=n_boot)
    involved = sorted({m for pair in claim_pairs() for m in pair})
    summaries = {m: run_summary(study, m) or {} for m in involved}
    steps = {m: s.get("steps", np.nan) for m, s in summaries.items()}
    notes = claims_notes(steps, {m: s.get("batch_size", np.nan) for m, s in summaries.items()},
                         int(study.profile.get("seeds", 1)), int(claims["p"].notna().sum()))
    reason = undecided_reason(study.profile, steps)
    if reason:
        claims, statements = gate(claims, statements, reason)
        notes = [f"NOT DECIDED ({reason}): below {SHORT_RUN_STEPS} training steps, and in every smoke run, the "
                 "models have not learned faces yet (flat gray restorations), so no claim is decided and no "
                 "p-value is shown; mean_diff and its interval are description only."] + notes
    write_table(study, claims, "claims", "The paper's PSNR/SSIM claims: one paired test each, Holm-corrected", notes)
    write_table(study, statements, "claims_statements", "The paper's statements (conjunctions of the claims)", notes)
    write_table(study, details, "claims_details", "Every claim per scale (detail only: unadjusted 95% CIs)", notes)
    return claims, statements, details
