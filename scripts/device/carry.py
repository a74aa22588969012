"""The faces the device run carries (prepare_device_carry.sh): a seeded sample of CelebA's official
split, written in CelebA's layout (img_align_celeba/ and the partition and identity lines of the
faces kept), so the device's run_all.sh reads it as it reads the full set.

    python scripts/device/carry.py CELEBA_ROOT TRAIN VAL TEST [OUT]    # OUT: .celeba_carry
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))     # sgenlib from this checkout
from sgenlib import data  # noqa: E402


def write_carry(root: str | Path, n_train: int, n_val: int, n_test: int, dst: str | Path = ".celeba_carry") -> dict:
    """Replace `dst` with the sample (seed 0, official split); returns {split: faces}."""
    src = data.open_celeba(root)
    splits = data.make_splits(src, "official", 0, {"train": n_train, "val": n_val, "test": n_test})
    dst = Path(dst)
    shutil.rmtree(dst, ignore_errors=True)
    (dst / "img_align_celeba").mkdir(parents=True)
    keep = {n for names in splits.values() for n in names}
    for n in sorted(keep):
        (dst / "img_align_celeba" / n).write_bytes(src.read_bytes(n))
    for meta in ("list_eval_partition.txt", "identity_CelebA.txt"):
        path = Path(root) / meta
        if path.is_file():
            (dst / meta).write_text("".join(l for l in path.read_text().splitlines(True) if l.split()[0] in keep))
    print(f"{dst}: {len(keep)} faces", {k: len(v) for k, v in splits.items()})
    return {k: len(v) for k, v in splits.items()}


if __name__ == "__main__":
    root, n_train, n_val, n_test = sys.argv[1], *map(int, sys.argv[2:5])
    write_carry(root, n_train, n_val, n_test, *sys.argv[5:6])
