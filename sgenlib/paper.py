"""The paper's own numbers (Tables 1-5), kept in the package so every table can sit beside them.

Tables 1-4 give PSNR (dB), SSIM and MOS per model and scale; Table 5 gives, for N = 2, 3, 4,
the mean PSNR/SSIM over the six scales of MSE-only SGEN and the training time in K80 GPU-hours.
"""
from __future__ import annotations

from importlib import resources

import pandas as pd

SCALES: list[tuple[int, int]] = [(128 + 16 * i, 96 + 16 * i) for i in range(6)]
"""The six (height, width) scales of the paper, 128x96 ... 208x176."""

ABLATION_MODELS = ["SGEN", "SGEN-MSE", "MEN", "AEN", "CEN"]  # Tables 1-2
SOTA_MODELS = ["SGEN", "SGEN-MSE", "SRCNN", "SRResNet", "SRGAN", "RED-Net", "URDGN"]  # Tables 3-4
PAPER_INFERENCE_S_PER_IMAGE = 0.016  # section 4.6, one K80
PAPER_TRAIN_GPU_HOURS = {"SGEN": 26, "URDGN": 20}  # section 4.6, one K80


def scale_name(scale: tuple[int, int]) -> str:
    """'128x96' for (128, 96): the label used in every table and file name."""
    return f"{scale[0]}x{scale[1]}"


def parse_scale(name: str) -> tuple[int, int]:
    h, w = name.lower().split("x")
    return int(h), int(w)


def paper_results() -> pd.DataFrame:
    """Tables 1-4 as rows: model, scale ('128x96'), psnr_db, ssim, mos, tables ('1-2', '3-4')."""
    with resources.files("sgenlib.paper_data").joinpath("paper_results.csv").open() as f:
        df = pd.read_csv(f)
    return df.rename(columns={"scale_hxw": "scale"})


def paper_n_study() -> pd.DataFrame:
    """Table 5: n_levels, psnr_db, ssim (means over the six scales), train_gpu_hours_k80."""
    with resources.files("sgenlib.paper_data").joinpath("paper_n_study.csv").open() as f:
        return pd.read_csv(f)
