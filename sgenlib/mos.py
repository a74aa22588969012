"""Mean Opinion Score (MOS) study of the paper, as a kit for real human raters.

The paper (section 4.2): 18 subjects, each first shown the source (ground-truth) images, then
rated restorations from 1 (bad) to 5 (excellent); 288 restorations per model over the six
scales (48 per scale); MOS per model at each scale (Tables 1-4).

This module never invents ratings. It provides

* the rating plan of one rater (:func:`build_rating_plan`): which restorations, in which order;
* crash-safe storage of ratings, one CSV per rater (:func:`append_rating`, :func:`load_ratings`);
* a resumable rating session (:class:`RatingSession`) and its JupyterLab front end
  (:func:`rating_app`, :class:`RatingApp`);
* the analysis: :func:`mos_table`, :func:`krippendorff_alpha`, :func:`agreement_table`,
  :func:`paired_tests`, :func:`mos_vs_paper`, gathered by :func:`analyze`, written by
  :func:`write_tables`;
* a no-reference image quality score (PIQE, from the ``pypiqe`` package) as a clearly labelled
  PROXY for MOS (:func:`nr_quality_table`). It is not a MOS and is never mixed with the ratings.

Gallery format (written by the evaluation code): ``<gallery>/index.csv`` with columns
image_id, scale ('128x96'), model ('ground_truth', 'input' or a model name), path (PNG path
relative to the gallery), psnr_db, ssim.

Statistical choices (also stored in the ``attrs`` of the returned frames):

* MOS = mean of all ratings of a (model, scale) cell, as in the paper.
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

import csv
import dataclasses
import hashlib
import html
import io
import math
import numbers
import os
import re
import time as _time
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from sgenlib.paper import ABLATION_MODELS, SCALES, SOTA_MODELS, paper_results, parse_scale, scale_name

RATING_COLUMNS = ["rater", "image_id", "scale", "model", "score", "time"]
INDEX_COLUMNS = ["image_id", "scale", "model", "path", "psnr_db", "ssim"]
NOT_RATED = ("ground_truth", "input")
SCORE_LABELS = {1: "bad", 2: "poor", 3: "fair", 4: "good", 5: "excellent"}
DEFAULT_RATINGS_DIR = Path("results/mos/ratings")
PAPER_N_SUBJECTS = 18
PAPER_N_PER_SCALE = 48

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

_RATER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_RESERVED_NAMES = {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(1, 10)} | {
    f"lpt{i}" for i in range(1, 10)
}
_PAPER_MODEL_ORDER = list(dict.fromkeys(ABLATION_MODELS + SOTA_MODELS))


class RatingFileWarning(UserWarning):
    """A rating file had a line that could not be read (e.g. truncated by a crash); it was skipped."""


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------
def _stable_seed(*parts: object) -> int:
    """A 64-bit seed from the parts, identical in every Python process (unlike hash())."""
    text = "\x1f".join(str(p) for p in ("sgen-mos",) + parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def _scale_key(s: str) -> tuple:
    try:
        return (0,) + parse_scale(s)
    except Exception:  # noqa: BLE001 - unknown labels sort last, by name
        return (1, 0, 0, str(s))


def _model_key(m: str) -> tuple:
    if m in NOT_RATED:
        return (0, NOT_RATED.index(m), "")
    if m in _PAPER_MODEL_ORDER:
        return (1, _PAPER_MODEL_ORDER.index(m), "")
    return (2, 0, str(m))


def sort_models(models: Iterable[str]) -> list[str]:
    """ground_truth, input, then the paper's models in table order, then others by name."""
    return sorted(dict.fromkeys(models), key=_model_key)


def sort_scales(scales: Iterable[str]) -> list[str]:
    return sorted(dict.fromkeys(scales), key=_scale_key)


def validate_rater_id(rater_id: object) -> str:
    """The rater id, stripped, if it is a safe file name; ValueError otherwise."""
    if not isinstance(rater_id, str):
        raise ValueError(f"rater id must be a string, got {type(rater_id).__name__}")
    rid = rater_id.strip()
    if not _RATER_RE.match(rid) or rid.lower().split(".")[0] in _RESERVED_NAMES:
        raise ValueError(
            f"invalid rater id {rater_id!r}: use 1-64 characters, letters, digits, '_', '-' or '.', "
            "starting with a letter or digit (it becomes the rating file's name)"
        )
    return rid


def validate_score(score: object) -> int:
    """The score as int if it is an integer 1..5; ValueError otherwise."""
    if isinstance(score, (bool, np.bool_)) or not isinstance(score, numbers.Integral):
        raise ValueError(f"score must be an integer from 1 to 5, got {score!r} ({type(score).__name__})")
    s = int(score)
    if not 1 <= s <= 5:
        raise ValueError(f"score must be an integer from 1 (bad) to 5 (excellent), got {s}")
    return s


def _empty_ratings() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in RATING_COLUMNS})
    df["score"] = df["score"].astype("int64")
    return df


# --------------------------------------------------------------------------------------------
# gallery and rating plan
# --------------------------------------------------------------------------------------------
def load_index(gallery_dir: str | os.PathLike) -> pd.DataFrame:
    """Read ``<gallery>/index.csv`` (ids, scales, models and paths as strings)."""
    gallery_dir = Path(gallery_dir)
    f = gallery_dir / "index.csv"
    if not f.exists():
        raise FileNotFoundError(f"no gallery index at {f} (the evaluation code writes it)")
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
    available = sort_models(m for m in idx["model"].unique() if m not in NOT_RATED)
    if models is None:
        models = available
    else:
        models = list(dict.fromkeys(models))
        bad = [m for m in models if m in NOT_RATED]
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
            rng = np.random.default_rng(_stable_seed("select", seed, sc))
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
    plan["_s"] = plan["scale"].map(_scale_key)
    plan["_m"] = plan["model"].map(_model_key)
    plan = plan.sort_values(["_s", "image_id", "_m"]).drop(columns=["_s", "_m"])
    plan = plan.reset_index(drop=True)
    plan["gt_path"] = [gt.get((i, sc), "") for i, sc in zip(plan["image_id"], plan["scale"])]
    if (plan["gt_path"] == "").any():
        warnings.warn("some planned images have no ground truth in the gallery; raters won't see their source")
    rng = np.random.default_rng(_stable_seed("order", seed, rid))
    plan = plan.iloc[rng.permutation(len(plan))].reset_index(drop=True)
    plan.insert(0, "order", np.arange(len(plan)))
    plan.attrs.update(rater=rid, seed=seed, n_per_scale=n_per_scale, models=list(models), scales=scales)
    return plan


# --------------------------------------------------------------------------------------------
# storage
# --------------------------------------------------------------------------------------------
def rating_file(ratings_dir: str | os.PathLike, rater_id: str) -> Path:
    return Path(ratings_dir) / f"{validate_rater_id(rater_id)}.csv"


def _csv_line(values: Sequence[object]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


def append_rating(
    ratings_dir: str | os.PathLike,
    rater_id: str,
    image_id: str,
    scale: str,
    model: str,
    score: int,
    when: datetime | None = None,
) -> dict:
    """Append one rating to ``<ratings_dir>/<rater>.csv`` atomically and durably.

    The line (with the header when the file is new) goes out in one ``os.write`` on an O_APPEND
    descriptor under an exclusive lock, then is fsynced. If the file's last line was cut by an
    earlier crash, a newline is written first so that the broken line stays alone (and is
    skipped, with a warning, by :func:`load_ratings`).
    """
    rid = validate_rater_id(rater_id)
    s = validate_score(score)
    when = when or datetime.now(timezone.utc)
    if when.tzinfo is None:
        raise ValueError("rating time must be timezone-aware (UTC)")
    stamp = when.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    row = {"rater": rid, "image_id": str(image_id), "scale": str(scale), "model": str(model),
           "score": s, "time": stamp}
    d = Path(ratings_dir)
    new_dir = not d.exists()
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{rid}.csv"
    line = _csv_line([row[c] for c in RATING_COLUMNS]).encode("utf-8")
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - not POSIX
            pass
        size = os.fstat(fd).st_size
        if size == 0:
            payload = _csv_line(RATING_COLUMNS).encode("utf-8") + line
        else:
            last = os.pread(fd, 1, size - 1)
            payload = line if last == b"\n" else b"\n" + line
        written = os.write(fd, payload)
        if written != len(payload):  # pragma: no cover - disk full and the like
            raise OSError(f"short write to {path}: {written} of {len(payload)} bytes")
        os.fsync(fd)
    finally:
        os.close(fd)
    if new_dir or size == 0:
        try:  # make the new directory entry durable too
            dfd = os.open(d, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:  # pragma: no cover - platforms without directory fsync
            pass
    return row


def _parse_line(fields: list[str]) -> dict | None:
    if len(fields) != len(RATING_COLUMNS):
        return None
    row = dict(zip(RATING_COLUMNS, fields))
    if not _RATER_RE.match(row["rater"]) or not row["image_id"] or not row["scale"] or not row["model"]:
        return None
    if not re.fullmatch(r"[1-5]", row["score"]):
        return None
    try:
        t = datetime.fromisoformat(row["time"])
    except ValueError:
        return None
    if t.tzinfo is None:
        return None
    row["score"] = int(row["score"])
    return row


def read_rating_file(path: str | os.PathLike) -> pd.DataFrame:
    """One rater's file; unreadable lines (e.g. a last line cut by a crash) are skipped with a
    :class:`RatingFileWarning`."""
    path = Path(path)
    raw = path.read_bytes().decode("utf-8", errors="replace")
    if not raw:
        return _empty_ratings()
    lines = raw.split("\n")
    ends_clean = lines[-1] == ""
    if ends_clean:
        lines = lines[:-1]
    if not lines or lines[0].strip() != ",".join(RATING_COLUMNS):
        warnings.warn(f"{path}: header is not {','.join(RATING_COLUMNS)}; file skipped", RatingFileWarning)
        return _empty_ratings()
    rows = []
    for no, text in enumerate(lines[1:], start=2):
        if text.strip() == "":
            continue
        row = _parse_line(next(csv.reader([text])))
        if row is None:
            where = "truncated last line" if (no == len(lines) and not ends_clean) else "unreadable line"
            warnings.warn(f"{path}:{no}: {where} skipped: {text[:80]!r}", RatingFileWarning)
            continue
        rows.append(row)
    if not rows:
        return _empty_ratings()
    df = pd.DataFrame(rows, columns=RATING_COLUMNS)
    for c in ("rater", "image_id", "scale", "model", "time"):
        df[c] = df[c].astype(object)
    df["score"] = df["score"].astype("int64")
    if (df["rater"] != path.stem).any():
        warnings.warn(f"{path}: some rows name another rater than {path.stem!r}", RatingFileWarning)
    return df


def load_ratings(ratings_dir: str | os.PathLike = DEFAULT_RATINGS_DIR) -> pd.DataFrame:
    """All ratings under ``ratings_dir`` (``*.csv``, one per rater), columns
    rater, image_id, scale, model, score, time. An empty frame with those columns when there are
    none (or the folder does not exist). If a rater rated the same item twice, the last rating is
    kept (with a warning)."""
    d = Path(ratings_dir)
    frames = [read_rating_file(f) for f in sorted(d.glob("*.csv"))] if d.is_dir() else []
    frames = [f for f in frames if len(f)]
    if not frames:
        return _empty_ratings()
    df = pd.concat(frames, ignore_index=True)
    key = ["rater", "image_id", "scale", "model"]
    dup = df.duplicated(key, keep="last")
    if dup.any():
        warnings.warn(f"{int(dup.sum())} repeated rating(s) of the same item by the same rater; "
                      "the last one of each is kept", RatingFileWarning)
        df = df[~dup].reset_index(drop=True)
    return df


# --------------------------------------------------------------------------------------------
# rating session (no widgets)
# --------------------------------------------------------------------------------------------
class RatingSession:
    """One rater's pass through the plan, resumable: items already in the rater's file are
    skipped, so a new session after an interruption continues at the next unrated item."""

    def __init__(
        self,
        gallery_dir: str | os.PathLike,
        rater_id: str,
        ratings_dir: str | os.PathLike = DEFAULT_RATINGS_DIR,
        n_per_scale: int = PAPER_N_PER_SCALE,
        models: Sequence[str] | None = None,
        seed: int = 0,
    ):
        self.rater_id = validate_rater_id(rater_id)
        self.gallery_dir = Path(gallery_dir)
        self.ratings_dir = Path(ratings_dir)
        self.index = load_index(self.gallery_dir)
        self.plan = build_rating_plan(self.index, self.rater_id, models=models,
                                      n_per_scale=n_per_scale, seed=seed)
        self.file = rating_file(self.ratings_dir, self.rater_id)
        done_keys: set[tuple[str, str, str]] = set()
        if self.file.exists():
            prev = read_rating_file(self.file)
            done_keys = set(zip(prev["image_id"], prev["scale"], prev["model"]))
        keys = list(zip(self.plan["image_id"], self.plan["scale"], self.plan["model"]))
        self._pending = [i for i, k in enumerate(keys) if k not in done_keys]
        self._cursor = 0
        self.n_total = len(self.plan)
        self.n_done_at_start = self.n_total - len(self._pending)

    @property
    def n_done(self) -> int:
        return self.n_total - (len(self._pending) - self._cursor)

    @property
    def done(self) -> bool:
        return self._cursor >= len(self._pending)

    @property
    def resumed(self) -> bool:
        """True when this session continues an earlier one (some items were already rated)."""
        return self.n_done_at_start > 0

    @property
    def progress(self) -> tuple[int, int]:
        """(rated so far, total in plan)."""
        return self.n_done, self.n_total

    @property
    def progress_text(self) -> str:
        return f"{self.n_done} / {self.n_total}"

    def next_item(self) -> dict | None:
        """The item to rate now (order, image_id, scale, model, path, gt_path), or None when done.
        It does not advance; :meth:`rate` does."""
        if self.done:
            return None
        return self.plan.iloc[self._pending[self._cursor]].to_dict()

    def rate(self, score: int) -> dict:
        """Store the score for the current item (durably) and move to the next one."""
        item = self.next_item()
        if item is None:
            raise RuntimeError(f"rater {self.rater_id!r} has rated every item of the plan")
        row = append_rating(self.ratings_dir, self.rater_id, item["image_id"], item["scale"],
                            item["model"], score)
        self._cursor += 1
        return row

    def source_images(self) -> pd.DataFrame:
        """The ground-truth images of the plan (image_id, scale, gt_path), each once, by scale."""
        src = self.plan[["image_id", "scale", "gt_path"]].drop_duplicates(["image_id", "scale"])
        src = src[src["gt_path"] != ""]
        src = src.assign(_s=src["scale"].map(_scale_key)).sort_values(["_s", "image_id"])
        return src.drop(columns="_s").reset_index(drop=True)

    def image_bytes(self, rel_path: str) -> bytes:
        return (self.gallery_dir / rel_path).read_bytes()


# --------------------------------------------------------------------------------------------
# JupyterLab front end
# --------------------------------------------------------------------------------------------
def _image_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG header."""
    if png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) >= 24:
        return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    return 0, 0


def _widgets():
    import ipywidgets

    return ipywidgets


def _make_app_class():
    w = _widgets()

    class RatingApp(w.VBox):
        """The rating study in a notebook: id -> source images -> blind rating -> finish.

        Screens: ``self.screen`` is 'login', 'source', 'rating' or 'finish'. Everything a person
        does maps to a method (:meth:`start`, :meth:`next_page`, :meth:`prev_page`,
        :meth:`begin_rating`, :meth:`rate`) and to a button that calls it. The model's name is
        never displayed.
        """

        def __init__(self, gallery_dir, ratings_dir=DEFAULT_RATINGS_DIR, n_per_scale=PAPER_N_PER_SCALE,
                     models=None, seed=0, page_size=24, display_scale=2, min_view_s=0.5):
            super().__init__()
            self.gallery_dir = Path(gallery_dir)
            self.ratings_dir = Path(ratings_dir)
            self.n_per_scale = n_per_scale
            self.models = models
            self.seed = seed
            self.page_size = max(1, int(page_size))
            self.display_scale = display_scale
            self.min_view_s = float(min_view_s)
            self.session: RatingSession | None = None
            self.page = 0
            self._shown_at = 0.0

            self.title = w.HTML("<h3>Face image quality study</h3>")
            # login
            self.rater_text = w.Text(description="Your id:", placeholder="e.g. rater01")
            self.start_button = w.Button(description="Start", button_style="primary")
            self.login_message = w.HTML(
                "Enter your rater id (letters, digits, '_', '-', '.') and press Start. "
                "With the same id you can stop at any time and continue later.")
            self.start_button.on_click(lambda _b: self.start())
            self.login_box = w.VBox([self.login_message, w.HBox([self.rater_text, self.start_button])])
            # source images
            self.source_message = w.HTML()
            self.source_grid = w.GridBox(layout=w.Layout(grid_template_columns="repeat(6, auto)",
                                                         grid_gap="6px"))
            self.prev_button = w.Button(description="< previous page")
            self.next_button = w.Button(description="next page >")
            self.page_label = w.Label()
            self.begin_button = w.Button(description="start rating", button_style="success")
            self.prev_button.on_click(lambda _b: self.prev_page())
            self.next_button.on_click(lambda _b: self.next_page())
            self.begin_button.on_click(lambda _b: self.begin_rating())
            self.source_box = w.VBox([
                self.source_message, self.source_grid,
                w.HBox([self.prev_button, self.page_label, self.next_button]), self.begin_button])
            # rating
            self.progress_label = w.HTML()
            self.resume_label = w.HTML()
            self.image = w.Image(format="png")
            self.score_buttons = []
            for s, lab in SCORE_LABELS.items():
                b = w.Button(description=f"{s} {lab}", layout=w.Layout(width="110px"))
                b.on_click(lambda _b, s=s: self.rate(s))
                self.score_buttons.append(b)
            self.rating_message = w.HTML()
            self.rating_box = w.VBox([
                self.resume_label, self.progress_label,
                w.HTML("How good is the quality of this face image? 1 = bad ... 5 = excellent."),
                self.image, w.HBox(self.score_buttons), self.rating_message])
            # finish
            self.finish_label = w.HTML()
            self.finish_box = w.VBox([self.finish_label])
            self._set_screen("login")

        # ---- screens
        def _set_screen(self, name: str) -> None:
            self.screen = name
            box = {"login": self.login_box, "source": self.source_box, "rating": self.rating_box,
                   "finish": self.finish_box}[name]
            self.children = [self.title, box]

        @property
        def n_pages(self) -> int:
            if self.session is None:
                return 0
            return max(1, math.ceil(len(self.session.source_images()) / self.page_size))

        def start(self, rater_id: str | None = None) -> bool:
            """Open the session of the id typed (or given); False with a message on error."""
            if rater_id is not None:
                self.rater_text.value = rater_id
            try:
                self.session = RatingSession(self.gallery_dir, self.rater_text.value, self.ratings_dir,
                                             n_per_scale=self.n_per_scale, models=self.models,
                                             seed=self.seed)
            except (ValueError, FileNotFoundError) as e:
                self.login_message.value = f"<span style='color:#b00'>{html.escape(str(e))}</span>"
                return False
            s = self.session
            if s.done:
                self._show_finish(already=True)
                return True
            intro = ("Before rating, look at these source images: they show what the faces look "
                     "like at full quality. ")
            if s.resumed:
                intro = (f"Welcome back, {html.escape(s.rater_id)}: you have already rated "
                         f"{s.n_done} of {s.n_total} images; you will continue with the next one. "
                         + intro)
            self.source_message.value = intro + f"({len(s.source_images())} source images)"
            self.show_source_page(0)
            self._set_screen("source")
            return True

        def show_source_page(self, page: int) -> None:
            src = self.session.source_images()
            self.page = min(max(0, int(page)), self.n_pages - 1)
            part = src.iloc[self.page * self.page_size:(self.page + 1) * self.page_size]
            cells = []
            for p, sc in zip(part["gt_path"], part["scale"]):
                png = self.session.image_bytes(p)
                cells.append(w.VBox([w.Image(value=png, format="png"), w.Label(sc)]))
            self.source_grid.children = cells
            self.page_label.value = f"page {self.page + 1} / {self.n_pages}"
            self.prev_button.disabled = self.page == 0
            self.next_button.disabled = self.page >= self.n_pages - 1

        def next_page(self) -> None:
            self.show_source_page(self.page + 1)

        def prev_page(self) -> None:
            self.show_source_page(self.page - 1)

        def begin_rating(self) -> None:
            s = self.session
            self.resume_label.value = (
                f"<i>Continuing where you stopped: {s.n_done_at_start} of {s.n_total} already rated.</i>"
                if s.resumed else "")
            self._set_screen("rating")
            self._show_current()

        def _show_current(self) -> None:
            s = self.session
            item = s.next_item()
            if item is None:
                self._show_finish()
                return
            png = s.image_bytes(item["path"])
            wd, ht = _image_size(png)
            self.image.value = png
            if wd and ht:
                self.image.width = str(int(wd * self.display_scale))
                self.image.height = str(int(ht * self.display_scale))
            self.progress_label.value = f"<b>{s.n_done + 1} / {s.n_total}</b>"
            for b in self.score_buttons:
                b.disabled = False
            self._shown_at = _time.monotonic()

        def rate(self, score: int) -> bool:
            """Score the image on screen; False (and a message) if ignored."""
            if self.screen != "rating" or self.session is None or self.session.done:
                return False
            if _time.monotonic() - self._shown_at < self.min_view_s:
                self.rating_message.value = "Please look at the image before rating it."
                return False
            for b in self.score_buttons:
                b.disabled = True
            try:
                self.session.rate(score)
            except Exception as e:  # noqa: BLE001 - show storage errors, keep the item
                self.rating_message.value = f"<span style='color:#b00'>not saved: {html.escape(str(e))}</span>"
                for b in self.score_buttons:
                    b.disabled = False
                return False
            self.rating_message.value = ""
            self._show_current()
            return True

        def _show_finish(self, already: bool = False) -> None:
            s = self.session
            head = ("You have already rated every image of this study." if already
                    else "Done: every image is rated.")
            self.finish_label.value = (f"<h4>Thank you, {html.escape(s.rater_id)}!</h4>{head} "
                                       f"{s.n_total} ratings are saved.")
            self._set_screen("finish")

        def displayed_text(self) -> str:
            """All text the app currently shows (for checks such as blindness)."""
            from .widgets import widget_text
            return "\n".join(widget_text(self))

    return RatingApp


RatingApp = _make_app_class()


def rating_app(
    gallery_dir: str | os.PathLike,
    ratings_dir: str | os.PathLike = DEFAULT_RATINGS_DIR,
    n_per_scale: int = PAPER_N_PER_SCALE,
    models: Sequence[str] | None = None,
    seed: int = 0,
    page_size: int = 24,
    display_scale: float = 2,
    min_view_s: float = 0.5,
):
    """The rating app (an ipywidgets VBox; display it in JupyterLab). ``min_view_s``: clicks
    sooner than this after an image appears are ignored (guards double clicks)."""
    return RatingApp(gallery_dir, ratings_dir=ratings_dir, n_per_scale=n_per_scale, models=models, seed=seed,
                     page_size=page_size, display_scale=display_scale, min_view_s=min_view_s)


# --------------------------------------------------------------------------------------------
# analysis
# --------------------------------------------------------------------------------------------
def _cluster_t_ci(scores: np.ndarray, raters: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): pooled mean with a t-interval using raters as clusters."""
    from scipy import stats

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
        mean, lo, hi = _cluster_t_ci(g["score"].to_numpy(float), g["rater"].to_numpy(str))
        rows.append((m, sc, mean, lo, hi, len(g), g["rater"].nunique()))
    out = pd.DataFrame(rows, columns=cols)
    if len(out):
        out = out.assign(_m=out["model"].map(_model_key), _s=out["scale"].map(_scale_key))
        out = out.sort_values(["_m", "_s"]).drop(columns=["_m", "_s"]).reset_index(drop=True)
    out["n_ratings"] = out["n_ratings"].astype("int64")
    out["n_raters"] = out["n_raters"].astype("int64")
    out.attrs["ci_method"] = CI_METHOD
    return out


def _delta2(values: np.ndarray, n_c: np.ndarray, level: str) -> np.ndarray:
    v = values.astype(float)
    if level == "nominal":
        return 1.0 - np.eye(len(v))
    if level == "interval":
        return (v[:, None] - v[None, :]) ** 2
    if level == "ratio":
        s = v[:, None] + v[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(s == 0, 0.0, (v[:, None] - v[None, :]) / s)
        return d**2
    if level == "ordinal":
        cs = np.cumsum(n_c)
        lo = np.minimum.outer(np.arange(len(v)), np.arange(len(v)))
        hi = np.maximum.outer(np.arange(len(v)), np.arange(len(v)))
        between = cs[hi] - cs[lo] + n_c[lo]  # sum of n_g for g from lo to hi
        return (between - (n_c[:, None] + n_c[None, :]) / 2.0) ** 2
    raise ValueError(f"level must be 'nominal', 'ordinal', 'interval' or 'ratio', got {level!r}")


def krippendorff_alpha_from_units(units: Sequence[Sequence[float]], level: str = "ordinal") -> float:
    """Krippendorff's alpha from the values each unit received (one list per unit, any number
    of coders; missing values simply absent). Units with fewer than two values are not pairable
    and are ignored. Computed from the coincidence matrix (Krippendorff 2011):
    alpha = 1 - (n - 1) * sum(o_ck d2_ck) / sum(n_c n_k d2_ck). NaN when it is undefined (fewer
    than two pairable values, or a single value used throughout)."""
    units = [np.asarray([x for x in u if x is not None and not (isinstance(x, float) and math.isnan(x))],
                        dtype=float) for u in units]
    units = [u for u in units if len(u) >= 2]
    if not units:
        return math.nan
    values = np.unique(np.concatenate(units))
    k = len(values)
    o = np.zeros((k, k))
    for u in units:
        c = np.bincount(np.searchsorted(values, u), minlength=k).astype(float)
        o += (np.outer(c, c) - np.diag(c)) / (len(u) - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    d2 = _delta2(values, n_c, level)
    expected = float((np.outer(n_c, n_c) * d2).sum())
    if expected == 0:
        return math.nan
    return 1.0 - (n - 1) * float((o * d2).sum()) / expected


def krippendorff_alpha(
    ratings: pd.DataFrame,
    level: str = "ordinal",
    unit_cols: Sequence[str] = ("image_id", "scale", "model"),
) -> float:
    """Inter-rater agreement over the rated items (units: (image_id, scale, model)); levels
    'ordinal' (default, the 1-5 scale's nature), 'interval', also 'nominal' and 'ratio'."""
    if level not in ("nominal", "ordinal", "interval", "ratio"):
        raise ValueError(f"level must be 'nominal', 'ordinal', 'interval' or 'ratio', got {level!r}")
    if len(ratings) == 0:
        return math.nan
    units = [g.to_numpy(float) for _, g in ratings.groupby(list(unit_cols), sort=False)["score"]]
    return krippendorff_alpha_from_units(units, level)


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
    all the tests returned. Columns: reference, model, scale, pair_on, n, mean_reference,
    mean_model, mean_diff, statistic, p_value, p_holm, significant."""
    from scipy import stats

    cols = ["reference", "model", "scale", "pair_on", "n", "mean_reference", "mean_model", "mean_diff",
            "statistic", "p_value", "p_holm", "significant"]
    if pair_on not in PAIRING_METHODS:
        raise ValueError(f"pair_on must be one of {list(PAIRING_METHODS)}, got {pair_on!r}")
    if len(ratings) == 0:
        out = pd.DataFrame(columns=cols)
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
    out = pd.DataFrame(rows, columns=cols[:-2])
    out["p_holm"] = holm(out["p_value"].to_numpy(float))
    out["significant"] = out["p_holm"] < alpha
    out.attrs.update(test="Wilcoxon signed-rank (scipy.stats.wilcoxon, zero differences dropped), "
                          "two-sided; Holm-corrected over the rows", pairing=PAIRING_METHODS[pair_on])
    return out


def paper_mos() -> pd.DataFrame:
    """The paper's MOS per (tables, model, scale), one row per table group ('1-2', '3-4')."""
    df = paper_results()
    df = df.assign(tables=df["tables"].astype(str).str.split(";")).explode("tables")
    order = {"1-2": ABLATION_MODELS, "3-4": SOTA_MODELS}
    df["_m"] = [order.get(t, []).index(m) if m in order.get(t, []) else 99
                for t, m in zip(df["tables"], df["model"])]
    df["_s"] = df["scale"].map(_scale_key)
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
           "Collect ratings with the rating app (mos.rating_app).")
    if has and reference in set(r["model"]):
        paired = paired_tests(r, reference=reference, pair_on=pair_on)
    else:
        paired = pd.DataFrame(columns=["reference", "model", "scale", "pair_on", "n", "mean_reference",
                                       "mean_model", "mean_diff", "statistic", "p_value", "p_holm",
                                       "significant"])
        paired.attrs["message"] = "no ratings yet" if not has else f"reference {reference!r} not rated"
    return MosReport(ratings_dir=d, ratings=r, has_ratings=has, message=msg,
                     n_raters=int(r["rater"].nunique()) if has else 0, mos=mos_table(r),
                     agreement=agreement_table(r), paired=paired, vs_paper=mos_vs_paper(r))


# --------------------------------------------------------------------------------------------
# no-reference proxy (PIQE)
# --------------------------------------------------------------------------------------------
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
    the standard luma (0.299 R + 0.587 G + 0.114 B): pypiqe would apply OpenCV's BGR formula to
    RGB data. A uniform image scores 100 (PIQE's definition; pypiqe divides by zero on black)."""
    piqe = _require_pypiqe()
    a = np.asarray(image)
    if a.ndim == 3:
        a = a[..., :3].astype(float) @ np.array([0.299, 0.587, 0.114])
        a = np.clip(np.round(a), 0, 255).astype(np.uint8)
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
        out = out.assign(_m=out["model"].map(_model_key), _s=out["scale"].map(_scale_key))
        out = out.sort_values(["_m", "_s"]).drop(columns=["_m", "_s"]).reset_index(drop=True)
    out.attrs.update(NR_METRIC, ci_method="95% t-interval over images")
    return out


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------
def to_markdown(df: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub-style Markdown table (no extra dependency); NaN shows as 'n/a'."""
    def cell(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "n/a"
        if isinstance(v, (float, np.floating)):
            return f"{v:.{digits}f}"
        return str(v).replace("|", "\\|")

    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def vs_paper_wide(vs: pd.DataFrame, tables: str) -> pd.DataFrame:
    """One table group as model x scale, cells 'paper / ours' ('-' where we have none)."""
    part = vs[vs["tables"] == tables]
    cell = [f"{p:.2f} / " + ("-" if pd.isna(o) else f"{o:.2f} (n={r})")
            for p, o, r in zip(part["paper_mos"], part["our_mos"], part["n_raters"])]
    wide = part.assign(cell=cell).pivot(index="model", columns="scale", values="cell")
    wide = wide.reindex(index=[m for m in part["model"].unique()],
                        columns=sort_scales(part["scale"].unique()))
    return wide.reset_index()


def write_tables(report: MosReport, tables_dir: str | os.PathLike, nr_table: pd.DataFrame | None = None,
                 nr_message: str = "") -> list[Path]:
    """Write mos_*.csv and mos_*.md under ``tables_dir``; every .md names n_raters."""
    d = Path(tables_dir)
    d.mkdir(parents=True, exist_ok=True)
    note = (f"n_raters = {report.n_raters}, n_ratings = {len(report.ratings)} (paper: "
            f"{PAPER_N_SUBJECTS} subjects, {PAPER_N_PER_SCALE} images per scale and model)."
            if report.has_ratings else f"n_raters = 0: NO RATINGS YET. {report.message}")
    written: list[Path] = []

    def put(name: str, df: pd.DataFrame, title: str, extra: str = "", md_body: str | None = None):
        df.to_csv(d / f"{name}.csv", index=False)
        body = md_body if md_body is not None else (to_markdown(df) if len(df) else "_(empty)_\n")
        (d / f"{name}.md").write_text(f"# {title}\n\n{note}\n\n{extra + chr(10) + chr(10) if extra else ''}{body}")
        written.extend([d / f"{name}.csv", d / f"{name}.md"])

    put("mos_table", report.mos, "MOS per model and scale (our raters)", f"CI: {CI_METHOD}.")
    put("mos_agreement", report.agreement, "Inter-rater agreement (Krippendorff's alpha)",
        "Units: (image_id, scale, model); alpha is undefined with fewer than two raters per item.")
    put("mos_paired_tests", report.paired, "Paired tests against the reference model",
        report.paired.attrs.get("test", "") + ("; pairing: " + report.paired.attrs["pairing"]
                                                if "pairing" in report.paired.attrs else ""))
    md = "".join(f"## Tables {t} (cells: paper / ours)\n\n" + to_markdown(vs_paper_wide(report.vs_paper, t))
                 + "\n" for t in report.vs_paper["tables"].unique())
    put("mos_vs_paper", report.vs_paper, "MOS: paper vs ours", f"CI: {CI_METHOD}.", md_body=md)
    if nr_table is not None:
        put("mos_nr_proxy", nr_table, f"No-reference PROXY for MOS: {NR_METRIC['metric']} "
            f"({NR_METRIC['direction']})", NR_METRIC["note"] + " CI: 95% t-interval over images.")
    elif nr_message:
        (d / "mos_nr_proxy.md").write_text(f"# No-reference proxy\n\n{nr_message}\n")
        written.append(d / "mos_nr_proxy.md")
    return written


def plot_mos_vs_paper(report: MosReport):
    """Matplotlib figure: MOS vs scale per model, paper dashed, ours solid with CI."""
    import matplotlib.pyplot as plt

    vs = report.vs_paper
    groups = list(vs["tables"].unique())
    fig, axes = plt.subplots(1, len(groups), figsize=(6 * len(groups), 4), squeeze=False)
    for ax, t in zip(axes[0], groups):
        part = vs[vs["tables"] == t]
        scales = sort_scales(part["scale"].unique())
        x = np.arange(len(scales))
        for i, m in enumerate(part["model"].unique()):
            g = part[part["model"] == m].set_index("scale").reindex(scales)
            color = f"C{i}"
            ax.plot(x, g["paper_mos"], "--", color=color, alpha=0.6, label=f"{m} (paper)")
            if g["our_mos"].notna().any():
                ax.errorbar(x, g["our_mos"], yerr=[g["our_mos"] - g["our_ci_low"], g["our_ci_high"] - g["our_mos"]],
                            fmt="o-", color=color, capsize=3, label=f"{m} (ours)")
        ax.set_xticks(x, scales, rotation=30)
        ax.set_ylim(0.8, 5.2)
        ax.set_ylabel("MOS (1 bad ... 5 excellent)")
        ax.set_title(f"Tables {t}" + ("" if report.has_ratings else " - no ratings yet, paper only"))
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
