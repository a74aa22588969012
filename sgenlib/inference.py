"""Restore any face image with a trained generator, and load generators from checkpoints."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

from .archs import build_generator, forward_padded
from .degrade import DEFAULT_LUMA, LUMA, to_model_range, to_pixel_range

MIN_SIDE = 16


def _as_array(image, channels: int, luma: str) -> np.ndarray:
    """PIL image (any mode) or array (H, W), (H, W, 1|3|4), uint8 or float in [0, 255] -> float (C, H, W)."""
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB" if image.mode not in ("L", "I", "I;16", "F") else "F"))
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise ValueError(f"expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"unsupported image dtype {arr.dtype}")
    arr = arr.astype(np.float32)
    if arr.ndim == 3:
        arr = arr[..., :3]                                      # drop alpha
    if arr.shape[0] < MIN_SIDE or arr.shape[1] < MIN_SIDE:
        raise ValueError(f"image is {arr.shape[0]}x{arr.shape[1]}; restore() needs sides of at least {MIN_SIDE} px")
    if channels == 1 and arr.ndim == 3:
        r, g, b = LUMA[luma]
        arr = r * arr[..., 0] + g * arr[..., 1] + b * arr[..., 2]
    if channels == 3 and arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


@torch.no_grad()
def restore(model: nn.Module, image, upscale: int = 1, luma: str = DEFAULT_LUMA) -> Image.Image:
    """Restore one degraded face and return a PIL image ('L' or 'RGB', as the model's channels).

    `image` is what the network expects: a noisy low-quality face at its target size (any size
    from 16 px, any PIL mode or an array). With upscale=4 an LR face is first enlarged x4 with
    nearest neighbour, as in the paper's pipeline. The image is reflect-padded to the model's size
    multiple, restored, and cropped back to its own size.
    """
    channels = _model_channels(model)
    arr = _as_array(image, channels, luma)
    x = torch.from_numpy(np.ascontiguousarray(arr)).unsqueeze(0)
    if upscale != 1:
        if upscale < 1 or int(upscale) != upscale:
            raise ValueError(f"upscale must be a positive integer, got {upscale}")
        x = torch.nn.functional.interpolate(x, scale_factor=int(upscale), mode="nearest")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    y = forward_padded(model, to_model_range(x.clamp(0, 255)).to(device))
    model.train(was_training)
    out = to_pixel_range(y[0].float().cpu()).round().clamp(0, 255).to(torch.uint8).numpy()
    return Image.fromarray(out[0] if channels == 1 else out.transpose(1, 2, 0))


def _model_channels(model: nn.Module) -> int:
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
    blob = torch.load(path, map_location="cpu", weights_only=True)
    cfg = blob["config"]
    # runs saved before the 'resample' setting existed used the kit's pooled resampling
    model = build_generator(cfg["model"], in_channels=cfg["in_channels"], width=cfg["width"], gate=cfg["gate"],
                            resample=cfg.get("resample", "pool"))
    model.load_state_dict(blob["generator"])
    return model.to(device).eval()
