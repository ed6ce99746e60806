"""`python -m grader hint STEP`: a nudge for one step (no pytest, no grading)."""

from __future__ import annotations

import argparse
from typing import Sequence

from .. import steps
from ..report.text import hint_text


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader hint",
                                     description="Print a step's hint.")
    parser.add_argument("step", choices=steps.STEP_IDS)
    print(hint_text(parser.parse_args(argv).step))
    return 0
