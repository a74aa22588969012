"""What the device study's sizing measures on the device it will run on (size_gpu_quick.py; the
planning from these figures is size_plan.py): every model's training step and evaluation forward,
the metrics, a PNG write, a figure, a notebook kernel's start, JPEG decoding. The timing is
sgenlib.timing's (synchronised at both ends of every span).
"""
from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from sgenlib import data, metrics
from sgenlib.archs import MODELS, forward_padded
from sgenlib.paper import SCALES
from sgenlib.speed import cudnn_benchmark
from sgenlib.timing import Clock, cycle, free, timed_steps
from sgenlib.train import TrainConfig, Trainer

REPO = Path(__file__).resolve().parents[2]


def kernel_start_seconds(device: torch.device) -> float:
    """Wall time of a fresh interpreter importing what a notebook imports (and starting CUDA)."""
    code = ("import sgenlib.study, sgenlib.figures, matplotlib.pyplot, pandas, torch\n"
            f"torch.zeros(1, device='{device.type}')\n")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, capture_output=True)
    return time.perf_counter() - t


def png_seconds() -> float:
    from PIL import Image
    arr = np.random.default_rng(0).integers(0, 256, (208, 176), dtype=np.uint8)
    arr = np.sort(arr, axis=1)           # smoother than noise, closer to a face's PNG cost
    t = time.perf_counter()
    for _ in range(10):
        Image.fromarray(arr).save(io.BytesIO(), format="PNG")
    return (time.perf_counter() - t) / 10


def figure_seconds(tmp: Path) -> float:
    import matplotlib
    matplotlib.use("Agg")                # this process only: the notebooks keep their inline backend
    import matplotlib.pyplot as plt
    t = time.perf_counter()
    fig, axes = plt.subplots(4, 6, figsize=(12, 8))
    for ax in axes.flat:
        ax.imshow(np.zeros((208, 176), np.uint8), cmap="gray")
        ax.set_title("model", fontsize=7)
        ax.axis("off")
    fig.savefig(tmp / "probe.png", dpi=100)
    plt.close(fig)
    return time.perf_counter() - t


def forward_seconds(clock: Clock, g, x: torch.Tensor) -> float:
    """One no-grad forward of x after an untimed one."""
    with torch.no_grad():
        forward_padded(g, x)
        with clock.span() as s:
            forward_padded(g, x)
    return s.seconds


def measure_model(name: str, prof: dict, images: np.ndarray, tmp: Path, clock: Clock, warmup: int, timed: int,
                  x_eval: torch.Tensor, x_b1: torch.Tensor) -> dict[str, float]:
    """One model: {per_step, setup, eval_fwd, b1_fwd} seconds. Training cycles the six scales, each
    seen in the warm-up (cuDNN's per-shape algorithm search is paid there, counted as set-up)."""
    cfg = TrainConfig(model=name, steps=1, batch_size=prof["batch_size"], width=prof["width"])
    with clock.span() as built:
        tr = Trainer(cfg, images, tmp / name, device=clock.device, progress=False)
    with cudnn_benchmark(tr.cudnn_benchmark):                     # as inside Trainer.run()
        warm_s, step = timed_steps(clock, tr, 1, cycle(SCALES, max(len(SCALES), warmup)))
        timed_s, _ = timed_steps(clock, tr, step, cycle(SCALES, timed))
    g = tr.G.eval()                                              # evaluation's path: fp32, eval batch
    r = {"per_step": timed_s / timed, "setup": built.seconds + warm_s,
         "eval_fwd": forward_seconds(clock, g, x_eval), "b1_fwd": forward_seconds(clock, g, x_b1)}
    print(f"{name:12s} {1000 * r['per_step']:8.1f} ms/step {prof['batch_size'] / r['per_step']:8.0f} img/s"
          f"  set-up {r['setup']:5.1f} s  eval batch {1000 * r['eval_fwd']:7.1f} ms", flush=True)
    del tr, g
    free(clock.device)
    return r


def metric_seconds(clock: Clock, eb: int, channels: int) -> tuple[float, float]:
    """(torch PSNR + SSIM of one eval batch at the largest scale, scikit-image's on 8 faces)."""
    ref = torch.randint(0, 256, (eb, channels, *SCALES[-1]), dtype=torch.uint8, device=clock.device)
    pred = ref.flip(-1)
    with clock.span() as s:
        metrics.psnr_torch(pred, ref), metrics.ssim_torch(pred, ref)
    t0 = time.perf_counter()
    metrics.psnr_ssim_batch(pred[:8].cpu().numpy(), ref[:8].cpu().numpy(), 1)
    return s.seconds, time.perf_counter() - t0


def measure(prof: dict, root: str, device: torch.device, n_images: int, warmup: int, timed: int) -> dict:
    """Everything size_plan.plan needs (its docstring lists the keys), measured on `device` with
    the profile's split of the faces under `root`; `n_images` faces decoded for the training."""
    clock = Clock(device)
    src = data.open_celeba(root)
    lim = prof["limit"] if isinstance(prof["limit"], dict) else {"train": prof["limit"]}
    splits = data.make_splits(src, prof["split_mode"], 0, {"train": lim.get("train"), "val": lim.get("val"),
                                                           "test": lim.get("test")})
    m = {"test_faces": len(splits["test"]), "decoded_faces": sum(len(v) for v in splits.values())}
    per_model = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        names = splits["train"][:n_images]
        images, _ = data.load_images(src, names, cache_dir=tmp / "cache")
        m["decode_rate"] = len(names) / (time.perf_counter() - t)
        eb = m["eval_batch"] = min(int(prof["eval_batch"]), max(1, m["test_faces"]))
        x_eval = torch.randn(eb, images.shape[1], *SCALES[-1], device=device)
        x_b1 = x_eval[:1].clone()
        for name in MODELS:
            per_model[name] = measure_model(name, prof, images, tmp, clock, warmup, timed, x_eval, x_b1)
        m["metric_batch"], m["skimage_8"] = metric_seconds(clock, eb, images.shape[1])
        m["png"] = png_seconds()
        m["figure"] = figure_seconds(tmp)
    m["kernel"] = kernel_start_seconds(device)
    for key in ("per_step", "setup", "eval_fwd", "b1_fwd"):
        m[key] = {name: r[key] for name, r in per_model.items()}
    return m
