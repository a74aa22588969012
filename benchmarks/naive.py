"""The authors'-style training pipeline the bench compares the kit's with ("naive"): every batch's
JPEGs decoded in DataLoader workers and degraded image by image on the CPU (OpenCV INTER_CUBIC /
noise / INTER_NEAREST when cv2 is installed, else the same torch ops per image), stacked and copied
to the device; fp32 eager model in strict fp32, default (not fused) Adam.
"""
from __future__ import annotations

import contextlib

import numpy as np
import torch

from sgenlib import data as celeba
from sgenlib.degrade import DegradeOptions, degrade_batch
from sgenlib.train import TrainConfig, Trainer, step_seed

try:
    import cv2
except ImportError:  # the naive pipeline then degrades with torch on the CPU, image by image
    cv2 = None

NAIVE_WORKERS = 2                    # DataLoader decode workers of the authors'-style pipeline


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

