"""URDGN baseline (ultra-resolution by discriminative generative networks).

Original: X. Yu, F. Porikli, "Ultra-Resolving Face Images by Discriminative Generative
Networks", ECCV 2016. URDGN ultra-resolves a 16x16 aligned face x8 (to 128x128) with a generator
that upsamples through a stack of layers with BatchNorm and ReLU, trained with a pixel-wise l2
loss plus the feedback of a discriminator, a convolutional network ending in fully connected
layers that tells real HR faces from generated ones. The paper gives no layer list; the layers
below are those of the authors' released code (XinYuANU/URDGN, train_ytc_xin_128_D.lua), which
upsamples with nearest x2 followed by a convolution.

``layout="authors"`` (default), adapted from x8 to this task's x4:
- generator: the noisy LR image is recovered exactly from the nearest-x4 input by taking every
  4th pixel, ``x[..., ::4, ::4]``; then conv3 16 + BN + ReLU, conv3 64 + BN + ReLU (both at
  H/4 x W/4), nearest x2, conv5 128 + BN + ReLU, nearest x2, conv5 256 + BN + ReLU, conv5 to the
  image channels (all with biases, as the original). The original has three x2 stages (after
  each of the first three convs); the first is dropped for x4, so the last three convs work at
  the same fraction of the output size as in the original. tanh (``output="tanh"``) keeps the
  output in [-1, 1] (the original is linear). ``size_multiple`` = 4.
- discriminator: four conv5 (padding 2) with 32, 64, 128, 96 filters, each with 2x2 max pooling,
  ReLU and 2-D dropout 0.2; the original flattens an 8x8x96 map (128x128 input) into dense 1024 +
  ReLU + dropout 0.5 + dense 1 (+ sigmoid, left to BCE-with-logits here). Our six scales give
  H/16 x W/16 maps (8x6 ... 13x11), so an adaptive average pooling to 8x8 comes first and the
  dense layers keep the original's sizes. Returns logits (B,).
- adversarial weight 0.01 on the adversarial term (``--lambda`` default of the released code;
  ModelSpec.adv_weight), optimizer RMSprop lr 1e-3, alpha 0.9 (ModelSpec.optim).

``layout="kit-v1"`` (the kit's own layout before issue 9): 4x4 stride-2 conv encoder (64, 128,
256; LeakyReLU 0.2, BN after the first) down to 1 / 2**depth, mirrored by 4x4 stride-2 transposed
convs (BN + ReLU between), tanh; discriminator: four 4x4 stride-2 convs (64-512) + GAP + linear.

``width`` multiplies every filter count (and the 1024 dense units).
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import GlobalAvgPool, ImageGenerator, OutputRange, conv_block, scaled

_MAX_FILTERS = 512
LAYOUTS = ("authors", "kit-v1")


def _check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")


def _encoder_filters(depth: int, width: float) -> list[int]:
    return [scaled(min(64 * 2**i, _MAX_FILTERS), width) for i in range(depth)]


class URDGNGenerator(ImageGenerator):
    """URDGN generator ('authors': LR image -> two x2 stages; 'kit-v1': encoder-decoder); output in [-1, 1]."""

    size_multiple = 4

    def __init__(self, in_channels: int = 1, width: float = 1.0, layout: str = "authors", depth: int = 3,
                 output: str = "tanh"):
        super().__init__(in_channels)
        _check_layout(layout)
        self.layout = layout
        self.out = OutputRange(output)
        if layout == "authors":
            self.size_multiple = 4
            f = [scaled(n, width) for n in (16, 64, 128, 256)]
            self.net = nn.Sequential(
                conv_block(in_channels, f[0], 3, norm=True, bias=True),
                conv_block(f[0], f[1], 3, norm=True, bias=True),
                nn.Upsample(scale_factor=2, mode="nearest"), conv_block(f[1], f[2], 5, norm=True, bias=True),
                nn.Upsample(scale_factor=2, mode="nearest"), conv_block(f[2], f[3], 5, norm=True, bias=True),
                conv_block(f[3], in_channels, 5, act=None))
            return
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        self.size_multiple = 2**depth
        enc = _encoder_filters(depth, width)
        layers: list[nn.Module] = []
        c = in_channels
        for i, f in enumerate(enc):
            layers.append(conv_block(c, f, 4, stride=2, padding=1, act="lrelu", norm=i > 0))
            c = f
        self.encoder = nn.Sequential(*layers)
        dec_out = list(reversed(enc[:-1])) + [in_channels]
        layers = []
        for i, f in enumerate(dec_out):
            last = i == len(dec_out) - 1
            layers.append(
                conv_block(
                    c, f, 4, stride=2, padding=1, transposed=True,
                    act=None if last else "relu", norm=not last,
                )
            )
            c = f
        self.decoder = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        if self.layout == "authors":
            return self.out(self.net(x[..., ::4, ::4]))      # the noisy LR image, exactly
        return self.out(self.decoder(self.encoder(x)))


class URDGNDiscriminator(nn.Module):
    """URDGN discriminator ('authors': four conv5-maxpool stages, 8x8 pooling, dense 1024, dense 1;
    'kit-v1': stride-2 convs + GAP + linear); logits (B,)."""

    def __init__(self, in_channels: int = 1, width: float = 1.0, layout: str = "authors"):
        super().__init__()
        _check_layout(layout)
        self.layout = layout
        if layout == "authors":
            layers: list[nn.Module] = []
            c = in_channels
            for base in (32, 64, 128, 96):
                f = scaled(base, width)
                layers += [nn.Conv2d(c, f, 5, padding=2), nn.MaxPool2d(2), nn.ReLU(inplace=True), nn.Dropout2d(0.2)]
                c = f
            hidden = scaled(1024, width)
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d((8, 8)), nn.Flatten(), nn.Linear(c * 64, hidden),
                                            nn.ReLU(inplace=True), nn.Dropout(0.5), nn.Linear(hidden, 1))
            return
        layers = []
        c = in_channels
        for i, base in enumerate((64, 128, 256, 512)):
            f = scaled(base, width)
            layers.append(conv_block(c, f, 4, stride=2, padding=1, act="lrelu", norm=i > 0))
            c = f
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(GlobalAvgPool(), nn.Linear(c, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x)).squeeze(1)
