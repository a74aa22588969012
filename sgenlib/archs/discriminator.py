"""SGEN's discriminator (section 3.3), shared by SGEN, MEN, AEN and CEN: fully convolutional, global
average pooling in place of the fully connected layer (Lin et al. 2013, "Network in Network"), then
the classification layer, so it takes faces of any of the six scales.

The paper gives no layer list. `layout` chooses:
  * "authors" (default; the authors' public code, docs/protocol.md):
        ReflectionPad2d(3) + 7x7 conv (no bias) + BatchNorm + ReLU            ndf channels
        3 x [3x3 stride-2 conv (padding 1, no bias) + BatchNorm + ReLU]         2, 4, 8 x ndf
        global average pooling, linear 8 * ndf -> 1
    1,553,857 parameters at ndf = 64, one input channel.
  * "kit-v1" (the kit's layout before issue 9): zero-padded 7x7 conv + BN + ReLU, then three
    5x5 stride-2 convs with biases + BN + ReLU doubling the channels, GAP, linear (4.31 M).
The authors end with a sigmoid and BCE; here the module returns raw logits (B,) and the sigmoid
lives inside BCE-with-logits (sgenlib.losses), the same log loss as eqs. (10)-(11) computed stably.
"""
from __future__ import annotations

import torch
import torch.nn as nn

LAYOUTS = ("authors", "kit-v1")


class GAPDiscriminator(nn.Module):
    def __init__(self, in_channels: int = 1, ndf: int = 64, width: float = 1.0, layout: str = "authors",
                 kernel: int = 5):
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        self.layout = layout
        ndf = max(2, round(ndf * width))
        if layout == "authors":
            layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ndf, 7, bias=False),
                      nn.BatchNorm2d(ndf), nn.ReLU(True)]
            k, pad, bias = 3, 1, False
        else:  # kit-v1; `kernel` applies to it only
            layers = [nn.Conv2d(in_channels, ndf, 7, padding=3), nn.BatchNorm2d(ndf), nn.ReLU(True)]
            k, pad, bias = kernel, kernel // 2, True
        ch = ndf
        for _ in range(3):
            layers += [nn.Conv2d(ch, 2 * ch, k, stride=2, padding=pad, bias=bias),
                       nn.BatchNorm2d(2 * ch), nn.ReLU(True)]
            ch *= 2
        self.features = nn.Sequential(*layers)
        self.classify = nn.Linear(ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x).mean(dim=(2, 3))).squeeze(1)
