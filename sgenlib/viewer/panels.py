"""What the viewer shows: a :class:`Panel` per image (ground truth, degraded input, each model's
restoration) with its PSNR/SSIM, the models ticked at start, and images as uint8 numpy arrays."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

TITLES = {"ground_truth": "ground truth (HR)", "input": "degraded input"}
DEFAULT_TICKED = ("SGEN", "SGEN-MSE", "SRGAN", "URDGN")


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


def hwc(img) -> np.ndarray:
    """uint8 image as (H, W) or (H, W, 3) from (H, W), (H, W, 1|3|4), (1|3, H, W) arrays or tensors."""
    a = img.cpu().numpy() if torch.is_tensor(img) else np.asarray(img)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3, 4):
        a = a.transpose(1, 2, 0)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim == 3 and a.shape[-1] == 4:
        a = a[..., :3]
    return np.ascontiguousarray(a.astype(np.uint8))


def default_ticks(models) -> set[str]:
    """Models ticked at start: all when there are at most four, else SGEN, SGEN-MSE and the two
    adversarial baselines of Tables 3-4 (SRGAN, URDGN) that exist (the first four if none do)."""
    models = list(models)
    if len(models) <= 4:
        return set(models)
    return {m for m in DEFAULT_TICKED if m in models} or set(models[:4])
