"""The stages the notebooks call: load data, train models, evaluate them, and write tables.

This module reads and writes the run folders; the tables themselves are built and written by
:mod:`sgenlib.tables` from plain frames (study calls tables, never the other way).

Folders (relative paths are taken from the checkout's root, see sgenlib.paths):
  results/<profile>/   what is published: tables/, figures/, eval/, training/, gallery/, provenance/
  runs/<profile>/      checkpoints and trained generators (ignored by git)
  cache/               decoded CelebA arrays (ignored by git)
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import data as celeba
from . import metrics, tables
from .archs import MODELS, model_label, model_spec
from .data_root import describe as describe_root
from .degrade import DEFAULT_LUMA, DegradeOptions
from .evaluate import TestSet, evaluate, skimage_agreement, time_inference, write_gallery
from .inference import load_generator
from .paper import SCALES, model_key, scale_name
from .paths import resolve_project_path
from .profiles import get_profile, training_budget
from .progress import progress as progress_of
from .fileio import atomic_write, file_sha256
from .reads import note_read
from .train import TrainConfig, device_name, train


@dataclass
class Study:
    """One profile's settings, folders and (once loaded) data."""

    profile: dict
    results: Path
    runs: Path
    cache: Path
    degrade: DegradeOptions = field(default_factory=DegradeOptions)
    seed: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    manifest: dict | None = None
    train_images: np.ndarray | None = None
    test: TestSet | None = None

    @property
    def name(self) -> str:
        return self.profile["name"]

    def out(self, *parts: str) -> Path:
        p = self.results.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


def open_study(profile: str = "smoke", results_dir: str = "results", runs_dir: str = "runs",
               cache_dir: str = "cache", color: str = "gray", luma: str = DEFAULT_LUMA,
               clip_noise: bool = False, seed: int = 0, device: str | None = None, round_8bit: bool = False,
               **overrides) -> Study:
    prof = get_profile(profile, **overrides)
    dev = device or prof["device"]
    if dev == "auto":
        dev = "cuda" if torch.cuda.is_available() else "cpu"
    return Study(prof, resolve_project_path(results_dir) / profile, resolve_project_path(runs_dir) / profile,
                 resolve_project_path(cache_dir), DegradeOptions(color=color, luma=luma, clip_noise=clip_noise,
                                                                  round_8bit=round_8bit),
                 seed, torch.device(dev))


def _load_split(study: Study, source: celeba.CelebA, split: str, on_corrupt: str) -> tuple[np.ndarray, list[str]]:
    p = study.profile
    return celeba.load_split(source, split, p["split_mode"], study.seed, p["limit"], color=study.degrade.color,
                             luma=study.degrade.luma, cache_dir=study.cache, on_corrupt=on_corrupt)


def _test_set(study: Study, images: np.ndarray, names: list[str]) -> TestSet:
    study.test = TestSet(images, [celeba.image_id(n) for n in names], study.degrade, study.seed, SCALES,
                         study.device)
    return study.test


def load_data(study: Study, data_root: str | None = None, on_corrupt: str = "skip") -> Study:
    """Open CelebA (data_root, else $CELEBA_ROOT, else the root saved by run_all.sh / lab.sh --data,
    else data/celeba: sgenlib.data_root; printed with its source), decode (or load from cache) the
    train and test splits, write the manifest."""
    print(describe_root(data_root))
    source = celeba.open_celeba(celeba.resolve_root(data_root))
    prof = study.profile
    study.train_images, train_kept = _load_split(study, source, "train", on_corrupt)
    test_images, test_kept = _load_split(study, source, "test", on_corrupt)
    splits = {**celeba.make_splits(source, prof["split_mode"], study.seed, prof["limit"]),
              "train": train_kept, "test": test_kept}
    study.manifest = celeba.manifest(source, splits, prof["split_mode"], study.seed, prof["limit"])
    study.manifest["degrade"] = study.degrade.as_dict()
    _test_set(study, test_images, test_kept)
    atomic_write(study.out("data_manifest.json"), json.dumps(study.manifest, indent=1))
    return study


def load_test_set(study: Study, data_root: str | None = None, on_corrupt: str = "skip") -> TestSet:
    """The study's test split as a TestSet (also set as study.test), without decoding the training
    split (load_data also does; for the full profiles that is ~160,000 faces) and without
    rewriting the data manifest: what the viewer needs. Same split, cache, ids, images and
    degraded inputs as load_data (a test checks this)."""
    print(describe_root(data_root))
    source = celeba.open_celeba(celeba.resolve_root(data_root))
    return _test_set(study, *_load_split(study, source, "test", on_corrupt))


def data_summary(study: Study) -> pd.DataFrame:
    m = study.manifest
    return pd.DataFrame([{"split": s, "images": m["counts"][s]} for s in ("train", "val", "test")]
                        + [{"split": "found in the folder", "images": m["n_images_found"]}])


def train_config(study: Study, model: str, **overrides) -> TrainConfig:
    """`model`'s TrainConfig in this study: TrainConfig.from_profile with the study's seed."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return TrainConfig.from_profile(study.profile, model, **{"seed": study.seed, **given})


def seed_runs(study: Study, model: str) -> list[tuple[int, Path]]:
    """(training seed, run folder) of each of the profile's `seeds` trainings of `model`: the
    first is runs/<profile>/<model> with the study's seed (the one every table uses), the others
    runs/<profile>/<model>.seed<s> with seeds s = seed + 1, ... (read by the claims only)."""
    k = int(study.profile.get("seeds", 1))
    return [(study.seed + j, study.runs / (model if j == 0 else f"{model}.seed{study.seed + j}")) for j in range(k)]


def train_models(study: Study, models: list[str], progress: bool = True, **overrides) -> pd.DataFrame:
    """Train (resume, or skip when finished) each model, `seeds` times when the profile asks for
    more than one; copy losses and summaries to results. A model whose spec starts from another
    model's trained generator (SRGAN from SRResNet: ModelSpec.warm_start) gets that model's run of
    the same seed, trained first when it is missing."""
    rows = []
    for name in models:
        for train_seed, run_dir in seed_runs(study, name):
            summary = _train_one(study, name, train_seed, run_dir, progress, overrides)
            rows.append({k: summary.get(k) for k in ("model", "steps", "batch_size", "train_seconds",
                                                      "images_per_s_steady", "params", "content_loss", "device")}
                        | {"train_seed": train_seed})
    return pd.DataFrame(rows)


def _train_one(study: Study, name: str, train_seed: int, run_dir: Path, progress: bool, overrides: dict) -> dict:
    """One training of `name` (its warm-start model's run of the same seed first, when it has one)."""
    cfg = train_config(study, name, **{**overrides, "seed": train_seed})
    source = model_spec(name, cfg.baseline_recipe).warm_start
    if source is not None and cfg.warm_start is None:
        source_dir = dict(seed_runs(study, source)).get(train_seed, study.runs / f"{source}.seed{train_seed}")
        _train_one(study, source, train_seed, source_dir, progress, {**overrides, "warm_start": None})
        cfg.warm_start = str(source_dir / "generator.pt")
    summary = train(cfg, study.train_images, run_dir, study.degrade, study.device, progress=progress,
                    data_info=_train_data_info(study))
    losses = (run_dir / "losses.csv").read_bytes()
    atomic_write(study.out("training", f"{run_dir.name}_losses.csv"), losses)
    atomic_write(study.out("training", f"{run_dir.name}_summary.json"), json.dumps(summary, indent=2))
    return summary


def _train_data_info(study: Study) -> dict:
    """The training data a run records and is keyed on (sgenlib.train.run_identity)."""
    m = study.manifest or {}
    ids = (m.get("ids") or {}).get("train") or []
    return {"root": m.get("root"), "split_mode": m.get("split_mode"), "seed": m.get("seed"),
            "train_images": len(ids), "train_names_sha256": celeba.names_sha256(ids) if ids else None,
            "train_content_sha256": m.get("train_content_sha256")}


def trained_models(study: Study) -> list[str]:
    """Models with a finished run in this profile, in the paper's order."""
    return [m for m in MODELS if (study.runs / m / "generator.pt").is_file()]


def _eval_key(study: Study, name: str, run_dir: Path | None = None) -> dict:
    """What a model's scores depend on: the test split, the degradation, the seed, the metric
    backend and (for a trained model) the generator file's content (sha256: a file swapped in with
    its old time stamp is scored afresh, and load_generator checks it against its run's record)."""
    gen = (run_dir or study.runs / name) / "generator.pt"
    return {"split_sha256": study.manifest["split_sha256"], "degrade": study.degrade.as_dict(),
            "seed": study.seed, "backend": study.profile["metric_backend"],
            "generator_sha256": file_sha256(gen) if name != "input" else None}


def evaluate_models(study: Study, models: list[str], progress: bool = True) -> pd.DataFrame:
    """Score each model (and the degraded input) on the test split; writes eval/<model>.csv and
    returns all per-image rows of `models` + 'input'. A model already scored on the same inputs
    (eval/<model>.key.json) is read back, so SGEN scored for Tables 1-2 also serves Tables 3-5.
    The further trainings of a profile with seeds > 1 are scored into eval/<model>.seed<s>.csv
    (not returned: the tables show the first training; load_eval_seeds reads them all)."""
    backend = study.profile["metric_backend"]
    frames = []
    jobs = [("input", "input", None)] + [(m, run_dir.name, run_dir) for m in models
                                          for _, run_dir in seed_runs(study, m)]
    for name, stem, run_dir in jobs:
        csv_path, key_path = study.out("eval", f"{stem}.csv"), study.out("eval", f"{stem}.key.json")
        key = _eval_key(study, name, run_dir)
        first = stem == name
        if csv_path.is_file() and key_path.is_file() and json.loads(key_path.read_text()) == key:
            if first:
                frames.append(_read_table(csv_path))
            continue
        g = None if name == "input" else load_generator(run_dir, study.device)
        df = evaluate(g, name, study.test, study.profile["eval_batch"], backend, progress)
        atomic_write(csv_path, df.to_csv(index=False))
        if backend == "torch" and first:
            agree = skimage_agreement(g, study.test)
            atomic_write(study.out("eval", f"{name}_skimage_check.json"), json.dumps(agree, indent=1))
        atomic_write(key_path, json.dumps(key, indent=1))
        if first:
            frames.append(df)
    return pd.concat(frames, ignore_index=True)


def _read_table(path: Path) -> pd.DataFrame:
    """A per-image evaluation table; noted as read (reads.note_read), so a stage that reads
    another stage's scores (05's claims read 02-04's) is keyed on them."""
    note_read(path)
    return pd.read_csv(path, dtype={"image_id": str})


def load_eval_seeds(study: Study, models: list[str]) -> pd.DataFrame:
    """Per-image rows of every training of `models` (eval/<model>.csv and eval/<model>.seed<s>.csv),
    with a train_seed column: what the claims resample when the profile has seeds > 1."""
    frames = []
    for name in models:
        for train_seed, run_dir in seed_runs(study, name):
            path = study.results / "eval" / f"{run_dir.name}.csv"
            if path.is_file():
                frames.append(_read_table(path).assign(train_seed=train_seed))
    if not frames:
        return pd.DataFrame(columns=["model", "image_id", "scale", "psnr_db", "ssim", "train_seed"])
    return pd.concat(frames, ignore_index=True)


def load_eval(study: Study, models: list[str]) -> pd.DataFrame:
    frames = []
    for name in models:
        path = study.results / "eval" / f"{name}.csv"
        if path.is_file():
            frames.append(_read_table(path))
    if not frames:
        return pd.DataFrame(columns=["model", "image_id", "scale", "psnr_db", "ssim"])
    return pd.concat(frames, ignore_index=True)


def _run_files(study: Study, model: str) -> tuple[Path, Path] | None:
    """(summary, losses.csv) of a model's run: the copies in results/<profile>/training/, else the
    run folder's own train_summary.json and losses.csv; None when it was not trained in this profile."""
    for summary, losses in ((study.results / "training" / f"{model}_summary.json",
                             study.results / "training" / f"{model}_losses.csv"),
                            (study.runs / model / "train_summary.json", study.runs / model / "losses.csv")):
        if summary.is_file():
            note_read(summary)
            if losses.is_file():
                note_read(losses)
            return summary, losses
    return None


def run_summary(study: Study, model: str) -> dict | None:
    """A model's recorded run summary (results/.../training/<model>_summary.json, else the run's
    own train_summary.json); None when it was not trained in this profile."""
    files = _run_files(study, model)
    return json.loads(files[0].read_text()) if files else None


def training_summaries(study: Study, models) -> pd.DataFrame:
    """One row per model from its run summary (run_summary): model plus tables.SUMMARY_KEYS, and
    tables.STEADY_KEY from its losses.csv (tables.steady_seconds_per_step); NaN when not trained."""
    rows = []
    for m in models:
        files = _run_files(study, m)
        summary = json.loads(files[0].read_text()) if files else {}
        losses = pd.read_csv(files[1]) if files and files[1].is_file() else None
        steady = tables.steady_seconds_per_step(losses, (summary.get("config") or {}).get("log_every", np.nan),
                                                summary.get("resumed_from_step"))
        rows.append({"model": m, **{k: summary.get(k, np.nan) for k in tables.SUMMARY_KEYS},
                     tables.STEADY_KEY: steady})
    return pd.DataFrame(rows, columns=["model", *tables.SUMMARY_KEYS, tables.STEADY_KEY])


def precision_label(study: Study, df: pd.DataFrame) -> str:
    """' (trained in bf16)' when every trained model named in the table (columns model / a / b)
    was trained in bf16 autocast (its run summary's amp_bf16), ' (trained in bf16: A, B)' when
    some were, else ''."""
    named = dict.fromkeys(str(v) for c in ("model", "a", "b") if c in df for v in df[c].dropna().unique())
    summaries = {m: run_summary(study, m) for m in named if m in MODELS}
    trained = [m for m, s in summaries.items() if s is not None]
    bf16 = [m for m in trained if summaries[m].get("amp_bf16")]
    if not bf16:
        return ""
    return " (trained in bf16)" if len(bf16) == len(trained) else f" (trained in bf16: {', '.join(bf16)})"


def trained_labels(study: Study) -> dict[str, str]:
    """model -> archs.model_label from its run summary, for the models whose label can differ from
    their name (SRGAN trained without VGG19 weights: 'SRGAN (MSE content)')."""
    labels = {}
    for m, spec in MODELS.items():
        summary = run_summary(study, m) if spec.content_loss == "vgg" else None
        if summary is not None:
            labels[m] = model_label(m, summary.get("content_loss"))
    return {m: label for m, label in labels.items() if label != m}


def budget_phrase(profile: dict) -> str:
    """'9,600 images seen, 0.03% of the paper's 32,000,000': a profile's training beside the paper's."""
    b = training_budget(profile)
    return (f"{b['images_seen']:,} images seen, {100 * b['fraction_of_paper_images']:.2g}% of the paper's "
            f"{b['paper_images_seen']:,}")


def write_table(study: Study, df: pd.DataFrame, stem: str, title: str, notes: list[str] = ()) -> Path:
    """tables/<stem>.csv and tables/<stem>.md (tables.write_table: title, the run's scale, the metric
    convention, the notes, the table). The title says when the models of the table were trained in
    bf16 (their run summaries' amp_bf16); a cell that is exactly a model name is written as that
    model's trained label (trained_labels)."""
    title = title + precision_label(study, df)
    labels = trained_labels(study)
    if labels:
        df = df.copy()
        for c in df.columns:
            if not pd.api.types.is_numeric_dtype(df[c]):
                df[c] = df[c].map(lambda v: labels.get(v, v) if isinstance(v, str) else v)
    m = study.manifest or {}
    p = study.profile
    header = [f"# {title}", "",
              f"Profile **{study.name}**" + (" (SMOKE: tiny models, a few steps; these numbers say nothing about SGEN)"
                                             if study.name == "smoke" else "")
              + f"; images train/val/test = {m.get('counts', {}).get('train')}/{m.get('counts', {}).get('val')}/"
              f"{m.get('counts', {}).get('test')} ({p['split_mode']} split); {p['steps']} steps at batch "
              f"{p['batch_size']} ({budget_phrase(p)}); width x{p['width']}; device {device_name(study.device)}.",
              "", metrics.CONVENTION.format(channel=study.degrade.color), ""]
    header += [f"- {n}" for n in notes] + ([""] if notes else [])
    return tables.write_table(study.results / "tables", df, stem, header)


def write_per_scale_tables(study: Study, table: pd.DataFrame, stem: str, split_stems: tuple[str, str] | None,
                           title: str, notes=()) -> list[Path]:
    """tables/<stem>.csv/.md (every scale, long form) and, with `split_stems`, the paper's two
    tables of three scales each in its layout (tables.paper_layout, a row per model)."""
    paths = [write_table(study, table, stem, title, list(notes))]
    if split_stems:
        for part_stem, scales in zip(split_stems, tables.paper_split()):
            wide = tables.paper_layout(table, scales)
            paths.append(write_table(study, wide, part_stem, f"{title}: scales {scales[0]} to {scales[-1]} "
                                     "(the paper's layout; ours beside 'paper')", list(notes)))
    return paths


def per_scale_stage(study: Study, models: list[str], ratings_dir, stem: str, split_stems: tuple[str, str],
                    title: str) -> tuple[pd.DataFrame, list[str]]:
    """What notebooks 03 and 04 do for their tables: train (or reuse) and score `models`, build the
    per-scale table with MOS (ours only from real ratings in `ratings_dir`) and the rows named as
    trained, write it long and in the paper's layout; returns (table, notes)."""
    train_models(study, models)
    per_image = evaluate_models(study, models)
    ratings = tables.load_ratings(ratings_dir)
    summaries = training_summaries(study, models)
    table = tables.per_scale_table(per_image, models, ratings, summaries=summaries)
    notes = tables.per_scale_notes(table, ratings, ratings_dir, summaries)
    write_per_scale_tables(study, table, stem, split_stems, title, notes)
    return table, notes


def timing_table(study: Study, models: list[str], amp: bool = False) -> pd.DataFrame:
    """Inference time of each trained model (evaluate.time_inference), by default in the precision
    the test scores are computed in (fp32, as evaluate.restore_batches); amp=True times bf16
    autocast instead. The 'precision' column says which."""
    rows = []
    for name in progress_of(models, "timing", unit="models"):
        g = load_generator(study.runs / name, study.device)
        t = time_inference(g, study.degrade.channels, batch_size=min(64, study.profile["eval_batch"]),
                           repeats=study.profile["timing_repeats"], device=study.device, amp=amp)
        rows.append({"model": name, **t, "device": device_name(study.device)})
    return pd.DataFrame(rows)


def update_gallery(study: Study, models: list[str] | None = None, progress: bool = True,
                   folder: str = "gallery", n_images: int | None = None) -> pd.DataFrame:
    """Render results/<profile>/<folder>/ (PNGs + index.csv) for the trained ones of `models` (all
    trained models when None) on the first `n_images` test faces (default: the profile's
    gallery_images). Rows of other models already in the index are kept when they show the same
    faces, so each notebook renders only its own models and the viewer still sees every model."""
    out = study.results / folder
    ids = study.test.ids[: n_images or study.profile["gallery_images"]]
    names = [m for m in (models or MODELS) if (study.runs / m / "generator.pt").is_file()]
    gens = {m: load_generator(study.runs / m, study.device) for m in names}
    old_path = out / "index.csv"
    old = pd.read_csv(old_path, dtype={"image_id": str}) if old_path.is_file() else None
    index = write_gallery(gens, study.test, ids, out, study.profile["eval_batch"], progress,
                          backend=study.profile["metric_backend"], desc=folder.replace("_", " "))
    if old is not None and len(old) and set(old["image_id"]) == set(index["image_id"]):
        kept = old[~old["model"].isin(set(index["model"]))]
        scales = {scale_name(s): i for i, s in enumerate(SCALES)}
        index = (pd.concat([index, kept], ignore_index=True)
                 .assign(_s=lambda d: d["scale"].map(scales), _m=lambda d: d["model"].map(model_key))
                 .sort_values(["_s", "_m", "image_id"], kind="stable").drop(columns=["_s", "_m"])
                 .reset_index(drop=True))
        atomic_write(old_path, index.to_csv(index=False))
    return index


def mos_rating_set(study: Study, n_per_scale: int = 0, gallery_dir: str | Path = "", data_root: str = "",
                   progress: bool = True) -> tuple[Path, int]:
    """(folder, faces per scale and model) of the restorations raters see.

    gallery_dir given: that gallery as it is. Else, with trained models: the first n_per_scale test
    faces (0 = the profile's mos_set_per_scale; 48 in the paper) at every scale for every trained
    model, written to results/<profile>/mos_set/ (large, so not committed; the data is loaded when
    needed). Else: the committed gallery. A gallery holding fewer faces than asked gives its count."""
    n = n_per_scale or study.profile["mos_set_per_scale"]
    written = study.results / "mos_set"
    if not gallery_dir and trained_models(study):
        try:
            if study.test is None:
                load_data(study, data_root)
        except (celeba.CelebAError, OSError) as e:
            # as the viewer does: without the data, rate what was already rendered
            fallback = written if (written / "index.csv").is_file() else study.results / "gallery"
            warnings.warn(f"the CelebA test split could not be loaded ({e}), so the rating set is not "
                          f"regenerated; rating the images already in {fallback}. In a notebook, set the "
                          "`data_root` parameter to your CelebA folder (or set CELEBA_ROOT before "
                          "starting JupyterLab) to regenerate it.", stacklevel=2)
            gallery_dir = fallback
        else:
            if n > len(study.test.ids):
                raise ValueError(f"n_per_scale={n} but the test split has {len(study.test.ids)} images")
            update_gallery(study, None, progress, "mos_set", n)
            return written, n
    folder = Path(gallery_dir) if gallery_dir else study.results / "gallery"
    if not (folder / "index.csv").is_file():
        raise FileNotFoundError(f"no gallery at {folder / 'index.csv'}: run notebooks 02-05 (run_all.sh) first, "
                                "or set the `data_root` parameter so the rating set can be rendered from "
                                f"the checkpoints in {study.runs}")
    held = _read_table(folder / "index.csv").groupby("scale")["image_id"].nunique().min()
    return folder, int(min(n, held))
