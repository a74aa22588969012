"""python -m sgenlib.data verify / fetch (sgenlib.celeba_fetch), on a generated CelebA-like copy with
checksums of its own: a good copy, a subset and a damaged copy."""
from __future__ import annotations

import hashlib
import io
import sys
import zipfile

import numpy as np
from PIL import Image

from sgenlib import celeba_fetch as F
from sgenlib.data.__main__ import main as data_main


def _make_copy(root, n=4):
    """n JPEGs 178x218 in img_align_celeba/, the same zipped, a partition file and SHA256SUMS;
    returns the MD5s of the zip and of the partition file."""
    folder = root / "img_align_celeba"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    with zipfile.ZipFile(root / "img_align_celeba.zip", "w") as zf:
        for name in names:
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (218, 178, 3), dtype=np.uint8)).save(buf, "JPEG")
            (folder / name).write_bytes(buf.getvalue())
            zf.writestr(f"img_align_celeba/{name}", buf.getvalue())
    (root / "list_eval_partition.txt").write_text("".join(f"{n} {i % 3}\n" for i, n in enumerate(names)))
    (root / "SHA256SUMS").write_text("".join(f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}\n"
                                             for n in names))
    return {name: F.md5_of(root / name) for name in ("img_align_celeba.zip", "list_eval_partition.txt")}


def test_verify_good_copy_and_subset(tmp_path):
    md5 = _make_copy(tmp_path)
    report = F.verify(tmp_path, md5=md5, total=4)
    assert report.ok and {s for s, _ in report.lines} == {"OK"}, report.text()
    assert "every image decodes at 178x218" in report.text() and "all 4 images as listed" in report.text()
    subset = F.verify(tmp_path, md5={**md5, "list_eval_partition.txt": "0" * 32}, total=10)
    assert subset.ok, subset.text()                                  # a subset is no error
    assert "4 of the 10 published images" in subset.text() and "lists 4 of 10 images: a subset" in subset.text()


def test_verify_names_what_differs_in_a_damaged_copy(tmp_path, capsys):
    md5 = _make_copy(tmp_path)
    folder = tmp_path / "img_align_celeba"
    (folder / "000002.jpg").write_bytes((folder / "000002.jpg").read_bytes()[:300])          # truncated
    Image.new("RGB", (100, 100)).save(folder / "000003.jpg")                                  # wrong size
    with open(tmp_path / "img_align_celeba.zip", "ab") as f:
        f.write(b"x")                                                                       # other bytes
    report = F.verify(tmp_path, md5=md5, total=4)
    text = report.text()
    assert not report.ok
    assert "DIFFERS img_align_celeba.zip: MD5" in text and f"published {md5['img_align_celeba.zip']}" in text
    assert "000002.jpg: does not decode" in text and "000003.jpg: 100x100, not 178x218" in text
    assert "2 image(s) with other bytes (000002.jpg, 000003.jpg)" in text
    # the command line: published MD5s, exit 1, each difference printed
    assert data_main(["verify", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "published 00d2c5bc6d35e252742224ab0c1e8fcb" in out and "differences above" in out


def test_fetch_without_torchvision_prints_the_manual_steps(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torchvision", None)          # import torchvision -> ImportError
    assert data_main(["fetch", str(tmp_path / "celeba")]) == 2
    out = capsys.readouterr().out
    assert "torchvision is not installed" in out and "img_align_celeba.zip" in out
    assert f"python -m sgenlib.data verify {tmp_path / 'celeba'}" in out and F.OFFICIAL_PAGE in out
