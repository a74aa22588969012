"""Training: exact resume after an interruption, atomic checkpoints loadable with weights_only,
per-step loss CSV, NaN stop, settings mismatch, and skip-when-finished."""
import csv
import json

import pytest
import torch

from sgenlib import losses
from sgenlib.train import NonFiniteLossError, TrainConfig, Trainer, train


def cfg(model="SGEN", **kw):
    base = dict(steps=6, batch_size=2, width=0.125, ckpt_every=2, log_every=1, seed=3)
    base.update(kw)
    return TrainConfig(model=model, **base)


def weights(run_dir):
    return torch.load(run_dir / "generator.pt", weights_only=True)["generator"]


def test_resume_after_interruption_matches_uninterrupted(tmp_path, tiny_images):
    full = train(cfg(), tiny_images, tmp_path / "full", progress=False)
    assert full["steps"] == 6 and full["resumed_from_step"] is None
    # interrupted after 5 steps: the last checkpoint is at step 4, so step 5 is replayed on resume
    part = Trainer(cfg(), tiny_images, tmp_path / "cut", progress=False).run(stop_after=5)
    assert part == {"interrupted_at": 5}
    assert torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)["step"] == 4
    assert not (tmp_path / "cut" / "generator.pt").exists()
    resumed = train(cfg(), tiny_images, tmp_path / "cut", progress=False)
    assert resumed["steps"] == 6 and resumed["resumed_from_step"] == 4
    a, b = weights(tmp_path / "full"), weights(tmp_path / "cut")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    with open(tmp_path / "cut" / "losses.csv") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f)]
    assert steps == [1, 2, 3, 4, 5, 6]            # the replayed step 5 is not duplicated
    with open(tmp_path / "full" / "losses.csv") as f, open(tmp_path / "cut" / "losses.csv") as g:
        assert [r["loss_g"] for r in csv.DictReader(f)] == [r["loss_g"] for r in csv.DictReader(g)]


def test_checkpoint_contents_weights_only(tmp_path, tiny_images):
    train(cfg(steps=2), tiny_images, tmp_path, progress=False)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert {"generator", "discriminator", "opt_g", "opt_d", "step", "rng", "config", "degrade"} <= state.keys()
    assert state["step"] == 2 and state["discriminator"] is not None
    assert not list(tmp_path.glob(".*tmp*"))     # no temporary files left behind
    summary = json.loads((tmp_path / "train_summary.json").read_text())
    assert summary["adversarial"] and summary["content_loss"] == "mse" and summary["lambda_on"] == "adversarial"


def test_mse_model_has_no_discriminator(tmp_path, tiny_images):
    summary = train(cfg("SGEN-MSE", steps=2), tiny_images, tmp_path, progress=False)
    assert not summary["adversarial"]
    with open(tmp_path / "losses.csv") as f:
        rows = list(csv.DictReader(f))
    assert all(float(r["loss_d"]) == 0 and float(r["loss_g"]) == float(r["content"]) for r in rows)


def test_finished_run_is_skipped(tmp_path, tiny_images):
    train(cfg("SGEN-MSE", steps=2), tiny_images, tmp_path, progress=False)
    mtime = (tmp_path / "generator.pt").stat().st_mtime_ns
    train(cfg("SGEN-MSE", steps=2), tiny_images, tmp_path, progress=False)
    assert (tmp_path / "generator.pt").stat().st_mtime_ns == mtime


def test_extending_a_run_resumes_from_its_checkpoint(tmp_path, tiny_images):
    train(cfg("SGEN-MSE", steps=2), tiny_images, tmp_path, progress=False)
    s = train(cfg("SGEN-MSE", steps=4), tiny_images, tmp_path, progress=False)
    assert s["resumed_from_step"] == 2 and s["steps"] == 4


def test_nan_loss_stops_with_clear_error(tmp_path, tiny_images):
    t = Trainer(cfg("SGEN-MSE"), tiny_images, tmp_path, progress=False)
    t.content_fn = lambda p, y: losses.mse(p, y) * float("nan")
    with pytest.raises(NonFiniteLossError, match="non-finite loss at step 1"):
        t.run()


def test_settings_mismatch_on_resume(tmp_path, tiny_images):
    """A checkpoint of other settings is never resumed: the folder is moved aside (named) and the
    run trains afresh (sgenlib.train.claim_run_folder)."""
    run = tmp_path / "run"
    Trainer(cfg("SGEN-MSE"), tiny_images, run, progress=False).run(stop_after=3)
    with pytest.warns(UserWarning, match="another identity.*lr 0.0002 -> 0.0001.*moved it aside"):
        s = train(cfg("SGEN-MSE", lr=1e-4), tiny_images, run, progress=False)
    assert s["resumed_from_step"] is None and s["steps"] == 6
    aside = list((tmp_path / "replaced").glob("run-*"))
    assert len(aside) == 1 and (aside[0] / "checkpoint.pt").is_file()


@pytest.mark.parametrize("bad", [dict(model="VDSR"), dict(steps=0), dict(lr=0), dict(lambda_on="both"),
                                 dict(amp="fp8")])
def test_bad_config(bad):
    with pytest.raises(ValueError):
        cfg(**bad)


def test_bad_images(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        Trainer(cfg(), torch.zeros(2, 1, 218, 178), tmp_path)
    with pytest.raises(ValueError, match="uint8"):
        Trainer(cfg(), torch.zeros(2, 3, 218, 178, dtype=torch.uint8), tmp_path)


def test_lambda_placement():
    c, a = torch.tensor(2.0), torch.tensor(10.0)
    assert losses.generator_loss(c, a, 0.1, "adversarial") == pytest.approx(3.0)
    assert losses.generator_loss(c, a, 0.1, "mse") == pytest.approx(10.2)
    assert losses.generator_loss(c, None, 0.1) == c


@pytest.mark.slow  # 40 training steps on real faces
def test_sgen_mse_learns(few_faces, tmp_path):
    """A behaviour check of the whole path (data, degradation, SGEN, loss, Adam): on real faces the
    pixel loss falls well below its starting value within a few dozen steps."""
    faces, _ = few_faces
    c = cfg("SGEN-MSE", steps=40, batch_size=4, lr=1e-3, ckpt_every=40, log_every=10, scales=[[128, 96]])
    train(c, faces, tmp_path, progress=False)
    with open(tmp_path / "losses.csv") as f:
        content = [float(r["content"]) for r in csv.DictReader(f)]
    first, last = sum(content[:5]) / 5, sum(content[-5:]) / 5
    assert last < 0.5 * first, (first, last)


def _fakes_seen_by_d_step(order, images):
    """Run one adversarial step in `order`; return (fake D's step saw, G(x) before, G(x) after)."""
    t = Trainer(cfg(step_order=order, amp="off", channels_last="off"), images, "unused", device="cpu",
                progress=False)   # fp32: the fakes are compared at fp32 bounds
    _, inp, target = t.make_batch(1)
    with torch.no_grad():
        before = t.G(inp).clone()
    seen = []
    d_run = t.D_run
    t.D_run = lambda x: (seen.append(x.detach().clone()), d_run(x))[1]     # D's own step only
    t.optimize(inp, target)
    with torch.no_grad():
        after = t.G(inp)
    assert len(seen) == 2 and torch.equal(seen[0], target)               # real, then fake
    return seen[1], before, after


def test_step_order_authors_trains_d_on_a_new_fake(tiny_images):
    """g_then_d (default, the authors' code): G steps first, and D is then trained on a fake made
    by the updated G; d_then_g (kit v1): D is trained on the fake of the G before its step."""
    assert TrainConfig(model="SGEN", steps=1).step_order == "g_then_d"
    fake, before, after = _fakes_seen_by_d_step("g_then_d", tiny_images)
    assert not torch.allclose(before, after)                              # G did change
    assert torch.allclose(fake, after, atol=1e-6) and not torch.allclose(fake, before, atol=1e-4)
    fake, before, after = _fakes_seen_by_d_step("d_then_g", tiny_images)
    assert torch.allclose(fake, before, atol=1e-6) and not torch.allclose(fake, after, atol=1e-4)


@pytest.mark.parametrize("order", ["g_then_d", "d_then_g"])
def test_step_order_recorded_and_resumes_exactly(tmp_path, tiny_images, order):
    full = train(cfg(steps=4, step_order=order), tiny_images, tmp_path / "full", progress=False)
    assert full["step_order"] == order and full["config"]["step_order"] == order
    Trainer(cfg(steps=4, step_order=order), tiny_images, tmp_path / "cut", progress=False).run(stop_after=3)
    train(cfg(steps=4, step_order=order), tiny_images, tmp_path / "cut", progress=False)
    a, b = weights(tmp_path / "full"), weights(tmp_path / "cut")
    assert all(torch.equal(a[k], b[k]) for k in a)
    other = "d_then_g" if order == "g_then_d" else "g_then_d"
    with pytest.warns(UserWarning, match=f"another identity.*step_order '{order}' -> '{other}'.*moved it aside"):
        Trainer(cfg(steps=6, step_order=other), tiny_images, tmp_path / "cut", progress=False).run()
    assert len(list((tmp_path / "replaced").glob("cut-*"))) == 1   # the order is part of the run's identity


def test_bad_step_order():
    with pytest.raises(ValueError, match="step_order"):
        cfg(step_order="both")


def test_one_mapping_from_profile_to_config(tmp_path):
    """study.train_config and the command line both go through TrainConfig.from_profile."""
    from sgenlib import study as S
    from sgenlib.profiles import get_profile
    from sgenlib.train import PROFILE_KEYS
    prof = get_profile("gpu-quick")
    c = TrainConfig.from_profile(prof, "SRCNN", steps=None, lr=1e-3, seed=3)
    assert [getattr(c, k) for k in PROFILE_KEYS] == [prof[k] for k in PROFILE_KEYS]
    assert (c.model, c.lr, c.seed) == ("SRCNN", 1e-3, 3)
    assert TrainConfig.from_profile(prof, "SRCNN", steps=7).steps == 7
    st = S.open_study("smoke", results_dir=str(tmp_path / "r"), runs_dir=str(tmp_path / "runs"),
                      cache_dir=str(tmp_path / "c"), seed=5, steps=9)
    cfg = S.train_config(st, "SGEN", seed=None, width=0.25)
    assert cfg == TrainConfig.from_profile(st.profile, "SGEN", seed=5, width=0.25)
    assert (cfg.steps, cfg.seed, cfg.width) == (9, 5, 0.25)
    with pytest.raises(ValueError, match="the profile has no batch_size, width"):
        TrainConfig.from_profile({"steps": 1}, "SGEN")


def test_scale_argument_picks_the_scale_and_keeps_the_step_batch(tmp_path):
    """train_step(step, scale) trains at that scale on the step's own images and noise: the same
    batch as a run whose cfg.scales holds only that scale (callers no longer overwrite cfg.scales)."""
    imgs = torch.randint(0, 256, (6, 1, 218, 178), dtype=torch.uint8)
    mixed = Trainer(TrainConfig(model="SGEN-MSE", steps=2, batch_size=2, width=0.125), imgs,
                    tmp_path / "a", progress=False)
    one = Trainer(TrainConfig(model="SGEN-MSE", steps=2, batch_size=2, width=0.125,
                              scales=[[48, 40]]), imgs, tmp_path / "b", progress=False)
    scale, inp, target = mixed.make_batch(3, (48, 40))
    scale_b, inp_b, target_b = one.make_batch(3)
    assert scale == scale_b == (48, 40) and target.shape[-2:] == (48, 40)
    assert torch.equal(inp, inp_b) and torch.equal(target, target_b)
    assert mixed.cfg.scales != [[48, 40]]                       # the config is left as it was
    assert mixed.train_step(3, (48, 40))[0] == (48, 40)


def test_build_optimizers_is_the_hook_for_a_subclass(tmp_path):
    class PlainSGD(Trainer):
        allow_fused = False

        def build_optimizers(self):
            return torch.optim.SGD(self.G.parameters(), lr=0.1), None

    imgs = torch.randint(0, 256, (4, 1, 218, 178), dtype=torch.uint8)
    t = PlainSGD(TrainConfig(model="SGEN-MSE", steps=1, batch_size=2, width=0.125), imgs,
                 tmp_path / "c", progress=False)
    assert isinstance(t.opt_g, torch.optim.SGD) and t.opt_d is None and not t.fused_adam
