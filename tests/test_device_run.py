"""The device run's scripts (scripts/device/: gpu_run.sh, size_gpu_quick.py, prepare_device_carry.sh,
called through scripts/gpu_run.sh and the other paths the guide names) on the CPU: the preflight
stops within seconds naming what is missing, the step count comes from the whole study's budget
with no forced minimum, the commit travels in .device_commit, the notebooks' inline backend is not
overridden. The whole device call is rehearsed by scripts/rehearse_device.sh; the Python helpers
of scripts/device/ are checked one by one in tests/test_device_scripts.py.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from sgenlib import provenance
from sgenlib.runall import NOTEBOOKS

from conftest import load_script

REPO = Path(__file__).resolve().parent.parent


def _run(cmd, **kw):
    env = {k: v for k, v in os.environ.items() if k not in ("SGEN_GIT_COMMIT",)}
    env.update(kw.pop("env", {}))
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, **kw)


def test_preflight_names_missing_faces_within_seconds(tmp_path):
    t = time.perf_counter()
    p = _run(["bash", str(REPO / "scripts" / "gpu_run.sh"), "gpu-quick", str(tmp_path / "no_faces")],
             env={"OUT": str(tmp_path / "out")})
    assert p.returncode == 2 and time.perf_counter() - t < 10
    status = (tmp_path / "out" / "status.txt").read_text()
    assert status.startswith("preflight\tfailed") and "faces" in status and "prepare_device_carry" in status


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message given where torch sees no GPU")
def test_preflight_names_missing_cuda(tmp_path, celeba_dir):
    p = _run(["bash", str(REPO / "scripts" / "gpu_run.sh"), "gpu-quick", str(celeba_dir)],
             env={"OUT": str(tmp_path / "out"), "PYTHON": sys.executable})
    assert p.returncode == 2
    assert "CUDA" in (tmp_path / "out" / "status.txt").read_text()


def test_gpu_run_keeps_the_notebooks_inline_backend():
    """MPLBACKEND=Agg in the environment stops ipykernel from choosing its inline backend, and the
    executed notebooks lose their figures; gpu_run.sh unsets it (scripts/rehearse_device.sh checks
    the executed notebooks' image/png outputs end to end)."""
    text = (REPO / "scripts" / "device" / "gpu_run.sh").read_text()
    code = [line.split("#")[0] for line in text.splitlines()]
    assert not any("MPLBACKEND=" in line for line in code)
    assert any(line.strip() == "unset MPLBACKEND" for line in code)


def _device_module(name):
    return load_script(f"scripts/device/{name}.py")


def test_steps_fill_the_study_budget_without_a_forced_minimum():
    choose = _device_module("size_plan").choose_steps
    # 400 s budget, 150 s fixed, 0.1 s per step of all models: 2,500 steps
    assert choose(400, 150, 0.1, 10, 20_000) == (2500, False)
    assert choose(400, 150, 0.1, 10, 1000) == (1000, False)           # the profile's cap
    # fixed costs fill the budget: the small floor, flagged (the old script forced 200 steps)
    assert choose(100, 150, 0.1, 10, 20_000) == (10, True)
    assert choose(100, 150, 0.1, 10, 4) == (4, True)                  # never above the profile's own steps
    assert choose(151, 150, 0.1, 10, 20_000) == (10, False)


def test_sizing_status_line_says_what_the_steps_came_from(tmp_path):
    record = {"steps": 120, "max_steps": 20_000, "seconds_per_step_all_models": 1.25,
              "ms_per_step": {f"m{i}": 1.0 for i in range(12)}, "fixed_total_s": 210.0, "safety": 1.5,
              "estimated_study_s": 382.5, "budget_s": 390.0, "over_budget": False}
    line = _device_module("size_plan").summary(record)
    assert line == ("steps=120 (of at most 20000; 1.25 s per step of all 12 models, fixed costs 210.0 s "
                    "with x1.5; estimated study 382.5 s of 390.0 s)")
    (tmp_path / "sizing.json").write_text(json.dumps({**record, "over_budget": True}))
    p = _run([sys.executable, str(REPO / "scripts" / "device" / "size_plan.py"), "summary",
              str(tmp_path / "sizing.json")])
    assert p.returncode == 0 and p.stdout.strip().endswith("of 390.0 s; over budget even at the floor)")


def test_sizing_uses_the_profile_actually_run():
    mod = _device_module("size_gpu_quick")
    a = mod.parse_args(["--data", "x", "--profile", "smoke", "--study-s", "100"])
    assert a.prof["name"] == "smoke" and a.prof["width"] == 0.125 and a.max_steps == 4
    a = mod.parse_args(["--data", "x", "--profile", "gpu-quick", "--until", "1", "--set", "width=0.5"])
    assert a.prof["width"] == 0.5 and a.max_steps == 20_000
    with pytest.raises(SystemExit):
        mod.parse_args(["--data", "x", "--profile", "smoke"])           # a budget is required


def test_commit_read_from_device_commit_file(tmp_path, monkeypatch):
    monkeypatch.delenv("SGEN_GIT_COMMIT", raising=False)
    (tmp_path / ".device_commit").write_text("commit 0123abcd\ndirty false\n")
    assert provenance.git_commit(tmp_path) == {"commit": "0123abcd", "dirty": False, "source": ".device_commit"}
    monkeypatch.setenv("SGEN_GIT_COMMIT", "feedbeef")                    # the environment overrides the file
    assert provenance.git_commit(tmp_path)["commit"] == "feedbeef"


def _copy_prepare_device_carry(root: Path) -> None:
    """The script as the guide calls it (scripts/prepare_device_carry.sh) and the one it runs."""
    (root / "scripts" / "device").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "prepare_device_carry.sh", root / "scripts")
    shutil.copy(REPO / "scripts" / "device" / "prepare_device_carry.sh", root / "scripts" / "device")


def test_prepare_device_carry_asks_for_setup_first(tmp_path):
    _copy_prepare_device_carry(tmp_path)
    p = _run(["bash", str(tmp_path / "scripts" / "prepare_device_carry.sh")], cwd=tmp_path,
             env={"PYTHON": ""})
    assert p.returncode == 2 and "scripts/setup.sh" in p.stderr


def test_prepare_device_carry_writes_the_commit(tmp_path):
    if not (REPO / ".git").exists():
        pytest.fail("this test needs the kit's git checkout")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    _copy_prepare_device_carry(tmp_path)
    subprocess.run(["git", "-C", str(tmp_path), "add", "scripts"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"],
                   check=True)
    sha = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    p = _run(["bash", str(tmp_path / "scripts" / "prepare_device_carry.sh"), "--commit"], cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / ".device_commit").read_text() == f"commit {sha}\ndirty false\n"


@pytest.mark.slow
def test_cut_study_still_packs_and_exits_0(tmp_path, celeba_dir):
    """A deadline too short for the study: the study is cut, later notebooks are not reached, the
    results are packed anyway and the script exits 0; status.txt names each stage's outcome.
    Runs on a copy of the tree (the script writes results/, runs/ and cache/ beside itself)."""
    tree = tmp_path / "tree"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if (REPO / f).is_file():
            (tree / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / f, tree / f)
    out = tmp_path / "out"
    env = {"OUT": str(out), "PYTHON": sys.executable, "DEADLINE_S": "100", "SIZE_LIMIT_S": "10",
           "BENCH_SECONDS": "25", "CUDA_TESTS_S": "5", "PACK_S": "20", "OMP_NUM_THREADS": "1",
           "BENCH_ARGS": "--quick --models SRCNN --max-seconds 3 --images 8", "MPLBACKEND": "Agg"}
    t = time.perf_counter()
    p = subprocess.run(["bash", str(tree / "scripts" / "gpu_run.sh"), "smoke", str(celeba_dir)], capture_output=True,
                       text=True, env={**os.environ, **env}, timeout=400)
    took = time.perf_counter() - t
    status = [line.split("\t") for line in (out / "status.txt").read_text().splitlines()]
    outcome = {s[0]: s[1] for s in status}
    assert p.returncode == 0, p.stdout[-2000:]
    assert took < 100 + 30                                               # the deadline holds (kill grace aside)
    assert outcome["preflight"] == "ok" and outcome["sizing"] in ("cut", "ok", "skipped")
    assert outcome["study"] == "cut"
    notebooks = {k: v for k, v in outcome.items() if k.startswith("study/")}
    assert len(notebooks) == len(NOTEBOOKS) and "cut" in notebooks.values() and "not-reached" in notebooks.values()
    assert outcome["pack"] == "ok" and (out / "results.tgz").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["gpu_run.log", "results.tgz", "status.txt"]
