"""The one-cell notebook scripts/screenshot_mos.sh executes and photographs: the MOS rating app for a
throw-away rater, on its source-images screen or its first rating screen.

    python scripts/screenshot_mos_notebook.py OUT.ipynb GALLERY RATINGS_DIR source|rating
"""
from __future__ import annotations

import sys

import nbformat
from nbformat.v4 import new_code_cell, new_notebook


def rating_app_notebook(gallery: str, ratings: str, screen: str) -> nbformat.NotebookNode:
    """A notebook whose one cell starts RatingApp on `gallery` ('rating': past the source screen)."""
    code = (f"from sgenlib.mos.app import RatingApp\n"
            f"app = RatingApp({gallery!r}, ratings_dir={ratings!r}, n_per_scale=1, min_view_s=0)\n"
            f"app.start('screenshot')\n" + ("app.begin_rating()\n" if screen == "rating" else "") + "app")
    nb = new_notebook(cells=[new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


if __name__ == "__main__":
    path, gallery, ratings, screen = sys.argv[1:]
    nbformat.write(rating_app_notebook(gallery, ratings, screen), path)
