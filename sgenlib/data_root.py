"""Where the kit looks for CelebA, and the one local setting that remembers it.

`run_all.sh --data PATH` and `scripts/lab.sh --data PATH` save PATH in SETTINGS_FILE at the
checkout's root (git-ignored, one per checkout), so a notebook opened later in JupyterLab finds the
same data without being told. The root a notebook or command uses, first found of:

  1. the `data_root` notebook parameter (or a command's --data / root argument), when not empty;
  2. $CELEBA_ROOT;
  3. the saved setting (SETTINGS_FILE, key "data_root");
  4. data/celeba (DEFAULT_ROOT) in the checkout.

A relative path is taken from the checkout's root. :func:`describe` names the path and which of
the four it came from; the notebooks print it.

    python -m sgenlib.data_root set PATH     # save PATH (made absolute) as the data root
    python -m sgenlib.data_root show         # the root in use and where it came from
    python -m sgenlib.data_root where        # the same as two lines: path, source (for run_all.sh)
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .fileio import atomic_write
from .paths import project_root, resolve_project_path

DEFAULT_ROOT = "data/celeba"
SETTINGS_FILE = ".sgen_settings.json"
ENV = "CELEBA_ROOT"
SETTINGS_ENV = "SGEN_SETTINGS"
"""Another settings file instead of the checkout's (the tests use one of their own)."""


def settings_path() -> Path:
    return Path(os.environ[SETTINGS_ENV]) if os.environ.get(SETTINGS_ENV) else project_root() / SETTINGS_FILE


def saved_root() -> str:
    """The data root saved by run_all.sh / lab.sh --data ('' when none); a damaged file is an error
    naming it and the fix."""
    path = settings_path()
    if not path.is_file():
        return ""
    try:
        value = json.loads(path.read_text()).get("data_root", "")
    except (ValueError, AttributeError) as e:
        raise ValueError(f"{path} is not a JSON object with a 'data_root' ({e}): delete it, or run "
                         "`python -m sgenlib.data_root set PATH` to write it again") from e
    return str(value or "")


def save_root(root: str | os.PathLike) -> Path:
    """Save `root` (made absolute) as the data root in SETTINGS_FILE, keeping its other keys."""
    path = settings_path()
    settings = {}
    if path.is_file():
        try:
            settings = json.loads(path.read_text())
        except ValueError:
            settings = {}
    settings["data_root"] = str(Path(root).expanduser().resolve())
    atomic_write(path, json.dumps(settings, indent=1) + "\n")
    return path


def root_and_source(root: str | os.PathLike | None = None) -> tuple[Path, str]:
    """(the CelebA root to read, where it came from: 'the data_root parameter', '$CELEBA_ROOT',
    the settings file's path, or 'the default')."""
    if root:
        return resolve_project_path(root), "the data_root parameter"
    if os.environ.get(ENV):
        return resolve_project_path(os.environ[ENV]), f"${ENV}"
    saved = saved_root()
    if saved:
        return resolve_project_path(saved), f"{settings_path()} (saved by --data)"
    return resolve_project_path(DEFAULT_ROOT), "the default"


def describe(root: str | os.PathLike | None = None) -> str:
    """'CelebA root: PATH (from SOURCE)', what the notebooks print."""
    path, source = root_and_source(root)
    return f"CelebA root: {path} (from {source})"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["set"] and len(argv) == 2:
        if not Path(argv[1]).expanduser().exists():
            print(f"sgenlib.data_root: {argv[1]} does not exist; give the folder holding CelebA "
                  "(img_align_celeba/ or img_align_celeba.zip)", file=sys.stderr)
            return 2
        print(f"data root {Path(argv[1]).expanduser().resolve()} saved in {save_root(argv[1])} "
              "(notebooks opened in JupyterLab use it; CELEBA_ROOT or a data_root parameter overrides it)")
        return 0
    if argv == ["show"]:
        print(describe())
        return 0
    if argv == ["where"]:                  # for run_all.sh: the path, then its source, one a line
        print("\n".join(map(str, root_and_source())))
        return 0
    print("usage: python -m sgenlib.data_root set PATH | show | where", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
