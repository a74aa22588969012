"""A finished study's headline numbers, read back from its results folder.

The README's Results section and a closing note are printed from here (scripts/results_summary.py),
so every number they cite is one that a committed file holds: the per-image scores in eval/, the
claims table, the run summaries in training/ and the stage records in provenance/.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .paper import N_STUDY_MODELS, paper_n_study, paper_results, sort_models
from .profiles import training_budget as run_budget
from .markdown import markdown_table


def mean_over_scales(results: str | Path) -> pd.DataFrame:
    """Per model (and the degraded input): mean PSNR / SSIM over the six scales of its per-image
    scores (eval/<model>.csv; every scale holds the same test faces), beside the paper's mean over
    its six per-scale numbers (Tables 1-4; Table 5 for N = 2, 4) and the difference."""
    results = Path(results)
    paper = paper_results().groupby("model")[["psnr_db", "ssim"]].mean()
    n_study = {N_STUDY_MODELS[int(r.n_levels)]: (r.psnr_db, r.ssim) for r in paper_n_study().itertuples()}
    rows = []
    for path in sorted((results / "eval").glob("*.csv")):
        df = pd.read_csv(path, dtype={"image_id": str})
        if not {"model", "psnr_db", "ssim"} <= set(df.columns) or df.empty or "." in path.stem:
            continue
        model = str(df["model"].iloc[0])
        row = {"model": model, "psnr_db": df["psnr_db"].mean(), "ssim": df["ssim"].mean(),
               "n_images": df["image_id"].nunique(), "paper_psnr_db": float("nan"), "paper_ssim": float("nan")}
        if model in paper.index:
            row["paper_psnr_db"], row["paper_ssim"] = paper.loc[model, "psnr_db"], paper.loc[model, "ssim"]
        elif model in n_study:
            row["paper_psnr_db"], row["paper_ssim"] = n_study[model]
        rows.append(row)
    out = pd.DataFrame(rows, columns=["model", "psnr_db", "paper_psnr_db", "ssim", "paper_ssim", "n_images"])
    out["psnr_diff_db"] = out["psnr_db"] - out["paper_psnr_db"]
    floor = out.loc[out["model"] == "input", "psnr_db"]
    out["over_input_db"] = out["psnr_db"] - (floor.iloc[0] if len(floor) else float("nan"))
    order = {m: i for i, m in enumerate(["input", *sort_models(m for m in out["model"] if m != "input")])}
    return out.sort_values("model", key=lambda s: s.map(order)).reset_index(drop=True)


def training_budget(results: str | Path) -> pd.DataFrame:
    """Per trained model, from training/<model>_summary.json: steps, batch, images seen and their
    fraction of the paper's 500,000 x 64, training seconds, steady images/s, precision, device."""
    rows = []
    for path in sorted(Path(results, "training").glob("*_summary.json")):
        s = json.loads(path.read_text())
        b = run_budget(s)
        rows.append({"model": s["model"], "steps": s["steps"], "batch_size": s["batch_size"],
                     "images_seen": b["images_seen"], "of_paper_images": b["fraction_of_paper_images"],
                     "train_seconds": s.get("train_seconds"),
                     "images_per_s": s.get("images_per_s_steady"), "precision": s.get("precision"),
                     "device": s.get("device")})
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    order = {m: i for i, m in enumerate(sort_models(df["model"]))}
    return df.sort_values("model", key=lambda s: s.map(order)).reset_index(drop=True)


def stage_times(results: str | Path) -> pd.DataFrame:
    """Per stage record (provenance/<stage>.json): status, wall seconds, commit and whether the
    checkout had uncommitted changes to tracked files, and the device."""
    rows = []
    for path in sorted(Path(results, "provenance").glob("*.json")):
        r = json.loads(path.read_text())
        git = r.get("git") or {}
        rows.append({"stage": r.get("stage", path.stem), "status": r.get("status"),
                     "wall_seconds": r.get("wall_seconds"), "commit": (git.get("commit") or "")[:10],
                     "dirty": git.get("dirty"), "device": r.get("device"), "finished_utc": r.get("finished_utc")})
    return pd.DataFrame(rows)


def claims(results: str | Path) -> pd.DataFrame:
    """The claims table (tables/claims.csv): claim, metric, verdict, difference, 95% interval, p (Holm)."""
    path = Path(results, "tables", "claims.csv")
    if not path.is_file():
        return pd.DataFrame(columns=["claim", "metric", "verdict"])
    df = pd.read_csv(path)
    keep = [c for c in ("claim", "metric", "verdict", "mean_diff", "ci_low", "ci_high", "p_holm", "paper_diff")
            if c in df.columns]
    return df[keep]


def markdown_summary(results: str | Path) -> str:
    """The four tables above in Markdown, rounded for reading (the files keep full precision)."""
    results = Path(results)
    means = mean_over_scales(results).round({"psnr_db": 2, "paper_psnr_db": 2, "psnr_diff_db": 2,
                                             "over_input_db": 2, "ssim": 4, "paper_ssim": 4})
    budget = training_budget(results)
    if not budget.empty:
        budget = budget.round({"train_seconds": 0, "images_per_s": 1}).assign(
            of_paper_images=lambda d: d["of_paper_images"].map(lambda v: f"{100 * v:.3g}%"))
    verdicts = claims(results).round({"mean_diff": 4, "ci_low": 4, "ci_high": 4, "p_holm": 4, "paper_diff": 4})
    parts = [f"### Mean over the six scales ({results.as_posix()}/eval)", markdown_table(means),
             "### Training budget (training/*_summary.json)", markdown_table(budget) if not budget.empty else "none",
             "### Claims (tables/claims.csv)", markdown_table(verdicts),
             "### Stages (provenance/*.json)", markdown_table(stage_times(results))]
    return "\n\n".join(parts) + "\n"
