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
import torch

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sgenlib import data as celeba  # noqa: E402
from sgenlib.archs import MODELS, forward_padded  # noqa: E402
from sgenlib.degrade import DegradeOptions, degrade_batch  # noqa: E402
from sgenlib.optim import build_optimizer  # noqa: E402
from sgenlib.paper import SCALES, scale_name  # noqa: E402
from sgenlib.provenance import git_commit  # noqa: E402
from sgenlib.speed import CompiledWithFallback, cuda_graph_or_none  # noqa: E402
from sgenlib.train import TrainConfig, Trainer, device_name, step_seed  # noqa: E402

try:
    import cv2
except ImportError:  # the naive pipeline then degrades with torch on the CPU, image by image
    cv2 = None

INFER_SCALE = (208, 176)
PHASES = [scale_name(s) for s in SCALES] + ["mixed"]


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


class NaiveTrainer(Trainer):
    """Trainer whose batches come from JPEG files decoded and degraded on the CPU per image, with
    an fp32 eager model and unfused optimizers (cfg must say amp='off', channels_last='off')."""

    def __init__(self, cfg: TrainConfig, source: celeba.CelebA, names: list[str], degrade: DegradeOptions,
                 device, out_dir):
        placeholder = np.zeros((1, degrade.channels, *celeba.CELEBA_SIZE), np.uint8)   # never sampled
        super().__init__(cfg, placeholder, out_dir, degrade, device, progress=False)
        self.source, self.names = source, names
        # the model's own optimizer settings (sgenlib.optim), never fused
        self.opt_g = build_optimizer(self.G, self.optim)
        if self.D is not None:
            self.opt_d = build_optimizer(self.D, {**self.optim, "lr_by_module": None}, self.optim["d_weight_decay"])
        self.fused_adam = False

    def make_batch(self, step: int):
        seed = step_seed(self.cfg.seed, step)
        scale = tuple(self.cfg.scales[seed % len(self.cfg.scales)])
        rng = np.random.default_rng(seed)
        pairs = [degrade_one_cpu(celeba.decode_image(self.source, self.names[i], self.degrade.color, self.degrade.luma),
                                 scale, rng, self.degrade)
                 for i in rng.integers(len(self.names), size=self.cfg.batch_size)]
        inp = torch.from_numpy(np.stack([p[0] for p in pairs])).to(self.device)
        target = torch.from_numpy(np.stack([p[1] for p in pairs])).to(self.device)
        return scale, inp, target


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


def time_training(trainer: Trainer, scales, clock: Clock, warmup: int, steps: int, budget: float,
                  first_step: int) -> dict | None:
    """Training images/s on `scales` (one scale per batch, drawn as in training)."""
    if clock.left() <= 0:
        return None
    trainer.cfg.scales = [list(s) for s in scales]
    step, est = first_step, None
    for _ in range(max(1, warmup)):
        clock.sync()
        t = time.perf_counter()
        trainer.train_step(step)
        clock.sync()
        est = time.perf_counter() - t
        step += 1
    n = max(1, min(steps, int(budget / max(est, 1e-6))))
    clock.sync()
    t0 = time.perf_counter()
    for i in range(n):
        trainer.train_step(step + i)
    clock.sync()
    dt = time.perf_counter() - t0
    return {"images_per_s": n * trainer.cfg.batch_size / dt, "steps": n, "seconds": round(dt, 4)}


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
        self.res = {"train_images_per_s": {p: None for p in PHASES}, "train_steps": {p: None for p in PHASES}}
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
        r = time_training(self.t, scales, clock, warmup, self.args.steps, budget, self.next_step)
        self.next_step += self.args.warmup + self.args.steps
        self.res["train_images_per_s"][phase] = r and round(r["images_per_s"], 2)
        self.res["train_steps"][phase] = r and r["steps"]

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
        self.t.cfg.scales = [list(SCALES[-1])]
        self.t.train_step(self.next_step)
        self.next_step += 1
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        self.res["peak_train_mib"] = round(peak_mib(dev) - off, 1)
        reset_peak(dev)
        self.t.G.eval()
        with torch.no_grad():
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
    else:
        t = NaiveTrainer(TrainConfig(**base, amp="off", channels_last="off"), source, names, degrade, device, tmp)
    return Pipeline(kind, t, args, images_dev, degrade)


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
    graphs = args.cuda_graphs and device.type == "cuda"
    n_blocks = len(kinds) * (len(PHASES) + 2) + (2 if graphs else 0)
    block = budget * 0.7 / n_blocks
    with tempfile.TemporaryDirectory() as tmp:
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
        results, naive_res = {}, None
        if "naive" in pipes:
            naive_res = pipes.pop("naive").res
            free(device)
        pipes["fast"].memory_pass()
        results["fast"] = pipes.pop("fast").result()
        free(device)
        if naive_res is not None:
            naive = build("naive", model, args, images_dev, source, names, degrade, device, tmp)
            naive.res = naive_res
            naive.memory_pass(not_mine_bytes=images_dev.numel() * images_dev.element_size())
            results["naive"] = naive.result()
            del naive
            free(device)
    if args.compile:
        torch._dynamo.reset()
    out["fast"], out["naive"] = results["fast"], results.get("naive")
    out["speedup"] = speedups(out["fast"], out["naive"])
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


def _f(v, nd=1) -> str:
    if v is None:
        return "—"
    if isinstance(v, float) and v >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{nd}f}"


def table(report: dict) -> str:
    bn = report["settings"]["batch_size"]
    cols = ["model", "pipeline", *PHASES, "b1 ms/img", f"b{bn} img/s", "peak MiB"]
    graphs = any((m.get("fast") or {}).get("graph_infer_b1_s") for m in report["models"])
    if graphs:
        cols[-1:-1] = ["graph b1 ms", f"graph b{bn} img/s"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for m in report["models"]:
        for kind in ("fast", "naive"):
            r = m.get(kind)
            if not r:
                continue
            row = [m["model"] if kind == "fast" else "", kind]
            row += [_f(r["train_images_per_s"].get(p)) for p in PHASES]
            row += [_f(r.get("infer_b1_ms_per_image"), 3), _f(r.get("infer_bN_images_per_s"))]
            if graphs:
                row += [_f(r.get("graph_infer_b1_ms_per_image"), 3), _f(r.get("graph_infer_bN_images_per_s"))]
            row += [_f(max(r["peak_train_mib"], r["peak_infer_mib"]), 0)]
            lines.append("| " + " | ".join(row) + " |")
        s = m.get("speedup") or {}
        if s:
            row = ["", "speed-up"] + [_f(s.get(f"train_{p}"), 2) + "x" if s.get(f"train_{p}") else "—" for p in PHASES]
            row += [_f(s.get("infer_b1"), 2) + "x" if s.get("infer_b1") else "—",
                    _f(s.get("infer_bN"), 2) + "x" if s.get("infer_bN") else "—"]
            if graphs:
                row += [_f(s.get("infer_b1_cuda_graphs"), 2) + "x" if s.get("infer_b1_cuda_graphs") else "—",
                        _f(s.get("infer_bN_cuda_graphs"), 2) + "x" if s.get("infer_bN_cuda_graphs") else "—"]
            row += [""]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def markdown(report: dict) -> str:
    st = report["settings"]
    mem = "torch.cuda.max_memory_allocated" if report["device_type"] == "cuda" else "process max RSS so far (only grows)"
    out = [f"# Pipeline benchmark: {report['device']}", "",
           f"torch {report['torch']}" + (f", CUDA {report['cuda']}" if report.get("cuda") else "")
           + f"; commit {report['git']['commit']}{' (dirty)' if report['git']['dirty'] else ''}; {report['date']}.",
           "", f"Settings: width x{st['width']}, batch {st['batch_size']}, up to {st['steps']} timed steps per phase "
           f"after {st['warmup']} warm-up, {report['data']['images']} faces ({report['data']['split_mode']} train "
           f"split of {report['data']['root']}), compile={st['compile']}, cuda_graphs={st['cuda_graphs']}, "
           f"cudnn.benchmark={st['cudnn_benchmark']}, budget {st['max_seconds']} s"
           + (" (--quick)" if st["quick"] else "") + f"; naive degradation with {report['naive_degrade_backend']}.",
           "", "Training columns: images/s at each scale and mixed-scale (a scale per batch). Inference at "
           f"{scale_name(INFER_SCALE)}. Peak memory: {mem}. Speed-up = fast / naive (inference: naive time / fast time).",
           "", f"- fast: {report['definitions']['fast']}", f"- naive: {report['definitions']['naive']}", "",
           table(report), ""]
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
    p.add_argument("--steps", type=int, help="most timed steps per phase (default 20; --quick 2)")
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
    p.add_argument("--max-seconds", type=float, help="budget of the model loop (default 120; --quick 150)")
    p.add_argument("--quick", action="store_true", help="small width/batch/steps for a CPU run of ~2-3 minutes")
    p.add_argument("--cache", default=str(REPO / "cache"), help="decoded-image cache folder")
    p.add_argument("--out", default=str(REPO / "results" / "benchmarks"))
    p.add_argument("--make-subset", metavar="DIR", help="copy the faces the bench uses to DIR and exit")
    args = p.parse_args(argv)
    defaults = dict(steps=(20, 2), warmup=(2, 1), batch_size=(64, 2), width=(1.0, 0.0625), images=(1024, 64),
                    infer_repeats=(40, 5), max_seconds=(120.0, 150.0))
    if args.quick and args.threads is None:
        args.threads = 1
    for k, (full, quick) in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, quick if args.quick else full)
    if args.steps < 1 or args.batch_size < 1 or args.images < 1 or args.max_seconds <= 0:
        p.error("--steps, --batch-size, --images must be >= 1 and --max-seconds > 0")
    models = list(MODELS) if args.models == "all" else [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        p.error(f"unknown model(s) {unknown}; known: {', '.join(MODELS)}")
    args.model_list = sorted(set(models), key=lambda m: (m != "SGEN", models.index(m)))   # SGEN N=3 first
    return args


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
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
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

    clock = Clock(device, args.max_seconds)
    t_loop = time.perf_counter()
    results, skipped, failed = [], [], {}
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

    report = {
        "device": device_name(device), "device_type": device.type, "device_slug": slug(device),
        "torch": torch.__version__, "cuda": torch.version.cuda if device.type == "cuda" else None,
        "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
        "python": platform.python_version(), "git": git_commit(REPO),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "settings": {k: getattr(args, k) for k in ("models", "steps", "warmup", "batch_size", "width", "images",
                                                   "infer_repeats", "compile", "compile_backend", "cuda_graphs",
                                                   "cudnn_benchmark", "threads", "max_seconds", "quick")},
        "data": {"root": str(args.data), "images": len(names), "split_mode": split_mode, "load_s": load_s},
        "naive_degrade_backend": f"OpenCV {cv2.__version__}" if cv2 is not None else "torch on the CPU, per image",
        "definitions": {
            "fast": "decoded uint8 faces held on the device, batched degradation on the device, "
                    + ("bf16 autocast + channels_last + fused Adam" if device.type == "cuda" else "fp32 (CPU)")
                    + (f", torch.compile ({args.compile_backend})" if args.compile else ""),
            "naive": "JPEG decoded per batch on the CPU (main process), degraded per image on the CPU, copied to "
                     "the device; fp32 eager model (PyTorch defaults: cuDNN may use TF32 for convolutions), "
                     "default Adam"},
        "models": results, "skipped_models": skipped, "failed_models": failed,
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32 if device.type == "cuda" else None,
        "wall_s": round(time.perf_counter() - t_loop, 1),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"bench_{report['device_slug']}"
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
