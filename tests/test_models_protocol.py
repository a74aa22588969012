"""Every model of the paper under one protocol: the twelve generators (and the discriminators of the
adversarial ones) build, run forward and backward at all six scales, restore images of any size and
mode, train two steps through sgenlib.train and write their run files; MEN / AEN / CEN differ from
SGEN only in the fusion modules; and sgenlib.tables builds Tables 1-5 with the paper's values beside
ours (a missing model is a row of NaN, not an error). Fast: tiny widths, synthetic data."""
from __future__ import annotations

import csv
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from sgenlib import evaluate
from sgenlib import tables as T
from sgenlib.archs import MODELS, SGEN_FAMILY, build_discriminator, build_generator, forward_padded
from sgenlib.archs import vgg
from sgenlib.archs.discriminator import GAPDiscriminator
from sgenlib.archs.sgen import SGU, AvgFusion, ConcatFusion, MaxFusion
from sgenlib.archs.srresnet import SRGANDiscriminator
from sgenlib.archs.urdgn import URDGNDiscriminator
from sgenlib.complexity import COMPLEXITY_COLUMNS, complexity_of_models, count_params
from sgenlib.inference import load_generator, restore
from sgenlib.paper import (ABLATION_MODELS, N_STUDY_MODELS, PAPER_MODELS, SCALES, SOTA_MODELS, model_key, paper_n_study,
                           paper_results, scale_name, sort_models)
from sgenlib import study as S
from sgenlib.study import open_study
from sgenlib.train import LOSS_COLUMNS, TrainConfig, Trainer, train

W = 1 / 32  # SGEN ngf = 2: every model runs all six scales in well under a second on 2 cores
PAPER_TWELVE = ["SGEN", "SGEN-MSE", "MEN", "AEN", "CEN", "SRCNN", "SRResNet", "SRGAN", "RED-Net", "URDGN",
                "SGEN-MSE-N2", "SGEN-MSE-N4"]
FUSION_OF = {"SGEN": SGU, "MEN": MaxFusion, "AEN": AvgFusion, "CEN": ConcatFusion}
DISCRIMINATOR_OF = {"SGEN": GAPDiscriminator, "MEN": GAPDiscriminator, "AEN": GAPDiscriminator,
                    "CEN": GAPDiscriminator, "SRGAN": SRGANDiscriminator, "URDGN": URDGNDiscriminator}
SCALE_NAMES = [scale_name(s) for s in SCALES]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def faces():
    """8 random 'faces', gray uint8 (8, 1, 218, 178), as the training code holds CelebA."""
    return np.random.default_rng(0).integers(0, 256, size=(8, 1, 218, 178), dtype=np.uint8)


# --------------------------------------------------------------------------------------------
# the twelve models
# --------------------------------------------------------------------------------------------
def test_models_table_is_the_papers_twelve():
    assert list(MODELS) == PAPER_TWELVE
    assert set(ABLATION_MODELS) | set(SOTA_MODELS) | set(N_STUDY_MODELS.values()) == set(MODELS)
    assert N_STUDY_MODELS == {2: "SGEN-MSE-N2", 3: "SGEN-MSE", 4: "SGEN-MSE-N4"}
    assert SGEN_FAMILY == {"SGEN", "SGEN-MSE", "MEN", "AEN", "CEN", "SGEN-MSE-N2", "SGEN-MSE-N4"}
    # one model order everywhere (tables, galleries, figures, viewer, MOS): the references, MODELS', then by name
    assert PAPER_MODELS == list(MODELS)
    assert sort_models(["zeta", "URDGN", "input", "SGEN-MSE-N4", "SGEN", "alpha", "ground_truth", "SGEN"]) == [
        "ground_truth", "input", "SGEN", "URDGN", "SGEN-MSE-N4", "alpha", "zeta"]
    assert sorted(reversed(PAPER_MODELS), key=model_key) == PAPER_MODELS


@pytest.mark.parametrize("name", list(MODELS))
def test_forward_backward_at_all_six_scales(name):
    g = build_generator(name, in_channels=1, width=W)
    for h, w in SCALES:
        x = torch.rand(1, 1, h, w) * 2 - 1
        y = forward_padded(g, x)
        assert y.shape == x.shape, (name, h, w)
        linear = MODELS[name].arch_kwargs.get("output") == "linear"    # SRCNN: linear in training, as its release
        assert torch.isfinite(y).all() and (linear or y.abs().max() <= 1.0)
        y.square().mean().backward()
    with torch.no_grad():
        assert forward_padded(g.eval(), torch.rand(1, 1, 32, 32) * 2 - 1).abs().max() <= 1.0
    params = dict(g.named_parameters())
    no_grad = [k for k, p in params.items() if p.grad is None]
    assert not no_grad, f"{name}: parameters never reached by the loss: {no_grad}"
    assert all(torch.isfinite(p.grad).all() for p in params.values())
    assert sum(float(p.grad.abs().sum()) for p in params.values()) > 0


@pytest.mark.parametrize("name", list(MODELS))
def test_restore_odd_sizes_and_modes(name):
    g = build_generator(name, in_channels=1, width=W).eval()
    rng = np.random.default_rng(1)
    odd = rng.integers(0, 256, size=(37, 53), dtype=np.uint8)
    rgba = Image.fromarray(rng.integers(0, 256, size=(37, 53, 4), dtype=np.uint8), "RGBA")
    gray = Image.fromarray(odd, "L")
    for image in (odd, rgba, gray):
        out = restore(g, image)
        assert isinstance(out, Image.Image) and out.mode == "L" and out.size == (53, 37), name
    assert restore(g, gray, upscale=4).size == (4 * 53, 4 * 37)


@pytest.mark.parametrize("name", list(MODELS))
def test_discriminator_of_each_model(name):
    spec = MODELS[name]
    d = build_discriminator(name, in_channels=1, width=W)
    if not spec.adversarial:
        assert d is None
        return
    assert type(d) is DISCRIMINATOR_OF[name], (name, type(d))
    for h, w in (SCALES[0], SCALES[-1]):
        logits = d(torch.rand(3, 1, h, w) * 2 - 1)
        assert logits.shape == (3,) and torch.isfinite(logits).all()


def test_gan_models_have_their_own_discriminators():
    # each adversarial baseline is trained against its own paper's discriminator, not SGEN's
    kinds = {name: type(build_discriminator(name, width=W)) for name in MODELS if MODELS[name].adversarial}
    assert set(kinds) == {"SGEN", "MEN", "AEN", "CEN", "SRGAN", "URDGN"}
    assert kinds["SRGAN"] is not kinds["URDGN"] and GAPDiscriminator not in (kinds["SRGAN"], kinds["URDGN"])
    assert MODELS["SRGAN"].content_loss == "vgg" and MODELS["SRGAN"].adv_weight == pytest.approx(1e-3)


@pytest.mark.parametrize("ablation", ["MEN", "AEN", "CEN"])
@pytest.mark.parametrize("width", [W, 1.0])
def test_ablations_differ_from_sgen_only_in_fusion(ablation, width):
    with torch.device("meta"):
        sgen = build_generator("SGEN", width=width)
        other = build_generator(ablation, width=width)

    def non_fusion(model):
        return {k: tuple(p.shape) for k, p in model.named_parameters()
                if not k.startswith(("encoder_fusions.", "decoder_fusions."))}

    assert non_fusion(sgen) == non_fusion(other)
    for fusions in ("encoder_fusions", "decoder_fusions"):
        a, b = getattr(sgen, fusions), getattr(other, fusions)
        assert len(a) == len(b) > 0
        assert all(type(m) is SGU for m in a)
        assert all(type(m) is FUSION_OF[ablation] for m in b)
    assert type(other) is type(sgen) and other.size_multiple == sgen.size_multiple
    # SGEN and SGEN-MSE are one architecture (they differ in the loss only)
    with torch.device("meta"):
        mse = build_generator("SGEN-MSE", width=width)
    assert {k: p.shape for k, p in mse.named_parameters()} == {k: p.shape for k, p in sgen.named_parameters()}


@pytest.mark.parametrize("name", list(MODELS))
def test_two_training_steps_write_the_run(name, faces, tmp_path, monkeypatch):
    monkeypatch.setattr(vgg, "find_vgg19_checkpoint", lambda *a, **k: None)  # no ImageNet VGG: SRGAN -> mse
    # the smallest scale only: the forward / backward test above covers all six
    cfg = TrainConfig(model=name, steps=2, batch_size=2, width=W, ckpt_every=1, log_every=1, seed=1,
                      scales=[list(SCALES[0])])
    run = tmp_path / name
    summary = train(cfg, faces, run, device="cpu", progress=False)
    for f in ("generator.pt", "losses.csv", "train_summary.json", "checkpoint.pt"):
        assert (run / f).is_file(), f
    with open(run / "losses.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == LOSS_COLUMNS and [int(r["step"]) for r in rows] == [1, 2]
    assert all(r["scale"] == SCALE_NAMES[0] for r in rows)
    assert all(np.isfinite(float(r["loss_g"])) for r in rows)
    spec = MODELS[name]
    content = "caffe_euclidean" if spec.content_loss == "caffe_euclidean" else "mse"      # SRCNN: its Caffe loss
    assert summary["steps"] == 2 and summary["model"] == name and summary["content_loss"] == content
    assert summary["adversarial"] == spec.adversarial
    assert json.loads((run / "train_summary.json").read_text())["content_loss"] == content
    d_losses = [float(r["loss_d"]) for r in rows]
    assert all(v != 0 for v in d_losses) if spec.adversarial else all(v == 0 for v in d_losses)
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    assert (ckpt["discriminator"] is not None) == spec.adversarial
    g = load_generator(run)
    assert type(g) is type(build_generator(name, width=W))
    assert count_params(g) == summary["params"]
    assert summary["optimizer"]["name"] == (spec.optim or {"name": "adam"})["name"]


# each baseline's own optimizer (its source), SGEN's Adam for the SGEN family; lrs per param group
EXPECTED_OPTIM = {"SRCNN": (torch.optim.SGD, [1e-4, 1e-5, 1e-5, 1e-5, 1e-5]), "SRResNet": (torch.optim.Adam, [1e-4]),
                  "SRGAN": (torch.optim.Adam, [1e-4]), "RED-Net": (torch.optim.Adam, [1e-4]),
                  "URDGN": (torch.optim.RMSprop, [1e-3])}
EXPECTED_OPTIM_V1 = {**EXPECTED_OPTIM, "SRCNN": (torch.optim.SGD, [1e-4, 1e-5])}


@pytest.mark.parametrize("recipe", ["source", "kit-v1"])
@pytest.mark.parametrize("name", list(MODELS))
def test_each_model_trains_with_its_optimizer(name, recipe, faces, tmp_path, monkeypatch):
    monkeypatch.setattr(vgg, "find_vgg19_checkpoint", lambda *a, **k: None)
    cfg = TrainConfig(model=name, steps=1, batch_size=2, width=W, lr=3e-4, baseline_recipe=recipe)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                      # SRGAN without its SRResNet warm start
        t = Trainer(cfg, faces, tmp_path, device="cpu", progress=False)
    kind, lrs = (EXPECTED_OPTIM if recipe == "source" else EXPECTED_OPTIM_V1).get(name, (torch.optim.Adam, [3e-4]))
    assert type(t.opt_g) is kind and [g["lr"] for g in t.opt_g.param_groups] == pytest.approx(lrs)
    if kind is torch.optim.Adam:
        assert t.opt_g.param_groups[0]["betas"] == ((0.9, 0.999) if name in EXPECTED_OPTIM else (0.5, 0.999))
    if t.opt_d is not None:
        assert type(t.opt_d) is kind and t.opt_d.param_groups[0]["lr"] == lrs[0]
        no_decay = name == "URDGN" or (name == "SRGAN" and recipe == "source")
        assert t.opt_d.param_groups[0]["weight_decay"] == (0.0 if no_decay else 1e-4)
    if name == "SRCNN" and recipe == "kit-v1":              # the last layer alone at 1e-5 (Dong et al. 2014)
        assert {id(p) for p in t.opt_g.param_groups[1]["params"]} == {id(p) for p in t.G.reconstruction.parameters()}
    if name == "SRCNN":
        assert t.opt_g.param_groups[0]["momentum"] == 0.9
    # baseline_optim='sgen': every model gets SGEN's Adam with the run's lr and betas
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same = Trainer(TrainConfig(model=name, steps=1, batch_size=2, width=W, lr=3e-4, baseline_optim="sgen"),
                       faces, tmp_path / "sgen", device="cpu", progress=False)
    assert type(same.opt_g) is torch.optim.Adam and [g["lr"] for g in same.opt_g.param_groups] == [3e-4]


def test_run_settings_choose_resampling_and_discriminator(faces, tmp_path):
    """resample / d_layout are run settings: built into G and D, saved with the generator, reloaded."""
    cfg = TrainConfig(model="SGEN", steps=1, batch_size=2, width=W, resample="pool", d_layout="kit-v1",
                      scales=[list(SCALES[0])])
    summary = train(cfg, faces, tmp_path / "run", device="cpu", progress=False)
    assert summary["config"]["resample"] == "pool" and summary["config"]["d_layout"] == "kit-v1"
    g = load_generator(tmp_path / "run")
    assert g.resample == "pool" and any(isinstance(m, torch.nn.AvgPool2d) for m in g.modules())
    t = Trainer(TrainConfig(model="SGEN", steps=1, batch_size=2, width=W), faces, tmp_path / "t", device="cpu",
                progress=False)
    assert t.G.resample == "strided" and t.D.layout == "authors"


# --------------------------------------------------------------------------------------------
# sgenlib.tables on synthetic per-image scores
# --------------------------------------------------------------------------------------------
def synthetic_per_image(models, n_images=5, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [{"model": m, "image_id": f"{i:06d}.jpg", "scale": sc,
             "psnr_db": 20 + j + 0.1 * k + rng.normal(0, 0.5), "ssim": 0.5 + 0.02 * j + rng.normal(0, 0.01)}
            for k, m in enumerate(models) for i in range(n_images) for j, sc in enumerate(SCALE_NAMES)]
    return pd.DataFrame(rows)


def _paper(model, scale, col):
    p = paper_results().drop_duplicates(["model", "scale"]).set_index(["model", "scale"])
    return p.loc[(model, scale), col]


@pytest.mark.parametrize("models", [ABLATION_MODELS, SOTA_MODELS], ids=["tables1-2", "tables3-4"])
def test_per_scale_table_columns_values_and_missing_model(models):
    missing = models[-1]
    per_image = synthetic_per_image([m for m in models if m != missing] + ["input"])
    t = T.per_scale_table(per_image, models)
    assert list(t.columns) == T.PER_SCALE_COLUMNS
    assert list(dict.fromkeys(t["model"])) == [*models, "input"]
    assert len(t) == 6 * (len(models) + 1)
    assert list(t.loc[t.model == models[0], "scale"]) == SCALE_NAMES
    for m in models:
        for sc in SCALE_NAMES:
            row = t[(t.model == m) & (t.scale == sc)].iloc[0]
            assert row.paper_psnr_db == pytest.approx(_paper(m, sc, "psnr_db"))
            assert row.paper_ssim == pytest.approx(_paper(m, sc, "ssim"))
            assert row.paper_mos == pytest.approx(_paper(m, sc, "mos"))
            if m == missing:
                assert np.isnan(row.psnr_db) and np.isnan(row.ssim) and np.isnan(row.psnr_diff_db)
                assert row.n_images == 0
            else:
                ours = per_image[(per_image.model == m) & (per_image.scale == sc)]
                assert row.psnr_db == pytest.approx(ours.psnr_db.mean())
                assert row.ssim == pytest.approx(ours.ssim.mean())
                assert row.psnr_ci_low <= row.psnr_db <= row.psnr_ci_high
                assert row.psnr_diff_db == pytest.approx(row.psnr_db - row.paper_psnr_db)
                assert row.ssim_diff == pytest.approx(row.ssim - row.paper_ssim)
                assert row.n_images == 5
            assert np.isnan(row.mos) and np.isnan(row.mos_diff) and row.mos_n_ratings == 0
    floor = t[t.model == "input"]
    assert floor.paper_psnr_db.isna().all() and floor.psnr_db.notna().all()
    assert T.missing_models(t) == [missing]
    notes = T.per_scale_notes(t, None, "ratings/")
    assert any(missing in n for n in notes) and any("no ratings" in n for n in notes)


def test_tables_without_any_scores_are_nan_not_errors():
    for t in (T.per_scale_table(None, ABLATION_MODELS),
              T.per_scale_table(synthetic_per_image(["input"]).iloc[:0], SOTA_MODELS)):
        assert list(t.columns) == T.PER_SCALE_COLUMNS
        assert t["psnr_db"].isna().all() and t["paper_psnr_db"].notna().all()
    t5 = T.n_study_table(None)
    assert list(t5.columns) == T.N_STUDY_COLUMNS and t5["psnr_db"].isna().all()
    assert list(t5["paper_psnr_db"]) == list(paper_n_study()["psnr_db"])


def test_our_mos_only_from_ratings():
    per_image = synthetic_per_image(ABLATION_MODELS)
    ratings = pd.DataFrame([{"rater": r, "image_id": f"{i:06d}.jpg", "scale": "128x96", "model": "SGEN",
                             "score": s, "time": "2024-01-01T00:00:00"}
                            for r, scores in (("r1", (4, 5)), ("r2", (3, 4))) for i, s in enumerate(scores)])
    t = T.per_scale_table(per_image, ABLATION_MODELS, ratings)
    cell = t[(t.model == "SGEN") & (t.scale == "128x96")].iloc[0]
    assert cell.mos == pytest.approx(4.0) and cell.mos_n_ratings == 4 and cell.mos_n_raters == 2
    assert cell.mos_ci_low < 4.0 < cell.mos_ci_high
    assert cell.mos_diff == pytest.approx(4.0 - _paper("SGEN", "128x96", "mos"))
    others = t[~((t.model == "SGEN") & (t.scale == "128x96"))]
    assert others["mos"].isna().all() and (others["mos_n_ratings"] == 0).all()
    assert others.loc[others.model != "input", "paper_mos"].notna().all()
    assert "4 ratings from 2 rater(s)" in T.mos_note(ratings, "x")


def test_paper_layout_splits_the_scales_as_the_paper():
    t = T.per_scale_table(synthetic_per_image(ABLATION_MODELS), ABLATION_MODELS)
    first, second = T.paper_split()
    assert first == SCALE_NAMES[:3] and second == SCALE_NAMES[3:]
    wide = T.paper_layout(t, first)
    assert list(wide["model"]) == ABLATION_MODELS
    assert list(wide.columns)[:7] == ["model", "128x96 PSNR", "128x96 PSNR paper", "128x96 SSIM",
                                      "128x96 SSIM paper", "128x96 MOS", "128x96 MOS paper"]
    assert len(wide.columns) == 1 + 3 * 6
    assert wide.set_index("model").loc["CEN", "160x128 PSNR paper"] == pytest.approx(23.88)


def test_n_study_table():
    models = list(N_STUDY_MODELS.values())
    per_image = synthetic_per_image(models[:2])            # N = 4 not trained
    summaries = pd.DataFrame({"model": models, "steps": [10, 10, 10], "train_seconds": [5.0, 10.0, 20.0],
                              T.STEADY_KEY: [0.5, 1.0, 2.0]})
    timing = pd.DataFrame({"model": models, "ms_per_image_batch1": [1.0, 2.0, 3.0],
                           "images_per_s_batched": [9.0, 8.0, 7.0]})
    cx = complexity_of_models(models, widths=(W, 1.0))
    t = T.n_study_table(per_image, summaries, timing, cx, width=W)
    assert list(t.columns) == T.N_STUDY_COLUMNS and list(t["n_levels"]) == [2, 3, 4]
    paper = paper_n_study()
    assert list(t["paper_psnr_db"]) == list(paper["psnr_db"]) == [24.13, 24.28, 24.49]
    assert list(t["paper_ssim"]) == [0.7289, 0.7373, 0.7463]
    assert list(t["paper_train_gpu_hours"]) == [20, 26, 35]
    assert [round(v, 2) for v in t["paper_train_ratio"]] == [0.77, 1.0, 1.35]
    n2 = per_image[per_image.model == "SGEN-MSE-N2"].groupby("image_id")[["psnr_db", "ssim"]].mean()
    row = t.iloc[0]
    assert row.psnr_db == pytest.approx(n2.psnr_db.mean()) and row.ssim == pytest.approx(n2.ssim.mean())
    assert row.psnr_ci_low <= row.psnr_db <= row.psnr_ci_high and row.n_images == 5
    assert row.psnr_diff_db == pytest.approx(row.psnr_db - 24.13)
    assert np.isnan(t.iloc[2].psnr_db) and t.iloc[2].n_images == 0            # missing: NaN, no error
    assert list(t["train_time_ratio"]) == pytest.approx([0.5, 1.0, 2.0])
    assert list(t["inference_ratio"]) == pytest.approx([0.5, 1.0, 1.5])
    assert t.iloc[1].gflops_ratio == 1.0 and t.iloc[2].gflops_ratio > 1
    # only N varies (512 channels at the top for every N): parameters and GFLOPs per N beside the paper's times
    assert list(t["params_w1"]) == [17_546_689, 32_393_025, 61_232_193]
    assert t.iloc[0].gflops_w1_ratio > 1    # N = 2's 512-channel top level sits at 1/8, not 1/16, of the input
    assert t.iloc[1].gflops_w1 > 20 and t.iloc[1].params_w1 > 1e7 > t.iloc[1].params
    assert list(t["padded_scales"]) == ["none", "none", "144x112, 176x144, 208x176"]
    notes = T.n_study_notes(t, timing)
    assert any("reflect-padded" in n and "N=4" in n for n in notes)
    assert any("SGEN-MSE-N4" in n and "NaN" in n for n in notes)
    layout = T.n_study_paper_layout(t)
    assert list(layout.columns) == ["quantity", "N=2", "N=3", "N=4"]
    assert layout.set_index("quantity").loc["PSNR (dB), paper", "N=4"] == 24.49
    assert layout.set_index("quantity").loc["parameters at width 1.0 (millions)", "N=2"] == pytest.approx(17.546689)
    assert any("Only N varies" in n for n in notes)


def test_complexity_of_all_twelve_models():
    cx = complexity_of_models(widths=(W,))
    assert list(cx.columns) == COMPLEXITY_COLUMNS and list(cx["model"]) == list(MODELS)
    assert (cx["gflops"] > 0).all() and (cx["size"] == "208x176").all()
    for rec in cx.to_dict("records"):
        assert rec["params"] == count_params(build_generator(rec["model"], width=W))
        assert np.isnan(rec["d_params_m"]) != MODELS[rec["model"]].adversarial
    n4 = cx.set_index("model").loc["SGEN-MSE-N4"]
    assert n4.computed_at == "224x192" and n4.size_multiple == 32
    paper = complexity_of_models(["SGEN"], widths=(1.0,)).iloc[0]
    assert 20 < paper.gflops < 30 and paper.params > 2e7  # meta device: paper width costs nothing


def test_summaries_notes_written_tables_and_gallery(tmp_path, faces, monkeypatch):
    monkeypatch.setattr(vgg, "find_vgg19_checkpoint", lambda *a, **k: None)
    st = open_study("smoke", results_dir=str(tmp_path / "results"), runs_dir=str(tmp_path / "runs"),
                    cache_dir=str(tmp_path / "cache"), device="cpu", width=W, steps=1, batch_size=2)
    # SRGAN not trained yet: its content loss is unknown, not an error
    summaries = S.training_summaries(st, ["SRGAN", "SRCNN"])
    assert summaries["train_seconds"].isna().all()
    assert any("unknown" in n for n in T.content_loss_notes(summaries))
    for name in ("SRCNN", "URDGN"):
        train(TrainConfig(model=name, steps=1, batch_size=2, width=W, seed=0, scales=[list(SCALES[0])]),
              faces, st.runs / name, device="cpu", progress=False)
    (st.runs / "SRGAN").mkdir(parents=True)
    (st.runs / "SRGAN" / "train_summary.json").write_text(json.dumps({"content_loss": "mse", "steps": 1}))
    summaries = S.training_summaries(st, ["SRGAN", "SRCNN", "URDGN"])
    assert summaries.set_index("model").loc["SRCNN", "steps"] == 1
    assert [n for n in T.content_loss_notes(summaries) if "'mse'" in n and "SRGAN (MSE content)" in n]
    table = T.per_scale_table(synthetic_per_image(["SRCNN", "URDGN", "SRGAN", "input"]), SOTA_MODELS,
                              summaries=summaries)
    # SRGAN fell back to pixel MSE: its rows say so in every table (and every figure drawn from it)
    assert "SRGAN" not in set(table["model"]) and (table["model"] == "SRGAN (MSE content)").sum() == 6
    assert set(T.paper_layout(table, T.paper_split()[0])["model"]) >= {"SRGAN (MSE content)"}
    notes = T.per_scale_notes(table, None, "none/", summaries)
    paths = S.write_per_scale_tables(st, table, "t34", ("t3", "t4"), "Tables 3-4 test", notes)
    assert [p.name for p in paths] == ["t34.csv", "t3.csv", "t4.csv"]
    md = (st.results / "tables" / "t34.md").read_text()
    assert "SRGAN (MSE content): content loss 'mse'" in md and "SMOKE" in md
    # the notes say which optimizer each baseline used (run summaries) or will use (defaults)
    assert ("SRCNN optimizer used: sgd lr 0.0001, patch_extraction.0.bias lr x0.1, nonlinear_mapping.0.bias lr x0.1, "
            "reconstruction.0.weight lr x0.1, reconstruction.0.bias lr x0.1, momentum 0.9") in md
    assert ("SRGAN optimizer (default, not trained yet): adam lr 0.0001, betas (0.9, 0.999), D weight decay 0, "
            "lr schedule halves") in md
    assert "URDGN optimizer used: rmsprop lr 0.001, alpha 0.9, D weight decay 0" in md
    assert "RED-Net optimizer (default, not trained yet): adam lr 0.0001" in md
    assert pd.read_csv(st.results / "tables" / "t3.csv").shape == (len(SOTA_MODELS) + 1, 19)
    assert "SRGAN (MSE content)" in set(pd.read_csv(st.results / "tables" / "t34.csv")["model"])
    # any table written for this study (claims, MOS, ...) and the viewer's panels name the fallback SRGAN the same way
    assert S.trained_labels(st) == {"SRGAN": "SRGAN (MSE content)"}
    S.write_table(st, pd.DataFrame({"reference": ["SGEN", "SGEN"], "model": ["SRGAN", "SRCNN"],
                                    "claim": ["SGEN > SRGAN", "x"]}), "other", "other")
    other = pd.read_csv(st.results / "tables" / "other.csv")
    assert list(other["model"]) == ["SRGAN (MSE content)", "SRCNN"] and list(other["claim"]) == ["SGEN > SRGAN", "x"]
    from sgenlib import figures as F
    (st.results / "training").mkdir(parents=True, exist_ok=True)
    (st.results / "training" / "SRGAN_summary.json").write_text(json.dumps({"content_loss": "mse"}))
    pd.DataFrame({c: [1, 2] for c in LOSS_COLUMNS}).to_csv(st.results / "training" / "SRGAN_losses.csv", index=False)
    fig = F.training_curves({"SRGAN": st.results / "training" / "SRGAN_losses.csv"})
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["SRGAN (MSE content)"]
    fig = F.metric_vs_scale(table)
    assert "SRGAN (MSE content)" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    # the gallery keeps earlier models' rows when a notebook renders only its own
    st.test = evaluate.TestSet(faces[:3], ["a", "b", "c"], st.degrade, 0, SCALES, "cpu")
    S.update_gallery(st, ["SRCNN"], progress=False)
    index = S.update_gallery(st, ["URDGN", "SGEN"], progress=False)   # SGEN: not trained, skipped
    on_disk = pd.read_csv(st.results / "gallery" / "index.csv", dtype={"image_id": str})
    assert set(on_disk["model"]) == set(index["model"]) == {"ground_truth", "input", "SRCNN", "URDGN"}
    assert len(on_disk) == 4 * 2 * 6                                        # 2 panel images x 6 scales
    assert all((st.results / "gallery" / p).is_file() for p in on_disk["path"])
