"""Reruns you can trust, round two (issue 21): stage keys that cover every file a stage reads, damaged
outputs and data files that name themselves, a finished generator checked against its record, full
disks that leave no temporary, 8-bit values in uint16 arrays, and the training command line's
argument errors. run_all.sh's own checks are in tests/test_run_all_checks.py."""
import errno
import io
import json
import time

import numpy as np
import pandas as pd
import pytest

from sgenlib import fileio
from sgenlib.fileio import DiskFullError
from sgenlib import provenance as P


# ---- 3. a stage is keyed on the evaluation tables of other stages it reads ----------------------------
def test_claims_stage_is_keyed_on_the_eval_tables_it_reads(tmp_path, monkeypatch):
    from sgenlib.study import Study, load_eval_seeds
    results, log = tmp_path / "results", tmp_path / "reads.txt"
    (results / "eval").mkdir(parents=True)
    table = results / "eval" / "SGEN.csv"                                 # written by 02_sgen
    pd.DataFrame({"model": ["SGEN"], "image_id": ["000001"], "scale": ["128x96"], "psnr_db": [20.0],
                  "ssim": [0.5]}).to_csv(table, index=False)
    monkeypatch.setenv(P.READS_ENV, str(log))
    study = Study({"seeds": 1, "name": "smoke"}, results, tmp_path / "runs", tmp_path / "cache")
    assert len(load_eval_seeds(study, ["SGEN"])) == 1                    # what 05's claims table reads
    params = {"profile": "smoke"}
    P.record(results, "05_n_study", params, 1.0, "ok", None, time.time(), log)
    assert P.why_stale(results, "05_n_study", params) is None
    table.write_text(table.read_text().replace("20.0", "21.0"))           # 02 rescored
    assert P.why_stale(results, "05_n_study", params) == f"a file it read has changed: {table.resolve()}"


def test_gallery_index_read_by_the_viewer_and_mos_stages_is_noted(tmp_path, monkeypatch):
    from sgenlib.mos.plan import load_index
    log, index = tmp_path / "reads.txt", tmp_path / "gallery" / "index.csv"
    index.parent.mkdir()
    index.write_text("image_id,scale,model,path,psnr_db,ssim\n000001,128x96,SGEN,a.png,20,0.5\n")
    monkeypatch.setenv(P.READS_ENV, str(log))
    load_index(index.parent)
    assert log.read_text().splitlines() == [str(index.resolve())]


# ---- 7. a truncated record or manifest an earlier run wrote reruns its stage ----------------------------
def test_truncated_manifest_reruns_the_stage_that_wrote_it(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    started = time.time()
    manifest = results / "data_manifest.json"
    manifest.write_text(json.dumps({"counts": {"train": 3}}))
    params = {"profile": "smoke"}
    P.record(results, "01_data_prep", params, 1.0, "ok", None, started)
    assert P.why_stale(results, "01_data_prep", params) is None
    manifest.write_text('{"counts": {"tr')
    assert P.why_stale(results, "01_data_prep", params).startswith(
        f"an output it wrote is damaged: {manifest} (JSONDecodeError: ")
    manifest.write_text("")
    assert P.why_stale(results, "01_data_prep", params) == f"an output it wrote is damaged: {manifest} (empty)"


# ---- 6. a full disk writing a stage's record: the path, and no temporary ------------------------------
def test_disk_full_writing_a_record_names_it_and_leaves_no_temporary(tmp_path, monkeypatch, capsys):
    results = tmp_path / "results"
    results.mkdir()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(P.os, "fsync", full)
    rc = P.main(["record", "--results", str(results), "--stage", "02_sgen", "--params", "{}", "--status", "ok"])
    assert rc == 1
    record = results / "provenance" / "02_sgen.json"
    assert capsys.readouterr().err.strip() == (f"run_all.sh: no space left on device writing {record}; free space "
                                               "there (or give --results on another disk) and run again")
    assert list((results / "provenance").iterdir()) == []                # no temporary, no half record


# ---- 3. a finished run's generator is the file its run wrote -----------------------------------------
def _cfg(**kw):
    from sgenlib.train import TrainConfig
    return TrainConfig(model="SGEN-MSE", **{**dict(steps=2, batch_size=2, width=0.125, ckpt_every=2, log_every=1,
                                                    seed=3), **kw})


def test_empty_or_swapped_generator_is_neither_reused_nor_scored(tmp_path, tiny_images):
    import shutil
    import torch
    from sgenlib import train as T
    from sgenlib.inference import load_generator
    run, other = tmp_path / "SGEN-MSE", tmp_path / "other"
    T.train(_cfg(), tiny_images, run, progress=False)
    T.train(_cfg(seed=4), tiny_images, other, progress=False)
    gen, summary = run / "generator.pt", run / "train_summary.json"
    assert json.loads(summary.read_text())["generator_sha256"] == fileio.file_sha256(gen)
    good = gen.read_bytes()
    fix = ("Restore it from a backup, or delete it and run again: it is written again from the run's last "
           f"checkpoint {run / 'checkpoint.pt'}")
    gen.write_bytes(b"")
    with pytest.raises(T.CheckpointError) as e:
        T.train(_cfg(), tiny_images, run, progress=False)                 # reuse
    assert str(e.value).startswith(
        f"{gen} is not the generator its run wrote (it is empty (0 bytes); {summary} records sha256 ")
    assert str(e.value).endswith(fix)
    shutil.copyfile(other / "generator.pt", gen)                          # a valid generator of another run
    with pytest.raises(T.CheckpointError, match="its sha256 .* differs: damaged, or another run's file"):
        load_generator(run)                                               # scoring
    gen.unlink()                                                          # the fix the message gives
    T.train(_cfg(), tiny_images, run, progress=False)                     # rewritten from the checkpoint
    before = torch.load(io.BytesIO(good), weights_only=True)["generator"]
    after = torch.load(gen, weights_only=True)["generator"]
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    load_generator(run)


# ---- 2. the decoded-image cache's pixels are checked on load -----------------------------------------------
def test_cache_with_garbled_pixels_is_rebuilt_with_a_warning_naming_it(tmp_path, celeba_dir):
    import warnings
    from sgenlib import data
    src = data.open_celeba(celeba_dir)
    names = src.names[:4]
    good, _ = data.load_images(src, names, cache_dir=tmp_path / "c")
    npy = next((tmp_path / "c").glob("*.npy"))
    raw = bytearray(npy.read_bytes())
    raw[-5000:] = np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes()  # header intact
    npy.write_bytes(bytes(raw))
    with pytest.warns(UserWarning, match=rf"decoded-image cache {npy} is damaged \(its pixels do not match the sha256 "
                                         r"recorded in celeba_.*\.json when it was written\); rebuilding it"):
        again, _ = data.load_images(data.open_celeba(celeba_dir), names, cache_dir=tmp_path / "c")
    assert np.array_equal(good, again)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data.load_images(data.open_celeba(celeba_dir), names, cache_dir=tmp_path / "c")


def test_cache_on_a_full_disk_leaves_no_temporary(tmp_path, celeba_dir, monkeypatch):
    from sgenlib import data
    src = data.open_celeba(celeba_dir)

    def full(path, arr):
        open(path, "wb").close()
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(data.np, "save", full)
    cache = tmp_path / "c"
    with pytest.warns(UserWarning, match=rf"no space left on device writing the decoded-image cache {cache}/celeba_"):
        arr, kept = data.load_images(src, src.names[:2], cache_dir=tmp_path / "c")
    assert len(kept) == 2 and list((tmp_path / "c").iterdir()) == []


# ---- 7. a damaged partition file names itself ---------------------------------------------------------------
@pytest.mark.parametrize("content, what", [
    (bytes(range(128, 256)) * 4, "is damaged: not a text file"),
    (b"", "is empty: it assigns no image to a split"),
])
def test_damaged_partition_file_names_itself(tmp_path, content, what):
    from sgenlib import data
    (tmp_path / "img_align_celeba").mkdir()
    (tmp_path / "img_align_celeba" / "000001.jpg").write_bytes(b"")
    part = tmp_path / "list_eval_partition.txt"
    part.write_bytes(content)
    with pytest.raises(data.CelebAError) as e:
        data.open_celeba(tmp_path)
    assert str(e.value).startswith(f"{part} {what}")
    assert str(e.value).endswith("restore list_eval_partition.txt from the CelebA download "
                                 "(Eval/list_eval_partition.txt), or move it away and use split mode 'paper'")


# ---- 5. uint16 holding 8-bit values -------------------------------------------------------------------------
def test_uint16_holding_8_bit_values_is_taken_as_8_bit_with_a_warning():
    from sgenlib.inference import pixel_array
    yy, xx = np.mgrid[:32, :32]
    img8 = (100 + 80 * np.sin(xx / 4.0)).astype(np.uint8)
    with pytest.warns(UserWarning, match=r"uint16 image whose values all lie in 0\.\.179 \(<= 255\) is taken as 8-bit"):
        arr = pixel_array(img8.astype(np.uint16))
    assert np.array_equal(arr, img8.astype(np.float32))                  # not divided by 257 (black)
    assert np.allclose(pixel_array(img8.astype(np.uint16) * 257), img8)   # true 16-bit: as before


# ---- 9. the training command line's bad arguments: one line -------------------------------------------------
@pytest.mark.parametrize("args, line", [
    (["--profile", "smok"], "argument --profile: invalid choice: 'smok' (choose from"),
    (["--steps", "0"], "argument --steps: must be > 0, got 0"),
    (["--steps", "x"], "argument --steps: expected an integer, got 'x'"),
    (["--data", "/no/such/celeba"], "--data: CelebA not found at /no/such/celeba: the path does not exist."),
])
def test_training_cli_bad_arguments_end_in_one_line(tmp_path, args, line, capsys):
    from sgenlib import train as T
    with pytest.raises(SystemExit) as e:
        T.main(["--model", "SGEN-MSE", "--out", str(tmp_path / "run"), "--device", "cpu", *args])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("python -m sgenlib.train: error: ") and line in err[-1]
    assert not any("Traceback" in x for x in err)


def test_dead_generator_message_names_no_checkpoint_that_does_not_exist(tmp_path, tiny_images):
    from sgenlib import train as T
    with pytest.raises(FloatingPointError) as e:
        T.train(_cfg(steps=1, lr=1e30), tiny_images, tmp_path, progress=False)
    assert not (tmp_path / "checkpoint.pt").exists() and "checkpoint.pt" not in str(e.value)
    assert str(e.value).endswith(f"no checkpoint was written yet (a rerun starts from step 0 in {tmp_path})")


def test_disk_full_writing_a_table_or_figure_names_it_and_leaves_nothing_half_written(tmp_path, monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sgenlib import figures, tables

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(P.os, "fsync", full)
    with pytest.raises(DiskFullError) as e:
        tables.write_table(tmp_path / "tables", pd.DataFrame({"a": [1.0]}), "t1", ["# T"])
    assert str(e.value) == f"no space left on device writing {tmp_path / 'tables' / 't1.csv'}"
    with pytest.raises(DiskFullError, match=f"writing {tmp_path / 'figures' / 'f.png'}"):
        figures._save(plt.figure(), tmp_path / "figures" / "f.png")
    assert list((tmp_path / "tables").iterdir()) == [] and list((tmp_path / "figures").iterdir()) == []
