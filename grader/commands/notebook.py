"""`python -m grader notebook`: the course as one Jupyter notebook."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from ..lesson import write
from . import options


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader notebook",
        description="Build the kit as one Jupyter notebook, from exercises/ (or solutions/).")
    parser.add_argument("--solutions", action="store_true",
                        help="fill in every step from solutions/ (instructors)")
    parser.add_argument("--out", type=Path, default=Path("micrograd.ipynb"),
                        help="where to write it (default micrograd.ipynb)")
    args = parser.parse_args(argv)
    if args.solutions:
        options.need_solutions(parser)
    out = write(args.out, solutions=args.solutions)
    print(f"wrote {out}: open it in Jupyter, VS Code or Colab (the kit must be installed in its "
          f"kernel: python -m pip install -e . from the kit's folder).")
    print(f"Grade a saved copy with: python -m grader {out}")
    return 0
