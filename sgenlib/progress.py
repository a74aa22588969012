"""Progress of the kit's own loops (evaluation, gallery, MOS set, figures), seen wherever it runs.

In JupyterLab (or at a Python prompt) a loop shows a tqdm bar. Under run_all.sh the notebooks run
in papermill, whose kernels draw tqdm bars as widgets that no terminal shows; run_all.sh therefore
sets SGEN_PROGRESS=lines, and each loop prints plain lines on stderr instead (papermill forwards a
notebook's stderr to the terminal): one when it starts, one at least every LINE_EVERY_S seconds
while it runs, and one when it ends, with its time:

    [eval SGEN-MSE] 0/6 scales
    [eval SGEN-MSE] 4/6 scales, 5.2 s
    [eval SGEN-MSE] 6/6 scales done in 7.9 s
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator

from tqdm.auto import tqdm

ENV = "SGEN_PROGRESS"
"""'lines': plain progress lines on stderr (run_all.sh sets it); anything else: tqdm bars."""
LINE_EVERY_S = 5.0


def lines_wanted() -> bool:
    return os.environ.get(ENV, "") == "lines"


def progress(items: Iterable, desc: str, total: int | None = None, unit: str = "it",
             disable: bool = False, every: float = LINE_EVERY_S) -> Iterator:
    """Iterate `items`, showing progress as a tqdm bar, or as stderr lines under run_all.sh."""
    if disable:
        yield from items
        return
    if total is None and hasattr(items, "__len__"):
        total = len(items)
    if not lines_wanted():
        yield from tqdm(items, desc=desc, total=total, unit=unit, leave=False)
        return
    of = f"/{total}" if total is not None else ""
    start = last = time.perf_counter()
    print(f"[{desc}] 0{of} {unit}", file=sys.stderr, flush=True)
    done = 0
    for item in items:
        yield item
        done += 1
        now = time.perf_counter()
        if now - last >= every and done != total:         # the last one gets the end line
            print(f"[{desc}] {done}{of} {unit}, {now - start:.1f} s", file=sys.stderr, flush=True)
            last = now
    print(f"[{desc}] {done}{of} {unit} done in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
