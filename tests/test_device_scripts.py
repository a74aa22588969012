"""The Python helpers of the device run (scripts/device/), each on its own and without a GPU: the
step plan from made-up measurements, the preflight's verdict, the carried sample of faces, the
rehearsal's checks on a made-up device call's output."""
from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

import pytest
import torch

from sgenlib.paper import SCALES
from sgenlib.runall import NOTEBOOKS

from conftest import load_script


def _module(name):
    return load_script(f"scripts/device/{name}.py")


size_plan = _module("size_plan")
PROF = {"timing_repeats": 2, "eval_batch": 10, "gallery_images": 2, "mos_set_per_scale": 2}


def _measured(per_step=0.05):
    two = lambda v: {"A": v, "B": v}                                    # noqa: E731 - two models alike
    return {"per_step": two(per_step), "setup": two(1.0), "eval_fwd": two(0.01), "b1_fwd": two(0.001),
            "metric_batch": 0.0, "skimage_8": 0.0, "png": 0.0, "figure": 0.0, "kernel": 1.0,
            "decode_rate": 100.0, "decoded_faces": 100, "eval_batch": 10, "test_faces": 20}


def test_fixed_costs_from_measured_figures():
    fixed = size_plan.fixed_costs(_measured(), PROF, on_cuda=False)
    area = sum(h * w for h, w in SCALES) / (len(SCALES) * SCALES[-1][0] * SCALES[-1][1])
    assert fixed["kernel_starts_s"] == len(NOTEBOOKS) * (1.0 + size_plan.PAPERMILL_OVERHEAD_S)
    assert fixed["decode_s"] == 1.0 and fixed["model_setup_s"] == 2.0
    assert fixed["evaluation_s"] == round(0.02 * 2 * len(SCALES) * area, 2)      # 2 eval batches per scale
    # each model's timing table: (repeats + 3) calls at batch 1 and at the eval batch; two tables
    assert fixed["timing_tables_s"] == round(2 * 2 * (5 * 0.001 + 5 * 0.01), 2)
    assert fixed["png_writes_s"] == 0 and fixed["figures_s"] == 0
    # on CUDA every timed batch size takes at least TIMING_MIN_SECONDS
    cuda = size_plan.fixed_costs(_measured(), PROF, on_cuda=True)
    assert cuda["timing_tables_s"] == 2 * 2 * 2 * size_plan.TIMING_MIN_SECONDS


def test_plan_fills_the_budget_with_training_steps():
    m = _measured(per_step=0.05)                                        # 0.1 s per step of both models
    fixed = sum(size_plan.fixed_costs(m, PROF, False).values())
    p = size_plan.plan(m, PROF, False, budget_s=400, safety=1.0, train_safety=1.0, min_steps=10, max_steps=20_000)
    assert p["steps"] == int((400 - fixed) / 0.1) // 10 * 10 and not p["over_budget"]
    assert p["estimated_study_s"] == pytest.approx(fixed + 0.1 * p["steps"]) and p["estimated_study_s"] <= 400
    safe = size_plan.plan(m, PROF, False, 400, safety=1.5, train_safety=1.15, min_steps=10, max_steps=20_000)
    assert safe["fixed_total_s"] == pytest.approx(1.5 * fixed) and safe["steps"] < p["steps"]
    tight = size_plan.plan(m, PROF, False, budget_s=fixed / 2, safety=1.0, train_safety=1.0, min_steps=10,
                           max_steps=20_000)
    assert tight["steps"] == 10 and tight["over_budget"]


def test_preflight_names_what_is_missing():
    preflight = _module("preflight")
    assert preflight.missing_modules(["json", "no_such_module_sgen"]) == [
        "no_such_module_sgen (ModuleNotFoundError: No module named 'no_such_module_sgen')"]
    line = preflight.check(False, modules=["json"])
    assert line.startswith(f"python {sys.version.split()[0]}, torch {torch.__version__}")
    with pytest.raises(SystemExit, match="python packages: no_such_module_sgen"):
        preflight.check(False, modules=["json", "no_such_module_sgen"])
    if torch.cuda.is_available():
        assert torch.cuda.get_device_name(0) in preflight.check(True, modules=[])
    else:
        with pytest.raises(SystemExit, match="CUDA: .* sees no GPU"):
            preflight.check(True, modules=[])


def test_carry_is_a_sample_in_celebas_layout(celeba_dir, tmp_path):
    carry = _module("carry")
    dst = tmp_path / ".celeba_carry"
    assert carry.write_carry(celeba_dir, 6, 2, 3, dst) == {"train": 6, "val": 2, "test": 3}
    faces = sorted(p.name for p in (dst / "img_align_celeba").iterdir())
    assert len(faces) == 11
    assert (dst / "img_align_celeba" / faces[0]).read_bytes() == (celeba_dir / "img_align_celeba" / faces[0]).read_bytes()
    partition = dict(line.split() for line in (dst / "list_eval_partition.txt").read_text().splitlines())
    assert sorted(partition) == faces and sorted(partition.values()).count("0") == 6
    from sgenlib import data
    assert sorted(data.open_celeba(dst).names) == faces                 # read back as CelebA


def _tgz(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as t:
        for name, blob in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            t.addfile(info, io.BytesIO(blob))


def _device_call_output(work: Path, commit: str) -> Path:
    """What a good smoke device call leaves: $OUT and the tree's results/smoke."""
    out, res = work / "out", work / "tree" / "results" / "smoke"
    (res / "notebooks").mkdir(parents=True)
    (res / "provenance").mkdir()
    out.mkdir()
    stages = ["preflight", "sizing", "study", *(f"study/{nb}" for nb in NOTEBOOKS), "pack_mos", "pack"]
    (out / "status.txt").write_text("".join(f"{s}\tok\t1\t\n" for s in stages))
    _tgz(out / "results.tgz", {"results/smoke/gallery/index.csv": b"x", "results/smoke/logs/run_all.log": b"x"})
    _tgz(out / "mos_set.tgz", {"mos_set/index.csv": b"x"})
    figure = {"cells": [{"outputs": [{"data": {"image/png": "..."}}]}]}
    for nb in NOTEBOOKS:
        (res / "notebooks" / f"{nb}.ipynb").write_text(json.dumps(figure))
        (res / "provenance" / f"{nb}.json").write_text(json.dumps({"git": {"commit": commit}}))
    (res / "DEVICE_RUN_COMMIT").write_text(commit + "\n")
    return res


def test_rehearsal_checks_pass_a_good_call_and_name_each_failure(tmp_path, capsys):
    check = _module("rehearse_check")
    res = _device_call_output(tmp_path, "abc123")
    assert check.main([str(tmp_path), "0", "abc123"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("rehearsal: PASSED")
    status = tmp_path / "out" / "status.txt"
    status.write_text(status.read_text().replace("study/04_sota\tok", "study/04_sota\tcut"))
    (res / "notebooks" / "02_sgen.ipynb").write_text(json.dumps({"cells": []}))
    (res / "provenance" / "01_data_prep.json").write_text(json.dumps({"git": {"commit": "other"}}))
    assert check.main([str(tmp_path), "0", "abc123"]) == 1
    verdict = capsys.readouterr().out.splitlines()[-1]
    assert verdict.startswith("rehearsal: FAILED (3): ") and "study/04_sota ok (got cut)" in verdict
    assert "inline figures" in verdict and "provenance record" in verdict
