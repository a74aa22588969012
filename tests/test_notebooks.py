"""The notebooks' sources are the jupytext percent-format files notebooks/NN_name.py; each is paired
with its committed notebooks/NN_name.ipynb, which must hold the same cells and no outputs.
After editing a .py, run `jupytext --sync notebooks/*.py` (JupyterLab with jupytext keeps the
pair in sync by itself)."""
from __future__ import annotations

import ast

import jupytext
import nbformat
import pytest

from conftest import REPO

NOTEBOOKS = REPO / "notebooks"
STEMS = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py"))


def _cells(nb):
    return [(c.cell_type, c.source, {k: v for k, v in c.metadata.items()}) for c in nb.cells]


def test_every_notebook_has_a_source_and_back():
    ipynb = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    assert STEMS and STEMS == ipynb, f".py sources {STEMS} vs .ipynb {ipynb}"


@pytest.mark.parametrize("stem", STEMS)
def test_pair_in_sync_and_clean(stem):
    source = jupytext.read(NOTEBOOKS / f"{stem}.py")
    committed = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
    nbformat.validate(committed)
    assert _cells(committed) == _cells(source), (
        f"notebooks/{stem}.ipynb differs from notebooks/{stem}.py: run `jupytext --sync notebooks/{stem}.py`")
    assert committed.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert committed.metadata["kernelspec"]["name"] == "python3"
    for c in committed.cells:
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None, f"{stem}.ipynb is committed with outputs"
    tagged = [c for c in committed.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code", "one papermill `parameters` cell"
    code = "\n".join(c.source for c in committed.cells if c.cell_type == "code")
    tree = ast.parse(code)
    aliases = [a.asname for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("sgenlib")
               for a in n.names if a.asname]
    assert "F" not in aliases, "`F` is torch.nn.functional by convention; import sgenlib.figures as figures"


def test_mos_notebook_holds_no_logic():
    """06 only sets parameters and calls sgenlib: no loops, exception handling, definitions or
    comprehensions; the one branch is whether to show the app."""
    nb = jupytext.read(NOTEBOOKS / "06_mos.py")
    tree = ast.parse("\n".join(c.source for c in nb.cells if c.cell_type == "code"))
    banned = (ast.For, ast.While, ast.Try, ast.FunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp,
              ast.DictComp, ast.SetComp, ast.GeneratorExp, ast.IfExp)
    found = [type(n).__name__ for n in ast.walk(tree) if isinstance(n, banned)]
    assert not found, f"06_mos has logic that belongs in sgenlib: {found}"
    branches = [ast.unparse(n.test) for n in ast.walk(tree) if isinstance(n, ast.If)]
    assert branches == ["launch_app"], branches
