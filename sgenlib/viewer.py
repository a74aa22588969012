"""Side-by-side restoration viewer: ground truth, degraded input and each model's restoration of one
face at one scale, PSNR/SSIM under each, a zoomed crop at the same place in every panel, and a
button that saves what is on screen as one PNG.

Two sources of test images:

* LIVE (:class:`LiveSource`): the test split is decoded (from the same cache the study writes) and
  degraded with ``TestSet.at_scale``, so the inputs are exactly the deterministic ones every table
  was scored on; each model's ``runs/<profile>/<model>/generator.pt`` restores them now, with the
  evaluation's own ``restore_batches`` and ``metrics.psnr_ssim``.
* GALLERY (:class:`GallerySource`): ``results/<profile>/gallery/index.csv`` and its PNGs, written by
  the evaluation stage and committed with the results, so a fresh clone without checkpoints or
  CelebA can still browse the panel of test images it holds.

Uploads (a face of your own) need generators, so they work only where checkpoints exist. An upload
has no ground truth: it is either taken as a degraded network input at its own size, or as a
low-resolution face that is first enlarged x4 with nearest neighbour (the paper's pipeline). No
PSNR/SSIM is shown for it.

Everything but the widgets is plain functions on numpy arrays (:func:`render_tile`,
:func:`compose`, :func:`upload_panels`), so tests and scripts can use them without a browser.
The widget (:class:`RestorationViewer`, made by :func:`open_viewer`) keeps what it shows in
``viewer.panels`` (a list of :class:`Panel`) and ``viewer.crop``; ``viewer.compose()`` is the
image the save button writes.

ipywidgets has no click events on images (that needs ipyevents, not a dependency), so the crop
is moved with sliders and with buttons that jump to the eyes, nose and mouth of an aligned face.
"""
from __future__ import annotations

import html
import io
import re
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as w
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from . import data as celeba
from . import metrics
from .degrade import DEFAULT_LUMA
from .evaluate import TestSet, restore_batches
from .inference import MIN_SIDE, image_array, load_generator, model_channels, pixel_array, restore
from .mos.plan import load_index
from .paper import REFERENCES, parse_scale, scale_name, sort_models
from .paths import resolve_project_path
from .profiles import short_run_note
from .progress import progress as progress_of
from .study import load_test_set, open_study, trained_labels
from .widgets import widget_text

TITLES = {"ground_truth": "ground truth (HR)", "input": "degraded input"}
MAX_ID_OPTIONS = 1000            # ids offered in the combobox (any test id can still be typed)
MAX_UPLOAD_BYTES = 25 * 2**20
MAX_UPLOAD_SIDE = 512            # network inputs larger than this are shrunk first (CPU time)
# Where features sit in CelebA's aligned faces, as (x, y) fractions of the width and height
# (means of list_landmarks_align_celeba.txt, rounded); the six scales resize the whole face, so
# the fractions hold at every scale.
LANDMARKS = {"left eye": (0.39, 0.51), "right eye": (0.61, 0.51), "nose": (0.50, 0.62),
             "mouth": (0.50, 0.70), "centre": (0.50, 0.50)}
DEFAULT_TICKED = ("SGEN", "SGEN-MSE", "SRGAN", "URDGN")
CROP_COLOR = (230, 30, 30)
PAD, GAP, LINE = 6, 8, 15        # tile padding, gap between tiles, text line height (px)
MIN_TILE_WIDTH = 150


class UploadError(ValueError):
    """An uploaded file that cannot be restored; the message is shown in the widget."""


@dataclass
class Panel:
    """One image on screen: key ('ground_truth', 'input' or a model name), its title, the uint8
    image (H, W) or (H, W, 3), and its PSNR (dB) / SSIM against the ground truth (None where
    there is none: the ground truth itself and every upload)."""

    key: str
    title: str
    image: np.ndarray
    psnr_db: float | None = None
    ssim: float | None = None
    note: str = ""

    @property
    def caption(self) -> str:
        if self.key == "ground_truth":
            return "reference"
        if self.psnr_db is None or self.ssim is None or not np.isfinite(self.psnr_db):
            return self.note or "no PSNR/SSIM"
        return f"PSNR {self.psnr_db:.2f} dB  SSIM {self.ssim:.4f}"

    @property
    def size(self) -> tuple[int, int]:
        return self.image.shape[0], self.image.shape[1]

    def record(self) -> dict:
        return {"key": self.key, "title": self.title, "psnr_db": self.psnr_db, "ssim": self.ssim,
                "caption": self.caption, "shape": tuple(self.image.shape)}


def _hwc(img) -> np.ndarray:
    """uint8 image as (H, W) or (H, W, 3) from (H, W), (H, W, 1|3|4), (1|3, H, W) arrays or tensors."""
    a = img.cpu().numpy() if torch.is_tensor(img) else np.asarray(img)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3, 4):
        a = a.transpose(1, 2, 0)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim == 3 and a.shape[-1] == 4:
        a = a[..., :3]
    return np.ascontiguousarray(a.astype(np.uint8))


def _rgb(img: np.ndarray) -> np.ndarray:
    return np.repeat(img[..., None], 3, axis=-1) if img.ndim == 2 else img


def default_ticks(models) -> set[str]:
    """Models ticked at start: all when there are at most four, else SGEN, SGEN-MSE and the two
    adversarial baselines of Tables 3-4 (SRGAN, URDGN) that exist (the first four if none do)."""
    models = list(models)
    if len(models) <= 4:
        return set(models)
    return {m for m in DEFAULT_TICKED if m in models} or set(models[:4])


# --------------------------------------------------------------------------------------------
# sources of test images
# --------------------------------------------------------------------------------------------
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
                    img = _hwc(np.asarray(im.convert("L" if im.mode in ("L", "1", "I", "I;16", "F") else "RGB")))
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
        out, missing = [Panel("ground_truth", TITLES["ground_truth"], _hwc(ref_np))], []
        for key in ["input", *models]:
            if key != "input" and key not in self.generators:
                missing.append(key)
                continue
            ck = (image_id, scale, key)
            if ck not in self._cache:
                pred = metrics.quantize(inp)[0] if key == "input" else restore_batches(self.generators[key], inp, 1)[0]
                pred_np = pred.cpu().numpy()
                psnr, ssim = metrics.psnr_ssim(pred_np, ref_np)
                self._remember(ck, Panel(key, self.titles.get(key, key), _hwc(pred_np), psnr, ssim))
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


# --------------------------------------------------------------------------------------------
# uploads
# --------------------------------------------------------------------------------------------
def decode_upload(data: bytes, name: str = "upload") -> Image.Image:
    """The uploaded bytes as an 'L' or 'RGB' PIL image (EXIF orientation applied); UploadError
    with a plain message for anything that is not a readable image."""
    if not data:
        raise UploadError(f"{name!r} is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"{name!r} is {len(data) / 2**20:.1f} MiB; the viewer takes images up to "
                          f"{MAX_UPLOAD_BYTES // 2**20} MiB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(bytes(data)))
            im.load()
        im = ImageOps.exif_transpose(im)
    except Exception as e:  # noqa: BLE001 - PIL raises many kinds; all mean "not an image we can use"
        why = ("not a format PIL recognises" if isinstance(e, UnidentifiedImageError)
               else f"{type(e).__name__}: {e}")
        raise UploadError(f"could not read {name!r} as an image ({why}). Upload a PNG or JPEG face.") from None
    if im.mode.startswith("I") or im.mode == "F":
        # 16-bit and float images: rescaled to 0-255 (converting them to 'L' would clip them white)
        try:
            arr = pixel_array(im)
        except ValueError as e:
            raise UploadError(f"cannot restore {name!r}: {e}") from None
        return Image.fromarray(arr.round().clip(0, 255).astype(np.uint8), "L")
    gray = im.mode in ("L", "LA", "1", "La")
    return im.convert("L" if gray else "RGB")


def upload_panels(image: Image.Image, generators: dict, models: list[str], mode: str = "input",
                  luma: str = DEFAULT_LUMA, max_side: int = MAX_UPLOAD_SIDE) -> tuple[list[Panel], str]:
    """Restore an uploaded face with each of `models`.

    mode 'input': the image is a degraded network input, restored at its own size.
    mode 'lr': the image is a low-resolution face, enlarged x4 (nearest neighbour) first.
    Returns the panels (the network input, then one per model; no metrics: there is no ground
    truth) and a note (e.g. that a large image was shrunk to keep restoration quick)."""
    if mode not in ("input", "lr"):
        raise ValueError(f"mode must be 'input' or 'lr', got {mode!r}")
    if not generators:
        raise UploadError("no trained generator to restore uploads with")
    up = 4 if mode == "lr" else 1
    w0, h0 = image.size
    note = ""
    if max(w0, h0) * up > max_side:
        f = max_side / (max(w0, h0) * up)
        image = image.resize((max(1, round(w0 * f)), max(1, round(h0 * f))), Image.LANCZOS)
        note = (f"shrunk from {w0}x{h0} to {image.size[0]}x{image.size[1]} px so the network input "
                f"is at most {max_side} px")
    w, h = image.size
    if min(w, h) < MIN_SIDE:
        raise UploadError(f"the image is {w}x{h} px; it needs at least {MIN_SIDE} px on each side")
    first = next(iter(generators.values()))
    channels = model_channels(first)
    x = torch.from_numpy(image_array(image, channels, luma)).unsqueeze(0)
    if up != 1:
        x = torch.nn.functional.interpolate(x, scale_factor=up, mode="nearest")
    net_in = x[0].round().clamp(0, 255).to(torch.uint8)
    no_gt = "no ground truth: no PSNR/SSIM"
    title = "your image (network input)" if up == 1 else "your image, nearest x4"
    panels = [Panel("input", title, _hwc(net_in), note=no_gt)]
    for m in models:
        if m in generators:
            out = restore(generators[m], image, upscale=up, luma=luma)
            panels.append(Panel(m, m, _hwc(np.asarray(out)), note=no_gt))
    return panels, note


# --------------------------------------------------------------------------------------------
# rendering (what the widget shows and what the save button writes)
# --------------------------------------------------------------------------------------------
def _font(size: int = 12):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def clamp_crop(crop: tuple[int, int, int], height: int, width: int) -> tuple[int, int, int]:
    """(x, y, size) kept inside an image of height x width (size at least 4 px)."""
    x, y, size = (int(v) for v in crop)
    size = max(min(4, height, width), min(size, height, width))
    return max(0, min(x, width - size)), max(0, min(y, height - size)), size


def zoom_factor(width: int, crop_size: int, display_scale: int) -> int:
    """Integer magnification of the crop so that it is about as wide as the panel on screen."""
    return max(1, (width * display_scale) // max(1, crop_size))


def tile_size(height: int, width: int, crop_size: int, display_scale: int) -> tuple[int, int]:
    """(height, width) in pixels of one rendered panel."""
    zf = zoom_factor(width, crop_size, display_scale)
    inner = max(width * display_scale, crop_size * zf, MIN_TILE_WIDTH)
    return PAD + LINE + 2 + height * display_scale + PAD + crop_size * zf + 2 + 2 * LINE + PAD, inner + 2 * PAD


def render_tile(panel: Panel, crop: tuple[int, int, int], display_scale: int = 2) -> np.ndarray:
    """One panel as an RGB uint8 array: title, the image (nearest x display_scale) with the crop
    outlined, the crop magnified, and the caption (PSNR/SSIM)."""
    img = _rgb(panel.image)
    h, w = img.shape[:2]
    x, y, size = clamp_crop(crop, h, w)
    ds = max(1, int(display_scale))
    zf = zoom_factor(w, size, ds)
    th, tw = tile_size(h, w, size, ds)
    canvas = Image.new("RGB", (tw, th), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = _font(12)
    draw.text((PAD, PAD), panel.title, fill=(0, 0, 0), font=font)
    top = PAD + LINE + 2
    big = Image.fromarray(img).resize((w * ds, h * ds), Image.NEAREST)
    left = (tw - w * ds) // 2
    canvas.paste(big, (left, top))
    lw = 2 if ds >= 2 else 1
    draw.rectangle([left + x * ds - lw, top + y * ds - lw, left + (x + size) * ds - 1 + lw,
                    top + (y + size) * ds - 1 + lw], outline=CROP_COLOR, width=lw)
    top += h * ds + PAD
    zoom = Image.fromarray(np.ascontiguousarray(img[y:y + size, x:x + size])).resize(
        (size * zf, size * zf), Image.NEAREST)
    canvas.paste(zoom, ((tw - size * zf) // 2, top))
    top += size * zf + 2
    draw.text((PAD, top), f"crop x{zf} at ({x}, {y})", fill=(90, 90, 90), font=font)
    draw.text((PAD, top + LINE), panel.caption, fill=(0, 0, 0), font=font)
    return np.asarray(canvas)


def compose(tiles: list[np.ndarray], header: str = "") -> np.ndarray:
    """Tiles side by side (top-aligned, GAP px apart) under a one-line header."""
    if not tiles:
        raise ValueError("nothing to compose: no panels")
    head = LINE + PAD if header else 0
    width = sum(t.shape[1] for t in tiles) + GAP * (len(tiles) - 1)
    if header:
        width = max(width, int(np.ceil(_font(12).getlength(header))) + 2 * PAD)
    height = head + max(t.shape[0] for t in tiles)
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    if header:
        ImageDraw.Draw(canvas).text((PAD, PAD // 2), header, fill=(0, 0, 0), font=_font(12))
    x = 0
    for t in tiles:
        canvas.paste(Image.fromarray(t), (x, head))
        x += t.shape[1] + GAP
    return np.asarray(canvas)


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(name)).strip("-.")[:60] or "image"


# --------------------------------------------------------------------------------------------
# the widget
# --------------------------------------------------------------------------------------------
class RestorationViewer(w.VBox):
    """Pick a test image (id or random) or upload one, pick a scale and the models; see every
    panel side by side with a zoomed crop at the same place; save the panel as a PNG.

    Everything a person does maps to a method: :meth:`show` (image id / scale), :meth:`random_image`,
    :meth:`set_models`, :meth:`handle_upload`, :meth:`set_crop`, :meth:`jump`, :meth:`save`.
    What is on screen: :attr:`panels` (list of :class:`Panel`), :attr:`crop` (x, y, size),
    :meth:`compose` (the image the save button writes), :attr:`message` (errors and notes).
    """

    def __init__(self, source=None, generators: dict | None = None, save_dir="results/viewer",
                 luma: str = DEFAULT_LUMA, display_scale: int = 2, status: str = "", seed: int | None = None,
                 label: str = "", upload_note: str = "", show_models=None):
        super().__init__()
        self.source = source
        self.generators = {m: generators[m] for m in sort_models(generators or {})}
        self.save_dir = Path(save_dir)
        self.luma = luma
        self.display_scale = max(1, int(display_scale))
        self.label = label
        self.rng = np.random.default_rng(seed)
        self.panels: list[Panel] = []
        self.crop = (0, 0, 16)
        self.current: dict = {"source": None}
        self.last_saved: Path | None = None
        self._upload: tuple[str, Image.Image] | None = None
        self.max_upload_side = MAX_UPLOAD_SIDE
        self._hold = 0
        ids = list(source.ids) if source else []
        scales = list(source.scales) if source else []
        models = sort_models([*(source.models if source else []), *self.generators])
        can_upload = bool(self.generators)

        self.status = w.HTML(status)
        # test image
        self.source_toggle = w.ToggleButtons(options=[("test image", "test"), ("my upload", "upload")],
                                             value="test")
        self.id_box = w.Combobox(options=ids[:MAX_ID_OPTIONS], value=ids[0] if ids else "",
                                 placeholder="type or pick a test image id", description="image id",
                                 ensure_option=False, disabled=not ids)
        self.random_button = w.Button(description="random image", icon="random", disabled=not ids,
                                      layout=w.Layout(width="auto"))
        self.scale_buttons = w.ToggleButtons(options=scales or ["-"], value=(scales[-1] if scales else "-"),
                                             description="scale", disabled=not scales,
                                             style={"button_width": "84px"})
        ticked = default_ticks(models) if show_models is None else set(show_models)
        self.model_boxes = {m: w.Checkbox(value=m in ticked, description=m, indent=False,
                                          layout=w.Layout(width="auto", margin="0 12px 0 0"))
                            for m in models}
        # upload
        self.upload = w.FileUpload(accept="image/*", multiple=False, description="upload a face",
                                   layout=w.Layout(width="auto"),
                                   disabled=not can_upload)
        self.upload_mode = w.ToggleButtons(
            options=[("degraded input, its size", "input"), ("low-res: enlarge x4", "lr")],
            value="input", disabled=not can_upload, style={"button_width": "190px"})
        self.upload_help = w.HTML(upload_note or (
            "Your image has no ground truth: it is restored as a degraded network input at its own "
            "size, or as a low-resolution face enlarged x4 first; no PSNR/SSIM is shown."
            if can_upload else
            "<b>Upload is disabled</b>: no trained generator is loaded (gallery mode shows only "
            "precomputed restorations)."))
        # crop
        sl = dict(continuous_update=False, layout=w.Layout(width="330px"))
        self.crop_x = w.IntSlider(description="crop x", min=0, max=1, value=0, **sl)
        self.crop_y = w.IntSlider(description="crop y", min=0, max=1, value=0, **sl)
        self.crop_size = w.IntSlider(description="crop size", min=4, max=16, value=16, **sl)
        self.jump_buttons = {k: w.Button(description=k, layout=w.Layout(width="auto")) for k in LANDMARKS}
        self.save_button = w.Button(description="save panel as PNG", icon="save", button_style="primary",
                                    layout=w.Layout(width="auto"))
        self.message = w.HTML()
        self.panel_box = w.Box(layout=w.Layout(display="flex", flex_flow="row wrap", align_items="flex-start"))

        self.source_toggle.observe(self._on_source, "value")
        self.id_box.observe(self._on_id, "value")
        self.random_button.on_click(lambda _b: self.random_image())
        self.scale_buttons.observe(self._on_scale, "value")
        for cb in self.model_boxes.values():
            cb.observe(lambda _c: self._refresh(), "value")
        self.upload.observe(self._on_upload, "value")
        self.upload_mode.observe(lambda _c: self._refresh() if self.source_toggle.value == "upload" else None,
                                 "value")
        for s in (self.crop_x, self.crop_y, self.crop_size):
            s.observe(self._on_crop, "value")
        for k, b in self.jump_buttons.items():
            b.on_click(lambda _b, k=k: self.jump(k))
        self.save_button.on_click(lambda _b: self.save())

        self.children = [
            self.status,
            w.HBox([self.source_toggle]),
            w.HBox([self.id_box, self.random_button]),
            self.scale_buttons,
            w.HBox([w.Label("models:"), *self.model_boxes.values()], layout=w.Layout(flex_flow="row wrap")),
            w.HBox([self.upload, self.upload_mode]), self.upload_help,
            w.HBox([self.crop_x, self.crop_y, self.crop_size]),
            w.HBox([w.Label("jump to (aligned faces):"), *self.jump_buttons.values()]),
            w.HBox([self.save_button]),
            self.message,
            self.panel_box,
        ]
        if source is None and not can_upload:
            for c in (self.source_toggle, self.save_button, self.crop_x, self.crop_y, self.crop_size,
                      *self.jump_buttons.values()):
                c.disabled = True
        self._refresh()

    # ---- what is selected
    @property
    def selected_models(self) -> list[str]:
        return [m for m, cb in self.model_boxes.items() if cb.value]

    def set_models(self, models) -> None:
        """Tick exactly `models` (names not offered are ignored) and redraw once."""
        self._hold += 1
        try:
            for m, cb in self.model_boxes.items():
                cb.value = m in set(models)
        finally:
            self._hold -= 1
        self._refresh()

    # ---- actions
    def show(self, image_id: str | None = None, scale: str | None = None) -> None:
        """Show test image `image_id` at `scale` (either may be left as is)."""
        self._hold += 1
        try:
            if image_id is not None:
                self.id_box.value = str(image_id)
            if scale is not None:
                self.scale_buttons.value = scale
            self.source_toggle.value = "test"
        finally:
            self._hold -= 1
        self._refresh()

    def random_image(self) -> str | None:
        if not self.source or not self.source.ids:
            return None
        image_id = self.source.ids[int(self.rng.integers(len(self.source.ids)))]
        self.show(image_id)
        return image_id

    def handle_upload(self, content: bytes, name: str = "upload") -> bool:
        """Take an uploaded file; False (and a message, not an exception) when it is unusable."""
        if not self.generators:
            self._error("upload is disabled: no trained generator is loaded (gallery mode)")
            return False
        try:
            image = decode_upload(content, name)
        except UploadError as e:
            self._error(str(e))
            return False
        before = (self._upload, self.source_toggle.value)
        self._upload = (name, image)
        self._set_toggle("upload")
        if self._refresh(reset_crop=True):
            return True
        self._upload = before[0]                # unusable: keep showing what was there
        self._set_toggle(before[1])
        return False

    def set_crop(self, x: int | None = None, y: int | None = None, size: int | None = None) -> tuple:
        """Move / resize the crop (image pixels of the panels) and redraw; returns the crop."""
        if not self.panels:
            return self.crop
        h, w = self.panels[0].size
        cx, cy, cs = self.crop
        self._apply_crop(clamp_crop((cx if x is None else x, cy if y is None else y,
                                     cs if size is None else size), h, w))
        self._render()
        return self.crop

    def jump(self, landmark: str) -> tuple:
        """Centre the crop on a feature of an aligned face (LANDMARKS)."""
        if not self.panels:
            return self.crop
        fx, fy = LANDMARKS[landmark]
        h, w = self.panels[0].size
        s = self.crop[2]
        return self.set_crop(round(fx * w - s / 2), round(fy * h - s / 2))

    def compose(self) -> np.ndarray:
        """The panel as one RGB image: a header line, then every tile side by side."""
        return compose([render_tile(p, self.crop, self.display_scale) for p in self.panels], self.header())

    def header(self) -> str:
        c = self.current
        what = (f"test image {c.get('image_id')} at {c.get('scale')}" if c.get("source") == "test"
                else f"upload {c.get('name')} ({'enlarged x4' if c.get('mode') == 'lr' else 'as network input'})")
        x, y, s = self.crop
        return f"{self.label}  {what}  crop {s}x{s} px at ({x}, {y})".strip()

    def save(self, path=None) -> Path | None:
        """Write the panel on screen as a PNG (default: save_dir/<image>_<scale>_<x>_<y>_<size>.png)."""
        if not self.panels:
            self._error("nothing to save: no panel is shown")
            return None
        c = self.current
        x, y, s = self.crop
        if path is None:
            stem = (f"{_safe(c['image_id'])}_{c['scale']}" if c.get("source") == "test"
                    else f"upload-{_safe(Path(c['name']).stem)}_{c['mode']}")
            path = self.save_dir / f"{stem}_crop{x}-{y}-{s}.png"
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(self.compose()).save(path)
        except OSError as e:
            self._error(f"could not save {path}: {e}")
            return None
        self.last_saved = path
        self.message.value = f"saved <code>{html.escape(str(path))}</code>"
        return path

    def crops(self) -> list[np.ndarray]:
        """The crop of every panel at the current place (image pixels, not magnified)."""
        x, y, s = self.crop
        return [p.image[y:y + s, x:x + s] for p in self.panels]

    def displayed_text(self) -> str:
        """Every text the widget shows (for tests), captions of the panels included."""
        return "\n".join(widget_text(self) + [f"{p.title}: {p.caption}" for p in self.panels])

    # ---- internals
    def _error(self, text: str) -> None:
        self.message.value = f"<span style='color:#b00'>{html.escape(text, quote=False)}</span>"

    def _set_toggle(self, value: str) -> None:
        self._hold += 1
        try:
            self.source_toggle.value = value
        finally:
            self._hold -= 1

    def _on_source(self, change) -> None:
        if not self._hold and not self._refresh(reset_crop=True):
            self._set_toggle(change["old"])             # e.g. upload disabled: stay where we were

    def _on_id(self, change) -> None:
        if self._hold:
            return
        value = str(change["new"]).strip()
        if self.source and value in self.source.ids:
            self.show(value)
        elif self.source and value and not any(i.startswith(value) for i in self.source.ids):
            self._error(f"no test image with id {value!r} in this {self.source.kind} source")

    def _on_scale(self, _change) -> None:
        if not self._hold:
            self._refresh()

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        if isinstance(files, dict):                         # ipywidgets 7: {name: {content, ...}}
            name, meta = next(iter(files.items()))
            content = meta.get("content", b"")
        else:                                               # ipywidgets 8: ({name, content, ...},)
            meta = files[0]
            name, content = meta.get("name", "upload"), meta.get("content", b"")
        self.handle_upload(bytes(content), name)
        self.upload.value = ()                              # the same file can be chosen again

    def _on_crop(self, _change) -> None:
        if self._hold or not self.panels:
            return
        h, w = self.panels[0].size
        self._apply_crop(clamp_crop((self.crop_x.value, self.crop_y.value, self.crop_size.value), h, w))
        self._render()

    def _apply_crop(self, crop: tuple[int, int, int]) -> None:
        """Set the crop and the sliders (their ranges follow the image size) without redrawing."""
        h, w = self.panels[0].size
        x, y, s = crop
        self._hold += 1
        try:
            self.crop_size.max = max(4, min(h, w))
            self.crop_size.value = s
            self.crop_x.max, self.crop_y.max = max(1, w - s), max(1, h - s)
            self.crop_x.value, self.crop_y.value = x, y
        finally:
            self._hold -= 1
        self.crop = (x, y, s)

    def _panels_now(self) -> tuple[list[Panel], dict, str]:
        models = self.selected_models
        if self.source_toggle.value == "upload":
            if not self.generators:
                raise UploadError("upload is disabled: no trained generator is loaded (gallery mode)")
            if self._upload is None:
                return [], {"source": None}, "Upload a face image (PNG or JPEG) with the button above."
            name, image = self._upload
            mode = self.upload_mode.value
            panels, note = upload_panels(image, self.generators, models, mode, self.luma, self.max_upload_side)
            return panels, {"source": "upload", "name": name, "mode": mode}, note
        if not self.source:
            return [], {"source": None}, "No test images: neither test data nor a gallery was found."
        image_id = str(self.id_box.value).strip()
        if image_id not in self.source.ids:
            image_id = self.current.get("image_id") if self.current.get("source") == "test" else None
            image_id = image_id or self.source.ids[0]
        scale = self.scale_buttons.value
        panels, missing = self.source.panels(image_id, scale, models)
        note = f"not available here: {', '.join(missing)}" if missing else ""
        return panels, {"source": "test", "image_id": image_id, "scale": scale}, note

    def _refresh(self, reset_crop: bool = False) -> bool:
        """Recompute the panels from the controls and redraw; False (and a message) on error,
        leaving the panels on screen as they were."""
        if self._hold:
            return False
        old = self.panels[0].size if self.panels else None
        try:
            panels, current, note = self._panels_now()
        except (UploadError, KeyError, ValueError) as e:
            self._error(str(e.args[0]) if e.args else str(e))
            return False
        except Exception as e:  # noqa: BLE001 - e.g. out of memory on a huge upload: say so, keep going
            self._error(f"could not show this: {type(e).__name__}: {e}")
            return False
        self.panels, self.current = panels, current
        self.scale_buttons.disabled = current.get("source") != "test"
        self.message.value = html.escape(note, quote=False)
        if panels:
            h, w = panels[0].size
            if old is None or reset_crop:
                s = max(4, min(h, w) // 4)
                fx, fy = LANDMARKS["left eye"] if current["source"] == "test" else LANDMARKS["centre"]
                crop = (round(fx * w - s / 2), round(fy * h - s / 2), s)
            elif old != (h, w):             # a new size: keep the crop's place and size relative
                oh, ow = old
                x, y, s = self.crop
                s2 = max(4, round(s * min(h, w) / min(oh, ow)))
                crop = (round((x + s / 2) / ow * w - s2 / 2), round((y + s / 2) / oh * h - s2 / 2), s2)
            else:
                crop = self.crop
            self._apply_crop(clamp_crop(crop, h, w))
        self._render()
        return True

    def _render(self) -> None:
        self.tiles = [render_tile(p, self.crop, self.display_scale) for p in self.panels]
        self.panel_box.children = [w.Image(value=_png(t), format="png") for t in self.tiles]


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


def open_viewer(profile: str = "auto", results_dir="results", runs_dir="runs", cache_dir="cache",
                data_root: str | None = "", color: str = "gray", luma: str = DEFAULT_LUMA, clip_noise: bool = False,
                seed: int = 0, live: bool = True, device: str | None = None, display_scale: int = 2,
                show_models=None, **overrides):
    """The viewer of one profile, choosing its source.

    LIVE when `live` and runs/<profile>/<model>/generator.pt exist and the test split can be loaded;
    if the checkpoints exist but the data does not, test images come from the gallery and uploads
    are still restored live; otherwise GALLERY (results/<profile>/gallery), uploads disabled. With
    neither, the widget says what to run first. Relative folders are taken from the checkout's root.
    show_models: the models ticked at start (None: see default_ticks). profile='auto': the
    longest-trained profile with runs, else with a gallery (resolve_viewer_profile).
    """
    results_dir, runs_dir, cache_dir = (resolve_project_path(p) for p in (results_dir, runs_dir, cache_dir))
    profile = resolve_viewer_profile(profile, results_dir, runs_dir)
    st = open_study(profile, str(results_dir), str(runs_dir), str(cache_dir), color=color, luma=luma,
                    clip_noise=clip_noise, seed=seed, device=device, **overrides)
    gallery_dir = st.results / "gallery"
    save_dir = st.results / "viewer"
    notes, gens, source, status = [], {}, None, ""
    if live:
        gens, notes = load_generators(st.runs, st.device, st.degrade.channels)
    if gens:
        try:
            test = load_test_set(st, data_root)
            source = LiveSource(test, gens)
            status = (f"<b>LIVE</b> [{profile}]: restorations computed now by {', '.join(gens)} "
                      f"(<code>{html.escape(str(st.runs))}/&lt;model&gt;/generator.pt</code>) on {st.device}; "
                      f"test inputs are the evaluation's deterministic degraded inputs (seed {seed}, "
                      f"{st.degrade.color}); {source.describe()}.")
        except (celeba.CelebAError, OSError, ValueError) as e:
            notes.append(f"test data not loaded ({e})")
            if (gallery_dir / "index.csv").is_file():
                source = GallerySource(gallery_dir)
            status = (f"<b>GALLERY + live uploads</b> [{profile}]: checkpoints found, but the test split "
                      f"could not be loaded, so test images come from the precomputed gallery"
                      + (f" ({html.escape(source.describe())})" if source else " (none found)")
                      + f"; your uploads are restored live by {', '.join(gens)}.")
    else:
        if (gallery_dir / "index.csv").is_file():
            source = GallerySource(gallery_dir)
            why = ("live = False" if not live else
                   f"no trained generator under <code>{html.escape(str(st.runs))}</code>")
            status = (f"<b>GALLERY</b> [{profile}]: precomputed restorations, "
                      f"{html.escape(source.describe())}. <b>Upload is disabled</b> ({why}); "
                      "train the models (02_sgen ...) and set live = True to restore your own faces.")
        else:
            status = (f"<b>Nothing to show</b> [{profile}]: no trained generator under "
                      f"<code>{html.escape(str(st.runs))}</code> and no gallery at "
                      f"<code>{html.escape(str(gallery_dir))}</code>. Run 02_sgen (run_all.sh) first.")
    if source is not None:
        source.titles = {**TITLES, **trained_labels(st)}
    if notes:
        status += "<br><small>" + "<br>".join(html.escape(n) for n in notes) + "</small>"
    if short_run_note(st.profile):  # smoke: say that flat gray restorations are expected
        status = f"<b style='color:#b00000'>{html.escape(short_run_note(st.profile))}</b><br>" + status
    label = f"[{profile}{' SMOKE: tiny models, a few steps' if profile == 'smoke' else ''}]"
    v = RestorationViewer(source, gens, save_dir=save_dir, luma=luma, display_scale=display_scale,
                          status=status, seed=seed, label=label, show_models=show_models)
    v.study = st
    return v
