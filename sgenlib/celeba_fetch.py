"""Getting CelebA (aligned & cropped) and checking a copy of it.

    python -m sgenlib.data fetch DEST     # torchvision's CelebA downloader, else the manual steps
    python -m sgenlib.data verify PATH    # what differs from the published release

`verify` checks, and prints one line each (OK, SUBSET, DIFFERS or MISSING):
  * img_align_celeba.zip, when present: its MD5 against the published one (PUBLISHED_MD5, the
    values torchvision's CelebA dataset lists in torchvision/datasets/celeba.py);
  * list_eval_partition.txt: its MD5, its 202,599 lines, and that every image found is in it;
  * the image count: 202,599 (CELEBA_TOTAL); fewer, all named and listed as in the release, is
    reported as a subset (like the kit's own 26,000-image development copy), not as an error;
  * SHA256SUMS, when the copy ships one (a subset's own checksums): every image it lists;
  * every image decodes and is 178x218 (width x height).
It exits 0 when nothing differs (a subset included), 1 otherwise.
"""
from __future__ import annotations

import hashlib
import io
import sys
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from .data import CELEBA_SIZE, CELEBA_TOTAL, CelebA, CelebAError, open_celeba
from .progress import progress

PUBLISHED_MD5 = {
    "img_align_celeba.zip": "00d2c5bc6d35e252742224ab0c1e8fcb",
    "list_eval_partition.txt": "d32c9cbf5e040fd4025c592c306e6668",
}
"""The release's MD5s, as torchvision's CelebA lists them (CelebA.file_list)."""
OFFICIAL_PAGE = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"


@dataclass
class Report:
    lines: list[tuple[str, str]] = field(default_factory=list)    # (status, what)

    def add(self, status: str, what: str) -> None:
        self.lines.append((status, what))

    @property
    def ok(self) -> bool:
        return all(status in ("OK", "SUBSET") for status, _ in self.lines)

    def text(self) -> str:
        return "\n".join(f"{status:8s}{what}" for status, what in self.lines)


def md5_of(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _find(root: Path, name: str) -> Path | None:
    """`name` in the root, its Eval/ or Img/ folder or (for a folder of images) beside it."""
    base = root.parent if root.is_file() else root
    for candidate in (base / name, base / "Eval" / name, base / "Img" / name, base.parent / name):
        if candidate.is_file():
            return candidate
    return None


def _check_zip(report: Report, path: Path | None, expected: str) -> None:
    if path is None:
        report.add("OK", "img_align_celeba.zip: not here, not needed: the unpacked images are checked one by one")
        return
    got = md5_of(path)
    report.add("OK" if got == expected else "DIFFERS", f"img_align_celeba.zip: MD5 {got}"
               + (", as published" if got == expected else f", published {expected}") + f" ({path})")


def _check_partition(report: Report, data: CelebA, path: Path | None, expected: str, total: int) -> None:
    """The partition file: its MD5 (a subset's own file, listing fewer images, differs as expected)
    and that it lists every image found."""
    if path is None:
        report.add("MISSING", f"list_eval_partition.txt: not found in {data.root} or its Eval/ folder; "
                   "the official split needs it")
        return
    got = md5_of(path)
    listed = len(data.partition or {})
    if got == expected:
        report.add("OK", f"list_eval_partition.txt: MD5 {got}, as published ({path})")
    elif listed < total:
        report.add("SUBSET", f"list_eval_partition.txt lists {listed:,} of {total:,} images: a subset's own "
                   f"partition file (MD5 {got}; the published file's is {expected}) ({path})")
    else:
        report.add("DIFFERS", f"list_eval_partition.txt: MD5 {got}, published {expected}: {listed:,} lines, "
                   f"other content ({path})")
    unlisted = [n for n in data.names if n not in (data.partition or {})]
    if unlisted:
        report.add("DIFFERS", f"{len(unlisted)} image(s) not in {path}, e.g. {', '.join(unlisted[:3])}")


def _check_count(report: Report, data: CelebA, total: int) -> None:
    n = len(data.names)
    official = all(len(Path(m).stem) == 6 and Path(m).stem.isdigit() and 1 <= int(Path(m).stem) <= total
                    for m in data.names)
    if n == total and official:
        report.add("OK", f"{n:,} images, as published ({data.location})")
    elif n < total and official:
        report.add("SUBSET", f"{n:,} of the {total:,} published images ({data.location}): a subset, fine for "
                   "development and the smoke profile; the paper's profile needs all of them")
    else:
        report.add("DIFFERS", f"{n:,} images in {data.location}, published {total:,}"
                   + ("" if official else " (names outside 000001.jpg ... of the release)"))


def _check_sha256sums(report: Report, data: CelebA, root: Path) -> None:
    sums = _find(root, "SHA256SUMS")
    if sums is None:
        return
    wanted = {}                                      # image name -> sha256 (`sha256sum` format)
    for line in sums.read_text().splitlines():
        if line.strip():
            digest, name = line.split(None, 1)
            wanted[Path(name.strip().lstrip("*")).name] = digest
    have = set(data.names)
    missing = [n for n in wanted if n not in have]
    names = [n for n in wanted if n in have]
    with ThreadPoolExecutor(4) as pool:
        got = list(progress(pool.map(lambda n: hashlib.sha256(data.read_bytes(n)).hexdigest(), names),
                            "verify sha256", total=len(names), unit="images"))
    bad = [n for n, h in zip(names, got) if h != wanted[n]]
    if missing or bad:
        report.add("DIFFERS", f"{sums}: {len(bad)} image(s) with other bytes ({', '.join(bad[:3])}), "
                   f"{len(missing)} listed but missing ({', '.join(missing[:3])})")
    else:
        report.add("OK", f"{sums}: all {len(names):,} images as listed")


def _decode_problem(data: CelebA, name: str, opener) -> str | None:
    try:
        with Image.open(io.BytesIO(opener(name))) as im:
            im.load()
            size = im.size
    except Exception as e:  # noqa: BLE001 - any failure to decode is what this check reports
        return f"{data.describe(name)}: does not decode ({e})"
    want = (CELEBA_SIZE[1], CELEBA_SIZE[0])
    return None if size == want else f"{data.describe(name)}: {size[0]}x{size[1]}, not {want[0]}x{want[1]}"


def _check_decode(report: Report, data: CelebA, workers: int = 4) -> None:
    local = threading.local()

    def opener(name: str) -> bytes:                  # one open zip per thread, not one per image
        if data.kind == "folder":
            return (data.location / name).read_bytes()
        if not hasattr(local, "zip"):
            local.zip = zipfile.ZipFile(data.location)
        return local.zip.read(data.zip_members[name])

    with ThreadPoolExecutor(workers) as pool:
        found = list(progress(pool.map(lambda n: _decode_problem(data, n, opener), data.names),
                              "verify decode", total=len(data.names), unit="images"))
    bad = [p for p in found if p]
    w, h = CELEBA_SIZE[1], CELEBA_SIZE[0]
    if bad:
        report.add("DIFFERS", f"{len(bad)} image(s) unreadable or not {w}x{h}: " + "; ".join(bad[:5]))
    else:
        report.add("OK", f"every image decodes at {w}x{h}")


def verify(path: str | Path, md5: dict[str, str] = PUBLISHED_MD5, total: int = CELEBA_TOTAL,
           workers: int = 4) -> Report:
    """Check a CelebA copy at `path` (any root sgenlib.data.open_celeba reads) against the release
    (`md5`, `total`: the published values; the tests pass their own for generated data)."""
    report = Report()
    root = Path(path).expanduser()
    try:
        data = open_celeba(root)
    except CelebAError as e:
        report.add("MISSING", str(e))
        return report
    zip_path = data.location if data.kind == "zip" else _find(root, "img_align_celeba.zip")
    _check_zip(report, zip_path, md5["img_align_celeba.zip"])
    _check_partition(report, data, _find(root, "list_eval_partition.txt"), md5["list_eval_partition.txt"], total)
    _check_count(report, data, total)
    _check_sha256sums(report, data, root)
    _check_decode(report, data, workers)
    return report


def manual_steps(dest: str | Path, why: str) -> str:
    dest = Path(dest).expanduser()
    return f"""Cannot download CelebA automatically here: {why}.
Get it by hand (about 1.4 GB; CelebA is for non-commercial research use only):
  1. Open {OFFICIAL_PAGE} and follow "Align&Cropped Images" (Google Drive or Baidu):
     download Img/img_align_celeba.zip, and Eval/list_eval_partition.txt from the same folder.
  2. Put both in {dest}:
       mkdir -p {dest} && mv img_align_celeba.zip list_eval_partition.txt {dest}/
     (unpacking is optional: cd {dest} && unzip -q img_align_celeba.zip)
  3. Check the copy:    python -m sgenlib.data verify {dest}
  4. Use it:            ./run_all.sh --profile smoke --data {dest}   (remembered for later runs and JupyterLab)
Google Drive often answers "too many users have viewed or downloaded this file": try again later,
or use Baidu. A mirror's copy is fine when `verify` reports no difference."""


def fetch(dest: str | Path) -> int:
    """Download img_align_celeba.zip and list_eval_partition.txt into `dest` with torchvision's
    CelebA downloader (Google Drive, MD5-checked), unpack the zip and verify; without torchvision
    or the network, print the manual steps. Exit status: 0 downloaded and verified, 2 otherwise."""
    dest = Path(dest).expanduser()
    try:
        from torchvision.datasets import CelebA as TorchvisionCelebA
        from torchvision.datasets.utils import download_file_from_google_drive, extract_archive
    except ImportError as e:
        print(manual_steps(dest, f"torchvision is not installed ({e}); pip install torchvision gdown"))
        return 2
    dest.mkdir(parents=True, exist_ok=True)
    try:
        for file_id, md5, name in TorchvisionCelebA.file_list:
            if name in PUBLISHED_MD5:
                print(f"fetch: {name} -> {dest}", flush=True)
                download_file_from_google_drive(file_id, str(dest), name, md5)
        print(f"fetch: unpacking {dest / 'img_align_celeba.zip'}", flush=True)
        extract_archive(str(dest / "img_align_celeba.zip"), str(dest))
    except Exception as e:  # noqa: BLE001 - no network, a Drive quota, gdown missing: all end in the manual steps
        print(manual_steps(dest, f"the download failed ({type(e).__name__}: {e})"))
        return 2
    report = verify(dest)
    print(report.text())
    return 0 if report.ok else 2


def main(argv: list[str]) -> int:
    """python -m sgenlib.data fetch DEST | verify PATH (dispatched from sgenlib.data)."""
    if len(argv) != 2 or argv[0] not in ("fetch", "verify"):
        print("usage: python -m sgenlib.data fetch DEST | verify PATH", file=sys.stderr)
        return 2
    if argv[0] == "fetch":
        return fetch(argv[1])
    report = verify(argv[1])
    print(report.text())
    print(f"verify: {'no difference from the published CelebA' if report.ok else 'differences above'}"
          + (" (a subset)" if report.ok and any(s == "SUBSET" for s, _ in report.lines) else ""))
    return 0 if report.ok else 1
