"""Shared fixtures. CelebA comes from $CELEBA_ROOT (CI: ../shared/celeba); caches go to tmp folders."""
from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
# run_all.sh / lab.sh --data save the data root in the checkout's .sgen_settings.json: tests that
# call them (and their notebooks) use a settings file of their own instead (sgenlib.data_root), one
# per test, so a root saved by one test is never the default of another
SETTINGS_DIR = Path(tempfile.mkdtemp(prefix="sgen_settings_"))
os.environ["SGEN_SETTINGS"] = str(SETTINGS_DIR / "settings.json")


@pytest.fixture(autouse=True)
def own_settings_file(request, monkeypatch):
    monkeypatch.setenv("SGEN_SETTINGS", str(SETTINGS_DIR / f"{abs(hash(request.node.nodeid))}.json"))


def load_script(relative: str, name: str | None = None):
    """The Python file REPO/`relative` (a script, not a package module) as a module, registered in
    sys.modules under `name` (default: its stem), as `python <file>` would run it but without __main__."""
    path = REPO / relative
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def celeba_root() -> Path:
    root = os.environ.get("CELEBA_ROOT") or str(REPO.parent / "shared" / "celeba")
    return Path(root)


def pytest_collection_modifyitems(config, items):
    """Tests marked `cuda` need a GPU: without one they are deselected (not skipped); the device run
    (scripts/gpu_run.sh) runs them."""
    import torch
    if torch.cuda.is_available():
        return
    gpu_only = [it for it in items if it.get_closest_marker("cuda")]
    if gpu_only:
        config.hook.pytest_deselected(items=gpu_only)
        items[:] = [it for it in items if not it.get_closest_marker("cuda")]


@pytest.fixture(scope="session")
def celeba_dir() -> Path:
    root = celeba_root()
    if not (root / "img_align_celeba").is_dir():
        pytest.fail(f"CelebA test data not found at {root}: set CELEBA_ROOT (CI uses ../shared/celeba)")
    return root


@pytest.fixture(scope="session")
def few_faces(celeba_dir, tmp_path_factory):
    """12 real faces, gray uint8 (12, 1, 218, 178), with their names."""
    from sgenlib import data
    src = data.open_celeba(celeba_dir)
    names = src.names[:12]
    arr, kept = data.load_images(src, names, cache_dir=tmp_path_factory.mktemp("cache"))
    return arr, kept


@pytest.fixture
def tiny_images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(8, 1, 218, 178), dtype=np.uint8)
