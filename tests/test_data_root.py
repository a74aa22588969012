"""One place for the data root (sgenlib.data_root): run_all.sh / lab.sh --data save it, a notebook
opened later in JupyterLab (kernel started in notebooks/) finds it; the notebook parameter and
$CELEBA_ROOT still come first, and the source is printed."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO
from sgenlib import data, data_root


def test_parameter_then_env_then_saved_then_default(tmp_path, monkeypatch):
    settings = tmp_path / "settings.json"
    monkeypatch.setenv("SGEN_SETTINGS", str(settings))
    monkeypatch.delenv("CELEBA_ROOT", raising=False)
    assert data_root.root_and_source() == (REPO / "data" / "celeba", "the default")
    saved = tmp_path / "celeba"
    saved.mkdir()
    assert data_root.main(["set", str(saved)]) == 0
    assert json.loads(settings.read_text()) == {"data_root": str(saved)}
    assert data.resolve_root("") == saved and str(settings) in data_root.describe()
    monkeypatch.setenv("CELEBA_ROOT", str(tmp_path / "env"))
    assert data_root.root_and_source() == (tmp_path / "env", "$CELEBA_ROOT")
    assert data.resolve_root(str(tmp_path / "param")) == tmp_path / "param"
    assert "from the data_root parameter" in data_root.describe(str(tmp_path / "param"))
    assert data_root.main(["set", str(tmp_path / "missing")]) == 2          # a wrong path is not saved
    assert json.loads(settings.read_text()) == {"data_root": str(saved)}
    settings.write_text("not json")
    monkeypatch.delenv("CELEBA_ROOT")
    with pytest.raises(ValueError, match="settings.json.*delete it"):
        data.resolve_root()


@pytest.mark.slow  # papermill
def test_saved_root_is_found_by_a_notebook_started_in_notebooks(tmp_path, celeba_dir):
    """Set once (as run_all.sh --data does), then a notebook whose kernel starts in notebooks/ (as
    in JupyterLab), with no CELEBA_ROOT and an empty data_root parameter, opens the same data."""
    import nbformat
    env = {k: v for k, v in os.environ.items() if k != "CELEBA_ROOT"}
    env.update(SGEN_SETTINGS=str(tmp_path / "settings.json"), PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-m", "sgenlib.data_root", "set", str(celeba_dir)], cwd=tmp_path, env=env,
                   check=True, capture_output=True)
    nb = nbformat.v4.new_notebook()
    probe = ("from sgenlib import data, data_root as D\nprint(D.describe(data_root))\n"
             "print('images:', len(data.open_celeba(data.resolve_root(data_root)).names))")
    nb.cells = [nbformat.v4.new_code_cell("data_root = ''", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(probe)]
    nbformat.write(nb, tmp_path / "probe.ipynb")
    subprocess.run([sys.executable, "-m", "papermill", str(tmp_path / "probe.ipynb"), str(tmp_path / "out.ipynb"),
                    "-k", "python3", "--cwd", str(REPO / "notebooks")], env=env, check=True, capture_output=True,
                   timeout=300)
    out = "".join(o.get("text", "") for c in nbformat.read(tmp_path / "out.ipynb", 4).cells
                  for o in c.get("outputs", []))
    assert f"CelebA root: {celeba_dir.resolve()} (from {tmp_path / 'settings.json'} (saved by --data))" in out, out
    assert "images: " in out and "images: 0" not in out


@pytest.mark.slow          # runs notebook 07 (the one stage that needs no trained model)
def test_run_all_reads_the_saved_root_and_names_its_source(tmp_path, celeba_dir):
    """run_all.sh without --data or CELEBA_ROOT: the saved root, printed with its source; none saved
    and no data/celeba: stops before anything runs, naming --data, CELEBA_ROOT and fetch."""
    import shutil
    root = tmp_path / "celeba" / "img_align_celeba"
    root.mkdir(parents=True)
    shutil.copyfile(celeba_dir / "img_align_celeba" / "000001.jpg", root / "000001.jpg")
    settings = tmp_path / "settings.json"
    env = {k: v for k, v in os.environ.items() if k != "CELEBA_ROOT"}
    env.update(SGEN_SETTINGS=str(settings), PYTHON=sys.executable, PYTHONPATH=str(REPO))
    run = ["bash", str(REPO / "run_all.sh"), "--results", str(tmp_path / "results"), "--only", "07_viewer"]
    if not (REPO / "data" / "celeba").exists():
        missing = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120)
        assert missing.returncode == 2 and "(from the default)" in missing.stderr
        assert "give --data PATH" in missing.stderr and "python -m sgenlib.data fetch" in missing.stderr
    subprocess.run([sys.executable, "-m", "sgenlib.data_root", "set", str(tmp_path / "celeba")], env=env, check=True,
                   capture_output=True)
    found = subprocess.run(run, env=env, capture_output=True, text=True, timeout=300)
    assert found.returncode == 0, found.stderr
    assert f"data={tmp_path / 'celeba'} (from {settings} (saved by --data))" in found.stdout
    assert "data hashed in" in found.stdout and "run_all.sh: done in" in found.stdout
