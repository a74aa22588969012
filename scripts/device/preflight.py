"""The device run's Python check (gpu_run.sh's preflight): torch imports, sees a GPU when one is
needed, and every package the notebooks import is there. Prints one line (python, torch, numpy,
GPU) and exits 0; else exits with the one line naming what is missing.

    python scripts/device/preflight.py NEED_CUDA          # 1: a GPU is required, 0: not
"""
from __future__ import annotations

import sys

NOTEBOOK_MODULES = ("numpy", "papermill", "ipykernel", "nbformat", "matplotlib", "pandas", "skimage", "cv2",
                    "sgenlib.study")


def missing_modules(modules=NOTEBOOK_MODULES) -> list[str]:
    """'module (Error: message)' for each of `modules` that does not import."""
    missing = []
    for mod in modules:
        try:
            __import__(mod)
        except Exception as e:  # noqa: BLE001
            missing.append(f"{mod} ({type(e).__name__}: {e})")
    return missing


def check(need_cuda: bool, modules=NOTEBOOK_MODULES) -> str:
    """The environment's line; SystemExit naming the first problem (torch, CUDA, then packages)."""
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        sys.exit(f"python packages: torch ({type(e).__name__}: {e})")
    if need_cuda and not torch.cuda.is_available():
        sys.exit(f"CUDA: torch {torch.__version__} sees no GPU (REQUIRE_CUDA=0 to run on the CPU anyway)")
    missing = missing_modules(modules)
    if missing:
        sys.exit("python packages: " + "; ".join(missing))
    import numpy
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"python {sys.version.split()[0]}, torch {torch.__version__}, numpy {numpy.__version__}, {gpu}"


if __name__ == "__main__":
    print(check(sys.argv[1] == "1"))
