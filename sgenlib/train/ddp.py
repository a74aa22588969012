"""The processes of a run and their devices: rank and world size, the device each process trains
on, the torchrun process group, G and D wrapped in DistributedDataParallel, the broadcast of D's
buffers, and the device and precision in words (for the summary)."""
from __future__ import annotations

import os
import platform

import torch
import torch.distributed as dist
import torch.nn as nn

from ..hostinfo import cpu_model


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


def wrap_ddp(g_fwd: nn.Module, d_fwd: nn.Module | None, device: torch.device
             ) -> tuple[nn.Module, nn.Module | None]:
    """DistributedDataParallel for G and D (None stays None). Gradients all-reduce straight from
    their buckets (gradient_as_bucket_view) on a graph that is the same every step (static_graph).

    D runs twice per step (real, then fake) before one backward. DDP's default buffer
    broadcast before each forward rewrites BatchNorm's running statistics in place between
    the two calls, and torch 2.11 then stops loss_d.backward() with "modified by an inplace
    operation" (2.12+ keeps the version counter). So D gets broadcast_buffers=False and one
    explicit broadcast of rank 0's buffers before its first forward of each step
    (`broadcast_from_rank0`, through Trainer._sync_d_buffers): rank 0's statistics, the ones
    checkpointed, evolve exactly as under DDP's default (rank 0 only ever receives its own), and
    every rank starts each D step from them. G runs once per step, so its default broadcast is kept."""
    ids = [device.index] if device.type == "cuda" else None
    kw = dict(device_ids=ids, gradient_as_bucket_view=True, static_graph=True)
    g_run = nn.parallel.DistributedDataParallel(g_fwd, **kw)
    if d_fwd is None:
        return g_run, None
    return g_run, nn.parallel.DistributedDataParallel(d_fwd, broadcast_buffers=False, **kw)


def broadcast_from_rank0(tensors: list[torch.Tensor]) -> None:
    """Rank 0's `tensors` (D's BatchNorm running statistics and counters) to every rank, in place:
    one broadcast per dtype, of the tensors flattened into one."""
    for dtype in dict.fromkeys(t.dtype for t in tensors):
        group = [t for t in tensors if t.dtype == dtype]
        flat = torch.cat([t.reshape(-1) for t in group])
        dist.broadcast(flat, 0)
        offset = 0
        for t in group:
            t.copy_(flat[offset:offset + t.numel()].view_as(t))
            offset += t.numel()


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
