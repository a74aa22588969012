"""The three profiles of run_all.sh, chosen by one flag. Every number here is a setting, not a result.

smoke      CPU, tiny widths, a handful of images and steps: checks every stage end to end in minutes.
           Its outputs are marked "smoke" wherever they appear; its numbers say nothing about SGEN.
cpu        the whole study on a 2-core CPU with a native bf16 unit in about an hour: width x0.25,
           batch 4, 2,000 steps, bf16 autocast + channels_last (sgenlib.speed), 10,000
           official-split training faces, 200 test faces; sized by scripts/device/size_gpu_quick.py
           from measured step times on such a machine (docs/protocol.md#profiles).
gpu-quick  the whole study (twelve trainings and their evaluations) sized to fit about 9 minutes
           on one H100/H200: paper widths, official partition of whatever images are given,
           1,000 steps at batch 64 (0.2% of the paper's 500,000 steps).
paper      the paper's settings: paper split, 500,000 steps at batch 64, paper widths.

seeds (every profile, default 1): trainings per model with different seeds (the run's seed, +1,
...); with more than one, the claims' intervals cover training seeds as well as test images.
"""
from __future__ import annotations

import copy

from .paper import PAPER_BATCH, PAPER_STEPS

PROFILES: dict[str, dict] = {
    "smoke": {
        "split_mode": "official", "limit": {"train": 48, "val": 8, "test": 6},
        "steps": 4, "batch_size": 4, "width": 0.125, "ckpt_every": 2, "log_every": 1,
        "eval_batch": 12, "metric_backend": "skimage", "gallery_images": 2, "mos_set_per_scale": 2,
        "timing_repeats": 2, "device": "auto", "seeds": 1,
    },
    "cpu": {
        "split_mode": "official", "limit": {"train": 10_000, "val": 100, "test": 200},
        "steps": 2000, "batch_size": 4, "width": 0.25, "ckpt_every": 250, "log_every": 50,
        "eval_batch": 50, "metric_backend": "torch", "gallery_images": 4, "mos_set_per_scale": 8,
        "timing_repeats": 3, "device": "cpu", "seeds": 1,
    },
    "gpu-quick": {
        "split_mode": "official", "limit": {"train": None, "val": 200, "test": 600},
        "steps": 1000, "batch_size": 64, "width": 1.0, "ckpt_every": 500, "log_every": 50,
        "eval_batch": 100, "metric_backend": "torch", "gallery_images": 4, "mos_set_per_scale": 48,
        "timing_repeats": 20, "device": "auto", "seeds": 1,
    },
    "paper": {
        "split_mode": "paper", "limit": None,
        "steps": 500_000, "batch_size": 64, "width": 1.0, "ckpt_every": 5_000, "log_every": 100,
        "eval_batch": 100, "metric_backend": "torch", "gallery_images": 8, "mos_set_per_scale": 48,
        "timing_repeats": 50, "device": "auto", "seeds": 1,
    },
}


def get_profile(name: str, **overrides) -> dict:
    """A copy of profile `name` with `overrides` applied (None values are ignored)."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    prof = copy.deepcopy(PROFILES[name])
    for k, v in overrides.items():
        if v is None:
            continue
        check_override(k, v, prof)
        prof[k] = v
    if not isinstance(prof["seeds"], int) or prof["seeds"] < 1:
        raise ValueError(f"seeds (trainings per model) must be an integer >= 1, got {prof['seeds']!r}")
    prof["name"] = name
    return prof


_POSITIVE_INTS = ("steps", "batch_size", "ckpt_every", "log_every", "eval_batch", "gallery_images",
                  "mos_set_per_scale", "timing_repeats", "seeds")
_CHOICES = {"split_mode": ("official", "paper"), "metric_backend": ("torch", "skimage")}


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_override(key: str, value, known: dict) -> None:
    """ValueError naming `key`, the value and what it must be, unless `value` is a valid setting."""
    if key not in known:
        raise ValueError(f"unknown setting {key!r}; known: {', '.join(sorted(known))}")
    bad = lambda what: ValueError(f"{key} must be {what}, got {value!r}")  # noqa: E731
    if key in _POSITIVE_INTS:
        if not _is_int(value) or value < 1:
            raise bad("an integer >= 1")
    elif key in _CHOICES:
        if value not in _CHOICES[key]:
            raise bad("one of " + ", ".join(_CHOICES[key]))
    elif key == "width":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 16:
            raise bad("a number in (0, 16]")
    elif key == "limit":
        parts = value.values() if isinstance(value, dict) else [value]
        if isinstance(value, dict) and not set(value) <= {"train", "val", "test"}:
            raise bad('null, an integer >= 1, or {"train"|"val"|"test": integer >= 1 or null}')
        if not all(v is None or (_is_int(v) and v >= 1) for v in parts):
            raise bad('null, an integer >= 1, or {"train"|"val"|"test": integer >= 1 or null}')
    elif key == "device":
        if not isinstance(value, str) or not (value in ("auto", "cpu", "cuda") or
                                              (value.startswith("cuda:") and value[5:].isdigit())):
            raise bad("auto, cpu, cuda or cuda:N")
    else:                                  # a setting without its own rule: the default's type
        default = known[key]
        if default is not None and not (type(value) is type(default) or
                                        (isinstance(default, float) and _is_int(value))):
            raise bad(f"a {type(default).__name__} like the default {default!r}")


def check_overrides(name: str, overrides: dict) -> dict:
    """Validate run_all.sh's --set values against profile `name` before anything runs: each value
    (check_override), then the profile they make, by the call the notebooks make (get_profile)."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    for k, v in overrides.items():
        check_override(k, v, PROFILES[name])
    get_profile(name, **overrides)
    return overrides


SHORT_RUN_STEPS = 200
"""Below this many training steps the generators have not learned faces yet (ours: after the smoke
profile's 4 steps every restoration is a flat gray field with nearly identical PSNR/SSIM;
docs/protocol.md#profiles)."""


def training_budget(profile: dict) -> dict:
    """What a profile's (or a run's) training is beside the paper's: steps, batch, images seen and
    their fraction of the paper's 500,000 steps at batch 64."""
    seen = profile["steps"] * profile["batch_size"]
    return {"steps": profile["steps"], "batch_size": profile["batch_size"], "images_seen": seen,
            "paper_images_seen": PAPER_STEPS * PAPER_BATCH,
            "fraction_of_paper_images": seen / (PAPER_STEPS * PAPER_BATCH)}


def short_run_note(profile: dict) -> str:
    """The warning shown on figures and in the viewer for a smoke or very short run; '' otherwise."""
    steps = profile["steps"]
    if profile.get("name") != "smoke" and steps >= SHORT_RUN_STEPS:
        return ""
    return (f"{profile.get('name', '?')} run, {steps} training steps: flat gray restorations with nearly "
            "identical PSNR/SSIM are expected; they check the pipeline and say nothing about the models.")
