"""Reruns you can trust (issue 10): a run folder is keyed to its real inputs, damaged files and full
disks give clear errors naming the file, one writer per folder, and restore() takes any image.

The run_all.sh side (stage keys, --set checks, locks, process groups, skipped images on the terminal)
is in tests/test_run_all_reliability.py."""
import errno
import json
import os
import shutil
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import sgenlib.train as T
from sgenlib import data, fileio
from sgenlib.train import TrainConfig, Trainer, train


def cfg(model="SGEN-MSE", **kw):
    base = dict(steps=4, batch_size=2, width=0.125, ckpt_every=2, log_every=1, seed=3)
    base.update(kw)
    return TrainConfig(model=model, **base)


def weights(run_dir):
    return torch.load(run_dir / "generator.pt", weights_only=True)["generator"]


def other_images(tiny_images):
    return np.ascontiguousarray(255 - tiny_images)


# ---- 1. a finished run is never reused for other data --------------------------------------------
def test_finished_run_is_not_reused_for_other_data(tmp_path, tiny_images):
    run = tmp_path / "SGEN-MSE"
    train(cfg(steps=2), tiny_images, run, progress=False)
    first = weights(run)
    with pytest.warns(UserWarning, match=r"another identity.*training data pixels_sha256.*moved it aside"):
        s = train(cfg(steps=2), other_images(tiny_images), run, progress=False)
    assert s["resumed_from_step"] is None and s["train_data"]["pixels_sha256"] == T.images_sha256(other_images(tiny_images))
    assert any(not torch.equal(first[k], v) for k, v in weights(run).items())      # trained afresh on B
    aside = list((tmp_path / "replaced").glob("SGEN-MSE-*"))
    assert len(aside) == 1                                                          # A's run kept, named
    assert all(torch.equal(first[k], v) for k, v in weights(aside[0]).items())
    ident = json.loads((run / "run_identity.json").read_text())
    assert ident["data"]["pixels_sha256"] == s["train_data"]["pixels_sha256"] and ident["steps"] == 2
    # the same data again: the finished run is reused (not retrained)
    stamp = (run / "generator.pt").stat().st_mtime_ns
    train(cfg(steps=2), other_images(tiny_images), run, progress=False)
    assert (run / "generator.pt").stat().st_mtime_ns == stamp


def _mini(tmp_path, celeba_dir, name, offset, n=6):
    root = tmp_path / name / "img_align_celeba"
    root.mkdir(parents=True)
    src = data.open_celeba(celeba_dir)
    names = src.names[offset:offset + n]
    for nm in names:
        shutil.copyfile(celeba_dir / "img_align_celeba" / nm, root / nm)
    (tmp_path / name / "list_eval_partition.txt").write_text("".join(f"{nm} 0\n" for nm in names))
    return tmp_path / name


def test_cli_never_describes_data_the_weights_were_not_trained_on(tmp_path, celeba_dir, capsys):
    a, b = _mini(tmp_path, celeba_dir, "A", 0), _mini(tmp_path, celeba_dir, "B", 100)
    out = tmp_path / "run"
    common = ["--model", "SGEN-MSE", "--out", str(out), "--profile", "smoke", "--steps", "1", "--batch-size", "2",
              "--width", "0.0625", "--cache", str(tmp_path / "cache"), "--device", "cpu", "--no-progress"]
    assert T.main(["--data", str(a), *common]) == 0
    with pytest.warns(UserWarning, match="another identity"):
        assert T.main(["--data", str(b), *common]) == 0
    assert json.loads((out / "train_data.json").read_text())["root"] == str(b)
    aside = next((tmp_path / "replaced").glob("run-*"))
    assert json.loads((aside / "train_data.json").read_text())["root"] == str(a)
    info = json.loads((out / "train_data.json").read_text())
    assert len(info["train_content_sha256"]) == 64 and len(info["train_names_sha256"]) == 64


# ---- 2. fewer steps never relabel a run ------------------------------------------------------------
def test_fewer_steps_than_a_finished_run_is_refused(tmp_path, tiny_images):
    train(cfg(steps=4), tiny_images, tmp_path, progress=False)
    stamp = (tmp_path / "generator.pt").stat().st_mtime_ns
    with pytest.raises(T.RunStepsError, match="finished run of 4 steps; asked for 2.*never relabelled"):
        train(cfg(steps=2), tiny_images, tmp_path, progress=False)
    assert (tmp_path / "generator.pt").stat().st_mtime_ns == stamp
    assert torch.load(tmp_path / "generator.pt", weights_only=True)["config"]["steps"] == 4
    assert json.loads((tmp_path / "train_summary.json").read_text())["steps"] == 4


def test_fewer_steps_than_a_checkpoint_is_refused(tmp_path, tiny_images):
    Trainer(cfg(steps=6), tiny_images, tmp_path, progress=False).run(stop_after=5)      # checkpoint at 4
    with pytest.raises(T.RunStepsError, match="checkpoint at step 4; asked for 2 steps"):
        train(cfg(steps=2), tiny_images, tmp_path, progress=False)
    assert not (tmp_path / "generator.pt").exists()


# ---- 7. non-finite weights -----------------------------------------------------------------------------
def test_non_finite_weights_stop_the_run(tmp_path, tiny_images):
    """lr 1e30: the loss of step 1 is finite (computed before the update), the generator after it is
    dead; the old loop wrote it as a finished run without a word."""
    with pytest.raises(T.NonFiniteWeightsError, match=r"SGEN-MSE: .*non-finite.* after step 1 \(lr 1e\+30\); the network is dead"):
        train(cfg(steps=1, lr=1e30), tiny_images, tmp_path / "a", progress=False)
    assert not (tmp_path / "a" / "generator.pt").exists()
    t = Trainer(cfg(steps=3), tiny_images, tmp_path / "b", progress=False)
    t.opt_g.step = lambda *a, **k: [p.data.fill_(float("inf")) for p in t.G.parameters()][:0]  # weights blow up
    with pytest.raises(T.NonFiniteWeightsError, match=r"non-finite weights \(G\..* after step 1"):
        t.run()


# ---- 8. damaged checkpoints ------------------------------------------------------------------------
def test_damaged_checkpoint_resumes_from_previous_generation(tmp_path, tiny_images):
    full = tmp_path / "full"
    train(cfg(steps=6), tiny_images, full, progress=False)
    cut = tmp_path / "cut"
    Trainer(cfg(steps=6), tiny_images, cut, progress=False).run(stop_after=5)        # checkpoints 2 and 4
    ckpt = cut / "checkpoint.pt"
    assert torch.load(cut / "checkpoint.prev.pt", weights_only=True)["step"] == 2
    ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size // 2])                  # truncated
    with pytest.warns(UserWarning, match=rf"{ckpt} is damaged.*resuming from the previous checkpoint .*checkpoint.prev.pt \(step 2\)"):
        s = train(cfg(steps=6), tiny_images, cut, progress=False)
    assert s["resumed_from_step"] == 2
    assert (cut / "checkpoint.pt.damaged").is_file()                                 # kept, out of the rotation
    assert torch.load(cut / "checkpoint.prev.pt", weights_only=True)["step"] == 4    # good generations only
    a, b = weights(full), weights(cut)
    assert all(torch.equal(a[k], b[k]) for k in a)                                  # exact resume all the same


def test_no_usable_checkpoint_names_the_file_and_what_to_do(tmp_path, tiny_images):
    Trainer(cfg(steps=6), tiny_images, tmp_path, progress=False).run(stop_after=3)   # checkpoint at 2 only
    ckpt = tmp_path / "checkpoint.pt"
    ckpt.write_bytes(b"")                                                            # zero bytes
    with pytest.raises(T.CheckpointError, match=rf"{ckpt} is damaged \(0 bytes.*no usable checkpoint is left\. Delete"):
        train(cfg(steps=6), tiny_images, tmp_path, progress=False)


class NotAWeight:
    pass


def test_refused_pickle_names_the_file(tmp_path, tiny_images):
    Trainer(cfg(steps=6), tiny_images, tmp_path, progress=False).run(stop_after=3)
    ckpt = tmp_path / "checkpoint.pt"
    torch.save({"step": 2, "payload": NotAWeight()}, ckpt)
    with pytest.raises(T.CheckpointError, match=rf"{ckpt} holds objects that weights-only loading refuses"):
        train(cfg(steps=6), tiny_images, tmp_path, progress=False)
    from sgenlib.inference import load_generator
    torch.save({"config": {}, "generator": NotAWeight()}, tmp_path / "generator.pt")
    with pytest.raises(T.CheckpointError, match=str(tmp_path / "generator.pt")):
        load_generator(tmp_path)


# ---- 10. full disk and temporaries -------------------------------------------------------------------
def test_disk_full_names_the_file_and_leaves_no_temporaries(tmp_path, tiny_images, monkeypatch):
    def full_disk(f, data):
        f.write(bytes(data)[:100])
        if "checkpoint" in f.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        f.write(bytes(data)[100:])
    Trainer(cfg(steps=6), tiny_images, tmp_path, progress=False).run(stop_after=3)   # a good checkpoint at 2
    (tmp_path / ".checkpoint.pt.tmp99999").write_bytes(b"left by a killed writer")
    monkeypatch.setattr(fileio, "write_all", full_disk)
    with pytest.raises(T.DiskFullError) as e:
        train(cfg(steps=6), tiny_images, tmp_path, progress=False)
    assert str(e.value) == f"no space left on device writing {tmp_path / 'checkpoint.pt'}"
    assert not list(tmp_path.glob(".*tmp*"))                                         # finally + at start
    monkeypatch.undo()
    s = train(cfg(steps=6), tiny_images, tmp_path, progress=False)                   # space again: resumes
    assert s["steps"] == 6 and s["resumed_from_step"] == 2


def test_cli_reports_disk_full_as_its_last_line(tmp_path, celeba_dir, monkeypatch, capsys):
    a = _mini(tmp_path, celeba_dir, "A", 0)

    def full_disk(f, data):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(fileio, "write_all", full_disk)
    rc = T.main(["--model", "SGEN-MSE", "--data", str(a), "--out", str(tmp_path / "run"), "--profile", "smoke",
                 "--steps", "1", "--batch-size", "2", "--width", "0.0625", "--cache", str(tmp_path / "c"),
                 "--device", "cpu", "--no-progress"])
    assert rc == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == f"sgenlib.train: no space left on device writing {tmp_path / 'run' / 'run_identity.json'}"


# ---- 6. one writer per run folder --------------------------------------------------------------------
def test_second_writer_stops_at_once_naming_the_holder(tmp_path, tiny_images):
    run = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom sgenlib.locks import folder_lock\n"
         "with folder_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(60)\n", str(run)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert holder.stdout.readline().strip() == "held"
        t0 = time.monotonic()
        with pytest.raises(Exception, match=rf"run folder {run} is in use by another run \(pid {holder.pid} on .*started .*: "):
            train(cfg(steps=2), tiny_images, run, progress=False)
        assert time.monotonic() - t0 < 30
        assert not (run / "losses.csv").exists()
    finally:
        holder.kill()
        holder.wait()
    s = train(cfg(steps=2), tiny_images, run, progress=False)                        # released: trains
    assert s["steps"] == 2


# ---- 3. what a stage read is part of its key ------------------------------------------------------------
def test_stage_reads_are_recorded_and_checked(tmp_path, tiny_images, monkeypatch):
    from sgenlib import provenance as P
    from sgenlib.inference import load_generator
    run, results = tmp_path / "runs" / "SGEN-MSE", tmp_path / "results"
    log = tmp_path / "reads.txt"
    monkeypatch.setenv(P.READS_ENV, str(log))
    train(cfg(steps=2), tiny_images, run, progress=False)
    load_generator(run)
    assert str((run / "generator.pt").resolve()) in log.read_text().splitlines()
    params = {"profile": "smoke", "data_sha256": "x"}
    results.mkdir()
    P.record(results, "02_sgen", params, 1.0, "ok", None, time.time(), log)
    assert P.why_stale(results, "02_sgen", params) is None
    assert "parameters or data" in P.why_stale(results, "02_sgen", {**params, "data_sha256": "y"})
    shutil.rmtree(run)                                                               # "retrain it"
    assert P.why_stale(results, "02_sgen", params) == f"a file it read is gone: {(run / 'generator.pt').resolve()}"


# ---- 4 and 9. the decoded cache and the manifest follow the bytes; a damaged cache is rebuilt ----------
def _copy(tmp_path, celeba_dir, n=6):
    root = tmp_path / "celeba"
    (root / "img_align_celeba").mkdir(parents=True)
    names = data.open_celeba(celeba_dir).names[:n]
    for nm in names:
        shutil.copyfile(celeba_dir / "img_align_celeba" / nm, root / "img_align_celeba" / nm)
    return root, names


def test_cache_and_manifest_see_a_file_changed_in_place_with_the_same_size(tmp_path, celeba_dir):
    root, names = _copy(tmp_path, celeba_dir)
    src = data.open_celeba(root)
    splits = {"train": names[:4], "val": [], "test": names[4:]}
    before, _ = data.load_images(src, names[:4], cache_dir=tmp_path / "c")
    m1 = data.manifest(src, splits, "official", 0)
    target = root / "img_align_celeba" / names[0]
    size = target.stat().st_size
    other = next(b for b in (p.read_bytes() for p in sorted((celeba_dir / "img_align_celeba").iterdir())[50:90])
                 if len(b) <= size)
    target.write_bytes(other + b"\0" * (size - len(other)))                          # same size, new face
    src = data.open_celeba(root)
    assert src.sizes[names[0]] == size
    after, _ = data.load_images(src, names[:4], cache_dir=tmp_path / "c")
    assert not np.array_equal(before[0], after[0]) and np.array_equal(before[1:], after[1:])
    m2 = data.manifest(src, splits, "official", 0)
    assert m2["split_sha256"] != m1["split_sha256"] and m2["train_content_sha256"] != m1["train_content_sha256"]


def test_truncated_cache_is_rebuilt_with_a_warning(tmp_path, celeba_dir):
    root, names = _copy(tmp_path, celeba_dir)
    src = data.open_celeba(root)
    good, _ = data.load_images(src, names, cache_dir=tmp_path / "c")
    npy = next((tmp_path / "c").glob("*.npy"))
    npy.write_bytes(npy.read_bytes()[: npy.stat().st_size // 3])
    with pytest.warns(UserWarning, match=rf"decoded-image cache {npy} is damaged .*rebuilding it"):
        again, _ = data.load_images(data.open_celeba(root), names, cache_dir=tmp_path / "c")
    assert np.array_equal(good, again)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                               # rebuilt: no warning now
        third, _ = data.load_images(data.open_celeba(root), names, cache_dir=tmp_path / "c")
    assert np.array_equal(good, third)


def test_skipped_images_are_reported_warm_cache_included(tmp_path, celeba_dir):
    root, names = _copy(tmp_path, celeba_dir)
    (root / "img_align_celeba" / names[2]).write_bytes(b"not a jpeg")
    for _ in range(2):                                                               # cold, then warm
        src = data.open_celeba(root)
        with pytest.warns(UserWarning, match=f"skipped 1 unreadable image.*{names[2]}"):
            _, kept = data.load_images(src, names, cache_dir=tmp_path / "c")
        assert len(kept) == 5
        m = data.manifest(src, {"train": kept, "val": [], "test": []}, "official", 0)
        assert len(m["skipped_unreadable"]) == 1 and names[2] in m["skipped_unreadable"][0]


# ---- 5. restore() and the viewer's upload take 16-bit, [0, 1] floats and paths; refuse NaN -----------
@pytest.fixture(scope="module")
def gen():
    from sgenlib.archs import build_generator
    torch.manual_seed(0)
    g = build_generator("SGEN", in_channels=1, width=0.125).eval()
    for m in g.modules():                          # weights that make the output depend on the input
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    return g


def face(h=64, w=48):
    yy, xx = np.mgrid[:h, :w]
    return (127 + 90 * np.sin(xx / 5.0) * np.cos(yy / 7.0)).clip(0, 255).astype(np.uint8)


def test_restore_rescales_16_bit_and_unit_floats_and_takes_paths(gen, tmp_path):
    from sgenlib.inference import restore
    img8 = face()
    ref = np.asarray(restore(gen, img8))
    img16 = img8.astype(np.uint16) * 257
    assert np.array_equal(np.asarray(restore(gen, img16)), ref)                      # not pure white
    assert np.array_equal(np.asarray(restore(gen, Image.fromarray(img16))), ref)     # PIL 'I;16'
    unit = img8.astype(np.float32) / 255
    assert np.abs(np.asarray(restore(gen, unit), float) - ref).max() <= 1            # not black
    png16 = tmp_path / "face16.png"
    Image.fromarray(img16).save(png16)
    assert np.array_equal(np.asarray(restore(gen, str(png16))), ref)                 # str
    assert np.array_equal(np.asarray(restore(gen, png16)), ref)                      # Path
    bad = img8.astype(np.float32)
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        restore(gen, bad)
    with pytest.raises(ValueError, match="no image file at"):
        restore(gen, str(tmp_path / "missing.png"))


def test_viewer_upload_of_a_16_bit_png_is_not_white(tmp_path):
    from sgenlib import viewer as V
    img16 = face().astype(np.uint16) * 257
    buf = tmp_path / "f.png"
    Image.fromarray(img16).save(buf)
    im = V.decode_upload(buf.read_bytes(), "f.png")
    assert im.mode == "L" and np.abs(np.asarray(im, float) - face()).max() <= 1


# ---- Also: large images in tiles -------------------------------------------------------------------
def test_tiled_restore_matches_whole_image_with_bounded_windows(gen, monkeypatch):
    """600x500 with 128 px tiles: every pixel within 1 gray level (rounding) of the whole-image
    result with the default 64 px overlap; with no overlap the seams differ (the check has teeth).
    Every window the network sees is at most (tile + 2 overlap)^2 px."""
    import sgenlib.inference as I
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:600, :500]
    img = (127 + 60 * np.sin(xx / 9.0) * np.cos(yy / 13.0) + rng.normal(0, 20, (600, 500))).clip(0, 255).astype(np.uint8)
    whole = np.asarray(I.restore(gen, img, tile=0), float)
    assert whole.std() > 5
    seen = []
    real = I.forward_padded
    monkeypatch.setattr(I, "forward_padded", lambda m, x, *a: seen.append(x.shape[-2:]) or real(m, x, *a))
    tiled = np.asarray(I.restore(gen, img, tile=128), float)
    assert max(h * w for h, w in seen) <= (128 + 2 * I.TILE_OVERLAP) ** 2 and len(seen) == 5 * 4
    d = np.abs(tiled - whole)
    assert d.max() <= 1 and d.mean() < 0.01, (d.max(), d.mean())
    assert np.abs(np.asarray(I.restore(gen, img, tile=128, overlap=0), float) - whole).max() > 5
    monkeypatch.setattr(I, "WHOLE_IMAGE_PIXELS", 100 * 100)                          # large: tiles by default
    seen.clear()
    I.restore(gen, img)
    assert len(seen) == 2 and max(h * w for h, w in seen) <= (I.TILE + 2 * I.TILE_OVERLAP) ** 2


def test_stage_key_covers_settings_notebook_and_sgenlib_source(tmp_path, monkeypatch):
    from sgenlib import provenance as P
    results, nb = tmp_path / "results", tmp_path / "02_sgen.ipynb"
    nb.write_text('{"cells": []}')
    params = {"profile": "smoke", "overrides": {}, "data_sha256": "d"}
    P.record(results, "02_sgen", params, 1.0, "ok", nb, time.time())
    assert P.why_stale(results, "02_sgen", params, nb) is None
    assert P.why_stale(results, "02_sgen", {**params, "overrides": {"steps": 8}}, nb) == "changed: parameters or data"
    nb.with_suffix(".py").write_text("# %%\nprint(1)\n")                              # a paired jupytext file
    assert P.why_stale(results, "02_sgen", params, nb) == "changed: notebook source"
    P.record(results, "02_sgen", params, 1.0, "ok", nb, time.time())
    monkeypatch.setattr(P, "sgenlib_sha256", lambda: "other code")
    assert P.why_stale(results, "02_sgen", params, nb) == "changed: sgenlib source"
