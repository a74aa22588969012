"""Each baseline trained as its source trained it (issue 16; docs/protocol.md#baselines): SRCNN's
Caffe loss, initialisation and lr multipliers, SRGAN's warm start from SRResNet and two-phase lr,
RED-Net's released width, each model's initialisation, URDGN's update gating; and the kit-v1
recipe beside them."""
from __future__ import annotations

import json

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sgenlib import losses
from sgenlib import study as S
from sgenlib.archs import MODELS, build_generator, initialise, model_spec
from sgenlib.archs import vgg
from sgenlib.optim import lr_factor
from sgenlib.profiles import get_profile
from sgenlib.train import Trainer, TrainConfig, train

W = 0.125
SMALL = [[32, 32]]


@pytest.fixture(autouse=True)
def _no_vgg(monkeypatch):
    torch.manual_seed(0)
    monkeypatch.setattr(vgg, "find_vgg19_checkpoint", lambda *a, **k: None)


@pytest.fixture(scope="module")
def faces():
    return np.random.default_rng(0).integers(0, 256, size=(8, 1, 218, 178), dtype=np.uint8)


# ---- SRCNN: Caffe's EuclideanLoss, data in [0, 1], its filler and lr_mult -------------------------
def test_caffe_euclidean_is_a_scaled_mse():
    pred, target = torch.rand(3, 1, 8, 6) * 2 - 1, torch.rand(3, 1, 8, 6) * 2 - 1
    caffe = ((pred + 1) / 2 - (target + 1) / 2).pow(2).sum() / (2 * 3)     # on [0, 1] pixels
    assert losses.caffe_euclidean(pred, target).item() == pytest.approx(caffe.item(), rel=1e-6)
    assert losses.caffe_euclidean(pred, target).item() == pytest.approx(
        losses.mse(pred, target).item() * 1 * 8 * 6 / 8, rel=1e-6)


def test_srcnn_one_step_gradient_is_caffes():
    """One step's weight gradient of the kit's SRCNN (recipe 'source') on a fixed input equals that
    of the Caffe net (valid 9-1-5 convs, same weights, 'same' padding aside) on [0, 1] data with
    EuclideanLoss."""
    g = build_generator("SRCNN", width=0.25)
    initialise(g, "gaussian-0.001")
    gen = torch.Generator().manual_seed(3)
    x, t = torch.rand(2, 1, 20, 16, generator=gen) * 2 - 1, torch.rand(2, 1, 20, 16, generator=gen) * 2 - 1
    losses.caffe_euclidean(g(x), t).backward()
    convs = [g.patch_extraction[0], g.nonlinear_mapping[0], g.reconstruction[0]]
    params = [p.detach().clone().requires_grad_(True) for c in convs for p in (c.weight, c.bias)]
    h = (x + 1) / 2
    for i, pad in enumerate((4, 0, 2)):
        h = F.conv2d(h, params[2 * i], params[2 * i + 1], padding=pad)
        h = F.relu(h) if i < 2 else h
    ((h - (t + 1) / 2).pow(2).sum() / (2 * 2)).backward()
    ours = [p.grad for c in convs for p in (c.weight, c.bias)]
    for a, b in zip(ours, params):
        torch.testing.assert_close(a, b.grad, rtol=1e-5, atol=1e-9)
    # the kit-v1 loss (pixel mean on [-1, 1]) is C*H*W/8 = 40 times smaller here
    assert losses.caffe_euclidean(g(x), t).item() == pytest.approx(losses.mse(g(x), t).item() * 20 * 16 / 8, rel=1e-5)


def test_srcnn_initialisation_and_lr_multipliers(faces, tmp_path):
    t = Trainer(TrainConfig(model="SRCNN", steps=1, batch_size=2, width=1.0), faces, tmp_path, device="cpu",
                progress=False)
    for conv in (t.G.patch_extraction[0], t.G.nonlinear_mapping[0], t.G.reconstruction[0]):
        assert conv.weight.std().item() == pytest.approx(0.001, rel=0.1) and abs(conv.weight.mean().item()) < 2e-4
        assert torch.count_nonzero(conv.bias) == 0
    lr_of = {id(p): g["lr"] for g in t.opt_g.param_groups for p in g["params"]}
    G = t.G
    assert lr_of[id(G.patch_extraction[0].weight)] == pytest.approx(1e-4)
    assert lr_of[id(G.nonlinear_mapping[0].weight)] == pytest.approx(1e-4)
    for p in (G.patch_extraction[0].bias, G.nonlinear_mapping[0].bias, G.reconstruction[0].weight,
              G.reconstruction[0].bias):
        assert lr_of[id(p)] == pytest.approx(1e-5)
    assert t.content_name == "caffe_euclidean" and t.G.unit and t.G.out.mode == "linear"
    v1 = Trainer(TrainConfig(model="SRCNN", steps=1, batch_size=2, baseline_recipe="kit-v1", init="sgen"), faces,
                 tmp_path / "v1", device="cpu", progress=False)
    assert v1.content_name == "mse" and not v1.G.unit and v1.G.out.mode == "tanh"
    assert v1.G.patch_extraction[0].weight.std().item() == pytest.approx(0.02, rel=0.05)


# ---- initialisation per model -----------------------------------------------------------------
def test_initialisation_per_model(faces, tmp_path):
    def weights(name, **kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = Trainer(TrainConfig(model=name, steps=1, batch_size=2, width=W, **kw), faces, tmp_path / name,
                        device="cpu", progress=False)
        return [m for m in t.G.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))], t

    convs, t = weights("SGEN-MSE")
    assert t.init == "normal-0.02"
    assert torch.cat([c.weight.flatten() for c in convs]).std().item() == pytest.approx(0.02, rel=0.05)
    for name in ("SRResNet", "SRGAN", "RED-Net", "URDGN"):
        convs, t = weights(name)
        assert t.init == "pytorch"
        for c in convs:                          # PyTorch's default: |w| <= 1 / sqrt(fan_in), nonzero biases
            fan_in = c.weight[0].numel()         # torch's fan_in, for transposed convs too
            assert c.weight.abs().max().item() <= 1 / math.sqrt(fan_in) + 1e-6
        assert any(c.bias is not None and torch.count_nonzero(c.bias) for c in convs)
        convs, t = weights(name, init="sgen")    # kit v1: N(0, 0.02) for all
        assert t.init == "normal-0.02"
        assert torch.cat([c.weight.flatten() for c in convs]).std().item() == pytest.approx(0.02, rel=0.1)
    with pytest.raises(ValueError, match="init"):
        TrainConfig(model="SRCNN", steps=1, init="xavier")
    with pytest.raises(ValueError, match="init scheme"):
        initialise(torch.nn.Conv2d(1, 1, 3), "xavier")


# ---- RED-Net's width ----------------------------------------------------------------------------
def test_rednet_width_by_recipe():
    assert build_generator("RED-Net").encoder[0][0].out_channels == 128
    assert build_generator("RED-Net", recipe="kit-v1").encoder[0][0].out_channels == 64
    assert build_generator("RED-Net", width=0.25).encoder[0][0].out_channels == 32
    with pytest.raises(ValueError, match="recipe"):
        model_spec("RED-Net", "caffe")


def test_old_runs_load_as_kit_v1(faces, tmp_path):
    """A generator.pt written before 'baseline_recipe' existed holds a kit-v1 RED-Net (64 maps)."""
    from sgenlib.inference import load_generator
    cfg = TrainConfig(model="RED-Net", steps=1, batch_size=2, width=W, baseline_recipe="kit-v1", scales=SMALL)
    train(cfg, faces, tmp_path, device="cpu", progress=False)
    blob = torch.load(tmp_path / "generator.pt", weights_only=True)
    del blob["config"]["baseline_recipe"]
    torch.save(blob, tmp_path / "generator.pt")
    summary = json.loads((tmp_path / "train_summary.json").read_text())
    summary.pop("generator_sha256")                   # an old run recorded no hash of its generator
    (tmp_path / "train_summary.json").write_text(json.dumps(summary))
    assert load_generator(tmp_path).encoder[0][0].out_channels == 8        # 64 x 0.125


# ---- SRGAN: warm start from SRResNet, two-phase lr, D without weight decay ---------------------
def test_srgan_warm_start_loads_exactly_the_srresnet_run(faces, tmp_path):
    base = dict(steps=2, batch_size=2, width=W, scales=SMALL, log_every=1)
    train(TrainConfig(model="SRResNet", **base), faces, tmp_path / "SRResNet", device="cpu", progress=False)
    gen_file = tmp_path / "SRResNet" / "generator.pt"
    saved = torch.load(gen_file, weights_only=True)["generator"]
    t = Trainer(TrainConfig(model="SRGAN", warm_start=str(gen_file), **base), faces, tmp_path / "SRGAN",
                device="cpu", progress=False)
    state = t.G.state_dict()
    assert sorted(state) == sorted(saved) and all(torch.equal(state[k], saved[k]) for k in saved)
    assert t.identity["warm_start"]["run"] == json_id(tmp_path / "SRResNet")
    assert len(t.identity["warm_start"]["sha256"]) == 64
    assert t.opt_d.param_groups[0]["weight_decay"] == 0.0
    with pytest.raises(ValueError, match="takes no warm start"):
        TrainConfig(model="SRResNet", warm_start=str(gen_file), **base)
    with pytest.raises(ValueError, match="holds SRResNet at width"):
        Trainer(TrainConfig(model="SRGAN", warm_start=str(gen_file), **{**base, "width": 0.25}), faces,
                tmp_path / "w", device="cpu", progress=False)


def json_id(run_dir) -> str:
    import json
    return json.loads((run_dir / "run_identity.json").read_text())["id"]


def test_study_trains_srresnet_first_and_warm_starts_srgan(faces, tmp_path):
    prof = get_profile("smoke", steps=2, batch_size=2, width=W)
    st = S.Study(prof, tmp_path / "results", tmp_path / "runs", tmp_path / "cache", train_images=faces,
                 manifest={})
    S.train_models(st, ["SRGAN"], progress=False, scales=SMALL)
    assert (st.runs / "SRResNet" / "generator.pt").is_file()
    summary = S.run_summary(st, "SRGAN")
    assert summary["warm_start"]["run"] == json_id(st.runs / "SRResNet")
    assert summary["warm_start"]["path"] == str(st.runs / "SRResNet" / "generator.pt")


def test_srgan_lr_halves_as_a_function_of_the_step(faces, tmp_path):
    assert [lr_factor("halves", s, 10) for s in (1, 5, 6, 10)] == [1.0, 1.0, 0.1, 0.1]
    assert [lr_factor("urdgn_warmup", s, 100) for s in (1, 10, 11, 30, 31)] == [1 / 50, 1 / 50, 0.2, 0.2, 1.0]
    cfg = TrainConfig(model="SRGAN", steps=4, batch_size=2, width=W, scales=SMALL, ckpt_every=1, log_every=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = Trainer(cfg, faces, tmp_path / "a", device="cpu", progress=False)
        whole.run()
        assert [g["lr"] for g in whole.opt_g.param_groups] == [pytest.approx(1e-5)]
        part = Trainer(cfg, faces, tmp_path / "b", device="cpu", progress=False)
        part.run(stop_after=3)                                     # killed after step 3, then resumed
        resumed = Trainer(cfg, faces, tmp_path / "b", device="cpu", progress=False)
        resumed.run()
    a, b = whole.G.state_dict(), resumed.G.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    v1 = Trainer(TrainConfig(model="SRGAN", steps=4, batch_size=2, width=W, baseline_recipe="kit-v1"), faces,
                 tmp_path / "v1", device="cpu", progress=False)
    assert v1.optim.get("lr_schedule") is None and v1.opt_d.param_groups[0]["weight_decay"] == 1e-4


# ---- URDGN's gating --------------------------------------------------------------------------------
@pytest.mark.parametrize("err_real, err_fake, expected", [
    (0.5, 0.5, (True, True)),
    (0.2, 0.5, (False, True)),      # D wins on real: D not updated
    (0.5, 0.29, (False, True)),     # D wins on fake
    (0.5, 0.8, (True, False)),      # D loses on fake: G not updated
    (0.71, 0.5, (True, False)),     # D loses on real
    (0.2, 0.8, (True, True)),       # both would be skipped: both updated
    (0.3, 0.7, (True, True)),       # the margins themselves do not skip (strict inequalities)
])
def test_gating_rule(err_real, err_fake, expected):
    assert losses.gan_gating(err_real, err_fake, 0.3) == expected


def test_gating_margin_checked():
    with pytest.raises(ValueError, match="margin"):
        losses.gan_gating(0.5, 0.5, 0.6)


def _logit_for(err: float, real: bool) -> float:
    """The logit whose BCE error is `err` (target 1 for real, 0 for fake)."""
    z = -math.log(math.expm1(err))
    return z if real else -z


@pytest.mark.parametrize("err_real, err_fake, d_moves, g_moves", [
    (0.5, 0.5, True, True), (0.2, 0.5, False, True), (0.5, 0.8, True, False), (0.2, 0.8, True, True)])
def test_urdgn_step_obeys_the_gating(err_real, err_fake, d_moves, g_moves, faces, tmp_path):
    t = Trainer(TrainConfig(model="URDGN", steps=40, batch_size=2, width=W, scales=SMALL), faces, tmp_path,
                device="cpu", progress=False)
    crafted = iter([_logit_for(err_real, True), _logit_for(err_fake, False)])
    def d_run(x):                                   # D's outputs on real, then on fake: crafted values, D's gradients
        out = t.D(x)
        return out - out.detach() + next(crafted)
    t.D_run = d_run
    g0 = [p.detach().clone() for p in t.G.parameters()]
    d0 = [p.detach().clone() for p in t.D.parameters()]
    t.train_step(1)
    d_changed = any(not torch.equal(a, b) for a, b in zip(d0, t.D.parameters()))
    g_changed = any(not torch.equal(a, b) for a, b in zip(g0, t.G.parameters()))
    assert (d_changed, g_changed) == (d_moves, g_moves)
    assert t.gate_counts == {"d_skipped": int(not d_moves), "g_skipped": int(not g_moves)}


def test_kit_v1_urdgn_has_no_gating(faces, tmp_path):
    t = Trainer(TrainConfig(model="URDGN", steps=1, batch_size=2, width=W, baseline_recipe="kit-v1"), faces,
                tmp_path, device="cpu", progress=False)
    assert t.spec.gate_margin is None and t.optim.get("lr_schedule") is None
    assert MODELS["URDGN"].gate_margin == 0.3


# ---- every baseline learns ------------------------------------------------------------------------
LEARN_STEPS = {"SRCNN": 3000, "SRResNet": 120, "SRGAN": 120, "RED-Net": 120, "URDGN": 120}
LEARN_MARGIN_DB = 0.3
"""Measured with sgenlib.learncheck (OMP_NUM_THREADS=1, 2-core CPU, width 0.25, 32x24 faces, the
first 200 CelebA faces for training and the next 32 held out): after 120 steps at batch 8 the
gains over the degraded input were SRResNet +0.66, SRGAN +1.21, RED-Net +1.90, URDGN +1.09 dB;
SRCNN as its Caffe release (SGD lr 1e-4, N(0, 0.001) init) learns slowly: -2.93 dB after 120
steps, +1.82 dB after 3000 at batch 16 (kit v1: -2.63 dB after 3000)."""


@pytest.fixture
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)          # tiny tensors: one thread is several times faster on a busy CPU
    yield
    torch.set_num_threads(n)


@pytest.mark.slow
def test_every_baseline_learns(celeba_dir, one_thread):
    from sgenlib.learncheck import check_models, load_faces
    train_images, test_images = load_faces(str(celeba_dir), 200, 32)
    gains = {}
    for steps in sorted(set(LEARN_STEPS.values())):
        models = [m for m, s in LEARN_STEPS.items() if s == steps]
        for r in check_models(models, {}, train_images, test_images, steps, 0.25, 8, (32, 24)):
            gains[r["model"]] = r["gain_db"]
    assert sorted(gains) == sorted(LEARN_STEPS)
    assert all(g > LEARN_MARGIN_DB for g in gains.values()), gains
