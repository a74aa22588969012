"""Small building blocks shared by the baseline architectures (SRCNN, SRResNet/SRGAN, RED-Net, URDGN).

Every baseline file builds its layers from the helpers here, so no model file repeats another:

- :func:`scaled` turns a paper channel count into the count used at a given ``width`` multiplier;
- :func:`make_activation` / :func:`conv_block` build "conv (or transposed conv) [+ BN] [+ act]";
- :class:`ResidualBlock` is the SRResNet block (conv3-BN-act-conv3-BN plus identity);
- :class:`OutputRange` maps the last layer to the [-1, 1] pixel range of this task (tanh or clamp);
- :class:`ImageGenerator` is the base class of every baseline generator: it holds the
  ``size_multiple`` class attribute and checks the input shape with a clear ``ValueError``;
- :class:`GlobalAvgPool` turns a feature map of any size into a (B, C) vector, which is how every
  baseline discriminator here accepts all six input scales.

The layers here keep PyTorch's default initialisation; the trainer then initialises each model
by its source's scheme (ModelSpec.init, sgenlib.archs.initialise; docs/protocol.md#baselines):
N(0, 0.001) for SRCNN, PyTorch's default for the other baselines, N(0, 0.02) for the SGEN family.
"""
from __future__ import annotations

import torch
from torch import nn

LRELU_SLOPE = 0.2
"""Negative slope of every LeakyReLU in the baselines (SRGAN's discriminator uses 0.2)."""


def scaled(channels: int, width: float) -> int:
    """``channels * width`` rounded to the nearest integer, at least 1."""
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    return max(1, int(round(channels * width)))


def make_activation(name: str | None, channels: int | None = None) -> nn.Module:
    """An activation layer by name: 'relu', 'lrelu' (slope 0.2), 'prelu' (one slope per channel
    when ``channels`` is given, as in He et al. 2015), 'tanh', or None / 'none' (identity)."""
    if name is None or name == "none":
        return nn.Identity()
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "lrelu":
        return nn.LeakyReLU(LRELU_SLOPE, inplace=True)
    if name == "prelu":
        return nn.PReLU(num_parameters=channels or 1)
    if name == "tanh":
        return nn.Tanh()
    raise ValueError(f"unknown activation {name!r}")


def conv_block(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int = 1,
    *,
    padding: int | None = None,
    act: str | None = "relu",
    norm: bool = False,
    transposed: bool = False,
    bias: bool | None = None,
) -> nn.Sequential:
    """Conv2d (or ConvTranspose2d when ``transposed``) + optional BatchNorm2d + activation.

    ``padding`` defaults to ``kernel_size // 2``, i.e. 'same' size for odd kernels at stride 1.
    ``bias`` defaults to ``not norm`` (a bias right before BatchNorm is cancelled by it).
    """
    if padding is None:
        padding = kernel_size // 2
    if bias is None:
        bias = not norm
    conv_cls = nn.ConvTranspose2d if transposed else nn.Conv2d
    layers: list[nn.Module] = [
        conv_cls(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=bias)
    ]
    if norm:
        layers.append(nn.BatchNorm2d(out_channels))
    if act is not None and act != "none":
        layers.append(make_activation(act, out_channels))
    return nn.Sequential(*layers)


class ResidualBlock(nn.Module):
    """conv3-BN-act-conv3-BN with an identity skip (the SRResNet block of Ledig et al. 2016,
    itself after Gross and Wilber's ResNet variant). ``norm=False`` drops both BNs."""

    def __init__(self, channels: int, act: str = "prelu", norm: bool = True, kernel_size: int = 3):
        super().__init__()
        self.body = nn.Sequential(
            conv_block(channels, channels, kernel_size, act=act, norm=norm),
            conv_block(channels, channels, kernel_size, act=None, norm=norm),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class OutputRange(nn.Module):
    """Maps a generator's last layer to the task's pixel range [-1, 1].

    'tanh' (default everywhere): smooth, gradients everywhere, as SGEN's own generator ends.
    'clamp': hard ``torch.clamp(x, -1, 1)``; exact identity inside the range, but pixels pushed
    outside the range get no gradient.
    'linear': the identity while training (a linear last layer, as SRCNN's Caffe release trains),
    clamped to [-1, 1] in eval mode.
    """

    def __init__(self, mode: str = "tanh"):
        super().__init__()
        if mode not in ("tanh", "clamp", "linear"):
            raise ValueError(f"output mode must be 'tanh', 'clamp' or 'linear', got {mode!r}")
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "tanh":
            return torch.tanh(x)
        if self.mode == "linear" and self.training:
            return x
        return torch.clamp(x, -1.0, 1.0)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


class ImageGenerator(nn.Module):
    """Base class of the baseline generators: (B, C, H, W) -> (B, C, H, W) in [-1, 1].

    ``size_multiple`` (class attribute, overridden per instance where a constructor option changes
    it) is the number that H and W must both be multiples of; :meth:`check_input` raises a
    ``ValueError`` naming the size and that multiple otherwise.
    """

    size_multiple: int = 1

    def __init__(self, in_channels: int = 1):
        super().__init__()
        if in_channels < 1:
            raise ValueError(f"in_channels must be >= 1, got {in_channels}")
        self.in_channels = in_channels

    def check_input(self, x: torch.Tensor) -> None:
        name = type(self).__name__
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{name} expects a (B, {self.in_channels}, H, W) tensor, got shape {tuple(x.shape)}"
            )
        h, w = x.shape[-2:]
        m = self.size_multiple
        if h % m or w % m:
            raise ValueError(
                f"{name}: input size {h}x{w} is not a multiple of {m}; "
                f"H and W must both be multiples of size_multiple={m}"
            )


class GlobalAvgPool(nn.Module):
    """(B, C, H, W) -> (B, C): the spatial mean, so a discriminator head accepts any input size."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))
