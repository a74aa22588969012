"""The kit's layout as a Markdown table: every Python file of sgenlib/, benchmarks/ and scripts/,
its length in lines, and its job (the first sentence of its docstring).

    python scripts/layout.py [FOLDER ...]      # default: sgenlib benchmarks scripts
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FOLDERS = ("sgenlib", "benchmarks", "scripts")


def job_of(path: Path) -> str:
    """The first sentence of the module's docstring, on one line ('' when it has none)."""
    doc = ast.get_docstring(ast.parse(path.read_text(), str(path))) or ""
    first = " ".join(doc.split("\n\n")[0].split())
    end = re.search(r"\.\s(?=[A-Z])", first)          # not "eqs. (10)" nor "et al. ("
    return (first[:end.start() + 1] if end else first).replace("|", "\\|")


def layout_rows(folders=DEFAULT_FOLDERS, root: Path = ROOT) -> list[tuple[str, int, str]]:
    rows = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            if "__pycache__" not in path.parts:
                rows.append((str(path.relative_to(root)), len(path.read_text().splitlines()), job_of(path)))
    return rows


def main(argv=None) -> int:
    folders = (argv if argv is not None else sys.argv[1:]) or DEFAULT_FOLDERS
    missing = [f for f in folders if not (ROOT / f).is_dir()]
    if missing:
        print(f"layout.py: no folder {', '.join(missing)} in {ROOT}", file=sys.stderr)
        return 2
    print("| file | lines | job |\n|---|---:|---|")
    for name, lines, job in layout_rows(folders):
        print(f"| `{name}` | {lines} | {job} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
