"""`python -m grader notebook`: the course as one Jupyter notebook."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from ..lesson import write
from ..cli import options


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader notebook",
        description="Build the kit as one Jupyter notebook, from the stubs as shipped (or "
                    "solutions/); never from your own work in exercises/.")
    parser.add_argument("--solutions", action="store_true",
                        help="fill in every step from solutions/ (instructors)")
    parser.add_argument("--out", type=Path, default=Path("micrograd.ipynb"),
                        help="where to write it (default micrograd.ipynb)")
    parser.add_argument("--install-from", default="", metavar="SOURCE",
                        help="what the notebook's first cell installs the kit from when a kernel "
                             "lacks it (Colab): anything pip installs, such as the URL of a "
                             "wheel or git+https://... of the kit's repository")
    args = parser.parse_args(argv)
    if args.solutions:
        options.need_solutions(parser)
    out = write(args.out, solutions=args.solutions, install_from=args.install_from)
    where = (f"its first cell installs the kit from {args.install_from} where it is missing"
             if args.install_from else "the kit must be installed in its kernel")
    print(f"wrote {out}: open it in Jupyter, VS Code or Colab ({where}).")
    print(f"Grade a saved copy with: python -m grader {out}")
    return 0
