"""The optimizers of one run, from the model's spec (sgenlib.archs.MODELS) and the run's TrainConfig.

SGEN and its ablations use the run's Adam settings (TrainConfig lr, betas; weight decay on D only).
A baseline whose own paper (or, where the paper is silent, its authors' code) states its optimizer
carries those settings in ``ModelSpec.optim``; with ``TrainConfig.baseline_optim = "own"`` (default)
they are used, with ``"sgen"`` every model gets SGEN's. A baseline without stated settings gets
SGEN's. The settings used are returned as a plain dict and written to train_summary.json.

Settings keys: name ('adam' | 'sgd' | 'rmsprop'), lr, and per optimizer betas / momentum / alpha /
eps; ``lr_by_module`` maps a top-level submodule name of the generator to its own learning rate
(SRCNN's last layer); ``d_weight_decay`` overrides the run's weight decay on D; ``source`` says
where the numbers come from.
"""
from __future__ import annotations

import torch
from torch import nn

OPTIMIZERS = ("adam", "sgd", "rmsprop")
BASELINE_OPTIM = ("own", "sgen")


def run_settings(spec, cfg) -> dict:
    """The optimizer settings this run uses for `spec` (a ModelSpec) under `cfg` (a TrainConfig)."""
    if spec.optim and cfg.baseline_optim == "own":
        s = dict(spec.optim)
    else:
        s = {"name": "adam", "lr": cfg.lr, "betas": list(cfg.betas),
             "source": "SGEN's (TrainConfig lr and betas)"}
    s.setdefault("d_weight_decay", cfg.d_weight_decay)
    if s["name"] not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {s['name']!r}")
    return s


def build_optimizer(module: nn.Module, settings: dict, weight_decay: float = 0.0,
                    fused: bool = False) -> torch.optim.Optimizer:
    """One optimizer over `module`'s parameters; `fused` applies to Adam only."""
    lr = settings["lr"]
    special = settings.get("lr_by_module") or {}
    unknown = set(special) - {name for name, _ in module.named_children()}
    if unknown:
        raise ValueError(f"lr_by_module names {sorted(unknown)} that {type(module).__name__} does not have")
    groups = [{"params": list(getattr(module, name).parameters()), "lr": value} for name, value in special.items()]
    taken = {id(p) for g in groups for p in g["params"]}
    groups.insert(0, {"params": [p for p in module.parameters() if id(p) not in taken]})
    name = settings["name"]
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr, betas=tuple(settings.get("betas", (0.9, 0.999))),
                                weight_decay=weight_decay, **({"fused": True} if fused else {}))
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=settings.get("momentum", 0.0), weight_decay=weight_decay)
    return torch.optim.RMSprop(groups, lr=lr, alpha=settings.get("alpha", 0.99), eps=settings.get("eps", 1e-8),
                               weight_decay=weight_decay)
