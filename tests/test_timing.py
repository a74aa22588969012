"""sgenlib.timing, the one place where device work is timed: a span ends with a synchronisation,
timed steps are numbered and shaped as asked, a call's timing stays inside its budget; and no
other script or benchmark synchronises a device or reads its peak memory itself."""
from __future__ import annotations

import re
import time
from pathlib import Path

import torch

from sgenlib import timing
from sgenlib.paper import SCALES

REPO = Path(__file__).resolve().parent.parent
CPU = torch.device("cpu")


class StepRecorder:
    def __init__(self, seconds: float = 0.0):
        self.seen, self.seconds = [], seconds

    def train_step(self, step, scale):
        time.sleep(self.seconds)
        self.seen.append((step, scale))


def test_cycle_starts_where_asked():
    assert timing.cycle(SCALES, 8) == [tuple(s) for s in SCALES] + [tuple(SCALES[0]), tuple(SCALES[1])]
    assert timing.cycle(SCALES, 3, start=7) == [tuple(SCALES[k % 6]) for k in (7, 8, 9)]
    assert timing.cycle([[208, 176]], 2) == [(208, 176), (208, 176)]


def test_span_and_timed_steps():
    clock = timing.Clock(CPU)
    assert clock.left() == float("inf")
    with clock.span() as s:
        time.sleep(0.05)
    assert 0.04 < s.seconds < 1.0
    t = StepRecorder(0.01)
    seconds, next_step = timing.timed_steps(clock, t, 5, timing.cycle(SCALES, 3))
    assert t.seen == [(5, tuple(SCALES[0])), (6, tuple(SCALES[1])), (7, tuple(SCALES[2]))]
    assert next_step == 8 and 0.025 < seconds < 1.0


def test_time_calls_keeps_to_repeats_and_budget():
    calls = []

    def fn(x):
        calls.append(torch.is_grad_enabled())
        time.sleep(0.01)
    clock = timing.Clock(CPU, 60.0)
    r = timing.time_calls(fn, torch.zeros(1), clock, repeats=5, budget=10.0)
    assert r["calls"] == 5 and len(calls) == 2 + 5 and not any(calls)     # two warm-ups, no autograd
    r = timing.time_calls(fn, torch.zeros(1), clock, repeats=50, budget=0.03)
    assert 1 <= r["calls"] <= 4 and r["seconds_per_call"] > 0.005
    assert timing.time_calls(fn, torch.zeros(1), timing.Clock(CPU, -1.0), 5, 1.0) is None   # past the deadline


def test_peak_memory_on_a_cpu_is_the_process_max_rss():
    timing.reset_peak(CPU)
    before = timing.peak_mib(CPU)
    big = torch.ones(64, 2**20, dtype=torch.uint8)                       # 64 MiB touched
    timing.free(CPU)
    assert big.sum() > 0 and timing.peak_mib(CPU) >= before > 10


def test_device_timing_lives_in_sgenlib_timing_only():
    """The bench and the device run's sizing time device work through sgenlib.timing: none of their
    files synchronises a device or reads its peak memory itself."""
    own = re.compile(r"cuda\.(synchronize|max_memory_allocated|reset_peak_memory_stats)\(|getrusage\(")
    files = sorted((REPO / "benchmarks").glob("*.py")) + sorted((REPO / "scripts").rglob("*.py"))
    assert any(f.name == "bench.py" for f in files) and any(f.name == "size_gpu_quick.py" for f in files)
    offenders = [f"{f.relative_to(REPO)}:{i}" for f in files
                 for i, line in enumerate(f.read_text().splitlines(), 1) if own.search(line)]
    assert not offenders, offenders
