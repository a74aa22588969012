"""SRCNN baseline.

Original: C. Dong, C. C. Loy, K. He, X. Tang, "Learning a Deep Convolutional Network for Image
Super-Resolution", ECCV 2014 (the 9-1-5 network: conv 9x9 with 64 filters + ReLU, conv 1x1 with
32 filters + ReLU, conv 5x5 back to the image channels, linear output). SRCNN already works on an
image that was interpolated to the target size, so its role here is unchanged: it maps the
degraded (nearest-upsampled, noisy) face to the clean face at the same size.

Adapted to this task:
- 'same' zero padding (4, 0, 2) so the output keeps the input size; the original trains with no
  padding on 33x33 sub-images and predicts only the 21x21 centre.
- the linear output is followed by tanh (``output="tanh"``, default) so the prediction lies in
  [-1, 1] like every other generator of this kit; tanh has no parameters, so the parameter count
  is the original one (for 1 channel at width 1: 5,248 + 2,080 + 801 = 8,129).
  ``output="clamp"`` keeps the original linear layer and only clamps to [-1, 1].
- ``data_range="unit"`` runs the network on [0, 1] pixels, as SRCNN's Caffe release: it reads
  (x + 1) / 2 and its output y (in [0, 1] units) is returned as 2 y - 1; with ``output="linear"``
  (linear while training, clamped in eval) and the 'caffe_euclidean' loss this is the release's
  training exactly (the recipe 'source' of sgenlib.archs.MODELS). ``data_range="signed"`` (kit v1)
  runs it on the [-1, 1] pixels directly.
- ``width`` multiplies the 64 / 32 filter counts; 'gray' (1 channel) is the default, as in
  SRCNN's own Y-channel experiments.
"""
from __future__ import annotations

import torch

from .blocks import ImageGenerator, OutputRange, conv_block, scaled


class SRCNN(ImageGenerator):
    """SRCNN 9-1-5, same-size output in [-1, 1]; ``size_multiple`` = 1 (stride 1 throughout)."""

    size_multiple = 1

    def __init__(
        self,
        in_channels: int = 1,
        width: float = 1.0,
        kernel_sizes: tuple[int, int, int] = (9, 1, 5),
        filters: tuple[int, int] = (64, 32),
        output: str = "tanh",
        data_range: str = "signed",
    ):
        super().__init__(in_channels)
        if data_range not in ("signed", "unit"):
            raise ValueError(f"data_range must be 'signed' or 'unit', got {data_range!r}")
        self.unit = data_range == "unit"
        k1, k2, k3 = kernel_sizes
        n1, n2 = (scaled(f, width) for f in filters)
        self.patch_extraction = conv_block(in_channels, n1, k1, act="relu")
        self.nonlinear_mapping = conv_block(n1, n2, k2, act="relu")
        self.reconstruction = conv_block(n2, in_channels, k3, act=None)
        self.out = OutputRange(output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        if self.unit:
            x = (x + 1) / 2
        y = self.reconstruction(self.nonlinear_mapping(self.patch_extraction(x)))
        return self.out(2 * y - 1 if self.unit else y)
