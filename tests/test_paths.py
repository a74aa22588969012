"""Relative paths point into the checkout, wherever the kernel starts (JupyterLab starts notebook
kernels in notebooks/)."""
from conftest import REPO
from sgenlib.paths import project_root, resolve_project_path
from sgenlib.study import open_study


def test_relative_paths_resolve_to_the_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert project_root() == REPO
    st = open_study("smoke")
    assert st.results == REPO / "results" / "smoke" and st.runs == REPO / "runs" / "smoke"
    assert st.cache == REPO / "cache"
    assert resolve_project_path(tmp_path / "x") == tmp_path / "x"
    st2 = open_study("smoke", results_dir=str(tmp_path / "r"))
    assert st2.results == tmp_path / "r" / "smoke"
