"""Training: one loop for every model of the paper (MSE-only or MSE + adversarial), on one
device or under torchrun (DistributedDataParallel), with atomic checkpoints and exact resume.

The data path holds the decoded uint8 faces on the training device; every step samples a batch,
draws one of the six scales, degrades the batch on the device (sgenlib.degrade) and takes one
optimizer step. All randomness of step t comes from a generator seeded by (seed, t), so a run
resumed from a checkpoint replays exactly the steps an uninterrupted run would have taken.

Run folder layout (out_dir):
  checkpoint.pt        G, D, both optimizers, step, RNG states, config (rewritten atomically)
  losses.csv           one row per step: step, scale, loss_g, content, adversarial, loss_d, seconds
  generator.pt         final generator weights + config (written once, at the end)
  train_summary.json   steps, wall time, images/s, device, content loss used, ...
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import platform
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
from tqdm.auto import tqdm

from . import losses
from .archs import MODELS, build_discriminator, build_generator, forward_padded, init_weights
from .degrade import DegradeOptions, degrade_batch
from .paper import SCALES

LOSS_COLUMNS = ["step", "scale", "loss_g", "content", "adversarial", "loss_d", "seconds"]


@dataclass
class TrainConfig:
    model: str                          # a key of sgenlib.archs.MODELS
    steps: int
    batch_size: int = 64                # global batch (split across ranks under DDP)
    lr: float = 2e-4                    # the paper's (the authors' config file says 1e-4)
    betas: tuple[float, float] = (0.5, 0.999)   # the authors' code
    lam: float = 0.1                    # lambda of eq. (11)
    lambda_on: str = "adversarial"      # 'adversarial' (authors' code) or 'mse' (eq. 11 as printed)
    d_weight_decay: float = 1e-4        # the authors' code, on D only
    width: float = 1.0                  # channel multiplier for every architecture
    gate: str = "sigmoid"               # SGU gate: 'sigmoid' (eq. 9) or 'lrelu' (authors' code)
    seed: int = 0
    ckpt_every: int = 500
    log_every: int = 50                 # losses leave the device (and are checked) this often
    amp: str = "auto"                   # 'auto' = bf16 autocast on CUDA, fp32 on CPU; 'bf16'; 'off'
    channels_last: str = "auto"         # 'auto' = on CUDA only; 'on'; 'off'
    compile: bool = False               # torch.compile the generator (falls back to eager)
    scales: list = field(default_factory=lambda: [list(s) for s in SCALES])

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; known: {', '.join(MODELS)}")
        if self.steps < 1 or self.batch_size < 1 or self.ckpt_every < 1 or self.log_every < 1:
            raise ValueError("steps, batch_size, ckpt_every and log_every must be >= 1")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.lambda_on not in losses.LAMBDA_PLACEMENTS:
            raise ValueError(f"lambda_on must be one of {losses.LAMBDA_PLACEMENTS}, got {self.lambda_on!r}")
        if self.amp not in ("auto", "bf16", "off") or self.channels_last not in ("auto", "on", "off"):
            raise ValueError("amp must be auto|bf16|off and channels_last auto|on|off")
        self.betas = tuple(self.betas)
        self.scales = [list(s) for s in self.scales]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["betas"] = list(d["betas"])
        return d


class NonFiniteLossError(FloatingPointError):
    pass


def dist_info() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def step_seed(seed: int, step: int) -> int:
    return int.from_bytes(hashlib.sha256(f"train:{seed}:{step}".encode()).digest()[:8], "little") >> 1


def atomic_torch_save(obj, path: Path) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over `path`."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": [int(v) for v in np.random.get_state()[1]],
             "python": repr(random.getstate())}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _unwrap(m: nn.Module) -> nn.Module:
    m = getattr(m, "module", m)               # DDP
    return getattr(m, "_orig_mod", m)         # torch.compile


class Trainer:
    """Holds the models, optimizers and data of one run; `run()` trains to cfg.steps."""

    def __init__(self, cfg: TrainConfig, images, out_dir, degrade: DegradeOptions = DegradeOptions(),
                 device: str | torch.device | None = None, progress: bool = True):
        self.cfg, self.degrade, self.progress = cfg, degrade, progress
        self.out_dir = Path(out_dir)
        self.rank, self.world = dist_info()
        if cfg.batch_size % self.world:
            raise ValueError(f"batch_size {cfg.batch_size} is not divisible by the {self.world} processes")
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        on_cuda = self.device.type == "cuda"
        self.amp = cfg.amp == "bf16" or (cfg.amp == "auto" and on_cuda)
        self.channels_last = cfg.channels_last == "on" or (cfg.channels_last == "auto" and on_cuda)
        images = torch.as_tensor(np.asarray(images)) if not torch.is_tensor(images) else images
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != degrade.channels:
            raise ValueError(f"training images must be uint8 (N, {degrade.channels}, H, W); got "
                             f"{images.dtype} {tuple(images.shape)}")
        if len(images) == 0:
            raise ValueError("no training images")
        self.images = images.to(self.device)                 # held on the device, once
        self.spec = MODELS[cfg.model]
        torch.manual_seed(cfg.seed)
        c = degrade.channels
        self.G = build_generator(cfg.model, in_channels=c, width=cfg.width, gate=cfg.gate)
        self.D = build_discriminator(cfg.model, in_channels=c, width=cfg.width)
        for m in (self.G, self.D):
            if m is not None:
                init_weights(m)
                m.to(self.device)
                if self.channels_last:
                    m.to(memory_format=torch.channels_last)
        fused = {"fused": True} if on_cuda else {}
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=cfg.betas, **fused)
        self.opt_d = (torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=cfg.betas,
                                       weight_decay=cfg.d_weight_decay, **fused) if self.D is not None else None)
        self.content_fn, self.content_name = self._content_loss()
        self.step, self.elapsed = 0, 0.0
        self.G_run, self.D_run = self.G, self.D
        if self.world > 1:
            ids = [self.device.index] if on_cuda else None
            self.G_run = nn.parallel.DistributedDataParallel(self.G, device_ids=ids)
            if self.D is not None:
                self.D_run = nn.parallel.DistributedDataParallel(self.D, device_ids=ids)
        if cfg.compile:
            self.G_run = torch.compile(self.G_run)

    def _content_loss(self):
        if self.spec.content_loss == "vgg":
            from .archs.vgg import make_content_loss
            fn, name = make_content_loss(prefer_vgg=True)
            if hasattr(fn, "to"):
                fn = fn.to(self.device)
            return fn, name
        return losses.mse, "mse"

    # ---- state -------------------------------------------------------------------------------
    @property
    def ckpt_path(self) -> Path:
        return self.out_dir / "checkpoint.pt"

    def state_dict(self) -> dict:
        return {"generator": self.G.state_dict(), "discriminator": self.D.state_dict() if self.D else None,
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict() if self.opt_d else None,
                "step": self.step, "elapsed_s": self.elapsed, "rng": _rng_state(),
                "config": self.cfg.to_dict(), "degrade": self.degrade.as_dict()}

    def save_checkpoint(self) -> None:
        if self.rank == 0:
            atomic_torch_save(self.state_dict(), self.ckpt_path)

    def load_checkpoint(self) -> bool:
        if not self.ckpt_path.is_file():
            return False
        state = torch.load(self.ckpt_path, map_location=self.device, weights_only=True)
        mine = {**self.cfg.to_dict(), "ckpt_every": None, "log_every": None, "steps": None, "compile": None}
        theirs = {**state["config"], "ckpt_every": None, "log_every": None, "steps": None, "compile": None}
        if mine != theirs or state["degrade"] != self.degrade.as_dict():
            diff = {k: (theirs.get(k), v) for k, v in mine.items() if theirs.get(k) != v}
            raise ValueError(f"checkpoint {self.ckpt_path} was written with other settings {diff} "
                             f"(or degradation {state['degrade']}); use another folder or delete it")
        self.G.load_state_dict(state["generator"])
        self.opt_g.load_state_dict(state["opt_g"])
        if self.D is not None:
            self.D.load_state_dict(state["discriminator"])
            self.opt_d.load_state_dict(state["opt_d"])
        self.step, self.elapsed = int(state["step"]), float(state["elapsed_s"])
        torch.set_rng_state(state["rng"]["torch"].cpu())
        return True

    # ---- one step ----------------------------------------------------------------------------
    def sample_batch(self, step: int):
        """The global batch of `step` (indices, scale, noise), sliced to this rank's shard."""
        seed = step_seed(self.cfg.seed, step)
        scale = tuple(self.cfg.scales[seed % len(self.cfg.scales)])
        gen = torch.Generator(device=self.device).manual_seed(seed)
        b, c, f = self.cfg.batch_size, self.degrade.channels, self.degrade.factor
        idx = torch.randint(len(self.images), (b,), generator=gen, device=self.device)
        noise = torch.randn(b, c, scale[0] // f, scale[1] // f, generator=gen, device=self.device)
        shard = slice(self.rank * b // self.world, (self.rank + 1) * b // self.world)
        return idx[shard], scale, noise[shard]

    def train_step(self, step: int) -> tuple[tuple[int, int], torch.Tensor]:
        idx, scale, noise = self.sample_batch(step)
        inp, target = degrade_batch(self.images[idx], scale, noise, self.degrade)
        if self.channels_last:
            inp = inp.contiguous(memory_format=torch.channels_last)
            target = target.contiguous(memory_format=torch.channels_last)
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)
        with autocast:
            fake = forward_padded(self.G_run, inp)
        zero = torch.zeros((), device=self.device)
        loss_d = zero
        if self.D is not None:
            with autocast:
                real_logits, fake_logits = self.D_run(target), self.D_run(fake.detach())
            loss_d = losses.discriminator_loss(real_logits, fake_logits)
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
        with autocast:
            content = self.content_fn(fake, target)
            adversarial = losses.adversarial_loss(self.D_run(fake)) if self.D is not None else None
        weight = self.spec.adv_weight if self.spec.adv_weight is not None else self.cfg.lam
        lambda_on = self.cfg.lambda_on if self.spec.adv_weight is None else "adversarial"
        loss_g = losses.generator_loss(content.float(), adversarial, weight, lambda_on)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        adv = adversarial.detach().float() if adversarial is not None else zero
        return scale, torch.stack([loss_g.detach().float(), content.detach().float(), adv, loss_d.detach().float()])

    # ---- the loop ----------------------------------------------------------------------------
    def _truncate_losses(self) -> None:
        path = self.out_dir / "losses.csv"
        if self.rank != 0:
            return
        if not path.is_file():
            atomic_write_text(path, ",".join(LOSS_COLUMNS) + "\n")
            return
        with open(path, newline="") as f:
            rows = [r for r in csv.reader(f)][1:]
        keep = [r for r in rows if len(r) == len(LOSS_COLUMNS) and r[0].isdigit() and int(r[0]) <= self.step]
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(LOSS_COLUMNS)
        w.writerows(keep)
        atomic_write_text(path, buf.getvalue())

    def _flush(self, pending: list) -> None:
        if not pending:
            return
        values = torch.stack([p[2] for p in pending]).cpu()
        bad = ~torch.isfinite(values).all(dim=1)
        if bad.any():
            step = pending[int(bad.nonzero()[0])][0]
            raise NonFiniteLossError(f"{self.cfg.model}: non-finite loss at step {step} "
                                     f"(loss_g, content, adversarial, loss_d = {values[bad][0].tolist()}); "
                                     f"last good checkpoint: {self.ckpt_path}")
        if self.rank == 0:
            with open(self.out_dir / "losses.csv", "a", newline="") as f:
                w = csv.writer(f)
                for (step, scale, _, secs), v in zip(pending, values.tolist()):
                    w.writerow([step, f"{scale[0]}x{scale[1]}", *(f"{x:.6g}" for x in v), f"{secs:.4f}"])
        pending.clear()

    def run(self, stop_after: int | None = None) -> dict:
        """Train to cfg.steps, resuming from checkpoint.pt if present. `stop_after` ends the call
        after that many steps without a final checkpoint (how the tests interrupt a run)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if self.world > 1:
            dist.barrier()
        resumed = self.load_checkpoint()
        start = self.step
        self._truncate_losses()
        pending, done_here = [], 0
        bar = tqdm(total=self.cfg.steps, initial=self.step, desc=self.cfg.model, leave=False,
                   disable=not self.progress or self.rank != 0)
        sync = torch.cuda.synchronize if self.device.type == "cuda" else (lambda: None)
        t_window, window_steps, throughput = time.perf_counter(), 0, []
        self.G.train()
        while self.step < self.cfg.steps:
            t0 = time.perf_counter()
            scale, values = self.train_step(self.step + 1)
            self.step += 1
            done_here += 1
            window_steps += 1
            dt = time.perf_counter() - t0
            self.elapsed += dt
            pending.append((self.step, scale, values, dt))
            bar.update(1)
            if self.step % self.cfg.log_every == 0 or self.step % self.cfg.ckpt_every == 0 or self.step == self.cfg.steps:
                sync()
                now = time.perf_counter()
                throughput.append(window_steps * self.cfg.batch_size / (now - t_window))
                t_window, window_steps = now, 0
                self._flush(pending)
                bar.set_postfix(loss=f"{float(values[0]):.4f}", img_s=f"{throughput[-1]:.0f}")
            if self.step % self.cfg.ckpt_every == 0 or self.step == self.cfg.steps:
                self.save_checkpoint()
            if stop_after is not None and done_here >= stop_after and self.step < self.cfg.steps:
                bar.close()
                return {"interrupted_at": self.step}
        bar.close()
        sync()
        summary = {
            "model": self.cfg.model, "steps": self.step, "resumed_from_step": start if resumed else None,
            "batch_size": self.cfg.batch_size, "world_size": self.world,
            "train_seconds": round(self.elapsed, 3),
            "images_per_s_steady": float(np.median(throughput[1:] or throughput)) if throughput else None,
            "device": device_name(self.device), "amp_bf16": self.amp, "channels_last": self.channels_last,
            "compile": self.cfg.compile, "content_loss": self.content_name,
            "adversarial": self.spec.adversarial,
            "adv_weight": self.spec.adv_weight if self.spec.adv_weight is not None else self.cfg.lam,
            "lambda_on": self.cfg.lambda_on if self.spec.adv_weight is None else "adversarial",
            "params": sum(p.numel() for p in self.G.parameters()),
            "config": self.cfg.to_dict(), "degrade": self.degrade.as_dict(), "torch": torch.__version__,
        }
        if self.rank == 0:
            gen_state = {k: v.detach().cpu().contiguous() for k, v in self.G.state_dict().items()}
            atomic_torch_save({"generator": gen_state,
                               "config": {**self.cfg.to_dict(), "in_channels": self.degrade.channels}},
                              self.out_dir / "generator.pt")
            atomic_write_text(self.out_dir / "train_summary.json", json.dumps(summary, indent=2))
        return summary


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def train(cfg: TrainConfig, images, out_dir, degrade: DegradeOptions = DegradeOptions(),
          device=None, progress: bool = True, stop_after: int | None = None) -> dict:
    """Train (or resume, or skip if finished) one model; returns the run summary."""
    out_dir = Path(out_dir)
    summary_path = out_dir / "train_summary.json"
    if summary_path.is_file() and (out_dir / "generator.pt").is_file():
        summary = json.loads(summary_path.read_text())
        if summary.get("config") == cfg.to_dict() and summary.get("degrade") == degrade.as_dict():
            return summary
    return Trainer(cfg, images, out_dir, degrade, device, progress).run(stop_after=stop_after)
