"""The notebooks' sources are the jupytext percent-format files notebooks/NN_name.py; each is paired
with its committed notebooks/NN_name.ipynb, which must hold the same cells and no outputs.
After editing a .py, run `jupytext --sync notebooks/*.py` (JupyterLab with jupytext keeps the
pair in sync by itself)."""
from __future__ import annotations

import ast
import re

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


OWN_PARAMETERS = "# this notebook's own parameters"


def _parameters(stem: str) -> tuple[str, str]:
    """The `parameters` cell of a notebook as (the block shared by all, the notebook's own lines):
    split at the OWN_PARAMETERS comment line (no such line: all of it is shared)."""
    cell = next(c for c in jupytext.read(NOTEBOOKS / f"{stem}.py").cells
                if "parameters" in c.metadata.get("tags", []))
    lines = cell.source.splitlines()
    own = lines.index(OWN_PARAMETERS) if OWN_PARAMETERS in lines else len(lines)
    return "\n".join(lines[:own]), "\n".join(lines[own:])


def test_shared_parameters_are_the_same_in_every_notebook():
    """The parameters every notebook has are one block, line for line the same in all seven; it
    assigns each name run_all.sh passes to papermill (-p NAME, -y "NAME: ...") once. A notebook's
    own parameters come after it, under OWN_PARAMETERS (07_viewer's profile 'auto' among them:
    papermill injects run_all.sh's values after the whole cell, so they win)."""
    blocks = {stem: _parameters(stem)[0] for stem in STEMS}
    assert len(STEMS) == 7
    first = blocks[STEMS[0]]
    differ = [stem for stem, block in blocks.items() if block != first]
    assert not differ, f"the shared parameters block of {differ} differs from {STEMS[0]}'s"
    run_all = (REPO / "run_all.sh").read_text()
    passed = set(re.findall(r"-p (\w+) ", run_all)) | set(re.findall(r'-y "(\w+):', run_all))
    assert {"profile", "data_root", "results_dir", "runs_dir", "cache_dir", "overrides"} <= passed
    assigned = [t.id for n in ast.parse(first).body if isinstance(n, ast.Assign) for t in n.targets]
    assert sorted(assigned) == sorted(set(assigned)) and passed <= set(assigned)


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
