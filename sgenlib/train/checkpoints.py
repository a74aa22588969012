"""Checkpoint file I/O: atomic writes, two generations (checkpoint.pt and checkpoint.prev.pt),
weights-only loading with errors that name the file, the generator check, the RNG states."""
from __future__ import annotations

import io
import json
import os
import pickle
import random
import warnings
from pathlib import Path

import numpy as np
import torch

from ..fileio import atomic_write, file_sha256
from .config import CheckpointError


def atomic_torch_save(obj, path: Path) -> None:
    """torch.save into memory, then fileio.atomic_write (so a full disk is an OSError naming the
    file, not torch's 'enforce fail at inline_container.cc')."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write(path, buf.getbuffer())


def load_weights_file(path: Path, map_location="cpu") -> dict:
    """torch.load(weights_only=True) with errors that name the file and say what to do."""
    path = Path(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except pickle.UnpicklingError as e:
        raise CheckpointError(f"{path} holds objects that weights-only loading refuses (it was not "
                              f"written by this kit, or was tampered with); it was not loaded. Delete it "
                              f"or move it away. ({str(e).splitlines()[0]})") from None
    except Exception as e:  # noqa: BLE001 - truncated/zero-byte/garbled files fail in many ways
        size = path.stat().st_size if path.exists() else 0
        raise CheckpointError(f"{path} is damaged ({size} bytes; {type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else 'no detail'})") from None


def check_generator(run_dir: Path, summary: dict | None = None) -> None:
    """CheckpointError naming run_dir/generator.pt and the fix unless it is the file its run wrote:
    the sha256 train_summary.json records (`summary`, else read from the folder). Runs written
    before the summary recorded it are not checked."""
    run_dir = Path(run_dir)
    gen, summary_path = run_dir / "generator.pt", run_dir / "train_summary.json"
    if summary is None:
        try:
            summary = json.loads(summary_path.read_text())
        except (OSError, ValueError):
            return
    expected = (summary or {}).get("generator_sha256")
    if not gen.is_file():
        return
    size = gen.stat().st_size
    if size and not expected:
        return                                    # a run from before summaries recorded the sha256
    actual = file_sha256(gen) if size else None
    if actual == expected:
        return
    what = ("it is empty (0 bytes)" if not size
            else f"its sha256 {actual[:12]}... differs: damaged, or another run's file")
    record = f"; {summary_path} records sha256 {expected[:12]}..." if expected else ""
    ckpt = run_dir / "checkpoint.pt"
    fix = (f"delete it and run again: it is written again from the run's last checkpoint {ckpt}" if ckpt.is_file()
           else f"delete the run folder {run_dir} to train the model again")
    raise CheckpointError(f"{gen} is not the generator its run wrote ({what}{record}); it was not used. "
                          f"Restore it from a backup, or {fix}")


def previous_generation(path: Path) -> Path:
    return path.with_name(path.stem + ".prev" + path.suffix)


def save_generation(obj, path: Path) -> None:
    """Write checkpoint `path` atomically, keeping the one it replaces as <stem>.prev<suffix>."""
    path = Path(path)
    buf = io.BytesIO()
    torch.save(obj, buf)
    if path.is_file():
        os.replace(path, previous_generation(path))
    atomic_write(path, buf.getbuffer())


def load_generation(path: Path, map_location="cpu", set_aside: bool = True) -> tuple[dict, Path] | None:
    """The newest usable generation of checkpoint `path` (and the file it came from), None when
    there is none. A damaged newest one is passed over with a warning naming it (and, with
    `set_aside`, renamed to <name>.damaged so the next save does not rotate it over the good
    previous one); a refused pickle or no usable generation at all raises CheckpointError naming
    the files."""
    path = Path(path)
    prev = previous_generation(path)
    damaged = []
    for p in (path, prev):
        try:
            if not p.is_file():
                continue
            state = load_weights_file(p, map_location)
        except FileNotFoundError:
            continue
        except CheckpointError as e:
            if "refuses" in str(e):
                raise
            damaged.append((p, e))
            continue
        if damaged:
            bad, why = damaged[0]
            kept = ""
            if set_aside:
                os.replace(bad, bad.with_name(bad.name + ".damaged"))
                kept = f" (the damaged file is kept as {bad.name}.damaged)"
            warnings.warn(f"{why}; resuming from the previous checkpoint {p} (step {state.get('step')}){kept}",
                          stacklevel=2)
        return state, p
    if damaged:
        raise CheckpointError(f"{'; '.join(str(e) for _, e in damaged)}; no usable checkpoint is left. Delete "
                              f"{path} (and {prev.name}) to train this run from step 0, or restore them "
                              "from a backup")
    return None


def rng_state() -> dict:
    """The torch, numpy, Python (and CUDA) generators' states, as a checkpoint records them."""
    state = {"torch": torch.get_rng_state(), "numpy": [int(v) for v in np.random.get_state()[1]],
             "python": repr(random.getstate())}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state

