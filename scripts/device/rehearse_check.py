"""The rehearsal's verdict on a device call run on this machine (rehearse_device.sh, step 3): exit 0,
every stage and notebook ok in status.txt, the packed results and MOS set inside the device tool's
limits, figures inline in the executed notebooks, the commit in every provenance record. Prints
one 'ok' / 'FAIL' line per check and 'rehearsal: PASSED' or 'rehearsal: FAILED (n): ...'.

    python scripts/device/rehearse_check.py WORK RC COMMIT    # WORK holds tree/ (the copy) and out/
"""
from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))     # sgenlib from this checkout
from sgenlib.runall import NOTEBOOKS  # noqa: E402

LIMITS = {"files": 8, "file_mib": 16, "total_mib": 64}          # what the device tool brings back


class Checks:
    """The checks made so far: each printed as it is made, the failed ones kept."""

    def __init__(self):
        self.bad = []

    def __call__(self, ok: bool, what: str) -> None:
        print(("ok    " if ok else "FAIL  ") + what)
        if not ok:
            self.bad.append(what)

    def verdict(self) -> str:
        return "rehearsal: " + ("PASSED" if not self.bad else f"FAILED ({len(self.bad)}): " + "; ".join(self.bad))


def check_status(check: Checks, out: Path, rc: int) -> None:
    """gpu_run.sh's exit and status.txt: every stage ok (sizing may be cut to its fallback), and
    every notebook's line ok."""
    check(rc == 0, f"gpu_run.sh exit 0 (got {rc})")
    text = (out / "status.txt").read_text()
    print(text)
    outcome = {s[0]: s[1] for s in (line.split("\t") for line in text.splitlines() if line.strip())}
    for stage in ("preflight", "study", "pack", "pack_mos"):
        check(outcome.get(stage) == "ok", f"status.txt: {stage} ok (got {outcome.get(stage)})")
    check(outcome.get("sizing") in ("ok", "cut"), f"status.txt: sizing ok or cut to the fallback (got {outcome.get('sizing')})")
    for nb in NOTEBOOKS:
        check(outcome.get(f"study/{nb}") == "ok", f"status.txt: study/{nb} ok (got {outcome.get(f'study/{nb}')})")


def check_packed(check: Checks, out: Path) -> None:
    """results.tgz with the gallery and the logs, the MOS set, and what comes back within LIMITS."""
    check((out / "results.tgz").is_file(), "results.tgz packed")
    check(any(out.glob("mos_set.tgz*")), "MOS rating set packed (mos_set.tgz*)")
    names = []
    if (out / "results.tgz").is_file():
        with tarfile.open(out / "results.tgz") as t:
            names = t.getnames()
    check(any(n.endswith("gallery/index.csv") for n in names), "gallery inside results.tgz")
    check(any(n.endswith("logs/run_all.log") for n in names), "logs inside results.tgz")
    sizes = [p.stat().st_size for p in out.rglob("*") if p.is_file()]
    mib = 2**20
    check(len(sizes) <= LIMITS["files"] and max(sizes) <= LIMITS["file_mib"] * mib
          and sum(sizes) <= LIMITS["total_mib"] * mib,
          f"what comes back fits the device tool: {len(sizes)} files (<= {LIMITS['files']}), largest "
          f"{max(sizes) / mib:.1f} MiB (<= {LIMITS['file_mib']}), {sum(sizes) / mib:.1f} MiB in all "
          f"(<= {LIMITS['total_mib']})")


def inline_figures(res: Path) -> dict[str, int]:
    """Notebook -> image/png outputs in its executed copy under res/notebooks (0 when absent)."""
    images = {}
    for nb in NOTEBOOKS:
        path = res / "notebooks" / f"{nb}.ipynb"
        cells = json.loads(path.read_text())["cells"] if path.is_file() else []
        images[nb] = sum("image/png" in o.get("data", {}) for c in cells for o in c.get("outputs", []))
    return images


def check_results(check: Checks, res: Path, commit: str) -> None:
    """The executed notebooks keep their figures; the commit is in DEVICE_RUN_COMMIT and provenance."""
    images = inline_figures(res)
    print("inline figures per executed notebook:", images)
    check(sum(images.values()) > 0 and all(images[nb] > 0 for nb in ("02_sgen", "03_ablations", "04_sota")),
          "executed notebooks keep their inline figures (image/png outputs)")
    stamp = res / "DEVICE_RUN_COMMIT"
    check(stamp.is_file() and stamp.read_text().strip() == commit, f"DEVICE_RUN_COMMIT is {commit}")
    prov = [json.loads(p.read_text()) for p in (res / "provenance").glob("*.json")]
    check(bool(prov) and all((p.get("git") or {}).get("commit") == commit for p in prov),
          "every provenance record names the commit from .device_commit")


def main(argv=None) -> int:
    work, rc, commit = argv or sys.argv[1:4]
    work = Path(work)
    check = Checks()
    check_status(check, work / "out", int(rc))
    check_packed(check, work / "out")
    check_results(check, work / "tree" / "results" / "smoke", commit)
    print(check.verdict())
    return 1 if check.bad else 0


if __name__ == "__main__":
    sys.exit(main())
