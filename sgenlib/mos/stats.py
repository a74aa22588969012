"""Statistics of the MOS study: MOS per (model, scale) with confidence intervals, inter-rater
agreement (Krippendorff's alpha, from the ``krippendorff`` package), paired Wilcoxon tests with
Holm's correction, and the paper's MOS (Tables 1-4) beside ours. No widgets here.

Choices (also stored in the ``attrs`` of the returned frames; sources in docs/protocol.md#mos):

* MOS = mean of all ratings of a (model, scale) cell, as in the paper (section 4.2).
* 95% CI: Student-t interval with raters as clusters, df = n_raters - 1, standard error
  ``sqrt(R / (R - 1) * sum_r (S_r - mos * n_r)^2) / N`` (S_r, n_r: sum and count of rater r's
  ratings, N = sum n_r). When every rater rated every image of the cell this is exactly the
  t-interval over the per-rater means. Raters are the unit of replication because one person's
  ratings are correlated; no interval with fewer than two raters.
* Paired tests: Wilcoxon signed-rank (scipy) of the reference model against each other model,
  paired on per-rater means by default (one pair per rater, over the images that rater rated
  under both models); ``pair_on="item"`` pairs single ratings on (rater, image_id, scale).
  Zero differences are dropped (Wilcoxon's original treatment); Holm correction over the
  family of tests in the call.
"""
from __future__ import annotations

import dataclasses
import math
import os
import warnings
from pathlib import Path
from typing import Sequence

import krippendorff
import numpy as np
import pandas as pd
from scipy import stats

from ..paper import PAPER_N_PER_SCALE, PAPER_N_SUBJECTS, SCALES, model_key, paper_results, sort_models
from .plan import scale_key, sort_scales
from .storage import DEFAULT_RATINGS_DIR, load_ratings

CI_METHOD = (
    "95% Student-t interval, raters as clusters (df = n_raters - 1); equals the t-interval over "
    "per-rater means when every rater rated every image of the cell; NaN with fewer than 2 raters"
)
PAIRING_METHODS = {
    "rater": "per-rater means over the (image_id, scale) items the rater rated under both models; "
    "n = raters",
    "item": "single ratings paired on (rater, image_id, scale); n = pairs (pairs from one rater are "
    "not independent, so p-values are optimistic)",
}
ALPHA_LEVELS = ("nominal", "ordinal", "interval", "ratio")
PAIRED_COLUMNS = ["reference", "model", "scale", "pair_on", "n", "mean_reference", "mean_model",
                  "mean_diff", "statistic", "p_value", "p_holm", "significant"]


def cluster_t_ci(scores: np.ndarray, raters: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): pooled mean with a t-interval using raters as clusters (:data:`CI_METHOD`)."""
    mean = float(scores.mean())
    labels, inv = np.unique(raters, return_inverse=True)
    r = len(labels)
    if r < 2:
        return mean, math.nan, math.nan
    sums = np.bincount(inv, weights=scores)
    counts = np.bincount(inv).astype(float)
    n = counts.sum()
    se = math.sqrt(r / (r - 1) * float(((sums - mean * counts) ** 2).sum())) / n
    half = float(stats.t.ppf(0.5 + level / 2, r - 1)) * se
    return mean, mean - half, mean + half


def mos_table(ratings: pd.DataFrame) -> pd.DataFrame:
    """MOS per (model, scale): model, scale, mos, ci_low, ci_high, n_ratings, n_raters.

    mos is the mean of all ratings in the cell; the 95% CI is described by :data:`CI_METHOD`."""
    cols = ["model", "scale", "mos", "ci_low", "ci_high", "n_ratings", "n_raters"]
    rows = []
    for (m, sc), g in ratings.groupby(["model", "scale"], sort=False):
        mean, lo, hi = cluster_t_ci(g["score"].to_numpy(float), g["rater"].to_numpy(str))
        rows.append((m, sc, mean, lo, hi, len(g), g["rater"].nunique()))
    out = pd.DataFrame(rows, columns=cols)
    if len(out):
        out = out.assign(_m=out["model"].map(model_key), _s=out["scale"].map(scale_key))
        out = out.sort_values(["_m", "_s"]).drop(columns=["_m", "_s"]).reset_index(drop=True)
    out["n_ratings"] = out["n_ratings"].astype("int64")
    out["n_raters"] = out["n_raters"].astype("int64")
    out.attrs["ci_method"] = CI_METHOD
    return out


def krippendorff_alpha(
    ratings: pd.DataFrame,
    level: str = "ordinal",
    unit_cols: Sequence[str] = ("image_id", "scale", "model"),
) -> float:
    """Inter-rater agreement over the rated items (units: (image_id, scale, model)); levels
    'ordinal' (default, the 1-5 scale's nature), 'interval', also 'nominal' and 'ratio'.

    Computed by the ``krippendorff`` package from the unit-by-value counts of the units rated by
    at least two raters (the pairable ones; Krippendorff 2011). NaN when alpha is undefined:
    no pairable unit, or a single value used throughout."""
    if level not in ALPHA_LEVELS:
        raise ValueError(f"level must be one of {ALPHA_LEVELS}, got {level!r}")
    if len(ratings) == 0:
        return math.nan
    counts = pd.crosstab([ratings[c] for c in unit_cols], ratings["score"])
    counts = counts[counts.sum(axis=1) >= 2]
    counts = counts.loc[:, counts.sum(axis=0) > 0]
    if len(counts) == 0 or counts.shape[1] < 2:
        return math.nan
    return float(krippendorff.alpha(value_counts=counts.to_numpy(float),
                                    value_domain=counts.columns.to_numpy(float),
                                    level_of_measurement=level))


def agreement_table(ratings: pd.DataFrame) -> pd.DataFrame:
    """Krippendorff's alpha (ordinal and interval) over all rated items, with counts."""
    cols = ["level", "alpha", "n_raters", "n_units_pairable", "n_ratings"]
    if len(ratings) == 0:
        return pd.DataFrame(columns=cols)
    per_unit = ratings.groupby(["image_id", "scale", "model"])["score"].count()
    n_pair = int((per_unit >= 2).sum())
    rows = [(lv, krippendorff_alpha(ratings, lv), ratings["rater"].nunique(), n_pair, len(ratings))
            for lv in ("ordinal", "interval")]
    out = pd.DataFrame(rows, columns=cols)
    out.attrs["note"] = "units = (image_id, scale, model); alpha needs items rated by 2+ raters"
    return out


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN stay NaN and do not count in the family)."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def paired_tests(
    ratings: pd.DataFrame,
    reference: str = "SGEN",
    pair_on: str = "rater",
    by_scale: bool = False,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Wilcoxon signed-rank tests of ``reference`` against each other rated model.

    pair_on='rater' (default): one pair per rater, the rater's mean score of each model over
    the (image_id, scale) items that rater rated under both (raters are independent; n = raters).
    pair_on='item': pairs of single ratings on (rater, image_id, scale) (more pairs, but not
    independent within a rater). by_scale=True tests each scale separately. Holm correction over
    all the tests returned. Columns: :data:`PAIRED_COLUMNS`."""
    if pair_on not in PAIRING_METHODS:
        raise ValueError(f"pair_on must be one of {list(PAIRING_METHODS)}, got {pair_on!r}")
    if len(ratings) == 0:
        out = pd.DataFrame(columns=PAIRED_COLUMNS)
        out.attrs["message"] = "no ratings yet"
        return out
    models = sort_models(ratings["model"].unique())
    if reference not in models:
        raise ValueError(f"reference model {reference!r} has no ratings; rated models: {models}")
    groups = ([(sc, ratings[ratings["scale"] == sc]) for sc in sort_scales(ratings["scale"].unique())]
              if by_scale else [("all", ratings)])
    rows = []
    for sc, data in groups:
        ref = data[data["model"] == reference].set_index(["rater", "image_id", "scale"])["score"]
        for m in models:
            if m == reference:
                continue
            oth = data[data["model"] == m].set_index(["rater", "image_id", "scale"])["score"]
            both = pd.concat([ref.rename("a"), oth.rename("b")], axis=1, join="inner")
            if pair_on == "rater" and len(both):
                both = both.groupby(level="rater").mean()
            a, b = both["a"].to_numpy(float), both["b"].to_numpy(float)
            n = len(a)
            stat = p = math.nan
            if n and np.any(a != b):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = stats.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided")
                stat, p = float(res.statistic), float(res.pvalue)
            elif n:
                stat, p = 0.0, 1.0  # every difference is zero: no evidence of a difference
            rows.append([reference, m, sc, pair_on, n, a.mean() if n else math.nan,
                         b.mean() if n else math.nan, (a - b).mean() if n else math.nan, stat, p])
    out = pd.DataFrame(rows, columns=PAIRED_COLUMNS[:-2])
    out["p_holm"] = holm(out["p_value"].to_numpy(float))
    out["significant"] = out["p_holm"] < alpha
    out.attrs.update(test="Wilcoxon signed-rank (scipy.stats.wilcoxon, zero differences dropped), "
                          "two-sided; Holm-corrected over the rows", pairing=PAIRING_METHODS[pair_on])
    return out


def paper_mos() -> pd.DataFrame:
    """The paper's MOS per (tables, model, scale), one row per table group ('1-2', '3-4')."""
    df = paper_results()
    df = df.assign(tables=df["tables"].astype(str).str.split(";")).explode("tables")
    df["_m"] = df["model"].map(model_key)
    df["_s"] = df["scale"].map(scale_key)
    df = df.sort_values(["tables", "_m", "_s"]).drop(columns=["_m", "_s"])
    return df[["tables", "model", "scale", "mos"]].rename(columns={"mos": "paper_mos"}).reset_index(drop=True)


def mos_vs_paper(ratings: pd.DataFrame) -> pd.DataFrame:
    """Tables 1-2 and 3-4: the paper's MOS beside ours per (model, scale).

    Columns: tables, model, scale, paper_mos, our_mos, our_ci_low, our_ci_high, diff (ours -
    paper), n_ratings, n_raters; ours are NaN (n 0) where nobody rated that cell."""
    paper = paper_mos()
    ours = mos_table(ratings)
    out = paper.merge(ours.rename(columns={"mos": "our_mos", "ci_low": "our_ci_low",
                                           "ci_high": "our_ci_high"}),
                      on=["model", "scale"], how="left")
    out["diff"] = out["our_mos"] - out["paper_mos"]
    out["n_ratings"] = out["n_ratings"].fillna(0).astype("int64")
    out["n_raters"] = out["n_raters"].fillna(0).astype("int64")
    out = out[["tables", "model", "scale", "paper_mos", "our_mos", "our_ci_low", "our_ci_high", "diff",
               "n_ratings", "n_raters"]]
    out.attrs.update(has_ratings=bool(len(ratings)), ci_method=CI_METHOD,
                     message="" if len(ratings) else "no ratings yet: paper's MOS only")
    return out


@dataclasses.dataclass
class MosReport:
    """Everything the notebook shows; ``has_ratings`` False means only the paper's MOS."""

    ratings_dir: Path
    ratings: pd.DataFrame
    has_ratings: bool
    message: str
    n_raters: int
    mos: pd.DataFrame
    agreement: pd.DataFrame
    paired: pd.DataFrame
    vs_paper: pd.DataFrame

    def summary(self) -> str:
        if not self.has_ratings:
            return self.message
        per = self.ratings.groupby("rater").size()
        return (f"{len(self.ratings)} ratings from {self.n_raters} rater(s) in {self.ratings_dir} "
                f"(per rater: min {per.min()}, max {per.max()}); paper: {PAPER_N_SUBJECTS} subjects, "
                f"{PAPER_N_PER_SCALE * len(SCALES)} restorations per model.")


def analyze(ratings_dir: str | os.PathLike = DEFAULT_RATINGS_DIR, reference: str = "SGEN",
            pair_on: str = "rater") -> MosReport:
    """Load the ratings and run every analysis; with no ratings, says so and keeps the paper's MOS."""
    d = Path(ratings_dir)
    r = load_ratings(d)
    has = len(r) > 0
    msg = (f"ratings loaded from {d}" if has else
           f"No ratings yet in {d}: the tables show the paper's MOS only (our columns are empty). "
           "Collect ratings with the rating app (sgenlib.mos.app.RatingApp).")
    if has and reference in set(r["model"]):
        paired = paired_tests(r, reference=reference, pair_on=pair_on)
    else:
        paired = pd.DataFrame(columns=PAIRED_COLUMNS)
        paired.attrs["message"] = "no ratings yet" if not has else f"reference {reference!r} not rated"
    return MosReport(ratings_dir=d, ratings=r, has_ratings=has, message=msg,
                     n_raters=int(r["rater"].nunique()) if has else 0, mos=mos_table(r),
                     agreement=agreement_table(r), paired=paired, vs_paper=mos_vs_paper(r))
