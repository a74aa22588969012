"""Write a thin source notebook: a `parameters` cell, then code / markdown cells, no outputs.

Used to (re)generate notebooks/*.ipynb from the cell lists in scripts/notebook_sources.py:
    python scripts/new_notebook.py            # all notebooks
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def build(title: str, parameters: str, cells: list[str]) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells.append(new_markdown_cell(title))
    nb.cells.append(new_code_cell(parameters.strip(), metadata={"tags": ["parameters"]}))
    for c in cells:
        c = c.strip()
        nb.cells.append(new_markdown_cell(c[2:].strip()) if c.startswith("#:") else new_code_cell(c))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    return nb


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    from notebook_sources import NOTEBOOKS
    root = Path(__file__).resolve().parent.parent / "notebooks"
    for name, (title, params, cells) in NOTEBOOKS.items():
        nbformat.write(build(title, params, cells), root / f"{name}.ipynb")
        print("wrote", root / f"{name}.ipynb")
