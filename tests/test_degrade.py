"""The degradation against an independent reference (OpenCV, as the authors' code uses), and the
determinism of test inputs."""
import cv2
import numpy as np
import pytest
import torch

from sgenlib import data
from sgenlib.degrade import (DegradeOptions, degrade_batch, degrade_test_batch, rgb_to_gray,
                             fixed_noise)
from sgenlib.paper import SCALES

# Tolerance of the uint8 (kit v1, round_8bit) comparison: OpenCV works in fixed point on uint8, so
# after rounding to 8 bits a pixel may differ by one gray level.
MAX_LEVELS, MEAN_LEVELS = 1.0, 0.05
# Tolerance of the float32 comparison (the default pipeline, the authors'): torch's bicubic and
# OpenCV's INTER_CUBIC on float32 share the kernel (a = -0.75) and differ only in float rounding
# order: measured here at most 0.0017 (input) and 0.0038 (reference) gray levels on these 24 faces at
# the six scales. Rounding to 8 bits (round_8bit, kit v1) alone moves pixels by up to 0.5 levels, and
# clipping the bicubic overshoot by up to 23 levels, so this tolerance tells the two pipelines apart.
FLOAT_MAX_LEVELS = 0.01


def authors_pipeline(rgb_u8: np.ndarray, scale, noise: np.ndarray, sigma=30.0):
    """The authors' degradation, written from their code's steps with OpenCV: cvtColor BGR2GRAY on
    RGB data (their swapped luma), float32, INTER_CUBIC to the scale, INTER_CUBIC x1/4, + sigma *
    noise in float (not clipped, not quantized), INTER_NEAREST x4, then [0, 255] -> [-1, 1].
    Returns (network input, reference), float32 in [-1, 1] units."""
    h, w = scale
    gray = cv2.cvtColor(rgb_u8, cv2.COLOR_BGR2GRAY).astype(np.float32)
    hr = cv2.resize(gray, (w, h), interpolation=cv2.INTER_CUBIC)
    lr = cv2.resize(hr, (w // 4, h // 4), interpolation=cv2.INTER_CUBIC)
    lr = lr + np.float32(sigma) * noise.astype(np.float32)
    up = cv2.resize(lr, (w, h), interpolation=cv2.INTER_NEAREST)
    return up / 127.5 - 1.0, hr / 127.5 - 1.0


@pytest.fixture(scope="module")
def rgb_faces(celeba_dir, tmp_path_factory):
    """24 real faces as decoded RGB (for OpenCV) and as the kit's gray uint8 (default luma)."""
    src = data.open_celeba(celeba_dir)
    names = src.names[:24]
    rgb = np.stack([data.decode_image(src, n, color="rgb") for n in names])
    gray, _ = data.load_images(src, names, cache_dir=tmp_path_factory.mktemp("gray"))
    return rgb, gray


def test_gray_is_opencv_bit_exact(rgb_faces):
    """Both lumas equal OpenCV's cvtColor pixel for pixel; the default is the authors' (BGR2GRAY on RGB)."""
    rgb, gray = rgb_faces
    assert DegradeOptions().luma == "authors"
    for i in range(len(rgb)):
        assert np.array_equal(gray[i, 0], cv2.cvtColor(rgb[i], cv2.COLOR_BGR2GRAY))
        assert np.array_equal(rgb_to_gray(rgb[i], "standard"), cv2.cvtColor(rgb[i], cv2.COLOR_RGB2GRAY))


@pytest.mark.parametrize("scale", SCALES)
def test_matches_authors_float32_pipeline(rgb_faces, scale):
    """The default degradation equals the authors' float32 OpenCV pipeline on real faces with the
    same noise, input and reference, within FLOAT_MAX_LEVELS gray levels."""
    rgb, gray = rgb_faces
    h, w = scale
    noise = torch.randn(len(gray), 1, h // 4, w // 4, generator=torch.Generator().manual_seed(7))
    inp, target = degrade_batch(torch.from_numpy(gray), scale, noise)
    for i in range(len(gray)):
        ref_in, ref_hr = authors_pipeline(rgb[i], scale, noise[i, 0].numpy())
        for got, ref in ((inp[i, 0].numpy(), ref_in), (target[i, 0].numpy(), ref_hr)):
            assert 127.5 * np.abs(got - ref).max() <= FLOAT_MAX_LEVELS


def opencv_pipeline(face_u8: np.ndarray, scale, noise: np.ndarray, sigma=30.0, clip=False):
    h, w = scale
    hr = cv2.resize(face_u8, (w, h), interpolation=cv2.INTER_CUBIC)
    lr = cv2.resize(hr, (w // 4, h // 4), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    lr = lr + sigma * noise
    if clip:
        lr = np.clip(lr, 0, 255)
    up = cv2.resize(lr, (w, h), interpolation=cv2.INTER_NEAREST)
    return up, hr.astype(np.float32)


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("clip", [False, True])
def test_round_8bit_matches_uint8_opencv(few_faces, scale, clip):
    """round_8bit=True (kit v1) equals an OpenCV pipeline that resizes uint8 images."""
    faces, _ = few_faces
    faces = faces[:4]
    h, w = scale
    noise = torch.randn(len(faces), 1, h // 4, w // 4, generator=torch.Generator().manual_seed(1))
    inp, target = degrade_batch(torch.from_numpy(faces), scale, noise, DegradeOptions(clip_noise=clip, round_8bit=True))
    assert inp.shape == target.shape == (len(faces), 1, h, w)
    for i in range(len(faces)):
        ref_in, ref_hr = opencv_pipeline(faces[i, 0], scale, noise[i, 0].numpy(), clip=clip)
        got_in = (inp[i, 0].numpy() + 1) * 127.5
        got_hr = (target[i, 0].numpy() + 1) * 127.5
        for got, ref in ((got_in, ref_in), (got_hr, ref_hr)):
            diff = np.abs(got - ref)
            assert diff.max() <= MAX_LEVELS + 1e-3, diff.max()
            assert diff.mean() <= MEAN_LEVELS, diff.mean()


def test_noise_not_clipped_by_default(few_faces):
    faces, _ = few_faces
    x = torch.from_numpy(faces[:2])
    noise = torch.randn(2, 1, 32, 24, generator=torch.Generator().manual_seed(0)) * 10
    inp, _ = degrade_batch(x, (128, 96), noise)
    assert inp.min() < -1 or inp.max() > 1
    inp_c, _ = degrade_batch(x, (128, 96), noise, DegradeOptions(clip_noise=True))
    assert inp_c.min() >= -1 and inp_c.max() <= 1


def test_luma_formulas():
    rgb = np.array([[[255, 0, 0], [0, 0, 255]]], dtype=np.uint8)
    std = rgb_to_gray(rgb, "standard")
    swapped = rgb_to_gray(rgb, "authors")
    assert std.tolist() == [[76, 29]]          # 0.299 * 255, 0.114 * 255
    assert swapped.tolist() == [[29, 76]]      # the channel swap of the authors' code
    # bit-exact with OpenCV on every kind of pixel
    img = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    assert np.array_equal(rgb_to_gray(img, "standard"), cv2.cvtColor(img, cv2.COLOR_RGB2GRAY))
    assert np.array_equal(rgb_to_gray(img, "authors"), cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
    # other dtypes (16-bit scaled, float): the same weights in float32, unrounded (OpenCV: 15-bit fixed point)
    f = rgb_to_gray(img.astype(np.float32), "standard")
    assert f.dtype == np.float32 and not np.array_equal(f, np.round(f))
    assert np.abs(f - cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)).max() <= 0.51
    with pytest.raises(ValueError, match="last axis"):
        rgb_to_gray(img[..., :2])


def test_rgb_option_keeps_three_channels():
    x = torch.randint(0, 256, (2, 3, 218, 178), dtype=torch.uint8)
    inp, tgt = degrade_test_batch(x, ["a", "b"], (144, 112), seed=0, opts=DegradeOptions(color="rgb"))
    assert inp.shape == tgt.shape == (2, 3, 144, 112)


def test_test_inputs_deterministic_per_image_scale_seed(few_faces):
    faces, names = few_faces
    ids = [n[:-4] for n in names]
    x = torch.from_numpy(faces)
    a, _ = degrade_test_batch(x, ids, (160, 128), seed=0)
    b, _ = degrade_test_batch(x, ids, (160, 128), seed=0)
    assert torch.equal(a, b)
    # independent of batch composition and order: image 3 alone gets the same input
    c, _ = degrade_test_batch(x[3:4], ids[3:4], (160, 128), seed=0)
    assert torch.equal(a[3:4], c)
    rev, _ = degrade_test_batch(x.flip(0), ids[::-1], (160, 128), seed=0)
    assert torch.equal(a, rev.flip(0))
    # a different seed or scale changes the noise
    d, _ = degrade_test_batch(x, ids, (160, 128), seed=1)
    assert not torch.equal(a, d)
    n1 = fixed_noise(ids[:1], (128, 96), 1, 0)
    n2 = fixed_noise(ids[:1], (144, 112), 1, 0)
    assert not torch.equal(n1[..., :8, :8], n2[..., :8, :8])


@pytest.mark.parametrize("bad", [dict(color="cmyk"), dict(luma="bt709x"), dict(noise_sigma=-1), dict(factor=0)])
def test_bad_options(bad):
    with pytest.raises(ValueError):
        DegradeOptions(**bad)


def test_bad_scale_and_noise_shape():
    x = torch.zeros(1, 1, 218, 178, dtype=torch.uint8)
    with pytest.raises(ValueError, match="divisible"):
        degrade_batch(x, (130, 96), torch.zeros(1, 1, 32, 24))
    with pytest.raises(ValueError, match="noise has shape"):
        degrade_batch(x, (128, 96), torch.zeros(1, 1, 10, 10))
