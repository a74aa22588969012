#!/usr/bin/env python
"""Throughput benchmark of the kit's training and inference pipelines (prints figures; not a test).

For each model (SGEN N=3 first, then --models), in one process, side by side:

  fast   what sgenlib.train does: the decoded CelebA faces (sgenlib.data.load_images cache) held
         on the device as uint8, a scale drawn per batch, degradation batched on the device
         (sgenlib.degrade), bf16 autocast + channels_last + fused Adam on CUDA (fp32 on a CPU),
         optionally torch.compile (--compile) and CUDA-graph inference (--cuda-graphs).
  naive  an authors'-style pipeline: every batch's JPEGs decoded on the CPU in the main process
         (PIL), degraded image by image on the CPU (OpenCV INTER_CUBIC / noise / INTER_NEAREST when
         cv2 is installed, else the same torch ops on the CPU per image), stacked and copied to the
         device; fp32 eager model, default (not fused) Adam.

Figures: training images/s at each of the six scales and mixed-scale (a scale per batch, as in
training); inference ms/image at batch 1 and images/s at --batch-size, at 208x176 on degraded test
inputs; peak memory (CUDA: torch.cuda.max_memory_allocated per pipeline; CPU: the process's max
RSS so far, which only grows). Warm-up steps are excluded; timings end with a device
synchronisation. Every speed-up is the ratio of two figures measured in the same run.

The whole model loop is held to --max-seconds (default 120 s): each model gets an equal share
of what is left, each phase times as many steps as its share allows (at least one) after its
warm-up, and models that no longer fit are listed as skipped. Writes
results/benchmarks/bench_<device-slug>.json and .md.

This file is the command line; its parts sit beside it: benchmarks/naive.py (the authors'-style
pipeline), pipelines.py (one model's pipelines and their timing loops), peak.py (the card's or the
CPU's reference rate), report.py (the JSON record and the Markdown page); the timing itself
(device synchronisation, timed steps, peak memory) is sgenlib.timing, shared with the device run's
sizing.

  python benchmarks/bench.py --data $CELEBA_ROOT --device cuda            # GPU, all twelve models
  python benchmarks/bench.py --quick                                       # CPU smoke, ~2-3 minutes
  python benchmarks/bench.py --data DIR --make-subset .bench_data          # copy the JPEGs it uses
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.naive import cv2  # noqa: E402
from benchmarks.peak import CONV_PROBE, conv_rate_gflops, peak_bf16_tflops  # noqa: E402
from benchmarks.pipelines import bench_model  # noqa: E402
from benchmarks.report import HEADLINE, _f, build_report, table, write_report  # noqa: E402
from sgenlib import data as celeba  # noqa: E402
from sgenlib.archs import MODELS  # noqa: E402
from sgenlib.degrade import DegradeOptions  # noqa: E402
from sgenlib.speed import cpu_bf16_unit, cudnn_benchmark  # noqa: E402
from sgenlib.timing import Clock, free, sync  # noqa: E402
from sgenlib.train import device_name  # noqa: E402


# ---- data --------------------------------------------------------------------------------------
def bench_names(source: celeba.CelebA, n: int, seed: int = 0) -> tuple[list[str], str]:
    mode = "official" if source.partition is not None else "paper"
    names = celeba.make_splits(source, mode, seed, {"train": n})["train"]
    if not names:
        raise SystemExit(f"bench.py: no training images under {source.root}")
    return names, mode


def make_subset(source: celeba.CelebA, names: list[str], out: Path) -> None:
    """Copy the bench's JPEGs (and their partition lines) into out/img_align_celeba/, to carry to
    another machine."""
    folder = out / "img_align_celeba"
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(source.read_bytes(n))
    if source.partition is not None:
        (out / "list_eval_partition.txt").write_text("".join(f"{n} {source.partition[n]}\n" for n in names))
    print(f"bench.py: wrote {len(names)} JPEGs to {folder}")


# ---- main --------------------------------------------------------------------------------------
def argument_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.environ.get("CELEBA_ROOT", "data/celeba"),
                   help="CelebA root (default $CELEBA_ROOT, else data/celeba)")
    p.add_argument("--models", default="all", help="comma-separated names of sgenlib.archs.MODELS, or 'all'")
    p.add_argument("--steps", type=int, help="most timed steps per window (default 24; --quick 6)")
    p.add_argument("--warmup", type=int, help="untimed steps before each fast-pipeline phase (default 2; --quick 1); naive: 1")
    p.add_argument("--batch-size", type=int, help="training and batched-inference batch (default 64; --quick 2)")
    p.add_argument("--width", type=float, help="channel multiplier (default 1.0 = paper widths; --quick 0.0625)")
    p.add_argument("--images", type=int, help="faces to sample from the train split (default 1024; --quick 64)")
    p.add_argument("--infer-repeats", type=int, help="most timed batch-1 calls (default 40; --quick 5)")
    p.add_argument("--device", default="auto", help="auto | cuda | cuda:N | cpu")
    p.add_argument("--compile", action="store_true", help="torch.compile the generator (fast pipeline)")
    p.add_argument("--compile-backend", default="inductor")
    p.add_argument("--cuda-graphs", action="store_true", help="also time inference replayed from CUDA graphs")
    p.add_argument("--threads", type=int,
                   help="torch/OpenCV CPU threads (default torch's; --quick 1, steadiest on a shared CPU)")
    p.add_argument("--cudnn-benchmark", action="store_true", help="torch.backends.cudnn.benchmark = True (both)")
    p.add_argument("--no-naive", action="store_true", help="time the fast pipeline only")
    p.add_argument("--naive-tf32", action="store_true", help="CUDA: also time the naive pipeline with TF32 on (labelled)")
    p.add_argument("--windows", type=int, help="timed windows per phase; the median and the spread are reported "
                                               "(default 3; --quick 2)")
    p.add_argument("--peak-tflops", type=float, help="the card's dense bf16 peak (default: by card name; CPU: n/a)")
    p.add_argument("--max-seconds", type=float, help="budget of the model loop (default 120; --quick 150)")
    p.add_argument("--quick", action="store_true", help="small width/batch/steps for a CPU run of ~2-3 minutes")
    p.add_argument("--cache", default=str(REPO / "cache"), help="decoded-image cache folder")
    p.add_argument("--out", default=str(REPO / "results" / "benchmarks"))
    p.add_argument("--make-subset", metavar="DIR", help="copy the faces the bench uses to DIR and exit")
    p.add_argument("--tag", help="appended to the report's file name: bench_<device>_<tag>.json / .md")
    return p


def parse_args(argv=None):
    """The arguments, defaults filled in (--quick's where given), checked; model_list in bench
    order (HEADLINE first)."""
    p = argument_parser()
    args = p.parse_args(argv)
    defaults = dict(steps=(24, 6), windows=(3, 2), warmup=(2, 1), batch_size=(64, 2), width=(1.0, 0.0625), images=(1024, 64),
                    infer_repeats=(40, 5), max_seconds=(120.0, 150.0))
    if args.quick and args.threads is None:
        args.threads = 1
    for k, (full, quick) in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, quick if args.quick else full)
    if args.steps < 1 or args.batch_size < 1 or args.images < 1 or args.windows < 1 or args.max_seconds <= 0:
        p.error("--steps, --batch-size, --images, --windows must be >= 1 and --max-seconds > 0")
    models = list(MODELS) if args.models == "all" else [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        p.error(f"unknown model(s) {unknown}; known: {', '.join(MODELS)}")
    head = {m: i for i, m in enumerate(HEADLINE)}
    args.model_list = sorted(set(models), key=lambda m: (head.get(m, len(head)), models.index(m)))   # headline first
    return args


def loop_models(args, clock, images_dev, source, names, degrade, device, results, skipped, failed) -> None:
    """Each model in turn, with an equal share of the budget left; appends to the given lists."""
    for i, model in enumerate(args.model_list):
        left = clock.left()
        share = left / (len(args.model_list) - i)
        if left < 1.0:
            skipped.append(model)
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)    # e.g. SRGAN's "no VGG19 weights, using MSE"
                r = bench_model(model, args, clock, share, images_dev, source, names, degrade, device)
        except Exception as e:  # noqa: BLE001 - out of memory, say: record it, go on with the next model
            failed[model] = f"{type(e).__name__}: {str(e)[:300]}"
            print(f"  {model:12s} FAILED: {failed[model]}", flush=True)
            r = None
        if r is None:
            free(device)                                    # the failed model's tensors, now unreferenced
            continue
        results.append(r)
        f, s = r["fast"]["train_images_per_s"], r["speedup"]
        print(f"  {model:12s} fast 208x176 {_f(f.get('208x176'))} img/s, mixed {_f(f.get('mixed'))} img/s"
              + (f"; speed-up mixed {s.get('train_mixed')}x, b1 {s.get('infer_b1')}x" if s else "")
              + f"  ({r['seconds']} s)", flush=True)



def pick_device(spec: str) -> torch.device | None:
    """--device as a torch device (CUDA with its index); None when CUDA is asked for and absent."""
    if spec == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(spec)
        if device.type == "cuda" and not torch.cuda.is_available():
            print("bench.py: --device cuda, but torch sees no CUDA device", file=sys.stderr)
            return None
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return device


def configure(args) -> None:
    """torch.compile's recompile limit and the CPU threads, as the arguments ask."""
    if args.compile:   # 6 training shapes + 2 inference shapes per model; keep dynamo from giving up
        cfg = torch._dynamo.config
        name = "recompile_limit" if hasattr(cfg, "recompile_limit") else "cache_size_limit"
        setattr(cfg, name, max(getattr(cfg, name), 32))
    if args.threads:
        torch.set_num_threads(args.threads)
        if cv2 is not None:
            cv2.setNumThreads(args.threads)


def reference_rates(args, device: torch.device) -> dict | None:
    """On a CPU, the machine's own reference: a large convolution, bf16 and fp32 (None on CUDA);
    args.peak_tflops filled in from it, or from the card's name, unless given."""
    conv_rates = None
    if device.type == "cpu":
        conv_rates = {p: conv_rate_gflops(p, device) for p in ("bf16", "fp32")}
        print(f"bench.py: reference 3x3 convolution {CONV_PROBE}, GFLOP/s forward / forward+backward: "
              + "; ".join(f"{p} {r['forward']} / {r['forward_backward']}" for p, r in conv_rates.items()), flush=True)
    if args.peak_tflops is None:
        args.peak_tflops = (peak_bf16_tflops(device_name(device), device.type) if conv_rates is None
                            else conv_rates["bf16"]["forward_backward"] / 1e3)
    return conv_rates


def print_summary(report: dict, stem: Path) -> None:
    print()
    print(table(report))
    if report["skipped_models"]:
        print(f"\nskipped (time budget): {', '.join(report['skipped_models'])}")
    for model, err in report["failed_models"].items():
        print(f"failed: {model}: {err}")
    print(f"\nwrote {stem}.json and .md  (model loop {report['wall_s']} s)")


def main(argv=None) -> int:
    args = parse_args(argv)
    device = pick_device(args.device)
    if device is None:
        return 2
    configure(args)
    degrade = DegradeOptions()

    t0 = time.perf_counter()
    try:
        source = celeba.open_celeba(args.data)
    except celeba.CelebAError as e:
        print(f"bench.py: {e}", file=sys.stderr)
        return 2
    names, split_mode = bench_names(source, args.images)
    if args.make_subset:
        make_subset(source, names, Path(args.make_subset))
        return 0
    arr, names = celeba.load_images(source, names, degrade.color, degrade.luma, cache_dir=args.cache,
                                    desc="decode bench faces")
    images_dev = torch.from_numpy(arr).to(device)
    sync(device)
    load_s = round(time.perf_counter() - t0, 2)
    print(f"bench.py: {device_name(device)}, torch {torch.__version__}; {len(names)} faces loaded in {load_s} s; "
          f"models {', '.join(args.model_list)}; budget {args.max_seconds:.0f} s", flush=True)

    conv_rates = reference_rates(args, device)
    unit = cpu_bf16_unit() if device.type == "cpu" else None
    load_start = round(os.getloadavg()[0], 2)           # the host's load: a shared CPU times slower
    clock = Clock(device, args.max_seconds)
    t_loop = time.perf_counter()
    results, skipped, failed = [], [], {}
    with cudnn_benchmark(args.cudnn_benchmark):          # both pipelines; the trainer no longer sets it
        benchmark_in_effect = torch.backends.cudnn.benchmark
        loop_models(args, clock, images_dev, source, names, degrade, device, results, skipped, failed)
    report = build_report(args, device, conv_rates=conv_rates, unit=unit, load_start=load_start,
                          data={"root": str(args.data), "images": len(names), "split_mode": split_mode,
                                "load_s": load_s},
                          benchmark_in_effect=benchmark_in_effect, results=results, skipped=skipped,
                          failed=failed, t_loop=t_loop)
    print_summary(report, write_report(report, args.out, args.tag))
    return 0


if __name__ == "__main__":
    sys.exit(main())
