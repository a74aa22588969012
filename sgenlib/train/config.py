"""A training run's settings (TrainConfig), the constants the loop and the run folder share, and
the errors that stop a run."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .. import losses
from ..archs import INIT_CHOICES, MODELS, RECIPES, model_spec
from ..optim import BASELINE_OPTIM
from ..paper import SCALES

PROGRESS_LINE_S = 5.0   # at most one progress line on stderr per this many seconds (plus the last step)
LOSS_COLUMNS = ["step", "scale", "loss_g", "content", "adversarial", "loss_d", "seconds"]
SPEED_ONLY_KEYS = ("compile", "compile_backend")
"""Settings that change how fast a run goes, not what it computes (ignored when matching runs)."""
RESUME_IGNORED_KEYS = ("ckpt_every", "log_every", "steps", "warm_start") + SPEED_ONLY_KEYS
"""Settings a run may change when it resumes from a checkpoint (warm_start, a path, enters the
identity as the hash of the file it names: run_identity)."""
STEP_ORDERS = ("g_then_d", "d_then_g")
"""Order of the two updates of an adversarial step (TrainConfig.step_order); see Trainer.optimize."""


PROFILE_KEYS = ("steps", "batch_size", "width", "ckpt_every", "log_every")
"""The TrainConfig fields a profile sets (TrainConfig.from_profile)."""


@dataclass
class TrainConfig:
    model: str                          # a key of sgenlib.archs.MODELS
    steps: int
    batch_size: int = 64                # global batch (split across ranks under DDP)
    lr: float = 2e-4                    # the paper's (the authors' config file says 1e-4)
    betas: tuple[float, float] = (0.5, 0.999)   # the authors' code
    lam: float = 0.1                    # lambda of eq. (11)
    lambda_on: str = "adversarial"      # 'adversarial' (authors' code) or 'mse' (eq. 11 as printed)
    d_weight_decay: float = 1e-4        # the authors' code, on D only
    width: float = 1.0                  # channel multiplier for every architecture
    gate: str = "sigmoid"               # SGU gate: 'sigmoid' (eq. 9) or 'lrelu' (authors' code)
    resample: str = "strided"           # SGEN conv_{2^m}/deconv_{2^m}: 'strided' (authors' code) or 'pool'
    d_layout: str = "authors"           # SGEN-family discriminator: 'authors' (their code) or 'kit-v1'
    baseline_optim: str = "own"         # baselines: 'own' (ModelSpec.optim, their papers) or 'sgen' (lr, betas)
    seed: int = 0
    ckpt_every: int = 500
    log_every: int = 50                 # losses leave the device (and are checked) this often
    amp: str = "auto"                   # 'auto' = bf16 autocast on CUDA and on a CPU with native bf16
                                        # (AMX-BF16 / AVX512-BF16), else fp32; 'bf16'; 'off'
    channels_last: str = "auto"         # 'auto' = on where amp 'auto' is bf16; 'on'; 'off'
    compile: bool = False               # torch.compile the generator (falls back to eager)
    compile_backend: str = "inductor"   # torch.compile backend ('inductor', 'aot_eager', ...)
    baseline_recipe: str = "source"     # baselines as their sources trained them, or 'kit-v1' (archs.model_spec)
    init: str = "source"                # each model's source's initialisation, or 'sgen': N(0, 0.02) for all
    warm_start: str | None = None       # generator.pt initialising G (SRGAN: its SRResNet run; study does it)
    step_order: str = "g_then_d"        # 'g_then_d' (authors' code: G step, then D on a new fake) or
                                        # 'd_then_g' (kit v1: D step, then G step, on one fake)
    scales: list = field(default_factory=lambda: [list(s) for s in SCALES])

    def __post_init__(self):
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; known: {', '.join(MODELS)}")
        if self.steps < 1 or self.batch_size < 1 or self.ckpt_every < 1 or self.log_every < 1:
            raise ValueError("steps, batch_size, ckpt_every and log_every must be >= 1")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.lambda_on not in losses.LAMBDA_PLACEMENTS:
            raise ValueError(f"lambda_on must be one of {losses.LAMBDA_PLACEMENTS}, got {self.lambda_on!r}")
        if self.amp not in ("auto", "bf16", "off") or self.channels_last not in ("auto", "on", "off"):
            raise ValueError("amp must be auto|bf16|off and channels_last auto|on|off")
        if not self.scales:
            raise ValueError("scales must name at least one (height, width)")
        if self.step_order not in STEP_ORDERS:
            raise ValueError(f"step_order must be one of {STEP_ORDERS}, got {self.step_order!r}")
        if self.baseline_optim not in BASELINE_OPTIM:
            raise ValueError(f"baseline_optim must be one of {BASELINE_OPTIM}, got {self.baseline_optim!r}")
        if self.resample not in ("strided", "pool") or self.d_layout not in ("authors", "kit-v1"):
            raise ValueError(f"resample must be strided|pool and d_layout authors|kit-v1; got {self.resample!r}, "
                             f"{self.d_layout!r}")
        if self.baseline_recipe not in RECIPES or self.init not in INIT_CHOICES:
            raise ValueError(f"baseline_recipe must be one of {RECIPES} and init one of {INIT_CHOICES}; got "
                             f"{self.baseline_recipe!r}, {self.init!r}")
        if self.warm_start is not None and model_spec(self.model, self.baseline_recipe).warm_start is None:
            raise ValueError(f"{self.model} (recipe {self.baseline_recipe}) takes no warm start; got "
                             f"warm_start={self.warm_start!r}")
        self.betas = tuple(self.betas)
        self.scales = [list(s) for s in self.scales]

    @classmethod
    def from_profile(cls, profile: dict, model: str, **overrides) -> "TrainConfig":
        """`model`'s settings in a profile (sgenlib.profiles): its steps, batch size, width and
        checkpoint / log intervals; every override that is not None replaces a profile value or a
        default. The one mapping from a profile to a run (study and the command line use it)."""
        missing = [k for k in PROFILE_KEYS if k not in profile]
        if missing:
            raise ValueError(f"the profile has no {', '.join(missing)} "
                             f"(sgenlib.profiles sets {', '.join(PROFILE_KEYS)})")
        kw = {k: profile[k] for k in PROFILE_KEYS}
        kw.update({k: v for k, v in overrides.items() if v is not None})
        return cls(model=model, **kw)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["betas"] = list(d["betas"])
        return d


def resume_settings(config: dict) -> dict:
    """The settings a run's identity and a resumed checkpoint are matched on: a TrainConfig's
    dict without RESUME_IGNORED_KEYS."""
    return {k: v for k, v in config.items() if k not in RESUME_IGNORED_KEYS}


class NonFiniteLossError(FloatingPointError):
    pass


class NonFiniteWeightsError(FloatingPointError):
    """A weight of G or D became NaN/inf (e.g. a learning rate far too large)."""


class CheckpointError(RuntimeError):
    """A checkpoint or generator file is damaged or refused; the message names the file."""


class RunStepsError(ValueError):
    """A run was asked for fewer steps than it already has."""

