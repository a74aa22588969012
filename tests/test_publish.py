"""sgenlib.publish: a results folder loses the machine's absolute paths before it is committed."""
from __future__ import annotations

import json

import pytest

from sgenlib import publish


def test_paths_become_relative_and_the_data_root_a_setting(tmp_path):
    repo, data = tmp_path / "checkout", tmp_path / "celeba"
    folder = repo / "results" / "cpu"
    (folder / "provenance").mkdir(parents=True)
    record = {"data_root": str(data), "runs": str(repo / "runs"), "read": [str(repo / "runs/cpu/SGEN/generator.pt")]}
    (folder / "provenance" / "02_sgen.json").write_text(json.dumps(record))
    (folder / "notes.md").write_text(f"cache=PosixPath('{repo}/cache') and data {data}/img_align_celeba\n")
    (folder / ".reads-02_sgen").write_text(str(repo))                      # run state: left alone
    report = publish.make_portable(folder, repo, data)
    assert json.loads((folder / "provenance" / "02_sgen.json").read_text()) == {
        "data_root": "$CELEBA_ROOT", "runs": "runs", "read": ["runs/cpu/SGEN/generator.pt"]}
    assert (folder / "notes.md").read_text() == "cache=PosixPath('cache') and data $CELEBA_ROOT/img_align_celeba\n"
    assert sorted(report["rewritten"]) == ["notes.md", "provenance/02_sgen.json"]
    assert report["absolute_paths"] == {} and report["too_big"] == {}


def test_what_cannot_be_made_portable_is_reported(tmp_path, monkeypatch):
    folder = tmp_path / "res"
    folder.mkdir()
    (folder / "log.txt").write_text("read /home/someone/faces/001.jpg; see https://example.org/work/x\n")
    monkeypatch.setattr(publish, "MAX_FILE_BYTES", 80)
    (folder / "big.png").write_bytes(b"x" * 81)
    report = publish.make_portable(folder, tmp_path / "elsewhere")
    assert report["absolute_paths"] == {"log.txt": ["/home/someone/faces/001.jpg"]}    # the URL is not a path
    assert report["too_big"] == {"big.png": 81}


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no results folder at .*nope"):
        publish.make_portable(tmp_path / "nope", tmp_path)
