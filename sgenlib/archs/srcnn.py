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
    ):
        super().__init__(in_channels)
        k1, k2, k3 = kernel_sizes
        n1, n2 = (scaled(f, width) for f in filters)
        self.patch_extraction = conv_block(in_channels, n1, k1, act="relu")
        self.nonlinear_mapping = conv_block(n1, n2, k2, act="relu")
        self.reconstruction = conv_block(n2, in_channels, k3, act=None)
        self.out = OutputRange(output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.out(self.reconstruction(self.nonlinear_mapping(self.patch_extraction(x))))
