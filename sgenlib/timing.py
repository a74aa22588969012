"""Wall-clock timing of device work, shared by benchmarks/bench.py and the device run's sizing
(scripts/device/size_gpu_quick.py): a timing ends with a device synchronisation, so queued CUDA
kernels are counted; peak memory per device (CUDA: the allocator's peak; CPU: the process's max
RSS so far, which only grows).
"""
from __future__ import annotations

import contextlib
import gc
import resource
import time

import torch


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA); nothing to wait for on a CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Span:
    """The seconds a `Clock.span()` block took, set when the block ends."""
    seconds: float = 0.0


class Clock:
    """A device's timer with a deadline `max_seconds` from now (none by default)."""

    def __init__(self, device: torch.device, max_seconds: float = float("inf")):
        self.device = device
        self.deadline = time.perf_counter() + max_seconds

    def sync(self) -> None:
        sync(self.device)

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    @contextlib.contextmanager
    def span(self):
        """Times the block, synchronised at both ends: `with clock.span() as s: ...; s.seconds`."""
        s = Span()
        self.sync()
        t0 = time.perf_counter()
        yield s
        self.sync()
        s.seconds = time.perf_counter() - t0


def cycle(scales, n: int, start: int = 0) -> list[tuple[int, int]]:
    """The shapes of n steps of a phase that cycles `scales`, from its step `start` on."""
    return [tuple(scales[(start + k) % len(scales)]) for k in range(n)]


def timed_steps(clock: Clock, trainer, first_step: int, scales) -> tuple[float, int]:
    """Seconds of trainer.train_step(step, scale) for the steps first_step, first_step+1, ..., one
    per entry of `scales`, synchronised at both ends; and the next free step number."""
    step = first_step
    with clock.span() as s:
        for scale in scales:
            trainer.train_step(step, scale)
            step += 1
    return s.seconds, step


def time_calls(fn, x: torch.Tensor, clock: Clock, repeats: int, budget: float) -> dict | None:
    """Seconds per call of fn(x) after two warm-up calls (None past the clock's deadline): at
    most `repeats` calls, as many as the warm-up says fit in `budget` seconds, at least one."""
    if clock.left() <= 0:
        return None
    with torch.no_grad():
        for _ in range(2):
            with clock.span() as warm:
                fn(x)
        n = max(1, min(repeats, int(budget / max(warm.seconds, 1e-6))))
        with clock.span() as s:
            for _ in range(n):
                fn(x)
    return {"seconds_per_call": s.seconds / n, "calls": n}


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_mib(device: torch.device) -> float:
    """CUDA: the allocator's peak since the last reset_peak; CPU: the process's max RSS so far."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024          # KiB on Linux


def free(device: torch.device) -> None:
    """Unreferenced tensors collected, and CUDA's cached blocks handed back."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
