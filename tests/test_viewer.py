"""Tests of the restoration viewer (sgenlib.viewer): gallery and live sources, scale / model / crop
controls, saving, uploads. Everything lives in tmp_path: a fake gallery, tiny generators trained
for 2 steps, a fake CelebA folder."""
from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from sgenlib import study as S
from sgenlib import viewer as V
from sgenlib.archs import build_generator, init_weights
from sgenlib.degrade import DegradeOptions
from sgenlib import evaluate as E
from sgenlib.train import TrainConfig, train

SCALES2 = ["128x96", "144x112"]
GMODELS = ["SGEN", "SGEN-MSE"]
OFFSET = {"ground_truth": 0, "input": 50, "SGEN": 100, "SGEN-MSE": 150}
IDS = ["182640", "182641", "182642"]


def pattern(h: int, w: int, offset: int) -> np.ndarray:
    """Pixel (y, x) holds (x + 2y + offset) mod 256: a crop's top-left value tells where it was cut."""
    yy, xx = np.mgrid[0:h, 0:w]
    return ((xx + 2 * yy + offset) % 256).astype(np.uint8)


def make_gallery(root: Path) -> Path:
    rows = []
    for sc in SCALES2:
        h, w = (int(v) for v in sc.split("x"))
        for k, image_id in enumerate(IDS):
            for m, off in OFFSET.items():
                rel = f"{sc}/{image_id}/{m}.png"
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(pattern(h, w, off + k)).save(root / rel)
                metric = m != "ground_truth"
                rows.append(dict(image_id=image_id, scale=sc, model=m, path=rel,
                                 psnr_db=20.0 + off / 100 + k if metric else "",
                                 ssim=0.5 + off / 1000 if metric else ""))
    pd.DataFrame(rows).to_csv(root / "index.csv", index=False)
    return root


def faces(n: int, seed: int = 0) -> np.ndarray:
    """Smooth random uint8 'faces' (n, 1, 218, 178)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (n, 1, 14, 12)).astype(np.float32)
    big = torch.nn.functional.interpolate(torch.from_numpy(small), size=(218, 178), mode="bilinear")
    return big.round().clamp(0, 255).to(torch.uint8).numpy()


def png_bytes(arr: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def upload_value(name: str, content: bytes) -> tuple:
    """What ipywidgets 8's FileUpload holds after a person picks a file."""
    return ({"name": name, "type": "image/png", "size": len(content), "content": memoryview(content),
             "last_modified": datetime(2025, 1, 1, tzinfo=timezone.utc)},)


@pytest.fixture(scope="module")
def gallery(tmp_path_factory) -> Path:
    return make_gallery(tmp_path_factory.mktemp("gallery"))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """runs/<profile>/ with SGEN-MSE trained 2 steps by sgenlib.train, and an SRCNN generator.pt
    saved in the same format."""
    root = tmp_path_factory.mktemp("runs")
    cfg = TrainConfig(model="SGEN-MSE", steps=2, batch_size=2, width=0.125, ckpt_every=1, log_every=1)
    train(cfg, faces(4, seed=1), root / "smoke" / "SGEN-MSE", DegradeOptions(), "cpu", progress=False)
    torch.manual_seed(0)
    g = build_generator("SRCNN", in_channels=1, width=0.125)
    init_weights(g)
    cfg2 = TrainConfig(model="SRCNN", steps=1, width=0.125)
    (root / "smoke" / "SRCNN").mkdir(parents=True)
    torch.save({"generator": g.state_dict(), "config": {**cfg2.to_dict(), "in_channels": 1}},
               root / "smoke" / "SRCNN" / "generator.pt")
    return root


@pytest.fixture(scope="module")
def live_parts(runs):
    gens, notes = V.load_generators(runs / "smoke")
    assert list(gens) == ["SGEN-MSE", "SRCNN"] and not notes
    test = E.TestSet(faces(3, seed=2), ["000101", "000102", "000103"], DegradeOptions(), 0)
    return test, gens


def gallery_app(gallery, tmp_path, **kw):
    return V.RestorationViewer(V.GallerySource(gallery), None, save_dir=tmp_path / "viewer", seed=0, **kw)


# ------------------------------------------------------------------------------- gallery mode
def test_gallery_mode_shows_references_models_and_metrics(gallery, tmp_path):
    app = gallery_app(gallery, tmp_path)
    assert app.current == {"source": "test", "image_id": IDS[0], "scale": "144x112"}
    assert [p.key for p in app.panels] == ["ground_truth", "input", *GMODELS]
    for p in app.panels:
        assert p.size == (144, 112)
        np.testing.assert_array_equal(p.image, pattern(144, 112, OFFSET[p.key]))
    gt, inp, sgen, _ = app.panels
    assert gt.psnr_db is None and gt.caption == "reference"
    assert inp.psnr_db == pytest.approx(20.5) and sgen.ssim == pytest.approx(0.6)
    assert "PSNR 21.00 dB" in sgen.caption and "SSIM 0.6000" in sgen.caption
    assert len(app.panel_box.children) == 4                      # one image widget per panel
    assert app.upload.disabled and "Upload is disabled" in app.upload_help.value
    assert not app.handle_upload(png_bytes(pattern(32, 32, 0)), "me.png")
    assert "disabled" in app.message.value and app.current["source"] == "test"
    app.source_toggle.value = "upload"                           # refused, and the toggle goes back
    assert "disabled" in app.message.value and app.source_toggle.value == "test"
    assert [p.key for p in app.panels] == ["ground_truth", "input", *GMODELS]


def test_scale_id_random_and_model_ticks_update_the_panels(gallery, tmp_path):
    app = gallery_app(gallery, tmp_path)
    app.scale_buttons.value = "128x96"
    assert app.current["scale"] == "128x96" and all(p.size == (128, 96) for p in app.panels)
    app.model_boxes["SGEN"].value = False
    assert [p.key for p in app.panels] == ["ground_truth", "input", "SGEN-MSE"]
    assert len(app.panel_box.children) == 3
    app.set_models([])
    assert [p.key for p in app.panels] == ["ground_truth", "input"]
    app.set_models(GMODELS)
    app.id_box.value = IDS[2]
    assert app.current["image_id"] == IDS[2]
    np.testing.assert_array_equal(app.panels[2].image, pattern(128, 96, OFFSET["SGEN"] + 2))
    assert app.panels[1].psnr_db == pytest.approx(20.5 + 2)
    app.id_box.value = "18264"                                   # typing: a prefix, no complaint yet
    assert app.message.value == "" and app.current["image_id"] == IDS[2]
    app.id_box.value = "999999"
    assert "no test image with id" in app.message.value and app.current["image_id"] == IDS[2]
    seen = set()
    for _ in range(12):
        app.random_button.click()
        seen.add(app.current["image_id"])
    assert seen <= set(IDS) and len(seen) > 1


def test_crop_moves_with_sliders_and_is_at_the_same_place_in_every_panel(gallery, tmp_path):
    app = gallery_app(gallery, tmp_path, display_scale=2)
    app.crop_size.value = 20
    app.crop_x.value = 30
    app.crop_y.value = 41
    assert app.crop == (30, 41, 20)
    for p, c in zip(app.panels, app.crops()):
        assert c.shape == (20, 20)
        np.testing.assert_array_equal(c, pattern(144, 112, OFFSET[p.key])[41:61, 30:50])
    # what is drawn: the outline at the same place and the magnified crop in every tile
    zf = V.zoom_factor(112, 20, 2)
    for p, tile in zip(app.panels, app.tiles):
        th, tw = V.tile_size(144, 112, 20, 2)
        assert tile.shape == (th, tw, 3)
        left, top = (tw - 224) // 2, V.PAD + V.LINE + 2
        assert tuple(tile[top + 41 * 2 - 1, left + 30 * 2 + 5]) == V.CROP_COLOR
        ztop, zleft = top + 144 * 2 + V.PAD, (tw - 20 * zf) // 2
        zoom = tile[ztop:ztop + 20 * zf, zleft:zleft + 20 * zf, 0]
        np.testing.assert_array_equal(zoom, np.kron(pattern(144, 112, OFFSET[p.key])[41:61, 30:50], np.ones((zf, zf), np.uint8)))
    # limits and jumps
    assert app.crop_x.max == 112 - 20 and app.crop_y.max == 144 - 20
    assert app.set_crop(x=10_000, y=-5) == (92, 0, 20)
    x, y, s = app.jump("mouth")
    assert (x + s / 2, y + s / 2) == pytest.approx((0.5 * 112, 0.70 * 144), abs=1)
    app.jump_buttons["left eye"].click()
    assert app.crop[0] + 10 == pytest.approx(0.39 * 112, abs=1)
    # a new scale keeps the crop's relative place
    app.set_crop(x=56 - 10, y=72 - 10, size=20)
    app.scale_buttons.value = "128x96"
    x, y, s = app.crop
    assert (x + s / 2, y + s / 2) == pytest.approx((48, 64), abs=1.5) and s in (17, 18)
    assert all(c.shape == (s, s) for c in app.crops())


def test_save_button_writes_the_panel_png(gallery, tmp_path):
    app = gallery_app(gallery, tmp_path, display_scale=2)
    app.set_crop(x=10, y=20, size=16)
    app.save_button.click()
    path = app.last_saved
    assert path is not None and path.parent == tmp_path / "viewer" and path.suffix == ".png"
    assert path.name == f"{IDS[0]}_144x112_crop10-20-16.png"
    assert "saved" in app.message.value
    th, tw = V.tile_size(144, 112, 16, 2)
    with Image.open(path) as im:
        saved = np.asarray(im.convert("RGB"))
    assert saved.shape == (V.LINE + V.PAD + th, 4 * tw + 3 * V.GAP, 3)
    np.testing.assert_array_equal(saved, app.compose())
    # the tiles of the saved PNG are the tiles on screen
    np.testing.assert_array_equal(saved[V.LINE + V.PAD:, :tw], app.tiles[0])


# ------------------------------------------------------------------------------- live mode
def test_live_mode_matches_the_evaluation(live_parts, tmp_path):
    test, gens = live_parts
    app = V.RestorationViewer(V.LiveSource(test, gens), gens, save_dir=tmp_path / "v", seed=0)
    assert [p.key for p in app.panels] == ["ground_truth", "input", "SGEN-MSE", "SRCNN"]
    assert app.current == {"source": "test", "image_id": "000101", "scale": "208x176"}
    assert all(p.size == (208, 176) for p in app.panels)
    app.show("000102", "144x112")
    assert all(p.size == (144, 112) for p in app.panels)
    # the same numbers and images as the evaluation (all test images in one batch; this scale only)
    one_scale = E.TestSet(test.images, test.ids, DegradeOptions(), 0, scales=[(144, 112)])
    for p in app.panels[1:]:
        df = E.evaluate(None if p.key == "input" else gens[p.key], p.key, one_scale, batch_size=3, progress=False)
        row = df[(df["image_id"] == "000102") & (df["scale"] == "144x112")].iloc[0]
        assert p.psnr_db == pytest.approx(row["psnr_db"], abs=1e-9) and p.ssim == pytest.approx(row["ssim"], abs=1e-12)
    inp, ref = test.at_scale((144, 112))
    np.testing.assert_array_equal(app.panels[0].image, ref[1, 0].numpy())
    app.model_boxes["SRCNN"].value = False
    assert [p.key for p in app.panels] == ["ground_truth", "input", "SGEN-MSE"]
    assert app.save() is not None and app.last_saved.is_file()


def test_upload_is_restored_without_metrics(live_parts, tmp_path):
    test, gens = live_parts
    app = V.RestorationViewer(V.LiveSource(test, gens), gens, save_dir=tmp_path / "v")
    assert not app.upload.disabled
    face = np.stack([pattern(40, 32, 0)] * 3, axis=-1)
    app.upload.value = upload_value("my face.png", png_bytes(face))
    assert app.upload.value == ()                                # ready for the next file
    assert app.current == {"source": "upload", "name": "my face.png", "mode": "input"}
    assert app.source_toggle.value == "upload" and app.scale_buttons.disabled
    assert [p.key for p in app.panels] == ["input", "SGEN-MSE", "SRCNN"]
    assert all(p.size == (40, 32) and p.psnr_db is None and p.ssim is None for p in app.panels)
    assert all("no PSNR/SSIM" in p.caption for p in app.panels)
    np.testing.assert_array_equal(app.panels[0].image, pattern(40, 32, 0))   # gray already: unchanged
    assert "PSNR" not in "".join(p.caption for p in app.panels).replace("no PSNR", "")
    app.upload_mode.value = "lr"                                 # an LR face: enlarged x4 first
    assert all(p.size == (160, 128) for p in app.panels)
    np.testing.assert_array_equal(app.panels[0].image, np.kron(pattern(40, 32, 0), np.ones((4, 4), np.uint8)))
    assert all(c.shape == app.crops()[0].shape for c in app.crops())
    path = app.save()
    assert path.name.startswith("upload-my-face_lr_") and path.is_file()
    with Image.open(path) as im:
        assert im.size[::-1] == app.compose().shape[:2]
    # back to the test images
    app.source_toggle.value = "test"
    assert app.current["source"] == "test" and not app.scale_buttons.disabled
    assert app.panels[0].key == "ground_truth"
    # a large upload is shrunk (and says so); JPEG works too
    app.upload_mode.value = "input"
    app.max_upload_side = 96                                     # V.MAX_UPLOAD_SIDE (512) in use; smaller here
    app.handle_upload(png_bytes(np.zeros((700, 600, 3), np.uint8) + 90, "JPEG"), "big.jpg")
    assert app.panels[0].size == (96, 82) and "shrunk from 600x700 to 82x96" in app.message.value


def test_bad_upload_shows_a_message_not_a_traceback(live_parts, tmp_path):
    test, gens = live_parts
    app = V.RestorationViewer(V.LiveSource(test, gens), gens, save_dir=tmp_path / "v")
    before = [p.key for p in app.panels]
    app.upload.value = upload_value("notes.txt", b"this is not an image")
    assert "could not read 'notes.txt' as an image" in app.message.value
    assert "Traceback" not in app.displayed_text() and [p.key for p in app.panels] == before
    assert app.current["source"] == "test"
    assert not app.handle_upload(png_bytes(pattern(64, 64, 0))[:40], "cut.png")      # truncated PNG
    assert "could not read 'cut.png'" in app.message.value
    assert not app.handle_upload(b"", "empty.png") and "is empty" in app.message.value
    for mode in ("input", "lr"):                                                    # too small, either way
        app.upload_mode.value = mode
        assert not app.handle_upload(png_bytes(pattern(8, 12, 0)), "tiny.png")
        assert "the image is 12x8 px; it needs at least 16 px on each side" in app.message.value
        assert app.current["source"] == "test" and app.source_toggle.value == "test"
        assert [p.key for p in app.panels] == before
    assert app.handle_upload(png_bytes(pattern(16, 16, 0)), "small.png")             # 16 px x4 = 64
    assert app.current["source"] == "upload" and app.panels[0].size == (64, 64)
    # a later bad file leaves the good upload on screen
    assert not app.handle_upload(b"GIF89a...", "broken.gif")
    assert app.current["name"] == "small.png" and app.source_toggle.value == "upload"


# ------------------------------------------------------------------------------- open_viewer
def fake_celeba(root: Path) -> Path:
    """A CelebA folder: 7 aligned 218x178 JPEGs and the official partition (4 train, 1 val, 2 test)."""
    folder = root / "img_align_celeba"
    folder.mkdir(parents=True)
    imgs = faces(7, seed=5)[:, 0]
    lines = []
    for k, img in enumerate(imgs):
        name = f"{k + 1:06d}.jpg"
        Image.fromarray(np.stack([img] * 3, -1)).save(folder / name, quality=95)
        lines.append(f"{name} {0 if k < 4 else 1 if k == 4 else 2}")
    (root / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    return root


def test_open_viewer_chooses_its_source(runs, gallery, tmp_path):
    data = fake_celeba(tmp_path / "celeba")
    results, cache = tmp_path / "results", tmp_path / "cache"
    # the test-only loader gives what the study's load_data gives
    st = S.load_data(S.open_study("smoke", str(results), str(runs), str(cache), device="cpu"), str(data))
    st2 = S.open_study("smoke", str(results), str(runs), str(cache), device="cpu")
    test = S.load_test_set(st2, str(data))
    assert test.ids == st.test.ids == ["000006", "000007"]
    assert torch.equal(test.images, st.test.images)
    assert torch.equal(test.at_scale((128, 96))[0], st.test.at_scale((128, 96))[0])

    app = V.open_viewer("smoke", results, runs, cache, str(data), device="cpu")
    assert "LIVE" in app.status.value and isinstance(app.source, V.LiveSource)
    assert [p.key for p in app.panels] == ["ground_truth", "input", "SGEN-MSE", "SRCNN"]
    assert app.save().parent == results / "smoke" / "viewer"

    # checkpoints but no data: the gallery for test images, uploads still live
    (results / "smoke" / "gallery").parent.mkdir(parents=True, exist_ok=True)
    make_gallery(results / "smoke" / "gallery")
    app = V.open_viewer("smoke", results, runs, cache, str(tmp_path / "nowhere"), device="cpu")
    assert "GALLERY + live uploads" in app.status.value and isinstance(app.source, V.GallerySource)
    assert [p.key for p in app.panels] == ["ground_truth", "input", "SGEN", "SGEN-MSE"]
    assert app.handle_upload(png_bytes(pattern(32, 32, 0)), "me.png")
    assert [p.key for p in app.panels] == ["input", "SGEN-MSE", "SRCNN"]

    # live = False: gallery only, upload disabled and said so
    app = V.open_viewer("smoke", results, runs, cache, str(data), live=False)
    assert "GALLERY" in app.status.value and "Upload is disabled" in app.status.value and app.upload.disabled

    # nothing at all: a message, no exception
    app = V.open_viewer("smoke", tmp_path / "empty_results", tmp_path / "empty_runs", cache, str(data))
    assert "Nothing to show" in app.status.value and app.panels == [] and app.save() is None


def test_default_ticks_and_explicit_model_choice(gallery, tmp_path):
    assert V.default_ticks(["SGEN", "SRCNN"]) == {"SGEN", "SRCNN"}
    many = ["SGEN", "SGEN-MSE", "MEN", "AEN", "CEN", "SRCNN", "SRGAN"]
    assert V.default_ticks(many) == {"SGEN", "SGEN-MSE", "SRGAN"}
    assert V.default_ticks(["MEN", "AEN", "CEN", "SRCNN", "RED-Net"]) == {"MEN", "AEN", "CEN", "SRCNN"}
    app = gallery_app(gallery, tmp_path, show_models=["SGEN-MSE"])
    assert app.selected_models == ["SGEN-MSE"] and [p.key for p in app.panels] == ["ground_truth", "input", "SGEN-MSE"]


def test_auto_profile_opens_the_longest_trained_run_else_a_gallery(tmp_path):
    """profile='auto' (notebook 07's default): runs first (paper > gpu-quick > cpu > smoke), then
    a committed gallery, then smoke."""
    from sgenlib.viewer import resolve_viewer_profile
    results, runs = tmp_path / "results", tmp_path / "runs"
    assert resolve_viewer_profile("auto", results, runs) == "smoke"
    (results / "cpu" / "gallery").mkdir(parents=True)
    (results / "cpu" / "gallery" / "index.csv").write_text("x\n")
    assert resolve_viewer_profile("auto", results, runs) == "cpu"
    (runs / "smoke" / "SGEN").mkdir(parents=True)
    (runs / "smoke" / "SGEN" / "generator.pt").write_bytes(b"")
    assert resolve_viewer_profile("auto", results, runs) == "smoke"          # trained runs beat a gallery
    (runs / "gpu-quick" / "SRCNN").mkdir(parents=True)
    (runs / "gpu-quick" / "SRCNN" / "generator.pt").write_bytes(b"")
    assert resolve_viewer_profile("auto", results, runs) == "gpu-quick"
    assert resolve_viewer_profile("cpu", results, runs) == "cpu"             # a named profile is kept
