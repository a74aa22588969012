"""CelebA reading: folder and zip layouts, splits, manifest, cache, and every bad-input error."""
import json
import shutil
import warnings
import zipfile

import numpy as np
import pytest

from sgenlib import data
from sgenlib.paths import project_root


def make_mini_celeba(tmp_path, celeba_dir, n=12, partition=True):
    """A CelebA-shaped folder with the first n real JPEGs (copied into tmp, never into the repo)."""
    root = tmp_path / "celeba"
    (root / "img_align_celeba").mkdir(parents=True)
    src = data.open_celeba(celeba_dir)
    names = src.names[:n]
    for name in names:
        shutil.copyfile(celeba_dir / "img_align_celeba" / name, root / "img_align_celeba" / name)
    if partition:
        lines = [f"{name} {i % 3}" for i, name in enumerate(names)]
        (root / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")
    return root, names


def test_reads_shared_celeba(celeba_dir):
    src = data.open_celeba(celeba_dir)
    assert src.kind == "folder" and len(src.names) == 26000 and src.partition is not None
    splits = data.make_splits(src, "official")
    assert {k: len(v) for k, v in splits.items()} == {"train": 20000, "val": 3000, "test": 3000}


def test_paper_split_proportions_and_seed(celeba_dir):
    src = data.open_celeba(celeba_dir)
    a = data.make_splits(src, "paper", seed=0)
    assert len(a["test"]) == round(26000 * 30000 / 202599) and len(a["val"]) == round(26000 * 20000 / 202599)
    assert not set(a["test"]) & set(a["train"])
    assert data.make_splits(src, "paper", seed=0) == a
    assert data.make_splits(src, "paper", seed=1)["test"] != a["test"]


def test_limit_and_manifest(celeba_dir):
    src = data.open_celeba(celeba_dir)
    s = data.make_splits(src, "official", seed=0, limit={"train": 10, "val": 3, "test": 5})
    assert [len(s[k]) for k in ("train", "val", "test")] == [10, 3, 5]
    m = data.manifest(src, s, "official", 0, 10)
    assert m["counts"] == {"train": 10, "val": 3, "test": 5}
    assert len(m["file_list_sha256"]) == 64 and m["ids"]["test"][0].isdigit()
    s2 = data.make_splits(src, "official", seed=1, limit={"train": 10, "val": 3, "test": 5})
    assert data.manifest(src, s2, "official", 1, 10)["split_sha256"] != m["split_sha256"]
    json.dumps(m)
    with pytest.raises(ValueError, match="limit"):
        data.make_splits(src, "official", limit=0)
    with pytest.raises(ValueError, match="split mode"):
        data.make_splits(src, "random")


def test_zip_layout_and_cache(tmp_path, celeba_dir):
    root, names = make_mini_celeba(tmp_path, celeba_dir)
    zpath = tmp_path / "img_align_celeba.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for n in names:
            zf.write(root / "img_align_celeba" / n, f"img_align_celeba/{n}")
    z = data.open_celeba(zpath)
    f = data.open_celeba(root)
    assert z.kind == "zip" and z.names == f.names
    a, _ = data.load_images(z, names[:4], cache_dir=tmp_path / "c1")
    b, _ = data.load_images(f, names[:4], cache_dir=tmp_path / "c2")
    assert a.shape == (4, 1, 218, 178) and a.dtype == np.uint8 and np.array_equal(a, b)
    # a second call reads the cache; a changed file list rebuilds it
    assert len(list((tmp_path / "c1").glob("*.npy"))) == 1
    c, _ = data.load_images(f, names[:4], cache_dir=tmp_path / "c2")
    assert np.array_equal(b, c)
    data.load_images(f, names[:5], cache_dir=tmp_path / "c2")
    assert len(list((tmp_path / "c2").glob("*.npy"))) == 2
    rgb, _ = data.load_images(f, names[:2], color="rgb", cache_dir=None)
    assert rgb.shape == (2, 3, 218, 178)


def test_missing_root_names_path(tmp_path):
    with pytest.raises(data.CelebAError, match=str(tmp_path / "nope")):
        data.open_celeba(tmp_path / "nope")


def test_empty_folder(tmp_path):
    with pytest.raises(data.CelebAError, match="no JPEG images"):
        data.open_celeba(tmp_path)


def test_zip_without_images(tmp_path):
    z = tmp_path / "img_align_celeba.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(data.CelebAError, match="holds no JPEG"):
        data.open_celeba(z)
    bad = tmp_path / "notazip.zip"
    bad.write_text("x")
    with pytest.raises(data.CelebAError, match="not a zip"):
        data.open_celeba(bad)


def test_official_split_needs_partition(tmp_path, celeba_dir):
    root, _ = make_mini_celeba(tmp_path, celeba_dir, partition=False)
    src = data.open_celeba(root)
    with pytest.raises(data.CelebAError, match="list_eval_partition"):
        data.make_splits(src, "official")
    assert sum(len(v) for v in data.make_splits(src, "paper").values()) == 12


def test_bad_partition_line(tmp_path, celeba_dir):
    root, _ = make_mini_celeba(tmp_path, celeba_dir)
    (root / "list_eval_partition.txt").write_text("000001.jpg 7\n")
    with pytest.raises(data.CelebAError, match="list_eval_partition.txt:1"):
        data.open_celeba(root)


def test_corrupt_and_wrong_size_images(tmp_path, celeba_dir):
    from PIL import Image
    root, names = make_mini_celeba(tmp_path, celeba_dir)
    (root / "img_align_celeba" / names[0]).write_bytes(b"not a jpeg at all")
    Image.new("RGB", (50, 40)).save(root / "img_align_celeba" / names[1])
    src = data.open_celeba(root)
    with pytest.raises(data.CelebAError, match=names[0]):
        data.decode_image(src, names[0])
    with pytest.raises(data.CelebAError, match="expected 218x178"):
        data.decode_image(src, names[1])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        arr, kept = data.load_images(src, names, cache_dir=None, on_corrupt="skip")
    assert len(kept) == len(names) - 2 and arr.shape[0] == len(kept)
    assert any("skipped 2 unreadable" in str(x.message) for x in w)
    with pytest.raises(data.CelebAError, match="2 unreadable"):
        data.load_images(src, names, cache_dir=None, on_corrupt="error")
    with pytest.raises(ValueError, match="on_corrupt"):
        data.load_images(src, names, cache_dir=None, on_corrupt="ignore")


def test_unreadable_folder(tmp_path, celeba_dir, monkeypatch):
    root, _ = make_mini_celeba(tmp_path, celeba_dir)
    import os

    def boom(path):
        raise PermissionError(13, "Permission denied", str(path))
    monkeypatch.setattr(os, "scandir", boom)
    with pytest.raises(data.CelebAError, match="cannot read the CelebA folder"):
        data.open_celeba(root)


def test_load_split_and_the_one_default_root(tmp_path, celeba_dir, monkeypatch):
    root, names = make_mini_celeba(tmp_path, celeba_dir, n=6)
    src = data.open_celeba(root)
    arr, kept = data.load_split(src, "test", "official", cache_dir=tmp_path / "cache")
    assert kept == data.make_splits(src, "official")["test"] == [names[2], names[5]]
    assert arr.shape == (2, 1, *data.CELEBA_SIZE) and arr.dtype == np.uint8
    one = data.open_celeba(make_mini_celeba(tmp_path / "one", celeba_dir, n=1)[0])   # a train image only
    with pytest.raises(data.CelebAError, match="the val split of .* is empty"):
        data.load_split(one, "val", cache_dir=None)
    with pytest.raises(ValueError, match="split must be one of"):
        data.load_split(src, "validation")
    # the default root: the argument, else $CELEBA_ROOT, else data/celeba, relative to the checkout
    monkeypatch.setenv("CELEBA_ROOT", str(root))
    assert data.resolve_root() == root and data.resolve_root(str(tmp_path)) == tmp_path
    monkeypatch.delenv("CELEBA_ROOT")
    assert data.resolve_root("") == data.resolve_root(None) == project_root() / data.DEFAULT_ROOT
    assert data.resolve_root().is_absolute() and data.resolve_root().parts[-2:] == ("data", "celeba")
