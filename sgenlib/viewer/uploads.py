"""A face of your own in the viewer: the uploaded bytes decoded (plain messages for anything that
is not a usable image) and restored by each trained generator. An upload has no ground truth: it
is either taken as a degraded network input at its own size, or as a low-resolution face that is
first enlarged x4 with nearest neighbour (the paper's pipeline). No PSNR/SSIM is shown for it."""
from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..degrade import DEFAULT_LUMA
from ..inference import MIN_SIDE, image_array, model_channels, pixel_array, restore
from .panels import Panel, hwc

MAX_UPLOAD_BYTES = 25 * 2**20
MAX_UPLOAD_SIDE = 512            # network inputs larger than this are shrunk first (CPU time)


class UploadError(ValueError):
    """An uploaded file that cannot be restored; the message is shown in the widget."""


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


def _shrink(image: Image.Image, up: int, max_side: int) -> tuple[Image.Image, str]:
    """The image made small enough that, enlarged `up` times, no side exceeds max_side; and a note
    saying so ('' when it already was)."""
    w0, h0 = image.size
    note = ""
    if max(w0, h0) * up > max_side:
        f = max_side / (max(w0, h0) * up)
        image = image.resize((max(1, round(w0 * f)), max(1, round(h0 * f))), Image.LANCZOS)
        note = (f"shrunk from {w0}x{h0} to {image.size[0]}x{image.size[1]} px so the network input "
                f"is at most {max_side} px")
    return image, note


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
    image, note = _shrink(image, up, max_side)
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
    panels = [Panel("input", title, hwc(net_in), note=no_gt)]
    for m in models:
        if m in generators:
            out = restore(generators[m], image, upscale=up, luma=luma)
            panels.append(Panel(m, m, hwc(np.asarray(out)), note=no_gt))
    return panels, note
