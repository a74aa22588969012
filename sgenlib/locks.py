"""One writer per folder: an fcntl lock on a hidden sibling file (`.<folder>.lock`) that records
who holds it, so a second run stops at once naming the first. Training claims its run folder with
`folder_lock`; run_all.sh takes its results folder's lock through `python -m sgenlib.provenance lock`
(`take_lock` on a descriptor the shell keeps open)."""
from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path


class FolderLockedError(RuntimeError):
    """Another process holds the lock of a run or results folder; the message names it."""


def lock_path(folder: str | Path) -> Path:
    """The lock file of `folder`: a hidden sibling (it survives the folder being moved aside)."""
    folder = Path(folder).absolute()
    return folder.parent / f".{folder.name}.lock"


def holder_info(pid: int | None = None, command: str | None = None) -> dict:
    return {"pid": pid or os.getpid(), "host": socket.gethostname(),
            "command": command or " ".join(sys.argv),
            "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def describe_holder(lock_file: Path) -> str:
    try:
        h = json.loads(Path(lock_file).read_text())
        return f"pid {h['pid']} on {h['host']}, started {h['started_utc']}: {h['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that left no details"


def take_lock(fd: int, lock_file: Path, what: str, info: dict) -> None:
    """fcntl.flock `fd` (open on `lock_file`) without waiting and write who holds it; or raise
    FolderLockedError naming the holder. The lock lasts while any process holds that open file."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            raise
        raise FolderLockedError(
            f"{what} is in use by another run ({describe_holder(lock_file)}); wait for it to finish, "
            f"or stop that process, then run again (lock file {lock_file})") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode(), 0)


@contextmanager
def folder_lock(folder: str | Path, what: str | None = None):
    """Hold the lock of `folder` for the block (FolderLockedError at once if another process has it)."""
    folder = Path(folder)
    lf = lock_path(folder)
    lf.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lf, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        take_lock(fd, lf, what or str(folder), holder_info())
        yield lf
    finally:
        os.close(fd)                      # closing the last descriptor releases the lock
