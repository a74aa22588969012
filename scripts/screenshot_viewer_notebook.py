"""The copy of an executed viewer notebook that scripts/screenshot_viewer.sh opens in JupyterLab:
code cells (and the LIVE note) collapsed, signed as trusted in a notary database of its own, or
JupyterLab would show only the text of the widget.

    python scripts/screenshot_viewer_notebook.py EXECUTED.ipynb OUT.ipynb NOTARY_DATA_DIR
"""
from __future__ import annotations

import sys

import nbformat
from nbformat.sign import NotebookNotary


def trusted_copy(executed: str, out: str, data_dir: str) -> None:
    """Write `out`; SystemExit when `executed` holds no widget state (never run by papermill / nbclient)."""
    nb = nbformat.read(executed, as_version=4)
    if "application/vnd.jupyter.widget-state+json" not in nb.metadata.get("widgets", {}):
        sys.exit(f"{executed} holds no widget state: execute it with papermill / nbclient first")
    for cell in nb.cells:
        if cell.cell_type == "code" or "LIVE** when" in cell.source:
            cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
    NotebookNotary(data_dir=data_dir).sign(nb)
    nbformat.write(nb, out)


if __name__ == "__main__":
    trusted_copy(*sys.argv[1:4])
