"""Scoring on the test split: every model on the same deterministic degraded inputs at all six
scales, per-image PSNR/SSIM, the degraded input's own scores as the floor, inference timing,
and the small gallery of restorations the viewer and the MOS app read.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
from PIL import Image

from . import metrics
from .archs import forward_padded
from .degrade import DegradeOptions, degrade_test_batch
from .paper import SCALES, scale_name
from .progress import progress as progress_of
from .timing import sync


class TestSet:
    """The test faces and their degraded versions at each scale, built once and shared by every
    model of a run. Inputs depend only on (image id, scale, seed): see degrade.fixed_noise."""

    def __init__(self, images, image_ids: list[str], degrade: DegradeOptions = DegradeOptions(),
                 seed: int = 0, scales=SCALES, device="cpu"):
        images = torch.as_tensor(np.asarray(images)) if not torch.is_tensor(images) else images
        if len(images) != len(image_ids):
            raise ValueError(f"{len(images)} images but {len(image_ids)} ids")
        self.images, self.ids = images, [str(i) for i in image_ids]
        self.degrade, self.seed, self.device = degrade, seed, torch.device(device)
        self.scales = [tuple(s) for s in scales]
        self._cache: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}

    def at_scale(self, scale) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs float [-1, 1], targets uint8) for all test images at `scale`, on the device."""
        scale = tuple(scale)
        if scale not in self._cache:
            inp, target = degrade_test_batch(self.images.to(self.device), self.ids, scale, self.seed, self.degrade)
            self._cache[scale] = (inp, metrics.quantize(target))
        return self._cache[scale]

    def subset(self, image_ids: list[str]) -> "TestSet":
        pos = [self.ids.index(str(i)) for i in image_ids]
        return TestSet(self.images[pos], [self.ids[p] for p in pos], self.degrade, self.seed, self.scales, self.device)


@torch.no_grad()
def restore_batches(model: nn.Module, inputs: torch.Tensor, batch_size: int) -> torch.Tensor:
    """uint8 restorations of float inputs, in batches (fp32; TF32 convolutions where CUDA allows)."""
    model.eval()
    out = [metrics.quantize(forward_padded(model, inputs[i:i + batch_size]))
           for i in range(0, len(inputs), batch_size)]
    return torch.cat(out)


def _score(pred_u8: torch.Tensor, ref_u8: torch.Tensor, backend: str) -> np.ndarray:
    if backend == "torch":
        return torch.stack([metrics.psnr_torch(pred_u8, ref_u8), metrics.ssim_torch(pred_u8, ref_u8)], 1).cpu().numpy()
    if backend == "skimage":
        return metrics.psnr_ssim_batch(pred_u8.cpu().numpy(), ref_u8.cpu().numpy(), metrics.default_workers())
    raise ValueError(f"metric backend must be 'skimage' or 'torch', got {backend!r}")


def evaluate(model: nn.Module | None, name: str, test: TestSet, batch_size: int = 64,
             backend: str = "skimage", progress: bool = True) -> pd.DataFrame:
    """Per-image PSNR/SSIM of `model` at every scale; model=None scores the degraded input
    itself (the floor every restoration should beat)."""
    rows = []
    for scale in progress_of(test.scales, f"eval {name}", unit="scales", disable=not progress):
        inp, ref = test.at_scale(scale)
        pred = metrics.quantize(inp) if model is None else restore_batches(model, inp, batch_size)
        scores = _score(pred, ref, backend)
        rows.append(pd.DataFrame({"model": name, "image_id": test.ids, "scale": scale_name(scale),
                                  "psnr_db": scores[:, 0], "ssim": scores[:, 1]}))
    return pd.concat(rows, ignore_index=True)


def skimage_agreement(model: nn.Module | None, test: TestSet, n_images: int = 8, batch_size: int = 64) -> dict:
    """Largest |torch - scikit-image| PSNR and SSIM gap over a few images at every scale: the check
    recorded beside results computed with the torch backend."""
    small = test.subset(test.ids[:n_images])
    worst = {"max_abs_psnr_db": 0.0, "max_abs_ssim": 0.0, "n_pairs": 0}
    for scale in small.scales:
        inp, ref = small.at_scale(scale)
        pred = metrics.quantize(inp) if model is None else restore_batches(model, inp, batch_size)
        a, b = _score(pred, ref, "torch"), _score(pred, ref, "skimage")
        gap = np.abs(a - b)
        worst["max_abs_psnr_db"] = max(worst["max_abs_psnr_db"], float(gap[:, 0].max()))
        worst["max_abs_ssim"] = max(worst["max_abs_ssim"], float(gap[:, 1].max()))
        worst["n_pairs"] += len(a)
    return worst


@torch.no_grad()
def time_inference(model: nn.Module, in_channels: int = 1, scale=(208, 176), batch_size: int = 64,
                   repeats: int = 20, device=None, amp: bool | None = None, min_seconds: float | None = None,
                   cuda_graph: bool = True) -> dict:
    """Inference time at batch 1 (ms/image) and batched (images/s), timed as benchmarks/bench.py
    times its fast pipeline: on CUDA the model itself is converted to channels_last (converting
    only a 1-channel input is a no-op) and runs in bf16 autocast when amp is on (the default
    there); batch 1 replays a CUDA graph where capture works (else eager, and the reason is
    recorded). Each batch size: 3 warm-up calls, then at least `repeats` calls and at least
    `min_seconds` (default 0.25 s on CUDA, 0 on a CPU). The model's memory format is restored.
    Without amp it times the precision restore_batches scores in; the result's 'precision' says which."""
    from .speed import cuda_graph_or_none
    device = torch.device(device or next(model.parameters()).device)
    on_cuda = device.type == "cuda"
    amp = on_cuda if amp is None else amp
    min_seconds = (0.25 if on_cuda else 0.0) if min_seconds is None else min_seconds
    model.eval()
    fmt = torch.channels_last if on_cuda else torch.contiguous_format
    weights = [p for p in model.parameters() if p.dim() == 4]
    was_cl = bool(weights) and all(p.is_contiguous(memory_format=torch.channels_last) for p in weights)
    model.to(memory_format=fmt)

    def run(fn, x, n):
        for _ in range(3):
            fn(x)
        sync(device)
        calls, t = 0, time.perf_counter()
        while True:
            for _ in range(n):
                fn(x)
            calls += n
            sync(device)
            elapsed = time.perf_counter() - t
            if elapsed >= min_seconds:
                return elapsed / calls

    def eager(x):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            return forward_padded(model, x)

    try:
        x1 = torch.randn(1, in_channels, *scale, device=device).contiguous(memory_format=fmt)
        xb = torch.randn(batch_size, in_channels, *scale, device=device).contiguous(memory_format=fmt)
        graph, why = (cuda_graph_or_none(lambda t: forward_padded(model, t), x1, amp=amp, clone=False)
                      if cuda_graph else (None, "not asked for"))
        t1 = run(graph if graph is not None else eager, x1, max(1, repeats))
        tb = run(eager, xb, max(1, repeats))
    finally:
        if not was_cl:
            model.to(memory_format=torch.contiguous_format)
    return {"scale": scale_name(scale), "ms_per_image_batch1": 1000 * t1, "batch_size": batch_size,
            "images_per_s_batched": batch_size / tb, "amp_bf16": amp, "precision": precision_name(device, amp),
            "channels_last": on_cuda, "batch1_path": "cuda_graph" if graph is not None else f"eager ({why})",
            "device": str(device)}


def precision_name(device: torch.device, amp: bool) -> str:
    """How a forward pass computes: 'bf16 autocast', 'fp32 (TF32 convolutions)'
    (CUDA with cuDNN's TF32 allowed, torch's default) or 'fp32'."""
    if amp:
        return "bf16 autocast"
    if torch.device(device).type == "cuda" and torch.backends.cudnn.allow_tf32:
        return "fp32 (TF32 convolutions)"
    return "fp32"


def write_gallery(generators: dict[str, nn.Module], test: TestSet, image_ids: list[str], out_dir,
                  batch_size: int = 64, progress: bool = True, backend: str = "skimage",
                  desc: str = "gallery") -> pd.DataFrame:
    """PNGs of ground truth, degraded input and every model's restoration for `image_ids` at every
    scale, plus index.csv (image_id, scale, model, path, psnr_db, ssim): what the viewer browses
    without checkpoints and what the MOS app shows raters."""
    out_dir = Path(out_dir)
    small = test.subset(image_ids)
    rows = []
    # one progress step per scale and panel (ground truth, input, each model): a line at least every
    # few seconds even when a scale of many models takes long
    jobs = [(scale, model) for scale in small.scales for model in ("ground_truth", "input", *generators)]
    current = None
    for scale, model in progress_of(jobs, desc, unit="panels", disable=not progress):
        if scale != current:
            (inp, ref), current = small.at_scale(scale), scale
        imgs = (ref if model == "ground_truth" else metrics.quantize(inp) if model == "input"
                else restore_batches(generators[model], inp, batch_size))
        scores = None if model == "ground_truth" else _score(imgs, ref, backend)
        for i, image_id in enumerate(small.ids):
            rel = Path(scale_name(scale)) / image_id / f"{model}.png"
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            arr = imgs[i].cpu().numpy()
            Image.fromarray(arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)).save(out_dir / rel)
            rows.append({"image_id": image_id, "scale": scale_name(scale), "model": model,
                         "path": rel.as_posix(),
                         "psnr_db": np.nan if scores is None else scores[i, 0],
                         "ssim": np.nan if scores is None else scores[i, 1]})
    index = pd.DataFrame(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    index.to_csv(out_dir / "index.csv", index=False)
    return index
