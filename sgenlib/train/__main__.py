"""python -m sgenlib.train / torchrun ... -m sgenlib.train: the command line (sgenlib.train.cli)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
