"""scripts/layout.py: the layout table a maintainer reads (file, lines, job)."""
from __future__ import annotations

from conftest import load_script


def _layout():
    return load_script("scripts/layout.py")


def test_rows_give_lines_and_the_first_sentence(tmp_path):
    layout = _layout()
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text('"""Losses of eqs. (10)-(12). More here.\n\nDetails."""\nx = 1\n')
    (tmp_path / "pkg" / "b.py").write_text("y = 2\n")
    assert layout.layout_rows(["pkg"], root=tmp_path) == [
        ("pkg/a.py", 4, "Losses of eqs. (10)-(12)."), ("pkg/b.py", 1, "")]


def test_every_library_module_says_its_job():
    rows = _layout().layout_rows(["sgenlib"])
    silent = [name for name, lines, job in rows if lines and not job]
    assert not silent, f"modules without a docstring saying their job: {silent}"
    assert any(name == "sgenlib/fileio.py" for name, _, _ in rows)


def test_unknown_folder_is_named(capsys):
    assert _layout().main(["no_such_folder"]) == 2
    assert "no_such_folder" in capsys.readouterr().err
