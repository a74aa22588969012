"""VGG19 features for SRGAN's content loss, defined here (no torchvision).

Original: K. Simonyan, A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015 (configuration E, 19 weight layers). SRGAN (Ledig et al. 2017) uses the
VGG19 loss l_VGG/5,4: the squared error between the feature maps phi_5,4 of the prediction and of
the reference, phi_5,4 being the output of the 4th convolution (after its ReLU) before the 5th
max-pooling layer.

:class:`VGG19Features` reproduces the layer layout of torchvision's ``vgg19().features`` (37
modules: conv3x3-ReLU pairs and five 2x2 max-pools), so the ImageNet checkpoint
``vgg19-dcbb9e9d.pth`` (keys ``features.N.weight`` / ``features.N.bias``, N in 0, 2, 5, ...)
loads into it; phi_5,4 is ``features[:36]`` (up to and including the ReLU at index 35).

The weights cannot be downloaded in this workplace: :func:`find_vgg19_checkpoint` only looks in
the local torch hub cache (``torch.hub.get_dir()/checkpoints/vgg19-*.pth``) and never downloads;
:func:`make_content_loss` falls back to pixel MSE (name "mse") when nothing is found, so every
result must record which content loss it used.

Adapted to this task:
- gray inputs (1 channel) are replicated to 3 channels; pixels in [-1, 1] are mapped to [0, 1]
  and then normalised with the ImageNet mean / std torchvision's weights expect;
- the feature maps are divided by 12.75 before the MSE, Ledig's rescaling (equivalent to
  multiplying the loss by 1 / 12.75**2, about 0.006) that puts the VGG loss on the scale of MSE;
- the network is frozen (requires_grad False, eval mode); gradients still flow to the prediction.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

VGG19_CFG: list[int | str] = [
    64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M",
]
"""Configuration E of Simonyan and Zisserman: conv widths, 'M' = 2x2 max-pool."""

PHI_54_END = 36
"""``features[:PHI_54_END]`` ends with the ReLU after conv5_4 (index 35), before the 5th pool."""

VGG_FEATURE_SCALE = 1.0 / 12.75
"""Ledig et al.'s rescaling of the VGG feature maps."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

CHECKPOINT_GLOB = "vgg19-*.pth"
"""torchvision's file is ``vgg19-dcbb9e9d.pth``; the glob does not match ``vgg19_bn-*.pth``."""

ContentLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class VGG19Features(nn.Module):
    """The ``features`` part of torchvision's VGG19 (no BatchNorm), state-dict compatible."""

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = []
        c = 3
        for v in VGG19_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers.append(nn.Conv2d(c, int(v), kernel_size=3, padding=1))
                layers.append(nn.ReLU(inplace=True))
                c = int(v)
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, end: int | None = None) -> torch.Tensor:
        return self.features[:end](x) if end is not None else self.features(x)


def find_vgg19_checkpoint(hub_dir: str | Path | None = None) -> Path | None:
    """The local VGG19 checkpoint in ``<hub_dir>/checkpoints`` (default ``torch.hub.get_dir()``),
    preferring torchvision's ``vgg19-dcbb9e9d.pth``; None when there is none. Never downloads."""
    base = Path(hub_dir) if hub_dir is not None else Path(torch.hub.get_dir())
    folder = base / "checkpoints"
    if not folder.is_dir():
        return None
    found = sorted(p for p in folder.glob(CHECKPOINT_GLOB) if p.is_file())
    if not found:
        return None
    preferred = [p for p in found if p.name == "vgg19-dcbb9e9d.pth"]
    return preferred[0] if preferred else found[0]


def load_vgg19_features(checkpoint: str | Path) -> VGG19Features:
    """A :class:`VGG19Features` with the ``features.*`` tensors of a torchvision VGG19 state dict
    (other keys, e.g. ``classifier.*``, are ignored). Loaded with ``weights_only=True``."""
    state = torch.load(Path(checkpoint), map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{checkpoint}: expected a state dict, got {type(state).__name__}")
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    features = {k: v for k, v in state.items() if k.startswith("features.")}
    model = VGG19Features()
    model.load_state_dict(features, strict=True)
    return model


class VGGContentLoss(nn.Module):
    """SRGAN's l_VGG/5,4: MSE between rescaled phi_5,4 features of prediction and reference.

    Inputs are (B, 1 or 3, H, W) in [-1, 1]. The frozen VGG moves itself to the inputs' device
    on the first call (or use ``.to(device)``). The reference's features carry no gradient.
    """

    def __init__(self, vgg: VGG19Features, end: int = PHI_54_END, feature_scale: float = VGG_FEATURE_SCALE):
        super().__init__()
        vgg = vgg.eval()
        for p in vgg.parameters():
            p.requires_grad_(False)
        self.vgg = vgg
        self.end = end
        self.feature_scale = feature_scale
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> "VGGContentLoss":
        super().train(mode)
        self.vgg.eval()  # frozen feature extractor: always in eval mode
        return self

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        elif x.shape[1] != 3:
            raise ValueError(f"content loss expects 1 or 3 channels, got shape {tuple(x.shape)}")
        x01 = (x + 1.0) * 0.5
        return (x01 - self.mean) / self.std

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.vgg(self._prepare(x), end=self.end) * self.feature_scale

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.mean.device != pred.device:
            self.to(pred.device)
        with torch.no_grad():
            ref = self.features(target)
        return F.mse_loss(self.features(pred), ref)


def make_content_loss(
    prefer_vgg: bool = True, checkpoint: str | Path | None = None
) -> tuple[ContentLoss, str]:
    """(loss_fn(pred, target) -> scalar tensor, name).

    With ``prefer_vgg`` and a VGG19 checkpoint (``checkpoint`` if given, a test / offline hook;
    else :func:`find_vgg19_checkpoint`), returns a :class:`VGGContentLoss` and ``"vgg19_54"``;
    otherwise plain pixel MSE (``torch.nn.functional.mse_loss``) and ``"mse"``.
    """
    if prefer_vgg:
        path = Path(checkpoint) if checkpoint is not None else find_vgg19_checkpoint()
        if path is not None:
            if not path.is_file():
                raise FileNotFoundError(f"VGG19 checkpoint not found: {path}")
            return VGGContentLoss(load_vgg19_features(path)), "vgg19_54"
    return F.mse_loss, "mse"
