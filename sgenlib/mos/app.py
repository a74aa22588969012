"""The rating study in JupyterLab: a resumable session of one rater (:class:`RatingSession`, no
widgets) and its ipywidgets front end (:class:`RatingApp`). Paper, section 4.2: each subject
first sees the source images, then rates restorations from 1 (bad) to 5 (excellent)."""
from __future__ import annotations

import html
import math
import os
import time as _time
from pathlib import Path
from typing import Sequence

import ipywidgets as w
import pandas as pd

from ..widgets import widget_text
from ..paper import PAPER_N_PER_SCALE
from .plan import build_rating_plan, load_index, scale_key
from .storage import DEFAULT_RATINGS_DIR, append_rating, rating_file, read_rating_file, validate_rater_id

SCORE_LABELS = {1: "bad", 2: "poor", 3: "fair", 4: "good", 5: "excellent"}


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
        src = src.assign(_s=src["scale"].map(scale_key)).sort_values(["_s", "image_id"])
        return src.drop(columns="_s").reset_index(drop=True)

    def image_bytes(self, rel_path: str) -> bytes:
        return (self.gallery_dir / rel_path).read_bytes()


def _image_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG header."""
    if png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) >= 24:
        return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    return 0, 0


class RatingApp(w.VBox):
    """The rating study in a notebook: id -> source images -> blind rating -> finish.

    Screens: ``self.screen`` is 'login', 'source', 'rating' or 'finish'. Everything a person
    does maps to a method (:meth:`start`, :meth:`next_page`, :meth:`prev_page`,
    :meth:`begin_rating`, :meth:`rate`) and to a button that calls it. The model's name is
    never displayed. Display it in JupyterLab. ``min_view_s``: clicks sooner than this after an
    image appears are ignored (guards double clicks).
    """

    def __init__(self, gallery_dir: str | os.PathLike, ratings_dir: str | os.PathLike = DEFAULT_RATINGS_DIR,
                 n_per_scale: int = PAPER_N_PER_SCALE, models: Sequence[str] | None = None, seed: int = 0,
                 page_size: int = 24, display_scale: float = 2, min_view_s: float = 0.5):
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
        return "\n".join(widget_text(self))
