"""The Python the screenshot scripts run (scripts/screenshot_mos_notebook.py,
screenshot_viewer_notebook.py, screenshot_viewer_capture.py), each on its own, without Chromium or
JupyterLab (tests/test_run_all_smoke.py takes the screenshots end to end)."""
from __future__ import annotations

import ast
import json

import nbformat
import pytest
from nbformat.sign import NotebookNotary
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from conftest import load_script


def _module(name):
    return load_script(f"scripts/{name}.py")


def test_mos_notebook_starts_the_rating_app_on_the_screen_asked_for():
    make = _module("screenshot_mos_notebook").rating_app_notebook
    source = make("/g/mos_set", "/tmp/r", "source")
    (cell,) = source.cells
    ast.parse(cell.source)
    assert "RatingApp('/g/mos_set', ratings_dir='/tmp/r', n_per_scale=1, min_view_s=0)" in cell.source
    assert "begin_rating" not in cell.source and cell.source.endswith("app")
    assert "app.begin_rating()" in make("/g", "/r", "rating").cells[0].source
    assert source.metadata["kernelspec"]["name"] == "python3"


def test_viewer_copy_is_trusted_with_its_code_hidden(tmp_path):
    trusted_copy = _module("screenshot_viewer_notebook").trusted_copy
    nb = new_notebook(cells=[new_code_cell("x = 1"), new_markdown_cell("Turn it **LIVE** when ..."),
                             new_markdown_cell("# Viewer")])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nbformat.write(nb, tmp_path / "executed.ipynb")
    (tmp_path / "notary").mkdir()                          # screenshot_viewer.sh makes it first
    trusted_copy(str(tmp_path / "executed.ipynb"), str(tmp_path / "copy.ipynb"), str(tmp_path / "notary"))
    copy = nbformat.read(tmp_path / "copy.ipynb", as_version=4)
    hidden = [c.metadata.get("jupyter", {}).get("source_hidden", False) for c in copy.cells]
    assert hidden == [True, True, False]
    assert NotebookNotary(data_dir=str(tmp_path / "notary")).check_signature(copy)
    del nb.metadata["widgets"]
    nbformat.write(nb, tmp_path / "unexecuted.ipynb")
    with pytest.raises(SystemExit, match="holds no widget state"):
        trusted_copy(str(tmp_path / "unexecuted.ipynb"), str(tmp_path / "c2.ipynb"), str(tmp_path / "notary"))


class FakeSocket:
    """Answers each command after an unrelated event, an error for 'Bad.method'."""

    def __init__(self):
        self.inbox = []

    def send(self, text):
        msg = json.loads(text)
        self.inbox.append({"method": "Page.loadEventFired", "params": {}})
        answer = ({"id": msg["id"], "error": {"message": "no such method"}} if msg["method"] == "Bad.method"
                  else {"id": msg["id"], "result": {"result": {"value": msg["params"].get("expression")}}})
        self.inbox.append(answer)

    def recv(self):
        return json.dumps(self.inbox.pop(0))


def test_devtools_calls_wait_for_their_own_answer():
    capture = _module("screenshot_viewer_capture")
    page = object.__new__(capture.DevTools)               # no Chromium: a socket that answers in order
    page.ws, page.ids = FakeSocket(), iter(range(1, 100))
    assert page.js("1 + 1") == "1 + 1"
    assert page.call("Page.enable") == {"result": {"value": None}}
    with pytest.raises(RuntimeError, match="Bad.method"):
        page.call("Bad.method")
