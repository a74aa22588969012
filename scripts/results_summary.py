"""Print a finished study's headline numbers as Markdown (sgenlib.summary): mean over the six
scales beside the paper, the training budget, the claims' verdicts and each stage's wall time,
all read from the results folder's own files.

    python scripts/results_summary.py results/cpu
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from sgenlib.summary import markdown_summary  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", help="a results folder, e.g. results/cpu")
    args = p.parse_args(argv)
    folder = Path(args.folder)
    if not (folder / "eval").is_dir():
        p.error(f"no evaluation under {folder}: give a results folder of a finished study (results/<profile>)")
    print(markdown_summary(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
