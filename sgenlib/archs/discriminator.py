"""SGEN's discriminator (section 3.3): fully convolutional, global average pooling in place of the
fully connected layer (Lin et al. 2013, "Network in Network"), then the classification layer, so it
takes faces of any of the six scales.

Layout from the authors' public code (NOTES.md): 7x7 conv + BatchNorm + ReLU, three stride-2
conv + BatchNorm + ReLU stages doubling the channels, global average pooling, linear. It returns
raw logits (B,); the sigmoid lives in the BCE-with-logits loss, which is the same log loss as
eq. (10)-(11) computed stably.
"""
from __future__ import annotations

import torch
import torch.nn as nn


class GAPDiscriminator(nn.Module):
    def __init__(self, in_channels: int = 1, ndf: int = 64, width: float = 1.0, kernel: int = 5):
        super().__init__()
        ndf = max(2, round(ndf * width))
        layers = [nn.Conv2d(in_channels, ndf, 7, padding=3), nn.BatchNorm2d(ndf), nn.ReLU(True)]
        ch = ndf
        for _ in range(3):
            layers += [nn.Conv2d(ch, 2 * ch, kernel, stride=2, padding=kernel // 2),
                       nn.BatchNorm2d(2 * ch), nn.ReLU(True)]
            ch *= 2
        self.features = nn.Sequential(*layers)
        self.classify = nn.Linear(ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x).mean(dim=(2, 3))).squeeze(1)
