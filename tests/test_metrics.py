"""PSNR / SSIM: the scikit-image reference with the paper's settings, and the torch twin."""
import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from sgenlib import metrics


def pairs(n=6, shape=(1, 144, 112), seed=0):
    rng = np.random.default_rng(seed)
    ref = rng.integers(0, 256, (n, *shape)).astype(np.uint8)
    pred = np.clip(ref.astype(int) + rng.integers(-40, 40, ref.shape), 0, 255).astype(np.uint8)
    return pred, ref


def test_psnr_by_hand():
    ref = np.zeros((1, 16, 16), np.uint8)
    pred = ref.copy()
    pred[0, 0, 0] = 16                         # mse = 256 / 256 = 1
    psnr, ssim = metrics.psnr_ssim(pred, ref)
    assert psnr == pytest.approx(10 * np.log10(255 ** 2), abs=1e-9)
    assert ssim < 1


def test_ssim_settings_are_wang_2004():
    pred, ref = pairs(1)
    _, ssim = metrics.psnr_ssim(pred[0], ref[0])
    expected = structural_similarity(ref[0, 0], pred[0, 0], gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False, data_range=255)
    assert ssim == pytest.approx(expected, abs=1e-12)
    default = structural_similarity(ref[0, 0], pred[0, 0], data_range=255)   # 7x7 uniform window
    assert abs(ssim - default) > 1e-4


@pytest.mark.parametrize("shape", [(1, 128, 96), (1, 208, 176), (3, 144, 112)])
def test_torch_twin_agrees_with_skimage(shape):
    pred, ref = pairs(4, shape)
    sk = metrics.psnr_ssim_batch(pred, ref)
    p = metrics.psnr_torch(torch.from_numpy(pred), torch.from_numpy(ref)).numpy()
    s = metrics.ssim_torch(torch.from_numpy(pred), torch.from_numpy(ref)).numpy()
    assert np.abs(p - sk[:, 0]).max() < 1e-4          # dB
    assert np.abs(s - sk[:, 1]).max() < 1e-5


def test_process_pool_gives_same_numbers():
    pred, ref = pairs(70, (1, 32, 32))
    one = metrics.psnr_ssim_batch(pred, ref, workers=1)
    two = metrics.psnr_ssim_batch(pred, ref, workers=2)
    assert np.array_equal(one, two)


def test_quantize():
    x = torch.tensor([-1.5, -1.0, 0.0, 0.999, 1.0, 2.0])
    assert metrics.quantize(x).tolist() == [0, 0, 128, 255, 255, 255]


def test_bootstrap_ci_brackets_mean():
    v = np.random.default_rng(0).normal(24, 1, 200)
    lo, hi = metrics.bootstrap_ci(v)
    assert lo < v.mean() < hi
    assert hi - lo < 0.5
    assert np.isnan(metrics.bootstrap_ci([1.0])[0])
    assert metrics.bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)


def test_shape_mismatch():
    with pytest.raises(ValueError, match="shape mismatch"):
        metrics.psnr_ssim(np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.uint8))
