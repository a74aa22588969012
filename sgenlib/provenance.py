"""Provenance: what produced each stage's results (git commit, profile, parameters, data content
hash, the files it read, device, torch version, wall time), and whether a stage is up to date. Its
command line is run_all.sh's one entry point, also for the runner's safety nets that live in core
modules of their own: the results folder's lock (sgenlib.locks) and each notebook in its own
process group (sgenlib.procgroup).

    python -m sgenlib.provenance check  --results R --stage S --params JSON --notebook NB
    python -m sgenlib.provenance record --results R --stage S --params JSON --notebook NB --seconds T --status ok
    python -m sgenlib.provenance lock   --fd 9 --path R.lock --what R --pid PID --command CMD
    python -m sgenlib.provenance run    [--warn-once FILE] -- CMD ...
`check` exits 0 when R/provenance/S.json records a successful run with the same stage key (see
`stage_key`), every file the stage read still exists with the same sha256 and every output it wrote
still exists (so run_all.sh can skip it), 1 otherwise, printing why.
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

from .fileio import DiskFullError, atomic_write, file_sha256
from .locks import FolderLockedError, holder_info, take_lock
from .procgroup import run_in_group
from .reads import READS_ENV  # noqa: F401 - re-exported: the variable run_all.sh sets
from .hostinfo import cpu_model

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
    info = {"torch": torch.__version__, "python": platform.python_version(), "host_cpu": platform.machine(),
            "cpu_model": cpu_model()}
    if torch.cuda.is_available():
        info["device"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
        info["gpus"] = torch.cuda.device_count()
    else:
        info["device"] = f"cpu ({cpu_model() or platform.machine()}, {torch.get_num_threads()} threads)"
    return info


def notebook_files(notebook: str | Path | None) -> list[Path]:
    """The notebook in whatever form it exists: NN_name.ipynb and a paired NN_name.py (jupytext)."""
    if notebook is None:
        return []
    nb = Path(notebook)
    return [p for p in (nb.with_suffix(".ipynb"), nb.with_suffix(".py")) if p.is_file()]


def sgenlib_sha256() -> str:
    """sha256 over every .py file of the sgenlib package (paths and bytes): the code a stage runs."""
    pkg = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(pkg.rglob("*.py")):
        h.update(str(p.relative_to(pkg)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def stage_key(params: dict, notebook: str | Path | None) -> dict:
    """What a stage's results depend on before it runs: its parameters (run_all.sh puts the data's
    content hash, `data_sha256`, among them), the notebook's source files and the sgenlib source.
    The files it reads from earlier stages are checked separately (`reads` of its record)."""
    nb = {str(p.name): file_sha256(p) for p in notebook_files(notebook)}
    key = {"params_sha256": hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest(),
           "notebook_sha256": nb, "sgenlib_sha256": sgenlib_sha256()}
    key["sha256"] = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return key


def params_hash(params: dict, notebook: str | Path | None) -> str:
    return stage_key(params, notebook)["sha256"]


def _path(results: Path, stage: str) -> Path:
    return Path(results) / "provenance" / f"{stage}.json"


def why_stale(results: Path, stage: str, params: dict, notebook=None) -> str | None:
    """None when the stage's record says it is up to date; else the reason it must run."""
    p = _path(results, stage)
    if not p.is_file():
        return "no record of an earlier run"
    try:
        rec = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as e:
        return f"its record {p} is unreadable ({e})"
    if rec.get("status") != "ok":
        return f"its last run ended with status {rec.get('status')!r}"
    old, new = rec.get("key") or {}, stage_key(params, notebook)
    if old.get("sha256") != new["sha256"]:
        what = [name for name, k in (("parameters or data", "params_sha256"), ("notebook source", "notebook_sha256"),
                                     ("sgenlib source", "sgenlib_sha256")) if old.get(k) != new[k]]
        return "changed: " + (", ".join(what) or "stage key")
    for path, sha in (rec.get("reads") or {}).items():
        if not Path(path).is_file():
            return f"a file it read is gone: {path}"
        if file_sha256(path) != sha:
            return f"a file it read has changed: {path}"
    for rel in rec.get("outputs") or []:
        out = Path(results) / rel
        if not out.exists():
            return f"an output it wrote is gone: {out}"
        damage = _damaged(out)
        if damage:
            return f"an output it wrote is damaged: {out} ({damage})"
    return None


def _damaged(path: Path) -> str | None:
    """Why a table or record a stage wrote cannot be read back (empty, or JSON that does not parse:
    a truncated data_manifest.json); None when it reads, or is of another kind."""
    if path.suffix not in (".json", ".csv", ".ipynb"):
        return None
    try:
        text = path.read_bytes()
        if not text.strip():
            return "empty"
        if path.suffix != ".csv":
            json.loads(text)
    except (OSError, ValueError) as e:
        return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'unreadable'}"
    return None


def is_up_to_date(results: Path, stage: str, params: dict, notebook=None) -> bool:
    return why_stale(results, stage, params, notebook) is None


def record(results: Path, stage: str, params: dict, seconds: float, status: str = "ok",
           notebook=None, started: float | None = None, reads_log: str | Path | None = None) -> dict:
    results = Path(results)
    manifest_path = results / "data_manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    except (OSError, json.JSONDecodeError):
        manifest = {}
    outputs = []
    if started is not None:
        outputs = sorted(str(p.relative_to(results)) for p in results.rglob("*")
                         if p.is_file() and p.stat().st_mtime >= started - 1 and "provenance" not in p.parts)
    reads = {}
    if reads_log is not None and Path(reads_log).is_file():
        for line in Path(reads_log).read_text().splitlines():
            if line and line not in reads and Path(line).is_file():
                reads[line] = file_sha256(line)
    rec = {
        "stage": stage, "status": status, "profile": params.get("profile"), "parameters": params,
        "key": stage_key(params, notebook), "git": git_commit(),
        "data": {k: manifest.get(k) for k in ("root", "split_mode", "counts", "file_list_sha256",
                                               "split_sha256", "degrade", "skipped_unreadable")},
        **device_info(), "wall_seconds": round(seconds, 2),
        "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"), "outputs": outputs,
        "reads": reads,
    }
    p = _path(results, stage)
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(p, json.dumps(rec, indent=1))
    return rec


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:
        rest, warn_once = argv[1:], None
        if rest[:1] == ["--warn-once"] and len(rest) > 1:
            warn_once, rest = rest[1], rest[2:]
        cmd = rest[1:] if rest[:1] == ["--"] else rest
        if not cmd:
            sys.exit("sgenlib.provenance run: give a command after --")
        return run_in_group(cmd, warn_once)
    ap = argparse.ArgumentParser(prog="python -m sgenlib.provenance")
    ap.add_argument("action", choices=["check", "record", "lock"])
    ap.add_argument("--results")
    ap.add_argument("--stage")
    ap.add_argument("--params", help="JSON object of the stage's parameters")
    ap.add_argument("--notebook")
    ap.add_argument("--seconds", type=float, default=0.0)
    ap.add_argument("--started", type=float, help="epoch seconds when the stage started")
    ap.add_argument("--status", default="ok")
    ap.add_argument("--reads", help="the file the stage listed its reads in")
    ap.add_argument("--fd", type=int, help="lock: an open descriptor of --path, inherited from the shell")
    ap.add_argument("--path", help="lock: the lock file")
    ap.add_argument("--what", help="lock: the folder it guards, for the message")
    ap.add_argument("--pid", type=int, help="lock: the holder's pid (the shell's)")
    ap.add_argument("--command", help="lock: the holder's command line")
    a = ap.parse_args(argv)
    if a.action == "lock":
        try:
            take_lock(a.fd, Path(a.path), a.what, holder_info(a.pid, a.command))
        except FolderLockedError as e:
            print(f"run_all.sh: {e}", file=sys.stderr)
            return 3
        return 0
    params = json.loads(a.params)
    if a.action == "check":
        why = why_stale(Path(a.results), a.stage, params, a.notebook)
        if why is not None:
            print(f"   ({a.stage} runs: {why})")
        return 0 if why is None else 1
    try:
        record(Path(a.results), a.stage, params, a.seconds, a.status, a.notebook, a.started, a.reads)
    except DiskFullError as e:
        print(f"run_all.sh: {e}; free space there (or give --results on another disk) and run again",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
