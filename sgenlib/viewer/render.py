"""The viewer's pictures, plain numpy/PIL: one tile per panel (title, image with the crop outlined,
the crop magnified, PSNR/SSIM), tiles side by side under a header (what the save button writes),
and where the crop goes (kept inside the image, on a face's features, following a new size)."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .panels import Panel

# Where features sit in CelebA's aligned faces, as (x, y) fractions of the width and height
# (means of list_landmarks_align_celeba.txt, rounded); the six scales resize the whole face, so
# the fractions hold at every scale.
LANDMARKS = {"left eye": (0.39, 0.51), "right eye": (0.61, 0.51), "nose": (0.50, 0.62),
             "mouth": (0.50, 0.70), "centre": (0.50, 0.50)}
CROP_COLOR = (230, 30, 30)
PAD, GAP, LINE = 6, 8, 15        # tile padding, gap between tiles, text line height (px)
MIN_TILE_WIDTH = 150


def _font(size: int = 12):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _rgb(img: np.ndarray) -> np.ndarray:
    return np.repeat(img[..., None], 3, axis=-1) if img.ndim == 2 else img


def clamp_crop(crop: tuple[int, int, int], height: int, width: int) -> tuple[int, int, int]:
    """(x, y, size) kept inside an image of height x width (size at least 4 px)."""
    x, y, size = (int(v) for v in crop)
    size = max(min(4, height, width), min(size, height, width))
    return max(0, min(x, width - size)), max(0, min(y, height - size)), size


def landmark_crop(landmark: str, height: int, width: int, size: int) -> tuple[int, int, int]:
    """A crop of `size` px centred on a feature of an aligned face (LANDMARKS); not clamped."""
    fx, fy = LANDMARKS[landmark]
    return round(fx * width - size / 2), round(fy * height - size / 2), size


def follow_crop(crop: tuple[int, int, int], old: tuple[int, int], new: tuple[int, int]) -> tuple:
    """The crop on an image of a new (height, width): its place and size kept relative; not clamped."""
    (oh, ow), (h, w) = old, new
    x, y, s = crop
    s2 = max(4, round(s * min(h, w) / min(oh, ow)))
    return round((x + s / 2) / ow * w - s2 / 2), round((y + s / 2) / oh * h - s2 / 2), s2


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


def png_bytes(arr: np.ndarray) -> bytes:
    """An RGB uint8 array as the bytes of a PNG file (what an image widget shows)."""
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()
