"""Where relative paths point: the checkout's root, so a notebook finds results/, runs/ and cache/
whether its kernel starts in the repository root (papermill, run_all.sh) or in notebooks/
(JupyterLab)."""
from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The checkout's root (the folder with pyproject.toml above this package), else the cwd."""
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def resolve_project_path(p: str | os.PathLike) -> Path:
    """An absolute path as is; a relative one against project_root()."""
    p = Path(p).expanduser()
    return p if p.is_absolute() else project_root() / p
