"""Training: one loop for every model of the paper (MSE-only or MSE + adversarial), on one
device or under torchrun (DistributedDataParallel), with atomic checkpoints and exact resume.

The data path holds the decoded uint8 faces on the training device; every step samples a batch,
draws one of the six scales, degrades the batch on the device (sgenlib.degrade) and takes one
optimizer step. All randomness of step t comes from a generator seeded by (seed, t), so a run
resumed from a checkpoint replays exactly the steps an uninterrupted run would have taken.

Run folder layout (out_dir), written by rank 0 alone under DDP:
  run_identity.json    what the run is: training data hash, degradation, model config, target steps
  checkpoint.pt        G, D, both optimizers, step, RNG states, config (rewritten atomically; the
                       previous generation is kept as checkpoint.prev.pt)
  losses.csv           one row per step: step, scale, loss_g, content, adversarial, loss_d, seconds
                       (losses of the global batch, averaged over ranks; seconds = wall time per
                       step averaged over its logging window, as the device is synchronised only
                       at log points)
  generator.pt         final generator weights + config (written once, at the end)
  train_summary.json   steps, wall time, images/s, device, content loss used, ...
  ../.<run>.lock       held (fcntl.flock) while a process trains into the folder; names the holder

A folder holding a run of another identity (other data, degradation or model settings) is never
reused: it is moved aside to ../replaced/<run>-<old id>-<UTC time> and the run trains afresh. Asking a
finished or checkpointed run for fewer steps than it has stops with an error (never relabelled).

Hot loop: no host-device synchronisation between log points (scale choice and seeds are computed
on the host; losses stay on the device until a log point), no per-step Python allocation beyond
the step's own tensors; in the generator phase D's parameters do not require gradients, so D's
weight gradients (never used: D's step zeroes them first) are neither computed nor all-reduced.

Command line (one process, or one per GPU under torchrun; see docs/scaling.md):
  python -m sgenlib.train --model SGEN-MSE --data PATH --out DIR --steps N --batch-size B --width W
  torchrun --nproc_per_node=K -m sgenlib.train ...      (DistributedDataParallel, NCCL or gloo)
"""
from __future__ import annotations

import argparse
import csv
import errno
import hashlib
import io
import json
import os
import pickle
import platform
import random
import sys
import time
import warnings
import weakref
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
from tqdm.auto import tqdm

from . import data as celeba
from . import losses
from .archs import (INIT_CHOICES, MODELS, RECIPES, build_discriminator, build_generator, forward_padded,
                    init_scheme, initialise, model_spec)
from .degrade import DEFAULT_LUMA, LUMA, DegradeOptions, degrade_batch
from .optim import BASELINE_OPTIM, build_optimizer, lr_factor, run_settings, set_lr
from .paper import SCALES
from .profiles import PROFILES, get_profile
from .fileio import DiskFullError, atomic_write, file_sha256, remove_temporaries
from .locks import FolderLockedError, folder_lock
from .reads import note_read
from .hostinfo import cpu_model
from .speed import cpu_bf16_unit, cudnn_benchmark, fast_precision

PROGRESS_LINE_S = 5.0   # at most one progress line on stderr per this many seconds (plus the last step)
LOSS_COLUMNS = ["step", "scale", "loss_g", "content", "adversarial", "loss_d", "seconds"]
SPEED_ONLY_KEYS = ("compile", "compile_backend")
"""Settings that change how fast a run goes, not what it computes (ignored when matching runs)."""
RESUME_IGNORED_KEYS = ("ckpt_every", "log_every", "steps", "warm_start") + SPEED_ONLY_KEYS
"""Settings a run may change when it resumes from a checkpoint (warm_start, a path, enters the
identity as the hash of the file it names: run_identity)."""
STEP_ORDERS = ("g_then_d", "d_then_g")
"""Order of the two updates of an adversarial step (TrainConfig.step_order); see Trainer.optimize."""


PROFILE_KEYS = ("steps", "batch_size", "width", "ckpt_every", "log_every")
"""The TrainConfig fields a profile sets (TrainConfig.from_profile)."""


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
    resample: str = "strided"           # SGEN conv_{2^m}/deconv_{2^m}: 'strided' (authors' code) or 'pool'
    d_layout: str = "authors"           # SGEN-family discriminator: 'authors' (their code) or 'kit-v1'
    baseline_optim: str = "own"         # baselines: 'own' (ModelSpec.optim, their papers) or 'sgen' (lr, betas)
    seed: int = 0
    ckpt_every: int = 500
    log_every: int = 50                 # losses leave the device (and are checked) this often
    amp: str = "auto"                   # 'auto' = bf16 autocast on CUDA and on a CPU with native bf16
                                        # (AMX-BF16 / AVX512-BF16), else fp32; 'bf16'; 'off'
    channels_last: str = "auto"         # 'auto' = on where amp 'auto' is bf16; 'on'; 'off'
    compile: bool = False               # torch.compile the generator (falls back to eager)
    compile_backend: str = "inductor"   # torch.compile backend ('inductor', 'aot_eager', ...)
    baseline_recipe: str = "source"     # baselines as their sources trained them, or 'kit-v1' (archs.model_spec)
    init: str = "source"                # each model's source's initialisation, or 'sgen': N(0, 0.02) for all
    warm_start: str | None = None       # generator.pt initialising G (SRGAN: its SRResNet run; study does it)
    step_order: str = "g_then_d"        # 'g_then_d' (authors' code: G step, then D on a new fake) or
                                        # 'd_then_g' (kit v1: D step, then G step, on one fake)
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
        if not self.scales:
            raise ValueError("scales must name at least one (height, width)")
        if self.step_order not in STEP_ORDERS:
            raise ValueError(f"step_order must be one of {STEP_ORDERS}, got {self.step_order!r}")
        if self.baseline_optim not in BASELINE_OPTIM:
            raise ValueError(f"baseline_optim must be one of {BASELINE_OPTIM}, got {self.baseline_optim!r}")
        if self.resample not in ("strided", "pool") or self.d_layout not in ("authors", "kit-v1"):
            raise ValueError(f"resample must be strided|pool and d_layout authors|kit-v1; got {self.resample!r}, "
                             f"{self.d_layout!r}")
        if self.baseline_recipe not in RECIPES or self.init not in INIT_CHOICES:
            raise ValueError(f"baseline_recipe must be one of {RECIPES} and init one of {INIT_CHOICES}; got "
                             f"{self.baseline_recipe!r}, {self.init!r}")
        if self.warm_start is not None and model_spec(self.model, self.baseline_recipe).warm_start is None:
            raise ValueError(f"{self.model} (recipe {self.baseline_recipe}) takes no warm start; got "
                             f"warm_start={self.warm_start!r}")
        self.betas = tuple(self.betas)
        self.scales = [list(s) for s in self.scales]

    @classmethod
    def from_profile(cls, profile: dict, model: str, **overrides) -> "TrainConfig":
        """`model`'s settings in a profile (sgenlib.profiles): its steps, batch size, width and
        checkpoint / log intervals; every override that is not None replaces a profile value or a
        default. The one mapping from a profile to a run (study and the command line use it)."""
        missing = [k for k in PROFILE_KEYS if k not in profile]
        if missing:
            raise ValueError(f"the profile has no {', '.join(missing)} "
                             f"(sgenlib.profiles sets {', '.join(PROFILE_KEYS)})")
        kw = {k: profile[k] for k in PROFILE_KEYS}
        kw.update({k: v for k, v in overrides.items() if v is not None})
        return cls(model=model, **kw)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["betas"] = list(d["betas"])
        return d


def _without(d: dict, keys) -> dict:
    return {k: v for k, v in d.items() if k not in keys}


class NonFiniteLossError(FloatingPointError):
    pass


class NonFiniteWeightsError(FloatingPointError):
    """A weight of G or D became NaN/inf (e.g. a learning rate far too large)."""


class CheckpointError(RuntimeError):
    """A checkpoint or generator file is damaged or refused; the message names the file."""


class RunStepsError(ValueError):
    """A run was asked for fewer steps than it already has."""


def dist_info() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def default_device() -> torch.device:
    """cuda:LOCAL_RANK under torchrun, else cuda, else cpu."""
    if not torch.cuda.is_available():
        return torch.device("cpu")
    if "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return torch.device("cuda")


def step_seed(seed: int, step: int) -> int:
    return int.from_bytes(hashlib.sha256(f"train:{seed}:{step}".encode()).digest()[:8], "little") >> 1


# ---- checkpoint IO: atomic writes, generations, damaged files, full disks -------------------
def atomic_torch_save(obj, path: Path) -> None:
    """torch.save into memory, then fileio.atomic_write (so a full disk is an OSError naming the
    file, not torch's 'enforce fail at inline_container.cc')."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write(path, buf.getbuffer())


def load_weights_file(path: Path, map_location="cpu") -> dict:
    """torch.load(weights_only=True) with errors that name the file and say what to do."""
    path = Path(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except pickle.UnpicklingError as e:
        raise CheckpointError(f"{path} holds objects that weights-only loading refuses (it was not "
                              f"written by this kit, or was tampered with); it was not loaded. Delete it "
                              f"or move it away. ({str(e).splitlines()[0]})") from None
    except Exception as e:  # noqa: BLE001 - truncated/zero-byte/garbled files fail in many ways
        size = path.stat().st_size if path.exists() else 0
        raise CheckpointError(f"{path} is damaged ({size} bytes; {type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else 'no detail'})") from None


def check_generator(run_dir: Path, summary: dict | None = None) -> None:
    """CheckpointError naming run_dir/generator.pt and the fix unless it is the file its run wrote:
    the sha256 train_summary.json records (`summary`, else read from the folder). Runs written
    before the summary recorded it are not checked."""
    run_dir = Path(run_dir)
    gen, summary_path = run_dir / "generator.pt", run_dir / "train_summary.json"
    if summary is None:
        try:
            summary = json.loads(summary_path.read_text())
        except (OSError, ValueError):
            return
    expected = (summary or {}).get("generator_sha256")
    if not gen.is_file():
        return
    size = gen.stat().st_size
    if size and not expected:
        return                                    # a run from before summaries recorded the sha256
    actual = file_sha256(gen) if size else None
    if actual == expected:
        return
    what = ("it is empty (0 bytes)" if not size
            else f"its sha256 {actual[:12]}... differs: damaged, or another run's file")
    record = f"; {summary_path} records sha256 {expected[:12]}..." if expected else ""
    ckpt = run_dir / "checkpoint.pt"
    fix = (f"delete it and run again: it is written again from the run's last checkpoint {ckpt}" if ckpt.is_file()
           else f"delete the run folder {run_dir} to train the model again")
    raise CheckpointError(f"{gen} is not the generator its run wrote ({what}{record}); it was not used. "
                          f"Restore it from a backup, or {fix}")


def previous_generation(path: Path) -> Path:
    return path.with_name(path.stem + ".prev" + path.suffix)


def save_generation(obj, path: Path) -> None:
    """Write checkpoint `path` atomically, keeping the one it replaces as <stem>.prev<suffix>."""
    path = Path(path)
    buf = io.BytesIO()
    torch.save(obj, buf)
    if path.is_file():
        os.replace(path, previous_generation(path))
    atomic_write(path, buf.getbuffer())


def load_generation(path: Path, map_location="cpu", set_aside: bool = True) -> tuple[dict, Path] | None:
    """The newest usable generation of checkpoint `path` (and the file it came from), None when
    there is none. A damaged newest one is passed over with a warning naming it (and, with
    `set_aside`, renamed to <name>.damaged so the next save does not rotate it over the good
    previous one); a refused pickle or no usable generation at all raises CheckpointError naming
    the files."""
    path = Path(path)
    prev = previous_generation(path)
    damaged = []
    for p in (path, prev):
        try:
            if not p.is_file():
                continue
            state = load_weights_file(p, map_location)
        except FileNotFoundError:
            continue
        except CheckpointError as e:
            if "refuses" in str(e):
                raise
            damaged.append((p, e))
            continue
        if damaged:
            bad, why = damaged[0]
            kept = ""
            if set_aside:
                os.replace(bad, bad.with_name(bad.name + ".damaged"))
                kept = f" (the damaged file is kept as {bad.name}.damaged)"
            warnings.warn(f"{why}; resuming from the previous checkpoint {p} (step {state.get('step')}){kept}",
                          stacklevel=2)
        return state, p
    if damaged:
        raise CheckpointError(f"{'; '.join(str(e) for _, e in damaged)}; no usable checkpoint is left. Delete "
                              f"{path} (and {prev.name}) to train this run from step 0, or restore them "
                              "from a backup")
    return None


# ---- run identity: what a run folder holds --------------------------------------------------
_IMAGES_SHA: dict[int, tuple] = {}


def images_sha256(images) -> str:
    """sha256 of the training images' shape and pixels (what the weights were trained on),
    remembered per array object so twelve trainings on one array hash it once."""
    key = id(images)
    if key in _IMAGES_SHA and _IMAGES_SHA[key][0]() is images:
        return _IMAGES_SHA[key][1]
    arr = images.detach().cpu().numpy() if torch.is_tensor(images) else np.asarray(images)
    h = hashlib.sha256(f"{arr.dtype}{tuple(arr.shape)}".encode())
    h.update(memoryview(np.ascontiguousarray(arr)).cast("B"))
    digest = h.hexdigest()
    try:
        _IMAGES_SHA[key] = (weakref.ref(images), digest)
    except TypeError:
        pass
    return digest


def run_identity(cfg: TrainConfig, degrade: DegradeOptions, images, data_info: dict | None = None) -> dict:
    """A run's identity: the training data (the pixels' sha256 and, when the caller gives them, the
    train split's names and file-content hash), the degradation and the model settings; `id` is a
    hash of them. The target steps are recorded beside it (a larger target extends the same run)."""
    data = {"pixels_sha256": images_sha256(images)}
    for k in ("train_names_sha256", "train_content_sha256"):
        if data_info and data_info.get(k):
            data[k] = data_info[k]
    body = {"data": data, "degrade": degrade.as_dict(), "config": _without(cfg.to_dict(), RESUME_IGNORED_KEYS)}
    if cfg.warm_start is not None:
        body["warm_start"] = warm_start_source(cfg.warm_start)
    return {"id": hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16], **body}


def warm_start_source(path) -> dict:
    """What a warm start loads: the generator file's SHA-256 and its run's identity id."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"warm start {path}: no such generator file (train its model first)")
    return {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "run": (read_identity(path.parent) or {}).get("id")}


def read_identity(out_dir: Path) -> dict | None:
    try:
        return json.loads((Path(out_dir) / "run_identity.json").read_text())
    except (OSError, ValueError):
        return None


def identity_diff(old: dict | None, new: dict) -> str:
    if old is None:
        return "the folder has no readable run_identity.json (an older kit, or damaged)"
    parts = []
    for k, v in new["data"].items():
        if (old.get("data") or {}).get(k) != v:
            parts.append(f"training data {k} {str((old.get('data') or {}).get(k))[:12]} -> {v[:12]}")
    if old.get("degrade") != new["degrade"]:
        parts.append(f"degradation {old.get('degrade')} -> {new['degrade']}")
    oc = old.get("config") or {}
    parts += [f"{k} {oc.get(k)!r} -> {v!r}" for k, v in new["config"].items() if oc.get(k) != v]
    return "; ".join(parts) or "identity hash differs"


RUN_FILES = ("checkpoint.pt", "checkpoint.prev.pt", "generator.pt", "train_summary.json", "losses.csv")


def claim_run_folder(out_dir: Path, ident: dict, steps: int, data_info: dict | None = None) -> Path | None:
    """Make `out_dir` hold the run `ident` (call it holding the folder's lock). Removes leftover
    temporaries; a folder with a run of another identity is moved aside (returned, with a warning
    naming both identities); a finished run with more steps than `steps` raises RunStepsError.
    Then writes run_identity.json (and train_data.json, the data's description)."""
    out_dir = Path(out_dir)
    remove_temporaries(out_dir)
    aside = None
    if any((out_dir / n).exists() for n in RUN_FILES):
        old = read_identity(out_dir)
        if old is None or old.get("id") != ident["id"]:
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            # beside the runs, one level down, so nothing that lists runs/<profile>/*/ takes it for a model
            aside = out_dir.parent / "replaced" / f"{out_dir.name}-{(old or {}).get('id', 'unknown')}-{stamp}"
            n = 1
            while aside.exists():
                aside, n = aside.with_name(f"{aside.name.rsplit('~', 1)[0]}~{n}"), n + 1
            why = identity_diff(old, ident)
            aside.parent.mkdir(exist_ok=True)
            os.replace(out_dir, aside)
            warnings.warn(f"{out_dir} held a run of another identity (id {(old or {}).get('id')}, this run "
                          f"is id {ident['id']}: {why}); moved it aside to {aside} and training afresh",
                          stacklevel=3)
        else:
            done = finished_steps(out_dir)
            if done is not None and done > steps:
                raise RunStepsError(
                    f"{out_dir} holds a finished run of {done} steps; asked for {steps}. A run is never "
                    f"relabelled: ask for steps >= {done}, or use another run folder, or delete {out_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(out_dir / "run_identity.json", json.dumps({**ident, "steps": steps}, indent=2))
    if data_info is not None:
        atomic_write(out_dir / "train_data.json", json.dumps(data_info, indent=2))
    return aside


def finished_steps(out_dir: Path) -> int | None:
    try:
        if (Path(out_dir) / "generator.pt").is_file():
            return int(json.loads((Path(out_dir) / "train_summary.json").read_text())["steps"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": [int(v) for v in np.random.get_state()[1]],
             "python": repr(random.getstate())}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


class Trainer:
    """Holds the models, optimizers and data of one run; `run()` trains to cfg.steps.

    One step = `make_batch(step)` (sample, degrade on the device) then `optimize(inp, target)`
    (one G step, and for adversarial models one D step, in cfg.step_order); `train_step` does
    both. Subclasses may replace `make_batch` (benchmarks/bench.py times a CPU data pipeline that way)
    and `build_optimizers`, or set allow_fused = False to keep CUDA's Adam unfused.
    """
    allow_fused = True

    def __init__(self, cfg: TrainConfig, images, out_dir, degrade: DegradeOptions = DegradeOptions(),
                 device: str | torch.device | None = None, progress: bool = True,
                 data_info: dict | None = None):
        self.cfg, self.degrade, self.progress = cfg, degrade, progress
        self.data_info = data_info
        self.out_dir = Path(out_dir)
        self.rank, self.world = dist_info()
        if cfg.batch_size % self.world:
            raise ValueError(f"batch_size {cfg.batch_size} is not divisible by the {self.world} processes")
        self.device = torch.device(device) if device is not None else default_device()
        on_cuda = self.device.type == "cuda"
        self.cudnn_benchmark = on_cuda     # six input shapes, each autotuned once: inside run() only
        if on_cuda and self.device.index is None:
            self.device = torch.device("cuda", torch.cuda.current_device())
        self.amp, self.channels_last = fast_precision(self.device, cfg.amp, cfg.channels_last)
        images = torch.as_tensor(np.asarray(images)) if not torch.is_tensor(images) else images
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != degrade.channels:
            raise ValueError(f"training images must be uint8 (N, {degrade.channels}, H, W); got "
                             f"{images.dtype} {tuple(images.shape)}")
        if len(images) == 0:
            raise ValueError("no training images")
        self.identity = run_identity(cfg, degrade, images, data_info)
        self.images = images.to(self.device)                 # held on the device, once
        self.spec = model_spec(cfg.model, cfg.baseline_recipe)
        # the weight on the adversarial term and where it sits: SGEN's lambda and placement, or a
        # baseline's own published weight (always on the adversarial term)
        own = self.spec.adv_weight is not None
        self.adv_weight = self.spec.adv_weight if own else cfg.lam
        self.lambda_on = "adversarial" if own else cfg.lambda_on
        torch.manual_seed(cfg.seed)
        c = degrade.channels
        self.G = build_generator(cfg.model, in_channels=c, width=cfg.width, gate=cfg.gate, resample=cfg.resample,
                                 recipe=cfg.baseline_recipe)
        self.D = build_discriminator(cfg.model, in_channels=c, width=cfg.width, layout=cfg.d_layout)
        self.init = init_scheme(self.spec, cfg.init)
        for m in (self.G, self.D):
            if m is not None:
                initialise(m, self.init)
        self.warm_start = self._warm_start()
        for m in (self.G, self.D):
            if m is not None:
                m.to(self.device)
                if self.channels_last:
                    m.to(memory_format=torch.channels_last)
        self.size_multiple = getattr(self.G, "size_multiple", 1)
        # optimizers: SGEN's Adam, or a baseline's own settings (sgenlib.optim; recorded in the summary)
        self.optim = run_settings(self.spec, cfg)
        self.fused_adam = on_cuda and self.optim["name"] == "adam" and self.allow_fused
        self.opt_g, self.opt_d = self.build_optimizers()
        self._d_params = list(self.D.parameters()) if self.D is not None else []
        self.content_fn, self.content_name = self._content_loss()
        self.step, self.elapsed, self.last_losses = 0, 0.0, None
        self.gate_counts = {"d_skipped": 0, "g_skipped": 0}
        self._zero = torch.zeros((), device=self.device)
        self._gen = torch.Generator(device=self.device)
        self.compiled = self.compiled_d = None               # the CompiledWithFallbacks, when asked for
        g_fwd, d_fwd = self.G, self.D
        if cfg.compile:
            g_fwd = self._compile_generator()
            if self.D is not None:
                d_fwd = self._compile_discriminator()
        self.G_run, self.D_run = g_fwd, d_fwd
        self.D_in_g = d_fwd                                  # D in G's loss: unwrapped (no DDP hooks)
        if self.world > 1:
            self._wrap_ddp(g_fwd, d_fwd, on_cuda)

    def build_optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer | None]:
        """(G's optimizer, D's or None) from self.optim (sgenlib.optim), fused where
        self.fused_adam says. A subclass changes the optimizers here, not after construction."""
        opt_g = build_optimizer(self.G, self.optim, fused=self.fused_adam)
        if self.D is None:
            return opt_g, None
        d_settings = {**self.optim, "lr_by_module": None, "lr_mult": None}
        return opt_g, build_optimizer(self.D, d_settings, self.optim["d_weight_decay"], fused=self.fused_adam)

    def _wrap_ddp(self, g_fwd: nn.Module, d_fwd: nn.Module | None, on_cuda: bool) -> None:
        """DistributedDataParallel for G and D. Gradients all-reduce straight from their buckets
        (gradient_as_bucket_view) on a graph that is the same every step (static_graph).

        D runs twice per step (real, then fake) before one backward. DDP's default buffer
        broadcast before each forward rewrites BatchNorm's running statistics in place between
        the two calls, and torch 2.11 then stops loss_d.backward() with "modified by an inplace
        operation" (2.12+ keeps the version counter). So D gets broadcast_buffers=False and one
        explicit broadcast of rank 0's buffers before its first forward of each step
        (`_sync_d_buffers`): rank 0's statistics, the ones checkpointed, evolve exactly as under
        DDP's default (rank 0 only ever receives its own), and every rank starts each D step from
        them. G runs once per step, so its default broadcast is kept."""
        ids = [self.device.index] if on_cuda else None
        kw = dict(device_ids=ids, gradient_as_bucket_view=True, static_graph=True)
        self.G_run = nn.parallel.DistributedDataParallel(g_fwd, **kw)
        if self.D is not None:
            self.D_run = nn.parallel.DistributedDataParallel(d_fwd, broadcast_buffers=False, **kw)
            self._d_buffers = [b for b in self.D.buffers()]

    def _sync_d_buffers(self) -> None:
        """Rank 0's D buffers (BatchNorm running statistics and counters) to every rank: one
        broadcast per dtype per step, of the buffers flattened into one tensor."""
        if self.world == 1 or not getattr(self, "_d_buffers", None):
            return
        for dtype in dict.fromkeys(b.dtype for b in self._d_buffers):
            group = [b for b in self._d_buffers if b.dtype == dtype]
            flat = torch.cat([b.reshape(-1) for b in group])
            dist.broadcast(flat, 0)
            offset = 0
            for b in group:
                b.copy_(flat[offset:offset + b.numel()].view_as(b))
                offset += b.numel()

    def _warm_start(self) -> dict | None:
        """Load cfg.warm_start (a generator.pt of the spec's warm_start model) into G before step 0
        (a resumed run then overwrites G from its checkpoint); None when there is none."""
        if self.spec.warm_start is None:
            return None
        if self.cfg.warm_start is None:
            warnings.warn(f"{self.cfg.model} is trained from a {self.spec.warm_start} run by its source, but no "
                          "warm_start was given: G starts from its initialisation (study.train_models gives it)",
                          stacklevel=3)
            return None
        blob = load_weights_file(self.cfg.warm_start)
        theirs = blob.get("config") or {}
        if theirs.get("model") != self.spec.warm_start or theirs.get("width") != self.cfg.width:
            raise ValueError(f"warm start {self.cfg.warm_start} holds {theirs.get('model')} at width "
                             f"{theirs.get('width')}; {self.cfg.model} needs {self.spec.warm_start} at width "
                             f"{self.cfg.width}")
        self.G.load_state_dict(blob["generator"])
        return {"path": str(self.cfg.warm_start), **self.identity["warm_start"]}

    def _content_loss(self):
        if self.spec.content_loss == "caffe_euclidean":
            return losses.caffe_euclidean, "caffe_euclidean"
        if self.spec.content_loss == "vgg":
            from .archs.vgg import make_content_loss
            fn, name = make_content_loss(prefer_vgg=True)
            if hasattr(fn, "to"):
                fn = fn.to(self.device)
            return fn, name
        return losses.mse, "mse"

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp)

    def _compile_probed(self, module: nn.Module, multiple: int):
        """torch.compile `module` (static shapes: one graph per scale, each compiled once and
        cached), then compile forward and backward now on every scale of the run at this rank's
        batch shape, so a compiler failure falls back to eager before the first optimizer step
        (and before DDP wraps the module). The probe leaves weights, gradients and buffers as
        they were; its seconds are the compile time, reported apart from training time."""
        from .speed import CompiledWithFallback
        cfg = torch._dynamo.config          # G: six shapes; D: six, each also inside G's loss
        name = "recompile_limit" if hasattr(cfg, "recompile_limit") else "cache_size_limit"
        setattr(cfg, name, max(getattr(cfg, name), 4 * len(self.cfg.scales) + 8))
        wrapper = CompiledWithFallback(module, backend=self.cfg.compile_backend, dynamic=False)
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        shard = self.cfg.batch_size // self.world
        shapes = []
        for h, w in self.cfg.scales:
            shape = (shard, self.degrade.channels, h + (-h) % multiple, w + (-w) % multiple)
            if shape not in shapes:
                shapes.append(shape)
        probes = (torch.zeros(sh, device=self.device).contiguous(memory_format=fmt) for sh in shapes)
        module.train()
        wrapper.probe(probes, backward=True, context=self._autocast)
        return wrapper

    def _compile_generator(self) -> nn.Module:
        self.compiled = self._compile_probed(self.G, self.size_multiple)
        return self.compiled

    def _compile_discriminator(self) -> nn.Module:
        """D sees the targets and G's cropped outputs: the scales themselves, no padding."""
        self.compiled_d = self._compile_probed(self.D, 1)
        return self.compiled_d

    def speed_info(self) -> dict:
        """How this run executes (recorded in the summary; none of it changes what is computed
        beyond floating-point rounding)."""
        unit = cpu_bf16_unit() if self.device.type == "cpu" else None
        return {"amp_bf16": self.amp, "channels_last": self.channels_last, "fused_adam": self.fused_adam,
                "precision": train_precision(self.device, self.amp, unit),
                "cudnn_benchmark": self.cudnn_benchmark,
                "compile": self.cfg.compile,
                "compile_backend": self.cfg.compile_backend if self.cfg.compile else None,
                "compile_active": bool(self.compiled is not None and self.compiled.active),
                "compile_error": self.compiled.error if self.compiled is not None else None,
                "compile_probe_s": round(getattr(self.compiled, "probe_seconds", 0.0), 2) if self.compiled else None,
                "compile_d_active": bool(self.compiled_d.active) if self.compiled_d is not None else None,
                "compile_d_error": self.compiled_d.error if self.compiled_d is not None else None,
                "compile_d_probe_s": (round(getattr(self.compiled_d, "probe_seconds", 0.0), 2)
                                      if self.compiled_d is not None else None)}

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
            save_generation(self.state_dict(), self.ckpt_path)

    def load_checkpoint(self) -> bool:
        """Every rank reads checkpoint.pt (out_dir must be visible to all of them); under DDP the
        ranks then check that they all resumed from the same step."""
        loaded = self._load_checkpoint_file()
        if self.world > 1:
            steps = torch.tensor([self.step, -self.step], device=self.device, dtype=torch.int64)
            dist.all_reduce(steps, op=dist.ReduceOp.MAX)
            if int(steps[0]) != self.step or -int(steps[1]) != self.step:
                raise RuntimeError(f"rank {self.rank} resumed from step {self.step} but another rank from step "
                                   f"{int(steps[0]) if int(steps[0]) != self.step else -int(steps[1])}: "
                                   f"{self.ckpt_path} must be on a filesystem every rank sees")
        return loaded

    def _load_checkpoint_file(self) -> bool:
        found = load_generation(self.ckpt_path, self.device, set_aside=self.rank == 0)
        if found is None:
            return False
        state, _ = found
        if int(state["step"]) > self.cfg.steps:
            raise RunStepsError(f"{self.ckpt_path.parent} holds a checkpoint at step {int(state['step'])}; asked "
                                f"for {self.cfg.steps} steps. A run is never relabelled: ask for steps >= "
                                f"{int(state['step'])}, or use another run folder, or delete it")
        mine = _without(self.cfg.to_dict(), RESUME_IGNORED_KEYS)
        theirs = _without(state["config"], RESUME_IGNORED_KEYS)
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
    def sample_batch(self, step: int, scale: tuple[int, int] | None = None):
        """The global batch of `step` (indices, scale, noise), sliced to this rank's shard. The
        scale is drawn from cfg.scales unless `scale` names it (benchmarks and sizing time one
        scale at a time); the images and noise are the step's either way."""
        seed = step_seed(self.cfg.seed, step)
        scale = tuple(scale) if scale is not None else tuple(self.cfg.scales[seed % len(self.cfg.scales)])
        gen = self._gen.manual_seed(seed)                    # one generator, reseeded: no per-step object
        b, c, f = self.cfg.batch_size, self.degrade.channels, self.degrade.factor
        idx = torch.randint(len(self.images), (b,), generator=gen, device=self.device)
        noise = torch.randn(b, c, scale[0] // f, scale[1] // f, generator=gen, device=self.device)
        shard = slice(self.rank * b // self.world, (self.rank + 1) * b // self.world)
        return idx[shard], scale, noise[shard]

    def make_batch(self, step: int, scale: tuple[int, int] | None = None
                   ) -> tuple[tuple[int, int], torch.Tensor, torch.Tensor]:
        """(scale, network input, HR target) of this rank's shard of `step`, on the device."""
        idx, scale, noise = self.sample_batch(step, scale)
        inp, target = degrade_batch(self.images[idx], scale, noise, self.degrade)
        if self.channels_last:
            inp = inp.contiguous(memory_format=torch.channels_last)
            target = target.contiguous(memory_format=torch.channels_last)
        return scale, inp, target

    def optimize(self, inp: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """One optimizer step of G and, for adversarial models, one of D, on a batch; returns the
        device tensor [loss_g, content, adversarial, loss_d] (nothing leaves the device here).

        cfg.step_order (eqs. 11-12 fix the losses, not the order of the updates):
          'g_then_d'  the authors' code: G forward, G loss and step; then a new G forward (no
                      gradients) with the updated G, and the D step on real vs that new fake.
          'd_then_g'  kit v1: one G forward; the D step on real vs that fake, then the G step
                      through the updated D.
        Neither order draws random numbers, so a step stays a function of (seed, step).
        """
        with self._autocast():
            fake = forward_padded(self.G_run, inp, self.size_multiple)
        if self.D is None:
            loss_g, content, adv = self._g_step(fake, target)
            return torch.stack([loss_g, content, adv, self._zero])
        if self.spec.gate_margin is not None:
            return self._gated_step(fake, target)
        if self.cfg.step_order == "d_then_g":
            loss_d = self._d_step(target, fake.detach())
            loss_g, content, adv = self._g_step(fake, target)
        else:
            loss_g, content, adv = self._g_step(fake, target)
            with torch.no_grad(), self._autocast():
                fresh = forward_padded(self.G_run, inp, self.size_multiple)
            loss_d = self._d_step(target, fresh)
        return torch.stack([loss_g, content, adv, loss_d])

    def _d_step(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """One D step on real vs (detached) fake, eq. (12); returns the detached loss. Under DDP,
        rank 0's D buffers reach every rank first (_sync_d_buffers)."""
        self._sync_d_buffers()
        with self._autocast():
            real_logits, fake_logits = self.D_run(real), self.D_run(fake)
        loss_d = losses.discriminator_loss(real_logits, fake_logits)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        return loss_d.detach().float()

    def _gated_step(self, fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """URDGN's step (its released training script): D's errors on real and fake (D before its
        update) decide, by losses.gan_gating, whether D and then G are updated (one host sync;
        the errors are averaged over ranks first, so all ranks decide alike)."""
        self._sync_d_buffers()
        with self._autocast():
            real_logits, fake_logits = self.D_run(target), self.D_run(fake.detach())
        err_r = losses.adversarial_loss(real_logits)                  # BCE(D(real), 1)
        err_f = losses.adversarial_loss(-fake_logits)                # BCE(D(fake), 0)
        errs = torch.stack([err_r.detach(), err_f.detach()])
        if self.world > 1:
            dist.all_reduce(errs)
            errs = errs / self.world
        update_d, update_g = losses.gan_gating(*errs.tolist(), self.spec.gate_margin)
        self.gate_counts["d_skipped"] += not update_d
        self.gate_counts["g_skipped"] += not update_g
        loss_d = err_r + err_f
        if update_d:
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
        loss_g, content, adv = self._g_step(fake, target, update=update_g)
        return torch.stack([loss_g, content, adv, loss_d.detach().float()])

    def _g_step(self, fake: torch.Tensor, target: torch.Tensor, update: bool = True):
        """One G step on content + weighted adversarial loss, eq. (11); returns the detached
        (loss_g, content, adversarial) (adversarial 0 for MSE-only models). update=False computes
        the losses only (URDGN's gating)."""
        adversarial = None
        if self.D is not None:
            # gradients flow through D to G only; D itself runs unwrapped (no DDP hooks to fire)
            for p in self._d_params:
                p.requires_grad_(False)
            try:
                with self._autocast():
                    adversarial = losses.adversarial_loss(self.D_in_g(fake))
            finally:
                for p in self._d_params:
                    p.requires_grad_(True)
        with self._autocast():
            content = self.content_fn(fake, target)
        loss_g = losses.generator_loss(content.float(), adversarial, self.adv_weight, self.lambda_on)
        if update:
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            self.opt_g.step()
        adv = adversarial.detach().float() if adversarial is not None else self._zero
        return loss_g.detach().float(), content.detach().float(), adv

    def train_step(self, step: int, scale: tuple[int, int] | None = None
                   ) -> tuple[tuple[int, int], torch.Tensor]:
        """One whole step: the lr schedule's factor, the batch (at `scale` when given, else drawn
        from cfg.scales), then `optimize`."""
        schedule = self.optim.get("lr_schedule")
        if schedule is not None:                     # a function of the step: resume takes the same lr
            factor = lr_factor(schedule, step, self.cfg.steps)
            for opt in (self.opt_g, self.opt_d):
                if opt is not None:
                    set_lr(opt, factor)
        scale, inp, target = self.make_batch(step, scale)
        return scale, self.optimize(inp, target)

    # ---- the loop ----------------------------------------------------------------------------
    def _truncate_losses(self) -> None:
        path = self.out_dir / "losses.csv"
        if self.rank != 0:
            return
        if not path.is_file():
            atomic_write(path, ",".join(LOSS_COLUMNS) + "\n")
            return
        with open(path, newline="") as f:
            rows = [r for r in csv.reader(f)][1:]
        keep = [r for r in rows if len(r) == len(LOSS_COLUMNS) and r[0].isdigit() and int(r[0]) <= self.step]
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(LOSS_COLUMNS)
        w.writerows(keep)
        atomic_write(path, buf.getvalue())

    def _flush(self, pending: list, seconds_per_step: float) -> None:
        """Bring the window's losses to the host (averaged over ranks: the global batch's losses),
        stop on a non-finite one (every rank sees the same values, so all stop together), and
        append them to losses.csv (rank 0)."""
        if not pending:
            return
        values = torch.stack([p[2] for p in pending])
        if self.world > 1:
            dist.all_reduce(values)
            values = values / self.world
        values = values.cpu()
        bad = ~torch.isfinite(values).all(dim=1)
        if bad.any():
            step = pending[int(bad.nonzero()[0])][0]
            raise NonFiniteLossError(f"{self.cfg.model}: non-finite loss at step {step} "
                                     f"(loss_g, content, adversarial, loss_d = {values[bad][0].tolist()}); "
                                     f"{self._last_checkpoint()}")
        self._check_weights(pending[-1][0])
        if self.rank == 0:
            path = self.out_dir / "losses.csv"
            try:
                with open(path, "a", newline="") as f:
                    w = csv.writer(f)
                    for (step, scale, _), v in zip(pending, values.tolist()):
                        w.writerow([step, f"{scale[0]}x{scale[1]}", *(f"{x:.6g}" for x in v), f"{seconds_per_step:.4f}"])
            except OSError as e:
                if e.errno == errno.ENOSPC:
                    raise DiskFullError(path) from e
                raise
        self.last_losses = values[-1].tolist()
        pending.clear()

    def _check_weights(self, step: int) -> None:
        """Stop when a weight of G or D is NaN/inf (one device sync, at log points only), and at the
        last step also when G's output on that step's batch is (finite but huge weights, e.g.
        after an update with lr 1e30, make a dead generator that the losses, computed before the
        update, do not show)."""
        named = [(f"G.{n}", p) for n, p in self.G.named_parameters()]
        if self.D is not None:
            named += [(f"D.{n}", p) for n, p in self.D.named_parameters()]
        finite = torch.stack([torch.isfinite(p).all() for _, p in named])
        bad = None if bool(finite.all()) else named[int((~finite).nonzero()[0])][0]
        what = f"non-finite weights ({bad} and maybe others)"
        if bad is None and step == self.cfg.steps:
            _, inp, _ = self.make_batch(step)
            self.G.eval()
            with torch.no_grad(), self._autocast():
                ok = torch.isfinite(forward_padded(self.G, inp, self.size_multiple)).all().float()
            self.G.train()
            if self.world > 1:
                dist.all_reduce(ok, op=dist.ReduceOp.MIN)
            if not bool(ok):
                big = max(float(p.detach().abs().max()) for _, p in named)
                bad, what = "G output", f"a generator whose output is non-finite (largest weight {big:.3g})"
        if bad is not None:
            raise NonFiniteWeightsError(
                f"{self.cfg.model}: {what} after step {step} (lr {self.cfg.lr}); the network is dead. Lower "
                f"the learning rate; {self._last_checkpoint()}")

    def _last_checkpoint(self) -> str:
        """Where a rerun would resume from, for the errors that stop a run: a checkpoint file only
        when one exists."""
        if self.ckpt_path.is_file():
            return f"last good checkpoint: {self.ckpt_path}"
        return f"no checkpoint was written yet (a rerun starts from step 0 in {self.out_dir})"

    def _barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def run(self, stop_after: int | None = None) -> dict:
        """Train to cfg.steps, resuming from checkpoint.pt if present. `stop_after` ends the call
        after that many steps without a final checkpoint (how the tests interrupt a run).
        Rank 0 holds the run folder's lock throughout (a second writer stops at once, naming it).
        cuDNN's algorithm search (self.cudnn_benchmark, on for CUDA) is on for this call only."""
        with cudnn_benchmark(self.cudnn_benchmark):
            return self._run(stop_after)

    def _run(self, stop_after: int | None) -> dict:
        if self.rank != 0:
            self._claim_result(None)
            return self._train_loop(stop_after)
        with folder_lock(self.out_dir, f"run folder {self.out_dir}"):
            error = None
            try:
                claim_run_folder(self.out_dir, self.identity, self.cfg.steps, self.data_info)
            except Exception as e:  # noqa: BLE001 - re-raised below, after telling the other ranks
                error = e
            self._claim_result(error)
            return self._train_loop(stop_after)

    def _claim_result(self, error: Exception | None) -> None:
        """Under DDP every rank learns whether rank 0 claimed the folder, so all stop together."""
        ok = torch.tensor([0 if error is not None else 1], device=self.device)
        if self.world > 1:
            dist.all_reduce(ok, op=dist.ReduceOp.MIN)
        if error is not None:
            raise error
        if not int(ok):
            raise RuntimeError(f"rank 0 could not take the run folder {self.out_dir} (see its error)")

    def _train_loop(self, stop_after: int | None = None) -> dict:
        resumed = self.load_checkpoint()
        start = self.step
        self._truncate_losses()
        pending, done_here = [], 0
        bar = tqdm(total=self.cfg.steps, initial=self.step, desc=self.cfg.model, leave=False,
                   disable=not self.progress or self.rank != 0)
        sync = (lambda: torch.cuda.synchronize(self.device)) if self.device.type == "cuda" else (lambda: None)
        window_steps, throughput, last_line = 0, [], -float("inf")
        if self.progress and self.rank == 0 and self.step < self.cfg.steps:
            print(f"[train {self.cfg.model}] step {self.step}/{self.cfg.steps}: training at batch "
                  f"{self.cfg.batch_size} on {self.device}", file=sys.stderr, flush=True)
        self.G.train()
        if self.D is not None:
            self.D.train()
        sync()
        t_window = time.perf_counter()
        while self.step < self.cfg.steps:
            scale, values = self.train_step(self.step + 1)
            self.step += 1
            done_here += 1
            window_steps += 1
            pending.append((self.step, scale, values))
            bar.update(1)
            log_now = (self.step % self.cfg.log_every == 0 or self.step % self.cfg.ckpt_every == 0
                       or self.step == self.cfg.steps)
            if log_now:
                sync()                                       # the only host-device sync of the loop
                dt = time.perf_counter() - t_window
                self.elapsed += dt
                throughput.append(window_steps * self.cfg.batch_size / dt)
                self._flush(pending, dt / window_steps)
                window_steps = 0
                bar.set_postfix(loss=f"{self.last_losses[0]:.4f}", img_s=f"{throughput[-1]:.0f}")
                if self.progress and self.rank == 0 and (time.perf_counter() - last_line >= PROGRESS_LINE_S
                                                         or self.step == self.cfg.steps):
                    # a plain line on stderr: run_all.sh forwards the notebooks' stderr to its terminal
                    print(f"[train {self.cfg.model}] step {self.step}/{self.cfg.steps} "
                          f"loss {self.last_losses[0]:.4f} {throughput[-1]:.0f} img/s", file=sys.stderr, flush=True)
                    last_line = time.perf_counter()
            if self.step % self.cfg.ckpt_every == 0 or self.step == self.cfg.steps:
                self.save_checkpoint()
            if log_now:
                t_window = time.perf_counter()               # logging and checkpoint I/O not timed
            if stop_after is not None and done_here >= stop_after and self.step < self.cfg.steps:
                bar.close()
                self._barrier()
                return {"interrupted_at": self.step}
        bar.close()
        summary = {
            "model": self.cfg.model, "steps": self.step, "resumed_from_step": start if resumed else None,
            "batch_size": self.cfg.batch_size, "world_size": self.world,
            "train_seconds": round(self.elapsed, 3),
            "images_per_s_steady": float(np.median(throughput[1:] or throughput)) if throughput else None,
            "device": device_name(self.device), **self.speed_info(),
            "ddp_backend": dist.get_backend() if self.world > 1 else None,
            "content_loss": self.content_name,
            "adversarial": self.spec.adversarial,
            "adv_weight": self.adv_weight, "lambda_on": self.lambda_on, "optimizer": self.optim,
            "step_order": (("d_then_g (URDGN gating)" if self.spec.gate_margin is not None else self.cfg.step_order)
                           if self.D is not None else None),
            "recipe": self.cfg.baseline_recipe, "init": self.init, "warm_start": self.warm_start,
            "gating_this_process": dict(self.gate_counts) if self.spec.gate_margin is not None else None,
            "params": sum(p.numel() for p in self.G.parameters()),
            "config": self.cfg.to_dict(), "degrade": self.degrade.as_dict(), "torch": torch.__version__,
            "identity": self.identity["id"], "train_data": self.identity["data"],
        }
        if self.rank == 0:
            gen_state = {k: v.detach().cpu().contiguous() for k, v in self.G.state_dict().items()}
            atomic_torch_save({"generator": gen_state,
                               "config": {**self.cfg.to_dict(), "in_channels": self.degrade.channels}},
                              self.out_dir / "generator.pt")
            summary["generator_sha256"] = file_sha256(self.out_dir / "generator.pt")
            atomic_write(self.out_dir / "train_summary.json", json.dumps(summary, indent=2))
        self._barrier()                                      # every rank returns once the files exist
        return summary


def train_precision(device: torch.device, amp: bool, cpu_unit: str | None) -> str:
    """How a run's steps compute, in words: 'bf16 autocast (AVX512-BF16)', 'fp32', ..."""
    if not amp:
        return "fp32"
    if device.type == "cpu":
        return f"bf16 autocast ({cpu_unit})" if cpu_unit else "bf16 autocast (emulated: no native bf16 unit)"
    return "bf16 autocast"


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({cpu_model() or platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def train(cfg: TrainConfig, images, out_dir, degrade: DegradeOptions = DegradeOptions(),
          device=None, progress: bool = True, stop_after: int | None = None,
          data_info: dict | None = None) -> dict:
    """Train (or resume, or skip if finished) one model; returns the run summary.

    A finished run is reused only when its identity (training data, degradation, model settings;
    see run_identity) and its steps are those asked for; see claim_run_folder for the rest.
    `data_info` describes the training data (train_names_sha256, train_content_sha256, root, ...)."""
    out_dir = Path(out_dir)
    summary_path = out_dir / "train_summary.json"
    old = read_identity(out_dir)
    if old is not None and summary_path.is_file() and (out_dir / "generator.pt").is_file():
        try:
            summary = json.loads(summary_path.read_text())
        except (OSError, ValueError):
            summary = {}
        if (summary.get("steps") == cfg.steps and old.get("id") == run_identity(cfg, degrade, images, data_info)["id"]
                and summary.get("identity") == old.get("id")):
            check_generator(out_dir, summary)
            note_read(out_dir / "generator.pt")
            return summary
    summary = Trainer(cfg, images, out_dir, degrade, device, progress, data_info).run(stop_after=stop_after)
    if "interrupted_at" not in summary:
        note_read(out_dir / "generator.pt")
    return summary


# ---- command line, one process or torchrun ---------------------------------------------------
def init_distributed(device: str = "auto") -> tuple[torch.device, bool]:
    """Under torchrun (WORLD_SIZE > 1) start the process group: NCCL with this process's
    LOCAL_RANK GPU, or gloo on the CPU. Returns (device, whether this call started the group)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if device in (None, "auto"):
        kind = "cuda" if torch.cuda.is_available() else "cpu"
    else:
        kind = torch.device(device).type
    if kind == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda asked for, but torch sees no CUDA device")
    if world <= 1 or (dist.is_available() and dist.is_initialized()):
        if device in (None, "auto"):
            return default_device(), False
        return torch.device(device), False
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if kind == "cuda":
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
        dist.init_process_group("nccl", device_id=dev)
    else:
        dev = torch.device("cpu")
        dist.init_process_group("gloo")
    return dev, True


def load_train_images(data_root: str | None, profile: dict, degrade: DegradeOptions, seed: int = 0,
                      cache_dir: str | os.PathLike = "cache", limit: int | None = None) -> tuple[np.ndarray, dict]:
    """The profile's training split as a uint8 array (decoded once into `cache_dir`; under
    torchrun the first process of each node decodes, the others then read the cache)."""
    root = celeba.resolve_root(data_root)
    source = celeba.open_celeba(root)
    plimit = profile.get("limit")
    train_limit = limit if limit is not None else (plimit.get("train") if isinstance(plimit, dict) else plimit)
    kw = dict(mode=profile["split_mode"], seed=seed, limit={"train": train_limit}, color=degrade.color,
              luma=degrade.luma, cache_dir=cache_dir)
    first = int(os.environ.get("LOCAL_RANK", "0")) == 0
    if dist.is_available() and dist.is_initialized():
        if first:
            arr, kept = celeba.load_split(source, "train", **kw)
        dist.barrier()
        if not first:
            arr, kept = celeba.load_split(source, "train", **kw)
    else:
        arr, kept = celeba.load_split(source, "train", **kw)
    info = {"root": str(root), "split_mode": profile["split_mode"], "seed": seed, "train_images": len(kept),
            "train_names_sha256": celeba.names_sha256(kept),
            "train_content_sha256": celeba.content_sha256(source, kept)}
    return arr, info


def _positive(kind):
    """An argparse type: a number of `kind` above 0 (argparse's one-line error otherwise)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value
    parse.__name__ = kind.__name__
    return parse


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sgenlib.train",
                                description="Train one model of the paper (one process, or torchrun for DDP).")
    p.add_argument("--model", required=True, choices=list(MODELS))
    p.add_argument("--data", default=None, help="CelebA root (default $CELEBA_ROOT, else data/celeba)")
    p.add_argument("--out", required=True, help="run folder (checkpoint, losses.csv, generator.pt, summary)")
    p.add_argument("--profile", default="gpu-quick", choices=list(PROFILES),
                   help="split mode, train-image limit and defaults for the settings below (default gpu-quick)")
    p.add_argument("--steps", type=_positive(int))
    p.add_argument("--batch-size", type=_positive(int), help="global batch, split over the processes")
    p.add_argument("--width", type=_positive(float))
    p.add_argument("--lr", type=_positive(float))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ckpt-every", type=_positive(int))
    p.add_argument("--log-every", type=_positive(int))
    p.add_argument("--gate", choices=["sigmoid", "lrelu"])
    p.add_argument("--resample", choices=["strided", "pool"], help="SGEN conv_{2^m}/deconv_{2^m} (default strided)")
    p.add_argument("--d-layout", choices=["authors", "kit-v1"], help="SGEN-family discriminator (default authors)")
    p.add_argument("--baseline-optim", choices=list(BASELINE_OPTIM), help="baselines' optimizer (default own)")
    p.add_argument("--lambda-on", choices=list(losses.LAMBDA_PLACEMENTS))
    p.add_argument("--recipe", choices=list(RECIPES), help="baselines as their sources trained them (default "
                   "source) or kit-v1")
    p.add_argument("--init", choices=list(INIT_CHOICES), help="each model's source's initialisation (default "
                   "source) or sgen (N(0, 0.02) for all)")
    p.add_argument("--warm-start", help="generator.pt that initialises G (SRGAN: its SRResNet run)")
    p.add_argument("--step-order", choices=list(STEP_ORDERS),
                   help="g_then_d (authors' code, default) or d_then_g (kit v1)")
    p.add_argument("--amp", choices=["auto", "bf16", "off"])
    p.add_argument("--channels-last", choices=["auto", "on", "off"])
    p.add_argument("--compile", action="store_true", help="torch.compile the generator (eager if it fails)")
    p.add_argument("--compile-backend", default=None, help="torch.compile backend (default inductor)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (under torchrun: LOCAL_RANK's GPU)")
    p.add_argument("--color", choices=["gray", "rgb"], default="gray")
    p.add_argument("--luma", choices=sorted(LUMA), default=DEFAULT_LUMA,
                   help="gray conversion: authors (their code's swapped formula, default) or standard")
    p.add_argument("--clip-noise", action="store_true")
    p.add_argument("--round-8bit", action="store_true",
                   help="round HR and LR to 8 bits (kit v1); the authors' code resizes in float32")
    p.add_argument("--cache", default="cache", help="decoded-image cache folder")
    p.add_argument("--train-images", type=_positive(int), help="use a seeded sample of this many training images")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    """The command line; a known failure (full disk, damaged checkpoint, locked folder, fewer steps
    than the run has) ends with its message as the last line and exit status 1."""
    try:
        return _main(argv)
    except (DiskFullError, CheckpointError, FolderLockedError, RunStepsError, FloatingPointError) as e:
        print(f"sgenlib.train: {e}", file=sys.stderr, flush=True)
        return 1


def _main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    prof = get_profile(args.profile)
    device, started = init_distributed(args.device)
    rank, world = dist_info()
    try:
        degrade = DegradeOptions(color=args.color, luma=args.luma, clip_noise=args.clip_noise,
                                 round_8bit=args.round_8bit)
        data = os.path.abspath(args.data) if args.data else None     # a relative --data: from the cwd
        try:
            images, data_info = load_train_images(data, prof, degrade, args.seed, args.cache, args.train_images)
        except celeba.CelebAError as e:
            parser.error(f"--data: {e}")                              # one line, no traceback
        given = dict(steps=args.steps, batch_size=args.batch_size, width=args.width, lr=args.lr,
                     ckpt_every=args.ckpt_every, log_every=args.log_every, gate=args.gate,
                     resample=args.resample, d_layout=args.d_layout, baseline_optim=args.baseline_optim,
                     lambda_on=args.lambda_on, step_order=args.step_order, amp=args.amp,
                     baseline_recipe=args.recipe, init=args.init, warm_start=args.warm_start,
                     channels_last=args.channels_last,
                     compile_backend=args.compile_backend)
        cfg = TrainConfig.from_profile(prof, args.model, seed=args.seed, compile=args.compile, **given)
        out = Path(args.out)
        summary = train(cfg, images, out, degrade, device, progress=not args.no_progress,
                        data_info={**data_info, "profile": args.profile})
        if rank == 0:
            print(json.dumps({k: summary.get(k) for k in (
                "model", "steps", "resumed_from_step", "batch_size", "world_size", "train_seconds",
                "images_per_s_steady", "device", "amp_bf16", "compile_active", "ddp_backend")}, indent=2))
    finally:
        if started:
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    from sgenlib.train import main as _main        # the package's module, not a second copy as __main__
    sys.exit(_main())
