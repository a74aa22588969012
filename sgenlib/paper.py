"""The paper's own numbers (Tables 1-5), kept in the package so every table can sit beside them.

Tables 1-4 give PSNR (dB), SSIM and MOS per model and scale; Table 5 gives, for N = 2, 3, 4,
the mean PSNR/SSIM over the six scales of MSE-only SGEN and the training time in K80 GPU-hours.
"""
from __future__ import annotations

from importlib import resources
from typing import Iterable

import pandas as pd

SCALES: list[tuple[int, int]] = [(128 + 16 * i, 96 + 16 * i) for i in range(6)]
"""The six (height, width) scales of the paper, 128x96 ... 208x176."""

ABLATION_MODELS = ["SGEN", "SGEN-MSE", "MEN", "AEN", "CEN"]  # Tables 1-2
SOTA_MODELS = ["SGEN", "SGEN-MSE", "SRCNN", "SRResNet", "SRGAN", "RED-Net", "URDGN"]  # Tables 3-4
BASELINE_MODELS = [m for m in SOTA_MODELS if m not in ABLATION_MODELS]  # the five methods SGEN is compared with
N_STUDY_MODELS: dict[int, str] = {2: "SGEN-MSE-N2", 3: "SGEN-MSE", 4: "SGEN-MSE-N4"}
"""Table 5: N -> the model trained with MSE only at that N."""
PAPER_MODELS = list(dict.fromkeys([*ABLATION_MODELS, *SOTA_MODELS, *N_STUDY_MODELS.values()]))
"""The twelve models in the order of the paper's tables (sgenlib.archs.MODELS keeps this order)."""
REFERENCES = ("ground_truth", "input")
"""What every gallery shows beside the restorations: the ground truth and the degraded input."""

PAPER_STEPS = 500_000  # training steps at batch 64 (the authors' code; the paper gives only the batch)
PAPER_BATCH = 64       # the paper's batch size
PAPER_N_SUBJECTS = 18  # the MOS study's raters (section 4)
PAPER_N_PER_SCALE = 48  # faces rated per scale and model (288 per model over the six scales)
PAPER_INFERENCE_S_PER_IMAGE = 0.016  # section 4.6, one K80


def scale_name(scale: tuple[int, int]) -> str:
    """'128x96' for (128, 96): the label used in every table and file name."""
    return f"{scale[0]}x{scale[1]}"


def parse_scale(name: str) -> tuple[int, int]:
    h, w = name.lower().split("x")
    return int(h), int(w)


def model_key(name: str) -> tuple:
    """Sort key of a model name in every table, gallery, figure and app: ground_truth, input, the
    paper's models in PAPER_MODELS' order, then any other name alphabetically."""
    if name in REFERENCES:
        return (0, REFERENCES.index(name), "")
    if name in PAPER_MODELS:
        return (1, PAPER_MODELS.index(name), "")
    return (2, 0, str(name))


def sort_models(names: Iterable[str]) -> list[str]:
    """The distinct names of `names` in model_key's order."""
    return sorted(dict.fromkeys(names), key=model_key)


def paper_results() -> pd.DataFrame:
    """Tables 1-4 as rows: model, scale ('128x96'), psnr_db, ssim, mos, tables ('1-2', '3-4')."""
    with resources.files("sgenlib.paper_data").joinpath("paper_results.csv").open() as f:
        df = pd.read_csv(f)
    return df.rename(columns={"scale_hxw": "scale"})


def paper_n_study() -> pd.DataFrame:
    """Table 5: n_levels, psnr_db, ssim (means over the six scales), train_gpu_hours_k80."""
    with resources.files("sgenlib.paper_data").joinpath("paper_n_study.csv").open() as f:
        return pd.read_csv(f)
