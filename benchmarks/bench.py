#!/usr/bin/env python
"""Throughput benchmark of the kit's training and inference pipelines (prints figures; not a test).

For each model (SGEN N=3 first, then --models), in one process, side by side:

  fast   what sgenlib.train does: the decoded CelebA faces (sgenlib.data.load_images cache) held
         on the device as uint8, a scale drawn per batch, degradation batched on the device
         (sgenlib.degrade), bf16 autocast + channels_last + fused Adam on CUDA (fp32 on a CPU),
         optionally torch.compile (--compile) and CUDA-graph inference (--cuda-graphs).
  naive  an authors'-style pipeline: every batch's JPEGs decoded on the CPU in the main process
         (PIL), degraded image by image on the CPU (OpenCV INTER_CUBIC / noise / INTER_NEAREST when
         cv2 is installed, else the same torch ops on the CPU per image), stacked and copied to the
         device; fp32 eager model, default (not fused) Adam.

Figures: training images/s at each of the six scales and mixed-scale (a scale per batch, as in
training); inference ms/image at batch 1 and images/s at --batch-size, at 208x176 on degraded test
inputs; peak memory (CUDA: torch.cuda.max_memory_allocated per pipeline; CPU: the process's max
RSS so far, which only grows). Warm-up steps are excluded; timings end with a device
synchronisation. Every speed-up is the ratio of two figures measured in the same run.

The whole model loop is held to --max-seconds (default 120 s): each model gets an equal share
of what is left, each phase times as many steps as its share allows (at least one) after its
warm-up, and models that no longer fit are listed as skipped. Writes
results/benchmarks/bench_<device-slug>.json and .md.

  python benchmarks/bench.py --data $CELEBA_ROOT --device cuda            # GPU, all twelve models
  python benchmarks/bench.py --quick                                       # CPU smoke, ~2-3 minutes
  python benchmarks/bench.py --data DIR --make-subset .bench_data          # copy the JPEGs it uses
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import re
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sgenlib import data as celeba  # noqa: E402
from sgenlib.archs import MODELS, forward_padded  # noqa: E402
from sgenlib.degrade import DegradeOptions, degrade_batch  # noqa: E402
from sgenlib.paper import SCALES, scale_name  # noqa: E402
from sgenlib.provenance import git_commit  # noqa: E402
from sgenlib.markdown import markdown_table  # noqa: E402
from sgenlib.hostinfo import cpu_model  # noqa: E402
from sgenlib.speed import CompiledWithFallback, cpu_bf16_unit, cuda_graph_or_none, cudnn_benchmark  # noqa: E402
from sgenlib.train import TrainConfig, Trainer, device_name, step_seed, train_precision  # noqa: E402

try:
    import cv2
except ImportError:  # the naive pipeline then degrades with torch on the CPU, image by image
    cv2 = None

INFER_SCALE = (208, 176)
PHASES = [scale_name(s) for s in SCALES] + ["mixed"]
HEADLINE = ("SGEN-MSE", "SGEN")      # the generator alone, then with its discriminator
NAIVE_WORKERS = 2                    # DataLoader decode workers of the authors'-style pipeline


# ---- data --------------------------------------------------------------------------------------
def bench_names(source: celeba.CelebA, n: int, seed: int = 0) -> tuple[list[str], str]:
    mode = "official" if source.partition is not None else "paper"
    names = celeba.make_splits(source, mode, seed, {"train": n})["train"]
    if not names:
        raise SystemExit(f"bench.py: no training images under {source.root}")
    return names, mode


def make_subset(source: celeba.CelebA, names: list[str], out: Path) -> None:
    """Copy the bench's JPEGs (and their partition lines) into out/img_align_celeba/, to carry to
    another machine."""
    folder = out / "img_align_celeba"
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(source.read_bytes(n))
    if source.partition is not None:
        (out / "list_eval_partition.txt").write_text("".join(f"{n} {source.partition[n]}\n" for n in names))
    print(f"bench.py: wrote {len(names)} JPEGs to {folder}")


# ---- the naive pipeline ------------------------------------------------------------------------
def degrade_one_cpu(img: np.ndarray, scale: tuple[int, int], rng: np.random.Generator,
                    opts: DegradeOptions) -> tuple[np.ndarray, np.ndarray]:
    """One decoded face (H, W) or (H, W, 3) uint8 -> (input, target) float32 (C, h, w) in [-1, 1]."""
    h, w = scale
    f = opts.factor
    if cv2 is not None:
        src = img if opts.round_8bit else img.astype(np.float32)                # the authors': float32
        hr = cv2.resize(src, (w, h), interpolation=cv2.INTER_CUBIC)
        lr = cv2.resize(hr, (w // f, h // f), interpolation=cv2.INTER_CUBIC).astype(np.float32)
        lr += np.float32(opts.noise_sigma) * rng.standard_normal(lr.shape, dtype=np.float32)
        if opts.clip_noise:
            np.clip(lr, 0, 255, out=lr)
        up = cv2.resize(lr, (w, h), interpolation=cv2.INTER_NEAREST)
        hr = hr.astype(np.float32)
        if up.ndim == 2:
            up, hr = up[None], hr[None]
        else:
            up, hr = up.transpose(2, 0, 1), hr.transpose(2, 0, 1)
        return up / 127.5 - 1.0, hr / 127.5 - 1.0
    x = torch.from_numpy(img[None, None] if img.ndim == 2 else img.transpose(2, 0, 1)[None].copy())
    noise = torch.from_numpy(rng.standard_normal((1, x.shape[1], h // f, w // f), dtype=np.float32))
    inp, tgt = degrade_batch(x, scale, noise, opts)
    return inp[0].numpy(), tgt[0].numpy()


@contextlib.contextmanager
def strict_fp32():
    """TF32 off for cuDNN convolutions and for matmuls inside the block (PyTorch's defaults allow
    it for convolutions), the previous settings after it: the naive pipeline's arithmetic."""
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before


def tf32_allowed():
    """The context a '--naive-tf32' row runs in: TF32 on for convolutions and matmuls."""
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32

    @contextlib.contextmanager
    def ctx():
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
        try:
            yield
        finally:
            torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before
    return ctx()


class FaceDataset(torch.utils.data.Dataset):
    """The authors'-style loader's dataset: item (name index, scale, noise seed) -> one JPEG decoded
    and degraded on the CPU with OpenCV (degrade_one_cpu), in a DataLoader worker."""

    def __init__(self, source: celeba.CelebA, names: list[str], degrade: DegradeOptions):
        self.source, self.names, self.degrade = source, names, degrade

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, item):
        i, scale, seed = item
        img = celeba.decode_image(self.source, self.names[i], self.degrade.color, self.degrade.luma)
        inp, tgt = degrade_one_cpu(img, scale, np.random.default_rng(seed), self.degrade)
        return torch.from_numpy(np.ascontiguousarray(inp)), torch.from_numpy(np.ascontiguousarray(tgt))


class StepSampler:
    """Batch sampler over training steps first, first+1, ...: step t's batch is drawn from
    step_seed(seed, t) and its scale is scales[(t - first) % len(scales)] (the phase's cycle)."""

    def __init__(self, n_images: int, batch_size: int, seed: int, first: int, scales):
        self.n, self.b, self.seed, self.first, self.scales = n_images, batch_size, seed, first, list(scales)

    def __iter__(self):
        step = self.first
        while True:
            scale = tuple(self.scales[(step - self.first) % len(self.scales)])
            rng = np.random.default_rng(step_seed(self.seed, step))
            idx = rng.integers(self.n, size=self.b)
            noise_seeds = rng.integers(2**63 - 1, size=self.b)
            yield [(int(i), scale, int(s)) for i, s in zip(idx, noise_seeds)]
            step += 1


def _one_cv2_thread(_):
    if cv2 is not None:
        cv2.setNumThreads(1)
    torch.set_num_threads(1)


class NaiveTrainer(Trainer):
    """The authors' way (their code, as docs/protocol.md records it): a DataLoader with
    NAIVE_WORKERS decode workers, each decoding JPEGs and degrading them image by image with
    OpenCV; an fp32 eager model in strict fp32 (TF32 off for convolutions and matmuls: see
    strict_fp32, applied by the caller around every naive phase); the model's own optimizer (sgenlib.optim: default Adam for
    the SGEN family), never fused.
    cfg must say amp='off', channels_last='off'. Call start_phase(first_step, scales) before a
    phase's steps: its batches are then taken from the loader in step order."""

    allow_fused = False                      # the model's own optimizer settings (sgenlib.optim), never fused

    def __init__(self, cfg: TrainConfig, source: celeba.CelebA, names: list[str], degrade: DegradeOptions,
                 device, out_dir, workers: int = None):
        placeholder = np.zeros((1, degrade.channels, *celeba.CELEBA_SIZE), np.uint8)   # never sampled
        super().__init__(cfg, placeholder, out_dir, degrade, device, progress=False)
        self.dataset = FaceDataset(source, names, degrade)
        self.workers = NAIVE_WORKERS if workers is None else workers
        self.cudnn_benchmark = False         # the caller's setting (--cudnn-benchmark) is left in force
        self._batches, self._next = None, None

    def start_phase(self, first_step: int, scales) -> None:
        self._batches = None                 # ends the previous phase's workers
        self.loader = torch.utils.data.DataLoader(
            self.dataset, batch_sampler=StepSampler(len(self.dataset), self.cfg.batch_size, self.cfg.seed,
                                                    first_step, scales),
            num_workers=self.workers, worker_init_fn=_one_cv2_thread if self.workers else None,
            pin_memory=False)
        self._batches, self._next = iter(self.loader), first_step

    def end_phase(self) -> None:
        self._batches = None

    def make_batch(self, step: int, scale=None):
        """The loader's batch of `step`; its scale was planned by start_phase (`scale` is that one)."""
        if self._batches is None or step != self._next:
            raise RuntimeError(f"NaiveTrainer: step {step} asked for, the loader is at {self._next} "
                               "(call start_phase first)")
        inp, target = next(self._batches)
        self._next += 1
        return tuple(inp.shape[-2:]), inp.to(self.device), target.to(self.device)


# ---- timing helpers ----------------------------------------------------------------------------
class Clock:
    def __init__(self, device: torch.device, max_seconds: float):
        self.device = device
        self.deadline = time.perf_counter() + max_seconds

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def left(self) -> float:
        return self.deadline - time.perf_counter()


def cycle(scales, first: int, n: int) -> list[tuple[int, int]]:
    """The scales of steps first .. first+n-1 in a phase that cycles `scales` from `first`."""
    return [tuple(scales[(k - first) % len(scales)]) for k in range(first, first + n)]


def time_training(trainer: Trainer, scales, clock: Clock, warmup: int, steps: int, budget: float,
                  first_step: int, windows: int = 3) -> tuple[dict | None, int]:
    """Training images/s on `scales`, cycled so that every scale is equally represented: one
    untimed warm-up cycle (each shape's first step pays for algorithm choice) plus `warmup`
    more steps, then `windows` timed windows of the same whole number of cycles each (at most
    `steps` steps, at least one cycle, sized to `budget`). Returns ({median images/s, the
    spread over windows, ...}, the next free step number)."""
    if clock.left() <= 0:
        return None, first_step
    if isinstance(trainer, NaiveTrainer):
        trainer.start_phase(first_step, scales)

    def scale_of(k):      # cycled in step order; the naive loader was planned alike by start_phase
        return tuple(scales[(k - first_step) % len(scales)])
    step, n_warm = first_step, max(len(scales), warmup)
    clock.sync()
    t = time.perf_counter()
    for _ in range(n_warm):
        trainer.train_step(step, scale_of(step))
        step += 1
    clock.sync()
    est = (time.perf_counter() - t) / n_warm
    per_cycle = len(scales)
    cycles = max(1, min(max(1, steps // per_cycle), int(budget / max(1, windows) / max(est * per_cycle, 1e-6))))
    n = cycles * per_cycle
    rates = []
    for _ in range(max(1, windows)):
        if rates and clock.left() <= 0:
            break
        clock.sync()
        t0 = time.perf_counter()
        for _ in range(n):
            trainer.train_step(step, scale_of(step))
            step += 1
        clock.sync()
        rates.append(n * trainer.cfg.batch_size / (time.perf_counter() - t0))
    if isinstance(trainer, NaiveTrainer):
        trainer.end_phase()
    return {"images_per_s": float(np.median(rates)), "min": min(rates), "max": max(rates),
            "windows": len(rates), "steps_per_window": n, "cycles_per_window": cycles}, step


def time_calls(fn, x: torch.Tensor, clock: Clock, repeats: int, budget: float) -> dict | None:
    """Seconds per call of fn(x) after two warm-up calls."""
    if clock.left() <= 0:
        return None
    with torch.no_grad():
        for _ in range(2):
            clock.sync()
            t = time.perf_counter()
            fn(x)
            clock.sync()
            est = time.perf_counter() - t
        n = max(1, min(repeats, int(budget / max(est, 1e-6))))
        clock.sync()
        t0 = time.perf_counter()
        for _ in range(n):
            fn(x)
        clock.sync()
    return {"seconds_per_call": (time.perf_counter() - t0) / n, "calls": n}


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024          # KiB on Linux


def free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


# ---- one pipeline of one model -----------------------------------------------------------------
def infer_inputs(images: torch.Tensor, batch: int, degrade: DegradeOptions, device, channels_last: bool):
    """Degraded real faces at 208x176: (batch-1 input, batch input), in the pipeline's layout."""
    x = images[:batch].to(device)
    if len(x) < batch:
        x = x[torch.arange(batch, device=x.device) % len(x)]
    noise = torch.randn(batch, degrade.channels, INFER_SCALE[0] // degrade.factor, INFER_SCALE[1] // degrade.factor,
                        generator=torch.Generator().manual_seed(0)).to(device)
    inp, _ = degrade_batch(x, INFER_SCALE, noise, degrade)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return inp[:1].contiguous(memory_format=fmt), inp.contiguous(memory_format=fmt)


class Pipeline:
    """One trainer plus its inference callable and the figures measured on it."""

    def __init__(self, kind: str, trainer: Trainer, args, images: torch.Tensor, degrade: DegradeOptions):
        self.kind, self.t, self.args = kind, trainer, args
        self.res = {"train_images_per_s": {p: None for p in PHASES}, "train_spread": {p: None for p in PHASES},
                    "train_steps": {p: None for p in PHASES}}
        # the naive pipeline runs in strict fp32 (TF32 off); its labelled TF32 variant with TF32 on
        self.numerics = {"naive": strict_fp32, "naive-tf32": tf32_allowed}.get(kind, contextlib.nullcontext)
        self.next_step = 1
        self.x1, self.xb = infer_inputs(images, args.batch_size, degrade, trainer.device, trainer.channels_last)
        g = trainer.G
        if kind == "fast" and args.compile:
            g = trainer.compiled if trainer.compiled is not None else CompiledWithFallback(g, args.compile_backend)
        self.g, self.m, self.amp, self.dev = g, trainer.size_multiple, trainer.amp, trainer.device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(self.dev.type, dtype=torch.bfloat16, enabled=self.amp):
            return forward_padded(self.g, x, self.m)

    def train_phase(self, phase: str, clock: Clock, budget: float) -> None:
        scales = list(SCALES) if phase == "mixed" else [s for s in SCALES if scale_name(s) == phase]
        self.t.G.train()
        warmup = self.args.warmup if self.kind == "fast" else 1     # naive: no compile / algorithm search to amortise
        with self.numerics():
            r, self.next_step = time_training(self.t, scales, clock, warmup, self.args.steps, budget,
                                              self.next_step, self.args.windows)
        self.res["train_images_per_s"][phase] = r and round(r["images_per_s"], 2)
        self.res["train_spread"][phase] = r and {"min": round(r["min"], 2), "max": round(r["max"], 2),
                                                 "windows": r["windows"], "steps_per_window": r["steps_per_window"]}
        self.res["train_steps"][phase] = r and r["windows"] * r["steps_per_window"]

    def infer_phase(self, label: str, clock: Clock, budget: float, graphs: bool = False) -> None:
        x = self.x1 if label == "b1" else self.xb
        repeats = self.args.infer_repeats if label == "b1" else max(2, self.args.infer_repeats // 4)
        self.t.G.eval()
        key = f"{'graph_' if graphs else ''}infer_{label}"
        fn = self.forward
        if graphs:
            runner, why = (cuda_graph_or_none(lambda t: forward_padded(self.g, t, self.m), x, amp=self.amp, clone=False)
                           if clock.left() > 0 else (None, "time budget"))
            self.res.setdefault("cuda_graphs", {})[label] = why or "ok"
            if runner is None:
                return
            fn = runner
        with self.numerics():
            r = time_calls(fn, x, clock, repeats, budget)
        if r is not None:
            per_img = r["seconds_per_call"] / len(x)
            self.res[f"{key}_s"] = r["seconds_per_call"]
            self.res[f"{key}_ms_per_image"] = round(1000 * per_img, 4)
            self.res[f"{key}_images_per_s"] = round(1 / per_img, 2)

    def memory_pass(self, not_mine_bytes: int = 0) -> None:
        """Peak memory of this pipeline alone: one training step at the largest scale, then one
        batched inference call (CUDA: max_memory_allocated after a reset, less `not_mine_bytes`
        of other tensors resident; CPU: max RSS so far)."""
        dev = self.dev
        off = not_mine_bytes / 2**20 if dev.type == "cuda" else 0.0
        reset_peak(dev)
        self.t.G.train()
        if isinstance(self.t, NaiveTrainer):
            self.t.start_phase(self.next_step, [SCALES[-1]])
        with self.numerics():
            self.t.train_step(self.next_step, SCALES[-1])
        if isinstance(self.t, NaiveTrainer):
            self.t.end_phase()
        self.next_step += 1
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        self.res["peak_train_mib"] = round(peak_mib(dev) - off, 1)
        reset_peak(dev)
        self.t.G.eval()
        with torch.no_grad(), self.numerics():
            self.forward(self.xb)
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        self.res["peak_infer_mib"] = round(peak_mib(dev) - off, 1)

    def result(self) -> dict:
        info = self.t.speed_info()
        return {**self.res, **{k: v for k, v in info.items() if v is not None}}


def build(kind: str, model: str, args, images_dev, source, names, degrade, device, tmp) -> Pipeline:
    base = dict(model=model, steps=10**9, batch_size=args.batch_size, width=args.width, seed=0)
    if kind == "fast":
        t = Trainer(TrainConfig(**base, compile=args.compile, compile_backend=args.compile_backend),
                    images_dev, tmp, degrade, device, progress=False)
    else:     # naive, naive-tf32
        t = NaiveTrainer(TrainConfig(**base, amp="off", channels_last="off"), source, names, degrade, device, tmp)
    return Pipeline(kind, t, args, images_dev, degrade)


# ---- FLOPs and the card's peak -----------------------------------------------------------------
PEAK_BF16_TFLOPS = [   # dense bf16 tensor-core peak (no sparsity), NVIDIA's datasheets; first match wins
    ("GH200", 989.4), ("H200", 989.4), ("H100 NVL", 835.5), ("H100 PCIe", 756.5), ("H100", 989.4),
    ("A100", 312.0), ("L40S", 362.05), ("L4", 121.0), ("A10G", 70.0), ("A10", 125.0),
]


def peak_bf16_tflops(device_name_: str, device_type: str) -> float | None:
    """The card's dense bf16 peak by its name (None on a CPU or an unknown card)."""
    if device_type != "cuda":
        return None
    for key, tflops in PEAK_BF16_TFLOPS:
        if key.lower() in device_name_.lower():
            return tflops
    return None


def model_gflops(model: str, args, images_dev: torch.Tensor, degrade: DegradeOptions, device, tmp) -> dict:
    """FLOPs per image counted by torch's FlopCounterMode (matmuls and convolutions, forward and
    backward; a multiply-add = 2): one fp32 training step at batch 1 at each scale (G and, for
    adversarial models, D's step and D's pass in G's loss; the content loss's network too), their
    mean over the six scales (the mixed-scale figure), and one inference forward at 208x176."""
    from torch.utils.flop_counter import FlopCounterMode
    cfg = TrainConfig(model=model, steps=10**9, batch_size=1, width=args.width, seed=0, amp="off", channels_last="off")
    t = Trainer(cfg, images_dev[:4], Path(tmp) / "flops", degrade, device, progress=False)
    per_scale = {}
    for k, scale in enumerate(SCALES):
        counter = FlopCounterMode(display=False)
        with counter:
            t.train_step(k + 1, scale)
        per_scale[scale_name(scale)] = counter.get_total_flops() / 1e9
    g = t.G.eval()
    x = torch.zeros(1, degrade.channels, *INFER_SCALE, device=device)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        forward_padded(g, x, t.size_multiple)
    return {"train_gflops_per_image": {k: round(v, 3) for k, v in per_scale.items()},
            "train_gflops_per_image_mixed": round(float(np.mean(list(per_scale.values()))), 3),
            "infer_gflops_per_image": round(counter.get_total_flops() / 1e9, 3)}


CONV_PROBE = (8, 256, 40, 32)
"""The reference convolution of a CPU's rate: 3x3, 256 -> 256 channels, batch 8 at 40x32 (the
size of SGEN's deepest layers at paper width), forward and backward."""


def conv_rate_gflops(precision: str, device: torch.device, seconds: float = 2.0) -> dict:
    """GFLOP/s of CONV_PROBE on `device` in 'bf16' (autocast, channels_last) or 'fp32' (channels_last):
    forward alone and forward + backward (input and weight gradients, 3x the forward's FLOPs),
    each timed for about `seconds` after two warm-up calls. What the machine's convolution
    library reaches on a large convolution: the reference that training rates are compared with."""
    b, c, h, w = CONV_PROBE
    conv = nn.Conv2d(c, c, 3, padding=1).to(device, memory_format=torch.channels_last)
    x = torch.randn(b, c, h, w, device=device).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    flops = 2 * b * c * c * 9 * h * w
    amp = precision == "bf16"
    out = {}
    for label, backward in (("forward", False), ("forward_backward", True)):
        def call():
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                y = conv(x)
            if backward:
                y.backward(torch.ones_like(y))
        for _ in range(2):
            call()
        n, t0 = 0, time.perf_counter()
        while n < 3 or time.perf_counter() - t0 < seconds:
            call()
            n += 1
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        out[label] = round(flops * (3 if backward else 1) * n / (time.perf_counter() - t0) / 1e9, 1)
    return out


def fraction_of_peak(images_per_s, gflops_per_image, peak_tflops) -> float | None:
    if not images_per_s or not gflops_per_image or not peak_tflops:
        return None
    return round(images_per_s * gflops_per_image / (peak_tflops * 1e3), 4)


PHASE_ORDER = ["208x176", "128x96"] + [p for p in PHASES if p not in ("208x176", "128x96", "mixed")] + ["mixed"]
"""The largest and smallest scale first (the pairs a tight budget keeps), mixed-scale last, once
every shape has been seen by both pipelines (a shape's first step pays for algorithm choice)."""


def bench_model(model: str, args, clock: Clock, budget: float, images_dev: torch.Tensor, source, names,
                degrade: DegradeOptions, device: torch.device) -> dict:
    """Both pipelines of one model, phase by phase side by side (PHASE_ORDER), then each
    pipeline's peak memory on its own."""
    t_model = time.perf_counter()
    out = {"model": model}
    kinds = ["fast"] if args.no_naive else ["fast", "naive"]
    if args.naive_tf32 and not args.no_naive and device.type == "cuda":
        kinds.append("naive-tf32")
    graphs = args.cuda_graphs and device.type == "cuda"
    n_blocks = len(kinds) * (len(PHASES) + 2) + (2 if graphs else 0)
    block = budget * 0.7 / n_blocks
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        out.update(model_gflops(model, args, images_dev, degrade, device, tmp))
        out["flops_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        pipes = {k: build(k, model, args, images_dev, source, names, degrade, device, tmp) for k in kinds}
        out["setup_s"] = round(time.perf_counter() - t, 2)
        out["params"] = sum(p.numel() for p in pipes["fast"].t.G.parameters())
        out["content_loss"] = pipes["fast"].t.content_name
        for phase in PHASE_ORDER:
            for k in kinds:
                pipes[k].train_phase(phase, clock, block)
        for label in ("b1", "bN"):
            for k in kinds:
                pipes[k].infer_phase(label, clock, block)
            if graphs:
                pipes["fast"].infer_phase(label, clock, block, graphs=True)
        # peak memory, each pipeline alone on the device: drop naive, measure fast, then rebuild
        # naive (cheap: never compiled) and measure it
        results = {}
        naive_res = {k: pipes.pop(k).res for k in kinds if k != "fast"}
        free(device)
        pipes["fast"].memory_pass()
        results["fast"] = pipes.pop("fast").result()
        free(device)
        for k, res in naive_res.items():
            naive = build(k, model, args, images_dev, source, names, degrade, device, tmp)
            naive.res = res
            naive.memory_pass(not_mine_bytes=images_dev.numel() * images_dev.element_size())
            results[k] = naive.result()
            del naive
            free(device)
    if args.compile:
        torch._dynamo.reset()
    out["fast"], out["naive"] = results["fast"], results.get("naive")
    if "naive-tf32" in results:
        out["naive_tf32"] = results["naive-tf32"]
    out["speedup"] = speedups(out["fast"], out["naive"])
    peak = args.peak_tflops
    for kind in ("fast", "naive", "naive_tf32"):
        r = out.get(kind)
        if r:
            r["fraction_of_bf16_peak"] = {
                "train_mixed": fraction_of_peak(r["train_images_per_s"].get("mixed"),
                                                out["train_gflops_per_image_mixed"], peak),
                "infer_bN": fraction_of_peak(r.get("infer_bN_images_per_s"), out["infer_gflops_per_image"], peak)}
    out["seconds"] = round(time.perf_counter() - t_model, 2)
    return out


def speedups(fast: dict, naive: dict | None) -> dict:
    if not naive:
        return {}
    s = {}
    for p in PHASES:
        a, b = fast["train_images_per_s"].get(p), naive["train_images_per_s"].get(p)
        s[f"train_{p}"] = round(a / b, 3) if a and b else None
    for label in ("b1", "bN"):
        a, b = fast.get(f"infer_{label}_s"), naive.get(f"infer_{label}_s")
        s[f"infer_{label}"] = round(b / a, 3) if a and b else None
        g = fast.get(f"graph_infer_{label}_s")
        if g:
            s[f"infer_{label}_cuda_graphs"] = round(b / g, 3) if b else None
    return s


# ---- reporting ---------------------------------------------------------------------------------
def slug(device: torch.device) -> str:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu-{platform.machine()}"
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def _f(v, nd=1) -> str:
    if v is None:
        return "—"
    if isinstance(v, float) and v >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{nd}f}"


def table(report: dict) -> str:
    bn = report["settings"]["batch_size"]
    cols = ["model", "pipeline", *PHASES, "spread (mixed)", "train GFLOP/img", "of bf16 peak", "b1 ms/img",
            f"b{bn} img/s", "peak MiB"]
    graphs = any((m.get("fast") or {}).get("graph_infer_b1_s") for m in report["models"])
    if graphs:
        cols[-1:-1] = ["graph b1 ms", f"graph b{bn} img/s"]
    rows = []
    for m in report["models"]:
        for kind in ("fast", "naive", "naive_tf32"):
            r = m.get(kind)
            if not r:
                continue
            row = [m["model"] if kind == "fast" else "", {"naive": "naive (strict fp32)",
                                                          "naive_tf32": "naive with TF32"}.get(kind, kind)]
            row += [_f(r["train_images_per_s"].get(p)) for p in PHASES]
            sp = (r.get("train_spread") or {}).get("mixed")
            row += [f"{_f(sp['min'])}-{_f(sp['max'])} ({sp['windows']}x{sp['steps_per_window']})" if sp else "—",
                    _f(m.get("train_gflops_per_image_mixed"), 2),
                    _pct((r.get("fraction_of_bf16_peak") or {}).get("train_mixed"))]
            row += [_f(r.get("infer_b1_ms_per_image"), 3), _f(r.get("infer_bN_images_per_s"))]
            if graphs:
                row += [_f(r.get("graph_infer_b1_ms_per_image"), 3), _f(r.get("graph_infer_bN_images_per_s"))]
            row += [_f(max(r["peak_train_mib"], r["peak_infer_mib"]), 0)]
            rows.append(row)
        s = m.get("speedup") or {}
        if s:
            row = ["", "speed-up"] + [_f(s.get(f"train_{p}"), 2) + "x" if s.get(f"train_{p}") else "—" for p in PHASES]
            row += ["", "", ""]
            row += [_f(s.get("infer_b1"), 2) + "x" if s.get("infer_b1") else "—",
                    _f(s.get("infer_bN"), 2) + "x" if s.get("infer_bN") else "—"]
            if graphs:
                row += [_f(s.get("infer_b1_cuda_graphs"), 2) + "x" if s.get("infer_b1_cuda_graphs") else "—",
                        _f(s.get("infer_bN_cuda_graphs"), 2) + "x" if s.get("infer_bN_cuda_graphs") else "—"]
            row += [""]
            rows.append(row)
    return markdown_table(pd.DataFrame(rows, columns=cols))


def headline(report: dict) -> str:
    """SGEN-MSE (the generator alone) beside SGEN (with its discriminator): mixed-scale training."""
    parts = []
    for m in report["models"]:
        if m["model"] in HEADLINE:
            f = m["fast"]
            sp = (f.get("train_spread") or {}).get("mixed") or {}
            parts.append(f"{m['model']} {_f(f['train_images_per_s'].get('mixed'))} img/s "
                         f"(windows {_f(sp.get('min'))}-{_f(sp.get('max'))}; "
                         f"{_f(m.get('train_gflops_per_image_mixed'), 1)} GFLOP/img, "
                         f"{_pct((f.get('fraction_of_bf16_peak') or {}).get('train_mixed'))} of bf16 peak"
                         + (f"; {_f(m['speedup'].get('train_mixed'), 2)}x naive" if m.get("speedup", {}).get("train_mixed")
                            else "") + ")")
    return "Headline, mixed-scale training, fast pipeline: " + ("; ".join(parts) if parts else "—") + "."


def markdown(report: dict) -> str:
    st = report["settings"]
    mem = "torch.cuda.max_memory_allocated" if report["device_type"] == "cuda" else "process max RSS so far (only grows)"
    out = [f"# Pipeline benchmark: {report['device']}", "",
           f"torch {report['torch']}" + (f", CUDA {report['cuda']}" if report.get("cuda") else "")
           + f"; commit {report['git']['commit']}{' (dirty)' if report['git']['dirty'] else ''}; {report['date']}.",
           "", f"Host: {report['host']['cpus']} CPUs ({report['host']['machine']}), load average (1 min) "
           f"{report['host']['load_avg_1m_start']} at the start and {report['host']['load_avg_1m_end']} at the end.",
           *(["", f"CPU reference: a 3x3 convolution {tuple(report['cpu_conv_probe'])} reaches "
              + "; ".join(f"{p} {r['forward']} GFLOP/s forward, {r['forward_backward']} forward + backward"
                          for p, r in report["cpu_conv_gflops"].items())
              + f" (native bf16 unit: {report.get('cpu_bf16_unit') or 'none'}); the 'of bf16 peak' column is "
              "a fraction of the bf16 forward + backward rate."] if report.get("cpu_conv_gflops") else []),
           "", f"Settings: width x{st['width']}, batch {st['batch_size']}, {st['windows']} timed windows per phase "
           f"(median reported; each at most {st['steps']} steps, whole cycles of the phase's scales) after one "
           f"warm-up cycle (fast: at least {st['warmup']} steps), {report['data']['images']} faces ({report['data']['split_mode']} train "
           f"split of {report['data']['root']}), compile={st['compile']}, cuda_graphs={st['cuda_graphs']}, "
           f"cudnn.benchmark={report['cudnn_benchmark_in_effect']} (both pipelines), budget {st['max_seconds']} s"
           + (" (--quick)" if st["quick"] else "") + f"; naive degradation with {report['naive_degrade_backend']}.",
           "", "Training columns: images/s at each scale and mixed-scale (the six scales cycled, one per batch). Inference at "
           f"{scale_name(INFER_SCALE)}. Peak memory: {mem}. Speed-up = fast / naive (inference: naive time / fast time).",
           "", f"- fast: {report['definitions']['fast']}", f"- naive: {report['definitions']['naive']}",
           f"- mixed: {report['definitions']['mixed']}",
           f"- of bf16 peak: {report['definitions']['peak']}", "", headline(report), "", table(report), ""]
    if report["skipped_models"]:
        out += [f"Skipped (time budget): {', '.join(report['skipped_models'])}.", ""]
    for model, err in report["failed_models"].items():
        out += [f"Failed: {model}: {err}", ""]
    out += [f"Model loop: {report['wall_s']} s; data load {report['data']['load_s']} s.", ""]
    return "\n".join(out)


# ---- main --------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("CELEBA_ROOT", "data/celeba"),
                   help="CelebA root (default $CELEBA_ROOT, else data/celeba)")
    p.add_argument("--models", default="all", help="comma-separated names of sgenlib.archs.MODELS, or 'all'")
    p.add_argument("--steps", type=int, help="most timed steps per window (default 24; --quick 6)")
    p.add_argument("--warmup", type=int, help="untimed steps before each fast-pipeline phase (default 2; --quick 1); naive: 1")
    p.add_argument("--batch-size", type=int, help="training and batched-inference batch (default 64; --quick 2)")
    p.add_argument("--width", type=float, help="channel multiplier (default 1.0 = paper widths; --quick 0.0625)")
    p.add_argument("--images", type=int, help="faces to sample from the train split (default 1024; --quick 64)")
    p.add_argument("--infer-repeats", type=int, help="most timed batch-1 calls (default 40; --quick 5)")
    p.add_argument("--device", default="auto", help="auto | cuda | cuda:N | cpu")
    p.add_argument("--compile", action="store_true", help="torch.compile the generator (fast pipeline)")
    p.add_argument("--compile-backend", default="inductor")
    p.add_argument("--cuda-graphs", action="store_true", help="also time inference replayed from CUDA graphs")
    p.add_argument("--threads", type=int,
                   help="torch/OpenCV CPU threads (default torch's; --quick 1, steadiest on a shared CPU)")
    p.add_argument("--cudnn-benchmark", action="store_true", help="torch.backends.cudnn.benchmark = True (both)")
    p.add_argument("--no-naive", action="store_true", help="time the fast pipeline only")
    p.add_argument("--naive-tf32", action="store_true", help="CUDA: also time the naive pipeline with TF32 on (labelled)")
    p.add_argument("--windows", type=int, help="timed windows per phase; the median and the spread are reported "
                                               "(default 3; --quick 2)")
    p.add_argument("--peak-tflops", type=float, help="the card's dense bf16 peak (default: by card name; CPU: n/a)")
    p.add_argument("--max-seconds", type=float, help="budget of the model loop (default 120; --quick 150)")
    p.add_argument("--quick", action="store_true", help="small width/batch/steps for a CPU run of ~2-3 minutes")
    p.add_argument("--cache", default=str(REPO / "cache"), help="decoded-image cache folder")
    p.add_argument("--out", default=str(REPO / "results" / "benchmarks"))
    p.add_argument("--make-subset", metavar="DIR", help="copy the faces the bench uses to DIR and exit")
    p.add_argument("--tag", help="appended to the report's file name: bench_<device>_<tag>.json / .md")
    args = p.parse_args(argv)
    defaults = dict(steps=(24, 6), windows=(3, 2), warmup=(2, 1), batch_size=(64, 2), width=(1.0, 0.0625), images=(1024, 64),
                    infer_repeats=(40, 5), max_seconds=(120.0, 150.0))
    if args.quick and args.threads is None:
        args.threads = 1
    for k, (full, quick) in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, quick if args.quick else full)
    if args.steps < 1 or args.batch_size < 1 or args.images < 1 or args.windows < 1 or args.max_seconds <= 0:
        p.error("--steps, --batch-size, --images, --windows must be >= 1 and --max-seconds > 0")
    models = list(MODELS) if args.models == "all" else [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        p.error(f"unknown model(s) {unknown}; known: {', '.join(MODELS)}")
    head = {m: i for i, m in enumerate(HEADLINE)}
    args.model_list = sorted(set(models), key=lambda m: (head.get(m, len(head)), models.index(m)))   # headline first
    return args


def loop_models(args, clock, images_dev, source, names, degrade, device, results, skipped, failed) -> None:
    """Each model in turn, with an equal share of the budget left; appends to the given lists."""
    for i, model in enumerate(args.model_list):
        left = clock.left()
        share = left / (len(args.model_list) - i)
        if left < 1.0:
            skipped.append(model)
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)    # e.g. SRGAN's "no VGG19 weights, using MSE"
                r = bench_model(model, args, clock, share, images_dev, source, names, degrade, device)
        except Exception as e:  # noqa: BLE001 - out of memory, say: record it, go on with the next model
            failed[model] = f"{type(e).__name__}: {str(e)[:300]}"
            print(f"  {model:12s} FAILED: {failed[model]}", flush=True)
            r = None
        if r is None:
            free(device)                                    # the failed model's tensors, now unreferenced
            continue
        results.append(r)
        f, s = r["fast"]["train_images_per_s"], r["speedup"]
        print(f"  {model:12s} fast 208x176 {_f(f.get('208x176'))} img/s, mixed {_f(f.get('mixed'))} img/s"
              + (f"; speed-up mixed {s.get('train_mixed')}x, b1 {s.get('infer_b1')}x" if s else "")
              + f"  ({r['seconds']} s)", flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
        if device.type == "cuda" and not torch.cuda.is_available():
            print("bench.py: --device cuda, but torch sees no CUDA device", file=sys.stderr)
            return 2
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    if args.compile:   # 6 training shapes + 2 inference shapes per model; keep dynamo from giving up
        cfg = torch._dynamo.config
        name = "recompile_limit" if hasattr(cfg, "recompile_limit") else "cache_size_limit"
        setattr(cfg, name, max(getattr(cfg, name), 32))
    if args.threads:
        torch.set_num_threads(args.threads)
        if cv2 is not None:
            cv2.setNumThreads(args.threads)
    degrade = DegradeOptions()

    t0 = time.perf_counter()
    try:
        source = celeba.open_celeba(args.data)
    except celeba.CelebAError as e:
        print(f"bench.py: {e}", file=sys.stderr)
        return 2
    names, split_mode = bench_names(source, args.images)
    if args.make_subset:
        make_subset(source, names, Path(args.make_subset))
        return 0
    arr, names = celeba.load_images(source, names, degrade.color, degrade.luma, cache_dir=args.cache,
                                    desc="decode bench faces")
    images_dev = torch.from_numpy(arr).to(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    load_s = round(time.perf_counter() - t0, 2)
    print(f"bench.py: {device_name(device)}, torch {torch.__version__}; {len(names)} faces loaded in {load_s} s; "
          f"models {', '.join(args.model_list)}; budget {args.max_seconds:.0f} s", flush=True)

    conv_rates = None
    if device.type == "cpu":        # the machine's own reference: a large convolution, bf16 and fp32
        conv_rates = {p: conv_rate_gflops(p, device) for p in ("bf16", "fp32")}
        print(f"bench.py: reference 3x3 convolution {CONV_PROBE}, GFLOP/s forward / forward+backward: "
              + "; ".join(f"{p} {r['forward']} / {r['forward_backward']}" for p, r in conv_rates.items()), flush=True)
    if args.peak_tflops is None:
        args.peak_tflops = (peak_bf16_tflops(device_name(device), device.type) if conv_rates is None
                            else conv_rates["bf16"]["forward_backward"] / 1e3)
    unit = cpu_bf16_unit() if device.type == "cpu" else None
    load_start = round(os.getloadavg()[0], 2)           # the host's load: a shared CPU times slower
    clock = Clock(device, args.max_seconds)
    t_loop = time.perf_counter()
    results, skipped, failed = [], [], {}
    with cudnn_benchmark(args.cudnn_benchmark):          # both pipelines; the trainer no longer sets it
        benchmark_in_effect = torch.backends.cudnn.benchmark
        loop_models(args, clock, images_dev, source, names, degrade, device, results, skipped, failed)
    report = {
        "device": device_name(device), "device_type": device.type, "device_slug": slug(device),
        "torch": torch.__version__, "cuda": torch.version.cuda if device.type == "cuda" else None,
        "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
        "python": platform.python_version(), "git": git_commit(REPO),
        "host": {"cpus": os.cpu_count(), "machine": platform.machine(), "processor": cpu_model() or platform.processor() or None,
                 "load_avg_1m_start": load_start, "load_avg_1m_end": round(os.getloadavg()[0], 2)},
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "settings": {k: getattr(args, k) for k in ("models", "steps", "windows", "warmup", "batch_size", "width",
                                                   "images", "infer_repeats", "compile", "compile_backend",
                                                   "cuda_graphs", "cudnn_benchmark", "naive_tf32", "threads",
                                                   "max_seconds", "quick")},
        "cudnn_benchmark_in_effect": benchmark_in_effect if device.type == "cuda" else None,
        "peak_bf16_tflops": args.peak_tflops,
        "cpu_conv_gflops": conv_rates, "cpu_bf16_unit": unit, "cpu_conv_probe": list(CONV_PROBE) if conv_rates else None,
        "headline_models": list(HEADLINE),
        "data": {"root": str(args.data), "images": len(names), "split_mode": split_mode, "load_s": load_s},
        "naive_degrade_backend": f"OpenCV {cv2.__version__}" if cv2 is not None else "torch on the CPU, per image",
        "definitions": {
            "fast": "decoded uint8 faces held on the device, batched degradation on the device, "
                    + ("bf16 autocast + channels_last + fused Adam" if device.type == "cuda"
                       else train_precision(device, unit is not None, unit)
                       + (" + channels_last" if unit else "") + ", the model's own optimizer")
                    + (f", torch.compile ({args.compile_backend})" if args.compile else ""),
            "naive": f"the authors' way: a DataLoader with {NAIVE_WORKERS} workers decoding each JPEG and degrading "
                     "it image by image on the CPU ("
                     + (f"OpenCV {cv2.__version__}" if cv2 is not None else "torch on the CPU: no OpenCV here")
                     + "), batches copied to the device; strict fp32 (TF32 off for convolutions and matmuls), "
                     "eager model, default Adam (not fused)"
                     + ("; 'naive with TF32' is the same with TF32 on" if args.naive_tf32 else ""),
            "mixed": "the six scales cycled in order, each equally often in every timed window; the median of the "
                     "windows is reported with their range",
            "peak": (("images/s x FLOPs per image (torch FlopCounterMode: matmuls and convolutions, forward and "
                      f"backward) / the card's dense bf16 peak, {args.peak_tflops} TFLOP/s") if device.type == "cuda"
                     and args.peak_tflops else
                     ("images/s x FLOPs per image (torch FlopCounterMode) / this CPU's measured bf16 rate on a large "
                      f"3x3 convolution {tuple(CONV_PROBE)}, forward + backward, {round(args.peak_tflops * 1e3, 1)} "
                      "GFLOP/s (bench.py measures it first; not a datasheet peak)") if conv_rates else
                     "n/a (no bf16 tensor-core peak known for this device)")},
        "models": results, "skipped_models": skipped, "failed_models": failed,
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32 if device.type == "cuda" else None,
        "wall_s": round(time.perf_counter() - t_loop, 1),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"bench_{report['device_slug']}{'_' + args.tag if args.tag else ''}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1))
    md = markdown(report)
    stem.with_suffix(".md").write_text(md)
    print()
    print(table(report))
    if skipped:
        print(f"\nskipped (time budget): {', '.join(skipped)}")
    for model, err in failed.items():
        print(f"failed: {model}: {err}")
    print(f"\nwrote {stem}.json and .md  (model loop {report['wall_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
