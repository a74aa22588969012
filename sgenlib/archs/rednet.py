"""RED-Net baseline (residual encoder-decoder network).

Original: X.-J. Mao, C. Shen, Y.-B. Yang, "Image Restoration Using Very Deep Convolutional
Encoder-Decoder Networks with Symmetric Skip Connections", NIPS 2016 (arXiv 1603.09056).
RED-Net is a chain of 3x3 convolutions (the encoder) followed by the same number of 3x3
deconvolutions (the decoder), ``features`` feature maps, stride 1, ReLU after every layer, and skip
connections passed every two layers from a conv feature map to its mirrored deconv feature map,
where they are added before the ReLU. RED30 (15 + 15 layers) is its main model; for denoising
and super-resolution it is applied to an image at the target size, so it fits this task as is.

Width: the authors' released Caffe model definition uses 128 feature maps per 3x3 layer, the
default here (``features=128``); ``features=64`` is the kit's earlier width, a reading of the
paper's text that could not be checked against it (docs/protocol.md#baselines). Depth: RED30 (``n_layers=30``), the
paper's main model; RED10 / RED20 are ``n_layers=10`` / ``20``.

This implementation (``n_layers`` = 30 by default, must be even; n = n_layers / 2):
- encoder: conv_1 .. conv_n (first maps C -> F, the rest F -> F; F = features), each + ReLU; write
  x_0 = input and x_k = output of conv_k.
- decoder: deconv_1 .. deconv_n (nn.ConvTranspose2d 3x3, stride 1, padding 1); deconv_j's output
  has the shape of x_(n-j), its mirror. Skips come from every second conv feature map,
  x_2, x_4, ..., (the even k with 0 < k < n): deconv_j's output + x_(n-j), then ReLU. Other
  deconvs are followed by ReLU alone.
- the last deconv (F -> C) gets the input-to-output skip (residual learning, x_0 = input) and
  no ReLU; then tanh (``output="tanh"``, default) keeps the output in [-1, 1], so the residual is
  learned in pre-tanh units. ``output="clamp"`` keeps the original linear sum and clamps.
- ``width`` multiplies the ``features`` (128) feature maps. ``size_multiple`` = 1 (stride 1 throughout).
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import ImageGenerator, OutputRange, conv_block, scaled


class REDNet(ImageGenerator):
    """RED-Net with ``n_layers`` conv + deconv layers (half each); same-size output in [-1, 1]."""

    size_multiple = 1

    def __init__(
        self,
        in_channels: int = 1,
        width: float = 1.0,
        n_layers: int = 30,
        skip_every: int = 2,
        output: str = "tanh",
        features: int = 128,
    ):
        super().__init__(in_channels)
        if n_layers < 2 or n_layers % 2:
            raise ValueError(f"n_layers must be an even number >= 2, got {n_layers}")
        if skip_every < 1:
            raise ValueError(f"skip_every must be >= 1, got {skip_every}")
        self.n_layers = n_layers
        n = n_layers // 2
        nf = scaled(features, width)
        self.encoder = nn.ModuleList(
            conv_block(in_channels if k == 0 else nf, nf, 3, act="relu") for k in range(n)
        )
        # decoder convs only; ReLU is applied in forward, after the skip addition.
        self.decoder = nn.ModuleList(
            conv_block(nf, in_channels if j == n - 1 else nf, 3, act=None, transposed=True)
            for j in range(n)
        )
        # skip_from[j] = index k of the conv feature map x_k added to deconv_(j+1)'s output, or None.
        self.skip_from: list[int | None] = []
        for j in range(1, n + 1):
            k = n - j
            self.skip_from.append(k if (k == 0 or k % skip_every == 0) else None)
        self.out = OutputRange(output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        feats = [x]
        h = x
        for conv in self.encoder:
            h = conv(h)
            feats.append(h)
        n = len(self.decoder)
        for j, deconv in enumerate(self.decoder):
            h = deconv(h)
            k = self.skip_from[j]
            if k is not None:
                h = h + feats[k]
            if j < n - 1:
                h = torch.relu(h)
        return self.out(h)
