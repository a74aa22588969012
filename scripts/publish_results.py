"""Make results/<profile>/ fit to commit: rewrite absolute paths (sgenlib.publish.make_portable),
then list what still blocks a commit (an absolute path left, a file over 4 MiB). Exit 1 if any.

    python scripts/publish_results.py results/cpu --data "$CELEBA_ROOT"
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from sgenlib.publish import make_portable  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", help="a results folder, e.g. results/cpu")
    p.add_argument("--data", default=os.environ.get("CELEBA_ROOT"), help="the CelebA root the run read "
                   "(default $CELEBA_ROOT); written as $CELEBA_ROOT")
    args = p.parse_args(argv)
    try:
        report = make_portable(args.folder, REPO, args.data)
    except FileNotFoundError as e:
        p.error(str(e))
    print(f"publish_results: {len(report['rewritten'])} file(s) rewritten under {args.folder}")
    for rel, paths in report["absolute_paths"].items():
        print(f"  absolute path left in {rel}: {', '.join(paths)}")
    for rel, size in report["too_big"].items():
        print(f"  too big to commit: {rel} ({size / 2**20:.1f} MiB > 4 MiB)")
    return 1 if report["absolute_paths"] or report["too_big"] else 0


if __name__ == "__main__":
    sys.exit(main())
