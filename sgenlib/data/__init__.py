"""CelebA (aligned & cropped) for the kit: reading, splits, manifest and a decoded uint8 cache.

A CelebA root is any of
  * a folder holding `img_align_celeba/` (the official layout once unpacked) or `img_align_celeba.zip`,
  * the `img_align_celeba/` folder itself (JPEGs directly inside),
  * the official `img_align_celeba.zip` file itself.
`list_eval_partition.txt` is looked for in the root (and in `Eval/`, the official download's folder).

Splits: "official" uses the partition file; "paper" draws the paper's proportions (30,000 test /
20,000 val / rest train of 202,599), scaled to the images present, with a seeded permutation.
:func:`load_split` is the one way the kit (study, viewer, training command line) decodes a split;
:func:`resolve_root` the one default root (sgenlib.data_root: $CELEBA_ROOT, the saved setting, data/celeba).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from ..data_root import DEFAULT_ROOT, root_and_source  # noqa: F401 - DEFAULT_ROOT: relative to the checkout's root
from ..degrade import DEFAULT_LUMA, rgb_to_gray
from ..fileio import DiskFullError, atomic_write, replacing

CELEBA_SIZE = (218, 178)          # (H, W) of every aligned CelebA image
CELEBA_TOTAL = 202_599
PAPER_TEST, PAPER_VAL = 30_000, 20_000
SPLITS = ("train", "val", "test")
CACHE_VERSION = 4                 # 4: records its pixels' sha256; 3: keyed on each file's bytes; 2: gray as OpenCV


class CelebAError(RuntimeError):
    """The CelebA data is missing, empty or unreadable; the message names the path."""


@dataclass
class CelebA:
    root: Path                       # what the user gave
    kind: str                        # 'folder' or 'zip'
    location: Path                   # the folder of JPEGs, or the zip file
    names: list[str]                 # sorted JPEG file names ('000001.jpg')
    sizes: dict[str, int]            # bytes per file (for the file-list hash)
    partition: dict[str, int] | None = None   # name -> 0 train / 1 val / 2 test
    zip_members: dict[str, str] = field(default_factory=dict)  # name -> member path in the zip
    hashes: dict[str, str] = field(default_factory=dict)       # name -> sha256 of the bytes (filled on use)
    skipped: dict[str, str] = field(default_factory=dict)      # name -> why it could not be decoded

    def read_bytes(self, name: str) -> bytes:
        if self.kind == "folder":
            return (self.location / name).read_bytes()
        with zipfile.ZipFile(self.location) as zf:
            return zf.read(self.zip_members[name])

    def describe(self, name: str) -> str:
        return str(self.location / name) if self.kind == "folder" else f"{self.location}:{self.zip_members[name]}"


def _is_jpeg(name: str) -> bool:
    return name.lower().endswith((".jpg", ".jpeg"))


def _read_partition(root: Path) -> dict[str, int] | None:
    for candidate in (root / "list_eval_partition.txt", root / "Eval" / "list_eval_partition.txt",
                      root.parent / "list_eval_partition.txt"):
        if candidate.is_file():
            fix = (f"restore {candidate.name} from the CelebA download (Eval/list_eval_partition.txt), or move "
                   "it away and use split mode 'paper'")
            try:
                text = candidate.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise CelebAError(f"{candidate} is damaged: not a text file ({e}); {fix}") from None
            if not text.strip():
                raise CelebAError(f"{candidate} is empty: it assigns no image to a split; {fix}")
            partition = {}
            for line_no, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                parts = line.split()
                if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                    raise CelebAError(f"{candidate}:{line_no}: expected '<name> <0|1|2>', got {line[:80]!r}; {fix}")
                partition[parts[0]] = int(parts[1])
            return partition
    return None


def resolve_root(root: str | os.PathLike | None = None) -> Path:
    """The CelebA root to read: `root` when given (not empty), else $CELEBA_ROOT, else the root saved
    by run_all.sh / lab.sh --data, else DEFAULT_ROOT (sgenlib.data_root, which also says where it
    came from); a relative path is taken from the checkout's root."""
    return root_and_source(root)[0]


def open_celeba(root: str | os.PathLike) -> CelebA:
    """Find the images under `root` (see the module docstring) and the partition file, if any."""
    root = Path(root).expanduser()
    if not root.exists():
        raise CelebAError(f"CelebA not found at {root}: the path does not exist. Point the kit at a "
                          "CelebA download with --data PATH or CELEBA_ROOT=PATH (get one with "
                          "`python -m sgenlib.data fetch data/celeba`).")
    if root.is_file():
        if not zipfile.is_zipfile(root):
            raise CelebAError(f"{root} is a file but not a zip archive (expected img_align_celeba.zip)")
        return _open_zip(root, root.parent)
    folder = root / "img_align_celeba"
    if folder.is_dir():
        # the official zip unpacks to img_align_celeba/img_align_celeba on some tools
        nested = folder / "img_align_celeba"
        return _open_folder(nested if nested.is_dir() else folder, root)
    if (root / "img_align_celeba.zip").is_file():
        return _open_zip(root / "img_align_celeba.zip", root)
    return _open_folder(root, root)


def _open_folder(folder: Path, root: Path) -> CelebA:
    try:
        entries = list(os.scandir(folder))
    except OSError as e:
        raise CelebAError(f"cannot read the CelebA folder {folder}: {e}") from e
    sizes = {e.name: e.stat().st_size for e in entries if e.is_file() and _is_jpeg(e.name)}
    if not sizes:
        raise CelebAError(f"no JPEG images in {folder}: expected CelebA's aligned faces "
                          "(000001.jpg ...) or img_align_celeba.zip")
    return CelebA(root, "folder", folder, sorted(sizes), sizes, _read_partition(root))


def _open_zip(path: Path, root: Path) -> CelebA:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir() and _is_jpeg(i.filename)]
    except (zipfile.BadZipFile, OSError) as e:
        raise CelebAError(f"cannot read the zip {path}: {e}") from e
    if not infos:
        raise CelebAError(f"the zip {path} holds no JPEG images")
    members = {Path(i.filename).name: i.filename for i in infos}
    sizes = {Path(i.filename).name: i.file_size for i in infos}
    return CelebA(root, "zip", path, sorted(members), sizes, _read_partition(root), members)


def file_hashes(data: CelebA, names: list[str], workers: int | None = None) -> list[str]:
    """sha256 of each file's bytes (remembered on `data`; threads: hashlib releases the GIL)."""
    todo = [n for n in dict.fromkeys(names) if n not in data.hashes]
    if todo:
        def work(name):
            try:
                return hashlib.sha256(data.read_bytes(name)).hexdigest()
            except (OSError, KeyError, zipfile.BadZipFile) as e:
                raise CelebAError(f"cannot read {data.describe(name)}: {e}") from e
        with ThreadPoolExecutor(workers or min(16, os.cpu_count() or 1)) as pool:
            data.hashes.update(zip(todo, pool.map(work, todo)))
    return [data.hashes[n] for n in names]


def content_sha256(data: CelebA, names: list[str] | None = None) -> str:
    """One sha256 over (name, sha256 of the bytes) of `names` (default: every image found)."""
    names = data.names if names is None else list(names)
    return _sha256([list(x) for x in zip(names, file_hashes(data, names))])


def image_id(name: str) -> str:
    """'000001.jpg' -> '000001'."""
    return Path(name).stem


def _seeded_sample(names: list[str], k: int | None, seed: int, salt: str) -> list[str]:
    if k is None or k >= len(names):
        return list(names)
    rng = np.random.default_rng([seed, int.from_bytes(salt.encode(), "little") % (2**32)])
    keep = rng.choice(len(names), size=k, replace=False)
    return sorted(names[i] for i in keep)


def make_splits(data: CelebA, mode: str = "official", seed: int = 0,
                limit: int | dict[str, int | None] | None = None) -> dict[str, list[str]]:
    """{'train': names, 'val': names, 'test': names}. `limit` caps images per split (a seeded sample)."""
    if mode == "official":
        if data.partition is None:
            raise CelebAError(f"split mode 'official' needs list_eval_partition.txt in {data.root} "
                              "(or use split mode 'paper')")
        splits = {s: [] for s in SPLITS}
        for name in data.names:
            part = data.partition.get(name)
            if part is not None:
                splits[SPLITS[part]].append(name)
        missing = len(data.names) - sum(len(v) for v in splits.values())
        if missing:
            warnings.warn(f"{missing} images in {data.location} are not in the partition file; left out")
    elif mode == "paper":
        n = len(data.names)
        n_test = round(n * PAPER_TEST / CELEBA_TOTAL)
        n_val = round(n * PAPER_VAL / CELEBA_TOTAL)
        order = np.random.default_rng(seed).permutation(n)
        pick = lambda idx: sorted(data.names[i] for i in idx)  # noqa: E731
        splits = {"test": pick(order[:n_test]), "val": pick(order[n_test:n_test + n_val]),
                  "train": pick(order[n_test + n_val:])}
    else:
        raise ValueError(f"split mode must be 'official' or 'paper', got {mode!r}")
    limits = limit if isinstance(limit, dict) else {s: limit for s in SPLITS}
    for s, k in limits.items():
        if k is not None and k < 1:
            raise ValueError(f"limit for split {s!r} must be >= 1 or None, got {k}")
    return {s: _seeded_sample(splits[s], limits.get(s), seed, s) for s in SPLITS}


def _sha256(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def names_sha256(names: list[str]) -> str:
    """sha256 of a split's image ids (image_id: '000001.jpg' and '000001' count the same): the
    training split in a run's identity, the same whichever entry point (study or the training
    command line) trains it."""
    return _sha256([image_id(n) for n in names])


def manifest(data: CelebA, splits: dict[str, list[str]], mode: str, seed: int,
             limit=None) -> dict:
    """What a result was computed on: ids per split, counts, the hash of the folder's file list
    (names and sizes), hashes of each split's file contents (sha256 of the bytes, so a file changed
    in place changes them) and the images skipped as unreadable."""
    file_list = [[n, data.sizes[n]] for n in data.names]
    ids = {s: [image_id(n) for n in splits[s]] for s in SPLITS}
    content = {s: content_sha256(data, splits[s]) for s in SPLITS}
    return {
        "root": str(data.root), "kind": data.kind, "n_images_found": len(data.names),
        "split_mode": mode, "seed": seed, "limit": limit,
        "counts": {s: len(ids[s]) for s in SPLITS},
        "file_list_sha256": _sha256(file_list),
        "split_sha256": _sha256(content),
        "train_content_sha256": content["train"],
        "skipped_unreadable": [f"{n}: {why}" for n, why in sorted(data.skipped.items())],
        "ids": ids,
    }


def decode_image(data: CelebA, name: str, color: str = "gray", luma: str = DEFAULT_LUMA) -> np.ndarray:
    """One face as uint8 (H, W) gray or (H, W, 3) RGB; CelebAError naming the file if it is corrupt
    or not 218x178."""
    where = data.describe(name)
    try:
        with Image.open(io.BytesIO(data.read_bytes(name))) as im:
            rgb = np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise CelebAError(f"corrupt or unreadable image {where}: {e}") from e
    if rgb.shape[:2] != CELEBA_SIZE:
        raise CelebAError(f"image {where} is {rgb.shape[0]}x{rgb.shape[1]}, expected "
                          f"{CELEBA_SIZE[0]}x{CELEBA_SIZE[1]} (CelebA aligned & cropped)")
    return rgb_to_gray(rgb, luma) if color == "gray" else np.ascontiguousarray(rgb)


def load_images(data: CelebA, names: list[str], color: str = "gray", luma: str = DEFAULT_LUMA,
                cache_dir: str | os.PathLike | None = "cache", on_corrupt: str = "skip",
                workers: int | None = None, desc: str = "decode") -> tuple[np.ndarray, list[str]]:
    """Decode `names` to a uint8 array (N, 1 or 3, H, W) and the names kept.

    The result is cached under `cache_dir` as .npy, keyed by the names and the sha256 of each
    file's bytes, the colour options and CACHE_VERSION, so epochs and later runs never re-decode
    JPEGs, and any change of the data (even in place, same size) rebuilds it. A damaged cache file
    is rebuilt with a warning. on_corrupt: 'skip' (warn with a count and the files, on every call,
    warm cache included; the names go to `data.skipped` and the manifest) or 'error'.
    """
    if on_corrupt not in ("skip", "error"):
        raise ValueError(f"on_corrupt must be 'skip' or 'error', got {on_corrupt!r}")
    if color not in ("gray", "rgb"):
        raise ValueError(f"color must be 'gray' or 'rgb', got {color!r}")
    key = _sha256({"files": [list(x) for x in zip(names, file_hashes(data, names, workers))], "color": color,
                   "luma": luma if color == "gray" else None, "v": CACHE_VERSION})[:24]
    if cache_dir is not None:
        cache_dir = Path(cache_dir)
        arr_path, meta_path = cache_dir / f"celeba_{key}.npy", cache_dir / f"celeba_{key}.json"
        if arr_path.is_file() and meta_path.is_file():
            try:
                meta = json.loads(meta_path.read_text())
                kept = meta["names"]
                arr = np.load(arr_path)
                if arr.shape[0] != len(kept) or arr.dtype != np.uint8:
                    raise ValueError(f"holds {arr.shape[0]} {arr.dtype} images, its index {len(kept)}")
                if pixels_sha256(arr) != meta["pixels_sha256"]:
                    raise ValueError(f"its pixels do not match the sha256 recorded in {meta_path.name} "
                                     "when it was written")
            except (ValueError, OSError, EOFError, KeyError, TypeError) as e:
                warnings.warn(f"decoded-image cache {arr_path} is damaged ({e}); rebuilding it", stacklevel=2)
            else:
                errors = meta.get("skipped", [])
                if errors and on_corrupt == "error":
                    raise CelebAError(f"{len(errors)} unreadable images; first: {errors[0][1]}")
                _note_skipped(data, errors, len(names))
                return arr, kept
    workers = workers or min(16, os.cpu_count() or 1)

    def work(name):
        try:
            return decode_image(data, name, color, luma), None
        except CelebAError as e:
            return None, str(e)

    with ThreadPoolExecutor(workers) as pool:
        results = list(tqdm(pool.map(work, names), total=len(names), desc=desc, leave=False))
    errors = [[n, err] for n, (_, err) in zip(names, results) if err]
    if errors and on_corrupt == "error":
        raise CelebAError(f"{len(errors)} unreadable images; first: {errors[0][1]}")
    _note_skipped(data, errors, len(names))
    kept = [n for n, (img, _) in zip(names, results) if img is not None]
    if not kept:
        raise CelebAError(f"none of the {len(names)} images under {data.location} could be decoded")
    arr = np.stack([img for img, _ in results if img is not None])
    arr = arr[:, None] if color == "gray" else arr.transpose(0, 3, 1, 2)
    arr = np.ascontiguousarray(arr)
    if cache_dir is not None:
        _write_cache(arr, arr_path, meta_path, {"names": kept, "color": color, "luma": luma, "skipped": errors})
    return arr, kept


def pixels_sha256(arr: np.ndarray) -> str:
    """sha256 of an array's bytes: what a decoded-image cache records and is checked against."""
    return hashlib.sha256(np.ascontiguousarray(arr).data).hexdigest()


def _write_cache(arr: np.ndarray, arr_path: Path, meta_path: Path, meta: dict) -> None:
    """Write the cache (array, then its index with the pixels' sha256) through temporaries; a full
    disk leaves none behind and only warns, naming the file: the cache saves time, nothing more."""
    arr_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with replacing(arr_path, suffix=".npy") as tmp:     # np.save would add .npy to a bare name
            np.save(tmp, arr)
        atomic_write(meta_path, json.dumps({**meta, "pixels_sha256": pixels_sha256(arr)}))
    except DiskFullError:
        warnings.warn(f"no space left on device writing the decoded-image cache {arr_path}; continuing without "
                      "it (free space there, or give another cache folder, to decode only once)", stacklevel=3)


def load_split(data: CelebA, split: str, mode: str = "official", seed: int = 0,
               limit: int | dict[str, int | None] | None = None, color: str = "gray", luma: str = DEFAULT_LUMA,
               cache_dir: str | os.PathLike | None = "cache", on_corrupt: str = "skip") -> tuple[np.ndarray, list[str]]:
    """One split ('train', 'val' or 'test') of make_splits(data, mode, seed, limit), decoded by
    load_images (and cached): (uint8 array, names kept). An empty split is a CelebAError."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    names = make_splits(data, mode, seed, limit)[split]
    if not names:
        raise CelebAError(f"the {split} split of {data.root} is empty (split mode {mode!r})")
    return load_images(data, names, color=color, luma=luma, cache_dir=cache_dir, on_corrupt=on_corrupt,
                       desc=f"decode {split}")


def _note_skipped(data: CelebA, errors: list, total: int) -> None:
    if errors:
        data.skipped.update({n: err for n, err in errors})
        warnings.warn(f"skipped {len(errors)} unreadable image(s) of {total}: "
                      + "; ".join(err for _, err in errors[:5]), stacklevel=3)
