"""Where the viewer's test images come from, and which source a profile gets.

* LIVE (:class:`LiveSource`): the test split is decoded (from the same cache the study writes) and
  degraded with ``TestSet.at_scale``, so the inputs are exactly the deterministic ones every table
  was scored on; each model's ``runs/<profile>/<model>/generator.pt`` restores them now, with the
  evaluation's own ``restore_batches`` and ``metrics.psnr_ssim``.
* GALLERY (:class:`GallerySource`): ``results/<profile>/gallery/index.csv`` and its PNGs, written by
  the evaluation stage and committed with the results, so a fresh clone without checkpoints or
  CelebA can still browse the panel of test images it holds.

:func:`choose_source` picks one for a study and says in a status line (HTML) what is shown.
"""
from __future__ import annotations

import html
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .. import data as celeba
from .. import metrics
from ..evaluate import TestSet, restore_batches
from ..inference import load_generator, model_channels
from ..mos.plan import load_index
from ..paper import REFERENCES, parse_scale, scale_name, sort_models
from ..profiles import short_run_note
from ..progress import progress as progress_of
from ..study import Study, load_test_set, trained_labels
from .panels import TITLES, Panel, hwc


class GallerySource:
    """The precomputed gallery: ``<gallery>/index.csv`` (image_id, scale, model, path, psnr_db,
    ssim) and its PNGs (see evaluate.write_gallery)."""

    kind = "gallery"
    titles = TITLES          # panel titles by key; open_viewer adds trained labels ('SRGAN (MSE content)')

    def __init__(self, gallery_dir):
        self.gallery_dir = Path(gallery_dir)
        self.index = load_index(self.gallery_dir)
        idx = self.index.drop_duplicates(["image_id", "scale", "model"], keep="first")
        self._rows = {(r.image_id, r.scale, r.model): r for r in idx.itertuples(index=False)}
        self.ids = list(dict.fromkeys(idx["image_id"]))
        self.scales = sorted(dict.fromkeys(idx["scale"]), key=parse_scale)
        self.models = sort_models(m for m in idx["model"].unique() if m not in REFERENCES)

    def describe(self) -> str:
        return (f"{len(self.ids)} test image(s) x {len(self.scales)} scale(s), models "
                f"{', '.join(self.models) or 'none'}, from {self.gallery_dir / 'index.csv'}")

    def panels(self, image_id: str, scale: str, models: list[str]) -> tuple[list[Panel], list[str]]:
        """Panels of `image_id` at `scale` (references first) and the keys the gallery lacks."""
        out, missing = [], []
        for key in [*REFERENCES, *models]:
            row = self._rows.get((str(image_id), scale, key))
            if row is None:
                missing.append(key)
                continue
            path = self.gallery_dir / row.path
            try:
                with Image.open(path) as im:
                    img = hwc(np.asarray(im.convert("L" if im.mode in ("L", "1", "I", "I;16", "F") else "RGB")))
            except (OSError, ValueError) as e:
                missing.append(f"{key} ({path.name}: {e})")
                continue
            psnr = None if key == "ground_truth" else _finite(row.psnr_db)
            ssim = None if key == "ground_truth" else _finite(row.ssim)
            out.append(Panel(key, self.titles.get(key, key), img, psnr, ssim))
        return out, missing


def _finite(v) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


class LiveSource:
    """Test images degraded now (deterministically, as in the evaluation) and restored by the
    given generators; results are cached per (image, scale, model)."""

    kind = "live"
    titles = TITLES

    def __init__(self, test: TestSet, generators: dict[str, torch.nn.Module], cache_size: int = 512):
        self.test = test
        self.generators = {m: generators[m] for m in sort_models(generators)}
        self.ids = list(test.ids)
        self.scales = [scale_name(s) for s in test.scales]
        self.models = list(self.generators)
        self._cache: OrderedDict = OrderedDict()
        self._cache_size = cache_size
        self._pos = {i: k for k, i in enumerate(self.ids)}

    def describe(self) -> str:
        return f"{len(self.ids)} test image(s) x {len(self.scales)} scale(s)"

    def _remember(self, key, value):
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return value

    def _inputs(self, image_id: str, scale: str):
        key = ("inputs", image_id, scale)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        # one image only: its degraded input depends on (id, scale, seed) alone (degrade.test_noise),
        # so this is the very input the full-test-set evaluation used
        inp, ref = self.test.subset([image_id]).at_scale(parse_scale(scale))
        return self._remember(key, (inp, ref))

    def panels(self, image_id: str, scale: str, models: list[str]) -> tuple[list[Panel], list[str]]:
        image_id = str(image_id)
        if image_id not in self._pos:
            raise KeyError(f"no test image with id {image_id!r}")
        inp, ref = self._inputs(image_id, scale)
        ref_np = ref[0].cpu().numpy()
        out, missing = [Panel("ground_truth", TITLES["ground_truth"], hwc(ref_np))], []
        for key in ["input", *models]:
            if key != "input" and key not in self.generators:
                missing.append(key)
                continue
            ck = (image_id, scale, key)
            if ck not in self._cache:
                pred = metrics.quantize(inp)[0] if key == "input" else restore_batches(self.generators[key], inp, 1)[0]
                pred_np = pred.cpu().numpy()
                psnr, ssim = metrics.psnr_ssim(pred_np, ref_np)
                self._remember(ck, Panel(key, self.titles.get(key, key), hwc(pred_np), psnr, ssim))
            else:
                self._cache.move_to_end(ck)
            out.append(self._cache[ck])
        return out, missing


def load_generators(runs_dir, device="cpu", channels: int | None = None) -> tuple[dict, list[str]]:
    """{model: generator} for every runs_dir/<model>/generator.pt (paper order), and notes on the
    ones that could not be used (unreadable, or trained on another number of channels)."""
    runs_dir = Path(runs_dir)
    gens, notes = {}, []
    names = sort_models(p.parent.name for p in runs_dir.glob("*/generator.pt")) if runs_dir.is_dir() else []
    for name in progress_of(names, "viewer: load generators", unit="models"):
        try:
            g = load_generator(runs_dir / name, device)
        except Exception as e:  # noqa: BLE001 - one broken run must not hide the others
            notes.append(f"{name}: cannot load {runs_dir / name / 'generator.pt'} ({e})")
            continue
        if channels is not None and model_channels(g) != channels:
            notes.append(f"{name}: trained on {model_channels(g)} channel(s), the study uses {channels}; skipped")
            continue
        gens[name] = g
    return gens, notes


VIEWER_PROFILE_ORDER = ("paper", "gpu-quick", "cpu", "smoke")
"""profile='auto' opens the first of these with trained runs, else the first with a gallery."""


def resolve_viewer_profile(profile: str, results_dir, runs_dir) -> str:
    """`profile` itself, or for 'auto' the longest-trained profile present: the first of
    VIEWER_PROFILE_ORDER with a runs/<profile>/<model>/generator.pt, else the first with
    results/<profile>/gallery/index.csv (a fresh clone has the committed CPU study's gallery),
    else 'smoke'."""
    if profile != "auto":
        return profile
    results_dir, runs_dir = Path(results_dir), Path(runs_dir)
    for p in VIEWER_PROFILE_ORDER:
        if any((runs_dir / p).glob("*/generator.pt")):
            return p
    for p in VIEWER_PROFILE_ORDER:
        if (results_dir / p / "gallery" / "index.csv").is_file():
            return p
    return "smoke"


def choose_source(st: Study, data_root: str | None = "", live: bool = True) -> tuple:
    """(source, generators, status) for a study: LIVE when `live` and runs/<profile>/<model>/
    generator.pt exist and the test split can be loaded; if the checkpoints exist but the data does
    not, test images come from the gallery (generators still restore uploads); otherwise GALLERY
    (results/<profile>/gallery), no generators. With neither, the source is None and the status
    says what to run first."""
    notes, gens = [], {}
    if live:
        gens, notes = load_generators(st.runs, st.device, st.degrade.channels)
    if gens:
        source, status = _live_source(st, gens, data_root, notes)
    else:
        source, status = _gallery_source(st, live)
    if source is not None:
        source.titles = {**TITLES, **trained_labels(st)}
    if notes:
        status += "<br><small>" + "<br>".join(html.escape(n) for n in notes) + "</small>"
    if short_run_note(st.profile):  # smoke: say that flat gray restorations are expected
        status = f"<b style='color:#b00000'>{html.escape(short_run_note(st.profile))}</b><br>" + status
    return source, gens, status


def _live_source(st: Study, gens: dict, data_root: str | None, notes: list[str]) -> tuple:
    """LiveSource and its status; the gallery (or None) when the test split cannot be loaded."""
    profile, gallery_dir = st.name, st.results / "gallery"
    try:
        test = load_test_set(st, data_root)
        source = LiveSource(test, gens)
        return source, (f"<b>LIVE</b> [{profile}]: restorations computed now by {', '.join(gens)} "
                        f"(<code>{html.escape(str(st.runs))}/&lt;model&gt;/generator.pt</code>) on "
                        f"{st.device}; test inputs are the evaluation's deterministic degraded inputs "
                        f"(seed {st.seed}, {st.degrade.color}); {source.describe()}.")
    except (celeba.CelebAError, OSError, ValueError) as e:
        notes.append(f"test data not loaded ({e})")
    source = GallerySource(gallery_dir) if (gallery_dir / "index.csv").is_file() else None
    return source, (f"<b>GALLERY + live uploads</b> [{profile}]: checkpoints found, but the test split "
                    f"could not be loaded, so test images come from the precomputed gallery"
                    + (f" ({html.escape(source.describe())})" if source else " (none found)")
                    + f"; your uploads are restored live by {', '.join(gens)}.")


def _gallery_source(st: Study, live: bool) -> tuple:
    """GallerySource and its status (uploads disabled), or None and what to run first."""
    profile, gallery_dir = st.name, st.results / "gallery"
    if not (gallery_dir / "index.csv").is_file():
        return None, (f"<b>Nothing to show</b> [{profile}]: no trained generator under "
                      f"<code>{html.escape(str(st.runs))}</code> and no gallery at "
                      f"<code>{html.escape(str(gallery_dir))}</code>. Run 02_sgen (run_all.sh) first.")
    source = GallerySource(gallery_dir)
    why = ("live = False" if not live else
           f"no trained generator under <code>{html.escape(str(st.runs))}</code>")
    return source, (f"<b>GALLERY</b> [{profile}]: precomputed restorations, "
                    f"{html.escape(source.describe())}. <b>Upload is disabled</b> ({why}); "
                    "train the models (02_sgen ...) and set live = True to restore your own faces.")
