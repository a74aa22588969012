"""python -m sgenlib.data: the data's command line.

    python -m sgenlib.data content-sha256 ROOT   the sha256 run_all.sh keys its stages on
    python -m sgenlib.data fetch DEST            sgenlib.celeba_fetch: download CelebA
    python -m sgenlib.data verify PATH           sgenlib.celeba_fetch: check a copy
"""
from __future__ import annotations

import sys

from ..celeba_fetch import main as fetch_main
from . import CelebAError, _sha256, content_sha256, open_celeba


def main(argv=None) -> int:
    """python -m sgenlib.data content-sha256 ROOT: the sha256 over every image's name and bytes
    (and the partition file), what run_all.sh keys its stages on. `fetch DEST` and `verify PATH`:
    sgenlib.celeba_fetch."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["fetch"], ["verify"]):
        return fetch_main(argv)
    if len(argv) != 2 or argv[0] != "content-sha256":
        print("usage: python -m sgenlib.data content-sha256 ROOT | fetch DEST | verify PATH", file=sys.stderr)
        return 2
    try:
        src = open_celeba(argv[1])
    except CelebAError as e:
        print(f"sgenlib.data: {e}", file=sys.stderr)
        return 2
    print(_sha256({"images": content_sha256(src), "partition": src.partition}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
