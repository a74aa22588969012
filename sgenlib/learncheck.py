"""Does a model learn? A short training on real faces, then its PSNR on held-out faces beside the
degraded input's (issue 16: a baseline that cannot learn is caught here, not by a reader of Table 3).

  python -m sgenlib.learncheck --steps 300 --width 0.25 --batch-size 16 --recipe source kit-v1

trains each baseline at one small scale on the first `train` faces of the CelebA folder and scores
it on the next `test` faces (deterministic test noise, the kit's 8-bit PSNR convention); prints one
row per (model, recipe) with the input's PSNR, the model's and their difference.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from . import data as celeba
from .archs import forward_padded
from .degrade import DegradeOptions, degrade_test_batch
from .metrics import psnr_torch, quantize
from .train import TrainConfig, Trainer

BASELINES = ("SRCNN", "SRResNet", "SRGAN", "RED-Net", "URDGN")
OLD = {"baseline_recipe": "kit-v1", "init": "sgen"}
"""The kit's settings before issue 16 (recipe and initialisation)."""


def held_out_psnr(model: torch.nn.Module, images: np.ndarray, scale: tuple[int, int], seed: int = 0) -> tuple[float, float]:
    """(input PSNR, model PSNR) in dB, mean over `images` (uint8, N x C x H x W) at `scale`."""
    ids = [str(i) for i in range(len(images))]
    inp, ref = degrade_test_batch(torch.as_tensor(images), ids, scale, seed, DegradeOptions())
    model.eval()
    with torch.no_grad():
        out = forward_padded(model, inp, getattr(model, "size_multiple", 1))
    model.train()
    ref_u8 = quantize(ref)
    return float(psnr_torch(quantize(inp), ref_u8).mean()), float(psnr_torch(quantize(out), ref_u8).mean())


def train_and_score(model: str, train_images: np.ndarray, test_images: np.ndarray, steps: int, width: float,
                    batch_size: int, scale: tuple[int, int], seed: int = 0, warm_start: str | None = None,
                    **options) -> dict:
    """Train `model` for `steps` (in a temporary folder) and score it on `test_images`."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(model=model, steps=steps, batch_size=batch_size, width=width, seed=seed,
                          scales=[list(scale)], log_every=max(1, steps), ckpt_every=steps + 1,
                          warm_start=warm_start, **options)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trainer = Trainer(cfg, train_images, tmp, device="cpu", progress=False)
            trainer.run()
        psnr_in, psnr_out = held_out_psnr(trainer.G, test_images, scale, seed)
    return {"model": model, "steps": steps, "width": width, "batch_size": batch_size, "scale": list(scale),
            **options, "input_psnr_db": round(psnr_in, 3), "psnr_db": round(psnr_out, 3),
            "gain_db": round(psnr_out - psnr_in, 3), "seconds": round(time.perf_counter() - t0, 1)}


def check_models(models, recipe_options: dict, train_images, test_images, steps, width, batch_size, scale,
                 seed: int = 0, verbose: bool = False) -> list[dict]:
    """train_and_score every model under one set of options; SRGAN (recipe 'source') starts from
    the SRResNet trained here (trained first, saved to a temporary file)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        warm = None
        for m in models:
            kw = dict(steps=steps, width=width, batch_size=batch_size, scale=scale, seed=seed, **recipe_options)
            if m == "SRGAN" and recipe_options.get("baseline_recipe", "source") == "source":
                warm = warm or _srresnet_file(train_images, Path(tmp), kw)
                kw["warm_start"] = warm
            rows.append(train_and_score(m, train_images, test_images, **kw))
            if verbose:
                print(json.dumps(rows[-1]), flush=True)
    return rows


def _srresnet_file(train_images, folder: Path, kw: dict) -> str:
    opts = {k: v for k, v in kw.items() if k not in ("steps", "width", "batch_size", "scale", "seed")}
    cfg = TrainConfig(model="SRResNet", steps=kw["steps"], batch_size=kw["batch_size"], width=kw["width"],
                      seed=kw["seed"], scales=[list(kw["scale"])], log_every=kw["steps"], **opts)
    Trainer(cfg, train_images, folder / "SRResNet", device="cpu", progress=False).run()
    return str(folder / "SRResNet" / "generator.pt")


def load_faces(root: str | None, n_train: int, n_test: int) -> tuple[np.ndarray, np.ndarray]:
    """The first n_train faces of the folder (sorted names) and the n_test after them, gray uint8."""
    source = celeba.open_celeba(celeba.resolve_root(root))
    names = source.names[: n_train + n_test]
    arr, _ = celeba.load_images(source, names, cache_dir=tempfile.mkdtemp())
    return arr[:n_train], arr[n_train:]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m sgenlib.learncheck", description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(BASELINES))
    p.add_argument("--recipe", nargs="+", default=["source", "kit-v1"], choices=["source", "kit-v1"],
                   help="source: issue 16's defaults; kit-v1: the old recipe with init=sgen")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--width", type=float, default=0.25)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--scale", type=int, nargs=2, default=[64, 48])
    p.add_argument("--train", type=int, default=400)
    p.add_argument("--test", type=int, default=32)
    p.add_argument("--data", default=None)
    p.add_argument("--out", default=None, help="write the rows as JSON here")
    a = p.parse_args(argv)
    train_images, test_images = load_faces(a.data, a.train, a.test)
    rows = []
    for recipe in a.recipe:
        opts = {"baseline_recipe": "source", "init": "source"} if recipe == "source" else OLD
        rows += check_models(a.models, opts, train_images, test_images, a.steps, a.width, a.batch_size,
                             tuple(a.scale), verbose=True)
    if a.out:
        Path(a.out).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
