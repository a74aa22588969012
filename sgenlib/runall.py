"""run_all.sh's checks and messages, each a function a test can call:

    python -m sgenlib.runall notebooks                   the stages in run order, one a line (NOTEBOOKS)
    python -m sgenlib.runall only STAGES KNOWN...        the --only names, checked (did you mean ...)
    python -m sgenlib.runall sets PROFILE KEY=VALUE...   the --set values as JSON, checked up front
    python -m sgenlib.runall notebook NOTEBOOK.ipynb     the jupytext pair synced before it runs
    python -m sgenlib.runall skipped MANIFEST [SINCE]    the images the data stage skipped
    python -m sgenlib.runall failure EXECUTED.ipynb      the line a failed stage ended with
    python -m sgenlib.runall cleanup FOLDER              temporaries a failed writer left

A known problem exits 2 with one line `run_all.sh: <what, the file, the fix>` on stderr.
"""
from __future__ import annotations

import difflib
import json
import shutil
import sys
from pathlib import Path

from .profiles import check_overrides
from .fileio import remove_temporaries


NOTEBOOKS = ("01_data_prep", "02_sgen", "03_ablations", "04_sota", "05_n_study", "06_mos", "07_viewer")
"""The study's stages, notebooks/<name>.ipynb, in the order run_all.sh runs them (the device run's
sizing and status lines read the same list)."""


class RunAllError(ValueError):
    """A problem run_all.sh stops on; the message names the file or value and the fix."""


# ---- --only ----------------------------------------------------------------------------------
def check_stage_names(only: str, known: list[str]) -> list[str]:
    """The stage names of `only` (space separated), each one of `known`; RunAllError naming the
    first unknown one, the closest known name and the list otherwise."""
    names = only.split()
    if not names:
        raise RunAllError(f"--only needs stage names; known: {' '.join(known)}")
    for name in names:
        if name in known:
            continue
        stem = Path(name).name.removesuffix(".ipynb").removesuffix(".py")
        guess = [k for k in known if k.lower() == stem.lower()] or difflib.get_close_matches(stem, known, 1, 0.5)
        hint = f" (did you mean {guess[0]}?)" if guess else ""
        raise RunAllError(f"--only: unknown stage {name!r}{hint}; known: {' '.join(known)}")
    return names


# ---- --set -------------------------------------------------------------------------------------
def parse_sets(profile: str, pairs: list[str]) -> dict:
    """--set key=value ... -> {key: value} (a value is JSON when it parses, else a string), every
    value checked by the rules the notebooks apply (profiles.check_overrides, the same call
    study.open_study makes), so a bad one stops before the first notebook."""
    out = {}
    for kv in pairs:
        if "=" not in kv:
            raise RunAllError(f"--set expects key=value, got {kv!r}")
        key, value = kv.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
        try:
            check_overrides(profile, {key: out[key]})
        except ValueError as e:
            raise RunAllError(f"--set {kv}: {e}") from None
    try:
        check_overrides(profile, out)
    except ValueError as e:
        raise RunAllError(f"--set {' '.join(pairs)}: {e}") from None
    return out


# ---- the notebook pair -------------------------------------------------------------------------
def _cells(nb) -> list:
    return [(c.cell_type, c.source) for c in nb.cells]


def sync_notebook(ipynb: str | Path) -> str:
    """Make the notebook that runs the one its jupytext source says. NN_name.py is the source
    (tests/test_notebooks.py): when its cells differ from NN_name.ipynb's and the .py is not older,
    the .ipynb is rewritten from it (what `jupytext --sync` does) and a line saying so is returned;
    when the .ipynb is the newer one (edited without jupytext), RunAllError names both files and
    the fix. '' when the pair agrees or there is no .py."""
    import jupytext
    import nbformat
    ipynb = Path(ipynb)
    py = ipynb.with_suffix(".py")
    if not py.is_file():
        return ""
    try:
        source = jupytext.read(py)
        executed = nbformat.read(ipynb, as_version=4) if ipynb.is_file() else None
    except Exception as e:  # noqa: BLE001 - nbformat and jupytext raise many kinds for a broken file
        raise RunAllError(f"cannot read the notebook pair {ipynb} / {py} ({type(e).__name__}: {e}); "
                          f"restore the file with `git checkout -- {ipynb} {py}`") from None
    if executed is not None and _cells(executed) == _cells(source):
        return ""
    if executed is not None and ipynb.stat().st_mtime > py.stat().st_mtime:
        raise RunAllError(f"{ipynb} and {py} disagree and the .ipynb is newer (edited without jupytext?); "
                          f"carry its edits into the source with `jupytext --sync {ipynb}`, or drop them "
                          f"with `git checkout -- {ipynb}`, then run again")
    _keep_cell_ids(source, executed)
    jupytext.write(source, ipynb)
    return f"run_all.sh: {py} was edited: synced {ipynb} from it (jupytext --sync), so the edit is what runs"


def _keep_cell_ids(source, old) -> None:
    """Cell ids for the rewritten notebook: the old notebook's, position by position, then the
    repository's 'cell-NN' (jupytext would draw random ones, and the diff would show every cell)."""
    old_ids = [c.get("id") for c in old.cells] if old is not None else []
    taken = set()
    for i, cell in enumerate(source.cells):
        want = (old_ids[i] if i < len(old_ids) else None) or f"cell-{i:02d}"
        while want in taken:
            want += "a"
        taken.add(want)
        cell["id"] = want


# ---- after a stage -------------------------------------------------------------------------------
def skipped_line(manifest: str | Path, since: float | None = None) -> str:
    """The terminal line for the images data_manifest.json lists as skipped ('' when none, or when
    the manifest was written before `since`, epoch seconds: a stage that failed before writing its
    own must not repeat an older run's count); RunAllError naming a damaged manifest and the fix."""
    path = Path(manifest)
    if not path.is_file() or (since is not None and path.stat().st_mtime < since):
        return ""
    try:
        bad = json.loads(path.read_text()).get("skipped_unreadable") or []
    except (OSError, ValueError, AttributeError) as e:
        raise RunAllError(f"{path} is damaged ({type(e).__name__}: {e}); rerun the data stage to rewrite it: "
                          "./run_all.sh ... --force --only 01_data_prep") from None
    if not bad:
        return ""
    return (f"run_all.sh: {len(bad)} image(s) skipped as unreadable (corrupt or not 218x178): "
            + "; ".join(bad[:5]) + (" ..." if len(bad) > 5 else ""))


def _disk_full(results: Path) -> str:
    return (f": the disk of {results} is full; free space there (or give --results on another disk), then run "
            "again (finished stages are skipped)")


def failure_line(executed: str | Path) -> str:
    """The error a failed notebook ended with (its first line), from the executed copy
    results/<profile>/notebooks/<stage>.ipynb. A full disk is said to be one, with the folder and
    the fix; a copy that is unreadable (cut short) is named, as a full disk when its disk has no
    space left."""
    path = Path(executed)
    results = path.parent.parent
    try:
        nb = json.loads(path.read_text())
    except FileNotFoundError:
        return ""
    except (OSError, ValueError) as e:
        if shutil.disk_usage(path.parent).free < (1 << 20):
            return f"no space left on device writing {path}" + _disk_full(results)
        return f"its executed copy {path} is unreadable ({type(e).__name__}: {e}); see the error above"
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error" and o.get("ename") != "PapermillExecutionError":
                line = f"{o['ename']}: {o['evalue']}".splitlines()[0]
                if "no space left on device" in line.lower() or "[Errno 28]" in line:
                    line += _disk_full(results)
                return line
    return ""


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    action, args = (argv[0], argv[1:]) if argv else ("", [])
    try:
        if action == "notebooks":
            print("\n".join(NOTEBOOKS))
        elif action == "only":
            check_stage_names(args[0] if args else "", args[1:])
        elif action == "sets":
            print(json.dumps(parse_sets(args[0], args[1:])))
        elif action in ("notebook", "skipped", "failure"):
            if action == "skipped":
                line = skipped_line(args[0], float(args[1]) if len(args) > 1 else None)
            else:
                line = (sync_notebook if action == "notebook" else failure_line)(args[0])
            if line:
                print(line)
        elif action == "cleanup":
            for p in remove_temporaries(args[0], recursive=True):
                print(f"run_all.sh: removed the temporary {p} a failed writer left", file=sys.stderr)
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except RunAllError as e:
        print(f"run_all.sh: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
