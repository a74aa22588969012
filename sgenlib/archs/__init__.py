"""Architectures and the table of the twelve models the paper trains.

`MODELS` says, for each model name used in the paper's tables, which generator it uses (with
which arguments), whether it is trained adversarially, with which discriminator, content loss,
adversarial weight and, for a baseline whose paper (or authors' code) states them, its own
optimizer settings (`optim`, see sgenlib.optim). Training and evaluation read only this table.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from .baselines import BASELINE_DISCRIMINATORS, BASELINE_GENERATORS
from .discriminator import GAPDiscriminator
from .sgen import SGEN


@dataclass(frozen=True)
class ModelSpec:
    arch: str                                   # 'SGEN' or a baseline generator name
    arch_kwargs: dict = field(default_factory=dict)
    adversarial: bool = False
    discriminator: str | None = None            # 'SGEN' (GAP discriminator) or a baseline's
    content_loss: str = "mse"                   # 'mse' or 'vgg' (SRGAN; falls back to mse)
    adv_weight: float | None = None             # None: the run's lambda (SGEN's 0.1)
    note: str = ""
    optim: dict | None = None                   # a baseline's own optimizer (sgenlib.optim); None: SGEN's


# Each baseline's own optimizer, where its paper states it (else its authors' code, else SGEN's).
LEDIG_ADAM = {"name": "adam", "lr": 1e-4, "betas": [0.9, 0.999],
              "source": "Ledig et al. 2016 (training details): Adam, beta1 = 0.9, lr 1e-4 (beta2 not stated: 0.999); "
                        "their lr drop to 1e-5 for SRGAN's second 1e5 updates is not applied"}


MODELS: dict[str, ModelSpec] = {
    "SGEN": ModelSpec("SGEN", {"fusion": "sgu"}, True, "SGEN", note="MSE + adversarial (eq. 11)"),
    "SGEN-MSE": ModelSpec("SGEN", {"fusion": "sgu"}, note="MSE only"),
    "MEN": ModelSpec("SGEN", {"fusion": "max"}, True, "SGEN", note="SGU -> element-wise max; trained like SGEN"),
    "AEN": ModelSpec("SGEN", {"fusion": "avg"}, True, "SGEN", note="SGU -> element-wise average; trained like SGEN"),
    "CEN": ModelSpec("SGEN", {"fusion": "concat"}, True, "SGEN",
                     note="SGU -> concatenation + 1x1 conv; trained like SGEN"),
    "SRCNN": ModelSpec("SRCNN", note="MSE (Dong et al. 2014)",
                       optim={"name": "sgd", "lr": 1e-4, "momentum": 0.9, "lr_by_module": {"reconstruction": 1e-5},
                              "source": "Dong et al. 2014 (training): SGD, momentum 0.9, lr 1e-4 (1e-5 in the last "
                                        "layer)"}),
    "SRResNet": ModelSpec("SRResNet", note="MSE (Ledig et al. 2016)", optim=LEDIG_ADAM),
    "SRGAN": ModelSpec("SRResNet", {}, True, "SRGAN", content_loss="vgg", adv_weight=1e-3,
                       note="VGG19 content (MSE if no cached weights) + 1e-3 adversarial (Ledig et al.)",
                       optim=LEDIG_ADAM),
    "RED-Net": ModelSpec("RED-Net", note="MSE (Mao et al. 2016)",
                         optim={"name": "adam", "lr": 1e-4, "betas": [0.9, 0.999],
                                "source": "Mao et al. 2016: Adam, lr 1e-4 (betas not stated: 0.9, 0.999)"}),
    "URDGN": ModelSpec("URDGN", {}, True, "URDGN", adv_weight=0.01,
                       note="MSE + 0.01 adversarial (lambda 0.01 of Yu and Porikli's released code)",
                       optim={"name": "rmsprop", "lr": 1e-3, "alpha": 0.9, "eps": 1e-8, "d_weight_decay": 0.0,
                              "source": "Yu and Porikli's released code (XinYuANU/URDGN): RMSprop, lr 1e-3, "
                                        "alpha 0.9, no weight decay; its lr warm-up (1/50, 1/5 for the first "
                                        "30 updates) and 0.99-per-epoch decay are not applied"}),
    "SGEN-MSE-N2": ModelSpec("SGEN", {"fusion": "sgu", "n_levels": 2}, note="N = 2, MSE only (Table 5)"),
    "SGEN-MSE-N4": ModelSpec("SGEN", {"fusion": "sgu", "n_levels": 4}, note="N = 4, MSE only (Table 5)"),
}
SGEN_FAMILY = {name for name, spec in MODELS.items() if spec.arch == "SGEN"}


def model_label(name: str, content_loss: str | None = None) -> str:
    """The name a model carries in every table and figure. A model whose spec asks for the VGG
    content loss (SRGAN) but that was trained with pixel MSE (no cached VGG19 ImageNet weights, as
    its train_summary.json records in 'content_loss') is SRResNet + adversarial loss, not the
    paper's SRGAN: its rows read 'SRGAN (MSE content)'."""
    spec = MODELS.get(name)
    if spec is not None and spec.content_loss == "vgg" and content_loss == "mse":
        return f"{name} (MSE content)"
    return name


def build_generator(name: str, in_channels: int = 1, width: float = 1.0, gate: str = "sigmoid",
                    resample: str = "strided", **overrides) -> nn.Module:
    """The generator of model `name` (a key of MODELS). `width` scales every channel count; `gate`
    and `resample` apply to the SGEN family only (see archs.sgen)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    spec = MODELS[name]
    kwargs = {**spec.arch_kwargs, **overrides}
    if spec.arch == "SGEN":
        return SGEN(in_channels=in_channels, width=width, gate=gate, resample=resample, **kwargs)
    return BASELINE_GENERATORS[spec.arch](in_channels=in_channels, width=width, **kwargs)


def build_discriminator(name: str, in_channels: int = 1, width: float = 1.0,
                        layout: str = "authors") -> nn.Module | None:
    """Model `name`'s discriminator (None if it trains without one); `layout` applies to the SGEN
    family's GAPDiscriminator only ('authors' or 'kit-v1', see archs.discriminator)."""
    spec = MODELS[name]
    if not spec.adversarial:
        return None
    if spec.discriminator == "SGEN":
        return GAPDiscriminator(in_channels=in_channels, width=width, layout=layout)
    return BASELINE_DISCRIMINATORS[spec.discriminator](in_channels=in_channels, width=width)


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """N(0, 0.02) for conv / linear weights, zero biases (the authors' initialisation)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def forward_padded(model: nn.Module, x: torch.Tensor, multiple: int | None = None) -> torch.Tensor:
    """Run `model` on x, reflect-padding H and W up to the model's `size_multiple` and cropping the
    output back. A no-op pad for SGEN N <= 3 at the six scales; N = 4 needs multiples of 32, so
    144x112, 176x144 and 208x176 are padded (recorded in the results).
    `multiple` overrides the attribute (for wrappers such as DistributedDataParallel that hide it)."""
    m = multiple or getattr(model, "size_multiple", 1)
    h, w = x.shape[-2:]
    ph, pw = (-h) % m, (-w) % m
    if ph == 0 and pw == 0:
        return model(x)
    mode = "reflect" if ph < h and pw < w else "replicate"
    y = model(F.pad(x, (0, pw, 0, ph), mode=mode))
    return y[..., :h, :w]
