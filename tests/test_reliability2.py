"""Reruns you can trust, round two (issue 21): stage keys that cover every file a stage reads, damaged
outputs and data files that name themselves, a finished generator checked against its record, full
disks that leave no temporary, 8-bit values in uint16 arrays, and the training command line's
argument errors. run_all.sh's own checks are in tests/test_run_all_checks.py."""
import errno
import json
import time

import numpy as np
import pandas as pd
import pytest

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
