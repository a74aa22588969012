"""SGEN (eqs. 1-9): shapes at the six scales for N = 1..4, the size rule, fusions and gates, restore()."""
import numpy as np
import pytest
import torch
from PIL import Image

from sgenlib.archs import SGEN_FAMILY, build_generator, forward_padded
from sgenlib.archs.discriminator import GAPDiscriminator
from sgenlib.archs.sgen import SGEN, SGU
from sgenlib.inference import restore
from sgenlib.paper import SCALES


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_output_shapes_all_scales(n):
    torch.manual_seed(0)
    g = SGEN(n_levels=n, width=0.125)
    for h, w in SCALES:
        x = torch.randn(2, 1, h, w)
        y = forward_padded(g, x)
        assert y.shape == x.shape
        assert y.abs().max() <= 1
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


def test_paper_width_matches_notes():
    g = SGEN(n_levels=3)
    params = sum(p.numel() for p in g.parameters())
    assert 25e6 < params < 35e6          # NOTES.md: about 28.4 M in the authors' code
    assert g.encoders[-1].out_channels == 512 and g.head.in_channels == 32


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


def test_ablations_share_everything_but_fusion():
    shapes = {}
    for name in ("SGEN", "MEN", "AEN", "CEN"):
        g = build_generator(name, width=0.125)
        shapes[name] = {k: v.shape for k, v in g.state_dict().items() if "fusions" not in k}
    assert shapes["SGEN"] == shapes["MEN"] == shapes["AEN"] == shapes["CEN"]
    assert {"SGEN", "MEN", "AEN", "CEN", "SGEN-MSE"} <= SGEN_FAMILY


def test_discriminator_any_scale():
    d = GAPDiscriminator(width=0.125)
    for h, w in SCALES:
        assert d(torch.randn(3, 1, h, w)).shape == (3,)


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
