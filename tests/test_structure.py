"""One job per module: no module of sgenlib over MAX_MODULE_LINES lines, no function of the kit's
Python (library, scripts, benchmarks, notebooks, tests) over MAX_FUNCTION_LINES, and no Python fed
to an interpreter through a shell heredoc (no linter or test would read it there)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
PYTHON_DIRS = ("sgenlib", "scripts", "benchmarks", "notebooks", "tests")


def python_files() -> list[Path]:
    return sorted(p for d in PYTHON_DIRS for p in (ROOT / d).rglob("*.py"))


def long_functions(path: Path, limit: int = MAX_FUNCTION_LINES, root: Path = ROOT) -> list[str]:
    """'<file>:<line> <name> (<n> lines)' for every function or method longer than `limit`,
    decorators and docstring included."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            n = node.end_lineno - first + 1
            if n > limit:
                out.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({n} lines)")
    return out


HEREDOC_PYTHON = re.compile(r"(python[\d.]*|\$\{?PY(THON)?\}?|\$py\b|\$\{?[A-Za-z_]*python\}?)[^\n]*<<-?\s*['\"]?\w+",
                            re.IGNORECASE)


def heredoc_python(text: str) -> list[int]:
    """Line numbers where a shell script feeds a heredoc to a Python interpreter."""
    return [i for i, line in enumerate(text.splitlines(), 1)
            if not line.lstrip().startswith("#") and HEREDOC_PYTHON.search(line)]


def test_no_module_of_the_library_is_too_long():
    big = [f"{p.relative_to(ROOT)} ({n} lines)" for p in sorted((ROOT / "sgenlib").rglob("*.py"))
           if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES]
    assert not big, f"modules over {MAX_MODULE_LINES} lines: split them along their seams: {big}"


def test_no_function_is_too_long():
    long = [f for p in python_files() for f in long_functions(p)]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: " + "; ".join(long)


def test_no_python_in_shell_heredocs():
    scripts = [ROOT / "run_all.sh", *sorted((ROOT / "scripts").rglob("*.sh")), ROOT / ".ci" / "run"]
    found = [f"{p.relative_to(ROOT)}:{n}" for p in scripts if p.is_file() for n in heredoc_python(p.read_text())]
    assert not found, "Python inside a shell heredoc (move it to a .py file): " + ", ".join(found)


@pytest.mark.parametrize("line, hit", [
    ('"$PYTHON" - "$a" <<\'PY\'', True), ('"$PY" - <<PY', True), ("python3 - <<EOF", True),
    ('"$venv/bin/python" - "$work" <<\'PY\'', True), ("cat > f <<EOF", False),
    ("# python - <<PY in a comment", False), ('"$PYTHON" -m sgenlib.runall notebooks', False)])
def test_the_heredoc_check_sees_each_form(line, hit):
    assert bool(heredoc_python(line)) == hit


def test_the_length_check_measures(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def short():\n    return 1\n\n\n@staticmethod\ndef edge():\n" + "    x = 1\n" * 78
                 + "\n\ndef long():\n" + "    x = 1\n" * 80)
    assert long_functions(f, root=tmp_path) == ["m.py:87 long (81 lines)"]
