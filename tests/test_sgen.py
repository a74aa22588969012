"""SGEN (eqs. 1-9): shapes at the six scales for N = 1..4, the size rule, resampling operators, the
channel schedule of the N study, which tensors feed each fusion (eqs. 4 and 7), fusions and gates,
the discriminator's layout, restore()."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from sgenlib.archs import build_discriminator, build_generator, forward_padded
from sgenlib.archs.discriminator import GAPDiscriminator
from sgenlib.archs.sgen import SGEN, SGU, down, up
from sgenlib.complexity import count_params
from sgenlib.inference import restore
from sgenlib.paper import SCALES


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_padding_is_a_no_op_where_sides_divide(n):
    """forward_padded equals the plain forward wherever the sides divide by 2^(N+1) (N = 1 is
    covered here only; every model's shapes and gradients at the six scales are in
    test_models_protocol.test_forward_backward_at_all_six_scales)."""
    torch.manual_seed(0)
    g = SGEN(n_levels=n, width=0.125)
    for h, w in SCALES:
        x = torch.randn(2, 1, h, w)
        y = forward_padded(g, x)
        assert y.shape == x.shape and y.abs().max() <= 1
        if h % 2 ** (n + 1) == 0 and w % 2 ** (n + 1) == 0:
            assert torch.equal(g(x), y)


def test_size_rule_error():
    g = SGEN(n_levels=3, width=0.125)
    with pytest.raises(ValueError, match="divisible by 2\\^\\(N\\+1\\) = 16"):
        g(torch.zeros(1, 1, 120, 96))
    g4 = SGEN(n_levels=4, width=0.125)
    with pytest.raises(ValueError, match="32"):
        g4(torch.zeros(1, 1, 144, 112))
    with pytest.raises(ValueError, match="n_levels"):
        SGEN(n_levels=0)


@pytest.mark.parametrize("name", ["SGEN", "SGEN-MSE"])
def test_paper_width_strided_is_the_authors_generator(name):
    """32,393,025 parameters (the authors' generator, docs/protocol.md), with their single strided
    resampling layers: eX1 a 5x5 stride-8 conv, eX2 stride 4; dx2 a stride-4 transposed conv
    (output_padding 3), dx3 stride 8 (output_padding 7)."""
    g = build_generator(name)
    assert g.resample == "strided"
    assert count_params(g) == 32_393_025
    assert g.encoders[-1].out_channels == 512 and g.head.in_channels == 32
    convs = [m for m in g.base_encoders.modules() if type(m) is nn.Conv2d]
    assert [(m.stride, m.kernel_size, m.padding) for m in convs] == [((8, 8), (5, 5), (2, 2)),
                                                                   ((4, 4), (5, 5), (2, 2)),
                                                                   ((2, 2), (5, 5), (2, 2))]
    deconvs = [m for m in g.base_decoders.modules() if type(m) is nn.ConvTranspose2d]
    assert [(m.stride, m.output_padding) for m in deconvs] == [((2, 2), (1, 1)), ((4, 4), (3, 3)), ((8, 8), (7, 7))]
    assert not any(isinstance(m, (nn.AvgPool2d, nn.Upsample)) for m in g.modules())
    pooled = SGEN(resample="pool")
    assert count_params(pooled) == 32_393_025                       # same parameters, another function
    assert max(m.stride[0] for m in pooled.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))) == 2
    with pytest.raises(ValueError, match="resample"):
        SGEN(resample="bilinear")


@pytest.mark.parametrize("factor", [2, 4, 8, 16])
@pytest.mark.parametrize("resample", ["strided", "pool"])
def test_resampling_sizes_exact_at_six_scales(factor, resample):
    d, u = down(2, 3, factor, resample=resample), up(3, 2, factor, resample=resample)
    for h, w in SCALES:
        y = d(torch.zeros(1, 2, h, w))
        assert y.shape == (1, 3, h // factor, w // factor)
        assert u(y).shape == (1, 2, h, w)
    if resample == "strided":
        assert len(d) == len(u) == 1 and d[0].stride == (factor, factor) and u[0].output_padding == (factor - 1,) * 2


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("resample", ["strided", "pool"])
def test_base_encoder_decoder_sizes_all_scales(n, resample):
    """Every base-encoder output is exactly 1 / 2^(N+1) of the input, every base-decoder output Y_k
    exactly 1 / 2^(N+1-k), at each of the six scales (reflect-padded to 2^(N+1) where needed)."""
    g = SGEN(n_levels=n, width=0.0625, resample=resample).eval()
    seen = []
    hooks = [m.register_forward_hook(lambda mod, i, o, tag=tag: seen.append((tag, tuple(o.shape[-2:]))))
             for tag, mods in (("X", g.base_encoders), ("Y", g.base_decoders)) for m in mods]
    m = g.size_multiple
    for h, w in SCALES:
        hp, wp = h + (-h) % m, w + (-w) % m
        seen.clear()
        with torch.no_grad():
            forward_padded(g, torch.zeros(1, 1, h, w))
        top = (hp // 2 ** (n + 1), wp // 2 ** (n + 1))
        assert [s for tag, s in seen if tag == "X"] == [top] * n
        assert [s for tag, s in seen if tag == "Y"] == [(hp // 2 ** (n + 1 - k), wp // 2 ** (n + 1 - k))
                                                        for k in range(1, n + 1)]
    for hook in hooks:
        hook.remove()


def expected_channels(n: int, ngf: int = 64) -> dict[str, list[int]]:
    """The channel schedule of the module docstring, written out independently of the model."""
    cap = 8 * ngf
    x = [min(ngf * 2 ** k, cap) for k in range(1, n)] + [cap]
    y = [min(ngf // 2 * 2 ** (n - k), cap) for k in range(1, n + 1)]
    return {"x": x, "X": [cap] * n, "Y": [min(2 * y[0], cap)] + y[:-1], "y": y}


def test_n_study_channel_schedule_keeps_512_at_the_top():
    assert expected_channels(3) == {"x": [128, 256, 512], "X": [512] * 3, "Y": [256, 128, 64], "y": [128, 64, 32]}
    assert expected_channels(2) == {"x": [128, 512], "X": [512] * 2, "Y": [128, 64], "y": [64, 32]}
    assert expected_channels(4) == {"x": [128, 256, 512, 512], "X": [512] * 4, "Y": [512, 256, 128, 64],
                                    "y": [256, 128, 64, 32]}
    for n, name in ((2, "SGEN-MSE-N2"), (3, "SGEN-MSE"), (4, "SGEN-MSE-N4")):
        with torch.device("meta"):
            g = build_generator(name)
        assert g.n_levels == n
        assert g.encoders[-1].out_channels == 512                          # x_N
        assert {m[0].out_channels for m in g.base_encoders} == {512}        # X_1..X_N
        assert {m[0].in_channels for m in g.base_decoders} == {512}
        exp = expected_channels(n)
        assert [m.out_channels for m in g.encoders] == exp["x"]
        assert [m[0].out_channels for m in g.base_decoders] == exp["Y"]
        assert [m[0].out_channels for m in g.decoders] == exp["y"]


# ---- wiring of eqs. (1)-(8): which tensors feed each fusion, in the order of the equations ----------
def _trace(g: SGEN, s: torch.Tensor):
    """Run g on s and return (named tensors, fusion calls, module inputs). Named tensors, from the
    outputs of the layers and the activations of eqs. (1)-(7): x_k, X_k (X_1 = lrelu(conv(x_1)), then the
    fusion outputs), E_k = lrelu(conv_{2^(N-k+1)}(x_k)) for k >= 2, Y_k, y_k."""
    named, fusions, inputs, hooks = {}, [], {}, []
    lrelu = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731

    def keep(mod, tag, act):
        def hook(module, inp, out):
            inputs[tag] = inp[0]
            named[tag] = act(out)
        hooks.append(mod.register_forward_hook(hook))

    for k, m in enumerate(g.encoders, 1):
        keep(m, f"x{k}", lrelu)
    for k, m in enumerate(g.base_encoders, 1):
        keep(m, "X1" if k == 1 else f"E{k}", lrelu)
    for k, m in enumerate(g.base_decoders, 1):
        keep(m, f"Y{k}", F.relu)
    for k, m in enumerate(g.decoders, 1):
        keep(m, f"y{k}", F.relu)
    for kind, mods in (("enc", g.encoder_fusions), ("dec", g.decoder_fusions)):
        for k, m in enumerate(mods, 2):
            def hook(module, inp, out, kind=kind, k=k):
                fusions.append((kind, k, inp[0], inp[1]))
                if kind == "enc":
                    named[f"X{k}"] = out
                inputs[f"{kind}-fusion{k}-out"] = out
            hooks.append(m.register_forward_hook(hook))
    hooks.append(g.head.register_forward_hook(lambda module, inp, out: inputs.__setitem__("head", inp[0])))
    with torch.no_grad():
        g(s)
    for h in hooks:
        h.remove()
    return named, fusions, inputs


def _name_of(t: torch.Tensor, named: dict) -> str:
    hits = [k for k, v in named.items() if v.shape == t.shape and torch.equal(v, t)]
    assert len(hits) == 1, f"tensor {tuple(t.shape)} matches {hits}"
    return hits[0]


@pytest.mark.parametrize("n", [2, 3, 4])
@pytest.mark.parametrize("fusion", ["sgu", "concat"])
def test_wiring_of_equations_1_to_8(n, fusion):
    """For N = 2, 3, 4: each fusion of eq. (4) gets active E_k = lrelu(conv_{2^(N-k+1)}(x_k)) and passive
    X_{k-1} at 1/2^(N+1) of the input with 8*ngf channels, k = 2..N in order; each fusion of eq. (7) gets
    active Y_k = relu(deconv_{2^k}(X_{N-k+1})) and passive y_{k-1} at 1/2^(N+1-k), k = 2..N in order; the
    base-en/decoders and decoders read the tensors eqs. (3), (5)-(7) name, and eq. (8) reads y_N."""
    torch.manual_seed(0)
    ngf, width = 64, 0.125
    g = SGEN(n_levels=n, width=width, fusion=fusion).eval()
    h, w = 64, 96
    named, fusions, inputs = _trace(g, torch.randn(1, 1, h, w))
    ch = expected_channels(n, round(ngf * width))

    def desc(name):
        t = named[name]
        return name, t.shape[-2], t.shape[-1], t.shape[1]

    got = [(kind, k, desc(_name_of(a, named)), desc(_name_of(p, named))) for kind, k, a, p in fusions]
    top = (h // 2 ** (n + 1), w // 2 ** (n + 1))
    expected = [("enc", k, (f"E{k}", *top, ch["X"][k - 1]), (f"X{k - 1}", *top, ch["X"][k - 2]))
                for k in range(2, n + 1)]
    expected += [("dec", k, (f"Y{k}", h // 2 ** (n + 1 - k), w // 2 ** (n + 1 - k), ch["Y"][k - 1]),
                  (f"y{k - 1}", h // 2 ** (n + 1 - k), w // 2 ** (n + 1 - k), ch["y"][k - 2]))
                 for k in range(2, n + 1)]
    assert got == expected
    # eqs. (1)-(3): x_k from x_{k-1}; X_1 and E_k from x_k
    for k in range(2, n + 1):
        assert _name_of(inputs[f"x{k}"], named) == f"x{k - 1}"
        assert _name_of(inputs[f"E{k}"], named) == f"x{k}"
    assert _name_of(inputs["X1"], named) == "x1"
    # eq. (5): Y_k from X_{N-k+1}; eq. (6): y_1 from Y_1; eq. (7): y_k from the k-th decoder fusion; eq. (8)
    for k in range(1, n + 1):
        assert _name_of(inputs[f"Y{k}"], named) == f"X{n - k + 1}"
    assert _name_of(inputs["y1"], named) == "Y1"
    for k in range(2, n + 1):
        assert torch.equal(inputs[f"y{k}"], inputs[f"dec-fusion{k}-out"])
    assert _name_of(inputs["head"], named) == f"y{n}"


def test_sgu_is_equation_9():
    torch.manual_seed(0)
    sgu = SGU(4, gate="sigmoid")
    xa, xp = torch.randn(1, 4, 6, 6), torch.randn(1, 4, 6, 6)
    expected = torch.sigmoid(sgu.gate_active(xa)) * xa + torch.sigmoid(sgu.gate_passive(xa)) * xp
    assert torch.allclose(sgu(xa, xp), expected)
    # the gates are computed from the active input only
    assert torch.allclose(sgu(xa, xp * 0), torch.sigmoid(sgu.gate_active(xa)) * xa)
    lrelu = SGU(4, gate="lrelu")
    assert not torch.allclose(lrelu(xa, xp), expected)
    with pytest.raises(ValueError, match="gate"):
        SGU(4, gate="tanh")


def test_discriminator_any_scale():
    for layout in ("authors", "kit-v1"):
        d = GAPDiscriminator(width=0.125, layout=layout)
        for h, w in SCALES:
            assert d(torch.randn(3, 1, h, w)).shape == (3,)
    with pytest.raises(ValueError, match="layout"):
        GAPDiscriminator(layout="patch")


def test_discriminator_is_the_authors_layout():
    """ReflectionPad(3) + 7x7 conv (no bias) + BN + ReLU; three 3x3 stride-2 convs (padding 1, no bias)
    + BN + ReLU, 64 -> 128 -> 256 -> 512; global average pooling; linear to one logit."""
    d = build_discriminator("SGEN")
    assert d.layout == "authors"
    kinds = [type(m) for m in d.features]
    assert kinds == [nn.ReflectionPad2d, nn.Conv2d, nn.BatchNorm2d, nn.ReLU] + [nn.Conv2d, nn.BatchNorm2d, nn.ReLU] * 3
    assert d.features[0].padding == (3, 3, 3, 3)
    convs = [m for m in d.features if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], m.padding[0]) for m in convs] == [
        (1, 64, 7, 1, 0), (64, 128, 3, 2, 1), (128, 256, 3, 2, 1), (256, 512, 3, 2, 1)]
    assert all(m.bias is None for m in convs)
    assert (d.classify.in_features, d.classify.out_features) == (512, 1)
    by_hand = 49 * 64 + 9 * (64 * 128 + 128 * 256 + 256 * 512) + 2 * (64 + 128 + 256 + 512) + 512 + 1
    assert count_params(d) == by_hand == 1_553_857
    assert count_params(GAPDiscriminator(layout="kit-v1")) == 4_307_329
    for name in ("MEN", "AEN", "CEN"):
        assert count_params(build_discriminator(name)) == 1_553_857


@pytest.mark.parametrize("size", [(16, 16), (37, 53), (218, 178), (100, 17)])
@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "I;16", "P"])
def test_restore_any_size_and_mode(size, mode):
    torch.manual_seed(0)
    g = SGEN(n_levels=3, width=0.125).eval()
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (*size, 3), dtype=np.uint8)).convert(mode)
    out = restore(g, img)
    assert out.size == img.size and out.mode == "L"


def test_restore_arrays_rgb_model_and_upscale():
    g = SGEN(in_channels=3, n_levels=2, width=0.125).eval()
    arr = np.random.default_rng(0).integers(0, 255, (20, 30), dtype=np.uint8)
    out = restore(g, arr)
    assert out.mode == "RGB" and out.size == (30, 20)
    up = restore(g, arr, upscale=4)
    assert up.size == (120, 80)
    with pytest.raises(ValueError, match="at least 16"):
        restore(g, np.zeros((8, 40), np.uint8))
    with pytest.raises(ValueError, match="shape"):
        restore(g, np.zeros((20, 20, 2), np.uint8))
    with pytest.raises(ValueError, match="upscale"):
        restore(g, arr, upscale=0)
