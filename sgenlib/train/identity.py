"""Run identity: what a run folder holds (training data, degradation, model settings; hashed into
an id), and claiming a folder for a run: a folder holding another identity is moved aside, a
finished run is never relabelled with fewer steps."""
from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
import weakref
from pathlib import Path

import numpy as np
import torch

from ..degrade import DegradeOptions
from ..fileio import atomic_write, remove_temporaries
from .config import RunStepsError, TrainConfig, resume_settings

_IMAGES_SHA: dict[int, tuple] = {}


def images_sha256(images) -> str:
    """sha256 of the training images' shape and pixels (what the weights were trained on),
    remembered per array object so twelve trainings on one array hash it once."""
    key = id(images)
    if key in _IMAGES_SHA and _IMAGES_SHA[key][0]() is images:
        return _IMAGES_SHA[key][1]
    arr = images.detach().cpu().numpy() if torch.is_tensor(images) else np.asarray(images)
    h = hashlib.sha256(f"{arr.dtype}{tuple(arr.shape)}".encode())
    h.update(memoryview(np.ascontiguousarray(arr)).cast("B"))
    digest = h.hexdigest()
    try:
        _IMAGES_SHA[key] = (weakref.ref(images), digest)
    except TypeError:
        pass
    return digest


def run_identity(cfg: TrainConfig, degrade: DegradeOptions, images, data_info: dict | None = None) -> dict:
    """A run's identity: the training data (the pixels' sha256 and, when the caller gives them, the
    train split's names and file-content hash), the degradation and the model settings; `id` is a
    hash of them. The target steps are recorded beside it (a larger target extends the same run)."""
    data = {"pixels_sha256": images_sha256(images)}
    for k in ("train_names_sha256", "train_content_sha256"):
        if data_info and data_info.get(k):
            data[k] = data_info[k]
    body = {"data": data, "degrade": degrade.as_dict(), "config": resume_settings(cfg.to_dict())}
    if cfg.warm_start is not None:
        body["warm_start"] = warm_start_source(cfg.warm_start)
    return {"id": hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16], **body}


def warm_start_source(path) -> dict:
    """What a warm start loads: the generator file's SHA-256 and its run's identity id."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"warm start {path}: no such generator file (train its model first)")
    return {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "run": (read_identity(path.parent) or {}).get("id")}


def read_identity(out_dir: Path) -> dict | None:
    try:
        return json.loads((Path(out_dir) / "run_identity.json").read_text())
    except (OSError, ValueError):
        return None


def identity_diff(old: dict | None, new: dict) -> str:
    if old is None:
        return "the folder has no readable run_identity.json (an older kit, or damaged)"
    parts = []
    for k, v in new["data"].items():
        if (old.get("data") or {}).get(k) != v:
            parts.append(f"training data {k} {str((old.get('data') or {}).get(k))[:12]} -> {v[:12]}")
    if old.get("degrade") != new["degrade"]:
        parts.append(f"degradation {old.get('degrade')} -> {new['degrade']}")
    oc = old.get("config") or {}
    parts += [f"{k} {oc.get(k)!r} -> {v!r}" for k, v in new["config"].items() if oc.get(k) != v]
    return "; ".join(parts) or "identity hash differs"


RUN_FILES = ("checkpoint.pt", "checkpoint.prev.pt", "generator.pt", "train_summary.json", "losses.csv")


def claim_run_folder(out_dir: Path, ident: dict, steps: int, data_info: dict | None = None) -> Path | None:
    """Make `out_dir` hold the run `ident` (call it holding the folder's lock). Removes leftover
    temporaries; a folder with a run of another identity is moved aside (returned, with a warning
    naming both identities); a finished run with more steps than `steps` raises RunStepsError.
    Then writes run_identity.json (and train_data.json, the data's description)."""
    out_dir = Path(out_dir)
    remove_temporaries(out_dir)
    aside = None
    if any((out_dir / n).exists() for n in RUN_FILES):
        old = read_identity(out_dir)
        if old is None or old.get("id") != ident["id"]:
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            # beside the runs, one level down, so nothing that lists runs/<profile>/*/ takes it for a model
            aside = out_dir.parent / "replaced" / f"{out_dir.name}-{(old or {}).get('id', 'unknown')}-{stamp}"
            n = 1
            while aside.exists():
                aside, n = aside.with_name(f"{aside.name.rsplit('~', 1)[0]}~{n}"), n + 1
            why = identity_diff(old, ident)
            aside.parent.mkdir(exist_ok=True)
            os.replace(out_dir, aside)
            warnings.warn(f"{out_dir} held a run of another identity (id {(old or {}).get('id')}, this run "
                          f"is id {ident['id']}: {why}); moved it aside to {aside} and training afresh",
                          stacklevel=3)
        else:
            done = finished_steps(out_dir)
            if done is not None and done > steps:
                raise RunStepsError(
                    f"{out_dir} holds a finished run of {done} steps; asked for {steps}. A run is never "
                    f"relabelled: ask for steps >= {done}, or use another run folder, or delete {out_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(out_dir / "run_identity.json", json.dumps({**ident, "steps": steps}, indent=2))
    if data_info is not None:
        atomic_write(out_dir / "train_data.json", json.dumps(data_info, indent=2))
    return aside


def finished_steps(out_dir: Path) -> int | None:
    try:
        if (Path(out_dir) / "generator.pt").is_file():
            return int(json.loads((Path(out_dir) / "train_summary.json").read_text())["steps"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None
