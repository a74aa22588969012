"""The three profiles of run_all.sh, chosen by one flag. Every number here is a setting, not a result.

smoke      CPU, tiny widths, a handful of images and steps: checks every stage end to end in minutes.
           Its outputs are marked "smoke" wherever they appear; its numbers say nothing about SGEN.
gpu-quick  the whole study (twelve trainings and their evaluations) sized to fit about 9 minutes
           on one H100/H200: paper widths, official partition of whatever images are given,
           1,000 steps at batch 64 (0.2% of the paper's 500,000 steps).
paper      the paper's settings: paper split, 500,000 steps at batch 64, paper widths.
"""
from __future__ import annotations

import copy

PROFILES: dict[str, dict] = {
    "smoke": {
        "split_mode": "official", "limit": {"train": 48, "val": 8, "test": 6},
        "steps": 4, "batch_size": 4, "width": 0.125, "ckpt_every": 2, "log_every": 1,
        "eval_batch": 12, "metric_backend": "skimage", "gallery_images": 2, "mos_set_per_scale": 2,
        "timing_repeats": 2, "device": "auto",
    },
    "gpu-quick": {
        "split_mode": "official", "limit": {"train": None, "val": 200, "test": 600},
        "steps": 1000, "batch_size": 64, "width": 1.0, "ckpt_every": 500, "log_every": 50,
        "eval_batch": 100, "metric_backend": "torch", "gallery_images": 4, "mos_set_per_scale": 48,
        "timing_repeats": 20, "device": "auto",
    },
    "paper": {
        "split_mode": "paper", "limit": None,
        "steps": 500_000, "batch_size": 64, "width": 1.0, "ckpt_every": 5_000, "log_every": 100,
        "eval_batch": 100, "metric_backend": "torch", "gallery_images": 8, "mos_set_per_scale": 48,
        "timing_repeats": 50, "device": "auto",
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
        if k not in prof:
            raise ValueError(f"unknown profile setting {k!r}; known: {', '.join(prof)}")
        prof[k] = v
    prof["name"] = name
    return prof


SHORT_RUN_STEPS = 200
"""Below this many training steps the generators have not learned faces yet (ours: after the smoke
profile's 4 steps every restoration is a flat gray field with nearly identical PSNR/SSIM;
docs/protocol.md#profiles)."""


def short_run_note(profile: dict) -> str:
    """The warning shown on figures and in the viewer for a smoke or very short run; '' otherwise."""
    steps = profile["steps"]
    if profile.get("name") != "smoke" and steps >= SHORT_RUN_STEPS:
        return ""
    return (f"{profile.get('name', '?')} run, {steps} training steps: flat gray restorations with nearly "
            "identical PSNR/SSIM are expected; they check the pipeline and say nothing about the models.")
