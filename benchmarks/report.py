"""The bench's report: the JSON record of a run (every figure, the settings, the host, the commit) and
its Markdown page (the table, the headline, what each pipeline is), written to
results/benchmarks/bench_<device-slug>[_<tag>].json and .md.
"""
from __future__ import annotations

import json
import os
import platform
import re
import time
from pathlib import Path

import pandas as pd
import torch

from sgenlib.hostinfo import cpu_model
from sgenlib.markdown import markdown_table
from sgenlib.paper import scale_name
from sgenlib.provenance import git_commit
from sgenlib.train import device_name, train_precision

from .naive import NAIVE_WORKERS, cv2
from .peak import CONV_PROBE
from .pipelines import INFER_SCALE, PHASES

REPO = Path(__file__).resolve().parents[1]
HEADLINE = ("SGEN-MSE", "SGEN")      # the generator alone, then with its discriminator


# ---- the record ----------------------------------------------------------------------------------
def build_report(args, device: torch.device, *, data: dict, conv_rates: dict | None, unit: str | None,
                 load_start: float, benchmark_in_effect: bool, results: list, skipped: list, failed: dict,
                 t_loop: float) -> dict:
    """The JSON record of a run: `data` is {root, images, split_mode, load_s}, `conv_rates` the
    CPU's reference rates (None on CUDA), `unit` its native bf16 unit, `load_start` the load
    average before the model loop, which began at perf_counter() `t_loop`."""
    return {
        "device": device_name(device), "device_type": device.type, "device_slug": slug(device),
        "torch": torch.__version__, "cuda": torch.version.cuda if device.type == "cuda" else None,
        "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
        "python": platform.python_version(), "git": git_commit(REPO),
        "host": {"cpus": os.cpu_count(), "machine": platform.machine(), "processor": cpu_model() or platform.processor() or None,
                 "load_avg_1m_start": load_start, "load_avg_1m_end": round(os.getloadavg()[0], 2)},
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "settings": {k: getattr(args, k) for k in ("models", "steps", "windows", "warmup", "batch_size", "width",
                                                   "images", "infer_repeats", "compile", "compile_backend",
                                                   "cuda_graphs", "cudnn_benchmark", "naive_tf32", "threads",
                                                   "max_seconds", "quick")},
        "cudnn_benchmark_in_effect": benchmark_in_effect if device.type == "cuda" else None,
        "peak_bf16_tflops": args.peak_tflops,
        "cpu_conv_gflops": conv_rates, "cpu_bf16_unit": unit, "cpu_conv_probe": list(CONV_PROBE) if conv_rates else None,
        "headline_models": list(HEADLINE),
        "data": data,
        "naive_degrade_backend": f"OpenCV {cv2.__version__}" if cv2 is not None else "torch on the CPU, per image",
        "definitions": definitions(args, device, unit, conv_rates),
        "models": results, "skipped_models": skipped, "failed_models": failed,
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32 if device.type == "cuda" else None,
        "wall_s": round(time.perf_counter() - t_loop, 1),
    }


def definitions(args, device: torch.device, unit: str | None, conv_rates: dict | None) -> dict:
    """What "fast", "naive", "mixed" and "of bf16 peak" mean in this run, in words."""
    return {
        "fast": "decoded uint8 faces held on the device, batched degradation on the device, "
                + ("bf16 autocast + channels_last + fused Adam" if device.type == "cuda"
                   else train_precision(device, unit is not None, unit)
                   + (" + channels_last" if unit else "") + ", the model's own optimizer")
                + (f", torch.compile ({args.compile_backend})" if args.compile else ""),
        "naive": f"the authors' way: a DataLoader with {NAIVE_WORKERS} workers decoding each JPEG and degrading "
                 "it image by image on the CPU ("
                 + (f"OpenCV {cv2.__version__}" if cv2 is not None else "torch on the CPU: no OpenCV here")
                 + "), batches copied to the device; strict fp32 (TF32 off for convolutions and matmuls), "
                 "eager model, default Adam (not fused)"
                 + ("; 'naive with TF32' is the same with TF32 on" if args.naive_tf32 else ""),
        "mixed": "the six scales cycled in order, each equally often in every timed window; the median of the "
                 "windows is reported with their range",
        "peak": (("images/s x FLOPs per image (torch FlopCounterMode: matmuls and convolutions, forward and "
                  f"backward) / the card's dense bf16 peak, {args.peak_tflops} TFLOP/s") if device.type == "cuda"
                 and args.peak_tflops else
                 ("images/s x FLOPs per image (torch FlopCounterMode) / this CPU's measured bf16 rate on a large "
                  f"3x3 convolution {tuple(CONV_PROBE)}, forward + backward, {round(args.peak_tflops * 1e3, 1)} "
                  "GFLOP/s (bench.py measures it first; not a datasheet peak)") if conv_rates else
                 "n/a (no bf16 tensor-core peak known for this device)")}


def write_report(report: dict, out: str | Path, tag: str | None = None) -> Path:
    """bench_<device-slug>[_<tag>].json and .md in `out`; returns their common stem."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"bench_{report['device_slug']}{'_' + tag if tag else ''}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1))
    md = markdown(report)
    stem.with_suffix(".md").write_text(md)
    return stem


# ---- the page ------------------------------------------------------------------------------------
def slug(device: torch.device) -> str:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu-{platform.machine()}"
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def _f(v, nd=1) -> str:
    if v is None:
        return "—"
    if isinstance(v, float) and v >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{nd}f}"


def table(report: dict) -> str:
    bn = report["settings"]["batch_size"]
    cols = ["model", "pipeline", *PHASES, "spread (mixed)", "train GFLOP/img", "of bf16 peak", "b1 ms/img",
            f"b{bn} img/s", "peak MiB"]
    graphs = any((m.get("fast") or {}).get("graph_infer_b1_s") for m in report["models"])
    if graphs:
        cols[-1:-1] = ["graph b1 ms", f"graph b{bn} img/s"]
    rows = []
    for m in report["models"]:
        for kind in ("fast", "naive", "naive_tf32"):
            r = m.get(kind)
            if not r:
                continue
            row = [m["model"] if kind == "fast" else "", {"naive": "naive (strict fp32)",
                                                          "naive_tf32": "naive with TF32"}.get(kind, kind)]
            row += [_f(r["train_images_per_s"].get(p)) for p in PHASES]
            sp = (r.get("train_spread") or {}).get("mixed")
            row += [f"{_f(sp['min'])}-{_f(sp['max'])} ({sp['windows']}x{sp['steps_per_window']})" if sp else "—",
                    _f(m.get("train_gflops_per_image_mixed"), 2),
                    _pct((r.get("fraction_of_bf16_peak") or {}).get("train_mixed"))]
            row += [_f(r.get("infer_b1_ms_per_image"), 3), _f(r.get("infer_bN_images_per_s"))]
            if graphs:
                row += [_f(r.get("graph_infer_b1_ms_per_image"), 3), _f(r.get("graph_infer_bN_images_per_s"))]
            row += [_f(max(r["peak_train_mib"], r["peak_infer_mib"]), 0)]
            rows.append(row)
        s = m.get("speedup") or {}
        if s:
            row = ["", "speed-up"] + [_f(s.get(f"train_{p}"), 2) + "x" if s.get(f"train_{p}") else "—" for p in PHASES]
            row += ["", "", ""]
            row += [_f(s.get("infer_b1"), 2) + "x" if s.get("infer_b1") else "—",
                    _f(s.get("infer_bN"), 2) + "x" if s.get("infer_bN") else "—"]
            if graphs:
                row += [_f(s.get("infer_b1_cuda_graphs"), 2) + "x" if s.get("infer_b1_cuda_graphs") else "—",
                        _f(s.get("infer_bN_cuda_graphs"), 2) + "x" if s.get("infer_bN_cuda_graphs") else "—"]
            row += [""]
            rows.append(row)
    return markdown_table(pd.DataFrame(rows, columns=cols))


def headline(report: dict) -> str:
    """SGEN-MSE (the generator alone) beside SGEN (with its discriminator): mixed-scale training."""
    parts = []
    for m in report["models"]:
        if m["model"] in HEADLINE:
            f = m["fast"]
            sp = (f.get("train_spread") or {}).get("mixed") or {}
            parts.append(f"{m['model']} {_f(f['train_images_per_s'].get('mixed'))} img/s "
                         f"(windows {_f(sp.get('min'))}-{_f(sp.get('max'))}; "
                         f"{_f(m.get('train_gflops_per_image_mixed'), 1)} GFLOP/img, "
                         f"{_pct((f.get('fraction_of_bf16_peak') or {}).get('train_mixed'))} of bf16 peak"
                         + (f"; {_f(m['speedup'].get('train_mixed'), 2)}x naive" if m.get("speedup", {}).get("train_mixed")
                            else "") + ")")
    return "Headline, mixed-scale training, fast pipeline: " + ("; ".join(parts) if parts else "—") + "."


def markdown(report: dict) -> str:
    st = report["settings"]
    mem = "torch.cuda.max_memory_allocated" if report["device_type"] == "cuda" else "process max RSS so far (only grows)"
    out = [f"# Pipeline benchmark: {report['device']}", "",
           f"torch {report['torch']}" + (f", CUDA {report['cuda']}" if report.get("cuda") else "")
           + f"; commit {report['git']['commit']}{' (dirty)' if report['git']['dirty'] else ''}; {report['date']}.",
           "", f"Host: {report['host']['cpus']} CPUs ({report['host']['machine']}), load average (1 min) "
           f"{report['host']['load_avg_1m_start']} at the start and {report['host']['load_avg_1m_end']} at the end.",
           *(["", f"CPU reference: a 3x3 convolution {tuple(report['cpu_conv_probe'])} reaches "
              + "; ".join(f"{p} {r['forward']} GFLOP/s forward, {r['forward_backward']} forward + backward"
                          for p, r in report["cpu_conv_gflops"].items())
              + f" (native bf16 unit: {report.get('cpu_bf16_unit') or 'none'}); the 'of bf16 peak' column is "
              "a fraction of the bf16 forward + backward rate."] if report.get("cpu_conv_gflops") else []),
           "", f"Settings: width x{st['width']}, batch {st['batch_size']}, {st['windows']} timed windows per phase "
           f"(median reported; each at most {st['steps']} steps, whole cycles of the phase's scales) after one "
           f"warm-up cycle (fast: at least {st['warmup']} steps), {report['data']['images']} faces ({report['data']['split_mode']} train "
           f"split of {report['data']['root']}), compile={st['compile']}, cuda_graphs={st['cuda_graphs']}, "
           f"cudnn.benchmark={report['cudnn_benchmark_in_effect']} (both pipelines), budget {st['max_seconds']} s"
           + (" (--quick)" if st["quick"] else "") + f"; naive degradation with {report['naive_degrade_backend']}.",
           "", "Training columns: images/s at each scale and mixed-scale (the six scales cycled, one per batch). Inference at "
           f"{scale_name(INFER_SCALE)}. Peak memory: {mem}. Speed-up = fast / naive (inference: naive time / fast time).",
           "", f"- fast: {report['definitions']['fast']}", f"- naive: {report['definitions']['naive']}",
           f"- mixed: {report['definitions']['mixed']}",
           f"- of bf16 peak: {report['definitions']['peak']}", "", headline(report), "", table(report), ""]
    if report["skipped_models"]:
        out += [f"Skipped (time budget): {', '.join(report['skipped_models'])}.", ""]
    for model, err in report["failed_models"].items():
        out += [f"Failed: {model}: {err}", ""]
    out += [f"Model loop: {report['wall_s']} s; data load {report['data']['load_s']} s.", ""]
    return "\n".join(out)

