"""URDGN baseline (ultra-resolution by discriminative generative networks).

Original: X. Yu, F. Porikli, "Ultra-Resolving Face Images by Discriminative Generative
Networks", ECCV 2016. URDGN ultra-resolves a 16x16 aligned face x8 (to 128x128): its generator is
a stack of deconvolution (transposed convolution) layers, BatchNorm and ReLU in the DCGAN manner,
trained with a pixel-wise l2 loss plus the feedback of a discriminator; the discriminator is a
convolutional network ending in fully connected layers that tells real HR faces from generated
ones.

Adapted to this task (multi-scale input already upsampled to H x W, SGEN's paper describes
URDGN as the "single autoencoder structure" with the same loss terms as SGEN but no ensemble):
- generator = encoder + URDGN decoder. The encoder takes the input down ``depth`` times with
  4x4 stride-2 convs (64, 128, 256 filters; LeakyReLU 0.2, BN after all but the first), so with
  the default ``depth=3`` it reaches 1/8 of the input size, the x8 ratio URDGN's decoder was built
  for (208x176 -> 26x22, close to URDGN's 16x16 input). The decoder mirrors it with ``depth``
  4x4 stride-2 transposed convs (256 -> 128 -> 64 -> C; BN + ReLU between, none on the last),
  then tanh: output in [-1, 1] at the input size. No skip connections (URDGN has none).
  ``size_multiple`` = 2**depth (8 by default; instance attribute when ``depth`` differs).
- The exact filter counts and kernel sizes of URDGN's layers are not restated in the SGEN paper;
  the ones here are this kit's DCGAN-style choice.
- discriminator: four 4x4 stride-2 convs (64, 128, 256, 512 filters; LeakyReLU 0.2, BN after all
  but the first) as URDGN's convolutional part, then global average pooling (so every input
  size works, the fully connected layers of the original need one fixed size) and one linear
  layer to a raw logit per image, shape (B,).
- ``width`` multiplies every filter count.
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import GlobalAvgPool, ImageGenerator, OutputRange, conv_block, scaled

_MAX_FILTERS = 512


def _encoder_filters(depth: int, width: float) -> list[int]:
    return [scaled(min(64 * 2**i, _MAX_FILTERS), width) for i in range(depth)]


class URDGNGenerator(ImageGenerator):
    """Encoder (stride-2 convs to 1/2**depth) + URDGN deconvolution decoder; output in [-1, 1]."""

    size_multiple = 8

    def __init__(self, in_channels: int = 1, width: float = 1.0, depth: int = 3, output: str = "tanh"):
        super().__init__(in_channels)
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
        self.out = OutputRange(output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.out(self.decoder(self.encoder(x)))


class URDGNDiscriminator(nn.Module):
    """URDGN-style conv discriminator + global average pooling + linear; logits (B,)."""

    def __init__(self, in_channels: int = 1, width: float = 1.0):
        super().__init__()
        layers: list[nn.Module] = []
        c = in_channels
        for i, base in enumerate((64, 128, 256, 512)):
            f = scaled(base, width)
            layers.append(conv_block(c, f, 4, stride=2, padding=1, act="lrelu", norm=i > 0))
            c = f
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(GlobalAvgPool(), nn.Linear(c, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x)).squeeze(1)
