"""environment.yml parses and names every runtime dependency of pyproject.toml."""
import re
import tomllib

import yaml

from conftest import REPO

CONDA_NAMES = {"torch": "pytorch", "opencv-python-headless": "opencv"}


def names(specs):
    return {re.split(r"[<>=!~ \[]", s.strip(), maxsplit=1)[0].lower() for s in specs}


def test_environment_lists_every_dependency():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert env["name"] and "conda-forge" in env["channels"]
    conda = names(d for d in env["dependencies"] if isinstance(d, str))
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = names(project["dependencies"])
    missing = {CONDA_NAMES.get(n, n) for n in runtime} - conda
    assert not missing, f"environment.yml lacks {sorted(missing)}"
    assert "torch" in runtime and any(d.startswith("torch>=2.11,<2.14") for d in project["dependencies"])
