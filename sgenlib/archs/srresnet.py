"""SRResNet generator and SRGAN discriminator baselines.

Original: C. Ledig, L. Theis, F. Huszar, J. Caballero, A. Cunningham, A. Acosta, A. Aitken,
A. Tejani, J. Totz, Z. Wang, W. Shi, "Photo-Realistic Single Image Super-Resolution Using a
Generative Adversarial Network", CVPR 2017 (arXiv 1609.04802, 2016).

Generator (SRResNet, also SRGAN's generator): conv 9x9, 64 filters + PReLU; 16 residual blocks
(conv3-BN-PReLU-conv3-BN + identity); conv3 + BN; a skip from after the first PReLU to here
(the "global" skip); two sub-pixel stages (conv3 to 256 filters, pixel shuffle x2, PReLU);
conv 9x9 to the image channels. SRResNet is trained with MSE, SRGAN with VGG content loss +
1e-3 adversarial loss; both share this generator.

Discriminator (SRGAN): conv3 64 + LeakyReLU(0.2); seven conv3-BN-LeakyReLU blocks with
64, 128, 128, 256, 256, 512, 512 filters and strides 2, 1, 2, 1, 2, 1, 2; dense 1024 + LeakyReLU;
dense 1 (+ sigmoid, left to the trainer's BCE-with-logits here).

Adapted to this task (input = the nearest-x4 upsampling of the noisy low-resolution image, H x W):
- ``upsample="subsample"`` (default; Ledig's network itself): the LR image is recovered exactly by
  taking every 4th pixel, ``x[..., ::4, ::4]`` (each 4x4 block of a nearest-x4 image is one LR
  pixel); the head conv, the 16 residual blocks and the body's last conv run at H/4 x W/4 with 64
  channels, and Ledig's two sub-pixel x2 stages (conv3 to 256, pixel shuffle, PReLU) bring it back
  to H x W (``size_multiple`` = 4).
- ``upsample="unshuffle"``: as "subsample", but the head conv sees all 16 pixels of each 4x4 block
  (space-to-depth, ``nn.PixelUnshuffle(4)``, 16*C input channels); identical information for
  nearest-x4 inputs, more head weights (the kit's ``lowres`` option before issue 9).
- ``upsample="none"``: the sub-pixel stages are dropped and the whole network runs at full
  resolution H x W (``size_multiple`` = 1): not Ledig's network, and about 10x its FLOPs.
- tanh after the last conv (``output="tanh"``) keeps the output in [-1, 1]; ``"clamp"`` instead.
- ``width`` multiplies the 64 filters (the sub-pixel convs use 4x that, as 256 = 4 x 64).
- Discriminator: the dense 1024 layer needs a fixed input size, so the last feature map is
  global-average-pooled to a 512-vector first (any input size, e.g. all six scales); then
  dense 1024 + LeakyReLU + dense 1 as in the paper. ``width`` multiplies every filter count and
  the 1024 units. Returns raw logits of shape (B,).
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import (
    GlobalAvgPool,
    ImageGenerator,
    OutputRange,
    ResidualBlock,
    conv_block,
    make_activation,
    scaled,
)

UPSAMPLE_MODES = ("subsample", "unshuffle", "none")


class SRResNet(ImageGenerator):
    """SRResNet generator, same-size output in [-1, 1].

    ``size_multiple`` is 4 for ``upsample="subsample"`` / ``"unshuffle"`` and 1 for ``"none"``
    (instance attribute; the class attribute gives the default mode's value).
    """

    size_multiple = 4

    def __init__(
        self,
        in_channels: int = 1,
        width: float = 1.0,
        upsample: str = "subsample",
        n_blocks: int = 16,
        output: str = "tanh",
    ):
        super().__init__(in_channels)
        if upsample not in UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {upsample!r}")
        self.upsample_mode = upsample
        nf = scaled(64, width)
        lowres = upsample != "none"
        self.size_multiple = 4 if lowres else 1
        head_in = in_channels * 16 if upsample == "unshuffle" else in_channels
        self.space_to_depth: nn.Module = nn.PixelUnshuffle(4) if upsample == "unshuffle" else nn.Identity()
        self.head = conv_block(head_in, nf, 9, act="prelu")
        self.body = nn.Sequential(*(ResidualBlock(nf, act="prelu", norm=True) for _ in range(n_blocks)))
        self.body_end = conv_block(nf, nf, 3, act=None, norm=True)
        if lowres:
            self.upsampler: nn.Module = nn.Sequential(
                *(
                    nn.Sequential(
                        conv_block(nf, nf * 4, 3, act=None),
                        nn.PixelShuffle(2),
                        make_activation("prelu", nf),
                    )
                    for _ in range(2)
                )
            )
        else:
            self.upsampler = nn.Identity()
        self.tail = conv_block(nf, in_channels, 9, act=None)
        self.out = OutputRange(output)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        if self.upsample_mode == "subsample":
            x = x[..., ::4, ::4]                             # the noisy LR image, exactly
        feat = self.head(self.space_to_depth(x))
        feat = feat + self.body_end(self.body(feat))
        return self.out(self.tail(self.upsampler(feat)))


class SRGANDiscriminator(nn.Module):
    """SRGAN discriminator with global average pooling before the dense layers; logits (B,)."""

    def __init__(self, in_channels: int = 1, width: float = 1.0):
        super().__init__()
        plan = [(64, 2), (128, 1), (128, 2), (256, 1), (256, 2), (512, 1), (512, 2)]
        c = scaled(64, width)
        layers: list[nn.Module] = [conv_block(in_channels, c, 3, act="lrelu")]
        for filters, stride in plan:
            out = scaled(filters, width)
            layers.append(conv_block(c, out, 3, stride=stride, act="lrelu", norm=True))
            c = out
        self.features = nn.Sequential(*layers)
        hidden = scaled(1024, width)
        self.classifier = nn.Sequential(
            GlobalAvgPool(),
            nn.Linear(c, hidden),
            make_activation("lrelu"),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x)).squeeze(1)
