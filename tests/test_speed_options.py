"""Speed options compute the same function as the eager path (sgenlib.speed, TrainConfig.compile).

Bounds (relative: max |a - b| / max |b|):
* torch.compile, backend 'aot_eager' (the same aten kernels, traced): forward and gradients within
  1e-5, a short training run (SGEN with its discriminator) within 1e-5 of eager. CI uses this
  backend because inductor's first compile of SGEN's forward + backward takes ~55 s on a 2-core
  CPU (C++ code generation); the inductor test below is marked slow (forward, bound 1e-4:
  inductor fuses and reorders float32 arithmetic).
* a failing compile (invalid backend, a backend that raises) warns and runs eagerly: bit-identical.
* CUDA graphs (CUDA only; deselected without a GPU): fp32 within 1e-5 of eager, bf16 autocast within 1e-2
  (one bf16 rounding, the same kernels replayed; measured 0 on an H100-class GPU is typical).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sgenlib.archs import build_generator, forward_padded
from sgenlib.speed import CompiledWithFallback, CudaGraphInference, cuda_graph_or_none
from sgenlib.train import TrainConfig, Trainer

RTOL_AOT = 1e-5
RTOL_INDUCTOR = 1e-4
RTOL_GRAPH_FP32 = 1e-5
RTOL_GRAPH_BF16 = 1e-2
cuda = pytest.mark.cuda   # collected only where CUDA exists (tests/conftest.py); scripts/gpu_run.sh runs them


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().float(), b.detach().float()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


@pytest.fixture(autouse=True)
def _fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def tiny_sgen(seed=0):
    torch.manual_seed(seed)
    return build_generator("SGEN-MSE", width=0.0625)


@pytest.mark.slow  # torch.compile traces forward and backward
def test_compile_aot_eager_same_forward_and_gradients():
    g = tiny_sgen()
    x = torch.randn(2, 1, 128, 96)
    ref = g(x)
    ref.square().mean().backward()
    ref_grads = [p.grad.clone() for p in g.parameters()]
    g.zero_grad(set_to_none=True)
    c = CompiledWithFallback(g, backend="aot_eager")
    assert c.probe([x], backward=True) and c.active and c.error is None
    assert all(p.grad is None for p in g.parameters())          # the probe leaves no gradients
    out = c(x)
    out.square().mean().backward()
    assert rel(out, ref) <= RTOL_AOT
    for p, r in zip(g.parameters(), ref_grads):
        assert rel(p.grad, r) <= RTOL_AOT
    assert c.size_multiple == g.size_multiple == 16
    assert list(c.state_dict()) == ["module." + k for k in g.state_dict()]


def _failing_backend(gm, example_inputs):
    raise RuntimeError("no compiler here")


@pytest.mark.parametrize("backend", ["no-such-backend", _failing_backend])
def test_failed_compile_falls_back_to_eager(backend):
    g = tiny_sgen()
    x = torch.randn(1, 1, 128, 96)
    with torch.no_grad():
        ref = g(x)
    with pytest.warns(RuntimeWarning, match="running eagerly"):
        c = CompiledWithFallback(g, backend=backend)
        with torch.no_grad():
            out = c(x)
    assert not c.active and c.error
    assert torch.equal(out, ref)


def test_callers_error_is_not_mistaken_for_a_compile_failure():
    c = CompiledWithFallback(tiny_sgen(), backend="aot_eager")
    with pytest.raises(ValueError, match="divisible"):
        c(torch.randn(1, 1, 100, 96))                            # SGEN N=3 needs multiples of 16
    assert c.active


def _cfg(**kw):
    """fp32 (amp off): the compiled and the eager step are compared at fp32's bound, on any CPU."""
    base = dict(model="SGEN", steps=3, batch_size=2, width=0.0625, ckpt_every=10, log_every=1, seed=2,
                scales=[[128, 96], [144, 112]], amp="off", channels_last="off")
    base.update(kw)
    return TrainConfig(**base)


def _train_weights(cfg, images, out):
    t = Trainer(cfg, images, out, device="cpu", progress=False)
    t.run()
    return t, {k: v.clone() for k, v in t.G.state_dict().items()}


@pytest.mark.slow  # torch.compile of a training step
def test_trainer_compile_aot_eager_matches_eager(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(4, 1, 218, 178), dtype=np.uint8)
    _, eager = _train_weights(_cfg(), images, tmp_path / "eager")
    t, comp = _train_weights(_cfg(compile=True, compile_backend="aot_eager"), images, tmp_path / "compiled")
    info = t.speed_info()
    assert info["compile_active"] and info["compile_error"] is None and info["compile_backend"] == "aot_eager"
    for k in eager:
        assert rel(comp[k], eager[k]) <= RTOL_AOT, k


def test_trainer_compiles_the_discriminator_too(tmp_path):
    """compile=True compiles D as well (its two forwards in D's step and its pass in G's loss);
    after three SGEN steps D's weights and BatchNorm statistics and the logged losses match eager
    within the aot_eager bound. The compile time is reported apart (compile_*_probe_s)."""
    images = np.random.default_rng(0).integers(0, 256, size=(4, 1, 218, 178), dtype=np.uint8)
    te = Trainer(_cfg(), images, tmp_path / "eager", device="cpu", progress=False)
    te.run()
    tc = Trainer(_cfg(compile=True, compile_backend="aot_eager"), images, tmp_path / "compiled", device="cpu",
                 progress=False)
    tc.run()
    info = tc.speed_info()
    assert info["compile_d_active"] and info["compile_d_error"] is None and info["compile_d_probe_s"] >= 0
    assert te.speed_info()["compile_d_active"] is None
    de, dc = te.D.state_dict(), tc.D.state_dict()
    for k in de:
        if de[k].is_floating_point():
            assert rel(dc[k], de[k]) <= RTOL_AOT, k
        else:
            assert torch.equal(dc[k], de[k]), k                  # BatchNorm's batch counter
    le = (tmp_path / "eager" / "losses.csv").read_text().splitlines()[1:]
    lc = (tmp_path / "compiled" / "losses.csv").read_text().splitlines()[1:]
    for a, b in zip(le, lc):
        va, vb = (np.array([float(x) for x in r.split(",")[2:6]]) for r in (a, b))
        assert np.allclose(vb, va, rtol=RTOL_AOT, atol=1e-7), (a, b)


def test_trainer_compile_failure_trains_eagerly(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(4, 1, 218, 178), dtype=np.uint8)
    _, eager = _train_weights(_cfg(model="SGEN-MSE"), images, tmp_path / "eager")
    with pytest.warns(RuntimeWarning, match="running eagerly"):
        t, comp = _train_weights(_cfg(model="SGEN-MSE", compile=True, compile_backend="no-such-backend"),
                                 images, tmp_path / "fallback")
    assert not t.speed_info()["compile_active"] and t.speed_info()["compile_error"]
    for k in eager:
        assert torch.equal(comp[k], eager[k]), k


@pytest.mark.slow
def test_compile_inductor_same_forward():
    g = tiny_sgen().eval()
    x = torch.randn(2, 1, 128, 96)
    with torch.no_grad():
        ref = g(x)
        c = CompiledWithFallback(g, backend="inductor")
        out = c(x)
    if not c.active:
        pytest.skip(f"inductor unavailable here: {c.error}")
    assert rel(out, ref) <= RTOL_INDUCTOR


def test_cuda_graphs_refuse_cpu_inputs():
    runner, reason = cuda_graph_or_none(tiny_sgen(), torch.zeros(1, 1, 128, 96))
    assert runner is None and "cuda" in reason.lower()
    with pytest.raises(ValueError, match="CUDA"):
        CudaGraphInference(tiny_sgen(), torch.zeros(1, 1, 128, 96))


@cuda
@pytest.mark.parametrize("amp,channels_last,bound", [(False, False, RTOL_GRAPH_FP32), (True, True, RTOL_GRAPH_BF16)])
def test_cuda_graph_inference_matches_eager(amp, channels_last, bound):
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    g = tiny_sgen().cuda().eval().to(memory_format=fmt)
    x = torch.randn(3, 1, 208, 176, device="cuda").contiguous(memory_format=fmt)
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
        ref = forward_padded(g, x)
    runner = CudaGraphInference(lambda t: forward_padded(g, t), x, amp=amp)
    for _ in range(2):                                       # replays reuse the static buffers
        y = torch.randn_like(x).contiguous(memory_format=fmt)
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            ref_y = forward_padded(g, y)
        assert rel(runner(y), ref_y) <= bound
    assert rel(runner(x), ref) <= bound
    other = torch.randn(1, 1, 128, 96, device="cuda").contiguous(memory_format=fmt)
    runner(other)                                            # another shape runs eagerly
    assert runner.eager_calls == 1


# ---- speed options leave no trace on what is computed later -------------------------------------
def test_cudnn_benchmark_is_scoped():
    """sgenlib.speed.cudnn_benchmark restores the previous value, also after an error; the trainer
    sets it inside run() only (it used to switch it on for the whole process)."""
    from sgenlib.speed import cudnn_benchmark
    before = torch.backends.cudnn.benchmark
    try:
        torch.backends.cudnn.benchmark = False
        with cudnn_benchmark(True):
            assert torch.backends.cudnn.benchmark
        assert not torch.backends.cudnn.benchmark
        with pytest.raises(KeyError), cudnn_benchmark(True):
            raise KeyError
        assert not torch.backends.cudnn.benchmark
    finally:
        torch.backends.cudnn.benchmark = before


def test_trainer_scopes_cudnn_benchmark_to_its_loop(tmp_path):
    imgs = np.random.default_rng(0).integers(0, 256, (4, 1, 218, 178), dtype=np.uint8)
    t = Trainer(TrainConfig(model="SRCNN", steps=2, batch_size=2, width=0.0625, log_every=1), imgs, tmp_path,
                device="cpu", progress=False)
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = False
    try:
        assert not torch.backends.cudnn.benchmark            # building a Trainer changes nothing
        t.cudnn_benchmark = True                             # what a CUDA trainer asks for
        inside = []
        step = t.train_step
        t.train_step = lambda k: (inside.append(torch.backends.cudnn.benchmark), step(k))[1]
        summary = t.run()
        assert inside == [True, True] and summary["cudnn_benchmark"] is True
        assert not torch.backends.cudnn.benchmark            # restored after the loop
    finally:
        torch.backends.cudnn.benchmark = before


def test_compile_probe_leaves_batchnorm_statistics_unchanged():
    """The probe runs forward and backward in train mode; BatchNorm's running statistics and its
    batch counter must be as before it (backend 'eager': no compiler needed on a CPU)."""
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                            torch.nn.Conv2d(4, 1, 3, padding=1))
    m[1].running_mean.fill_(0.25)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    wrapper = CompiledWithFallback(m, backend="eager")
    m.train()
    assert wrapper.probe([torch.randn(2, 1, 16, 16) + 3.0, torch.randn(2, 1, 12, 8)], backward=True)
    after = m.state_dict()
    for k, v in before.items():
        assert torch.equal(after[k], v), k
    assert all(p.grad is None for p in m.parameters())


def test_time_inference_repeats_and_restores_the_model():
    from sgenlib.evaluate import time_inference
    calls = []

    class Counting(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 1, 3, padding=1)

        def forward(self, x):
            calls.append(x.shape[0])
            return self.conv(x)

    m = Counting()
    r = time_inference(m, 1, scale=(32, 24), batch_size=4, repeats=7, device="cpu", min_seconds=0.05)
    assert calls.count(1) >= 3 + 7 and calls.count(4) >= 3 + 7          # warm-up + at least `repeats`
    assert r["ms_per_image_batch1"] > 0 and r["images_per_s_batched"] > 0
    assert r["batch1_path"].startswith("eager") and r["channels_last"] is False
    assert m.conv.weight.is_contiguous()                                  # the model as it was


@cuda
def test_time_inference_on_cuda_uses_channels_last_and_a_graph():
    from sgenlib.evaluate import time_inference
    g = build_generator("SGEN-MSE", in_channels=1, width=0.25).cuda()
    r = time_inference(g, 1, batch_size=8, repeats=5)
    assert r["channels_last"] and r["batch1_path"] == "cuda_graph", r
    assert all(p.is_contiguous() for p in g.parameters())                 # restored afterwards
