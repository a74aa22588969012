"""PSNR and SSIM as the paper reports them, and bootstrap confidence intervals.

Convention (written beside every table): images quantized to 8 bits (x255 of [0, 1], i.e.
(x + 1) * 127.5 rounded and clipped), on the gray channel (or all three RGB channels), no border
crop; PSNR with data range 255; SSIM of Wang et al. 2004: Gaussian window sigma = 1.5 (11x11),
K1 = 0.01, K2 = 0.03, population covariances. Reference implementation: scikit-image. The torch
twins compute the same numbers on a batch (float64), for validation during training and for
large evaluations; a test holds them to 1e-4 dB and 1e-5 of scikit-image. Sources of each
choice: docs/protocol.md#metrics.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

CONVENTION = ("PSNR/SSIM on 8-bit quantized images ((x+1)*127.5, rounded, clipped), "
              "{channel} channel, no border crop; PSNR data range 255; SSIM (Wang et al. 2004) "
              "Gaussian window sigma 1.5, K1 0.01, K2 0.03; mean per scale with a 95% bootstrap CI "
              "(scipy, BCa, 2000 resamples, over test images).")


def quantize(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float -> uint8 [0, 255] (rounded, clipped), as every metric sees the images."""
    return ((x.float() + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)


def psnr_ssim(pred: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """One image pair, uint8 (H, W) or (C, H, W): (PSNR dB, SSIM), scikit-image."""
    if pred.shape != ref.shape:
        raise ValueError(f"shape mismatch: {pred.shape} vs {ref.shape}")
    if pred.ndim == 3 and pred.shape[0] == 1:
        pred, ref = pred[0], ref[0]
    kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255, K1=0.01, K2=0.03)
    if pred.ndim == 3:
        ssim = structural_similarity(ref, pred, channel_axis=0, **kw)
    else:
        ssim = structural_similarity(ref, pred, **kw)
    return float(peak_signal_noise_ratio(ref, pred, data_range=255)), float(ssim)


def _pairs(args):
    preds, refs = args
    return [psnr_ssim(p, r) for p, r in zip(preds, refs)]


def psnr_ssim_batch(preds: np.ndarray, refs: np.ndarray, workers: int | None = None) -> np.ndarray:
    """(N, C, H, W) uint8 pairs -> (N, 2) array of (PSNR, SSIM), over `workers` processes."""
    workers = workers or 1
    if workers <= 1 or len(preds) < 64:
        return np.array(_pairs((preds, refs))).reshape(-1, 2)
    chunks = np.array_split(np.arange(len(preds)), workers * 4)
    with ProcessPoolExecutor(workers) as pool:
        out = list(pool.map(_pairs, [(preds[c], refs[c]) for c in chunks]))
    return np.array([v for part in out for v in part]).reshape(-1, 2)


def default_workers() -> int:
    return max(1, min(16, (os.cpu_count() or 1)))


def psnr_torch(pred_u8: torch.Tensor, ref_u8: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR (dB) of uint8 (B, C, H, W) batches, float64."""
    mse = (pred_u8.double() - ref_u8.double()).pow(2).mean(dim=(1, 2, 3))
    return 10 * torch.log10(255.0 ** 2 / mse)


def _gaussian_window(sigma: float = 1.5, truncate: float = 3.5, device=None) -> torch.Tensor:
    radius = int(truncate * sigma + 0.5)                        # scipy's gaussian_filter radius
    t = torch.arange(-radius, radius + 1, dtype=torch.float64, device=device)
    g = torch.exp(-0.5 * (t / sigma) ** 2)
    return g / g.sum()


def ssim_torch(pred_u8: torch.Tensor, ref_u8: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM of uint8 (B, C, H, W) batches, float64; equals scikit-image's with
    gaussian_weights=True, sigma=1.5 (a separable 11-tap filter; scikit-image crops the border
    that its reflect padding touches, so a 'valid' convolution gives the same values)."""
    x, y = pred_u8.double(), ref_u8.double()
    b, c, h, w = x.shape
    g = _gaussian_window(device=x.device)
    k = g.numel()

    def blur(t):
        t = t.reshape(b * c, 1, t.shape[-2], t.shape[-1])
        t = F.conv2d(t, g.view(1, 1, 1, k))
        return F.conv2d(t, g.view(1, 1, k, 1))

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s.reshape(b, c, -1).mean(dim=(1, 2))


def bootstrap_ci(values, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% BCa bootstrap interval of the mean (scipy); (nan, nan) for fewer than 2 values,
    (v, v) when all values are equal."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return float("nan"), float("nan")
    if np.all(v == v[0]):
        return float(v[0]), float(v[0])
    res = stats.bootstrap((v,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                          method="BCa", random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def summarize(per_image, by=("model", "scale")):
    """Per-image metrics -> mean PSNR / SSIM per group with 95% bootstrap CIs and n."""
    import pandas as pd
    rows = []
    for key, g in per_image.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        p_lo, p_hi = bootstrap_ci(g["psnr_db"])
        s_lo, s_hi = bootstrap_ci(g["ssim"])
        rows.append({**dict(zip(by, key)), "psnr_db": g["psnr_db"].mean(), "psnr_ci_low": p_lo,
                     "psnr_ci_high": p_hi, "ssim": g["ssim"].mean(), "ssim_ci_low": s_lo,
                     "ssim_ci_high": s_hi, "n_images": len(g)})
    return pd.DataFrame(rows)
