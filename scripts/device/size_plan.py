"""The device study's step count from measured costs; pure arithmetic, no device needed
(size_gpu_quick.py measures, this plans; tests/test_device_run.py checks it on made-up figures).

A measurement `m` (size_measure.measure) holds, in seconds: per model (dicts by model name)
  per_step  one training step          setup     the trainer's build and warm-up
  eval_fwd  a no-grad forward of an eval batch at the largest scale      b1_fwd  the same at batch 1
and once: metric_batch (torch PSNR/SSIM of an eval batch), skimage_8 (scikit-image on 8 faces),
png (one 208x176 PNG save), figure (one 4x6-panel figure), kernel (a fresh notebook interpreter),
decode_rate (faces/s); and the counts eval_batch, test_faces, decoded_faces.

    python scripts/device/size_plan.py summary SIZING.json    # gpu_run.sh's status line for it
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))     # sgenlib from this checkout
from sgenlib.paper import SCALES  # noqa: E402
from sgenlib.runall import NOTEBOOKS  # noqa: E402

FIGURES_BOUND = 16          # figures the seven notebooks draw (about 10 today), bounded
GALLERY_WRITES = 2          # update_gallery is called by more than one notebook
TIMING_TABLES = 2           # timing_table is called by notebooks 02 and 04 (each on its models; bounded by all)
PAPERMILL_OVERHEAD_S = 4.0  # kernel manager, ZeroMQ, notebook I/O per notebook, on top of the imports
TIMING_MIN_SECONDS = 0.25   # evaluate.time_inference times each batch size for at least this long on CUDA


def choose_steps(budget_s: float, fixed_s: float, step_s: float, min_steps: int, max_steps: int) -> tuple[int, bool]:
    """(steps, over_budget): the most steps, a multiple of 10, for which fixed_s + steps * step_s
    fits budget_s, within [min(min_steps, max_steps), max_steps]; over_budget when even the floor
    does not fit."""
    room = budget_s - fixed_s
    steps = int(room / step_s) // 10 * 10 if room > 0 and step_s > 0 else 0
    floor = min(min_steps, max_steps)
    return max(floor, min(max_steps, steps)), steps < floor


def fixed_costs(m: dict, prof: dict, on_cuda: bool) -> dict[str, float]:
    """Seconds of every part of the study but training (before the safety factor), rounded to
    0.01 s: kernel starts, decoding, model set-up, evaluation, the timing tables, PNG writes,
    figures."""
    models = list(m["per_step"])
    n_models, eb = len(models), m["eval_batch"]
    batches = -(-m["test_faces"] // eb) * len(SCALES)            # eval batches per model (all scales)
    area = sum(h * w for h, w in SCALES) / (len(SCALES) * SCALES[-1][0] * SCALES[-1][1])
    repeats = int(prof["timing_repeats"])
    tb = min(64, int(prof["eval_batch"]))
    min_s = TIMING_MIN_SECONDS if on_cuda else 0.0

    def timing_s(model):   # evaluate.time_inference: warm-up, then >= repeats calls and >= min_s, at b1 and bN
        return (max(min_s, (repeats + 3) * m["b1_fwd"][model])
                + max(min_s, (repeats + 3) * m["eval_fwd"][model] * tb / eb))
    fixed = {
        "kernel_starts_s": len(NOTEBOOKS) * (m["kernel"] + PAPERMILL_OVERHEAD_S),
        "decode_s": m["decoded_faces"] / m["decode_rate"],
        "model_setup_s": sum(m["setup"].values()),
        "evaluation_s": sum(m["eval_fwd"].values()) * batches * area + (n_models + 1) * batches * area * m["metric_batch"]
                        + (n_models + 1) * len(SCALES) * m["skimage_8"],
        "timing_tables_s": TIMING_TABLES * sum(timing_s(k) for k in models),
        "png_writes_s": m["png"] * len(SCALES) * (n_models + 2) * (GALLERY_WRITES * prof["gallery_images"]
                                                                    + prof["mos_set_per_scale"]),
        "figures_s": FIGURES_BOUND * m["figure"],
    }
    return {k: round(v, 2) for k, v in fixed.items()}


def plan(m: dict, prof: dict, on_cuda: bool, budget_s: float, safety: float, train_safety: float,
         min_steps: int, max_steps: int) -> dict:
    """The step count for a study of `budget_s` seconds: every fixed cost times `safety`, training
    (all models' per-step times summed) times `train_safety`; with what it was made of."""
    fixed = fixed_costs(m, prof, on_cuda)
    fixed_total = safety * sum(fixed.values())
    step_all = sum(m["per_step"].values())
    steps, over = choose_steps(budget_s, fixed_total, train_safety * step_all, min_steps, max_steps)
    return {"fixed_costs_s": fixed, "fixed_total_s": fixed_total, "seconds_per_step_all_models": step_all,
            "steps": steps, "over_budget": over, "estimated_study_s": fixed_total + train_safety * steps * step_all}


def summary(record: dict) -> str:
    """One line for gpu_run.sh's status: the steps and what they were sized from."""
    over = "; over budget even at the floor" if record["over_budget"] else ""
    return (f"steps={record['steps']} (of at most {record['max_steps']}; "
            f"{record['seconds_per_step_all_models']} s per step of all {len(record['ms_per_step'])} models, "
            f"fixed costs {record['fixed_total_s']} s with x{record['safety']}; "
            f"estimated study {record['estimated_study_s']} s of {record['budget_s']} s{over})")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "summary":
        sys.exit("usage: python scripts/device/size_plan.py summary SIZING.json")
    print(summary(json.loads(Path(sys.argv[2]).read_text())))
