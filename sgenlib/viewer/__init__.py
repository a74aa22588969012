"""Side-by-side restoration viewer: ground truth, degraded input and each model's restoration of one
face at one scale, PSNR/SSIM under each, a zoomed crop at the same place in every panel, and a
button that saves what is on screen as one PNG.

One module per job; all but `app` are plain numpy/PIL/torch and never import ipywidgets, so the
report layer, tests and scripts can use them without a browser:

  panels   a :class:`Panel` per image (title, uint8 image, PSNR/SSIM, caption), the models ticked at start
  render   one tile per panel, tiles side by side (:func:`render_tile`, :func:`compose`), the crop's place
  uploads  a face of your own: decoded (:func:`decode_upload`) and restored (:func:`upload_panels`)
  sources  test images LIVE (checkpoints + test split) or from the GALLERY (results/<profile>/gallery),
           and which one a profile gets (:func:`choose_source`)
  app      the ipywidgets front end (:class:`RestorationViewer`) and :func:`open_viewer`

The names of `app` are found here lazily (module __getattr__, PEP 562): importing
``sgenlib.viewer.render`` runs this file but imports no widget.
"""
from .panels import DEFAULT_TICKED, TITLES, Panel, default_ticks
from .render import (CROP_COLOR, GAP, LANDMARKS, LINE, MIN_TILE_WIDTH, PAD, clamp_crop, compose,
                     render_tile, tile_size, zoom_factor)
from .sources import (VIEWER_PROFILE_ORDER, GallerySource, LiveSource, choose_source, load_generators,
                      resolve_viewer_profile)
from .uploads import MAX_UPLOAD_BYTES, MAX_UPLOAD_SIDE, UploadError, decode_upload, upload_panels

APP_NAMES = ("RestorationViewer", "open_viewer", "MAX_ID_OPTIONS")
"""Names of the widget module (sgenlib.viewer.app), imported on first use."""


def __getattr__(name: str):
    if name in APP_NAMES:
        from . import app
        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *APP_NAMES])
