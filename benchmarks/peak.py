"""What a training rate is compared with: the card's dense bf16 peak by its name (NVIDIA's
datasheets), or on a CPU the machine's own measured rate on a large convolution; and the fraction
of it a rate reaches.
"""
from __future__ import annotations

import time

import torch
import torch.nn as nn

from sgenlib.timing import sync

PEAK_BF16_TFLOPS = [   # dense bf16 tensor-core peak (no sparsity), NVIDIA's datasheets; first match wins
    ("GH200", 989.4), ("H200", 989.4), ("H100 NVL", 835.5), ("H100 PCIe", 756.5), ("H100", 989.4),
    ("A100", 312.0), ("L40S", 362.05), ("L4", 121.0), ("A10G", 70.0), ("A10", 125.0),
]


def peak_bf16_tflops(device_name_: str, device_type: str) -> float | None:
    """The card's dense bf16 peak by its name (None on a CPU or an unknown card)."""
    if device_type != "cuda":
        return None
    for key, tflops in PEAK_BF16_TFLOPS:
        if key.lower() in device_name_.lower():
            return tflops
    return None


CONV_PROBE = (8, 256, 40, 32)
"""The reference convolution of a CPU's rate: 3x3, 256 -> 256 channels, batch 8 at 40x32 (the
size of SGEN's deepest layers at paper width), forward and backward."""


def conv_rate_gflops(precision: str, device: torch.device, seconds: float = 2.0) -> dict:
    """GFLOP/s of CONV_PROBE on `device` in 'bf16' (autocast, channels_last) or 'fp32' (channels_last):
    forward alone and forward + backward (input and weight gradients, 3x the forward's FLOPs),
    each timed for about `seconds` after two warm-up calls. What the machine's convolution
    library reaches on a large convolution: the reference that training rates are compared with."""
    b, c, h, w = CONV_PROBE
    conv = nn.Conv2d(c, c, 3, padding=1).to(device, memory_format=torch.channels_last)
    x = torch.randn(b, c, h, w, device=device).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    flops = 2 * b * c * c * 9 * h * w
    amp = precision == "bf16"
    out = {}
    for label, backward in (("forward", False), ("forward_backward", True)):
        def call():
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                y = conv(x)
            if backward:
                y.backward(torch.ones_like(y))
        for _ in range(2):
            call()
        n, t0 = 0, time.perf_counter()
        while n < 3 or time.perf_counter() - t0 < seconds:
            call()
            n += 1
        sync(device)
        out[label] = round(flops * (3 if backward else 1) * n / (time.perf_counter() - t0) / 1e9, 1)
    return out


def fraction_of_peak(images_per_s, gflops_per_image, peak_tflops) -> float | None:
    if not images_per_s or not gflops_per_image or not peak_tflops:
        return None
    return round(images_per_s * gflops_per_image / (peak_tflops * 1e3), 4)

