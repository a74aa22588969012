"""Provenance: what produced each stage's results (git commit, profile, parameters, data manifest
hash, device, torch version, wall time), and whether a stage is up to date.

    python -m sgenlib.provenance check  --results R --stage S --params JSON --notebook NB
    python -m sgenlib.provenance record --results R --stage S --params JSON --notebook NB --seconds T --status ok
`check` exits 0 when R/provenance/S.json records a successful run with the same parameters and
notebook source (so run_all.sh can skip it), 1 otherwise.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path


DEVICE_COMMIT_FILE = ".device_commit"
"""Written into the carried tree by scripts/prepare_device_carry.sh ("commit <sha>", "dirty <bool>")."""


def _device_commit(cwd: str | Path) -> dict | None:
    """The commit recorded in .device_commit at the checkout's root, when there is one."""
    from .paths import project_root
    for folder in (Path(cwd), project_root()):
        path = folder / DEVICE_COMMIT_FILE
        if path.is_file():
            fields = dict(line.split(" ", 1) for line in path.read_text().splitlines() if " " in line)
            if fields.get("commit"):
                dirty = {"true": True, "false": False}.get(fields.get("dirty", "").strip())
                return {"commit": fields["commit"].strip(), "dirty": dirty, "source": DEVICE_COMMIT_FILE}
    return None


def git_commit(cwd: str | Path = ".") -> dict:
    """HEAD and whether tracked files differ from it; where the checkout has no git metadata (a copy
    of the tree on another machine): the commit given in $SGEN_GIT_COMMIT, else the one written
    into .device_commit by scripts/prepare_device_carry.sh, marked with its source."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no")) if commit else None
    except OSError:
        commit, dirty = "", None
    if not commit and os.environ.get("SGEN_GIT_COMMIT", "unknown") != "unknown":
        return {"commit": os.environ["SGEN_GIT_COMMIT"], "dirty": None, "source": "SGEN_GIT_COMMIT"}
    if not commit:
        recorded = _device_commit(cwd)
        if recorded is not None:
            return recorded
    return {"commit": commit or None, "dirty": dirty}


def device_info() -> dict:
    import torch
    info = {"torch": torch.__version__, "python": platform.python_version(), "host_cpu": platform.machine()}
    if torch.cuda.is_available():
        info["device"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
        info["gpus"] = torch.cuda.device_count()
    else:
        info["device"] = f"cpu ({torch.get_num_threads()} threads)"
    return info


def params_hash(params: dict, notebook: str | Path | None) -> str:
    h = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    if notebook is not None and Path(notebook).is_file():
        nb = json.loads(Path(notebook).read_text())
        h.update(json.dumps([c.get("source") for c in nb.get("cells", [])]).encode())
    return h.hexdigest()


def _path(results: Path, stage: str) -> Path:
    return Path(results) / "provenance" / f"{stage}.json"


def is_up_to_date(results: Path, stage: str, params: dict, notebook=None) -> bool:
    p = _path(results, stage)
    if not p.is_file():
        return False
    rec = json.loads(p.read_text())
    return rec.get("status") == "ok" and rec.get("params_hash") == params_hash(params, notebook)


def record(results: Path, stage: str, params: dict, seconds: float, status: str = "ok",
           notebook=None, started: float | None = None) -> dict:
    results = Path(results)
    manifest_path = results / "data_manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    outputs = []
    if started is not None:
        outputs = sorted(str(p.relative_to(results)) for p in results.rglob("*")
                         if p.is_file() and p.stat().st_mtime >= started - 1 and "provenance" not in p.parts)
    rec = {
        "stage": stage, "status": status, "profile": params.get("profile"), "parameters": params,
        "params_hash": params_hash(params, notebook), "git": git_commit(),
        "data": {k: manifest.get(k) for k in ("root", "split_mode", "counts", "file_list_sha256",
                                               "split_sha256", "degrade")},
        **device_info(), "wall_seconds": round(seconds, 2),
        "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"), "outputs": outputs,
    }
    p = _path(results, stage)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(rec, indent=1))
    return rec


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sgenlib.provenance")
    ap.add_argument("action", choices=["check", "record"])
    ap.add_argument("--results", required=True)
    ap.add_argument("--stage", required=True)
    ap.add_argument("--params", required=True, help="JSON object of the stage's parameters")
    ap.add_argument("--notebook")
    ap.add_argument("--seconds", type=float, default=0.0)
    ap.add_argument("--started", type=float, help="epoch seconds when the stage started")
    ap.add_argument("--status", default="ok")
    a = ap.parse_args(argv)
    params = json.loads(a.params)
    if a.action == "check":
        return 0 if is_up_to_date(Path(a.results), a.stage, params, a.notebook) else 1
    record(Path(a.results), a.stage, params, a.seconds, a.status, a.notebook, a.started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
