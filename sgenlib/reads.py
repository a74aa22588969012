"""The record of files a stage read: run_all.sh names a log file in $SGEN_STAGE_READS, and every
checkpoint or generator that sgenlib loads is appended to it (`note_read`), so that
sgenlib.provenance can key the stage on those files' sha256. Outside run_all.sh a no-op."""
from __future__ import annotations

import os
from pathlib import Path

READS_ENV = "SGEN_STAGE_READS"
"""run_all.sh names a file here; sgenlib appends to it every checkpoint / generator a stage reads."""


def note_read(path: str | Path) -> None:
    """Record that the running stage read `path` (a generator, a checkpoint): run_all.sh then keys
    the stage on that file's existence and sha256. A no-op outside run_all.sh."""
    log = os.environ.get(READS_ENV)
    if log:
        with open(log, "a") as f:
            f.write(str(Path(path).resolve()) + "\n")
