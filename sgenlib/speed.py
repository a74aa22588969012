"""Speed options with a safe fallback: torch.compile of a module, and CUDA-graph inference.

Both compute the same function as the eager module (tests/test_speed_options.py states the bounds):

* :class:`CompiledWithFallback` wraps ``torch.compile(module)``. If compiling fails (unknown or
  unsupported backend, no C compiler for inductor on a CPU, a dynamo limitation), it warns once
  and runs the eager module from then on. :meth:`CompiledWithFallback.probe` compiles (forward and,
  for training, backward) on given input shapes up front, so that a failure is found before any
  optimizer step is taken (inductor compiles the backward graph lazily, at the first backward).
* :func:`cudnn_benchmark` switches cuDNN's per-shape algorithm search on for a block and restores
  the previous setting afterwards (the trainer scopes it to its loop, so evaluation, gallery and
  timing shapes are not autotuned unless their caller asks).
* :func:`cpu_bf16_unit` names the CPU's native bf16 matrix unit (AMX-BF16 or AVX512-BF16), or
  None; the trainer's ``amp="auto"`` and ``channels_last="auto"`` turn bf16 autocast and
  channels_last on for such a CPU (docs/protocol.md#speed), and fp32 stays elsewhere.
* :class:`CudaGraphInference` captures one inference forward pass (fixed input shape, dtype and
  memory format; optional bf16 autocast) in a CUDA graph and replays it, which removes the Python
  and kernel-launch cost of every layer at batch 1. Inputs of another shape run eagerly.
"""
from __future__ import annotations

import contextlib
import time
import warnings
from typing import Callable, Iterable

import torch
import torch.nn as nn

from .hostinfo import cpu_flags


@contextlib.contextmanager
def cudnn_benchmark(enabled: bool):
    """``torch.backends.cudnn.benchmark = enabled`` inside the block; the previous value after it."""
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = bool(enabled)
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


CPU_BF16_FLAGS = (("amx_bf16", "AMX-BF16"), ("avx512_bf16", "AVX512-BF16"))
"""/proc/cpuinfo flags of the x86 units that compute bf16 dot products natively, best first.
oneDNN runs bf16 convolutions on them at about 2x (AVX512-BF16) to 8x (AMX) the fp32 rate; on a
CPU without either, bf16 is emulated and slower than fp32."""


def cpu_bf16_unit(cpuinfo: str | None = None) -> str | None:
    """'AMX-BF16' or 'AVX512-BF16' when this CPU has that native bf16 unit (and PyTorch's oneDNN
    backend is there to use it), else None. `cpuinfo`: /proc/cpuinfo's text, for tests."""
    if not torch.backends.mkldnn.is_available():
        return None
    flags = cpu_flags(cpuinfo)
    return next((name for flag, name in CPU_BF16_FLAGS if flag in flags), None)


def fast_precision(device: torch.device, amp: str = "auto", channels_last: str = "auto") -> tuple[bool, bool]:
    """(bf16 autocast, channels_last) for a run on `device` with the settings 'auto' | 'bf16' |
    'off' and 'auto' | 'on' | 'off'. 'auto' means on for CUDA and for a CPU with a native bf16
    unit (cpu_bf16_unit), off elsewhere."""
    native = device.type == "cuda" or (device.type == "cpu" and cpu_bf16_unit() is not None)
    return (amp == "bf16" or (amp == "auto" and native),
            channels_last == "on" or (channels_last == "auto" and native))


def _short(e: BaseException, n: int = 400) -> str:
    text = f"{type(e).__name__}: {e}".strip()
    return text if len(text) <= n else text[:n] + " ..."


class CompiledWithFallback(nn.Module):
    """``torch.compile(module, backend=..., mode=..., dynamic=...)`` that falls back to eager.

    The eager module is this module's only child (so ``state_dict()`` keys are ``module.<name>``
    and DDP sees each parameter once); the compiled callable is kept outside the module tree.
    A call that raises inside the compiled path is retried eagerly: if the eager call raises too,
    the error is the caller's (a bad input shape, say) and propagates unchanged; if it succeeds,
    the compiled path is abandoned for good with one warning. ``error`` keeps the reason.
    """

    def __init__(self, module: nn.Module, backend: str | Callable = "inductor", mode: str | None = None,
                 dynamic: bool | None = False):
        super().__init__()
        self.module = module
        self.size_multiple = getattr(module, "size_multiple", 1)   # read by archs.forward_padded
        self.backend = backend if isinstance(backend, str) else getattr(backend, "__name__", "custom")
        self.error: str | None = None
        try:
            compiled = torch.compile(module, backend=backend, mode=mode, dynamic=dynamic)
        except Exception as e:  # noqa: BLE001 - an invalid backend name raises here
            compiled = None
            self._give_up(e)
        object.__setattr__(self, "_compiled", compiled)

    @property
    def active(self) -> bool:
        """True while calls go through the compiled path."""
        return self._compiled is not None

    def _give_up(self, e: BaseException) -> None:
        self.error = _short(e)
        object.__setattr__(self, "_compiled", None)
        warnings.warn(f"torch.compile (backend {self.backend!r}) failed; running eagerly instead. "
                      f"Reason: {self.error}", RuntimeWarning, stacklevel=3)

    def forward(self, *args, **kwargs):
        if self._compiled is not None:
            try:
                return self._compiled(*args, **kwargs)
            except Exception as e:  # noqa: BLE001
                out = self.module(*args, **kwargs)    # raises the caller's own error, if it is one
                self._give_up(e)
                return out
        return self.module(*args, **kwargs)

    def probe(self, inputs: Iterable[torch.Tensor], backward: bool = True,
              context: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext) -> bool:
        """Compile now for each input (forward, then backward of the mean output when `backward`),
        under `context()` (the autocast the caller will use: dynamo guards on it). Leaves the
        parameters' .grad as None and every buffer as it found it (a train-mode forward moves
        BatchNorm's running statistics and its batch counter: a speed option must not change
        what is computed). Returns whether the compiled path survived; seconds in
        `self.probe_seconds`."""
        t0 = time.perf_counter()
        params = [p for p in self.module.parameters() if p.requires_grad]
        saved = [(b, b.detach().clone()) for b in self.module.buffers()]
        try:
            for x in inputs:
                if self._compiled is None:
                    break
                with context():
                    try:
                        y = self._compiled(x)
                    except Exception as e:  # noqa: BLE001
                        self.module(x)                 # the caller's error propagates from here
                        self._give_up(e)
                        break
                if backward:
                    try:
                        y.float().mean().backward()
                    except Exception as e:  # noqa: BLE001
                        self._give_up(e)
                        break
        finally:
            for p in params:
                p.grad = None
            with torch.no_grad():
                for b, value in saved:
                    b.copy_(value)
            self.probe_seconds = time.perf_counter() - t0
        return self.active


class CudaGraphInference:
    """Replays one captured inference forward of `fn` (a module, or any function of one tensor)
    for inputs shaped like `example` (same shape, dtype, device and strides).

    Each call copies the input into the graph's static input, replays, and returns a clone of the
    static output (``clone=False`` returns the static buffer itself, which the next call
    overwrites). An input of another shape or layout runs `fn` eagerly (counted in `eager_calls`).
    The capture runs under ``torch.no_grad()`` and, when ``amp``, bf16 autocast without its weight
    cache (required inside a capture). Parameters must not be reassigned after capture (in-place
    updates are seen by the graph; new tensors are not).
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], example: torch.Tensor, amp: bool = False,
                 warmup: int = 3, clone: bool = True):
        if example.device.type != "cuda":
            raise ValueError(f"CUDA graphs need a CUDA input, got one on {example.device}")
        self.fn, self.amp, self.clone = fn, amp, clone
        self.shape, self.dtype, self.stride = tuple(example.shape), example.dtype, example.stride()
        self.eager_calls = 0
        self.static_in = example.detach().clone(memory_format=torch.preserve_format)
        if self.static_in.stride() != self.stride:
            self.static_in = torch.empty_strided(self.shape, self.stride, dtype=self.dtype, device=example.device)
            self.static_in.copy_(example)
        side = torch.cuda.Stream(device=example.device)
        side.wait_stream(torch.cuda.current_stream(example.device))
        with torch.cuda.stream(side), torch.no_grad(), self._autocast():
            for _ in range(max(1, warmup)):              # cuDNN / compile choices happen here
                fn(self.static_in)
        torch.cuda.current_stream(example.device).wait_stream(side)
        torch.cuda.synchronize(example.device)
        self.graph = torch.cuda.CUDAGraph()
        with torch.no_grad(), self._autocast(), torch.cuda.graph(self.graph):
            self.static_out = fn(self.static_in)

    def _autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp, cache_enabled=False)

    def matches(self, x: torch.Tensor) -> bool:
        return (tuple(x.shape) == self.shape and x.dtype == self.dtype and x.device == self.static_in.device
                and x.stride() == self.stride)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if not self.matches(x):
            self.eager_calls += 1
            with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp):
                return self.fn(x)
        self.static_in.copy_(x)
        self.graph.replay()
        return self.static_out.clone() if self.clone else self.static_out


def cuda_graph_or_none(fn, example: torch.Tensor, amp: bool = False, **kwargs) -> tuple[CudaGraphInference | None, str | None]:
    """A CudaGraphInference, or (None, reason) when the device has no CUDA or the capture fails."""
    if example.device.type != "cuda":
        return None, f"no CUDA graphs on {example.device.type}"
    try:
        return CudaGraphInference(fn, example, amp=amp, **kwargs), None
    except Exception as e:  # noqa: BLE001
        warnings.warn(f"CUDA graph capture failed; running eagerly instead. Reason: {_short(e)}",
                      RuntimeWarning, stacklevel=2)
        torch.cuda.synchronize(example.device)
        return None, _short(e)
