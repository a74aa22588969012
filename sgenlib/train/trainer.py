"""Trainer: one run's models, optimizers and data on its device, and its state (checkpoint save
and exact resume). The step maths is TrainStep (step.py), the loop TrainLoop (loop.py)."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn

from .. import losses
from ..archs import build_discriminator, build_generator, init_scheme, initialise, model_spec
from ..degrade import DegradeOptions
from ..optim import build_optimizer, run_settings
from ..speed import cpu_bf16_unit, fast_precision
from .checkpoints import load_generation, load_weights_file, rng_state, save_generation
from .config import RunStepsError, TrainConfig, resume_settings
from .ddp import default_device, dist_info, train_precision, wrap_ddp
from .identity import run_identity
from .loop import TrainLoop
from .step import TrainStep


class Trainer(TrainLoop, TrainStep):
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
        self._set_device(device)
        images = self._checked_images(images)
        self.identity = run_identity(cfg, degrade, images, data_info)
        self.images = images.to(self.device)                 # held on the device, once
        self._build_models()
        # optimizers: SGEN's Adam, or a baseline's own settings (sgenlib.optim; recorded in the summary)
        self.optim = run_settings(self.spec, cfg)
        self.fused_adam = self.device.type == "cuda" and self.optim["name"] == "adam" and self.allow_fused
        self.opt_g, self.opt_d = self.build_optimizers()
        self._d_params = list(self.D.parameters()) if self.D is not None else []
        self.content_fn, self.content_name = self._content_loss()
        self.step, self.elapsed, self.last_losses = 0, 0.0, None
        self.gate_counts = {"d_skipped": 0, "g_skipped": 0}
        self._zero = torch.zeros((), device=self.device)
        self._gen = torch.Generator(device=self.device)
        self._build_forwards()

    # ---- setup -------------------------------------------------------------------------------
    def _set_device(self, device: str | torch.device | None) -> None:
        """self.device (a CUDA device with its index) and how it computes: amp, channels_last."""
        self.device = torch.device(device) if device is not None else default_device()
        on_cuda = self.device.type == "cuda"
        self.cudnn_benchmark = on_cuda     # six input shapes, each autotuned once: inside run() only
        if on_cuda and self.device.index is None:
            self.device = torch.device("cuda", torch.cuda.current_device())
        self.amp, self.channels_last = fast_precision(self.device, self.cfg.amp, self.cfg.channels_last)

    def _checked_images(self, images) -> torch.Tensor:
        """The training images as a uint8 (N, C, H, W) tensor; ValueError for anything else."""
        images = torch.as_tensor(np.asarray(images)) if not torch.is_tensor(images) else images
        c = self.degrade.channels
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != c:
            raise ValueError(f"training images must be uint8 (N, {c}, H, W); got "
                             f"{images.dtype} {tuple(images.shape)}")
        if len(images) == 0:
            raise ValueError("no training images")
        return images

    def _build_models(self) -> None:
        """G and D of cfg.model (D None for MSE-only models), built after seeding torch with
        cfg.seed, initialised, warm-started and on the device; the adversarial term's weight."""
        cfg = self.cfg
        self.spec = model_spec(cfg.model, cfg.baseline_recipe)
        # the weight on the adversarial term and where it sits: SGEN's lambda and placement, or a
        # baseline's own published weight (always on the adversarial term)
        own = self.spec.adv_weight is not None
        self.adv_weight = self.spec.adv_weight if own else cfg.lam
        self.lambda_on = "adversarial" if own else cfg.lambda_on
        torch.manual_seed(cfg.seed)
        c = self.degrade.channels
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

    def _build_forwards(self) -> None:
        """G and D as the step runs them (G_run, D_run; D_in_g in G's loss): compiled when
        cfg.compile asks (eager if the compiler fails), each wrapped in DDP under torchrun."""
        self.compiled = self.compiled_d = None               # the CompiledWithFallbacks, when asked for
        g_fwd, d_fwd = self.G, self.D
        if self.cfg.compile:
            g_fwd = self._compile_generator()
            if self.D is not None:
                d_fwd = self._compile_discriminator()
        self.G_run, self.D_run = g_fwd, d_fwd
        self.D_in_g = d_fwd                                  # D in G's loss: unwrapped (no DDP hooks)
        self._d_buffers = []                                 # D's buffers, broadcast each step under DDP
        if self.world > 1:
            self.G_run, self.D_run = wrap_ddp(g_fwd, d_fwd, self.device)
            if self.D is not None:
                self._d_buffers = list(self.D.buffers())

    def build_optimizers(self) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer | None]:
        """(G's optimizer, D's or None) from self.optim (sgenlib.optim), fused where
        self.fused_adam says. A subclass changes the optimizers here, not after construction."""
        opt_g = build_optimizer(self.G, self.optim, fused=self.fused_adam)
        if self.D is None:
            return opt_g, None
        d_settings = {**self.optim, "lr_by_module": None, "lr_mult": None}
        return opt_g, build_optimizer(self.D, d_settings, self.optim["d_weight_decay"], fused=self.fused_adam)

    def _warm_start(self) -> dict | None:
        """Load cfg.warm_start (a generator.pt of the spec's warm_start model) into G before step 0
        (a resumed run then overwrites G from its checkpoint); None when there is none."""
        if self.spec.warm_start is None:
            return None
        if self.cfg.warm_start is None:
            warnings.warn(f"{self.cfg.model} is trained from a {self.spec.warm_start} run by its source, but no "
                          "warm_start was given: G starts from its initialisation (study.train_models gives it)",
                          stacklevel=4)
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
            from ..archs.vgg import make_content_loss
            fn, name = make_content_loss(prefer_vgg=True)
            if hasattr(fn, "to"):
                fn = fn.to(self.device)
            return fn, name
        return losses.mse, "mse"

    def _compile_probed(self, module: nn.Module, multiple: int):
        """torch.compile `module` (static shapes: one graph per scale, each compiled once and
        cached), then compile forward and backward now on every scale of the run at this rank's
        batch shape, so a compiler failure falls back to eager before the first optimizer step
        (and before DDP wraps the module). The probe leaves weights, gradients and buffers as
        they were; its seconds are the compile time, reported apart from training time."""
        from ..speed import CompiledWithFallback
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
                "step": self.step, "elapsed_s": self.elapsed, "rng": rng_state(),
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
        mine = resume_settings(self.cfg.to_dict())
        theirs = resume_settings(state["config"])
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

