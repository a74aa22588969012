"""Size the device study: time one training step of every model and bound the fixed cost of every
other stage of run_all.sh, then choose the common step count that lets the whole study end inside
its budget. scripts/device/gpu_run.sh passes the result to run_all.sh as --set steps=N (all twelve
models keep the same step budget). Prints one JSON object; writes it to --out when given.

    python scripts/device/size_gpu_quick.py --profile gpu-quick --data .celeba_carry --study-s 360
    python scripts/device/size_gpu_quick.py --profile gpu-quick --data .celeba_carry --until EPOCH

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

This file is the command line; size_measure.py measures (it needs the device), size_plan.py turns
the figures into the step count (pure arithmetic, tested without a device).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]                # sgenlib, and size_measure / size_plan
from sgenlib.profiles import get_profile  # noqa: E402
from sgenlib.train import device_name  # noqa: E402
from size_measure import measure  # noqa: E402
from size_plan import plan  # noqa: E402


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


def record(a, device: torch.device, m: dict, budget: float, p: dict) -> dict:
    """The JSON the sizing prints and writes: settings, measured figures (ms, s), the plan."""
    ms = {k: round(1000 * v, 2) for k, v in m["per_step"].items()}
    return {"profile": a.profile, "device": device_name(device), "torch": torch.__version__,
            "batch_size": a.prof["batch_size"], "width": a.prof["width"], "test_faces": m["test_faces"],
            "eval_batch": m["eval_batch"], "ms_per_step": ms,
            "setup_s": {k: round(v, 2) for k, v in m["setup"].items()},
            "eval_batch_ms": {k: round(1000 * v, 2) for k, v in m["eval_fwd"].items()},
            "seconds_per_step_all_models": round(p["seconds_per_step_all_models"], 4),
            "fixed_costs_s": p["fixed_costs_s"], "safety": a.safety, "train_safety": a.train_safety,
            "fixed_total_s": round(p["fixed_total_s"], 1), "budget_s": round(budget, 1), "steps": p["steps"],
            "max_steps": a.max_steps, "min_steps": a.min_steps, "over_budget": p["over_budget"],
            "estimated_study_s": round(p["estimated_study_s"], 1)}


def main(argv=None) -> int:
    a = parse_args(argv)
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if a.device == "auto" else a.device)
    m = measure(a.prof, a.data, device, a.images, a.warmup, a.timed)
    budget = a.study_s if a.study_s is not None else a.until - time.time()
    p = plan(m, a.prof, device.type == "cuda", budget, a.safety, a.train_safety, a.min_steps, a.max_steps)
    result = record(a, device, m, budget, p)
    print(json.dumps(result))
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
