"""Size the device study: time one training step of every model and bound the fixed cost of every
other stage of run_all.sh, then choose the common step count that lets the whole study end inside
its budget. scripts/gpu_run.sh passes the result to run_all.sh as --set steps=N (all twelve models
keep the same step budget). Prints one JSON object; writes it to --out when given.

    python scripts/size_gpu_quick.py --profile gpu-quick --data .celeba_carry --study-s 360
    python scripts/size_gpu_quick.py --profile gpu-quick --data .celeba_carry --until EPOCH

The profile sized is the one that will run (--profile, with --width / --batch-size / --set-like
overrides), so a smoke rehearsal is sized with smoke settings. What is measured on this device:

  train       per model: ms per training step, cycling the six scales (each seen once in warm-up, so
              cuDNN's per-shape algorithm search is paid there), plus that warm-up as its set-up cost
  evaluation  per model: one fp32 no-grad forward of an eval batch at 208x176 (the evaluation's
              path), scaled to test faces x six scales; the torch metrics of one batch likewise;
              the scikit-image agreement check on 8 faces x six scales per model
  timing      per model: the inference timing table's calls (evaluate.time_inference)
  PNG writes  one 208x176 PNG save, times the gallery and MOS-set panels
  figures     one 4x6-panel matplotlib figure saved, times a bound on the study's figure count
  kernels     a fresh interpreter importing the study's modules (and starting CUDA), per notebook
  decode      JPEG decode rate, times the faces the study decodes

Every fixed cost is multiplied by --safety (default 1.5) and training by --train-safety (1.15).
steps = (budget - fixed) / (sum of per-step times), rounded down to a multiple of 10, at most
--max-steps (default: 20,000 for gpu-quick, the profile's own steps otherwise). When the fixed
costs alone fill the budget, steps = --min-steps (default 10) and "over_budget" is true.
"""
from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from sgenlib import data, metrics  # noqa: E402
from sgenlib.archs import MODELS, forward_padded  # noqa: E402
from sgenlib.paper import SCALES  # noqa: E402
from sgenlib.profiles import get_profile  # noqa: E402
from sgenlib.speed import cudnn_benchmark  # noqa: E402
from sgenlib.train import TrainConfig, Trainer, device_name  # noqa: E402

NOTEBOOKS = 7
FIGURES_BOUND = 16          # figures the seven notebooks draw (about 10 today), bounded
GALLERY_WRITES = 2          # update_gallery is called by more than one notebook
TIMING_TABLES = 2           # timing_table is called by notebooks 02 and 04 (each on its models; bounded by all)
PAPERMILL_OVERHEAD_S = 4.0  # kernel manager, ZeroMQ, notebook I/O per notebook, on top of the imports
TIMING_MIN_SECONDS = 0.25   # evaluate.time_inference times each batch size for at least this long on CUDA


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


def choose_steps(budget_s: float, fixed_s: float, step_s: float, min_steps: int, max_steps: int) -> tuple[int, bool]:
    """(steps, over_budget): the most steps, a multiple of 10, for which fixed_s + steps * step_s
    fits budget_s, within [min(min_steps, max_steps), max_steps]; over_budget when even the floor
    does not fit."""
    room = budget_s - fixed_s
    steps = int(room / step_s) // 10 * 10 if room > 0 and step_s > 0 else 0
    floor = min(min_steps, max_steps)
    return max(floor, min(max_steps, steps)), steps < floor


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--profile", default="gpu-quick")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="profile overrides, as run_all.sh --set (width, batch_size, eval_batch, ...)")
    ap.add_argument("--study-s", type=float, help="seconds the whole study (run_all.sh) may take")
    ap.add_argument("--until", type=float, help="epoch second by which the study must end (budget = until - now, "
                                                "taken after the measurements)")
    ap.add_argument("--warmup", type=int, default=6, help="untimed steps per model (>= 6: each scale once)")
    ap.add_argument("--timed", type=int, default=12, help="timed steps per model, cycling the six scales")
    ap.add_argument("--images", type=int, default=256, help="faces decoded to time steps and decoding")
    ap.add_argument("--min-steps", type=int, default=10)
    ap.add_argument("--max-steps", type=int)
    ap.add_argument("--safety", type=float, default=1.5, help="factor on every fixed cost")
    ap.add_argument("--train-safety", type=float, default=1.15, help="factor on the training time")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out")
    a = ap.parse_args(argv)
    if (a.study_s is None) == (a.until is None):
        ap.error("give exactly one of --study-s and --until")
    overrides = {}
    for kv in a.set:
        k, sep, v = kv.partition("=")
        if not sep:
            ap.error(f"--set expects key=value, got {kv!r}")
        try:
            overrides[k] = json.loads(v)
        except json.JSONDecodeError:
            overrides[k] = v
    a.prof = get_profile(a.profile, **overrides)
    if a.max_steps is None:
        a.max_steps = 20_000 if a.profile == "gpu-quick" else int(a.prof["steps"])
    return a


def main(argv=None) -> int:
    a = parse_args(argv)
    prof = a.prof
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if a.device == "auto" else a.device)
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    src = data.open_celeba(a.data)
    lim = prof["limit"] if isinstance(prof["limit"], dict) else {"train": prof["limit"]}
    splits = data.make_splits(src, prof["split_mode"], 0, {"train": lim.get("train"), "val": lim.get("val"),
                                                           "test": lim.get("test")})
    n_test = len(splits["test"])
    n_decoded = sum(len(v) for v in splits.values())
    per_step, setup, eval_fwd, b1_fwd = {}, {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        names = splits["train"][: a.images]
        images, _ = data.load_images(src, names, cache_dir=tmp / "cache")
        decode_rate = len(names) / (time.perf_counter() - t)
        eb = min(int(prof["eval_batch"]), max(1, n_test))
        x_eval = torch.randn(eb, images.shape[1], *SCALES[-1], device=device)
        x_b1 = x_eval[:1].clone()
        for name in MODELS:
            cfg = TrainConfig(model=name, steps=1, batch_size=prof["batch_size"], width=prof["width"])
            sync()
            t0 = time.perf_counter()
            tr = Trainer(cfg, images, tmp / name, device=device, progress=False)
            step = 1
            with cudnn_benchmark(tr.cudnn_benchmark):               # as inside Trainer.run()
                for i in range(max(len(SCALES), a.warmup)):          # every scale once: autotuning paid here
                    tr.train_step(step, SCALES[i % len(SCALES)])
                    step += 1
                sync()
                setup[name] = time.perf_counter() - t0
                t0 = time.perf_counter()
                for i in range(a.timed):
                    tr.train_step(step, SCALES[i % len(SCALES)])
                    step += 1
                sync()
            per_step[name] = (time.perf_counter() - t0) / a.timed
            g = tr.G.eval()
            with torch.no_grad():                                # evaluation's path: fp32, eval batch
                forward_padded(g, x_eval)
                sync()
                t0 = time.perf_counter()
                forward_padded(g, x_eval)
                sync()
                eval_fwd[name] = time.perf_counter() - t0
                forward_padded(g, x_b1)
                sync()
                t0 = time.perf_counter()
                forward_padded(g, x_b1)
                sync()
                b1_fwd[name] = time.perf_counter() - t0
            print(f"{name:12s} {1000 * per_step[name]:8.1f} ms/step {prof['batch_size'] / per_step[name]:8.0f} img/s"
                  f"  set-up {setup[name]:5.1f} s  eval batch {1000 * eval_fwd[name]:7.1f} ms", flush=True)
            del tr, g
            if device.type == "cuda":
                torch.cuda.empty_cache()
        # metrics of one eval batch at the largest scale (torch backend), and scikit-image on 8 faces
        ref = torch.randint(0, 256, (eb, images.shape[1], *SCALES[-1]), dtype=torch.uint8, device=device)
        pred = ref.flip(-1)
        sync()
        t0 = time.perf_counter()
        metrics.psnr_torch(pred, ref), metrics.ssim_torch(pred, ref)
        sync()
        metric_batch = time.perf_counter() - t0
        t0 = time.perf_counter()
        metrics.psnr_ssim_batch(pred[:8].cpu().numpy(), ref[:8].cpu().numpy(), 1)
        skimage_8 = time.perf_counter() - t0
        png = png_seconds()
        fig = figure_seconds(tmp)
    kernel = kernel_start_seconds(device)

    n_models = len(MODELS)
    batches = -(-n_test // eb) * len(SCALES)                     # eval batches per model (all scales)
    area = sum(h * w for h, w in SCALES) / (len(SCALES) * SCALES[-1][0] * SCALES[-1][1])
    repeats = int(prof["timing_repeats"])
    tb = min(64, int(prof["eval_batch"]))
    min_s = TIMING_MIN_SECONDS if device.type == "cuda" else 0.0

    def timing_s(m):       # evaluate.time_inference: warm-up, then >= repeats calls and >= min_s, at b1 and bN
        return max(min_s, (repeats + 3) * b1_fwd[m]) + max(min_s, (repeats + 3) * eval_fwd[m] * tb / eb)
    fixed = {
        "kernel_starts_s": NOTEBOOKS * (kernel + PAPERMILL_OVERHEAD_S),
        "decode_s": n_decoded / decode_rate,
        "model_setup_s": sum(setup.values()),
        "evaluation_s": sum(eval_fwd.values()) * batches * area + (n_models + 1) * batches * area * metric_batch
                        + (n_models + 1) * len(SCALES) * skimage_8,
        "timing_tables_s": TIMING_TABLES * sum(timing_s(m) for m in MODELS),
        "png_writes_s": png * len(SCALES) * (n_models + 2) * (GALLERY_WRITES * prof["gallery_images"]
                                                                + prof["mos_set_per_scale"]),
        "figures_s": FIGURES_BOUND * fig,
    }
    fixed = {k: round(v, 2) for k, v in fixed.items()}
    fixed_total = a.safety * sum(fixed.values())
    step_all = sum(per_step.values())
    budget = a.study_s if a.study_s is not None else a.until - time.time()
    steps, over = choose_steps(budget, fixed_total, a.train_safety * step_all, a.min_steps, a.max_steps)
    result = {"profile": a.profile, "device": device_name(device), "torch": torch.__version__,
              "batch_size": prof["batch_size"], "width": prof["width"], "test_faces": n_test,
              "eval_batch": eb, "ms_per_step": {k: round(1000 * v, 2) for k, v in per_step.items()},
              "setup_s": {k: round(v, 2) for k, v in setup.items()},
              "eval_batch_ms": {k: round(1000 * v, 2) for k, v in eval_fwd.items()},
              "seconds_per_step_all_models": round(step_all, 4),
              "fixed_costs_s": fixed, "safety": a.safety, "train_safety": a.train_safety,
              "fixed_total_s": round(fixed_total, 1), "budget_s": round(budget, 1), "steps": steps,
              "max_steps": a.max_steps, "min_steps": a.min_steps, "over_budget": over,
              "estimated_study_s": round(fixed_total + a.train_safety * steps * step_all, 1)}
    print(json.dumps(result))
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
