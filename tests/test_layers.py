"""The package's structure: `study` runs the stages and calls `tables`, never the other way."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules_loaded_by(module: str) -> set[str]:
    """The sgenlib modules a fresh interpreter holds after `import <module>`."""
    code = f"import sys, {module}; print(' '.join(m for m in sys.modules if m.startswith('sgenlib')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    return set(out.stdout.split())


def test_tables_does_not_import_study():
    loaded = _modules_loaded_by("sgenlib.tables")
    assert "sgenlib.tables" in loaded
    assert "sgenlib.study" not in loaded, "sgenlib.tables pulls in sgenlib.study (study calls tables, not back)"
    assert not any(m.startswith("sgenlib.mos.app") or m == "sgenlib.widgets" for m in loaded)
