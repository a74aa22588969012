"""Model complexity: parameter counts and forward FLOPs, for the tables beside the paper's.

:func:`gflops` runs one forward pass on a zero image under ``torch.utils.flop_counter.
FlopCounterMode`` and reports its total / 1e9. What that counts: matrix multiplications and
convolutions (transposed ones included), a multiply-add being 2 FLOPs; for a conv, every output
position times the full kernel (zero padding counted as if it were data), biases ignored.
Not counted: activations, normalisation, additions of skips, pooling, pixel (un)shuffle, tanh --
elementwise work that is small next to the convolutions but not free in wall time.
"""
from __future__ import annotations

import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(module: nn.Module) -> int:
    """Number of parameters (trainable or not; buffers such as BN statistics excluded)."""
    return sum(p.numel() for p in module.parameters())


def gflops(module: nn.Module, in_channels: int = 1, size: tuple[int, int] = (208, 176)) -> float:
    """Forward GFLOPs for one image of ``in_channels`` x ``size`` (H, W); see the module docstring.

    The module runs in eval mode under ``torch.no_grad`` (its mode is restored afterwards), on the
    device and dtype of its first parameter.
    """
    try:
        p = next(module.parameters())
        device, dtype = p.device, p.dtype
    except StopIteration:
        device, dtype = torch.device("cpu"), torch.float32
    x = torch.zeros(1, in_channels, *size, device=device, dtype=dtype)
    was_training = module.training
    module.eval()
    try:
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            module(x)
    finally:
        module.train(was_training)
    return counter.get_total_flops() / 1e9


def complexity_table(
    models: dict[str, nn.Module], in_channels: int = 1, size: tuple[int, int] = (208, 176)
) -> pd.DataFrame:
    """One row per model: model, params, params_m (millions), gflops (one image at ``size``)."""
    rows = []
    for name, m in models.items():
        n = count_params(m)
        rows.append(
            {"model": name, "params": n, "params_m": n / 1e6, "gflops": gflops(m, in_channels, size)}
        )
    return pd.DataFrame(rows, columns=["model", "params", "params_m", "gflops"])
