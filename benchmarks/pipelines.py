"""One model's pipelines side by side, and the timing loops that measure them: the kit's ("fast":
sgenlib.train's Trainer, faces on the device) and the authors'-style one ("naive", benchmarks.naive),
phase by phase (each of the six scales, then mixed-scale), batch-1 and batched inference, FLOPs per
image, each pipeline's peak memory on its own, and the speed-ups.
"""
from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from sgenlib.archs import forward_padded
from sgenlib.degrade import DegradeOptions, degrade_batch
from sgenlib.paper import SCALES, scale_name
from sgenlib.speed import CompiledWithFallback, cuda_graph_or_none
from sgenlib.timing import Clock, cycle, free, peak_mib, reset_peak, sync, time_calls, timed_steps
from sgenlib.train import TrainConfig, Trainer

from .naive import NaiveTrainer, strict_fp32, tf32_allowed
from .peak import fraction_of_peak

INFER_SCALE = (208, 176)
PHASES = [scale_name(s) for s in SCALES] + ["mixed"]
PHASE_ORDER = ["208x176", "128x96"] + [p for p in PHASES if p not in ("208x176", "128x96", "mixed")] + ["mixed"]
"""The largest and smallest scale first (the pairs a tight budget keeps), mixed-scale last, once
every shape has been seen by both pipelines (a shape's first step pays for algorithm choice)."""


# ---- the timing loop of training ---------------------------------------------------------------
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
        trainer.start_phase(first_step, scales)     # its loader plans the same cycle, in step order
    n_warm = max(len(scales), warmup)
    warm_s, step = timed_steps(clock, trainer, first_step, cycle(scales, n_warm))
    est = warm_s / n_warm
    per_cycle = len(scales)
    cycles = max(1, min(max(1, steps // per_cycle), int(budget / max(1, windows) / max(est * per_cycle, 1e-6))))
    n = cycles * per_cycle
    rates = []
    for _ in range(max(1, windows)):
        if rates and clock.left() <= 0:
            break
        seconds, step = timed_steps(clock, trainer, step, cycle(scales, n, step - first_step))
        rates.append(n * trainer.cfg.batch_size / seconds)
    if isinstance(trainer, NaiveTrainer):
        trainer.end_phase()
    return {"images_per_s": float(np.median(rates)), "min": min(rates), "max": max(rates),
            "windows": len(rates), "steps_per_window": n, "cycles_per_window": cycles}, step


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
        sync(dev)
        self.res["peak_train_mib"] = round(peak_mib(dev) - off, 1)
        reset_peak(dev)
        self.t.G.eval()
        with torch.no_grad(), self.numerics():
            self.forward(self.xb)
        sync(dev)
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


# ---- FLOPs per image, one model's bench, speed-ups ----------------------------------------------
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

        def make(kind):
            return build(kind, model, args, images_dev, source, names, degrade, device, tmp)
        t = time.perf_counter()
        pipes = {k: make(k) for k in kinds}
        out["setup_s"] = round(time.perf_counter() - t, 2)
        out["params"] = sum(p.numel() for p in pipes["fast"].t.G.parameters())
        out["content_loss"] = pipes["fast"].t.content_name
        time_side_by_side(pipes, kinds, clock, block, graphs)
        results = peak_memory(pipes, make, images_dev.numel() * images_dev.element_size(), device)
    if args.compile:
        torch._dynamo.reset()
    out["fast"], out["naive"] = results["fast"], results.get("naive")
    if "naive-tf32" in results:
        out["naive_tf32"] = results["naive-tf32"]
    out["speedup"] = speedups(out["fast"], out["naive"])
    add_fractions_of_peak(out, args.peak_tflops)
    out["seconds"] = round(time.perf_counter() - t_model, 2)
    return out


def time_side_by_side(pipes: dict, kinds: list[str], clock: Clock, block: float, graphs: bool) -> None:
    """Every training phase (PHASE_ORDER), then batch-1 and batched inference, each timed on
    every pipeline in turn (CUDA graphs: on the fast one as well), `block` seconds each."""
    for phase in PHASE_ORDER:
        for k in kinds:
            pipes[k].train_phase(phase, clock, block)
    for label in ("b1", "bN"):
        for k in kinds:
            pipes[k].infer_phase(label, clock, block)
        if graphs:
            pipes["fast"].infer_phase(label, clock, block, graphs=True)


def peak_memory(pipes: dict, make, images_bytes: int, device: torch.device) -> dict:
    """Kind -> the pipeline's result, its peak memory measured with it alone on the device: the
    naive ones dropped, the fast one measured (and dropped), then each naive one rebuilt by
    make(kind) (cheap: never compiled) and measured, less the `images_bytes` the faces hold."""
    results = {}
    naive_res = {k: pipes.pop(k).res for k in list(pipes) if k != "fast"}
    free(device)
    pipes["fast"].memory_pass()
    results["fast"] = pipes.pop("fast").result()
    free(device)
    for k, res in naive_res.items():
        naive = make(k)
        naive.res = res
        naive.memory_pass(not_mine_bytes=images_bytes)
        results[k] = naive.result()
        del naive
        free(device)
    return results


def add_fractions_of_peak(out: dict, peak: float | None) -> None:
    """Each pipeline's mixed-scale training and batched inference as a fraction of `peak`."""
    for kind in ("fast", "naive", "naive_tf32"):
        r = out.get(kind)
        if r:
            r["fraction_of_bf16_peak"] = {
                "train_mixed": fraction_of_peak(r["train_images_per_s"].get("mixed"),
                                                out["train_gflops_per_image_mixed"], peak),
                "infer_bN": fraction_of_peak(r.get("infer_bN_images_per_s"), out["infer_gflops_per_image"], peak)}


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

