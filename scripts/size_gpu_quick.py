"""Time one training step of every model on this device and print the common step count that fits a
training budget (scripts/gpu_run.sh passes it to run_all.sh as --set steps=N, so all twelve models
keep the same step budget). Prints one JSON object; writes it to --out when given.

    python scripts/size_gpu_quick.py --data .celeba_carry --budget-s 300
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sgenlib import data  # noqa: E402
from sgenlib.archs import MODELS  # noqa: E402
from sgenlib.profiles import get_profile  # noqa: E402
from sgenlib.train import TrainConfig, Trainer, device_name  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--budget-s", type=float, default=300.0, help="seconds of training for all models together")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--timed", type=int, default=10)
    ap.add_argument("--images", type=int, default=512)
    ap.add_argument("--min-steps", type=int, default=200)
    ap.add_argument("--max-steps", type=int, default=5000)
    ap.add_argument("--width", type=float, help="default: the gpu-quick profile's (CPU checks use less)")
    ap.add_argument("--batch-size", type=int, help="default: the gpu-quick profile's")
    ap.add_argument("--out")
    a = ap.parse_args()
    prof = get_profile("gpu-quick", width=a.width, batch_size=a.batch_size)
    src = data.open_celeba(a.data)
    names = data.make_splits(src, "official", 0, {"train": a.images, "val": 1, "test": 1})["train"]
    images, _ = data.load_images(src, names, cache_dir="cache")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    per_step = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in MODELS:
            cfg = TrainConfig(model=name, steps=1, batch_size=prof["batch_size"], width=prof["width"])
            t = Trainer(cfg, images, Path(tmp) / name, device=device, progress=False)
            for step in range(1, a.warmup + 1):
                t.train_step(step)
            sync()
            t0 = time.perf_counter()
            for step in range(a.warmup + 1, a.warmup + a.timed + 1):
                t.train_step(step)
            sync()
            per_step[name] = (time.perf_counter() - t0) / a.timed
            print(f"{name:12s} {1000 * per_step[name]:8.1f} ms/step  "
                  f"{prof['batch_size'] / per_step[name]:8.0f} img/s", flush=True)
            del t
            if device.type == "cuda":
                torch.cuda.empty_cache()
    total = sum(per_step.values())
    steps = int(a.budget_s / total) // 50 * 50
    steps = max(a.min_steps, min(a.max_steps, steps))
    result = {"device": device_name(device), "batch_size": prof["batch_size"], "width": prof["width"],
              "ms_per_step": {k: round(1000 * v, 2) for k, v in per_step.items()},
              "seconds_per_step_all_models": round(total, 4), "budget_s": a.budget_s, "steps": steps,
              "estimated_training_s": round(steps * total, 1)}
    print(json.dumps(result))
    if a.out:
        Path(a.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
