"""Fast tests of the baseline architectures, the VGG content loss and the complexity helper."""
from __future__ import annotations

import pandas as pd
import pytest
import torch
from torch import nn

from sgenlib.archs.baselines import BASELINE_DISCRIMINATORS, BASELINE_GENERATORS
from sgenlib.archs.rednet import REDNet
from sgenlib.archs.srcnn import SRCNN
from sgenlib.archs.srresnet import SRResNet
from sgenlib.archs.urdgn import URDGNDiscriminator, URDGNGenerator
from sgenlib.archs import vgg
from sgenlib.archs import build_generator
from sgenlib.complexity import COMPLEXITY_COLUMNS, complexity_of_models, count_params, gflops

SCALES = [(128 + 16 * i, 96 + 16 * i) for i in range(6)]
W = 0.125  # small widths keep the whole file fast on a 2-core CPU

# (registry name, constructor options) for every generator variant under test
GENERATOR_CASES = [(name, {}) for name in BASELINE_GENERATORS] + [
    ("SRResNet", {"upsample": "unshuffle"}), ("SRResNet", {"upsample": "none"}), ("URDGN", {"layout": "kit-v1"}),
    ("RED-Net", {"features": 128, "n_layers": 10})]
CASE_IDS = [name + ("-" + "-".join(map(str, opts.values())) if opts else "") for name, opts in GENERATOR_CASES]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def _first_conv(model: nn.Module) -> nn.Module:
    return next(m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))


@pytest.mark.parametrize("name,opts", GENERATOR_CASES, ids=CASE_IDS)
def test_generator_all_scales_forward_backward(name, opts):
    model = BASELINE_GENERATORS[name](in_channels=1, width=W, **opts)
    assert isinstance(model.size_multiple, int) and model.size_multiple >= 1
    first = _first_conv(model)
    for h, w in SCALES:
        assert h % model.size_multiple == 0 and w % model.size_multiple == 0
        x = torch.rand(2, 1, h, w) * 2 - 1
        model.zero_grad(set_to_none=True)
        y = model(x)
        assert y.shape == x.shape, (name, h, w)
        assert torch.isfinite(y).all()
        assert y.min() >= -1.0 and y.max() <= 1.0
        y.square().mean().backward()
        g = first.weight.grad
        assert g is not None and torch.isfinite(g).all() and g.abs().sum() > 0, (name, h, w)


@pytest.mark.parametrize("name,opts", GENERATOR_CASES, ids=CASE_IDS)
def test_generator_rgb(name, opts):
    model = BASELINE_GENERATORS[name](in_channels=3, width=W, **opts).eval()
    x = torch.rand(1, 3, 128, 96) * 2 - 1
    with torch.no_grad():
        y = model(x)
    assert y.shape == x.shape
    assert y.min() >= -1.0 and y.max() <= 1.0


def test_every_generator_class_sets_size_multiple():
    for cls in BASELINE_GENERATORS.values():
        assert "size_multiple" in vars(cls), cls.__name__
        assert isinstance(cls.size_multiple, int)
    assert SRCNN.size_multiple == 1 and REDNet.size_multiple == 1 and SRResNet.size_multiple == 4
    assert URDGNGenerator.size_multiple == 4 and URDGNGenerator(width=W).size_multiple == 4
    assert SRResNet(width=W, upsample="unshuffle").size_multiple == 4
    assert SRResNet(width=W, upsample="none").size_multiple == 1
    assert URDGNGenerator(width=W, layout="kit-v1").size_multiple == 8
    assert URDGNGenerator(width=W, layout="kit-v1", depth=2).size_multiple == 4


@pytest.mark.parametrize("name,opts", GENERATOR_CASES, ids=CASE_IDS)
def test_bad_size_raises_value_error(name, opts):
    model = BASELINE_GENERATORS[name](in_channels=1, width=W, **opts).eval()
    m = model.size_multiple
    h, w = 8 * m + 2, 6 * m  # H not a multiple of m whenever m > 1
    x = torch.zeros(1, 1, h, w)
    if m == 1:
        with torch.no_grad():
            assert model(torch.zeros(1, 1, 37, 29)).shape == (1, 1, 37, 29)
    else:
        with pytest.raises(ValueError) as err:
            model(x)
        assert f"{h}x{w}" in str(err.value) and str(m) in str(err.value)
    with pytest.raises(ValueError):
        model(torch.zeros(1, 2, 8 * m, 8 * m))  # wrong channel count


def _record_inputs(model: nn.Module, kinds):
    """A list that each forward fills with (module name, input shape) of every module of `kinds`, in
    call order, and the hooks that fill it (remove them after use)."""
    calls, hooks = [], []

    def hook(name):
        return lambda mod, inp, out: calls.append((name, tuple(inp[0].shape)))

    for name, m in model.named_modules():
        if isinstance(m, kinds):
            hooks.append(m.register_forward_hook(hook(name)))
    return calls, hooks


def test_srresnet_default_is_ledig_on_the_lowres_image():
    """Default SRResNet: the LR image is x[..., ::4, ::4]; the 16 residual blocks run at 1/4 resolution
    with 64 channels; two sub-pixel x2 stages (conv to 256, pixel shuffle) bring it back to H x W."""
    model = SRResNet().eval()
    assert model.upsample_mode == "subsample" and model.size_multiple == 4
    assert model.head[0].in_channels == 1 and model.head[0].out_channels == 64
    calls, hooks = _record_inputs(model, (nn.Conv2d, nn.PixelShuffle))
    with torch.no_grad():
        model(torch.zeros(1, 1, 208, 176))
    for h in hooks:
        h.remove()
    body = [shape for name, shape in calls if name.startswith("body.")]
    assert len(body) == 32 and all(shape == (1, 64, 52, 44) for shape in body)      # 16 blocks x 2 convs
    shuffles = [shape for name, shape in calls if isinstance(model.get_submodule(name), nn.PixelShuffle)]
    assert shuffles == [(1, 256, 52, 44), (1, 256, 104, 88)]
    assert calls[-1] == ("tail.0", (1, 64, 208, 176))
    # the network reads exactly the LR pixels: changing any other pixel changes nothing
    x = torch.rand(1, 1, 64, 48) * 2 - 1
    lr_only = torch.zeros_like(x)
    lr_only[..., ::4, ::4] = x[..., ::4, ::4]
    with torch.no_grad():
        assert torch.equal(model(x), model(lr_only))
    nearest = torch.nn.functional.interpolate(x[..., ::4, ::4], scale_factor=4, mode="nearest")
    assert torch.equal(nearest[..., ::4, ::4], x[..., ::4, ::4])


def test_srresnet_options():
    model = SRResNet(width=W, upsample="unshuffle").eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 1, 36, 20)).shape == (1, 1, 36, 20)  # multiple of 4, not of 8
    with pytest.raises(ValueError, match=r"34x20.*multiple of 4"):
        model(torch.zeros(1, 1, 34, 20))
    assert isinstance(model.space_to_depth, nn.PixelUnshuffle) and model.head[0].in_channels == 16
    assert len([m for m in model.modules() if isinstance(m, nn.PixelShuffle)]) == 2
    plain = SRResNet(width=W, upsample="none")
    assert not any(isinstance(m, (nn.PixelShuffle, nn.PixelUnshuffle)) for m in plain.modules())
    with pytest.raises(ValueError, match="upsample"):
        SRResNet(upsample="lowres")


def test_urdgn_authors_layout():
    """URDGN as its released code, adapted x8 -> x4: LR image, convs 16, 64 at 1/4, x2, conv 128, x2,
    conv 256, conv to the image; discriminator conv5 32/64/128/96 + max pooling, dense 1024, dense 1."""
    g = URDGNGenerator().eval()
    calls, hooks = _record_inputs(g, nn.Conv2d)
    with torch.no_grad():
        assert g(torch.zeros(1, 1, 208, 176)).shape == (1, 1, 208, 176)
    for h in hooks:
        h.remove()
    assert [shape for _, shape in calls] == [(1, 1, 52, 44), (1, 16, 52, 44), (1, 64, 104, 88),
                                             (1, 128, 208, 176), (1, 256, 208, 176)]
    assert [m.kernel_size[0] for m in g.modules() if isinstance(m, nn.Conv2d)] == [3, 3, 5, 5, 5]
    assert count_params(g) == (9 * 16 + 16 + 32) + (9 * 16 * 64 + 64 + 128) + (25 * 64 * 128 + 128 + 256) + (
        25 * 128 * 256 + 256 + 512) + (25 * 256 + 1)
    d = URDGNDiscriminator()
    assert [m.out_channels for m in d.modules() if isinstance(m, nn.Conv2d)] == [32, 64, 128, 96]
    linears = [m for m in d.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(8 * 8 * 96, 1024), (1024, 1)]
    for h, w in SCALES:
        assert d(torch.zeros(2, 1, h, w)).shape == (2,)
    with pytest.raises(ValueError, match="layout"):
        URDGNGenerator(layout="x")


def test_srcnn_param_count():
    by_hand = (9 * 9 * 1 * 64 + 64) + (1 * 1 * 64 * 32 + 32) + (5 * 5 * 32 * 1 + 1)
    assert by_hand == 8129
    assert count_params(SRCNN(in_channels=1, width=1.0)) == by_hand
    assert count_params(SRCNN(in_channels=1, width=0.5)) == (81 * 32 + 32) + (32 * 16 + 16) + (25 * 16 + 1)


@pytest.mark.parametrize("n_layers", [30, 10])
def test_rednet_layer_count(n_layers):
    model = REDNet(width=W, n_layers=n_layers)
    convs = [m for m in model.modules() if type(m) is nn.Conv2d]
    deconvs = [m for m in model.modules() if type(m) is nn.ConvTranspose2d]
    assert len(convs) == len(deconvs) == n_layers // 2
    assert len(convs) + len(deconvs) == n_layers
    assert all(m.kernel_size == (3, 3) and m.stride == (1, 1) for m in convs + deconvs)
    # skips every two layers plus the input-to-output skip on the last deconv
    n = n_layers // 2
    # deconv_j (j = 1..n) mirrors x_(n-j); skips from the even conv maps, x_0 = input last
    assert model.skip_from == [k if k % 2 == 0 else None for k in range(n - 1, -1, -1)]
    assert model.skip_from[-1] == 0
    with pytest.raises(ValueError):
        REDNet(n_layers=29)


def test_rednet_default_width():
    model = REDNet()
    assert model.n_layers == 30                                   # RED30, the paper's main model
    assert model.encoder[0][0].out_channels == 128                # the released model definition
    assert REDNet(features=64, n_layers=10).encoder[0][0].out_channels == 64     # kit v1
    assert REDNet(width=0.25).encoder[0][0].out_channels == 32


@pytest.mark.parametrize("name", list(BASELINE_DISCRIMINATORS))
@pytest.mark.parametrize("in_channels", [1, 3])
def test_discriminator_logits_all_scales(name, in_channels):
    disc = BASELINE_DISCRIMINATORS[name](in_channels=in_channels, width=W)
    for h, w in SCALES:
        x = torch.rand(2, in_channels, h, w) * 2 - 1
        logits = disc(x)
        assert logits.shape == (2,)
        assert torch.isfinite(logits).all()
    logits.sum().backward()
    assert _first_conv(disc).weight.grad is not None


def test_discriminator_odd_size():
    for cls in BASELINE_DISCRIMINATORS.values():
        disc = cls(width=W).eval()
        with torch.no_grad():
            assert disc(torch.zeros(3, 1, 100, 70)).shape == (3,)


# --------------------------------------------------------------------------- VGG content loss


@pytest.fixture
def hub_dir(tmp_path):
    old = torch.hub.get_dir()
    hub = tmp_path / "hub"
    hub.mkdir()
    torch.hub.set_dir(str(hub))
    try:
        yield hub
    finally:
        torch.hub.set_dir(old)


def test_vgg19_layout_matches_torchvision_keys():
    sd = vgg.VGG19Features().state_dict()
    conv_idx = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]  # torchvision vgg19
    assert sorted(sd) == sorted(f"features.{i}.{t}" for i in conv_idx for t in ("weight", "bias"))
    assert sd["features.0.weight"].shape == (64, 3, 3, 3)
    assert sd["features.34.weight"].shape == (512, 512, 3, 3)
    feats = vgg.VGG19Features().features
    assert len(feats) == 37
    assert isinstance(feats[vgg.PHI_54_END - 1], nn.ReLU) and isinstance(feats[vgg.PHI_54_END], nn.MaxPool2d)


def test_content_loss_falls_back_to_mse_without_checkpoint(hub_dir):
    assert vgg.find_vgg19_checkpoint() is None
    loss_fn, name = vgg.make_content_loss()
    assert name == "mse"
    a, b = torch.zeros(1, 1, 8, 8), torch.ones(1, 1, 8, 8)
    assert float(loss_fn(a, b)) == pytest.approx(1.0)


def test_content_loss_loads_local_vgg19(hub_dir):
    state = vgg.VGG19Features().state_dict()
    state["classifier.6.weight"] = torch.zeros(2, 2)  # extra torchvision keys are ignored
    (hub_dir / "checkpoints").mkdir()
    path = hub_dir / "checkpoints" / "vgg19-dcbb9e9d.pth"
    torch.save(state, path)
    assert vgg.find_vgg19_checkpoint() == path

    loss_fn, name = vgg.make_content_loss()
    assert name == "vgg19_54"
    assert not any(p.requires_grad for p in loss_fn.parameters())
    loaded = loss_fn.vgg.state_dict()
    assert torch.equal(loaded["features.34.weight"], state["features.34.weight"])

    pred = (torch.rand(2, 1, 64, 48) * 2 - 1).requires_grad_(True)
    target = torch.rand(2, 1, 64, 48) * 2 - 1
    loss = loss_fn(pred, target)
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    assert float(loss_fn(target, target)) == pytest.approx(0.0, abs=1e-12)

    rgb = loss_fn(torch.rand(1, 3, 32, 32) * 2 - 1, torch.rand(1, 3, 32, 32) * 2 - 1)
    assert torch.isfinite(rgb)

    assert vgg.make_content_loss(prefer_vgg=False)[1] == "mse"


def test_content_loss_explicit_checkpoint(tmp_path, hub_dir):
    path = tmp_path / "my_vgg.pth"
    torch.save(vgg.VGG19Features().state_dict(), path)
    assert vgg.find_vgg19_checkpoint() is None  # the hub cache is empty
    _, name = vgg.make_content_loss(checkpoint=path)
    assert name == "vgg19_54"
    with pytest.raises(FileNotFoundError):
        vgg.make_content_loss(checkpoint=tmp_path / "missing.pth")


# --------------------------------------------------------------------------- complexity


def test_gflops_single_conv_by_hand():
    conv = nn.Conv2d(2, 4, kernel_size=3, padding=1)
    h, w = 8, 6
    by_hand = 2 * (4 * 2 * 3 * 3) * (h * w)  # multiply-adds x 2, bias not counted
    assert gflops(conv, in_channels=2, size=(h, w)) == pytest.approx(by_hand / 1e9)
    assert count_params(conv) == 4 * 2 * 9 + 4


def test_gflops_transposed_conv_by_hand():
    deconv = nn.ConvTranspose2d(3, 5, kernel_size=4, stride=2, padding=1)
    h, w = 8, 6  # a transposed conv spreads every input position over the full kernel
    by_hand = 2 * (3 * 5 * 4 * 4) * (h * w)
    assert gflops(deconv, in_channels=3, size=(h, w)) == pytest.approx(by_hand / 1e9)


def test_gflops_restores_mode_and_table():
    model = SRCNN(width=W)
    model.train()
    g = gflops(model, size=(32, 24))
    assert model.training
    n1, n2 = 8, 4
    by_hand = 2 * (81 * n1 + n1 * n2 + 25 * n2) * 32 * 24
    assert g == pytest.approx(by_hand / 1e9)
    # the complexity table counts the same network (built on the meta device, through forward_padded)
    table = complexity_of_models(["SRCNN"], widths=(W,), size=(32, 24))
    assert isinstance(table, pd.DataFrame) and list(table.columns) == COMPLEXITY_COLUMNS
    assert table.loc[0, "params"] == count_params(build_generator("SRCNN", width=W)) == count_params(model)
    assert table.loc[0, "params_m"] == pytest.approx(count_params(model) / 1e6)
    assert table.loc[0, "gflops"] == pytest.approx(g)
