"""The viewer in JupyterLab: the ipywidgets front end (:class:`RestorationViewer`) over the plain
panels, sources, uploads and rendering of this package, and :func:`open_viewer`, which picks a
profile's source and opens it.

The widget keeps what it shows in ``viewer.panels`` (a list of :class:`Panel`) and ``viewer.crop``;
``viewer.compose()`` is the image the save button writes. ipywidgets has no click events on images
(that needs ipyevents, not a dependency), so the crop is moved with sliders and with buttons that
jump to the eyes, nose and mouth of an aligned face.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

import ipywidgets as w
import numpy as np
from PIL import Image

from ..degrade import DEFAULT_LUMA
from ..paper import sort_models
from ..paths import resolve_project_path
from ..study import open_study
from ..widgets import widget_text
from .panels import Panel, default_ticks
from .render import LANDMARKS, clamp_crop, compose, follow_crop, landmark_crop, png_bytes, render_tile
from .sources import choose_source, resolve_viewer_profile
from .uploads import MAX_UPLOAD_SIDE, UploadError, decode_upload, upload_panels

MAX_ID_OPTIONS = 1000            # ids offered in the combobox (any test id can still be typed)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(name)).strip("-.")[:60] or "image"


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

        self.status = w.HTML(status)
        self._build_test_controls(show_models)
        self._build_upload_controls(upload_note)
        self._build_crop_controls()
        self._connect()
        self.children = self._layout()
        if source is None and not self.generators:
            for c in (self.source_toggle, self.save_button, self.crop_x, self.crop_y, self.crop_size,
                      *self.jump_buttons.values()):
                c.disabled = True
        self._refresh()

    # ---- the controls
    def _build_test_controls(self, show_models) -> None:
        """Test image (source toggle, id, random), scale and the model checkboxes."""
        source = self.source
        ids = list(source.ids) if source else []
        scales = list(source.scales) if source else []
        models = sort_models([*(source.models if source else []), *self.generators])
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

    def _build_upload_controls(self, upload_note: str) -> None:
        """The upload button, its mode and the help line (disabled without generators)."""
        can_upload = bool(self.generators)
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

    def _build_crop_controls(self) -> None:
        """Crop sliders, landmark buttons, the save button, the message line and the panels' box."""
        sl = dict(continuous_update=False, layout=w.Layout(width="330px"))
        self.crop_x = w.IntSlider(description="crop x", min=0, max=1, value=0, **sl)
        self.crop_y = w.IntSlider(description="crop y", min=0, max=1, value=0, **sl)
        self.crop_size = w.IntSlider(description="crop size", min=4, max=16, value=16, **sl)
        self.jump_buttons = {k: w.Button(description=k, layout=w.Layout(width="auto")) for k in LANDMARKS}
        self.save_button = w.Button(description="save panel as PNG", icon="save", button_style="primary",
                                    layout=w.Layout(width="auto"))
        self.message = w.HTML()
        self.panel_box = w.Box(layout=w.Layout(display="flex", flex_flow="row wrap", align_items="flex-start"))

    def _connect(self) -> None:
        """Every control to the method that does what it asks."""
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

    def _layout(self) -> list:
        """The rows on screen, top to bottom."""
        return [
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
        h, w = self.panels[0].size
        x, y, _ = landmark_crop(landmark, h, w, self.crop[2])
        return self.set_crop(x, y)

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
                start = "left eye" if current["source"] == "test" else "centre"
                crop = landmark_crop(start, h, w, max(4, min(h, w) // 4))
            elif old != (h, w):             # a new size: keep the crop's place and size relative
                crop = follow_crop(self.crop, old, (h, w))
            else:
                crop = self.crop
            self._apply_crop(clamp_crop(crop, h, w))
        self._render()
        return True

    def _render(self) -> None:
        self.tiles = [render_tile(p, self.crop, self.display_scale) for p in self.panels]
        self.panel_box.children = [w.Image(value=png_bytes(t), format="png") for t in self.tiles]


def open_viewer(profile: str = "auto", results_dir="results", runs_dir="runs", cache_dir="cache",
                data_root: str | None = "", color: str = "gray", luma: str = DEFAULT_LUMA, clip_noise: bool = False,
                seed: int = 0, live: bool = True, device: str | None = None, display_scale: int = 2,
                show_models=None, **overrides):
    """The viewer of one profile, choosing its source.

    LIVE when `live` and runs/<profile>/<model>/generator.pt exist and the test split can be loaded;
    if the checkpoints exist but the data does not, test images come from the gallery and uploads
    are still restored live; otherwise GALLERY (results/<profile>/gallery), uploads disabled. With
    neither, the widget says what to run first (sources.choose_source). Relative folders are taken
    from the checkout's root. show_models: the models ticked at start (None: see default_ticks).
    profile='auto': the longest-trained profile with runs, else with a gallery (resolve_viewer_profile).
    """
    results_dir, runs_dir, cache_dir = (resolve_project_path(p) for p in (results_dir, runs_dir, cache_dir))
    profile = resolve_viewer_profile(profile, results_dir, runs_dir)
    st = open_study(profile, str(results_dir), str(runs_dir), str(cache_dir), color=color, luma=luma,
                    clip_noise=clip_noise, seed=seed, device=device, **overrides)
    source, gens, status = choose_source(st, data_root, live)
    label = f"[{profile}{' SMOKE: tiny models, a few steps' if profile == 'smoke' else ''}]"
    v = RestorationViewer(source, gens, save_dir=st.results / "viewer", luma=luma, display_scale=display_scale,
                          status=status, seed=seed, label=label, show_models=show_models)
    v.study = st
    return v
