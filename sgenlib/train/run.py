"""train(): train, resume or reuse one run (the call study and the command line make), and
load_train_images(): a profile's training split as the uint8 array train() takes."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch.distributed as dist

from .. import data as celeba
from ..degrade import DegradeOptions
from ..reads import note_read
from .checkpoints import check_generator
from .config import TrainConfig
from .identity import read_identity, run_identity
from .trainer import Trainer


def train(cfg: TrainConfig, images, out_dir, degrade: DegradeOptions = DegradeOptions(),
          device=None, progress: bool = True, stop_after: int | None = None,
          data_info: dict | None = None) -> dict:
    """Train (or resume, or skip if finished) one model; returns the run summary.

    A finished run is reused only when its identity (training data, degradation, model settings;
    see run_identity) and its steps are those asked for; see claim_run_folder for the rest.
    `data_info` describes the training data (train_names_sha256, train_content_sha256, root, ...)."""
    out_dir = Path(out_dir)
    summary_path = out_dir / "train_summary.json"
    old = read_identity(out_dir)
    if old is not None and summary_path.is_file() and (out_dir / "generator.pt").is_file():
        try:
            summary = json.loads(summary_path.read_text())
        except (OSError, ValueError):
            summary = {}
        if (summary.get("steps") == cfg.steps and old.get("id") == run_identity(cfg, degrade, images, data_info)["id"]
                and summary.get("identity") == old.get("id")):
            check_generator(out_dir, summary)
            note_read(out_dir / "generator.pt")
            return summary
    summary = Trainer(cfg, images, out_dir, degrade, device, progress, data_info).run(stop_after=stop_after)
    if "interrupted_at" not in summary:
        note_read(out_dir / "generator.pt")
    return summary


def load_train_images(data_root: str | None, profile: dict, degrade: DegradeOptions, seed: int = 0,
                      cache_dir: str | os.PathLike = "cache", limit: int | None = None) -> tuple[np.ndarray, dict]:
    """The profile's training split as a uint8 array (decoded once into `cache_dir`; under
    torchrun the first process of each node decodes, the others then read the cache)."""
    root = celeba.resolve_root(data_root)
    source = celeba.open_celeba(root)
    plimit = profile.get("limit")
    train_limit = limit if limit is not None else (plimit.get("train") if isinstance(plimit, dict) else plimit)
    kw = dict(mode=profile["split_mode"], seed=seed, limit={"train": train_limit}, color=degrade.color,
              luma=degrade.luma, cache_dir=cache_dir)
    first = int(os.environ.get("LOCAL_RANK", "0")) == 0
    if dist.is_available() and dist.is_initialized():
        if first:
            arr, kept = celeba.load_split(source, "train", **kw)
        dist.barrier()
        if not first:
            arr, kept = celeba.load_split(source, "train", **kw)
    else:
        arr, kept = celeba.load_split(source, "train", **kw)
    info = {"root": str(root), "split_mode": profile["split_mode"], "seed": seed, "train_images": len(kept),
            "train_names_sha256": celeba.names_sha256(kept),
            "train_content_sha256": celeba.content_sha256(source, kept)}
    return arr, info
