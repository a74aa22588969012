"""Model complexity: parameter counts and forward FLOPs of the twelve models, for the tables beside
the paper's (:func:`complexity_of_models`, read by sgenlib.tables for Table 5 and the complexity table).

:func:`gflops` runs one forward pass on a zero image under ``torch.utils.flop_counter.
FlopCounterMode`` and reports its total / 1e9. What that counts: matrix multiplications and
convolutions (transposed ones included), a multiply-add being 2 FLOPs; for a conv, every output
position times the full kernel (zero padding counted as if it were data), biases ignored.
Not counted: activations, normalisation, additions of skips, pooling, pixel (un)shuffle, tanh --
elementwise work that is small next to the convolutions but not free in wall time.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .archs import MODELS, build_discriminator, build_generator, forward_padded
from .paper import SCALES, scale_name

COMPLEXITY_COLUMNS = ["model", "arch", "width", "params", "params_m", "gflops", "size", "computed_at",
                      "size_multiple", "padded_scales", "d_params_m"]


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


class PaddedForward(nn.Module):
    """`model` behind archs.forward_padded, so that counting its FLOPs counts what evaluation runs
    (the input reflect-padded up to the size multiple)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x):
        return forward_padded(self.model, x)


def _build(name: str, width: float, in_channels: int, device: str):
    with torch.device(device):
        g = build_generator(name, in_channels=in_channels, width=width)
        d = build_discriminator(name, in_channels=in_channels, width=width)
    return g, d


def padded_scales(model: str, scales=SCALES) -> list[str]:
    """The scales (of the paper's six) whose sides are not multiples of `model`'s size multiple, so
    that archs.forward_padded reflect-pads them (for SGEN N = 4, multiple 32: 144x112, 176x144 and
    208x176; the other three are multiples of 32)."""
    g, _ = _build(model, 0.0625, 1, "meta")
    m = getattr(g, "size_multiple", 1)
    return [scale_name(s) for s in scales if s[0] % m or s[1] % m]


def complexity_of_models(models=None, widths=(1.0,), in_channels: int = 1, size=(208, 176)) -> pd.DataFrame:
    """Parameters and forward GFLOPs of each model's generator (one image at `size`, through
    archs.forward_padded) at each width, plus its discriminator's parameters in millions (NaN when
    it has none). Built on the meta device, so paper widths cost no memory and no time (falls back
    to the CPU if a model cannot run there). Columns: COMPLEXITY_COLUMNS."""
    models = list(MODELS) if models is None else list(models)
    h, w = size
    rows = []
    for width in widths:
        for name in models:
            for device in ("meta", "cpu"):
                try:
                    g, d = _build(name, width, in_channels, device)
                    gf = gflops(PaddedForward(g), in_channels, size)
                    break
                except (NotImplementedError, RuntimeError):
                    if device == "cpu":
                        raise
            m = getattr(g, "size_multiple", 1)
            n = count_params(g)
            rows.append({"model": name, "arch": MODELS[name].arch, "width": float(width), "params": n,
                         "params_m": n / 1e6, "gflops": gf, "size": scale_name(size),
                         "computed_at": scale_name((h + (-h) % m, w + (-w) % m)), "size_multiple": m,
                         "padded_scales": ", ".join(padded_scales(name)) or "none",
                         "d_params_m": count_params(d) / 1e6 if d is not None else np.nan})
    return pd.DataFrame(rows, columns=COMPLEXITY_COLUMNS)
