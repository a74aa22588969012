"""Atomic file writes, the kit's one way: write a temporary beside the file, fsync, rename it over
the file. A reader never sees half a file; a killed writer leaves only a `.<name>.tmp<PID>`, which
`remove_temporaries` clears; a full disk is a DiskFullError naming the file, not the temporary.

Checkpoints (sgenlib.train), tables, figures and provenance records (sgenlib.provenance), the
decoded-image cache (sgenlib.data) and the saved data root (sgenlib.data_root) all write through
here. Torch-free, so the torch-free modules can use it.
"""
from __future__ import annotations

import errno
import hashlib
import os
from contextlib import contextmanager
from pathlib import Path


class DiskFullError(OSError):
    """No space left on the device; str() is 'no space left on device writing <path>'."""

    def __init__(self, path):
        super().__init__(errno.ENOSPC, f"no space left on device writing {path}")
        self.path = str(path)

    def __str__(self) -> str:
        return self.strerror


def temporary_for(path: Path, suffix: str = "") -> Path:
    """The temporary that stands in for `path` while it is written: hidden, named by the process."""
    return path.with_name(f".{path.name}.tmp{os.getpid()}{suffix}")


@contextmanager
def replacing(path: str | os.PathLike, suffix: str = ""):
    """Yields a temporary path to write; on a clean exit it is renamed over `path`. The temporary
    is removed whatever happens, and a full disk raises DiskFullError naming `path`. `suffix` ends
    the temporary's name, for writers that add their own (np.save adds '.npy')."""
    path = Path(path)
    tmp = temporary_for(path, suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        if e.errno == errno.ENOSPC and not isinstance(e, DiskFullError):
            raise DiskFullError(path) from e
        raise
    finally:
        tmp.unlink(missing_ok=True)


def write_all(f, data) -> None:
    """The one write of atomic_write (a seam: the tests fill the disk here)."""
    f.write(data)


def atomic_write(path: str | os.PathLike, data: str | bytes | memoryview) -> None:
    """Write `data` (str as UTF-8, or bytes) to `path` atomically, fsynced."""
    with replacing(path) as tmp, open(tmp, "wb") as f:
        write_all(f, data.encode() if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())


def remove_temporaries(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Delete the .<name>.tmp<PID> files that a killed or disk-full writer left in `folder` (and in
    every folder below it when `recursive`). Call it holding the folder's lock: no live writer owns
    them then. Returns what was removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    gone = []
    for p in (folder.rglob if recursive else folder.glob)(".*.tmp*"):
        if p.is_file() and not p.name.endswith(".lock"):
            try:
                p.unlink()
                gone.append(p)
            except OSError:
                pass
    return gone


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
