"""Make a results folder fit to commit: no absolute path of the machine it ran on, no file too big.

A run records where things were (the data root in the manifest and the provenance, the run and
results folders in the notebooks' parameters and printed outputs). Before a results folder is
committed, `make_portable` rewrites those paths in its text files: the checkout's root becomes a
path relative to it, and the data root becomes `$CELEBA_ROOT`, the setting that names it on any
machine. What still looks like an absolute path afterwards is reported, as is any file over the
size limit, so that `scripts/publish_results.py` can refuse to call the folder ready.

Rewriting the recorded paths changes the provenance's parameters, so a stage of a published folder
reruns on another machine (where the paths differ anyway); the numbers stay as they were produced.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

TEXT_SUFFIXES = (".json", ".md", ".csv", ".ipynb", ".txt", ".log")
MAX_FILE_BYTES = 4 * 2**20
"""The largest file a committed results folder may hold (DEVELOPERS.md: no file over 4 MiB)."""
ABSOLUTE_PATH = re.compile(r"(?<![\w.$])/(?:work|home|root|tmp|Users|mnt|data|opt|srv|var)/[\w.\-/]+")
"""What an absolute path of a machine looks like in a text file (a URL's path has a host before it)."""


def _replacements(repo_root: Path, data_root: Path | None) -> list[tuple[str, str]]:
    """(old, new) pairs, longest old first, for the real and the resolved spelling of each root."""
    pairs = []
    if data_root is not None:
        for spelling in {str(data_root), str(Path(data_root).resolve())}:
            pairs.append((spelling.rstrip("/"), "$CELEBA_ROOT"))
    for spelling in {str(repo_root), str(Path(repo_root).resolve())}:
        pairs += [(spelling.rstrip("/") + "/", ""), (spelling.rstrip("/"), ".")]
    return sorted(pairs, key=lambda p: -len(p[0]))


def portable_text(text: str, repo_root: Path, data_root: Path | None = None) -> str:
    """`text` with the data root written as $CELEBA_ROOT and paths inside the checkout made
    relative to its root."""
    for old, new in _replacements(Path(repo_root), data_root):
        text = text.replace(old, new)
    return text


def make_portable(folder: str | os.PathLike, repo_root: str | os.PathLike,
                  data_root: str | os.PathLike | None = None) -> dict:
    """Rewrite every text file under `folder` with portable_text (files starting with '.' are left
    alone: they are git-ignored run state). Returns {"rewritten": [files changed],
    "absolute_paths": {file: [what still looks absolute]}, "too_big": {file: bytes}}, paths
    relative to `folder`."""
    folder, repo_root = Path(folder), Path(repo_root)
    data = Path(data_root) if data_root else None
    if not folder.is_dir():
        raise FileNotFoundError(f"no results folder at {folder}")
    report = {"rewritten": [], "absolute_paths": {}, "too_big": {}}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        if path.suffix in TEXT_SUFFIXES:
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
            new = portable_text(text, repo_root, data)
            if new != text:
                path.write_text(new, encoding="utf-8", errors="surrogateescape")
                report["rewritten"].append(rel)
            left = sorted(set(ABSOLUTE_PATH.findall(new)))
            if left:
                report["absolute_paths"][rel] = left[:5]
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            report["too_big"][rel] = size
    return report
