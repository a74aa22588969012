"""The package's structure: three layers (sgenlib.LAYERS) with imports pointing only down, and
`study` runs the stages and calls `tables`, never the other way."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import sgenlib

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sgenlib"
ORDER = list(sgenlib.LAYERS)                       # core, report, apps: from the bottom up


LISTED = [unit for layer in sgenlib.LAYERS.values() for unit in layer]   # the one order, bottom up


def unit_of(module: str) -> str:
    """The LAYERS name of a dotted module below sgenlib: the longest listed prefix of it ('archs'
    for anything in the archs package, 'mos.stats' for sgenlib.mos.stats), so a new subpackage is
    found without an edit here: list it whole, or list its modules one by one. The data package
    paper_data belongs to 'paper'."""
    if module.split(".")[0] == "paper_data":
        return "paper"
    parts = module.split(".")
    for k in range(len(parts), 0, -1):
        if ".".join(parts[:k]) in LISTED:
            return ".".join(parts[:k])
    return module


def split_packages() -> list[str]:
    """Subpackages whose modules are listed one by one (mos, ...): their __init__ is no unit."""
    return sorted({u.rsplit(".", 1)[0] for u in LISTED if "." in u} - set(LISTED))


def layer_of(unit: str) -> str | None:
    return next((layer for layer, units in sgenlib.LAYERS.items() if unit in units), None)


def modules() -> dict[str, Path]:
    """Every module of the package, as its dotted name below sgenlib (packages by their name)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def sgenlib_imports(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, dotted module below sgenlib) of every sgenlib import in the file, at any depth
    (imports inside functions count: a lazy import is still a dependency)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    known = set(modules())
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                target = [*package[:len(package) - (node.level - 1)], *(node.module or "").split(".")]
            elif (node.module or "").split(".")[0] == "sgenlib":
                target = node.module.split(".")[1:]
            else:
                continue
            target = ".".join(p for p in target if p)
            for alias in node.names:   # `from .mos import stats` imports the module mos.stats
                sub = f"{target}.{alias.name}".lstrip(".")
                found.append((node.lineno, sub if sub in known else target))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, ".".join(a.name.split(".")[1:])) for a in node.names
                      if a.name.split(".")[0] == "sgenlib" and "." in a.name]
    return found


def test_every_module_has_one_layer():
    units = {unit_of(m) for m in modules() if m not in ("", *split_packages())}
    listed = LISTED
    assert len(listed) == len(set(listed)), "a module is listed in two layers"
    assert units == set(listed), f"not in sgenlib.LAYERS: {sorted(units - set(listed))}; " \
                                 f"listed but missing: {sorted(set(listed) - units)}"
    for unit in listed:                             # and the package docstring names each of them
        assert unit in sgenlib.__doc__, f"sgenlib's docstring does not list {unit}"


def test_imports_point_only_down():
    wrong = []
    for module, path in modules().items():
        if module in ("", *split_packages()):
            continue
        here = ORDER.index(layer_of(unit_of(module)))
        for line, target in sgenlib_imports(module, path):
            there = layer_of(unit_of(target))
            if there is not None and ORDER.index(there) > here:
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({ORDER[here]}) imports {target} ({there})")
    assert not wrong, "imports pointing up a layer:\n" + "\n".join(wrong)


def test_imports_follow_the_listed_order():
    """Within a layer too, LAYERS lists the modules in the order a reader should take them: each
    imports only modules listed before it (its own package's modules aside), so no import runs
    back up, and the package docstring can be read from the top."""
    wrong = []
    for module, path in modules().items():
        if module in ("", *split_packages()):
            continue
        unit = unit_of(module)
        for line, target in sgenlib_imports(module, path):
            there = unit_of(target)
            if there != unit and there in LISTED and LISTED.index(there) > LISTED.index(unit):
                wrong.append(f"{path.relative_to(ROOT)}:{line} ({unit}) imports {there}, listed after it")
    assert not wrong, "imports running back up the listed order:\n" + "\n".join(wrong)


def test_units_are_found_in_new_subpackages(tmp_path, monkeypatch):
    """unit_of needs no edit for a new subpackage: a listed package covers its modules, and a
    package listed module by module is no unit itself."""
    monkeypatch.setattr(sys.modules[__name__], "LISTED", ["archs", "newpkg.a", "newpkg.b"])
    assert unit_of("archs.sgen") == "archs" and unit_of("newpkg.b") == "newpkg.b"
    assert split_packages() == ["newpkg"]


def test_package_inits_import_nothing():
    """`import sgenlib.mos` must not pull in the widgets (nor `import sgenlib` anything)."""
    for module in ("", *split_packages()):
        assert sgenlib_imports(module, modules()[module]) == []


@pytest.mark.parametrize("module, source, expected", [
    ("data", "from .study import Study", "study"), ("mos.stats", "from ..tables import x", "tables"),
    ("data", "from . import widgets", "widgets"), ("tables", "from .mos import stats as s", "mos.stats"),
    ("data", "from sgenlib.mos import app", "mos.app"), ("data", "import sgenlib.viewer", "viewer"),
    ("data", "from .archs.vgg import f", "archs.vgg")])
def test_the_checker_sees_each_import_form(tmp_path, module, source, expected):
    """The check above misses no import form, lazy ones (inside a function) included."""
    path = tmp_path / "mod.py"
    path.write_text(f"import os\n\n\ndef f():\n    {source}\n")
    assert [t for _, t in sgenlib_imports(module, path)] == [expected]


def _modules_loaded_by(module: str, prefixes: tuple[str, ...] = ("sgenlib",)) -> set[str]:
    """The modules (sgenlib's, or those starting with `prefixes`) a fresh interpreter holds after
    `import <module>` (several modules: 'a, b')."""
    code = (f"import sys, {module}; "
            f"print(' '.join(m for m in sys.modules if m.startswith({tuple(prefixes)!r})))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    return set(out.stdout.split())


def test_tables_does_not_import_study():
    loaded = _modules_loaded_by("sgenlib.tables")
    assert "sgenlib.tables" in loaded
    assert "sgenlib.study" not in loaded, "sgenlib.tables pulls in sgenlib.study (study calls tables, not back)"
    assert not any(m.startswith("sgenlib.mos.app") or m == "sgenlib.widgets" for m in loaded)


def test_the_viewer_renders_without_widgets():
    """The viewer's report-layer modules (panels, render, uploads, sources) import no ipywidgets and
    no sgenlib.widgets, though each import runs sgenlib/viewer/__init__.py; its widget names are
    found there lazily."""
    plain = [f"sgenlib.{u}" for u in sgenlib.LAYERS["report"] if u.startswith("viewer.")]
    assert len(plain) >= 4
    loaded = _modules_loaded_by(", ".join(plain), ("sgenlib", "ipywidgets"))
    assert set(plain) <= loaded
    assert not any(m.split(".")[0] == "ipywidgets" for m in loaded), "the plain viewer imports ipywidgets"
    assert not {"sgenlib.widgets", "sgenlib.viewer.app"} & loaded
    code = "import sys, sgenlib.viewer as V; V.open_viewer; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.stdout.split() == ["True"]                    # asked for, the widget is there
