"""Tables 1-5 of the paper rebuilt from our runs, each beside the paper's own numbers.

Tables 1-2 (SGEN, SGEN-MSE, MEN, AEN, CEN) and Tables 3-4 (SGEN, SGEN-MSE and the five baselines)
become one per-scale table each: for every model and scale, our mean PSNR and SSIM with 95%
bootstrap CIs over the test images (:func:`sgenlib.metrics.summarize`, through
:func:`compare_with_paper`), the paper's value and the difference (ours - paper),
then MOS: the paper's, and ours only from real ratings collected with :mod:`sgenlib.mos` (NaN when
nobody has rated). The paper's own split, three scales per table, is written beside it.

Table 5 (SGEN-MSE with N = 2, 3, 4): the mean over the six scales of PSNR / SSIM, with a 95% CI
from a bootstrap over test images of each image's mean across the six scales; measured training
and inference time; GFLOPs and parameters at the run's width and at the paper's width; ratios to
N = 3 of all of these beside the paper's.

Every builder takes plain frames (per-image metrics, ratings, run summaries, timings), so the
tables can be built and tested without a trained model; :func:`write_table` writes one as CSV and
Markdown into a folder. A model that was not trained or scored shows as rows of NaN, never as an
error. The paper's numbers come only from :mod:`sgenlib.paper`. This module reads no run folder:
:mod:`sgenlib.study` reads them and calls it (never the other way).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from . import metrics
from .archs import MODELS, model_label
from .complexity import padded_scales
from .mos import stats as mos_stats
from .paper import (N_STUDY_MODELS, PAPER_INFERENCE_S_PER_IMAGE, PAPER_N_PER_SCALE, PAPER_N_SUBJECTS, SCALES,
                    paper_n_study, paper_results, scale_name)
from .paths import resolve_project_path
from .fileio import atomic_write
from .markdown import markdown_table

FLOOR = "input"
"""The degraded network input scored as if it were a restoration: the floor every model must beat."""

PER_IMAGE_COLUMNS = ["model", "image_id", "scale", "psnr_db", "ssim"]
MOS_COLUMNS = ["mos", "mos_ci_low", "mos_ci_high", "paper_mos", "mos_diff", "mos_n_ratings", "mos_n_raters"]
PER_SCALE_COLUMNS = ["model", "scale", "psnr_db", "psnr_ci_low", "psnr_ci_high", "paper_psnr_db", "psnr_diff_db",
                     "ssim", "ssim_ci_low", "ssim_ci_high", "paper_ssim", "ssim_diff", *MOS_COLUMNS, "n_images"]
SUMMARY_KEYS = ["steps", "batch_size", "train_seconds", "images_per_s_steady", "params", "content_loss",
                "adversarial", "adv_weight", "lambda_on", "device", "amp_bf16", "optimizer"]
STEADY_KEY = "train_s_per_step_steady"
"""study.training_summaries' column computed from losses.csv: seconds per step without warm-up."""
N_STUDY_COLUMNS = [
    "n_levels", "model",
    "psnr_db", "psnr_ci_low", "psnr_ci_high", "paper_psnr_db", "psnr_diff_db",
    "ssim", "ssim_ci_low", "ssim_ci_high", "paper_ssim", "ssim_diff", "n_images",
    "train_time_ratio", "paper_train_ratio", "train_steps", "train_s_per_step", "paper_train_gpu_hours",
    "inference_ratio", "ms_per_image", "inference_precision", "images_per_s_batched",
    "width", "gflops", "gflops_ratio", "params", "gflops_w1", "gflops_w1_ratio", "params_w1",
    "padded_scales",
]

PSNR_CI_NOTE = ("PSNR/SSIM: mean over test images at each scale, 95% BCa bootstrap CI over images "
                "(sgenlib.metrics.summarize); *_diff = ours - paper.")
N_STUDY_CI_NOTE = ("PSNR/SSIM: mean over the six scales (as the paper's Table 5: its N = 3 row is the mean of "
                   "SGEN-MSE over Tables 1-2); 95% BCa bootstrap CI over test images of each image's mean across "
                   "the six scales (images scored at every scale only).")
FLOPS_NOTE = ("GFLOPs: sgenlib.complexity (torch FlopCounterMode, one multiply-add = 2 FLOPs, convolutions and "
              "matmuls only) for one image at {size}; a model whose size multiple does not divide it is counted on "
              "the reflect-padded input that archs.forward_padded feeds it ('computed_at').")


# --------------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------------
def _empty_per_image() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float if c in ("psnr_db", "ssim") else object)
                         for c in PER_IMAGE_COLUMNS})


def per_image_rows(per_image: pd.DataFrame | None, models) -> pd.DataFrame:
    """The per-image rows (model, image_id, scale, psnr_db, ssim) of `models` in `per_image`
    (None: no rows)."""
    models = list(models)
    if per_image is None or not len(per_image):
        return _empty_per_image()
    return per_image[per_image["model"].isin(models)].reset_index(drop=True)


def load_ratings(ratings_dir) -> pd.DataFrame:
    """Every MOS rating under `ratings_dir` (relative paths against the checkout, as the MOS
    notebook does); an empty frame when there are none."""
    return mos_stats.load_ratings(resolve_project_path(ratings_dir))


def our_mos(ratings: pd.DataFrame | None) -> pd.DataFrame:
    """MOS per (model, scale) from real ratings (sgenlib.mos.mos_table): model, scale, mos,
    mos_ci_low, mos_ci_high, mos_n_ratings, mos_n_raters. Empty when there are no ratings."""
    cols = ["model", "scale", "mos", "mos_ci_low", "mos_ci_high", "mos_n_ratings", "mos_n_raters"]
    if ratings is None or not len(ratings):
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("model", "scale") else float) for c in cols})
    t = mos_stats.mos_table(ratings).rename(columns={"ci_low": "mos_ci_low", "ci_high": "mos_ci_high",
                                                "n_ratings": "mos_n_ratings", "n_raters": "mos_n_raters"})
    return t[cols]


def steady_seconds_per_step(losses: pd.DataFrame, log_every: int, resumed_from: int | None = None) -> float:
    """Wall seconds per optimizer step of a run without its warm-up, from losses.csv (whose
    'seconds' is the mean per step of each logging window): the first window of the run (cuDNN
    autotuning of the six input shapes, first allocations) and the first window after its last
    resume are left out. NaN when no step is left."""
    if losses is None or not len(losses) or not log_every or log_every != log_every:
        return np.nan
    step = pd.to_numeric(losses["step"], errors="coerce")
    warm = step <= log_every
    if resumed_from is not None and resumed_from == resumed_from:
        warm |= (step > resumed_from) & (step <= resumed_from + log_every)
    kept = pd.to_numeric(losses.loc[~warm, "seconds"], errors="coerce").dropna()
    return float(kept.mean()) if len(kept) else np.nan


# --------------------------------------------------------------------------------------------
# Tables 1-4: per model and scale
# --------------------------------------------------------------------------------------------
def compare_with_paper(per_image: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """Ours (mean, 95% CI) beside the paper's PSNR / SSIM per model and scale, with the difference.
    A model or scale we did not run shows as missing (NaN)."""
    ours = metrics.summarize(per_image)
    if ours.empty:
        ours = pd.DataFrame(columns=["model", "scale", "psnr_db", "psnr_ci_low", "psnr_ci_high", "ssim",
                                     "ssim_ci_low", "ssim_ci_high", "n_images"])
    paper = paper_results().drop_duplicates(["model", "scale"])
    grid = pd.DataFrame([{"model": m, "scale": scale_name(s)} for m in models for s in SCALES])
    out = grid.merge(ours, on=["model", "scale"], how="left").merge(
        paper[["model", "scale", "psnr_db", "ssim", "mos"]].rename(
            columns={"psnr_db": "paper_psnr_db", "ssim": "paper_ssim", "mos": "paper_mos"}),
        on=["model", "scale"], how="left")
    out["psnr_diff_db"] = out["psnr_db"] - out["paper_psnr_db"]
    out["ssim_diff"] = out["ssim"] - out["paper_ssim"]
    cols = ["model", "scale", "psnr_db", "psnr_ci_low", "psnr_ci_high", "paper_psnr_db", "psnr_diff_db",
            "ssim", "ssim_ci_low", "ssim_ci_high", "paper_ssim", "ssim_diff", "paper_mos", "n_images"]
    return out[[c for c in cols if c in out.columns]]


def model_labels(summaries: pd.DataFrame | None) -> dict[str, str]:
    """model -> the name its rows carry (archs.model_label: 'SRGAN (MSE content)' when SRGAN's run
    summary records that it fell back to pixel MSE)."""
    if summaries is None or "content_loss" not in summaries:
        return {}
    return {rec["model"]: model_label(rec["model"], rec["content_loss"]) for rec in summaries.to_dict("records")}


def per_scale_table(per_image, models, ratings: pd.DataFrame | None = None, floor: bool = True,
                    summaries: pd.DataFrame | None = None) -> pd.DataFrame:
    """For each model (in the order given) and each of the six scales: ours (mean, 95% CI) beside
    the paper's PSNR and SSIM with the difference, then MOS (ours from `ratings` only; the paper's).
    `floor` appends the degraded input's own scores when `per_image` has them (paper values NaN).
    With `summaries` (study.training_summaries), rows are named by model_labels (so an SRGAN trained
    without VGG19 weights reads 'SRGAN (MSE content)'). Columns: PER_SCALE_COLUMNS."""
    models = list(models)
    wanted = models + ([FLOOR] if floor and FLOOR not in models else [])
    rows = per_image_rows(per_image, wanted)
    if floor and FLOOR not in models and (rows["model"] == FLOOR).any():
        models = models + [FLOOR]
    t = compare_with_paper(rows, models)
    t = t.merge(our_mos(ratings), on=["model", "scale"], how="left")
    t["mos_diff"] = t["mos"] - t["paper_mos"]
    for c in ("mos_n_ratings", "mos_n_raters"):
        t[c] = t[c].fillna(0).astype("int64")
    for c in PER_SCALE_COLUMNS:
        if c not in t:
            t[c] = np.nan
    t["n_images"] = t["n_images"].fillna(0).astype("int64")
    t = t[PER_SCALE_COLUMNS].reset_index(drop=True)
    labels = model_labels(summaries)
    t["model"] = t["model"].map(lambda m: labels.get(m, m))
    t.attrs["has_ratings"] = ratings is not None and len(ratings) > 0
    return t


def paper_split() -> tuple[list[str], list[str]]:
    """The scales of the paper's two tables: 128x96..160x128 (Tables 1, 3), 176x144..208x176 (2, 4)."""
    names = [scale_name(s) for s in SCALES]
    return names[:3], names[3:]


def paper_layout(table: pd.DataFrame, scales) -> pd.DataFrame:
    """The paper's layout of a per-scale table: one row per model, for each scale of `scales` the
    columns '<scale> PSNR', '<scale> PSNR paper', '<scale> SSIM', ..., '<scale> MOS paper'."""
    models = list(dict.fromkeys(table["model"]))
    t = table.set_index(["model", "scale"])
    out = pd.DataFrame({"model": models})
    for sc in scales:
        for label, ours, paper in (("PSNR", "psnr_db", "paper_psnr_db"), ("SSIM", "ssim", "paper_ssim"),
                                   ("MOS", "mos", "paper_mos")):
            for suffix, col in (("", ours), (" paper", paper)):
                out[f"{sc} {label}{suffix}"] = [t[col].get((m, sc), np.nan) for m in models]
    return out


def missing_models(table: pd.DataFrame) -> list[str]:
    """Models of a per-scale table with no score at any scale (not trained or not evaluated)."""
    scored = table.groupby("model", sort=False)["psnr_db"].apply(lambda s: s.notna().any())
    return [m for m, ok in scored.items() if not ok]


def mos_note(ratings: pd.DataFrame | None, ratings_dir) -> str:
    if ratings is None or not len(ratings):
        return (f"MOS (ours): no ratings in {ratings_dir}, so our MOS columns are empty (NaN); collect them with "
                f"notebook 06 (sgenlib.mos rating app). paper_mos: {PAPER_N_SUBJECTS} subjects, scores 1-5, "
                f"{PAPER_N_PER_SCALE} images per scale.")
    return (f"MOS (ours): {len(ratings)} ratings from {ratings['rater'].nunique()} rater(s) in {ratings_dir}; "
            f"CI: {mos_stats.CI_METHOD}. paper_mos: {PAPER_N_SUBJECTS} subjects, {PAPER_N_PER_SCALE} images per scale.")


def content_loss_notes(summaries: pd.DataFrame | None) -> list[str]:
    """For each model whose spec asks for the VGG content loss (SRGAN), which loss it actually used."""
    if summaries is None:
        return []
    notes = []
    for rec in summaries.to_dict("records"):
        m = rec["model"]
        if m not in MODELS or MODELS[m].content_loss != "vgg":
            continue
        used, adv = rec.get("content_loss"), f"{MODELS[m].adv_weight:g}"
        if used == "vgg19_54":
            notes.append(f"{m} content loss used: 'vgg19_54' (VGG19 phi_5,4 features, ImageNet weights from the "
                         f"local torch hub cache), + {adv} adversarial, as Ledig et al.")
        elif used == "mse":
            notes.append(f"{model_label(m, used)}: content loss 'mse' (no VGG19 ImageNet weights in the local torch "
                         f"hub cache; they cannot be downloaded here), so this row is SRResNet + pixel MSE + {adv} "
                         "adversarial, not the paper's SRGAN with its VGG loss.")
        else:
            notes.append(f"{m} content loss used: unknown (no run summary: not trained in this profile).")
    return notes


def _describe_optim(o: dict, adversarial: bool) -> str:
    extra = {"adam": f"betas {tuple(o.get('betas', (0.9, 0.999)))}", "sgd": f"momentum {o.get('momentum', 0)}",
             "rmsprop": f"alpha {o.get('alpha', 0.99)}"}[o["name"]]
    special = "".join(f", {k} lr {v:g}" for k, v in (o.get("lr_by_module") or {}).items())
    special += "".join(f", {k} lr x{v:g}" for k, v in (o.get("lr_mult") or {}).items())
    decay = f", D weight decay {o['d_weight_decay']:g}" if adversarial and "d_weight_decay" in o else ""
    schedule = f", lr schedule {o['lr_schedule']}" if o.get("lr_schedule") else ""
    return f"{o['name']} lr {o['lr']:g}{special}, {extra}{decay}{schedule}"


def optimizer_notes(models, summaries: pd.DataFrame | None = None) -> list[str]:
    """One note per model: the optimizer settings its run used (train_summary.json 'optimizer') and
    their source; for a model without a run, the settings it will use by default (ModelSpec.optim,
    else SGEN's Adam)."""
    used = {}
    if summaries is not None and "optimizer" in summaries:
        used = {r["model"]: r["optimizer"] for r in summaries.to_dict("records") if isinstance(r["optimizer"], dict)}
    notes = []
    for m in models:
        if m not in MODELS:
            continue
        adversarial = MODELS[m].adversarial
        if m in used:
            notes.append(f"{m} optimizer used: {_describe_optim(used[m], adversarial)} ({used[m].get('source', '')}).")
        elif MODELS[m].optim:
            o = MODELS[m].optim
            notes.append(f"{m} optimizer (default, not trained yet): {_describe_optim(o, adversarial)} "
                         f"({o['source']}).")
        else:
            notes.append(f"{m} optimizer (default, not trained yet): SGEN's Adam (TrainConfig lr, betas).")
    return notes


def per_scale_notes(table: pd.DataFrame, ratings: pd.DataFrame | None = None, ratings_dir="",
                    summaries: pd.DataFrame | None = None) -> list[str]:
    """The notes written under a per-scale table: CI method, MOS source, missing models, floor,
    and the content loss SRGAN really used. The MOS note only when `ratings` or `ratings_dir` is given."""
    notes = [PSNR_CI_NOTE]
    if ratings is not None or ratings_dir:
        notes.append(mos_note(ratings, ratings_dir))
    gone = [m for m in missing_models(table) if m != FLOOR]
    if gone:
        notes.append("Not trained or not evaluated in this profile (rows of NaN): " + ", ".join(gone) + ".")
    if FLOOR in set(table["model"]):
        notes.append("input = the degraded network input itself, scored as if it were a restoration (the floor).")
    raw = {label: m for m, label in model_labels(summaries).items()}
    models = [raw.get(m, m) for m in dict.fromkeys(table["model"]) if m != FLOOR]
    return notes + content_loss_notes(summaries) + optimizer_notes(models, summaries)


# --------------------------------------------------------------------------------------------
# complexity
# --------------------------------------------------------------------------------------------
ARCH_DEFAULTS_NOTE = (
    "Architectures (defaults; options in sgenlib.archs, README decision table): SGEN family conv_{2^m} / "
    "deconv_{2^m} = one 5x5 (transposed) conv with stride 2^m (resample='strided', the authors' code); SGEN-family "
    "discriminator = the authors' (7x7 + three 3x3 stride-2 convs, BN, GAP, linear; 1.55 M at width 1); N study: "
    "512 channels at the top for every N; SRResNet / SRGAN = Ledig's network on the LR image x[..., ::4, ::4] with "
    "two sub-pixel x2 stages; RED-Net = RED30, 64 feature maps (the paper's text); URDGN = its authors' released "
    "layout with the first of three x2 stages dropped for x4.")


def complexity_notes(size=(208, 176)) -> list[str]:
    return [FLOPS_NOTE.format(size=scale_name(size)), ARCH_DEFAULTS_NOTE,
            "params: generator parameters (params_m in millions); d_params_m: the discriminator's, in millions "
            "(adversarial models only).",
            "padded_scales: the paper's scales that archs.forward_padded reflect-pads for this model."]


# --------------------------------------------------------------------------------------------
# Table 5: influence of N
# --------------------------------------------------------------------------------------------
def _lookup(frame: pd.DataFrame | None, model: str, col: str, where: dict | None = None):
    if frame is None or not len(frame) or col not in frame:
        return np.nan
    sel = frame["model"] == model
    for k, v in (where or {}).items():
        sel &= np.isclose(frame[k].astype(float), float(v))
    vals = frame.loc[sel, col]
    return vals.iloc[0] if len(vals) else np.nan


def mean_over_scales(per_image: pd.DataFrame, model: str) -> pd.DataFrame:
    """Each test image's mean PSNR and SSIM across the six scales (images scored at all six only)."""
    g = per_image[per_image["model"] == model]
    if not len(g):
        return pd.DataFrame(columns=["psnr_db", "ssim"])
    wide = g.pivot_table(index="image_id", columns="scale", values=["psnr_db", "ssim"], aggfunc="mean")
    wide = wide.dropna()
    full = [c for c in (scale_name(s) for s in SCALES) if c in set(g["scale"])]
    return pd.DataFrame({"psnr_db": wide["psnr_db"][full].mean(axis=1), "ssim": wide["ssim"][full].mean(axis=1)})


def n_study_table(per_image, summaries: pd.DataFrame | None = None, timing: pd.DataFrame | None = None,
                  complexity: pd.DataFrame | None = None, width: float | None = None,
                  models: dict[int, str] = N_STUDY_MODELS) -> pd.DataFrame:
    """Table 5, one row per N: mean PSNR / SSIM over the six scales (95% CI, see N_STUDY_CI_NOTE)
    beside the paper's; training steps and seconds per step without warm-up (`summaries`, from
    study.training_summaries), the inference time per image at batch 1 and the precision it was timed in
    (`timing`, from study.timing_table), GFLOPs and parameters
    at `width` and at width 1.0 (`complexity`, from complexity.complexity_of_models); ratios to N = 3 of
    training time per step, inference time and GFLOPs, beside the paper's GPU-hours and their
    ratio. Missing inputs give NaN. Columns: N_STUDY_COLUMNS."""
    per_image = per_image_rows(per_image, models.values())
    paper = paper_n_study().set_index("n_levels")
    rows = []
    for n, model in models.items():
        per = mean_over_scales(per_image, model)
        row = {"n_levels": n, "model": model, "n_images": len(per)}
        for metric, lo, hi in (("psnr_db", "psnr_ci_low", "psnr_ci_high"), ("ssim", "ssim_ci_low", "ssim_ci_high")):
            row[metric] = float(per[metric].mean()) if len(per) else np.nan
            row[lo], row[hi] = metrics.bootstrap_ci(per[metric]) if len(per) else (np.nan, np.nan)
        row["paper_psnr_db"] = paper["psnr_db"].get(n, np.nan)
        row["paper_ssim"] = paper["ssim"].get(n, np.nan)
        row["paper_train_gpu_hours"] = paper["train_gpu_hours_k80"].get(n, np.nan)
        row["train_steps"] = _lookup(summaries, model, "steps")
        row["train_s_per_step"] = _lookup(summaries, model, STEADY_KEY)
        row["ms_per_image"] = _lookup(timing, model, "ms_per_image_batch1")
        row["inference_precision"] = _lookup(timing, model, "precision")
        row["images_per_s_batched"] = _lookup(timing, model, "images_per_s_batched")
        row["width"] = width if width is not None else np.nan
        if width is not None:
            row["gflops"] = _lookup(complexity, model, "gflops", {"width": width})
            row["params"] = _lookup(complexity, model, "params", {"width": width})
        row["gflops_w1"] = _lookup(complexity, model, "gflops", {"width": 1.0})
        row["params_w1"] = _lookup(complexity, model, "params", {"width": 1.0})
        row["padded_scales"] = ", ".join(padded_scales(model)) or "none"
        rows.append(row)
    t = pd.DataFrame(rows)
    for c in N_STUDY_COLUMNS:
        if c not in t:
            t[c] = np.nan
    t["psnr_diff_db"] = t["psnr_db"] - t["paper_psnr_db"]
    t["ssim_diff"] = t["ssim"] - t["paper_ssim"]
    ref = t.index[t["n_levels"] == 3]

    def ratio(values: pd.Series) -> pd.Series:
        values = pd.to_numeric(values, errors="coerce")
        base = values.loc[ref].iloc[0] if len(ref) else np.nan
        return values / base if base and np.isfinite(base) else values * np.nan

    t["train_time_ratio"] = ratio(t["train_s_per_step"])
    t["inference_ratio"] = ratio(t["ms_per_image"])
    t["gflops_ratio"] = ratio(t["gflops"])
    t["gflops_w1_ratio"] = ratio(t["gflops_w1"])
    t["paper_train_ratio"] = ratio(t["paper_train_gpu_hours"])
    return t[N_STUDY_COLUMNS]


def n_study_paper_layout(table: pd.DataFrame) -> pd.DataFrame:
    """Table 5 as the paper prints it (a row per quantity, a column per N), ours beside the paper's."""
    precision = next((p for p in table["inference_precision"] if isinstance(p, str)), "precision not recorded")
    # times are compared as ratios to N = 3 (ours and the paper's side by side); the absolute
    # figures follow, each with its own unit and hardware, never ours beside the K80's alone
    spec = [("PSNR (dB), ours", "psnr_db"), ("PSNR (dB), paper", "paper_psnr_db"),
            ("SSIM, ours", "ssim"), ("SSIM, paper", "paper_ssim"),
            ("training time / N=3, ours (s per step, warm-up excluded)", "train_time_ratio"),
            ("training time / N=3, paper (K80 GPU-hours)", "paper_train_ratio"),
            ("  ours: s per step, warm-up excluded (this workplace)", "train_s_per_step"),
            ("  paper: K80 GPU-hours, whole training", "paper_train_gpu_hours"),
            ("inference time / N=3, ours", "inference_ratio"),
            (f"  ours: ms per 208x176 image, batch 1 ({precision})", "ms_per_image"),
            ("GFLOPs at the run's width", "gflops"), ("GFLOPs / N=3", "gflops_ratio"),
            ("GFLOPs at width 1.0", "gflops_w1"), ("GFLOPs at width 1.0 / N=3", "gflops_w1_ratio"),
            ("parameters at width 1.0 (millions)", "params_w1_m")]
    out = pd.DataFrame({"quantity": [label for label, _ in spec]})
    table = table.assign(params_w1_m=pd.to_numeric(table["params_w1"], errors="coerce") / 1e6)
    for rec in table.to_dict("records"):
        out[f"N={rec['n_levels']}"] = [rec[col] for _, col in spec]
    return out


def n_study_notes(table: pd.DataFrame, timing: pd.DataFrame | None = None) -> list[str]:
    notes = [N_STUDY_CI_NOTE,
             "All three trained with MSE only (as the paper's Table 5), same steps, batch and width as the profile.",
             "Only N varies: every N keeps 8*ngf = 512 channels in x_N and in every base-encoder (the authors' top "
             "width), each resolution keeps its N = 3 width (schedule in sgenlib.archs.sgen); N = 2's top level sits at "
             "1/8 of the input instead of 1/16, so it costs more FLOPs than N = 3 (see the GFLOPs rows).",
             "Training time is compared as a ratio to N=3: ours per optimizer step (tables.steady_seconds_per_step: "
             "the mean of losses.csv's seconds per step without the first logging window of the run and of its "
             "last resume, i.e. without cuDNN autotuning and first allocations), the paper's from its K80 "
             "GPU-hours (" + ", ".join(f"N={r['n_levels']}: {r['paper_train_gpu_hours']:g} h = "
                                        f"{r['paper_train_ratio']:.2f}" for r in table.to_dict("records")
                                        if r["paper_train_gpu_hours"] == r["paper_train_gpu_hours"])
             + "). Absolute times are not comparable: other hardware, other steps.",
             "Inference: study.timing_table, ms per 208x176 image at batch 1, in "
             + ", ".join(sorted({p for p in table["inference_precision"] if isinstance(p, str)}) or ["(not timed)"])
             + (f" on {timing['device'].iloc[0]}" if timing is not None and len(timing) and "device" in timing else "")
             + f"; the paper gives {PAPER_INFERENCE_S_PER_IMAGE} s per image on a K80 for N=3 only (no ratio).",
             FLOPS_NOTE.format(size="208x176")]
    for rec in table.to_dict("records"):
        if rec["padded_scales"] not in ("none", "", None):
            n_pad = len(str(rec["padded_scales"]).split(","))
            notes.append(f"N={rec['n_levels']} ({rec['model']}) needs sides divisible by 2^(N+1); "
                         f"{n_pad} of the six scales ({rec['padded_scales']}) are reflect-padded up to the next "
                         "multiple by archs.forward_padded in training, evaluation and timing, and cropped back.")
    if table["n_images"].eq(0).any():
        gone = table.loc[table["n_images"].eq(0), "model"].tolist()
        notes.append("Not trained or not evaluated in this profile (rows of NaN): " + ", ".join(gone) + ".")
    return notes


# --------------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------------
def write_table(folder: str | os.PathLike, df: pd.DataFrame, stem: str, header: list[str]) -> Path:
    """<folder>/<stem>.csv (6 significant digits) and <folder>/<stem>.md (the Markdown lines of
    `header`, then the table); returns the CSV's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / f"{stem}.csv"
    atomic_write(csv_path, df.to_csv(index=False, float_format="%.6g"))        # a full disk names the file
    atomic_write(folder / f"{stem}.md", "\n".join(header) + "\n" + markdown_table(df) + "\n")
    return csv_path
