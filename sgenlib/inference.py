"""Restore any face image with a trained generator, and load generators from checkpoints."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

from .archs import build_generator, forward_padded
from .degrade import DEFAULT_LUMA, rgb_to_gray, to_model_range, to_pixel_range
from .reads import note_read
from .train import check_generator, load_weights_file

MIN_SIDE = 16
WHOLE_IMAGE_PIXELS = 1024 * 1024
"""restore() runs images up to this many pixels (after upscaling) in one piece, larger ones in tiles."""
TILE, TILE_OVERLAP = 512, 64


def pixel_array(image) -> np.ndarray:
    """Any image the kit takes -> float32 array (H, W) or (H, W, 3|4) in [0, 255].

    Accepts a PIL image (any mode), a str/Path to an image file, or an array. Value ranges:
    uint8 as is; uint16 (and PIL's 16-bit modes, and integer arrays above 255) divided by 257
    (0-65535 -> 0-255), except a uint16 image whose values all lie in 0..255: 8-bit values stored
    in uint16 (a true 16-bit face that dark is near black), taken as is with a warning; float
    arrays whose values all lie in [0, 1] are taken as [0, 1] images and multiplied by 255, other
    floats as [0, 255]. NaN/inf, negative integers and integers above
    65535 are refused with a ValueError saying so."""
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise ValueError(f"no image file at {path}")
        try:
            with Image.open(path) as im:
                im.load()
                image = im.copy()
        except Exception as e:  # noqa: BLE001 - PIL raises many kinds for a non-image
            raise ValueError(f"could not read {path} as an image ({type(e).__name__}: {e})") from None
    if isinstance(image, Image.Image):
        if image.mode.startswith("I;16"):
            image = np.asarray(image).astype(np.uint16)
        elif image.mode not in ("L", "RGB", "RGBA", "I", "F"):
            image = image.convert("RGB")                      # P, 1, LA, CMYK, ...: alpha is dropped anyway
    arr = np.asarray(image)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"unsupported image dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32)
        if not np.isfinite(arr).all():
            raise ValueError(f"the image holds {int((~np.isfinite(arr)).sum())} NaN or infinite value(s); "
                             "restore() needs finite pixel values")
        if arr.size and arr.min() >= 0 and arr.max() <= 1:
            arr = arr * 255.0                                   # a [0, 1] float image
        return arr
    lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
    if lo < 0 or hi > 65535:
        raise ValueError(f"integer image values span {lo}..{hi}; expected 0..255 (8-bit) or 0..65535 (16-bit)")
    if arr.dtype == np.uint16 and hi <= 255 and arr.size:
        warnings.warn(f"a uint16 image whose values all lie in 0..{hi} (<= 255) is taken as 8-bit values stored in "
                      "uint16, not as 16-bit (which would be near black); pass uint8 (8-bit) or values scaled "
                      "to 0..65535 (16-bit) to say which", stacklevel=3)
        return arr.astype(np.float32)
    if arr.dtype == np.uint16 or hi > 255:
        return arr.astype(np.float32) / 257.0                   # 16-bit: 65535 -> 255
    return arr.astype(np.float32)


def image_array(image, channels: int, luma: str) -> np.ndarray:
    """An image (see pixel_array) of shape (H, W), (H, W, 1|3|4) -> float (C, H, W) in [0, 255]."""
    arr = pixel_array(image)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise ValueError(f"expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}")
    if arr.ndim == 3:
        arr = arr[..., :3]                                      # drop alpha
    if arr.shape[0] < MIN_SIDE or arr.shape[1] < MIN_SIDE:
        raise ValueError(f"image is {arr.shape[0]}x{arr.shape[1]}; restore() needs sides of at least {MIN_SIDE} px")
    if channels == 1 and arr.ndim == 3:
        arr = rgb_to_gray(arr, luma)                            # float: the luma weights, unrounded
    if channels == 3 and arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def _spans(n: int, core: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """(window start, window end, core start, core end) along one side of length n."""
    out = []
    for c0 in range(0, n, core):
        c1 = min(n, c0 + core)
        out.append((max(0, c0 - overlap), min(n, c1 + overlap), c0, c1))
    return out


def restore_tiled(model: nn.Module, x: torch.Tensor, tile: int = TILE, overlap: int = TILE_OVERLAP) -> torch.Tensor:
    """Run `model` on x (1, C, H, W) in the model range, tile by tile: each tile of `tile` px is
    restored with `overlap` px of its neighbours around it and only its core is kept, so memory
    is bounded by one (tile + 2 overlap)^2 window whatever the image size. Away from tile seams
    the result matches the whole-image one; near them it differs slightly (the network sees
    `overlap` px of context, not the whole image; see tests/test_reliability.py for the measured
    difference)."""
    if tile < MIN_SIDE or overlap < 0:
        raise ValueError(f"tile must be >= {MIN_SIDE} px and overlap >= 0, got {tile}, {overlap}")
    device = next(model.parameters()).device
    _, c, h, w = x.shape
    out = None
    for y0, y1, cy0, cy1 in _spans(h, tile, overlap):
        for x0, x1, cx0, cx1 in _spans(w, tile, overlap):
            y = forward_padded(model, x[..., y0:y1, x0:x1].to(device)).float().cpu()
            if out is None:
                out = torch.empty(1, y.shape[1], h, w)
            out[..., cy0:cy1, cx0:cx1] = y[..., cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]
    return out


@torch.no_grad()
def restore(model: nn.Module, image, upscale: int = 1, luma: str = DEFAULT_LUMA,
            tile: int | None = None, overlap: int = TILE_OVERLAP) -> Image.Image:
    """Restore one degraded face and return a PIL image ('L' or 'RGB', as the model's channels).

    `image` is what the network expects: a noisy low-quality face at its target size (any size
    from 16 px): a PIL image (any mode), a path to an image file, or an array (uint8, 16-bit,
    or float in [0, 1] or [0, 255]; see pixel_array). With upscale=4 an LR face is first enlarged
    x4 with nearest neighbour, as in the paper's pipeline. The image is reflect-padded to the
    model's size multiple, restored, and cropped back to its own size. Images above
    WHOLE_IMAGE_PIXELS (after upscaling) are restored in tiles of `tile` px (default TILE) with
    `overlap` px of context (restore_tiled); `tile=0` forces one piece.
    """
    channels = model_channels(model)
    arr = image_array(image, channels, luma)
    x = torch.from_numpy(np.ascontiguousarray(arr)).unsqueeze(0)
    if upscale != 1:
        if upscale < 1 or int(upscale) != upscale:
            raise ValueError(f"upscale must be a positive integer, got {upscale}")
        x = torch.nn.functional.interpolate(x, scale_factor=int(upscale), mode="nearest")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    x = to_model_range(x.clamp(0, 255))
    h, w = x.shape[-2:]
    if tile is None:
        tile = TILE if h * w > WHOLE_IMAGE_PIXELS else 0
    try:
        y = restore_tiled(model, x, tile, overlap) if tile else forward_padded(model, x.to(device)).float().cpu()
    finally:
        model.train(was_training)
    out = to_pixel_range(y[0]).round().clamp(0, 255).to(torch.uint8).numpy()
    return Image.fromarray(out[0] if channels == 1 else out.transpose(1, 2, 0))


def model_channels(model: nn.Module) -> int:
    """The image channels `model` takes (those of its first convolution): 1 gray, 3 RGB."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            return m.in_channels
    raise ValueError("cannot tell the model's input channels")


def load_generator(run_dir: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """The trained generator of one training run folder (written by sgenlib.train)."""
    run_dir = Path(run_dir)
    path = run_dir / "generator.pt"
    if not path.is_file():
        raise FileNotFoundError(f"no trained generator at {path}")
    check_generator(run_dir)                       # CheckpointError unless the file its run wrote
    blob = load_weights_file(path)                 # CheckpointError naming the file if damaged
    note_read(path)
    cfg = blob["config"]
    # runs saved before the 'resample' setting existed used the kit's pooled resampling, and those
    # saved before 'baseline_recipe' the kit-v1 baselines (RED-Net at 64 feature maps, ...)
    model = build_generator(cfg["model"], in_channels=cfg["in_channels"], width=cfg["width"], gate=cfg["gate"],
                            resample=cfg.get("resample", "pool"), recipe=cfg.get("baseline_recipe", "kit-v1"))
    model.load_state_dict(blob["generator"])
    return model.to(device).eval()
