"""benchmarks/bench.py measures what it claims:

* mixed scale cycles the six scales, each equally often in every timed window (no random draw that
  can leave the largest scale out), and the figure is the median of several windows with their
  range;
* the naive pipeline is the authors' way: a DataLoader with 2 decode workers, each face decoded and
  degraded with OpenCV in the loader, strict fp32 (TF32 off for convolutions and matmuls while it
  runs, the previous settings restored after), fp32 eager model, default (unfused) Adam;
* the report carries FLOPs per image, the fraction of the card's bf16 peak (on a CPU: of the
  machine's measured bf16 rate on a large convolution), the
  cuDNN setting actually in effect, and SGEN-MSE as the headline beside SGEN.
"""
from __future__ import annotations

import collections
import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from sgenlib import data as celeba
from sgenlib.degrade import DegradeOptions
from sgenlib.paper import SCALES
from sgenlib.timing import Clock

from conftest import load_script


def _load_bench():
    """benchmarks/bench.py as `python benchmarks/bench.py` runs it (it puts the checkout on
    sys.path, so its parts import as benchmarks.naive, benchmarks.pipelines, ...)."""
    return load_script("benchmarks/bench.py")


bench = _load_bench()
from benchmarks import naive, peak, pipelines  # noqa: E402  (importable once bench.py has run)


class RecordingTrainer:
    """Stands in for a Trainer: records the scale each step is asked to train at (train_step's
    scale argument), and checks that the config's scales are left alone."""

    def __init__(self):
        self.cfg = SimpleNamespace(scales=[list(s) for s in SCALES], batch_size=2)
        self.seen = []

    def train_step(self, step, scale):
        assert len(self.cfg.scales) == len(SCALES)
        self.seen.append((step, tuple(scale)))


def test_mixed_scale_cycles_the_six_scales_equally_in_every_window():
    t = RecordingTrainer()
    clock = Clock(torch.device("cpu"), 60.0)
    r, next_step = pipelines.time_training(t, SCALES, clock, warmup=1, steps=12, budget=10.0, first_step=7, windows=3)
    steps = [s for s, _ in t.seen]
    assert steps == list(range(7, next_step))                    # consecutive step numbers, none reused
    warm = len(SCALES)
    assert {sc for _, sc in t.seen[:warm]} == set(SCALES)        # the warm-up sees every shape once
    n = r["steps_per_window"]
    assert r["windows"] == 3 and n % len(SCALES) == 0 and n <= 12
    timed = [sc for _, sc in t.seen[warm:]]
    assert len(timed) == 3 * n
    for w in range(3):
        counts = collections.Counter(timed[w * n:(w + 1) * n])
        assert set(counts) == set(SCALES) and len(set(counts.values())) == 1, counts
    assert r["min"] <= r["images_per_s"] <= r["max"]


def test_single_scale_phase_uses_only_that_scale():
    t = RecordingTrainer()
    clock = Clock(torch.device("cpu"), 60.0)
    pipelines.time_training(t, [SCALES[-1]], clock, warmup=2, steps=5, budget=10.0, first_step=1, windows=2)
    assert {sc for _, sc in t.seen} == {tuple(SCALES[-1])}


def test_every_step_trains_at_its_place_in_the_phase_cycle():
    """A warm-up that is not a whole number of cycles (8 steps, six scales): step k still trains at
    scales[(k - first) % 6], the cycle the naive loader plans by step number (StepSampler)."""
    t = RecordingTrainer()
    pipelines.time_training(t, SCALES, Clock(torch.device("cpu"), 60.0), warmup=8, steps=12, budget=10.0,
                            first_step=3, windows=2)
    assert len(t.seen) > 8 and all(sc == tuple(SCALES[(k - 3) % len(SCALES)]) for k, sc in t.seen)


def test_naive_pipeline_is_the_authors_way(celeba_dir, tmp_path):
    args = bench.parse_args(["--quick", "--data", str(celeba_dir), "--models", "SGEN-MSE", "--windows", "1"])
    source = celeba.open_celeba(celeba_dir)
    names, _ = bench.bench_names(source, 8)
    degrade = DegradeOptions()
    arr, names = celeba.load_images(source, names, cache_dir=tmp_path / "cache")
    images = torch.from_numpy(arr)
    pipe = pipelines.build("naive", "SGEN-MSE", args, images, source, names, degrade, torch.device("cpu"), tmp_path)
    t = pipe.t
    assert isinstance(t, naive.NaiveTrainer)
    assert not t.amp and not t.channels_last and not t.fused_adam and t.compiled is None
    assert type(t.opt_g) is torch.optim.Adam and not t.opt_g.defaults.get("fused")
    # the loader: 2 workers, each face decoded and degraded with OpenCV there, in step order
    assert naive.cv2 is not None, "the naive pipeline degrades with OpenCV (opencv-python-headless is a dependency)"
    item = (3, tuple(SCALES[2]), 12345)
    inp, tgt = t.dataset[item]
    ref = naive.degrade_one_cpu(celeba.decode_image(source, names[3]), SCALES[2],
                                np.random.default_rng(12345), degrade)
    assert np.array_equal(inp.numpy(), ref[0]) and np.array_equal(tgt.numpy(), ref[1])
    t.start_phase(5, SCALES)
    assert t.loader.num_workers == naive.NAIVE_WORKERS == 2
    shapes = [t.make_batch(s)[0] for s in range(5, 8)]
    assert shapes == [tuple(s) for s in SCALES[:3]]
    with pytest.raises(RuntimeError, match="start_phase"):
        t.make_batch(99)
    t.end_phase()
    # strict fp32 while the naive pipeline trains; the caller's settings restored after
    seen = []
    step = t.train_step

    def recording_step(k, scale=None):
        seen.append((torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32))
        return step(k, scale)

    t.train_step = recording_step
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
    try:
        pipe.train_phase("128x96", Clock(torch.device("cpu"), 60.0), 0.1)
        assert seen and all(s == (False, False) for s in seen)
        assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before
    assert pipe.res["train_images_per_s"]["128x96"] > 0


def test_peak_table_and_fraction():
    assert peak.peak_bf16_tflops("NVIDIA H200", "cuda") == 989.4
    assert peak.peak_bf16_tflops("NVIDIA H100 PCIe", "cuda") == 756.5
    assert peak.peak_bf16_tflops("NVIDIA H100 80GB HBM3", "cuda") == 989.4
    assert peak.peak_bf16_tflops("cpu (x86_64, 1 threads)", "cpu") is None
    assert peak.peak_bf16_tflops("Some Unknown GPU", "cuda") is None
    # 10,000 images/s x 50 GFLOP = 500 TFLOP/s = half of a 1,000 TFLOP/s card
    assert peak.fraction_of_peak(10_000, 50.0, 1000.0) == 0.5
    assert peak.fraction_of_peak(10_000, 50.0, None) is None


@pytest.mark.slow
def test_quick_run_writes_the_new_fields(celeba_dir, tmp_path):
    assert bench.parse_args(["--models", "SRCNN,SGEN,SGEN-MSE"]).model_list == ["SGEN-MSE", "SGEN", "SRCNN"]
    rc = bench.main(["--quick", "--data", str(celeba_dir), "--models", "SGEN-MSE", "--max-seconds", "60",
                     "--out", str(tmp_path), "--cache", str(tmp_path / "cache"), "--images", "16"])
    assert rc == 0
    report = json.loads(next(tmp_path.glob("bench_*.json")).read_text())
    m = report["models"][0]
    assert m["model"] == "SGEN-MSE" and m["fast"]["train_images_per_s"]["mixed"] > 0
    assert m["train_gflops_per_image_mixed"] > 0 and m["infer_gflops_per_image"] > 0
    assert set(m["train_gflops_per_image"]) == {f"{h}x{w}" for h, w in SCALES}
    spread = m["fast"]["train_spread"]["mixed"]
    assert spread["windows"] >= 1 and spread["steps_per_window"] % len(SCALES) == 0
    # on a CPU the reference is the machine's own rate on a large convolution, measured first
    conv = report["cpu_conv_gflops"]
    assert conv["bf16"]["forward_backward"] > 0 and conv["fp32"]["forward"] > 0
    assert report["peak_bf16_tflops"] == pytest.approx(conv["bf16"]["forward_backward"] / 1e3)
    assert 0 < m["fast"]["fraction_of_bf16_peak"]["train_mixed"] < 1.5
    assert report["cudnn_benchmark_in_effect"] is None
    assert "2 workers" in report["definitions"]["naive"] and "strict fp32" in report["definitions"]["naive"]
    md = next(tmp_path.glob("bench_*.md")).read_text()
    assert "Headline" in md and "SGEN-MSE" in md and "CPU reference: a 3x3 convolution" in md
