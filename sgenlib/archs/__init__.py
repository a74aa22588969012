"""Architectures and the table of the twelve models the paper trains.

`MODELS` says, for each model name used in the paper's tables, which generator it uses (with
which arguments), whether it is trained adversarially, with which discriminator, content loss,
adversarial weight, initialisation and, for a baseline whose paper (or authors' release) states
them, its own optimizer settings (`optim`, see sgenlib.optim), warm start and update gating.
`MODELS` holds each baseline as its source trained it (recipe 'source'); `model_spec(name,
'kit-v1')` gives the kit's earlier recipe (each spec's `v1` overrides). Training and evaluation
read only these specs. Every setting and its source: docs/protocol.md#baselines.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from .baselines import BASELINE_DISCRIMINATORS, BASELINE_GENERATORS
from .discriminator import GAPDiscriminator
from .sgen import SGEN

RECIPES = ("source", "kit-v1")
"""'source': each baseline trained as its release / paper trained it (issue 16); 'kit-v1': before."""
INIT_SCHEMES = ("normal-0.02", "gaussian-0.001", "pytorch")
"""'normal-0.02': N(0, 0.02) weights, zero biases (SGEN authors' code); 'gaussian-0.001': N(0, 0.001)
weights, zero biases (SRCNN's Caffe release); 'pytorch': the layers' own default initialisation."""
INIT_CHOICES = ("source", "sgen")
"""TrainConfig.init: 'source' (each model's ModelSpec.init) or 'sgen' (N(0, 0.02) for all, kit v1)."""


@dataclass(frozen=True)
class ModelSpec:
    arch: str                                   # 'SGEN' or a baseline generator name
    arch_kwargs: dict = field(default_factory=dict)
    adversarial: bool = False
    discriminator: str | None = None            # 'SGEN' (GAP discriminator) or a baseline's
    content_loss: str = "mse"                   # 'mse', 'vgg' (SRGAN; falls back to mse) or 'caffe_euclidean'
    adv_weight: float | None = None             # None: the run's lambda (SGEN's 0.1)
    note: str = ""
    optim: dict | None = None                   # a baseline's own optimizer (sgenlib.optim); None: SGEN's
    init: str = "normal-0.02"                   # one of INIT_SCHEMES, for G and D (TrainConfig.init='source')
    warm_start: str | None = None               # a model whose trained generator initialises this one's G
    gate_margin: float | None = None            # URDGN's update gating margin (sgenlib.losses.gan_gating)
    v1: dict = field(default_factory=dict)      # fields that differ under recipe 'kit-v1'


# Each baseline's own optimizer, where its paper states it (else its authors' code, else SGEN's).
LEDIG_ADAM = {"name": "adam", "lr": 1e-4, "betas": [0.9, 0.999],
              "source": "Ledig et al. 2016 (training details): Adam, beta1 = 0.9, lr 1e-4 (beta2 not stated: 0.999); "
                        "their lr drop to 1e-5 for SRGAN's second 1e5 updates is not applied"}
SRGAN_ADAM = {"name": "adam", "lr": 1e-4, "betas": [0.9, 0.999], "lr_schedule": "halves", "d_weight_decay": 0.0,
              "source": "Ledig et al. 2016 (training details): Adam, beta1 = 0.9 (beta2 not stated: 0.999); "
                        "lr 1e-4 for the first half of the steps, 1e-5 for the second (their 10^5 + 10^5 "
                        "updates, scaled to the run's steps); no weight decay stated, none applied"}
SRCNN_V1_SGD = {"name": "sgd", "lr": 1e-4, "momentum": 0.9, "lr_by_module": {"reconstruction": 1e-5},
                "source": "Dong et al. 2014 (training): SGD, momentum 0.9, lr 1e-4 (1e-5 in the last layer)"}
SRCNN_CAFFE_SGD = {"name": "sgd", "lr": 1e-4, "momentum": 0.9,
                   "lr_mult": {"patch_extraction.0.bias": 0.1, "nonlinear_mapping.0.bias": 0.1,
                               "reconstruction.0.weight": 0.1, "reconstruction.0.bias": 0.1},
                   "source": "SRCNN's Caffe release (SRCNN_solver.prototxt: SGD, momentum 0.9, base_lr 1e-4; "
                             "SRCNN_net.prototxt lr_mult: conv1 / conv2 weight 1, bias 0.1; conv3 weight and bias "
                             "0.1), with its EuclideanLoss (content loss 'caffe_euclidean')"}
URDGN_RMSPROP = {"name": "rmsprop", "lr": 1e-3, "alpha": 0.9, "eps": 1e-8, "d_weight_decay": 0.0,
                 "source": "Yu and Porikli's released code (XinYuANU/URDGN): RMSprop, lr 1e-3, alpha 0.9, no "
                           "weight decay; its 0.99-per-epoch decay is not applied"}
URDGN_RMSPROP_WARMUP = {**URDGN_RMSPROP, "lr_schedule": "urdgn_warmup",
                        "source": URDGN_RMSPROP["source"] + "; its warm-up is: lr/50 for the first 10 steps, "
                                                            "lr/5 up to step 30"}


MODELS: dict[str, ModelSpec] = {
    "SGEN": ModelSpec("SGEN", {"fusion": "sgu"}, True, "SGEN", note="MSE + adversarial (eq. 11)"),
    "SGEN-MSE": ModelSpec("SGEN", {"fusion": "sgu"}, note="MSE only"),
    "MEN": ModelSpec("SGEN", {"fusion": "max"}, True, "SGEN", note="SGU -> element-wise max; trained like SGEN"),
    "AEN": ModelSpec("SGEN", {"fusion": "avg"}, True, "SGEN", note="SGU -> element-wise average; trained like SGEN"),
    "CEN": ModelSpec("SGEN", {"fusion": "concat"}, True, "SGEN",
                     note="SGU -> concatenation + 1x1 conv; trained like SGEN"),
    "SRCNN": ModelSpec("SRCNN", {"data_range": "unit", "output": "linear"}, content_loss="caffe_euclidean",
                       note="Caffe EuclideanLoss on [0, 1] data (Dong et al. 2014, their release)",
                       optim=SRCNN_CAFFE_SGD, init="gaussian-0.001",
                       v1={"arch_kwargs": {}, "content_loss": "mse", "optim": SRCNN_V1_SGD,
                           "note": "MSE (Dong et al. 2014)"}),
    "SRResNet": ModelSpec("SRResNet", note="MSE (Ledig et al. 2016)", optim=LEDIG_ADAM, init="pytorch"),
    "SRGAN": ModelSpec("SRResNet", {}, True, "SRGAN", content_loss="vgg", adv_weight=1e-3,
                       note="VGG19 content (MSE if no cached weights) + 1e-3 adversarial (Ledig et al.); G starts "
                            "from the trained SRResNet", optim=SRGAN_ADAM, init="pytorch", warm_start="SRResNet",
                       v1={"optim": LEDIG_ADAM, "warm_start": None}),
    "RED-Net": ModelSpec("RED-Net", {"features": 128}, note="MSE (Mao et al. 2016)", init="pytorch",
                         optim={"name": "adam", "lr": 1e-4, "betas": [0.9, 0.999],
                                "source": "not checked against a source: Adam, lr 1e-4 (this project's reading "
                                          "of Mao et al. 2016; betas 0.9, 0.999)"},
                         v1={"arch_kwargs": {"features": 64}}),
    "URDGN": ModelSpec("URDGN", {}, True, "URDGN", adv_weight=0.01,
                       note="MSE + 0.01 adversarial (lambda 0.01 of Yu and Porikli's released code)",
                       optim=URDGN_RMSPROP_WARMUP, init="pytorch", gate_margin=0.3,
                       v1={"optim": URDGN_RMSPROP, "gate_margin": None}),
    "SGEN-MSE-N2": ModelSpec("SGEN", {"fusion": "sgu", "n_levels": 2}, note="N = 2, MSE only (Table 5)"),
    "SGEN-MSE-N4": ModelSpec("SGEN", {"fusion": "sgu", "n_levels": 4}, note="N = 4, MSE only (Table 5)"),
}
SGEN_FAMILY = {name for name, spec in MODELS.items() if spec.arch == "SGEN"}


def model_spec(name: str, recipe: str = "source") -> ModelSpec:
    """Model `name`'s spec under `recipe` (one of RECIPES): MODELS[name], or under 'kit-v1' with
    the spec's `v1` overrides (the kit's recipe before issue 16)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {RECIPES}, got {recipe!r}")
    spec = MODELS[name]
    return replace(spec, **spec.v1, v1={}) if recipe == "kit-v1" else spec
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
                    resample: str = "strided", recipe: str = "source", **overrides) -> nn.Module:
    """The generator of model `name` (a key of MODELS) under `recipe` (see model_spec). `width`
    scales every channel count; `gate` and `resample` apply to the SGEN family only (see archs.sgen)."""
    spec = model_spec(name, recipe)
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
    """N(0, std) for conv / linear weights, zero biases (std 0.02: the SGEN authors' initialisation)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def initialise(module: nn.Module, scheme: str) -> None:
    """Initialise `module` by one of INIT_SCHEMES ('pytorch' leaves the layers' own default init:
    Kaiming-uniform weights and uniform biases, bound 1 / sqrt(fan_in), as Torch7's default)."""
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"init scheme must be one of {INIT_SCHEMES}, got {scheme!r}")
    if scheme == "normal-0.02":
        init_weights(module, 0.02)
    elif scheme == "gaussian-0.001":
        init_weights(module, 0.001)


def init_scheme(spec: ModelSpec, choice: str) -> str:
    """The scheme a run uses: the spec's own ('source') or N(0, 0.02) for every model ('sgen', kit v1)."""
    if choice not in INIT_CHOICES:
        raise ValueError(f"init must be one of {INIT_CHOICES}, got {choice!r}")
    return spec.init if choice == "source" else "normal-0.02"


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
