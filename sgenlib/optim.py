"""The optimizers of one run, from the model's spec (sgenlib.archs.MODELS) and the run's TrainConfig.

SGEN and its ablations use the run's Adam settings (TrainConfig lr, betas; weight decay on D only).
A baseline whose own paper (or, where the paper is silent, its authors' code) states its optimizer
carries those settings in ``ModelSpec.optim``; with ``TrainConfig.baseline_optim = "own"`` (default)
they are used, with ``"sgen"`` every model gets SGEN's. A baseline without stated settings gets
SGEN's. The settings used are returned as a plain dict and written to train_summary.json.

Settings keys: name ('adam' | 'sgd' | 'rmsprop'), lr, and per optimizer betas / momentum / alpha /
eps; ``lr_by_module`` maps a top-level submodule name of the generator to its own learning rate
(SRCNN's last layer, kit v1); ``lr_mult`` maps a parameter name, or the name of a module holding
parameters, to a multiplier of ``lr`` (Caffe's lr_mult: SRCNN's release); ``lr_schedule`` names a
schedule of the step (``lr_factor``: 'halves' for SRGAN, 'urdgn_warmup' for URDGN), applied by
``set_lr`` before every step so a resumed run takes exactly the same steps; ``d_weight_decay`` overrides the run's weight decay on D; ``source`` says
where the numbers come from.
"""
from __future__ import annotations

import torch
from torch import nn

OPTIMIZERS = ("adam", "sgd", "rmsprop")
LR_SCHEDULES = (None, "halves", "urdgn_warmup")
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
    if s.get("lr_schedule") not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {s.get('lr_schedule')!r}")
    return s


def lr_factor(schedule: str | None, step: int, total: int) -> float:
    """The multiplier of every group's base lr at `step` (1-based) of a run of `total` steps.
    'halves': 1 for steps 1 .. total // 2, then 0.1 (SRGAN: 1e-4 then 1e-5, Ledig et al.);
    'urdgn_warmup': 1/50 for steps 1-10, 1/5 for steps 11-30, then 1 (URDGN's released rmsprop,
    whose update counter starts at 0)."""
    if schedule is None:
        return 1.0
    if schedule == "halves":
        return 1.0 if step <= total // 2 else 0.1
    if schedule == "urdgn_warmup":
        return 1 / 50 if step <= 10 else (1 / 5 if step <= 30 else 1.0)
    raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {schedule!r}")


def set_lr(opt: torch.optim.Optimizer, factor: float) -> None:
    """Every group's lr = its base lr (recorded at build as 'base_lr') x factor."""
    for group in opt.param_groups:
        group["lr"] = group["base_lr"] * factor


def _mult_groups(module: nn.Module, mults: dict, lr: float) -> list[dict]:
    """One param group per lr_mult entry (a parameter's name, or a module's that holds them)."""
    params = dict(module.named_parameters())
    groups = []
    for name, mult in mults.items():
        chosen = [p for n, p in params.items() if n == name or n.startswith(name + ".")]
        if not chosen:
            raise ValueError(f"lr_mult names {name!r}, which {type(module).__name__} has no parameter under")
        groups.append({"params": chosen, "lr": lr * mult})
    return groups


def build_optimizer(module: nn.Module, settings: dict, weight_decay: float = 0.0,
                    fused: bool = False) -> torch.optim.Optimizer:
    """One optimizer over `module`'s parameters; `fused` applies to Adam only."""
    lr = settings["lr"]
    special = settings.get("lr_by_module") or {}
    unknown = set(special) - {name for name, _ in module.named_children()}
    if unknown:
        raise ValueError(f"lr_by_module names {sorted(unknown)} that {type(module).__name__} does not have")
    groups = [{"params": list(getattr(module, name).parameters()), "lr": value} for name, value in special.items()]
    groups += _mult_groups(module, settings.get("lr_mult") or {}, lr)
    taken = {id(p) for g in groups for p in g["params"]}
    groups.insert(0, {"params": [p for p in module.parameters() if id(p) not in taken], "lr": lr})
    for g in groups:
        g["base_lr"] = g["lr"]
    name = settings["name"]
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr, betas=tuple(settings.get("betas", (0.9, 0.999))),
                                weight_decay=weight_decay, **({"fused": True} if fused else {}))
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=settings.get("momentum", 0.0), weight_decay=weight_decay)
    return torch.optim.RMSprop(groups, lr=lr, alpha=settings.get("alpha", 0.99), eps=settings.get("eps", 1e-8),
                               weight_decay=weight_decay)
