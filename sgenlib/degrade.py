"""The paper's degradation (section 4.1), in torch, batched, on whatever device the batch is on.

    face (uint8 gray, 218x178) --float32, bicubic--> scale (H x W) = HR reference
    HR --bicubic x1/4--> LR --+ N(0, sigma^2), sigma = 30 in 8-bit units--> noisy LR
    noisy LR --nearest x4--> network input (H x W), values mapped to [-1, 1]

Where the paper is silent the defaults follow the authors' public code (docs/protocol.md): the
face is converted to 8-bit gray with OpenCV's BGR->gray formula applied to RGB data (luma
"authors": 0.114 R + 0.587 G + 0.299 B), then converted to float32, and every resize runs in
float (OpenCV INTER_CUBIC on float32 images): HR and LR are neither rounded nor clipped, and
the noise is added in float, not clipped, not quantized. Options: luma="standard" (0.299 R +
0.587 G + 0.114 B), clip_noise=True, round_8bit=True (kit v1: HR and LR rounded to 8 bits and
clipped, as if resized as uint8 images). torch's bicubic (align_corners=False, antialias=False)
is the same kernel as OpenCV's INTER_CUBIC (a = -0.75); tests/test_degrade.py compares the
whole pipeline with the authors' OpenCV pipeline on real faces.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

LUMA = {
    "standard": (0.299, 0.587, 0.114),  # ITU-R BT.601, what cv2 applies to BGR data correctly
    "authors": (0.114, 0.587, 0.299),   # the authors' code: BGR formula applied to RGB data
}
DEFAULT_LUMA = "authors"
"""The luma of every entry point (data, study, training, viewer): the authors' code, as the paper
does not say how the faces become gray."""
_LUMA_Q15 = {"standard": (9798, 19235, 3735), "authors": (3735, 19235, 9798)}
"""LUMA in OpenCV's 15-bit fixed point (0.299, 0.587 rounded; 0.114 takes the rest of 32768)."""


@dataclass(frozen=True)
class DegradeOptions:
    """Everything that defines the degraded images; recorded with every result."""

    color: str = "gray"          # 'gray' (authors' code) or 'rgb'
    luma: str = DEFAULT_LUMA     # 'authors' (their code: channels swapped) or 'standard'; gray only
    clip_noise: bool = False     # clip the noisy LR to [0, 255] (the authors' code does not)
    round_8bit: bool = False     # round and clip HR and LR to 8 bits (kit v1; the authors' code does not)
    noise_sigma: float = 30.0    # in 8-bit units
    factor: int = 4              # down / up sampling factor

    def __post_init__(self):
        if self.color not in ("gray", "rgb"):
            raise ValueError(f"color must be 'gray' or 'rgb', got {self.color!r}")
        if self.luma not in LUMA:
            raise ValueError(f"luma must be one of {sorted(LUMA)}, got {self.luma!r}")
        if self.noise_sigma < 0:
            raise ValueError(f"noise_sigma must be >= 0, got {self.noise_sigma}")
        if self.factor < 1:
            raise ValueError(f"factor must be >= 1, got {self.factor}")

    @property
    def channels(self) -> int:
        return 1 if self.color == "gray" else 3

    def as_dict(self) -> dict:
        return asdict(self)


def rgb_to_gray(rgb: np.ndarray, luma: str = DEFAULT_LUMA) -> np.ndarray:
    """(..., 3) RGB -> (...) gray with the chosen luma weights: the kit's one gray conversion (data,
    inference, viewer and the MOS proxy call it).

    uint8 in, uint8 out, bit-exact with OpenCV's cvtColor (15-bit fixed point, rounded):
    'standard' = COLOR_RGB2GRAY, 'authors' = COLOR_BGR2GRAY applied to RGB data. Any other dtype
    (16-bit scaled to 0..255, float): the float32 weighted sum with LUMA's weights, not rounded."""
    if luma not in LUMA:
        raise ValueError(f"luma must be one of {sorted(LUMA)}, got {luma!r}")
    rgb = np.asarray(rgb)
    if rgb.shape[-1:] != (3,):
        raise ValueError(f"expected RGB values on the last axis (..., 3), got shape {rgb.shape}")
    if rgb.dtype != np.uint8:
        r, g, b = LUMA[luma]
        x = rgb.astype(np.float32)
        return r * x[..., 0] + g * x[..., 1] + b * x[..., 2]
    r, g, b = _LUMA_Q15[luma]
    x = rgb.astype(np.int32)
    gray = (r * x[..., 0] + g * x[..., 1] + b * x[..., 2] + (1 << 14)) >> 15
    return gray.astype(np.uint8)


def resize_bicubic(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bicubic resize of a float (B, C, H, W) batch, OpenCV INTER_CUBIC semantics."""
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False, antialias=False)


def to_model_range(x: torch.Tensor) -> torch.Tensor:
    """[0, 255] -> [-1, 1]."""
    return x / 127.5 - 1.0


def to_pixel_range(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 255] (not rounded)."""
    return (x + 1.0) * 127.5


def check_scale(scale: tuple[int, int], factor: int = 4) -> None:
    h, w = scale
    if h <= 0 or w <= 0 or h % factor or w % factor:
        raise ValueError(f"scale {h}x{w} must be positive and divisible by the factor {factor}")


def reference_at_scale(images: torch.Tensor, scale: tuple[int, int], round_8bit: bool = False) -> torch.Tensor:
    """uint8 (B, C, H0, W0) faces -> float32 HR references at `scale`, in 8-bit units (bicubic in
    float, as the authors' code: not rounded, so they may leave [0, 255] slightly); `round_8bit`
    rounds and clips them (kit v1)."""
    if images.dim() != 4:
        raise ValueError(f"expected a (B, C, H, W) batch, got shape {tuple(images.shape)}")
    hr = resize_bicubic(images.float(), scale)
    return hr.round_().clamp_(0, 255) if round_8bit else hr


def degrade_batch(images: torch.Tensor, scale: tuple[int, int], noise: torch.Tensor,
                  opts: DegradeOptions = DegradeOptions()) -> tuple[torch.Tensor, torch.Tensor]:
    """Degrade a batch of faces at one scale.

    images: uint8 (B, C, H0, W0) on any device; noise: standard normal (B, C, H/f, W/f) on the
    same device (the caller owns the randomness, so test inputs can be made deterministic).
    Returns (network input, HR target), both float (B, C, H, W), 8-bit units mapped to [-1, 1]
    (the input leaves that range where the noise does, as it is not clipped by default; bicubic
    overshoot takes the target a little outside it unless round_8bit).
    """
    check_scale(scale, opts.factor)
    h, w = scale
    lr_size = (h // opts.factor, w // opts.factor)
    if tuple(noise.shape[-2:]) != lr_size or noise.shape[0] != images.shape[0]:
        raise ValueError(f"noise has shape {tuple(noise.shape)}, expected (B, C, {lr_size[0]}, {lr_size[1]})")
    hr = reference_at_scale(images, scale, opts.round_8bit)
    lr = resize_bicubic(hr, lr_size)
    if opts.round_8bit:
        lr = lr.round_().clamp_(0, 255)
    lr = lr + opts.noise_sigma * noise.to(lr.dtype)
    if opts.clip_noise:
        lr = lr.clamp(0, 255)
    up = F.interpolate(lr, size=scale, mode="nearest")
    return to_model_range(up), to_model_range(hr)


def fixed_noise_seed(image_id: str, scale: tuple[int, int], seed: int) -> int:
    """A seed that depends only on (image id, scale, seed): stable across runs, devices and processes."""
    digest = hashlib.sha256(f"{seed}:{image_id}:{scale[0]}x{scale[1]}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def fixed_noise(image_ids: list[str], scale: tuple[int, int], channels: int, seed: int,
               factor: int = 4) -> torch.Tensor:
    """Standard-normal noise for test images, one CPU generator per image, so every model in every
    run is scored on identical degraded inputs whatever the batch size or device."""
    h, w = scale[0] // factor, scale[1] // factor
    out = torch.empty(len(image_ids), channels, h, w)
    gen = torch.Generator()
    for i, image_id in enumerate(image_ids):
        gen.manual_seed(fixed_noise_seed(str(image_id), scale, seed))
        out[i] = torch.randn(channels, h, w, generator=gen)
    return out


def degrade_test_batch(images: torch.Tensor, image_ids: list[str], scale: tuple[int, int],
                       seed: int, opts: DegradeOptions = DegradeOptions()) -> tuple[torch.Tensor, torch.Tensor]:
    """Deterministic test inputs: degrade_batch with noise fixed by (image id, scale, seed)."""
    noise = fixed_noise(image_ids, scale, images.shape[1], seed, opts.factor).to(images.device)
    return degrade_batch(images, scale, noise, opts)
